/* SPDX-License-Identifier: MIT */
/*
 * A directory for a test's files, and its removal; for tests that define
 * _POSIX_C_SOURCE 200809L (mkdtemp) before any header.
 */
#ifndef CHARNN_TEMPDIR_H
#define CHARNN_TEMPDIR_H

#include "os.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif /* CHARNN_TEMPDIR_H */
