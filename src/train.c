/* SPDX-License-Identifier: MIT */
/*
 * Training and evaluation over a corpus. The training text (the corpus
 * minus its validation tail) is cut into B contiguous streams of
 * stream_len predictions each; chunk k of an epoch is characters
 * [kT, kT + T] of every stream (inputs, then the same shifted by one as
 * targets). State carries from chunk to chunk; each epoch starts every
 * stream at its first character with a zero state.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ids (n, B) and targets (n, B) from n+1 characters of every stream starting
 * at cursor[b]; cursor[b] moves n characters on, to the character that is
 * both this chunk's last target and the next chunk's first input. Returns
 * -1 if a character is not in the vocabulary. */
static int fetch_chunk(const CnVocab *vocab, const CnText *text, size_t *cursor, int B, int n,
                       int *ids, int *targets)
{
    for (int b = 0; b < B; b++) {
        size_t at = cursor[b];
        int id = cn_text_next_id(vocab, text, &at);
        for (int t = 0; t < n; t++) {
            if (t == n - 1)
                cursor[b] = at;
            ids[t * B + b] = id;
            id = cn_text_next_id(vocab, text, &at);
            targets[t * B + b] = id;
            if (ids[t * B + b] < 0 || id < 0)
                return -1;
        }
    }
    return 0;
}

double cn_evaluate(const CnModel *m, const CnText *text, size_t from, size_t n, int streams,
                   int T, size_t *count, CnError *err)
{
    *count = 0;
    if (n < 2 || from + n > text->nchars) {
        cn_errorf(err, "need at least 2 characters to evaluate, have %zu",
                 n);
        return NAN;
    }
    int B = (size_t)streams < n - 1 ? streams : (int)(n - 1);
    size_t per_stream = (n - 1) / (size_t)B;
    if ((size_t)T > per_stream)
        T = (int)per_stream;
    CnActs acts;
    int *ids = malloc((size_t)2 * B * T * sizeof *ids);
    size_t *cursor = malloc((size_t)B * sizeof *cursor);
    if (!ids || !cursor || cn_acts_init(&acts, &m->shape, B, T, 0, 0, err) != 0) {
        if (ids && cursor)
            cn_errorf(err, "out of memory for evaluation");
        free(ids);
        free(cursor);
        return NAN;
    }
    int *targets = ids + (size_t)B * T;
    for (int b = 0; b < B; b++)
        cursor[b] = cn_text_seek(text, from + (size_t)b * per_stream);
    double loss = 0;
    for (size_t done = 0; done < per_stream;) {
        int steps = per_stream - done < (size_t)T ? (int)(per_stream - done) : T;
        if (fetch_chunk(&m->vocab, text, cursor, B, steps, ids, targets) != 0) {
            cn_errorf(err, "the text has characters outside the model's vocabulary");
            loss = NAN;
            break;
        }
        loss += cn_forward(m, &acts, ids, targets, steps, NULL);
        cn_acts_carry_state(&acts);
        done += (size_t)steps;
    }
    cn_acts_free(&acts);
    free(ids);
    free(cursor);
    *count = (size_t)B * per_stream;
    return loss / (double)*count;
}

/* ------------------------------------------------------------------------- */

static size_t state_values(const CnShape *s, int B)
{
    int lstm = s->cell == CN_LSTM || s->cell == CN_PEEPHOLE;
    return (size_t)s->layers * (size_t)B * (size_t)s->hidden * (lstm ? 2 : 1);
}

size_t cn_trainer_bytes(const CnShape *shape, const CnTrainConfig *cfg)
{
    size_t P = cn_shape_nparams(shape);
    size_t train = cn_acts_bytes(shape, cfg->batch, cfg->seq_length, cfg->dropout, 1);
    size_t eval = cn_acts_bytes(shape, cfg->batch, cfg->seq_length, 0, 0);
    size_t arrays = 2 + (size_t)cn_optim_slots(cfg->optim.kind), total;
    if (P == 0 || train == SIZE_MAX || eval == SIZE_MAX ||
        __builtin_mul_overflow(P, arrays * sizeof(CnReal), &total) ||
        __builtin_add_overflow(total, train, &total) ||
        __builtin_add_overflow(total, eval, &total))
        return 0;
    return total;
}

/* Moves every stream to chunk st.chunk of the epoch. */
static void seek_streams(CnTrainer *tr)
{
    int B = tr->st.cfg.batch, T = tr->st.cfg.seq_length;
    for (int b = 0; b < B; b++) {
        size_t first = (size_t)b * tr->stream_len;
        tr->stream_start[b] = cn_text_seek(tr->text, first);
        tr->cursor[b] = tr->st.chunk == 0
                            ? tr->stream_start[b]
                            : cn_text_seek(tr->text, first + (size_t)tr->st.chunk * T);
    }
}

int cn_trainer_init(CnTrainer *tr, CnModel *model, const CnText *text, CnTrainState *st,
                    int resume, CnError *err)
{
    memset(tr, 0, sizeof *tr);
    tr->model = model;
    tr->text = text;
    tr->st = *st;
    memset(st, 0, sizeof *st); /* its arrays are ours now */
    CnTrainState *s = &tr->st;
    const CnTrainConfig *c = &s->cfg;
    int B = c->batch, T = c->seq_length;
    if (B < 1 || T < 1 || !(c->dropout >= 0 && c->dropout < 1) ||
        !(c->val_frac >= 0 && c->val_frac < 1) || !(c->clip_value >= 0) ||
        !(c->clip_norm >= 0)) {
        cn_errorf(err, "training configuration is out of range");
        goto fail;
    }
    tr->n_val = (size_t)((double)text->nchars * c->val_frac);
    tr->n_train = text->nchars - tr->n_val;
    if (c->val_frac > 0 && tr->n_val < 2) {
        cn_errorf(err, "--val-frac %g leaves %zu characters for validation; use a larger fraction "
                 "or 0 for none", c->val_frac, tr->n_val);
        goto fail;
    }
    tr->stream_len = tr->n_train > 0 ? (tr->n_train - 1) / (size_t)B : 0;
    tr->chunks_per_epoch = tr->stream_len / (size_t)T;
    if (tr->chunks_per_epoch == 0) {
        cn_errorf(err, "the training text has %zu characters, too few for --batch %d x --seq-length "
                 "%d (needs at least %zu); use a smaller batch or sequence length",
                 tr->n_train, B, T, (size_t)B * T + 1);
        goto fail;
    }
    uint32_t crc = cn_crc32(0, text->bytes, text->nbytes);
    if (resume && (s->corpus_bytes != text->nbytes || s->corpus_crc != crc)) {
        cn_errorf(err, "this checkpoint was trained on a different corpus (%llu bytes, CRC %08x; "
                 "this one has %zu bytes, CRC %08x); resume needs the same text, or use "
                 "--init-from to start a new run from its weights",
                 (unsigned long long)s->corpus_bytes, s->corpus_crc, text->nbytes, crc);
        goto fail;
    }
    s->corpus_bytes = text->nbytes;
    s->corpus_crc = crc;
    if (resume && s->chunk >= tr->chunks_per_epoch) {
        cn_errorf(err, "checkpoint's data position is past the epoch");
        goto fail;
    }
    if (cn_acts_init(&tr->acts, &model->shape, B, T, c->dropout, 1, err) != 0)
        goto fail;
    if (cn_optim_init(&tr->optim, &c->optim, model->nparams, err) != 0)
        goto fail;
    size_t nstate = state_values(&model->shape, B);
    if (resume) {
        if (s->optim_len != tr->optim.n * (size_t)cn_optim_slots(c->optim.kind) ||
            s->state_len != nstate) {
            cn_errorf(err, "checkpoint has no training state to resume; use --init-from to start a "
                     "new run from its weights");
            goto fail;
        }
        if (s->optim_len)
            memcpy(tr->optim.state, s->optim_state, s->optim_len * sizeof(CnReal));
        tr->optim.t = s->optim_t;
        /* state_h and state_c are adjacent in the activation memory */
        memcpy(tr->acts.state_h, s->state, nstate * sizeof(CnReal));
    } else {
        s->iteration = s->epoch = s->chunk = 0;
        s->smooth_loss = log((double)model->shape.vocab);
        s->last_loss = s->val_loss = s->best_val_loss = NAN;
        s->train_seconds = 0;
    }
    cn_train_state_free(s);
    tr->grads = calloc(model->nparams, sizeof *tr->grads);
    tr->stream_start = malloc((size_t)B * sizeof *tr->stream_start);
    tr->cursor = malloc((size_t)B * sizeof *tr->cursor);
    tr->ids = malloc((size_t)2 * B * T * sizeof *tr->ids);
    if (!tr->grads || !tr->stream_start || !tr->cursor || !tr->ids) {
        cn_errorf(err, "out of memory setting up training");
        goto fail;
    }
    tr->targets = tr->ids + (size_t)B * T;
    seek_streams(tr);
    tr->last_grad_norm = NAN;
    return 0;
fail:
    cn_trainer_free(tr);
    return -1;
}

void cn_trainer_free(CnTrainer *tr)
{
    cn_train_state_free(&tr->st);
    cn_acts_free(&tr->acts);
    cn_optim_free(&tr->optim);
    free(tr->grads);
    free(tr->stream_start);
    free(tr->cursor);
    free(tr->ids);
    memset(tr, 0, sizeof *tr);
}

/* x - x is NaN exactly when x is infinite or NaN; one pass, vectorizable. */
static int all_finite(const CnReal *x, size_t n)
{
    CnReal acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] - x[i];
    return acc == 0;
}

CnStepResult cn_trainer_step(CnTrainer *tr, double *loss_out)
{
    CnTrainState *s = &tr->st;
    const CnTrainConfig *c = &s->cfg;
    CnModel *m = tr->model;
    int B = c->batch, T = c->seq_length;
    CnRng rng_before = s->rng;

    /* the vocabulary covers the text (the caller checked), so this succeeds */
    fetch_chunk(&m->vocab, tr->text, tr->cursor, B, T, tr->ids, tr->targets);
    memset(tr->grads, 0, m->nparams * sizeof *tr->grads);
    double loss = cn_forward(m, &tr->acts, tr->ids, tr->targets, T, &s->rng) / ((double)B * T);
    *loss_out = loss;
    double norm = NAN;
    if (loss <= CN_LOSS_LIMIT) { /* false for NaN too */
        cn_backward(m, &tr->acts, tr->ids, tr->targets, tr->grads);
        if (c->clip_value > 0)
            cn_clip_value(tr->grads, m->nparams, c->clip_value);
        norm = cn_grad_norm(tr->grads, m->nparams);
    }
    tr->last_grad_norm = norm;
    if (!isfinite(norm)) {
        s->rng = rng_before;
        seek_streams(tr); /* back to this chunk */
        return CN_STEP_DIVERGED;
    }
    if (c->clip_norm > 0)
        cn_clip_norm(tr->grads, m->nparams, norm, c->clip_norm);
    cn_optim_step(&tr->optim, m->params, tr->grads);
    if (!all_finite(m->params, m->nparams)) {
        s->rng = rng_before;
        seek_streams(tr);
        return CN_STEP_DIVERGED;
    }
    cn_acts_carry_state(&tr->acts);
    s->iteration++;
    s->last_loss = loss;
    s->smooth_loss = 0.99 * s->smooth_loss + 0.01 * loss;
    if (++s->chunk == tr->chunks_per_epoch) {
        s->chunk = 0;
        s->epoch++;
        memcpy(tr->cursor, tr->stream_start, (size_t)B * sizeof *tr->cursor);
        cn_acts_reset_state(&tr->acts);
    }
    return CN_STEP_OK;
}

double cn_trainer_validate(CnTrainer *tr, CnError *err)
{
    if (tr->n_val == 0)
        return NAN;
    size_t count;
    const CnTrainConfig *c = &tr->st.cfg;
    return cn_evaluate(tr->model, tr->text, tr->n_train, tr->n_val, c->batch, c->seq_length,
                       &count, err);
}

double cn_trainer_epoch(const CnTrainer *tr)
{
    return (double)tr->st.epoch + (double)tr->st.chunk / (double)tr->chunks_per_epoch;
}

int cn_trainer_save(CnTrainer *tr, const char *path, CnError *err)
{
    const CnModel *m = tr->model;
    if (!all_finite(m->params, m->nparams)) {
        cn_errorf(err, "parameters are no longer finite; not overwriting %s", path);
        return -1;
    }
    CnTrainState view = tr->st;
    view.optim_t = tr->optim.t;
    view.optim_len = tr->optim.n * (size_t)cn_optim_slots(tr->optim.cfg.kind);
    view.optim_state = tr->optim.state;
    view.state_len = state_values(&m->shape, tr->acts.B);
    view.state = tr->acts.state_h;
    return cn_checkpoint_save(path, m, &view, err);
}
