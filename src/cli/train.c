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

enum { MAX_FILES = 256 };

/* The command line of a run: its settings (the library's table), and what
 * the command line decides itself. */
typedef struct {
    CnSettings *settings;   /* the defaults, and the settings given */
    const char *precision;  /* --precision as given: auto is resolved for the run's shape */
    const char *checkpoint, *resume, *init_from, *log;
    int print_every, sample_length, threads, quiet, patience, force;
    double epochs, temperature;
    uint64_t iters, eval_every, sample_every;
    const char *files[MAX_FILES]; /* the corpus files, in order */
    int nfiles;
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

/* The run's shape and configuration, from the flags (the settings of the
 * library's table, in a->settings) and, with a checkpoint, from it: a flag
 * that contradicts the checkpoint's model is refused; with --resume the
 * settings a resume may change are taken from the flags given, and a flag
 * given for one that it may not change must agree. Into shape and cfg;
 * returns 0 or an exit code. */
static int configure(const Command *cmd, const TrainArgs *a, const CnCheckpoint *ck,
                     const char *path, CnShape *shape, CnTrainConfig *cfg)
{
    int resume = a->resume != NULL;
    CnSettings *saved = ck ? cn_settings_new() : NULL;
    if (ck && !saved) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    if (saved) {
        *cn_settings_shape(saved) = cn_model_shape(cn_checkpoint_model(ck));
        if (resume)
            *cn_settings_config(saved) = *cn_checkpoint_config(ck);
    }
    CnSettingInfo info;
    int rc = EXIT_OK;
    for (int i = 0; !rc && cn_setting_info(i, &info) == 0; i++) {
        const Flag *flag = cli_flag(cmd, info.name);
        char given[64], kept[64];
        cn_settings_get(a->settings, info.name, given, sizeof given);
        if (!saved || !flag)
            continue;
        cn_settings_get(saved, info.name, kept, sizeof kept);
        int same = strcmp(given, kept) == 0;
        if (info.model) {
            if (flag->set && !same) {
                const CnShape *sh = cn_settings_shape(saved);
                cli_error("--%s contradicts %s, which holds a %s, %d layer%s x %d model; drop the "
                          "flag or start a new model", info.name, path, cn_cell_names[sh->cell],
                          sh->layers, sh->layers == 1 ? "" : "s", sh->hidden);
                rc = EXIT_USAGE;
            }
        } else if (!resume || (flag->set && info.resumable)) {
            CnError err;
            cn_settings_set(saved, info.name, given, &err); /* valid: it was parsed */
        } else if (flag->set && !same) {
            cli_error("--%s differs from the checkpoint (%s); a resumed run keeps it; drop the "
                      "flag, or use --init-from to start a new run from the checkpoint's "
                      "weights", info.name, kept);
            rc = EXIT_USAGE;
        }
    }
    CnSettings *from = saved ? saved : a->settings;
    *shape = *cn_settings_shape(from);
    *cfg = *cn_settings_config(from);
    cn_settings_free(saved);
    return rc;
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
        /* --threads (all processors unless given), at most those there are, as
           cli_threads gives the run (its note said once, there) */
        int threads = a->threads < cn_cpu_count() ? a->threads : cn_cpu_count();
        ok[0] = cn_plan_budget(text, shape->cell, shape->layers, hidden_given ? shape->hidden : 0,
                               cfg, cfg->time_budget, threads, plan, &err) == 0;
    }
    comm_broadcast(ok, 1);
    if (!ok[0]) {
        if (cli_comm.rank == 0)
            cli_error_lib(&err);
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
        cli_error_lib(&err);
        return EXIT_ERROR;
    }
    /* the checkpoint's vocabulary, to see what the run adds to it */
    int nwas = ck ? cn_model_shape(cn_checkpoint_model(ck)).vocab : 0;
    uint32_t *was = a->init_from ? malloc((size_t)nwas * sizeof *was) : NULL;
    if (was)
        memcpy(was, cn_model_vocab(cn_checkpoint_model(ck)), (size_t)nwas * sizeof *was);
    CnShape shape = {0};
    CnTrainConfig cfg;
    int rc = configure(cmd, a, ck, from, &shape, &cfg);
    if (!rc && (!a->resume || cli_flag(cmd, "precision")->set)) /* a resume keeps its own */
        cfg.precision = cli_precision(a->precision, &shape, cfg.batch, precision_why);
    if (!rc && !from && cfg.time_budget > 0 && !cli_flag(cmd, "epochs")->set && !a->iters &&
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
            cli_error_lib(&err);
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

/* Everything a run needs once the command line is read: its names, its
 * outputs, text and trainer, and where it ends. */
typedef struct {
    char *ckpt_owned, *best, *files, *resume_cmd; /* malloc'd */
    const char *ckpt;        /* the checkpoint as given (or ckpt_owned) */
    const char *corpus;      /* for messages */
    char joined[300];        /* "a.txt and 2 more files" */
    CnText *text;
    CnTrainer *tr;
    CnShard shard;
    Progress pg;
    Outputs out;
    Corpus files_read;
    char *note;              /* how --init-from's vocabulary grew, said once the run starts */
    const char *precision_why;
    CnPlan plan;             /* the time budget's choice of width and dropout (hidden 0: none) */
    char *line;              /* the log's description of this invocation */
    uint64_t target;         /* the run's last iteration; 0: the time budget alone ends it */
} Prepared;

/* Parses the command line into a (its settings into a->settings, from the
 * library's defaults) and cmd, whose flags live in flags (room for max).
 * CLI_GO, or an exit code. */
static int parse_args(int argc, char **argv, TrainArgs *a, Command *cmd, Flag *flags, int max)
{
    *a = (TrainArgs){.settings = cn_settings_new(), .precision = "auto", .epochs = 7,
                     .print_every = 10, .sample_length = 200, .temperature = 0.8,
                     .eval_every = 1000, .sample_every = 1000, .threads = cn_cpu_count()};
    if (!a->settings) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    const double inf = INFINITY;
    /* the settings of the library's table (their defaults: the 7-epoch run that
       reached the lowest validation loss, charnn help quality; a time
       budget alone chooses the width and dropout, plan_budget), then the command
       line's own; --precision takes auto, resolved for the run */
    int n = cli_setting_flags(flags, max - 20, a->settings, 1, 1, NULL);
    for (int i = 0; i < n; i++)
        if (strcmp(flags[i].name, "precision") == 0) {
            CnSettingInfo info;
            for (int k = 0; cn_setting_info(k, &info) == 0; k++)
                if (strcmp(info.name, "precision") == 0)
                    flags[i] = (Flag){.name = "precision", .type = FLAG_STR,
                                      .value = &a->precision, .arg = info.arg, .help = info.help,
                                      .choices = cli_precision_choices};
        }
    const Flag own[] = {
        {.name = "iters", .type = FLAG_U64, .value = &a->iters, .arg = "N",
         .help = "train until iteration N (overrides --epochs); 0 = use --epochs", .lo = 0,
         .hi = 1e15},
        {.name = "epochs", .type = FLAG_REAL, .value = &a->epochs, .arg = "E",
         .help = "passes over the training text", .lo = 0, .hi = 1e9, .lo_open = 1},
        {.name = "print-every", .type = FLAG_INT, .value = &a->print_every, .arg = "N",
         .help = "print the loss every N iterations", .lo = 1, .hi = 1e9},
        {.name = "sample-every", .type = FLAG_U64, .value = &a->sample_every, .arg = "N",
         .help = "print a sample every N iterations; 0 = never", .lo = 0, .hi = 1e15},
        {.name = "sample-length", .type = FLAG_INT, .value = &a->sample_length, .arg = "N",
         .help = "characters per sample in the log", .lo = 1, .hi = 1e6},
        {.name = "temperature", .type = FLAG_REAL, .value = &a->temperature, .arg = "T",
         .help = "temperature of the samples in the log", .lo = 0, .hi = inf, .lo_open = 1},
        {.name = "eval-every", .type = FLAG_U64, .value = &a->eval_every, .arg = "N",
         .help = "validate and checkpoint every N iterations; 0 = only at the end", .lo = 0,
         .hi = 1e15},
        {.name = "checkpoint", .type = FLAG_STR, .value = &a->checkpoint, .arg = "PATH",
         .help = "checkpoint file (default: the corpus name + .ckpt in this directory; with "
                 "--resume, the resumed run's own)"},
        {.name = "resume", .type = FLAG_STR, .value = &a->resume, .arg = "PATH",
         .help = "continue a run exactly where its checkpoint stopped"},
        {.name = "init-from", .type = FLAG_STR, .value = &a->init_from, .arg = "PATH",
         .help = "start from a checkpoint's weights with a fresh optimizer (characters the "
                 "corpus adds join its vocabulary)"},
        {.name = "patience", .type = FLAG_INT, .value = &a->patience, .arg = "N",
         .help = "stop after N evaluations without a better validation loss; 0 = never",
         .lo = 0, .hi = 1e9},
        {.name = "threads", .type = FLAG_INT, .value = &a->threads, .arg = "N",
         .help = "threads; results are the same for any number (default: all processors, "
                 "fewer for small models)",
         .lo = 1, .hi = 1024},
        {.name = "log", .type = FLAG_STR, .value = &a->log, .arg = "FILE",
         .help = "append a CSV row per print interval and evaluation (see charnn plot)"},
        {.name = "quiet", .type = FLAG_SWITCH, .value = &a->quiet,
         .help = "print only errors and the final summary"},
        {.name = "force", .type = FLAG_SWITCH, .value = &a->force,
         .help = "replace a checkpoint that holds another run's model, a later point of this "
                 "run, or the --init-from source (never the corpus or a file that is not a "
                 "checkpoint)"},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        flags[n++] = own[i];
    flags[n] = (Flag){.name = NULL};
    *cmd = (Command){.name = "train", .usage = "train [FILE...] [options]",
                     .summary = "Train a character-level model on UTF-8 text: the FILEs joined "
                                "in order (default input.txt; - reads standard input).",
                     .flags = flags, .min_args = 0, .max_args = MAX_FILES};
    int rc = cli_parse(cmd, argc, argv, a->files, &a->nfiles);
    if (rc != CLI_GO)
        return rc;
    CnError err; /* auto for the shape the flags give (the run's own: setup) */
    if (cn_settings_set(a->settings, "precision", a->precision, &err) != 0) {
        cli_error("--%s", err.msg);
        return EXIT_USAGE;
    }
    if (a->resume && a->init_from) {
        cli_error("--resume and --init-from exclude each other; --resume continues a run, "
                  "--init-from starts a new one from its weights");
        return EXIT_USAGE;
    }
    if (!a->nfiles)
        a->files[a->nfiles++] = "input.txt";
    for (int i = 0, stdin_seen = 0; i < a->nfiles; i++) {
        if (strcmp(a->files[i], "-") == 0 && stdin_seen++) {
            cli_error("standard input (-) is given twice; give it once");
            return EXIT_USAGE;
        }
    }
    return CLI_GO;
}

/* The run's names: its checkpoint and best checkpoint, the corpus files as
 * given (quoted for a shell), the command that resumes it. 0, or an exit
 * code. */
static int name_run(const TrainArgs *a, Prepared *p)
{
    const char *first = a->files[0];
    p->corpus = strcmp(first, "-") == 0 ? "standard input" : first;
    p->ckpt_owned = a->checkpoint ? NULL
                    : a->resume   ? cli_latest_path(a->resume)
                                  : default_checkpoint(first);
    p->ckpt = a->checkpoint ? a->checkpoint : p->ckpt_owned;
    p->best = p->ckpt ? cli_best_path(p->ckpt) : NULL;
    p->files = calloc(1, 1);
    p->resume_cmd = calloc(1, 1);
    for (int i = 0; i < a->nfiles; i++)
        append_word(&p->files, a->files[i], 1);
    append_word(&p->resume_cmd, cli_program, 1);
    append_word(&p->resume_cmd, "train", 0);
    append_word(&p->resume_cmd, p->files ? p->files : "", 0);
    append_word(&p->resume_cmd, "--resume", 0);
    if (p->ckpt)
        append_word(&p->resume_cmd, p->ckpt, 1);
    char *own = p->ckpt ? cli_latest_path(p->ckpt) : NULL;
    if (own && strcmp(own, p->ckpt) != 0) { /* --resume X.best.ckpt alone goes on in X.ckpt */
        append_word(&p->resume_cmd, "--checkpoint", 0);
        append_word(&p->resume_cmd, p->ckpt, 1);
    }
    free(own);
    if (a->nfiles > 1)
        snprintf(p->joined, sizeof p->joined, "%s and %d more file%s", first, a->nfiles - 1,
                 a->nfiles > 2 ? "s" : "");
    if (!p->ckpt || !p->best || !p->files || !p->resume_cmd) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

/* Where the run ends: --iters, else --epochs (default 7) unless only a time
 * budget is given; a resumed run keeps its own ends unless given new ones. */
static uint64_t target_of(const Command *cmd, const TrainArgs *a, const CnTrainer *tr)
{
    int budget_given = cli_flag(cmd, "time-budget")->set;
    int epochs_given = cli_flag(cmd, "epochs")->set;
    uint64_t target = a->iters;
    if (!target && (epochs_given || (!a->resume && !budget_given)))
        target = (uint64_t)ceil(a->epochs * (double)cn_trainer_status(tr).chunks_per_epoch);
    if (a->resume && !a->iters && !epochs_given && !budget_given)
        target = cn_trainer_config(tr)->max_iters;
    return target;
}

/* Starts the log with this invocation's description. 0, or an exit code. */
static int start_log(const TrainArgs *a, Prepared *p)
{
    char what[256], n1[32];
    describe(p->tr, what, sizeof what);
    size_t len = strlen(p->files) + strlen(what) + 96;
    if ((p->line = malloc(len)) != NULL) {
        int at = snprintf(p->line, len, "charnn %s train %s: %s", CHARNN_VERSION, p->files, what);
        if (a->resume && at > 0 && (size_t)at < len)
            snprintf(p->line + at, len - (size_t)at, "; resumed at iteration %s",
                     cli_count(cn_trainer_progress(p->tr)->iteration, n1));
        log_start(&p->pg, p->out.log_file, a->log, p->line, cn_trainer_progress(p->tr)->run);
    }
    if (!p->line || p->pg.lost) {
        cli_error("cannot write the log %s: %s", a->log,
                  p->line ? strerror(p->pg.lost_errno) : "out of memory");
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

/* Everything before the first step, each step of which may fail; with
 * several MPI ranks they all reach comm_agree once, so that one failing rank
 * stops the others instead of leaving them waiting. Rank 0 alone writes,
 * so it alone checks and locks the outputs, before anything is loaded.
 * 0, or an exit code (after saying why). */
static int prepare(const Command *cmd, const TrainArgs *a, Prepared *p)
{
    CnError err;
    int rc = name_run(a, p);
    /* from here on a signal is noticed (and start-up ends on it), and a
       lost output is a write error, not a death */
    cli_catch_signals();
    signal(SIGPIPE, SIG_IGN);
    p->out = (Outputs){.ckpt = {.given = p->ckpt, .lock_fd = -1},
                       .best = {.given = p->best, .lock_fd = -1},
                       .log = {.given = a->log, .lock_fd = -1}};
    progress_init(&p->pg, a->quiet || cli_comm.rank != 0);
    if (cli_comm.size > 1) /* mpirun hands ranks a pty even when writing to a file */
        p->pg.tty = p->pg.color = 0;
    if (!rc && cli_comm.rank == 0)
        rc = outputs_prepare(&p->out, a->files, a->nfiles, a->resume, a->init_from);
    if (!rc) {
        corpus_note(&p->files_read, a->files, a->nfiles);
        if (!(p->text = cn_text_load(a->files, a->nfiles, &err))) {
            if (cli_signal)
                cli_error("interrupted before training started; nothing was written");
            else
                cli_error_lib(&err);
            rc = cli_signal ? EXIT_SIGNAL + cli_signal : EXIT_ERROR;
        }
    }
    if (!rc)
        rc = setup(cmd, a, p->text, &p->shard, &p->tr, &p->note, &p->precision_why,
                   &p->plan);
    if (!rc)
        cli_precision_note(cn_trainer_config(p->tr)->precision);
    if (!rc && cli_comm.rank == 0)
        rc = outputs_check_existing(&p->out, p->tr, a->resume, a->init_from, a->force);
    if (!rc && cli_comm.rank == 0 && a->resume && outputs_branches(&p->out, a->resume))
        cn_trainer_branch(p->tr, p->out.ckpt.path);
    if (!rc) {
        p->target = target_of(cmd, a, p->tr);
        cn_trainer_set_target(p->tr, p->target);
    }
    if (!rc && cli_signal) {
        cli_error("interrupted before training started; nothing was written");
        rc = EXIT_SIGNAL + cli_signal;
    }
    if (!rc && p->out.log_file)
        rc = start_log(a, p);
    if (!comm_agree(rc == EXIT_OK))
        rc = rc ? rc : EXIT_ERROR; /* another rank failed and said why */
    return rc;
}

/* The run itself, prepared: its banner, its loop, its summary. */
static int run(const TrainArgs *a, Prepared *p)
{
    const CnProgress *pr = cn_trainer_progress(p->tr);
    const CnTrainConfig *c = cn_trainer_config(p->tr);
    if ((p->target && pr->iteration >= p->target) ||
        (c->time_budget > 0 && pr->train_seconds >= c->time_budget)) {
        char n1[32];
        if (cli_comm.rank == 0)
            fprintf(stderr,
                    "charnn: %s has already trained %s iterations (its end); give a larger "
                    "--iters, --epochs or --time-budget to train further\n",
                    a->resume, cli_count(pr->iteration, n1));
        return EXIT_OK;
    }
    Run r = {.tr = p->tr, .a = a, .model = cn_trainer_model(p->tr), .shard = &p->shard,
             .pg = &p->pg, .corpus = a->nfiles > 1 ? p->joined : p->corpus,
             .resume_cmd = p->resume_cmd, .ckpt = p->ckpt, .ckpt_path = p->out.ckpt.path,
             .files = &p->files_read, .best = cn_trainer_status(p->tr).val_chars ? p->best : NULL,
             .best_path = p->out.best.path, .best_saved = p->out.best_on_disk,
             .target = p->target, .budget = c->time_budget, .patience = a->patience,
             .start_iter = pr->iteration, .seconds_before = pr->train_seconds + p->plan.seconds,
             .plan = &p->plan, .last_saved = -1.0, .budget_fraction = -1,
             .precision_why = p->precision_why};
    if (p->note && cli_comm.rank == 0)
        cli_note("%s", p->note);
    print_banner(&r);
    int rc = train_loop(&r);
    progress_end(&p->pg);
    return rc;
}

static void release(Prepared *p)
{
    p->pg.log = NULL;
    outputs_release(&p->out);
    free(p->note);
    free(p->line);
    cn_trainer_free(p->tr);
    cn_text_free(p->text);
    free(p->files_read.at_start);
    free(p->files_read.id);
    free(p->ckpt_owned);
    free(p->best);
    free(p->files);
    free(p->resume_cmd);
}

int cmd_train(int argc, char **argv)
{
    enum { MAX_FLAGS = 64 };
    Flag flags[MAX_FLAGS];
    TrainArgs a;
    Command cmd;
    int rc = parse_args(argc, argv, &a, &cmd, flags, MAX_FLAGS);
    if (rc == CLI_GO) {
        Prepared p = {0};
        rc = prepare(&cmd, &a, &p);
        if (!rc)
            rc = run(&a, &p);
        release(&p);
    }
    cn_settings_free(a.settings);
    return rc;
}
