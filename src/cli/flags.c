/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing from flag tables: "--name value" or "--name=value",
 * strict numbers with ranges, choices, switches, and help generated from
 * the same table (so every flag is listed with its current default).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *cli_program = "charnn";
int cli_parse_only;
int cli_help_roff;
int cli_help_markdown;
volatile sig_atomic_t cli_signal;

int cli_setting_flags(Flag *out, int max, CnSettings *s, int model, int train,
                      const char *const *only)
{
    CnSettingInfo info;
    int n = 0;
    for (int i = 0; n < max && cn_setting_info(i, &info) == 0; i++) {
        int want = !info.recorded && ((model && info.model) || (train && !info.model));
        for (const char *const *o = only; !want && o && *o; o++)
            want = strcmp(*o, info.name) == 0;
        if (want)
            out[n++] = (Flag){.name = info.name, .type = FLAG_SETTING, .arg = info.arg,
                              .help = info.help, .settings = s, .def = info.def};
    }
    return n;
}

const char *cli_flag_words(const char *msg, char *out, size_t n)
{
    size_t at = 0;
    CnSettingInfo info;
    while (*msg && at + 1 < n) {
        const char *end = *msg == '\'' ? strchr(msg + 1, '\'') : NULL;
        int known = 0;
        if (end) {
            size_t len = (size_t)(end - msg - 1);
            known = (len == 9 && strncmp(msg + 1, "init-from", 9) == 0) ||
                    (len == 6 && strncmp(msg + 1, "resume", 6) == 0);
            for (int i = 0; !known && cn_setting_info(i, &info) == 0; i++)
                known = strlen(info.name) == len && strncmp(msg + 1, info.name, len) == 0;
        }
        if (known) { /* 'name' -> --name */
            at += (size_t)snprintf(out + at, n - at, "--%.*s", (int)(end - msg - 1), msg + 1);
            msg = end + 1;
        } else {
            out[at++] = *msg++;
        }
    }
    out[at < n ? at : n - 1] = 0;
    return out;
}

/* The checkpoint at path, or NULL after saying why on stderr. */
static CnCheckpoint *cli_load(const char *path)
{
    CnError err;
    CnCheckpoint *ck = cn_checkpoint_load(path, &err);
    if (!ck)
        cli_error_lib(&err);
    return ck;
}

CnCheckpoint *cli_start(const Command *cmd, int argc, char **argv, const char **args, int *rc)
{
    int nargs;
    if ((*rc = cli_parse(cmd, argc, argv, args, &nargs)) != CLI_GO)
        return NULL;
    CnCheckpoint *ck = cli_load(args[0]);
    *rc = ck ? EXIT_OK : EXIT_ERROR;
    return ck;
}

int cli_color_allowed(int fd)
{
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    return os_terminal(fd) && !(no_color && no_color[0]) && !(term && strcmp(term, "dumb") == 0);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("charnn: note: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_error_lib(const CnError *err)
{
    char words[CN_ERRLEN * 2];
    cli_error("%s", cli_flag_words(err->msg, words, sizeof words));
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs(cli_color_allowed(STDERR_FILENO) ? "\033[31mcharnn:\033[0m " : "charnn: ", stderr);
    if (cli_comm.rank != 0)
        fprintf(stderr, "(rank %d) ", cli_comm.rank);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

Flag *cli_flag(const Command *cmd, const char *name)
{
    for (Flag *f = cmd->flags; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Edit distance, for "did you mean" suggestions (short strings only). */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (strlen(a) > 40 || n > 40)
        return 99;
    int row[41];
    for (size_t j = 0; j <= n; j++)
        row[j] = (int)j;
    for (size_t i = 1; a[i - 1]; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= n; j++) {
            int up = row[j];
            int sub = diag + (a[i - 1] != b[j - 1]);
            int del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            diag = up;
        }
    }
    return row[n];
}

static void format_default(const Flag *f, char *out, size_t n)
{
    if (f->type == FLAG_SETTING) {
        snprintf(out, n, "%s", f->def ? f->def : "");
        return;
    }
    if (f->zero && (f->type == FLAG_INT ? *(int *)f->value == 0 : *(uint64_t *)f->value == 0)) {
        snprintf(out, n, "%s", f->zero);
        return;
    }
    switch (f->type) {
    case FLAG_INT: snprintf(out, n, "%d", *(int *)f->value); break;
    case FLAG_U64: snprintf(out, n, "%llu", (unsigned long long)*(uint64_t *)f->value); break;
    case FLAG_REAL: snprintf(out, n, "%g", *(double *)f->value); break;
    case FLAG_DURATION:
        if (*(double *)f->value > 0)
            snprintf(out, n, "%gs", *(double *)f->value);
        else
            snprintf(out, n, "none");
        break;
    case FLAG_STR: {
        const char *s = *(const char **)f->value;
        snprintf(out, n, "%s", s ? s : "");
        break;
    }
    case FLAG_SWITCH: snprintf(out, n, "%s", *(int *)f->value ? "on" : "off"); break;
    case FLAG_SETTING: break; /* above */
    }
}

/* Roff for a man page: backslashes and dashes escaped. */
static void roff(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '-')
            fputc('\\', out);
        fputc(*s, out);
    }
}

/* A Markdown table cell: | escaped. */
static void markdown(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void cli_help(const Command *cmd, FILE *out)
{
    if (cli_help_markdown)
        fputs("| flag | default | meaning |\n|---|---|---|\n", out);
    else if (cli_help_roff) {
        fputs(".SS \"", out);
        roff(out, cmd->usage);
        fputs("\"\n", out);
        roff(out, cmd->summary);
        fputc('\n', out);
    } else {
        fprintf(out, "usage: %s %s\n\n%s\n", cli_program, cmd->usage, cmd->summary);
        if (cmd->flags && cmd->flags->name)
            fputs("\noptions:\n", out);
    }
    for (const Flag *f = cmd->flags; f && f->name; f++) {
        char left[64], def[64];
        const char *arg_sep = f->arg ? " " : "", *arg = f->arg ? f->arg : "";
        if (f->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", f->short_name, f->name, arg_sep, arg);
        else
            snprintf(left, sizeof left, "--%s%s%s", f->name, arg_sep, arg);
        format_default(f, def, sizeof def);
        /* help that states its own default (e.g. "all processors") keeps it */
        int show_default = f->type != FLAG_SWITCH && def[0] && !strstr(f->help, "(default");
        if (cli_help_markdown) {
            fputs("| `", out);
            markdown(out, left);
            fputs("` | ", out);
            markdown(out, show_default || f->type == FLAG_SWITCH ? def : "");
            fputs(" | ", out);
            markdown(out, f->help);
            fputs(" |\n", out);
            continue;
        }
        if (cli_help_roff) {
            fputs(".TP\n.B ", out);
            roff(out, left);
            fputc('\n', out);
            roff(out, f->help);
            if (show_default) {
                fputs(" (default ", out);
                roff(out, def);
                fputc(')', out);
            }
            fputc('\n', out);
            continue;
        }
        fprintf(out, "  %-22s %s", left, f->help);
        if (show_default)
            fprintf(out, " (default %s)", def);
        fputc('\n', out);
    }
    if (!cli_help_roff && !cli_help_markdown)
        fprintf(out, "  %-22s %s\n", "-h, --help", "show this help and exit");
}

static int out_of_range(const Flag *f, double x)
{
    return x < f->lo || x > f->hi || (f->lo_open && x == f->lo) || (f->hi_open && x == f->hi);
}

static void range_text(const Flag *f, char *out, size_t n)
{
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.15g", f->lo); /* 16777216, not 1.67772e+07 */
    snprintf(hi, sizeof hi, "%.15g", f->hi);
    if (isinf(f->hi))
        snprintf(out, n, "%s %s", f->lo_open ? "greater than" : "at least", lo);
    else
        snprintf(out, n, "%s%s, %s%s", f->lo_open ? "(" : "[", lo, hi, f->hi_open ? ")" : "]");
}

/* Stores text as the flag's value; EXIT_USAGE with a message if invalid. */
static int set_value(Flag *f, const char *text)
{
    if (f->type == FLAG_SETTING) { /* the library's range, said in the flag's name */
        CnError err;
        if (cn_settings_set(f->settings, f->name, text, &err) == 0)
            return 0;
        cli_error("--%s", err.msg);
        return EXIT_USAGE;
    }
    char range[96];
    range_text(f, range, sizeof range);
    if (f->type == FLAG_STR) {
        if (f->choices) {
            for (const char *const *c = f->choices; *c; c++)
                if (strcmp(*c, text) == 0)
                    goto ok;
            char list[160] = "";
            for (const char *const *c = f->choices; *c; c++) {
                strncat(list, *c, sizeof list - strlen(list) - 1);
                if (c[1])
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
            }
            cli_error("--%s %s is not one of: %s", f->name, text, list);
            return EXIT_USAGE;
        }
    ok:
        *(const char **)f->value = text;
        return 0;
    }
    char *end;
    errno = 0;
    if (f->type == FLAG_DURATION) { /* "90s", "10m", "2h", "1.5h" or plain seconds */
        double x = strtod(text, &end);
        double unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                      : !strcmp(end, "h") ? 3600 : -1;
        if (end == text || unit < 0 || !(x > 0) || !isfinite(x * unit)) {
            cli_error("--%s %s is not a duration; give e.g. 90s, 10m or 2h", f->name, text);
            return EXIT_USAGE;
        }
        *(double *)f->value = x * unit;
        return 0;
    }
    if (f->type == FLAG_REAL) {
        double x = strtod(text, &end); /* ERANGE on underflow too: 5e-324 is a number */
        if (end == text || *end || !isfinite(x)) {
            cli_error("--%s %s is not a number; give e.g. --%s %g", f->name, text, f->name,
                      *(double *)f->value);
            return EXIT_USAGE;
        }
        if (out_of_range(f, x)) {
            cli_error("--%s %s is out of range; use a value %s%s", f->name, text,
                      isinf(f->hi) ? "" : "in ", range);
            return EXIT_USAGE;
        }
        *(double *)f->value = x;
        return 0;
    }
    /* integers: decimal digits only, no sign games; or the word for 0 */
    if (f->zero && strcmp(text, f->zero) == 0) {
        if (f->type == FLAG_INT)
            *(int *)f->value = 0;
        else
            *(uint64_t *)f->value = 0;
        return 0;
    }
    const char *p = text;
    if (*p == '+')
        p++;
    int negative = *p == '-';
    unsigned long long v = strtoull(negative ? p + 1 : p, &end, 10);
    if (end == p + negative || *end || errno == ERANGE || (negative ? p[1] : p[0]) < '0' ||
        (negative ? p[1] : p[0]) > '9') {
        cli_error("--%s %s is not a whole number%s%s", f->name, text, f->zero ? " or " : "",
                  f->zero ? f->zero : "");
        return EXIT_USAGE;
    }
    double x = negative ? -(double)v : (double)v;
    if (out_of_range(f, x) || (f->type == FLAG_U64 && negative)) {
        cli_error("--%s %s is out of range; use a whole number %s%s", f->name, text,
                  isinf(f->hi) ? "" : "in ", range);
        return EXIT_USAGE;
    }
    if (f->type == FLAG_INT)
        *(int *)f->value = (int)x;
    else
        *(uint64_t *)f->value = v;
    return 0;
}

static void suggest(const Command *cmd, const char *name)
{
    const Flag *best = NULL;
    int best_d = 3;
    for (const Flag *f = cmd->flags; f && f->name; f++) {
        int d = distance(name, f->name);
        if (d < best_d)
            best = f, best_d = d;
    }
    if (best)
        cli_error("unknown option --%s for '%s'; did you mean --%s? (see %s %s --help)", name,
                  cmd->name, best->name, cli_program, cmd->name);
    else
        cli_error("unknown option --%s for '%s'; see %s %s --help", name, cmd->name,
                  cli_program, cmd->name);
}

int cli_parse(const Command *cmd, int argc, char **argv, const char **args, int *nargs)
{
    *nargs = 0;
    int only_args = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            cli_help(cmd, stdout);
            return EXIT_OK;
        }
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (only_args || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*nargs >= cmd->max_args) {
                cli_error("too many arguments for '%s' at \"%s\"; see %s %s --help", cmd->name,
                          a, cli_program, cmd->name);
                return EXIT_USAGE;
            }
            args[(*nargs)++] = a;
            continue;
        }
        Flag *f = NULL;
        const char *eq = NULL;
        char name[64];
        if (a[1] != '-') {
            for (Flag *g = cmd->flags; g && g->name && !a[2]; g++)
                if (g->short_name && g->short_name == a[1])
                    f = g;
            if (!f) {
                cli_error("unknown option %s for '%s'; options are spelled --name (see %s %s "
                          "--help)", a, cmd->name, cli_program, cmd->name);
                return EXIT_USAGE;
            }
        } else {
            eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            if (len >= sizeof name)
                len = sizeof name - 1;
            memcpy(name, a + 2, len);
            name[len] = '\0';
            f = cli_flag(cmd, name);
        }
        if (!f) {
            suggest(cmd, name);
            return EXIT_USAGE;
        }
        f->set = 1;
        if (f->type == FLAG_SWITCH) {
            if (eq) {
                cli_error("--%s takes no value", f->name);
                return EXIT_USAGE;
            }
            *(int *)f->value = 1;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            cli_error("--%s needs a value (%s); see %s %s --help", f->name,
                      f->arg ? f->arg : "", cli_program, cmd->name);
            return EXIT_USAGE;
        }
        int rc = set_value(f, value);
        if (rc)
            return rc;
    }
    if (*nargs < cmd->min_args) {
        cli_error("'%s' needs %s; usage: %s %s", cmd->name,
                  cmd->min_args == 1 ? "an argument" : "more arguments", cli_program, cmd->usage);
        return EXIT_USAGE;
    }
    return cli_parse_only ? EXIT_OK : CLI_GO;
}

/* ------------------------------------------------------------------------- */

const char *cli_count(uint64_t n, char buf[32])
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n), k = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    return buf;
}

const char *cli_duration(double seconds, char buf[32])
{
    if (!(seconds >= 0) || seconds > 1e9)
        return strcpy(buf, "?");
    unsigned long s = (unsigned long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, 32, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, 32, "%lu:%02lu", s / 60, s % 60);
    return buf;
}

int cli_threads(int requested, const CnShape *shape, int streams)
{
    int ncpu = cn_cpu_count();
    if (requested <= 0)
        return cn_threads_for(shape, streams, ncpu);
    if (requested > ncpu) { /* more would only wait for each other */
        if (cli_comm.rank == 0)
            cli_note("--threads %d is more than this machine's %d processor%s; using %d",
                     requested, ncpu, ncpu == 1 ? "" : "s", ncpu);
        return ncpu;
    }
    return requested;
}

const char *const cli_precision_choices[] = {"fp32", "bf16", "auto", NULL};

CnPrecision cli_precision(const char *given, const CnShape *shape, int batch, const char **why)
{
    *why = NULL;
    if (strcmp(given, "auto") != 0)
        return (CnPrecision)cn_lookup(cn_precision_names, given);
    int choice = (int)cn_precision_auto(shape, batch, why);
    comm_broadcast(&choice, 1); /* ranks on different CPUs train alike: rank 0's choice */
    return (CnPrecision)choice;
}

void cli_precision_note(CnPrecision precision)
{
    if (precision == CN_BF16 && !cn_bf16_native() && cli_comm.rank == 0)
        cli_note("bf16 products are emulated with %s kernels: this CPU has no AVX512_BF16 "
                 "(the same results as on one that has it, at fp32's speed or slower)",
                 cn_kernels_name());
}

static void on_signal(int sig)
{
    cli_signal = sig;
}

void cli_catch_signals(void)
{
    struct sigaction sa, was;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* a signal ignored when charnn started stays ignored: nohup (SIGHUP), a
       shell's background job (SIGINT) */
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP}; /* SIGHUP: a closed terminal */
    for (int i = 0; i < 3; i++)
        if (sigaction(sigs[i], NULL, &was) != 0 || was.sa_handler != SIG_IGN || sigs[i] == SIGTERM)
            sigaction(sigs[i], &sa, NULL);
}
