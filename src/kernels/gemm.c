/* SPDX-License-Identifier: MIT */
/*
 * Matrix products, built once per instruction set (see kernels.h).
 *
 *     C (M x N) (+)= A (M x K) . B (K x N)
 *
 * A is read through two strides, A(r, k) = a[r*rs + k*ks], in place when
 * its rows run along k; A^T (rows along i: the weight gradients' h^T, where
 * a tile would touch a cache line and a page per k) is first packed tile by
 * tile, MC rows at a time, into the thread's apack. B is packed into panels
 * of NR columns, k-major and
 * zero padded, either once per pass (weights: CnPacked) or KC rows at a time
 * into a thread's scratch (activations). A micro-kernel keeps an MR x NR
 * tile of C in registers and adds one rank-1 update per k: NR values of B
 * loaded once, times MR broadcast values of A. K runs in blocks of KC in
 * increasing order, each tile starting from the C (or bias, or zero) the
 * previous block left, so every element of C is one chain of fused
 * multiply-adds over k = 0, 1, ..., K-1, however the work is split.
 *
 * Tiles: avx512 MR 6 x NR 64 (24 zmm accumulators), avx2 6 x 16 (12 ymm),
 * neon 8 x 12 (24 q registers), generic C 4 x 8. A tile of NR columns moves
 * C with plain vector loads and stores, a narrower one with masked moves.
 *
 * bf16 products (--precision bf16, CnMul) round both operands to bfloat16
 * and add the exact products in VDPBF16PS's order: below, "bf16 products".
 */
#include "kernels.h"

#include <string.h>

/* The neon build is told apart by its name: NEON is baseline on AArch64,
 * so the generic build there has the same predefined macros. */
#define ISA_IS_neon 1
#if defined(__aarch64__) && CN_CAT(ISA_IS, CN_ISA) && !defined(CHARNN_DOUBLE)
#define NEON_KERNEL 1
#endif

#if defined(__AVX512F__) && !defined(CHARNN_DOUBLE)
#include <immintrin.h>
#define MR 6
#define NR 64
#define ZV (NR / 16) /* vectors in a row of a tile */
#elif defined(__AVX2__) && defined(__FMA__) && !defined(CHARNN_DOUBLE)
#include <immintrin.h>
#define MR 6
#define NR 16
#elif defined(NEON_KERNEL)
#include <arm_neon.h>
#define MR 8
#define NR 12
#define MC (16 * MR) /* 128 rows x KC: 128 KB of A, half of a Cortex-A76's L2 */
#else
#define MR 4
#define NR 8 /* 8 accumulators of 4 lanes: fits 16 SSE registers */
#endif

#define INLINE static inline __attribute__((always_inline))
#ifndef KC
#define KC CN_KC /* K block: a KC x NR micro-panel of B stays in L1 */
#endif
_Static_assert(KC <= CN_KC && KC % 2 == 0, "the scratch holds CN_KC rows; pairs need KC even");
#ifndef MC
#define MC (32 * MR) /* rows of C kept in L2 while K is walked */
#endif
_Static_assert(MC <= CN_MC, "bf16: a thread's apack holds CN_MC rows");

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* ------------------------------------------------------------------------- */
/* Micro-kernels: C tile (m x n, m <= MR, n <= NR) (+)= sum over k < kc of
 * A(r, k) * bp[k][0..NR). The tile starts from C when acc is set, else from
 * bias[0..n) when given, else from zero. Only the m x n tile is written. */

#if defined(__AVX512F__) && !defined(CHARNN_DOUBLE)

/* An AVX-512 tile's edges, shared by the fp32 and the bf16 tile: the masks
 * of its n <= NR columns (4 vectors of 16), its start in the accumulators
 * (C when acc is set, else bias, else zero) and its store into C. */
INLINE void zmm_masks(int n, __mmask16 mask[ZV])
{
    for (int v = 0; v < ZV; v++) {
        int left = n - 16 * v;
        mask[v] = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    }
}

INLINE void zmm_start(__m512 t[MR][ZV], const int m, int full, const __mmask16 mask[ZV],
                      const float *c, ptrdiff_t ldc, const float *bias, int acc)
{
#pragma GCC unroll 12
    for (int r = 0; r < m; r++)
#pragma GCC unroll 4
        for (int v = 0; v < ZV; v++) {
            const float *src = acc ? c + r * ldc + 16 * v : bias ? bias + 16 * v : NULL;
            t[r][v] = !src  ? _mm512_setzero_ps()
                      : full ? _mm512_loadu_ps(src)
                             : _mm512_maskz_loadu_ps(mask[v], src);
        }
}

INLINE void zmm_store(__m512 t[MR][ZV], const int m, int full, const __mmask16 mask[ZV],
                      float *c, ptrdiff_t ldc)
{
#pragma GCC unroll 12
    for (int r = 0; r < m; r++)
#pragma GCC unroll 4
        for (int v = 0; v < ZV; v++) {
            if (full)
                _mm512_storeu_ps(c + r * ldc + 16 * v, t[r][v]);
            else
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], t[r][v]);
        }
}

INLINE void tile(const int m, int n, int kc, const float *a, ptrdiff_t rs, ptrdiff_t ks,
                 const float *bp, float *c, ptrdiff_t ldc, const float *bias, int acc)
{
    __mmask16 mask[ZV];
    __m512 t[MR][ZV];
    zmm_masks(n, mask);
    zmm_start(t, m, n == NR, mask, c, ldc, bias, acc);
    for (int k = 0; k < kc; k++, a += ks, bp += NR) {
        __m512 b[ZV];
#pragma GCC unroll 4
        for (int v = 0; v < ZV; v++)
            b[v] = _mm512_loadu_ps(bp + 16 * v);
#pragma GCC unroll 12
        for (int r = 0; r < m; r++) {
            __m512 ar = _mm512_set1_ps(a[r * rs]);
#pragma GCC unroll 4
            for (int v = 0; v < ZV; v++)
                t[r][v] = _mm512_fmadd_ps(ar, b[v], t[r][v]);
        }
    }
    zmm_store(t, m, n == NR, mask, c, ldc);
}

#elif defined(__AVX2__) && defined(__FMA__) && !defined(CHARNN_DOUBLE)

INLINE void tile(const int m, int n, int kc, const float *a, ptrdiff_t rs, ptrdiff_t ks,
                 const float *bp, float *c, ptrdiff_t ldc, const float *bias, int acc)
{
    __m256i mask[2];
    for (int v = 0; v < 2; v++) {
        int left = n - 8 * v;
        mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(left),
                                     _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    __m256 t[MR][2];
    const int full = n == NR; /* masked moves are slow on AMD's cores: only at edges */
#pragma GCC unroll 6
    for (int r = 0; r < m; r++)
#pragma GCC unroll 2
        for (int v = 0; v < 2; v++) {
            const float *src = acc ? c + r * ldc + 8 * v : bias ? bias + 8 * v : NULL;
            t[r][v] = !src  ? _mm256_setzero_ps()
                      : full ? _mm256_loadu_ps(src)
                             : _mm256_maskload_ps(src, mask[v]);
        }
    for (int k = 0; k < kc; k++, a += ks, bp += NR) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
        for (int r = 0; r < m; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r * rs);
            t[r][0] = _mm256_fmadd_ps(ar, b0, t[r][0]);
            t[r][1] = _mm256_fmadd_ps(ar, b1, t[r][1]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < m; r++)
#pragma GCC unroll 2
        for (int v = 0; v < 2; v++) {
            if (full)
                _mm256_storeu_ps(c + r * ldc + 8 * v, t[r][v]);
            else
                _mm256_maskstore_ps(c + r * ldc + 8 * v, mask[v], t[r][v]);
        }
}

#elif defined(NEON_KERNEL)

/* AArch64 has 32 registers of 128 bits. An 8 x 12 tile (BLIS's choice for
 * ARMv8 sgemm) keeps 24 of them as accumulators, 8 rows x 3 vectors of 4
 * columns, and needs 3 more for a row of B and 2 for A's 8 values at one k:
 * 29 of 32, nothing spilled. 24 independent chains also cover the 16
 * multiply-adds in flight that 4 FMA pipes of 4 cycles' latency need
 * (Apple's P-cores, Neoverse V1/V2). Per k: 24 fused multiply-adds for 5
 * vector loads (or 3 and 8 scalar ones), so the FMAs bound the loop (those
 * cores do 4 multiply-adds and 3 loads a cycle, Cortex-A76 and Neoverse N1
 * 2 and 2). A KC x NR panel of B (KC = 256) is 12 KB and the tile's A,
 * 8 x KC, 8 KB: both stay in L1 (64 KB on Cortex-A76 and Neoverse, 128 KB
 * on Apple M-series P-cores) while each panel is reused across the
 * MC / MR = 16 tiles of an MC x KC block of A (128 KB, in L2: 256 KB to
 * 1 MB per core on Cortex-A76 and Neoverse, 12 MB shared on M1).
 * A is read in place: where its 8 rows are contiguous at each k (rs 1, the
 * weight gradients' A^T), as two vectors, each value used from its lane
 * (fmla by element); otherwise (rs > 1: activations, row-major) as 8
 * scalar loads, each used from lane 0. Partial tiles (m < 8 rows, n < 12
 * columns) go through a row buffer on the stack, so nothing past the tile
 * is read or written. NR = 12 is no power of two, and nothing needs one:
 * panels are counted by division, the last one of a block zero padded. */

/* t[r][0..2] += A(r, k) * b0..b2 for the rows r < m, A(r, k) in lane l of av. */
#define NEON_ROW(r, av, l)                                                                     \
    if (m > (r)) {                                                                             \
        t[r][0] = vfmaq_laneq_f32(t[r][0], b0, av, l);                                         \
        t[r][1] = vfmaq_laneq_f32(t[r][1], b1, av, l);                                         \
        t[r][2] = vfmaq_laneq_f32(t[r][2], b2, av, l);                                         \
    }

INLINE void tile(const int m, int n, int kc, const float *a, ptrdiff_t rs, ptrdiff_t ks,
                 const float *bp, float *c, ptrdiff_t ldc, const float *bias, int acc)
{
    float edge[NR] = {0}; /* a row of fewer than NR columns, zero padded */
    float32x4_t t[MR][3];
#pragma GCC unroll 8
    for (int r = 0; r < m; r++) {
        const float *src = acc ? c + r * ldc : bias;
        if (src && n < NR) {
            memcpy(edge, src, (size_t)n * sizeof *edge);
            src = edge;
        }
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++)
            t[r][v] = src ? vld1q_f32(src + 4 * v) : vdupq_n_f32(0);
    }
    if (rs == 1 && m == MR) {
        for (int k = 0; k < kc; k++, a += ks, bp += NR) {
            float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8);
            float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
            NEON_ROW(0, a0, 0) NEON_ROW(1, a0, 1) NEON_ROW(2, a0, 2) NEON_ROW(3, a0, 3)
            NEON_ROW(4, a1, 0) NEON_ROW(5, a1, 1) NEON_ROW(6, a1, 2) NEON_ROW(7, a1, 3)
        }
    } else {
        for (int k = 0; k < kc; k++, a += ks, bp += NR) {
            float32x4_t b0 = vld1q_f32(bp), b1 = vld1q_f32(bp + 4), b2 = vld1q_f32(bp + 8);
#pragma GCC unroll 8
            for (int r = 0; r < m; r++) {
                float32x4_t ar = vld1q_dup_f32(a + r * rs);
                t[r][0] = vfmaq_laneq_f32(t[r][0], b0, ar, 0);
                t[r][1] = vfmaq_laneq_f32(t[r][1], b1, ar, 0);
                t[r][2] = vfmaq_laneq_f32(t[r][2], b2, ar, 0);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < m; r++) {
        float *dst = n < NR ? edge : c + r * ldc;
#pragma GCC unroll 3
        for (int v = 0; v < 3; v++)
            vst1q_f32(dst + 4 * v, t[r][v]);
        if (n < NR)
            memcpy(c + r * ldc, edge, (size_t)n * sizeof *edge);
    }
}

#undef NEON_ROW

#else

/* Portable: GCC/Clang vector extensions, 16-byte vectors (SSE, NEON). */
typedef CnReal VReal __attribute__((vector_size(16)));
enum { VL = 16 / sizeof(CnReal), NV = NR / VL };

INLINE void tile(const int m, int n, int kc, const CnReal *a, ptrdiff_t rs, ptrdiff_t ks,
                 const CnReal *bp, CnReal *c, ptrdiff_t ldc, const CnReal *bias, int acc)
{
    VReal t[MR][NV];
#pragma GCC unroll 4
    for (int r = 0; r < m; r++) {
        CnReal row[NR] = {0};
        if (acc || bias)
            memcpy(row, acc ? c + r * ldc : bias, (size_t)n * sizeof *row);
        memcpy(t[r], row, sizeof row);
    }
    for (int k = 0; k < kc; k++, a += ks, bp += NR) {
        VReal b[NV];
        memcpy(b, bp, sizeof b);
#pragma GCC unroll 4
        for (int r = 0; r < m; r++) {
            VReal ar = (VReal){0} + a[r * rs]; /* broadcast (turns -0 into +0) */
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                t[r][v] += ar * b[v];
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < m; r++) {
        CnReal row[NR];
        memcpy(row, t[r], sizeof row);
        memcpy(c + r * ldc, row, (size_t)n * sizeof *row);
    }
}

#endif

/* The tile for any m <= MR, each row count compiled on its own. */
static void tile_any(int m, int n, int kc, const CnReal *a, ptrdiff_t rs, ptrdiff_t ks,
                     const CnReal *bp, CnReal *c, ptrdiff_t ldc, const CnReal *bias, int acc)
{
    switch (m) {
#if MR >= 12
    case 12: tile(12, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 11: tile(11, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 10: tile(10, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 9: tile(9, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
#endif
#if MR >= 8
    case 8: tile(8, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 7: tile(7, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
#endif
#if MR >= 6
    case 6: tile(6, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 5: tile(5, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
#endif
    case 4: tile(4, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 3: tile(3, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    case 2: tile(2, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    default: tile(1, n, kc, a, rs, ks, bp, c, ldc, bias, acc); break;
    }
}

/* ------------------------------------------------------------------------- */
/* bf16 products (CnMul). EMULATED: the operands rounded to bf16 and stored
 * as floats with each pair of k swapped (2i+1 before 2i; an unpaired last k
 * stays), so that the fp32 micro-kernels, one fused multiply-add per k in
 * storage order, add the exact products in VDPBF16PS's order. PAIRS and
 * NATIVE: the operands as pairs of bf16 in 32-bit words, low half k = 2i,
 * high half 2i+1 (zero past the end), multiplied by the pair tiles below.
 * Pairs are global (k even with k + 1), so blocks of KC (even) change nothing.
 * A's rows come rounded (CnA.rounded: rounded once, where they were made) or
 * are rounded here, MC x KC at a time, into the thread's apack. */

/* Storage place of k in a block of kc when pairs are swapped. */
static inline int swapped(int k, int kc)
{
    int s = k ^ 1;
    return s < kc ? s : k;
}

#ifndef CHARNN_DOUBLE
/* The rounding of cn_bf16 on RV lanes at a time, in the compiler's vector
 * extensions (AVX-512, AVX2, NEON or SSE code by build): the result keeps
 * the bf16 in the high 16 bits of each lane, zeros below. */
#if defined(__AVX512F__)
#define RV 16
#elif defined(__AVX2__)
#define RV 8
#else
#define RV 4
#endif
typedef uint32_t RVec __attribute__((vector_size(4 * RV)));
typedef uint64_t QVec __attribute__((vector_size(4 * RV)));
typedef uint16_t HVec __attribute__((vector_size(2 * RV)));
typedef uint32_t __attribute__((may_alias)) Word; /* a pair, read from float storage */

INLINE RVec round_vec(RVec u)
{
    RVec nan = (RVec)((u & 0x7fffffffu) > 0x7f800000u); /* all ones where NaN */
    RVec den = (RVec)((u & 0x7f800000u) == 0);          /* zero or denormal */
    RVec r = (nan & (u | 0x00400000u)) | (~nan & (u + 0x7fffu + ((u >> 16) & 1)));
    r = (den & (u & 0x80000000u)) | (~den & r);
    return r & 0xffff0000u;
}

INLINE RVec load_rv(const CnReal *x)
{
    RVec u;
    memcpy(&u, x, sizeof u);
    return u;
}

INLINE void store_rv(CnReal *dst, RVec r)
{
    memcpy(dst, &r, sizeof r);
}

/* lanes 2i and 2i+1 exchanged: a rotation of each 64-bit lane by 32 */
INLINE RVec swap_pairs(RVec r)
{
    QVec q = (QVec)r;
    return (RVec)(q << 32 | q >> 32);
}

static inline uint32_t bf16_bits(float x)
{
    float r = cn_bf16(x);
    uint32_t u;
    memcpy(&u, &r, sizeof u);
    return u >> 16;
}

/* Half h (0: low, 1: high) of word w of dst. */
static inline void put_half(CnReal *dst, size_t w, int h, uint32_t bits)
{
    uint16_t v = (uint16_t)bits;
    memcpy((unsigned char *)dst + 4 * w + 2 * (size_t)h, &v, sizeof v);
}

/* Columns [k0, k1) (k0 even) of a row of n values into dst's layout: the
 * bf16 of x[k] at half k of the pairs (PAIRS), or as a float at k's swapped
 * place (EMULATED). */
static void round_row(CnReal *dst, const CnReal *x, int k0, int k1, int n, CnMul mul)
{
    int k = k0;
    if (cn_mul_pairs(mul)) {
        for (; k + RV <= k1; k += RV) {
            HVec h = __builtin_convertvector(round_vec(load_rv(x + k)) >> 16, HVec);
            memcpy((unsigned char *)dst + 2 * (size_t)k, &h, sizeof h);
        }
        for (; k < k1; k++)
            put_half(dst, (size_t)k / 2, k & 1, bf16_bits(x[k]));
        if (k1 == n && (n & 1))
            put_half(dst, (size_t)n / 2, 1, 0);
        return;
    }
    for (; k + RV <= k1 && k + RV <= (n & ~1); k += RV) /* whole pairs */
        store_rv(dst + k, swap_pairs(round_vec(load_rv(x + k))));
    for (; k < k1; k++)
        dst[swapped(k, n)] = cn_bf16(x[k]);
}

static void round_rows(const CnPart *part, CnReal *dst, ptrdiff_t ldd, const CnReal *x,
                       ptrdiff_t ldx, int rows, int k0, int k1, int n, CnMul mul)
{
    for (int r = 0; r < rows; r++)
        round_row(dst + r * ldd, x + r * ldx, k0, k1, n, mul);
    cn_count(part, 1, (uint64_t)rows * (uint64_t)(k1 - k0), 0, 0);
}

/* Rows [0, m) x k [0, kc) of A, A(i, k) = a[i*rs + k*ks] with rows
 * contiguous in k (ks 1) or not, rounded row by row into dst for `mul`: row
 * i at dst + i * (returned stride), k at its place (k' = k swapped, or k / 2
 * words for pairs). */
static ptrdiff_t pack_a_rows(const CnPart *part, CnReal *dst, const CnReal *a, ptrdiff_t rs,
                             ptrdiff_t ks, int m, int kc, CnMul mul)
{
    ptrdiff_t stride = cn_mul_pairs(mul) ? (kc + 1) / 2 : kc;
    cn_count(part, 1, (uint64_t)m * (uint64_t)kc, 0, 0);
    for (int i = 0; i < m; i++) {
        if (ks == 1) {
            round_row(dst + i * stride, a + i * rs, 0, kc, kc, mul);
            continue;
        }
        for (int k = 0; k < kc; k++) {
            float x = a[i * rs + k * ks];
            if (cn_mul_pairs(mul))
                put_half(dst + i * stride, (size_t)k / 2, k & 1, bf16_bits(x));
            else
                dst[i * stride + swapped(k, kc)] = cn_bf16(x);
        }
        if (cn_mul_pairs(mul) && (kc & 1))
            put_half(dst + i * stride, (size_t)kc / 2, 1, 0);
    }
    return stride;
}
#endif /* !CHARNN_DOUBLE */

/* Rows of the next tile when `left` rows remain: MR, except that the last
 * MR + a few rows are split in two near-equal tiles (32 = 6+6+6+6+4+4, not
 * ...+6+2): a tile of 1 or 2 rows has too few independent chains to keep the
 * FMA pipes busy. */
static int rows_of_tile(int left)
{
    return left <= MR || left >= 2 * MR ? min_int(MR, left) : (left + 1) / 2;
}

/* Rows [0, m) x k [0, kc) of A^T, A(i, k) = a[i + k*ks] (the weight
 * gradients' h^T: rows contiguous in i), packed tile by tile as tiles() walks
 * the rows (rows_of_tile): the tile of mt rows at row r starts at dst + r *
 * (returned length) and holds A(r + i, k) at [k' * mt + i] (k' = k, or k
 * swapped, or the pair k / 2 as a word), so that a tile reads its A as one
 * run instead of a cache line per k. For bf16, each k's (or pair's) m values
 * are first rounded RV at a time into a row of scratch. */
static ptrdiff_t pack_a_tiles(const CnPart *part, CnReal *dst, const CnReal *a, ptrdiff_t ks,
                              int m, int kc, CnMul mul)
{
    int pairs = cn_mul_pairs(mul);
    ptrdiff_t len = pairs ? (kc + 1) / 2 : kc;
    cn_count(part, 1, mul != CN_MUL_FP32 ? (uint64_t)m * kc : 0,
             mul == CN_MUL_FP32 ? (uint64_t)m * kc : 0, 0);
    for (int k = 0; k < kc; k += 1 + pairs) {
        const CnReal *src = a + k * ks;
#ifndef CHARNN_DOUBLE
        CnReal row[MC];
        if (mul != CN_MUL_FP32) {
            const CnReal *hi = pairs && k + 1 < kc ? src + ks : NULL;
            int i = 0;
            for (; i + RV <= m; i += RV) {
                RVec r = round_vec(load_rv(src + i));
                if (pairs)
                    r = (r >> 16) | (hi ? round_vec(load_rv(hi + i)) : r ^ r);
                store_rv(row + i, r);
            }
            for (; i < m; i++) {
                uint32_t w = pairs ? bf16_bits(src[i]) | (hi ? bf16_bits(hi[i]) << 16 : 0)
                                   : bf16_bits(src[i]) << 16;
                memcpy(row + i, &w, sizeof w);
            }
            src = row;
        }
#endif
        int at = mul == CN_MUL_BF16_EMULATED ? swapped(k, kc) : pairs ? k / 2 : k;
        for (int r = 0, mt; r < m; r += mt) {
            mt = rows_of_tile(m - r);
            CnReal *d = dst + r * len + (ptrdiff_t)at * mt;
            for (int i = 0; i < mt; i++)
                d[i] = src[r + i];
        }
    }
    return len;
}

#if defined(__AVX512F__) && !defined(CHARNN_DOUBLE)
#define HAVE_PAIR_TILE 1
#define BF16_TARGET __attribute__((target("avx512bf16")))

/* One pair of k for 16 columns: t + A's odd product, then + its even one,
 * each rounded (VDPBF16PS); a: A's pair broadcast, b: 16 pairs of B. */
BF16_TARGET INLINE __m512 dot_native(__m512 t, __m512i a, __m512i b)
{
    return _mm512_dpbf16_ps(t, (__m512bh)a, (__m512bh)b);
}

/* The same sums with two fused multiply-adds (a bf16 times a bf16 is exact
 * in fp32): the high halves, then the low ones. */
INLINE __m512 dot_fma(__m512 t, __m512i a, __m512i b)
{
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    t = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(a, high)),
                        _mm512_castsi512_ps(_mm512_and_si512(b, high)), t);
    return _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(a, 16)),
                           _mm512_castsi512_ps(_mm512_slli_epi32(b, 16)), t);
}

/* The pair tile, an m x n (<= MR x NR) tile of C over `pairs` pairs of k:
 * per pair, 4 vectors of B (64 columns x 2 bf16) and one 32-bit broadcast of
 * A's pair per row, A(r, pair q) at aw[r*rs + q*ks] (words). A whole tile
 * moves C with plain loads and stores; an edge tile with masked ones. */
#define PAIR_TILE(name, attr, dot)                                                             \
    attr INLINE void name(const int m, int n, int pairs, const CnReal *a, ptrdiff_t rs,        \
                          ptrdiff_t ks, const CnReal *bp, CnReal *c, ptrdiff_t ldc,            \
                          const CnReal *bias, int acc)                                         \
    {                                                                                          \
        const Word *aw = (const Word *)(const void *)a;                                        \
        __mmask16 mask[ZV];                                                                    \
        __m512 t[MR][ZV];                                                                      \
        zmm_masks(n, mask);                                                                    \
        zmm_start(t, m, n == NR, mask, c, ldc, bias, acc);                                     \
        for (int q = 0; q < pairs; q++, aw += ks, bp += NR) {                                  \
            __m512i b[ZV];                                                                     \
            _Pragma("GCC unroll 4") for (int v = 0; v < ZV; v++)                              \
                b[v] = _mm512_loadu_si512(bp + 16 * v);                                        \
            _Pragma("GCC unroll 12") for (int r = 0; r < m; r++)                              \
            {                                                                                  \
                __m512i ar = _mm512_set1_epi32((int)aw[r * rs]);                               \
                _Pragma("GCC unroll 4") for (int v = 0; v < ZV; v++)                          \
                    t[r][v] = dot(t[r][v], ar, b[v]);                                          \
            }                                                                                  \
        }                                                                                      \
        zmm_store(t, m, n == NR, mask, c, ldc);                                                \
    }
PAIR_TILE(tile_native, BF16_TARGET, dot_native)
PAIR_TILE(tile_fma_pairs, , dot_fma)
#undef PAIR_TILE

/* The pair tile for any m <= MR, each row count compiled on its own. */
#if MR >= 12
#define PAIR_CASES_12(tile)                                                                    \
    case 12: tile(12, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                      \
    case 11: tile(11, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                      \
    case 10: tile(10, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                      \
    case 9: tile(9, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                        \
    case 8: tile(8, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                        \
    case 7: tile(7, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;
#else
#define PAIR_CASES_12(tile)
#endif
#define PAIR_ANY(name, attr, tile)                                                             \
    attr static void name(int m, int n, int pairs, const CnReal *a, ptrdiff_t rs,              \
                          ptrdiff_t ks, const CnReal *bp, CnReal *c, ptrdiff_t ldc,            \
                          const CnReal *bias, int acc)                                         \
    {                                                                                          \
        switch (m) {                                                                           \
        PAIR_CASES_12(tile)                                                                    \
        case 6: tile(6, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                    \
        case 5: tile(5, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                    \
        case 4: tile(4, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                    \
        case 3: tile(3, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                    \
        case 2: tile(2, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                    \
        default: tile(1, n, pairs, a, rs, ks, bp, c, ldc, bias, acc); break;                   \
        }                                                                                      \
    }
PAIR_ANY(native_any, BF16_TARGET, tile_native)
PAIR_ANY(fma_pairs_any, , tile_fma_pairs)
#undef PAIR_ANY
#endif

/* ------------------------------------------------------------------------- */
/* Packing. Panel p of a blocked operand (nblk blocks of `width` columns)
 * covers columns blk*width + q*NR + [0, NR) with blk = p / P, q = p % P,
 * P = ceil(width / NR); columns past the block's width are zeros. A panel
 * holds K rows of NR values, k-major; for bf16 products each block of KC
 * rows is rounded and laid out as described above (pairs: the block's
 * ceil(kc/2) rows of words in the first half of its place). */

/* op(B)[k][col + j] */
static inline CnReal op_b(const CnReal *B, int ldb, int trans, int k, int col)
{
    return trans ? B[(size_t)col * ldb + k] : B[(size_t)k * ldb + col];
}

#ifndef CHARNN_DOUBLE
/* One block of kc rows of a panel for bf16 products, n <= NR real columns.
 * op(B) row-major (trans 0): rows rounded along j, RV columns at a time;
 * transposed (weights, once per pass): each column's run of k rounded RV at
 * a time, then its values placed down the panel. */
static void pack_block_bf16(CnReal *d, const CnReal *B, int ldb, int trans, int k0, int kc,
                            int col, int n, CnMul mul)
{
    int pairs = cn_mul_pairs(mul), rows = pairs ? (kc + 1) / 2 : kc;
    memset(d, 0, (size_t)rows * NR * sizeof *d); /* padding columns, and the odd high half */
    if (!trans) {
        for (int k = 0; k < kc; k += 1 + pairs) {
            const CnReal *lo = B + (size_t)(k0 + k) * ldb + col;
            const CnReal *hi = pairs && k + 1 < kc ? lo + ldb : NULL;
            CnReal *dst = d + (size_t)(pairs ? k / 2 : swapped(k, kc)) * NR;
            int j = 0;
            for (; j + RV <= n; j += RV) {
                RVec r = round_vec(load_rv(lo + j));
                if (pairs)
                    r = (r >> 16) | (hi ? round_vec(load_rv(hi + j)) : r ^ r);
                store_rv(dst + j, r);
            }
            for (; j < n; j++) {
                if (pairs) {
                    uint32_t w = bf16_bits(lo[j]) | (hi ? bf16_bits(hi[j]) << 16 : 0);
                    memcpy(dst + j, &w, sizeof w);
                } else {
                    dst[j] = cn_bf16(lo[j]);
                }
            }
        }
        return;
    }
    for (int j = 0; j < n; j++) {
        const CnReal *src = B + (size_t)(col + j) * ldb + k0;
        int k = 0;
        for (; k + RV <= kc; k += RV) {
            uint32_t v[RV];
            RVec r = round_vec(load_rv(src + k));
            memcpy(v, &r, sizeof v);
            for (int i = 0; i < RV; i++) {
                if (pairs)
                    put_half(d, (size_t)((k + i) / 2) * NR + j, i & 1, v[i] >> 16);
                else
                    memcpy(d + (size_t)swapped(k + i, kc) * NR + j, &v[i], sizeof v[i]);
            }
        }
        for (; k < kc; k++) {
            if (pairs)
                put_half(d, (size_t)(k / 2) * NR + j, k & 1, bf16_bits(src[k]));
            else
                d[(size_t)swapped(k, kc) * NR + j] = cn_bf16(src[k]);
        }
    }
}
#endif

static void pack_panels(const CnPart *part, CnReal *dst, const CnReal *B, int ldb, int trans,
                        int K, int width, int p0, int p1, CnMul mul)
{
    int per_blk = (width + NR - 1) / NR;
    uint64_t values = (uint64_t)K * NR * (uint64_t)(p1 - p0);
    cn_count(part, 1, mul != CN_MUL_FP32 ? values : 0, mul == CN_MUL_FP32 ? values : 0, 0);
    for (int p = p0; p < p1; p++, dst += (size_t)K * NR) {
        int blk = p / per_blk, q = p % per_blk;
        int col = blk * width + q * NR, n = min_int(NR, width - q * NR);
#ifndef CHARNN_DOUBLE
        if (mul != CN_MUL_FP32) {
            for (int k0 = 0; k0 < K; k0 += KC)
                pack_block_bf16(dst + (size_t)k0 * NR, B, ldb, trans, k0, min_int(KC, K - k0),
                                col, n, mul);
            continue;
        }
#endif
        if (trans) {
            /* op(B)[k][j] = B[j*ldb + k]: read along k, write down the panel */
            for (int j = 0; j < n; j++) {
                const CnReal *src = B + (size_t)(col + j) * ldb;
                for (int k = 0; k < K; k++)
                    dst[(size_t)k * NR + j] = src[k];
            }
            for (int k = 0; k < K; k++)
                for (int j = n; j < NR; j++)
                    dst[(size_t)k * NR + j] = 0;
        } else {
            for (int k = 0; k < K; k++) {
                const CnReal *src = B + (size_t)k * ldb + col;
                CnReal *d = dst + (size_t)k * NR;
                memcpy(d, src, (size_t)n * sizeof *d);
                for (int j = n; j < NR; j++)
                    d[j] = 0;
            }
        }
    }
}

/* The products this build can do as asked: without the pair tiles, pairs
 * are emulated (the same sums). */
static CnMul usable(CnMul mul)
{
#ifndef HAVE_PAIR_TILE
    if (cn_mul_pairs(mul))
        return CN_MUL_BF16_EMULATED;
#endif
    return mul;
}

static void pack(const CnPart *part, CnPacked *out, const CnReal *B, int ldb, int trans, int p0,
                 int p1)
{
    pack_panels(part, out->p + (size_t)p0 * out->K * NR, B, ldb, trans, out->K, out->width, p0,
                p1, usable(out->mul));
}

#ifndef CHARNN_DOUBLE
static void round_rows_isa(const CnPart *part, CnReal *dst, ptrdiff_t ldd, const CnReal *x,
                           ptrdiff_t ldx, int rows, int k0, int k1, int n, CnMul mul)
{
    round_rows(part, dst, ldd, x, ldx, rows, k0, k1, n, usable(mul));
}
#else
static void round_rows_isa(const CnPart *part, CnReal *dst, ptrdiff_t ldd, const CnReal *x,
                           ptrdiff_t ldx, int rows, int k0, int k1, int n, CnMul mul)
{
    (void)part, (void)dst, (void)ldd, (void)x, (void)ldx, (void)rows, (void)k0, (void)k1;
    (void)n, (void)mul;
}
#endif

/* Rows [r0, r1) of C times panels [p0, p1) of a packed operand whose panel
 * p sits at bp + (p - p0) * kstride, over k in [k0, k0 + kc). A(r, k0 + k)
 * is at a[(r - r0)*rs + k'*ks] (k' = k, or the pair k / 2 as a word) or,
 * when A was packed tile by tile (tiled: its length per row), the tile of m
 * rows at row r at a + (r - r0) * tiled, read with rs 1 and ks m. Returns
 * the multiply-adds done. */
static uint64_t tiles(CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs, ptrdiff_t ks,
                      ptrdiff_t tiled, int r0, int r1, const CnReal *bp, size_t kstride,
                      int width, int p0, int p1, int k0, int kc, const CnReal *bias, int acc,
                      CnMul mul)
{
    int per_blk = (width + NR - 1) / NR, cols = 0;
    int from_c = acc || k0 > 0;
    for (int p = p0; p < p1; p++, bp += kstride) {
        int blk = p / per_blk, q = p % per_blk;
        int col = blk * width + q * NR, n = min_int(NR, width - q * NR);
        const CnReal *bias_col = !from_c && bias ? bias + col : NULL;
        cols += n;
        for (int r = r0, m; r < r1; r += m) {
            m = rows_of_tile(r1 - r);
            const CnReal *ar = a + (r - r0) * (tiled ? tiled : rs);
            ptrdiff_t trs = tiled ? 1 : rs, tks = tiled ? m : ks;
            CnReal *c = C + (size_t)r * ldc + col;
#ifdef HAVE_PAIR_TILE
            if (mul == CN_MUL_BF16_NATIVE) {
                native_any(m, n, (kc + 1) / 2, ar, trs, tks, bp, c, ldc, bias_col, from_c);
                continue;
            }
            if (mul == CN_MUL_BF16_PAIRS) {
                fma_pairs_any(m, n, (kc + 1) / 2, ar, trs, tks, bp, c, ldc, bias_col, from_c);
                continue;
            }
#endif
            tile_any(m, n, kc, ar, trs, tks, bp, c, ldc, bias_col, from_c);
        }
    }
    (void)mul;
    return (uint64_t)(r1 - r0) * (uint64_t)cols * (uint64_t)kc;
}

/* Rows [r0, r1) x k [k0, k0 + kc) through tiles. A is read in place when
 * its rows run along k (fp32), or come rounded; A^T (rows along i: the
 * weight gradients) is packed tile by tile, MC rows at a time, into apack,
 * when its block spans more than L1 (fp32) or must be rounded (bf16);
 * other A for bf16 is rounded row by row there. */
static void block(const CnPart *part, CnReal *C, int ldc, CnA a, int r0, int r1,
                  const CnReal *bp, size_t kstride, int width, int p0, int p1, int k0, int kc,
                  const CnReal *bias, int acc, CnMul mul)
{
    uint64_t macs = 0;
    /* A^T's k rows a block spans: past L1's 32 KB a tile would read a new
       line (and soon a new page) at every k, from every panel: packed once */
    int transposed = a.rs == 1 && a.ks != 1 && !a.rounded &&
                     (mul != CN_MUL_FP32 || (size_t)kc * (size_t)a.ks * sizeof(CnReal) > 32768);
    if (a.rounded || (mul == CN_MUL_FP32 && !transposed)) {
        ptrdiff_t at = a.rounded ? (cn_mul_pairs(mul) ? k0 / 2 : k0) : (ptrdiff_t)k0 * a.ks;
        macs = tiles(C, ldc, a.p + r0 * a.rs + at, a.rs, a.ks, 0, r0, r1, bp, kstride, width,
                     p0, p1, k0, kc, bias, acc, mul);
    } else {
        for (int m0 = r0; m0 < r1; m0 += MC) {
            int m1 = min_int(r1, m0 + MC);
            const CnReal *src = a.p + m0 * a.rs + (ptrdiff_t)k0 * a.ks;
            if (transposed) {
                ptrdiff_t len = pack_a_tiles(part, part->apack, src, a.ks, m1 - m0, kc, mul);
                macs += tiles(C, ldc, part->apack, 0, 0, len, m0, m1, bp, kstride, width, p0, p1,
                              k0, kc, bias, acc, mul);
                continue;
            }
#ifndef CHARNN_DOUBLE
            ptrdiff_t rs = pack_a_rows(part, part->apack, src, a.rs, a.ks, m1 - m0, kc, mul);
            macs += tiles(C, ldc, part->apack, rs, 1, 0, m0, m1, bp, kstride, width, p0, p1, k0,
                          kc, bias, acc, mul);
#endif
        }
    }
    cn_count(part, 0, 0, 0, macs);
}

static void gemm_packed(const CnPart *part, CnReal *C, int ldc, CnA a, int M, const CnPacked *b,
                        int p0, int p1, const CnReal *bias, int acc)
{
    for (int r0 = 0; r0 < M; r0 += MC)
        for (int k0 = 0; k0 < b->K; k0 += KC)
            block(part, C, ldc, a, r0, min_int(M, r0 + MC),
                  b->p + (size_t)p0 * b->K * NR + (size_t)k0 * NR, (size_t)b->K * NR, b->width,
                  p0, p1, k0, min_int(KC, b->K - k0), bias, acc, usable(b->mul));
}

/* This thread's share: along panels when there are enough of them, else
 * along MR-row tiles. Tiny products stay on thread 0. */
static void gemm(const CnPart *part, CnReal *C, int ldc, CnA a, const CnReal *B, int ldb,
                 int trans, int M, int N, int K, const CnReal *bias, int acc)
{
    int panels = (N + NR - 1) / NR, tiles_m = (M + MR - 1) / MR;
    int parts = (double)M * N * K < 65536.0 ? 1 : part->nthreads;
    int p0 = 0, p1 = panels, r0 = 0, r1 = M;
    if (part->tid >= parts)
        return;
    if (parts > 1) {
        if (panels >= 4 * parts || panels >= tiles_m) {
            cn_share(panels, part->tid, parts, &p0, &p1);
        } else {
            cn_share(tiles_m, part->tid, parts, &r0, &r1);
            r0 *= MR;
            r1 = min_int(M, r1 * MR);
        }
    }
    if (p0 >= p1 || r0 >= r1)
        return;
    CnMul mul = usable(part->mul);
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = min_int(KC, K - k0);
        const CnReal *src = trans ? B + k0 : B + (size_t)k0 * ldb;
        pack_panels(part, part->scratch, src, ldb, trans, kc, N, p0, p1, mul);
        block(part, C, ldc, a, r0, r1, part->scratch, (size_t)kc * NR, N, p0, p1, k0, kc, bias,
              acc, mul);
    }
}
/* ------------------------------------------------------------------------- */
/* The machine's peak (cn_fma_peak): `rounds` rounds of CHAINS independent
 * fused multiply-add chains on full vectors, enough chains to cover every
 * FMA pipe's latency (2 pipes x 4 cycles on x86 cores, 4 x 4 on big ARM
 * cores); FLOPs per round: CHAINS x lanes x 2. Returns a value that keeps
 * the loop from being dropped. */
#if defined(__AVX512F__) && !defined(CHARNN_DOUBLE)
typedef __m512 PeakVec;
#define PEAK_FMA(a, m, c) _mm512_fmadd_ps(a, m, c)
#define PEAK_SET(x) _mm512_set1_ps(x)
#define PEAK_LANES 16
#define CHAINS 12
#elif defined(__AVX2__) && defined(__FMA__) && !defined(CHARNN_DOUBLE)
typedef __m256 PeakVec;
#define PEAK_FMA(a, m, c) _mm256_fmadd_ps(a, m, c)
#define PEAK_SET(x) _mm256_set1_ps(x)
#define PEAK_LANES 8
#define CHAINS 12
#elif defined(NEON_KERNEL)
typedef float32x4_t PeakVec;
#define PEAK_FMA(a, m, c) vfmaq_f32(c, a, m)
#define PEAK_SET(x) vdupq_n_f32(x)
#define PEAK_LANES 4
#define CHAINS 24
#else
typedef VReal PeakVec; /* a multiply and an add: the portable build has no FMA */
#define PEAK_FMA(a, m, c) ((a) * (m) + (c))
#define PEAK_SET(x) ((VReal){0} + (CnReal)(x))
#define PEAK_LANES VL
#define CHAINS 8
#endif

static CnReal fma_loop(int64_t rounds)
{
    PeakVec t[CHAINS], m = PEAK_SET(0.999999f), c = PEAK_SET(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        t[i] = PEAK_SET((float)i);
    for (int64_t n = 0; n < rounds; n++)
#pragma GCC unroll 24
        for (int i = 0; i < CHAINS; i++)
            t[i] = PEAK_FMA(t[i], m, c);
    CnReal sum = 0;
    for (int i = 0; i < CHAINS; i++) {
        CnReal lanes[PEAK_LANES];
        memcpy(lanes, &t[i], sizeof lanes);
        sum += lanes[0];
    }
    return sum;
}

/* ------------------------------------------------------------------------- */

void CN_ISA_FN(cn_softmax_loss)(CnReal *logits, const int *targets, double *loss_rows, int r0,
                                int r1, int V);
void CN_ISA_FN(cn_rnn_forward)(const CnCellArgs *c, const CnPart *part);
void CN_ISA_FN(cn_rnn_backward)(const CnCellArgs *c, const CnPart *part);
void CN_ISA_FN(cn_lstm_forward)(const CnCellArgs *c, const CnPart *part);
void CN_ISA_FN(cn_lstm_backward)(const CnCellArgs *c, const CnPart *part);
void CN_ISA_FN(cn_gru_forward)(const CnCellArgs *c, const CnPart *part);
void CN_ISA_FN(cn_gru_backward)(const CnCellArgs *c, const CnPart *part);

#define STR2(x) #x
#define STR(x) STR2(x)

const CnIsa CN_CAT(cn_isa, CN_ISA) = {
    .name = STR(CN_ISA),
    .nr = NR,
#ifdef HAVE_PAIR_TILE
    .bf16_pairs = 1,
#endif
    .pack = pack,
    .round_rows = round_rows_isa,
    .gemm_packed = gemm_packed,
    .gemm = gemm,
    .fma_loop = fma_loop,
    .fma_flops = CHAINS * PEAK_LANES * 2,
    .softmax_loss = CN_ISA_FN(cn_softmax_loss),
    .rnn_forward = CN_ISA_FN(cn_rnn_forward),
    .rnn_backward = CN_ISA_FN(cn_rnn_backward),
    .lstm_forward = CN_ISA_FN(cn_lstm_forward),
    .lstm_backward = CN_ISA_FN(cn_lstm_backward),
    .gru_forward = CN_ISA_FN(cn_gru_forward),
    .gru_backward = CN_ISA_FN(cn_gru_backward),
};
