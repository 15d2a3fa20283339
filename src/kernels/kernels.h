/* SPDX-License-Identifier: MIT */
/*
 * The kernels: matrix products, the cells' forward and backward over a
 * chunk, the softmax loss, and the thread pool they share the work over.
 * They see arrays and shapes only, never a model or a trainer; they never
 * allocate. src/kernels/gemm.c, loss.c and the cells (rnn.c, lstm.c,
 * gru.c) are compiled once per instruction set, with -DCN_ISA=generic
 * (portable C), on x86-64 avx2 (-march=x86-64-v3) and avx512
 * (-march=x86-64-v4), on AArch64 neon (-march=armv8-a);
 * CN_ISA_FN(name) gives each build's functions their own names, and each
 * build exports a CnIsa table of them. At run time cn_isa() picks the best
 * table the CPU supports (CHARNN_ISA=generic|avx2|avx512|neon overrides it,
 * for testing).
 *
 * Work is split between threads only along outputs (rows or columns of a
 * product, units of a layer), never along a sum, so every value is the same
 * whatever the number of threads. Different instruction sets may round
 * differently.
 */
#ifndef CHARNN_KERNELS_H
#define CHARNN_KERNELS_H

#include "charnn.h"
#include "charnn_tools.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* [lo, hi) = share `tid` of n items split as evenly as possible into
 * `parts` contiguous ranges. */
static inline void cn_share(int n, int tid, int parts, int *lo, int *hi)
{
    *lo = (int)((long long)n * tid / parts);
    *hi = (int)((long long)n * (tid + 1) / parts);
}

/* Profiling (charnn bench): thread 0 ends the running phase here, adding
 * its time to `phase`, and starts the next; a NULL profile costs nothing. */
static inline void cn_lap(CnProfile *profile, int tid, CnPhase phase)
{
    if (profile && tid == 0) {
        double now = cn_seconds();
        profile->seconds[phase] += now - profile->lap;
        profile->lap = now;
    }
}

/* ---------------------------------------------------------------------------
 * Threads: a pool of persistent workers that forward and backward passes,
 * training and evaluation split their work over. Results do not depend on
 * the number of threads: work is split along outputs, never along a sum.
 */
typedef struct CnPool CnPool;
typedef void (*CnTask)(void *ctx, int tid, int nthreads);

/* nthreads counts the caller, which takes part in every task. */
int cn_pool_create(CnPool **pool, int nthreads); /* 0, or -1 (errno) */
void cn_pool_destroy(CnPool *pool);
int cn_pool_size(const CnPool *pool);            /* 1 for NULL */
void cn_pool_run(CnPool *pool, CnTask task, void *ctx); /* NULL: runs task(ctx, 0, 1) */
void cn_pool_barrier(CnPool *pool);              /* inside a task: wait for all threads */

/* How a product multiplies (charnn help precision): in fp32; or with both
 * operands rounded to bfloat16 and the sums in fp32, added the way AVX512_BF16's
 * VDPBF16PS adds them (for each pair of k, 2i and 2i+1: the odd product
 * first, then the even one, each addition rounded to nearest even). Three
 * ways to do the latter, with the same bits:
 *   EMULATED  operands rounded and stored as floats with each pair of k
 *             swapped, multiplied by the fp32 micro-kernels (any build)
 *   PAIRS     operands as pairs of bf16 in 32-bit words (k = 2i in the low
 *             half), each pair's two products added by two fused
 *             multiply-adds: the native layout on any AVX-512 CPU (tests)
 *   NATIVE    that layout multiplied by VDPBF16PS (AVX512_BF16 CPUs) */
typedef enum { CN_MUL_FP32, CN_MUL_BF16_EMULATED, CN_MUL_BF16_PAIRS, CN_MUL_BF16_NATIVE } CnMul;

/* Operands in 32-bit words of bf16 pairs (PAIRS, NATIVE). */
static inline int cn_mul_pairs(CnMul mul)
{
    return mul == CN_MUL_BF16_PAIRS || mul == CN_MUL_BF16_NATIVE;
}

#ifndef CHARNN_DOUBLE
/* x rounded to the nearest bfloat16 (ties to even), as VCVTNEPS2BF16 does:
 * a denormal becomes a zero of its sign, a NaN stays a (quiet) NaN. */
static inline float cn_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u;
    else if ((u & 0x7fffffffu) > 0x7f800000u)
        u |= 0x00400000u;
    else
        u += 0x7fffu + ((u >> 16) & 1);
    u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}
#endif

/* A weight matrix copied into the panel layout the matrix kernels read. */
typedef struct {
    CnReal *p;
    int K, width, nblk; /* K rows; nblk blocks of `width` columns */
    CnMul mul;          /* the products it is packed for */
} CnPacked;

#define CN_CAT2(a, b) a##_##b
#define CN_CAT(a, b) CN_CAT2(a, b)
#define CN_ISA_FN(name) CN_CAT(name, CN_ISA)

enum { CN_KC = 256 }; /* K block of every product: B micro-panels of KC x NR stay in L1 */
enum { CN_MC = 256 }; /* at most this many rows of A are packed at a time (bf16) */

/* One thread's share of a parallel task. */
typedef struct {
    int tid, nthreads;
    CnPool *pool;        /* for barriers; NULL when alone */
    CnReal *scratch;     /* this thread's packing buffer: CN_KC x acts->pack_width */
    CnMul mul;           /* how this pass's products multiply */
    CnReal *apack;       /* bf16: CN_MC x CN_KC, this thread's rounded rows of A */
    CnProfile *profile;  /* or NULL: where the products count what they pack */
} CnPart;

/* The A operand of a product: A(r, k) = p[r*rs + k*ks]. rounded: p holds
 * rows already rounded by round_rows for the product's bf16 layout (ks 1;
 * rs in CnReals, a 32-bit word of two bf16 being one CnReal), so that the
 * product reads them as they are. */
typedef struct {
    const CnReal *p;
    ptrdiff_t rs, ks;
    int rounded;
} CnA;

static inline CnA cn_a(const CnReal *p, ptrdiff_t rs, ptrdiff_t ks)
{
    return (CnA){p, rs, ks, 0};
}

/* Rows of n values rounded for `mul` by round_rows, or the fp32 rows when
 * rounded is NULL (fp32 products; or a layout the producer could not round
 * alone). */
static inline CnA cn_rows(const CnReal *fp32, const CnReal *rounded, ptrdiff_t rs)
{
    return rounded ? (CnA){rounded, rs, 1, 1} : cn_a(fp32, rs, 1);
}

/* What the products move (charnn bench): summed over threads, atomically,
 * when a profile is attached. */
static inline void cn_count(const CnPart *part, uint64_t packs, uint64_t rounded,
                            uint64_t copied, uint64_t macs)
{
    CnProfile *p = part->profile;
    if (!p)
        return;
    __atomic_fetch_add(&p->packs, packs, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->rounded, rounded, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->copied, copied, __ATOMIC_RELAXED);
    __atomic_fetch_add(&p->macs, macs, __ATOMIC_RELAXED);
}

/* CnPacked is a B operand of a product packed into panels of NR
 * columns (zero padded), each panel K x NR, k-major. Its columns come in
 * nblk blocks of `width` (the gate blocks of a fused matrix); each block
 * starts a new panel, so a layer's units map to the same panels in every
 * gate. */

/* Everything a cell needs for one layer over a chunk, shared by threads:
 * steps <= T steps of B streams, H units, G gate blocks. */
typedef struct {
    int steps, B, H;
    CnReal *z;              /* (steps, B, G*H) gate values; on entry the input term */
    CnReal *h;              /* (steps+1, B, H) h[0] is the carried-in state */
    CnReal *c;              /* (steps+1, B, H) cell state, c[0] carried in (lstm) */
    CnReal *tanh_c;         /* (steps, B, H) tanh(c_t) (lstm) */
    CnReal *rh;             /* (steps, B, H) r_t * h_{t-1} (gru) */
    /* bf16 products (part->mul): copies rounded once by round_rows, or NULL */
    CnReal *hr;             /* (steps+1, B, H) h, rounded as each h_t is made (h[0]: before) */
    CnReal *rhr;            /* (B, H) gru: this step's r_t * h_{t-1} */
    CnReal *dzr;            /* (steps, B, G*H) dz, rounded as each dz_t is made */
    const CnReal *peep;     /* (3*H) w_ci, w_cf, w_co (peephole lstm), else NULL */
    const CnPacked *wh;     /* forward: Wh (K = H, G blocks of H) */
    const CnPacked *wh_t;   /* backward: Wh^T (K = G*H, one block of H); gru: [r u] part */
    const CnPacked *whn_t;  /* backward, gru: Wh[:, n]^T (K = H) */
    /* backward */
    const CnReal *dH;       /* (steps, B, H) gradient arriving at h_t from above */
    CnReal *dz;             /* (steps, B, G*H) gradient at the gates' inputs (out) */
    CnReal *dh, *dc, *drh;  /* (B, H) scratch: carried dh, dc (lstm), d(r*h) (gru) */
    CnReal *dWh;            /* (H, G*H) += the recurrent weights' gradient */
    CnReal *dpeep;          /* (3*H) += the peepholes' gradient */
    const CnReal *carry;    /* (steps, B) factors of randomized truncation, or NULL */
    CnProfile *profile;     /* or NULL */
} CnCellArgs;

typedef struct {
    const char *name;
    int nr; /* panel width of packed B operands */
    int bf16_pairs; /* has the pairs layout's kernels: NATIVE when the CPU has AVX512_BF16,
                       PAIRS anywhere */
    /* Packs panels [p0, p1) of op(B): op(B)[k][j] = trans ? B[j*ldb + k] : B[k*ldb + j],
     * for out->mul's products. */
    void (*pack)(const CnPart *part, CnPacked *out, const CnReal *B, int ldb, int trans, int p0,
                 int p1);
    /* C (M x packed panels [p0, p1)) (+)= A . Bp, multiplied as b->mul says (bf16: A's
     * rows rounded into part->apack unless a.rounded). Starts from bias (by column) when
     * bias is set and acc is 0. */
    void (*gemm_packed)(const CnPart *part, CnReal *C, int ldc, CnA a, int M,
                        const CnPacked *b, int p0, int p1, const CnReal *bias, int acc);
    /* This thread's share of C (M x N) (+)= A . op(B), packing B as it goes, multiplied
     * as part->mul says (a not rounded). */
    void (*gemm)(const CnPart *part, CnReal *C, int ldc, CnA a, const CnReal *B, int ldb,
                 int trans, int M, int N, int K, const CnReal *bias, int acc);
    /* Rounds columns [k0, k1) (k0 even) of `rows` rows of n values, x[r*ldx + k], into
     * dst's layout for `mul` (row stride ldd CnReals): EMULATED, floats with each pair of
     * k swapped (an unpaired last k stays); PAIRS and NATIVE, bf16 pairs in 32-bit words,
     * the high half past an odd n zero. Threads may round disjoint column ranges of the
     * same rows when those ranges start and end on even k. */
    void (*round_rows)(const CnPart *part, CnReal *dst, ptrdiff_t ldd, const CnReal *x,
                       ptrdiff_t ldx, int rows, int k0, int k1, int n, CnMul mul);
    /* The machine's peak: rounds of independent FMA chains, fma_flops FLOPs each. */
    CnReal (*fma_loop)(int64_t rounds);
    int fma_flops;
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

/* Column k of a row rounded by isa->round_rows for mul: where a product
 * over columns k.. reads it (k even). */
static inline CnReal *cn_rounded_at(const CnIsa *isa, CnReal *row, int k, CnMul mul)
{
    return row + (isa->bf16_pairs && cn_mul_pairs(mul) ? k / 2 : k);
}

/* The table in use: the best the CPU supports, or CHARNN_ISA's choice. */
const CnIsa *cn_isa(void);
/* Makes isa the table in use (tests): before any CnActs is made, since the
 * packed layouts in an activation buffer follow the table's panel width. */
void cn_isa_use(const CnIsa *isa);
/* A table by name ("generic", "avx2", "avx512", "neon"), NULL if not built or not
 * supported by this CPU. */
const CnIsa *cn_isa_named(const char *name);

/* CPU support for AVX512_BF16 (dispatch.c), and how products multiply in
 * the given precision: natively where the kernels in use and the CPU can,
 * else emulated (CHARNN_BF16=emulate forces the emulation, for tests). */
int cn_cpu_bf16(void);
CnMul cn_mul_for(CnPrecision precision);

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

/* Zeroes this thread's units [u0, u1) of B rows of H: the carried
 * gradients before a backward pass. */
static inline void cn_zero_units(CnReal *x, int B, int H, int u0, int u1)
{
    for (int b = 0; b < B; b++)
        for (int j = u0; j < u1; j++)
            x[(size_t)b * H + j] = 0;
}

/* Randomized truncation: scales this thread's units of the gradient
 * carried from step t to t-1 (rows of B streams, H units) by each stream's
 * factor, when there are factors (carry, (steps, B)). */
static inline void cn_carry(const CnReal *carry, CnReal *g, int t, int B, int H, int u0, int u1)
{
    if (!carry)
        return;
    for (int b = 0; b < B; b++) {
        CnReal f = carry[(size_t)t * B + b];
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
CN_ISA_DECLARE(neon)

/* Reference matrix products (src/kernels/reference.c), plain loops the blocked
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

#endif /* CHARNN_KERNELS_H */
