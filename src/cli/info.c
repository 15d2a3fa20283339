/* SPDX-License-Identifier: MIT */
/*
 * charnn info: describe a checkpoint: model, size, training progress, losses.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdlib.h>

int cmd_info(int argc, char **argv)
{
    Command cmd = {.name = "info", .usage = "info CKPT",
                   .summary = "Describe a checkpoint: model, size, training progress, losses.",
                   .min_args = 1, .max_args = 1};
    const char *args[1];
    int nargs, rc = cli_parse(&cmd, argc, argv, args, &nargs);
    if (rc)
        return rc == 1 ? EXIT_OK : rc;
    CnError err;
    CnCheckpoint *ck = cn_checkpoint_load(args[0], &err);
    if (!ck) {
        cli_error("%s", err.msg);
        return EXIT_ERROR;
    }
    const CnModel *model = cn_checkpoint_model(ck);
    const CnShape shape = cn_model_shape(model), *s = &shape;
    const CnTrainConfig *c = cn_checkpoint_config(ck);
    const CnProgress *p = cn_checkpoint_progress(ck);
    char n1[32], n2[32], d1[32];
    printf("checkpoint:   %s (format version %u)\n", args[0], (unsigned)p->version);
    printf("model:        %s, %d layer%s x %d hidden\n", cn_cell_names[s->cell], s->layers,
           s->layers == 1 ? "" : "s", s->hidden);
    printf("parameters:   %s\n", cli_count(cn_model_params(model), n1));
    printf("vocabulary:   %d characters\n", s->vocab);
    printf("trained:      %s iterations (%s epochs complete), %s of training\n",
           cli_count(p->iteration, n1), cli_count(p->epoch, n2),
           cli_duration(p->train_seconds, d1));
    if (c->batch > 0) {
        printf("training:     batch %d x seq-length %d, %s lr %g, clip-value %g, clip-norm %g, "
               "dropout %g, val-frac %g, seed %llu, target %s iterations\n",
               c->batch, c->seq_length, cn_optim_names[c->optim.kind], c->optim.lr,
               c->clip_value, c->clip_norm, c->dropout, c->val_frac,
               (unsigned long long)c->seed, cli_count(c->max_iters, n1));
        printf("schedule:     %s", cn_schedule_names[c->schedule]);
        if (c->schedule == CN_LR_STEP)
            printf(" x%g per epoch after %g epochs", c->lr_decay, c->lr_decay_after);
        if (c->schedule == CN_LR_COSINE)
            printf(" down to %g", c->lr_min);
        printf(", warm-up %s iterations, init %s, bptt-random %g, time budget %s\n",
               cli_count(c->warmup, n1), cn_init_names[c->init], c->bptt_random,
               c->time_budget > 0 ? cli_duration(c->time_budget, d1) : "none");
    }
    if (isfinite(p->last_loss))
        printf("train loss:   %.4f (smoothed %.4f)\n", p->last_loss, p->smooth_loss);
    else
        printf("train loss:   none recorded\n");
    if (isfinite(p->val_loss)) {
        char *latest = cli_latest_path(args[0]), *best = latest ? cli_best_path(latest) : NULL;
        printf("val loss:     %.4f nats/char (%.4f bits/char)\n", p->val_loss,
               p->val_loss / log(2.0));
        printf("best:         %.4f at iteration %s, %s%s%s\n", p->best_val_loss,
               cli_count(p->best_iteration, n1),
               p->best_iteration == p->iteration ? "this checkpoint (the run keeps it as " : "kept in ",
               best ? best : "?", p->best_iteration == p->iteration ? " too)" : " by the run");
        free(latest);
        free(best);
    } else {
        printf("val loss:     none recorded\n");
    }
    cn_checkpoint_free(ck);
    return EXIT_OK;
}

