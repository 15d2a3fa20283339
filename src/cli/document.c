/* SPDX-License-Identifier: MIT */
/*
 * Documents a command writes for people to look at: plot's SVG picture,
 * viz's HTML page. Written as every charnn file is: into a temporary file
 * beside the target, flushed to disk, then renamed over it, so a failure
 * (a full disk) leaves the old document; a device (/dev/stdout) is written
 * directly, and "-" is standard output. Each document carries its
 * writer's mark; an existing one is replaced only if it carries it (or,
 * with --force, if it is at least a document of the same kind), never if
 * it is one of the command's inputs, a directory, or another kind of file.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_root_element(const char *p, const char *name)
{
    if (strncmp(p, "\xef\xbb\xbf", 3) == 0) /* a byte-order mark */
        p += 3;
    for (;;) {
        p += strspn(p, " \t\r\n");
        const char *end = strncmp(p, "<?xml", 5) == 0 ? strstr(p, "?>")
                          : strncmp(p, "<!--", 4) == 0 ? strstr(p, "-->")
                          : strncasecmp(p, "<!DOCTYPE", 9) == 0 ? strchr(p, '>')
                                                                 : NULL;
        if (!end)
            break;
        p = end + (end[0] == '-' ? 3 : end[0] == '?' ? 2 : 1);
    }
    size_t n = strlen(name);
    return p[0] == '<' && strncasecmp(p + 1, name, n) == 0 &&
           (p[n + 1] == ' ' || p[n + 1] == '>' || p[n + 1] == '\n' || p[n + 1] == '\t' ||
            p[n + 1] == '\r');
}

/* The name under which the page shows a character that is invisible or
 * that formats others instead of showing: the bidirectional controls
 * (embeddings, overrides, isolates, marks), zero-width and joining
 * characters, the soft hyphen, line and paragraph separators, C1
 * controls, fillers, variation selectors, tags and the rest of Unicode's
 * default-ignorable and format characters. NULL for a character that
 * shows itself; "U+XXXX" in buf for one without a short name. */
const char *cli_invisible_name(uint32_t c, char buf[12])
{
    static const struct {
        uint32_t cp;
        const char *name;
    } named[] = {
        {0xad, "SHY"},    {0x34f, "CGJ"},   {0x61c, "ALM"},   {0x180e, "MVS"},
        {0x200b, "ZWSP"}, {0x200c, "ZWNJ"}, {0x200d, "ZWJ"},  {0x200e, "LRM"},
        {0x200f, "RLM"},  {0x2028, "LSEP"}, {0x2029, "PSEP"}, {0x202a, "LRE"},
        {0x202b, "RLE"},  {0x202c, "PDF"},  {0x202d, "LRO"},  {0x202e, "RLO"},
        {0x2060, "WJ"},   {0x2066, "LRI"},  {0x2067, "RLI"},  {0x2068, "FSI"},
        {0x2069, "PDI"},  {0xfeff, "ZWNBSP"},
    };
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
        if (named[k].cp == c)
            return named[k].name;
    if ((c >= 0x80 && c <= 0x9f) || c == 0x115f || c == 0x1160 || c == 0x17b4 ||
        c == 0x17b5 || (c >= 0x180b && c <= 0x180f) || (c >= 0x2061 && c <= 0x206f) ||
        c == 0x3164 || (c >= 0xfe00 && c <= 0xfe0f) || c == 0xffa0 ||
        (c >= 0xfff0 && c <= 0xfffb) || (c >= 0x1bca0 && c <= 0x1bca3) ||
        (c >= 0x1d173 && c <= 0x1d17a) || (c >= 0xe0000 && c <= 0xe0fff)) {
        snprintf(buf, 12, "U+%04X", (unsigned)c);
        return buf;
    }
    return NULL;
}

void cli_put_markup(FILE *out, const char *s)
{
    for (; *s; s++) {
        uint32_t cp;
        char buf[12];
        const char *name;
        int len = (unsigned char)*s < 0x80 ? 1
                  : cn_utf8_decode((const unsigned char *)s, strlen(s), &cp);
        if (len > 1 && (name = cli_invisible_name(cp, buf)) != NULL) {
            fprintf(out, "[%s]", name); /* shown, not obeyed */
            s += len - 1;
            continue;
        }
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, out);
        }
    }
}

int cli_is_device(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
}

char *cli_document_name(const char *input, const char *ext, const char *alt)
{
    const char *in = strcmp(input, "-") == 0 ? "stdin" : input;
    const char *dot = strrchr(in, '.'), *slash = strrchr(in, '/');
    size_t stem = dot && dot != in && (!slash || dot > slash + 1) ? (size_t)(dot - in)
                                                                  : strlen(in);
    size_t len = stem + strlen(alt) + 1;
    char *name = malloc(len);
    if (!name)
        return NULL;
    snprintf(name, len, "%.*s%s", (int)stem, in, ext);
    if (strcmp(name, input) == 0 || cli_same_file(name, input))
        snprintf(name, len, "%.*s%s", (int)stem, in, alt);
    return name;
}

int cli_check_document(const char *output, int given, const char *const *inputs, int ninputs,
                       const Document *doc, int force, const char *suggest)
{
    struct stat sb;
    if (strcmp(output, "-") == 0)
        return 0; /* standard output */
    for (int i = 0; i < ninputs; i++) {
        if (strcmp(inputs[i], "-") != 0 && cli_same_file(output, inputs[i])) {
            cli_error("-o %s is %s, an input; give another -o, e.g. -o %s", output, inputs[i],
                      suggest);
            return EXIT_USAGE;
        }
    }
    if (stat(output, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        if (stat(output, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            cli_error("-o %s is a directory; give a file name, e.g. -o %s/%s", output, output,
                      doc->example);
            return EXIT_USAGE;
        }
        return 0; /* nothing there, nothing in it, or a device */
    }
    char head[4096] = "";
    FILE *f = fopen(output, "r");
    size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[n] = '\0';
    const char *name = given ? "" : " (the default name)";
    const char *fix = given ? "give another -o" : "give -o with another name";
    if (!doc->is_kind(head)) {
        cli_error("%s%s exists and is not %s; %s: %s", output, name, doc->kind, doc->replaces,
                  fix);
        return EXIT_USAGE;
    }
    if (!force && !strstr(head, doc->mark) && !(doc->legacy && doc->legacy(head))) {
        cli_error("%s%s exists and is %s that %s did not write; %s, or --force to replace it",
                  output, name, doc->kind, doc->writer, fix);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_write_document(const char *output, int (*write)(FILE *out, const void *ctx),
                       const void *ctx)
{
    struct stat sb;
    char target[PATH_MAX], tmp[PATH_MAX + 32];
    const char *path = output;
    if (strcmp(output, "-") == 0) {
        errno = 0;
        if (write(stdout, ctx) != 0 || fflush(stdout) != 0) {
            cli_error("cannot write to standard output: %s", strerror(errno ? errno : EIO));
            return EXIT_ERROR;
        }
        return EXIT_OK;
    }
    if (lstat(output, &sb) == 0 && S_ISLNK(sb.st_mode) && realpath(output, target))
        path = target;
    int direct = cli_is_device(path);
    if (!direct && cn_temp_path(path, tmp, sizeof tmp) != 0) {
        cli_error("cannot write %s: the name is too long", output);
        return EXIT_ERROR;
    }
    FILE *out = fopen(direct ? path : tmp, "w");
    if (!out) {
        cli_error("cannot write %s: %s", output, strerror(errno));
        return EXIT_ERROR;
    }
    errno = 0;
    int failed = write(out, ctx) != 0;
    failed |= fflush(out) != 0 || (!direct && fsync(fileno(out)) != 0);
    int e = errno;
    failed |= fclose(out) != 0;
    if (!failed && !direct && rename(tmp, path) != 0)
        failed = 1, e = errno;
    if (failed) {
        if (!direct)
            unlink(tmp);
        cli_error("cannot write %s: %s%s", output, strerror(e ? e : EIO),
                  direct ? "" : "; the previous file, if any, is untouched");
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
