/* SPDX-License-Identifier: MIT */
/*
 * Optimizers and clipping against values worked out by hand. Two updates
 * from w = (1, -2, 0.5) with gradients g1 = (0.1, -0.2, 0.3), then
 * g2 = (0.2, 0.1, -0.4); lr 0.1, mu 0.9, rho 0.95, beta1 0.9, beta2 0.999,
 * eps 1e-8. The arithmetic is written next to each expectation. Then
 * Nesterov's momentum as charnn writes it against the look-ahead form of
 * the course notes, on a quadratic: the same velocities, and charnn's
 * parameters the look-ahead point w + mu v after every step.
 */
#include "check.h"
#include "core.h"

#include <math.h>
#include <string.h>

static const CnReal W0[3] = {1.0f, -2.0f, 0.5f};
static const CnReal G1[3] = {0.1f, -0.2f, 0.3f};
static const CnReal G2[3] = {0.2f, 0.1f, -0.4f};

static int near(const CnReal *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol))
            return 0;
    return 1;
}

/* Runs two updates of kind, checking w after each. */
static void two_steps(CnOptimKind kind, const double want1[3], const double want2[3])
{
    CnOptimConfig cfg = {kind, 0.1, 0.9, 0.9, 0.999, 1e-8, 0.95};
    CnOptim opt;
    CnError err;
    CnReal w[3];
    memcpy(w, W0, sizeof w);
    CHECK(cn_optim_init(&opt, &cfg, 3, &err) == 0, "%s: init", cn_name_of(cn_optim_names, kind));
    cn_optim_step(&opt, w, G1);
    CHECK(near(w, want1, 3, 5e-7), "%s step 1: w = (%.8f, %.8f, %.8f), want (%.8f, %.8f, %.8f)",
          cn_name_of(cn_optim_names, kind), (double)w[0], (double)w[1], (double)w[2], want1[0], want1[1],
          want1[2]);
    cn_optim_step(&opt, w, G2);
    CHECK(near(w, want2, 3, 5e-7), "%s step 2: w = (%.8f, %.8f, %.8f), want (%.8f, %.8f, %.8f)",
          cn_name_of(cn_optim_names, kind), (double)w[0], (double)w[1], (double)w[2], want2[0], want2[1],
          want2[2]);
    CHECK(opt.t == 2, "%s counts its updates (t = %llu)", cn_name_of(cn_optim_names, kind),
          (unsigned long long)opt.t);
    cn_optim_free(&opt);
}

static void test_optimizers(void)
{
    /* sgd: w - 0.1 g1 = (0.99, -1.98, 0.47); then - 0.1 g2 = (0.97, -1.99, 0.51) */
    two_steps(CN_SGD, (double[]){0.99, -1.98, 0.47}, (double[]){0.97, -1.99, 0.51});

    /* momentum: v1 = -0.1 g1 = (-0.01, 0.02, -0.03), w1 = w0 + v1 = (0.99, -1.98, 0.47);
     * v2 = 0.9 v1 - 0.1 g2 = (-0.009 - 0.02, 0.018 - 0.01, -0.027 + 0.04)
     *    = (-0.029, 0.008, 0.013), w2 = w1 + v2 = (0.961, -1.972, 0.483) */
    two_steps(CN_MOMENTUM, (double[]){0.99, -1.98, 0.47}, (double[]){0.961, -1.972, 0.483});

    /* nesterov: v1 as above; w1 = w0 - 0.9 * 0 + 1.9 v1 = (0.981, -1.962, 0.443);
     * v2 = (-0.029, 0.008, 0.013); w2 = w1 - 0.9 v1 + 1.9 v2
     *    = (0.981 + 0.009 - 0.0551, -1.962 - 0.018 + 0.0152, 0.443 + 0.027 + 0.0247)
     *    = (0.9349, -1.9648, 0.4947) */
    two_steps(CN_NESTEROV, (double[]){0.981, -1.962, 0.443},
              (double[]){0.9349, -1.9648, 0.4947});

    /* adagrad: m1 = g1^2 = (0.01, 0.04, 0.09); w1 = w0 - 0.1 g1 / sqrt(m1 + 1e-8)
     *    = w0 - 0.1 sign(g1) / (1 + 5e-7...) = (0.90000005, -1.90000001, 0.40000001);
     * m2 = m1 + g2^2 = (0.05, 0.05, 0.25); w2 = w1 - 0.1 g2 / sqrt(m2)
     *    = (0.90000005 - 0.0894427, -1.90000001 - 0.0447214, 0.40000001 + 0.08)
     *    = (0.8105573, -1.9447214, 0.48) */
    two_steps(CN_ADAGRAD, (double[]){0.90000005, -1.90000001, 0.400000006},
              (double[]){0.81055734, -1.94472137, 0.480000004});

    /* rmsprop: r1 = 0.05 g1^2 = (0.0005, 0.002, 0.0045); w1 = w0 - 0.1 g1 / sqrt(r1)
     *    = (1 - 0.01/0.0223607, -2 + 0.02/0.0447214, 0.5 - 0.03/0.0670820)
     *    = (0.5527909, -1.5527875, 0.0527869);
     * r2 = 0.95 r1 + 0.05 g2^2 = (0.002475, 0.0024, 0.012275);
     * w2 = w1 - 0.1 g2 / sqrt(r2) = (0.5527909 - 0.4020143, -1.5527875 - 0.2041241,
     *      0.0527869 + 0.3610348) = (0.1507766, -1.7569112, 0.4138217) */
    two_steps(CN_RMSPROP, (double[]){0.552790877, -1.55278752, 0.0527869014},
              (double[]){0.150776563, -1.75691124, 0.4138217});

    /* adam, t = 1: m = 0.1 g1, s = 0.001 g1^2; bias correction gives m^ = g1,
     * s^ = g1^2, so w1 = w0 - 0.1 g1 / (|g1| + 1e-8) = (0.90000001, -1.9, 0.4)
     * (without the correction the step would be 0.1 * 0.01 / sqrt(1e-5) = 0.32).
     * t = 2: m = 0.9 m + 0.1 g2 = (0.029, -0.008, -0.013);
     * s = 0.999 s + 0.001 g2^2 = (4.999e-5, 4.996e-5, 2.4991e-4);
     * m^ = m / (1 - 0.81) = (0.1526316, -0.0421053, -0.0684211);
     * s^ = s / (1 - 0.998001) = (0.0250075, 0.0249925, 0.1250175);
     * w2 = w1 - 0.1 m^ / (sqrt(s^) + 1e-8)
     *    = (0.9 - 0.0965182, -1.9 + 0.0266337, 0.4 + 0.0193510)
     *    = (0.8034818, -1.8733663, 0.4193510) */
    two_steps(CN_ADAM, (double[]){0.90000001, -1.9, 0.400000003},
              (double[]){0.803481814, -1.8733663, 0.419351044});
}

static void test_clipping(void)
{
    CnReal g[4] = {6, -7, 0.5f, -5};
    cn_clip_value(g, 4, 5);
    CHECK(g[0] == 5 && g[1] == -5 && g[2] == 0.5f && g[3] == -5,
          "clip by value 5: (6, -7, 0.5, -5) -> (5, -5, 0.5, -5)");

    CnReal h[2] = {3, 4};
    double norm = cn_grad_norm(h, 2);
    CHECK(norm == 5, "norm of (3, 4) is 5 (got %g)", norm);
    cn_scale(h, 2, cn_clip_scale(norm, 10));
    CHECK(h[0] == 3 && h[1] == 4 && cn_clip_scale(norm, 0) == 1,
          "clip by norm 10 (or 0: off) leaves (3, 4) alone");
    cn_scale(h, 2, cn_clip_scale(norm, 1));
    CHECK(fabs(h[0] - 0.6) < 1e-7 && fabs(h[1] - 0.8) < 1e-7,
          "clip by norm 1: (3, 4) -> (0.6, 0.8), got (%g, %g)", (double)h[0], (double)h[1]);
}

static void test_config_checks(void)
{
    CnOptim opt;
    CnError err;
    CnOptimConfig bad_lr = {CN_ADAM, 0, 0.9, 0.9, 0.999, 1e-8, 0.95};
    CHECK(cn_optim_init(&opt, &bad_lr, 3, &err) != 0 && strstr(err.msg, "lr 0 is out of range"),
          "a zero learning rate is refused: %s", err.msg);
    CnOptimConfig bad_beta = {CN_ADAM, 0.1, 0.9, 1.0, 0.999, 1e-8, 0.95};
    CHECK(cn_optim_init(&opt, &bad_beta, 3, &err) != 0 && strstr(err.msg, "beta1"),
          "beta1 = 1 is refused: %s", err.msg);
    CHECK(cn_lookup(cn_optim_names, "nesterov") == CN_NESTEROV &&
              cn_lookup(cn_optim_names, "lbfgs") == -1,
          "optimizer names parse");
    CHECK(cn_optim_slots(CN_SGD) == 0 && cn_optim_slots(CN_MOMENTUM) == 1 &&
              cn_optim_slots(CN_ADAM) == 2,
          "state arrays per optimizer: sgd 0, momentum 1, adam 2");
}

/* Learning-rate schedules against values worked out by hand. */
static void test_schedules(void)
{
    CnTrainConfig c = {.optim = {.lr = 0.1}, .lr_decay = 0.97, .lr_decay_after = 10,
                       .lr_min = 0.001};
    c.schedule = CN_LR_CONSTANT;
    CHECK(cn_schedule_lr(&c, 500, 12.5, 0.3) == 0.1, "constant: 0.1 throughout");
    c.schedule = CN_LR_STEP;
    /* char-rnn's: x0.97 per whole epoch after epoch 10: at 12.5, 0.1 * 0.97^2 = 0.09409 */
    CHECK(cn_schedule_lr(&c, 0, 9.9, 0) == 0.1 &&
              fabs(cn_schedule_lr(&c, 0, 12.5, 0) - 0.09409) < 1e-12,
          "step: 0.1 before epoch 10, 0.1 x 0.97^2 = 0.09409 at epoch 12.5 (got %.6f)",
          cn_schedule_lr(&c, 0, 12.5, 0));
    c.schedule = CN_LR_COSINE;
    /* 0.001 + 0.099 (1 + cos(pi f)) / 2: f = 0 -> 0.1, 0.5 -> 0.0505, 1 -> 0.001 */
    CHECK(fabs(cn_schedule_lr(&c, 0, 0, 0) - 0.1) < 1e-12 &&
              fabs(cn_schedule_lr(&c, 0, 0, 0.5) - 0.0505) < 1e-12 &&
              fabs(cn_schedule_lr(&c, 0, 0, 1) - 0.001) < 1e-12 &&
              fabs(cn_schedule_lr(&c, 0, 0, 7) - 0.001) < 1e-12,
          "cosine: 0.1 at the start, 0.0505 halfway, 0.001 at the end and after");
    c.warmup = 4;
    /* warm-up multiplies by (i + 1) / 4 for i < 4: 0.025 at i = 0, 0.075 at i = 2 */
    CHECK(fabs(cn_schedule_lr(&c, 0, 0, 0) - 0.025) < 1e-12 &&
              fabs(cn_schedule_lr(&c, 2, 0, 0) - 0.075) < 1e-12 &&
              fabs(cn_schedule_lr(&c, 4, 0, 0) - 0.1) < 1e-12,
          "warm-up: 0.025, 0.075, then the schedule's 0.1");
    CHECK(cn_lookup(cn_schedule_names, "cosine") == CN_LR_COSINE &&
              cn_lookup(cn_schedule_names, "linear") == -1 &&
              !strcmp(cn_name_of(cn_schedule_names, CN_LR_STEP), "step"),
          "schedule names parse");
}

/* J(w) = 1/2 sum_k a_k (w_k - c_k)^2, gradient a_k (w_k - c_k). The notes'
 * form, in double: v <- mu v - lr grad J(w + mu v); w <- w + v. charnn's
 * (cn_optim_step, nesterov) holds w~, starting at w~ = w + mu 0 = w, and is
 * given the gradient at w~; after every step w~ = w + mu v. */
static void test_nesterov_lookahead(void)
{
    enum { N = 4, STEPS = 30 };
    const double a[N] = {1.0, 3.0, 0.2, 8.0}, c[N] = {0.5, -1.0, 2.0, 0.1};
    const double lr = 0.05, mu = 0.9;
    CnOptimConfig cfg = {CN_NESTEROV, lr, mu, 0.9, 0.999, 1e-8, 0.95};
    CnOptim opt;
    CnError err;
    double w[N] = {1.0, -2.0, 0.5, 3.0}, v[N] = {0};
    CnReal wt[N], g[N];
    for (int k = 0; k < N; k++)
        wt[k] = (CnReal)w[k];
    if (cn_optim_init(&opt, &cfg, N, &err) != 0) {
        CHECK(0, "nesterov: init: %s", err.msg);
        return;
    }
    double worst = 0;
    for (int s = 0; s < STEPS; s++) {
        for (int k = 0; k < N; k++) { /* the notes: the gradient at the look-ahead point */
            v[k] = mu * v[k] - lr * a[k] * (w[k] + mu * v[k] - c[k]);
            w[k] += v[k];
        }
        for (int k = 0; k < N; k++) /* charnn: the gradient where its parameters are */
            g[k] = (CnReal)(a[k] * ((double)wt[k] - c[k]));
        cn_optim_step(&opt, wt, g);
        for (int k = 0; k < N; k++)
            worst = fmax(worst, fabs((double)wt[k] - (w[k] + mu * v[k])));
    }
    CHECK(worst < 1e-5, "nesterov: charnn's update holds the notes' look-ahead point w + mu v "
          "after each of %d steps (worst difference %.1e)", STEPS, worst);
    cn_optim_free(&opt);
}

int main(void)
{
    test_nesterov_lookahead();
    test_schedules();
    test_optimizers();
    test_clipping();
    test_config_checks();
    return check_status();
}
