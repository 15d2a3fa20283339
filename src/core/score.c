/* SPDX-License-Identifier: MIT */
/*
 * Scoring a text: the mean loss -ln p[target] over its predictions, from a
 * zero state carried through the text in chunks of T steps (the chunks are
 * for speed: the state carries across them), and, for one stream, each
 * prediction shown to a caller with the activations behind it.
 */
#include "core.h"

#include <math.h>
#include <stdlib.h>

/* Shows the predictions of the last forward (steps rows, one stream) to fn;
 * pos is the position of its first input. Returns -1 if fn stopped, with
 * the position in *pos. */
static int show_steps(const CnModel *m, const CnActs *a, const int *targets, int steps,
                      size_t *pos, CnStepFn fn, void *ctx)
{
    const CnShape *s = &m->shape;
    int H = s->hidden, GH = cn_cell_gates(s->cell) * H;
    CnStep st = {0};
    for (int t = 0; t < steps; t++) {
        st.pos = *pos + (size_t)t;
        st.target = targets[t];
        st.nats = a->loss_rows[t];
        st.probs = a->logits + (size_t)t * s->vocab;
        for (int l = 0; l < s->layers; l++) {
            const CnLayerActs *la = &a->layer[l];
            st.h[l] = la->h + (size_t)(t + 1) * H;
            st.c[l] = la->c ? la->c + (size_t)(t + 1) * H : NULL;
            st.gates[l] = s->cell == CN_RNN ? NULL : la->z + (size_t)t * GH;
        }
        if (fn(ctx, &st) != 0) {
            *pos = st.pos;
            return -1;
        }
    }
    return 0;
}

double cn_evaluate_span(const CnModel *m, const CnText *text, size_t from, size_t n, int streams,
                        int T, CnPool *pool, CnStepFn fn, void *ctx, size_t *count, CnError *err)
{
    *count = 0;
    if (n < 2 || from + n > text->nchars) {
        cn_errorf(err, "need at least 2 characters to evaluate, have %zu", n);
        return NAN;
    }
    int B = (size_t)streams < n - 1 ? streams : (int)(n - 1);
    size_t per = (n - 1) / (size_t)B;
    return cn_evaluate_streams(m, text, from, per, per, B, T, pool, fn, ctx, count, err);
}

CnValSpan cn_validation_span(size_t n_val, int batch, uint64_t eval_chars)
{
    CnValSpan v = {0, 0, 0};
    if (n_val < 2 || batch < 1)
        return v;
    v.streams = (size_t)batch < n_val - 1 ? batch : (int)(n_val - 1);
    v.stride = v.per = (n_val - 1) / (size_t)v.streams;
    if (eval_chars > 0 && eval_chars < (uint64_t)v.streams * v.per) {
        v.per = (size_t)eval_chars / (size_t)v.streams;
        v.per += v.per == 0;
    }
    return v;
}

double cn_evaluate_streams(const CnModel *m, const CnText *text, size_t from, size_t stride,
                           size_t per_stream, int B, int T, CnPool *pool, CnStepFn fn, void *ctx,
                           size_t *count, CnError *err)
{
    *count = 0;
    if (B < 1 || per_stream < 1 || per_stream > stride ||
        from + (size_t)(B - 1) * stride + per_stream + 1 > text->nchars) {
        cn_errorf(err, "%d streams of %zu predictions every %zu characters do not fit in the text",
                  B, per_stream, stride);
        return NAN;
    }
    if (fn && B != 1) {
        cn_errorf(err, "predictions are shown one stream at a time");
        return NAN;
    }
    if ((size_t)T > per_stream)
        T = (int)per_stream;
    CnActs acts;
    int *ids = cn_fault("evaluate") ? NULL : malloc((size_t)2 * B * T * sizeof *ids);
    size_t *cursor = malloc((size_t)B * sizeof *cursor);
    if (!ids || !cursor ||
        cn_acts_init(&acts, &m->shape, B, T, 0, 0, CN_MUL_FP32, pool, err) != 0) {
        if (!ids || !cursor)
            cn_errorf(err, "out of memory for evaluation");
        free(ids);
        free(cursor);
        return NAN;
    }
    acts.weights_frozen = 1;
    int *targets = ids + (size_t)B * T;
    for (int b = 0; b < B; b++)
        cursor[b] = cn_text_seek(text, from + (size_t)b * stride);
    double loss = 0;
    for (size_t done = 0; done < per_stream;) {
        int steps = per_stream - done < (size_t)T ? (int)(per_stream - done) : T;
        if (cn_fetch_chunk(&m->vocab, text, cursor, B, steps, ids, targets) != 0) {
            cn_errorf(err, "the text has characters outside the model's vocabulary");
            loss = NAN;
            break;
        }
        loss += cn_forward(m, &acts, ids, targets, steps, NULL);
        size_t pos = done;
        if (fn && show_steps(m, &acts, targets, steps, &pos, fn, ctx) != 0) {
            cn_errorf(err, "stopped by the caller at position %zu", pos);
            loss = NAN;
            break;
        }
        cn_acts_carry_state(&acts);
        done += (size_t)steps;
    }
    cn_acts_free(&acts);
    free(ids);
    free(cursor);
    *count = isnan(loss) ? 0 : (size_t)B * per_stream;
    return isnan(loss) ? NAN : loss / (double)((size_t)B * per_stream);
}

double cn_score(const CnModel *model, const CnText *text, int seq_length, int threads,
                CnStepFn fn, void *ctx, size_t *count, CnError *err)
{
    CnPool *pool = NULL;
    *count = 0;
    if (cn_vocab_covers(&model->vocab, text, "the text", err) != 0 ||
        cn_pool_open(&pool, threads, err) != 0)
        return NAN;
    double loss = cn_evaluate_span(model, text, 0, text->nchars, 1, seq_length, pool, fn, ctx,
                                   count, err);
    cn_pool_destroy(pool);
    return loss;
}

double cn_evaluate(const CnModel *model, const CnText *text, int seq_length, int threads,
                   size_t *count, CnError *err)
{
    return cn_score(model, text, seq_length, threads, NULL, NULL, count, err);
}

/* cn_score's callback for cn_evaluate_each: each prediction's nats in turn */
static int keep_nats(void *ctx, const CnStep *step)
{
    double *nats = ctx;
    nats[step->pos] = step->nats;
    return 0;
}

double cn_evaluate_each(const CnModel *model, const CnText *text, int threads, double *nats,
                        size_t *count, CnError *err)
{
    return cn_score(model, text, 64, threads, nats ? keep_nats : NULL, nats, count, err);
}

double cn_validation_loss(const CnModel *model, const CnText *corpus, const CnTrainConfig *cfg,
                          int threads, size_t *count, CnError *err)
{
    CnPool *pool = NULL;
    *count = 0;
    err->msg[0] = '\0';
    size_t n_val = (size_t)((double)corpus->nchars * cfg->val_frac);
    CnValSpan v = cn_validation_span(n_val, cfg->batch, cfg->eval_chars);
    if (v.streams == 0 || cfg->seq_length < 1)
        return NAN; /* no tail */
    size_t from = corpus->nchars - n_val;
    if (cn_pool_open(&pool, threads, err) != 0)
        return NAN;
    double loss = cn_evaluate_streams(model, corpus, from, v.stride, v.per, v.streams,
                                      cfg->seq_length, pool, NULL, NULL, count, err);
    cn_pool_destroy(pool);
    return loss;
}
