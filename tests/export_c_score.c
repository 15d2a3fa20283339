/* SPDX-License-Identifier: MIT */
/*
 * Scores a text with a model exported as C (charnn export --format c
 * --name model, included as MODEL: cc -DMODEL='"m.c"'), the way charnn
 * score does: from a zero state, for each character but the last, the
 * probability p of the next one and its surprisal in bits, computed from
 * the logits as src/kernels/loss.c computes them and printed as charnn
 * score prints them (%.9g). The two outputs are equal only when every
 * logit is equal bit for bit. The first line is "state N", the size of
 * model_state. tests/test_export_c.sh runs it.
 */
#include MODEL

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEXT\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    static unsigned char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    if (f)
        fclose(f);
    static int ids[1 << 20];
    size_t count = 0;
    for (size_t at = 0; at < n; count++) { /* UTF-8, known to be valid */
        unsigned char c = text[at];
        int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
        for (int i = 1; i < len; i++)
            cp = cp << 6 | (text[at + (size_t)i] & 0x3fu);
        at += (size_t)len;
        if ((ids[count] = model_index(cp)) < 0) {
            fprintf(stderr, "U+%04lX is not in the model's vocabulary\n", (unsigned long)cp);
            return 2;
        }
    }
    printf("state %lu\n", (unsigned long)sizeof(model_state));
    model_state s;
    model_reset(&s);
    for (size_t i = 0; i + 1 < count; i++) {
        model_step(&s, ids[i]);
        /* loss.c: -log p[target] = log sum e^(y - max) - (y_target - max) */
        float max = s.y[0];
        for (int j = 1; j < V; j++)
            max = s.y[j] > max ? s.y[j] : max;
        double target_shifted = (double)s.y[ids[i + 1]] - max, sum = 0;
        for (int j = 0; j < V; j++)
            sum += fexp(s.y[j] - max);
        double nats = log(sum) - target_shifted;
        printf("%.9g\t%.9g\n", exp(-nats), nats / log(2.0));
    }
    return 0;
}
