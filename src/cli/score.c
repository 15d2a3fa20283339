/* SPDX-License-Identifier: MIT */
/*
 * charnn score: what a checkpoint predicts at every character of a text.
 * One row per prediction on stdout (TSV or JSON lines): the index of the
 * character predicted (its position in the text, from 0, the number viz
 * calls #cN), the character, the probability the model gave it, its
 * surprisal in bits, and the most likely characters; a summary on stderr,
 * with the most surprising characters in their context. The rows come
 * from cn_score, the pass cn_evaluate makes, so their mean -ln p is eval's
 * number.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *cli_escape(uint32_t cp, int json, char buf[8])
{
    switch (cp) {
    case '\\': return "\\\\";
    case '\t': return "\\t";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '"': return json ? "\\\"" : "\"";
    default: break;
    }
    if (cp < 0x20 || cp == 0x7f)
        snprintf(buf, 8, json ? "\\u%04x" : "\\x%02x", (unsigned)cp);
    else
        buf[cn_utf8_encode(cp, buf)] = '\0';
    return buf;
}

void cli_put_escaped(FILE *out, uint32_t cp, int json)
{
    char buf[8];
    fputs(cli_escape(cp, json, buf), out);
}

enum { WORST = 5, BEFORE = 12, AFTER = 8 };

typedef struct {
    FILE *out;
    int jsonl, top;
    const uint32_t *vocab;
    int V;
    int *order;                /* (top) scratch */
    struct {
        size_t index;          /* of the character predicted */
        double nats;
        uint32_t cp;
    } worst[WORST];            /* the most surprising predictions, most first */
    int nworst;
} Rows;

/* Keeps the WORST predictions with the most nats, most first. */
static void remember_worst(Rows *r, const CnStep *st)
{
    if (r->nworst == WORST && !(st->nats > r->worst[WORST - 1].nats))
        return;
    int pos = r->nworst < WORST ? r->nworst++ : WORST - 1;
    while (pos > 0 && st->nats > r->worst[pos - 1].nats) {
        r->worst[pos] = r->worst[pos - 1];
        pos--;
    }
    r->worst[pos].index = st->pos + 1;
    r->worst[pos].nats = st->nats;
    r->worst[pos].cp = r->vocab[st->target];
}

/* cn_score's callback: one row, TSV or JSON, for the character the step
 * predicts, index pos+1 (the model has read 0..pos); -1 (stop) once a
 * write failed. */
static int write_row(void *ctx, const CnStep *st)
{
    Rows *r = ctx;
    FILE *out = r->out;
    double p = exp(-st->nats), bits = st->nats / log(2.0);
    uint32_t cp = r->vocab[st->target];
    remember_worst(r, st);
    if (!r->jsonl) {
        fprintf(out, "%zu\t", st->pos + 1);
        cli_put_escaped(out, cp, 0);
        fprintf(out, "\t%.9g\t%.9g\n", p, bits);
        return ferror(out) ? -1 : 0;
    }
    fprintf(out, "{\"index\": %zu, \"char\": \"", st->pos + 1);
    cli_put_escaped(out, cp, 1);
    fprintf(out, "\", \"p\": %.9g, \"bits\": %.9g, \"top\": [", p, bits);
    int n = cn_top_k(st->probs, r->V, r->top, r->order);
    for (int k = 0; k < n; k++) {
        fputs(k ? ", [\"" : "[\"", out);
        cli_put_escaped(out, r->vocab[r->order[k]], 1);
        fprintf(out, "\", %.6g]", (double)st->probs[r->order[k]]);
    }
    fputs("]}\n", out);
    return ferror(out) ? -1 : 0;
}

static const char *const formats[] = {"tsv", "jsonl", NULL};

/* The characters of text around character `index`, BEFORE of them before
 * and AFTER after (fewer at its ends), escaped as in a JSON string, the
 * character itself in brackets: "my l[o]rd, and". */
static void put_context(FILE *out, const char *bytes, size_t len, size_t index)
{
    size_t from = index > BEFORE ? index - BEFORE : 0, at = 0, k = 0;
    const unsigned char *b = (const unsigned char *)bytes;
    for (; k < from && at < len; k++) /* seek character `from` */
        at += b[at] < 0x80 ? 1 : b[at] < 0xe0 ? 2 : b[at] < 0xf0 ? 3 : 4;
    fputc('"', out);
    for (; k <= index + AFTER && at < len; k++) {
        uint32_t cp;
        at += (size_t)cn_utf8_decode(b + at, len - at, &cp);
        fputs(k == index ? "[" : "", out);
        cli_put_escaped(out, cp, 1);
        fputs(k == index ? "]" : "", out);
    }
    fputc('"', out);
}

int cmd_score(int argc, char **argv)
{
    int seq_length = 256, threads = 0, top = 5;
    const char *format = "tsv";
    Flag flags[] = {
        {.name = "format", .type = FLAG_STR, .value = &format, .arg = "FMT",
         .help = "tsv: a header, then index, char, p, bits per row; jsonl: one JSON object per "
                 "row, with the top characters",
         .choices = formats},
        {.name = "top", .type = FLAG_INT, .value = &top, .arg = "K",
         .help = "most likely characters listed per row (jsonl)", .lo = 1, .hi = 0x110000},
        CLI_PASS_FLAGS(&seq_length, &threads),
        {.name = NULL},
    };
    Command cmd = {.name = "score", .usage = "score CKPT FILE [options]",
                   .summary = "Score every character of FILE: one row per prediction (the "
                              "character at index i, counted from 0 as viz's #ci, given those "
                              "before it) with its probability p and surprisal -log2 p in bits, "
                              "from a zero state carried throughout, as eval; a summary on "
                              "stderr, the most surprising characters in their context. "
                              "Characters in rows are escaped: \\\\ \\t \\n \\r, other "
                              "control characters \\xHH (tsv) or \\uHHHH (jsonl).",
                   .flags = flags, .min_args = 2, .max_args = 2};
    const char *args[2];
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
    const CnModel *model = cn_checkpoint_model(ck);
    CnShape shape = cn_model_shape(model);
    CnText *text = cli_text_for(model, args[1]);
    Rows rows = {.out = stdout, .jsonl = strcmp(format, "jsonl") == 0,
                 .top = top < shape.vocab ? top : shape.vocab, .vocab = cn_model_vocab(model),
                 .V = shape.vocab};
    rows.order = malloc((size_t)rows.top * sizeof *rows.order);
    if (!text || !rows.order) {
        if (text)
            cli_error("out of memory");
        free(rows.order);
        cn_text_free(text);
        cn_checkpoint_free(ck);
        return EXIT_ERROR;
    }
    threads = cli_threads(threads, &shape, 1);
    if (!rows.jsonl)
        fputs("index\tchar\tp\tbits\n", stdout);
    size_t count;
    CnError err;
    double loss = cn_score(model, text, seq_length, threads, write_row, &rows, &count, &err);
    int write_failed = ferror(stdout) || fflush(stdout) != 0, e = errno;
    free(rows.order);
    cn_checkpoint_free(ck);
    if (write_failed || !isfinite(loss)) {
        if (write_failed)
            cli_error("cannot write the rows to standard output: %s", strerror(e));
        else
            cli_error("%s", isnan(loss) && err.msg[0] ? err.msg : "the loss is not finite");
        cn_text_free(text);
        return EXIT_ERROR;
    }
    /* the summary: eval's number, then each surprise, its character's index
       and the text around it */
    char n1[32];
    size_t len;
    const char *bytes = cn_text_bytes(text, &len);
    fprintf(stderr, "%.6f nats/char  %.6f bits/char  (%s predictions); most surprising:\n",
            loss, loss / log(2.0), cli_count(count, n1));
    for (int k = 0; k < rows.nworst; k++) {
        fprintf(stderr, "  %4.1f bits at character %zu (\"", rows.worst[k].nats / log(2.0),
                rows.worst[k].index);
        cli_put_escaped(stderr, rows.worst[k].cp, 1);
        fputs("\"): ", stderr);
        put_context(stderr, bytes, len, rows.worst[k].index);
        fputc('\n', stderr);
    }
    cn_text_free(text);
    return EXIT_OK;
}
