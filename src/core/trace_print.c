/* SPDX-License-Identifier: MIT */
/*
 * cn_trace (charnn.h): a trace (src/core/trace.c) printed as readable text,
 * each section headed by its equations in SPEC's notation, or as one JSON
 * object with every number at full precision (schema in README, "charnn
 * trace").
 */
#include "trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The text, quoted and escaped. */
static void put_text(FILE *out, const CnText *text)
{
    fputc('"', out);
    for (size_t at = 0; at < text->nbytes;) {
        uint32_t cp;
        at += (size_t)cn_utf8_decode(text->bytes + at, text->nbytes - at, &cp);
        cn_json_char(out, cp);
    }
    fputc('"', out);
}

/* One exported tensor: a weight and its gradient, (rows, cols) or, with
 * cols 0, a vector of rows. */
typedef struct {
    char name[24];
    const double *w, *dw;
    int rows, cols;
} Tensor;
enum { MAX_TENSORS = CN_MAX_LAYERS * (3 * 4 + 3) + 2 };

/* Appends a tensor named by fmt. */
static void add_tensor(Tensor *list, int *n, const double *w, const double *dw, int rows,
                       int cols, const char *fmt, ...) OS_PRINTF(7, 8);
static void add_tensor(Tensor *list, int *n, const double *w, const double *dw, int rows,
                       int cols, const char *fmt, ...)
{
    Tensor *t = &list[(*n)++];
    *t = (Tensor){.w = w, .dw = dw, .rows = rows, .cols = cols};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
}

/* The tensors in the order and with the names of charnn export: per layer
 * W_x<g>, W_h<g>, b_<g> for each gate, then p_i, p_f, p_o; W_hy, b_y. */
static int tensors(const CnTrace *tr, Tensor *list)
{
    int H = tr->shape.hidden, n = 0;
    for (int l = 0; l < tr->shape.layers; l++) {
        const CnTraceLayer *w = &tr->layer[l];
        for (int g = 0; g < tr->G; g++) {
            const char *gate = cn_gate_name(tr->shape.cell, g);
            size_t x = (size_t)g * H * w->in, h = (size_t)g * H * H, b = (size_t)g * H;
            add_tensor(list, &n, w->Wx + x, w->dWx + x, H, w->in, "l%d.W_x%s", l, gate);
            add_tensor(list, &n, w->Wh + h, w->dWh + h, H, H, "l%d.W_h%s", l, gate);
            add_tensor(list, &n, w->b + b, w->db + b, H, 0, "l%d.b_%s", l, gate);
        }
        for (int k = 0; w->p && k < 3; k++)
            add_tensor(list, &n, w->p + (size_t)k * H, w->dp + (size_t)k * H, H, 0, "l%d.p_%c",
                       l, "ifo"[k]);
    }
    add_tensor(list, &n, tr->Wy, tr->dWy, tr->shape.vocab, H, "W_hy");
    add_tensor(list, &n, tr->by, tr->dby, tr->shape.vocab, 0, "b_y");
    return n;
}

/* ------------------------------------------------------------------------- */
/* Text. */

enum { PER_LINE = 8, COLUMN = 26 };

/* "[ v0 v1 ... ]", PER_LINE numbers a line, continuation lines indented by
 * indent columns. */
static void text_vector(FILE *out, const double *v, int n, int indent)
{
    fputc('[', out);
    for (int k = 0; k < n; k++) {
        if (k && k % PER_LINE == 0)
            fprintf(out, "\n%*s", indent + 1, "");
        fprintf(out, " %11.5g", v[k]);
    }
    fputs(" ]\n", out);
}

/* "<indent><label> = ", the label formatted and padded so that "=" is at
 * COLUMN (counting characters: σ and δ are two bytes); returns the column
 * after it. */
static int text_label(FILE *out, int indent, const char *fmt, va_list ap)
{
    char label[64];
    vsnprintf(label, sizeof label, fmt, ap);
    int chars = indent;
    for (const char *s = label; *s; s++)
        chars += (*s & 0xc0) != 0x80;
    int pad = chars < COLUMN ? COLUMN - chars : 0;
    fprintf(out, "%*s%s%*s = ", indent, "", label, pad, "");
    return chars + pad + 3;
}

/* A labelled vector of n values. */
static void text_line(FILE *out, int indent, const double *v, int n, const char *fmt, ...)
    OS_PRINTF(5, 6);
static void text_line(FILE *out, int indent, const double *v, int n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int column = text_label(out, indent, fmt, ap);
    va_end(ap);
    text_vector(out, v, n, column);
}

/* A labelled number. */
static void text_scalar(FILE *out, int indent, double x, const char *fmt, ...)
    OS_PRINTF(4, 5);
static void text_scalar(FILE *out, int indent, double x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_label(out, indent, fmt, ap);
    va_end(ap);
    fprintf(out, "%.6g\n", x);
}

/* A weight or gradient: a vector on one line, a matrix row by row. */
static void text_tensor(FILE *out, const char *name, const double *w, int rows, int cols)
{
    if (!cols) {
        text_line(out, 2, w, rows, "%s", name);
        return;
    }
    fprintf(out, "  %s [%d x %d]\n", name, rows, cols);
    for (int r = 0; r < rows; r++) {
        fputs("    ", out);
        text_vector(out, w + (size_t)r * cols, cols, 4);
    }
}

/* Vocabulary entry index as 'c', or U+XXXX for a control character. */
static void describe(const CnModel *m, int index, char out[16])
{
    uint32_t cp = m->vocab.chars[index];
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
        snprintf(out, 16, "U+%04X", (unsigned)cp);
        return;
    }
    char utf8[5] = {0};
    cn_utf8_encode(cp, utf8);
    snprintf(out, 16, "'%s'", utf8);
}

/* The equations of the forward pass, then its values step by step. */
static void text_forward(FILE *out, const CnTrace *tr, const CnModel *m)
{
    static const char *const eq[4] = {
        [CN_RNN] = "  a_h = W_xh x_t + W_hh h_{t-1} + b_h                h_t = tanh(a_h)\n",
        [CN_LSTM] = "  a_i = W_xi x_t + W_hi h_{t-1} + b_i                i_t = σ(a_i)\n"
                    "  a_f = W_xf x_t + W_hf h_{t-1} + b_f                f_t = σ(a_f)\n"
                    "  a_o = W_xo x_t + W_ho h_{t-1} + b_o                o_t = σ(a_o)\n"
                    "  a_g = W_xg x_t + W_hg h_{t-1} + b_g                g_t = tanh(a_g)\n"
                    "  c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                    h_t = o_t ⊙ tanh(c_t)\n",
        [CN_PEEPHOLE] =
            "  a_i = W_xi x_t + W_hi h_{t-1} + p_i ⊙ c_{t-1} + b_i    i_t = σ(a_i)\n"
            "  a_f = W_xf x_t + W_hf h_{t-1} + p_f ⊙ c_{t-1} + b_f    f_t = σ(a_f)\n"
            "  a_o = W_xo x_t + W_ho h_{t-1} + p_o ⊙ c_t + b_o        o_t = σ(a_o)\n"
            "  a_g = W_xg x_t + W_hg h_{t-1} + b_g                    g_t = tanh(a_g)\n"
            "  c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                        h_t = o_t ⊙ tanh(c_t)\n",
        [CN_GRU] = "  a_r = W_xr x_t + W_hr h_{t-1} + b_r                r_t = σ(a_r)\n"
                   "  a_u = W_xu x_t + W_hu h_{t-1} + b_u                u_t = σ(a_u)\n"
                   "  a_n = W_xn x_t + W_hn (r_t ⊙ h_{t-1}) + b_n        n_t = tanh(a_n)\n"
                   "  h_t = u_t ⊙ n_t + (1 - u_t) ⊙ h_{t-1}\n"};
    const CnShape *s = &tr->shape;
    int V = s->vocab, H = s->hidden, G = tr->G;
    fprintf(out, "\nforward\n%s", eq[s->cell]);
    if (s->layers > 1)
        fputs("  (layer 0's x_t is one-hot; layer l > 0's x_t is h_t of layer l-1)\n", out);
    fputs("  y_t = W_hy h_t + b_y (the top layer's h_t)         p_t = softmax(y_t)\n", out);
    for (int t = 1; t <= tr->T; t++) {
        char in[16], target[16];
        describe(m, tr->chars[t - 1], in);
        describe(m, tr->chars[t], target);
        fprintf(out, "t = %d: x_%d = one-hot of %s (index %d), target %s (index %d)\n", t, t,
                in, tr->chars[t - 1], target, tr->chars[t]);
        for (int l = 0; l < s->layers; l++) {
            const CnTraceLayer *w = &tr->layer[l];
            fprintf(out, "  layer %d\n", l);
            for (int g = 0; g < G; g++) {
                const char *name = cn_gate_name(s->cell, g);
                text_line(out, 4, w->a + (size_t)t * G * H + g * H, H, "a_%s", name);
                text_line(out, 4, w->z + (size_t)t * G * H + g * H, H, "%s_%d", name, t);
            }
            if (w->c)
                text_line(out, 4, w->c + (size_t)t * H, H, "c_%d", t);
            if (s->cell != CN_RNN)
                text_line(out, 4, w->h + (size_t)t * H, H, "h_%d", t);
        }
        text_line(out, 2, tr->y + (size_t)t * V, V, "y_%d", t);
        text_line(out, 2, tr->p + (size_t)t * V, V, "p_%d", t);
        text_scalar(out, 2, tr->nll[t], "-ln p_%d[%d]", t, tr->chars[t]);
    }
    fprintf(out, "loss L = (1/T) Σ_t -ln p_t[target_t] = %.6g (T = %d)\n", tr->loss, tr->T);
}

/* "W_hi^T δi_{t+1} + W_hf^T δf_{t+1} + ...": Σ_g W_<x>g^T δg_<step>. */
static void sum_over_gates(FILE *out, CnCell cell, char x, const char *step)
{
    for (int g = 0; g < cn_cell_gates(cell); g++)
        fprintf(out, "%sW_%c%s^T δ%s_%s", g ? " + " : "", x, cn_gate_name(cell, g),
                cn_gate_name(cell, g), step);
}

/* The equations of the backward pass, then its values from t = T down. */
static void text_backward(FILE *out, const CnTrace *tr)
{
    const CnShape *s = &tr->shape;
    int V = s->vocab, H = s->hidden, G = tr->G;
    fputs("\nbackward (δg_t = dL/da_g at step t; every quantity of step T+1 is 0)\n"
          "  dL/dy_t = (p_t - onehot(target_t)) / T\n"
          "  dL/dh_t = (from y_t, or from the layer above) + (from step t+1):\n"
          "    from y_t:             W_hy^T dL/dy_t (top layer)\n", out);
    if (s->layers > 1) {
        fputs("    from the layer above: ", out);
        sum_over_gates(out, s->cell, 'x', "t");
        fputs(" (that layer's W_x and δ)\n", out);
    }
    fputs("    from step t+1:        ", out);
    if (s->cell == CN_GRU)
        fputs("(1 - u_{t+1}) ⊙ dL/dh_{t+1} + W_hr^T δr_{t+1} + W_hu^T δu_{t+1}\n"
              "                          + r_{t+1} ⊙ (W_hn^T δn_{t+1})\n", out);
    else {
        sum_over_gates(out, s->cell, 'h', "{t+1}");
        fputc('\n', out);
    }
    if (s->cell == CN_RNN)
        fputs("  δh_t = dL/dh_t ⊙ (1 - h_t²)\n", out);
    else if (s->cell == CN_GRU)
        fputs("  δn_t = dL/dh_t ⊙ u_t ⊙ (1 - n_t²)\n"
              "  δu_t = dL/dh_t ⊙ (n_t - h_{t-1}) ⊙ u_t ⊙ (1 - u_t)\n"
              "  δr_t = (W_hn^T δn_t) ⊙ h_{t-1} ⊙ r_t ⊙ (1 - r_t)\n", out);
    else
        fprintf(out, "  δo_t = dL/dh_t ⊙ tanh(c_t) ⊙ o_t ⊙ (1 - o_t)\n"
                     "  dL/dc_t = (via h_t) + (from step t+1):\n"
                     "    via h_t:       dL/dh_t ⊙ o_t ⊙ (1 - tanh²(c_t))%s\n"
                     "    from step t+1: dL/dc_{t+1} ⊙ f_{t+1}%s\n"
                     "  δi_t = dL/dc_t ⊙ g_t ⊙ i_t ⊙ (1 - i_t)\n"
                     "  δf_t = dL/dc_t ⊙ c_{t-1} ⊙ f_t ⊙ (1 - f_t)\n"
                     "  δg_t = dL/dc_t ⊙ i_t ⊙ (1 - g_t²)\n",
                s->cell == CN_PEEPHOLE ? " + p_o ⊙ δo_t" : "",
                s->cell == CN_PEEPHOLE ? " + p_i ⊙ δi_{t+1} + p_f ⊙ δf_{t+1}" : "");
    /* the deltas in the order they are computed */
    static const int order[4][4] = {[CN_RNN] = {0}, [CN_LSTM] = {2, 0, 1, 3},
                                    [CN_PEEPHOLE] = {2, 0, 1, 3}, [CN_GRU] = {2, 1, 0}};
    for (int t = tr->T; t >= 1; t--) {
        fprintf(out, "t = %d\n", t);
        text_line(out, 2, tr->dy + (size_t)t * V, V, "dL/dy_%d", t);
        for (int l = s->layers - 1; l >= 0; l--) {
            const CnTraceLayer *w = &tr->layer[l];
            size_t at = (size_t)t * H;
            fprintf(out, "  layer %d\n", l);
            if (l == s->layers - 1)
                text_line(out, 4, w->dh_out + at, H, "dL/dh_%d from y_%d", t, t);
            else
                text_line(out, 4, w->dh_out + at, H, "dL/dh_%d from layer %d", t, l + 1);
            text_line(out, 4, w->dh_next + at, H, "dL/dh_%d from t=%d", t, t + 1);
            text_line(out, 4, w->dh + at, H, "dL/dh_%d", t);
            for (int k = 0; k < G; k++) {
                int g = order[s->cell][k];
                const char *name = cn_gate_name(s->cell, g);
                text_line(out, 4, w->delta + (size_t)t * G * H + g * H, H, "δ%s_%d", name, t);
                if (w->c && g == 2) { /* LSTMs, after δo: dL/dc_t */
                    text_line(out, 4, w->dc_h + at, H, "dL/dc_%d via h_%d", t, t);
                    text_line(out, 4, w->dc_next + at, H, "dL/dc_%d from t=%d", t, t + 1);
                    text_line(out, 4, w->dc + at, H, "dL/dc_%d", t);
                }
            }
        }
    }
}

static void text_gradients(FILE *out, const CnTrace *tr, const Tensor *list, int n)
{
    CnCell cell = tr->shape.cell;
    fputs("\ngradients dL/dW, sums over t = 1..T\n", out);
    for (int g = 0; g < tr->G; g++) {
        const char *x = cn_gate_name(cell, g);
        fprintf(out, "  dL/dW_x%s = Σ_t δ%s_t x_t^T    dL/dW_h%s = Σ_t δ%s_t %s^T    "
                     "dL/db_%s = Σ_t δ%s_t\n", x, x, x, x,
                cell == CN_GRU && g == 2 ? "(r_t ⊙ h_{t-1})" : "h_{t-1}", x, x);
    }
    if (cell == CN_PEEPHOLE)
        fputs("  dL/dp_i = Σ_t δi_t ⊙ c_{t-1}    dL/dp_f = Σ_t δf_t ⊙ c_{t-1}    "
              "dL/dp_o = Σ_t δo_t ⊙ c_t\n", out);
    fputs("  dL/dW_hy = Σ_t dL/dy_t h_t^T    dL/db_y = Σ_t dL/dy_t\n", out);
    for (int k = 0; k < n; k++)
        text_tensor(out, list[k].name, list[k].dw, list[k].rows, list[k].cols);
}

static void write_text(FILE *out, const CnTrace *tr, const CnModel *m, const CnText *text,
                       const Tensor *list, int n)
{
    const CnShape *s = &tr->shape;
    fprintf(out, "charnn trace: %s, %d layer%s x %d hidden, vocabulary %d, text ",
            cn_name_of(cn_cell_names, s->cell), s->layers, s->layers == 1 ? "" : "s", s->hidden,
            s->vocab);
    put_text(out, text);
    fprintf(out, ", T = %d steps\n"
                 "The notation of README's \"The model\": step t = 1..T reads character t "
                 "(x_t, one-hot)\nand predicts character t+1 (its target), from h_0 = 0%s, "
                 "without dropout;\nL = (1/T) Σ_t -ln p_t[target_t]. Vectors print as rows, "
                 "matrices as [outputs, inputs]\n(charnn export's layout).\n\nweights\n",
            tr->T, tr->layer[0].c ? " and c_0 = 0" : "");
    for (int k = 0; k < n; k++)
        text_tensor(out, list[k].name, list[k].w, list[k].rows, list[k].cols);
    text_forward(out, tr, m);
    text_backward(out, tr);
    text_gradients(out, tr, list, n);
}

/* ------------------------------------------------------------------------- */
/* JSON. */

static void json_number(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, "%.17g", x);
    else
        fputs("null", out);
}

static void json_list(FILE *out, const double *v, int n)
{
    fputc('[', out);
    for (int k = 0; k < n; k++) {
        fputs(k ? ", " : "", out);
        json_number(out, v[k]);
    }
    fputc(']', out);
}

/* ,"key": [rows t0..t1], n values of each row of an array with rows of
 * `width` values (a member after the first of an object, indented by
 * indent) */
static void json_rows(FILE *out, int indent, const char *key, const double *m, int t0, int t1,
                      int width, int n)
{
    fprintf(out, ",\n%*s\"%s\": [", indent, "", key);
    for (int t = t0; t <= t1; t++) {
        fprintf(out, "%s\n%*s", t > t0 ? "," : "", indent + 2, "");
        json_list(out, m + (size_t)t * width, n);
    }
    fputc(']', out);
}

/* "name": {"shape": [rows, cols], "data": [...]}, as charnn export writes */
static void json_tensors(FILE *out, const char *key, const Tensor *list, int n, int gradient)
{
    fprintf(out, ",\n \"%s\": {", key);
    for (int k = 0; k < n; k++) {
        const Tensor *t = &list[k];
        fprintf(out, "%s\n  \"%s\": {\"shape\": [%d", k ? "," : "", t->name, t->rows);
        if (t->cols)
            fprintf(out, ", %d", t->cols);
        fputs("], \"data\": ", out);
        json_list(out, gradient ? t->dw : t->w, t->rows * (t->cols ? t->cols : 1));
        fputc('}', out);
    }
    fputs("\n }", out);
}

/* Each gate's block of a (T+2, G*H) array, steps 1..T: "<prefix><g>". */
static void json_gates(FILE *out, const CnTrace *tr, const char *prefix, const double *m)
{
    int H = tr->shape.hidden, G = tr->G;
    for (int g = 0; g < G; g++) {
        char key[16];
        snprintf(key, sizeof key, "%s%s", prefix, cn_gate_name(tr->shape.cell, g));
        json_rows(out, 6, key, m + (size_t)g * H, 1, tr->T, G * H, H);
    }
}

static void write_json(FILE *out, const CnTrace *tr, const CnModel *m, const CnText *text,
                       const Tensor *list, int n)
{
    const CnShape *s = &tr->shape;
    int T = tr->T, H = s->hidden, V = s->vocab;
    fprintf(out, "{\"format\": \"charnn-trace\", \"version\": 1, \"model\": \"%s\", "
                 "\"hidden\": %d, \"layers\": %d,\n \"vocab\": [",
            cn_name_of(cn_cell_names, s->cell), H, s->layers);
    for (int k = 0; k < V; k++) {
        fputs(k ? ", \"" : "\"", out);
        cn_json_char(out, m->vocab.chars[k]);
        fputc('"', out);
    }
    fputs("],\n \"text\": ", out);
    put_text(out, text);
    fprintf(out, ", \"steps\": %d,\n \"inputs\": [", T);
    for (int t = 1; t <= T; t++)
        fprintf(out, "%s%d", t > 1 ? ", " : "", tr->chars[t - 1]);
    fputs("],\n \"targets\": [", out);
    for (int t = 1; t <= T; t++)
        fprintf(out, "%s%d", t > 1 ? ", " : "", tr->chars[t]);
    fputs("],\n \"loss\": ", out);
    json_number(out, tr->loss);
    json_tensors(out, "weights", list, n, 0);
    fputs(",\n \"forward\": {\"layers\": [", out);
    for (int l = 0; l < s->layers; l++) {
        const CnTraceLayer *w = &tr->layer[l];
        fprintf(out, "%s\n    {\"layer\": %d", l ? "," : "", l);
        json_gates(out, tr, "a_", w->a);
        if (s->cell != CN_RNN) /* the rnn's gate is h_t itself */
            json_gates(out, tr, "", w->z);
        if (w->c)
            json_rows(out, 6, "c", w->c, 0, T, H, H);
        json_rows(out, 6, "h", w->h, 0, T, H, H);
        fputc('}', out);
    }
    fputs("]", out);
    json_rows(out, 2, "y", tr->y, 1, T, V, V);
    json_rows(out, 2, "p", tr->p, 1, T, V, V);
    fputs(",\n  \"nll\": ", out);
    json_list(out, tr->nll + 1, T);
    fputs("},\n \"backward\": {\"layers\": [", out);
    for (int l = 0; l < s->layers; l++) {
        const CnTraceLayer *w = &tr->layer[l];
        fprintf(out, "%s\n    {\"layer\": %d", l ? "," : "", l);
        json_rows(out, 6, "dh_out", w->dh_out, 1, T, H, H);
        json_rows(out, 6, "dh_next", w->dh_next, 1, T, H, H);
        json_rows(out, 6, "dh", w->dh, 1, T, H, H);
        if (w->c) {
            json_rows(out, 6, "dc_h", w->dc_h, 1, T, H, H);
            json_rows(out, 6, "dc_next", w->dc_next, 1, T, H, H);
            json_rows(out, 6, "dc", w->dc, 1, T, H, H);
        }
        json_gates(out, tr, "delta_", w->delta);
        fputc('}', out);
    }
    fputc(']', out);
    json_rows(out, 2, "dy", tr->dy, 1, T, V, V);
    fputc('}', out);
    json_tensors(out, "gradients", list, n, 1);
    fputs("\n}\n", out);
}

int cn_trace(FILE *out, const CnModel *model, const char *utf8, size_t n, int json,
             CnError *err)
{
    CnText text;
    if (n == 0) {
        cn_errorf(err, "the text is empty; a trace needs at least 2 characters");
        return -1;
    }
    if (cn_text_wrap(&text, utf8, n, "the text", err) != 0)
        return -1;
    int *chars = NULL, rc = -1;
    if (cn_vocab_covers(&model->vocab, &text, "the text", err) != 0)
        goto done;
    if (text.nchars < 2 || text.nchars > CN_TRACE_MAX_CHARS) {
        cn_errorf(err, "the text has %zu character%s; a trace needs at least 2 (the first "
                  "predicts the second) and at most %d", text.nchars,
                  text.nchars == 1 ? "" : "s", CN_TRACE_MAX_CHARS);
        goto done;
    }
    chars = malloc(text.nchars * sizeof *chars);
    if (!chars) {
        cn_errorf(err, "out of memory for a text of %zu characters", text.nchars);
        goto done;
    }
    size_t at = 0;
    for (size_t k = 0; k < text.nchars; k++)
        chars[k] = cn_text_next_id(&model->vocab, &text, &at);
    CnTrace tr;
    if (cn_trace_run(&tr, model, chars, (int)text.nchars - 1, err) != 0)
        goto done;
    Tensor *list = malloc(MAX_TENSORS * sizeof *list);
    if (!list)
        cn_errorf(err, "out of memory");
    else {
        int count = tensors(&tr, list);
        (json ? write_json : write_text)(out, &tr, model, &text, list, count);
        if (ferror(out) || fflush(out) != 0)
            cn_errorf(err, "cannot write the trace");
        else
            rc = 0;
    }
    free(list);
    cn_trace_release(&tr);
done:
    free(chars);
    cn_text_release(&text);
    return rc;
}
