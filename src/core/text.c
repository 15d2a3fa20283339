/* SPDX-License-Identifier: MIT */
/*
 * Corpus text: read once into memory of its own, checked to be valid UTF-8,
 * and indexed so that the byte offset of any character is found in at most
 * CN_SEEK_STRIDE decoding steps.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE */
#include "core.h"
#include "os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Validates and indexes text->bytes; names the first invalid byte. */
static int text_index(CnText *text, const char *name, CnError *err)
{
    const unsigned char *s = text->bytes;
    size_t n = text->nbytes;
    if (n == 0) {
        cn_errorf(err, "%s is empty; give a file with text in it", name);
        return -1;
    }
    text->seek_index = malloc((n / CN_SEEK_STRIDE + 2) * sizeof *text->seek_index);
    if (!text->seek_index) {
        cn_errorf(err, "%s: out of memory indexing %zu bytes", name, n);
        return -1;
    }
    size_t chars = 0, i = 0;
    while (i < n) {
        if (chars % CN_SEEK_STRIDE == 0)
            text->seek_index[chars / CN_SEEK_STRIDE] = i;
        uint32_t cp;
        int len = s[i] < 0x80 ? 1 : cn_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            cn_errorf(err, "%s is not valid UTF-8 at byte %zu (0x%02x); convert it first, "
                     "e.g. iconv -f latin1 -t utf-8", name, i, s[i]);
            return -1;
        }
        i += (size_t)len;
        chars++;
    }
    if (chars % CN_SEEK_STRIDE == 0)
        text->seek_index[chars / CN_SEEK_STRIDE] = n;
    text->nchars = chars;
    return 0;
}

/* The most a corpus may take: half of the machine's memory (training needs
 * the rest), or no limit where the size of memory is unknown. */
static size_t text_limit(void)
{
    uint64_t mem = cn_physical_memory();
    return mem && mem / 2 < SIZE_MAX ? (size_t)(mem / 2) : SIZE_MAX;
}

/* Reads all of fd into a buffer of its own and refuses to go past `limit`.
 * A regular file's `expect`ed size is read into anonymous memory populated
 * in one call where the system offers it (on Linux five times faster than a
 * page fault per 4 KiB: 0.6 s instead of 3.9 s for 1 GB); streams grow a
 * malloc'd buffer. The text owns what it is given. */
static int read_all(CnText *text, int fd, const char *name, size_t expect, size_t limit,
                    CnError *err)
{
    size_t cap = expect ? expect + 1 : 1 << 16, n = 0;
    unsigned char *buf = NULL;
#ifdef MAP_POPULATE
    if (expect) {
        void *m = mmap(NULL, cap, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (m != MAP_FAILED) {
            buf = m;
            text->mapped = 1;
        }
    }
#endif
    if (!buf)
        buf = malloc(cap);
    for (;;) {
        if (!buf) {
            cn_errorf(err, "%s: out of memory after %zu bytes", name, n);
            return -1;
        }
        if (n == cap) {
            if (cap >= limit || text->mapped) { /* a file that grew: the size read */
                if (text->mapped)
                    break;
                free(buf);
                cn_errorf(err, "%s goes on past %zu MiB, half of this machine's memory, and "
                          "charnn keeps the corpus in memory; give a file of at most that size",
                          name, limit >> 20);
                return -1;
            }
            size_t bigger_cap = cap > limit / 2 ? limit : cap * 2;
            unsigned char *bigger = realloc(buf, bigger_cap);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap = bigger_cap;
            continue;
        }
        /* at most 1 GiB a call: Windows' read takes an int */
        size_t want = cap - n < (1u << 30) ? cap - n : 1u << 30;
        ssize_t got = read(fd, buf + n, want);
        if (got <= 0) { /* EINTR too: a signal handler of the caller's ran */
            text->owned = buf;
            text->owned_len = cap;
            if (got == 0)
                break;
            cn_errorf(err, "cannot read %s: %s", name, strerror(errno));
            cn_text_release(text);
            return -1;
        }
        n += (size_t)got;
    }
    text->owned = buf;
    text->owned_len = cap;
    text->bytes = buf;
    text->nbytes = n;
    return 0;
}

/* The corpus is read into memory of its own, never mapped: the run trains
 * on exactly the text it checked, whatever happens to the file meanwhile
 * (a mapped file that is changed would change under the run, and one that
 * is truncated would fault). */
static int load_one(CnText *text, const char *path, CnError *err)
{
    memset(text, 0, sizeof *text);
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY);
    if (fd < 0) {
        cn_errorf(err, "cannot open %s: %s%s", path, strerror(errno),
                 errno == ENOENT ? "; check the path" : "");
        return -1;
    }
    struct stat sb;
    size_t limit = text_limit(), expect = 0;
    if (fstat(fd, &sb) != 0) {
        cn_errorf(err, "cannot stat %s: %s", name, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        cn_errorf(err, "%s is a directory; give a text file", name);
        goto fail;
    }
    if ((S_ISCHR(sb.st_mode) && !isatty(fd)) || S_ISBLK(sb.st_mode)) { /* /dev/zero */
        cn_errorf(err, "%s is a device, not a text file; give a text file", name);
        goto fail;
    }
    if (S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size > limit) {
            cn_errorf(err, "%s is %llu MiB, more than half of this machine's memory, and charnn "
                      "keeps the corpus in memory; train on a part of it (e.g. head -c %zuM)",
                      name, (unsigned long long)sb.st_size >> 20, limit >> 21);
            goto fail;
        }
        expect = (size_t)sb.st_size;
    }
    if (read_all(text, fd, name, expect, limit, err) != 0)
        goto fail;
    if (!is_stdin)
        close(fd);
    if (text_index(text, name, err) != 0) {
        cn_text_release(text);
        return -1;
    }
    return 0;
fail:
    if (!is_stdin)
        close(fd);
    return -1;
}

int cn_text_read(CnText *text, const char *const *paths, int n, CnError *err)
{
    if (n == 1)
        return load_one(text, paths[0], err);
    memset(text, 0, sizeof *text);
    int stdin_seen = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(paths[i], "-") == 0 && stdin_seen++) {
            cn_errorf(err, "standard input (-) is given twice; give it once");
            return -1;
        }
    }
    unsigned char *all = NULL;
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        CnText one; /* each file checked on its own, so errors name it */
        if (load_one(&one, paths[i], err) != 0) {
            free(all);
            return -1;
        }
        unsigned char *bigger = realloc(all, len + one.nbytes);
        if (!bigger) {
            cn_text_release(&one);
            free(all);
            cn_errorf(err, "out of memory joining %d files (%zu bytes)", n, len + one.nbytes);
            return -1;
        }
        all = bigger;
        memcpy(all + len, one.bytes, one.nbytes);
        len += one.nbytes;
        cn_text_release(&one);
    }
    text->owned = all;
    text->bytes = all;
    text->nbytes = len;
    if (text_index(text, "the joined files", err) != 0) {
        cn_text_release(text);
        return -1;
    }
    return 0;
}

int cn_text_wrap(CnText *text, const void *data, size_t n, const char *name, CnError *err)
{
    memset(text, 0, sizeof *text);
    text->bytes = data;
    text->nbytes = n;
    if (text_index(text, name, err) != 0) {
        cn_text_release(text);
        return -1;
    }
    return 0;
}

void cn_text_release(CnText *text)
{
#ifdef MAP_POPULATE
    if (text->mapped)
        munmap(text->owned, text->owned_len);
    else
#endif
        free(text->owned);
    free(text->seek_index);
    memset(text, 0, sizeof *text);
}

CnText *cn_text_load(const char *const *paths, int n, CnError *err)
{
    CnText *text = malloc(sizeof *text);
    if (!text)
        cn_errorf(err, "out of memory");
    else if (cn_text_read(text, paths, n, err) != 0)
        free(text), text = NULL;
    return text;
}

CnText *cn_text_from_memory(const void *data, size_t n, const char *name, CnError *err)
{
    CnText *text = malloc(sizeof *text);
    void *copy = malloc(n ? n : 1);
    if (!text || !copy) {
        free(text);
        free(copy);
        cn_errorf(err, "out of memory for %zu bytes of %s", n, name);
        return NULL;
    }
    memcpy(copy, data, n);
    if (cn_text_wrap(text, copy, n, name, err) != 0) {
        free(copy);
        free(text);
        return NULL;
    }
    text->owned = copy;
    return text;
}

size_t cn_text_chars(const CnText *text)
{
    return text->nchars;
}

const char *cn_text_bytes(const CnText *text, size_t *n)
{
    *n = text->nbytes;
    return (const char *)text->bytes;
}

void cn_text_free(CnText *text)
{
    if (text)
        cn_text_release(text);
    free(text);
}

size_t cn_text_seek(const CnText *text, size_t char_index)
{
    size_t at = text->seek_index[char_index / CN_SEEK_STRIDE];
    for (size_t k = char_index % CN_SEEK_STRIDE; k > 0; k--)
        at += cn_utf8_len(text->bytes[at]);
    return at;
}

int cn_fetch_chunk(const CnVocab *vocab, const CnText *text, size_t *cursor, int B, int n,
                   int *ids, int *targets)
{
    for (int b = 0; b < B; b++) {
        size_t at = cursor[b];
        int id = cn_text_next_id(vocab, text, &at);
        for (int t = 0; t < n; t++) {
            if (t == n - 1)
                cursor[b] = at;
            ids[t * B + b] = id;
            id = cn_text_next_id(vocab, text, &at);
            targets[t * B + b] = id;
            if (ids[t * B + b] < 0 || id < 0)
                return -1;
        }
    }
    return 0;
}

int cn_text_ids(const CnVocab *vocab, const char *utf8, size_t n, const char *name, int *ids,
                CnError *err)
{
    CnText text;
    if (cn_text_wrap(&text, utf8, n, name, err) != 0)
        return -1;
    int rc = cn_vocab_covers(vocab, &text, name, err), count = 0;
    for (size_t at = 0; rc == 0 && at < n;)
        ids[count++] = cn_text_next_id(vocab, &text, &at);
    cn_text_release(&text);
    return rc == 0 ? count : -1;
}
