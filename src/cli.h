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
    char short_name;     /* also -x, or 0 */
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
extern int cli_help_roff;  /* help is printed as a man page section */
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

/* What the status line and the log show of a run (src/cli_progress.c). */
typedef struct {
    uint64_t iteration, target;           /* target 0: bounded by time alone */
    double fraction;                      /* of the run done, for the progress bar */
    double epoch, loss, smooth, val_loss; /* val_loss NaN if none yet */
    int evaluated;                        /* val_loss was measured at this iteration */
    double chars_per_s, elapsed, eta, seconds;
    int final;                            /* the last update: always drawn */
} Status;

typedef struct {
    int tty;          /* stdout is a terminal: one status line, redrawn */
    int color;        /* ANSI colour allowed (terminal, no NO_COLOR) */
    int quiet;        /* only the final summary */
    int line_open;    /* a status line is on screen */
    double last_draw; /* when it was last redrawn */
    FILE *log;        /* --log CSV, or NULL */
} Progress;

int cli_color_allowed(int fd);
void progress_init(Progress *p, int quiet);
/* Redraws the status line (terminal, at most 10 times a second), or prints
 * a plain line when plain_due (elsewhere). */
void progress_status(Progress *p, const Status *s, int plain_due);
/* A permanent line, in an ANSI colour when allowed ("" for none). */
void progress_line(Progress *p, const char *color, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void progress_sample(Progress *p, uint64_t iteration, double temperature, const char *text,
                     size_t len);
void progress_end(Progress *p);    /* clears the status line */
void progress_finish(Progress *p); /* ends it, leaving it on screen */
/* Opens (appends to) the CSV log; reports failure itself. */
int log_open(Progress *p, const char *path, const char *description, uint64_t iteration);
void log_row(Progress *p, const Status *s, double lr, double grad_norm);
void log_close(Progress *p);

/* One process, or one of several MPI ranks training one run together
 * (src/cli_mpi.c with make MPI=1, src/cli_solo.c otherwise). Rank 0 prints,
 * evaluates and saves; decisions that depend on its clock are broadcast so
 * that every rank takes the same path through the training loop. */
typedef struct {
    int rank, size;
} Comm;

extern Comm cli_comm;
void comm_init(int *argc, char ***argv);
void comm_finish(void);
const char *comm_build(void);          /* for --version */
/* This rank's share of a batch's streams and the hook that sums gradients
 * (and the loss) over the ranks, folding in whether any rank has seen a
 * signal. */
void comm_shard(int batch, CnShard *shard);
int comm_signal(void);                 /* a signal reached some rank (or this one) */
int comm_agree(int ok);                /* 1 if ok on every rank */
void comm_broadcast(int *v, int n);    /* rank 0's v[0..n) everywhere */
void comm_broadcast_doubles(double *v, int n);
int comm_same(uint32_t value);         /* 1 if value is the same on every rank */
/* The whole batch's carried state, gathered on rank 0 (malloc'd; NULL on
 * the other ranks or on failure); *len values. */
CnReal *comm_gather_state(const CnTrainer *tr, size_t *len);
/* Seconds spent summing gradients so far (the allreduce), and how often. */
double comm_reduce_seconds(uint64_t *calls);

int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
extern const char *const cell_choices[]; /* --model's: rnn lstm peephole gru */
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_plot(int argc, char **argv);
/* The man page around the commands' help (src/cli_man.c). */
void cli_man_head(FILE *out);
void cli_man_tail(FILE *out);

#endif /* CHARNN_CLI_H */
