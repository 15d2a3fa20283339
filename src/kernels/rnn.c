/* SPDX-License-Identifier: MIT */
/*
 * Vanilla RNN layer over a chunk of `steps` steps, B streams, H units, built
 * per instruction set (kernels.h):
 *     h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
 * z holds W_xh x_t + b_h on entry. Each thread owns a range of units (whole
 * panels of the packed Wh) and computes their recurrent product and
 * nonlinearity; one barrier per step publishes h_t to every thread.
 */
#include "kernels.h"
#include "mathfn.h"

#include <string.h>

/* z_t (B, H) += h_{t-1} (B, H) . Wh (H, H);  h_t = tanh(z_t) */
void CN_ISA_FN(cn_rnn_forward)(const CnCellArgs *c, const CnPart *part)
{
    const CnIsa *isa = &CN_CAT(cn_isa, CN_ISA);
    int B = c->B, H = c->H, q0, q1, u0, u1;
    cn_own_units(part, H, isa->nr, &q0, &q1, &u0, &u1);
    size_t BH = (size_t)B * H;
    for (int t = 0; t < c->steps; t++) {
        CnReal *z = c->z + t * BH;
        const CnReal *h_prev = c->h + t * BH;
        CnReal *h = c->h + (t + 1) * BH;
        cn_lap(c->profile, part->tid, CN_PHASE_CELL);
        isa->gemm_packed(part, z, H, cn_rows(h_prev, c->hr ? c->hr + t * BH : NULL, H), B,
                         c->wh, q0, q1, NULL, 1);
        cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
        for (int b = 0; b < B; b++)
            for (int j = u0; j < u1; j++)
                h[(size_t)b * H + j] = cn_ftanh(z[(size_t)b * H + j]);
        if (c->hr)
            isa->round_rows(part, c->hr + (t + 1) * BH, H, h, H, B, u0, u1, H, part->mul);
        cn_pool_barrier(part->pool);
    }
}

/* Backward, t = steps-1 .. 0, with dh_next the gradient from step t+1:
 *     dz_t = (dH_t + dh_next) * (1 - h_t^2)       (B, H)
 *     dh_next = dz_t . Wh^T                        (not needed at t = 0)
 * then dWh (H, H) += h_prev^T . dz over all steps at once. */
void CN_ISA_FN(cn_rnn_backward)(const CnCellArgs *c, const CnPart *part)
{
    const CnIsa *isa = &CN_CAT(cn_isa, CN_ISA);
    int B = c->B, H = c->H, q0, q1, u0, u1;
    cn_own_units(part, H, isa->nr, &q0, &q1, &u0, &u1);
    size_t BH = (size_t)B * H;
    CnReal *dh_next = c->dh;
    cn_zero_units(dh_next, B, H, u0, u1);
    for (int t = c->steps - 1; t >= 0; t--) {
        CnReal *dz = c->dz + t * BH;
        const CnReal *dH = c->dH + t * BH;
        const CnReal *h = c->h + (t + 1) * BH;
        for (int b = 0; b < B; b++)
            for (int j = u0; j < u1; j++) {
                size_t i = (size_t)b * H + j;
                dz[i] = (dH[i] + dh_next[i]) * (1 - h[i] * h[i]);
            }
        CnReal *dzr = c->dzr ? c->dzr + t * BH : NULL;
        if (dzr)
            isa->round_rows(part, dzr, H, dz, H, B, u0, u1, H, part->mul);
        cn_pool_barrier(part->pool);
        if (t > 0) {
            cn_lap(c->profile, part->tid, CN_PHASE_CELL);
            isa->gemm_packed(part, dh_next, H, cn_rows(dz, dzr, H), B, c->wh_t, q0, q1, NULL, 0);
            cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
            cn_carry(c->carry, dh_next, t, B, H, u0, u1);
        }
    }
    cn_lap(c->profile, part->tid, CN_PHASE_CELL);
    isa->gemm(part, c->dWh, H, cn_a(c->h, 1, H), c->dz, H, 0, H, H, c->steps * B, NULL, 1);
    cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
}
