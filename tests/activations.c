/* SPDX-License-Identifier: MIT */
/*
 * The library's own activations, for tests/test_viz.sh to hold the page of
 * charnn viz against: one value per line for each of the first N
 * characters of FILE, as viz shows them (the quantity after reading the
 * character; c as tanh c), from cn_score through the public interface,
 * run over those characters and one more.
 *   usage: activations CKPT FILE N LAYER QUANTITY UNIT
 * QUANTITY is h, c or a gate's name (cn_gate_name).
 */
#include "charnn.h"
#include "charnn_tools.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t n;
    int layer, unit, gate, H; /* gate: -1 h, -2 c */
} Want;

static int print_step(void *ctx, const CnStep *st)
{
    const Want *w = ctx;
    double v = w->gate >= 0   ? st->gates[w->layer][(size_t)w->gate * w->H + w->unit]
               : w->gate == -1 ? st->h[w->layer][w->unit]
                               : tanh(st->c[w->layer][w->unit]);
    printf("%.9g\n", v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: activations CKPT FILE N LAYER QUANTITY UNIT\n");
        return 2;
    }
    CnError err;
    CnCheckpoint *ck = cn_checkpoint_load(argv[1], &err);
    const char *path = argv[2];
    CnText *file = ck ? cn_text_load(&path, 1, &err) : NULL, *text = NULL;
    if (file) { /* the first N characters, and one more */
        size_t len, at = 0, n = strtoull(argv[3], NULL, 10) + 1;
        const char *bytes = cn_text_bytes(file, &len);
        uint32_t cp;
        for (size_t j = 0; j < n && at < len; j++)
            at += (size_t)cn_utf8_decode((const unsigned char *)bytes + at, len - at, &cp);
        text = cn_text_from_memory(bytes, at, path, &err);
        cn_text_free(file);
    }
    if (!text) {
        fprintf(stderr, "activations: %s\n", err.msg);
        cn_checkpoint_free(ck);
        return 1;
    }
    const CnModel *model = cn_checkpoint_model(ck);
    CnShape shape = cn_model_shape(model);
    Want w = {strtoull(argv[3], NULL, 10), atoi(argv[4]), atoi(argv[6]), -1, shape.hidden};
    int known = strcmp(argv[5], "h") == 0;
    if (strcmp(argv[5], "c") == 0 && (shape.cell == CN_LSTM || shape.cell == CN_PEEPHOLE))
        w.gate = -2, known = 1;
    for (int g = 0; cn_gate_name(shape.cell, g) && shape.cell != CN_RNN; g++)
        if (strcmp(argv[5], cn_gate_name(shape.cell, g)) == 0)
            w.gate = g, known = 1;
    if (!known || w.layer < 0 || w.layer >= shape.layers || w.unit < 0 || w.unit >= shape.hidden) {
        fprintf(stderr, "activations: no quantity %s of unit %d in layer %d\n", argv[5], w.unit,
                w.layer);
        cn_text_free(text);
        cn_checkpoint_free(ck);
        return 2;
    }
    size_t count;
    double loss = cn_score(model, text, 256, 1, print_step, &w, &count, &err);
    cn_text_free(text);
    cn_checkpoint_free(ck);
    if (isnan(loss)) {
        fprintf(stderr, "activations: %s\n", err.msg);
        return 1;
    }
    return 0;
}
