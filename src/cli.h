/* SPDX-License-Identifier: MIT */
/*
 * The command-line driver's shared pieces: flag tables, messages, exit
 * codes. Nothing here is part of libcharnn.
 */
#ifndef CHARNN_CLI_H
#define CHARNN_CLI_H

#include "charnn.h"

/* Exit codes (README.md, "Exit codes"). */
enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,     /* bad input file, checkpoint, I/O, memory */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_DIVERGED = 3,  /* loss or gradient not finite */
    EXIT_SIGINT = 130,
    EXIT_SIGTERM = 143,
};

typedef enum { FLAG_INT, FLAG_U64, FLAG_REAL, FLAG_STR, FLAG_SWITCH } FlagType;

typedef struct {
    const char *name;    /* without the leading "--" */
    FlagType type;
    void *value;         /* int, uint64_t, double, const char * or int (switch) */
    const char *arg;     /* placeholder in help, e.g. "N" */
    const char *help;    /* one line */
    double lo, hi;       /* numeric range */
    int lo_open, hi_open;/* 1: the bound itself is excluded */
    const char *const *choices; /* FLAG_STR: allowed values, NULL-terminated */
    int set;             /* given on the command line */
} Flag;

typedef struct {
    const char *name;    /* "train" */
    const char *usage;   /* "train [FILE...] [options]" */
    const char *summary; /* one line */
    Flag *flags;         /* terminated by a flag with name NULL */
    int min_args, max_args;
} Command;

extern const char *cli_program; /* argv[0], for messages and suggestions */

/* Parses argv into cmd's flags and positional arguments (at most max_args,
 * collected in args). Returns 0, 1 if --help was printed (or, with
 * cli_parse_only set, if the arguments are valid), or EXIT_USAGE after
 * printing an error. */
extern int cli_parse_only; /* tests and fuzzing: commands stop after parsing */
int cli_parse(const Command *cmd, int argc, char **argv, const char **args, int *nargs);
void cli_help(const Command *cmd, FILE *out);
Flag *cli_flag(const Command *cmd, const char *name);

/* "charnn: <message>" on stderr, one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1234567 -> "1,234,567" */
const char *cli_count(uint64_t n, char buf[32]);
/* seconds -> "1:02:03" or "2:03" */
const char *cli_duration(double seconds, char buf[32]);
double cli_now(void); /* monotonic seconds */
/* Physical memory in bytes, 0 if unknown. */
uint64_t cli_physical_memory(void);
/* Installs SIGINT/SIGTERM handlers that set cli_signal. */
void cli_catch_signals(void);
extern volatile int cli_signal;

int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif /* CHARNN_CLI_H */
