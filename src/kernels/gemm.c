/* SPDX-License-Identifier: MIT */
/*
 * Matrix products, built once per instruction set (see kernels.h).
 *
 *     C (M x N) (+)= A (M x K) . B (K x N)
 *
 * A is read in place through two strides, A(r, k) = a[r*rs + k*ks], which
 * covers A and A^T alike. B is packed into panels of NR columns, k-major and
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
INLINE void zmm_masks(int n, __mmask16 mask[4])
{
    for (int v = 0; v < 4; v++) {
        int left = n - 16 * v;
        mask[v] = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    }
}

INLINE void zmm_start(__m512 t[MR][4], const int m, const __mmask16 mask[4], const float *c,
                      ptrdiff_t ldc, const float *bias, int acc)
{
#pragma GCC unroll 6
    for (int r = 0; r < m; r++)
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
            t[r][v] = acc    ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v)
                      : bias ? _mm512_maskz_loadu_ps(mask[v], bias + 16 * v)
                             : _mm512_setzero_ps();
}

INLINE void zmm_store(__m512 t[MR][4], const int m, const __mmask16 mask[4], float *c,
                      ptrdiff_t ldc)
{
#pragma GCC unroll 6
    for (int r = 0; r < m; r++)
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++)
            _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], t[r][v]);
}

INLINE void tile(const int m, int n, int kc, const float *a, ptrdiff_t rs, ptrdiff_t ks,
                 const float *bp, float *c, ptrdiff_t ldc, const float *bias, int acc)
{
    __mmask16 mask[4];
    __m512 t[MR][4];
    zmm_masks(n, mask);
    zmm_start(t, m, mask, c, ldc, bias, acc);
    for (int k = 0; k < kc; k++, a += ks, bp += NR) {
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
        __m512 b2 = _mm512_loadu_ps(bp + 32), b3 = _mm512_loadu_ps(bp + 48);
#pragma GCC unroll 6
        for (int r = 0; r < m; r++) {
            __m512 ar = _mm512_set1_ps(a[r * rs]);
            t[r][0] = _mm512_fmadd_ps(ar, b0, t[r][0]);
            t[r][1] = _mm512_fmadd_ps(ar, b1, t[r][1]);
            t[r][2] = _mm512_fmadd_ps(ar, b2, t[r][2]);
            t[r][3] = _mm512_fmadd_ps(ar, b3, t[r][3]);
        }
    }
    zmm_store(t, m, mask, c, ldc);
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
/* bf16 products (CnMul). Emulated: the operands rounded to bf16 and stored
 * as floats with each pair of k swapped (2i+1 before 2i; an unpaired last k
 * stays), so that the fp32 micro-kernels, one fused multiply-add per k in
 * storage order, add the exact products in VDPBF16PS's order. Native
 * (AVX-512 builds, CPUs with AVX512_BF16): the operands as pairs of bf16 in
 * 32-bit words, low half k = 2i, high half 2i+1 (zero past the end). Either
 * way A's rows are first packed, MC x KC at a time, into the thread's apack. */

/* Storage place of k in a block of kc when pairs are swapped. */
static inline int swapped(int k, int kc)
{
    int s = k ^ 1;
    return s < kc ? s : k;
}

#ifndef CHARNN_DOUBLE
static inline uint32_t bf16_bits(float x)
{
    float r = cn_bf16(x);
    uint32_t u;
    memcpy(&u, &r, sizeof u);
    return u >> 16;
}

static inline void put_pair(CnReal *dst, size_t word, float lo, float hi)
{
    uint32_t w = bf16_bits(lo) | bf16_bits(hi) << 16;
    memcpy((unsigned char *)dst + 4 * word, &w, sizeof w);
}
#endif

/* Rows [0, m) x k [0, kc) of A, A(i, k) = a[i*rs + k*ks], into dst for the
 * products `mul`: emulated, kc floats per row; native, (kc + 1) / 2 words
 * per row. Returns the row stride in CnReals. */
static int pack_a(CnReal *dst, const CnReal *a, ptrdiff_t rs, ptrdiff_t ks, int m, int kc,
                  CnMul mul)
{
#ifndef CHARNN_DOUBLE
    if (mul == CN_MUL_BF16_NATIVE) {
        int pairs = (kc + 1) / 2;
        for (int i = 0; i < m; i++)
            for (int q = 0; q < pairs; q++) {
                const CnReal *x = a + i * rs + (ptrdiff_t)(2 * q) * ks;
                put_pair(dst, (size_t)i * pairs + q, x[0], 2 * q + 1 < kc ? x[ks] : 0);
            }
        return pairs;
    }
    if (ks == 1) /* rows of A contiguous: read along them */
        for (int i = 0; i < m; i++)
            for (int k = 0; k < kc; k++)
                dst[(size_t)i * kc + swapped(k, kc)] = cn_bf16(a[i * rs + k]);
    else
        for (int k = 0; k < kc; k++)
            for (int i = 0; i < m; i++)
                dst[(size_t)i * kc + swapped(k, kc)] = cn_bf16(a[i * rs + (ptrdiff_t)k * ks]);
#else
    (void)dst, (void)a, (void)rs, (void)ks, (void)m, (void)mul;
#endif
    return kc;
}

#if defined(__AVX512F__) && !defined(CHARNN_DOUBLE)
#define HAVE_BF16_TILE 1
#define BF16_TARGET __attribute__((target("avx512bf16")))

/* The AVX-512 tile with VDPBF16PS: per pair of k, 4 vectors of B (64
 * columns x 2 bf16) and one 32-bit broadcast of A's pair per row; each
 * instruction is two multiply-adds per lane. a: words, row stride rs. */
BF16_TARGET INLINE void tile_bf16(const int m, int n, int pairs, const CnReal *a, ptrdiff_t rs,
                                  const CnReal *bp, CnReal *c, ptrdiff_t ldc,
                                  const CnReal *bias, int acc)
{
    const uint32_t *aw = (const uint32_t *)(const void *)a;
    __mmask16 mask[4];
    __m512 t[MR][4];
    zmm_masks(n, mask);
    zmm_start(t, m, mask, c, ldc, bias, acc);
    for (int q = 0; q < pairs; q++, aw++, bp += NR) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp), b1 = (__m512bh)_mm512_loadu_si512(bp + 16);
        __m512bh b2 = (__m512bh)_mm512_loadu_si512(bp + 32);
        __m512bh b3 = (__m512bh)_mm512_loadu_si512(bp + 48);
#pragma GCC unroll 6
        for (int r = 0; r < m; r++) {
            __m512bh ar = (__m512bh)_mm512_set1_epi32((int)aw[r * rs]);
            t[r][0] = _mm512_dpbf16_ps(t[r][0], ar, b0);
            t[r][1] = _mm512_dpbf16_ps(t[r][1], ar, b1);
            t[r][2] = _mm512_dpbf16_ps(t[r][2], ar, b2);
            t[r][3] = _mm512_dpbf16_ps(t[r][3], ar, b3);
        }
    }
    zmm_store(t, m, mask, c, ldc);
}

BF16_TARGET static void tile_bf16_any(int m, int n, int pairs, const CnReal *a, ptrdiff_t rs,
                                      const CnReal *bp, CnReal *c, ptrdiff_t ldc,
                                      const CnReal *bias, int acc)
{
    switch (m) {
    case 6: tile_bf16(6, n, pairs, a, rs, bp, c, ldc, bias, acc); break;
    case 5: tile_bf16(5, n, pairs, a, rs, bp, c, ldc, bias, acc); break;
    case 4: tile_bf16(4, n, pairs, a, rs, bp, c, ldc, bias, acc); break;
    case 3: tile_bf16(3, n, pairs, a, rs, bp, c, ldc, bias, acc); break;
    case 2: tile_bf16(2, n, pairs, a, rs, bp, c, ldc, bias, acc); break;
    default: tile_bf16(1, n, pairs, a, rs, bp, c, ldc, bias, acc); break;
    }
}
#endif

/* ------------------------------------------------------------------------- */
/* Packing. Panel p of a blocked operand (nblk blocks of `width` columns)
 * covers columns blk*width + q*NR + [0, NR) with blk = p / P, q = p % P,
 * P = ceil(width / NR); columns past the block's width are zeros. A panel
 * holds K rows of NR values, k-major; for bf16 products each block of KC
 * rows is rounded and laid out as described above (native: its pairs in
 * the first half of the block's place). */

/* op(B)[k][col + j] */
static inline CnReal op_b(const CnReal *B, int ldb, int trans, int k, int col)
{
    return trans ? B[(size_t)col * ldb + k] : B[(size_t)k * ldb + col];
}

static void pack_panels(CnReal *dst, const CnReal *B, int ldb, int trans, int K, int width,
                        int p0, int p1, CnMul mul)
{
    int per_blk = (width + NR - 1) / NR;
    for (int p = p0; p < p1; p++, dst += (size_t)K * NR) {
        int blk = p / per_blk, q = p % per_blk;
        int col = blk * width + q * NR, n = min_int(NR, width - q * NR);
#ifndef CHARNN_DOUBLE
        if (mul != CN_MUL_FP32) {
            for (int k0 = 0; k0 < K; k0 += CN_KC) {
                int kc = min_int(CN_KC, K - k0);
                CnReal *d = dst + (size_t)k0 * NR;
                for (int k = 0; k < kc; k++) {
                    int at = swapped(k, kc);
                    for (int j = 0; j < NR; j++) {
                        CnReal x = j < n ? op_b(B, ldb, trans, k0 + k, col + j) : 0;
                        if (mul == CN_MUL_BF16_EMULATED)
                            d[(size_t)at * NR + j] = cn_bf16(x);
                        else if (!(k & 1))
                            put_pair(d, (size_t)(k / 2) * NR + j, x,
                                     k + 1 < kc && j < n
                                         ? op_b(B, ldb, trans, k0 + k + 1, col + j)
                                         : 0);
                    }
                }
            }
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

/* The products this build can do as asked: without the AVX512_BF16 tile,
 * native bf16 is emulated (the same sums). */
static CnMul usable(CnMul mul)
{
#ifndef HAVE_BF16_TILE
    if (mul == CN_MUL_BF16_NATIVE)
        return CN_MUL_BF16_EMULATED;
#endif
    return mul;
}

static void pack(CnPacked *out, const CnReal *B, int ldb, int trans, int p0, int p1)
{
    pack_panels(out->p + (size_t)p0 * out->K * NR, B, ldb, trans, out->K, out->width, p0, p1,
                usable(out->mul));
}

/* Rows of the next tile when `left` rows remain: MR, except that the last
 * MR + a few rows are split in two near-equal tiles (32 = 6+6+6+6+4+4, not
 * ...+6+2): a tile of 1 or 2 rows has too few independent chains to keep the
 * FMA pipes busy. */
static int rows_of_tile(int left)
{
    return left <= MR || left >= 2 * MR ? min_int(MR, left) : (left + 1) / 2;
}

/* Rows [r0, r1) of C times panels [p0, p1) of a packed operand whose panel
 * p sits at bp + (p - p0) * kstride, over k in [k0, k0 + kc); a points at
 * A(r0, k0) (or at the rows packed for bf16: ks 1). */
static void tiles(CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs, ptrdiff_t ks, int r0,
                  int r1, const CnReal *bp, size_t kstride, int width, int p0, int p1, int k0,
                  int kc, const CnReal *bias, int acc, CnMul mul)
{
    int per_blk = (width + NR - 1) / NR;
    int from_c = acc || k0 > 0;
    for (int p = p0; p < p1; p++, bp += kstride) {
        int blk = p / per_blk, q = p % per_blk;
        int col = blk * width + q * NR, n = min_int(NR, width - q * NR);
        const CnReal *bias_col = !from_c && bias ? bias + col : NULL;
        for (int r = r0, m; r < r1; r += m) {
            m = rows_of_tile(r1 - r);
            const CnReal *ar = a + (r - r0) * rs;
            CnReal *c = C + (size_t)r * ldc + col;
#ifdef HAVE_BF16_TILE
            if (mul == CN_MUL_BF16_NATIVE) {
                tile_bf16_any(m, n, (kc + 1) / 2, ar, rs, bp, c, ldc, bias_col, from_c);
                continue;
            }
#endif
            tile_any(m, n, kc, ar, rs, ks, bp, c, ldc, bias_col, from_c);
        }
    }
    (void)mul;
}

/* Rows [r0, r1) x k [k0, k0 + kc) through tiles: A in place for fp32, else
 * its rows packed, MC at a time. */
static void block(const CnPart *part, CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs,
                  ptrdiff_t ks, int r0, int r1, const CnReal *bp, size_t kstride, int width,
                  int p0, int p1, int k0, int kc, const CnReal *bias, int acc, CnMul mul)
{
    if (mul == CN_MUL_FP32) {
        tiles(C, ldc, a + r0 * rs + (ptrdiff_t)k0 * ks, rs, ks, r0, r1, bp, kstride, width, p0,
              p1, k0, kc, bias, acc, mul);
        return;
    }
    for (int m0 = r0; m0 < r1; m0 += MC) {
        int m1 = min_int(r1, m0 + MC);
        int stride = pack_a(part->apack, a + m0 * rs + (ptrdiff_t)k0 * ks, rs, ks, m1 - m0, kc,
                            mul);
        tiles(C, ldc, part->apack, stride, 1, m0, m1, bp, kstride, width, p0, p1, k0, kc, bias,
              acc, mul);
    }
}

static void gemm_packed(const CnPart *part, CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs,
                        ptrdiff_t ks, int M, const CnPacked *b, int p0, int p1,
                        const CnReal *bias, int acc)
{
    for (int r0 = 0; r0 < M; r0 += MC)
        for (int k0 = 0; k0 < b->K; k0 += CN_KC)
            block(part, C, ldc, a, rs, ks, r0, min_int(M, r0 + MC),
                  b->p + (size_t)p0 * b->K * NR + (size_t)k0 * NR, (size_t)b->K * NR, b->width,
                  p0, p1, k0, min_int(CN_KC, b->K - k0), bias, acc, usable(b->mul));
}

/* This thread's share: along panels when there are enough of them, else
 * along MR-row tiles. Tiny products stay on thread 0. */
static void gemm(const CnPart *part, CnReal *C, int ldc, const CnReal *a, ptrdiff_t rs,
                 ptrdiff_t ks, const CnReal *B, int ldb, int trans, int M, int N, int K,
                 const CnReal *bias, int acc)
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
    for (int k0 = 0; k0 < K; k0 += CN_KC) {
        int kc = min_int(CN_KC, K - k0);
        const CnReal *src = trans ? B + k0 : B + (size_t)k0 * ldb;
        pack_panels(part->scratch, src, ldb, trans, kc, N, p0, p1, usable(part->mul));
        block(part, C, ldc, a, rs, ks, r0, r1, part->scratch, (size_t)kc * NR, N, p0, p1, k0, kc,
              bias, acc, usable(part->mul));
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
#ifdef HAVE_BF16_TILE
    .bf16_native = 1,
#endif
    .pack = pack,
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
