/* SPDX-License-Identifier: MIT */
/*
 * The command-line driver's shared pieces: flag tables, messages, exit
 * codes. Nothing here is part of libcharnn.
 */
#ifndef CHARNN_CLI_H
#define CHARNN_CLI_H

#include "charnn.h"
#include "charnn_tools.h"

#include "os.h"

/* Exit codes (charnn help safety, "Exit codes"). */
enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,     /* bad input file, checkpoint, I/O, memory */
    EXIT_USAGE = 2,     /* bad command line */
    EXIT_DIVERGED = 3,  /* loss or gradient not finite */
    EXIT_SIGNAL = 128, /* + the signal: 129 SIGHUP, 130 SIGINT, 143 SIGTERM */
};

/* FLAG_DURATION: seconds (double), given as 90s, 10m, 2h or plain seconds;
 * FLAG_SETTING: a setting of the library's table (cn_setting_info), parsed
 * and checked by cn_settings_set into the flag's settings */
typedef enum {
    FLAG_INT, FLAG_U64, FLAG_REAL, FLAG_DURATION, FLAG_STR, FLAG_SWITCH, FLAG_SETTING
} FlagType;

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
    const char *zero;    /* FLAG_INT, FLAG_U64: a word that means 0 ("all"), or NULL */
    CnSettings *settings;/* FLAG_SETTING: where its value goes */
    const char *def;     /* FLAG_SETTING: the default shown in help */
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
 * collected in args). Returns CLI_GO, or the command's exit code: EXIT_OK
 * after --help (or, with cli_parse_only set, for valid arguments),
 * EXIT_USAGE after printing an error. */
enum { CLI_GO = -1 };
extern int cli_parse_only; /* tests and fuzzing: commands stop after parsing */
extern int cli_help_roff;  /* help is printed as a man page section */
extern int cli_help_markdown; /* help is a Markdown table of the flags (the topics' tables) */
int cli_parse(const Command *cmd, int argc, char **argv, const char **args, int *nargs);
void cli_help(const Command *cmd, FILE *out);
Flag *cli_flag(const Command *cmd, const char *name);

/* Flags for the settings of the library's table into out (at most max):
 * every model setting when model is set, every training one when train is,
 * else (both 0) those named in only (NULL-terminated); their values go to
 * s. A recorded setting (plan-epochs: the library's plan sets it) is no
 * flag. Returns how many. */
int cli_setting_flags(Flag *out, int max, CnSettings *s, int model, int train,
                      const char *const *only);
/* A library message that names settings in quotes ('val-frac', and
 * 'init-from'), in the command line's words: --val-frac, --init-from. */
const char *cli_flag_words(const char *msg, char *out, size_t n);
/* cli_error of a library's message, in the command line's words. */
void cli_error_lib(const CnError *err);

/* For a command whose first argument is a checkpoint: parses the command
 * line and loads it; NULL with *rc the exit code (after --help, or an error
 * said). */
CnCheckpoint *cli_start(const Command *cmd, int argc, char **argv, const char **args, int *rc);

/* "charnn: <message>" on stderr, one line. */
void cli_error(const char *fmt, ...) OS_PRINTF(1, 2);
/* "charnn: note: <message>" on stderr: something changed for the user's good. */
void cli_note(const char *fmt, ...) OS_PRINTF(1, 2);
/* 1234567 -> "1,234,567" */
const char *cli_count(uint64_t n, char buf[32]);
/* seconds -> "1:02:03" or "2:03" */
const char *cli_duration(double seconds, char buf[32]);
/* The threads to use: `requested` (--threads; 0 if not given: as many as
 * help a model of this shape on this many streams), at most the
 * processors, with a note when a request is reduced. */
int cli_threads(int requested, const CnShape *shape, int streams);

/* --precision: fp32, bf16, or auto (cn_precision_auto: charnn help precision).
 * cli_precision gives the precision `given` means for this shape and batch
 * (auto: rank 0's choice, with several MPI ranks: call it on every rank) and
 * in *why, for auto, the reason for the choice (else NULL);
 * cli_precision_note says, for bf16 without the instructions, that the
 * products are emulated. */
extern const char *const cli_precision_choices[];
CnPrecision cli_precision(const char *given, const CnShape *shape, int batch, const char **why);
void cli_precision_note(CnPrecision precision);
/* The manual's topics: src/doc/NAME.md, line by line, compiled in by the
 * Makefile (build/cli/topics.c), in the order of its TOPICS; ends with a
 * NULL name. */
typedef struct {
    const char *name;
    const char *const *lines; /* NULL-terminated */
} CliTopic;
extern const CliTopic cli_topics[];
void cli_topics_list(FILE *out);              /* "  name   Title" lines */
int cli_topic_exists(const char *name);
const char *cli_topic_names(void);            /* "model, train, ..." */
int cli_help_topic(const char *name, FILE *out); /* rendered for a terminal; -1 if none */
void cli_man_topics(FILE *out);               /* every topic as man page sections */

/* Installs SIGINT/SIGTERM/SIGHUP handlers that set cli_signal. */
void cli_catch_signals(void);
extern volatile sig_atomic_t cli_signal;

/* What the status line and the log show of a run (src/cli/progress.c). */
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
    FILE *log;        /* --log CSV (owned by the run's Outputs), or NULL */
    const char *log_name;
    uint64_t log_run;                /* the run column */
    const char *log_description;     /* for the next row, then NULL */
    const char *lost; /* "standard output" or the log's name: a write failed */
    int lost_errno;   /* why */
} Progress;

int cli_color_allowed(int fd);
void progress_init(Progress *p, int quiet);
/* Redraws the status line (terminal, at most 10 times a second), or prints
 * a plain line when plain_due (elsewhere). */
void progress_status(Progress *p, const Status *s, int plain_due);
/* A permanent line, in an ANSI colour when allowed ("" for none). */
void progress_line(Progress *p, const char *color, const char *fmt, ...)
    OS_PRINTF(3, 4);
void progress_sample(Progress *p, uint64_t iteration, double temperature, const char *text,
                     size_t len);
void progress_end(Progress *p);    /* clears the status line */
void progress_finish(Progress *p); /* ends it, leaving it on screen */
/* The training log's header line: its columns (src/cli/progress.c). */
extern const char *const log_header;
/* Starts the CSV log in f (open for appending): the header in a new file;
 * rows carry run, and the first row this invocation writes the description
 * (which the caller keeps alive). A failed write to stdout or the log sets
 * p->lost and raises SIGPIPE's flag in cli_signal, so that the run saves
 * and stops. */
void log_start(Progress *p, FILE *f, const char *name, const char *description, uint64_t run);
void log_row(Progress *p, const Status *s, double lr, double grad_norm);
void log_flush(Progress *p);

/* What a training run writes (src/cli/outputs.c). */
typedef struct {
    const char *given; /* the path as given or derived, for messages */
    char *path;        /* the file it names, links resolved: checkpoints are saved there */
    char *lock_path;   /* PATH.lock, held for the whole run (not for a log that is a
                          device such as /dev/null) */
    int lock_fd;       /* -1: not held */
    int created;       /* the log: this run created the file */
} Output;

typedef struct {
    Output ckpt, best, log; /* log.given NULL: no log */
    FILE *log_file;         /* the log, open for appending and locked */
    int best_on_disk;       /* the best file already holds the run's best so far */
} Outputs;

/* Before anything is loaded: checks the outputs' paths against the run's
 * inputs (the corpus files, --resume, --init-from) and each other, checks
 * that each can be written, takes the checkpoints' locks and opens the log.
 * Returns 0, or reports the problem and returns an exit code. */
int outputs_prepare(Outputs *out, const char *const *inputs, int ninputs, const char *resume,
                    const char *init_from);
/* Once the run is set up: refuses to replace a checkpoint at an output that
 * this run must not (another run's, a later point of this one, the
 * --init-from source) unless forced, and never a file that is not one. */
int outputs_check_existing(Outputs *out, const CnTrainer *tr, const char *resume,
                           const char *init_from, int force);
/* A run resumed into a file that is not its own (neither the resumed file
 * nor, for X.best.ckpt, X.ckpt) branches off (cn_trainer_branch), so that
 * the two lines never count as one. */
int outputs_branches(const Outputs *out, const char *resume);
/* Releases the locks and closes the log (removing it if this run created it
 * and wrote nothing). */
void outputs_release(Outputs *out);
/* The same file: one inode (both exist: hard links too), or one path with
 * every symbolic link resolved. */
int cli_same_file(const char *a, const char *b);
char *cli_best_path(const char *ckpt);   /* "input.ckpt" -> "input.best.ckpt" (malloc'd) */
char *cli_latest_path(const char *ckpt); /* "input.best.ckpt" -> "input.ckpt" (malloc'd) */

/* Documents for people to look at (src/cli/document.c): plot's picture,
 * viz's page. */
typedef struct {
    const char *kind;     /* "an SVG picture" */
    const char *replaces; /* "charnn plot replaces only pictures" */
    const char *example;  /* a file name to suggest: "loss.svg" */
    int (*is_kind)(const char *head); /* an existing file's first 4 KB are one */
    const char *writer;   /* "charnn plot" */
    const char *mark;     /* in the first 4 KB of every document it writes */
    int (*legacy)(const char *head); /* one written before the mark, or NULL */
} Document;
/* The document starts, after a byte-order mark, an XML declaration,
 * comments and a doctype, with the element <name (any case). */
int cli_root_element(const char *head, const char *name);
int cli_is_device(const char *path); /* exists and is neither a file nor a directory */
/* The name a document shows an invisible or formatting character by
 * ("RLO", "ZWSP", or "U+XXXX" in buf), or NULL for one that shows itself
 * (src/cli/document.c). */
const char *cli_invisible_name(uint32_t c, char buf[12]);
/* Text inside an element or attribute of an SVG or HTML document: & < > "
 * as entities, control characters other than tab left out, invisible and
 * formatting characters by their names in brackets ("[RLO]"). */
void cli_put_markup(FILE *out, const char *s);
/* The default name of a document of input: its name with ext in place of
 * its extension ("stdin" for "-"), or with alt when that is the input
 * itself ("page.html" -> "page.viz.html"); malloc'd. */
char *cli_document_name(const char *input, const char *ext, const char *alt);
/* output (given: by -o, else a default name) may be written: "-"
 * (standard output), or not one of the inputs, not a directory, and if a
 * non-empty file, a document of doc's writer, or with force one of its
 * kind. suggest: another name, for the message. 0, or an exit code after
 * saying why. */
int cli_check_document(const char *output, int given, const char *const *inputs, int ninputs,
                       const Document *doc, int force, const char *suggest);
/* Writes output with write(out, ctx) (0 or -1) into PATH.PID.tmp, synced,
 * then renamed over it (a device is written directly, "-" is standard
 * output). 0, or an exit code after saying why. */
int cli_write_document(const char *output, int (*write)(FILE *out, const void *ctx),
                       const void *ctx);

/* One process, or one of several MPI ranks training one run together
 * (src/cli/comm_mpi.c with make MPI=1, src/cli/comm_solo.c otherwise). Rank 0 prints,
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
CnReal *comm_gather_state(const CnTrainer *tr, const CnShard *shard, size_t *len);
/* Seconds the training thread spent on summing gradients so far, and how
 * often: waiting for the sums after the backward pass (returned), and
 * starting them during it (*during; CHARNN_MPI_OVERLAP=0 starts none). */
double comm_reduce_seconds(uint64_t *calls, double *during);

/* The flags of the commands that run a model over a text (eval, score,
 * viz): the chunk length and the threads, neither of which changes a
 * result. */
#define CLI_PASS_FLAGS(seq_length, threads)                                                    \
    {.name = "seq-length", .type = FLAG_INT, .value = (seq_length), .arg = "T",                \
     .help = "steps per chunk (speed only: the state carries across chunks)", .lo = 1,         \
     .hi = 1 << 20},                                                                           \
    {.name = "threads", .type = FLAG_INT, .value = (threads), .arg = "N",                      \
     .help = "threads, at most the processors (default: as many as help the model)", .lo = 1, \
     .hi = 1024}
/* FILE loaded to be scored by model (eval, score, viz): valid UTF-8, at
 * least 2 characters, and (unless model is NULL) every character in the
 * vocabulary; NULL after saying why. */
CnText *cli_text_for(const CnModel *model, const char *path);
/* A character for a row or a JSON string: \\ \t \n \r escaped, other
 * control characters as \xHH, or in JSON \uHHHH with '"' as \". */
void cli_put_escaped(FILE *out, uint32_t cp, int json);
/* The same, as a string: a constant, or buf filled in. */
const char *cli_escape(uint32_t cp, int json, char buf[8]);

int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_viz(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_plot(int argc, char **argv);
/* The man page around the commands' help (src/cli/man.c). */
void cli_man_head(FILE *out);
void cli_man_tail(FILE *out);

#endif /* CHARNN_CLI_H */
