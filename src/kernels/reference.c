/* SPDX-License-Identifier: MIT */
/*
 * Reference matrix products: the three forms a training step needs, as plain
 * loops, kept beside the blocked kernels of src/kernels/gemm.c, which the tests
 * check against them. Shapes are (rows, cols); every matrix is row-major
 * with its own leading dimension.
 */
#include "kernels.h"

#include <string.h>

static void clear_rows(CnReal *C, int ldc, int M, int N)
{
    for (int i = 0; i < M; i++)
        memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
}

/* C (M, N) (+)= A (M, K) . B (K, N): row i of C gathers rows of B. */
void cn_ref_gemm_nn(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                int M, int N, int K, int acc)
{
    if (!acc)
        clear_rows(C, ldc, M, N);
    for (int i = 0; i < M; i++) {
        CnReal *c = C + (size_t)i * ldc;
        const CnReal *a = A + (size_t)i * lda;
        for (int k = 0; k < K; k++) {
            CnReal aik = a[k];
            const CnReal *b = B + (size_t)k * ldb;
            for (int j = 0; j < N; j++)
                c[j] += aik * b[j];
        }
    }
}

/* C (M, N) (+)= A (M, K) . B^T, B stored (N, K): dot products of rows. */
void cn_ref_gemm_nt(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                int M, int N, int K, int acc)
{
    for (int i = 0; i < M; i++) {
        const CnReal *a = A + (size_t)i * lda;
        CnReal *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) {
            const CnReal *b = B + (size_t)j * ldb;
            CnReal sum = 0;
            for (int k = 0; k < K; k++)
                sum += a[k] * b[k];
            c[j] = acc ? c[j] + sum : sum;
        }
    }
}

/* C (M, N) (+)= A^T . B, A stored (K, M), B (K, N): a sum of outer products
 * of row k of A with row k of B. */
void cn_ref_gemm_tn(CnReal *C, int ldc, const CnReal *A, int lda, const CnReal *B, int ldb,
                int M, int N, int K, int acc)
{
    if (!acc)
        clear_rows(C, ldc, M, N);
    for (int k = 0; k < K; k++) {
        const CnReal *a = A + (size_t)k * lda;
        const CnReal *b = B + (size_t)k * ldb;
        for (int i = 0; i < M; i++) {
            CnReal aki = a[i];
            CnReal *c = C + (size_t)i * ldc;
            for (int j = 0; j < N; j++)
                c[j] += aki * b[j];
        }
    }
}
