/* SPDX-License-Identifier: MIT */
/*
 * Tiny test harness. CHECK prints "ok - <what>" or "not ok - <what>" (with
 * the file and line); tests/run.sh counts those lines. A test program
 * returns check_status(): non-zero if any check failed.
 */
#ifndef CHARNN_CHECK_H
#define CHARNN_CHECK_H

#include "os.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed;

static void check_report(int ok, const char *file, int line, const char *fmt, ...)
    OS_PRINTF(4, 5);
static void check_report(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("%s - ", ok ? "ok" : "not ok");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (!ok) {
        printf("  [%s:%d]", file, line);
        check_failed++;
    }
    putchar('\n');
    fflush(stdout);
}

#define CHECK(cond, ...) check_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* A new directory for a test's files, in dir[n]: charnn-test-NAME-XXXXXX
 * under $TMPDIR, else %TEMP% (Windows), else /tmp. NULL after saying why. */
static inline char *check_temp_dir(char *dir, size_t n, const char *name)
{
    const char *base = getenv("TMPDIR");
    base = base && base[0] ? base : getenv("TEMP");
    base = base && base[0] ? base : "/tmp";
    if (snprintf(dir, n, "%s/charnn-test-%s-XXXXXX", base, name) >= (int)n || !mkdtemp(dir)) {
        printf("not ok - cannot make a directory for the test's files under %s\n", base);
        return NULL;
    }
    return dir;
}

/* Removes a directory of check_temp_dir and the files in it; 0 or -1. */
static inline int check_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char path[1024];
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    closedir(d);
    return rmdir(dir);
}

static int check_status(void)
{
    return check_failed ? 1 : 0;
}

#endif /* CHARNN_CHECK_H */
