/* SPDX-License-Identifier: MIT */
/*
 * charnn eval: the mean loss of a checkpoint over a text file, in nats and bits per
 * character; with --held-out, over the file's held-out tail as the
 * checkpoint's run validates on it, all of it.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>

CnText *cli_text_for(const CnModel *model, const char *path)
{
    CnError err;
    CnText *text = cn_text_load(&path, 1, &err);
    if (!text || (model && cn_model_covers(model, text, path, &err) != 0)) {
        cli_error_lib(&err);
        cn_text_free(text);
        return NULL;
    }
    if (cn_text_chars(text) < 2) {
        cli_error("%s has %zu character%s; scoring needs at least 2", path, cn_text_chars(text),
                  cn_text_chars(text) == 1 ? "" : "s");
        cn_text_free(text);
        return NULL;
    }
    return text;
}

/* --held-out: the validation loss of the checkpoint's run on all of the
 * corpus's held-out tail (cn_validation_loss with eval_chars 0); the run's
 * own validations may have read only part of it (--eval-chars). */
static double held_out(const CnCheckpoint *ck, const char *path, const CnText *text, int threads,
                       size_t *count, CnError *err)
{
    const CnTrainConfig *c = cn_checkpoint_config(ck);
    const CnProgress *p = cn_checkpoint_progress(ck);
    size_t n;
    cn_text_bytes(text, &n);
    if (p->corpus_bytes && n != p->corpus_bytes) {
        char n1[32], n2[32];
        cli_note("%s has %s bytes and the corpus of this run had %s: its held-out tail is not "
                 "the run's", path, cli_count(n, n1), cli_count(p->corpus_bytes, n2));
    }
    CnTrainConfig all = *c;
    all.eval_chars = 0;
    CnShape shape = cn_model_shape(cn_checkpoint_model(ck));
    return cn_validation_loss(cn_checkpoint_model(ck), text, &all,
                              cli_threads(threads, &shape, c->batch), count, err);
}

int cmd_eval(int argc, char **argv)
{
    int seq_length = 256, threads = 0, tail = 0;
    Flag flags[] = {
        {.name = "held-out", .type = FLAG_SWITCH, .value = &tail,
         .help = "score only FILE's held-out tail, as the checkpoint's run validates (its "
                 "--val-frac, --batch, --seq-length), all of it: FILE is the run's corpus"},
        CLI_PASS_FLAGS(&seq_length, &threads),
        {.name = NULL},
    };
    Command cmd = {.name = "eval", .usage = "eval CKPT FILE [--held-out]",
                   .summary = "Score FILE with a checkpoint from a zero state, state carried "
                              "throughout: prints the mean loss over its N-1 predictions in "
                              "nats per character, then bits per character.",
                   .flags = flags, .min_args = 2, .max_args = 2};
    const char *args[2];
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
    const CnModel *model = cn_checkpoint_model(ck);
    const CnTrainConfig *c = cn_checkpoint_config(ck);
    if (tail && (c->batch == 0 || !(c->val_frac > 0))) {
        cli_error("%s %s; --held-out scores the tail a run held out, so give a checkpoint of a "
                  "run with --val-frac above 0", args[0],
                  c->batch == 0 ? "holds a model without its training run"
                                : "was trained with --val-frac 0, without a held-out tail");
        cn_checkpoint_free(ck);
        return EXIT_USAGE;
    }
    if (tail && cli_flag(&cmd, "seq-length")->set) {
        cli_error("--held-out runs the tail as the run did, in chunks of its --seq-length %d; "
                  "drop --seq-length", c->seq_length);
        cn_checkpoint_free(ck);
        return EXIT_USAGE;
    }
    CnText *text = cli_text_for(model, args[1]);
    if (!text) {
        cn_checkpoint_free(ck);
        return EXIT_ERROR;
    }
    CnShape shape = cn_model_shape(model);
    size_t count;
    CnError err;
    double loss = tail ? held_out(ck, args[1], text, threads, &count, &err)
                       : cn_evaluate(model, text, seq_length,
                                     cli_threads(threads, &shape, 1), /* one stream: few help */
                                     &count, &err);
    cn_text_free(text);
    cn_checkpoint_free(ck);
    if (!isfinite(loss)) {
        cli_error("%s", isnan(loss) && err.msg[0] ? err.msg
                        : tail && isnan(loss) ? "the file is too short to hold out a tail"
                                              : "the loss is not finite");
        return EXIT_ERROR;
    }
    char n1[32];
    printf("%.6f nats/char  %.6f bits/char  (%s predictions)\n", loss, loss / log(2.0),
           cli_count(count, n1));
    return EXIT_OK;
}
