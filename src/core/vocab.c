/* SPDX-License-Identifier: MIT */
/*
 * Vocabulary: the distinct code points of a corpus in increasing order; a
 * character's one-hot position is its rank. Code points below 256 are looked
 * up in a table, the rest by binary search.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

enum { CN_MAX_CODEPOINT = 0x10ffff };

void cn_describe_char(uint32_t cp, char out[32])
{
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
        snprintf(out, 32, "U+%04X", (unsigned)cp);
        return;
    }
    char utf8[5] = {0};
    cn_utf8_encode(cp, utf8);
    snprintf(out, 32, "'%s' (U+%04X)", utf8, (unsigned)cp);
}

int cn_vocab_from_chars(CnVocab *vocab, uint32_t *chars, int size, CnError *err)
{
    memset(vocab, 0, sizeof *vocab);
    if (size < 1) {
        cn_errorf(err, "vocabulary is empty");
        free(chars);
        return -1;
    }
    for (int k = 0; k < size; k++) {
        uint32_t cp = chars[k];
        if (cp > CN_MAX_CODEPOINT || (cp >= 0xd800 && cp <= 0xdfff) ||
            (k > 0 && cp <= chars[k - 1])) {
            cn_errorf(err, "vocabulary entry %d (0x%x) is not a code point in increasing order", k,
                     (unsigned)cp);
            free(chars);
            return -1;
        }
    }
    vocab->size = size;
    vocab->chars = chars;
    for (int c = 0; c < 256; c++)
        vocab->small[c] = -1;
    for (int k = 0; k < size && chars[k] < 256; k++)
        vocab->small[chars[k]] = k;
    return 0;
}

int cn_vocab_build(CnVocab *vocab, const CnText *text, CnError *err)
{
    /* one bit per code point, in 64-bit words: 136 KiB */
    enum { WORDS = (CN_MAX_CODEPOINT + 64) / 64 };
    uint64_t *seen = calloc(WORDS, sizeof *seen);
    if (!seen) {
        cn_errorf(err, "out of memory building the vocabulary");
        return -1;
    }
    const unsigned char *s = text->bytes;
    size_t i = 0;
    while (i < text->nbytes) {
        uint32_t cp = s[i];
        if (cp < 0x80)
            i++;
        else
            i += (size_t)cn_utf8_decode(s + i, text->nbytes - i, &cp);
        seen[cp >> 6] |= 1ull << (cp & 63);
    }
    int size = 0;
    for (int w = 0; w < WORDS; w++)
        size += __builtin_popcountll(seen[w]);
    uint32_t *chars = malloc((size_t)size * sizeof *chars);
    if (!chars) {
        free(seen);
        cn_errorf(err, "out of memory building the vocabulary");
        return -1;
    }
    int k = 0;
    for (int w = 0; w < WORDS; w++)
        for (uint64_t bits = seen[w]; bits; bits &= bits - 1)
            chars[k++] = (uint32_t)(64 * w + __builtin_ctzll(bits));
    free(seen);
    return cn_vocab_from_chars(vocab, chars, size, err);
}

int cn_vocab_index(const CnVocab *vocab, uint32_t cp)
{
    if (cp < 256)
        return vocab->small[cp];
    int lo = 0, hi = vocab->size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (vocab->chars[mid] == cp)
            return mid;
        if (vocab->chars[mid] < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

int cn_vocab_union(CnVocab *out, const CnVocab *a, const CnVocab *b, CnError *err)
{
    uint32_t *chars = malloc(((size_t)a->size + (size_t)b->size) * sizeof *chars);
    if (!chars) {
        memset(out, 0, sizeof *out);
        cn_errorf(err, "out of memory building the vocabulary");
        return -1;
    }
    int i = 0, j = 0, n = 0;
    while (i < a->size || j < b->size) { /* a merge; UINT32_MAX is past every code point */
        uint32_t x = i < a->size ? a->chars[i] : UINT32_MAX;
        uint32_t y = j < b->size ? b->chars[j] : UINT32_MAX;
        chars[n++] = x < y ? x : y;
        i += x <= y;
        j += y <= x;
    }
    return cn_vocab_from_chars(out, chars, n, err);
}

int cn_vocab_missing(const CnVocab *vocab, const CnText *text, size_t *at, uint32_t *cp)
{
    for (size_t next = 0; next < text->nbytes;) {
        *at = next;
        if (cn_text_next_id(vocab, text, &next) < 0) {
            cn_utf8_decode(text->bytes + *at, text->nbytes - *at, cp);
            return 1;
        }
    }
    return 0;
}

int cn_vocab_covers(const CnVocab *vocab, const CnText *text, const char *name, CnError *err)
{
    size_t at;
    uint32_t cp;
    if (!cn_vocab_missing(vocab, text, &at, &cp))
        return 0;
    char what[32];
    cn_describe_char(cp, what);
    cn_errorf(err, "%s: character %s at byte %zu is not in the model's vocabulary of %d "
             "characters; remove it or train a new model", name, what, at, vocab->size);
    return -1;
}

void cn_vocab_release(CnVocab *vocab)
{
    free(vocab->chars);
    memset(vocab, 0, sizeof *vocab);
}
