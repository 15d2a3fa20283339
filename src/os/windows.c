/* SPDX-License-Identifier: MIT */
/*
 * os.h on Windows (MinGW-w64, Windows' own DLLs only): the POSIX calls
 * charnn makes, done with Windows' calls. Paths are UTF-8 throughout: the
 * manifest linked into charnn.exe makes UTF-8 the process's code page, so
 * the ...A functions take them as they are.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "os.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* errno for the thread's last Windows error */
static int errno_of(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME: return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_WRITE_PROTECT: return EACCES;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return EEXIST;
    case ERROR_FILENAME_EXCED_RANGE: return ENAMETOOLONG;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return ENOMEM;
    case ERROR_DIRECTORY: return ENOTDIR;
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_PARAMETER: return EINVAL;
    case ERROR_DIR_NOT_EMPTY: return ENOTEMPTY;
    case ERROR_NOT_SAME_DEVICE: return EXDEV;
    default: return EIO;
    }
}

static int fail(void)
{
    errno = errno_of(GetLastError());
    return -1;
}

/* open: CreateFile with every sharing mode (another process may read,
 * write, rename or delete the file while it is open, as on POSIX), then a
 * C runtime descriptor in binary mode over the handle. */
int os_open(const char *path, int flags, ...)
{
    DWORD access = (flags & O_ACCMODE) == O_RDONLY   ? GENERIC_READ
                   : (flags & O_ACCMODE) == O_WRONLY ? GENERIC_WRITE
                                                     : GENERIC_READ | GENERIC_WRITE;
    DWORD create = (flags & O_CREAT) && (flags & O_EXCL) ? CREATE_NEW
                   : (flags & O_CREAT) && (flags & O_TRUNC) ? CREATE_ALWAYS
                   : (flags & O_CREAT)                    ? OPEN_ALWAYS
                   : (flags & O_TRUNC)                    ? TRUNCATE_EXISTING
                                                          : OPEN_EXISTING;
    HANDLE h = CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, create, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        /* a directory: POSIX's EISDIR for a write, and a read refused too
           (charnn never reads a directory as a file) */
        DWORD attr = GetFileAttributesA(path);
        errno = attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY)
                    ? EISDIR
                    : errno_of(e);
        return -1;
    }
    int fd = _open_osfhandle((intptr_t)h, _O_BINARY | (flags & O_APPEND ? _O_APPEND : 0) |
                                              ((flags & O_ACCMODE) == O_RDONLY ? _O_RDONLY : 0));
    if (fd < 0) {
        CloseHandle(h);
        errno = EMFILE;
        return -1;
    }
    return fd;
}

/* rename: replaces the target in one step, and returns once the change is
 * on disk (POSIX's rename followed by the directory's fsync). */
int os_rename(const char *from, const char *to)
{
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return 0;
    return fail();
}

int os_fsync(int fd)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    return FlushFileBuffers(h) ? 0 : fail();
}

/* flock: Windows' locks are mandatory, so the byte locked is one far past
 * any content (2^62), leaving the file itself readable and writable. The
 * lock goes with the handle: when its process ends, however it ends. */
int os_flock(int fd, int op)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED at = {.Offset = 0, .OffsetHigh = 1u << 30};
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if (op & LOCK_UN)
        return UnlockFileEx(h, 0, 1, 0, &at) ? 0 : fail();
    DWORD how = LOCKFILE_EXCLUSIVE_LOCK | (op & LOCK_NB ? LOCKFILE_FAIL_IMMEDIATELY : 0);
    if (LockFileEx(h, how, 0, 1, 0, &at))
        return 0;
    DWORD e = GetLastError();
    errno = e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING ? EWOULDBLOCK : errno_of(e);
    return -1;
}

ssize_t os_pread(int fd, void *buf, size_t n, off_t offset)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED at = {.Offset = (DWORD)((uint64_t)offset & 0xffffffffu),
                     .OffsetHigh = (DWORD)((uint64_t)offset >> 32)};
    DWORD got = 0;
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if (ReadFile(h, buf, n > 0x7fffffff ? 0x7fffffff : (DWORD)n, &got, &at))
        return (ssize_t)got;
    if (GetLastError() == ERROR_HANDLE_EOF)
        return 0;
    return fail();
}

/* realpath: the absolute path, '\\' separators, of a file or directory that
 * exists (ENOENT otherwise, as POSIX's). Windows' rare symbolic links are
 * not followed. */
char *os_realpath(const char *path, char *resolved)
{
    if (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES) {
        fail();
        return NULL;
    }
    char buf[MAX_PATH * 4];
    DWORD n = GetFullPathNameA(path, sizeof buf, buf, NULL);
    if (n == 0 || n >= sizeof buf) {
        errno = n ? ENAMETOOLONG : errno_of(GetLastError());
        return NULL;
    }
    if (resolved)
        return memcpy(resolved, buf, n + 1);
    return _strdup(buf);
}

int os_nanosleep(const struct timespec *t, struct timespec *left)
{
    (void)left;
    Sleep((DWORD)(t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000));
    return 0;
}

int os_link(const char *from, const char *to)
{
    return CreateHardLinkA(to, from, NULL) ? 0 : fail();
}

/* mkdtemp: the template's trailing XXXXXX replaced until a new directory
 * can be made */
char *os_mkdtemp(char *template)
{
    size_t n = strlen(template);
    if (n < 6 || strcmp(template + n - 6, "XXXXXX") != 0) {
        errno = EINVAL;
        return NULL;
    }
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = GetTickCount64() ^ ((uint64_t)GetCurrentProcessId() << 32);
    for (int attempt = 0; attempt < 1000; attempt++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        for (int i = 0; i < 6; i++)
            template[n - 6 + i] = digits[(x >> (10 + 6 * i)) % 36];
        if (CreateDirectoryA(template, NULL))
            return template;
        if (GetLastError() != ERROR_ALREADY_EXISTS) {
            fail();
            return NULL;
        }
    }
    errno = EEXIST;
    return NULL;
}

ssize_t os_getline(char **line, size_t *cap, FILE *f)
{
    size_t n = 0;
    for (int c; (c = getc(f)) != EOF;) {
        if (n + 2 > *cap) {
            size_t grown = *cap ? 2 * *cap : 128;
            char *p = realloc(*line, grown);
            if (!p) {
                errno = ENOMEM;
                return -1;
            }
            *line = p, *cap = grown;
        }
        (*line)[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (n == 0)
        return -1;
    (*line)[n] = '\0';
    return (ssize_t)n;
}

/* ------------------------------------------------------------------------
 * Signals are console events: the handler runs on a thread of its own, as a
 * POSIX handler would interrupt the main one. Returning from a close,
 * log-off or shut-down event ends the process, so for those the handler
 * thread waits (Windows allows 5 s) for the main thread to save and exit. */
static void (*volatile handlers[32])(int);

static BOOL WINAPI on_console_event(DWORD event)
{
    int sig = event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT ? SIGINT
              : event == CTRL_CLOSE_EVENT                        ? SIGHUP
                                                                 : SIGTERM;
    void (*h)(int) = handlers[sig];
    if (h == SIG_DFL || h == NULL)
        return FALSE; /* Windows' default: the process ends */
    if (h != SIG_IGN)
        h(sig);
    if (sig != SIGINT)
        Sleep(INFINITE);
    return TRUE;
}

int os_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    static volatile LONG installed;
    if (sig <= 0 || sig >= 32) {
        errno = EINVAL;
        return -1;
    }
    if (old)
        *old = (struct sigaction){.sa_handler = handlers[sig] ? handlers[sig] : SIG_DFL};
    if (act) {
        handlers[sig] = act->sa_handler;
        if (!InterlockedExchange(&installed, 1))
            SetConsoleCtrlHandler(on_console_event, TRUE);
    }
    return 0;
}

void (*os_signal(int sig, void (*handler)(int)))(int)
{
    struct sigaction act = {.sa_handler = handler}, old;
    if (os_sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* ------------------------------------------------------------------------
 * Threads */
static DWORD WINAPI thread_main(void *arg)
{
    OsThread *t = arg;
    t->fn(t->arg);
    return 0;
}

int os_thread_start(OsThread *t, void *(*fn)(void *), void *arg)
{
    t->fn = fn;
    t->arg = arg;
    t->handle = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    return t->handle ? 0 : errno_of(GetLastError());
}

void os_thread_join(OsThread *t)
{
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
}

void os_mutex_init(OsMutex *m)
{
    InitializeSRWLock((SRWLOCK *)m);
}

void os_mutex_lock(OsMutex *m)
{
    AcquireSRWLockExclusive((SRWLOCK *)m);
}

void os_mutex_unlock(OsMutex *m)
{
    ReleaseSRWLockExclusive((SRWLOCK *)m);
}

void os_mutex_destroy(OsMutex *m)
{
    (void)m;
}

void os_cond_init(OsCond *c)
{
    InitializeConditionVariable((CONDITION_VARIABLE *)c);
}

void os_cond_wait(OsCond *c, OsMutex *m)
{
    SleepConditionVariableSRW((CONDITION_VARIABLE *)c, (SRWLOCK *)m, INFINITE, 0);
}

void os_cond_broadcast(OsCond *c)
{
    WakeAllConditionVariable((CONDITION_VARIABLE *)c);
}

void os_cond_destroy(OsCond *c)
{
    (void)c;
}

void os_yield(void)
{
    SwitchToThread();
}

double os_seconds(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq); /* the same value on every call */
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart / (double)freq.QuadPart;
}

int os_cpu_count(void)
{
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

uint64_t os_physical_memory(void)
{
    MEMORYSTATUSEX m = {.dwLength = sizeof m};
    return GlobalMemoryStatusEx(&m) ? m.ullTotalPhys : 0;
}

void *os_aligned_alloc(size_t align, size_t size)
{
    return _aligned_malloc(size ? size : 1, align);
}

void os_aligned_free(void *p)
{
    _aligned_free(p);
}

static int handle_id(HANDLE h, OsFileId *id)
{
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info))
        return fail();
    id->volume = info.dwVolumeSerialNumber;
    id->file = (uint64_t)info.nFileIndexHigh << 32 | info.nFileIndexLow;
    return 0;
}

int os_file_id(const char *path, OsFileId *id)
{
    HANDLE h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return fail();
    int rc = handle_id(h, id);
    CloseHandle(h);
    return rc;
}

int os_fd_id(int fd, OsFileId *id)
{
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    return handle_id(h, id);
}

int64_t os_mtime_ns(const struct stat *sb)
{
    return (int64_t)sb->st_mtime * 1000000000;
}

const char *os_last_separator(const char *path)
{
    const char *slash = strrchr(path, '/'), *back = strrchr(path, '\\');
    return slash > back ? slash : back;
}

/* Windows' rule (CommandLineToArgvW, the C runtime): inside double quotes,
 * backslashes are literal except before a '"', where 2n of them give n and
 * 2n + 1 give n and the quote. */
void os_quote(char *out, const char *s)
{
    if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=+-,@\\") ==
                    strlen(s)) {
        strcpy(out, s);
        return;
    }
    *out++ = '"';
    for (size_t slashes = 0;; s++) {
        if (*s == '\\') {
            slashes++;
            *out++ = '\\';
            continue;
        }
        if (*s == '"' || !*s) { /* the backslashes before it doubled */
            for (; slashes; slashes--)
                *out++ = '\\';
            if (!*s)
                break;
            *out++ = '\\';
        }
        slashes = 0;
        *out++ = *s;
    }
    *out++ = '"';
    *out = '\0';
}

/* A console whose virtual-terminal processing is on (Windows 10 and later),
 * turned on by os_start. */
static int vt[3];

int os_terminal(int fd)
{
    return fd >= 0 && fd < 3 && vt[fd];
}

void os_start(void)
{
    for (int fd = 0; fd < 3; fd++)
        _setmode(fd, _O_BINARY); /* bytes out as charnn wrote them, "\n" included */
    SetConsoleOutputCP(CP_UTF8);
    SetConsoleCP(CP_UTF8);
    const DWORD std[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (int fd = 1; fd < 3; fd++) {
        HANDLE h = GetStdHandle(std[fd]);
        DWORD mode;
        vt[fd] = h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode) &&
                 SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
    }
}
