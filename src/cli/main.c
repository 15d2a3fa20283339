/* SPDX-License-Identifier: MIT */
/*
 * charnn: the command-line entry point. Dispatches to a command; every
 * command parses its own flags (src/cli_*.c) and calls libcharnn.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Entry;

static const Entry commands[] = {
    {"train", cmd_train, "train a model on a text file"},
    {"sample", cmd_sample, "generate text from a checkpoint"},
    {"eval", cmd_eval, "score a text file with a checkpoint (nats and bits per char)"},
    {"score", cmd_score, "the probability of every character of a text, and the model's guesses"},
    {"viz", cmd_viz, "a web page that shows what the model sees in a text and what its units do"},
    {"info", cmd_info, "describe a checkpoint"},
    {"export", cmd_export, "write a checkpoint's model as JSON"},
    {"plot", cmd_plot, "draw a training log's losses as an SVG picture"},
    {"gradcheck", cmd_gradcheck, "check the backward pass against finite differences"},
    {"trace", cmd_trace, "one forward and backward pass, every quantity printed (check a derivation)"},
    {"bench", cmd_bench, "time training and sampling: chars/s, GFLOP/s, where the time goes"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *out)
{
    fprintf(out, "charnn %s: character-level RNN, LSTM and GRU language models\n\n"
                 "usage: %s COMMAND [options]\n\ncommands:\n", CHARNN_VERSION, cli_program);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s %s\n", "help", "help on a command or a topic: charnn help train");
    fprintf(out, "\ntopics (charnn help TOPIC; all of them in man charnn):\n");
    cli_topics_list(out);
    fprintf(out, "\nStart with:  %s train data/input.txt\n"
                 "then:        %s sample input.ckpt\n"
                 "Each command lists its options with --help.\n", cli_program, cli_program);
}

/* "train, sample, ..., bench": every command's name, from the table */
static const char *names(void)
{
    static char list[256];
    size_t at = 0;
    for (int i = 0; i < NCOMMANDS && at < sizeof list; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "",
                               commands[i].name);
    return list;
}

static const Entry *find(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    /* a standard descriptor closed by the caller (>&-) is held by /dev/null,
       read-only: writes to it still fail, and no file charnn opens (a lock,
       a log) can take its number and receive what was meant for it */
#ifdef F_GETFD
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && open("/dev/null", O_RDONLY) != fd)
            return EXIT_ERROR;
#endif
#ifdef SIGXFSZ
    /* a file-size limit makes writes fail (EFBIG), which every command
       handles, instead of killing the process mid-save */
    signal(SIGXFSZ, SIG_IGN);
#endif
    os_start();
    comm_init(&argc, &argv);
    int rc = run(argc, argv);
    /* whatever the command, output that did not reach stdout is an error */
    int e = fflush(stdout) != 0 ? errno : ferror(stdout) ? EIO : 0;
    if (e && rc == EXIT_OK) {
        cli_error("cannot write to standard output: %s", strerror(e));
        rc = EXIT_ERROR;
    }
    comm_finish();
    return rc;
}

static int run(int argc, char **argv)
{
    if (argc > 0 && argv[0] && argv[0][0])
        cli_program = argv[0];
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        (strcmp(name, "help") == 0 && argc == 2)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        /* what --precision auto means for the default model */
        const CnShape shape = {CN_GRU, 65, 512, 2};
        const char *why;
        CnPrecision auto_is = cn_precision_auto(&shape, 32, &why);
        if (cli_comm.rank == 0)
            printf("charnn %s (%s; kernels: %s, bf16 products %s, %d processors; --precision "
                   "auto: %s, as %s)\n", CHARNN_VERSION, comm_build(), cn_kernels_name(),
                   cn_bf16_native() ? "on AVX512_BF16" : "emulated", cn_cpu_count(),
                   cn_precision_names[auto_is], why);
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0 && strcmp(argv[2], "--man") == 0) {
        /* the manual page, from the same tables as --help (make install) */
        char help[] = "--help";
        char *help_argv[] = {help, NULL};
        cli_help_roff = 1;
        cli_man_head(stdout);
        for (int i = 0; i < NCOMMANDS; i++)
            commands[i].run(1, help_argv);
        cli_man_topics(stdout);
        cli_man_tail(stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
    }
    if (strcmp(name, "help") == 0 && argc == 4 && strcmp(argv[3], "--markdown") == 0 &&
        find(argv[2])) {
        /* a command's flags as the Markdown table its topic holds (tests
         * check the topics' tables against it) */
        char help[] = "--help";
        char *help_argv[] = {help, NULL};
        cli_help_markdown = 1;
        return find(argv[2])->run(1, help_argv);
    }
    if (strcmp(name, "help") == 0) {
        const Entry *e = find(argv[2]);
        if (cli_topic_exists(argv[2])) /* a topic named as a command (train) holds its flags */
        {
            if (cli_help_topic(argv[2], stdout) == 0)
                return EXIT_OK;
            cli_error("cannot write to standard output: %s", strerror(errno ? errno : EIO));
            return EXIT_ERROR;
        }
        if (!e) {
            cli_error("no command or topic '%s'; commands are %s; topics are %s", argv[2],
                      names(), cli_topic_names());
            return EXIT_USAGE;
        }
        char help[] = "--help";
        char *help_argv[] = {help, NULL};
        return e->run(1, help_argv);
    }
    const Entry *e = find(name);
    /* under MPI only training is shared; other commands run on rank 0 */
    if (cli_comm.rank != 0 && (!e || e->run != cmd_train))
        return EXIT_OK;
    if (!e) {
        cli_error("unknown command '%s'; commands are %s (see %s --help)", name, names(),
                  cli_program);
        return EXIT_USAGE;
    }
    return e->run(argc - 2, argv + 2);
}
