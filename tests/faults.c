/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the test build build/charnn-faults (see src/core/core.h):
 *     CHARNN_FAULT=point:N[+][,point:N[+]...]   fail the Nth call of a point
 *                                              (and every later one with +)
 *     CHARNN_SLOW_SAVE_MS=ms                   pause inside every save
 * Points: create, write, flush, sync, close (fail with ENOSPC, a full disk),
 * rename (EACCES, a read-only directory), evaluate (ENOMEM: the
 * validation's buffers cannot be allocated) and link (EXDEV: keeping the
 * best checkpoint falls back to a copy).
 */
#define _POSIX_C_SOURCE 200809L
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const points[] = {"create", "write", "flush", "sync", "close", "rename",
                                     "evaluate", "link"};
enum { NPOINTS = sizeof points / sizeof points[0] };

int cn_fault(const char *point)
{
    static unsigned long calls[NPOINTS];
    const char *spec = getenv("CHARNN_FAULT");
    for (int p = 0; p < NPOINTS; p++) {
        if (strcmp(point, points[p]) != 0)
            continue;
        unsigned long n = ++calls[p];
        size_t len = strlen(point);
        for (const char *s = spec; s && *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL) {
            if (strncmp(s, point, len) != 0 || s[len] != ':')
                continue;
            char *end;
            unsigned long at = strtoul(s + len + 1, &end, 10);
            if (n == at || (*end == '+' && n > at))
                return strcmp(point, "rename") == 0     ? EACCES
                       : strcmp(point, "evaluate") == 0 ? ENOMEM
                       : strcmp(point, "link") == 0     ? EXDEV
                                                        : ENOSPC;
        }
    }
    return 0;
}

void cn_fault_pause(void)
{
    const char *ms = getenv("CHARNN_SLOW_SAVE_MS");
    long v = ms ? atol(ms) : 0;
    if (v > 0) {
        struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}
