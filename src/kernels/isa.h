/* SPDX-License-Identifier: MIT */
/*
 * Kernels built once per instruction set. src/gemm.c, src/loss.c and the
 * cells (src/rnn.c, src/lstm.c, src/gru.c) are compiled several times, with
 * -DCN_ISA=generic (portable C), avx2 (-march=x86-64-v3) and avx512
 * (-march=x86-64-v4); CN_ISA_FN(name) gives each build's functions their
 * own names, and each build exports a CnIsa table of them. At run time
 * cn_isa() picks the best table the CPU supports (CHARNN_ISA=generic|avx2|
 * avx512 overrides it, for testing).
 *
 * Work is split between threads only along outputs (rows or columns of a
 * product, units of a layer), never along a sum, so every value is the same
 * whatever the number of threads. Different instruction sets may round
 * differently.
 */
#ifndef CHARNN_ISA_H
#define CHARNN_ISA_H

#include "internal.h"

#include <stddef.h>

#define CN_CAT2(a, b) a##_##b
#define CN_CAT(a, b) CN_CAT2(a, b)
#define CN_ISA_FN(name) CN_CAT(name, CN_ISA)

enum { CN_KC = 128 }; /* K block of every product: B micro-panels of KC x NR stay in L1 */

/* One thread's share of a parallel task. */
typedef struct {
    int tid, nthreads;
    CnPool *pool;      /* for barriers; NULL when alone */
    CnReal *scratch;   /* this thread's packing buffer: CN_KC x acts->pack_width */
} CnPart;

/* CnPacked (charnn.h) is a B operand of a product packed into panels of NR
 * columns (zero padded), each panel K x NR, k-major. Its columns come in
 * nblk blocks of `width` (the gate blocks of a fused matrix); each block
 * starts a new panel, so a layer's units map to the same panels in every
 * gate. */

/* Everything a cell needs for one layer over a chunk, shared by threads. */
typedef struct {
    const CnLayerView *w;
    CnLayerView *g;           /* gradients (backward) */
    CnLayerActs *a;
    CnActs *acts;             /* backward scratch: dz, dH, dh, dc, drh */
    const CnPacked *wh;       /* forward: Wh (K = H, G blocks of H) */
    const CnPacked *wh_t;     /* backward: Wh^T (K = G*H, one block of H); gru: [r u] part */
    const CnPacked *whn_t;    /* backward, gru: Wh[:, n]^T (K = H) */
    const CnReal *x;          /* layer input for dWx (layers > 0) */
    int steps, B, H;
} CnCellArgs;

typedef struct {
    const char *name;
    int nr; /* panel width of packed B operands */
    /* Packs panels [p0, p1) of op(B): op(B)[k][j] = trans ? B[j*ldb + k] : B[k*ldb + j]. */
    void (*pack)(CnPacked *out, const CnReal *B, int ldb, int trans, int p0, int p1);
    /* C (M x packed panels [p0, p1)) (+)= A . Bp, A(r, k) = a[r*rs + k*ks]. Starts from
     * bias (by column) when bias is set and acc is 0. */
    void (*gemm_packed)(CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs, ptrdiff_t ks, int M,
                        const CnPacked *b, int p0, int p1, const CnReal *bias, int acc);
    /* This thread's share of C (M x N) (+)= A . op(B), packing B as it goes. */
    void (*gemm)(const CnPart *part, CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs,
                 ptrdiff_t ks, const CnReal *B, int ldb, int trans, int M, int N, int K,
                 const CnReal *bias, int acc);
    /* Rows [r0, r1) of logits (n, V): softmax in place; loss_rows[r] = -log p[target]. */
    void (*softmax_loss)(CnReal *logits, const int *targets, double *loss_rows, int r0, int r1,
                         int V);
    void (*rnn_forward)(const CnCellArgs *c, const CnPart *part);
    void (*rnn_backward)(const CnCellArgs *c, const CnPart *part);
    void (*lstm_forward)(const CnCellArgs *c, const CnPart *part);
    void (*lstm_backward)(const CnCellArgs *c, const CnPart *part);
    void (*gru_forward)(const CnCellArgs *c, const CnPart *part);
    void (*gru_backward)(const CnCellArgs *c, const CnPart *part);
} CnIsa;

/* The table in use: the best the CPU supports, or CHARNN_ISA's choice. */
const CnIsa *cn_isa(void);
/* Makes isa the table in use (tests): before any CnActs is made, since the
 * packed layouts in an activation buffer follow the table's panel width. */
void cn_isa_use(const CnIsa *isa);
/* A table by name ("generic", "avx2", "avx512"), NULL if not built or not
 * supported by this CPU. */
const CnIsa *cn_isa_named(const char *name);

/* Panels in a packed operand, and the panel range of units [u0, u1) of one
 * block (u0 a multiple of nr). */
static inline int cn_panels(const CnPacked *b, int nr)
{
    return b->nblk * ((b->width + nr - 1) / nr);
}

/* A thread's units of a layer: whole panels [q0, q1) of each gate block,
 * units [u0, u1). The same split serves the product and the gates, so a
 * step needs one barrier: after it, everyone's h_t is complete. */
static inline void cn_own_units(const CnPart *part, int H, int nr, int *q0, int *q1, int *u0,
                                int *u1)
{
    cn_share((H + nr - 1) / nr, part->tid, part->nthreads, q0, q1);
    *u0 = *q0 * nr;
    *u1 = *q1 * nr < H ? *q1 * nr : H;
}

/* Randomized truncation: scales this thread's units of the gradient
 * carried from step t to t-1 (rows of B streams, H units) by each stream's
 * factor, when the trainer drew them (acts->carry_on). */
static inline void cn_carry(const CnActs *acts, CnReal *g, int t, int B, int H, int u0, int u1)
{
    if (!acts->carry_on)
        return;
    for (int b = 0; b < B; b++) {
        CnReal f = acts->carry[(size_t)t * B + b];
        CnReal *row = g + (size_t)b * H;
        for (int j = u0; j < u1; j++)
            row[j] *= f;
    }
}

/* Per-ISA functions: declared once for every build. */
#define CN_ISA_DECLARE(isa)                                                                    \
    extern const CnIsa cn_isa_##isa;
CN_ISA_DECLARE(generic)
CN_ISA_DECLARE(avx2)
CN_ISA_DECLARE(avx512)

#endif /* CHARNN_ISA_H */
