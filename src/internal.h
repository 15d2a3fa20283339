/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the library's source files and its tests; not part
 * of the public interface (include/charnn.h).
 */
#ifndef CHARNN_INTERNAL_H
#define CHARNN_INTERNAL_H

#include "charnn.h"

#include <math.h>

/* Elementary functions at the library's precision. */
#ifdef CHARNN_DOUBLE
#define CN_EXP exp
#define CN_TANH tanh
#define CN_SQRT sqrt
#else
#define CN_EXP expf
#define CN_TANH tanhf
#define CN_SQRT sqrtf
#endif

static inline CnReal cn_sigmoid(CnReal x)
{
    return 1 / (1 + CN_EXP(-x));
}

/* Length in bytes of the UTF-8 sequence led by c, in text known to be valid. */
static inline size_t cn_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Vocabulary index of the character at text byte *at, then *at moves past
 * it; -1 if the character is not in the vocabulary. */
static inline int cn_text_next_id(const CnVocab *vocab, const CnText *text, size_t *at)
{
    const unsigned char *s = text->bytes + *at;
    if (s[0] < 0x80) {
        *at += 1;
        return vocab->small[s[0]];
    }
    uint32_t cp;
    int len = cn_utf8_decode(s, text->nbytes - *at, &cp);
    *at += (size_t)len;
    return cn_vocab_index(vocab, cp);
}

/* Formats a one-line message into err; the arguments may include err->msg. */
void cn_errorf(CnError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Describes a character for messages: 'é' (U+00E9), or U+000A for controls. */
void cn_describe_char(uint32_t cp, char out[32]);

/* Per-cell forward and backward of one layer over a chunk (src/rnn.c,
 * src/lstm.c, src/gru.c). On entry to forward, a->z holds the input part of
 * the pre-activations plus bias for every step, and a->h[0] (and a->c[0])
 * the carried state. Backward reads acts->dH (steps, B, H), the gradient
 * arriving at the layer's outputs, and leaves the pre-activation gradients
 * in acts->dz (steps, B, G*H), accumulating dWh and dpeep. */
void cn_rnn_forward(const CnLayerView *w, CnLayerActs *a, int steps, int B, int H);
void cn_rnn_backward(const CnLayerView *w, CnLayerView *g, const CnLayerActs *a, CnActs *acts,
                     int steps, int B, int H);
void cn_lstm_forward(const CnLayerView *w, CnLayerActs *a, int steps, int B, int H);
void cn_lstm_backward(const CnLayerView *w, CnLayerView *g, const CnLayerActs *a,
                      CnActs *acts, int steps, int B, int H);
void cn_gru_forward(const CnLayerView *w, CnLayerActs *a, int steps, int B, int H);
void cn_gru_backward(const CnLayerView *w, CnLayerView *g, const CnLayerActs *a, CnActs *acts,
                     int steps, int B, int H);

/* Matrix products (src/kernels.c). All matrices row-major with leading
 * dimensions ld*; acc = 0 overwrites C, acc = 1 adds to it. */
/* C (M, N) = A (M, K) . B (K, N) */
void cn_gemm_nn(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                int M, int N, int K, int acc);
/* C (M, N) = A (M, K) . B^T, B stored (N, K) */
void cn_gemm_nt(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                int M, int N, int K, int acc);
/* C (M, N) = A^T . B, A stored (K, M), B (K, N) */
void cn_gemm_tn(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                int M, int N, int K, int acc);

/* y (N) += column sums of X (M, N) */
void cn_add_colsum(CnReal *y, const CnReal *X, int M, int N);

#endif /* CHARNN_INTERNAL_H */
