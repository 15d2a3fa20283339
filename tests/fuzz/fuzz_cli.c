/* SPDX-License-Identifier: MIT */
/* Fuzz target: command-line parsing of every command's real flag table.
 * The input is NUL-separated words: a command name, then its arguments.
 * Commands only parse (cli_parse_only); any argument list must be accepted
 * or refused with exit code 2, never crash. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* (make fuzz runs this target with -close_fd_mask=3: its messages are
 * dropped, libFuzzer's are not) */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cli_parse_only = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static int (*const commands[])(int, char **) = {
        cmd_train, cmd_sample, cmd_eval, cmd_info,      cmd_export, cmd_score,
        cmd_viz,   cmd_trace,  cmd_plot, cmd_gradcheck, cmd_bench};
    static const char *const names[] = {"train", "sample", "eval",  "info",      "export", "score",
                                        "viz",   "trace",  "plot",  "gradcheck", "bench"};
    enum { MAX_WORDS = 64, NCOMMANDS = sizeof names / sizeof names[0] };
    if (n == 0 || n > 4096)
        return 0;
    char *buf = malloc(n + 1), *words[MAX_WORDS + 1];
    memcpy(buf, data, n);
    buf[n] = '\0';
    int count = 0;
    for (size_t i = 0; i <= n && count < MAX_WORDS;) {
        words[count++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    words[count] = NULL;
    int which = (unsigned char)words[0][0] % NCOMMANDS; /* by name, else by first byte */
    for (int k = 0; k < NCOMMANDS; k++)
        if (strcmp(words[0], names[k]) == 0)
            which = k;
    int rc = commands[which](count - 1, words + 1);
    free(buf);
    if (rc != EXIT_OK && rc != EXIT_USAGE)
        abort(); /* parsing alone can only accept or refuse */
    return 0;
}
