/* SPDX-License-Identifier: MIT */
/*
 * charnn sample: generate text from a checkpoint; the text alone goes to stdout.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
    const CnModel *model = cn_checkpoint_model(ck);
    CnError err;
    CnSampler *s = cn_sampler_new(model, seed, &err);
    if (!s) {
        cli_error("%s", err.msg);
        cn_checkpoint_free(ck);
        return EXIT_ERROR;
    }
    /* the prime (or a newline) runs through the model first; it is printed
       as given */
    size_t prime_len = strlen(prime);
    rc = prime_len ? cn_sampler_feed(s, prime, prime_len, "--prime", &err)
         : cn_model_char_index(model, '\n') >= 0 ? cn_sampler_feed(s, "\n", 1, "a newline", &err)
                                                  : 0;
    if (rc != 0) {
        cli_error("%s", err.msg);
        cn_sampler_free(s);
        cn_checkpoint_free(ck);
        return EXIT_USAGE;
    }
    fwrite(prime, 1, prime_len, stdout);
    /* stream: every character as soon as it is drawn, unless writing a file */
    struct stat out;
    int stream = fstat(STDOUT_FILENO, &out) != 0 || !S_ISREG(out.st_mode);
    cli_catch_signals();
    CnSampleOptions opt = {.temperature = temperature, .top_k = top_k, .argmax = argmax};
    /* stops at the first write that fails (a closed or full output) */
    for (uint64_t i = 0; (length == 0 || i < length) && !cli_signal && !ferror(stdout); i++) {
        char utf8[4];
        fwrite(utf8, 1, (size_t)cn_utf8_encode(cn_sampler_draw(s, &opt), utf8), stdout);
        if (stream)
            fflush(stdout);
    }
    if (!cli_signal)
        putchar('\n');
    int write_failed = fflush(stdout) != 0 || ferror(stdout), e = errno;
    cn_sampler_free(s);
    cn_checkpoint_free(ck);
    if (cli_signal)
        return EXIT_SIGNAL + cli_signal;
    if (write_failed) {
        cli_error("cannot write the sample to standard output: %s", strerror(e));
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

