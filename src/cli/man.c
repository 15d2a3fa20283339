/* SPDX-License-Identifier: MIT */
/*
 * charnn help --man: the manual page, in roff. The options of every
 * command come from the same tables as --help (cli_help in roff mode), so
 * the page cannot drift from the program; make install writes it as
 * charnn.1.
 */
#include "cli.h"

static const char head[] =
    ".TH CHARNN 1 \"2026\" \"charnn " CHARNN_VERSION "\" \"User Commands\"\n"
    ".SH NAME\n"
    "charnn \\- character\\-level RNN, LSTM and GRU language models\n"
    ".SH SYNOPSIS\n"
    ".B charnn\n"
    ".I command\n"
    "[\\fIoptions\\fR]\n"
    ".SH DESCRIPTION\n"
    "charnn trains a vanilla RNN, an LSTM (with or without peephole connections) or a GRU on\n"
    "UTF\\-8 text, one character at a time, with truncated backpropagation through time,\n"
    "gradient clipping and the classic optimizers; it saves checkpoints and samples text\n"
    "from them. Training prints its progress (on a terminal, one status line redrawn in\n"
    "place), evaluates on a held\\-out tail of the corpus, keeps the best checkpoint beside\n"
    "the latest, and saves on Ctrl\\-C. Results are the same for any number of threads.\n"
    ".PP\n"
    "Start with \\fBcharnn train data/input.txt\\fR, then \\fBcharnn sample input.ckpt\\fR.\n"
    "\\fBcharnn help\\fR \\fIcommand\\fR and \\fBcharnn\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR\n"
    "list a command's options.\n"
    ".SH COMMANDS\n";

static const char tail[] =
    ".SH EXIT STATUS\n"
    ".TP\n.B 0\nsuccess\n"
    ".TP\n.B 1\nan input or resource problem: a missing, unreadable, empty or non\\-UTF\\-8 "
    "corpus, a corrupted or foreign checkpoint, a character outside the vocabulary, not "
    "enough memory, a failed final save or three failed saves in a row\n"
    ".TP\n.B 2\na bad command line: unknown command or option, a malformed or out\\-of\\-range "
    "value, options that contradict a checkpoint\n"
    ".TP\n.B 3\ntraining diverged (a non\\-finite loss or gradient); the last checkpoint is "
    "untouched\n"
    ".TP\n.B 130, 143\ninterrupted by SIGINT or SIGTERM, after saving the checkpoint\n"
    ".SH ENVIRONMENT\n"
    ".TP\n.B NO_COLOR\nwhen set and not empty, no colour even on a terminal\n"
    ".TP\n.B CHARNN_ISA\n\\fBgeneric\\fR, \\fBavx2\\fR, \\fBavx512\\fR or \\fBneon\\fR: use that "
    "build of the kernels instead of the best the CPU supports\n"
    ".SH FILES\n"
    ".TP\n.I NAME.ckpt\nthe checkpoint (default: the corpus's name); "
    ".I NAME.best.ckpt\nthe one with the best validation loss\n"
    ".SH EXAMPLES\n"
    ".nf\n"
    "charnn train data/input.txt \\-\\-model gru \\-\\-hidden 256 \\-\\-log run.csv\n"
    "charnn plot run.csv \\-o loss.svg\n"
    "charnn sample input.best.ckpt \\-\\-prime \"ROMEO:\" \\-\\-temperature 0.8\n"
    "charnn train data/input.txt \\-\\-resume input.ckpt \\-\\-iters 20000\n"
    ".fi\n"
    ".SH SEE ALSO\n"
    "\\fBcharnn help\\fR lists the topics above and \\fBcharnn help\\fR \\fItopic\\fR shows one; "
    "their text is \\fBsrc/doc/\\fR\\fItopic\\fR\\fB.md\\fR in the charnn sources, whose "
    "\\fBREADME.md\\fR is the introduction.\n";

void cli_man_head(FILE *out)
{
    fputs(head, out);
}

void cli_man_tail(FILE *out)
{
    fputs(tail, out);
}
