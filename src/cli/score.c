/* SPDX-License-Identifier: MIT */
/*
 * charnn score: what a checkpoint predicts at every character of a text.
 * One row per prediction on stdout (TSV or JSON lines): the character that
 * came, the probability the model gave it, its surprisal in bits, and the
 * most likely characters; a summary on stderr. The rows come from
 * cn_score, the pass cn_evaluate makes, so their mean -ln p is eval's
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

enum { WORST = 5 };

typedef struct {
    FILE *out;
    int jsonl, top;
    const uint32_t *vocab;
    int V;
    int *order;                /* (top) scratch */
    struct {
        size_t pos;
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
    r->worst[pos].pos = st->pos;
    r->worst[pos].nats = st->nats;
    r->worst[pos].cp = r->vocab[st->target];
}

/* cn_score's callback: one row, TSV or JSON; -1 (stop) once a write failed. */
static int write_row(void *ctx, const CnStep *st)
{
    Rows *r = ctx;
    FILE *out = r->out;
    double p = exp(-st->nats), bits = st->nats / log(2.0);
    uint32_t cp = r->vocab[st->target];
    remember_worst(r, st);
    if (!r->jsonl) {
        fprintf(out, "%zu\t", st->pos);
        cli_put_escaped(out, cp, 0);
        fprintf(out, "\t%.9g\t%.9g\n", p, bits);
        return ferror(out) ? -1 : 0;
    }
    fprintf(out, "{\"pos\": %zu, \"char\": \"", st->pos);
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

int cmd_score(int argc, char **argv)
{
    int seq_length = 256, threads = 0, top = 5;
    const char *format = "tsv";
    Flag flags[] = {
        {.name = "format", .type = FLAG_STR, .value = &format, .arg = "FMT",
         .help = "tsv: a header, then pos, char, p, bits per row; jsonl: one JSON object per "
                 "row, with the top characters",
         .choices = formats},
        {.name = "top", .type = FLAG_INT, .value = &top, .arg = "K",
         .help = "most likely characters listed per row (jsonl)", .lo = 1, .hi = 0x110000},
        CLI_PASS_FLAGS(&seq_length, &threads),
        {.name = NULL},
    };
    Command cmd = {.name = "score", .usage = "score CKPT FILE [options]",
                   .summary = "Score every character of FILE: one row per prediction (the "
                              "character at pos+1 given those up to pos) with its probability "
                              "p and surprisal -log2 p in bits, from a zero state carried "
                              "throughout, as eval; a summary on stderr. Characters in rows are "
                              "escaped: \\\\ \\t \\n \\r, other control characters \\xHH "
                              "(tsv) or \\uHHHH (jsonl).",
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
        fputs("pos\tchar\tp\tbits\n", stdout);
    size_t count;
    CnError err;
    double loss = cn_score(model, text, seq_length, threads, write_row, &rows, &count, &err);
    int write_failed = ferror(stdout) || fflush(stdout) != 0, e = errno;
    free(rows.order);
    cn_text_free(text);
    cn_checkpoint_free(ck);
    if (write_failed) {
        cli_error("cannot write the rows to standard output: %s", strerror(e));
        return EXIT_ERROR;
    }
    if (!isfinite(loss)) {
        cli_error("%s", isnan(loss) && err.msg[0] ? err.msg : "the loss is not finite");
        return EXIT_ERROR;
    }
    char n1[32];
    fprintf(stderr, "%.6f nats/char  %.6f bits/char  (%s predictions); most surprising:",
            loss, loss / log(2.0), cli_count(count, n1));
    for (int k = 0; k < rows.nworst; k++) {
        fputs(k ? ", \"" : " \"", stderr);
        cli_put_escaped(stderr, rows.worst[k].cp, 1);
        fprintf(stderr, "\" at pos %zu (%.1f bits)", rows.worst[k].pos,
                rows.worst[k].nats / log(2.0));
    }
    fputc('\n', stderr);
    return EXIT_OK;
}
