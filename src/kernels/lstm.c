/* SPDX-License-Identifier: MIT */
/*
 * LSTM layer, with or without peephole connections, over a chunk of
 * `steps` steps, B streams, H units, built per instruction set (kernels.h).
 * Gate blocks in z are [i f o g]:
 *     i = s(z_i + w_ci c_{t-1})  f = s(z_f + w_cf c_{t-1})  g = tanh(z_g)
 *     c_t = f c_{t-1} + i g
 *     o = s(z_o + w_co c_t)      h_t = o tanh(c_t)
 * where z = W_x x_t + b (on entry) + W_h h_{t-1}, and the peephole terms
 * (per-unit vectors w_ci, w_cf, w_co) are there only for the peephole
 * cell. Each thread owns a range of units in all four gate blocks; one
 * barrier per step.
 */
#include "kernels.h"
#include "mathfn.h"

#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* Gates, cell and output of units [u0, u1) of one step, for B streams.
 * Compiled separately with and without peepholes (has_peep a constant), so
 * that the loop has no conditional loads and vectorizes. */
INLINE void gates_forward_impl(CnReal *z, CnReal *restrict c, CnReal *restrict tanh_c,
                               CnReal *restrict h, const CnReal *restrict c_prev,
                               const CnReal *restrict peep, int B, int H, int u0, int u1,
                               const int has_peep)
{
    size_t G4 = 4 * (size_t)H;
    for (int b = 0; b < B; b++) {
        /* the four gate blocks of a row never overlap */
        CnReal *restrict zi = z + b * G4, *restrict zf = zi + H, *restrict zo = zf + H,
                         *restrict zg = zo + H;
        size_t r = (size_t)b * H;
        for (int j = u0; j < u1; j++) {
            CnReal cp = c_prev[r + j];
            CnReal pi = has_peep ? peep[j] * cp : 0, pf = has_peep ? peep[H + j] * cp : 0;
            CnReal i = cn_fsigmoid(zi[j] + pi);
            CnReal f = cn_fsigmoid(zf[j] + pf);
            CnReal gv = cn_ftanh(zg[j]);
            CnReal cv = f * cp + i * gv;
            CnReal o = cn_fsigmoid(zo[j] + (has_peep ? peep[2 * H + j] * cv : 0));
            CnReal tc = cn_ftanh(cv);
            zi[j] = i, zf[j] = f, zo[j] = o, zg[j] = gv;
            c[r + j] = cv;
            tanh_c[r + j] = tc;
            h[r + j] = o * tc;
        }
    }
}

static void gates_forward(CnReal *z, CnReal *c, CnReal *tanh_c, CnReal *h, const CnReal *c_prev,
                          const CnReal *peep, int B, int H, int u0, int u1)
{
    if (peep)
        gates_forward_impl(z, c, tanh_c, h, c_prev, peep, B, H, u0, u1, 1);
    else
        gates_forward_impl(z, c, tanh_c, h, c_prev, NULL, B, H, u0, u1, 0);
}

/* z_t (B, 4H) += h_{t-1} (B, H) . Wh (H, 4H), then the gates, c_t and h_t. */
void CN_ISA_FN(cn_lstm_forward)(const CnCellArgs *c, const CnPart *part)
{
    const CnIsa *isa = &CN_CAT(cn_isa, CN_ISA);
    int B = c->B, H = c->H, q0, q1, u0, u1;
    cn_own_units(part, H, isa->nr, &q0, &q1, &u0, &u1);
    int P = (H + isa->nr - 1) / isa->nr;
    size_t BH = (size_t)B * H;
    for (int t = 0; t < c->steps; t++) {
        CnReal *z = c->z + t * B * 4 * (size_t)H;
        cn_lap(c->profile, part->tid, CN_PHASE_CELL);
        CnA h_prev = cn_rows(c->h + t * BH, c->hr ? c->hr + t * BH : NULL, H);
        for (int g = 0; g < 4; g++)
            isa->gemm_packed(part, z, 4 * H, h_prev, B, c->wh, g * P + q0, g * P + q1, NULL, 1);
        cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
        gates_forward(z, c->c + (t + 1) * BH, c->tanh_c + t * BH, c->h + (t + 1) * BH,
                      c->c + t * BH, c->peep, B, H, u0, u1);
        if (c->hr)
            isa->round_rows(part, c->hr + (t + 1) * BH, H, c->h + (t + 1) * BH, H, B, u0, u1, H,
                            part->mul);
        cn_pool_barrier(part->pool);
    }
}

/* Backward of one step for units [u0, u1), with dh = dH_t + dh_next and
 * dc the gradient reaching c_t from step t+1:
 *     dz_o = dh tanh(c_t) o (1-o)
 *     dc  += dh o (1 - tanh^2 c_t) + w_co dz_o
 *     dz_i = dc g i (1-i)    dz_f = dc c_{t-1} f (1-f)    dz_g = dc i (1-g^2)
 *     dc_{t-1} = dc f + w_ci dz_i + w_cf dz_f
 *     dw_ci += dz_i c_{t-1}   dw_cf += dz_f c_{t-1}   dw_co += dz_o c_t */
INLINE void gates_backward_impl(CnReal *dz, CnReal *restrict dc, CnReal *restrict dpeep,
                                const CnReal *restrict dH, const CnReal *restrict dh_next,
                                const CnReal *restrict gates, const CnReal *restrict c_prev,
                                const CnReal *restrict c, const CnReal *restrict tanh_c,
                                const CnReal *restrict peep, int B, int H, int u0, int u1,
                                const int has_peep)
{
    size_t G4 = 4 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const CnReal *gi = gates + b * G4, *gf = gi + H, *go = gf + H, *gg = go + H;
        CnReal *restrict dzi = dz + b * G4, *restrict dzf = dzi + H, *restrict dzo = dzf + H,
                         *restrict dzg = dzo + H;
        size_t r = (size_t)b * H;
        for (int j = u0; j < u1; j++) {
            CnReal i = gi[j], f = gf[j], o = go[j], gv = gg[j];
            CnReal cp = c_prev[r + j], tc = tanh_c[r + j];
            CnReal dhv = dH[r + j] + dh_next[r + j];
            CnReal dzo_j = dhv * tc * o * (1 - o);
            CnReal dcv = dc[r + j] + dhv * o * (1 - tc * tc);
            if (has_peep)
                dcv += peep[2 * H + j] * dzo_j;
            CnReal dzi_j = dcv * gv * i * (1 - i);
            CnReal dzf_j = dcv * cp * f * (1 - f);
            dzg[j] = dcv * i * (1 - gv * gv);
            dzi[j] = dzi_j, dzf[j] = dzf_j, dzo[j] = dzo_j;
            CnReal dc_prev = dcv * f;
            if (has_peep) {
                dc_prev += peep[j] * dzi_j + peep[H + j] * dzf_j;
                dpeep[j] += dzi_j * cp;
                dpeep[H + j] += dzf_j * cp;
                dpeep[2 * H + j] += dzo_j * c[r + j];
            }
            dc[r + j] = dc_prev;
        }
    }
}

static void gates_backward(CnReal *dz, CnReal *dc, CnReal *dpeep, const CnReal *dH,
                           const CnReal *dh_next, const CnReal *gates, const CnReal *c_prev,
                           const CnReal *c, const CnReal *tanh_c, const CnReal *peep, int B,
                           int H, int u0, int u1)
{
    if (peep)
        gates_backward_impl(dz, dc, dpeep, dH, dh_next, gates, c_prev, c, tanh_c, peep, B, H,
                            u0, u1, 1);
    else
        gates_backward_impl(dz, dc, NULL, dH, dh_next, gates, c_prev, c, tanh_c, NULL, B, H, u0,
                            u1, 0);
}

/* Backward over the chunk, t = steps-1 .. 0: the gates, then
 * dh_next = dz_t . Wh^T (not needed at t = 0); then dWh (H, 4H) +=
 * h_prev^T . dz over all steps at once. */
void CN_ISA_FN(cn_lstm_backward)(const CnCellArgs *c, const CnPart *part)
{
    const CnIsa *isa = &CN_CAT(cn_isa, CN_ISA);
    int B = c->B, H = c->H, q0, q1, u0, u1;
    cn_own_units(part, H, isa->nr, &q0, &q1, &u0, &u1);
    size_t BH = (size_t)B * H, G4 = 4 * (size_t)H;
    CnReal *dh_next = c->dh, *dc = c->dc;
    cn_zero_units(dh_next, B, H, u0, u1);
    cn_zero_units(dc, B, H, u0, u1);
    for (int t = c->steps - 1; t >= 0; t--) {
        CnReal *dz = c->dz + t * B * G4;
        gates_backward(dz, dc, c->dpeep, c->dH + t * BH, dh_next, c->z + t * B * G4,
                       c->c + t * BH, c->c + (t + 1) * BH, c->tanh_c + t * BH, c->peep, B,
                       H, u0, u1);
        CnReal *dzr = c->dzr ? c->dzr + t * B * G4 : NULL;
        for (int g = 0; dzr && g < 4; g++) /* this thread's units of each gate */
            isa->round_rows(part, dzr, (ptrdiff_t)G4, dz, (ptrdiff_t)G4, B, g * H + u0,
                            g * H + u1, 4 * H, part->mul);
        cn_pool_barrier(part->pool);
        if (t > 0) {
            cn_lap(c->profile, part->tid, CN_PHASE_CELL);
            isa->gemm_packed(part, dh_next, H, cn_rows(dz, dzr, 4 * H), B, c->wh_t, q0, q1,
                             NULL, 0);
            cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
            cn_carry(c->carry, dh_next, t, B, H, u0, u1);
            cn_carry(c->carry, dc, t, B, H, u0, u1);
        }
    }
    cn_lap(c->profile, part->tid, CN_PHASE_CELL);
    isa->gemm(part, c->dWh, 4 * H, cn_a(c->h, 1, H), c->dz, 4 * H, 0, H, 4 * H, c->steps * B,
              NULL, 1);
    cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
}
