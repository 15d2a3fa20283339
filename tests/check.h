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

static int check_status(void)
{
    return check_failed ? 1 : 0;
}

#endif /* CHARNN_CHECK_H */
