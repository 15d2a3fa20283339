/* SPDX-License-Identifier: MIT */
/*
 * LSTM layer, with or without peephole connections, over a chunk of
 * `steps` steps, B streams, H units. Gate blocks in z are [i f o g]:
 *     i = s(z_i + p_i c_{t-1})   f = s(z_f + p_f c_{t-1})   g = tanh(z_g)
 *     c_t = f c_{t-1} + i g
 *     o = s(z_o + p_o c_t)       h_t = o tanh(c_t)
 * where z = W_x x_t + W_h h_{t-1} + b and the peephole terms (p, per-unit
 * vectors) are present only for the peephole cell (w->peep != NULL).
 */
#include "internal.h"

#include <string.h>

/* z_t (B, 4H) += h_{t-1} (B, H) . Wh (H, 4H), then the gates, c_t and h_t. */
void cn_lstm_forward(const CnLayerView *w, CnLayerActs *a, int steps, int B, int H)
{
    size_t BH = (size_t)B * H, G4 = 4 * (size_t)H;
    const CnReal *peep = w->peep;
    for (int t = 0; t < steps; t++) {
        CnReal *z = a->z + t * B * G4;
        const CnReal *c_prev = a->c + t * BH;
        CnReal *c = a->c + (t + 1) * BH;
        CnReal *tanh_c = a->tanh_c + t * BH;
        CnReal *h = a->h + (t + 1) * BH;
        cn_gemm_nn(z, 4 * H, a->h + t * BH, H, w->Wh, 4 * H, B, 4 * H, H, 1);
        for (int b = 0; b < B; b++) {
            CnReal *zi = z + b * G4, *zf = zi + H, *zo = zf + H, *zg = zo + H;
            size_t r = (size_t)b * H;
            for (int j = 0; j < H; j++) {
                CnReal cp = c_prev[r + j];
                CnReal pi = peep ? peep[j] * cp : 0, pf = peep ? peep[H + j] * cp : 0;
                CnReal i = cn_sigmoid(zi[j] + pi);
                CnReal f = cn_sigmoid(zf[j] + pf);
                CnReal gv = CN_TANH(zg[j]);
                CnReal cv = f * cp + i * gv;
                CnReal o = cn_sigmoid(zo[j] + (peep ? peep[2 * H + j] * cv : 0));
                CnReal tc = CN_TANH(cv);
                zi[j] = i, zf[j] = f, zo[j] = o, zg[j] = gv;
                c[r + j] = cv;
                tanh_c[r + j] = tc;
                h[r + j] = o * tc;
            }
        }
    }
}

/* Backward, t = steps-1 .. 0, with dh = dH_t + dh_next and dc the gradient
 * reaching c_t from step t+1:
 *     dz_o = dh tanh(c_t) o (1-o)
 *     dc  += dh o (1 - tanh^2 c_t) + p_o dz_o
 *     dz_i = dc g i (1-i)    dz_f = dc c_{t-1} f (1-f)    dz_g = dc i (1-g^2)
 *     dc_{t-1} = dc f + p_i dz_i + p_f dz_f
 *     dp_i += dz_i c_{t-1}   dp_f += dz_f c_{t-1}   dp_o += dz_o c_t
 *     dh_next = dz_t . Wh^T                        (not needed at t = 0)
 * then dWh (H, 4H) += h_prev^T . dz over all steps at once. */
void cn_lstm_backward(const CnLayerView *w, CnLayerView *g, const CnLayerActs *a,
                      CnActs *acts, int steps, int B, int H)
{
    size_t BH = (size_t)B * H, G4 = 4 * (size_t)H;
    const CnReal *peep = w->peep;
    CnReal *dpeep = g->peep;
    CnReal *dh_next = acts->dh, *dc = acts->dc;
    memset(dh_next, 0, BH * sizeof *dh_next);
    memset(dc, 0, BH * sizeof *dc);
    for (int t = steps - 1; t >= 0; t--) {
        const CnReal *gates = a->z + t * B * G4;
        CnReal *dz = acts->dz + t * B * G4;
        const CnReal *dH = acts->dH + t * BH;
        const CnReal *c_prev = a->c + t * BH, *c = a->c + (t + 1) * BH;
        const CnReal *tanh_c = a->tanh_c + t * BH;
        for (int b = 0; b < B; b++) {
            const CnReal *gi = gates + b * G4, *gf = gi + H, *go = gf + H, *gg = go + H;
            CnReal *dzi = dz + b * G4, *dzf = dzi + H, *dzo = dzf + H, *dzg = dzo + H;
            size_t r = (size_t)b * H;
            for (int j = 0; j < H; j++) {
                CnReal i = gi[j], f = gf[j], o = go[j], gv = gg[j];
                CnReal cp = c_prev[r + j], tc = tanh_c[r + j];
                CnReal dhv = dH[r + j] + dh_next[r + j];
                CnReal dzo_j = dhv * tc * o * (1 - o);
                CnReal dcv = dc[r + j] + dhv * o * (1 - tc * tc);
                if (peep)
                    dcv += peep[2 * H + j] * dzo_j;
                CnReal dzi_j = dcv * gv * i * (1 - i);
                CnReal dzf_j = dcv * cp * f * (1 - f);
                dzg[j] = dcv * i * (1 - gv * gv);
                dzi[j] = dzi_j, dzf[j] = dzf_j, dzo[j] = dzo_j;
                CnReal dc_prev = dcv * f;
                if (peep) {
                    dc_prev += peep[j] * dzi_j + peep[H + j] * dzf_j;
                    dpeep[j] += dzi_j * cp;
                    dpeep[H + j] += dzf_j * cp;
                    dpeep[2 * H + j] += dzo_j * c[r + j];
                }
                dc[r + j] = dc_prev;
            }
        }
        if (t > 0)
            cn_gemm_nt(dh_next, H, dz, 4 * H, w->Wh, 4 * H, B, H, 4 * H, 0);
    }
    cn_gemm_tn(g->Wh, 4 * H, a->h, H, acts->dz, 4 * H, H, 4 * H, steps * B, 1);
}
