/* SPDX-License-Identifier: MIT */
/*
 * The one table of settings (charnn.h, "Settings by name"): every scalar a
 * checkpoint holds, in file order, with its range; the settings among them
 * (what a caller chooses: the model's shape and its training) with their
 * default, the placeholder and line of their help. The checkpoint writes,
 * reads and checks its fields from this table; the trainer checks a
 * configuration against it; the command line builds its flags, its help,
 * the man page and charnn info from it. Each range is written here once.
 */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ROW(name_, part_, offset_, type_, names_, count_, lo_, hi_, flags_, since_, ...)          \
    {.name = name_, .part = part_, .offset = offset_, .type = type_, .names = names_,            \
     .count = count_, .lo = lo_, .hi = hi_, .flags = flags_, .since = since_, __VA_ARGS__}
#define SHAPE(name, field, ...) ROW(name, CN_IN_SHAPE, offsetof(CnShape, field), __VA_ARGS__)
#define CONF(name, field, ...) ROW(name, CN_IN_CONFIG, offsetof(CnTrainConfig, field), __VA_ARGS__)
#define PROG(name, field, ...) ROW(name, CN_IN_PROGRESS, offsetof(CnProgress, field), __VA_ARGS__)
#define STATE(name, field, ...) ROW(name, CN_IN_STATE, offsetof(CnTrainState, field), __VA_ARGS__)
enum {
    R = CN_FIELD_RESUMABLE,
    SET = CN_FIELD_SETTING,
    LO = CN_FIELD_OPEN_LO,
    HI = CN_FIELD_OPEN_HI,
    NAN_OK = CN_FIELD_NAN,
    INF_OK = CN_FIELD_INF,
    SECONDS = CN_FIELD_SECONDS,
    RECORDED = CN_FIELD_RECORDED,
};
#define U64_MAX_D 18446744073709551615.0
/*   name, where, type, enum names, count, lo, hi, flags, since the format version,
 *   then for settings: default, placeholder, help (one line), and a word it also
 *   takes (eval-chars "all": 0, the whole tail; precision "auto": cn_precision_auto) */
const CnField cn_fields[] = {
    SHAPE("model", cell, CN_F_INT, cn_cell_names, 1, 0, CN_GRU, SET, 1,
         .def = "gru", .arg = "KIND", .help = "rnn, lstm, peephole or gru"),
    SHAPE("vocab", vocab, CN_F_INT, NULL, 1, 1, 0x110000, 0, 1,
         .def = NULL),
    SHAPE("hidden", hidden, CN_F_INT, NULL, 1, 1, 1 << 24, SET, 1,
         .def = "512", .arg = "N", .help = "hidden units per layer"),
    SHAPE("layers", layers, CN_F_INT, NULL, 1, 1, CN_MAX_LAYERS, SET, 1,
         .def = "2", .arg = "N", .help = "stacked recurrent layers"),
    CONF("batch", batch, CN_F_INT, NULL, 1, 1, 1 << 20, SET, 1,
         .def = "32", .arg = "B", .help = "parallel streams per iteration"),
    CONF("seq-length", seq_length, CN_F_INT, NULL, 1, 1, 1 << 20, SET, 1,
         .def = "64", .arg = "T", .help = "steps of backpropagation through time"),
    CONF("optim", optim.kind, CN_F_INT, cn_optim_names, 1, 0, CN_ADAM, SET, 1,
         .def = "adam", .arg = "NAME", .help = "sgd, momentum, nesterov, adagrad, rmsprop or adam"),
    CONF("lr", optim.lr, CN_F_REAL, NULL, 1, 0, INFINITY, SET | R | LO, 1,
         .def = "0.003", .arg = "X", .help = "learning rate"),
    CONF("momentum", optim.momentum, CN_F_REAL, NULL, 1, 0, 1, SET | R | HI, 1,
         .def = "0.9", .arg = "M", .help = "momentum (momentum, nesterov)"),
    CONF("beta1", optim.beta1, CN_F_REAL, NULL, 1, 0, 1, SET | R | HI, 1,
         .def = "0.9", .arg = "B1", .help = "adam first-moment decay"),
    CONF("beta2", optim.beta2, CN_F_REAL, NULL, 1, 0, 1, SET | R | HI, 1,
         .def = "0.999", .arg = "B2", .help = "adam second-moment decay"),
    CONF("eps", optim.eps, CN_F_REAL, NULL, 1, 0, INFINITY, SET | R | LO, 1,
         .def = "1e-08", .arg = "E", .help = "epsilon (adagrad, rmsprop, adam)"),
    CONF("decay-rate", optim.decay_rate, CN_F_REAL, NULL, 1, 0, 1, SET | R | HI, 1,
         .def = "0.95", .arg = "R", .help = "rmsprop decay of the squared gradient"),
    CONF("clip-value", clip_value, CN_F_REAL, NULL, 1, 0, INFINITY, SET | R, 1,
         .def = "0", .arg = "V", .help = "clip each gradient to [-V, V] (min-char-rnn's: V 5 with clip-norm 0); 0 = off"),
    CONF("clip-norm", clip_norm, CN_F_REAL, NULL, 1, 0, INFINITY, SET | R, 1,
         .def = "5", .arg = "N", .help = "rescale the gradient to norm <= N (after clip-value); 0 = off"),
    CONF("dropout", dropout, CN_F_REAL, NULL, 1, 0, 1, SET | R | HI, 1,
         .def = "0.3", .arg = "P", .help = "dropout probability on each layer's output (into the next layer, and the top "
         "one's into the output layer)"),
    CONF("val-frac", val_frac, CN_F_REAL, NULL, 1, 0, 1, SET | HI, 1,
         .def = "0.1", .arg = "F", .help = "fraction of the corpus (its tail) held out for validation; 0 = none"),
    CONF("seed", seed, CN_F_U64, NULL, 1, 0, U64_MAX_D, SET, 1,
         .def = "1", .arg = "S", .help = "random seed (weights, dropout, samples)"),
    CONF("target", max_iters, CN_F_U64, NULL, 1, 0, U64_MAX_D, R, 1,
         .def = NULL),
    CONF("lr-schedule", schedule, CN_F_INT, cn_schedule_names, 1, 0, CN_LR_COSINE, SET | R, 1,
         .def = "cosine", .arg = "KIND", .help = "constant; step: x lr-decay per epoch after lr-decay-after epochs; cosine: down to "
         "lr-min over the run (its iterations, or its time budget)"),
    CONF("init", init, CN_F_INT, cn_init_names, 1, 0, CN_INIT_ORTHOGONAL, SET, 1,
         .def = "orthogonal", .arg = "KIND",
         .help = "uniform (+-1/sqrt(H)) or orthogonal (recurrent blocks orthogonal, the rest "
                 "Glorot)"),
    CONF("warmup", warmup, CN_F_U64, NULL, 1, 0, 1e15, SET | R, 1,
         .def = "100", .arg = "N", .help = "linear learning-rate warm-up over the first N iterations"),
    CONF("lr-decay", lr_decay, CN_F_REAL, NULL, 1, 0, 1, SET | R | LO, 1,
         .def = "0.97", .arg = "F", .help = "step schedule: factor per epoch"),
    CONF("lr-decay-after", lr_decay_after, CN_F_REAL, NULL, 1, 0, 1e9, SET | R, 1,
         .def = "10", .arg = "E", .help = "step schedule: epochs before the decay starts"),
    CONF("lr-min", lr_min, CN_F_REAL, NULL, 1, 0, INFINITY, SET | R, 1,
         .def = "2e-05", .arg = "X", .help = "cosine schedule: the learning rate at the end"),
    CONF("bptt-random", bptt_random, CN_F_REAL, NULL, 1, 0, 1, SET | R | LO, 1,
         .def = "1", .arg = "P", .help = "randomized truncation: the carried gradient survives each step with probability "
         "P, scaled by 1/P; 1 = off"),
    CONF("time-budget", time_budget, CN_F_REAL, NULL, 1, 0, INFINITY, SET | R | SECONDS, 1,
         .def = "0", .arg = "TIME",
         .help = "train for this long (90s, 10m, 2h), evaluations and saves included; alone (no "
                 "iters or epochs) it ends the run; 0 = no budget"),
    PROG("iteration", iteration, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    PROG("epoch", epoch, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    PROG("chunk", chunk, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    PROG("corpus-bytes", corpus_bytes, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    PROG("corpus-crc", corpus_crc, CN_F_U32, NULL, 1, 0, 4294967295.0, 0, 1,
         .def = NULL),
    PROG("smooth-loss", smooth_loss, CN_F_REAL, NULL, 1, 0, INFINITY, NAN_OK, 1,
         .def = NULL),
    PROG("last-loss", last_loss, CN_F_REAL, NULL, 1, 0, INFINITY, NAN_OK, 1,
         .def = NULL),
    PROG("val-loss", val_loss, CN_F_REAL, NULL, 1, 0, INFINITY, NAN_OK | INF_OK, 1,
         .def = NULL),
    PROG("best-val-loss", best_val_loss, CN_F_REAL, NULL, 1, 0, INFINITY, NAN_OK | INF_OK, 1,
         .def = NULL),
    PROG("train-seconds", train_seconds, CN_F_REAL, NULL, 1, 0, INFINITY, 0, 1,
         .def = NULL),
    STATE("rng", rng, CN_F_U64, NULL, 4, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    STATE("optim-t", optim_t, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    PROG("best-iteration", best_iteration, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 1,
         .def = NULL),
    PROG("run", run, CN_F_U64, NULL, 1, 0, U64_MAX_D, 0, 2,
         .def = NULL),
    CONF("precision", precision, CN_F_INT, cn_precision_names, 1, 0, CN_BF16, SET | R, 3,
         .def = "auto", .arg = "P", .help = "the products' inputs: fp32; bf16 (rounded to bfloat16, sums in fp32; emulated "
              "without AVX512_BF16); auto: bf16 only where measured faster than fp32 (so far "
              "on no CPU: fp32)", .word = "auto"),
    CONF("eval-chars", eval_chars, CN_F_U64, NULL, 1, 0, 1e15, SET, 4,
         .def = "250000", .arg = "N", .help = "validate on N characters of the held-out tail, the same every time (streams "
         "spread over it); all (or 0) = the whole tail", .word = "all"),
    /* recorded by charnn train when a time budget's plan (cn_plan_budget) chose the
       width and dropout; version 3 and older: 0 */
    CONF("plan-epochs", plan_epochs, CN_F_REAL, NULL, 1, 0, INFINITY, SET | RECORDED, 4,
         .def = "0", .arg = "E", .help = "the epochs a time budget's plan expected when it chose "
         "hidden and dropout; 0 = no plan"),
    {.name = NULL},
};
#undef ROW
#undef SHAPE
#undef CONF
#undef PROG
#undef STATE
_Static_assert(sizeof(CnCell) == sizeof(int) && sizeof(CnOptimKind) == sizeof(int) &&
                   sizeof(CnSchedule) == sizeof(int) && sizeof(CnInit) == sizeof(int) &&
                   sizeof(CnPrecision) == sizeof(int),
               "enums are stored as ints");

int cn_field_holds(const CnField *f, double x)
{
    if (isnan(x))
        return (f->flags & CN_FIELD_NAN) != 0;
    if (isinf(x))
        return (f->flags & CN_FIELD_INF) != 0;
    return (f->flags & CN_FIELD_OPEN_LO ? x > f->lo : x >= f->lo) &&
           (f->flags & CN_FIELD_OPEN_HI ? x < f->hi : x <= f->hi);
}

const CnField *cn_field_named(const char *name)
{
    for (const CnField *f = cn_fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

void *cn_field_at(const CnField *f, const CnShape *shape, const CnTrainState *st)
{
    const void *base = f->part == CN_IN_SHAPE      ? (const void *)shape
                       : f->part == CN_IN_CONFIG   ? (const void *)&st->cfg
                       : f->part == CN_IN_PROGRESS ? (const void *)&st->p
                                                   : (const void *)st;
    return (char *)base + f->offset;
}

double cn_field_value(const CnField *f, const void *v)
{
    return f->type == CN_F_INT   ? *(const int *)v
           : f->type == CN_F_U32 ? *(const uint32_t *)v
           : f->type == CN_F_U64 ? (double)*(const uint64_t *)v
                                 : *(const double *)v;
}

/* A value x (given as text) outside f's range: a message in the command
 * line's words, "lr -1 is out of range; use a value greater than 0". */
static int check_value(const CnField *f, double x, const char *text, CnError *err)
{
    if (cn_field_holds(f, x))
        return 0;
    int open_lo = (f->flags & CN_FIELD_OPEN_LO) != 0, open_hi = (f->flags & CN_FIELD_OPEN_HI) != 0;
    const char *what = f->type == CN_F_REAL ? "a value" : "a whole number";
    if (isinf(f->hi))
        cn_errorf(err, "%s %s is out of range; use %s %s %.15g", f->name, text, what,
                  open_lo ? "greater than" : "at least", f->lo);
    else
        cn_errorf(err, "%s %s is out of range; use %s in %s%.15g, %.15g%s", f->name, text, what,
                  open_lo ? "(" : "[", f->lo, f->hi, open_hi ? ")" : "]");
    return -1;
}

int cn_config_check(const CnTrainConfig *cfg, CnError *err)
{
    for (const CnField *f = cn_fields; f->name; f++) {
        if (f->part != CN_IN_CONFIG)
            continue;
        double x = cn_field_value(f, (const char *)cfg + f->offset);
        char text[32];
        snprintf(text, sizeof text, "%.15g", x);
        if (check_value(f, x, text, err) != 0)
            return -1;
    }
    return 0;
}

int cn_setting_check(const char *name, double x, CnError *err)
{
    const CnField *f = cn_field_named(name);
    char text[32];
    snprintf(text, sizeof text, "%.15g", x);
    return f ? check_value(f, x, text, err) : -1;
}

/* ------------------------------------------------------------------------- */
/* Settings by name. */

struct CnSettings {
    CnShape shape;
    CnTrainConfig cfg;
};

static const CnField *setting_named(const char *name)
{
    const CnField *f = cn_field_named(name);
    return f && (f->flags & CN_FIELD_SETTING) ? f : NULL;
}

int cn_setting_info(int i, CnSettingInfo *info)
{
    int k = -1;
    for (const CnField *f = cn_fields; f->name; f++) {
        if (!(f->flags & CN_FIELD_SETTING) || ++k != i)
            continue;
        *info = (CnSettingInfo){
            .name = f->name, .arg = f->arg, .help = f->help, .def = f->def, .word = f->word,
            .choices = f->names, .lo = f->lo, .hi = f->hi,
            .lo_open = (f->flags & CN_FIELD_OPEN_LO) != 0,
            .hi_open = (f->flags & CN_FIELD_OPEN_HI) != 0,
            .integer = f->type != CN_F_REAL, .seconds = (f->flags & CN_FIELD_SECONDS) != 0,
            .resumable = (f->flags & CN_FIELD_RESUMABLE) != 0, .model = f->part == CN_IN_SHAPE,
            .recorded = (f->flags & CN_FIELD_RECORDED) != 0};
        return 0;
    }
    return -1;
}

/* A duration: "90s", "10m", "2h", "1.5h" or plain seconds; -1 if not one. */
static double duration(const char *text)
{
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    double unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                  : !strcmp(end, "h") ? 3600 : -1;
    return end == text || unit < 0 || !(x >= 0) || !isfinite(x * unit) ? -1 : x * unit;
}

int cn_settings_set(CnSettings *s, const char *name, const char *value, CnError *err)
{
    const CnField *f = setting_named(name);
    if (!f) {
        cn_errorf(err, "there is no setting '%s'", name);
        return -1;
    }
    char *dst = (char *)(f->part == CN_IN_SHAPE ? (void *)&s->shape : (void *)&s->cfg) + f->offset;
    if (f->names) { /* an enum by its name; precision also "auto" */
        int k = cn_lookup(f->names, value);
        if (k < 0 && f->word && strcmp(value, f->word) == 0) { /* precision "auto" */
            const char *why;
            k = (int)cn_precision_auto(&s->shape, s->cfg.batch, &why);
        }
        if (k < 0) {
            char list[160] = "";
            for (const char *const *c = f->names; *c; c++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *c,
                         c[1] ? ", " : "");
            cn_errorf(err, "%s %s is not one of: %s%s%s", f->name, value, list,
                      f->word ? ", " : "", f->word ? f->word : "");
            return -1;
        }
        *(int *)dst = k;
        return 0;
    }
    double x;
    char *end = NULL;
    if (f->flags & CN_FIELD_SECONDS) {
        x = duration(value);
        if (x < 0) {
            cn_errorf(err, "%s %s is not a duration; give e.g. 90s, 10m or 2h", f->name, value);
            return -1;
        }
    } else if (f->type == CN_F_REAL) {
        errno = 0;
        x = strtod(value, &end);
        if (end == value || *end || !isfinite(x)) {
            cn_errorf(err, "%s %s is not a number; give one such as %s", f->name, value, f->def);
            return -1;
        }
    } else {
        /* a whole number: decimal digits (a sign for messages), or the word for 0 */
        const char *p = f->word && strcmp(value, f->word) == 0 ? "0" : value;
        if (*p == '+')
            p++;
        int negative = *p == '-';
        errno = 0;
        unsigned long long v = strtoull(p + negative, &end, 10);
        if (end == p + negative || *end || errno == ERANGE || p[negative] < '0' ||
            p[negative] > '9') {
            cn_errorf(err, "%s %s is not a whole number%s%s", f->name, value,
                      f->word ? " or " : "", f->word ? f->word : "");
            return -1;
        }
        x = negative ? -(double)v : (double)v;
        if (negative && v == 0)
            x = 0;
        if (check_value(f, x, value, err) != 0)
            return -1;
        if (f->type == CN_F_U64)
            *(uint64_t *)dst = v;
        else if (f->type == CN_F_U32)
            *(uint32_t *)dst = (uint32_t)v;
        else
            *(int *)dst = (int)x;
        return 0;
    }
    if (check_value(f, x, value, err) != 0)
        return -1;
    *(double *)dst = x;
    return 0;
}

void cn_field_text(const CnField *f, const void *v, char *out, size_t n)
{
    if (f->names) {
        int i = *(const int *)v, k = 0;
        while (f->names[k] && k < i)
            k++;
        snprintf(out, n, "%s", i >= 0 && f->names[k] && k == i ? f->names[k] : "?");
    } else if (f->type == CN_F_U64) {
        uint64_t u = *(const uint64_t *)v;
        if (u == 0 && f->word)
            snprintf(out, n, "%s", f->word);
        else
            snprintf(out, n, "%llu", (unsigned long long)u);
    } else if (f->flags & CN_FIELD_SECONDS) {
        snprintf(out, n, "%gs", *(const double *)v);
    } else {
        snprintf(out, n, "%.15g", cn_field_value(f, v));
    }
}

int cn_settings_get(const CnSettings *s, const char *name, char *out, size_t n)
{
    const CnField *f = setting_named(name);
    if (!f) {
        if (n)
            out[0] = 0;
        return -1;
    }
    const char *at =
        (const char *)(f->part == CN_IN_SHAPE ? (const void *)&s->shape : (const void *)&s->cfg) +
        f->offset;
    cn_field_text(f, at, out, n);
    return 0;
}

CnSettings *cn_settings_new(void)
{
    CnSettings *s = calloc(1, sizeof *s);
    CnError err;
    for (const CnField *f = cn_fields; s && f->name; f++)
        if ((f->flags & CN_FIELD_SETTING) && cn_settings_set(s, f->name, f->def, &err) != 0) {
            free(s); /* a default outside its own range (test_api checks every one) */
            return NULL;
        }
    return s;
}

void cn_settings_free(CnSettings *s)
{
    free(s);
}

CnShape *cn_settings_shape(CnSettings *s)
{
    return &s->shape;
}

CnTrainConfig *cn_settings_config(CnSettings *s)
{
    return &s->cfg;
}

CnTrainer *cn_trainer_start(const CnText *text, const CnSettings *s, int threads, CnError *err)
{
    return cn_trainer_new(text, s->shape.cell, s->shape.hidden, s->shape.layers, &s->cfg,
                          threads, NULL, err);
}

CnSettings *cn_checkpoint_settings(const CnCheckpoint *ck)
{
    CnSettings *s = cn_settings_new();
    if (s) {
        s->shape = ck->model.shape;
        if (ck->st.cfg.batch > 0) /* a model saved alone keeps the defaults */
            s->cfg = ck->st.cfg;
    }
    return s;
}
