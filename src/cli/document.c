/* SPDX-License-Identifier: MIT */
/*
 * Documents a command writes for people to look at: plot's SVG picture,
 * viz's HTML page. Written as every charnn file is: into a temporary file
 * beside the target, flushed to disk, then renamed over it, so a failure
 * (a full disk) leaves the old document; a device (/dev/stdout) is written
 * directly. Never over one of the command's inputs, a directory, or a
 * file that is not a document of the same kind.
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

void cli_put_markup(FILE *out, const char *s)
{
    for (; *s; s++) {
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

int cli_check_document(const char *output, const char *const *inputs, int ninputs,
                       const Document *doc)
{
    struct stat sb;
    for (int i = 0; i < ninputs; i++) {
        if (cli_same_file(output, inputs[i])) {
            cli_error("-o %s is %s, an input; give another -o, e.g. %s", output, inputs[i],
                      doc->example);
            return EXIT_USAGE;
        }
    }
    if (stat(output, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        if (stat(output, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            cli_error("-o %s is a directory; give a file name, e.g. %s/%s", output, output,
                      doc->example);
            return EXIT_USAGE;
        }
        return 0;
    }
    char head[4096] = "";
    FILE *f = fopen(output, "r");
    size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[n] = '\0';
    if (!doc->is_kind(head)) {
        cli_error("%s exists and is not %s; %s: give another -o", output, doc->kind,
                  doc->replaces);
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
