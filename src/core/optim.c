/* SPDX-License-Identifier: MIT */
/*
 * Gradient clipping and optimizers, each one loop over the flat parameter,
 * gradient and state arrays (w parameters, g gradient, a learning rate,
 * t = 1, 2, ... the update count):
 *     sgd:      w -= a g
 *     momentum: v = mu v - a g;  w += v
 *     nesterov: v_prev = v;  v = mu v - a g;  w += -mu v_prev + (1 + mu) v
 *     adagrad:  m += g^2;  w -= a g / sqrt(m + eps)
 *     rmsprop:  r = rho r + (1 - rho) g^2;  w -= a g / sqrt(r + eps)
 *     adam:     m = b1 m + (1 - b1) g;  s = b2 s + (1 - b2) g^2
 *               w -= a (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
 * Nesterov's momentum is the look-ahead form of the course notes (and of
 * Sutskever et al. 2013), v <- mu v - a grad J(w + mu v); w <- w + v,
 * rewritten (Bengio et al. 2013) so that the parameters held are the
 * look-ahead point w~ = w + mu v, where the gradient g is taken:
 *     w~' = w' + mu v' = (w~ - mu v) + v' + mu v' = w~ - mu v + (1 + mu) v'
 * the same velocities, and w~ = w + mu v after every step (test_optim).
 * Clipping by value, every g_i to [-v, v], is min-char-rnn's (v = 5); by
 * norm, g *= min(1, n / |g|), keeps the gradient's direction and is the
 * default (n = 5).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void cn_clip_value(CnReal *g, size_t n, double v)
{
    CnReal hi = (CnReal)v, lo = -hi;
    for (size_t i = 0; i < n; i++)
        g[i] = g[i] > hi ? hi : g[i] < lo ? lo : g[i];
}

/* Eight running sums combined pairwise at the end: a fixed order (the same
 * on every thread) that vectorizes, unlike one long chain of additions. */
double cn_sumsq(const CnReal *g, size_t n)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += (double)g[i + k] * g[i + k];
    for (int k = 0; i < n; i++, k++)
        acc[k] += (double)g[i] * g[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

size_t cn_norm_blocks(size_t n)
{
    return (n + CN_NORM_BLOCK - 1) / CN_NORM_BLOCK;
}

double cn_norm_of_blocks(const double *sums, size_t nblocks)
{
    double sum = 0;
    for (size_t b = 0; b < nblocks; b++)
        sum += sums[b];
    return sqrt(sum);
}

double cn_grad_norm(const CnReal *g, size_t n)
{
    size_t nb = cn_norm_blocks(n);
    double *sums = malloc((nb ? nb : 1) * sizeof *sums);
    if (!sums)
        return NAN;
    for (size_t b = 0; b < nb; b++) {
        size_t i = b * CN_NORM_BLOCK;
        sums[b] = cn_sumsq(g + i, n - i < CN_NORM_BLOCK ? n - i : CN_NORM_BLOCK);
    }
    double norm = cn_norm_of_blocks(sums, nb);
    free(sums);
    return norm;
}

double cn_clip_scale(double norm, double max_norm)
{
    return max_norm > 0 && norm > max_norm ? max_norm / norm : 1;
}

void cn_scale(CnReal *g, size_t n, double s)
{
    CnReal f = (CnReal)s;
    for (size_t i = 0; i < n; i++)
        g[i] *= f;
}

int cn_all_finite(const CnReal *x, size_t n)
{
    /* infinite or NaN: every exponent bit set; an integer test vectorizes */
#ifdef CHARNN_DOUBLE
    const uint64_t exponent = 0x7ff0000000000000ull;
    uint64_t bits;
#else
    const uint32_t exponent = 0x7f800000u;
    uint32_t bits;
#endif
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(&bits, x + i, sizeof bits);
        bad |= (bits & exponent) == exponent;
    }
    return !bad;
}

const char *const cn_optim_names[] = {"sgd",     "momentum", "nesterov",
                                      "adagrad", "rmsprop",  "adam",     NULL};

int cn_optim_slots(CnOptimKind kind)
{
    return kind == CN_SGD ? 0 : kind == CN_ADAM ? 2 : 1;
}

int cn_optim_init(CnOptim *opt, const CnOptimConfig *cfg, size_t n, CnError *err)
{
    memset(opt, 0, sizeof *opt);
    /* the ranges of the settings' table (src/core/settings.c) */
    if ((unsigned)cfg->kind > CN_ADAM) {
        cn_errorf(err, "unknown optimizer %d", (int)cfg->kind);
        return -1;
    }
    if (cn_setting_check("lr", cfg->lr, err) != 0 ||
        cn_setting_check("momentum", cfg->momentum, err) != 0 ||
        cn_setting_check("beta1", cfg->beta1, err) != 0 ||
        cn_setting_check("beta2", cfg->beta2, err) != 0 ||
        cn_setting_check("eps", cfg->eps, err) != 0 ||
        cn_setting_check("decay-rate", cfg->decay_rate, err) != 0)
        return -1;
    opt->cfg = *cfg;
    opt->n = n;
    size_t slots = (size_t)cn_optim_slots(cfg->kind);
    if (slots) {
        opt->state = calloc(slots * n, sizeof *opt->state);
        if (!opt->state) {
            cn_errorf(err, "out of memory for the optimizer state");
            return -1;
        }
    }
    return 0;
}

void cn_optim_free(CnOptim *opt)
{
    free(opt->state);
    memset(opt, 0, sizeof *opt);
}

void cn_optim_step(CnOptim *opt, CnReal *w, const CnReal *g)
{
    opt->t++;
    cn_optim_update(opt, w, g, 0, opt->n);
}

void cn_optim_update(const CnOptim *opt, CnReal *w, const CnReal *g, size_t i0, size_t i1)
{
    const CnOptimConfig *c = &opt->cfg;
    CnReal lr = (CnReal)c->lr, mu = (CnReal)c->momentum, eps = (CnReal)c->eps;
    CnReal *v = opt->state;
    switch (c->kind) {
    case CN_SGD:
        for (size_t i = i0; i < i1; i++)
            w[i] -= lr * g[i];
        break;
    case CN_MOMENTUM:
        for (size_t i = i0; i < i1; i++) {
            v[i] = mu * v[i] - lr * g[i];
            w[i] += v[i];
        }
        break;
    case CN_NESTEROV:
        for (size_t i = i0; i < i1; i++) {
            CnReal v_prev = v[i];
            v[i] = mu * v[i] - lr * g[i];
            w[i] += -mu * v_prev + (1 + mu) * v[i];
        }
        break;
    case CN_ADAGRAD:
        for (size_t i = i0; i < i1; i++) {
            v[i] += g[i] * g[i];
            w[i] -= lr * g[i] / CN_SQRT(v[i] + eps);
        }
        break;
    case CN_RMSPROP: {
        /* complements in double: 1 - (float)0.95 is not (float)0.05 */
        CnReal rho = (CnReal)c->decay_rate, one_minus_rho = (CnReal)(1 - c->decay_rate);
        for (size_t i = i0; i < i1; i++) {
            v[i] = rho * v[i] + one_minus_rho * g[i] * g[i];
            w[i] -= lr * g[i] / CN_SQRT(v[i] + eps);
        }
        break;
    }
    case CN_ADAM: {
        CnReal *m = v, *s = v + opt->n;
        CnReal b1 = (CnReal)c->beta1, b2 = (CnReal)c->beta2;
        CnReal one_minus_b1 = (CnReal)(1 - c->beta1), one_minus_b2 = (CnReal)(1 - c->beta2);
        /* a m^ / (sqrt(s^) + eps) with m^ = m / bc1, s^ = s / bc2, written
         * as (a / bc1) m / (sqrt(s) / sqrt(bc2) + eps): one division */
        double bc1 = 1 - pow(c->beta1, (double)opt->t), bc2 = 1 - pow(c->beta2, (double)opt->t);
        CnReal step = (CnReal)(c->lr / bc1), inv_sqrt_bc2 = (CnReal)(1 / sqrt(bc2));
        for (size_t i = i0; i < i1; i++) {
            m[i] = b1 * m[i] + one_minus_b1 * g[i];
            s[i] = b2 * s[i] + one_minus_b2 * g[i] * g[i];
            w[i] -= step * m[i] / (CN_SQRT(s[i]) * inv_sqrt_bc2 + eps);
        }
        break;
    }
    }
}

const char *const cn_schedule_names[] = {"constant", "step", "cosine", NULL};
const char *const cn_precision_names[] = {"fp32", "bf16", NULL};

double cn_schedule_lr(const CnTrainConfig *c, uint64_t iteration, double epoch, double fraction)
{
    double lr = c->optim.lr;
    if (c->schedule == CN_LR_STEP && epoch >= c->lr_decay_after)
        lr *= pow(c->lr_decay, floor(epoch - c->lr_decay_after));
    if (c->schedule == CN_LR_COSINE) {
        double f = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
        lr = c->lr_min + (lr - c->lr_min) * 0.5 * (1 + cos(3.141592653589793 * f));
    }
    if (iteration < c->warmup)
        lr *= (double)(iteration + 1) / (double)c->warmup;
    return lr;
}
