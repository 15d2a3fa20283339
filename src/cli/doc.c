/* SPDX-License-Identifier: MIT */
/*
 * charnn help TOPIC: the manual's topics (src/doc/TOPIC.md, compiled into
 * the program by the Makefile as cli_topics), rendered for a terminal, or
 * as man page sections in roff for charnn help --man. The topics are
 * Markdown a reader can also browse on the web, in the subset written
 * there: # headings, paragraphs, "- " lists, tables, code indented by four
 * spaces, and `code`, **bold**, *emphasis* and [links](url) inline; a line
 * that opens an HTML comment (the marks around a generated table) is not
 * shown.
 */
#include "cli.h"

#include <ctype.h>
#include <string.h>

/* The topic named name, or NULL. */
static const CliTopic *find_topic(const char *name)
{
    for (const CliTopic *t = cli_topics; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* A topic's title: its first line without the "# ". */
static void title_of(const CliTopic *t, char *out, size_t n)
{
    const char *s = t->lines[0] ? t->lines[0] : "";
    snprintf(out, n, "%s", strncmp(s, "# ", 2) == 0 ? s + 2 : s);
}

void cli_topics_list(FILE *out)
{
    for (const CliTopic *t = cli_topics; t->name; t++) {
        char title[96];
        title_of(t, title, sizeof title);
        fprintf(out, "  %-10s %s\n", t->name, title);
    }
}

int cli_topic_exists(const char *name)
{
    return find_topic(name) != NULL;
}

const char *cli_topic_names(void)
{
    static char list[256];
    size_t at = 0;
    for (const CliTopic *t = cli_topics; t->name && at < sizeof list; t++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", t == cli_topics ? "" : ", ",
                               t->name);
    return list;
}

/* ------------------------------------------------------------------------- */
/* Inline markup: `code`, **bold**, *emphasis*, [text](url). For a terminal
 * the marks are dropped (a link keeps its address in parentheses); in roff
 * code and bold are \fB, emphasis \fI, and roff's own characters escaped. */

static void roff_char(FILE *out, char c, int line_start)
{
    if (c == '\\')
        fputs("\\e", out);
    else if (c == '-')
        fputs("\\-", out);
    else if ((c == '.' || c == '\'') && line_start)
        fprintf(out, "\\&%c", c);
    else
        fputc(c, out);
}

static void inline_text(FILE *out, const char *s, size_t n, int roff)
{
    int code = 0, bold = 0, em = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '`') {
            code = !code;
            if (roff)
                fputs(code ? "\\fB" : "\\fR", out);
            continue;
        }
        if (!code && c == '*' && i + 1 < n && s[i + 1] == '*') {
            bold = !bold;
            i++;
            if (roff)
                fputs(bold ? "\\fB" : "\\fR", out);
            continue;
        }
        if (!code && c == '*' && (em || (i + 1 < n && !isspace((unsigned char)s[i + 1])))) {
            em = !em;
            if (roff)
                fputs(em ? "\\fI" : "\\fR", out);
            continue;
        }
        if (!code && c == '[') { /* [text](url) */
            const char *close = memchr(s + i, ']', n - i);
            if (close && (size_t)(close - s) + 1 < n && close[1] == '(') {
                const char *end = memchr(close, ')', n - (size_t)(close - s));
                if (end) {
                    inline_text(out, s + i + 1, (size_t)(close - s) - i - 1, roff);
                    if (strncmp(close + 2, "http", 4) == 0) { /* web addresses, not files */
                        fputs(" (", out);
                        inline_text(out, close + 2, (size_t)(end - close) - 2, roff);
                        fputc(')', out);
                    }
                    i = (size_t)(end - s);
                    continue;
                }
            }
        }
        if (roff)
            roff_char(out, c, i == 0);
        else
            fputc(c, out);
    }
    if (roff && (code || bold || em))
        fputs("\\fR", out);
}

/* ------------------------------------------------------------------------- */
/* Blocks. */

typedef struct {
    const char *s;
    size_t n;
} Line;

static int blank(Line l)
{
    for (size_t i = 0; i < l.n; i++)
        if (!isspace((unsigned char)l.s[i]))
            return 0;
    return 1;
}

static int is_table(Line l)
{
    return l.n > 0 && l.s[0] == '|';
}

static int is_code(Line l)
{
    return l.n >= 4 && strncmp(l.s, "    ", 4) == 0;
}

static int is_item(Line l)
{
    return l.n >= 2 && l.s[0] == '-' && l.s[1] == ' ';
}

/* Display width of UTF-8 bytes: one column per character. */
static size_t width_of(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

enum { MAX_COLS = 12 };

/* The cells of a table row, trimmed, without their inline marks counted
 * (`, **): ncells returned. */
static int cells_of(Line l, Line cell[MAX_COLS])
{
    int n = 0;
    size_t i = 1;
    while (i < l.n && n < MAX_COLS) {
        size_t start = i;
        while (i < l.n && l.s[i] != '|')
            i++;
        Line c = {l.s + start, i - start};
        while (c.n && isspace((unsigned char)c.s[0]))
            c.s++, c.n--;
        while (c.n && isspace((unsigned char)c.s[c.n - 1]))
            c.n--;
        cell[n++] = c;
        i++;
    }
    return n;
}

static size_t shown_width(Line c)
{
    size_t marks = 0;
    for (size_t i = 0; i < c.n; i++)
        marks += c.s[i] == '`' || c.s[i] == '*';
    return width_of(c.s, c.n) - marks;
}

/* A table as aligned columns (both renderings: roff as no-fill text). */
static void table(FILE *out, const Line *rows, int nrows, int roff)
{
    size_t w[MAX_COLS] = {0};
    Line cell[MAX_COLS];
    for (int r = 0; r < nrows; r++) {
        if (r == 1)
            continue; /* |---|---| */
        int n = cells_of(rows[r], cell);
        for (int c = 0; c < n; c++)
            if (shown_width(cell[c]) > w[c])
                w[c] = shown_width(cell[c]);
    }
    if (roff)
        fputs(".PP\n.nf\n", out);
    for (int r = 0; r < nrows; r++) {
        int n = cells_of(rows[r], cell);
        fputs(roff ? "" : "  ", out);
        for (int c = 0; c < n; c++) {
            if (r == 1) { /* the last column's rule no longer than its heading needs */
                size_t rule = c + 1 < n || w[c] < 10 ? w[c] : 10;
                for (size_t k = 0; k < rule; k++)
                    fputs(roff ? "\\-" : "-", out);
            } else {
                inline_text(out, cell[c].s, cell[c].n, roff);
                if (c + 1 < n)
                    for (size_t k = shown_width(cell[c]); k < w[c]; k++)
                        fputc(' ', out);
            }
            if (c + 1 < n)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
    if (roff)
        fputs(".fi\n", out);
}

/* Renders a topic's Markdown: for a terminal, or in roff (a topic's # is a
 * man page's .SH, ## its .SS). */
static void render(FILE *out, const char *const *text, int roff)
{
    enum { MAX_LINES = 4096 };
    static Line lines[MAX_LINES];
    int n = 0;
    for (; text[n] && n < MAX_LINES; n++)
        lines[n] = (Line){text[n], strlen(text[n])};
    for (int i = 0; i < n;) {
        Line l = lines[i];
        if (blank(l) || strncmp(l.s, "<!--", 4) == 0) { /* comments: the tables' marks */
            i++;
            continue;
        }
        if (l.s[0] == '#') { /* heading */
            int level = 0;
            while ((size_t)level < l.n && l.s[level] == '#')
                level++;
            const char *t = l.s + level + 1;
            size_t tn = l.n > (size_t)level + 1 ? l.n - (size_t)level - 1 : 0;
            if (roff) {
                fputs(level == 1 ? ".SH \"" : level == 2 ? ".SS \"" : ".PP\n.B \"", out);
                for (size_t k = 0; k < tn; k++) {
                    if (level == 1)
                        fputc(toupper((unsigned char)t[k]), out);
                    else
                        roff_char(out, t[k], 0);
                }
                fputs("\"\n", out);
            } else {
                fprintf(out, "%s", i ? "\n" : "");
                inline_text(out, t, tn, 0);
                fputc('\n', out);
                if (level <= 2)
                    for (size_t k = width_of(t, tn); k > 0; k--)
                        fputc(level == 1 ? '=' : '-', out);
                if (level <= 2)
                    fputc('\n', out);
            }
            i++;
            continue;
        }
        if (is_table(l)) {
            int start = i;
            while (i < n && is_table(lines[i]))
                i++;
            if (!roff)
                fputc('\n', out);
            table(out, lines + start, i - start, roff);
            continue;
        }
        if (is_code(l)) {
            fputs(roff ? ".PP\n.RS 4\n.nf\n" : "\n", out);
            while (i < n && (is_code(lines[i]) || (blank(lines[i]) && i + 1 < n &&
                                                   is_code(lines[i + 1])))) {
                Line c = lines[i++];
                if (roff) {
                    for (size_t k = 4; k < c.n; k++)
                        roff_char(out, c.s[k], k == 4);
                } else {
                    fprintf(out, "  %.*s", (int)c.n, c.s);
                }
                fputc('\n', out);
            }
            fputs(roff ? ".fi\n.RE\n" : "", out);
            continue;
        }
        /* a paragraph or a list item, with its continuation lines */
        int item = is_item(l);
        if (roff)
            fputs(item ? ".IP \\(bu 2\n" : ".PP\n", out);
        else
            fputs(item ? "\n  - " : "\n", out);
        int first = 1;
        while (i < n && !blank(lines[i]) && lines[i].s[0] != '#' && !is_table(lines[i]) &&
               (first || (!is_item(lines[i]) && !is_code(lines[i]) &&
                          !(item && lines[i].s[0] != ' ')))) {
            Line p = lines[i++];
            size_t skip = first && item ? 2 : 0;
            while (!first && skip < p.n && p.s[skip] == ' ')
                skip++;
            if (!roff && !first)
                fputs(item ? "    " : "", out);
            inline_text(out, p.s + skip, p.n - skip, roff);
            fputc('\n', out);
            first = 0;
        }
    }
}

int cli_help_topic(const char *name, FILE *out)
{
    const CliTopic *t = find_topic(name);
    if (!t)
        return -1;
    render(out, t->lines, 0);
    return fflush(out) == 0 ? 0 : -1;
}

void cli_man_topics(FILE *out)
{
    for (const CliTopic *t = cli_topics; t->name; t++)
        render(out, t->lines, 1);
}
