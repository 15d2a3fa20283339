/* SPDX-License-Identifier: MIT */
/*
 * charnn trace (charnn.h, cn_trace): one forward and one backward pass over
 * a short text with every quantity of SPEC's equations kept and printed, to
 * check a derivation by hand or with numpy. A plain scalar implementation
 * in double, meant to be read beside charnn help model: loops over the
 * exported [outputs, inputs] matrices one unit at a time, no kernels, no
 * batch, no dropout. tests/test_trace.c checks its gradients against the
 * library's own backward pass. For textbook setups (CnTraceOptions) the
 * loss may be the sum of the steps' losses rather than their mean, the
 * rnn's activation the identity, the biases absent; and the backward pass
 * can run for one step's loss J_t alone, whose terms a derivation by hand
 * writes out.
 */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}

/* Row t of a (rows, n) array. */
static double *row(double *m, int t, int n)
{
    return m + (size_t)t * n;
}

/* (W v)_j = Σ_k W[j, k] v[k], for W (rows, n) */
static double dot_row(const double *W, int j, const double *v, int n)
{
    double s = 0;
    for (int k = 0; k < n; k++)
        s += W[(size_t)j * n + k] * v[k];
    return s;
}

/* (W^T u)_k = Σ_j W[j, k] u[j], for W (n, cols) */
static double dot_col(const double *W, int k, const double *u, int n, int cols)
{
    double s = 0;
    for (int j = 0; j < n; j++)
        s += W[(size_t)j * cols + k] * u[j];
    return s;
}

/* Gate block g of a (G, rows, cols) array. */
static double *block(double *m, int g, int rows, int cols)
{
    return m + (size_t)g * rows * cols;
}

/* Carves the trace's arrays out of one allocation (every value 0), and
 * copies the weights into the exported layout: internal Wx is (In, G*H)
 * input-major, so W_x<g>[j, k] = Wx[k * G*H + g*H + j]. Without biases
 * (opt->no_bias) b and b_y stay 0. */
static int trace_alloc(CnTrace *tr, const CnModel *m, int T, const CnTraceOptions *opt,
                       CnError *err)
{
    const CnShape *s = &m->shape;
    int V = s->vocab, H = s->hidden, G = cn_cell_gates(s->cell);
    size_t GH = (size_t)G * H, rows = (size_t)T + 2;
    size_t lstm = s->cell == CN_LSTM || s->cell == CN_PEEPHOLE;
    size_t need = 2 * (size_t)V * H + 2 * (size_t)V + rows * (3 * (size_t)V + 1);
    for (int l = 0; l < s->layers; l++) {
        size_t in = l == 0 ? (size_t)V : (size_t)H;
        need += 2 * (GH * in + GH * H + GH) + (s->cell == CN_PEEPHOLE ? 6 * (size_t)H : 0) +
                rows * (3 * GH + (4 + 4 * lstm) * (size_t)H);
    }
    memset(tr, 0, sizeof *tr);
    tr->shape = *s;
    tr->opt = *opt;
    tr->G = G;
    tr->T = T;
    tr->memory = (double)need * sizeof(double) < (double)SIZE_MAX / 2
                     ? calloc(need, sizeof(double)) : NULL;
    tr->chars = malloc(((size_t)T + 1) * sizeof *tr->chars);
    if (!tr->memory || !tr->chars) {
        cn_errorf(err, "out of memory for a trace of %d steps (%zu values)", T, need);
        cn_trace_release(tr);
        return -1;
    }
    double *at = tr->memory;
#define TAKE(p, n) ((p) = at, at += (n))
    for (int l = 0; l < s->layers; l++) {
        CnTraceLayer *w = &tr->layer[l];
        const CnLayerView *v = &m->w.layer[l];
        w->in = l == 0 ? V : H;
        TAKE(w->Wx, GH * w->in), TAKE(w->dWx, GH * w->in);
        TAKE(w->Wh, GH * H), TAKE(w->dWh, GH * H);
        TAKE(w->b, GH), TAKE(w->db, GH);
        if (v->peep)
            TAKE(w->p, 3 * (size_t)H), TAKE(w->dp, 3 * (size_t)H);
        TAKE(w->a, rows * GH), TAKE(w->z, rows * GH), TAKE(w->delta, rows * GH);
        TAKE(w->h, rows * H), TAKE(w->dh_out, rows * H), TAKE(w->dh_next, rows * H);
        TAKE(w->dh, rows * H);
        if (lstm) {
            TAKE(w->c, rows * H), TAKE(w->dc_h, rows * H), TAKE(w->dc_next, rows * H);
            TAKE(w->dc, rows * H);
        }
        for (size_t gj = 0; gj < GH; gj++) { /* gj = g*H + j: row gj of the (G*H, in) stack */
            for (int k = 0; k < w->in; k++)
                w->Wx[gj * w->in + k] = v->Wx[(size_t)k * GH + gj];
            for (int k = 0; k < H; k++)
                w->Wh[gj * H + k] = v->Wh[(size_t)k * GH + gj];
            w->b[gj] = opt->no_bias ? 0 : v->b[gj];
        }
        for (int k = 0; w->p && k < 3 * H; k++)
            w->p[k] = v->peep[k];
    }
    TAKE(tr->Wy, (size_t)V * H), TAKE(tr->dWy, (size_t)V * H);
    TAKE(tr->by, (size_t)V), TAKE(tr->dby, (size_t)V);
    TAKE(tr->y, rows * V), TAKE(tr->p, rows * V), TAKE(tr->dy, rows * V), TAKE(tr->nll, rows);
#undef TAKE
    for (int v = 0; v < V; v++) {
        for (int k = 0; k < H; k++)
            tr->Wy[(size_t)v * H + k] = m->w.Wy[(size_t)k * V + v];
        tr->by[v] = opt->no_bias ? 0 : m->w.by[v];
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Forward. */

/* a_g = W_xg x_t + W_hg h_{t-1} + b_g for every gate g of layer l at step t:
 * the part every cell shares. Layer 0's x_t is one-hot, so W_xg x_t is
 * column chars[t-1] of W_xg; a higher layer's x_t is h_t of the layer below.
 * The GRU's n gate gets W_hn (r_t ⊙ h_{t-1}) later, and the peepholes
 * their terms, once r_t and c_t are known. */
static void preactivations(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden, in = w->in;
    const double *h_prev = row(w->h, t - 1, H);
    double *a = row(w->a, t, tr->G * H);
    for (int g = 0; g < tr->G; g++) {
        const double *Wx = block(w->Wx, g, H, in), *Wh = block(w->Wh, g, H, H);
        int recurrent = !(tr->shape.cell == CN_GRU && g == 2);
        for (int j = 0; j < H; j++) {
            double s = w->b[g * H + j];
            s += l == 0 ? Wx[(size_t)j * in + tr->chars[t - 1]]
                        : dot_row(Wx, j, row(tr->layer[l - 1].h, t, H), in);
            if (recurrent)
                s += dot_row(Wh, j, h_prev, H);
            a[g * H + j] = s;
        }
    }
}

/* Vanilla RNN: h_t = tanh(a_h), or h_t = a_h (opt.linear); the gate
 * value is h_t itself. */
static void rnn_step(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden;
    for (int j = 0; j < H; j++) {
        double a = row(w->a, t, H)[j];
        row(w->h, t, H)[j] = row(w->z, t, H)[j] = tr->opt.linear ? a : tanh(a);
    }
}

/* LSTM, blocks [i f o g], peephole terms when w->p (w_ci, w_cf, w_co):
 *   a_i += w_ci ⊙ c_{t-1}   a_f += w_cf ⊙ c_{t-1}
 *   i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   c_t = f ⊙ c_{t-1} + i ⊙ g
 *   a_o += w_co ⊙ c_t   o = σ(a_o)   h_t = o ⊙ tanh(c_t) */
static void lstm_step(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden;
    double *a = row(w->a, t, 4 * H), *z = row(w->z, t, 4 * H);
    const double *c_prev = row(w->c, t - 1, H);
    double *c = row(w->c, t, H), *h = row(w->h, t, H);
    for (int j = 0; j < H; j++) {
        double *ai = &a[j], *af = &a[H + j], *ao = &a[2 * H + j], *ag = &a[3 * H + j];
        if (w->p) {
            *ai += w->p[j] * c_prev[j];
            *af += w->p[H + j] * c_prev[j];
        }
        double i = sigmoid(*ai), f = sigmoid(*af), g = tanh(*ag);
        c[j] = f * c_prev[j] + i * g;
        if (w->p)
            *ao += w->p[2 * H + j] * c[j];
        double o = sigmoid(*ao);
        h[j] = o * tanh(c[j]);
        z[j] = i, z[H + j] = f, z[2 * H + j] = o, z[3 * H + j] = g;
    }
}

/* GRU, blocks [r u n]:
 *   r = σ(a_r)   u = σ(a_u)   a_n += W_hn (r ⊙ h_{t-1})   n = tanh(a_n)
 *   h_t = u ⊙ n + (1 - u) ⊙ h_{t-1} */
static void gru_step(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden;
    double *a = row(w->a, t, 3 * H), *z = row(w->z, t, 3 * H);
    const double *h_prev = row(w->h, t - 1, H), *Whn = block(w->Wh, 2, H, H);
    double *h = row(w->h, t, H);
    for (int j = 0; j < 2 * H; j++) /* r and u */
        z[j] = sigmoid(a[j]);
    for (int j = 0; j < H; j++) {
        for (int k = 0; k < H; k++)
            a[2 * H + j] += Whn[(size_t)j * H + k] * (z[k] * h_prev[k]);
        z[2 * H + j] = tanh(a[2 * H + j]);
        double u = z[H + j], n = z[2 * H + j];
        h[j] = u * n + (1 - u) * h_prev[j];
    }
}

/* y_t = W_hy h_t + b_y (top layer's h_t);  p_t = softmax(y_t);
 * nll_t = -ln p_t[target_t], computed as logsumexp(y_t) - y_t[target]. */
static void output_step(CnTrace *tr, int t)
{
    int V = tr->shape.vocab, H = tr->shape.hidden;
    const double *h = row(tr->layer[tr->shape.layers - 1].h, t, H);
    double *y = row(tr->y, t, V), *p = row(tr->p, t, V), top = -INFINITY, sum = 0;
    for (int v = 0; v < V; v++) {
        y[v] = tr->by[v] + dot_row(tr->Wy, v, h, H);
        top = y[v] > top ? y[v] : top;
    }
    for (int v = 0; v < V; v++)
        sum += p[v] = exp(y[v] - top);
    for (int v = 0; v < V; v++)
        p[v] /= sum;
    tr->nll[t] = top + log(sum) - y[tr->chars[t]];
}

/* ------------------------------------------------------------------------- */
/* Backward. Row T+1 is zero, so "from step t+1" is 0 at t = T. */

/* dL/dh_t from the output, W_hy^T dL/dy_t (top layer), or from the layer
 * above, Σ_g W_xg^T δg_t of layer l+1, whose x_t is this h_t. */
static void dh_from_above(CnTrace *tr, int l, int t)
{
    int H = tr->shape.hidden, V = tr->shape.vocab, G = tr->G;
    double *out = row(tr->layer[l].dh_out, t, H);
    for (int k = 0; k < H; k++) {
        if (l == tr->shape.layers - 1) {
            out[k] = dot_col(tr->Wy, k, row(tr->dy, t, V), V, H);
            continue;
        }
        CnTraceLayer *up = &tr->layer[l + 1];
        out[k] = 0;
        for (int g = 0; g < G; g++)
            out[k] += dot_col(block(up->Wx, g, H, H), k, row(up->delta, t, G * H) + g * H, H, H);
    }
}

/* Vanilla RNN:  dL/dh_t [next] = W_hh^T δh_{t+1};
 *   δh_t = dL/dh_t ⊙ (1 - h_t²), or δh_t = dL/dh_t (linear) */
static void rnn_back(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden;
    const double *h = row(w->h, t, H), *d_next = row(w->delta, t + 1, H);
    double *next = row(w->dh_next, t, H), *dh = row(w->dh, t, H), *d = row(w->delta, t, H);
    for (int k = 0; k < H; k++)
        next[k] = dot_col(w->Wh, k, d_next, H, H);
    for (int j = 0; j < H; j++) {
        dh[j] = row(w->dh_out, t, H)[j] + next[j];
        d[j] = tr->opt.linear ? dh[j] : dh[j] * (1 - h[j] * h[j]);
    }
}

/* LSTM (peephole terms when w->p):
 *   dL/dh_t [next] = W_hi^T δi_{t+1} + W_hf^T δf_{t+1} + W_ho^T δo_{t+1} + W_hg^T δg_{t+1}
 *   dL/dc_t [next] = dL/dc_{t+1} ⊙ f_{t+1} (+ w_ci ⊙ δi_{t+1} + w_cf ⊙ δf_{t+1})
 *   δo_t = dL/dh_t ⊙ tanh(c_t) ⊙ o_t ⊙ (1 - o_t)
 *   dL/dc_t [via h] = dL/dh_t ⊙ o_t ⊙ (1 - tanh²(c_t)) (+ w_co ⊙ δo_t)
 *   δi_t = dL/dc_t ⊙ g_t ⊙ i_t (1 - i_t)     δf_t = dL/dc_t ⊙ c_{t-1} ⊙ f_t (1 - f_t)
 *   δg_t = dL/dc_t ⊙ i_t ⊙ (1 - g_t²) */
static void lstm_back(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden;
    const double *z = row(w->z, t, 4 * H), *z_next = row(w->z, t + 1, 4 * H);
    const double *d_next = row(w->delta, t + 1, 4 * H), *c = row(w->c, t, H);
    const double *c_prev = row(w->c, t - 1, H), *dc_after = row(w->dc, t + 1, H);
    double *d = row(w->delta, t, 4 * H), *dh = row(w->dh, t, H);
    double *dh_next = row(w->dh_next, t, H), *dc_next = row(w->dc_next, t, H);
    double *dc_h = row(w->dc_h, t, H), *dc = row(w->dc, t, H);
    for (int k = 0; k < H; k++) {
        dh_next[k] = 0;
        for (int g = 0; g < 4; g++)
            dh_next[k] += dot_col(block(w->Wh, g, H, H), k, d_next + g * H, H, H);
    }
    for (int j = 0; j < H; j++) {
        double i = z[j], f = z[H + j], o = z[2 * H + j], g = z[3 * H + j], tc = tanh(c[j]);
        dc_next[j] = dc_after[j] * z_next[H + j];
        if (w->p)
            dc_next[j] += w->p[j] * d_next[j] + w->p[H + j] * d_next[H + j];
        dh[j] = row(w->dh_out, t, H)[j] + dh_next[j];
        d[2 * H + j] = dh[j] * tc * o * (1 - o);
        dc_h[j] = dh[j] * o * (1 - tc * tc);
        if (w->p)
            dc_h[j] += w->p[2 * H + j] * d[2 * H + j];
        dc[j] = dc_h[j] + dc_next[j];
        d[j] = dc[j] * g * i * (1 - i);
        d[H + j] = dc[j] * c_prev[j] * f * (1 - f);
        d[3 * H + j] = dc[j] * i * (1 - g * g);
    }
}

/* GRU:
 *   dL/dh_t [next] = (1 - u_{t+1}) ⊙ dL/dh_{t+1} + W_hr^T δr_{t+1} + W_hu^T δu_{t+1}
 *                    + r_{t+1} ⊙ (W_hn^T δn_{t+1})
 *   δn_t = dL/dh_t ⊙ u_t ⊙ (1 - n_t²)    δu_t = dL/dh_t ⊙ (n_t - h_{t-1}) ⊙ u_t (1 - u_t)
 *   δr_t = (W_hn^T δn_t) ⊙ h_{t-1} ⊙ r_t (1 - r_t) */
static void gru_back(CnTrace *tr, int l, int t)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden;
    const double *z = row(w->z, t, 3 * H), *z_next = row(w->z, t + 1, 3 * H);
    const double *d_next = row(w->delta, t + 1, 3 * H), *dh_after = row(w->dh, t + 1, H);
    const double *h_prev = row(w->h, t - 1, H);
    double *d = row(w->delta, t, 3 * H), *dh = row(w->dh, t, H);
    double *dh_next = row(w->dh_next, t, H);
    for (int k = 0; k < H; k++) {
        dh_next[k] = (1 - z_next[H + k]) * dh_after[k] +
                     dot_col(block(w->Wh, 0, H, H), k, d_next, H, H) +
                     dot_col(block(w->Wh, 1, H, H), k, d_next + H, H, H) +
                     z_next[k] * dot_col(block(w->Wh, 2, H, H), k, d_next + 2 * H, H, H);
        dh[k] = row(w->dh_out, t, H)[k] + dh_next[k];
    }
    for (int j = 0; j < H; j++) {
        double u = z[H + j], n = z[2 * H + j];
        d[2 * H + j] = dh[j] * u * (1 - n * n);
        d[H + j] = dh[j] * (n - h_prev[j]) * u * (1 - u);
    }
    for (int k = 0; k < H; k++) {
        double r = z[k];
        d[k] = dot_col(block(w->Wh, 2, H, H), k, d + 2 * H, H, H) * h_prev[k] * r * (1 - r);
    }
}

/* The weight gradients of layer l, sums over the steps, for each gate γ
 * of the cell (rnn h; lstm i f o g; gru r u n):
 *   dL/dW_xγ = Σ_t δγ_t x_t^T    dL/dW_hγ = Σ_t δγ_t h_{t-1}^T    dL/db_γ = Σ_t δγ_t
 * (the GRU's W_hn: Σ_t δn_t (r_t ⊙ h_{t-1})^T), and the peepholes'
 *   dL/dw_ci = Σ_t δi_t ⊙ c_{t-1}   dL/dw_cf = Σ_t δf_t ⊙ c_{t-1}   dL/dw_co = Σ_t δo_t ⊙ c_t */
static void layer_gradients(CnTrace *tr, int l)
{
    CnTraceLayer *w = &tr->layer[l];
    int H = tr->shape.hidden, G = tr->G, in = w->in;
    for (int t = 1; t <= tr->T; t++) {
        const double *d = row(w->delta, t, G * H), *z = row(w->z, t, G * H);
        const double *h_prev = row(w->h, t - 1, H);
        for (int g = 0; g < G; g++) {
            double *dWx = block(w->dWx, g, H, in), *dWh = block(w->dWh, g, H, H);
            int reset = tr->shape.cell == CN_GRU && g == 2; /* W_hn sees r_t ⊙ h_{t-1} */
            for (int j = 0; j < H; j++) {
                double dj = d[g * H + j];
                w->db[g * H + j] += dj;
                if (l == 0)
                    dWx[(size_t)j * in + tr->chars[t - 1]] += dj;
                else
                    for (int k = 0; k < in; k++)
                        dWx[(size_t)j * in + k] += dj * row(tr->layer[l - 1].h, t, H)[k];
                for (int k = 0; k < H; k++)
                    dWh[(size_t)j * H + k] += dj * (reset ? z[k] * h_prev[k] : h_prev[k]);
            }
        }
        for (int j = 0; w->dp && j < H; j++) {
            w->dp[j] += d[j] * row(w->c, t - 1, H)[j];
            w->dp[H + j] += d[H + j] * row(w->c, t - 1, H)[j];
            w->dp[2 * H + j] += d[2 * H + j] * row(w->c, t, H)[j];
        }
    }
}

/* Every backward array and gradient back to 0. */
static void backward_clear(CnTrace *tr)
{
    const CnShape *s = &tr->shape;
    size_t V = (size_t)s->vocab, H = (size_t)s->hidden, GH = (size_t)tr->G * H;
    size_t rows = (size_t)tr->T + 2;
    for (int l = 0; l < s->layers; l++) {
        CnTraceLayer *w = &tr->layer[l];
        memset(w->dWx, 0, GH * (size_t)w->in * sizeof(double));
        memset(w->dWh, 0, GH * H * sizeof(double));
        memset(w->db, 0, GH * sizeof(double));
        if (w->dp)
            memset(w->dp, 0, 3 * H * sizeof(double));
        double *per_step[] = {w->dh_out, w->dh_next, w->dh, w->dc_h, w->dc_next, w->dc};
        for (int k = 0; k < 6; k++)
            if (per_step[k])
                memset(per_step[k], 0, rows * H * sizeof(double));
        memset(w->delta, 0, rows * GH * sizeof(double));
    }
    memset(tr->dWy, 0, V * H * sizeof(double));
    memset(tr->dby, 0, V * sizeof(double));
    memset(tr->dy, 0, rows * V * sizeof(double));
}

void cn_trace_backward(CnTrace *tr, int only)
{
    int T = tr->T, V = tr->shape.vocab, H = tr->shape.hidden, L = tr->shape.layers;
    CnCell cell = tr->shape.cell;
    backward_clear(tr);
    tr->only = only;
    /* dL/dy_t = (p_t - onehot(target_t)) / T (mean) or p_t - onehot(target_t)
     * (sum); J_only alone: p_only - onehot(target_only) at t = only, else 0.
     * dL/dW_hy = Σ_t dL/dy_t h_t^T;  dL/db_y = Σ_t dL/dy_t */
    double scale = only || tr->opt.sum ? 1 : 1.0 / T;
    for (int t = 1; t <= T; t++) {
        if (only && t != only)
            continue;
        const double *h = row(tr->layer[L - 1].h, t, H);
        for (int v = 0; v < V; v++) {
            double dy = row(tr->dy, t, V)[v] =
                (row(tr->p, t, V)[v] - (v == tr->chars[t] ? 1 : 0)) * scale;
            tr->dby[v] += dy;
            for (int k = 0; k < H; k++)
                tr->dWy[(size_t)v * H + k] += dy * h[k];
        }
    }
    /* layer by layer from the top, each back through time */
    for (int l = L - 1; l >= 0; l--) {
        for (int t = T; t >= 1; t--) {
            dh_from_above(tr, l, t);
            if (cell == CN_RNN)
                rnn_back(tr, l, t);
            else if (cell == CN_GRU)
                gru_back(tr, l, t);
            else
                lstm_back(tr, l, t);
        }
        layer_gradients(tr, l);
    }
}

int cn_trace_run(CnTrace *tr, const CnModel *m, const int *chars, int T,
                 const CnTraceOptions *opt, CnError *err)
{
    static const CnTraceOptions plain = {0};
    opt = opt ? opt : &plain;
    if (opt->linear && m->shape.cell != CN_RNN) {
        cn_errorf(err, "a linear activation is for the rnn; the %s's gates need their σ and tanh",
                  cn_name_of(cn_cell_names, m->shape.cell));
        return -1;
    }
    if (trace_alloc(tr, m, T, opt, err) != 0)
        return -1;
    memcpy(tr->chars, chars, ((size_t)T + 1) * sizeof *chars);
    int L = m->shape.layers;
    CnCell cell = m->shape.cell;
    for (int t = 1; t <= T; t++) {
        for (int l = 0; l < L; l++) {
            preactivations(tr, l, t);
            if (cell == CN_RNN)
                rnn_step(tr, l, t);
            else if (cell == CN_GRU)
                gru_step(tr, l, t);
            else
                lstm_step(tr, l, t);
        }
        output_step(tr, t);
        tr->loss += opt->sum ? tr->nll[t] : tr->nll[t] / T;
    }
    cn_trace_backward(tr, 0);
    return 0;
}

void cn_trace_release(CnTrace *tr)
{
    free(tr->memory);
    free(tr->chars);
    memset(tr, 0, sizeof *tr);
}
