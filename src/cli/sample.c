/* SPDX-License-Identifier: MIT */
/*
 * charnn sample: generate text from a checkpoint; the text alone goes to
 * stdout. One sample streams as it is drawn; several (--samples N) are
 * drawn together as one batch, sample i exactly as one sample of seed S+i
 * would be, and printed one after another (or as JSON lines); --beam N
 * searches for the most likely continuation instead of drawing one.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A growing UTF-8 string. */
typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static int buf_add(Buf *b, const char *s, size_t n)
{
    if (n > SIZE_MAX / 4 - b->n)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown)
            return -1;
        b->s = grown, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

/* --stop's text with its escapes \n, \t and \\ read; NULL after saying
 * why (another backslash, or nothing left). */
static char *unescape_stop(const char *stop)
{
    size_t n = strlen(stop), k = 0;
    char *out = malloc(n + 1);
    if (!out) {
        cli_error("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (stop[i] != '\\') {
            out[k++] = stop[i];
            continue;
        }
        char c = stop[++i];
        if (c != 'n' && c != 't' && c != '\\') {
            cli_error("--stop %s: only \\n, \\t and \\\\ are escapes; write a backslash as \\\\",
                      stop);
            free(out);
            return NULL;
        }
        out[k++] = c == 'n' ? '\n' : c == 't' ? '\t' : '\\';
    }
    out[k] = '\0';
    if (k == 0) {
        cli_error("--stop is empty; give the text that ends a sample, e.g. --stop '\\n\\n'");
        free(out);
        return NULL;
    }
    return out;
}

/* Code points in UTF-8 text known to be valid. */
static size_t count_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xc0) != 0x80;
    return count;
}

/* A sample's text ends with the stop string, which began after the prime. */
static int stopped(const Buf *b, size_t prime_n, const char *stop, size_t stop_n)
{
    return stop_n && b->n >= prime_n + stop_n && memcmp(b->s + b->n - stop_n, stop, stop_n) == 0;
}

/* The end of a sample's JSON object, after its other fields: "text":
 * "...", the text as the text format prints it, final newline included. */
static void json_text(FILE *out, const char *text, size_t n)
{
    fputs("\"text\": \"", out);
    for (size_t at = 0; at < n;) {
        uint32_t cp;
        at += (size_t)cn_utf8_decode((const unsigned char *)text + at, n - at, &cp);
        cli_put_escaped(out, cp, 1);
    }
    fputs("\\n\"}\n", out);
}

typedef struct {
    uint64_t length, seed, samples;
    double temperature, top_p;
    const char *prime, *prime_file, *stop, *format;
    int top_k, argmax, beam;
} Args;

/* The prime: --prime, --prime-file's text, or "" (then a newline is run
 * through the model unprinted, where the vocabulary has one). Owned by
 * *text when read from a file. */
static const char *prime_of(const Args *a, CnText **text, size_t *n)
{
    *text = NULL;
    if (!a->prime_file) {
        *n = strlen(a->prime);
        return a->prime;
    }
    CnError err;
    struct stat sb;
    if (stat(a->prime_file, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
        cli_error("--prime-file %s is empty; give a file with the text to start from, or leave "
                  "--prime-file out to start from a newline", a->prime_file);
        return NULL;
    }
    if (!(*text = cn_text_load(&a->prime_file, 1, &err))) {
        cli_error("--prime-file: %s", err.msg);
        return NULL;
    }
    return cn_text_bytes(*text, n);
}

/* Runs the prime (or the unprinted newline) through every stream. */
static int feed_prime(CnSampler *s, const char *prime, size_t n, const Args *a)
{
    CnError err;
    const char *name = a->prime_file ? a->prime_file : "--prime";
    int rc = cn_sampler_feed(s, prime, n, name, &err); /* empty: a newline, unprinted */
    if (rc != 0)
        cli_error_lib(&err);
    return rc;
}

/* What --samples N (or JSON lines) keeps until it prints: the sampler's
 * N streams and N texts of up to --length characters (at most the UTF-8
 * length of the vocabulary's last character each, in buffers that double).
 * More than half of the machine's memory is refused naming the flags,
 * more than 1 GiB announced. 0, or an exit code after saying why. */
static int batch_fits(const CnModel *model, const Args *a, size_t prime_n)
{
    CnShape shape = cn_model_shape(model);
    char last[4], n1[32];
    int most = cn_utf8_encode(cn_model_vocab(model)[shape.vocab - 1], last);
    size_t sampler = cn_sampler_bytes(&shape, (int)a->samples);
    double need = (double)sampler +
                  2.0 * (double)a->samples * ((double)a->length * most + (double)prime_n + 1);
    double have = (double)(cn_physical_memory() / 2), gib = (double)(1 << 30);
    if (sampler == SIZE_MAX || (have > 0 && need > have)) {
        cli_error("--samples %llu with --length %s needs %.1f GiB (a stream per sample, and the "
                  "texts kept until they are printed together), more than half of this "
                  "machine's %.1f GiB; give a smaller --length or --samples (one sample "
                  "streams)", (unsigned long long)a->samples, cli_count(a->length, n1),
                  need / gib, have * 2 / gib);
        return EXIT_USAGE;
    }
    if (need > gib)
        cli_note("%llu samples of %s characters keep up to %.1f GiB until they are printed",
                 (unsigned long long)a->samples, cli_count(a->length, n1), need / gib);
    return 0;
}

/* --samples N (N > 1, or JSON lines): drawn together, printed at the end. */
static int sample_batch(const CnModel *model, const Args *a, const char *prime, size_t prime_n,
                        const char *stop, size_t stop_n)
{
    int N = (int)a->samples, rc = batch_fits(model, a, prime_n);
    if (rc != 0)
        return rc;
    CnError err;
    CnSampler *s = cn_sampler_streams(model, N, a->seed, &err);
    Buf *text = calloc((size_t)N, sizeof *text);
    uint32_t *drawn = malloc((size_t)N * sizeof *drawn);
    if (!s || !text || !drawn) {
        cli_error("%s", s ? "out of memory" : err.msg);
        rc = EXIT_ERROR;
    } else if (feed_prime(s, prime, prime_n, a) != 0) {
        rc = EXIT_USAGE;
    }
    for (int i = 0; rc == EXIT_OK && i < N; i++)
        if (buf_add(&text[i], prime, prime_n) != 0)
            rc = EXIT_ERROR;
    CnSampleOptions opt = {a->temperature, a->top_k, a->argmax, a->top_p};
    int going = N;
    for (uint64_t t = 0; rc == EXIT_OK && t < a->length && going > 0 && !cli_signal; t++) {
        cn_sampler_draw_all(s, &opt, drawn);
        for (int i = 0; i < N; i++) {
            if (stopped(&text[i], prime_n, stop, stop_n))
                continue;
            char utf8[4];
            if (buf_add(&text[i], utf8, (size_t)cn_utf8_encode(drawn[i], utf8)) != 0) {
                rc = EXIT_ERROR;
                break;
            }
            going -= stopped(&text[i], prime_n, stop, stop_n);
        }
    }
    if (rc == EXIT_ERROR && s && text && drawn)
        cli_error("out of memory for %d samples", N);
    int json = strcmp(a->format, "jsonl") == 0;
    for (int i = 0; rc == EXIT_OK && i < N; i++) {
        if (json) {
            printf("{\"sample\": %d, \"seed\": %llu, ", i,
                   (unsigned long long)(a->seed + (uint64_t)i));
            json_text(stdout, text[i].s, text[i].n);
            continue;
        }
        if (N > 1)
            printf("---- sample %d (seed %llu) ----\n", i, (unsigned long long)(a->seed + (uint64_t)i));
        fwrite(text[i].s, 1, text[i].n, stdout);
        putchar('\n');
    }
    for (int i = 0; text && i < N; i++)
        free(text[i].s);
    free(text);
    free(drawn);
    cn_sampler_free(s);
    return rc;
}

/* One sample, streamed: every character as soon as it is drawn, unless
 * writing a file. */
static int sample_one(const CnModel *model, const Args *a, const char *prime, size_t prime_n,
                      const char *stop, size_t stop_n)
{
    CnError err;
    CnSampler *s = cn_sampler_new(model, a->seed, &err);
    if (!s) {
        cli_error_lib(&err);
        return EXIT_ERROR;
    }
    if (feed_prime(s, prime, prime_n, a) != 0) {
        cn_sampler_free(s);
        return EXIT_USAGE;
    }
    fwrite(prime, 1, prime_n, stdout);
    struct stat out;
    int stream = fstat(STDOUT_FILENO, &out) != 0 || !S_ISREG(out.st_mode);
    CnSampleOptions opt = {a->temperature, a->top_k, a->argmax, a->top_p};
    /* the last stop_n bytes drawn, to find the stop string */
    Buf tail = {0};
    int rc = EXIT_OK;
    /* stops at the first write that fails (a closed or full output) */
    for (uint64_t i = 0; (a->length == 0 || i < a->length) && !cli_signal && !ferror(stdout); i++) {
        char utf8[4];
        size_t k = (size_t)cn_utf8_encode(cn_sampler_draw(s, &opt), utf8);
        fwrite(utf8, 1, k, stdout);
        if (stream)
            fflush(stdout);
        if (stop_n) {
            if (buf_add(&tail, utf8, k) != 0) {
                cli_error("out of memory");
                rc = EXIT_ERROR;
                break;
            }
            if (stopped(&tail, 0, stop, stop_n))
                break;
            if (tail.n > 4 * stop_n) { /* keep the tail short */
                memmove(tail.s, tail.s + tail.n - stop_n, stop_n);
                tail.n = stop_n;
            }
        }
    }
    if (!cli_signal && rc == EXIT_OK)
        putchar('\n');
    free(tail.s);
    cn_sampler_free(s);
    return rc;
}

/* What a long search shows on stderr: after half a second, when the
 * whole search will take more than a few seconds, an estimate; then its
 * progress (a line redrawn on a terminal, else a line every 10 s). The
 * first step extends the prime alone, the others every beam: the
 * estimate comes from the steps after the first. A signal stops the
 * search, which then prints the best text so far. */
typedef struct {
    double start, first, last; /* when the search began, its first step ended, the last
                                  progress was shown */
    int beams;
    int decided, shown;  /* the estimate was made; progress is being shown */
    int tty, line_open;
} Watch;

enum { BEAM_QUIET_SECONDS = 3 }; /* a search expected to be shorter shows nothing */

static int watch_beam(void *ctx, size_t done, size_t length)
{
    Watch *w = ctx;
    double now = cn_seconds(), elapsed = now - w->start;
    if (done == 1)
        w->first = now;
    double left = done > 1 ? (now - w->first) / (double)(done - 1) * (double)(length - done)
                           : -1;
    char n1[32], n2[32], d1[32], d2[32];
    if (!w->decided && elapsed >= 0.5 && done < length) {
        w->decided = 1;
        if (done == 1) { /* slow from the start: no rate yet */
            w->shown = 1;
            cli_note("beam search of %d beam%s over %s characters: the first took %s; progress "
                     "follows, Ctrl-C stops it and prints the best text so far", w->beams,
                     w->beams == 1 ? "" : "s", cli_count(length, n1), cli_duration(elapsed, d1));
        } else if (elapsed + left > BEAM_QUIET_SECONDS) {
            w->shown = 1;
            cli_note("beam search of %d beam%s over %s characters: about %s (estimated from "
                     "the first %s); progress follows, Ctrl-C stops it and prints the best "
                     "text so far", w->beams, w->beams == 1 ? "" : "s", cli_count(length, n1),
                     cli_duration(elapsed + left, d1), cli_count(done, n2));
        }
        w->last = now;
    }
    if (w->shown && !cli_signal && done < length && now - w->last >= (w->tty ? 0.25 : 10)) {
        w->last = now;
        fprintf(stderr, "%sbeam search: %s of %s characters (%.1f%%), %s elapsed, %s left%s",
                w->tty ? "\r\033[K" : "", cli_count(done, n1), cli_count(length, n2),
                100.0 * (double)done / (double)length, cli_duration(elapsed, d2),
                left < 0 ? "?" : cli_duration(left, d1), w->tty ? "" : "\n");
        w->line_open = w->tty;
    }
    return cli_signal != 0;
}

/* Memory a search needs, up front: more than half of the machine's is
 * refused (naming the flag to change), more than 1 GiB announced. 0, or
 * an exit code after saying why. */
static int beam_fits(const CnModel *model, const Args *a)
{
    CnShape shape = cn_model_shape(model);
    char n1[32], n2[32];
    if (a->length > (uint64_t)1 << 24) {
        cli_error("--length %s is more than beam search's 16,777,216 characters; give a smaller "
                  "--length, or draw (no --beam), which has no limit", cli_count(a->length, n1));
        return EXIT_USAGE;
    }
    size_t need = cn_beam_bytes(&shape, a->beam, (size_t)a->length);
    uint64_t have = cn_physical_memory() / 2;
    /* the history grows with beams x length, the logits with beams x vocabulary */
    double history = 8.0 * a->beam * (double)a->length;
    double gib = (double)(1 << 30);
    if (have && need > have) {
        if (history > (double)need / 2)
            cli_error("--beam %d with --length %s needs %.1f GiB of memory (8 bytes per beam per "
                      "character), more than half of this machine's %.1f GiB; give a smaller "
                      "--length or --beam", a->beam, cli_count(a->length, n1),
                      (double)need / gib, (double)have * 2 / gib);
        else
            cli_error("--beam %d needs %.1f GiB of memory (the %s-character vocabulary's "
                      "logits for every beam), more than half of this machine's %.1f GiB; "
                      "give a smaller --beam", a->beam, (double)need / gib,
                      cli_count((uint64_t)shape.vocab, n2), (double)have * 2 / gib);
        return EXIT_USAGE;
    }
    if (need > (size_t)1 << 30)
        cli_note("beam search of %d beams over %s characters uses %.1f GiB of memory", a->beam,
                 cli_count(a->length, n1), (double)need / gib);
    return 0;
}

/* --beam N: the most likely continuation, printed after the prime; its
 * total log-probability on stderr. Interrupted, the best text so far,
 * said to be partial. */
static int sample_beam(const CnModel *model, const Args *a, const char *prime, size_t prime_n,
                       const char *stop, size_t stop_n)
{
    CnError err;
    char *text = NULL;
    size_t n, done;
    double logprob;
    int rc = beam_fits(model, a);
    if (rc != 0)
        return rc;
    /* the default prime, a newline, runs through the model unprinted */
    int newline = prime_n == 0 && cn_model_char_index(model, '\n') >= 0;
    Watch w = {.start = cn_seconds(), .beams = a->beam, .tty = os_terminal(STDERR_FILENO)};
    int got = cn_beam_search_watch(model, newline ? "\n" : prime, newline ? 1 : prime_n, a->beam,
                                   a->length, stop, stop_n, watch_beam, &w, &text, &n, &logprob,
                                   &done, &err);
    if (w.line_open)
        fputs("\r\033[K", stderr);
    if (got < 0) {
        cli_error_lib(&err); /* the prime and stop were checked: memory */
        return EXIT_ERROR;
    }
    int partial = got == 1;
    Buf all = {0};
    rc = buf_add(&all, prime, prime_n) == 0 && buf_add(&all, text, n) == 0 ? EXIT_OK
                                                                           : EXIT_ERROR;
    if (rc != EXIT_OK)
        cli_error("out of memory");
    else if (strcmp(a->format, "jsonl") == 0) {
        printf("{\"beam\": %d, %s\"logprob\": %.17g, ", a->beam,
               partial ? "\"partial\": true, " : "", logprob);
        json_text(stdout, all.s, all.n);
    } else {
        fwrite(all.s, 1, all.n, stdout);
        putchar('\n');
    }
    char n1[32], n2[32], n3[32];
    if (rc == EXIT_OK && partial)
        fprintf(stderr, "charnn: beam search interrupted after %s of %s characters: printed "
                "the best text so far (partial), %s characters, total ln p = %.6f\n",
                cli_count(done, n1), cli_count(a->length, n2),
                cli_count(count_chars(text, n), n3), logprob);
    else if (rc == EXIT_OK)
        fprintf(stderr, "beam search, %d beam%s: %s characters, total ln p = %.6f (%.4f "
                "nats/char)\n", a->beam, a->beam == 1 ? "" : "s",
                cli_count(count_chars(text, n), n3), logprob,
                n ? -logprob / (double)count_chars(text, n) : 0.0);
    free(all.s);
    free(text);
    return rc;
}

static const char *const formats[] = {"text", "jsonl", NULL};

/* The combinations that make no sense, refused with the fix. */
static int check_args(const Command *cmd, const Args *a)
{
    const char *why = NULL;
    if (a->prime_file && cli_flag(cmd, "prime")->set)
        why = "--prime and --prime-file both give the prime; give one";
    else if (cli_flag(cmd, "prime")->set && !a->prime[0])
        why = "--prime is empty; give the text to start from, or leave --prime out to start "
              "from a newline";
    else if (a->beam && (cli_flag(cmd, "temperature")->set || cli_flag(cmd, "top-k")->set ||
                         cli_flag(cmd, "top-p")->set || a->argmax))
        why = "--beam searches for the most likely text and draws nothing: it takes no "
              "--temperature, --top-k, --top-p or --argmax";
    else if (a->beam && cli_flag(cmd, "samples")->set)
        why = "--beam gives one text; drop --samples";
    else if (a->length == 0 && (a->samples > 1 || a->beam || strcmp(a->format, "jsonl") == 0))
        why = "--length 0 (until interrupted) streams one sample as text; give a --length with "
              "--samples, --beam or --format jsonl";
    if (why)
        cli_error("%s", why);
    return why ? EXIT_USAGE : 0;
}

int cmd_sample(int argc, char **argv)
{
    Args a = {.length = 1000, .seed = 1, .samples = 1, .temperature = 1.0, .top_p = 1,
              .prime = "", .format = "text"};
    Flag flags[] = {
        {.name = "length", .type = FLAG_U64, .value = &a.length, .arg = "N",
         .help = "characters to generate (at most); 0 = until interrupted", .lo = 0, .hi = 1e18},
        {.name = "temperature", .type = FLAG_REAL, .value = &a.temperature, .arg = "T",
         .help = "divide the logits by T: lower is safer, higher more surprising", .lo = 0,
         .hi = INFINITY, .lo_open = 1},
        {.name = "prime", .type = FLAG_STR, .value = &a.prime, .arg = "TEXT",
         .help = "text to run through the model first (and print), not empty; default: a "
                 "newline"},
        {.name = "prime-file", .type = FLAG_STR, .value = &a.prime_file, .arg = "PATH",
         .help = "the prime read from a file (UTF-8, newlines kept)"},
        {.name = "seed", .type = FLAG_U64, .value = &a.seed, .arg = "S",
         .help = "random seed (of sample i: S+i)", .lo = 0, .hi = 1.8e19},
        {.name = "top-k", .type = FLAG_INT, .value = &a.top_k, .arg = "K",
         .help = "draw only among the K most likely characters; 0 = all", .lo = 0,
         .hi = 0x110000},
        {.name = "top-p", .type = FLAG_REAL, .value = &a.top_p, .arg = "P",
         .help = "draw only among the fewest most likely characters holding P of the "
                 "probability (after --top-k); 1 = all",
         .lo = 0, .hi = 1, .lo_open = 1},
        {.name = "argmax", .type = FLAG_SWITCH, .value = &a.argmax,
         .help = "always take the most likely character (deterministic)"},
        {.name = "samples", .type = FLAG_U64, .value = &a.samples, .arg = "N",
         .help = "samples drawn together (sample i as --samples 1 --seed S+i)", .lo = 1,
         .hi = 65536},
        {.name = "beam", .type = FLAG_INT, .value = &a.beam, .arg = "N",
         .help = "beam search with N beams: the most likely text (total log-probability) "
                 "instead of a draw; refused if it cannot fit in memory, Ctrl-C prints the best "
                 "so far; 0 = off",
         .lo = 0, .hi = 4096},
        {.name = "stop", .type = FLAG_STR, .value = &a.stop, .arg = "TEXT",
         .help = "end each sample right after TEXT first appears in what it generates (\\n, \\t "
                 "and \\\\ are escapes)"},
        {.name = "format", .type = FLAG_STR, .value = &a.format, .arg = "FMT",
         .help = "text; jsonl: one object per sample, {\"sample\", \"seed\", \"text\"} "
                 "({\"beam\", \"logprob\", \"text\"} with --beam, and \"partial\": true when "
                 "interrupted)",
         .choices = formats},
        {.name = NULL},
    };
    Command cmd = {.name = "sample", .usage = "sample CKPT [options]",
                   .summary = "Generate text from a checkpoint; the text alone goes to stdout.",
                   .flags = flags, .min_args = 1, .max_args = 1};
    const char *args[1];
    int rc;
    CnCheckpoint *ck = cli_start(&cmd, argc, argv, args, &rc);
    if (!ck)
        return rc;
    if ((rc = check_args(&cmd, &a)) != 0) {
        cn_checkpoint_free(ck);
        return rc;
    }
    const CnModel *model = cn_checkpoint_model(ck);
    CnText *prime_text = NULL;
    char *stop = a.stop ? unescape_stop(a.stop) : NULL;
    size_t prime_n, stop_n = stop ? strlen(stop) : 0;
    const char *prime = a.stop && !stop ? NULL : prime_of(&a, &prime_text, &prime_n);
    rc = prime ? EXIT_OK : a.stop && !stop ? EXIT_USAGE : EXIT_ERROR;
    if (rc == EXIT_OK && stop) {
        /* a stop string the model cannot write, or longer than the sample */
        CnError err;
        CnText *t = cn_text_from_memory(stop, stop_n, "--stop", &err);
        if (!t || cn_model_covers(model, t, "--stop", &err) != 0) {
            cli_error("--stop has a character outside the model's vocabulary, so it could never "
                      "end a sample (%s)", err.msg);
            rc = EXIT_USAGE;
        } else if (a.length && cn_text_chars(t) > a.length) {
            cli_error("--stop has %zu characters, more than --length %llu: it could never end a "
                      "sample", cn_text_chars(t), (unsigned long long)a.length);
            rc = EXIT_USAGE;
        }
        cn_text_free(t);
    }
    if (rc == EXIT_OK && a.beam && prime_n) { /* the beam's prime, checked as a draw's is */
        CnError err;
        CnText *t = cn_text_from_memory(prime, prime_n, a.prime_file ? a.prime_file : "--prime", &err);
        if (!t || cn_model_covers(model, t, a.prime_file ? a.prime_file : "--prime", &err) != 0) {
            cli_error_lib(&err);
            rc = EXIT_USAGE;
        }
        cn_text_free(t);
    }
    if (rc == EXIT_OK) {
        /* a draw stops at Ctrl-C and keeps what it drew; a search prints
           the best text it has found so far */
        cli_catch_signals();
        rc = a.beam ? sample_beam(model, &a, prime, prime_n, stop, stop_n)
             : a.samples > 1 || strcmp(a.format, "jsonl") == 0
                 ? sample_batch(model, &a, prime, prime_n, stop, stop_n)
                 : sample_one(model, &a, prime, prime_n, stop, stop_n);
    }
    int write_failed = fflush(stdout) != 0 || ferror(stdout), e = errno;
    free(stop);
    cn_text_free(prime_text);
    cn_checkpoint_free(ck);
    if (cli_signal)
        return EXIT_SIGNAL + cli_signal;
    if (rc == EXIT_OK && write_failed) {
        cli_error("cannot write the sample to standard output: %s", strerror(e));
        return EXIT_ERROR;
    }
    return rc;
}
