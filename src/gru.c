/* SPDX-License-Identifier: MIT */
/*
 * GRU layer (the original form, reset gate before the recurrent product)
 * over a chunk of `steps` steps, B streams, H units. Gate blocks [r u n]:
 *     r = s(z_r + h_{t-1} W_hr)      u = s(z_u + h_{t-1} W_hu)
 *     n = tanh(z_n + (r h_{t-1}) W_hn)
 *     h_t = u n + (1 - u) h_{t-1}
 * where z = W_x x_t + b holds the input terms on entry.
 */
#include "internal.h"

#include <string.h>

/* Per step: z[:, r|u] += h_{t-1} . Wh[:, r|u];  r, u;  rh = r h_{t-1};
 * z[:, n] += rh . Wh[:, n];  n;  h_t. */
void cn_gru_forward(const CnLayerView *w, CnLayerActs *a, int steps, int B, int H)
{
    size_t BH = (size_t)B * H, G3 = 3 * (size_t)H;
    for (int t = 0; t < steps; t++) {
        CnReal *z = a->z + t * B * G3;
        const CnReal *h_prev = a->h + t * BH;
        CnReal *rh = a->rh + t * BH;
        CnReal *h = a->h + (t + 1) * BH;
        cn_gemm_nn(z, 3 * H, h_prev, H, w->Wh, 3 * H, B, 2 * H, H, 1);
        for (int b = 0; b < B; b++) {
            CnReal *zr = z + b * G3, *zu = zr + H;
            size_t r = (size_t)b * H;
            for (int j = 0; j < H; j++) {
                zr[j] = cn_sigmoid(zr[j]);
                zu[j] = cn_sigmoid(zu[j]);
                rh[r + j] = zr[j] * h_prev[r + j];
            }
        }
        cn_gemm_nn(z + 2 * H, 3 * H, rh, H, w->Wh + 2 * H, 3 * H, B, H, H, 1);
        for (int b = 0; b < B; b++) {
            CnReal *zu = z + b * G3 + H, *zn = zu + H;
            size_t r = (size_t)b * H;
            for (int j = 0; j < H; j++) {
                CnReal n = CN_TANH(zn[j]), u = zu[j];
                zn[j] = n;
                h[r + j] = u * n + (1 - u) * h_prev[r + j];
            }
        }
    }
}

/* Backward, t = steps-1 .. 0, with dh = dH_t + dh_next:
 *     dz_n = dh u (1 - n^2)          dz_u = dh (n - h_{t-1}) u (1-u)
 *     drh  = dz_n . Wh[:, n]^T        dz_r = drh h_{t-1} r (1-r)
 *     dh_next = dh (1-u) + drh r + dz[:, r|u] . Wh[:, r|u]^T   (not at t = 0)
 * then dWh[:, r|u] += h_prev^T . dz[:, r|u] and dWh[:, n] += rh^T . dz[:, n]
 * over all steps at once. */
void cn_gru_backward(const CnLayerView *w, CnLayerView *g, const CnLayerActs *a, CnActs *acts,
                     int steps, int B, int H)
{
    size_t BH = (size_t)B * H, G3 = 3 * (size_t)H;
    CnReal *dh_next = acts->dh, *drh = acts->drh;
    memset(dh_next, 0, BH * sizeof *dh_next);
    for (int t = steps - 1; t >= 0; t--) {
        const CnReal *gates = a->z + t * B * G3;
        CnReal *dz = acts->dz + t * B * G3;
        const CnReal *dH = acts->dH + t * BH;
        const CnReal *h_prev = a->h + t * BH;
        for (int b = 0; b < B; b++) {
            const CnReal *gu = gates + b * G3 + H, *gn = gu + H;
            CnReal *dzu = dz + b * G3 + H, *dzn = dzu + H;
            size_t r = (size_t)b * H;
            for (int j = 0; j < H; j++) {
                CnReal u = gu[j], n = gn[j], hp = h_prev[r + j];
                CnReal dhv = dH[r + j] + dh_next[r + j];
                dzn[j] = dhv * u * (1 - n * n);
                dzu[j] = dhv * (n - hp) * u * (1 - u);
                dh_next[r + j] = dhv * (1 - u);
            }
        }
        cn_gemm_nt(drh, H, dz + 2 * H, 3 * H, w->Wh + 2 * H, 3 * H, B, H, H, 0);
        for (int b = 0; b < B; b++) {
            const CnReal *gr = gates + b * G3;
            CnReal *dzr = dz + b * G3;
            size_t r = (size_t)b * H;
            for (int j = 0; j < H; j++) {
                CnReal rv = gr[j];
                dzr[j] = drh[r + j] * h_prev[r + j] * rv * (1 - rv);
                dh_next[r + j] += drh[r + j] * rv;
            }
        }
        if (t > 0)
            cn_gemm_nt(dh_next, H, dz, 3 * H, w->Wh, 3 * H, B, H, 2 * H, 1);
    }
    cn_gemm_tn(g->Wh, 3 * H, a->h, H, acts->dz, 3 * H, H, 2 * H, steps * B, 1);
    cn_gemm_tn(g->Wh + 2 * H, 3 * H, a->rh, H, acts->dz + 2 * H, 3 * H, H, H, steps * B, 1);
}
