/* SPDX-License-Identifier: MIT */
/*
 * Finite-difference gradient check (charnn.h, cn_gradcheck): every
 * parameter of a small random model, its analytic gradient from
 * cn_backward against a fourth-order central difference of the loss.
 * Used by `charnn gradcheck` and by the double-precision test.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#ifdef CHARNN_DOUBLE
static const double EPS = 1e-3, FLOOR = 1e-6;
#else
static const double EPS = 1e-2, FLOOR = 1e-3;
#endif

typedef struct {
    const CnModel *m;
    CnActs *acts;
    const int *ids, *targets;
    const CnReal *state0; /* carried-in state, restored before every pass */
    size_t nstate;
    uint64_t dropout_seed;
    int T;
} Probe;

/* Mean loss from the fixed state with the fixed dropout masks. */
static double loss_of(const Probe *p)
{
    memcpy(p->acts->state_h, p->state0, p->nstate * sizeof(CnReal));
    CnRng rng;
    cn_rng_seed(&rng, p->dropout_seed);
    return cn_forward(p->m, p->acts, p->ids, p->targets, p->T, &rng) / (p->acts->B * p->T);
}

static double worst_error(const Probe *p, CnReal *w, const CnReal *g, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        CnReal saved = w[i];
        const double steps[4] = {2 * EPS, EPS, -EPS, -2 * EPS};
        double at[4];
        for (int k = 0; k < 4; k++) {
            w[i] = (CnReal)(saved + steps[k]);
            at[k] = loss_of(p);
        }
        w[i] = saved;
        double num = (-at[0] + 8 * at[1] - 8 * at[2] + at[3]) / (12 * EPS), ana = g[i];
        double rel = fabs(ana - num) / fmax(fabs(ana) + fabs(num), FLOOR);
        worst = rel > worst ? rel : worst;
    }
    return worst;
}

int cn_gradcheck(const CnShape *shape, int B, int T, double dropout, uint64_t seed,
                 CnGradcheck *out, int max, CnError *err)
{
    if (cn_shape_check(shape, err) != 0)
        return -1;
    uint32_t *chars = malloc((size_t)shape->vocab * sizeof *chars);
    CnVocab vocab;
    CnModel m;
    CnActs acts;
    if (!chars) {
        cn_errorf(err, "out of memory");
        return -1;
    }
    for (int k = 0; k < shape->vocab; k++)
        chars[k] = 0x4e00 + (uint32_t)k; /* any increasing code points */
    if (cn_vocab_from_chars(&vocab, chars, shape->vocab, err) != 0 ||
        cn_model_init(&m, shape->cell, shape->hidden, shape->layers, &vocab, err) != 0)
        return -1;
    if (cn_acts_init(&acts, &m.shape, B, T, dropout, 1, CN_MUL_FP32, NULL, err) != 0) {
        cn_model_release(&m);
        return -1;
    }
    CnRng rng;
    cn_rng_seed(&rng, seed);
    cn_model_draw(&m, &rng);
    size_t nstate = cn_state_values(shape, B);
    int *ids = malloc(2 * (size_t)B * T * sizeof *ids);
    CnReal *state0 = malloc(nstate * sizeof *state0);
    CnReal *grads = calloc(m.nparams, sizeof *grads);
    int count = -1;
    if (!ids || !state0 || !grads) {
        cn_errorf(err, "out of memory");
        goto out;
    }
    int *targets = ids + (size_t)B * T;
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int)(cn_rng_next(&rng) % (uint64_t)shape->vocab);
        targets[i] = (int)(cn_rng_next(&rng) % (uint64_t)shape->vocab);
    }
    for (size_t i = 0; i < nstate; i++)
        state0[i] = (CnReal)(cn_rng_uniform(&rng) * 1.6 - 0.8);
    Probe p = {&m, &acts, ids, targets, state0, nstate, seed + 1, T};
    loss_of(&p);
    cn_backward(&m, &acts, ids, targets, grads);
    CnView g;
    cn_view_init(&g, &m.shape, grads);
    size_t GH = (size_t)cn_cell_gates(shape->cell) * shape->hidden, H = (size_t)shape->hidden;
    count = 0;
#define CHECK_TENSOR(label, w, gw, n)                                                          \
    do {                                                                                       \
        if (count < max) {                                                                     \
            snprintf(out[count].name, sizeof out[count].name, "%s", label);                    \
            out[count].entries = (n);                                                          \
            out[count].worst = worst_error(&p, (w), (gw), (n));                                \
        }                                                                                      \
        count++;                                                                               \
    } while (0)
    for (int l = 0; l < shape->layers; l++) {
        CnLayerView *w = &m.w.layer[l], *gl = &g.layer[l];
        char name[24];
        snprintf(name, sizeof name, "l%d.Wx", l);
        CHECK_TENSOR(name, w->Wx, gl->Wx, (l == 0 ? (size_t)shape->vocab : H) * GH);
        snprintf(name, sizeof name, "l%d.Wh", l);
        CHECK_TENSOR(name, w->Wh, gl->Wh, H * GH);
        snprintf(name, sizeof name, "l%d.b", l);
        CHECK_TENSOR(name, w->b, gl->b, GH);
        if (w->peep) {
            snprintf(name, sizeof name, "l%d.peep", l);
            CHECK_TENSOR(name, w->peep, gl->peep, 3 * H);
        }
    }
    CHECK_TENSOR("Wy", m.w.Wy, g.Wy, H * (size_t)shape->vocab);
    CHECK_TENSOR("by", m.w.by, g.by, (size_t)shape->vocab);
#undef CHECK_TENSOR
out:
    free(ids);
    free(state0);
    free(grads);
    cn_acts_free(&acts);
    cn_model_release(&m);
    return count;
}
