/* SPDX-License-Identifier: MIT */
/*
 * charnn gradcheck: the backward pass against finite differences on a tiny random
 * model; for anyone who changes the cells.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

int cmd_gradcheck(int argc, char **argv)
{
    const char *model = "lstm";
    int hidden = 4, layers = 2, vocab = 5, batch = 3, seq_length = 4;
    double dropout = 0;
    uint64_t seed = 1;
    Flag flags[] = {
        {.name = "model", .type = FLAG_STR, .value = &model, .arg = "KIND",
         .help = "cell: rnn, lstm, peephole or gru", .choices = cn_cell_names},
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
    int nargs, rc;
    if ((rc = cli_parse(&cmd, argc, argv, args, &nargs)) != CLI_GO)
        return rc;
    /* the float library: steps of 1e-2, so a correct gradient is within ~1e-2
     * (the double-precision test build reaches 1e-6) */
    const double bound = 2e-2;
    CnShape shape = {(CnCell)cn_lookup(cn_cell_names, model), vocab, hidden, layers};
    CnGradcheck t[4 * 4 + 2];
    CnError err;
    int n = cn_gradcheck(&shape, batch, seq_length, dropout, seed, t, 4 * 4 + 2, &err);
    if (n < 0) {
        cli_error_lib(&err);
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
