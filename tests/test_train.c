/* SPDX-License-Identifier: MIT */
/*
 * Training end to end through the library: every cell kind learns a small
 * repetitive corpus; a run stopped, saved and resumed is bit-identical to
 * an uninterrupted one (every optimizer, with dropout, across epoch
 * boundaries); a diverging step changes nothing; evaluation does not
 * depend on how the text is chunked; validation reads all of the tail or
 * a fixed part of it, spread over it.
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "tempdir.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>

static char dir[200]; /* check_temp_dir says so if TMPDIR is too long */
static int threads = 2; /* results must not depend on it: see test_threads */

/* A corpus of `reps` copies of a line, in a static buffer. */
static const char *repeat(const char *line, int reps)
{
    static char buf[1 << 16];
    size_t len = strlen(line), n = 0;
    for (int i = 0; i < reps && n + len < sizeof buf; i++, n += len)
        memcpy(buf + n, line, len);
    buf[n] = '\0';
    return buf;
}

static int scheduled; /* config(): a cosine schedule, warm-up, random truncation */

static CnTrainConfig config(CnOptimKind kind, double lr, double dropout)
{
    CnTrainConfig c = {.batch = 4, .seq_length = 8,
                       .optim = {kind, lr, 0.9, 0.9, 0.999, 1e-8, 0.95},
                       .clip_value = 5, .clip_norm = 5, .dropout = dropout,
                       .val_frac = 0.1, .seed = 7, .lr_decay = 0.97, .lr_decay_after = 10,
                       .bptt_random = 1};
    if (scheduled) {
        c.schedule = CN_LR_COSINE, c.warmup = 10, c.lr_min = lr / 20, c.max_iters = 60;
        c.bptt_random = 0.7, c.init = CN_INIT_ORTHOGONAL;
    }
    return c;
}

/* A fresh model and trainer over text; returns 0 on success. */
static int start(CnTrainer *tr, CnModel *m, const CnText *text, CnCell cell, int hidden,
                 int layers, CnTrainConfig cfg)
{
    CnError err;
    CnVocab vocab;
    CnTrainState st;
    memset(&st, 0, sizeof st);
    st.cfg = cfg;
    cn_rng_seed(&st.rng, cfg.seed);
    /* a set-up that fails is a failed check, never a silent return */
    if (cn_vocab_build(&vocab, text, &err) != 0 ||
        cn_model_init(m, cell, hidden, layers, &vocab, &err) != 0 ||
        cn_model_randomize(m, cfg.init, &st.rng, &err) != 0) {
        CHECK(0, "set-up of a %s model: %s", cn_name_of(cn_cell_names, cell), err.msg);
        return -1;
    }
    if (cn_trainer_init(tr, m, text, &st, 0, threads, NULL, &err) != 0) {
        CHECK(0, "set-up of a %s trainer: %s", cn_name_of(cn_cell_names, cell), err.msg);
        cn_model_release(m);
        return -1;
    }
    return 0;
}

/* Whole file into a malloc'd buffer; returns its length (0 if unreadable). */
static size_t read_file(const char *path, unsigned char **out)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0, cap = 1 << 16;
    *out = malloc(cap);
    if (!f)
        return 0;
    for (size_t got; (got = fread(*out + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap)
            *out = realloc(*out, cap *= 2);
    }
    fclose(f);
    return n;
}

/* n steps; a step that fails is a failed check (the tests' runs never
 * diverge), reported once */
static void steps(CnTrainer *tr, int n)
{
    double loss;
    for (int i = 0; i < n; i++) {
        CnStepResult r = cn_trainer_step(tr, &loss);
        if (r != CN_STEP_OK) {
            CHECK(0, "set-up: step %d of %d returned %d (loss %g)", i + 1, n, (int)r, loss);
            return;
        }
    }
}

static void test_learning(void)
{
    /* Every character after the first few is determined by the ones before,
     * so the loss can approach 0; 300 Adam steps at lr 1e-2 take every cell
     * from ln 9 = 2.2 to well under 0.1 (measured: 0.004 to 0.03). */
    const char *corpus = repeat("hello world\n", 300);
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, strlen(corpus), "hello", &err);
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    for (int k = 0; k < 4; k++) {
        CnTrainer tr;
        CnModel m;
        if (start(&tr, &m, &text, cells[k], 32, 1, config(CN_ADAM, 1e-2, 0)) != 0)
            continue;
        steps(&tr, 300);
        double val = cn_trainer_val_loss(&tr, &err);
        CHECK(tr.st.p.last_loss < 0.1 && val < 0.1,
              "%s learns 'hello world' in 300 steps: train loss %.4f, validation %.4f (< 0.1)",
              cn_name_of(cn_cell_names, cells[k]), tr.st.p.last_loss, val);
        cn_trainer_release(&tr);
        cn_model_release(&m);
    }
    cn_text_release(&text);
}

/* 60 steps straight vs 20, save, load, resume, 40: identical bits. */
static void resume_case(const CnText *text, CnCell cell, CnOptimKind kind, double dropout)
{
    CnError err;
    CnTrainer a, b;
    CnModel ma, mb;
    CnTrainConfig cfg = config(kind, kind == CN_SGD ? 0.5 : 1e-2, dropout);
    char path[256];
    snprintf(path, sizeof path, "%s/resume.ckpt", dir);
    if (start(&a, &ma, text, cell, 6, 2, cfg) != 0 || start(&b, &mb, text, cell, 6, 2, cfg) != 0)
        return;
    steps(&a, 60);
    steps(&b, 20);
    int saved = cn_trainer_save(&b, path, &err) == 0;
    cn_trainer_release(&b);
    cn_model_release(&mb);
    CnTrainState st;
    int loaded = saved && cn_checkpoint_read(path, &mb, &st, &err) == 0 &&
                 cn_trainer_init(&b, &mb, text, &st, 1, threads, NULL, &err) == 0;
    if (!loaded) {
        CHECK(0, "resume %s %s: %s", cn_name_of(cn_cell_names, cell), cn_name_of(cn_optim_names, kind), err.msg);
        cn_trainer_release(&a);
        cn_model_release(&ma);
        return;
    }
    steps(&b, 40);
    size_t nstate = b.acts.nmemory ? (size_t)2 * 2 * 4 * 6 : 0;
    if (cell == CN_RNN || cell == CN_GRU)
        nstate /= 2;
    CHECK(a.st.p.epoch >= 2 &&
              memcmp(ma.params, mb.params, ma.nparams * sizeof(CnReal)) == 0 &&
              (kind == CN_SGD || /* no state: memcmp of NULL is undefined even for 0 bytes */
               memcmp(a.optim.state, b.optim.state,
                      a.optim.n * cn_optim_slots(kind) * sizeof(CnReal)) == 0) &&
              memcmp(a.acts.state_h, b.acts.state_h, nstate * sizeof(CnReal)) == 0 &&
              memcmp(&a.st.rng, &b.st.rng, sizeof a.st.rng) == 0 &&
              a.st.p.iteration == b.st.p.iteration && a.st.p.chunk == b.st.p.chunk &&
              a.st.p.smooth_loss == b.st.p.smooth_loss,
          "%s %s dropout %.1f%s: 60 steps straight = 20, save, resume, 40 (bit-identical "
          "parameters, optimizer, state, RNG; %llu epochs crossed)",
          cn_name_of(cn_cell_names, cell), cn_name_of(cn_optim_names, kind), dropout,
          scheduled ? ", cosine + warm-up + bptt-random 0.7" : "", (unsigned long long)a.st.p.epoch);
    cn_trainer_release(&a);
    cn_trainer_release(&b);
    cn_model_release(&ma);
    cn_model_release(&mb);
}

static void test_resume(void)
{
    /* 22 chunks per epoch: (900 - 90 - 1) / 4 / 8 */
    const char *corpus = repeat("the quick brown fox jumps over the lazy dog\n", 21);
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, 900, "fox", &err);
    for (int kind = CN_SGD; kind <= CN_ADAM; kind++)
        resume_case(&text, CN_LSTM, (CnOptimKind)kind, 0.3);
    resume_case(&text, CN_RNN, CN_ADAM, 0);
    resume_case(&text, CN_PEEPHOLE, CN_RMSPROP, 0.5);
    resume_case(&text, CN_GRU, CN_NESTEROV, 0.3);
    scheduled = 1; /* cosine with warm-up, random truncation, orthogonal init */
    resume_case(&text, CN_LSTM, CN_ADAM, 0.2);
    scheduled = 0;
    cn_text_release(&text);
}

static void test_data_position(void)
{
    const char *corpus = repeat("abcdefghij", 50); /* 500 chars, 450 for training */
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, strlen(corpus), "letters", &err);
    CnTrainer tr;
    CnModel m;
    if (start(&tr, &m, &text, CN_LSTM, 4, 1, config(CN_ADAM, 1e-3, 0)) != 0)
        return;
    /* streams of (450 - 1) / 4 = 112 predictions, starting at 0, 112, 224, 336 */
    double loss;
    cn_trainer_step(&tr, &loss);
    int first_ok = 1;
    for (int b = 0; b < 4; b++)
        first_ok &= (int)m.vocab.chars[tr.ids[b]] == 'a' + (b * 112) % 10 &&
                    (int)m.vocab.chars[tr.targets[b]] == 'a' + (b * 112 + 1) % 10;
    CHECK(tr.stream_len == 112 && tr.chunks_per_epoch == 14 && first_ok,
          "the first iteration starts every stream at its first character");
    cn_trainer_step(&tr, &loss);
    int next_ok = (int)m.vocab.chars[tr.ids[0]] == 'a' + 8 % 10;
    CHECK(next_ok, "the next chunk starts where the last one's targets ended");
    cn_trainer_release(&tr);
    cn_model_release(&m);
    cn_text_release(&text);
}

static void test_divergence(void)
{
    const char *corpus = repeat("hello world\n", 60);
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, strlen(corpus), "hello", &err);
    CnTrainer tr;
    CnModel m;
    CnTrainConfig cfg = config(CN_SGD, 1e30, 0);
    cfg.clip_value = cfg.clip_norm = 0;
    if (start(&tr, &m, &text, CN_RNN, 8, 1, cfg) != 0)
        return;
    CnReal *before = malloc(m.nparams * sizeof *before);
    CnStepResult res = CN_STEP_OK;
    uint64_t it = 0;
    CnRng rng_before;
    for (int i = 0; i < 20 && res == CN_STEP_OK; i++) {
        memcpy(before, m.params, m.nparams * sizeof *before);
        rng_before = tr.st.rng;
        it = tr.st.p.iteration;
        double loss;
        res = cn_trainer_step(&tr, &loss);
    }
    CHECK(res == CN_STEP_DIVERGED && it == 1,
          "an absurd learning rate is caught at the second step (loss 1e29 > %g)", CN_LOSS_LIMIT);
    CHECK(memcmp(before, m.params, m.nparams * sizeof *before) == 0 &&
              tr.st.p.iteration == it && memcmp(&rng_before, &tr.st.rng, sizeof rng_before) == 0,
          "the failed step left parameters, iteration and RNG as they were");
    /* a save with a non-finite parameter is refused and the old file stays */
    char path[256];
    snprintf(path, sizeof path, "%s/nan.ckpt", dir);
    memcpy(m.params, before, m.nparams * sizeof *before);
    int saved = cn_trainer_save(&tr, path, &err) == 0;
    unsigned char *old_bytes = NULL, *new_bytes = NULL;
    size_t old_len = read_file(path, &old_bytes);
    m.params[m.nparams / 2] = NAN;
    int refused = cn_trainer_save(&tr, path, &err) != 0 && strstr(err.msg, "not overwriting");
    size_t new_len = read_file(path, &new_bytes);
    CHECK(saved && refused && old_len > 0 && new_len == old_len &&
              memcmp(old_bytes, new_bytes, old_len) == 0,
          "a non-finite parameter is never saved, and the last good checkpoint stays: %s",
          err.msg);
    free(old_bytes);
    free(new_bytes);
    free(before);
    cn_trainer_release(&tr);
    cn_model_release(&m);

    /* a learning rate that is infinite in float: loss and gradient are fine,
     * the update is not; caught at once rather than at the next save */
    cfg.optim.lr = 1e300;
    if (start(&tr, &m, &text, CN_RNN, 8, 1, cfg) == 0) {
        double loss;
        CHECK(cn_trainer_step(&tr, &loss) == CN_STEP_DIVERGED && tr.st.p.iteration == 0,
              "an update that makes parameters infinite is reported at its own step");
        cn_trainer_release(&tr);
        cn_model_release(&m);
    }
    cn_text_release(&text);
}

static void test_evaluate(void)
{
    const char *corpus = repeat("to be or not to be\n", 10);
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, strlen(corpus), "hamlet", &err);
    CnTrainer tr;
    CnModel m;
    if (start(&tr, &m, &text, CN_GRU, 8, 2, config(CN_ADAM, 1e-2, 0)) != 0)
        return;
    steps(&tr, 30);
    size_t c1, c7, c64;
    double l1 = cn_evaluate_span(&m, &text, 0, text.nchars, 1, 1, NULL, NULL, NULL, &c1, &err);
    double l7 = cn_evaluate_span(&m, &text, 0, text.nchars, 1, 7, NULL, NULL, NULL, &c7, &err);
    double l64 = cn_evaluate_span(&m, &text, 0, text.nchars, 1, 64, NULL, NULL, NULL, &c64, &err);
    CHECK(c1 == text.nchars - 1 && c7 == c1 && c64 == c1,
          "one stream scores all N-1 = %zu predictions", text.nchars - 1);
    CHECK(fabs(l1 - l7) < 1e-6 * l1 && fabs(l1 - l64) < 1e-6 * l1,
          "the loss does not depend on the chunk length (%.9f, %.9f, %.9f)", l1, l7, l64);
    cn_trainer_release(&tr);
    cn_model_release(&m);
    cn_text_release(&text);
}

/* Validation (cn_validation_loss, cn_trainer_validate): with eval_chars 0
 * the whole tail as B streams end to end, as it always was; with
 * eval_chars N, B streams spread over the tail predicting N/B each, the
 * same value every time, the mean of those streams scored one by one. */
static void test_validation(void)
{
    const char *corpus = repeat("The quick brown fox jumps over the lazy dog; then it sleeps.\n", 60);
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, strlen(corpus), "fox", &err);
    CnTrainConfig cfg = config(CN_ADAM, 1e-2, 0);
    cfg.val_frac = 0.25;
    CnTrainer tr;
    CnModel m;
    if (start(&tr, &m, &text, CN_LSTM, 8, 1, cfg) != 0)
        return;
    steps(&tr, 20);
    size_t n_val = (size_t)((double)text.nchars * cfg.val_frac), from = text.nchars - n_val;
    size_t c_all, c_span, c_part, c_again, c_big;
    double v_tr, v_part;
    cn_trainer_validate(&tr, &v_tr, &err);
    double v_all = cn_validation_loss(&m, &text, &cfg, 1, &c_all, &err);
    double v_span = cn_evaluate_span(&m, &text, from, n_val, cfg.batch, cfg.seq_length, NULL, NULL,
                                     NULL, &c_span, &err);
    CHECK(v_tr == v_all && v_all == v_span && c_all == c_span && c_all > n_val - 8,
          "eval-chars 0: the whole tail, %zu predictions, as before (%.9f, %.9f, %.9f)", c_all,
          v_tr, v_all, v_span);
    CnTrainConfig part = cfg;
    part.eval_chars = 200;
    double v_p = cn_validation_loss(&m, &text, &part, 2, &c_part, &err);
    double v_again = cn_validation_loss(&m, &text, &part, 1, &c_again, &err);
    /* the same by hand: stream b from from + b (n_val - 1)/B, 50 predictions each */
    size_t stride = (n_val - 1) / (size_t)cfg.batch;
    double sum = 0;
    for (int b = 0; b < cfg.batch; b++) {
        size_t c;
        sum += 50 * cn_evaluate_span(&m, &text, from + (size_t)b * stride, 51, 1, cfg.seq_length,
                                     NULL, NULL, NULL, &c, &err);
    }
    CHECK(c_part == 200 && v_p == v_again && fabs(v_p - sum / 200) < 1e-6 * v_p &&
              fabs(v_p - v_all) > 1e-9,
          "eval-chars 200: 4 streams of 50 spread over the tail, the same every time and on any "
          "threads, the mean of the streams scored alone (%.9f, %.9f)", v_p, sum / 200);
    part.eval_chars = n_val;
    double v_big = cn_validation_loss(&m, &text, &part, 1, &c_big, &err);
    CHECK(v_big == v_all && c_big == c_all, "eval-chars at least the tail: the whole tail");
    cn_trainer_release(&tr);
    cn_model_release(&m);
    cfg.eval_chars = 200;
    if (start(&tr, &m, &text, CN_LSTM, 8, 1, cfg) != 0)
        return;
    steps(&tr, 20);
    cn_trainer_validate(&tr, &v_part, &err);
    CHECK(v_part == cn_validation_loss(&m, &text, &cfg, 1, &c_part, &err) &&
              cn_trainer_status(&tr).val_evaluated == 200,
          "a run of eval-chars 200 validates on those 200 (%.9f)", v_part);
    cn_trainer_release(&tr);
    cn_model_release(&m);
    cn_text_release(&text);
}

/* The same run on 1, 2 and 3 threads: identical bits (work is split only
 * along outputs). Every cell kind, with dropout and a partial last panel. */
static void test_threads(void)
{
    const char *corpus = repeat("It is a truth universally acknowledged, that a single man\n", 40);
    CnText text;
    CnError err;
    cn_text_wrap(&text, corpus, strlen(corpus), "austen", &err);
    const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    for (int k = 0; k < 4; k++) {
        CnReal *first = NULL;
        size_t n = 0;
        int same = 1;
        for (int t = 1; t <= 3; t++) {
            CnTrainer tr;
            CnModel m;
            threads = t;
            if (start(&tr, &m, &text, cells[k], 80, 2, config(CN_ADAM, 1e-2, 0.2)) != 0)
                break;
            steps(&tr, 12);
            if (!first) {
                n = m.nparams;
                first = malloc(n * sizeof *first);
                memcpy(first, m.params, n * sizeof *first);
            } else {
                same &= memcmp(first, m.params, n * sizeof *first) == 0;
            }
            cn_trainer_release(&tr);
            cn_model_release(&m);
        }
        CHECK(same && first, "%s on %s kernels: 1, 2 and 3 threads give identical parameters",
              cn_name_of(cn_cell_names, cells[k]), cn_kernels_name());
        free(first);
    }
    threads = 2;
    cn_text_release(&text);
}

/* A corpus of some 26,000 distinct characters (CJK, Hangul, emoji) trains,
 * validates and samples: the vocabulary and output layer scale with it. */
static void test_huge_alphabet(void)
{
    enum { DISTINCT = 30000 };
    size_t cap = (size_t)DISTINCT * 2 * 4 + 1, len = 0;
    char *buf = malloc(cap);
    CnRng rng;
    cn_rng_seed(&rng, 4);
    for (int rep = 0; rep < 2; rep++)
        for (int k = 0; k < DISTINCT; k++) {
            uint32_t cp = k < 20000 ? 0x4e00 + (uint32_t)k : k < 29500 ? 0xac00 + (uint32_t)k - 20000
                                                                        : 0x1f300 + (uint32_t)k - 29500;
            if (cn_rng_next(&rng) % 2)
                cp = 0x4e00 + (uint32_t)(cn_rng_next(&rng) % 20000); /* some repeats */
            len += (size_t)cn_utf8_encode(cp, buf + len);
        }
    CnText text;
    CnError err;
    CnTrainer tr;
    CnModel m;
    cn_text_wrap(&text, buf, len, "alphabet", &err);
    if (start(&tr, &m, &text, CN_GRU, 16, 1, config(CN_ADAM, 1e-2, 0)) != 0) {
        free(buf);
        return;
    }
    steps(&tr, 3);
    double val = cn_trainer_val_loss(&tr, &err);
    CnSampler s;
    int sampled = cn_sampler_init(&s, &m, 1, 1, &err) == 0;
    CnSampleOptions opt = {.temperature = 1, .top_k = 40};
    for (int i = 0; sampled && i < 20; i++) {
        int id = cn_sampler_next(&s, 0, &opt);
        sampled &= id >= 0 && id < m.shape.vocab;
        cn_sampler_feed_id(&s, id);
    }
    if (sampled)
        cn_sampler_release(&s);
    CHECK(m.shape.vocab > 25000 && isfinite(tr.st.p.last_loss) && isfinite(val) && sampled,
          "a %d-character alphabet trains (loss %.3f, ln V = %.3f), validates and samples",
          m.shape.vocab, tr.st.p.last_loss, log((double)m.shape.vocab));
    cn_trainer_release(&tr);
    cn_model_release(&m);
    cn_text_release(&text);
    free(buf);
}

/* Randomized truncation: with every factor 1 the gradient is the full one,
 * bit for bit; with pi = 0.5 each draw differs, and their average over
 * many draws approaches the full gradient (unbiased), its error shrinking
 * like 1/sqrt(draws). */
static void test_bptt_random(void)
{
    enum { B = 3, T = 12, H = 8, V = 6 };
    CnError err;
    CnVocab vocab;
    uint32_t *chars = malloc(V * sizeof *chars);
    for (int k = 0; k < V; k++)
        chars[k] = 'a' + (uint32_t)k;
    cn_vocab_from_chars(&vocab, chars, V, &err);
    CnModel m;
    CnActs acts;
    cn_model_init(&m, CN_LSTM, H, 1, &vocab, &err);
    cn_acts_init(&acts, &m.shape, B, T, 0, 1, CN_MUL_FP32, NULL, &err);
    CnRng rng;
    cn_rng_seed(&rng, 12);
    for (size_t i = 0; i < m.nparams; i++)
        m.params[i] = (CnReal)(cn_rng_uniform(&rng) - 0.5);
    int ids[B * T], targets[B * T];
    for (int i = 0; i < B * T; i++)
        ids[i] = (int)(cn_rng_next(&rng) % V), targets[i] = (int)(cn_rng_next(&rng) % V);
    size_t n = m.nparams;
    CnReal *full = calloc(n, sizeof *full), *g = calloc(n, sizeof *g);
    double *mean = calloc(n, sizeof *mean);
    cn_forward(&m, &acts, ids, targets, T, NULL);
    cn_backward(&m, &acts, ids, targets, full);
    acts.carry_on = 1;
    for (int i = 0; i < B * T; i++)
        acts.carry[i] = 1;
    cn_forward(&m, &acts, ids, targets, T, NULL);
    cn_backward(&m, &acts, ids, targets, g);
    CHECK(memcmp(g, full, n * sizeof *g) == 0, "bptt-random with every factor 1 is the full "
          "gradient, bit for bit");
    double norm = cn_grad_norm(full, n), err_at[2] = {0};
    const int draws[2] = {250, 4000};
    for (int d = 0, done = 0; d < 2; d++) {
        for (; done < draws[d]; done++) {
            for (int i = 0; i < B * T; i++)
                acts.carry[i] = cn_rng_uniform(&rng) < 0.5 ? 2 : 0;
            memset(g, 0, n * sizeof *g);
            cn_forward(&m, &acts, ids, targets, T, NULL);
            cn_backward(&m, &acts, ids, targets, g);
            for (size_t i = 0; i < n; i++)
                mean[i] += g[i];
        }
        double e = 0;
        for (size_t i = 0; i < n; i++) {
            double diff = mean[i] / draws[d] - full[i];
            e += diff * diff;
        }
        err_at[d] = sqrt(e) / norm;
    }
    CHECK(err_at[1] < 0.05 && err_at[1] < err_at[0] / 2,
          "bptt-random 0.5: the mean of %d draws is within %.4f of the full gradient (relative; "
          "%.4f after %d draws)", draws[1], err_at[1], err_at[0], draws[0]);
    free(full), free(g), free(mean);
    cn_acts_free(&acts);
    cn_model_release(&m);
}

/* Orthogonal initialisation: every gate block of Wh has orthonormal rows,
 * for a small and a wide layer (the rows are orthogonalised in place in
 * float, so rounding grows with H). */
static void test_orthogonal_init(void)
{
    static const int widths[] = {24, 384};
    for (int n = 0; n < 2; n++) {
        int H = widths[n];
        CnError err;
        CnVocab vocab;
        uint32_t *chars = malloc(3 * sizeof *chars);
        chars[0] = 'a', chars[1] = 'b', chars[2] = 'c';
        cn_vocab_from_chars(&vocab, chars, 3, &err);
        CnModel m;
        cn_model_init(&m, CN_GRU, H, 2, &vocab, &err);
        CnRng rng;
        cn_rng_seed(&rng, 5);
        cn_model_randomize(&m, CN_INIT_ORTHOGONAL, &rng, &err);
        double worst = 0;
        for (int l = 0; l < 2; l++)
            for (int g = 0; g < 3; g++) {
                const CnReal *w = m.w.layer[l].Wh + g * H; /* (H, H) block, row stride 3H */
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < H; j++) {
                        double dot = 0;
                        for (int k = 0; k < H; k++)
                            dot += (double)w[i * 3 * H + k] * w[j * 3 * H + k];
                        worst = fmax(worst, fabs(dot - (i == j)));
                    }
            }
        CHECK(worst < 1e-5, "orthogonal init, H = %d: every gate block W W^T = I within %.1e",
              H, worst);
        cn_model_release(&m);
    }
}

int main(void)
{
    if (!check_temp_dir(dir, sizeof dir, "train"))
        return 1;
    test_data_position();
    test_evaluate();
    test_validation();
    test_divergence();
    test_resume();
    test_learning();
    test_threads();
    test_huge_alphabet();
    test_bptt_random();
    test_orthogonal_init();
    if (check_remove_dir(dir) != 0)
        return 1;
    return check_status();
}
