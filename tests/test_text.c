/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 decoding, corpus loading and the vocabulary: mixed-script text
 * (Latin, Persian, CJK, emoji) round-trips through character indices;
 * malformed UTF-8 is refused with the offending byte offset; seeking finds
 * the byte offset of any character.
 */
#include "check.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>

static void test_decode(void)
{
    struct {
        const char *bytes;
        int len;
        uint32_t cp;
        const char *what;
    } good[] = {
        {"A", 1, 0x41, "ASCII"},
        {"\xc3\xa9", 2, 0xe9, "e acute (2 bytes)"},
        {"\xd8\xb3", 2, 0x633, "Persian seen (2 bytes)"},
        {"\xe4\xbd\xa0", 3, 0x4f60, "CJK ni (3 bytes)"},
        {"\xf0\x9f\x98\x80", 4, 0x1f600, "emoji (4 bytes)"},
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff, "U+10FFFF, the last code point"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint32_t cp = 0;
        int len = cn_utf8_decode((const unsigned char *)good[i].bytes, strlen(good[i].bytes),
                                 &cp);
        char enc[4];
        int elen = cn_utf8_encode(good[i].cp, enc);
        CHECK(len == good[i].len && cp == good[i].cp && elen == len &&
                  memcmp(enc, good[i].bytes, (size_t)len) == 0,
              "decode and encode %s", good[i].what);
    }
    const char *bad[] = {
        "\x80",             /* lone continuation byte */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xed\xa0\x80",     /* UTF-16 surrogate U+D800 */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xe4\xbd",         /* truncated */
        "\xff",             /* never valid */
        "\xc3\x41",         /* lead byte without continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp;
        CHECK(cn_utf8_decode((const unsigned char *)bad[i], strlen(bad[i]), &cp) == 0,
              "malformed sequence %zu is refused", i);
    }
}

static const char mixed[] = "Hello, World! \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 "      /* salam */
                            "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c " /* ni hao shi jie */
                            "\xf0\x9f\x98\x80\xf0\x9f\x8e\x89\n";               /* emoji */

static void test_vocab_round_trip(void)
{
    CnText text;
    CnVocab vocab;
    CnError err;
    CHECK(cn_text_wrap(&text, mixed, strlen(mixed), "mixed", &err) == 0,
          "mixed-script text is valid UTF-8");
    /* "Hello, World! " 14, Persian 4, space, CJK 4, space, emoji 2, newline: 27 */
    CHECK(text.nchars == 27, "mixed text has 27 characters (got %zu)", text.nchars);
    CHECK(cn_vocab_build(&vocab, &text, &err) == 0, "vocabulary builds");
    int increasing = 1;
    for (int k = 1; k < vocab.size; k++)
        increasing &= vocab.chars[k] > vocab.chars[k - 1];
    CHECK(increasing && vocab.chars[0] == '\n' && vocab.chars[vocab.size - 1] == 0x1f600,
          "vocabulary sorted by code point, newline first, the last emoji last");
    /* distinct: H e l o , space W r d ! \n (11) + 4 Persian + 4 CJK + 2 emoji = 21 */
    CHECK(vocab.size == 21, "21 distinct characters (got %d)", vocab.size);

    /* text -> indices -> text */
    char out[sizeof mixed];
    size_t at = 0, len = 0;
    int ok = 1;
    while (at < text.nbytes) {
        int id = cn_text_next_id(&vocab, &text, &at);
        ok &= id >= 0 && id < vocab.size;
        if (!ok)
            break;
        len += (size_t)cn_utf8_encode(vocab.chars[id], out + len);
    }
    CHECK(ok && len == strlen(mixed) && memcmp(out, mixed, len) == 0,
          "every character maps to an index and back to the same bytes");
    CHECK(cn_vocab_index(&vocab, 0x4f60) >= 0 && cn_vocab_index(&vocab, 'z') == -1 &&
              cn_vocab_index(&vocab, 0x1f601) == -1,
          "lookups: present CJK found, absent ASCII and emoji not");
    CHECK(cn_vocab_covers(&vocab, &text, "mixed", &err) == 0, "the vocabulary covers its text");

    CnText other;
    const char *zed = "Hello z";
    cn_text_wrap(&other, zed, strlen(zed), "other.txt", &err);
    CHECK(cn_vocab_covers(&vocab, &other, "other.txt", &err) != 0 &&
              strstr(err.msg, "'z'") && strstr(err.msg, "byte 6"),
          "a character outside the vocabulary is named with its offset: %s", err.msg);
    cn_text_release(&other);

    /* seeking: byte offset of character k */
    /* ASCII 0..13, Persian (2 bytes) from 14, CJK (3 bytes) from 23, emoji (4) from 36 */
    size_t chars[] = {0, 13, 14, 15, 18, 19, 20, 23, 24, 25, 26, 27};
    size_t expect[] = {0, 13, 14, 16, 22, 23, 26, 35, 36, 40, 44, 45};
    int seek_ok = 1;
    for (size_t i = 0; i < sizeof chars / sizeof chars[0]; i++)
        seek_ok &= cn_text_seek(&text, chars[i]) == expect[i];
    CHECK(seek_ok, "seek finds the byte offsets of multi-byte characters");
    cn_vocab_release(&vocab);
    cn_text_release(&text);
}

static void test_invalid_corpus(void)
{
    CnText text;
    CnError err;
    const char bad[] = "abc\xc3(def";
    CHECK(cn_text_wrap(&text, bad, strlen(bad), "bad.txt", &err) != 0 &&
              strstr(err.msg, "bad.txt") && strstr(err.msg, "byte 3"),
          "invalid UTF-8 is refused with its byte offset: %s", err.msg);
    CHECK(cn_text_wrap(&text, "", 0, "empty.txt", &err) != 0 &&
              strstr(err.msg, "empty"),
          "an empty corpus is refused: %s", err.msg);
}

/* Seeking across many index strides of a long multi-byte text. */
static void test_long_seek(void)
{
    size_t n = 5000;
    char *buf = malloc(n * 4);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)cn_utf8_encode(i % 3 == 0 ? 'a' : i % 3 == 1 ? 0x633 : 0x1f600,
                                      buf + len);
    CnText text;
    CnError err;
    cn_text_wrap(&text, buf, len, "long", &err);
    int ok = text.nchars == n;
    size_t at = 0;
    for (size_t i = 0; i <= n && ok; i++) {
        ok &= cn_text_seek(&text, i) == at;
        if (i < n)
            at += cn_utf8_len((unsigned char)buf[at]);
    }
    CHECK(ok, "seek agrees with a sequential walk at every one of %zu characters", n);
    cn_text_release(&text);
    free(buf);
}

int main(void)
{
    test_decode();
    test_vocab_round_trip();
    test_invalid_corpus();
    test_long_seek();
    return check_status();
}
