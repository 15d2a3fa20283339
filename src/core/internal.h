/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the library's source files and its tests; not part
 * of the public interface (include/charnn.h).
 */
#ifndef CHARNN_INTERNAL_H
#define CHARNN_INTERNAL_H

#include "core.h"

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

/* Seconds on the monotonic clock (src/pool.c). */
double cn_seconds(void);

/* Profiling (CnActs.profile): thread 0 ends the running phase here, adding
 * its time to `phase`, and starts the next. */
static inline void cn_lap(const CnActs *a, int tid, CnPhase phase)
{
    if (a->profile && tid == 0) {
        double now = cn_seconds();
        a->profile->seconds[phase] += now - a->profile->lap;
        a->profile->lap = now;
    }
}

/* Fault injection, compiled in only for the test build build/charnn-faults
 * (-DCHARNN_FAULTS, tests/faults.c): cn_fault("write") returns the errno a
 * checkpoint step should fail with (CHARNN_FAULT=write:3 fails the third
 * write, write:3+ every write from the third on), and cn_fault_pause()
 * stretches a save by CHARNN_SLOW_SAVE_MS so that tests can kill it midway.
 * In every other build both are no-ops. */
#ifdef CHARNN_FAULTS
int cn_fault(const char *point);
void cn_fault_pause(void);
#else
static inline int cn_fault(const char *point)
{
    (void)point;
    return 0;
}
static inline void cn_fault_pause(void)
{
}
#endif

/* Formats a one-line message into err; the arguments may include err->msg. */
void cn_errorf(CnError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Describes a character for messages: 'é' (U+00E9), or U+000A for controls. */
void cn_describe_char(uint32_t cp, char out[32]);

/* [lo, hi) = share `tid` of n items split as evenly as possible into
 * `parts` contiguous ranges. */
static inline void cn_share(int n, int tid, int parts, int *lo, int *hi)
{
    *lo = (int)((long long)n * tid / parts);
    *hi = (int)((long long)n * (tid + 1) / parts);
}

/* Squared norm pieces (src/optim.c): gradients are summed in blocks of
 * CN_NORM_BLOCK, then the blocks in order, whatever the threads. */
enum { CN_NORM_BLOCK = 1 << 14 };
double cn_sumsq(const CnReal *g, size_t n);  /* sum of g_i^2 in double, in order */
size_t cn_norm_blocks(size_t n);
int cn_all_finite(const CnReal *x, size_t n); /* no inf or NaN in x */

/* Reference matrix products (src/reference.c), plain loops the blocked
 * kernels are tested against. Row-major with leading dimensions; acc = 0
 * overwrites C, acc = 1 adds to it. */
/* C (M, N) = A (M, K) . B (K, N) */
void cn_ref_gemm_nn(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                    int M, int N, int K, int acc);
/* C (M, N) = A (M, K) . B^T, B stored (N, K) */
void cn_ref_gemm_nt(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                    int M, int N, int K, int acc);
/* C (M, N) = A^T . B, A stored (K, M), B (K, N) */
void cn_ref_gemm_tn(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                    int M, int N, int K, int acc);

#endif /* CHARNN_INTERNAL_H */
