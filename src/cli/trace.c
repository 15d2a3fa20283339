/* SPDX-License-Identifier: MIT */
/*
 * charnn trace: one forward and one backward pass over a short text, every
 * quantity printed in SPEC's notation, to check a derivation by hand or
 * with numpy; a tiny random model, or a checkpoint's. For the setups of
 * textbooks and homework: the loss as the sum of the steps' losses, a
 * linear rnn, no biases, and the terms of one step's loss J_t.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* A trace of T steps prints the weights and their gradients (2 P values)
 * and per step each layer's pre-activations, gates and deltas (3 G H),
 * h and its three gradients (4 H), c and its three (4 H, LSTMs), and y,
 * p and dL/dy (3 V); the terms of J_t once more the gradients (P) and t
 * steps' backward values: about 15 bytes a value as text, 22 as JSON.
 * Over 100 MB it says so before it starts. */
static void announce(const CnModel *m, size_t T, int terms, int json)
{
    CnShape s = cn_model_shape(m);
    int lstm = s.cell == CN_LSTM || s.cell == CN_PEEPHOLE;
    double per_step = (double)s.layers * (3.0 * cn_cell_gates(s.cell) * s.hidden +
                                          (4.0 + 4 * lstm) * s.hidden) + 3.0 * s.vocab + 1;
    double values = 2.0 * (double)cn_model_params(m) + per_step * (double)T;
    double t0 = terms < 0 ? 1 : terms, t1 = terms < 0 ? (double)T : terms;
    if (terms) /* steps t0..t1, each P gradients and t steps of backward values */
        values += (t1 - t0 + 1) * ((double)cn_model_params(m) + per_step * (t0 + t1) / 2);
    double bytes = values * (json ? 22 : 15);
    if (bytes > 100e6) {
        char n1[32], n2[32];
        cli_note("this trace prints about %.0f MB (the model's %s parameters and their "
                 "gradients, and %s values per step)", bytes / 1e6,
                 cli_count(cn_model_params(m), n1), cli_count((uint64_t)per_step, n2));
    }
}

/* --terms: "none", "all" (-1) or a step 1..T; EXIT_USAGE after saying why. */
static int parse_terms(const char *given, size_t T, int *terms)
{
    if (strcmp(given, "none") == 0 || strcmp(given, "all") == 0) {
        *terms = given[0] == 'a' ? -1 : 0;
        return 0;
    }
    char *end;
    long t = given[0] >= '0' && given[0] <= '9' ? strtol(given, &end, 10) : -1;
    if (t < 0 || *end) {
        cli_error("--terms %s is not a step; give a step t (1 to %zu, the text's steps), all "
                  "or none", given, T);
        return EXIT_USAGE;
    }
    if (t < 1 || (size_t)t > T) {
        cli_error("--terms %s is not one of the text's steps, 1 to %zu (T = characters - 1); "
                  "give one of them, or all", given, T);
        return EXIT_USAGE;
    }
    *terms = (int)t;
    return 0;
}

int cmd_trace(int argc, char **argv)
{
    const char *model = "lstm", *text = "hello", *from = NULL, *format = "text";
    const char *loss = "mean", *activation = "tanh", *terms = "none";
    int hidden = 3, layers = 1, no_bias = 0;
    uint64_t seed = 1;
    static const char *const formats[] = {"text", "json", NULL};
    static const char *const losses[] = {"mean", "sum", NULL};
    static const char *const activations[] = {"tanh", "linear", NULL};
    Flag flags[] = {
        {.name = "model", .type = FLAG_STR, .value = &model, .arg = "KIND",
         .help = "cell of the random model: rnn, lstm, peephole or gru", .choices = cn_cell_names},
        {.name = "hidden", .type = FLAG_INT, .value = &hidden, .arg = "N",
         .help = "hidden units per layer of the random model", .lo = 1, .hi = 64},
        {.name = "layers", .type = FLAG_INT, .value = &layers, .arg = "N",
         .help = "layers of the random model", .lo = 1, .hi = 4},
        {.name = "seed", .type = FLAG_U64, .value = &seed, .arg = "S",
         .help = "seed of the random model's weights, all uniform in [-0.5, 0.5)", .lo = 0,
         .hi = 1.8e19},
        {.name = "from", .type = FLAG_STR, .value = &from, .arg = "CKPT",
         .help = "trace a checkpoint's model instead of a random one"},
        {.name = "text", .type = FLAG_STR, .value = &text, .arg = "TEXT",
         .help = "the characters (2 to 1,000): inputs all but the last, targets all but the "
                 "first"},
        {.name = "loss", .type = FLAG_STR, .value = &loss, .arg = "FORM",
         .help = "mean: L = (1/T) Σ_t J_t, as training; sum: L = Σ_t J_t, a textbook's J "
                 "(J_t = -ln p_t[target_t])",
         .choices = losses},
        {.name = "activation", .type = FLAG_STR, .value = &activation, .arg = "F",
         .help = "the random rnn's h_t = tanh(a_h), or linear: h_t = a_h", .choices = activations},
        {.name = "no-bias", .type = FLAG_SWITCH, .value = &no_bias,
         .help = "the random model without biases (b_h, the gates' b, b_y all left out)"},
        {.name = "terms", .type = FLAG_STR, .value = &terms, .arg = "t",
         .help = "also J_t's own terms for step t, or for every step (all): dJ_t/dh_i for "
                 "each i <= t and dJ_t/dW, from the backward pass of J_t alone"},
        {.name = "format", .type = FLAG_STR, .value = &format, .arg = "FORMAT",
         .help = "text (readable) or json (every number at full precision)",
         .choices = formats},
        {.name = NULL},
    };
    Command cmd = {.name = "trace", .usage = "trace [options]",
                   .summary = "One forward and one backward pass over a short text, every "
                              "quantity printed in the notation of charnn help model, with "
                              "the course notes' symbols mapped to it: gates, states, outputs, "
                              "the loss, dL/dy, dL/dh (from the output and from step t+1), "
                              "dL/dc, each gate's delta and every weight's gradient; on "
                              "request one step's loss J_t term by term. A random model (lstm, "
                              "1 layer x 3 hidden, seed 1) over the text's characters, or --from "
                              "a checkpoint's.",
                   .flags = flags, .min_args = 0, .max_args = 0};
    const char *args[1];
    int nargs, rc;
    if ((rc = cli_parse(&cmd, argc, argv, args, &nargs)) != CLI_GO)
        return rc;
    if (from) {
        static const char *const shape_flags[] = {"model", "hidden", "layers", "seed",
                                                  "activation", "no-bias"};
        for (int k = 0; k < 6; k++)
            if (cli_flag(&cmd, shape_flags[k])->set) {
                cli_error("--%s makes a random model, --from traces a checkpoint's%s: give one "
                          "or the other", shape_flags[k], k >= 4 ? " (with its tanh and biases)"
                                                                 : "");
                return EXIT_USAGE;
            }
    }
    CnTraceOptions opt = {.json = strcmp(format, "json") == 0, .sum = strcmp(loss, "sum") == 0,
                          .linear = strcmp(activation, "linear") == 0, .no_bias = no_bias};
    if (opt.linear && strcmp(model, "rnn") != 0) {
        cli_error("--activation linear is for --model rnn; the %s's gates need their σ and tanh",
                  model);
        return EXIT_USAGE;
    }
    CnError err;
    size_t n = strlen(text);
    CnText *chars = n ? cn_text_from_memory(text, n, "--text", &err) : NULL;
    if (!chars) {
        cli_error("%s", n ? err.msg : "--text is empty; give at least 2 characters");
        return EXIT_USAGE;
    }
    if (cn_text_chars(chars) < 2) {
        cli_error("--text has 1 character; a trace needs at least 2 (the first predicts the "
                  "second)");
        cn_text_free(chars);
        return EXIT_USAGE;
    }
    if (cn_text_chars(chars) > CN_TRACE_MAX_CHARS) {
        char n1[32];
        cli_error("--text has %s characters, more than a trace's 1,000 (each step prints hundreds "
                  "of values or more); give a shorter --text", cli_count(cn_text_chars(chars), n1));
        _Static_assert(CN_TRACE_MAX_CHARS == 1000, "the messages and the help say 1,000");
        cn_text_free(chars);
        return EXIT_USAGE;
    }
    if ((rc = parse_terms(terms, cn_text_chars(chars) - 1, &opt.terms)) != 0) {
        cn_text_free(chars);
        return rc;
    }
    CnCheckpoint *ck = NULL;
    CnModel *random = NULL;
    const CnModel *m;
    if (from) {
        if (!(ck = cn_checkpoint_load(from, &err))) {
            cli_error_lib(&err);
            cn_text_free(chars);
            return EXIT_ERROR;
        }
        m = cn_checkpoint_model(ck);
        if (cn_model_covers(m, chars, "--text", &err) != 0) {
            cli_error_lib(&err);
            cn_checkpoint_free(ck);
            cn_text_free(chars);
            return EXIT_USAGE;
        }
    } else if (!(m = random = cn_model_random(chars, (CnCell)cn_lookup(cn_cell_names, model),
                                              hidden, layers, seed, &err))) {
        cli_error_lib(&err);
        cn_text_free(chars);
        return EXIT_ERROR;
    }
    announce(m, cn_text_chars(chars) - 1, opt.terms, opt.json);
    cn_text_free(chars);
    rc = cn_trace_with(stdout, m, text, n, &opt, &err);
    cn_model_free(random);
    cn_checkpoint_free(ck);
    if (rc != 0) {
        cli_error("%s", ferror(stdout) ? "cannot write the trace to standard output" : err.msg);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
