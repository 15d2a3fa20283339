/* SPDX-License-Identifier: MIT */
/*
 * charnn viz: one standalone HTML page that shows what a model does on a
 * text, after Karpathy, Johnson and Fei-Fei, "Visualizing and Understanding
 * Recurrent Networks" (2015): every character tinted by its surprisal
 * -log2 p, the model's top guesses for it on pointing, and the text tinted
 * by any one unit's activation (h, and the gates and cell of LSTMs and
 * GRUs), with the units whose activation follows a property of the text
 * (inside quotes, inside brackets, position in the line and in the
 * sentence, start of a word, after a newline) most closely. The page's
 * script and style are in src/cli/viz_page.c; this file gathers the
 * numbers (cn_score) and writes them into it.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "viz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { TOP = 5, MAXQ = 5, PROPS = 6, BEST = 3 };
/* The activations' share of the page: at most 7 MB (so that the page of
 * 5,000 characters of a 2 x 512 GRU stays under 8 MB), reached by
 * quantizing to fewer levels where 8 bits would take more (choose_bits),
 * but never fewer than 3 bits. */
enum { BUDGET = 7000000, MIN_BITS = 3, MAX_BITS = 8 };
/* The mark of viz's pages, a generator meta element in their head. */
#define VIZ_MARK "charnn viz"

/* A quantity the page can tint the text by: layer l's value of it at each
 * character, in [lo, hi] (quantized over that range: viz_pack). */
typedef struct {
    const char *name;  /* "h", "c", or the gate's name (cn_gate_name) */
    const char *label; /* in words, for labels: "forget gate" */
    const char *about; /* for the page */
    int gate;          /* its gate block, or -1 (h), -2 (c, shown as tanh c) */
    double lo, hi;
} Quantity;

/* The properties of the text a unit may follow (see property_values). */
static const char *const property_names[PROPS] = {
    "inside quotes", "inside brackets", "position in the line", "position in the sentence",
    "start of a word", "after a newline"};

typedef struct {
    const CnModel *model;
    int L, H, Q, V;
    Quantity q[MAXQ];
    size_t n;           /* characters shown */
    const uint32_t *vocab;
    float *p;           /* (n) p of character j given those before it; p[0] unused */
    int *top;           /* (n, TOP) the most likely characters at j, or -1 */
    float *top_p;       /* (n, TOP) */
    float *act;         /* (L*Q, H, n) activations, unit-major */
    size_t have;        /* characters with activations (n, or n-1 at the end of a file) */
    double nats;        /* -ln p summed over the predictions of characters 1..n-1 */
    double *prop;       /* (PROPS, n) the properties' values */
    double *sum;        /* (L*Q*H, 2 + PROPS): sum v, sum v^2, sum v*prop_k */
} Viz;

/* Unit j of layer l's quantity q after the step st. */
static double quantity_value(const Quantity *q, const CnStep *st, int l, int H, int j)
{
    if (q->gate >= 0)
        return st->gates[l][(size_t)q->gate * H + j];
    return q->gate == -1 ? st->h[l][j] : tanh(st->c[l][j]);
}

/* cn_score's callback: the prediction of the next character (its p and the
 * TOP guesses), every unit's value after reading this one, and the sums
 * the correlations need. */
static int take_step(void *ctx, const CnStep *st)
{
    Viz *v = ctx;
    size_t at = st->pos, next = at + 1, n = v->n;
    if (next < n) { /* the last step (one character past those shown) predicts nothing shown */
        v->nats += st->nats;
        v->p[next] = st->probs[st->target];
        int order[TOP];
        int k = cn_top_k(st->probs, v->V, TOP, order);
        for (int i = 0; i < TOP; i++) {
            v->top[next * TOP + i] = i < k ? order[i] : -1;
            v->top_p[next * TOP + i] = i < k ? st->probs[order[i]] : 0;
        }
    }
    for (int l = 0; l < v->L; l++) {
        for (int qi = 0; qi < v->Q; qi++) {
            const Quantity *q = &v->q[qi];
            size_t series = ((size_t)l * v->Q + qi) * v->H;
            for (int j = 0; j < v->H; j++) {
                double x = quantity_value(q, st, l, v->H, j);
                v->act[(series + j) * n + at] = (float)x;
                double *s = v->sum + (series + j) * (2 + PROPS);
                s[0] += x;
                s[1] += x * x;
                for (int k = 0; k < PROPS; k++)
                    s[2 + k] += x * v->prop[k * n + at];
            }
        }
    }
    v->have = at + 1;
    return 0;
}

/* A letter, roughly: ASCII letters and digits, and characters from U+00C0
 * on outside the punctuation and symbol blocks. */
static int is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 32) - 'a' < 26 || c - '0' < 10;
    if (c < 0xc0 || c == 0xd7 || c == 0xf7 || (c >= 0x2000 && c <= 0x2bff) ||
        (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f) ||
        (c >= 0xff00 && c <= 0xff0f))
        return 0;
    /* Arabic-script punctuation: comma, semicolon, question mark, full stop */
    return c != 0x60c && c != 0x61b && c != 0x61f && c != 0x6d4 && !(c >= 0x66a && c <= 0x66d);
}

/* A character that ends a sentence: . ! ? and the ellipsis, the Arabic
 * question mark and full stop (U+061F, U+06D4), the ideographic full stop
 * and the fullwidth ! ?. */
static int is_sentence_end(uint32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == 0x61f || c == 0x6d4 ||
           c == 0x3002 || c == 0xff01 || c == 0xff1f;
}

/* The properties after reading character j (what the state may know),
 * from the text alone:
 *   inside quotes:   1 from an opening " (or “ «) to before its closing one
 *   inside brackets: 1 from ( [ { to before the bracket that closes them all
 *   line position:   characters before j since the last newline
 *   sentence position: characters before j since the last end of a
 *                    sentence (is_sentence_end) or newline: in a text
 *                    whose paragraphs are single lines, as much Persian
 *                    is, the line is a paragraph and this is the count
 *                    that restarts
 *   word start:      1 at a letter after a non-letter
 *   after newline:   1 at a newline (the state has just read one) */
static void property_values(Viz *v, const uint32_t *cps)
{
    size_t n = v->n;
    int quoted = 0, depth = 0;
    double column = 0, sentence = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t c = cps[j], prev = j ? cps[j - 1] : '\n';
        if (c == '"')
            quoted = !quoted;
        else if (c == 0x201c || c == 0xab)
            quoted = 1;
        else if (c == 0x201d || c == 0xbb)
            quoted = 0;
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if (depth > 0 && (c == ')' || c == ']' || c == '}'))
            depth--;
        v->prop[0 * n + j] = quoted;
        v->prop[1 * n + j] = depth > 0;
        v->prop[2 * n + j] = column;
        v->prop[3 * n + j] = sentence;
        v->prop[4 * n + j] = is_letter(c) && !is_letter(prev);
        v->prop[5 * n + j] = c == '\n';
        column = c == '\n' ? 0 : column + 1;
        sentence = c == '\n' || is_sentence_end(c) ? 0 : sentence + 1;
    }
}

/* Pearson's r between series s and property k over the `have` characters
 * (sy, syy: the property's sum and sum of squares over them):
 * (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2)(n Syy - Sy^2)); 0 if either is
 * constant. */
static double correlation(const Viz *v, size_t s, int k, double sy, double syy)
{
    const double *sum = v->sum + s * (2 + PROPS);
    double n = (double)v->have;
    double vx = n * sum[1] - sum[0] * sum[0], vy = n * syy - sy * sy;
    if (!(vx > 1e-9 * n * n) || !(vy > 1e-9 * n * n))
        return 0;
    return (n * sum[2 + k] - sum[0] * sy) / sqrt(vx * vy);
}

/* JSON string of the code points cps[0..n) ("<" escaped: the string sits
 * inside a script element). */
static void json_text(FILE *out, const uint32_t *cps, size_t n)
{
    fputc('"', out);
    for (size_t j = 0; j < n; j++) {
        if (cps[j] == '<')
            fputs("\\u003c", out);
        else
            cli_put_escaped(out, cps[j], 1);
    }
    fputc('"', out);
}

/* The text as HTML: one span per character, so each can be tinted and
 * pointed at; the page shows characters and never obeys them. A newline
 * stays a newline (its span shows a faint return sign from the style
 * sheet); other control characters show as their Unicode control pictures
 * (a carriage return would otherwise turn into a newline when the page is
 * read); an invisible or formatting character (cli_invisible_name) shows as its
 * name in a small box, an isolated span of class cc, so that it neither
 * vanishes nor reorders its neighbours (a right-to-left override would
 * otherwise reverse the words after it). Right-to-left letters keep their
 * own direction. The one exception is the zero-width non-joiner, U+200C,
 * Persian's half-space (نیم‌فاصله), in nearly every other Persian word: it
 * stays itself, so that the letters on either side take their unjoined
 * forms as written, in a narrow span of class zw with a dotted edge that
 * shows where it is and carries its tint (it reorders nothing). */
static void html_text(FILE *out, const uint32_t *cps, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        uint32_t c = cps[j];
        char name[12];
        const char *shown = cli_invisible_name(c, name);
        if (c == 0x200c) {
            fputs("<span class=zw title=\"U+200C ZWNJ\">\xe2\x80\x8c</span>", out);
            continue;
        }
        if (shown) {
            fprintf(out, "<span class=cc title=\"U+%04X\">%s</span>", (unsigned)c, shown);
            continue;
        }
        fputs(c == '\n' ? "<span class=nl>" : "<span>", out);
        char utf8[4];
        switch (c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '\n':
        case '\t': fputc((int)c, out); break;
        default:
            if (c < 0x20 || c == 0x7f)
                c = c == 0x7f ? 0x2421 : 0x2400 + c;
            fwrite(utf8, 1, (size_t)cn_utf8_encode(c, utf8), out);
        }
        fputs("</span>", out);
    }
}

typedef struct {
    const Viz *v;
    const uint32_t *cps;
    const char *file, *ckpt;
    double nats;  /* mean over the shown characters' predictions */
    unsigned char *packed[CN_MAX_LAYERS * MAXQ]; /* each block, viz_pack'ed */
    size_t size[CN_MAX_LAYERS * MAXQ];
    int bits[CN_MAX_LAYERS * MAXQ];
} Page;

/* The units whose activation follows property k most closely: the BEST
 * largest |r|, into best[] as series numbers; returns how many. */
static int best_units(const Viz *v, int k, size_t *best, double *r)
{
    size_t series = (size_t)v->L * v->Q * v->H;
    double sy = 0, syy = 0;
    for (size_t j = 0; j < v->have; j++) {
        double y = v->prop[(size_t)k * v->n + j];
        sy += y, syy += y * y;
    }
    int count = 0;
    for (size_t s = 0; s < series; s++) {
        double x = correlation(v, s, k, sy, syy);
        if (x == 0 || (count == BEST && !(fabs(x) > fabs(r[BEST - 1]))))
            continue;
        int pos = count < BEST ? count++ : BEST - 1;
        while (pos > 0 && fabs(x) > fabs(r[pos - 1])) {
            best[pos] = best[pos - 1], r[pos] = r[pos - 1];
            pos--;
        }
        best[pos] = s, r[pos] = x;
    }
    return count;
}

/* The numbers the script reads, as one JSON object (see viz_page.c). */
static void write_data(FILE *out, const Page *pg)
{
    const Viz *v = pg->v;
    size_t n = v->n;
    fprintf(out, "{\"n\": %zu, \"have\": %zu, \"layers\": %d, \"hidden\": %d, \"top_k\": %d,\n"
                 "\"text\": ", n, v->have, v->L, v->H, TOP);
    json_text(out, pg->cps, n);
    fputs(",\n\"vocab\": [", out);
    for (int k = 0; k < v->V; k++) {
        fputs(k ? ", " : "", out);
        json_text(out, &v->vocab[k], 1);
    }
    fputs("],\n\"names\": {", out); /* the invisible characters, as the text shows them */
    for (int k = 0, first = 1; k < v->V; k++) {
        char buf[12];
        const char *name = cli_invisible_name(v->vocab[k], buf);
        if (name)
            fprintf(out, "%s\"%u\": \"%s\"", first ? "" : ", ", (unsigned)v->vocab[k], name);
        first &= !name;
    }
    fputs("},\n\"quantities\": [", out);
    for (int q = 0; q < v->Q; q++)
        fprintf(out,
                "%s{\"name\": \"%s\", \"label\": \"%s\", \"about\": \"%s\", \"lo\": %g, "
                "\"hi\": %g}",
                q ? ", " : "", v->q[q].name, v->q[q].label, v->q[q].about, v->q[q].lo, v->q[q].hi);
    fputs("],\n\"p\": [", out);
    for (size_t j = 0; j < n; j++)
        fprintf(out, "%s%.4g", j ? "," : "", j ? (double)v->p[j] : 1.0);
    fputs("],\n\"top\": [", out);
    for (size_t i = 0; i < n * TOP; i++)
        fprintf(out, "%s%d", i ? "," : "", v->top[i]);
    fputs("],\n\"top_p\": [", out);
    for (size_t i = 0; i < n * TOP; i++)
        fprintf(out, "%s%.3g", i ? "," : "", (double)v->top_p[i]);
    fputs("],\n\"units\": [", out);
    for (int k = 0; k < PROPS; k++) {
        size_t best[BEST];
        double r[BEST];
        int count = best_units(v, k, best, r);
        fprintf(out, "%s{\"property\": \"%s\", \"none\": \"%s\", \"units\": [", k ? ",\n" : "",
                property_names[k], "not in this text, or no unit follows it");
        for (int i = 0; i < count; i++) {
            size_t s = best[i];
            int u = (int)(s % (size_t)v->H), q = (int)(s / (size_t)v->H % (size_t)v->Q);
            int l = (int)(s / ((size_t)v->H * v->Q));
            fprintf(out, "%s{\"l\": %d, \"q\": %d, \"u\": %d, \"r\": %.3f}", i ? ", " : "", l, q,
                    u, r[i]);
        }
        fputs("]}", out);
    }
    fputs("],\n\"blocks\": [", out);
    for (int b = 0; b < v->L * v->Q; b++)
        fprintf(out, "%s{\"bits\": %d, \"bytes\": %zu}", b ? ", " : "", pg->bits[b], pg->size[b]);
    fputs("]}", out);
}

/* The whole page: head and style, the header, the text, the numbers, the
 * packed blocks, the script. */
static int write_page(FILE *out, const void *ctx)
{
    const Page *pg = ctx;
    const Viz *v = pg->v;
    CnShape shape = cn_model_shape(v->model);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"generator\" content=\"" VIZ_MARK "\">\n" /* cli_check_document's */
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          /* the page loads nothing: the browser is told to refuse to */
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>",
          out);
    cli_put_markup(out, pg->file);
    fputs(" through ", out);
    cli_put_markup(out, pg->ckpt);
    fputs(" (charnn viz)</title>\n<style>\n", out);
    for (const char *const *line = viz_style; *line; line++)
        fputs(*line, out);
    fputs("</style></head>\n<body>\n<header><h1>", out);
    cli_put_markup(out, pg->file);
    fputs("</h1>\n<p>read by <b>", out);
    cli_put_markup(out, pg->ckpt);
    char n1[32];
    fprintf(out, "</b>: %s, %d layer%s of %d, %d characters in its vocabulary. "
                 "%s characters shown; %.3f bits per character on them.</p>\n"
                 "<p>Each character is tinted by how surprised the model was to see it; point "
                 "at one (or tap it) for what the model expected there. Choose a unit to tint the "
                 "text by its activation after reading each character instead.</p></header>\n"
                 "<div id=\"controls\"></div>\n<div id=\"worth\"></div>\n<div id=\"text\">",
            cn_cell_names[shape.cell], shape.layers, shape.layers == 1 ? "" : "s", shape.hidden,
            shape.vocab, cli_count(v->n, n1), pg->nats / log(2.0));
    html_text(out, pg->cps, v->n);
    fputs("</div>\n<div id=\"tip\" hidden></div>\n<script id=\"data\" type=\"application/json\">",
          out);
    write_data(out, pg);
    fputs("</script>\n", out);
    for (int b = 0; b < v->L * v->Q; b++) {
        fprintf(out, "<script type=\"text/plain\" id=\"b%d\">", b);
        viz_text7(out, pg->packed[b], pg->size[b]);
        fputs("</script>\n", out);
    }
    fputs("<script>\n", out);
    for (const char *const *line = viz_script; *line; line++)
        fputs(*line, out);
    fputs("</script>\n</body></html>\n", out);
    return ferror(out) ? -1 : 0;
}

/* Bits per block: 8 where the activations fit in BUDGET bytes of the
 * page, else the most the budget allows: every block starts at MIN_BITS
 * and is raised a bit at a time, a level for all blocks before the next,
 * the cheapest raise first; a raise that does not fit is left out, so
 * blocks may end a bit apart. */
static int choose_bits(const Viz *v, int *bits)
{
    int nb = v->L * v->Q;
    size_t est[CN_MAX_LAYERS * MAXQ][MAX_BITS + 1], total = 0, block = (size_t)v->H * v->n;
    /* 7 bits a character, and a little for the groups written as two bytes */
    size_t budget = (size_t)BUDGET / 8 * 7 * 100 / 103;
    for (int b = 0; b < nb; b++) {
        const Quantity *q = &v->q[b % v->Q];
        for (int d = MIN_BITS; d <= MAX_BITS; d++) {
            est[b][d] = viz_pack_estimate(v->act + (size_t)b * block, v->H, v->n, q->lo, q->hi, d);
            if (est[b][d] == SIZE_MAX)
                return -1;
        }
        bits[b] = MAX_BITS;
        total += est[b][MAX_BITS];
    }
    if (total <= budget)
        return 0;
    total = 0;
    for (int b = 0; b < nb; b++)
        bits[b] = MIN_BITS, total += est[b][MIN_BITS];
    for (int d = MIN_BITS + 1; d <= MAX_BITS; d++) {
        for (;;) {
            int cheapest = -1;
            for (int b = 0; b < nb; b++)
                if (bits[b] == d - 1 && (cheapest < 0 || est[b][d] - est[b][d - 1] <
                                                             est[cheapest][d] - est[cheapest][d - 1]))
                    cheapest = b;
            if (cheapest < 0 || total + est[cheapest][d] - est[cheapest][d - 1] > budget)
                break;
            total += est[cheapest][d] - est[cheapest][d - 1];
            bits[cheapest] = d;
        }
    }
    return 0;
}

/* Every block packed at its chosen bits. 0, or -1: out of memory. */
static int pack_blocks(Page *pg)
{
    const Viz *v = pg->v;
    size_t block = (size_t)v->H * v->n;
    if (choose_bits(v, pg->bits) != 0)
        return -1;
    for (int b = 0; b < v->L * v->Q; b++) {
        const Quantity *q = &v->q[b % v->Q];
        pg->packed[b] = viz_pack(v->act + (size_t)b * block, v->H, v->n, q->lo, q->hi,
                                 pg->bits[b], &pg->size[b]);
        if (!pg->packed[b])
            return -1;
    }
    return 0;
}

static int is_html(const char *head)
{
    return cli_root_element(head, "html");
}

/* A page charnn viz wrote before it marked them: its title ends so. */
static int is_old_viz(const char *head)
{
    return is_html(head) && strstr(head, " (charnn viz)</title>") != NULL;
}

static const Document html_document = {"an HTML page", "charnn viz replaces only web pages",
                                       "page.html", is_html, "charnn viz",
                                       "<meta name=\"generator\" content=\"" VIZ_MARK "\">",
                                       is_old_viz};

/* The quantities of a cell (SPEC's names): h for every cell, then the
 * LSTM's cell state (shown as tanh c) and gates i f o, or the GRU's gates
 * r u. */
static int quantities(CnCell cell, Quantity *q)
{
    int count = 0;
    q[count++] = (Quantity){"h", "hidden state", "hidden state h_t", -1, -1, 1};
    if (cell == CN_LSTM || cell == CN_PEEPHOLE) {
        q[count++] = (Quantity){"c", "cell state", "cell state, shown as tanh(c_t)", -2, -1, 1};
        q[count++] = (Quantity){cn_gate_name(cell, 0), "input gate",
                                "input gate i_t (the notes' u_t)", 0, 0, 1};
        q[count++] = (Quantity){cn_gate_name(cell, 1), "forget gate", "forget gate f_t", 1, 0, 1};
        q[count++] = (Quantity){cn_gate_name(cell, 2), "output gate", "output gate o_t", 2, 0, 1};
    } else if (cell == CN_GRU) {
        q[count++] = (Quantity){cn_gate_name(cell, 0), "reset gate", "reset gate r_t", 0, 0, 1};
        q[count++] = (Quantity){cn_gate_name(cell, 1), "update gate",
                                "update gate u_t (the notes' z_t)", 1, 0, 1};
    }
    return count;
}

/* What viz_alloc took. */
static void viz_free(Viz *v)
{
    free(v->p);
    free(v->top);
    free(v->top_p);
    free(v->act);
    free(v->prop);
    free(v->sum);
}

/* Room for n characters of a model of this shape, or -1 (out of memory). */
static int viz_alloc(Viz *v, const CnModel *model, size_t n)
{
    CnShape shape = cn_model_shape(model);
    memset(v, 0, sizeof *v);
    v->model = model;
    v->L = shape.layers, v->H = shape.hidden, v->V = shape.vocab;
    v->Q = quantities(shape.cell, v->q);
    v->vocab = cn_model_vocab(model);
    v->n = n;
    size_t series = (size_t)v->L * v->Q * v->H;
    v->p = calloc(n, sizeof *v->p);
    v->top = malloc(n * TOP * sizeof *v->top);
    v->top_p = calloc(n * TOP, sizeof *v->top_p);
    v->act = calloc(series * n, sizeof *v->act);
    v->prop = calloc((size_t)PROPS * n, sizeof *v->prop);
    v->sum = calloc(series * (2 + PROPS), sizeof *v->sum);
    if (!v->p || !v->top || !v->top_p || !v->act || !v->prop || !v->sum)
        return -1;
    for (size_t i = 0; i < n * TOP; i++)
        v->top[i] = -1;
    return 0;
}

/* The first n code points of text bytes[0..len) (valid UTF-8) into cps;
 * returns the bytes they take. */
static size_t first_chars(const unsigned char *bytes, size_t len, size_t n, uint32_t *cps)
{
    size_t at = 0;
    for (size_t j = 0; j < n && at < len; j++)
        at += (size_t)cn_utf8_decode(bytes + at, len - at, &cps[j]);
    return at;
}

/* The model reads the first n = min(max_chars, its length) characters of
 * text (and one more, when there is one: its step gives the last shown
 * character's activations), into v; their code points into *cps. 0, or an
 * exit code after saying why. */
static int read_text(Viz *v, const CnModel *model, const CnText *text, const char *name,
                     size_t max_chars, int seq_length, int threads, uint32_t **cps)
{
    size_t n = cn_text_chars(text) < max_chars ? cn_text_chars(text) : max_chars;
    size_t scored = n < cn_text_chars(text) ? n + 1 : n, len, count;
    const char *bytes = cn_text_bytes(text, &len);
    CnShape shape = cn_model_shape(model);
    CnError err;
    *cps = malloc(scored * sizeof **cps);
    if (!*cps || viz_alloc(v, model, n) != 0) {
        cli_error("out of memory for %zu characters of activations; give a smaller --max-chars",
                  n);
        return EXIT_ERROR;
    }
    len = first_chars((const unsigned char *)bytes, len, scored, *cps);
    CnText *shown = cn_text_from_memory(bytes, len, name, &err);
    if (shown && cn_model_covers(model, shown, name, &err) != 0) {
        cli_error_lib(&err);
        cn_text_free(shown);
        return EXIT_ERROR;
    }
    property_values(v, *cps);
    double nats = shown ? cn_score(model, shown, seq_length, cli_threads(threads, &shape, 1),
                                   take_step, v, &count, &err)
                        : NAN;
    cn_text_free(shown);
    if (!isfinite(nats)) {
        cli_error("%s", isnan(nats) && err.msg[0] ? err.msg : "the loss is not finite");
        return EXIT_ERROR;
    }
    return 0;
}

int cmd_viz(int argc, char **argv)
{
    const char *output = NULL;
    int seq_length = 256, threads = 0, max_chars = 5000, force = 0;
    Flag flags[] = {
        {.name = "output", .type = FLAG_STR, .value = &output, .arg = "PAGE", .short_name = 'o',
         .help = "the page to write, - for standard output (default: FILE's name with .html, "
                 "or .viz.html when that is FILE)"},
        {.name = "force", .type = FLAG_SWITCH, .value = &force,
         .help = "replace a web page charnn viz did not write (never another kind of file)"},
        {.name = "max-chars", .type = FLAG_INT, .value = &max_chars, .arg = "N",
         .help = "show the first N characters of FILE", .lo = 2, .hi = 1000000},
        CLI_PASS_FLAGS(&seq_length, &threads),
        {.name = NULL},
    };
    Command cmd = {.name = "viz", .usage = "viz CKPT FILE [-o PAGE.html] [options]",
                   .summary = "Write one standalone web page that shows the model reading FILE: "
                              "each character tinted by its surprisal, the model's guesses on "
                              "pointing, the text tinted by any unit's activation, and the units "
                              "that follow quotes, brackets, the position in the line and in the "
                              "sentence, word starts and newlines.",
                   .flags = flags, .min_args = 2, .max_args = 2};
    const char *args[2];
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
    char *derived = cli_document_name(args[1], ".html", ".viz.html");
    int given = output != NULL;
    if (!output)
        output = derived;
    const CnModel *model = cn_checkpoint_model(ck);
    CnText *text = NULL;
    uint32_t *cps = NULL;
    Viz v = {0};
    rc = !derived ? (cli_error("out of memory"), EXIT_ERROR)
                  : cli_check_document(output, given, args, 2, &html_document, force, derived);
    if (rc == 0 && !(text = cli_text_for(NULL, args[1]))) /* the part shown is checked */
        rc = EXIT_ERROR;
    if (rc == 0)
        rc = read_text(&v, model, text, args[1], (size_t)max_chars, seq_length, threads, &cps);
    Page page = {.v = &v, .cps = cps, .ckpt = args[0],
                 .file = strcmp(args[1], "-") == 0 ? "standard input" : args[1]};
    if (rc == 0 && pack_blocks(&page) != 0) {
        cli_error("out of memory for the page's activations; give a smaller --max-chars");
        rc = EXIT_ERROR;
    }
    if (rc == 0) {
        page.nats = v.nats / (double)(v.n - 1);
        rc = cli_write_document(output, write_page, &page);
        if (rc == 0 && strcmp(output, "-") != 0 && !cli_is_device(output)) {
            int lo = MAX_BITS, hi = MIN_BITS;
            for (int b = 0; b < v.L * v.Q; b++) {
                lo = page.bits[b] < lo ? page.bits[b] : lo;
                hi = page.bits[b] > hi ? page.bits[b] : hi;
            }
            char n1[32], range[16];
            snprintf(range, sizeof range, lo == hi ? "%d" : "%d-%d", lo, hi);
            printf("wrote %s: %s characters, %.3f bits/char, activations in %s bits; open it in "
                   "a web browser\n", output, cli_count(v.n, n1), page.nats / log(2.0), range);
        }
    }
    for (int b = 0; b < v.L * v.Q; b++)
        free(page.packed[b]);
    viz_free(&v);
    free(cps);
    cn_text_free(text);
    cn_checkpoint_free(ck);
    free(derived);
    return rc;
}
