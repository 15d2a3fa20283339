/* SPDX-License-Identifier: MIT */
/*
 * Matrix kernels against a plain triple loop summed in double, over odd
 * shapes, leading dimensions wider than the matrices (column blocks of a
 * fused gate matrix), and both overwrite and accumulate modes.
 */
#include "check.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef void (*Gemm)(CnReal *, int, const CnReal *, int, const CnReal *, int, int, int, int,
                     int);

/* C[i][j] (+)= sum_k A(i,k) B(k,j) with A(i,k) = A[ta ? k*lda+i : i*lda+k],
 * B(k,j) = B[tb ? j*ldb+k : k*ldb+j]. */
static void reference(double *C, int ldc, const CnReal *A, int lda, int ta, const CnReal *B,
                      int ldb, int tb, int M, int N, int K)
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

static void fill(CnReal *x, size_t n, CnRng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (CnReal)(cn_rng_uniform(rng) * 2 - 1);
}

static void one(const char *name, Gemm gemm, int ta, int tb, int M, int N, int K, int pad,
                int acc, CnRng *rng)
{
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    CnReal *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C);
    double *R = malloc(nc * sizeof *R);
    fill(A, na, rng);
    fill(B, nb, rng);
    fill(C, nc, rng);
    for (size_t i = 0; i < nc; i++)
        R[i] = acc ? C[i] : 0;
    reference(R, ldc, A, lda, ta, B, ldb, tb, M, N, K);
    CnReal *before = malloc(nc * sizeof *before);
    memcpy(before, C, nc * sizeof *C);
    gemm(C, ldc, A, lda, B, ldb, M, N, K, acc);
    double worst = 0;
    int pad_kept = 1;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            size_t at = (size_t)i * ldc + j;
            /* float sums of K terms of size ~1: error ~ K * 6e-8 */
            worst = fmax(worst, fabs(C[at] - R[at]) / (1 + fabs(R[at])));
        }
        for (int j = N; j < ldc; j++)
            pad_kept &= C[(size_t)i * ldc + j] == before[(size_t)i * ldc + j];
    }
    double tol = 1e-6 * (K + 1);
    CHECK(worst < tol && pad_kept, "%s M=%d N=%d K=%d pad %d %s: worst error %.1e (bound %.0e)%s",
          name, M, N, K, pad, acc ? "accumulate" : "overwrite", worst, tol,
          pad_kept ? "" : ", wrote outside its columns");
    free(A), free(B), free(C), free(R), free(before);
}

int main(void)
{
    CnRng rng;
    cn_rng_seed(&rng, 5);
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {50, 512, 128}, {64, 65, 130}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int acc = 0; acc < 2; acc++) {
            int pad = acc ? 3 : 0;
            one("gemm_nn", cn_gemm_nn, 0, 0, M, N, K, pad, acc, &rng);
            one("gemm_nt", cn_gemm_nt, 0, 1, M, N, K, pad, acc, &rng);
            one("gemm_tn", cn_gemm_tn, 1, 0, M, N, K, pad, acc, &rng);
        }
    }
    CnReal y[3] = {1, 2, 3}, X[6] = {1, 2, 3, 4, 5, 6};
    cn_add_colsum(y, X, 2, 3);
    CHECK(y[0] == 6 && y[1] == 9 && y[2] == 12, "column sums add to y");
    return check_status();
}
