/* SPDX-License-Identifier: MIT */
/*
 * charnn sample, eval, info and export: commands that read a checkpoint.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loads the model of a checkpoint, reporting failure. */
static int load_model(const char *path, CnModel *model, CnTrainState *st)
{
    CnError err;
    if (cn_checkpoint_load(path, model, st, &err) != 0) {
        cli_error("%s", err.msg);
        return -1;
    }
    return 0;
}

static void put_char(uint32_t cp)
{
    char utf8[4];
    fwrite(utf8, 1, (size_t)cn_utf8_encode(cp, utf8), stdout);
}

int cmd_sample(int argc, char **argv)
{
    uint64_t length = 1000, seed = 1;
    double temperature = 1.0;
    const char *prime = "";
    int top_k = 0, argmax = 0;
    Flag flags[] = {
        {.name = "length", .type = FLAG_U64, .value = &length, .arg = "N",
         .help = "characters to generate; 0 = until interrupted", .lo = 0, .hi = 1e18},
        {.name = "temperature", .type = FLAG_REAL, .value = &temperature, .arg = "T",
         .help = "divide the logits by T: lower is safer, higher more surprising", .lo = 0,
         .hi = INFINITY, .lo_open = 1},
        {.name = "prime", .type = FLAG_STR, .value = &prime, .arg = "TEXT",
         .help = "text to run through the model first (and print); default: a newline"},
        {.name = "seed", .type = FLAG_U64, .value = &seed, .arg = "S", .help = "random seed",
         .lo = 0, .hi = 1.8e19},
        {.name = "top-k", .type = FLAG_INT, .value = &top_k, .arg = "K",
         .help = "draw only among the K most likely characters; 0 = all", .lo = 0,
         .hi = 0x110000},
        {.name = "argmax", .type = FLAG_SWITCH, .value = &argmax,
         .help = "always take the most likely character (deterministic)"},
        {.name = NULL},
    };
    Command cmd = {.name = "sample", .usage = "sample CKPT [options]",
                   .summary = "Generate text from a checkpoint; the text alone goes to stdout.",
                   .flags = flags, .min_args = 1, .max_args = 1};
    const char *args[1];
    int nargs, rc = cli_parse(&cmd, argc, argv, args, &nargs);
    if (rc)
        return rc == 1 ? EXIT_OK : rc;

    CnModel model;
    if (load_model(args[0], &model, NULL) != 0)
        return EXIT_ERROR;
    CnError err;
    CnText prime_text;
    int has_prime = prime[0] != '\0';
    if (has_prime && cn_text_from_memory(&prime_text, prime, strlen(prime), "--prime", &err) != 0) {
        cli_error("%s", err.msg);
        cn_model_free(&model);
        return EXIT_USAGE;
    }
    if (has_prime && cn_vocab_covers(&model.vocab, &prime_text, "--prime", &err) != 0) {
        cli_error("%s", err.msg);
        cn_text_free(&prime_text);
        cn_model_free(&model);
        return EXIT_USAGE;
    }
    CnSampler s;
    if (cn_sampler_init(&s, &model, seed, &err) != 0) {
        cli_error("%s", err.msg);
        if (has_prime)
            cn_text_free(&prime_text);
        cn_model_free(&model);
        return EXIT_ERROR;
    }
    /* stream: every character as soon as it is drawn, unless writing a file */
    struct stat out;
    int stream = fstat(STDOUT_FILENO, &out) != 0 || !S_ISREG(out.st_mode);
    if (has_prime) {
        const unsigned char *p = prime_text.bytes;
        for (size_t at = 0; at < prime_text.nbytes;) {
            uint32_t cp;
            int len = cn_utf8_decode(p + at, prime_text.nbytes - at, &cp);
            fwrite(p + at, 1, (size_t)len, stdout);
            cn_sampler_feed(&s, cn_vocab_index(&model.vocab, cp));
            at += (size_t)len;
        }
        cn_text_free(&prime_text);
    } else {
        int newline = cn_vocab_index(&model.vocab, '\n');
        if (newline >= 0)
            cn_sampler_feed(&s, newline);
    }
    cli_catch_signals();
    CnSampleOptions opt = {.temperature = temperature, .top_k = top_k, .argmax = argmax};
    /* stops at the first write that fails (a closed or full output) */
    for (uint64_t i = 0; (length == 0 || i < length) && !cli_signal && !ferror(stdout); i++) {
        int id = cn_sampler_next(&s, &opt);
        put_char(model.vocab.chars[id]);
        if (stream)
            fflush(stdout);
        cn_sampler_feed(&s, id);
    }
    if (!cli_signal)
        putchar('\n');
    int write_failed = fflush(stdout) != 0 || ferror(stdout), e = errno;
    cn_sampler_free(&s);
    cn_model_free(&model);
    if (cli_signal)
        return EXIT_SIGNAL + cli_signal;
    if (write_failed) {
        cli_error("cannot write the sample to standard output: %s", strerror(e));
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int cmd_eval(int argc, char **argv)
{
    int seq_length = 256, threads = 0;
    Flag flags[] = {
        {.name = "seq-length", .type = FLAG_INT, .value = &seq_length, .arg = "T",
         .help = "steps per chunk (speed only: the state carries across chunks)", .lo = 1,
         .hi = 1 << 20},
        {.name = "threads", .type = FLAG_INT, .value = &threads, .arg = "N",
         .help = "threads, at most the processors (default: as many as help the model)",
         .lo = 1, .hi = 1024},
        {.name = NULL},
    };
    Command cmd = {.name = "eval", .usage = "eval CKPT FILE",
                   .summary = "Score FILE with a checkpoint from a zero state, state carried "
                              "throughout: prints the mean loss over its N-1 predictions in "
                              "nats per character, then bits per character.",
                   .flags = flags, .min_args = 2, .max_args = 2};
    const char *args[2];
    int nargs, rc = cli_parse(&cmd, argc, argv, args, &nargs);
    if (rc)
        return rc == 1 ? EXIT_OK : rc;
    CnModel model;
    if (load_model(args[0], &model, NULL) != 0)
        return EXIT_ERROR;
    CnError err;
    CnText text;
    if (cn_text_load(&text, args[1], &err) != 0 ||
        cn_vocab_covers(&model.vocab, &text, args[1], &err) != 0) {
        cli_error("%s", err.msg);
        if (text.bytes)
            cn_text_free(&text);
        cn_model_free(&model);
        return EXIT_ERROR;
    }
    if (text.nchars < 2) {
        cli_error("%s has %zu character; evaluation needs at least 2", args[1], text.nchars);
        cn_text_free(&text);
        cn_model_free(&model);
        return EXIT_ERROR;
    }
    threads = cli_threads(threads, &model.shape, 1); /* one stream: few threads help */
    size_t count;
    CnPool *pool = NULL;
    double loss = cn_pool_create(&pool, threads, &err) != 0
                      ? NAN
                      : cn_evaluate(&model, &text, 0, text.nchars, 1, seq_length, pool, &count,
                                    &err);
    cn_pool_destroy(pool);
    cn_text_free(&text);
    cn_model_free(&model);
    if (!isfinite(loss)) {
        cli_error("%s", isnan(loss) && err.msg[0] ? err.msg : "the loss is not finite");
        return EXIT_ERROR;
    }
    char n1[32];
    printf("%.6f nats/char  %.6f bits/char  (%s predictions)\n", loss, loss / log(2.0),
           cli_count(count, n1));
    return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
    Command cmd = {.name = "info", .usage = "info CKPT",
                   .summary = "Describe a checkpoint: model, size, training progress, losses.",
                   .min_args = 1, .max_args = 1};
    const char *args[1];
    int nargs, rc = cli_parse(&cmd, argc, argv, args, &nargs);
    if (rc)
        return rc == 1 ? EXIT_OK : rc;
    CnModel model;
    CnTrainState st;
    if (load_model(args[0], &model, &st) != 0)
        return EXIT_ERROR;
    const CnShape *s = &model.shape;
    const CnTrainConfig *c = &st.cfg;
    char n1[32], n2[32], d1[32];
    printf("checkpoint:   %s (format version %u)\n", args[0], (unsigned)st.version);
    printf("model:        %s, %d layer%s x %d hidden\n", cn_cell_name(s->cell), s->layers,
           s->layers == 1 ? "" : "s", s->hidden);
    printf("parameters:   %s\n", cli_count(model.nparams, n1));
    printf("vocabulary:   %d characters\n", s->vocab);
    printf("trained:      %s iterations (%s epochs complete), %s of training\n",
           cli_count(st.iteration, n1), cli_count(st.epoch, n2),
           cli_duration(st.train_seconds, d1));
    if (c->batch > 0) {
        printf("training:     batch %d x seq-length %d, %s lr %g, clip-value %g, clip-norm %g, "
               "dropout %g, val-frac %g, seed %llu, target %s iterations\n",
               c->batch, c->seq_length, cn_optim_name(c->optim.kind), c->optim.lr,
               c->clip_value, c->clip_norm, c->dropout, c->val_frac,
               (unsigned long long)c->seed, cli_count(c->max_iters, n1));
        printf("schedule:     %s", cn_schedule_name(c->schedule));
        if (c->schedule == CN_LR_STEP)
            printf(" x%g per epoch after %g epochs", c->lr_decay, c->lr_decay_after);
        if (c->schedule == CN_LR_COSINE)
            printf(" down to %g", c->lr_min);
        printf(", warm-up %s iterations, init %s, bptt-random %g, time budget %s\n",
               cli_count(c->warmup, n1), cn_init_name(c->init), c->bptt_random,
               c->time_budget > 0 ? cli_duration(c->time_budget, d1) : "none");
    }
    if (isfinite(st.last_loss))
        printf("train loss:   %.4f (smoothed %.4f)\n", st.last_loss, st.smooth_loss);
    else
        printf("train loss:   none recorded\n");
    if (isfinite(st.val_loss)) {
        char *latest = cli_latest_path(args[0]), *best = latest ? cli_best_path(latest) : NULL;
        printf("val loss:     %.4f nats/char (%.4f bits/char)\n", st.val_loss,
               st.val_loss / log(2.0));
        printf("best:         %.4f at iteration %s, %s%s%s\n", st.best_val_loss,
               cli_count(st.best_iteration, n1),
               st.best_iteration == st.iteration ? "this checkpoint (the run keeps it as " : "kept in ",
               best ? best : "?", st.best_iteration == st.iteration ? " too)" : " by the run");
        free(latest);
        free(best);
    } else {
        printf("val loss:     none recorded\n");
    }
    cn_train_state_free(&st);
    cn_model_free(&model);
    return EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
    Command cmd = {.name = "export", .usage = "export CKPT > model.json",
                   .summary = "Write the model as JSON (tensor names and layouts in README.md, "
                              "\"Exported tensors\").",
                   .min_args = 1, .max_args = 1};
    const char *args[1];
    int nargs, rc = cli_parse(&cmd, argc, argv, args, &nargs);
    if (rc)
        return rc == 1 ? EXIT_OK : rc;
    CnModel model;
    if (load_model(args[0], &model, NULL) != 0)
        return EXIT_ERROR;
    rc = cn_export_json(stdout, &model);
    cn_model_free(&model);
    if (rc != 0) {
        cli_error("cannot write the JSON to standard output");
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int cmd_gradcheck(int argc, char **argv)
{
    const char *model = "lstm";
    int hidden = 4, layers = 2, vocab = 5, batch = 3, seq_length = 4;
    double dropout = 0;
    uint64_t seed = 1;
    Flag flags[] = {
        {.name = "model", .type = FLAG_STR, .value = &model, .arg = "KIND",
         .help = "cell: rnn, lstm, peephole or gru", .choices = cell_choices},
        {.name = "hidden", .type = FLAG_INT, .value = &hidden, .arg = "N",
         .help = "hidden units per layer", .lo = 1, .hi = 64},
        {.name = "layers", .type = FLAG_INT, .value = &layers, .arg = "N", .help = "layers",
         .lo = 1, .hi = 4},
        {.name = "vocab", .type = FLAG_INT, .value = &vocab, .arg = "V",
         .help = "vocabulary size", .lo = 2, .hi = 64},
        {.name = "batch", .type = FLAG_INT, .value = &batch, .arg = "B", .help = "streams",
         .lo = 1, .hi = 16},
        {.name = "seq-length", .type = FLAG_INT, .value = &seq_length, .arg = "T",
         .help = "steps", .lo = 1, .hi = 32},
        {.name = "dropout", .type = FLAG_REAL, .value = &dropout, .arg = "P",
         .help = "dropout on the layers' outputs (fixed masks)", .lo = 0, .hi = 1, .hi_open = 1},
        {.name = "seed", .type = FLAG_U64, .value = &seed, .arg = "S",
         .help = "random model, inputs and state", .lo = 0, .hi = 1.8e19},
        {.name = NULL},
    };
    Command cmd = {.name = "gradcheck", .usage = "gradcheck [options]",
                   .summary = "Check the backward pass against finite differences on a tiny "
                              "random model; prints the worst relative error of each tensor. "
                              "For anyone who changes the cells.",
                   .flags = flags, .min_args = 0, .max_args = 0};
    const char *args[1];
    int nargs, rc = cli_parse(&cmd, argc, argv, args, &nargs);
    if (rc)
        return rc == 1 ? EXIT_OK : rc;
    /* the float library: steps of 1e-2, so a correct gradient is within ~1e-2
     * (the double-precision test build reaches 1e-6) */
    const double bound = 2e-2;
    CnShape shape = {CN_LSTM, vocab, hidden, layers};
    cn_cell_parse(model, &shape.cell);
    CnGradcheck t[4 * 4 + 2];
    CnError err;
    int n = cn_gradcheck(&shape, batch, seq_length, dropout, seed, t, 4 * 4 + 2, &err);
    if (n < 0) {
        cli_error("%s", err.msg);
        return EXIT_ERROR;
    }
    printf("gradcheck: %s, %d layer%s x %d hidden, vocabulary %d, batch %d x seq-length %d, "
           "dropout %g, seed %llu (float, %s kernels)\n",
           model, layers, layers == 1 ? "" : "s", hidden, vocab, batch, seq_length, dropout,
           (unsigned long long)seed, cn_kernels_name());
    printf("%-10s %8s  %s\n", "tensor", "entries", "worst relative error");
    double worst = 0;
    for (int k = 0; k < n; k++) {
        printf("%-10s %8zu  %.2e\n", t[k].name, t[k].entries, t[k].worst);
        worst = t[k].worst > worst ? t[k].worst : worst;
    }
    if (worst > bound) {
        cli_error("gradients disagree with finite differences (worst %.2e > %.0e): the backward "
                  "pass does not match the forward", worst, bound);
        return EXIT_ERROR;
    }
    printf("all within %.0e: the backward pass matches the forward\n", bound);
    return EXIT_OK;
}
