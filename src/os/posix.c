/* SPDX-License-Identifier: MIT */
/*
 * os.h on POSIX systems (Linux, macOS, the BSDs).
 */
#define _POSIX_C_SOURCE 200809L
#define _DARWIN_C_SOURCE /* macOS: sysconf's _SC_PHYS_PAGES and _SC_NPROCESSORS_ONLN */
#include "os.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int os_thread_start(OsThread *t, void *(*fn)(void *), void *arg)
{
    return pthread_create(t, NULL, fn, arg);
}

void os_thread_join(OsThread *t)
{
    pthread_join(*t, NULL);
}

void os_mutex_init(OsMutex *m)
{
    pthread_mutex_init(m, NULL);
}

void os_mutex_lock(OsMutex *m)
{
    pthread_mutex_lock(m);
}

void os_mutex_unlock(OsMutex *m)
{
    pthread_mutex_unlock(m);
}

void os_mutex_destroy(OsMutex *m)
{
    pthread_mutex_destroy(m);
}

void os_cond_init(OsCond *c)
{
    pthread_cond_init(c, NULL);
}

void os_cond_wait(OsCond *c, OsMutex *m)
{
    pthread_cond_wait(c, m);
}

void os_cond_broadcast(OsCond *c)
{
    pthread_cond_broadcast(c);
}

void os_cond_destroy(OsCond *c)
{
    pthread_cond_destroy(c);
}

void os_yield(void)
{
    sched_yield();
}

double os_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int os_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

uint64_t os_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

void *os_aligned_alloc(size_t align, size_t size)
{
    void *p;
    return posix_memalign(&p, align, size ? size : 1) == 0 ? p : NULL;
}

void os_aligned_free(void *p)
{
    free(p);
}

static void id_of(const struct stat *sb, OsFileId *id)
{
    id->volume = (uint64_t)sb->st_dev;
    id->file = (uint64_t)sb->st_ino;
}

int os_file_id(const char *path, OsFileId *id)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    id_of(&sb, id);
    return 0;
}

int os_fd_id(int fd, OsFileId *id)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -1;
    id_of(&sb, id);
    return 0;
}

int64_t os_mtime_ns(const struct stat *sb)
{
#ifdef __APPLE__
    return (int64_t)sb->st_mtimespec.tv_sec * 1000000000 + sb->st_mtimespec.tv_nsec;
#else
    return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
#endif
}

const char *os_last_separator(const char *path)
{
    return strrchr(path, '/');
}

int os_terminal(int fd)
{
    return isatty(fd);
}

void os_quote(char *out, const char *s)
{
    if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=+-,@%") ==
                    strlen(s)) {
        strcpy(out, s);
        return;
    }
    *out++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(out, "'\\''", 4);
            out += 4;
        } else {
            *out++ = *s;
        }
    }
    *out++ = '\'';
    *out = '\0';
}

void os_start(void)
{
}
