/* SPDX-License-Identifier: MIT */
/*
 * cn_score against the library's own forward pass: for every cell, the
 * predictions and activations it shows for each character (in chunks of 7
 * steps, on 2 threads) are those of one forward pass over the whole text
 * in a single chunk; its mean is cn_evaluate's, exactly; a caller that
 * stops gets an error.
 */
#include "check.h"
#include "core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char text_bytes[] =
    "the cat sat on the mat; the bat ate the hat. a cat, a mat, a hat!\n"
    "tea at ten: the cat and the bat sat at the mat.\n";

typedef struct {
    const CnModel *m;
    const CnActs *ref; /* one forward over the whole text */
    const int *targets;
    size_t next;       /* the position expected next */
    double worst, sum;
    int in_order, stop_at;
} Seen;

static double diff(const CnReal *a, const CnReal *b, int n)
{
    double worst = 0;
    for (int j = 0; j < n; j++)
        worst = fmax(worst, fabs((double)a[j] - (double)b[j]));
    return worst;
}

static int seen(void *ctx, const CnStep *st)
{
    Seen *s = ctx;
    const CnShape *sh = &s->m->shape;
    int H = sh->hidden, V = sh->vocab, GH = cn_cell_gates(sh->cell) * H;
    size_t t = st->pos;
    s->in_order &= t == s->next && st->target == s->targets[t];
    s->next++;
    s->sum += st->nats;
    double w = fabs(st->nats - s->ref->loss_rows[t]);
    w = fmax(w, diff(st->probs, s->ref->logits + t * V, V));
    for (int l = 0; l < sh->layers; l++) {
        const CnLayerActs *la = &s->ref->layer[l];
        w = fmax(w, diff(st->h[l], la->h + (t + 1) * H, H));
        if (la->c)
            w = fmax(w, diff(st->c[l], la->c + (t + 1) * H, H));
        else
            s->in_order &= st->c[l] == NULL;
        if (sh->cell != CN_RNN)
            w = fmax(w, diff(st->gates[l], la->z + t * GH, GH));
        else
            s->in_order &= st->gates[l] == NULL;
    }
    s->worst = fmax(s->worst, w);
    return s->stop_at && (int)t == s->stop_at;
}

int main(void)
{
    CnError err;
    CnText text;
    if (cn_text_wrap(&text, text_bytes, sizeof text_bytes - 1, "text", &err) != 0) {
        CHECK(0, "set-up: the text: %s", err.msg);
        return check_status();
    }
    size_t N = text.nchars;
    int steps = (int)N - 1;
    for (int cell = CN_RNN; cell <= CN_GRU; cell++) {
        CnVocab vocab;
        CnModel m;
        CnRng rng;
        CnActs ref;
        int *ids = malloc(2 * (size_t)steps * sizeof *ids), *targets = ids + steps;
        size_t cursor = 0;
        cn_rng_seed(&rng, 7 + (uint64_t)cell);
        if (!ids || cn_vocab_build(&vocab, &text, &err) != 0 ||
            cn_model_init(&m, (CnCell)cell, 8, 2, &vocab, &err) != 0 ||
            cn_model_randomize(&m, CN_INIT_UNIFORM, &rng, &err) != 0 ||
            cn_acts_init(&ref, &m.shape, 1, steps, 0, 0, CN_MUL_FP32, NULL, &err) != 0 ||
            cn_fetch_chunk(&m.vocab, &text, &cursor, 1, steps, ids, targets) != 0) {
            CHECK(0, "set-up: a %s model and its pass: %s", cn_cell_names[cell], err.msg);
            return check_status();
        }
        /* the reference: the whole text as one chunk, one thread */
        double total = cn_forward(&m, &ref, ids, targets, steps, NULL);

        Seen s = {&m, &ref, targets, 0, 0, 0, 1, 0};
        size_t count;
        double mean = cn_score(&m, &text, 7, 2, seen, &s, &count, &err);
        double evaluated = cn_evaluate(&m, &text, 7, 2, &count, &err);
        const char *name = cn_cell_names[cell];
        CHECK(s.in_order && s.next == N - 1 && count == N - 1,
              "%s: cn_score shows the %zu predictions in order, with their targets", name,
              N - 1);
        CHECK(s.worst < 1e-6,
              "%s: each prediction's p, -ln p, h, c and gates equal one forward pass over the "
              "whole text (worst difference %.1e)", name, s.worst);
        CHECK(mean == evaluated && fabs(s.sum / (double)(N - 1) - mean) < 1e-12 &&
                  fabs(total / steps - mean) < 1e-6,
              "%s: its mean is cn_evaluate's exactly (%.9f) and the rows' (%.9f)", name, mean,
              s.sum / (double)(N - 1));
        Seen stop = {&m, &ref, targets, 0, 0, 0, 1, 20};
        err.msg[0] = '\0';
        double stopped = cn_score(&m, &text, 7, 1, seen, &stop, &count, &err);
        CHECK(isnan(stopped) && stop.next == 21 && strstr(err.msg, "stopped"),
              "%s: a caller that stops at position 20 stops the pass (\"%s\")", name, err.msg);
        free(ids);
        cn_acts_free(&ref);
        cn_model_release(&m);
    }
    cn_text_release(&text);
    return check_status();
}
