/* SPDX-License-Identifier: MIT */
/*
 * The model: parameter layout in one flat array, initialisation, the
 * activation buffers of truncated BPTT, and forward and backward over a
 * chunk (layers of cells, then the output layer and softmax loss):
 *     y_t = W_hy h_t + b_y      p_t = softmax(y_t)
 *     loss = (1/(B T)) sum_{b,t} -log p_t[target]
 * Shapes: V vocabulary, H hidden, L layers, B streams, T steps, G gate
 * blocks; time-major sequences, row-major matrices (see charnn.h).
 */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const cell_names[] = {"rnn", "lstm", "peephole", "gru"};

const char *cn_cell_name(CnCell cell)
{
    return (unsigned)cell < 4 ? cell_names[cell] : "?";
}

int cn_cell_parse(const char *name, CnCell *cell)
{
    for (int k = 0; k < 4; k++) {
        if (strcmp(name, cell_names[k]) == 0) {
            *cell = (CnCell)k;
            return 0;
        }
    }
    return -1;
}

int cn_cell_gates(CnCell cell)
{
    return cell == CN_RNN ? 1 : cell == CN_GRU ? 3 : 4;
}

static int is_lstm(CnCell cell)
{
    return cell == CN_LSTM || cell == CN_PEEPHOLE;
}

/* a*b + c, or SIZE_MAX on overflow (SIZE_MAX propagates). */
static size_t muladd(size_t a, size_t b, size_t c)
{
    size_t r;
    if (a == SIZE_MAX || b == SIZE_MAX || c == SIZE_MAX || __builtin_mul_overflow(a, b, &r) ||
        __builtin_add_overflow(r, c, &r))
        return SIZE_MAX;
    return r;
}

int cn_shape_check(const CnShape *s, CnError *err)
{
    if ((unsigned)s->cell > CN_GRU)
        cn_errorf(err, "unknown model kind %d", (int)s->cell);
    else if (s->vocab < 1 || s->vocab > 0x110000)
        cn_errorf(err, "vocabulary size %d is out of range", s->vocab);
    else if (s->hidden < 1 || s->hidden > (1 << 24))
        cn_errorf(err, "hidden size %d is out of range (1 to %d)", s->hidden,
                 1 << 24);
    else if (s->layers < 1 || s->layers > CN_MAX_LAYERS)
        cn_errorf(err, "layer count %d is out of range (1 to %d)",
                 s->layers, CN_MAX_LAYERS);
    else
        return 0;
    return -1;
}

size_t cn_shape_nparams(const CnShape *s)
{
    CnError ignored;
    if (cn_shape_check(s, &ignored) != 0)
        return 0;
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    size_t peep = s->cell == CN_PEEPHOLE ? 3 * H : 0;
    /* per layer: Wx (In, GH), Wh (H, GH), b (GH), peep */
    size_t n = muladd(V, GH, 0);
    n = muladd(H, GH, n);
    n = muladd(1, GH + peep, n);
    size_t upper = muladd(2 * H + 1, GH, peep);
    n = muladd((size_t)s->layers - 1, upper, n);
    n = muladd(H + 1, V, n); /* Wy (H, V), by (V) */
    return n == SIZE_MAX ? 0 : n;
}

void cn_view_init(CnView *view, const CnShape *s, CnReal *base)
{
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    CnReal *p = base;
    memset(view, 0, sizeof *view);
    for (int l = 0; l < s->layers; l++) {
        CnLayerView *lv = &view->layer[l];
        lv->Wx = p, p += (l == 0 ? V : H) * GH;
        lv->Wh = p, p += H * GH;
        lv->b = p, p += GH;
        if (s->cell == CN_PEEPHOLE)
            lv->peep = p, p += 3 * H;
    }
    view->Wy = p, p += H * V;
    view->by = p;
}

int cn_model_init(CnModel *m, CnCell cell, int hidden, int layers, CnVocab *vocab, CnError *err)
{
    memset(m, 0, sizeof *m);
    m->shape = (CnShape){cell, vocab->size, hidden, layers};
    if (cn_shape_check(&m->shape, err) != 0)
        return -1;
    m->nparams = cn_shape_nparams(&m->shape);
    m->params = m->nparams ? calloc(m->nparams, sizeof *m->params) : NULL;
    if (!m->params) {
        cn_errorf(err, "out of memory for %zu parameters", m->nparams);
        return -1;
    }
    cn_view_init(&m->w, &m->shape, m->params);
    m->vocab = *vocab;
    memset(vocab, 0, sizeof *vocab);
    return 0;
}

static void fill_uniform(CnReal *w, size_t n, double k, CnRng *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (CnReal)((2 * cn_rng_uniform(rng) - 1) * k);
}

void cn_model_randomize(CnModel *m, CnRng *rng)
{
    const CnShape *s = &m->shape;
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    double k = 1 / sqrt((double)H);
    memset(m->params, 0, m->nparams * sizeof *m->params);
    for (int l = 0; l < s->layers; l++) {
        CnLayerView *lv = &m->w.layer[l];
        fill_uniform(lv->Wx, (l == 0 ? V : H) * GH, k, rng);
        fill_uniform(lv->Wh, H * GH, k, rng);
        if (is_lstm(s->cell))
            for (size_t j = 0; j < H; j++)
                lv->b[H + j] = 1; /* forget gate */
    }
    fill_uniform(m->w.Wy, H * V, k, rng);
}

void cn_model_free(CnModel *m)
{
    free(m->params);
    cn_vocab_free(&m->vocab);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------------- */
/* Activation buffers: one allocation, carved into the views of CnActs. */

/* Walks the layout once, either counting (base NULL) or pointing views. */
static size_t acts_layout(CnActs *a, const CnShape *s, int B, int T, double dropout, int train,
                          CnReal *base)
{
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden, Bz = (size_t)B, Tz = (size_t)T;
    size_t GH = (size_t)cn_cell_gates(s->cell) * H;
    size_t BH = muladd(Bz, H, 0), TBH = muladd(Tz, BH, 0), T1BH = muladd(Tz + 1, BH, 0);
    size_t TBGH = muladd(Tz * Bz, GH, 0), LBH = muladd((size_t)s->layers, BH, 0);
    size_t off = 0;
#define CARVE(ptr, count)                                                                      \
    do {                                                                                       \
        size_t n_ = (count);                                                                   \
        if (base)                                                                              \
            (ptr) = base + off;                                                                \
        off = muladd(1, n_, off);                                                              \
    } while (0)
    for (int l = 0; l < s->layers; l++) {
        CnLayerActs *la = &a->layer[l];
        CARVE(la->z, TBGH);
        CARVE(la->h, T1BH);
        if (is_lstm(s->cell)) {
            CARVE(la->c, T1BH);
            CARVE(la->tanh_c, TBH);
        }
        if (s->cell == CN_GRU)
            CARVE(la->rh, TBH);
        if (l > 0 && train && dropout > 0) {
            CARVE(la->x, TBH);
            CARVE(la->mask, TBH);
        }
    }
    CARVE(a->state_h, LBH);
    if (is_lstm(s->cell))
        CARVE(a->state_c, LBH);
    CARVE(a->logits, muladd(Tz * Bz, V, 0));
    if (train) {
        CARVE(a->dz, TBGH);
        CARVE(a->dH, TBH);
        CARVE(a->dh, BH);
        CARVE(a->dc, BH);
        CARVE(a->drh, BH);
    }
#undef CARVE
    return off;
}

size_t cn_acts_bytes(const CnShape *s, int B, int T, double dropout, int train)
{
    CnActs scratch;
    memset(&scratch, 0, sizeof scratch);
    size_t n = acts_layout(&scratch, s, B, T, dropout, train, NULL);
    return muladd(n, sizeof(CnReal), 0);
}

int cn_acts_init(CnActs *a, const CnShape *s, int B, int T, double dropout, int train,
                 CnError *err)
{
    memset(a, 0, sizeof *a);
    size_t widest = (size_t)cn_cell_gates(s->cell) * (size_t)s->hidden;
    if ((size_t)s->vocab > widest)
        widest = (size_t)s->vocab;
    if (B < 1 || T < 1 || muladd(muladd((size_t)B, (size_t)T, 0), widest, 0) > INT_MAX) {
        cn_errorf(err, "batch %d x seq-length %d x layer width %zu is out of range (at most %d)", B, T,
                 widest, INT_MAX);
        return -1;
    }
    size_t n = acts_layout(a, s, B, T, dropout, train, NULL);
    a->memory = n == SIZE_MAX ? NULL : calloc(n, sizeof *a->memory);
    if (!a->memory) {
        cn_errorf(err, "out of memory for activations (%zu MiB)",
                 cn_acts_bytes(s, B, T, dropout, train) >> 20);
        return -1;
    }
    acts_layout(a, s, B, T, dropout, train, a->memory);
    a->nmemory = n;
    a->shape = *s;
    a->B = B, a->T = T;
    a->dropout = dropout;
    a->train = train;
    return 0;
}

void cn_acts_free(CnActs *a)
{
    free(a->memory);
    memset(a, 0, sizeof *a);
}

void cn_acts_reset_state(CnActs *a)
{
    size_t n = (size_t)a->shape.layers * a->B * a->shape.hidden;
    memset(a->state_h, 0, n * sizeof *a->state_h);
    if (a->state_c)
        memset(a->state_c, 0, n * sizeof *a->state_c);
}

void cn_acts_carry_state(CnActs *a)
{
    size_t BH = (size_t)a->B * a->shape.hidden, last = (size_t)a->steps * BH;
    for (int l = 0; l < a->shape.layers; l++) {
        memcpy(a->state_h + l * BH, a->layer[l].h + last, BH * sizeof(CnReal));
        if (a->state_c)
            memcpy(a->state_c + l * BH, a->layer[l].c + last, BH * sizeof(CnReal));
    }
}

/* ------------------------------------------------------------------------- */
/* Forward and backward over a chunk. */

/* Input of layer l > 0 for the last forward: layer l-1's h_1..h_steps,
 * through the dropout buffer when a mask was drawn. */
static const CnReal *layer_input(const CnActs *a, int l)
{
    if (a->dropped)
        return a->layer[l].x;
    return a->layer[l - 1].h + (size_t)a->B * a->shape.hidden;
}

/* x (n) = below (n) * mask, mask_i = 0 with probability p, else 1/(1-p). */
static void dropout_forward(CnReal *x, CnReal *mask, const CnReal *below, size_t n, double p,
                            CnRng *rng)
{
    CnReal keep = (CnReal)(1 / (1 - p));
    for (size_t i = 0; i < n; i++) {
        mask[i] = cn_rng_uniform(rng) < p ? 0 : keep;
        x[i] = below[i] * mask[i];
    }
}

/* Softmax of each row of logits (n, V) in place; returns the summed
 * -log p[target] = logsumexp(y) - y[target]. */
static double softmax_loss(CnReal *logits, const int *targets, int n, int V)
{
    double loss = 0;
    for (int r = 0; r < n; r++) {
        CnReal *y = logits + (size_t)r * V;
        CnReal max = y[0];
        for (int j = 1; j < V; j++)
            max = y[j] > max ? y[j] : max;
        double target_shifted = (double)y[targets[r]] - max, sum = 0;
        for (int j = 0; j < V; j++) {
            y[j] = CN_EXP(y[j] - max);
            sum += y[j];
        }
        loss += log(sum) - target_shifted;
        CnReal inv = (CnReal)(1 / sum);
        for (int j = 0; j < V; j++)
            y[j] *= inv;
    }
    return loss;
}

double cn_forward(const CnModel *m, CnActs *a, const int *ids, const int *targets, int steps,
                  CnRng *rng)
{
    const CnShape *s = &m->shape;
    int B = a->B, H = s->hidden, V = s->vocab, GH = cn_cell_gates(s->cell) * H;
    size_t BH = (size_t)B * H;
    int n = steps * B;
    a->steps = steps;
    a->dropped = rng && a->train && a->dropout > 0;
    for (int l = 0; l < s->layers; l++) {
        const CnLayerView *w = &m->w.layer[l];
        CnLayerActs *la = &a->layer[l];
        memcpy(la->h, a->state_h + l * BH, BH * sizeof(CnReal));
        if (la->c)
            memcpy(la->c, a->state_c + l * BH, BH * sizeof(CnReal));
        /* z (n, GH) = input term + b */
        if (l == 0) {
            for (int r = 0; r < n; r++) {
                const CnReal *wx = w->Wx + (size_t)ids[r] * GH;
                CnReal *z = la->z + (size_t)r * GH;
                for (int j = 0; j < GH; j++)
                    z[j] = wx[j] + w->b[j];
            }
        } else {
            if (a->dropped)
                dropout_forward(la->x, la->mask, a->layer[l - 1].h + BH, (size_t)n * H,
                                a->dropout, rng);
            cn_gemm_nn(la->z, GH, layer_input(a, l), H, w->Wx, GH, n, GH, H, 0);
            for (int r = 0; r < n; r++) {
                CnReal *z = la->z + (size_t)r * GH;
                for (int j = 0; j < GH; j++)
                    z[j] += w->b[j];
            }
        }
        switch (s->cell) {
        case CN_RNN: cn_rnn_forward(w, la, steps, B, H); break;
        case CN_LSTM:
        case CN_PEEPHOLE: cn_lstm_forward(w, la, steps, B, H); break;
        case CN_GRU: cn_gru_forward(w, la, steps, B, H); break;
        }
    }
    /* logits (n, V) = h_top (n, H) . Wy (H, V) + by */
    cn_gemm_nn(a->logits, V, a->layer[s->layers - 1].h + BH, H, m->w.Wy, V, n, V, H, 0);
    for (int r = 0; r < n; r++) {
        CnReal *y = a->logits + (size_t)r * V;
        for (int j = 0; j < V; j++)
            y[j] += m->w.by[j];
    }
    return targets ? softmax_loss(a->logits, targets, n, V) : 0;
}

void cn_backward(const CnModel *m, CnActs *a, const int *ids, const int *targets, CnReal *grads)
{
    const CnShape *s = &m->shape;
    int B = a->B, H = s->hidden, V = s->vocab, GH = cn_cell_gates(s->cell) * H;
    int steps = a->steps, n = steps * B;
    size_t BH = (size_t)B * H;
    CnView g;
    cn_view_init(&g, s, grads);

    /* dy = (p - onehot(target)) / n, in place of p */
    CnReal scale = (CnReal)(1.0 / n);
    for (int r = 0; r < n; r++) {
        CnReal *dy = a->logits + (size_t)r * V;
        dy[targets[r]] -= 1;
        for (int j = 0; j < V; j++)
            dy[j] *= scale;
    }
    /* dWy += h_top^T dy;  dby += sum dy;  dH (n, H) = dy . Wy^T */
    const CnReal *top = a->layer[s->layers - 1].h + BH;
    cn_gemm_tn(g.Wy, V, top, H, a->logits, V, H, V, n, 1);
    cn_add_colsum(g.by, a->logits, n, V);
    cn_gemm_nt(a->dH, H, a->logits, V, m->w.Wy, V, n, H, V, 0);

    for (int l = s->layers - 1; l >= 0; l--) {
        const CnLayerView *w = &m->w.layer[l];
        CnLayerView *gl = &g.layer[l];
        const CnLayerActs *la = &a->layer[l];
        switch (s->cell) {
        case CN_RNN: cn_rnn_backward(w, gl, la, a, steps, B, H); break;
        case CN_LSTM:
        case CN_PEEPHOLE: cn_lstm_backward(w, gl, la, a, steps, B, H); break;
        case CN_GRU: cn_gru_backward(w, gl, la, a, steps, B, H); break;
        }
        cn_add_colsum(gl->b, a->dz, n, GH);
        if (l == 0) {
            /* one-hot input: dWx row ids[r] += dz row r */
            for (int r = 0; r < n; r++) {
                CnReal *gx = gl->Wx + (size_t)ids[r] * GH;
                const CnReal *dz = a->dz + (size_t)r * GH;
                for (int j = 0; j < GH; j++)
                    gx[j] += dz[j];
            }
        } else {
            /* dWx += x^T dz;  dH of the layer below = (dz . Wx^T) * mask */
            cn_gemm_tn(gl->Wx, GH, layer_input(a, l), H, a->dz, GH, H, GH, n, 1);
            cn_gemm_nt(a->dH, H, a->dz, GH, w->Wx, GH, n, H, GH, 0);
            if (a->dropped) {
                const CnReal *mask = la->mask;
                for (size_t i = 0; i < (size_t)n * H; i++)
                    a->dH[i] *= mask[i];
            }
        }
    }
}
