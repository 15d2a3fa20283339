/* SPDX-License-Identifier: MIT */
/*
 * JSON export of a model, with the tensor names of charnn help files ("Exported
 * tensors"): per layer l, "l<l>.W_x<g>" [H, In], "l<l>.W_h<g>" [H, H] and
 * "l<l>.b_<g>" [H] for each gate g (rnn h; lstm i f o g; gru r u n), the
 * peephole vectors "l<l>.w_ci", "w_cf", "w_co" [H], then "W_hy" [V, H] and
 * "b_y" [V]. Matrices are [outputs, inputs], row-major: the transpose of
 * the internal input-major layout. Floats are printed with 9 significant
 * digits, which round-trip float32 exactly. Version 2; version 1 named
 * the peephole vectors p_i, p_f, p_o, as trace names the probabilities
 * p_t.
 */
#include "core.h"

void cn_json_char(FILE *out, uint32_t cp)
{
    switch (cp) {
    case '"': fputs("\\\"", out); return;
    case '\\': fputs("\\\\", out); return;
    case '\n': fputs("\\n", out); return;
    case '\r': fputs("\\r", out); return;
    case '\t': fputs("\\t", out); return;
    default: break;
    }
    if (cp < 0x20) {
        fprintf(out, "\\u%04x", (unsigned)cp);
        return;
    }
    char utf8[4];
    fwrite(utf8, 1, (size_t)cn_utf8_encode(cp, utf8), out);
}

/* Writes "name": {"shape": [rows, cols], "data": [...]} for the matrix
 * whose element (r, c) is src[c * ld + r] (a column block of an
 * input-major matrix); cols = 0 writes a vector of rows elements. */
static void tensor(FILE *out, const char *prefix, const char *name, const CnReal *src,
                   size_t ld, int rows, int cols, int *first)
{
    fprintf(out, "%s\n  \"%s%s\": {\"shape\": [%d", *first ? "" : ",", prefix, name, rows);
    if (cols)
        fprintf(out, ", %d", cols);
    fputs("], \"data\": [", out);
    int n = 0;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < (cols ? cols : 1); c++, n++) {
            fputs(n ? (n % 8 ? ", " : ",\n    ") : "", out);
            fprintf(out, "%.9g", (double)src[(size_t)c * ld + r]);
        }
    }
    fputs("]}", out);
    *first = 0;
}

int cn_export_json(FILE *out, const CnModel *m)
{
    const CnShape *s = &m->shape;
    int V = s->vocab, H = s->hidden, G = cn_cell_gates(s->cell);
    size_t GH = (size_t)G * H;
    fprintf(out, "{\"format\": \"charnn\", \"version\": 2, \"model\": \"%s\", \"hidden\": %d, "
                 "\"layers\": %d,\n \"vocab\": [", cn_name_of(cn_cell_names, s->cell), H, s->layers);
    for (int k = 0; k < V; k++) {
        fputs(k ? ", \"" : "\"", out);
        cn_json_char(out, m->vocab.chars[k]);
        fputc('"', out);
    }
    fputs("],\n \"tensors\": {", out);
    int first = 1;
    for (int l = 0; l < s->layers; l++) {
        const CnLayerView *w = &m->w.layer[l];
        int in = l == 0 ? V : H;
        char prefix[16], name[16];
        snprintf(prefix, sizeof prefix, "l%d.", l);
        for (int gi = 0; gi < G; gi++) {
            const char *g = cn_gate_name(s->cell, gi);
            size_t col = (size_t)gi * H;
            snprintf(name, sizeof name, "W_x%s", g);
            tensor(out, prefix, name, w->Wx + col, GH, H, in, &first);
            snprintf(name, sizeof name, "W_h%s", g);
            tensor(out, prefix, name, w->Wh + col, GH, H, H, &first);
            snprintf(name, sizeof name, "b_%s", g);
            tensor(out, prefix, name, w->b + col, 1, H, 0, &first);
        }
        if (w->peep) {
            static const char *const peep_names[3] = {"w_ci", "w_cf", "w_co"};
            for (int k = 0; k < 3; k++)
                tensor(out, prefix, peep_names[k], w->peep + (size_t)k * H, 1, H, 0, &first);
        }
    }
    tensor(out, "", "W_hy", m->w.Wy, (size_t)V, V, H, &first);
    tensor(out, "", "b_y", m->w.by, 1, V, 0, &first);
    fputs("\n }\n}\n", out);
    return ferror(out) || fflush(out) != 0 ? -1 : 0;
}
