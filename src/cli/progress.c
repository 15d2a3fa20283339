/* SPDX-License-Identifier: MIT */
/*
 * What a training run shows: on a terminal, one status line redrawn in
 * place with a progress bar; elsewhere, plain lines. Permanent lines
 * (evaluations, samples) clear the status line first. Colour only on a
 * terminal, never with NO_COLOR set. --quiet keeps only the final summary
 * (errors go to stderr regardless). The --log CSV is written here too.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BAR_WIDTH = 20 };
static const double REDRAW_SECONDS = 0.1;

void progress_init(Progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    const char *term = getenv("TERM");
    p->tty = os_terminal(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
    p->color = cli_color_allowed(STDOUT_FILENO);
    p->quiet = quiet;
    p->last_draw = -1;
}

/* Output that cannot be written (a closed pipe, a full disk, a hung-up
 * terminal) stops the run the way a signal does: it saves and says why. */
static void lost(Progress *p, const char *what, int e)
{
    if (!p->lost) {
        p->lost = what;
        p->lost_errno = e ? e : EIO;
    }
    if (!cli_signal)
        cli_signal = SIGPIPE;
}

static void flushed(Progress *p)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        lost(p, "standard output", errno);
}

static const char *paint(const Progress *p, const char *code)
{
    return p->color ? code : "";
}

/* Clears the status line, if one is on screen. */
static void clear_status(Progress *p)
{
    if (p->line_open) {
        fputs("\r\033[K", stdout);
        p->line_open = 0;
    }
}

void progress_status(Progress *p, const Status *s, int plain_due)
{
    if (p->quiet)
        return;
    double now = cn_seconds();
    if (p->tty && !s->final && p->last_draw >= 0 && now - p->last_draw < REDRAW_SECONDS)
        return;
    if (!p->tty && !plain_due)
        return;
    p->last_draw = now;
    char it[32], total[32], cps[32], el[32], eta[32], val[64] = "";
    cli_count(s->iteration, it);
    if (s->target)
        cli_count(s->target, total);
    else
        snprintf(total, sizeof total, "?"); /* a time budget ends the run */
    cli_count((uint64_t)s->chars_per_s, cps);
    cli_duration(s->elapsed, el);
    cli_duration(s->eta, eta);
    if (isfinite(s->val_loss))
        snprintf(val, sizeof val, " | val %.4f (%.3f bpc)", s->val_loss, s->val_loss / log(2.0));
    if (p->tty) {
        char bar[BAR_WIDTH + 1];
        double frac = s->fraction < 0 ? 0 : s->fraction > 1 ? 1 : s->fraction;
        int filled = (int)(frac * BAR_WIDTH + 0.5);
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        printf("\r%s%s/%s%s [%s%s%s] %3.0f%% | epoch %.2f | loss %s%.4f%s%s | %s chars/s | %s "
               "elapsed, ETA %s\033[K",
               paint(p, "\033[1m"), it, total, paint(p, "\033[0m"), paint(p, "\033[36m"), bar,
               paint(p, "\033[0m"), 100 * frac, s->epoch, paint(p, "\033[1m"), s->smooth,
               paint(p, "\033[0m"), val, cps, el, eta);
        p->line_open = 1;
    } else {
        printf("iter %*s/%s | epoch %6.2f | loss %.4f | smooth %.4f%s | %s chars/s | %s elapsed "
               "| ETA %s\n",
               (int)strlen(total), it, total, s->epoch, s->loss, s->smooth, val, cps, el, eta);
    }
    flushed(p);
}

void progress_line(Progress *p, const char *color, const char *fmt, ...)
{
    if (p->quiet)
        return;
    clear_status(p);
    va_list ap;
    fputs(paint(p, color), stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs(paint(p, "\033[0m"), stdout);
    fputc('\n', stdout);
    flushed(p);
}

void progress_sample(Progress *p, uint64_t iteration, double temperature, const char *text,
                     size_t len)
{
    if (p->quiet)
        return;
    clear_status(p);
    char it[32];
    printf("%s---- sample at iteration %s (temperature %g) ----%s\n%.*s\n%s---- end of sample "
           "----%s\n",
           paint(p, "\033[33m"), cli_count(iteration, it), temperature, paint(p, "\033[0m"),
           (int)len, text, paint(p, "\033[33m"), paint(p, "\033[0m"));
    flushed(p);
}

void progress_end(Progress *p)
{
    clear_status(p);
}

void progress_finish(Progress *p)
{
    if (p->line_open) /* leave the last status line on screen */
        fputc('\n', stdout);
    p->line_open = 0;
    flushed(p);
}

/* ------------------------------------------------------------------------- */
/* The CSV log (charnn help files, "The training log"): plain CSV, the header first,
 * one row per print interval and per evaluation, every row with the same
 * columns. run is the run's identity, the same across its resumes; the
 * description (which run, which flags) is on the first row each invocation
 * writes, empty on the others, quoted as CSV quotes. */
const char *const log_header = "run,iteration,epoch,loss,smooth_loss,val_loss,lr,grad_norm,"
                               "chars_per_s,seconds,description";

/* s as one CSV field: quoted, inner quotes doubled, line breaks as spaces. */
static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

void log_start(Progress *p, FILE *f, const char *name, const char *description, uint64_t run)
{
    p->log = f;
    p->log_name = name;
    p->log_run = run;
    p->log_description = description;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
        fprintf(f, "%s\n", log_header);
    log_flush(p);
}

void log_flush(Progress *p)
{
    if (p->log && (fflush(p->log) != 0 || ferror(p->log)))
        lost(p, p->log_name, errno);
}

void log_row(Progress *p, const Status *s, double lr, double grad_norm)
{
    if (!p->log)
        return;
    fprintf(p->log, "%016llx,%llu,%.6f,%.6f,%.6f,", (unsigned long long)p->log_run,
            (unsigned long long)s->iteration, s->epoch, s->loss, s->smooth);
    if (s->evaluated && isfinite(s->val_loss))
        fprintf(p->log, "%.6f", s->val_loss);
    fprintf(p->log, ",%g,%.6g,%.0f,%.3f,", lr, grad_norm, s->chars_per_s, s->seconds);
    if (p->log_description)
        csv_field(p->log, p->log_description);
    p->log_description = NULL; /* the first row only */
    fputc('\n', p->log);
    log_flush(p);
}
