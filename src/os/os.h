/* SPDX-License-Identifier: MIT */
/*
 * The operating system, as every layer of charnn sees it. charnn is written
 * against POSIX; this header brings in the POSIX headers it uses and adds
 * the few calls POSIX spells differently from system to system (threads,
 * the clock, file identity, aligned memory, the terminal). On Windows
 * (MinGW-w64) it also stands in for the POSIX calls Windows' C runtime
 * lacks or does another way, each done the Windows way in
 * src/os/windows.c:
 *   open       every file opened binary and shared for deletion and rename,
 *              as POSIX opens are
 *   rename     replaces the target (MoveFileEx, written through to disk)
 *   fsync      FlushFileBuffers
 *   flock      LockFileEx on a byte far past the end, so the pid written
 *              in a lock file stays readable to the run that is refused
 *   pread      ReadFile at an offset
 *   realpath   the absolute path of a file that exists (no symbolic links)
 *   sigaction  Ctrl-C and Ctrl-Break as SIGINT, a closed console window as
 *              SIGHUP, log-off and shut-down as SIGTERM
 * File names and arguments are UTF-8 on Windows too: charnn.exe's manifest
 * (src/os/charnn.manifest) sets the process's code page to UTF-8.
 */
#ifndef CHARNN_OS_H
#define CHARNN_OS_H

/* The library and the command line each link a copy of this layer of their
 * own (the command line's is src/cli/os.c), so that the command line needs
 * nothing of the library but its public interface: os_NAME is cn_os_NAME in
 * the library (hidden in the shared library) and cli_os_NAME in the command
 * line (built with CN_OS_FOR_CLI). */
#ifdef CN_OS_FOR_CLI
#define OS_NAME(name) cli_os_##name
#else
#define OS_NAME(name) cn_os_##name
#endif
#define os_open OS_NAME(open)
#define os_rename OS_NAME(rename)
#define os_fsync OS_NAME(fsync)
#define os_flock OS_NAME(flock)
#define os_pread OS_NAME(pread)
#define os_realpath OS_NAME(realpath)
#define os_nanosleep OS_NAME(nanosleep)
#define os_link OS_NAME(link)
#define os_mkdtemp OS_NAME(mkdtemp)
#define os_getline OS_NAME(getline)
#define os_sigaction OS_NAME(sigaction)
#define os_signal OS_NAME(signal)
#define os_thread_start OS_NAME(thread_start)
#define os_thread_join OS_NAME(thread_join)
#define os_mutex_init OS_NAME(mutex_init)
#define os_mutex_lock OS_NAME(mutex_lock)
#define os_mutex_unlock OS_NAME(mutex_unlock)
#define os_mutex_destroy OS_NAME(mutex_destroy)
#define os_cond_init OS_NAME(cond_init)
#define os_cond_wait OS_NAME(cond_wait)
#define os_cond_broadcast OS_NAME(cond_broadcast)
#define os_cond_destroy OS_NAME(cond_destroy)
#define os_yield OS_NAME(yield)
#define os_seconds OS_NAME(seconds)
#define os_cpu_count OS_NAME(cpu_count)
#define os_physical_memory OS_NAME(physical_memory)
#define os_aligned_alloc OS_NAME(aligned_alloc)
#define os_aligned_free OS_NAME(aligned_free)
#define os_file_id OS_NAME(file_id)
#define os_fd_id OS_NAME(fd_id)
#define os_mtime_ns OS_NAME(mtime_ns)
#define os_last_separator OS_NAME(last_separator)
#define os_terminal OS_NAME(terminal)
#define os_quote OS_NAME(quote)
#define os_start OS_NAME(start)

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef _WIN32

#include <io.h>

#define O_CLOEXEC 0 /* Windows' handles are not inherited unless asked */
#define S_ISLNK(m) 0
#define lstat stat /* charnn makes no symbolic links; Windows' are rare */
#define SIGHUP 1
#define SIGPIPE 13
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8

int os_open(const char *path, int flags, ...);
int os_rename(const char *from, const char *to);
int os_fsync(int fd);
int os_flock(int fd, int op);
ssize_t os_pread(int fd, void *buf, size_t n, off_t offset);
char *os_realpath(const char *path, char *resolved);
int os_nanosleep(const struct timespec *t, struct timespec *left);
int os_link(const char *from, const char *to);
char *os_mkdtemp(char *template);
ssize_t os_getline(char **line, size_t *cap, FILE *f);
#define open os_open
#define rename os_rename
#define fsync os_fsync
#define flock os_flock
#define pread os_pread
#define realpath os_realpath
#define nanosleep os_nanosleep
#define getline os_getline
#define link os_link
#define mkdtemp os_mkdtemp

struct sigaction {
    void (*sa_handler)(int);
    int sa_flags;
    int sa_mask;
};
static inline int sigemptyset(int *set)
{
    *set = 0;
    return 0;
}
int os_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
void (*os_signal(int sig, void (*handler)(int)))(int);
#define sigaction(sig, act, old) os_sigaction(sig, act, old)
#define signal os_signal

/* Threads: Windows' own (a handle, a slim reader/writer lock, a condition
 * variable), held as pointers so this header needs no windows.h. */
typedef struct { void *handle; void *(*fn)(void *); void *arg; } OsThread;
typedef struct { void *p; } OsMutex;
typedef struct { void *p; } OsCond;

#else /* POSIX */

#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>

typedef pthread_t OsThread;
typedef pthread_mutex_t OsMutex;
typedef pthread_cond_t OsCond;

#endif

/* printf-style checking of a function's format and arguments (on Windows,
 * of MinGW's C99 printf, which charnn uses there: -D__USE_MINGW_ANSI_STDIO) */
#ifdef __MINGW32__
#define OS_PRINTF(fmt, first) __attribute__((format(gnu_printf, fmt, first)))
#else
#define OS_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#endif

/* Threads: 0, or an errno value. A mutex and a condition variable need no
 * destroying on Windows; on POSIX os_mutex_destroy and os_cond_destroy. */
int os_thread_start(OsThread *t, void *(*fn)(void *), void *arg);
void os_thread_join(OsThread *t);
void os_mutex_init(OsMutex *m);
void os_mutex_lock(OsMutex *m);
void os_mutex_unlock(OsMutex *m);
void os_mutex_destroy(OsMutex *m);
void os_cond_init(OsCond *c);
void os_cond_wait(OsCond *c, OsMutex *m);
void os_cond_broadcast(OsCond *c);
void os_cond_destroy(OsCond *c);
void os_yield(void);

double os_seconds(void);           /* a monotonic clock */
int os_cpu_count(void);            /* online processors, >= 1 */
uint64_t os_physical_memory(void); /* bytes, 0 if unknown */

/* Memory aligned to `align` (a power of two, a multiple of the pointer
 * size); freed with os_aligned_free. */
void *os_aligned_alloc(size_t align, size_t size);
void os_aligned_free(void *p);

/* Which file a path or an open file is: equal ids, the same file however
 * it is named. 0, or -1 with errno. */
typedef struct {
    uint64_t volume, file;
} OsFileId;
int os_file_id(const char *path, OsFileId *id);
int os_fd_id(int fd, OsFileId *id);

/* When a file was last modified, in nanoseconds since 1970 (to the second
 * where the system keeps no finer time). */
int64_t os_mtime_ns(const struct stat *sb);

/* The last directory separator in path ('/', and '\\' on Windows), or NULL. */
const char *os_last_separator(const char *path);

/* fd is a terminal that takes the status line's escape sequences (on
 * Windows: a console whose virtual-terminal processing could be turned on). */
int os_terminal(int fd);

/* s as one word for the system's shell, in out (room for 4 strlen(s) + 3
 * bytes): as it is when it needs no quoting, else on POSIX in single quotes
 * ('it'\''s' for it's), on Windows in double quotes (cmd and PowerShell
 * alike, "say \"hi\"" for say "hi"). */
void os_quote(char *out, const char *s);

/* Once, first thing in main: standard streams binary, the console in UTF-8
 * (Windows); nothing elsewhere. */
void os_start(void);

#endif /* CHARNN_OS_H */
