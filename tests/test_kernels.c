/* SPDX-License-Identifier: MIT */
/*
 * The kernels of every instruction-set build of this architecture that this
 * CPU can run (generic; avx2, avx512 on x86-64; neon on AArch64): the
 * blocked products against the plain reference loops (which are checked
 * against a double-precision sum), over odd shapes, leading dimensions
 * wider than the matrices, transposed operands, gate blocks, bias and
 * accumulate modes, and every split between 1 to 3 threads (which must give
 * identical bits); exp, tanh and sigmoid against libm; and a whole forward
 * and backward pass of every cell kind against the portable build.
 */
#include "check.h"
#include "core.h"
#include "mathfn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __aarch64__
static const char *const isa_names[] = {"generic", "neon"};
#else
static const char *const isa_names[] = {"generic", "avx2", "avx512"};
#endif
enum { NISAS = sizeof isa_names / sizeof isa_names[0] };

static void fill(CnReal *x, size_t n, CnRng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (CnReal)(cn_rng_uniform(rng) * 2 - 1);
}

/* C[i][j] (+)= sum_k A(i,k) B(k,j) in double, A(i,k) = A[ta ? k*lda+i : i*lda+k],
 * B(k,j) = B[tb ? j*ldb+k : k*ldb+j]. */
static void exact(double *C, int ldc, const CnReal *A, int lda, int ta, const CnReal *B, int ldb,
                  int tb, int M, int N, int K)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0;
            for (int k = 0; k < K; k++)
                sum += (double)A[ta ? (size_t)k * lda + i : (size_t)i * lda + k] *
                       B[tb ? (size_t)j * ldb + k : (size_t)k * ldb + j];
            C[(size_t)i * ldc + j] += sum;
        }
}

static double worst_error(const CnReal *C, const double *R, int M, int N, int ldc)
{
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            worst = fmax(worst, fabs(C[(size_t)i * ldc + j] - R[(size_t)i * ldc + j]) /
                                    (1 + fabs(R[(size_t)i * ldc + j])));
    return worst;
}

typedef void (*RefGemm)(CnReal *, int, const CnReal *, int, const CnReal *, int, int, int, int,
                        int);

/* The reference loops against the double sum. */
static void reference_case(const char *name, RefGemm gemm, int ta, int tb, int M, int N, int K,
                           int acc, CnRng *rng)
{
    int pad = 3, lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    CnReal *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
    double *R = malloc(nc * sizeof *R);
    fill(A, na, rng), fill(B, nb, rng), fill(C, nc, rng);
    for (size_t i = 0; i < nc; i++)
        R[i] = acc ? C[i] : 0;
    exact(R, ldc, A, lda, ta, B, ldb, tb, M, N, K);
    gemm(C, ldc, A, lda, B, ldb, M, N, K, acc);
    double worst = worst_error(C, R, M, N, ldc), tol = 1e-6 * (K + 1);
    CHECK(worst < tol, "reference %s M=%d N=%d K=%d %s: error %.1e (bound %.0e)", name, M, N, K,
          acc ? "accumulate" : "overwrite", worst, tol);
    free(A), free(B), free(C), free(R);
}

/* One product through an ISA's gemm, as `parts` threads' shares, against
 * the double sum: *ratio gets the error over its bound (K+1) 1e-6, and
 * *outside whether anything beyond C's N columns changed. Returns C, for
 * comparing splits. */
static CnReal *isa_case(const CnIsa *isa, int form, int M, int N, int K, int mode, int parts,
                        unsigned seed, double *ratio, int *outside)
{
    CnRng rng;
    cn_rng_seed(&rng, seed);
    int ta = form == 2, tb = form == 1; /* nn, nt, tn */
    int pad = 5, lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    CnReal *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
    CnReal *bias = malloc((size_t)N * sizeof *bias);
    double *R = malloc(nc * sizeof *R);
    fill(A, na, &rng), fill(B, nb, &rng), fill(C, nc, &rng), fill(bias, (size_t)N, &rng);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++)
            R[(size_t)i * ldc + j] = mode == 1   ? C[(size_t)i * ldc + j]
                                     : mode == 2 ? bias[j % N]
                                                 : 0;
    exact(R, ldc, A, lda, ta, B, ldb, tb, M, N, K);
    size_t panels = (size_t)(N + isa->nr - 1) / isa->nr;
    CnReal *scratch = malloc(CN_KC * panels * isa->nr * sizeof *scratch);
    CnReal *apack = malloc((size_t)CN_MC * CN_KC * sizeof *apack);
    CnReal *before = malloc(nc * sizeof *before);
    memcpy(before, C, nc * sizeof *C);
    for (int t = 0; t < parts; t++) {
        CnPart part = {t, parts, NULL, scratch, CN_MUL_FP32, apack, NULL};
        isa->gemm(&part, C, ldc, cn_a(A, ta ? 1 : lda, ta ? lda : 1), B, ldb, tb, M, N, K,
                  mode == 2 ? bias : NULL, mode == 1);
    }
    *ratio = worst_error(C, R, M, N, ldc) / (1e-6 * (K + 1));
    *outside = 0;
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++)
            *outside |= C[(size_t)i * ldc + j] != before[(size_t)i * ldc + j];
    free(A), free(B), free(bias), free(R), free(scratch), free(apack), free(before);
    return C;
}

/* Every form (nn, nt, tn) and start (zero, C, bias) over odd shapes, each
 * split between 1, 2 and 3 threads. */
static void test_isa_gemm(const CnIsa *isa)
{
    static const char *const forms[] = {"nn", "nt", "tn (A transposed)"};
    const int shapes[][3] = {{1, 1, 1},     {3, 5, 7},    {7, 17, 129}, {13, 64, 300},
                             {50, 65, 128}, {6, 200, 33}, {257, 70, 40}};
    const int nshapes = sizeof shapes / sizeof shapes[0];
    unsigned seed = 1;
    int identical = 1;
    for (int form = 0; form < 3; form++) {
        double worst = 0;
        int outside = 0, worst_shape = 0;
        for (int sh = 0; sh < nshapes; sh++) {
            int M = shapes[sh][0], N = shapes[sh][1], K = shapes[sh][2];
            for (int mode = 0; mode < 3; mode++, seed++) {
                double ratio;
                int out;
                CnReal *one = isa_case(isa, form, M, N, K, mode, 1, seed, &ratio, &out);
                if (ratio > worst)
                    worst = ratio, worst_shape = sh;
                outside |= out;
                for (int parts = 2; parts <= 3; parts++) {
                    CnReal *split = isa_case(isa, form, M, N, K, mode, parts, seed, &ratio, &out);
                    identical &= memcmp(one, split, (size_t)M * (N + 5) * sizeof *one) == 0;
                    free(split);
                }
                free(one);
            }
        }
        CHECK(worst < 1 && !outside,
              "%s gemm %s, %d shapes x 3 starts: worst error %.3f of its bound (at M=%d N=%d "
              "K=%d)%s",
              isa->name, forms[form], nshapes, worst, shapes[worst_shape][0],
              shapes[worst_shape][1], shapes[worst_shape][2],
              outside ? "; wrote outside C" : "");
    }
    CHECK(identical, "%s gemm: 1, 2 and 3 threads give identical bits in all %d cases",
          isa->name, 3 * 3 * nshapes);
}

/* A packed operand of gate blocks: C = A . op(B) with G blocks of width
 * columns, panels split between parts. */
static void test_isa_packed(const CnIsa *isa)
{
    CnRng rng;
    cn_rng_seed(&rng, 77);
    const int M = 11, K = 150, width = 70, G = 3, N = G * width;
    for (int trans = 0; trans < 2; trans++) {
        int ldb = trans ? K : N, ldc = N + 2;
        CnReal *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)K * N * sizeof *B);
        CnReal *C = calloc((size_t)M * ldc, sizeof *C);
        double *R = calloc((size_t)M * ldc, sizeof *R);
        fill(A, (size_t)M * K, &rng), fill(B, (size_t)K * N, &rng);
        exact(R, ldc, A, K, 0, B, ldb, trans, M, N, K);
        int per = (width + isa->nr - 1) / isa->nr;
        CnPacked packed = {malloc((size_t)G * per * K * isa->nr * sizeof(CnReal)), K, width, G,
                           CN_MUL_FP32};
        int panels = cn_panels(&packed, isa->nr);
        CnPart part = {0, 1, NULL, NULL, CN_MUL_FP32, NULL, NULL};
        isa->pack(&part, &packed, B, ldb, trans, 0, panels / 2);
        isa->pack(&part, &packed, B, ldb, trans, panels / 2, panels);
        isa->gemm_packed(&part, C, ldc, cn_a(A, K, 1), M, &packed, 0, 1, NULL, 0);
        isa->gemm_packed(&part, C, ldc, cn_a(A, K, 1), M, &packed, 1, panels, NULL, 0);
        double worst = worst_error(C, R, M, N, ldc);
        CHECK(worst < 1e-6 * (K + 1), "%s packed %d gate blocks of %d%s: error %.1e", isa->name,
              G, width, trans ? ", transposed" : "", worst);
        free(A), free(B), free(C), free(R), free(packed.p);
    }
}

/* ------------------------------------------------------------------------- */
/* bf16 products: rounding, and every build's products (emulated, and native
 * where the CPU has AVX512_BF16) against plain loops in VDPBF16PS's order. */

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void test_bf16_rounding(void)
{
    const struct {
        uint32_t in, out;
        const char *what;
    } cases[] = {
        {0x3f800000, 0x3f800000, "1 stays"},
        {0x3f808000, 0x3f800000, "1 + 2^-8, halfway, to even (down)"},
        {0x3f818000, 0x3f820000, "1 + 3 x 2^-8, halfway, to even (up)"},
        {0x3f808001, 0x3f810000, "just above halfway, up"},
        {0xbf80ffff, 0xbf810000, "negative, up in magnitude"},
        {0x00400000, 0x00000000, "a denormal becomes zero"},
        {0x80000001, 0x80000000, "a negative denormal becomes -0"},
        {0x7f7fffff, 0x7f800000, "the largest float rounds to infinity"},
        {0xff800000, 0xff800000, "-infinity stays"},
        {0x7f800001, 0x7fc00000, "a signalling NaN becomes a quiet NaN"},
        {0xffc12345, 0xffc10000, "a quiet NaN keeps its sign and high payload"},
    };
    int bad = -1;
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        if (bits_of(cn_bf16(float_of(cases[i].in))) != cases[i].out && bad < 0)
            bad = i;
    CHECK(bad < 0, "bf16 rounding: nearest, ties to even; denormals, infinities, NaNs (%d "
          "cases)%s%s", (int)(sizeof cases / sizeof cases[0]), bad < 0 ? "" : "; wrong: ",
          bad < 0 ? "" : cases[bad].what);
}

static const char *mul_name(CnMul mul)
{
    return mul == CN_MUL_BF16_NATIVE  ? "AVX512_BF16"
           : mul == CN_MUL_BF16_PAIRS ? "pairs with fused multiply-adds"
                                      : "emulated";
}

/* An ISA's vectorized rounding of rows (round_rows) against cn_bf16, value
 * by value, on the edge cases spread over whole vectors and tails, in both
 * layouts (floats with pairs swapped; pairs of bf16 in words). */
static void test_isa_round(const CnIsa *isa, CnMul mul)
{
    static const uint32_t special[] = {0x3f808000, 0x3f818000, 0x00400000, 0x80000001,
                                       0x7f7fffff, 0xff800000, 0x7f800001, 0xffc12345,
                                       0x00000000, 0x80000000, 0x7f800000, 0xbf80ffff};
    enum { N = 77, ROWS = 3 }; /* odd: an unpaired last k */
    CnReal x[ROWS * N], got[ROWS * N];
    CnRng rng;
    cn_rng_seed(&rng, 9);
    for (int i = 0; i < ROWS * N; i++)
        x[i] = i % 3 ? (CnReal)(cn_rng_uniform(&rng) * 8 - 4)
                     : float_of(special[(i / 3) % (sizeof special / sizeof special[0])]);
    memset(got, 0x55, sizeof got);
    CnPart part = {0, 1, NULL, NULL, mul, NULL, NULL};
    /* in two column ranges, as two threads would round their units */
    isa->round_rows(&part, got, N, x, N, ROWS, 0, 32, N, mul);
    isa->round_rows(&part, got, N, x, N, ROWS, 32, N, N, mul);
    int bad = 0;
    for (int r = 0; r < ROWS; r++)
        for (int k = 0; k <= N; k++) {
            uint32_t want = k < N ? bits_of(cn_bf16(x[r * N + k])) : 0;
            uint32_t have;
            if (cn_mul_pairs(mul)) {
                uint16_t half;
                memcpy(&half, (unsigned char *)(got + r * N) + 2 * k, sizeof half);
                have = (uint32_t)half << 16;
            } else {
                if (k == N)
                    continue;
                have = bits_of(got[r * N + ((k ^ 1) < N ? (k ^ 1) : k)]);
            }
            bad += have != want;
        }
    CHECK(!bad, "%s round_rows (%s): %d rows of %d values, edge cases among them, rounded as "
          "cn_bf16 rounds them%s", isa->name, mul_name(mul), ROWS, N,
          bad ? " (some were not)" : "");
}

/* C (+)= A . op(B) with bf16 inputs and fp32 sums, k in pairs, the odd
 * product added first. */
static void bf16_ref(CnReal *C, int ldc, const CnReal *A, int lda, int ta, const CnReal *B,
                     int ldb, int tb, int M, int N, int K, const CnReal *bias, int acc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float sum = acc ? C[(size_t)i * ldc + j] : bias ? bias[j] : 0;
            for (int k = 0; k < K; k += 2)
                for (int kk = k + 1; kk >= k; kk--) {
                    if (kk >= K)
                        continue;
                    float a = cn_bf16(A[ta ? (size_t)kk * lda + i : (size_t)i * lda + kk]);
                    float b = cn_bf16(B[tb ? (size_t)j * ldb + kk : (size_t)kk * ldb + j]);
                    sum += a * b; /* exact product: one rounding, as a fused multiply-add */
                }
            C[(size_t)i * ldc + j] = sum;
        }
}

/* One product through isa->gemm (and, for nn and nt, through a packed B and
 * gemm_packed, with A's rows rounded by the product and rounded beforehand
 * by round_rows in column ranges as threads round them) split between
 * `parts` threads; 1 if all equal the reference bit for bit, C outside
 * M x N untouched. */
static int bf16_case(const CnIsa *isa, CnMul mul, int form, int M, int N, int K, int mode,
                     int parts, unsigned seed)
{
    CnRng rng;
    cn_rng_seed(&rng, seed);
    int ta = form == 2, tb = form == 1;
    int pad = 3, lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    CnReal *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
    CnReal *R = malloc(nc * sizeof *R), *P = malloc(nc * sizeof *P), *Q = malloc(nc * sizeof *Q);
    CnReal *Ar = malloc((size_t)M * (K + 1) * sizeof *Ar);
    CnReal *bias = malloc((size_t)N * sizeof *bias);
    fill(A, na, &rng), fill(B, nb, &rng), fill(C, nc, &rng), fill(bias, (size_t)N, &rng);
    memcpy(R, C, nc * sizeof *C);
    memcpy(P, C, nc * sizeof *C);
    memcpy(Q, C, nc * sizeof *C);
    bf16_ref(R, ldc, A, lda, ta, B, ldb, tb, M, N, K, mode == 2 ? bias : NULL, mode == 1);
    int per = (N + isa->nr - 1) / isa->nr;
    CnReal *scratch = malloc((size_t)CN_KC * per * isa->nr * sizeof *scratch);
    CnReal *apack = malloc((size_t)parts * CN_MC * CN_KC * sizeof *apack);
    CnPacked packed = {malloc((size_t)per * K * isa->nr * sizeof(CnReal)), K, N, 1, mul};
    for (int t = 0; t < parts; t++) {
        CnPart part = {t, parts, NULL, scratch, mul, apack + (size_t)t * CN_MC * CN_KC, NULL};
        isa->gemm(&part, C, ldc, cn_a(A, ta ? 1 : lda, ta ? lda : 1), B, ldb, tb, M, N, K,
                  mode == 2 ? bias : NULL, mode == 1);
    }
    int same = memcmp(C, R, nc * sizeof *C) == 0;
    if (!ta) {
        int p0, p1;
        for (int t = 0; t < parts; t++) {
            CnPart part = {t, parts, NULL, NULL, mul, NULL, NULL};
            cn_share(per, t, parts, &p0, &p1);
            isa->pack(&part, &packed, B, ldb, tb, p0, p1);
            /* A's rows rounded once, each thread its own even-aligned columns */
            int k0 = 2 * (int)((long long)(K / 2) * t / parts);
            int k1 = t == parts - 1 ? K : 2 * (int)((long long)(K / 2) * (t + 1) / parts);
            isa->round_rows(&part, Ar, K + 1, A, lda, M, k0, k1, K, mul);
        }
        for (int t = 0; t < parts; t++) {
            CnPart part = {t, parts, NULL, NULL, mul, apack + (size_t)t * CN_MC * CN_KC, NULL};
            cn_share(per, t, parts, &p0, &p1);
            if (p0 < p1) {
                isa->gemm_packed(&part, P, ldc, cn_a(A, lda, 1), M, &packed, p0, p1,
                                 mode == 2 ? bias : NULL, mode == 1);
                isa->gemm_packed(&part, Q, ldc, cn_rows(A, Ar, K + 1), M, &packed, p0, p1,
                                 mode == 2 ? bias : NULL, mode == 1);
            }
        }
        same &= memcmp(P, R, nc * sizeof *P) == 0 && memcmp(Q, R, nc * sizeof *Q) == 0;
    }
    free(A), free(B), free(C), free(R), free(P), free(Q), free(Ar), free(bias), free(scratch);
    free(apack);
    free(packed.p);
    return same;
}

static void test_isa_bf16(const CnIsa *isa, CnMul mul)
{
    const int shapes[][3] = {{1, 1, 1},     {3, 5, 7},     {7, 17, 129}, {13, 64, 300},
                             {50, 65, 128}, {6, 200, 33},  {32, 96, 257}, {257, 70, 40},
                             {300, 40, 513}};
    const int nshapes = sizeof shapes / sizeof shapes[0];
    int cases = 0, failed = 0, first = -1;
    for (int form = 0; form < 3; form++)
        for (int sh = 0; sh < nshapes; sh++)
            for (int mode = 0; mode < 3; mode++)
                for (int parts = 1; parts <= 3; parts++, cases++)
                    if (!bf16_case(isa, mul, form, shapes[sh][0], shapes[sh][1], shapes[sh][2],
                                   mode, parts, 1000u + (unsigned)cases)) {
                        failed++;
                        if (first < 0)
                            first = sh;
                    }
    CHECK(!failed, "%s bf16 products (%s), nn/nt/tn, packed and not, A rounded by the product "
          "and beforehand, 1 to 3 threads: %d of %d cases equal the plain loops bit for bit%s",
          isa->name, mul_name(mul), cases - failed, cases,
          failed ? " (first failing shape listed below)" : "");
    if (failed)
        printf("#   M=%d N=%d K=%d\n", shapes[first][0], shapes[first][1], shapes[first][2]);
}

/* exp, tanh and sigmoid against libm over [-100, 100]. */
static void test_functions(void)
{
    double exp_rel = 0, tanh_abs = 0, tanh_rel = 0, sig_abs = 0;
    for (int i = -2000000; i <= 2000000; i++) {
        float x = (float)i * 5e-5f;
        if (i % 20 == 0)
            x *= 10; /* reach +-100 too */
        double e = exp((double)x);
        if (x > -87.3f && x < 88.3f)
            exp_rel = fmax(exp_rel, fabs(cn_fexp(x) - e) / e);
        double t = tanh((double)x), got = cn_ftanh(x);
        tanh_abs = fmax(tanh_abs, fabs(got - t));
        if (fabs(x) > 1e-30)
            tanh_rel = fmax(tanh_rel, fabs(got - t) / fabs(t));
        sig_abs = fmax(sig_abs, fabs(cn_fsigmoid(x) - 1 / (1 + exp(-(double)x))));
    }
    CHECK(exp_rel < 3e-7, "exp within relative error %.2e of libm (bound 3e-7)", exp_rel);
    CHECK(tanh_abs < 2e-7 && tanh_rel < 1e-6,
          "tanh within absolute %.2e (bound 2e-7), relative %.2e (bound 1e-6) of libm",
          tanh_abs, tanh_rel);
    CHECK(sig_abs < 2e-7, "sigmoid within absolute %.2e of libm (bound 2e-7)", sig_abs);
    CHECK(cn_fexp(-200) >= 0 && cn_fexp(-200) < 2e-38 && isfinite(cn_fexp(200)) &&
              cn_fsigmoid(-200) >= 0 && cn_fsigmoid(200) == 1 && cn_ftanh(50) == 1 &&
              cn_ftanh(-50) == -1,
          "the functions saturate cleanly far outside their range");
}

/* A whole forward and backward on one ISA: loss and gradients. */
static double run_model_h(const CnIsa *isa, CnCell cell, CnMul mul, int threads, int H,
                          CnReal *grads, size_t *nparams)
{
    enum { V = 11, L = 2, B = 5, T = 9 };
    cn_isa_use(isa);
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(V * sizeof *chars);
    for (int k = 0; k < V; k++)
        chars[k] = 'a' + (uint32_t)k;
    cn_vocab_from_chars(&vocab, chars, V, &err);
    CnModel m;
    cn_model_init(&m, cell, H, L, &vocab, &err);
    CnRng rng;
    cn_rng_seed(&rng, 21);
    for (size_t i = 0; i < m.nparams; i++)
        m.params[i] = (CnReal)((cn_rng_uniform(&rng) - 0.5) * 0.6);
    int ids[T * B], targets[T * B];
    for (int i = 0; i < T * B; i++)
        ids[i] = (int)(cn_rng_next(&rng) % V), targets[i] = (int)(cn_rng_next(&rng) % V);
    CnPool *pool;
    cn_pool_create(&pool, threads);
    CnActs acts;
    cn_acts_init(&acts, &m.shape, B, T, 0.3, 1, mul, pool, &err);
    for (size_t i = 0; i < acts.shape.layers * (size_t)B * H; i++)
        acts.state_h[i] = (CnReal)(cn_rng_uniform(&rng) - 0.5);
    CnRng drop;
    cn_rng_seed(&drop, 3);
    double loss = cn_forward(&m, &acts, ids, targets, T, &drop) / (B * T);
    memset(grads, 0, m.nparams * sizeof *grads);
    cn_backward(&m, &acts, ids, targets, grads);
    *nparams = m.nparams;
    cn_acts_free(&acts);
    cn_pool_destroy(pool);
    cn_model_release(&m);
    return loss;
}

static double run_model(const CnIsa *isa, CnCell cell, CnMul mul, int threads, CnReal *grads,
                        size_t *nparams)
{
    return run_model_h(isa, cell, mul, threads, 70, grads, nparams);
}

static void test_isa_model(const CnIsa *isa)
{
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    CnReal *ref = malloc(200000 * sizeof *ref), *got = malloc(200000 * sizeof *got);
    for (int k = 0; k < 4; k++) {
        size_t n;
        double loss_ref = run_model(cn_isa_named("generic"), cells[k], CN_MUL_FP32, 2, ref, &n);
        double loss = run_model(isa, cells[k], CN_MUL_FP32, 2, got, &n);
        double gmax = 0, diff = 0;
        for (size_t i = 0; i < n; i++) {
            gmax = fmax(gmax, fabs(ref[i]));
            diff = fmax(diff, fabs(got[i] - ref[i]));
        }
        CHECK(fabs(loss - loss_ref) < 1e-6 * loss_ref && diff < 1e-5 * gmax,
              "%s %s forward and backward agree with generic: loss %.9f vs %.9f, largest "
              "gradient difference %.1e of %.1e",
              isa->name, cn_name_of(cn_cell_names, cells[k]), loss, loss_ref, diff, gmax);
    }
    free(ref), free(got);
}

/* A whole pass with bf16 products: close to fp32's (and not equal: the
 * rounding is in use), the same bits on 1 and 3 threads. */
static void test_isa_model_bf16(const CnIsa *isa, CnMul mul)
{
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    CnReal *f32 = malloc(200000 * sizeof *f32), *one = malloc(200000 * sizeof *one);
    CnReal *three = malloc(200000 * sizeof *three);
    for (int k = 0; k < 4; k++) {
        size_t n;
        double loss32 = run_model(isa, cells[k], CN_MUL_FP32, 2, f32, &n);
        double loss1 = run_model(isa, cells[k], mul, 1, one, &n);
        double loss3 = run_model(isa, cells[k], mul, 3, three, &n);
        double gmax = 0, diff = 0;
        for (size_t i = 0; i < n; i++) {
            gmax = fmax(gmax, fabs(f32[i]));
            diff = fmax(diff, fabs(one[i] - f32[i]));
        }
        CHECK(fabs(loss1 - loss32) < 1e-2 * loss32 && diff < 3e-2 * gmax && diff > 1e-7 * gmax &&
                  loss1 == loss3 && memcmp(one, three, n * sizeof *one) == 0,
              "%s %s with bf16 products (%s): loss %.6f vs fp32's %.6f, largest gradient "
              "difference %.1e of %.1e; 1 and 3 threads identical",
              isa->name, cn_name_of(cn_cell_names, cells[k]), mul_name(mul), loss1, loss32, diff,
              gmax);
    }
    free(f32), free(one), free(three);
}

/* The native layout (pairs of bf16 in words, A rounded where it is made),
 * multiplied by fused multiply-adds: whole passes equal to the emulation's
 * bit for bit, on 1 and 3 threads. */
static void test_isa_model_pairs(const CnIsa *isa)
{
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    CnReal *emu = malloc(200000 * sizeof *emu), *one = malloc(200000 * sizeof *one);
    CnReal *three = malloc(200000 * sizeof *three);
    for (int k = 0; k < 8; k++) {
        size_t n;
        int H = k < 4 ? 70 : 33; /* odd: the backward's dz is rounded by the products */
        CnCell cell = cells[k % 4];
        double loss_emu = run_model_h(isa, cell, CN_MUL_BF16_EMULATED, 2, H, emu, &n);
        double loss1 = run_model_h(isa, cell, CN_MUL_BF16_PAIRS, 1, H, one, &n);
        double loss3 = run_model_h(isa, cell, CN_MUL_BF16_PAIRS, 3, H, three, &n);
        CHECK(loss1 == loss_emu && loss3 == loss_emu && memcmp(one, emu, n * sizeof *one) == 0 &&
                  memcmp(three, emu, n * sizeof *three) == 0,
              "%s %s, %d units, in the native layout (pairs, fused multiply-adds): the "
              "emulation's loss and gradients bit for bit, 1 and 3 threads", isa->name,
              cn_name_of(cn_cell_names, cell), H);
    }
    free(emu), free(one), free(three);
}

int main(void)
{
    CnRng rng;
    cn_rng_seed(&rng, 5);
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 65, 130}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int acc = 0; acc < 2; acc++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            reference_case("nn", cn_ref_gemm_nn, 0, 0, M, N, K, acc, &rng);
            reference_case("nt", cn_ref_gemm_nt, 0, 1, M, N, K, acc, &rng);
            reference_case("tn", cn_ref_gemm_tn, 1, 0, M, N, K, acc, &rng);
        }
    test_functions();
    test_bf16_rounding();
    for (int i = 0; i < NISAS; i++) {
        const CnIsa *isa = cn_isa_named(isa_names[i]);
        if (!isa) {
            printf("ok - %s kernels: not built or not supported by this CPU # skipped\n",
                   isa_names[i]);
            continue;
        }
        test_isa_gemm(isa);
        test_isa_packed(isa);
        if (i > 0)
            test_isa_model(isa);
        test_isa_round(isa, CN_MUL_BF16_EMULATED);
        test_isa_bf16(isa, CN_MUL_BF16_EMULATED);
        test_isa_model_bf16(isa, CN_MUL_BF16_EMULATED);
        if (!isa->bf16_pairs)
            continue;
        test_isa_round(isa, CN_MUL_BF16_PAIRS);
        test_isa_bf16(isa, CN_MUL_BF16_PAIRS);
        test_isa_model_pairs(isa);
        if (!cn_cpu_bf16()) {
            printf("ok - %s bf16 products with AVX512_BF16: not on this CPU # skipped\n",
                   isa->name);
            continue;
        }
        test_isa_bf16(isa, CN_MUL_BF16_NATIVE);
        test_isa_model_bf16(isa, CN_MUL_BF16_NATIVE);
    }
    return check_status();
}
