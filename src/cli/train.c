/* SPDX-License-Identifier: MIT */
/*
 * charnn train: flags -> a model and a CnTrainer, then the loop that steps,
 * prints progress, samples, evaluates, checkpoints, and stops cleanly on
 * Ctrl-C, SIGTERM or a non-finite loss.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *model, *optim, *checkpoint, *resume, *init_from, *log, *schedule, *init,
        *precision;
    int hidden, layers, seq_length, batch, print_every, sample_length, threads, quiet, patience,
        force;
    double dropout, lr, momentum, beta1, beta2, eps, decay_rate, clip_value, clip_norm, epochs,
        val_frac, temperature, lr_decay, lr_decay_after, lr_min, bptt_random;
    uint64_t iters, eval_every, eval_chars, sample_every, seed, warmup;
    double budget; /* --time-budget in seconds; 0: none */
} TrainArgs;

/* "data/input.txt" -> "input.ckpt" (in the current directory); with
 * --resume the run goes on in its own checkpoint (cli_latest_path). */
static char *default_checkpoint(const char *corpus)
{
    const char *base = strcmp(corpus, "-") == 0 ? "stdin" : corpus;
    const char *slash = strrchr(base, '/');
    if (slash)
        base = slash + 1;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        len = (size_t)(dot - base);
    if (len == 0)
        base = "charnn", len = 6;
    char *path = malloc(len + 6);
    if (path)
        snprintf(path, len + 6, "%.*s.ckpt", (int)len, base);
    return path;
}

/* A sample for the log, drawn from a newline (or nothing) onwards. */
static void show_sample(Progress *p, const CnModel *model, uint64_t iteration, uint64_t seed,
                        int length, double temperature)
{
    CnError err;
    char *text = malloc((size_t)length * 4 + 1);
    CnSampler *s = text ? cn_sampler_new(model, seed, &err) : NULL;
    if (s && cn_model_char_index(model, '\n') >= 0)
        cn_sampler_feed(s, "\n", 1, "a newline", &err);
    CnSampleOptions opt = {.temperature = temperature};
    size_t len = 0;
    for (int i = 0; s && i < length; i++)
        len += (size_t)cn_utf8_encode(cn_sampler_draw(s, &opt), text + len);
    if (s)
        progress_sample(p, iteration, temperature, text, len);
    cn_sampler_free(s);
    free(text);
}

/* Copies a flag's value into the checkpoint field of the same name (an
 * enum's flag holds its name). */
static void flag_to_field(const Flag *flag, const CnField *f, void *dst)
{
    switch (f->type) {
    case CN_F_INT:
        *(int *)dst = flag->type == FLAG_STR ? cn_lookup(f->names, *(const char **)flag->value)
                                              : *(const int *)flag->value;
        break;
    case CN_F_U32: *(uint32_t *)dst = (uint32_t)*(const int *)flag->value; break;
    case CN_F_U64: *(uint64_t *)dst = *(const uint64_t *)flag->value; break;
    case CN_F_REAL: *(double *)dst = *(const double *)flag->value; break;
    }
}

/* The run's shape and configuration, from the flags (cn_fields names each
 * by its flag) and, with a checkpoint, from it: a flag that contradicts the
 * checkpoint's model is refused; with --resume the settings a resume may
 * change (CN_FIELD_RESUMABLE) are taken from the flags given, and a flag
 * given for one that it may not change must agree. Returns 0 or an exit
 * code. */
static int configure(const Command *cmd, const CnCheckpoint *ck, const char *path, int resume,
                     CnShape *shape, CnTrainConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (ck) {
        *shape = cn_model_shape(cn_checkpoint_model(ck));
        if (resume)
            *cfg = *cn_checkpoint_config(ck);
    }
    for (const CnField *f = cn_fields; f->name; f++) {
        Flag *flag = cli_flag(cmd, f->name);
        if (!flag || (f->part != CN_IN_SHAPE && f->part != CN_IN_CONFIG))
            continue; /* no flag of its own: --iters and --epochs decide the target */
        void *dst = (char *)(f->part == CN_IN_SHAPE ? (void *)shape : (void *)cfg) + f->offset;
        union {
            int i;
            uint32_t u;
            uint64_t u64;
            double x;
        } given;
        flag_to_field(flag, f, &given);
        size_t size = f->type == CN_F_U64 || f->type == CN_F_REAL ? 8 : 4;
        int same = memcmp(&given, dst, size) == 0;
        if (f->part == CN_IN_SHAPE && ck) {
            if (flag->set && !same) {
                char saved[64];
                snprintf(saved, sizeof saved, "%s, %d layer%s x %d", cn_cell_names[shape->cell],
                         shape->layers, shape->layers == 1 ? "" : "s", shape->hidden);
                cli_error("--%s contradicts %s, which holds a %s model; drop the flag or start "
                          "a new model", f->name, path, saved);
                return EXIT_USAGE;
            }
        } else if (!ck || !resume || (flag->set && (f->flags & CN_FIELD_RESUMABLE))) {
            memcpy(dst, &given, size);
        } else if (flag->set && !same) {
            char saved[64];
            cli_field_text(f, dst, saved, sizeof saved);
            cli_error("--%s differs from the checkpoint (%s); a resumed run keeps it; drop the "
                      "flag, or use --init-from to start a new run from the checkpoint's "
                      "weights", f->name, saved);
            return EXIT_USAGE;
        }
    }
    return 0;
}

enum { NOTE_CHARS = 10 }; /* new characters a growth note names */

/* The note of a run from checkpoint `from`, whose vocabulary was[0..n), on
 * model: "the corpus adds 3 characters to the vocabulary of x.ckpt (65 ->
 * 68): 'A', 'm', 'é'; their weights ..." (the first NOTE_CHARS, escaped),
 * malloc'd; NULL when the vocabulary did not grow (or out of memory). */
static char *growth_note(const char *from, const uint32_t *was, int n, const CnModel *model)
{
    int V = cn_model_shape(model).vocab, shown = 0;
    const uint32_t *now = cn_model_vocab(model);
    size_t cap = 2 * strlen(from) + 256 + NOTE_CHARS * 12, len = 0;
    char *note = V > n ? malloc(cap) : NULL;
    if (!note)
        return NULL;
    char added[32], before[32], after[32];
    len += (size_t)snprintf(note, cap, "the corpus adds %s character%s to the vocabulary of %s "
                            "(%s -> %s): ", cli_count((uint64_t)(V - n), added),
                            V - n == 1 ? "" : "s", from, cli_count((uint64_t)n, before),
                            cli_count((uint64_t)V, after));
    for (int j = 0, k = 0; j < V && shown < NOTE_CHARS; j++) {
        if (k < n && was[k] == now[j]) { /* both increase */
            k++;
            continue;
        }
        char buf[8];
        len += (size_t)snprintf(note + len, cap - len, "%s'%s'", shown++ ? ", " : "",
                                cli_escape(now[j], 0, buf));
    }
    if (V - n > shown)
        len += (size_t)snprintf(note + len, cap - len, " and %s more",
                                cli_count((uint64_t)(V - n - shown), added));
    snprintf(note + len, cap - len, "; their weights start as a new model's, the rest are %s's",
             from);
    return note;
}

/* A new run with a time budget alone, and the width or the dropout not
 * given: both chosen for the budget on this machine (cn_plan_budget; rank
 * 0's choice on every rank), and the choice recorded in cfg. */
static int plan_budget(const Command *cmd, const TrainArgs *a, const CnText *text,
                       CnShape *shape, CnTrainConfig *cfg, CnPlan *plan)
{
    CnError err;
    int hidden_given = cli_flag(cmd, "hidden")->set, ok[1] = {1};
    if (cli_comm.rank == 0) {
        int threads = cli_flag(cmd, "threads")->set ? a->threads : cn_cpu_count();
        if (cli_flag(cmd, "threads")->set && threads > cn_cpu_count())
            threads = cn_cpu_count();
        ok[0] = cn_plan_budget(text, shape->cell, shape->layers, hidden_given ? shape->hidden : 0,
                               cfg, a->budget, threads, plan, &err) == 0;
    }
    comm_broadcast(ok, 1);
    if (!ok[0]) {
        if (cli_comm.rank == 0)
            cli_error("%s", err.msg);
        return EXIT_ERROR;
    }
    double got[3] = {plan->hidden, plan->dropout, plan->epochs};
    comm_broadcast_doubles(got, 3);
    shape->hidden = (int)got[0];
    if (!cli_flag(cmd, "dropout")->set)
        cfg->dropout = got[1];
    cfg->plan_epochs = got[2];
    return EXIT_OK;
}

/* The trainer: a new model, the weights of --init-from, or the run of
 * --resume, on the threads that help and this rank's share of the batch;
 * with --init-from, *note says how the vocabulary grew (growth_note);
 * *precision_why, why --precision auto chose as it did (NULL: not auto).
 * Returns 0 or an exit code. */
static int setup(const Command *cmd, const TrainArgs *a, const CnText *text, CnShard *shard,
                 CnTrainer **tr, char **note, const char **precision_why, CnPlan *plan)
{
    CnError err;
    CnCheckpoint *ck = NULL;
    const char *from = a->resume ? a->resume : a->init_from;
    if (from && !(ck = cn_checkpoint_load(from, &err))) {
        cli_error("%s", err.msg);
        return EXIT_ERROR;
    }
    /* the checkpoint's vocabulary, to see what the run adds to it */
    int nwas = ck ? cn_model_shape(cn_checkpoint_model(ck)).vocab : 0;
    uint32_t *was = a->init_from ? malloc((size_t)nwas * sizeof *was) : NULL;
    if (was)
        memcpy(was, cn_model_vocab(cn_checkpoint_model(ck)), (size_t)nwas * sizeof *was);
    CnShape shape = {0};
    CnTrainConfig cfg;
    int rc = configure(cmd, ck, from, a->resume != NULL, &shape, &cfg);
    if (!rc && (!a->resume || cli_flag(cmd, "precision")->set)) /* a resume keeps its own */
        cfg.precision = cli_precision(a->precision, &shape, cfg.batch, precision_why);
    if (!rc && !from && a->budget > 0 && !cli_flag(cmd, "epochs")->set && !a->iters &&
        !(cli_flag(cmd, "hidden")->set && cli_flag(cmd, "dropout")->set))
        rc = plan_budget(cmd, a, text, &shape, &cfg, plan);
    if (!rc && cfg.batch < cli_comm.size) {
        if (cli_comm.rank == 0)
            cli_error("a batch of %d streams cannot be shared by %d ranks: run at most %d "
                      "ranks%s", cfg.batch, cli_comm.size, cfg.batch,
                      a->resume ? "" : ", or give a larger --batch");
        rc = EXIT_USAGE;
    }
    if (!rc) {
        int threads = cli_threads(cli_flag(cmd, "threads")->set ? a->threads : 0, &shape,
                                  cfg.batch);
        comm_shard(cfg.batch, shard);
        *tr = a->resume      ? cn_trainer_resume(ck, text, &cfg, threads, shard, &err)
              : a->init_from ? cn_trainer_from(ck, text, &cfg, threads, shard, &err)
                             : cn_trainer_new(text, shape.cell, shape.hidden, shape.layers, &cfg,
                                              threads, shard, &err);
        if (!*tr) {
            cli_error("%s", err.msg);
            rc = EXIT_ERROR;
        } else if (was) {
            *note = growth_note(a->init_from, was, nwas, cn_trainer_model(*tr));
        }
    }
    free(was);
    cn_checkpoint_free(ck);
    return rc;
}

/* The corpus files as they were when read, to notice a change on disk (the
 * run trains on its own copy of the text either way). */
typedef struct {
    const char *const *paths;
    int n;
    struct stat *at_start; /* (n) */
    OsFileId *id;          /* (n) */
} Corpus;

static void corpus_note(Corpus *c, const char *const *paths, int n)
{
    c->paths = paths;
    c->n = n;
    c->at_start = calloc((size_t)n, sizeof *c->at_start);
    c->id = calloc((size_t)n, sizeof *c->id);
    for (int i = 0; c->at_start && c->id && i < n; i++)
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &c->at_start[i]) != 0 ||
            os_file_id(paths[i], &c->id[i]) != 0)
            c->at_start[i].st_mode = 0; /* nothing to compare */
}

/* The first corpus file that differs on disk from when it was read. */
static const char *corpus_changed(const Corpus *c)
{
    for (int i = 0; c && c->at_start && c->id && i < c->n; i++) {
        const struct stat *a = &c->at_start[i];
        struct stat b;
        OsFileId id;
        if (!S_ISREG(a->st_mode))
            continue;
        if (stat(c->paths[i], &b) != 0 || os_file_id(c->paths[i], &id) != 0 ||
            b.st_size != a->st_size || os_mtime_ns(&b) != os_mtime_ns(a) ||
            id.volume != c->id[i].volume || id.file != c->id[i].file)
            return c->paths[i];
    }
    return NULL;
}

/* Appends s to the growing string *buf, quoted for the system's shell
 * where it needs to be (os_quote). Leaves *buf NULL when out of memory. */
static void append_word(char **buf, const char *s, int quote)
{
    if (!*buf)
        return;
    size_t len = strlen(*buf), need = len + 4 * strlen(s) + 4;
    char *bigger = realloc(*buf, need);
    if (!bigger) {
        free(*buf);
        *buf = NULL;
        return;
    }
    char *p = bigger + len;
    if (len)
        *p++ = ' ';
    if (quote)
        os_quote(p, s);
    else
        strcpy(p, s);
    *buf = bigger;
}

/* A training run in progress, as the loop sees it. */
typedef struct {
    CnTrainer *tr;
    const TrainArgs *a;
    const CnModel *model;
    const CnShard *shard;    /* this rank's streams */
    Progress *pg;
    const char *corpus;      /* for messages: the first file, or "standard input" */
    const char *resume_cmd;  /* how to resume: the whole command, quoted for a shell */
    const char *ckpt;        /* the checkpoint as given, for messages */
    const char *ckpt_path;   /* the file it names: saves go there */
    const char *best;        /* where the best checkpoint is kept (validation runs) */
    const char *best_path;
    const Corpus *files;     /* the corpus files, to notice changes on disk */
    uint64_t target, start_iter; /* target 0: the time budget alone ends the run */
    double budget;           /* seconds of training allowed in all; 0: no budget */
    int patience;            /* evaluations without improvement before stopping; 0: never */
    double seconds_before;   /* training time of earlier runs (resumed) */
    double wall_start;       /* when this run's loop began */
    double train_time;       /* this run's time inside steps */
    double interval_time;    /* since the last plain progress line */
    uint64_t interval_iters;
    double chars_per_s;      /* over the last interval */
    double last_saved;       /* iteration of this run's last checkpoint; -1: none */
    int failed_saves;        /* in a row */
    int ending;              /* rank 0 found the run over (its clock decides) */
    int best_saved;          /* the best file holds the run's best (written by this run,
                                or by the run it resumes) */
    double budget_fraction;  /* of the time budget used, as rank 0's clock says; -1: none */
    const char *precision_why; /* why --precision auto chose the products' precision */
    double eval_seconds;     /* what the last validation took (rank 0); 0: none yet */
    int share_noted;         /* their share of the run was said */
    double save_seconds;     /* what the last save took */
    const CnPlan *plan;      /* the time budget's choice of width and dropout (hidden 0: none) */
} Run;

enum { MAX_FAILED_SAVES = 3 };

/* "lstm, 2 layers x 128 hidden, 65 characters, 239,297 parameters; batch 50 x
 * seq-length 50, adam lr 0.002, clip-norm 5" (banner, log, plot title) */
static void describe(const CnTrainer *tr, char *out, size_t n)
{
    const CnModel *m = cn_trainer_model(tr);
    const CnShape s = cn_model_shape(m);
    const CnTrainConfig *c = cn_trainer_config(tr);
    char params[32];
    int len = snprintf(out, n, "%s, %d layer%s x %d hidden, %d characters, %s parameters; batch "
                       "%d x seq-length %d, %s lr %g", cn_cell_names[s.cell], s.layers,
                       s.layers == 1 ? "" : "s", s.hidden, s.vocab,
                       cli_count(cn_model_params(m), params), c->batch, c->seq_length,
                       cn_optim_names[c->optim.kind], c->optim.lr);
    if (c->clip_norm > 0 && len > 0 && (size_t)len < n)
        len += snprintf(out + len, n - (size_t)len, ", clip-norm %g", c->clip_norm);
    if (c->clip_value > 0 && len > 0 && (size_t)len < n)
        len += snprintf(out + len, n - (size_t)len, ", clip-value %g", c->clip_value);
    if (c->dropout > 0 && len > 0 && (size_t)len < n)
        snprintf(out + len, n - (size_t)len, ", dropout %g", c->dropout);
}

/* Training time so far, this run's wall time since its loop began (steps,
 * evaluations, saves) plus earlier runs': what a time budget counts. */
static double run_seconds(const Run *r)
{
    return r->seconds_before + (cn_seconds() - r->wall_start);
}

/* Seconds the end of the run takes after its last step: the final
 * validation, as long as the last one took (before any, estimated from the
 * training speed: a validation is the forward pass alone, a third of a
 * training step's 6 W flops per character) and the final save, as long as
 * the last. */
static double end_seconds(const Run *r)
{
    double eval = r->eval_seconds;
    uint64_t done = cn_trainer_progress(r->tr)->iteration - r->start_iter;
    if (eval <= 0 && done > 0 && r->train_time > 0) {
        const CnTrainConfig *c = cn_trainer_config(r->tr);
        double per_char = r->train_time / ((double)done * c->batch * c->seq_length);
        eval = per_char / 3 * (double)cn_trainer_status(r->tr).val_evaluated;
    }
    return eval + r->save_seconds;
}

/* The run has reached an end: its target iteration, or its time budget
 * less the time its end takes (a 10-minute run ends within 10 minutes,
 * final validation and save included). */
static int run_over(const Run *r)
{
    return (r->target && cn_trainer_progress(r->tr)->iteration >= r->target) ||
           (r->budget > 0 && run_seconds(r) + end_seconds(r) >= r->budget);
}

static void print_banner(const Run *r)
{
    const CnTrainer *tr = r->tr;
    const CnTrainStatus ts = cn_trainer_status(tr);
    uint64_t at = cn_trainer_progress(tr)->iteration;
    char what[256], n1[32], n2[32], n3[32], n4[32], n5[32], evaluated[96] = "";
    describe(tr, what, sizeof what);
    progress_line(r->pg, "\033[1m", "charnn: %s %s", at ? "resuming" : "training", what);
    /* what each evaluation reads: a part of the tail (--eval-chars), or all of it */
    uint64_t eval_chars = cn_trainer_config(tr)->eval_chars;
    if (ts.val_chars && eval_chars && eval_chars < ts.val_chars)
        snprintf(evaluated, sizeof evaluated, "; validation on %s of them, the same each time "
                 "(--eval-chars %llu)", cli_count(ts.val_evaluated, n5),
                 (unsigned long long)eval_chars);
    else if (ts.val_chars)
        snprintf(evaluated, sizeof evaluated, "; validation on all of them");
    progress_line(r->pg, "", "  data: %s, %s characters (%s train, %s validation), %s iterations "
                  "per epoch%s", r->corpus, cli_count(ts.train_chars + ts.val_chars, n1),
                  cli_count(ts.train_chars, n2), cli_count(ts.val_chars, n3),
                  cli_count(ts.chunks_per_epoch, n4), evaluated);
    char ends[96] = "", budget[32];
    if (r->target)
        snprintf(ends, sizeof ends, " to %s (%.2f epochs)", cli_count(r->target, n2),
                 (double)r->target / (double)ts.chunks_per_epoch);
    if (r->budget > 0)
        snprintf(ends + strlen(ends), sizeof ends - strlen(ends), "%s for %s of training",
                 r->target ? ", at most" : "", cli_duration(r->budget - r->seconds_before, budget));
    char sched[96] = "";
    const CnTrainConfig *c = cn_trainer_config(tr);
    if (c->schedule != CN_LR_CONSTANT || c->warmup)
        snprintf(sched, sizeof sched, "; lr schedule %s%s", cn_schedule_names[c->schedule],
                 c->warmup ? " with warm-up" : "");
    char why[128] = "";
    if (r->precision_why)
        snprintf(why, sizeof why, " (--precision auto: %s)", r->precision_why);
    progress_line(r->pg, "", "  run: iterations %s%s%s; checkpoint %s%s%s; kernels %s with %s "
                  "products%s, %d thread%s", cli_count(at, n1), ends, sched, r->ckpt,
                  r->best ? ", best kept in " : "", r->best ? r->best : "", cn_kernels_name(),
                  cn_precision_names[c->precision], why, ts.threads, ts.threads == 1 ? "" : "s");
    if (r->plan && r->plan->hidden) {
        const CnPlan *pl = r->plan;
        char timed[256] = "", d1[32];
        size_t len = 0;
        for (int i = 0; i < pl->measured && len < sizeof timed; i++)
            len += (size_t)snprintf(timed + len, sizeof timed - len, "%s%d: %s", i ? ", " : "",
                                    pl->widths[i], cli_count((uint64_t)pl->chars_per_s[i], n1));
        progress_line(r->pg, "", "  plan: hidden %d, dropout %g for %s on this machine, %.1f epochs "
                      "expected (chars/s timed in %.1f s: %s); --hidden and --dropout choose "
                      "them yourself", pl->hidden, c->dropout, cli_duration(r->budget, d1),
                      pl->epochs, pl->seconds, timed);
    }
}

/* Saves the checkpoint. A failure leaves the previous file as it was (the
 * save is atomic); `then` says in the message what happens next. Returns 0
 * or -1. */
static int save_checkpoint(Run *r, const char *then)
{
    CnError err;
    progress_end(r->pg);
    cn_trainer_set_time(r->tr, run_seconds(r), r->budget_fraction);
    uint64_t at = cn_trainer_progress(r->tr)->iteration;
    if (!comm_same(cn_model_checksum(r->model))) {
        if (cli_comm.rank == 0)
            cli_error("the ranks' parameters differ at iteration %llu, which is a bug in charnn "
                      "(please report it); stopping without saving", (unsigned long long)at);
        r->failed_saves = MAX_FAILED_SAVES; /* no point in going on */
        return -1;
    }
    size_t len;
    CnReal *state = comm_gather_state(r->tr, r->shard, &len); /* every rank takes part */
    int ok[1] = {1};
    if (cli_comm.rank == 0) {
        ok[0] = state && cn_trainer_save_state(r->tr, r->ckpt_path, state, len, &err) == 0;
        if (!state)
            snprintf(err.msg, sizeof err.msg, "out of memory gathering the carried state");
    }
    free(state);
    comm_broadcast(ok, 1);
    if (ok[0]) {
        r->last_saved = (double)at;
        r->failed_saves = 0;
        return 0;
    }
    r->failed_saves++;
    if (cli_comm.rank == 0 && r->last_saved >= 0)
        cli_error("%s (it holds iteration %.0f); %s", err.msg, r->last_saved, then);
    else if (cli_comm.rank == 0)
        cli_error("%s; %s", err.msg, then);
    return -1;
}

/* The checkpoint just saved is the best so far: keep it as r->best too (a
 * hard link, so later saves replace the latest file, not this one; a copy
 * where links are not possible), atomic like every save. */
static void keep_best(Run *r)
{
    CnError err;
    if (cn_checkpoint_keep(r->ckpt_path, r->best_path, &err) == 0)
        r->best_saved = 1;
    else
        cli_error("%s; the best checkpoint stays as it was", err.msg);
}

static Status status_of(const Run *r, double loss, int evaluated)
{
    const CnTrainer *tr = r->tr;
    const CnProgress *p = cn_trainer_progress(tr);
    uint64_t it = p->iteration;
    double seconds = run_seconds(r), elapsed = seconds - r->seconds_before;
    double per_iter = it > r->start_iter ? elapsed / (double)(it - r->start_iter) : 0;
    double eta = r->target ? per_iter * (double)(r->target - it) : INFINITY;
    double fraction = r->target ? (double)it / (double)r->target : 0;
    if (r->budget > 0) {
        eta = fmin(eta, fmax(0, r->budget - seconds));
        fraction = fmax(fraction, seconds / r->budget);
    }
    return (Status){.iteration = it, .target = r->target, .fraction = fraction,
                    .epoch = cn_trainer_status(tr).epoch, .loss = loss, .smooth = p->smooth_loss,
                    .val_loss = p->val_loss, .evaluated = evaluated,
                    .chars_per_s = r->chars_per_s, .elapsed = elapsed, .eta = eta,
                    .seconds = seconds, .final = run_over(r)};
}

static int report_divergence(Run *r, double loss)
{
    const CnTrainer *tr = r->tr;
    char what[64];
    if (!isfinite(loss))
        snprintf(what, sizeof what, "the loss is %g", loss);
    else if (loss > CN_LOSS_LIMIT)
        snprintf(what, sizeof what, "the loss is %.3g nats/char", loss);
    else if (!isfinite(cn_trainer_status(tr).grad_norm))
        snprintf(what, sizeof what, "the gradient is not finite");
    else
        snprintf(what, sizeof what, "the update made the parameters infinite");
    progress_end(r->pg);
    if (cli_comm.rank != 0)
        return EXIT_DIVERGED;
    cli_error("training diverged at iteration %llu: %s. %s Lower --lr (now %g) or clip the "
              "gradient (--clip-norm 5).",
              (unsigned long long)cn_trainer_progress(tr)->iteration + 1, what,
              r->last_saved >= 0 ? "The last checkpoint is untouched."
                                 : "No checkpoint was written by this run.",
              cn_trainer_config(tr)->optim.lr);
    return EXIT_DIVERGED;
}

/* Validates (if there is a validation split) and saves; keeps the best. A
 * failed save is retried at the next one; MAX_FAILED_SAVES in a row stop
 * the run. */
static int evaluate_and_save(Run *r)
{
    CnTrainer *tr = r->tr;
    const CnProgress *p = cn_trainer_progress(tr);
    uint64_t it = p->iteration;
    int improved[1] = {0};
    if (cli_comm.rank == 0) {
        CnError err;
        double v, t0 = cn_seconds();
        improved[0] = cn_trainer_validate(tr, &v, &err);
        r->eval_seconds = cn_seconds() - t0;
        /* validations that take a large share of the run are said once */
        double between = it > r->start_iter && r->a->eval_every
                             ? r->train_time / (double)(it - r->start_iter) *
                                   (double)r->a->eval_every
                             : 0;
        if (!r->ending && !r->share_noted && between > 0 && r->eval_seconds >= 2 &&
            r->eval_seconds > between / 4) {
            char d1[32], d2[32], n1[32];
            r->share_noted = 1;
            progress_end(r->pg);
            cli_note("a validation (%s characters) takes %s, against %s of training between two "
                     "(--eval-every %llu); a smaller --eval-chars or a larger --eval-every "
                     "spends less on it", cli_count(cn_trainer_status(tr).val_evaluated, n1),
                     cli_duration(r->eval_seconds, d1), cli_duration(between, d2),
                     (unsigned long long)r->a->eval_every);
        }
        if (improved[0] < 0) {
            char n1[32];
            cli_error("cannot validate at iteration %s: %s; training goes on, and this "
                      "checkpoint has no validation loss", cli_count(it, n1), err.msg);
            improved[0] = 0;
        }
    }
    comm_broadcast(improved, 1);
    int last = r->ending;
    char then[96];
    if (last)
        snprintf(then, sizeof then, "this run's last iterations are not saved");
    else if (r->failed_saves + 1 >= MAX_FAILED_SAVES)
        snprintf(then, sizeof then, "stopping after %d failed saves in a row",
                 MAX_FAILED_SAVES);
    else
        snprintf(then, sizeof then, "training goes on and tries again %s",
                 r->a->eval_every ? "at the next evaluation" : "at the end");
    double t0 = cn_seconds();
    int saved = save_checkpoint(r, then);
    r->save_seconds = cn_seconds() - t0;
    if (saved != 0)
        return last || r->failed_saves >= MAX_FAILED_SAVES ? EXIT_ERROR : EXIT_OK;
    if (improved[0] && r->best && cli_comm.rank == 0)
        keep_best(r);
    char n1[32];
    if (isfinite(p->val_loss))
        progress_line(r->pg, improved[0] ? "\033[32m" : "",
                      "eval at iteration %s: val loss %.4f (%.4f bits/char)%s | saved %s",
                      cli_count(it, n1), p->val_loss, p->val_loss / log(2.0),
                      improved[0] ? ", the best so far" : "", r->ckpt);
    else
        progress_line(r->pg, "", "saved %s at iteration %s", r->ckpt, cli_count(it, n1));
    return EXIT_OK;
}

static void print_summary(const Run *r)
{
    const CnProgress *p = cn_trainer_progress(r->tr);
    char n1[32], n2[32], d1[32];
    progress_finish(r->pg);
    printf("done: %s iterations (%.2f epochs) in %s; smoothed train loss %.4f\n",
           cli_count(p->iteration, n1), cn_trainer_status(r->tr).epoch,
           cli_duration(run_seconds(r) - r->seconds_before, d1), p->smooth_loss);
    const char *pick = r->ckpt;
    if (isfinite(p->best_val_loss)) {
        pick = r->best_saved ? r->best : r->ckpt;
        printf("best validation loss %.4f (%.4f bits/char) at iteration %s, in %s; the last "
               "checkpoint (iteration %s) is %s\n",
               p->best_val_loss, p->best_val_loss / log(2.0), cli_count(p->best_iteration, n1),
               pick, cli_count(p->iteration, n2), r->ckpt);
    }
    char *hint = calloc(1, 1); /* quoted for a shell, like the resume hint */
    append_word(&hint, cli_program, 1);
    append_word(&hint, "sample", 0);
    append_word(&hint, pick, 1);
    printf("sample from it with: %s\n", hint ? hint : pick);
    free(hint);
    const char *changed = corpus_changed(r->files);
    if (changed)
        printf("note: %s changed on disk during training; this run trained on the text as it "
               "was when it started, which a --resume needs\n", changed);
    uint64_t calls;
    double during, reduce = comm_reduce_seconds(&calls, &during);
    if (calls)
        printf("%d ranks: summing the gradient (%s values) held training up %.2f ms per "
               "iteration after the backward pass, and %.2f ms starting it during the pass\n",
               cli_comm.size, cli_count(cn_model_params(r->model), n1),
               1e3 * reduce / (double)calls, 1e3 * during / (double)calls);
    fflush(stdout);
}

/* Rank 0's clock decides for every rank whether the run is over and how far
 * it is into its time budget (which a schedule may follow), so that all
 * take the same steps with the same learning rate. Returns "over". */
static int share_clock(Run *r)
{
    /* the schedule runs down over the budget's training time, its end excluded */
    double v[2] = {run_over(r),
                   r->budget > 0 ? fmin(1, run_seconds(r) / fmax(r->budget - end_seconds(r), 1e-9))
                                 : -1};
    comm_broadcast_doubles(v, 2);
    r->budget_fraction = v[1];
    cn_trainer_set_time(r->tr, run_seconds(r), r->budget_fraction);
    return v[0] != 0;
}

/* Steps until the target, an interrupt or a failure; returns the exit code. */
static int train_loop(Run *r)
{
    CnTrainer *tr = r->tr;
    const CnProgress *p = cn_trainer_progress(tr);
    const CnTrainConfig *c = cn_trainer_config(tr); /* a resumed run's, not the flags' */
    const TrainArgs *a = r->a;
    r->wall_start = cn_seconds();
    int ending = share_clock(r), stop_early[1] = {0};
    while (!ending && !stop_early[0]) {
        if (comm_signal()) { /* the same iteration on every rank */
            int sig = cli_signal ? cli_signal : SIGTERM;
            const char *lost = r->pg->lost;
            if (save_checkpoint(r, lost ? "stopping without saving" : "interrupted without saving")
                != 0)
                return EXIT_ERROR;
            char n1[32];
            if (cli_comm.rank == 0 && lost)
                cli_error("cannot write to %s (%s): saved %s at iteration %s and stopped; resume "
                          "with: %s", lost, strerror(r->pg->lost_errno), r->ckpt,
                          cli_count(p->iteration, n1), r->resume_cmd);
            else if (cli_comm.rank == 0)
                printf("interrupted at iteration %s: saved %s; resume with: %s\n",
                       cli_count(p->iteration, n1), r->ckpt, r->resume_cmd);
            fflush(stdout);
            return sig == SIGPIPE ? EXIT_ERROR : EXIT_SIGNAL + sig;
        }
        double t0 = cn_seconds(), loss;
        CnStepResult res = cn_trainer_step(tr, &loss);
        double dt = cn_seconds() - t0;
        r->train_time += dt, r->interval_time += dt, r->interval_iters++;
        if (res == CN_STEP_DIVERGED)
            return report_divergence(r, loss);
        if (res == CN_STEP_BAD_TEXT) {
            progress_end(r->pg);
            cli_error("the corpus in memory has a character outside the vocabulary at iteration "
                      "%llu, which is a bug in charnn (please report it); the last checkpoint is "
                      "untouched", (unsigned long long)p->iteration + 1);
            return EXIT_ERROR;
        }
        uint64_t it = p->iteration;
        ending = r->ending = share_clock(r);
        int print_due = it == r->start_iter + 1 || it % (uint64_t)a->print_every == 0 || ending;
        int eval_due = (a->eval_every && it % a->eval_every == 0) || ending;
        if (print_due || r->pg->tty) {
            r->chars_per_s = (double)(r->interval_iters * (uint64_t)c->batch * c->seq_length) /
                             (r->interval_time > 0 ? r->interval_time : 1e-9);
        }
        if (print_due)
            r->interval_time = 0, r->interval_iters = 0;
        if (a->sample_every && it % a->sample_every == 0 && cli_comm.rank == 0)
            show_sample(r->pg, r->model, it, c->seed ^ it, a->sample_length,
                        a->temperature);
        if (eval_due) {
            int rc = evaluate_and_save(r);
            if (rc != EXIT_OK)
                return rc;
            uint64_t since = it - p->best_iteration;
            if (cli_comm.rank == 0 && r->patience && isfinite(p->best_val_loss) &&
                !ending && since >= (uint64_t)r->patience * a->eval_every) {
                char n1[32];
                progress_line(r->pg, "", "no better validation loss in %d evaluations (since "
                              "iteration %s): stopping early", r->patience,
                              cli_count(p->best_iteration, n1));
                stop_early[0] = 1;
            }
            comm_broadcast(stop_early, 1);
            /* that evaluation took the time the final one would: if the
               budget has no room left for a step and another, it was the last */
            if (!ending && share_clock(r))
                ending = r->ending = 1;
        }
        Status st = status_of(r, loss, eval_due);
        progress_status(r->pg, &st, print_due);
        if (print_due || eval_due) {
            CnTrainStatus ts = cn_trainer_status(tr);
            log_row(r->pg, &st, ts.lr, ts.grad_norm);
        }
    }
    if (cli_comm.rank == 0)
        print_summary(r);
    if (r->pg->lost) { /* the last rows (or lines) were lost; the checkpoint was saved */
        cli_error("cannot write to %s (%s): its end is missing; the run finished and saved %s",
                  r->pg->lost, strerror(r->pg->lost_errno), r->ckpt);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    TrainArgs a = {
        /* the model, data layout, optimizer and schedule of the 7-epoch run that
           reached the lowest validation loss (README: Training for quality); a
           time budget alone chooses the width and dropout (cn_plan_budget) */
        .model = "gru", .hidden = 512, .layers = 2, .dropout = 0.3, .init = "orthogonal",
        .seq_length = 64, .batch = 32, .optim = "adam", .lr = 3e-3, .schedule = "cosine",
        .lr_min = 2e-5, .warmup = 100, .epochs = 7, .clip_norm = 5,
        .momentum = 0.9, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .decay_rate = 0.95,
        .lr_decay = 0.97, .lr_decay_after = 10, .bptt_random = 1, .precision = "auto",
        .print_every = 10, .sample_length = 200, .val_frac = 0.1, .temperature = 0.8,
        .eval_every = 1000, .eval_chars = 250000, .sample_every = 1000, .seed = 1,
        .threads = cn_cpu_count(),
    };
    const double inf = INFINITY;
    Flag flags[] = {
        {.name = "model", .type = FLAG_STR, .value = &a.model, .arg = "KIND",
         .help = "cell: rnn, lstm, peephole or gru", .choices = cn_cell_names},
        {.name = "hidden", .type = FLAG_INT, .value = &a.hidden, .arg = "N",
         .help = "hidden units per layer", .lo = 1, .hi = 1 << 24},
        {.name = "layers", .type = FLAG_INT, .value = &a.layers, .arg = "N",
         .help = "stacked recurrent layers", .lo = 1, .hi = CN_MAX_LAYERS},
        {.name = "dropout", .type = FLAG_REAL, .value = &a.dropout, .arg = "P",
         .help = "dropout probability on each layer's output (into the next layer or the "
                 "output layer)", .lo = 0, .hi = 1, .hi_open = 1},
        {.name = "seq-length", .type = FLAG_INT, .value = &a.seq_length, .arg = "T",
         .help = "steps of backpropagation through time", .lo = 1, .hi = 1 << 20},
        {.name = "batch", .type = FLAG_INT, .value = &a.batch, .arg = "B",
         .help = "parallel streams per iteration", .lo = 1, .hi = 1 << 20},
        {.name = "optim", .type = FLAG_STR, .value = &a.optim, .arg = "NAME",
         .help = "sgd, momentum, nesterov, adagrad, rmsprop or adam", .choices = cn_optim_names},
        {.name = "lr", .type = FLAG_REAL, .value = &a.lr, .arg = "X", .help = "learning rate",
         .lo = 0, .hi = inf, .lo_open = 1},
        {.name = "momentum", .type = FLAG_REAL, .value = &a.momentum, .arg = "M",
         .help = "momentum (momentum, nesterov)", .lo = 0, .hi = 1, .hi_open = 1},
        {.name = "beta1", .type = FLAG_REAL, .value = &a.beta1, .arg = "B1",
         .help = "adam first-moment decay", .lo = 0, .hi = 1, .hi_open = 1},
        {.name = "beta2", .type = FLAG_REAL, .value = &a.beta2, .arg = "B2",
         .help = "adam second-moment decay", .lo = 0, .hi = 1, .hi_open = 1},
        {.name = "eps", .type = FLAG_REAL, .value = &a.eps, .arg = "E",
         .help = "epsilon (adagrad, rmsprop, adam)", .lo = 0, .hi = inf, .lo_open = 1},
        {.name = "decay-rate", .type = FLAG_REAL, .value = &a.decay_rate, .arg = "R",
         .help = "rmsprop decay of the squared gradient", .lo = 0, .hi = 1, .hi_open = 1},
        {.name = "clip-value", .type = FLAG_REAL, .value = &a.clip_value, .arg = "V",
         .help = "clip each gradient to [-V, V]; 0 = off", .lo = 0, .hi = inf},
        {.name = "clip-norm", .type = FLAG_REAL, .value = &a.clip_norm, .arg = "N",
         .help = "rescale the gradient to norm <= N; 0 = off", .lo = 0, .hi = inf},
        {.name = "iters", .type = FLAG_U64, .value = &a.iters, .arg = "N",
         .help = "train until iteration N (overrides --epochs); 0 = use --epochs", .lo = 0,
         .hi = 1e15},
        {.name = "epochs", .type = FLAG_REAL, .value = &a.epochs, .arg = "E",
         .help = "passes over the training text", .lo = 0, .hi = 1e9, .lo_open = 1},
        {.name = "print-every", .type = FLAG_INT, .value = &a.print_every, .arg = "N",
         .help = "print the loss every N iterations", .lo = 1, .hi = 1e9},
        {.name = "sample-every", .type = FLAG_U64, .value = &a.sample_every, .arg = "N",
         .help = "print a sample every N iterations; 0 = never", .lo = 0, .hi = 1e15},
        {.name = "sample-length", .type = FLAG_INT, .value = &a.sample_length, .arg = "N",
         .help = "characters per sample in the log", .lo = 1, .hi = 1e6},
        {.name = "temperature", .type = FLAG_REAL, .value = &a.temperature, .arg = "T",
         .help = "temperature of the samples in the log", .lo = 0, .hi = inf, .lo_open = 1},
        {.name = "eval-every", .type = FLAG_U64, .value = &a.eval_every, .arg = "N",
         .help = "validate and checkpoint every N iterations; 0 = only at the end", .lo = 0,
         .hi = 1e15},
        {.name = "eval-chars", .type = FLAG_U64, .value = &a.eval_chars, .arg = "N",
         .help = "validate on N characters of the held-out tail, the same every time (streams "
                 "spread over it); all (or 0) = the whole tail", .lo = 0, .hi = 1e15,
         .zero = "all"},
        {.name = "val-frac", .type = FLAG_REAL, .value = &a.val_frac, .arg = "F",
         .help = "fraction of the corpus (its tail) held out for validation", .lo = 0, .hi = 1,
         .hi_open = 1},
        {.name = "checkpoint", .type = FLAG_STR, .value = &a.checkpoint, .arg = "PATH",
         .help = "checkpoint file (default: the corpus name + .ckpt in this directory; with "
                 "--resume, the resumed run's own)"},
        {.name = "resume", .type = FLAG_STR, .value = &a.resume, .arg = "PATH",
         .help = "continue a run exactly where its checkpoint stopped"},
        {.name = "init-from", .type = FLAG_STR, .value = &a.init_from, .arg = "PATH",
         .help = "start from a checkpoint's weights with a fresh optimizer (characters the "
                 "corpus adds join its vocabulary)"},
        {.name = "time-budget", .type = FLAG_DURATION, .value = &a.budget, .arg = "TIME",
         .help = "the run takes at most this long (90s, 10m, 2h), final validation and save "
                 "included; with no --iters or --epochs it alone ends the run"},
        {.name = "lr-schedule", .type = FLAG_STR, .value = &a.schedule, .arg = "KIND",
         .help = "constant; step: x lr-decay per epoch after lr-decay-after epochs; cosine: "
                 "down to lr-min over the run (its iterations, or its time budget)",
         .choices = cn_schedule_names},
        {.name = "warmup", .type = FLAG_U64, .value = &a.warmup, .arg = "N",
         .help = "linear learning-rate warm-up over the first N iterations", .lo = 0,
         .hi = 1e15},
        {.name = "lr-decay", .type = FLAG_REAL, .value = &a.lr_decay, .arg = "F",
         .help = "step schedule: factor per epoch", .lo = 0, .hi = 1, .lo_open = 1},
        {.name = "lr-decay-after", .type = FLAG_REAL, .value = &a.lr_decay_after, .arg = "E",
         .help = "step schedule: epochs before the decay starts", .lo = 0, .hi = 1e9},
        {.name = "lr-min", .type = FLAG_REAL, .value = &a.lr_min, .arg = "X",
         .help = "cosine schedule: the learning rate at the end", .lo = 0, .hi = inf},
        {.name = "init", .type = FLAG_STR, .value = &a.init, .arg = "KIND",
         .help = "uniform (+-1/sqrt(H)) or orthogonal (recurrent blocks orthogonal, the rest "
                 "Glorot)", .choices = cn_init_names},
        {.name = "precision", .type = FLAG_STR, .value = &a.precision, .arg = "P",
         .help = "the products' inputs: fp32; bf16 (rounded to bfloat16, sums in fp32; "
                 "emulated without AVX512_BF16); auto: bf16 only where measured faster than "
                 "fp32 (so far on no CPU: fp32)",
         .choices = cli_precision_choices},
        {.name = "bptt-random", .type = FLAG_REAL, .value = &a.bptt_random, .arg = "P",
         .help = "randomized truncation: the carried gradient survives each step with "
                 "probability P, scaled by 1/P; 1 = off", .lo = 0, .hi = 1, .lo_open = 1},
        {.name = "patience", .type = FLAG_INT, .value = &a.patience, .arg = "N",
         .help = "stop after N evaluations without a better validation loss; 0 = never",
         .lo = 0, .hi = 1e9},
        {.name = "seed", .type = FLAG_U64, .value = &a.seed, .arg = "S",
         .help = "random seed (weights, dropout, samples)", .lo = 0, .hi = 1.8e19},
        {.name = "threads", .type = FLAG_INT, .value = &a.threads, .arg = "N",
         .help = "threads; results are the same for any number (default: all processors, "
                 "fewer for small models)",
         .lo = 1, .hi = 1024},
        {.name = "log", .type = FLAG_STR, .value = &a.log, .arg = "FILE",
         .help = "append a CSV row per print interval and evaluation (see charnn plot)"},
        {.name = "quiet", .type = FLAG_SWITCH, .value = &a.quiet,
         .help = "print only errors and the final summary"},
        {.name = "force", .type = FLAG_SWITCH, .value = &a.force,
         .help = "replace a checkpoint that holds another run's model, a later point of this "
                 "run, or the --init-from source (never the corpus or a file that is not a "
                 "checkpoint)"},
        {.name = NULL},
    };
    enum { MAX_FILES = 256 };
    Command cmd = {
        .name = "train",
        .usage = "train [FILE...] [options]",
        .summary = "Train a character-level model on UTF-8 text: the FILEs joined in order "
                   "(default input.txt; - reads standard input).",
        .flags = flags,
        .min_args = 0,
        .max_args = MAX_FILES,
    };
    const char *args[MAX_FILES];
    int nargs;
    int rc;
    if ((rc = cli_parse(&cmd, argc, argv, args, &nargs)) != CLI_GO)
        return rc;
    if (a.resume && a.init_from) {
        cli_error("--resume and --init-from exclude each other; --resume continues a run, "
                  "--init-from starts a new one from its weights");
        return EXIT_USAGE;
    }
    if (!nargs)
        args[nargs++] = "input.txt";
    for (int i = 0, stdin_seen = 0; i < nargs; i++) {
        if (strcmp(args[i], "-") == 0 && stdin_seen++) {
            cli_error("standard input (-) is given twice; give it once");
            return EXIT_USAGE;
        }
    }
    /* from here on a signal is noticed (and start-up ends on it), and a
       lost output is a write error, not a death */
    cli_catch_signals();
    signal(SIGPIPE, SIG_IGN);
    const char *corpus = strcmp(args[0], "-") == 0 ? "standard input" : args[0];
    char *ckpt_owned = a.checkpoint ? NULL
                       : a.resume    ? cli_latest_path(a.resume)
                                     : default_checkpoint(args[0]);
    const char *ckpt = a.checkpoint ? a.checkpoint : ckpt_owned;
    char *best = ckpt ? cli_best_path(ckpt) : NULL;
    /* the files as given, quoted: the log's description and the resume hint */
    char *files = calloc(1, 1), *resume_cmd = calloc(1, 1), joined[300];
    for (int i = 0; i < nargs; i++)
        append_word(&files, args[i], 1);
    append_word(&resume_cmd, cli_program, 1);
    append_word(&resume_cmd, "train", 0);
    append_word(&resume_cmd, files ? files : "", 0);
    append_word(&resume_cmd, "--resume", 0);
    if (ckpt)
        append_word(&resume_cmd, ckpt, 1);
    char *own = ckpt ? cli_latest_path(ckpt) : NULL;
    if (own && strcmp(own, ckpt) != 0) { /* --resume X.best.ckpt alone would go on in X.ckpt */
        append_word(&resume_cmd, "--checkpoint", 0);
        append_word(&resume_cmd, ckpt, 1);
    }
    free(own);
    if (nargs > 1)
        snprintf(joined, sizeof joined, "%s and %d more file%s", args[0], nargs - 1,
                 nargs > 2 ? "s" : "");
    if (!ckpt || !best || !files || !resume_cmd) {
        cli_error("out of memory");
        free(ckpt_owned), free(best), free(files), free(resume_cmd);
        return EXIT_ERROR;
    }

    /* Every step may fail; with several MPI ranks they all reach comm_agree
     * once, so that one failing rank stops the others instead of leaving them
     * waiting. Rank 0 alone writes, so it alone checks and locks the outputs,
     * before anything is loaded. */
    CnError err;
    CnText *text = NULL;
    CnTrainer *tr = NULL;
    CnShard shard;
    Progress pg;
    Outputs out = {.ckpt = {.given = ckpt, .lock_fd = -1}, .best = {.given = best, .lock_fd = -1},
                   .log = {.given = a.log, .lock_fd = -1}};
    Corpus files_read = {0};
    progress_init(&pg, a.quiet || cli_comm.rank != 0);
    if (cli_comm.size > 1) /* mpirun hands ranks a pty even when writing to a file */
        pg.tty = pg.color = 0;
    rc = cli_comm.rank == 0 ? outputs_prepare(&out, args, nargs, a.resume, a.init_from) : 0;
    if (!rc) {
        corpus_note(&files_read, args, nargs);
        if (!(text = cn_text_load(args, nargs, &err))) {
            if (cli_signal)
                cli_error("interrupted before training started; nothing was written");
            else
                cli_error("%s", err.msg);
            rc = cli_signal ? EXIT_SIGNAL + cli_signal : EXIT_ERROR;
        }
    }
    char *note = NULL; /* how --init-from's vocabulary grew, said once the run starts */
    const char *precision_why = NULL;
    CnPlan plan = {0}; /* the time budget's choice of width and dropout, if made */
    if (!rc)
        rc = setup(&cmd, &a, text, &shard, &tr, &note, &precision_why, &plan);
    if (!rc)
        cli_precision_note(cn_trainer_config(tr)->precision);
    if (!rc && cli_comm.rank == 0)
        rc = outputs_check_existing(&out, tr, a.resume, a.init_from, a.force);
    if (!rc && cli_comm.rank == 0 && a.resume && outputs_branches(&out, a.resume))
        cn_trainer_branch(tr, out.ckpt.path);
    /* the run ends at --iters, else --epochs (default 7) unless only a time
     * budget is given; a resumed run keeps its own ends unless given new ones */
    uint64_t target = 0;
    const CnProgress *p = tr ? cn_trainer_progress(tr) : NULL;
    const CnTrainConfig *c = tr ? cn_trainer_config(tr) : NULL;
    if (!rc) {
        int budget_given = cli_flag(&cmd, "time-budget")->set;
        int bounds_given = a.iters || cli_flag(&cmd, "epochs")->set || budget_given;
        target = a.iters;
        if (!target && (cli_flag(&cmd, "epochs")->set || (!a.resume && !budget_given)))
            target = (uint64_t)ceil(a.epochs * (double)cn_trainer_status(tr).chunks_per_epoch);
        if (a.resume && !bounds_given)
            target = c->max_iters;
        cn_trainer_set_target(tr, target); /* 0: the time budget alone ends the run */
    }
    if (!rc && cli_signal) {
        cli_error("interrupted before training started; nothing was written");
        rc = EXIT_SIGNAL + cli_signal;
    }
    char *line = NULL; /* the log's description of this invocation */
    if (!rc && out.log_file) {
        char what[256];
        describe(tr, what, sizeof what);
        size_t len = strlen(files) + strlen(what) + 96;
        if ((line = malloc(len)) != NULL) {
            char n1[32];
            int at = snprintf(line, len, "charnn %s train %s: %s", CHARNN_VERSION, files, what);
            if (a.resume && at > 0 && (size_t)at < len)
                snprintf(line + at, len - (size_t)at, "; resumed at iteration %s",
                         cli_count(p->iteration, n1));
            log_start(&pg, out.log_file, a.log, line, p->run);
        }
        if (!line || pg.lost) {
            cli_error("cannot write the log %s: %s", a.log,
                      line ? strerror(pg.lost_errno) : "out of memory");
            rc = EXIT_ERROR;
        }
    }
    if (!comm_agree(rc == EXIT_OK)) {
        rc = rc ? rc : EXIT_ERROR; /* another rank failed and said why */
    } else if ((target && p->iteration >= target) ||
               (c->time_budget > 0 && p->train_seconds >= c->time_budget)) {
        char n1[32];
        if (cli_comm.rank == 0)
            fprintf(stderr,
                    "charnn: %s has already trained %s iterations (its end); give a larger "
                    "--iters, --epochs or --time-budget to train further\n",
                    a.resume, cli_count(p->iteration, n1));
    } else {
        Run run = {.tr = tr, .a = &a, .model = cn_trainer_model(tr), .shard = &shard, .pg = &pg,
                   .corpus = nargs > 1 ? joined : corpus, .resume_cmd = resume_cmd,
                   .ckpt = ckpt, .ckpt_path = out.ckpt.path, .files = &files_read,
                   .best = cn_trainer_status(tr).val_chars ? best : NULL,
                   .best_path = out.best.path, .best_saved = out.best_on_disk, .target = target,
                   .budget = c->time_budget, .patience = a.patience,
                   .start_iter = p->iteration, .seconds_before = p->train_seconds + plan.seconds,
                   .plan = &plan,
                   .last_saved = -1.0, .budget_fraction = -1, .precision_why = precision_why};
        if (note && cli_comm.rank == 0)
            cli_note("%s", note);
        print_banner(&run);
        rc = train_loop(&run);
        progress_end(&pg);
    }
    pg.log = NULL;
    outputs_release(&out);
    free(note);
    free(line);
    cn_trainer_free(tr);
    cn_text_free(text);
    free(files_read.at_start);
    free(files_read.id);
    free(ckpt_owned);
    free(best);
    free(files);
    free(resume_cmd);
    return rc;
}
