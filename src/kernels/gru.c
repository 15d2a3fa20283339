/* SPDX-License-Identifier: MIT */
/*
 * GRU layer (the original form, reset gate before the recurrent product)
 * over a chunk of `steps` steps, B streams, H units, built per instruction
 * set (kernels.h). Gate blocks [r u n]:
 *     r = s(z_r + h_{t-1} W_hr)      u = s(z_u + h_{t-1} W_hu)
 *     n = tanh(z_n + (r h_{t-1}) W_hn)
 *     h_t = u n + (1 - u) h_{t-1}
 * where z = W_x x_t + b holds the input terms on entry. Each thread owns a
 * range of units; two barriers per step (r h_{t-1} must be complete before
 * the n product).
 */
#include "kernels.h"
#include "mathfn.h"

#include <string.h>

/* Per step: z[:, r|u] += h_{t-1} . Wh[:, r|u];  r, u;  rh = r h_{t-1};
 * z[:, n] += rh . Wh[:, n];  n;  h_t. */
void CN_ISA_FN(cn_gru_forward)(const CnCellArgs *c, const CnPart *part)
{
    const CnIsa *isa = &CN_CAT(cn_isa, CN_ISA);
    int B = c->B, H = c->H, q0, q1, u0, u1;
    cn_own_units(part, H, isa->nr, &q0, &q1, &u0, &u1);
    int P = (H + isa->nr - 1) / isa->nr;
    size_t BH = (size_t)B * H, G3 = 3 * (size_t)H;
    for (int t = 0; t < c->steps; t++) {
        CnReal *z = c->z + t * B * G3;
        const CnReal *h_prev = c->h + t * BH;
        CnReal *rh = c->rh + t * BH;
        CnReal *h = c->h + (t + 1) * BH;
        cn_lap(c->profile, part->tid, CN_PHASE_CELL);
        CnA a = cn_rows(h_prev, c->hr ? c->hr + t * BH : NULL, H);
        for (int g = 0; g < 2; g++)
            isa->gemm_packed(part, z, 3 * H, a, B, c->wh, g * P + q0, g * P + q1, NULL, 1);
        cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
        for (int b = 0; b < B; b++) {
            CnReal *zr = z + b * G3, *zu = zr + H;
            size_t r = (size_t)b * H;
            for (int j = u0; j < u1; j++) {
                zr[j] = cn_fsigmoid(zr[j]);
                zu[j] = cn_fsigmoid(zu[j]);
                rh[r + j] = zr[j] * h_prev[r + j];
            }
        }
        if (c->rhr)
            isa->round_rows(part, c->rhr, H, rh, H, B, u0, u1, H, part->mul);
        cn_pool_barrier(part->pool);
        cn_lap(c->profile, part->tid, CN_PHASE_CELL);
        isa->gemm_packed(part, z, 3 * H, cn_rows(rh, c->rhr, H), B, c->wh, 2 * P + q0,
                         2 * P + q1, NULL, 1);
        cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
        for (int b = 0; b < B; b++) {
            CnReal *zu = z + b * G3 + H, *zn = zu + H;
            size_t r = (size_t)b * H;
            for (int j = u0; j < u1; j++) {
                CnReal n = cn_ftanh(zn[j]), u = zu[j];
                zn[j] = n;
                h[r + j] = u * n + (1 - u) * h_prev[r + j];
            }
        }
        if (c->hr)
            isa->round_rows(part, c->hr + (t + 1) * BH, H, h, H, B, u0, u1, H, part->mul);
        cn_pool_barrier(part->pool);
    }
}

/* dz_n, dz_u and the direct part of dh_next, units [u0, u1) of a step:
 *     dz_n = dh u (1 - n^2)   dz_u = dh (n - h_{t-1}) u (1-u)   dh_next = dh (1-u) */
static void update_backward(CnReal *dz, CnReal *restrict dh_next, const CnReal *gates,
                            const CnReal *restrict dH, const CnReal *restrict h_prev, int B,
                            int H, int u0, int u1)
{
    size_t G3 = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const CnReal *gu = gates + b * G3 + H, *gn = gu + H;
        CnReal *restrict dzu = dz + b * G3 + H, *restrict dzn = dzu + H;
        size_t r = (size_t)b * H;
        for (int j = u0; j < u1; j++) {
            CnReal u = gu[j], n = gn[j], hp = h_prev[r + j];
            CnReal dhv = dH[r + j] + dh_next[r + j];
            dzn[j] = dhv * u * (1 - n * n);
            dzu[j] = dhv * (n - hp) * u * (1 - u);
            dh_next[r + j] = dhv * (1 - u);
        }
    }
}

/* dz_r and the reset path of dh_next, units [u0, u1), given drh:
 *     dz_r = drh h_{t-1} r (1-r)   dh_next += drh r */
static void reset_backward(CnReal *dz, CnReal *restrict dh_next, const CnReal *gates,
                           const CnReal *restrict drh, const CnReal *restrict h_prev, int B,
                           int H, int u0, int u1)
{
    size_t G3 = 3 * (size_t)H;
    for (int b = 0; b < B; b++) {
        const CnReal *gr = gates + b * G3;
        CnReal *restrict dzr = dz + b * G3;
        size_t r = (size_t)b * H;
        for (int j = u0; j < u1; j++) {
            CnReal rv = gr[j];
            dzr[j] = drh[r + j] * h_prev[r + j] * rv * (1 - rv);
            dh_next[r + j] += drh[r + j] * rv;
        }
    }
}

/* Backward, t = steps-1 .. 0, with dh = dH_t + dh_next:
 *     dz_n = dh u (1 - n^2)          dz_u = dh (n - h_{t-1}) u (1-u)
 *     drh  = dz_n . Wh[:, n]^T        dz_r = drh h_{t-1} r (1-r)
 *     dh_next = dh (1-u) + drh r + dz[:, r|u] . Wh[:, r|u]^T   (not at t = 0)
 * then dWh[:, r|u] += h_prev^T . dz[:, r|u] and dWh[:, n] += rh^T . dz[:, n]
 * over all steps at once. */
void CN_ISA_FN(cn_gru_backward)(const CnCellArgs *c, const CnPart *part)
{
    const CnIsa *isa = &CN_CAT(cn_isa, CN_ISA);
    int B = c->B, H = c->H, q0, q1, u0, u1;
    cn_own_units(part, H, isa->nr, &q0, &q1, &u0, &u1);
    size_t BH = (size_t)B * H, G3 = 3 * (size_t)H;
    CnReal *dh_next = c->dh, *drh = c->drh;
    cn_zero_units(dh_next, B, H, u0, u1);
    for (int t = c->steps - 1; t >= 0; t--) {
        const CnReal *gates = c->z + t * B * G3;
        CnReal *dz = c->dz + t * B * G3;
        const CnReal *dH = c->dH + t * BH;
        const CnReal *h_prev = c->h + t * BH;
        update_backward(dz, dh_next, gates, dH, h_prev, B, H, u0, u1);
        /* dz rounded as it is made: u and n here, r below (this thread's units) */
        CnReal *dzr = c->dzr ? c->dzr + t * B * G3 : NULL;
        for (int g = 1; dzr && g < 3; g++)
            isa->round_rows(part, dzr, (ptrdiff_t)G3, dz, (ptrdiff_t)G3, B, g * H + u0,
                            g * H + u1, 3 * H, part->mul);
        cn_pool_barrier(part->pool);
        cn_lap(c->profile, part->tid, CN_PHASE_CELL);
        isa->gemm_packed(part, drh, H,
                         cn_rows(dz + 2 * H, dzr ? cn_rounded_at(isa, dzr, 2 * H, part->mul) : NULL,
                                 3 * H),
                         B, c->whn_t, q0, q1, NULL, 0);
        cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
        reset_backward(dz, dh_next, gates, drh, h_prev, B, H, u0, u1);
        if (dzr)
            isa->round_rows(part, dzr, (ptrdiff_t)G3, dz, (ptrdiff_t)G3, B, u0, u1, 3 * H,
                            part->mul);
        cn_pool_barrier(part->pool);
        if (t > 0) {
            cn_lap(c->profile, part->tid, CN_PHASE_CELL);
            isa->gemm_packed(part, dh_next, H, cn_rows(dz, dzr, 3 * H), B, c->wh_t, q0, q1, NULL,
                             1);
            cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
            cn_carry(c->carry, dh_next, t, B, H, u0, u1);
        }
    }
    int n = c->steps * B;
    cn_lap(c->profile, part->tid, CN_PHASE_CELL);
    isa->gemm(part, c->dWh, 3 * H, cn_a(c->h, 1, H), c->dz, 3 * H, 0, H, 2 * H, n, NULL, 1);
    isa->gemm(part, c->dWh + 2 * H, 3 * H, cn_a(c->rh, 1, H), c->dz + 2 * H, 3 * H, 0, H, H, n,
              NULL, 1);
    cn_lap(c->profile, part->tid, CN_PHASE_RECURRENT);
}
