/* SPDX-License-Identifier: MIT */
/*
 * How charnn viz's page carries the activations: a block (one layer's one
 * quantity: H units x n characters, unit-major) is quantized to 2^bits
 * levels over [lo, hi], entropy-coded with a static rANS coder (Duda,
 * "Asymmetric numeral systems", 2013; the byte-wise form of Giesen's
 * ryg_rans) under each unit's own symbol frequencies, and written into the
 * page 7 bits per character. The page's script (src/cli/viz_page.c,
 * unpack) reverses the three steps. A 2 x 512 GRU's 5,000 characters are
 * 15 million values: a byte each would not fit in a page that opens
 * quickly, but each unit's values are far from uniform, so a few bits
 * each carry them (charnn help commands, "charnn viz").
 *
 * A block's bytes: per unit, its frequency table (the first symbol s0, the
 * number of symbols m - 1, then m frequencies as varints: 7 bits a byte,
 * high bit set on all but the last), then the rANS stream: the 32-bit
 * final state little-endian, then the renormalization bytes, in the order
 * the decoder reads them (unit 0 first, each unit's characters in order).
 */
#include "viz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SCALE = 12, TOTAL = 1 << SCALE }; /* frequencies sum to 4096 */
#define RANS_L (1u << 23)                /* the state stays in [2^23, 2^31) */

/* Value x's code among 2^bits levels over [lo, hi]. */
static int code_of(double x, double lo, double hi, int bits)
{
    int top = (1 << bits) - 1;
    long c = lrint((x - lo) / (hi - lo) * top);
    return c < 0 ? 0 : c > top ? top : (int)c;
}

/* Frequencies f[0..2^bits) summing to TOTAL from counts over n values:
 * proportional, at least 1 for a symbol that occurs; the most frequent
 * symbol absorbs the rounding. */
static void normalize(const uint32_t *count, int nsym, size_t n, uint32_t *f)
{
    int most = 0;
    long sum = 0;
    for (int s = 0; s < nsym; s++) {
        f[s] = count[s] ? (uint32_t)((uint64_t)count[s] * TOTAL / n) : 0;
        f[s] += count[s] && !f[s];
        sum += f[s];
        most = count[s] > count[most] ? s : most;
    }
    if (sum <= TOTAL) {
        f[most] += (uint32_t)(TOTAL - sum);
        return;
    }
    /* too many rare symbols raised to 1: take the excess from the largest */
    while (sum > TOTAL) {
        int big = 0;
        for (int s = 1; s < nsym; s++)
            big = f[s] > f[big] ? s : big;
        uint32_t take = f[big] - 1 < (uint32_t)(sum - TOTAL) ? f[big] - 1 : (uint32_t)(sum - TOTAL);
        f[big] -= take;
        sum -= take;
    }
}

/* v < 2^14 as one byte (v < 128) or two (the first with its high bit set). */
static size_t varint(uint32_t v, unsigned char *out)
{
    if (v < 128) {
        out[0] = (unsigned char)v;
        return 1;
    }
    out[0] = (unsigned char)(0x80 | v >> 7);
    out[1] = (unsigned char)(v & 127);
    return 2;
}

/* Unit u's codes, counts and frequencies; its table into tab (if not
 * NULL); returns the table's bytes and adds the unit's coded bits to *bits. */
static size_t unit_model(const float *v, size_t n, double lo, double hi, int bits, int *codes,
                         uint32_t *f, unsigned char *tab, double *coded)
{
    int nsym = 1 << bits, first = nsym, last = -1;
    uint32_t count[256] = {0};
    for (size_t t = 0; t < n; t++) {
        codes[t] = code_of(v[t], lo, hi, bits);
        count[codes[t]]++;
    }
    normalize(count, nsym, n, f);
    for (int s = 0; s < nsym; s++) {
        if (count[s]) {
            first = first < s ? first : s;
            last = s;
            *coded += count[s] * (SCALE - log2(f[s]));
        }
    }
    unsigned char scratch[2 + 2 * 256], *p = tab ? tab : scratch;
    size_t len = 0;
    p[len++] = (unsigned char)first;
    p[len++] = (unsigned char)(last - first);
    for (int s = first; s <= last; s++)
        len += varint(f[s], p + len);
    return len;
}

size_t viz_pack_estimate(const float *v, int units, size_t n, double lo, double hi, int bits)
{
    int *codes = malloc(n * sizeof *codes);
    if (!codes)
        return SIZE_MAX;
    uint32_t f[256];
    double coded = 0;
    size_t tables = 0;
    for (int u = 0; u < units; u++)
        tables += unit_model(v + (size_t)u * n, n, lo, hi, bits, codes, f, NULL, &coded);
    free(codes);
    return tables + 4 + (size_t)ceil(coded / 8);
}

unsigned char *viz_pack(const float *v, int units, size_t n, double lo, double hi, int bits,
                        size_t *size)
{
    /* at most 12 bits a symbol, and a table of at most 2 + 2 * 256 a unit */
    size_t cap_stream = n * (size_t)units * SCALE / 8 + 16, cap_tables = (size_t)units * 514;
    unsigned char *out = malloc(cap_tables + cap_stream), *stream = malloc(cap_stream);
    int *codes = malloc(n * (size_t)units * sizeof *codes);
    uint32_t *freq = malloc((size_t)units * 512 * sizeof *freq); /* f, then cumulative */
    if (!out || !stream || !codes || !freq) {
        free(out), free(stream), free(codes), free(freq);
        return NULL;
    }
    size_t tables = 0;
    double coded = 0;
    for (int u = 0; u < units; u++) {
        uint32_t *f = freq + (size_t)u * 512, *cum = f + 256;
        tables += unit_model(v + (size_t)u * n, n, lo, hi, bits, codes + (size_t)u * n, f,
                             out + tables, &coded);
        cum[0] = 0;
        for (int k = 1; k < 1 << bits; k++)
            cum[k] = cum[k - 1] + f[k - 1];
    }
    /* encode backwards, so that the decoder reads forwards:
     *   x -> (x / f) 2^12 + (x mod f) + c,  after shifting out bytes while
     *   x >= (2^23 >> 12 << 8) f                                          */
    unsigned char *p = stream + cap_stream;
    uint32_t x = RANS_L;
    for (size_t i = n * (size_t)units; i-- > 0;) {
        const uint32_t *f = freq + i / n * 512, *cum = f + 256;
        int s = codes[i];
        uint32_t start = cum[s];
        uint32_t x_max = ((RANS_L >> SCALE) << 8) * f[s];
        while (x >= x_max) {
            *--p = (unsigned char)(x & 0xff);
            x >>= 8;
        }
        x = ((x / f[s]) << SCALE) + (x % f[s]) + start;
    }
    for (int k = 3; k >= 0; k--)
        *--p = (unsigned char)(x >> (8 * k));
    size_t len = (size_t)(stream + cap_stream - p);
    memcpy(out + tables, p, len);
    *size = tables + len;
    free(stream);
    free(codes);
    free(freq);
    return out;
}

void viz_text7(FILE *out, const unsigned char *b, size_t n)
{
    uint32_t acc = 0;
    int held = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            acc = acc << 8 | b[i];
            held += 8;
        } else if (held > 0) {
            acc <<= 7 - held; /* the last group, padded with zeros */
            held = 7;
        }
        for (; held >= 7; held -= 7) {
            unsigned v = acc >> (held - 7) & 127;
            if (v == 0 || v == '\r' || v == '<') { /* U+0100 + v, two bytes */
                fputc(0xc4, out);
                fputc((int)(0x80 + v), out);
            } else {
                fputc((int)v, out);
            }
        }
    }
}
