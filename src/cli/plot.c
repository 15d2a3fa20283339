/* SPDX-License-Identifier: MIT */
/*
 * charnn plot: the training log (--log CSV) as a standalone SVG picture:
 * training loss (smoothed, and raw underneath) and validation loss against
 * iterations, epochs on the top axis, ticks, labels, a legend, and the run's
 * configuration as the title.
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { W = 960, HT = 560, LEFT = 80, RIGHT = 30, TOP = 96, BOTTOM = 64 };
/* The mark of plot's pictures: a comment after the XML declaration. */
#define PLOT_MARK "Generator: charnn plot"

typedef struct {
    double iteration, epoch, loss, smooth, val; /* val NaN on rows without one */
} Row;

typedef struct {
    Row *rows;
    size_t n, cap;
    char title[2][512]; /* "charnn 0.1.0 train FILES" and the configuration */
} Log;

/* Splits a CSV line in place into at most max fields: commas separate,
 * double quotes enclose a field, "" inside is one quote. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        fields[n++] = out;
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++)
                *out++ = *p == '"' ? *++p : *p;
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        int more = *p == ',';
        *out = '\0';
        if (!more)
            break;
        p++;
    }
    return n;
}

/* "charnn 0.2.0 train FILES: model, sizes, ..." -> the picture's two title
 * lines */
static void set_title(Log *log, const char *description)
{
    const char *colon = strstr(description, ": ");
    size_t len = colon ? (size_t)(colon - description) : strlen(description);
    snprintf(log->title[0], sizeof log->title[0], "%.*s", (int)len, description);
    snprintf(log->title[1], sizeof log->title[1], "%s", colon ? colon + 2 : "");
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && (*end == '\0' || *end == '\n' || *end == '\r') && errno == 0 &&
           isfinite(*out);
}

/* Reads the log; returns 0 or prints an error and returns -1. */
static int read_log(const char *path, Log *log)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("cannot open %s: %s; give the file written by charnn train --log", path,
                  strerror(errno));
        return -1;
    }
    enum { ITER, EPOCH, LOSS, SMOOTH, VAL, NCOL };
    static const char *const names[NCOL] = {"iteration", "epoch", "loss", "smooth_loss",
                                            "val_loss"};
    int col[NCOL] = {-1, -1, -1, -1, -1}, run_col = -1, desc_col = -1, have_header = 0,
        lineno = 0;
    char *line = NULL, run[32] = "";
    size_t line_cap = 0;
    while (getline(&line, &line_cap, f) > 0) { /* a row of any length */
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#') { /* a log of charnn 0.1, whose description was a comment */
            const char *c = line + 1 + (line[1] == ' ');
            if (!log->title[0][0] && strncmp(c, "charnn", 6) == 0)
                set_title(log, c);
            continue;
        }
        if (!line[0])
            continue;
        char *fields[32];
        int nf = split(line, fields, 32);
        if (!have_header) {
            for (int i = 0; i < nf; i++) {
                for (int c = 0; c < NCOL; c++)
                    if (strcmp(fields[i], names[c]) == 0)
                        col[c] = i;
                run_col = strcmp(fields[i], "run") == 0 ? i : run_col;
                desc_col = strcmp(fields[i], "description") == 0 ? i : desc_col;
            }
            for (int c = 0; c < NCOL; c++) {
                if (col[c] < 0) {
                    cli_error("%s:%d: no '%s' column; give the file written by charnn train "
                              "--log", path, lineno, names[c]);
                    fclose(f);
                    free(line);
                    return -1;
                }
            }
            have_header = 1;
            continue;
        }
        /* a log may hold several runs: the picture is of the last (a resumed
           run keeps its run, and its curve goes on) */
        if (run_col >= 0 && run_col < nf && strcmp(fields[run_col], run) != 0) {
            snprintf(run, sizeof run, "%s", fields[run_col]);
            log->n = 0;
            log->title[0][0] = log->title[1][0] = '\0';
        }
        if (desc_col >= 0 && desc_col < nf && fields[desc_col][0] && !log->title[0][0])
            set_title(log, fields[desc_col]);
        Row r = {.val = NAN};
        int ok = 1;
        for (int c = 0; c < NCOL && ok; c++) {
            double *dst = c == ITER ? &r.iteration : c == EPOCH ? &r.epoch : c == LOSS ? &r.loss
                          : c == SMOOTH ? &r.smooth : &r.val;
            const char *text = col[c] < nf ? fields[col[c]] : "";
            if (c == VAL && !text[0])
                continue;
            ok = parse_number(text, dst);
        }
        if (!ok) {
            cli_error("%s:%d: a row with a missing or malformed number", path, lineno);
            fclose(f);
            free(line);
            return -1;
        }
        /* charnn logs iterations below 10^15 and losses up to CN_LOSS_LIMIT;
           anything else is not its log, and would stretch the axes past
           what a picture can show */
        const char *odd = !(r.iteration >= 0 && r.iteration < 1e15) ? "iteration"
                          : !(r.epoch >= 0 && r.epoch < 1e15)        ? "epoch"
                          : !(r.loss >= 0 && r.loss <= CN_LOSS_LIMIT) ? "loss"
                          : !(r.smooth >= 0 && r.smooth <= CN_LOSS_LIMIT) ? "smooth_loss"
                          : !(isnan(r.val) || (r.val >= 0 && r.val <= CN_LOSS_LIMIT)) ? "val_loss"
                                                                                       : NULL;
        if (odd) {
            cli_error("%s:%d: the %s is out of the range charnn logs (iterations 0 to 10^15, "
                      "losses 0 to %g nats/char); give the file written by charnn train --log",
                      path, lineno, odd, CN_LOSS_LIMIT);
            fclose(f);
            free(line);
            return -1;
        }
        if (log->n == log->cap) {
            size_t cap = log->cap ? 2 * log->cap : 256;
            Row *bigger = realloc(log->rows, cap * sizeof *bigger);
            if (!bigger) {
                cli_error("out of memory reading %s", path);
                fclose(f);
                free(line);
                return -1;
            }
            log->rows = bigger, log->cap = cap;
        }
        log->rows[log->n++] = r;
    }
    fclose(f);
    free(line);
    if (log->n == 0) {
        cli_error("%s has no rows to plot; train with --log %s first", path, path);
        return -1;
    }
    return 0;
}

/* A tick step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double range, int want)
{
    double raw = range / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* The ticks of [lo, hi] at multiples of step: the first in *first, the
 * count returned (at most 50), each tick first + i * step. Counting them
 * up front keeps the loops finite where x += step would stop moving x. */
static int ticks(double lo, double hi, double step, double *first)
{
    *first = ceil(lo / step) * step;
    double n = floor((hi - *first) / step + 1e-9) + 1;
    return n > 50 ? 50 : n < 0 ? 0 : (int)n;
}

static void format_tick(char *buf, size_t n, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 10000 && step >= 1) {
        char digits[32];
        cli_count((uint64_t)llround(v), digits);
        snprintf(buf, n, "%s", digits);
    } else {
        snprintf(buf, n, "%.*f", decimals, v);
    }
}

/* Writes the picture; returns 0 or -1 on a write error. */
static int write_svg(FILE *out, const Log *log)
{
    const Row *rows = log->rows;
    size_t n = log->n;
    double x0 = rows[0].iteration, x1 = rows[0].iteration, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        const double v[3] = {rows[i].loss, rows[i].smooth, rows[i].val};
        x0 = fmin(x0, rows[i].iteration), x1 = fmax(x1, rows[i].iteration);
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k]))
                y0 = fmin(y0, v[k]), y1 = fmax(y1, v[k]);
    }
    if (x1 <= x0)
        x1 = x0 + 1;
    double pad = (y1 - y0) * 0.05 + 1e-3;
    y0 -= pad, y1 += pad;
    double xs = nice_step(x1 - x0, 8), ys = nice_step(y1 - y0, 6);
    double pw = W - LEFT - RIGHT, ph = HT - TOP - BOTTOM;
#define PX(x) (LEFT + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (TOP + (y1 - (y)) / (y1 - y0) * ph)
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<!-- " PLOT_MARK " -->\n" /* what cli_check_document looks for */
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
                 "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, HT, W, HT, W, HT);
    fputs("<text x=\"480\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
          "font-weight=\"bold\">", out);
    cli_put_markup(out, log->title[0][0] ? log->title[0] : "charnn training log");
    fputs("</text>\n<text x=\"480\" y=\"40\" text-anchor=\"middle\" fill=\"#444\">", out);
    cli_put_markup(out, log->title[1]);
    fputs("</text>\n", out);
    /* grid and ticks: iterations below, loss on the left */
    char label[64];
    double xf, yf;
    int nx = ticks(x0, x1, xs, &xf), ny = ticks(y0, y1, ys, &yf);
    fputs("<g stroke=\"#e4e4e4\">\n", out);
    for (int i = 0; i < nx; i++)
        fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", PX(xf + i * xs),
                TOP, PX(xf + i * xs), HT - BOTTOM);
    for (int i = 0; i < ny; i++)
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", LEFT,
                PY(yf + i * ys), W - RIGHT, PY(yf + i * ys));
    fputs("</g>\n<g text-anchor=\"middle\">\n", out);
    for (int i = 0; i < nx; i++) {
        format_tick(label, sizeof label, xf + i * xs, xs);
        fprintf(out, "<text x=\"%.1f\" y=\"%d\">%s</text>\n", PX(xf + i * xs), HT - BOTTOM + 18,
                label);
    }
    fputs("</g>\n<g text-anchor=\"end\">\n", out);
    for (int i = 0; i < ny; i++) {
        format_tick(label, sizeof label, yf + i * ys, ys);
        fprintf(out, "<text x=\"%d\" y=\"%.1f\">%s</text>\n", LEFT - 8, PY(yf + i * ys) + 4,
                label);
    }
    fputs("</g>\n", out);
    /* epochs on the top axis, from the epochs-per-iteration of the rows */
    const Row *last = &rows[n - 1];
    if (last->iteration > 0 && last->epoch > 0) {
        double per = last->epoch / last->iteration, e0 = x0 * per, e1 = x1 * per;
        double es = nice_step(e1 - e0 > 0 ? e1 - e0 : 1, 8), ef;
        int ne = ticks(e0, e1, es, &ef);
        fputs("<g text-anchor=\"middle\" fill=\"#555\">\n", out);
        for (int i = 0; i < ne; i++) {
            double e = ef + i * es;
            format_tick(label, sizeof label, e, es);
            fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#555\"/>"
                         "<text x=\"%.1f\" y=\"%d\">%s</text>\n",
                    PX(e / per), TOP, PX(e / per), TOP - 5, PX(e / per), TOP - 9, label);
        }
        fprintf(out, "</g>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">epoch"
                     "</text>\n", LEFT + (int)pw / 2, TOP - 26);
    }
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                 "stroke=\"#333\"/>\n"
                 "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">iteration</text>\n"
                 "<text transform=\"translate(22 %d) rotate(-90)\" text-anchor=\"middle\">loss "
                 "(nats per character)</text>\n",
            LEFT, TOP, pw, ph, LEFT + (int)pw / 2, HT - 18, TOP + (int)ph / 2);
    /* the curves: one point per row for training, one per evaluation */
    fputs("<polyline id=\"train-raw\" fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\" "
          "points=\"", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%.1f,%.1f", i ? " " : "", PX(rows[i].iteration), PY(rows[i].loss));
    fputs("\"/>\n<polyline id=\"train\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" "
          "points=\"", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%.1f,%.1f", i ? " " : "", PX(rows[i].iteration), PY(rows[i].smooth));
    fputs("\"/>\n<polyline id=\"validation\" fill=\"none\" stroke=\"#d62728\" "
          "stroke-width=\"2\" points=\"", out);
    int first = 1;
    for (size_t i = 0; i < n; i++)
        if (isfinite(rows[i].val)) {
            fprintf(out, "%s%.1f,%.1f", first ? "" : " ", PX(rows[i].iteration), PY(rows[i].val));
            first = 0;
        }
    fputs("\"/>\n<g fill=\"#d62728\">\n", out);
    for (size_t i = 0; i < n; i++)
        if (isfinite(rows[i].val))
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>\n", PX(rows[i].iteration),
                    PY(rows[i].val));
    fputs("</g>\n", out);
    /* legend, top right inside the plot */
    int lx = W - RIGHT - 230, ly = TOP + 12;
    fprintf(out, "<g><rect x=\"%d\" y=\"%d\" width=\"220\" height=\"62\" fill=\"white\" "
                 "fill-opacity=\"0.9\" stroke=\"#999\"/>\n", lx, ly);
    static const char *const legend[3][2] = {{"#1f77b4", "training loss, smoothed"},
                                             {"#9ecae1", "training loss"},
                                             {"#d62728", "validation loss"}};
    for (int k = 0; k < 3; k++)
        fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                     "stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                lx + 10, ly + 14 + 18 * k, lx + 40, ly + 14 + 18 * k, legend[k][0], lx + 48,
                ly + 18 + 18 * k, legend[k][1]);
    fputs("</g>\n</svg>\n", out);
#undef PX
#undef PY
    return ferror(out) ? -1 : 0;
}

/* The start of an SVG document: an XML declaration, comments and a
 * doctype at most, then the root element <svg. */
static int is_svg(const char *p)
{
    return cli_root_element(p, "svg");
}

static int write_log_svg(FILE *out, const void *log)
{
    return write_svg(out, log);
}

/* A picture charnn plot wrote before it marked them: its root element
 * as plot has always written it. */
static int is_old_plot(const char *p)
{
    return is_svg(p) && strstr(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" "
                                  "height=\"560\" viewBox=\"0 0 960 560\" "
                                  "font-family=\"sans-serif\" font-size=\"12\">") != NULL;
}

static const Document svg_document = {"an SVG picture", "charnn plot replaces only pictures",
                                      "loss.svg", is_svg, "charnn plot", PLOT_MARK, is_old_plot};

/* Writes the picture (cli_write_document) and says so. */
static int write_picture(const char *output, const Log *log)
{
    int rc = cli_write_document(output, write_log_svg, log);
    if (rc != 0 || strcmp(output, "-") == 0 || cli_is_device(output)) /* not into the picture */
        return rc;
    size_t evals = 0;
    for (size_t i = 0; i < log->n; i++)
        evals += isfinite(log->rows[i].val);
    printf("wrote %s: %zu training points, %zu validation points\n", output, log->n, evals);
    return EXIT_OK;
}

int cmd_plot(int argc, char **argv)
{
    const char *output = NULL;
    int force = 0;
    Flag flags[] = {
        {.name = "output", .type = FLAG_STR, .value = &output, .arg = "FILE", .short_name = 'o',
         .help = "the SVG to write, - for standard output (default: the log's name with .svg, "
                 "or .plot.svg when that is the log)"},
        {.name = "force", .type = FLAG_SWITCH, .value = &force,
         .help = "replace an SVG picture charnn plot did not write (never another kind of file)"},
        {.name = NULL},
    };
    Command cmd = {.name = "plot", .usage = "plot LOG.csv [-o loss.svg]",
                   .summary = "Draw the training and validation loss of a training log (charnn "
                              "train --log) as an SVG picture.",
                   .flags = flags, .min_args = 1, .max_args = 1};
    const char *args[1];
    int nargs, rc;
    if ((rc = cli_parse(&cmd, argc, argv, args, &nargs)) != CLI_GO)
        return rc;
    char *derived = cli_document_name(args[0], ".svg", ".plot.svg");
    if (!derived) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    int given = output != NULL;
    if (!output)
        output = derived;
    Log log = {0};
    rc = cli_check_document(output, given, &args[0], 1, &svg_document, force, derived);
    if (!rc)
        rc = read_log(args[0], &log) == 0 ? write_picture(output, &log) : EXIT_ERROR;
    free(log.rows);
    free(derived);
    return rc;
}
