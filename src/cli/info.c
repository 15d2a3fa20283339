/* SPDX-License-Identifier: MIT */
/*
 * charnn info: describe a checkpoint: model, size, training progress, losses.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cmd_info(int argc, char **argv)
{
    Command cmd = {.name = "info", .usage = "info CKPT",
                   .summary = "Describe a checkpoint: model, size, training progress, losses.",
                   .min_args = 1, .max_args = 1};
    const char *args[1];
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
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
    if (c->batch > 0) { /* every training setting, by the name of its flag */
        CnSettings *all = cn_settings_new();
        if (!all) {
            cli_error("out of memory");
            cn_checkpoint_free(ck);
            return EXIT_ERROR;
        }
        *cn_settings_config(all) = *c;
        int col = printf("settings:    "), first = 1;
        CnSettingInfo info;
        for (int i = 0; cn_setting_info(i, &info) == 0; i++) {
            if (info.model)
                continue;
            char value[64];
            cn_settings_get(all, info.name, value, sizeof value);
            int width = (int)(strlen(info.name) + strlen(value)) + 3;
            col += printf("%s", first ? "" : ",");
            if (col + width > 90)
                col = printf("\n             ");
            col += printf(" %s %s", info.name, value);
            first = 0;
        }
        putchar('\n');
        cn_settings_free(all);
        char n3[32];
        printf("target:       iteration %s%s\n", cli_count(c->max_iters, n3),
               c->max_iters ? "" : " (none: the time budget alone ends the run)");
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

