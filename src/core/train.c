/* SPDX-License-Identifier: MIT */
/*
 * Training and evaluation over a corpus. The training text (the corpus
 * minus its validation tail) is cut into B contiguous streams of
 * stream_len predictions each; chunk k of an epoch is characters
 * [kT, kT + T] of every stream (inputs, then the same shifted by one as
 * targets). State carries from chunk to chunk; each epoch starts every
 * stream at its first character with a zero state.
 */
#include "core.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */

size_t cn_trainer_bytes(const CnShape *shape, const CnTrainConfig *cfg, int threads)
{
    size_t P = cn_shape_nparams(shape);
    size_t train = cn_acts_bytes(shape, cfg->batch, cfg->seq_length, cfg->dropout, 1,
                                 cn_mul_for(cfg->precision), threads);
    size_t eval = cn_acts_bytes(shape, cfg->batch, cfg->seq_length, 0, 0, CN_MUL_FP32, threads);
    size_t arrays = 2 + (size_t)cn_optim_slots(cfg->optim.kind), total;
    if (P == 0 || train == SIZE_MAX || eval == SIZE_MAX ||
        __builtin_mul_overflow(P, arrays * sizeof(CnReal), &total) ||
        __builtin_add_overflow(total, train, &total) ||
        __builtin_add_overflow(total, eval, &total))
        return 0;
    return total;
}

int cn_pool_open(CnPool **pool, int threads, CnError *err)
{
    if (cn_pool_create(pool, threads) == 0)
        return 0;
    cn_errorf(err, "cannot start %d threads: %s", threads, strerror(errno));
    return -1;
}

/* Moves each of this process's streams to chunk p.chunk of the epoch. */
static void seek_streams(CnTrainer *tr)
{
    int T = tr->st.cfg.seq_length;
    for (int i = 0; i < tr->shard.count; i++) {
        size_t first = (size_t)(tr->shard.first + i) * tr->stream_len;
        tr->stream_start[i] = cn_text_seek(tr->text, first);
        tr->cursor[i] = tr->st.p.chunk == 0
                            ? tr->stream_start[i]
                            : cn_text_seek(tr->text, first + (size_t)tr->st.p.chunk * T);
    }
}

/* Rows [first, first + count) of each (L, batch, H) block of a carried
 * state (h, then c for the LSTMs), to or from a shard's own (L, count, H). */
static void state_rows(CnReal *global, CnReal *local, const CnShape *s, int batch, int first,
                       int count, int to_global)
{
    size_t H = (size_t)s->hidden, rows = (size_t)count * H, blocks = cn_state_values(s, 1) / H;
    for (size_t k = 0; k < blocks; k++) {
        CnReal *g = global + (k * (size_t)batch + (size_t)first) * H, *l = local + k * rows;
        memcpy(to_global ? g : l, to_global ? l : g, rows * sizeof(CnReal));
    }
}

void cn_state_place(CnReal *global, const CnReal *local, const CnShape *s, int batch, int first,
                    int count)
{
    state_rows(global, (CnReal *)local, s, batch, first, count, 1);
}

/* How a configuration cuts the text: the validation tail, the training
 * head, its B streams and their chunks of T; an error when the text is too
 * short for them. Cheap: checked before a model is made. */
static int layout(const CnText *text, const CnTrainConfig *c, CnTrainer *tr, CnError *err)
{
    int B = c->batch, T = c->seq_length;
    tr->n_val = (size_t)((double)text->nchars * c->val_frac);
    tr->n_train = text->nchars - tr->n_val;
    if (c->val_frac > 0 && tr->n_val < 2) {
        cn_errorf(err, "'val-frac' %g leaves %zu characters for validation; use a larger fraction "
                 "or 0 for none", c->val_frac, tr->n_val);
        return -1;
    }
    tr->stream_len = tr->n_train > 0 && B > 0 ? (tr->n_train - 1) / (size_t)B : 0;
    tr->chunks_per_epoch = T > 0 ? tr->stream_len / (size_t)T : 0;
    if (tr->chunks_per_epoch == 0) {
        char held[96] = "";
        if (c->val_frac >= 0.5)
            snprintf(held, sizeof held, ", or a smaller 'val-frac' (%g holds out %zu of the %zu)",
                     c->val_frac, tr->n_val, text->nchars);
        cn_errorf(err, "the training text has %zu characters, too few for 'batch' %d x 'seq-length' "
                 "%d (needs at least %zu); use a smaller batch or sequence length%s",
                 tr->n_train, B, T, (size_t)B * T + 1, held);
        return -1;
    }
    return 0;
}

int cn_trainer_init(CnTrainer *tr, CnModel *model, const CnText *text, CnTrainState *st,
                    int resume, int threads, const CnShard *shard, CnError *err)
{
    memset(tr, 0, sizeof *tr);
    tr->model = model;
    tr->text = text;
    tr->st = *st;
    memset(st, 0, sizeof *st); /* its arrays are ours now */
    CnTrainState *s = &tr->st;
    const CnTrainConfig *c = &s->cfg;
    int B = c->batch, T = c->seq_length;
    tr->shard = shard ? *shard : (CnShard){.first = 0, .count = B};
    int nb = tr->shard.count;
    if (nb < 1 || tr->shard.first < 0 || tr->shard.first + nb > B) {
        cn_errorf(err, "streams %d to %d are not a share of a batch of %d",
                  tr->shard.first, tr->shard.first + nb, B);
        goto fail;
    }
    if (cn_config_check(c, err) != 0) /* the ranges of the settings' table */
        goto fail;
    if (c->precision == CN_BF16 && sizeof(CnReal) != sizeof(float)) {
        cn_errorf(err, "bf16 products need the single-precision build of the library; use "
                       "precision fp32");
        goto fail;
    }
    if (layout(text, c, tr, err) != 0)
        goto fail;
    uint32_t crc = cn_crc32(0, text->bytes, text->nbytes);
    if (resume && (s->p.corpus_bytes != text->nbytes || s->p.corpus_crc != crc)) {
        cn_errorf(err, "this checkpoint was trained on a different corpus (%llu bytes, CRC %08x; "
                 "this one has %zu bytes, CRC %08x); resume needs the same text, or start a "
                 "new run from its weights ('init-from')",
                 (unsigned long long)s->p.corpus_bytes, s->p.corpus_crc, text->nbytes, crc);
        goto fail;
    }
    s->p.corpus_bytes = text->nbytes;
    s->p.corpus_crc = crc;
    if (resume && s->p.chunk >= tr->chunks_per_epoch) {
        cn_errorf(err, "checkpoint's data position is past the epoch");
        goto fail;
    }
    if (cn_pool_open(&tr->pool, threads, err) != 0 ||
        cn_acts_init(&tr->acts, &model->shape, nb, T, c->dropout, 1, cn_mul_for(c->precision),
                     tr->pool, err) != 0)
        goto fail;
    tr->acts.grad_scale = 1.0 / ((double)B * T); /* the whole batch's mean */
    tr->acts.ready = tr->shard.ready;
    tr->acts.ready_ctx = tr->shard.ctx;
    tr->acts.stream_first = tr->shard.first;
    if (cn_optim_init(&tr->optim, &c->optim, model->nparams, err) != 0)
        goto fail;
    if (resume) {
        if (s->optim_len != tr->optim.n * (size_t)cn_optim_slots(c->optim.kind) ||
            s->state_len != cn_state_values(&model->shape, B)) {
            cn_errorf(err, "checkpoint has no training state to resume; start a new run from its "
                     "weights instead ('init-from')");
            goto fail;
        }
        if (s->optim_len)
            memcpy(tr->optim.state, s->optim_state, s->optim_len * sizeof(CnReal));
        tr->optim.t = s->optim_t;
        /* this process's rows; state_h and state_c are adjacent in memory */
        state_rows(s->state, tr->acts.state_h, &model->shape, B, tr->shard.first, nb, 0);
    } else {
        /* the run's identity: where it starts, everything that decides its
           course (two runs that start alike are the same run, step for step) */
        uint64_t ints[] = {crc, c->seed, (uint64_t)B, (uint64_t)T, (uint64_t)c->optim.kind,
                           (uint64_t)c->schedule, (uint64_t)c->init, c->warmup,
                           (uint64_t)c->precision};
        double reals[] = {c->optim.lr, c->optim.momentum, c->optim.beta1, c->optim.beta2,
                          c->optim.eps, c->optim.decay_rate, c->clip_value, c->clip_norm,
                          c->dropout, c->val_frac, c->lr_decay, c->lr_decay_after, c->lr_min,
                          c->bptt_random, c->time_budget};
        uint32_t how = cn_crc32(cn_crc32(0, ints, sizeof ints), reals, sizeof reals);
        s->p.run = (uint64_t)cn_crc32(0, model->params, model->nparams * sizeof(CnReal)) << 32 |
                 how;
        s->p.iteration = s->p.epoch = s->p.chunk = 0;
        s->p.smooth_loss = log((double)model->shape.vocab);
        s->p.last_loss = s->p.val_loss = s->p.best_val_loss = NAN;
        s->p.train_seconds = 0;
    }
    cn_train_state_free(s);
    tr->grads = calloc(model->nparams, sizeof *tr->grads);
    tr->partials = malloc(cn_norm_blocks(model->nparams) * sizeof *tr->partials);
    tr->stream_start = malloc((size_t)nb * sizeof *tr->stream_start);
    tr->cursor = malloc((size_t)nb * sizeof *tr->cursor);
    tr->ids = malloc((size_t)2 * nb * T * sizeof *tr->ids);
    if (!tr->grads || !tr->partials || !tr->stream_start || !tr->cursor || !tr->ids) {
        cn_errorf(err, "out of memory setting up training");
        goto fail;
    }
    tr->targets = tr->ids + (size_t)nb * T;
    seek_streams(tr);
    tr->last_grad_norm = NAN;
    tr->budget_fraction = -1;
    return 0;
fail:
    cn_trainer_release(tr);
    return -1;
}

void cn_trainer_release(CnTrainer *tr)
{
    cn_train_state_free(&tr->st);
    cn_acts_free(&tr->acts);
    cn_optim_free(&tr->optim);
    cn_pool_destroy(tr->pool);
    free(tr->grads);
    free(tr->partials);
    free(tr->stream_start);
    free(tr->cursor);
    free(tr->ids);
    memset(tr, 0, sizeof *tr);
}

/* The per-parameter phases of a step, split into blocks of CN_NORM_BLOCK
 * elements shared between the threads. The norm is summed per block, then
 * the blocks in order, so it does not depend on the threads. */
typedef enum { PHASE_ZERO, PHASE_NORM, PHASE_UPDATE } Phase;

typedef struct {
    CnTrainer *tr;
    Phase phase;
    double scale;      /* clip-norm factor, 1 for none */
    atomic_int bad;    /* a parameter came out non-finite */
} StepWork;

static void step_task(void *ctx, int tid, int nthreads)
{
    StepWork *w = ctx;
    CnTrainer *tr = w->tr;
    const CnTrainConfig *c = &tr->st.cfg;
    size_t n = tr->model->nparams;
    int b0, b1;
    cn_share((int)cn_norm_blocks(n), tid, nthreads, &b0, &b1);
    for (int blk = b0; blk < b1; blk++) {
        size_t i0 = (size_t)blk * CN_NORM_BLOCK, i1 = i0 + CN_NORM_BLOCK < n ? i0 + CN_NORM_BLOCK : n;
        CnReal *g = tr->grads;
        switch (w->phase) {
        case PHASE_ZERO:
            memset(g + i0, 0, (i1 - i0) * sizeof *g);
            break;
        case PHASE_NORM:
            if (c->clip_value > 0)
                cn_clip_value(g + i0, i1 - i0, c->clip_value);
            tr->partials[blk] = cn_sumsq(g + i0, i1 - i0);
            break;
        case PHASE_UPDATE: {
            if (w->scale != 1)
                cn_scale(g + i0, i1 - i0, w->scale);
            cn_optim_update(&tr->optim, tr->model->params, g, i0, i1);
            if (!cn_all_finite(tr->model->params + i0, i1 - i0))
                atomic_store(&w->bad, 1);
            break;
        }
        }
    }
}

static void run_phase(CnTrainer *tr, StepWork *w, Phase phase)
{
    w->phase = phase;
    cn_pool_run(tr->pool, step_task, w);
}

CnStepResult cn_trainer_step(CnTrainer *tr, double *loss_out)
{
    CnTrainState *s = &tr->st;
    const CnTrainConfig *c = &s->cfg;
    CnModel *m = tr->model;
    int B = c->batch, T = c->seq_length, nb = tr->shard.count, first = tr->shard.first;
    CnRng rng_before = s->rng;
    StepWork work = {.tr = tr, .scale = 1};
    if (tr->acts.profile)
        tr->acts.profile->lap = cn_seconds();

    double fraction = tr->budget_fraction >= 0 ? tr->budget_fraction
                      : c->max_iters           ? (double)s->p.iteration / (double)c->max_iters
                                               : 0;
    tr->lr = cn_schedule_lr(c, s->p.iteration, cn_trainer_epoch(tr), fraction);
    tr->optim.cfg.lr = tr->lr;

    /* the vocabulary covers the text (the caller checked), so this succeeds;
       an id outside it would index past every table */
    if (cn_fetch_chunk(&m->vocab, tr->text, tr->cursor, nb, T, tr->ids, tr->targets) != 0) {
        seek_streams(tr);
        return CN_STEP_BAD_TEXT;
    }
    run_phase(tr, &work, PHASE_ZERO);
    double loss = cn_forward(m, &tr->acts, tr->ids, tr->targets, T, &s->rng) / ((double)B * T);
    double norm = NAN;
    /* shards keep in step: all go through backward and reduce, whatever
     * their loss, and decide on the summed loss and gradient */
    if (loss <= CN_LOSS_LIMIT || tr->shard.reduce) { /* false for NaN too */
        tr->acts.carry_on = c->bptt_random > 0 && c->bptt_random < 1;
        if (tr->acts.carry_on) {
            /* randomized truncation: a carried gradient survives a step with
             * probability pi and is scaled by 1/pi, so its expectation is the
             * full gradient; drawn for the whole batch, (t, stream) in order */
            CnReal keep = (CnReal)(1 / c->bptt_random);
            for (int t = 0; t < T; t++)
                for (int b = 0; b < B; b++) {
                    CnReal f = cn_rng_uniform(&s->rng) < c->bptt_random ? keep : 0;
                    if (b >= first && b < first + nb)
                        tr->acts.carry[t * nb + b - first] = f;
                }
        }
        cn_backward(m, &tr->acts, tr->ids, tr->targets, tr->grads);
        if (tr->shard.reduce)
            tr->shard.reduce(tr->shard.ctx, tr->grads, m->nparams, &loss, 1);
    }
    cn_lap(tr->acts.profile, 0, CN_PHASE_OTHER);
    *loss_out = loss;
    if (loss <= CN_LOSS_LIMIT) {
        run_phase(tr, &work, PHASE_NORM);
        norm = cn_norm_of_blocks(tr->partials, cn_norm_blocks(m->nparams));
    }
    tr->last_grad_norm = norm;
    if (!isfinite(norm)) {
        s->rng = rng_before;
        seek_streams(tr); /* back to this chunk */
        return CN_STEP_DIVERGED;
    }
    work.scale = cn_clip_scale(norm, c->clip_norm);
    tr->optim.t++;
    run_phase(tr, &work, PHASE_UPDATE);
    if (atomic_load(&work.bad)) {
        s->rng = rng_before;
        seek_streams(tr);
        return CN_STEP_DIVERGED;
    }
    cn_lap(tr->acts.profile, 0, CN_PHASE_UPDATE);
    cn_acts_carry_state(&tr->acts);
    s->p.iteration++;
    s->p.last_loss = loss;
    s->p.smooth_loss = 0.99 * s->p.smooth_loss + 0.01 * loss;
    if (++s->p.chunk == tr->chunks_per_epoch) {
        s->p.chunk = 0;
        s->p.epoch++;
        memcpy(tr->cursor, tr->stream_start, (size_t)nb * sizeof *tr->cursor);
        cn_acts_reset_state(&tr->acts);
    }
    return CN_STEP_OK;
}

double cn_trainer_val_loss(CnTrainer *tr, CnError *err)
{
    const CnTrainConfig *c = &tr->st.cfg;
    CnValSpan v = cn_validation_span(tr->n_val, c->batch, c->eval_chars);
    if (v.streams == 0)
        return NAN;
    size_t count;
    return cn_evaluate_streams(tr->model, tr->text, tr->n_train, v.stride, v.per, v.streams,
                               c->seq_length, tr->pool, NULL, NULL, &count, err);
}

double cn_trainer_epoch(const CnTrainer *tr)
{
    return (double)tr->st.p.epoch + (double)tr->st.p.chunk / (double)tr->chunks_per_epoch;
}

int cn_trainer_save_state(CnTrainer *tr, const char *path, const CnReal *state,
                          size_t state_len, CnError *err)
{
    const CnModel *m = tr->model;
    if (!cn_all_finite(m->params, m->nparams)) {
        cn_errorf(err, "parameters are no longer finite; not overwriting %s", path);
        return -1;
    }
    if (state_len != cn_state_values(&m->shape, tr->st.cfg.batch)) {
        cn_errorf(err, "carried state of %zu values for a batch of %d", state_len,
                  tr->st.cfg.batch);
        return -1;
    }
    CnTrainState view = tr->st;
    view.optim_t = tr->optim.t;
    view.optim_len = tr->optim.n * (size_t)cn_optim_slots(tr->optim.cfg.kind);
    view.optim_state = tr->optim.state;
    view.state_len = state_len;
    view.state = (CnReal *)state;
    return cn_checkpoint_save(path, m, &view, err);
}

int cn_trainer_save(CnTrainer *tr, const char *path, CnError *err)
{
    /* a shard holds only its streams' state: its caller gathers the rest */
    return cn_trainer_save_state(tr, path, tr->acts.state_h,
                                 tr->shard.count == tr->st.cfg.batch
                                     ? cn_state_values(&tr->model->shape, tr->acts.B)
                                     : 0,
                                 err);
}

/* ------------------------------------------------------------------------- */
/* The public trainer: a handle over cn_trainer_init, which owns its model. */

/* Refuses a run that cannot fit in this machine's memory, before anything
 * large is allocated. */
static int check_memory(const CnShape *shape, const CnTrainConfig *cfg, int threads, CnError *err)
{
    size_t need = cn_trainer_bytes(shape, cfg, threads);
    uint64_t have = cn_physical_memory();
    if (need && (!have || need <= have))
        return 0;
    if (need)
        cn_errorf(err, "this run needs %zu MiB of memory for parameters, gradients, optimizer "
                  "state and activations, but this machine has %llu MiB; use a smaller 'hidden', "
                  "'layers', 'batch' or 'seq-length'", need >> 20, (unsigned long long)(have >> 20));
    else
        cn_errorf(err, "this run needs more memory than a 64-bit machine can address; use a "
                  "smaller 'hidden', 'layers', 'batch' or 'seq-length'");
    return -1;
}

/* A trainer owning model (freed on failure) with state st. A model that
 * comes from a checkpoint must first be checked against the text and the
 * machine's memory (fits), or grown for the text (grow); a new one was made
 * for both. */
static CnTrainer *start(CnModel *model, const CnText *text, CnTrainState *st, int resume,
                        int threads, const CnShard *shard, CnError *err)
{
    CnTrainer *tr = malloc(sizeof *tr);
    if (!tr) {
        cn_errorf(err, "out of memory setting up training");
    } else if (cn_trainer_init(tr, model, text, st, resume, threads, shard, err) != 0) {
        free(tr);
        tr = NULL;
    }
    cn_train_state_free(st);
    if (!tr) {
        cn_model_free(model);
        return NULL;
    }
    tr->own_model = 1;
    return tr;
}

CnTrainer *cn_trainer_new(const CnText *text, CnCell cell, int hidden, int layers,
                          const CnTrainConfig *cfg, int threads, const CnShard *shard,
                          CnError *err)
{
    CnTrainer probe; /* a text too short for the layout fails before anything is made */
    CnVocab vocab;
    if (cn_config_check(cfg, err) != 0)
        return NULL;
    if (cfg->batch < 1 || cfg->seq_length < 1) {
        cn_errorf(err, "batch %d and seq-length %d must be at least 1", cfg->batch,
                  cfg->seq_length);
        return NULL;
    }
    if (layout(text, cfg, &probe, err) != 0 || cn_vocab_build(&vocab, text, err) != 0)
        return NULL;
    CnShape shape = {cell, vocab.size, hidden, layers};
    CnModel *m = malloc(sizeof *m);
    if (!m || cn_shape_check(&shape, err) != 0 || check_memory(&shape, cfg, threads, err) != 0 ||
        cn_model_init(m, cell, hidden, layers, &vocab, err) != 0) {
        if (!m)
            cn_errorf(err, "out of memory");
        cn_vocab_release(&vocab);
        free(m);
        return NULL;
    }
    CnTrainState st;
    memset(&st, 0, sizeof st);
    st.cfg = *cfg;
    cn_rng_seed(&st.rng, cfg->seed); /* the weights, then dropout, from one stream */
    if (cn_model_randomize(m, cfg->init, &st.rng, err) != 0) {
        cn_model_free(m);
        return NULL;
    }
    return start(m, text, &st, 0, threads, shard, err);
}

/* A resumed run's model can train on text, within the machine's memory: a
 * resumed run keeps its vocabulary, which must hold every character. */
static int fits(const CnModel *m, const CnText *text, const CnTrainConfig *cfg, int threads,
                CnError *err)
{
    size_t at;
    uint32_t cp;
    if (cn_vocab_missing(&m->vocab, text, &at, &cp)) {
        char what[32];
        cn_describe_char(cp, what);
        cn_errorf(err, "the corpus: character %s at byte %zu is not in the checkpoint's vocabulary "
                  "of %d characters, which a resumed run keeps; start a new run from its weights "
                  "instead ('init-from'), which adds the new characters",
                  what, at, m->vocab.size);
        return -1;
    }
    return check_memory(&m->shape, cfg, threads, err);
}

/* A checkpoint's model *m made ready for a new run on text, within the
 * machine's memory: its vocabulary grows by the characters text adds (in
 * increasing order still); their input and output weights are those a new
 * model of the grown shape starts with (cfg->init, drawn from rng as
 * cn_trainer_new draws them), every other weight the checkpoint's. */
static int grow(CnModel **m, const CnText *text, const CnTrainConfig *cfg, CnRng *rng,
                int threads, CnError *err)
{
    CnModel *old = *m;
    CnVocab seen, all;
    if (cn_vocab_build(&seen, text, err) != 0)
        return -1;
    int rc = cn_vocab_union(&all, &old->vocab, &seen, err);
    cn_vocab_release(&seen);
    if (rc != 0)
        return -1;
    CnShape shape = old->shape;
    shape.vocab = all.size;
    rc = check_memory(&shape, cfg, threads, err);
    if (rc != 0 || all.size == old->vocab.size) {
        cn_vocab_release(&all);
        return rc; /* too big, or nothing to add */
    }
    CnModel *grown = malloc(sizeof *grown);
    rc = !grown ? -1 : cn_model_init(grown, shape.cell, shape.hidden, shape.layers, &all, err);
    cn_vocab_release(&all); /* the grown model's now, or not needed */
    if (rc != 0) {
        if (!grown)
            cn_errorf(err, "out of memory");
        free(grown);
        return -1;
    }
    if (cn_model_randomize(grown, cfg->init, rng, err) != 0) {
        cn_model_free(grown);
        return -1;
    }
    cn_model_transplant(grown, old);
    cn_model_free(old);
    *m = grown;
    return 0;
}

/* The checkpoint's model, moved into a handle of its own. */
static CnModel *take_model(CnCheckpoint *ck, CnError *err)
{
    CnModel *m = malloc(sizeof *m);
    if (!m) {
        cn_errorf(err, "out of memory");
        return NULL;
    }
    *m = ck->model;
    memset(&ck->model, 0, sizeof ck->model);
    cn_view_init(&m->w, &m->shape, m->params);
    return m;
}

CnTrainer *cn_trainer_from(CnCheckpoint *ck, const CnText *text, const CnTrainConfig *cfg,
                           int threads, const CnShard *shard, CnError *err)
{
    CnTrainConfig run = *cfg; /* cfg may be the checkpoint's own, emptied below */
    CnModel *m = take_model(ck, err);
    cn_train_state_free(&ck->st);
    CnTrainState st;
    memset(&st, 0, sizeof st);
    st.cfg = run;
    cn_rng_seed(&st.rng, run.seed); /* new characters' weights, if any, then dropout */
    if (!m || cn_config_check(&run, err) != 0 ||
        grow(&m, text, &run, &st.rng, threads, err) != 0) {
        cn_model_free(m);
        return NULL;
    }
    return start(m, text, &st, 0, threads, shard, err);
}

CnTrainer *cn_trainer_resume(CnCheckpoint *ck, const CnText *text, const CnTrainConfig *cfg,
                             int threads, const CnShard *shard, CnError *err)
{
    CnTrainConfig run = *cfg; /* cfg may be the checkpoint's own, emptied below */
    CnModel *m = take_model(ck, err);
    CnTrainState st = ck->st;
    memset(&ck->st, 0, sizeof ck->st);
    if (!m || cn_config_check(&run, err) != 0 || fits(m, text, &run, threads, err) != 0) {
        cn_model_free(m);
        cn_train_state_free(&st);
        return NULL;
    }
    st.cfg = run;
    return start(m, text, &st, 1, threads, shard, err);
}

int cn_trainer_validate(CnTrainer *tr, double *loss, CnError *err)
{
    CnProgress *p = &tr->st.p;
    err->msg[0] = '\0';
    double v = cn_trainer_val_loss(tr, err);
    *loss = p->val_loss = v;
    if (isnan(v))
        return err->msg[0] ? -1 : 0; /* no validation text, or a model gone non-finite */
    if (isinf(v))
        return 0; /* never the best */
    if (!(v < p->best_val_loss) && !isnan(p->best_val_loss))
        return 0;
    p->best_val_loss = v;
    p->best_iteration = p->iteration;
    return 1;
}

const CnReal *cn_trainer_carried(const CnTrainer *tr, size_t *len)
{
    *len = cn_state_values(&tr->model->shape, tr->acts.B);
    return tr->acts.state_h;
}

CnTrainStatus cn_trainer_status(const CnTrainer *tr)
{
    const CnTrainConfig *c = &tr->st.cfg;
    CnValSpan v = cn_validation_span(tr->n_val, c->batch, c->eval_chars);
    return (CnTrainStatus){.train_chars = tr->n_train, .val_chars = tr->n_val,
                           .val_evaluated = (size_t)v.streams * v.per,
                           .chunks_per_epoch = tr->chunks_per_epoch,
                           .epoch = cn_trainer_epoch(tr), .lr = tr->lr,
                           .grad_norm = tr->last_grad_norm, .threads = cn_pool_size(tr->pool)};
}

const CnProgress *cn_trainer_progress(const CnTrainer *tr)
{
    return &tr->st.p;
}

const CnTrainConfig *cn_trainer_config(const CnTrainer *tr)
{
    return &tr->st.cfg;
}

const CnModel *cn_trainer_model(const CnTrainer *tr)
{
    return tr->model;
}

void cn_trainer_set_target(CnTrainer *tr, uint64_t max_iters)
{
    tr->st.cfg.max_iters = max_iters;
}

void cn_trainer_set_time(CnTrainer *tr, double train_seconds, double budget_fraction)
{
    tr->st.p.train_seconds = train_seconds;
    tr->budget_fraction = budget_fraction;
}

void cn_trainer_branch(CnTrainer *tr, const char *where)
{
    uint64_t at[2] = {tr->st.p.run, tr->st.p.iteration};
    tr->st.p.run = (uint64_t)cn_crc32(0, at, sizeof at) << 32 | cn_crc32(0, where, strlen(where));
}

void cn_trainer_profile(CnTrainer *tr, CnProfile *profile)
{
    if (profile)
        memset(profile, 0, sizeof *profile);
    tr->acts.profile = profile;
}

void cn_trainer_free(CnTrainer *tr)
{
    if (!tr)
        return;
    CnModel *m = tr->own_model ? tr->model : NULL;
    cn_trainer_release(tr);
    cn_model_free(m);
    free(tr);
}
