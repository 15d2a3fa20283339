/* SPDX-License-Identifier: MIT */
/*
 * Corpus text: loaded once (memory-mapped when it is a regular file, so a
 * large corpus is never copied), checked to be valid UTF-8, and indexed so
 * that the byte offset of any character is found in at most
 * CN_SEEK_STRIDE decoding steps.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes in the UTF-8 sequence that starts with lead byte c (text is valid). */
static size_t seq_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Validates and indexes text->bytes; names the first invalid byte. */
static int text_index(CnText *text, const char *name, CnError *err)
{
    const unsigned char *s = text->bytes;
    size_t n = text->nbytes;
    if (n == 0) {
        cn_errorf(err, "%s is empty; give a text file with something to learn",
                 name);
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

/* Reads all of fd into a malloc'd buffer. */
static int read_all(int fd, const char *name, unsigned char **out, size_t *len, CnError *err)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            cn_errorf(err, "%s: out of memory after %zu bytes", name, n);
            return -1;
        }
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                free(buf);
            buf = bigger;
            cap *= 2;
            continue;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            cn_errorf(err, "cannot read %s: %s", name, strerror(errno));
            free(buf);
            return -1;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *out = buf;
    *len = n;
    return 0;
}

int cn_text_load(CnText *text, const char *path, CnError *err)
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
    if (fstat(fd, &sb) != 0) {
        cn_errorf(err, "cannot stat %s: %s", name, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        cn_errorf(err, "%s is a directory; give a text file", name);
        goto fail;
    }
    if (S_ISREG(sb.st_mode) && sb.st_size > 0) {
        void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            text->owned = map;
            text->owned_len = (size_t)sb.st_size;
            text->mapped = 1;
        }
    }
    if (!text->owned) {
        unsigned char *buf;
        size_t len;
        if (read_all(fd, name, &buf, &len, err) != 0)
            goto fail;
        text->owned = buf;
        text->owned_len = len;
    }
    if (!is_stdin)
        close(fd);
    text->bytes = text->owned;
    text->nbytes = text->owned_len;
    if (text_index(text, name, err) != 0) {
        cn_text_free(text);
        return -1;
    }
    return 0;
fail:
    if (!is_stdin)
        close(fd);
    return -1;
}

int cn_text_load_files(CnText *text, const char *const *paths, int n, CnError *err)
{
    if (n == 1)
        return cn_text_load(text, paths[0], err);
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
        if (cn_text_load(&one, paths[i], err) != 0) {
            free(all);
            return -1;
        }
        unsigned char *bigger = realloc(all, len + one.nbytes);
        if (!bigger) {
            cn_text_free(&one);
            free(all);
            cn_errorf(err, "out of memory joining %d files (%zu bytes)", n, len + one.nbytes);
            return -1;
        }
        all = bigger;
        memcpy(all + len, one.bytes, one.nbytes);
        len += one.nbytes;
        cn_text_free(&one);
    }
    text->owned = all;
    text->owned_len = len;
    text->bytes = all;
    text->nbytes = len;
    if (text_index(text, "the joined files", err) != 0) {
        cn_text_free(text);
        return -1;
    }
    return 0;
}

int cn_text_from_memory(CnText *text, const void *data, size_t n, const char *name,
                        CnError *err)
{
    memset(text, 0, sizeof *text);
    text->bytes = data;
    text->nbytes = n;
    if (text_index(text, name, err) != 0) {
        cn_text_free(text);
        return -1;
    }
    return 0;
}

void cn_text_free(CnText *text)
{
    if (text->mapped)
        munmap(text->owned, text->owned_len);
    else
        free(text->owned);
    free(text->seek_index);
    memset(text, 0, sizeof *text);
}

size_t cn_text_seek(const CnText *text, size_t char_index)
{
    size_t at = text->seek_index[char_index / CN_SEEK_STRIDE];
    for (size_t k = char_index % CN_SEEK_STRIDE; k > 0; k--)
        at += seq_len(text->bytes[at]);
    return at;
}
