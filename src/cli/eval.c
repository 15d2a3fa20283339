/* SPDX-License-Identifier: MIT */
/*
 * charnn eval: the mean loss of a checkpoint over a text file, in nats and bits per
 * character.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>

CnText *cli_text_for(const CnModel *model, const char *path)
{
    CnError err;
    CnText *text = cn_text_load(&path, 1, &err);
    if (!text || (model && cn_model_covers(model, text, path, &err) != 0)) {
        cli_error("%s", err.msg);
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

int cmd_eval(int argc, char **argv)
{
    int seq_length = 256, threads = 0;
    Flag flags[] = {
        CLI_PASS_FLAGS(&seq_length, &threads),
        {.name = NULL},
    };
    Command cmd = {.name = "eval", .usage = "eval CKPT FILE",
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
    CnText *text = cli_text_for(model, args[1]);
    if (!text) {
        cn_checkpoint_free(ck);
        return EXIT_ERROR;
    }
    CnShape shape = cn_model_shape(model);
    threads = cli_threads(threads, &shape, 1); /* one stream: few threads help */
    size_t count;
    CnError err;
    double loss = cn_evaluate(model, text, seq_length, threads, &count, &err);
    cn_text_free(text);
    cn_checkpoint_free(ck);
    if (!isfinite(loss)) {
        cli_error("%s", isnan(loss) && err.msg[0] ? err.msg : "the loss is not finite");
        return EXIT_ERROR;
    }
    char n1[32];
    printf("%.6f nats/char  %.6f bits/char  (%s predictions)\n", loss, loss / log(2.0),
           cli_count(count, n1));
    return EXIT_OK;
}
