/* SPDX-License-Identifier: MIT */
/*
 * cn_trace (charnn.h): a trace (src/core/trace.c) printed as readable text,
 * each section headed by its equations in SPEC's notation, with the course
 * notes' symbols mapped to them in the header, or as one JSON object with
 * every number at full precision (schema in charnn help commands, "charnn trace"). On
 * request, after the whole loss's gradients, the terms of single steps'
 * losses J_t (cn_trace_backward).
 */
#include "trace.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* x, with -0 as 0: the sign of a zero means nothing to a reader. */
static double shown(double x)
{
    return x == 0 ? 0.0 : x;
}

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
 * W_x<gate>, W_h<gate>, b_<gate> for each gate, then w_ci, w_cf, w_co;
 * W_hy, b_y. Without biases (opt.no_bias) the b's are not there. */
static int tensors(const CnTrace *tr, Tensor *list)
{
    int H = tr->shape.hidden, n = 0, bias = !tr->opt.no_bias;
    for (int l = 0; l < tr->shape.layers; l++) {
        const CnTraceLayer *w = &tr->layer[l];
        for (int g = 0; g < tr->G; g++) {
            const char *gate = cn_gate_name(tr->shape.cell, g);
            size_t x = (size_t)g * H * w->in, h = (size_t)g * H * H, b = (size_t)g * H;
            add_tensor(list, &n, w->Wx + x, w->dWx + x, H, w->in, "l%d.W_x%s", l, gate);
            add_tensor(list, &n, w->Wh + h, w->dWh + h, H, H, "l%d.W_h%s", l, gate);
            if (bias)
                add_tensor(list, &n, w->b + b, w->db + b, H, 0, "l%d.b_%s", l, gate);
        }
        for (int k = 0; w->p && k < 3; k++)
            add_tensor(list, &n, w->p + (size_t)k * H, w->dp + (size_t)k * H, H, 0,
                       "l%d.w_c%c", l, "ifo"[k]);
    }
    add_tensor(list, &n, tr->Wy, tr->dWy, tr->shape.vocab, H, "W_hy");
    if (bias)
        add_tensor(list, &n, tr->by, tr->dby, tr->shape.vocab, 0, "b_y");
    return n;
}

/* ------------------------------------------------------------------------- */
/* Text. */

enum { PER_LINE = 8, COLUMN = 26 };

/* Columns a string takes on a terminal: one per character, none for the
 * combining marks U+0300-U+036F (the tilde of c̃, h̃, m̃). */
static int width(const char *s)
{
    int n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        n += (*c & 0xc0) != 0x80 && !(*c == 0xcc || (*c == 0xcd && c[1] < 0xb0));
    return n;
}

/* "[ v0 v1 ... ]", PER_LINE numbers a line, continuation lines indented by
 * indent columns. */
static void text_vector(FILE *out, const double *v, int n, int indent)
{
    fputc('[', out);
    for (int k = 0; k < n; k++) {
        if (k && k % PER_LINE == 0)
            fprintf(out, "\n%*s", indent + 1, "");
        fprintf(out, " %11.5g", shown(v[k]));
    }
    fputs(" ]\n", out);
}

/* "<indent><label> = ", the label formatted and padded so that "=" is at
 * COLUMN; returns the column after it. */
static int text_label(FILE *out, int indent, const char *fmt, va_list ap)
{
    char label[96];
    vsnprintf(label, sizeof label, fmt, ap);
    int chars = indent + width(label);
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
    fprintf(out, "%.6g\n", shown(x));
}

/* A matrix of rows x cols, row by row, under its heading. */
static void text_matrix(FILE *out, int indent, const double *w, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        fprintf(out, "%*s", indent, "");
        text_vector(out, w + (size_t)r * cols, cols, indent);
    }
}

/* A weight or gradient: a vector on one line, a matrix row by row. */
static void text_tensor(FILE *out, const char *name, const double *w, int rows, int cols)
{
    if (!cols) {
        text_line(out, 2, w, rows, "%s", name);
        return;
    }
    fprintf(out, "  %s [%d x %d]\n", name, rows, cols);
    text_matrix(out, 4, w, rows, cols);
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

/* " + b_<gate>", or nothing without biases. */
static const char *bias_term(const CnTrace *tr, const char *gate)
{
    static char buf[16];
    if (tr->opt.no_bias)
        return "";
    snprintf(buf, sizeof buf, " + b_%s", gate);
    return buf;
}

/* One row of the notation table: the notes' symbol, charnn's, a remark,
 * in columns whatever the symbols' combining marks. */
static void notation_row(FILE *out, const char *notes, const char *ours, const char *about)
{
    int a = width(notes), b = width(ours);
    fprintf(out, "  %s%*s  %s", notes, a < 16 ? 16 - a : 0, "", ours);
    if (about[0])
        fprintf(out, "%*s  %s", b < 10 ? 10 - b : 0, "", about);
    fputc('\n', out);
}

/* The header: what the trace is of, the loss, the vocabulary's order, and
 * the notation table of this cell (charnn help model has every cell's):
 * the course notes' symbols, charnn's, and where the two differ. */
static void text_header(FILE *out, const CnTrace *tr, const CnModel *m, const CnText *text)
{
    const CnShape *s = &tr->shape;
    CnCell cell = s->cell;
    int lstm = cell == CN_LSTM || cell == CN_PEEPHOLE, bias = !tr->opt.no_bias;
    fprintf(out, "charnn trace: %s, %d layer%s x %d hidden, vocabulary %d, text ",
            cn_name_of(cn_cell_names, cell), s->layers, s->layers == 1 ? "" : "s", s->hidden,
            s->vocab);
    put_text(out, text);
    fprintf(out, ", T = %d steps\n"
                 "Step t = 1..T reads character t (x_t, one-hot) and predicts character t+1 "
                 "(its target),\nfrom h_0 = 0%s, without dropout. ", tr->T,
            lstm ? " and c_0 = 0" : "");
    if (tr->opt.sum)
        fputs("The loss is the sum L = Σ_t J_t of the steps'\nlosses J_t = -ln p_t[target_t] "
              "(--loss sum; training minimizes the mean, L / T).\n", out);
    else
        fputs("The loss is the mean L = (1/T) Σ_t J_t of the steps'\nlosses J_t = -ln "
              "p_t[target_t], which training minimizes (--loss sum: their sum).\n", out);
    if (tr->opt.linear || tr->opt.no_bias)
        fprintf(out, "A textbook setup, not a model charnn trains:%s%s.\n",
                tr->opt.linear ? " linear (h_t = a_h, no tanh)" : "",
                tr->opt.no_bias ? (tr->opt.linear ? ", no biases" : " no biases") : "");
    fputs("Vectors print as rows, matrices as [outputs, inputs] (charnn export's layout).\n"
          "\nvocabulary, sorted by code point: a character's one-hot index is its rank, not "
          "the order\nin which it first appears in the text\n", out);
    for (int k = 0; k < s->vocab; k++) {
        char c[16];
        describe(m, k, c);
        fprintf(out, "%s%d %s", k && k % 10 == 0 ? "\n  " : "  ", k, c);
    }
    fputs("\n\nnotation: the course notes' symbol, charnn's, and where they differ "
          "(charnn help model)\n", out);
    if (cell == CN_RNN) {
        notation_row(out, "W_hx", "W_xh", "input weights [H x V]: one matrix, named input first");
        notation_row(out, "W_hh", "W_hh", "recurrent weights [H x H]");
        if (bias)
            notation_row(out, "b_h", "b_h", "");
    } else if (lstm) {
        notation_row(out, "u_t", "i_t", "input gate");
        notation_row(out, "f_t", "f_t", "forget gate");
        notation_row(out, "o_t", "o_t", "output gate (the output layer's o_t is y_t)");
        notation_row(out, "c̃_t, D_t, m̃_t", "g_t",
                     "candidate, tanh(a_g) (one note writes σ; charnn and the others tanh)");
        notation_row(out, "c_t", "c_t", "cell state");
        if (cell == CN_PEEPHOLE)
            fputs("  peephole: the notes' W_f·[c_{t-1}, h_{t-1}, x_t] multiplies c_{t-1} by a "
                  "full matrix;\n  charnn's W_xf x_t + W_hf h_{t-1} + w_cf ⊙ c_{t-1} by a "
                  "vector, one weight per unit\n  (a diagonal matrix): w_ci, w_cf, w_co; "
                  "likewise i, and o with c_t\n", out);
    } else {
        notation_row(out, "z_t", "u_t", "update gate: h_t = u_t ⊙ n_t + (1 - u_t) ⊙ h_{t-1} in "
                                        "both; PyTorch's");
        fputs("                                GRU keeps h_{t-1} by its z_t: its z_t is 1 - u_t\n",
              out);
        notation_row(out, "r_t", "r_t", "reset gate, applied to h_{t-1} before W_hn");
        notation_row(out, "h̃_t, H_t", "n_t", "candidate");
    }
    notation_row(out, "o_t", "y_t", bias ? "output, y_t = W_hy h_t + b_y" : "output, y_t = W_hy h_t");
    notation_row(out, "W_yh, W_qh", "W_hy", "output weights [V x H]");
    if (bias)
        notation_row(out, "b_y, b_q", "b_y", "");
    notation_row(out, "J_t", "J_t", "step t's loss, -ln p_t[target_t]; p_t = softmax(y_t)");
    notation_row(out, "J = Σ_t J_t", "L", tr->opt.sum ? "(--loss sum)" : "with --loss sum; "
                                                                        "here L = J / T");
    notation_row(out, "g_ot = ∂J_t/∂o_t", "dJ_t/dy_t", "= p_t - onehot(target_t) "
                                                        "(--terms t prints it)");
}

/* "  <left>   <right>": an equation and its activation, the right ones in
 * a column. */
static void eq_line(FILE *out, const char *left, const char *right)
{
    int w = width(left);
    fprintf(out, "  %s%*s%s\n", left, right[0] ? (w < 56 ? 56 - w : 1) : 0, "", right);
}

/* The equations of the forward pass, then its values step by step. */
static void text_forward(FILE *out, const CnTrace *tr, const CnModel *m)
{
    const CnShape *s = &tr->shape;
    CnCell cell = s->cell;
    int V = s->vocab, H = s->hidden, G = tr->G;
    char left[128], right[32];
    fputs("\nforward\n", out);
    if (cell == CN_RNN) {
        snprintf(left, sizeof left, "a_h = W_xh x_t + W_hh h_{t-1}%s", bias_term(tr, "h"));
        eq_line(out, left, tr->opt.linear ? "h_t = a_h (linear)" : "h_t = tanh(a_h)");
    } else if (cell == CN_GRU) {
        for (int g = 0; g < 3; g++) {
            const char *q = cn_gate_name(cell, g);
            snprintf(left, sizeof left, "a_%s = W_x%s x_t + W_h%s %s%s", q, q, q,
                     g == 2 ? "(r_t ⊙ h_{t-1})" : "h_{t-1}", bias_term(tr, q));
            snprintf(right, sizeof right, g == 2 ? "%s_t = tanh(a_%s)" : "%s_t = σ(a_%s)", q, q);
            eq_line(out, left, right);
        }
        eq_line(out, "h_t = u_t ⊙ n_t + (1 - u_t) ⊙ h_{t-1}", "");
    } else {
        static const char *const peep_term[4] = {" + w_ci ⊙ c_{t-1}", " + w_cf ⊙ c_{t-1}",
                                                 " + w_co ⊙ c_t", ""};
        for (int g = 0; g < 4; g++) {
            const char *q = cn_gate_name(cell, g);
            snprintf(left, sizeof left, "a_%s = W_x%s x_t + W_h%s h_{t-1}%s%s", q, q, q,
                     cell == CN_PEEPHOLE ? peep_term[g] : "", bias_term(tr, q));
            snprintf(right, sizeof right, g == 3 ? "%s_t = tanh(a_%s)" : "%s_t = σ(a_%s)", q, q);
            eq_line(out, left, right);
        }
        eq_line(out, "c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t", "h_t = o_t ⊙ tanh(c_t)");
    }
    if (s->layers > 1)
        fputs("  (layer 0's x_t is one-hot; layer l > 0's x_t is h_t of layer l-1)\n", out);
    snprintf(left, sizeof left, "y_t = W_hy h_t%s (the top layer's h_t)",
             tr->opt.no_bias ? "" : " + b_y");
    eq_line(out, left, "p_t = softmax(y_t)");
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
                const char *name = cn_gate_name(cell, g);
                text_line(out, 4, w->a + (size_t)t * G * H + g * H, H, "a_%s", name);
                text_line(out, 4, w->z + (size_t)t * G * H + g * H, H, "%s_%d", name, t);
            }
            if (w->c)
                text_line(out, 4, w->c + (size_t)t * H, H, "c_%d", t);
            if (cell != CN_RNN)
                text_line(out, 4, w->h + (size_t)t * H, H, "h_%d", t);
        }
        text_line(out, 2, tr->y + (size_t)t * V, V, "y_%d", t);
        text_line(out, 2, tr->p + (size_t)t * V, V, "p_%d", t);
        text_scalar(out, 2, tr->nll[t], "J_%d = -ln p_%d[%d]", t, t, tr->chars[t]);
    }
    if (tr->opt.sum)
        fprintf(out, "loss L = Σ_t J_t = %.6g (T = %d)\n", shown(tr->loss), tr->T);
    else
        fprintf(out, "loss L = (1/T) Σ_t J_t = %.6g (T = %d)\n", shown(tr->loss), tr->T);
}

/* "W_hi^T δi_{t+1} + W_hf^T δf_{t+1} + ...": the sum over the gates of
 * W_<x><gate>^T δ<gate>_<step>. */
static void sum_over_gates(FILE *out, CnCell cell, char x, const char *step)
{
    for (int g = 0; g < cn_cell_gates(cell); g++)
        fprintf(out, "%sW_%c%s^T δ%s_%s", g ? " + " : "", x, cn_gate_name(cell, g),
                cn_gate_name(cell, g), step);
}

/* "δi_t = dL/da_i at step t, and so for f, o, g": what a delta is, gate by
 * gate named (no letter stands for "any gate": g is the LSTM's candidate). */
static void delta_meaning(FILE *out, CnCell cell, const char *J, const char *t)
{
    fprintf(out, "δ%s_%s = d%s/da_%s at step %s", cn_gate_name(cell, 0), t, J,
            cn_gate_name(cell, 0), t);
    for (int g = 1; g < cn_cell_gates(cell); g++)
        fprintf(out, "%s%s", g == 1 ? ", and so for " : ", ", cn_gate_name(cell, g));
}

/* s with the step t renamed idx: a 't' after '_' or '{' that no letter
 * follows (h_t, h_{t-1}, Σ_t; not tanh) is idx. */
static void put_step(FILE *out, const char *s, char idx)
{
    for (const char *c = s; *c; c++) {
        int step = *c == 't' && c > s && (c[-1] == '_' || c[-1] == '{') &&
                   !((c[1] | 32) >= 'a' && (c[1] | 32) <= 'z');
        fputc(step ? idx : *c, out);
    }
}

/* The backward equations of a cell, of loss J ("L" or "J_3"), at step idx. */
static void backward_equations(FILE *out, const CnTrace *tr, const char *J, char idx)
{
    CnCell cell = tr->shape.cell;
    char eq[1024];
    if (cell == CN_RNN) {
        if (tr->opt.linear)
            snprintf(eq, sizeof eq, "  δh_t = d%s/dh_t (linear: h_t = a_h)\n", J);
        else
            snprintf(eq, sizeof eq, "  δh_t = d%s/dh_t ⊙ (1 - h_t²)\n", J);
    } else if (cell == CN_GRU)
        snprintf(eq, sizeof eq, "  δn_t = d%s/dh_t ⊙ u_t ⊙ (1 - n_t²)\n"
                                "  δu_t = d%s/dh_t ⊙ (n_t - h_{t-1}) ⊙ u_t ⊙ (1 - u_t)\n"
                                "  δr_t = (W_hn^T δn_t) ⊙ h_{t-1} ⊙ r_t ⊙ (1 - r_t)\n", J, J);
    else
        snprintf(eq, sizeof eq,
                 "  δo_t = d%s/dh_t ⊙ tanh(c_t) ⊙ o_t ⊙ (1 - o_t)\n"
                 "  d%s/dc_t = (via h_t) + (from step t+1):\n"
                 "    via h_t:       d%s/dh_t ⊙ o_t ⊙ (1 - tanh²(c_t))%s\n"
                 "    from step t+1: d%s/dc_{t+1} ⊙ f_{t+1}%s\n"
                 "  δi_t = d%s/dc_t ⊙ g_t ⊙ i_t ⊙ (1 - i_t)\n"
                 "  δf_t = d%s/dc_t ⊙ c_{t-1} ⊙ f_t ⊙ (1 - f_t)\n"
                 "  δg_t = d%s/dc_t ⊙ i_t ⊙ (1 - g_t²)\n",
                 J, J, J, cell == CN_PEEPHOLE ? " + w_co ⊙ δo_t" : "", J,
                 cell == CN_PEEPHOLE ? " + w_ci ⊙ δi_{t+1} + w_cf ⊙ δf_{t+1}" : "", J, J, J);
    put_step(out, eq, idx);
}

/* the deltas in the order they are computed */
static const int delta_order[4][4] = {[CN_RNN] = {0}, [CN_LSTM] = {2, 0, 1, 3},
                                      [CN_PEEPHOLE] = {2, 0, 1, 3}, [CN_GRU] = {2, 1, 0}};

/* The equations of the backward pass, then its values from t = T down. */
static void text_backward(FILE *out, const CnTrace *tr)
{
    const CnShape *s = &tr->shape;
    int V = s->vocab, H = s->hidden, G = tr->G;
    fputs("\nbackward (", out);
    delta_meaning(out, s->cell, "L", "t");
    fprintf(out, "; every quantity of step T+1 is 0)\n"
                 "  dL/dy_t = %s\n"
                 "  dL/dh_t = (from y_t, or from the layer above) + (from step t+1):\n"
                 "    from y_t:             W_hy^T dL/dy_t (top layer)\n",
            tr->opt.sum ? "p_t - onehot(target_t)" : "(p_t - onehot(target_t)) / T");
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
    backward_equations(out, tr, "L", 't');
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
                int g = delta_order[s->cell][k];
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

/* The gradients' equations, of loss J, sums over the steps idx of `over`. */
static void gradient_equations(FILE *out, const CnTrace *tr, const char *J, char idx,
                               const char *over)
{
    CnCell cell = tr->shape.cell;
    char eq[256];
    for (int g = 0; g < tr->G; g++) {
        const char *x = cn_gate_name(cell, g);
        snprintf(eq, sizeof eq, "  d%s/dW_x%s = Σ_t δ%s_t x_t^T    d%s/dW_h%s = Σ_t δ%s_t %s^T",
                 J, x, x, J, x, x, cell == CN_GRU && g == 2 ? "(r_t ⊙ h_{t-1})" : "h_{t-1}");
        put_step(out, eq, idx);
        if (!tr->opt.no_bias) {
            snprintf(eq, sizeof eq, "    d%s/db_%s = Σ_t δ%s_t", J, x, x);
            put_step(out, eq, idx);
        }
        fputc('\n', out);
    }
    if (cell == CN_PEEPHOLE) {
        snprintf(eq, sizeof eq, "  d%s/dw_ci = Σ_t δi_t ⊙ c_{t-1}    d%s/dw_cf = Σ_t δf_t ⊙ "
                                "c_{t-1}    d%s/dw_co = Σ_t δo_t ⊙ c_t\n", J, J, J);
        put_step(out, eq, idx);
    }
    snprintf(eq, sizeof eq, "  d%s/dW_hy = Σ_t d%s/dy_t h_t^T", J, J);
    put_step(out, eq, idx);
    if (!tr->opt.no_bias) {
        snprintf(eq, sizeof eq, "    d%s/db_y = Σ_t d%s/dy_t", J, J);
        put_step(out, eq, idx);
    }
    fprintf(out, "\n  (the sums over %s)\n", over);
}

static void text_gradients(FILE *out, const CnTrace *tr, const Tensor *list, int n)
{
    fputs("\ngradients dL/dW, sums over t = 1..T\n", out);
    gradient_equations(out, tr, "L", 't', "t = 1..T");
    for (int k = 0; k < n; k++)
        text_tensor(out, list[k].name, list[k].dw, list[k].rows, list[k].cols);
}

/* J_t's own terms, after cn_trace_backward(tr, t): dJ_t/dy_t, then per
 * layer from the top, for i = t down to 1, dJ_t/dh_i (and dJ_t/dc_i) and
 * the deltas; the rnn's dJ_t/dW_hh term by term; every dJ_t/dW. */
static void text_terms(FILE *out, const CnTrace *tr, const Tensor *list, int n)
{
    const CnShape *s = &tr->shape;
    int t = tr->only, V = s->vocab, H = s->hidden, G = tr->G;
    char J[16];
    snprintf(J, sizeof J, "J_%d", t);
    fprintf(out, "\nterms of J_%d = -ln p_%d[target_%d] alone: the backward pass of J_%d, with "
                 "dJ_%d/dy_s = 0 for s ≠ %d\n(%s), for i = %d down to 1:\n", t, t, t, t, t, t,
            tr->opt.sum ? "L = Σ_t J_t, so dL/dW = Σ_t dJ_t/dW"
                        : "L = (1/T) Σ_t J_t, so dL/dW = (1/T) Σ_t dJ_t/dW", t);
    fprintf(out, "  dJ_%d/dy_%d = p_%d - onehot(target_%d), the notes' g_o%d; dJ_%d/dy_i = 0 "
                 "for i < %d\n"
                 "  dJ_%d/dh_i as dL/dh_t above: from y_i (W_hy^T dJ_%d/dy_i: top layer, i = %d "
                 "alone) or the layer above,\n  plus from step i+1\n", t, t, t, t, t, t, t,
            t, t, t);
    if (s->cell == CN_RNN && s->layers == 1) {
        if (tr->opt.linear)
            fprintf(out, "  linear: dJ_%d/dh_i = (W_hh^T)^(%d-i) W_hy^T dJ_%d/dy_%d, printed as a "
                         "row: the notes'\n  g_o%d · W_yh · W_hh^(%d-i)\n", t, t, t, t, t, t);
        else
            fprintf(out, "  dJ_%d/dh_i = W_hh^T δh_{i+1} for i < %d\n", t, t);
    }
    backward_equations(out, tr, J, 'i');
    text_line(out, 2, tr->dy + (size_t)t * V, V, "dJ_%d/dy_%d", t, t);
    for (int l = s->layers - 1; l >= 0; l--) {
        const CnTraceLayer *w = &tr->layer[l];
        fprintf(out, "  layer %d\n", l);
        for (int i = t; i >= 1; i--) {
            size_t at = (size_t)i * H;
            text_line(out, 4, w->dh + at, H, "dJ_%d/dh_%d", t, i);
            for (int k = 0; k < G; k++) {
                int g = delta_order[s->cell][k];
                if (s->cell == CN_RNN && tr->opt.linear)
                    break; /* δh_i is dJ_t/dh_i */
                text_line(out, 4, w->delta + (size_t)i * G * H + g * H, H, "δ%s_%d",
                          cn_gate_name(s->cell, g), i);
                if (w->c && g == 2)
                    text_line(out, 4, w->dc + at, H, "dJ_%d/dc_%d", t, i);
            }
        }
    }
    fprintf(out, "  dJ_%d/dW, sums over i = 1..%d:\n", t, t);
    char over[32];
    snprintf(over, sizeof over, t == 1 ? "i = 1" : "i = 1..%d", t);
    gradient_equations(out, tr, J, 'i', over);
    if (s->cell == CN_RNN) {
        double *term = malloc((size_t)H * H * sizeof *term);
        for (int l = s->layers - 1; term && l >= 0; l--) {
            const CnTraceLayer *w = &tr->layer[l];
            fprintf(out, "  l%d.W_hh: dJ_%d/dW_hh term by term, δh_i h_{i-1}^T (h_0 = 0)\n", l,
                    t);
            for (int i = t; i >= 1; i--) {
                for (int j = 0; j < H; j++)
                    for (int k = 0; k < H; k++)
                        term[j * H + k] = w->delta[(size_t)i * H + j] * w->h[(size_t)(i - 1) * H + k];
                fprintf(out, "    i = %d [%d x %d]\n", i, H, H);
                text_matrix(out, 6, term, H, H);
            }
        }
        free(term);
    }
    fprintf(out, "  dJ_%d/dW of every weight\n", t);
    for (int k = 0; k < n; k++)
        text_tensor(out, list[k].name, list[k].dw, list[k].rows, list[k].cols);
}

/* The terms asked for (opt.terms: a step, or -1 for every step), each
 * after the backward pass of its J_t alone. */
static int terms_from(const CnTrace *tr)
{
    return tr->opt.terms < 0 ? 1 : tr->opt.terms;
}
static int terms_to(const CnTrace *tr)
{
    return tr->opt.terms < 0 ? tr->T : tr->opt.terms;
}

static void write_text(FILE *out, CnTrace *tr, const CnModel *m, const CnText *text,
                       const Tensor *list, int n)
{
    text_header(out, tr, m, text);
    fputs("\nweights\n", out);
    for (int k = 0; k < n; k++)
        text_tensor(out, list[k].name, list[k].w, list[k].rows, list[k].cols);
    text_forward(out, tr, m);
    text_backward(out, tr);
    text_gradients(out, tr, list, n);
    for (int t = terms_from(tr); tr->opt.terms && t <= terms_to(tr); t++) {
        cn_trace_backward(tr, t);
        text_terms(out, tr, list, n);
    }
}

/* ------------------------------------------------------------------------- */
/* JSON. */

static void json_number(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, "%.17g", shown(x));
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
                      int stride, int n)
{
    fprintf(out, ",\n%*s\"%s\": [", indent, "", key);
    for (int t = t0; t <= t1; t++) {
        fprintf(out, "%s\n%*s", t > t0 ? "," : "", indent + 2, "");
        json_list(out, m + (size_t)t * stride, n);
    }
    fputc(']', out);
}

/* "name": {"shape": [rows, cols], "data": [...]}, as charnn export writes */
static void json_tensors(FILE *out, int indent, const char *key, const Tensor *list, int n,
                         int gradient)
{
    fprintf(out, ",\n%*s\"%s\": {", indent, "", key);
    for (int k = 0; k < n; k++) {
        const Tensor *t = &list[k];
        fprintf(out, "%s\n%*s\"%s\": {\"shape\": [%d", k ? "," : "", indent + 1, "", t->name,
                t->rows);
        if (t->cols)
            fprintf(out, ", %d", t->cols);
        fputs("], \"data\": ", out);
        json_list(out, gradient ? t->dw : t->w, t->rows * (t->cols ? t->cols : 1));
        fputc('}', out);
    }
    fprintf(out, "\n%*s}", indent, "");
}

/* Each gate's block of a (T+2, G*H) array, steps t0..t1: "<prefix><gate>". */
static void json_gates(FILE *out, const CnTrace *tr, int indent, const char *prefix,
                       const double *m, int t0, int t1)
{
    int H = tr->shape.hidden, G = tr->G;
    for (int g = 0; g < G; g++) {
        char key[16];
        snprintf(key, sizeof key, "%s%s", prefix, cn_gate_name(tr->shape.cell, g));
        json_rows(out, indent, key, m + (size_t)g * H, t0, t1, G * H, H);
    }
}

/* The backward arrays of every layer, steps 1..t1 (T, or J_t's t). */
static void json_backward_layers(FILE *out, const CnTrace *tr, int indent, int t1)
{
    int H = tr->shape.hidden;
    for (int l = 0; l < tr->shape.layers; l++) {
        const CnTraceLayer *w = &tr->layer[l];
        fprintf(out, "%s\n%*s{\"layer\": %d", l ? "," : "", indent, "", l);
        json_rows(out, indent + 2, "dh_out", w->dh_out, 1, t1, H, H);
        json_rows(out, indent + 2, "dh_next", w->dh_next, 1, t1, H, H);
        json_rows(out, indent + 2, "dh", w->dh, 1, t1, H, H);
        if (w->c) {
            json_rows(out, indent + 2, "dc_h", w->dc_h, 1, t1, H, H);
            json_rows(out, indent + 2, "dc_next", w->dc_next, 1, t1, H, H);
            json_rows(out, indent + 2, "dc", w->dc, 1, t1, H, H);
        }
        json_gates(out, tr, indent + 2, "delta_", w->delta, 1, t1);
        if (tr->only && tr->shape.cell == CN_RNN) { /* dJ_t/dW_hh term by term */
            fprintf(out, ",\n%*s\"dW_hh_terms\": [", indent + 2, "");
            for (int i = 1; i <= t1; i++) {
                fputs(i > 1 ? ",\n" : "\n", out);
                fprintf(out, "%*s[", indent + 4, "");
                for (int j = 0; j < H; j++) {
                    fputs(j ? ", [" : "[", out);
                    for (int k = 0; k < H; k++) {
                        fputs(k ? ", " : "", out);
                        json_number(out, w->delta[(size_t)i * H + j] * w->h[(size_t)(i - 1) * H + k]);
                    }
                    fputc(']', out);
                }
                fputc(']', out);
            }
            fputc(']', out);
        }
        fputc('}', out);
    }
}

static void write_json(FILE *out, CnTrace *tr, const CnModel *m, const CnText *text,
                       const Tensor *list, int n)
{
    const CnShape *s = &tr->shape;
    int T = tr->T, H = s->hidden, V = s->vocab;
    fprintf(out, "{\"format\": \"charnn-trace\", \"version\": 2, \"model\": \"%s\", "
                 "\"hidden\": %d, \"layers\": %d,\n \"loss_form\": \"%s\", \"activation\": "
                 "\"%s\", \"biases\": %s,\n \"vocab\": [",
            cn_name_of(cn_cell_names, s->cell), H, s->layers, tr->opt.sum ? "sum" : "mean",
            tr->opt.linear ? "linear" : "tanh", tr->opt.no_bias ? "false" : "true");
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
    json_tensors(out, 1, "weights", list, n, 0);
    fputs(",\n \"forward\": {\"layers\": [", out);
    for (int l = 0; l < s->layers; l++) {
        const CnTraceLayer *w = &tr->layer[l];
        fprintf(out, "%s\n    {\"layer\": %d", l ? "," : "", l);
        json_gates(out, tr, 6, "a_", w->a, 1, T);
        if (s->cell != CN_RNN) /* the rnn's gate is h_t itself */
            json_gates(out, tr, 6, "", w->z, 1, T);
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
    json_backward_layers(out, tr, 4, T);
    fputc(']', out);
    json_rows(out, 2, "dy", tr->dy, 1, T, V, V);
    fputc('}', out);
    json_tensors(out, 1, "gradients", list, n, 1);
    fputs(",\n \"terms\": [", out);
    for (int t = terms_from(tr); tr->opt.terms && t <= terms_to(tr); t++) {
        cn_trace_backward(tr, t);
        fprintf(out, "%s\n  {\"t\": %d, \"nll\": ", t > terms_from(tr) ? "," : "", t);
        json_number(out, tr->nll[t]);
        fputs(", \"dy\": ", out);
        json_list(out, tr->dy + (size_t)t * V, V);
        fputs(",\n   \"layers\": [", out);
        json_backward_layers(out, tr, 4, t);
        fputc(']', out);
        json_tensors(out, 3, "gradients", list, n, 1);
        fputc('}', out);
    }
    fputs("]\n}\n", out);
}

int cn_trace_with(FILE *out, const CnModel *model, const char *utf8, size_t n,
                  const CnTraceOptions *opt, CnError *err)
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
    if (opt->terms < -1 || opt->terms > (int)text.nchars - 1) {
        cn_errorf(err, "the terms of step %d were asked for; the text's steps are 1 to %zu",
                  opt->terms, text.nchars - 1);
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
    if (cn_trace_run(&tr, model, chars, (int)text.nchars - 1, opt, err) != 0)
        goto done;
    Tensor *list = malloc(MAX_TENSORS * sizeof *list);
    if (!list)
        cn_errorf(err, "out of memory");
    else {
        int count = tensors(&tr, list);
        (opt->json ? write_json : write_text)(out, &tr, model, &text, list, count);
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

int cn_trace(FILE *out, const CnModel *model, const char *utf8, size_t n, int json,
             CnError *err)
{
    CnTraceOptions opt = {.json = json};
    return cn_trace_with(out, model, utf8, n, &opt, err);
}
