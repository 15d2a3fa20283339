/* SPDX-License-Identifier: MIT */
/*
 * What a training run may write, checked before it trains: the checkpoint,
 * the best checkpoint and the log. None may be an input of the run (the
 * corpus, --resume, --init-from; the same file however it is named: by
 * device and inode, links followed), two may not be one file, each must be
 * writable where it is, and each is locked for the whole run so that a
 * second run into it is refused at once. Once the run's state is known, a
 * checkpoint already at an output path is replaced only if it is the run's
 * own earlier point; another run's model, a later point of this run or the
 * --init-from source need --force, and a file that is not a checkpoint is
 * never replaced.
 */
#define _DEFAULT_SOURCE /* flock, realpath */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "input.ckpt" -> "input.best.ckpt"; "model" -> "model.best". */
char *cli_best_path(const char *ckpt)
{
    size_t len = strlen(ckpt), stem = len;
    if (len > 5 && strcmp(ckpt + len - 5, ".ckpt") == 0)
        stem = len - 5;
    char *path = malloc(len + 6);
    if (path)
        snprintf(path, len + 6, "%.*s.best%s", (int)stem, ckpt, ckpt + stem);
    return path;
}

/* The latest checkpoint of the run a checkpoint file belongs to:
 * "input.best.ckpt" -> "input.ckpt"; any other name is its own. */
char *cli_latest_path(const char *ckpt)
{
    size_t len = strlen(ckpt);
    const char *suffix = ".best.ckpt";
    size_t n = strlen(suffix);
    char *path = malloc(len + 1);
    if (!path)
        return NULL;
    if (len > n && strcmp(ckpt + len - n, suffix) == 0)
        snprintf(path, len + 1, "%.*s.ckpt", (int)(len - n), ckpt);
    else
        memcpy(path, ckpt, len + 1);
    return path;
}

/* The directory part of path ("." for none), in dir[n]. */
static void dir_of(const char *path, char *dir, size_t n)
{
    const char *slash = os_last_separator(path);
    if (!slash)
        snprintf(dir, n, ".");
    else
        snprintf(dir, n, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* The file part of path (all of it when it has no directory). */
static const char *base_of(const char *path)
{
    const char *sep = os_last_separator(path);
    return sep ? sep + 1 : path;
}

/* The file an output path names, whether it exists or not: the path with
 * every symbolic link resolved (its directory's, when the file does not
 * exist yet). NULL, with errno, if its directory cannot be resolved. */
static char *canonical(const char *path)
{
    char *real = realpath(path, NULL);
    if (real)
        return real;
    if (errno != ENOENT)
        return NULL;
    struct stat sb;
    if (lstat(path, &sb) == 0) /* a link to nowhere */
        return errno = ENOENT, NULL;
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    char *rdir = realpath(dir, NULL);
    if (!rdir)
        return NULL;
    const char *base = base_of(path);
    size_t len = strlen(rdir) + strlen(base) + 2;
    char *out = malloc(len);
    const char *sep = os_last_separator(rdir);
    if (out) /* no separator after a root ("/", "C:\\") */
        snprintf(out, len, "%s%s%s", rdir, sep && !sep[1] ? "" : "/", base);
    free(rdir);
    return out;
}

/* One name: the same canonical path. */
static int same_name(const char *a, const char *b)
{
    char *ca = canonical(a), *cb = canonical(b);
    int same = ca && cb && strcmp(ca, cb) == 0;
    free(ca);
    free(cb);
    return same;
}

int cli_same_file(const char *a, const char *b)
{
    OsFileId ia, ib;
    if (os_file_id(a, &ia) == 0 && os_file_id(b, &ib) == 0)
        return ia.volume == ib.volume && ia.file == ib.file;
    return same_name(a, b);
}

/* One line saying why an output path cannot be written, from the errno of
 * trying to create a file there. */
static void cannot_write(const char *what, const char *flag, const char *path, int e)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (e == ENOENT || e == ENOTDIR)
        cli_error("cannot write the %s %s: the directory %s does not exist; create it, or "
                  "give another %s", what, path, dir, flag);
    else if (e == ENAMETOOLONG)
        cli_error("cannot write the %s %s: the name is too long for the file system; give a "
                  "shorter %s", what, path, flag);
    else if (e == EACCES || e == EPERM || e == EROFS)
        cli_error("cannot write the %s %s: %s; give a %s in a directory you can write", what,
                  path, strerror(e), flag);
    else
        cli_error("cannot write the %s %s: %s; give another %s", what, path, strerror(e), flag);
}

/* Removes what a killed run left of its saves: PATH.<pid>.tmp files (the
 * caller holds PATH's lock, so no live run is writing them). */
static void remove_stale_temps(const char *path)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    const char *base = base_of(path);
    size_t n = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name, *p = name + n + 1;
        if (strncmp(name, base, n) != 0 || name[n] != '.' || !(*p >= '0' && *p <= '9'))
            continue;
        while (*p >= '0' && *p <= '9')
            p++;
        char stale[PATH_MAX];
        if (strcmp(p, ".tmp") == 0 &&
            snprintf(stale, sizeof stale, "%s/%s", dir, name) < (int)sizeof stale)
            unlink(stale);
    }
    closedir(d);
}

/* Takes PATH.lock (created beside path) with flock for the whole run and
 * writes this pid into it. Returns 0, or reports why not and returns an
 * exit code. */
static int take_lock(Output *o, const char *what, const char *flag)
{
    size_t len = strlen(o->path) + 6;
    o->lock_path = malloc(len);
    if (!o->lock_path) {
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    snprintf(o->lock_path, len, "%s.lock", o->path);
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = open(o->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), e = errno;
        struct stat lsb;
        if (fd < 0 && e != ENOENT && lstat(o->lock_path, &lsb) == 0) {
            cli_error("cannot open the lock file %s: %s; remove it if no charnn run is writing "
                      "%s", o->lock_path, strerror(e), o->given);
            return EXIT_ERROR;
        }
        if (fd < 0) {
            cannot_write(what, flag, o->given, e);
            return EXIT_ERROR;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            /* the holder writes its pid just after taking the lock: give it
               a moment (at most 0.2 s) */
            char pid[32] = "";
            for (int wait = 0; !pid[0] && wait < 40; wait++) {
                ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
                pid[got > 0 ? got : 0] = '\0';
                pid[strcspn(pid, "\n")] = '\0';
                if (!pid[0])
                    nanosleep(&(struct timespec){0, 5000000}, NULL);
            }
            close(fd);
            cli_error("%s is in use by another charnn run (pid %s); wait for it to finish, or "
                      "give another %s", o->given, pid[0] ? pid : "unknown", flag);
            return EXIT_ERROR;
        }
        /* a holder that just finished removes the lock file: make sure the
           file locked is the one at the path */
        OsFileId held, now;
        if (os_fd_id(fd, &held) == 0 && os_file_id(o->lock_path, &now) == 0 &&
            held.volume == now.volume && held.file == now.file) {
            char pid[32];
            int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
                (void)0; /* the pid is for messages only */
            o->lock_fd = fd;
            return 0;
        }
        close(fd);
    }
    cli_error("cannot lock %s: its lock file keeps changing; try again", o->given);
    return EXIT_ERROR;
}

/* Resolves, checks and locks a checkpoint output: not empty, not a
 * directory or device, a directory that exists, a name that fits, and
 * writable (a temporary file of the save's own name is created there and
 * removed). */
static int prepare_checkpoint(Output *o, const char *what, const char *flag)
{
    struct stat sb;
    if (stat(o->given, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_error("%s %s is a directory; give a file name, e.g. %s/input.ckpt", flag, o->given,
                  o->given);
        return EXIT_ERROR;
    }
    if (stat(o->given, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        cli_error("%s %s is not a regular file; give a file name for the %s", flag, o->given,
                  what);
        return EXIT_ERROR;
    }
    o->path = canonical(o->given);
    if (!o->path) {
        struct stat lsb;
        if (lstat(o->given, &lsb) == 0 && S_ISLNK(lsb.st_mode))
            cli_error("%s %s is a symbolic link to a file that does not exist; give the file "
                      "itself", flag, o->given);
        else
            cannot_write(what, flag, o->given, errno);
        return EXIT_ERROR;
    }
    int rc = take_lock(o, what, flag);
    if (rc)
        return rc;
    remove_stale_temps(o->path);
    char tmp[PATH_MAX + 32];
    if (cn_temp_path(o->path, tmp, sizeof tmp) != 0) {
        cannot_write(what, flag, o->given, ENAMETOOLONG);
        return EXIT_ERROR;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cannot_write(what, flag, o->given, errno);
        return EXIT_ERROR;
    }
    close(fd);
    unlink(tmp);
    return 0;
}

/* The first line of a log file already there must be charnn's header:
 * rows are appended under it. */
static int looks_like_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 1; /* the open for appending reports the problem */
    char line[256] = "";
    int empty = !fgets(line, sizeof line, f);
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return empty || strcmp(line, log_header) == 0;
}

/* Opens the log for appending, locked (a log written by two runs at once
 * would interleave their rows). */
static int prepare_log(Outputs *out)
{
    Output *o = &out->log;
    struct stat sb;
    int existed = stat(o->given, &sb) == 0;
    if (existed && S_ISDIR(sb.st_mode)) {
        cli_error("--log %s is a directory; give a file name, e.g. %s/run.csv", o->given,
                  o->given);
        return EXIT_ERROR;
    }
    if (existed && S_ISREG(sb.st_mode) && sb.st_size > 0 && !looks_like_log(o->given)) {
        cli_error("--log %s exists and is not a charnn training log of this version; give "
                  "another --log (charnn appends only to its own logs, whose columns it knows)",
                  o->given);
        return EXIT_USAGE;
    }
    int fd = open(o->given, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        cannot_write("log", "--log", o->given, errno);
        return EXIT_ERROR;
    }
    o->created = !existed;
    if (!existed || S_ISREG(sb.st_mode)) { /* not /dev/null or a terminal */
        o->path = canonical(o->given);
        int rc = o->path ? take_lock(o, "log", "--log") : EXIT_ERROR;
        if (!o->path)
            cli_error("out of memory");
        if (rc) {
            close(fd);
            return rc;
        }
    }
    out->log_file = fdopen(fd, "a");
    if (!out->log_file) {
        close(fd);
        cli_error("out of memory");
        return EXIT_ERROR;
    }
    return 0;
}

int outputs_prepare(Outputs *out, const char *const *inputs, int ninputs, const char *resume,
                    const char *init_from)
{
    Output *all[3] = {&out->ckpt, &out->best, &out->log};
    static const char *const flag[3] = {"--checkpoint", "--checkpoint", "--log"};
    static const char *const what[3] = {"checkpoint", "best checkpoint", "log"};
    out->ckpt.lock_fd = out->best.lock_fd = out->log.lock_fd = -1;
    if (!out->ckpt.given[0]) {
        cli_error("--checkpoint is empty; give a file name, e.g. --checkpoint model.ckpt");
        return EXIT_USAGE;
    }
    if (out->log.given && !out->log.given[0]) {
        cli_error("--log is empty; give a file name, e.g. --log run.csv");
        return EXIT_USAGE;
    }
    /* no output is an input, and no two outputs are one file */
    for (int k = 0; k < 3; k++) {
        const char *o = all[k]->given;
        if (!o)
            continue;
        for (int i = 0; i < ninputs; i++) {
            if (strcmp(inputs[i], "-") != 0 && cli_same_file(o, inputs[i])) {
                cli_error("the %s %s is the corpus %s: it would be overwritten; give another %s",
                          what[k], o, inputs[i], k == 1 ? "--checkpoint (the best goes beside "
                          "it)" : flag[k]);
                return EXIT_USAGE;
            }
        }
        /* the checkpoints may be --resume's (the run goes on) or --init-from's
           (decided once the run is known); the log may be neither */
        const char *source = k != 2 ? NULL : resume ? resume : init_from;
        if (source && cli_same_file(o, source)) {
            cli_error("the log %s is the checkpoint %s reads; give another --log", o,
                      resume ? "--resume" : "--init-from");
            return EXIT_USAGE;
        }
        /* the latest and the best checkpoint share an inode after the best
           is kept (a hard link): for them only the name counts */
        for (int j = 0; j < k; j++) {
            if (all[j]->given && (k == 1 ? same_name(o, all[j]->given)
                                         : cli_same_file(o, all[j]->given))) {
                cli_error("the %s and the %s would be one file, %s; give another %s", what[j],
                          what[k], o, flag[k]);
                return EXIT_USAGE;
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        int rc = prepare_checkpoint(all[k], what[k], flag[k]);
        if (rc)
            return rc;
    }
    return out->log.given ? prepare_log(out) : 0;
}

/* "gru, 2 layers x 512, 65 characters, 3,000 iterations, validation loss
 * 1.5123" */
/* "gru, 2 layers x 512, 65 characters, 3,000 iterations, validation loss
 * 1.5123" */
static void describe_checkpoint(const CnCheckpoint *ck, char *out, size_t n)
{
    CnShape s = cn_model_shape(cn_checkpoint_model(ck));
    const CnProgress *p = cn_checkpoint_progress(ck);
    char it[32];
    int len = snprintf(out, n, "%s, %d layer%s x %d, %d characters, %s iterations",
                       cn_cell_names[s.cell], s.layers, s.layers == 1 ? "" : "s", s.hidden,
                       s.vocab, cli_count(p->iteration, it));
    if (isfinite(p->val_loss) && len > 0 && (size_t)len < n)
        snprintf(out + len, n - (size_t)len, ", validation loss %.4f", p->val_loss);
}

/* A checkpoint of this trainer's run: the same identity, or for version 1
 * files (no identity) the same corpus, seed and shape. */
static int same_run(const CnCheckpoint *ck, const CnTrainer *tr)
{
    const CnProgress *a = cn_checkpoint_progress(ck), *b = cn_trainer_progress(tr);
    if (a->run && b->run)
        return a->run == b->run;
    CnShape sa = cn_model_shape(cn_checkpoint_model(ck)), sb = cn_model_shape(cn_trainer_model(tr));
    return a->corpus_crc == b->corpus_crc && a->corpus_bytes == b->corpus_bytes &&
           cn_checkpoint_config(ck)->seed == cn_trainer_config(tr)->seed &&
           sa.cell == sb.cell && sa.vocab == sb.vocab && sa.hidden == sb.hidden &&
           sa.layers == sb.layers;
}

/* What an existing file at a checkpoint output holds, against this run. */
static int check_existing(Outputs *out, Output *o, const char *what, const CnTrainer *tr,
                          const char *resume, const char *init_from, int force)
{
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0; /* nothing there */
    if (fd < 0) {
        cli_error("cannot read %s to see what it holds (%s); charnn replaces only what it can "
                  "check: give another --checkpoint", o->given, strerror(errno));
        return EXIT_USAGE;
    }
    char magic[8];
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    if (got != 8 || memcmp(magic, "CHARNNCK", 8) != 0) {
        cli_error("%s exists and is not a charnn checkpoint; charnn never replaces it: give "
                  "another --checkpoint, or move it away", o->given);
        return EXIT_USAGE;
    }
    const CnProgress *now = cn_trainer_progress(tr);
    if (resume && cli_same_file(o->path, resume)) { /* the point the run resumes from */
        if (o == &out->best && now->iteration == now->best_iteration)
            out->best_on_disk = 1;
        return 0;
    }
    if (init_from && cli_same_file(o->path, init_from) && !force) {
        cli_error("the %s %s is the --init-from source: this run would replace it; give another "
                  "--checkpoint, or --force", what, o->given);
        return EXIT_USAGE;
    }
    CnError err;
    CnCheckpoint *ck = cn_checkpoint_load(o->path, &err);
    if (!ck) {
        if (force)
            return 0;
        cli_error("%s holds a damaged checkpoint (%s); give another --checkpoint, or --force to "
                  "replace it", o->given, err.msg);
        return EXIT_USAGE;
    }
    const CnProgress *there = cn_checkpoint_progress(ck);
    char desc[160], n1[32], n2[32];
    describe_checkpoint(ck, desc, sizeof desc);
    int rc = 0;
    if (!resume) {
        if (!force) {
            cli_error("%s already holds a model (%s); resume it with --resume %s, give another "
                      "--checkpoint, or --force to replace it", o->given, desc, o->given);
            rc = EXIT_USAGE;
        }
    } else if (!same_run(ck, tr)) {
        if (!force) {
            cli_error("%s holds another run's model (%s); give another --checkpoint, or --force "
                      "to replace it", o->given, desc);
            rc = EXIT_USAGE;
        }
    } else if (there->iteration > now->iteration) {
        if (!force) {
            cli_error("%s holds iteration %s of this run, later than %s (iteration %s): resuming "
                      "from there would replace it; give another --checkpoint to branch off, or "
                      "--force", o->given, cli_count(there->iteration, n1), resume,
                      cli_count(now->iteration, n2));
            rc = EXIT_USAGE;
        }
    } else if (o == &out->best && there->iteration == now->best_iteration) {
        out->best_on_disk = 1; /* the run's best so far is already there */
    }
    cn_checkpoint_free(ck);
    return rc;
}

int outputs_check_existing(Outputs *out, const CnTrainer *tr, const char *resume,
                           const char *init_from, int force)
{
    int rc = check_existing(out, &out->ckpt, "checkpoint", tr, resume, init_from, force);
    if (!rc && cn_trainer_status(tr).val_chars) /* a run without validation keeps no best */
        rc = check_existing(out, &out->best, "best checkpoint", tr, resume, init_from, force);
    return rc;
}

int outputs_branches(const Outputs *out, const char *resume)
{
    char *own = cli_latest_path(resume);
    int same = cli_same_file(out->ckpt.given, resume) || (own && cli_same_file(out->ckpt.given, own));
    free(own);
    return !same;
}

void outputs_release(Outputs *out)
{
    if (out->log_file) { /* before its lock goes: nobody else may have opened it */
        struct stat sb;
        fflush(out->log_file);
        int empty = fstat(fileno(out->log_file), &sb) == 0 && S_ISREG(sb.st_mode) &&
                    sb.st_size == 0;
        if (out->log.created && empty)
            unlink(out->log.given); /* made by this run, which wrote nothing into it */
        fclose(out->log_file);
    }
    out->log_file = NULL;
    Output *ck[3] = {&out->ckpt, &out->best, &out->log};
    for (int k = 0; k < 3; k++) {
        if (ck[k]->lock_fd >= 0) {
            unlink(ck[k]->lock_path); /* while still held: nobody waits on it */
            close(ck[k]->lock_fd);
        }
        free(ck[k]->lock_path);
        free(ck[k]->path);
        ck[k]->lock_fd = -1;
        ck[k]->lock_path = ck[k]->path = NULL;
    }
}
