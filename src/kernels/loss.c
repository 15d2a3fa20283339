/* SPDX-License-Identifier: MIT */
/*
 * Softmax and cross-entropy over rows of logits, built per instruction set
 * (kernels.h):  p = softmax(y),  loss = -log p[target] = log sum e^(y - max)
 * - (y_target - max). The exponentials are one vectorized pass; the sum
 * runs in order, so a row's result does not depend on which thread did it.
 */
#include "kernels.h"
#include "mathfn.h"

/* Rows [r0, r1) of logits (n, V): probabilities in place, each row's loss
 * in loss_rows[r]. */
void CN_ISA_FN(cn_softmax_loss)(CnReal *logits, const int *targets, double *loss_rows, int r0,
                                int r1, int V)
{
    for (int r = r0; r < r1; r++) {
        CnReal *y = logits + (size_t)r * V;
        CnReal max = y[0];
        for (int j = 1; j < V; j++)
            max = y[j] > max ? y[j] : max;
        double target_shifted = (double)y[targets[r]] - max;
        for (int j = 0; j < V; j++)
            y[j] = cn_fexp(y[j] - max);
        double sum = 0;
        for (int j = 0; j < V; j++)
            sum += y[j];
        loss_rows[r] = log(sum) - target_shifted;
        CnReal inv = (CnReal)(1 / sum);
        for (int j = 0; j < V; j++)
            y[j] *= inv;
    }
}
