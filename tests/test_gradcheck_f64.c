/* SPDX-License-Identifier: MIT */
/*
 * Finite-difference gradient checks, in double precision (this test links
 * the library built with -DCHARNN_DOUBLE). For every cell kind, with two
 * layers, B = 3 streams, T = 4 steps, a non-zero carried-in state and
 * dropout between the layers (masks drawn from a re-seeded generator, so
 * every forward pass sees the same ones), every parameter's analytic
 * gradient is compared with the fourth-order central difference
 *     n = (-L(w+2e) + 8 L(w+e) - 8 L(w-e) + L(w-2e)) / 12e,   e = 1e-3,
 * where L is the mean loss over the B*T predictions.
 * Error budget: truncation is e^4 |L^(5)| / 30 ~ 3e-14; rounding is about
 * 18/12 * 2.2e-16 * |L| / e ~ 5e-13 (|L| ~ 1.6). The relative error
 *     |a - n| / max(|a| + |n|, 1e-6)
 * of a correct gradient is therefore below ~5e-7 even for the smallest
 * entries, while a wrong term (a missing factor, a wrong sign, a gate mixed
 * up) gives errors of order 1. The bound is 1e-5.
 */
#include "check.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { V = 5, H = 4, L = 2, B = 3, T = 4 };

static const double EPS = 1e-3, BOUND = 1e-5;

typedef struct {
    CnModel model;
    CnActs acts;
    int ids[T * B], targets[T * B];
    CnReal *state0; /* (acts.nmemory of state) carried-in state to restore */
    size_t nstate;
    uint64_t dropout_seed;
} Case;

/* Mean loss from the fixed carried-in state with the fixed dropout masks. */
static double loss_of(Case *c)
{
    memcpy(c->acts.state_h, c->state0, c->nstate * sizeof(CnReal));
    CnRng rng;
    cn_rng_seed(&rng, c->dropout_seed);
    return cn_forward(&c->model, &c->acts, c->ids, c->targets, T, &rng) / (B * T);
}

static void setup(Case *c, CnCell cell, double dropout, uint64_t seed)
{
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(V * sizeof *chars);
    for (int k = 0; k < V; k++)
        chars[k] = 'a' + (uint32_t)k;
    cn_vocab_from_chars(&vocab, chars, V, &err);
    if (cn_model_init(&c->model, cell, H, L, &vocab, &err) != 0 ||
        cn_acts_init(&c->acts, &c->model.shape, B, T, dropout, 1, NULL, &err) != 0) {
        printf("setup failed: %s\n", err.msg);
        exit(1);
    }
    CnRng rng;
    cn_rng_seed(&rng, seed);
    /* every parameter random, biases and peepholes included */
    for (size_t i = 0; i < c->model.nparams; i++)
        c->model.params[i] = (CnReal)(cn_rng_uniform(&rng) - 0.5);
    for (int i = 0; i < T * B; i++) {
        c->ids[i] = (int)(cn_rng_next(&rng) % V);
        c->targets[i] = (int)(cn_rng_next(&rng) % V);
    }
    int lstm = cell == CN_LSTM || cell == CN_PEEPHOLE;
    c->nstate = (size_t)L * B * H * (lstm ? 2 : 1);
    c->state0 = malloc(c->nstate * sizeof(CnReal));
    for (size_t i = 0; i < c->nstate; i++)
        c->state0[i] = (CnReal)(cn_rng_uniform(&rng) * 1.6 - 0.8);
    c->dropout_seed = seed + 1;
}

static void teardown(Case *c)
{
    cn_acts_free(&c->acts);
    cn_model_free(&c->model);
    free(c->state0);
}

/* Worst relative error over n entries of a tensor at p with gradient g. */
static double check_tensor(Case *c, CnReal *p, const CnReal *g, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        CnReal saved = p[i];
        double at[4];
        const double offsets[4] = {2 * EPS, EPS, -EPS, -2 * EPS};
        for (int k = 0; k < 4; k++) {
            p[i] = saved + offsets[k];
            at[k] = loss_of(c);
        }
        p[i] = saved;
        double num = (-at[0] + 8 * at[1] - 8 * at[2] + at[3]) / (12 * EPS), ana = g[i];
        double rel = fabs(ana - num) / fmax(fabs(ana) + fabs(num), 1e-6);
        worst = fmax(worst, rel);
    }
    return worst;
}

typedef struct {
    const char *name;
    int layer; /* -1: the output layer */
    CnReal *p, *g;
    size_t n;
} Tensor;

static void run(CnCell cell, double dropout)
{
    Case c;
    memset(&c, 0, sizeof c);
    setup(&c, cell, dropout, 42 + (uint64_t)cell);
    CnModel *m = &c.model;
    CnReal *grads = calloc(m->nparams, sizeof *grads);
    loss_of(&c);
    cn_backward(m, &c.acts, c.ids, c.targets, grads);
    CnView g;
    cn_view_init(&g, &m->shape, grads);
    size_t GH = (size_t)cn_cell_gates(cell) * H;
    Tensor tensors[4 * L + 2];
    int nt = 0;
    for (int l = 0; l < L; l++) {
        CnLayerView *w = &m->w.layer[l], *gl = &g.layer[l];
        size_t in = l == 0 ? V : H;
        tensors[nt++] = (Tensor){"Wx", l, w->Wx, gl->Wx, in * GH};
        tensors[nt++] = (Tensor){"Wh", l, w->Wh, gl->Wh, (size_t)H * GH};
        tensors[nt++] = (Tensor){"b", l, w->b, gl->b, GH};
        if (w->peep)
            tensors[nt++] = (Tensor){"peep", l, w->peep, gl->peep, 3 * (size_t)H};
    }
    tensors[nt++] = (Tensor){"Wy", -1, m->w.Wy, g.Wy, (size_t)H * V};
    tensors[nt++] = (Tensor){"by", -1, m->w.by, g.by, V};
    for (int k = 0; k < nt; k++) {
        double worst = check_tensor(&c, tensors[k].p, tensors[k].g, tensors[k].n);
        char name[32];
        if (tensors[k].layer >= 0)
            snprintf(name, sizeof name, "l%d.%s", tensors[k].layer, tensors[k].name);
        else
            snprintf(name, sizeof name, "%s", tensors[k].name);
        CHECK(worst < BOUND, "gradcheck %-8s dropout %.2f %-7s %3zu entries, worst relative error "
              "%.2e", cn_cell_name(cell), dropout, name, tensors[k].n, worst);
    }
    free(grads);
    teardown(&c);
}

/* Forward must not move the carried state; only cn_acts_carry_state does. */
static void check_state_untouched(void)
{
    Case c;
    memset(&c, 0, sizeof c);
    setup(&c, CN_LSTM, 0, 7);
    loss_of(&c);
    CHECK(memcmp(c.acts.state_h, c.state0, c.nstate * sizeof(CnReal)) == 0,
          "forward leaves the carried state alone");
    cn_acts_carry_state(&c.acts);
    size_t BH = (size_t)B * H;
    CHECK(memcmp(c.acts.state_h, c.acts.layer[0].h + T * BH, BH * sizeof(CnReal)) == 0 &&
              memcmp(c.acts.state_c + BH, c.acts.layer[1].c + T * BH, BH * sizeof(CnReal)) == 0,
          "carry copies h_T and c_T of every layer");
    teardown(&c);
}

int main(void)
{
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    for (int k = 0; k < 4; k++) {
        run(cells[k], 0.0);
        run(cells[k], 0.25);
    }
    check_state_untouched();
    return check_status();
}
