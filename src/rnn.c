/* SPDX-License-Identifier: MIT */
/*
 * Vanilla RNN layer over a chunk of `steps` steps, B streams, H units:
 *     h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
 * The input term and bias are already in z; this adds the recurrent product
 * and applies the nonlinearity, one step at a time.
 */
#include "internal.h"

#include <string.h>

/* z_t (B, H) += h_{t-1} (B, H) . Wh (H, H);  h_t = tanh(z_t) */
void cn_rnn_forward(const CnLayerView *w, CnLayerActs *a, int steps, int B, int H)
{
    size_t BH = (size_t)B * H;
    for (int t = 0; t < steps; t++) {
        CnReal *z = a->z + t * BH;
        const CnReal *h_prev = a->h + t * BH;
        CnReal *h = a->h + (t + 1) * BH;
        cn_gemm_nn(z, H, h_prev, H, w->Wh, H, B, H, H, 1);
        for (size_t i = 0; i < BH; i++)
            h[i] = CN_TANH(z[i]);
    }
}

/* Backward, t = steps-1 .. 0, with dh_next the gradient from step t+1:
 *     dz_t = (dH_t + dh_next) * (1 - h_t^2)       (B, H)
 *     dh_next = dz_t . Wh^T                        (not needed at t = 0)
 * then dWh (H, H) += h_prev^T . dz over all steps at once. */
void cn_rnn_backward(const CnLayerView *w, CnLayerView *g, const CnLayerActs *a, CnActs *acts,
                     int steps, int B, int H)
{
    size_t BH = (size_t)B * H;
    CnReal *dh_next = acts->dh;
    memset(dh_next, 0, BH * sizeof *dh_next);
    for (int t = steps - 1; t >= 0; t--) {
        CnReal *dz = acts->dz + t * BH;
        const CnReal *dH = acts->dH + t * BH;
        const CnReal *h = a->h + (t + 1) * BH;
        for (size_t i = 0; i < BH; i++)
            dz[i] = (dH[i] + dh_next[i]) * (1 - h[i] * h[i]);
        if (t > 0)
            cn_gemm_nt(dh_next, H, dz, H, w->Wh, H, B, H, H, 0);
    }
    cn_gemm_tn(g->Wh, H, a->h, H, acts->dz, H, H, H, steps * B, 1);
}
