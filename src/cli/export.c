/* SPDX-License-Identifier: MIT */
/*
 * charnn export: a checkpoint's model as JSON (charnn help files, "Exported tensors").
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

int cmd_export(int argc, char **argv)
{
    Command cmd = {.name = "export", .usage = "export CKPT > model.json",
                   .summary = "Write the model as JSON (tensor names and layouts: charnn help "
                              "files).",
                   .min_args = 1, .max_args = 1};
    const char *args[1];
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
    rc = cn_export_json(stdout, cn_checkpoint_model(ck));
    cn_checkpoint_free(ck);
    if (rc != 0) {
        cli_error("cannot write the JSON to standard output");
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

