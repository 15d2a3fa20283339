/* SPDX-License-Identifier: MIT */
/*
 * JSON export (cn_export_json). For every cell kind (rnn, lstm, peephole,
 * gru), a 2-layer model with H = 3 over a vocabulary of awkward characters
 * ('\n', '"', '\\', U+0001, 'é', U+1F600), every parameter distinct, is
 * exported and read back with the strict JSON parser below. Checked: the
 * output is one valid JSON value with nothing after it; the header fields;
 * the vocabulary unescapes to the model's characters in order; the tensor
 * names are exactly those of src/doc/files.md; every shape is [outputs, inputs];
 * every value equals the internal (input-major) parameter it maps to, bit
 * for bit after float rounding; and nparams values are exported in all.
 * The parser itself is checked first on valid and invalid documents.
 */
#include "check.h"
#include "core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* A small strict JSON parser (RFC 8259) building a tree. */

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY,
               JSON_OBJECT } JsonType;

typedef struct Json Json;
struct Json {
    JsonType type;
    double number; /* JSON_NUMBER */
    char *str;     /* JSON_STRING: the unescaped UTF-8, NUL-terminated ... */
    size_t len;    /* ... but it may contain NUL (\u0000): its length */
    char *key;     /* a member of an object: its unescaped name */
    size_t keylen;
    Json *items;   /* JSON_ARRAY elements, or JSON_OBJECT members (with keys) */
    size_t n;
};

typedef struct {
    const char *start, *p, *end; /* the document, the parse position */
    int depth;
    const char *error;           /* the first error, NULL if none */
    size_t where;                /* its byte offset */
} JsonParser;

enum { JSON_MAX_DEPTH = 64 };

static int json_fail(JsonParser *ps, const char *msg)
{
    if (!ps->error) {
        ps->error = msg;
        ps->where = (size_t)(ps->p - ps->start);
    }
    return -1;
}

/* Frees what v owns (not v itself). */
static void json_free(Json *v)
{
    for (size_t i = 0; i < v->n; i++)
        json_free(&v->items[i]);
    free(v->items);
    free(v->str);
    free(v->key);
}

static int peek(const JsonParser *ps)
{
    return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static void skip_ws(JsonParser *ps)
{
    int c;
    while ((c = peek(ps)) == ' ' || c == '\t' || c == '\n' || c == '\r')
        ps->p++;
}

/* Reads the 4 hex digits of a \u escape; -1 if they are not there. */
static int hex4(JsonParser *ps, uint32_t *cp)
{
    *cp = 0;
    for (int i = 0; i < 4; i++, ps->p++) {
        int c = peek(ps);
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *cp = *cp << 4 | (uint32_t)d;
    }
    return 0;
}

static int string_fail(JsonParser *ps, char *buf, const char *msg)
{
    free(buf);
    return json_fail(ps, msg);
}

/* A string at ps->p (on its opening quote), unescaped into a malloc'd buffer.
 * Raw bytes must be valid UTF-8 and not control characters; a \u escape of a
 * high surrogate must be followed by one of a low surrogate. */
static int parse_string(JsonParser *ps, char **out, size_t *outlen)
{
    static const char esc[] = "\"\\/bfnrt", unesc[] = "\"\\/\b\f\n\r\t";
    ps->p++;
    /* the unescaped text is never longer than the escaped one */
    const char *q = ps->p;
    while (q < ps->end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    char *buf = malloc((size_t)(q - ps->p) + 1);
    size_t n = 0;
    if (!buf)
        return json_fail(ps, "out of memory");
    for (;;) {
        int c = peek(ps);
        if (c < 0)
            return string_fail(ps, buf, "unterminated string");
        if (c == '"')
            break;
        if (c < 0x20)
            return string_fail(ps, buf, "unescaped control character in a string");
        if (c != '\\') { /* one UTF-8 character, copied */
            uint32_t cp;
            int len = cn_utf8_decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), &cp);
            if (len == 0)
                return string_fail(ps, buf, "invalid UTF-8 in a string");
            memcpy(buf + n, ps->p, (size_t)len);
            n += (size_t)len;
            ps->p += len;
            continue;
        }
        ps->p++;
        c = peek(ps);
        const char *e = c > 0 ? strchr(esc, c) : NULL;
        if (e) { /* \" \\ \/ \b \f \n \r \t */
            buf[n++] = unesc[e - esc];
            ps->p++;
            continue;
        }
        if (c != 'u')
            return string_fail(ps, buf, "bad escape");
        ps->p++;
        uint32_t cp, lo;
        if (hex4(ps, &cp) != 0)
            return string_fail(ps, buf, "bad \\u escape");
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return string_fail(ps, buf, "unpaired low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) { /* must be followed by \u<low surrogate> */
            if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
                return string_fail(ps, buf, "unpaired high surrogate");
            ps->p += 2;
            if (hex4(ps, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                return string_fail(ps, buf, "unpaired high surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        n += (size_t)cn_utf8_encode(cp, buf + n);
    }
    ps->p++; /* closing quote */
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static int digits(JsonParser *ps)
{
    const char *from = ps->p;
    while (peek(ps) >= '0' && peek(ps) <= '9')
        ps->p++;
    return ps->p > from;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, converted by strtod. The
 * document must be NUL-terminated so that strtod stops inside it. */
static int parse_number(JsonParser *ps, Json *v)
{
    const char *from = ps->p;
    if (peek(ps) == '-')
        ps->p++;
    if (peek(ps) == '0')
        ps->p++;
    else if (!digits(ps))
        return json_fail(ps, "bad number");
    if (peek(ps) == '.' && (ps->p++, !digits(ps)))
        return json_fail(ps, "bad number: no digits after '.'");
    if (peek(ps) == 'e' || peek(ps) == 'E') {
        ps->p++;
        if (peek(ps) == '+' || peek(ps) == '-')
            ps->p++;
        if (!digits(ps))
            return json_fail(ps, "bad number: no exponent digits");
    }
    char *stop;
    v->type = JSON_NUMBER;
    v->number = strtod(from, &stop);
    return stop == ps->p ? 0 : json_fail(ps, "bad number (strtod disagrees)");
}

static int literal(JsonParser *ps, Json *v, JsonType type, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return json_fail(ps, "unexpected character");
    v->type = type;
    ps->p += n;
    return 0;
}

/* Appends a zeroed item to an array or object, so that json_free can always
 * free a partly built tree. */
static Json *push(JsonParser *ps, Json *v, size_t *cap)
{
    if (v->n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 8;
        Json *items = realloc(v->items, ncap * sizeof *items);
        if (!items) {
            json_fail(ps, "out of memory");
            return NULL;
        }
        v->items = items;
        *cap = ncap;
    }
    memset(&v->items[v->n], 0, sizeof v->items[0]);
    return &v->items[v->n++];
}

static int parse_value(JsonParser *ps, Json *v);

/* '[' (value (',' value)*)? ']' or '{' (name ':' value (',' ...)*)? '}'.
 * After a ',' another item is required, so trailing commas are rejected;
 * so are duplicate member names. */
static int parse_container(JsonParser *ps, Json *v)
{
    int object = *ps->p == '{';
    int close = object ? '}' : ']';
    size_t cap = 0;
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    if (++ps->depth > JSON_MAX_DEPTH)
        return json_fail(ps, "nested too deeply");
    ps->p++;
    skip_ws(ps);
    if (peek(ps) != close) {
        for (;;) {
            Json *item = push(ps, v, &cap);
            if (!item)
                return -1;
            if (object) {
                skip_ws(ps);
                if (peek(ps) != '"')
                    return json_fail(ps, "expected a member name");
                if (parse_string(ps, &item->key, &item->keylen) != 0)
                    return -1;
                for (size_t i = 0; i + 1 < v->n; i++)
                    if (v->items[i].keylen == item->keylen &&
                        memcmp(v->items[i].key, item->key, item->keylen) == 0)
                        return json_fail(ps, "duplicate member name");
                skip_ws(ps);
                if (peek(ps) != ':')
                    return json_fail(ps, "expected ':'");
                ps->p++;
            }
            if (parse_value(ps, item) != 0)
                return -1;
            skip_ws(ps);
            if (peek(ps) != ',')
                break;
            ps->p++;
        }
        if (peek(ps) != close)
            return json_fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    ps->p++;
    ps->depth--;
    return 0;
}

static int parse_value(JsonParser *ps, Json *v)
{
    skip_ws(ps);
    int c = peek(ps);
    if (c == '{' || c == '[')
        return parse_container(ps, v);
    if (c == '"') {
        v->type = JSON_STRING;
        return parse_string(ps, &v->str, &v->len);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, v);
    if (c == 't')
        return literal(ps, v, JSON_TRUE, "true");
    if (c == 'f')
        return literal(ps, v, JSON_FALSE, "false");
    if (c == 'n')
        return literal(ps, v, JSON_NULL, "null");
    return json_fail(ps, c < 0 ? "unexpected end of input" : "unexpected character");
}

/* Parses text[0, n) (with text[n] == '\0') as exactly one value, with only
 * whitespace around it. On failure, *root is empty and *error and *where
 * say what went wrong where. */
static int json_parse(const char *text, size_t n, Json *root, const char **error, size_t *where)
{
    JsonParser ps = {text, text, text + n, 0, NULL, 0};
    memset(root, 0, sizeof *root);
    if (parse_value(&ps, root) == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            json_fail(&ps, "trailing characters after the value");
    }
    if (ps.error) {
        json_free(root);
        memset(root, 0, sizeof *root);
        *error = ps.error;
        *where = ps.where;
        return -1;
    }
    return 0;
}

/* The member of an object named key, NULL if there is none. */
static const Json *json_get(const Json *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (obj->items[i].keylen == strlen(key) && strcmp(obj->items[i].key, key) == 0)
            return &obj->items[i];
    return NULL;
}

static int json_is_string(const Json *v, const char *s)
{
    return v && v->type == JSON_STRING && v->len == strlen(s) && strcmp(v->str, s) == 0;
}

static int json_is_int(const Json *v, double want)
{
    return v && v->type == JSON_NUMBER && v->number == want;
}

/* ------------------------------------------------------------------------- */
/* Helpers of the export tests. */

static char why[512]; /* the reason of the last failed property, for its CHECK */

static int fail(const char *fmt, ...) OS_PRINTF(1, 2);
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strcpy(why, ": ");
    vsnprintf(why + 2, sizeof why - 2, fmt, ap);
    va_end(ap);
    return 0;
}

static int pass(void)
{
    why[0] = '\0';
    return 1;
}

enum { TEST_H = 3, TEST_L = 2, TEST_V = 6, MAX_TENSORS = 64 };

/* Sorted by code point, as a vocabulary must be. */
static const uint32_t test_chars[TEST_V] = {0x01, '\n', '"', '\\', 0xe9, 0x1f600};

/* An exported tensor: its name, shape [rows, cols] (cols 0: a vector
 * [rows]) and where its element (j, k) is: params[at + j*rs + k*cs]. */
typedef struct {
    char name[32];
    int rows, cols;
    size_t at, rs, cs;
} Expected;

static void expect(Expected *e, int *n, const char *prefix, const char *name, int rows, int cols,
                   size_t at, size_t rs, size_t cs)
{
    snprintf(e[*n].name, sizeof e[*n].name, "%s%s", prefix, name);
    e[*n].rows = rows, e[*n].cols = cols;
    e[*n].at = at, e[*n].rs = rs, e[*n].cs = cs;
    (*n)++;
}

/* The tensors a model must export, mapped onto the internal layout: the
 * exported W_x<g>[j][k] is Wx[k*G*H + gi*H + j], W_h<g>[j][k] is
 * Wh[k*G*H + gi*H + j], b_<g>[j] is b[gi*H + j], w_ci/w_cf/w_co[j] is
 * peep[0/H/2H + j], W_hy[j][k] is Wy[k*V + j] and b_y[j] is by[j]. */
static int expected_tensors(const CnModel *m, Expected *e)
{
    static const char *const gates[4][4] = {[CN_RNN] = {"h"},
                                            [CN_LSTM] = {"i", "f", "o", "g"},
                                            [CN_PEEPHOLE] = {"i", "f", "o", "g"},
                                            [CN_GRU] = {"r", "u", "n"}};
    static const char *const peeps[3] = {"w_ci", "w_cf", "w_co"};
    int V = m->shape.vocab, H = m->shape.hidden, G = cn_cell_gates(m->shape.cell);
    size_t GH = (size_t)G * H, h = (size_t)H;
    int n = 0;
    for (int l = 0; l < m->shape.layers; l++) {
        const CnLayerView *w = &m->w.layer[l];
        size_t wx = (size_t)(w->Wx - m->params), wh = (size_t)(w->Wh - m->params);
        size_t b = (size_t)(w->b - m->params);
        char prefix[16], name[16];
        snprintf(prefix, sizeof prefix, "l%d.", l);
        for (int gi = 0; gi < G; gi++) {
            const char *g = gates[m->shape.cell][gi];
            snprintf(name, sizeof name, "W_x%s", g);
            expect(e, &n, prefix, name, H, l == 0 ? V : H, wx + (size_t)gi * h, 1, GH);
            snprintf(name, sizeof name, "W_h%s", g);
            expect(e, &n, prefix, name, H, H, wh + (size_t)gi * h, 1, GH);
            snprintf(name, sizeof name, "b_%s", g);
            expect(e, &n, prefix, name, H, 0, b + (size_t)gi * h, 1, 0);
        }
        if (m->shape.cell == CN_PEEPHOLE)
            for (int k = 0; k < 3; k++)
                expect(e, &n, prefix, peeps[k], H, 0,
                       (size_t)(w->peep - m->params) + (size_t)k * h, 1, 0);
    }
    expect(e, &n, "", "W_hy", V, H, (size_t)(m->w.Wy - m->params), 1, (size_t)V);
    expect(e, &n, "", "b_y", V, 0, (size_t)(m->w.by - m->params), 1, 0);
    return n;
}

/* Distinct values: (i+1)/3000 with alternating signs (most need all 9
 * digits), and a zero, a subnormal and two large values. */
static void fill_params(CnModel *m)
{
    for (size_t i = 0; i < m->nparams; i++)
        m->params[i] = (CnReal)((double)(i + 1) / 3000.0 * (i % 2 ? -1 : 1));
    m->params[0] = 0;
    m->params[5] = (CnReal)1e-40;            /* subnormal */
    m->params[m->nparams / 2] = (CnReal)-6.02214076e23;
    m->params[m->nparams - 1] = (CnReal)12345.6789;
}

/* Exports m to a temporary file and returns its content, NUL-terminated. */
static char *export_text(const CnModel *m, int *rc, size_t *n)
{
    FILE *f = tmpfile();
    char *text = NULL;
    *rc = -1;
    if (!f)
        return NULL;
    *rc = cn_export_json(f, m);
    long size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
        *n = fread(text, 1, (size_t)size, f);
        text[*n] = '\0';
    }
    fclose(f);
    return text;
}

/* ------------------------------------------------------------------------- */
/* Properties of one export; each returns 1, or 0 with the reason in why. */

static int header_ok(const Json *root, const CnModel *m)
{
    if (root->type != JSON_OBJECT)
        return fail("the top value is not an object");
    if (!json_is_string(json_get(root, "format"), "charnn"))
        return fail("\"format\" is not \"charnn\"");
    if (!json_is_int(json_get(root, "version"), 2))
        return fail("\"version\" is not 2");
    if (!json_is_string(json_get(root, "model"), cn_name_of(cn_cell_names, m->shape.cell)))
        return fail("\"model\" is not \"%s\"", cn_name_of(cn_cell_names, m->shape.cell));
    if (!json_is_int(json_get(root, "hidden"), m->shape.hidden))
        return fail("\"hidden\" is not %d", m->shape.hidden);
    if (!json_is_int(json_get(root, "layers"), m->shape.layers))
        return fail("\"layers\" is not %d", m->shape.layers);
    return pass();
}

static int vocab_ok(const Json *root, const CnModel *m)
{
    const Json *vocab = json_get(root, "vocab");
    if (!vocab || vocab->type != JSON_ARRAY)
        return fail("no \"vocab\" array");
    if (vocab->n != (size_t)m->vocab.size)
        return fail("%zu entries, not %d", vocab->n, m->vocab.size);
    for (size_t k = 0; k < vocab->n; k++) {
        const Json *s = &vocab->items[k];
        uint32_t cp = 0;
        if (s->type != JSON_STRING)
            return fail("entry %zu is not a string", k);
        if (s->len == 0 ||
            (size_t)cn_utf8_decode((const unsigned char *)s->str, s->len, &cp) != s->len ||
            cp != m->vocab.chars[k])
            return fail("entry %zu is not the one character U+%04X", k,
                        (unsigned)m->vocab.chars[k]);
    }
    return pass();
}

static int names_ok(const Json *tensors, const Expected *e, int n)
{
    for (int t = 0; t < n; t++)
        if (!json_get(tensors, e[t].name))
            return fail("\"%s\" is missing", e[t].name);
    for (size_t i = 0; i < tensors->n; i++) {
        int known = 0;
        for (int t = 0; t < n && !known; t++)
            known = strcmp(tensors->items[i].key, e[t].name) == 0;
        if (!known)
            return fail("unexpected tensor \"%s\"", tensors->items[i].key);
    }
    return pass(); /* the parser refuses duplicate names */
}

static int shapes_ok(const Json *tensors, const Expected *e, int n)
{
    for (int t = 0; t < n; t++) {
        const Json *x = json_get(tensors, e[t].name);
        const Json *shape = json_get(x, "shape"), *data = json_get(x, "data");
        size_t dims = e[t].cols ? 2 : 1;
        if (!x)
            continue; /* reported by names_ok */
        if (!shape || shape->type != JSON_ARRAY || shape->n != dims ||
            !json_is_int(&shape->items[0], e[t].rows) ||
            (e[t].cols && !json_is_int(&shape->items[1], e[t].cols))) {
            if (e[t].cols)
                return fail("\"%s\" shape is not [%d, %d]", e[t].name, e[t].rows, e[t].cols);
            return fail("\"%s\" shape is not [%d]", e[t].name, e[t].rows);
        }
        size_t count = (size_t)e[t].rows * (size_t)(e[t].cols ? e[t].cols : 1);
        if (!data || data->type != JSON_ARRAY || data->n != count)
            return fail("\"%s\" data is not an array of %zu values", e[t].name, count);
    }
    return pass();
}

static int values_ok(const Json *tensors, const Expected *e, int n, const CnModel *m)
{
    for (int t = 0; t < n; t++) {
        const Json *data = json_get(json_get(tensors, e[t].name), "data");
        int cols = e[t].cols ? e[t].cols : 1;
        if (!data || data->type != JSON_ARRAY)
            continue; /* reported by shapes_ok */
        for (size_t i = 0; i < data->n && i < (size_t)e[t].rows * (size_t)cols; i++) {
            size_t j = i / (size_t)cols, k = i % (size_t)cols;
            size_t at = e[t].at + j * e[t].rs + k * e[t].cs;
            const Json *v = &data->items[i];
            if (v->type != JSON_NUMBER)
                return fail("\"%s\" data[%zu] is not a number", e[t].name, i);
            if ((CnReal)v->number != m->params[at])
                return fail("\"%s\"[%zu][%zu] is %.9g, not params[%zu] = %.9g", e[t].name, j, k,
                            v->number, at, (double)m->params[at]);
        }
    }
    return pass();
}

/* Values in every "data" array under "tensors", expected or not. */
static size_t count_values(const Json *tensors)
{
    size_t total = 0;
    for (size_t i = 0; i < tensors->n; i++) {
        const Json *data = json_get(&tensors->items[i], "data");
        if (data && data->type == JSON_ARRAY)
            total += data->n;
    }
    return total;
}

/* ------------------------------------------------------------------------- */
/* Tests. */

/* Whether the parser accepts the n bytes at s (s[n] == '\0'). */
static int parses(const char *s, size_t n)
{
    const char *error;
    size_t where;
    Json v;
    int ok = json_parse(s, n, &v, &error, &where) == 0;
    json_free(&v);
    return ok;
}

/* A document given as a string literal, which may contain NUL bytes. */
typedef struct {
    const char *s;
    size_t n;
} Doc;
#define DOC(literal) {literal, sizeof literal - 1}

/* The test's own parser: accepts valid JSON, unescapes every escape,
 * refuses invalid JSON. */
static void test_parser(void)
{
    static const Doc good[] = {
        DOC("{\"a\": [1, -0.5e+3, 0, 1E2, 2e-1, true, false, null], \"b\": {}, \"c\": [[]]}"),
        DOC(" \t\r\n\"x\" \n"), DOC("-0"), DOC("[]"), DOC("{\"\": \"\\u0000\"}"),
    };
    static const Doc bad[] = {
        DOC(""), DOC(" "), DOC("[1,]"), DOC("{\"a\": 1,}"), DOC("[,1]"), DOC("[1 2]"),
        DOC("{\"a\" 1}"), DOC("{1: 2}"), DOC("{\"a\": 1, \"a\": 2}"), DOC("[1] x"),
        DOC("{} {}"), DOC("[1]\0"), DOC("\"a\x01\""), DOC("\"a\nb\""), DOC("\"a\0b\""),
        DOC("\"\\x\""), DOC("\"\\u12\""), DOC("\"\\ud800\""), DOC("\"\\ud800\\u0041\""),
        DOC("\"\\udc00\""), DOC("\"\xff\""), DOC("\"\xc3\""), DOC("\"abc"), DOC("\"abc\\"),
        DOC("01"), DOC("1."), DOC(".5"), DOC("-"), DOC("+1"), DOC("1e"), DOC("1e+"),
        DOC("0x10"), DOC("tru"), DOC("nul"), DOC("NaN"), DOC("["), DOC("{\"a\""),
    };
    /* "\"\\/\b\f\n\r\t é 😀 é", spelled with every kind of escape */
    static const char escaped[] =
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 \\u00E9\"";
    static const char unescaped[] = "\"\\/\b\f\n\r\t \xc3\xa9 \xf0\x9f\x98\x80 \xc3\xa9";
    const char *error = "";
    size_t where;
    Json v;
    size_t i = 0;
    while (i < sizeof good / sizeof good[0] && parses(good[i].s, good[i].n))
        i++;
    int ok = i == sizeof good / sizeof good[0];
    if (ok) {
        ok = json_parse(escaped, strlen(escaped), &v, &error, &where) == 0 &&
             v.type == JSON_STRING && v.len == strlen(unescaped) &&
             memcmp(v.str, unescaped, v.len) == 0;
        json_free(&v);
    }
    CHECK(ok, "parser accepts valid JSON and unescapes every escape%s%s",
          i < sizeof good / sizeof good[0] ? ": refused " : "",
          i < sizeof good / sizeof good[0] ? good[i].s : "");
    i = 0;
    while (i < sizeof bad / sizeof bad[0] && !parses(bad[i].s, bad[i].n))
        i++;
    CHECK(i == sizeof bad / sizeof bad[0], "parser refuses %zu invalid documents%s%s",
          sizeof bad / sizeof bad[0], i < sizeof bad / sizeof bad[0] ? ": accepted " : "",
          i < sizeof bad / sizeof bad[0] ? bad[i].s : "");
}

static void test_export_cell(CnCell cell)
{
    const char *name = cn_name_of(cn_cell_names, cell);
    CnError err;
    CnVocab vocab;
    CnModel m;
    uint32_t *chars = malloc(sizeof test_chars);
    if (chars)
        memcpy(chars, test_chars, sizeof test_chars);
    if (!chars || cn_vocab_from_chars(&vocab, chars, TEST_V, &err) != 0) {
        CHECK(0, "%s: vocabulary of awkward characters", name);
        return;
    }
    if (cn_model_init(&m, cell, TEST_H, TEST_L, &vocab, &err) != 0) {
        CHECK(0, "%s: model init: %s", name, err.msg);
        cn_vocab_release(&vocab);
        return;
    }
    fill_params(&m);

    int rc;
    size_t n = 0;
    char *text = export_text(&m, &rc, &n);
    CHECK(text && rc == 0, "%s: cn_export_json returns 0", name);
    Json root;
    const char *error = "no output";
    size_t where = 0;
    int parsed = text && json_parse(text, n, &root, &error, &where) == 0;
    if (!parsed)
        fail("%s at byte %zu of %zu", error, where, n);
    CHECK(parsed, "%s: export is one valid JSON value, nothing after it%s", name,
          parsed ? "" : why);
    if (parsed) {
        Expected e[MAX_TENSORS];
        int ne = expected_tensors(&m, e);
        const Json *tensors = json_get(&root, "tensors");
        int ok = header_ok(&root, &m);
        CHECK(ok, "%s: format, version, model, hidden, layers%s", name, why);
        ok = vocab_ok(&root, &m);
        CHECK(ok, "%s: vocab unescapes to the model's %d characters in order%s", name,
              m.vocab.size, why);
        if (!tensors || tensors->type != JSON_OBJECT) {
            CHECK(0, "%s: a \"tensors\" object", name);
        } else {
            ok = names_ok(tensors, e, ne);
            CHECK(ok, "%s: exactly the %d expected tensor names%s", name, ne, why);
            ok = shapes_ok(tensors, e, ne);
            CHECK(ok, "%s: every tensor's shape is [outputs, inputs]%s", name, why);
            ok = values_ok(tensors, e, ne, &m);
            CHECK(ok, "%s: every value equals its mapped internal parameter%s", name, why);
            size_t total = count_values(tensors);
            CHECK(total == m.nparams, "%s: %zu values exported, nparams %zu", name, total,
                  m.nparams);
        }
        json_free(&root);
    }
    free(text);
    cn_model_release(&m);
}

int main(void)
{
    test_parser();
    static const CnCell cells[] = {CN_RNN, CN_LSTM, CN_PEEPHOLE, CN_GRU};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        test_export_cell(cells[i]);
    return check_status();
}
