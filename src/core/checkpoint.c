/* SPDX-License-Identifier: MIT */
/*
 * Checkpoints. Layout (all integers and floats little-endian, floats IEEE
 * binary32 "f32" or binary64 "f64"):
 *     "CHARNNCK"  u32 version  u32 byte-order mark 0x01020304  u64 file size
 *     the fields of cn_fields (src/core/settings.c), in its order: model shape, training
 *                 configuration, progress, the random generator's state
 *     arrays:     u32 vocab[V]; u64 n + f32 params[n]; u64 n + f32
 *                 optimizer state[n]; u64 n + f32 carried state[n]
 *     u32 CRC-32 (IEEE 802.3) of every byte before it
 * A save writes PATH.PID.tmp (a name no other process uses), flushes and
 * fsyncs it, renames it over PATH and fsyncs the directory: PATH is always
 * either the old or the new file. A PATH that is a symbolic link stays one:
 * the file it points to is replaced.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "core.h"
#include "os.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'C', 'H', 'A', 'R', 'N', 'N', 'C', 'K'};
enum { HEADER_BYTES = 24, BOM = 0x01020304 };

static size_t field_bytes(const CnField *f)
{
    return (size_t)f->count * (f->type == CN_F_INT || f->type == CN_F_U32 ? 4 : 8);
}

/* ------------------------------------------------------------------------- */
/* Writing: little-endian encoders into a buffered sink that keeps the CRC. */

typedef struct {
    FILE *file;          /* sink, or NULL to fill mem */
    unsigned char *mem;  /* (cap) */
    size_t len, cap;
    uint32_t crc;
    int failed;          /* errno of the first failed write, or 0 */
} Writer;

static void put(Writer *w, const void *data, size_t n)
{
    if (w->failed)
        return;
    w->crc = cn_crc32(w->crc, data, n);
    if (w->file) {
        int fault = cn_fault("write");
        if (fault || fwrite(data, 1, n, w->file) != n)
            w->failed = fault ? fault : errno ? errno : EIO;
    } else {
        memcpy(w->mem + w->len, data, n);
    }
    w->len += n;
}

/* v as `bytes` little-endian bytes */
static void put_le(Writer *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, (size_t)bytes);
}

static void put_u32(Writer *w, uint32_t v)
{
    put_le(w, v, 4);
}

static void put_u64(Writer *w, uint64_t v)
{
    put_le(w, v, 8);
}

static void put_f64(Writer *w, double x)
{
    uint64_t v;
    memcpy(&v, &x, 8);
    put_u64(w, v);
}

/* u64 count, then the values as f32, converted in blocks. */
static void put_reals(Writer *w, const CnReal *x, size_t n)
{
    put_u64(w, n);
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t m = 0;
        for (; m + 4 <= sizeof buf && i < n; m += 4, i++) {
            float f = (float)x[i];
            uint32_t v;
            memcpy(&v, &f, 4);
            for (int k = 0; k < 4; k++)
                buf[m + k] = (unsigned char)(v >> (8 * k));
        }
        put(w, buf, m);
    }
}

/* The whole encoding; the caller's state may be NULL (a model alone). */
static void encode(Writer *w, const CnModel *m, const CnTrainState *st, uint64_t total)
{
    CnTrainState none;
    if (!st) {
        memset(&none, 0, sizeof none);
        none.p.val_loss = none.p.best_val_loss = NAN;
        st = &none;
    }
    put(w, magic, 8);
    put_u32(w, CN_CHECKPOINT_VERSION);
    put_u32(w, BOM);
    put_u64(w, total);
    for (const CnField *f = cn_fields; f->name; f++) {
        const char *v = cn_field_at(f, &m->shape, st);
        for (int k = 0; k < f->count; k++) {
            switch (f->type) {
            case CN_F_INT: put_u32(w, (uint32_t)((const int *)v)[k]); break;
            case CN_F_U32: put_u32(w, ((const uint32_t *)v)[k]); break;
            case CN_F_U64: put_u64(w, ((const uint64_t *)v)[k]); break;
            case CN_F_REAL: put_f64(w, ((const double *)v)[k]); break;
            }
        }
    }
    for (int k = 0; k < m->vocab.size; k++)
        put_u32(w, m->vocab.chars[k]);
    put_reals(w, m->params, m->nparams);
    put_reals(w, st->optim_state, st->optim_len);
    put_reals(w, st->state, st->state_len);
    put_u32(w, w->crc);
}

/* Bytes from the start to the vocabulary: the header and the fields. */
static uint64_t fixed_size(uint32_t version)
{
    uint64_t n = HEADER_BYTES;
    for (const CnField *f = cn_fields; f->name; f++)
        n += f->since <= version ? field_bytes(f) : 0;
    return n;
}

/* The size of a whole file: the fixed part, V code points, the three
 * counted arrays of `values` values in all, and the CRC. */
static uint64_t file_size(uint32_t version, uint64_t V, uint64_t values)
{
    return fixed_size(version) + 4 * V + 3 * 8 + 4 * values + 4;
}

static uint64_t encoded_size(const CnModel *m, const CnTrainState *st)
{
    size_t arrays = m->nparams + (st ? st->optim_len + st->state_len : 0);
    return file_size(CN_CHECKPOINT_VERSION, (uint64_t)m->vocab.size, arrays);
}

int cn_checkpoint_encode(const CnModel *m, const CnTrainState *st, unsigned char **out,
                         size_t *n, CnError *err)
{
    uint64_t total = encoded_size(m, st);
    Writer w = {.cap = (size_t)total};
    w.mem = malloc(w.cap);
    if (!w.mem) {
        cn_errorf(err, "out of memory encoding a checkpoint");
        return -1;
    }
    encode(&w, m, st, total);
    *out = w.mem;
    *n = w.len;
    return 0;
}

/* Directory part of path, for the fsync that makes the rename durable. */
static void sync_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = os_last_separator(path);
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof dir)
            return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse it on directories */
        close(fd);
    }
}

int cn_temp_path(const char *path, char *tmp, size_t n)
{
    return snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid()) < (int)n ? 0 : -1;
}

/* What a file holds: written into a Writer by a function of ctx. */
typedef void (*Emit)(Writer *w, const void *ctx);

/* Writes a file atomically: into PATH.PID.tmp, flushed, synced, renamed over
 * PATH, the directory synced. A failure at any step (each a fault-injection
 * point of the test build) removes the temporary file and leaves PATH as it
 * was. A PATH that is a symbolic link stays one: its file is replaced. */
static int write_file(const char *path, Emit emit, const void *ctx, CnError *err)
{
    char tmp[4096], target[PATH_MAX];
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) { /* keep the link: replace its file */
        if (!realpath(path, target)) {
            cn_errorf(err, "cannot follow the symbolic link %s: %s", path, strerror(errno));
            return -1;
        }
        path = target;
    }
    if (cn_temp_path(path, tmp, sizeof tmp) != 0) {
        cn_errorf(err, "checkpoint path is too long");
        return -1;
    }
    /* every step can fail (a full disk, a read-only directory); each is
     * also a fault-injection point of the test build */
    const char *step = "create";
    int fault = cn_fault("create");
    int fd = fault ? (errno = fault, -1) : open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        goto fail;
    }
    cn_fault_pause();
    Writer w = {.file = f};
    emit(&w, ctx);
    step = "write";
    if (w.failed) {
        errno = w.failed;
        goto fail_close;
    }
    cn_fault_pause();
    if ((fault = cn_fault("flush")) ? (errno = fault) : fflush(f) != 0)
        goto fail_close;
    step = "sync";
    if ((fault = cn_fault("sync")) ? (errno = fault) : fsync(fd) != 0)
        goto fail_close;
    step = "close";
    fault = cn_fault("close");
    if (fclose(f) != 0 || fault) {
        if (fault)
            errno = fault;
        f = NULL;
        goto fail_unlink;
    }
    cn_fault_pause();
    step = "rename";
    if ((fault = cn_fault("rename")) ? (errno = fault) : rename(tmp, path) != 0)
        goto fail_unlink;
    sync_parent_dir(path);
    return 0;
fail_close:
    {
        int e = errno;
        fclose(f);
        errno = e;
    }
fail_unlink:
    {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
fail:
    cn_errorf(err, "cannot %s %s: %s; the previous checkpoint, if any, is untouched", step, tmp,
              strerror(errno));
    return -1;
}

typedef struct {
    const CnModel *m;
    const CnTrainState *st;
} Saved;

static void emit_checkpoint(Writer *w, const void *ctx)
{
    const Saved *s = ctx;
    encode(w, s->m, s->st, encoded_size(s->m, s->st));
}

int cn_checkpoint_save(const char *path, const CnModel *m, const CnTrainState *st, CnError *err)
{
    Saved s = {m, st};
    return write_file(path, emit_checkpoint, &s, err);
}

/* The bytes of an open file, as they are. */
static void emit_copy(Writer *w, const void *ctx)
{
    int fd = *(const int *)ctx;
    unsigned char buf[1 << 16];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            w->failed = errno;
        if (got <= 0)
            return;
        put(w, buf, (size_t)got);
    }
}

int cn_checkpoint_keep(const char *src, const char *dst, CnError *err)
{
    char tmp[4096], target[PATH_MAX];
    struct stat sb;
    if (lstat(dst, &sb) == 0 && S_ISLNK(sb.st_mode) && realpath(dst, target))
        dst = target;
    if (cn_temp_path(dst, tmp, sizeof tmp) != 0) {
        cn_errorf(err, "checkpoint path %s is too long", dst);
        return -1;
    }
    unlink(tmp);
    if (!cn_fault("link") && link(src, tmp) == 0) {
        if (rename(tmp, dst) == 0) {
            sync_parent_dir(dst);
            return 0;
        }
        unlink(tmp);
    }
    /* no hard links here (another file system, a FAT disk): a copy */
    int fd = open(src, O_RDONLY);
    if (fd < 0) {
        cn_errorf(err, "cannot open %s: %s", src, strerror(errno));
        return -1;
    }
    int rc = write_file(dst, emit_copy, &fd, err);
    close(fd);
    return rc;
}

CnCheckpoint *cn_checkpoint_load(const char *path, CnError *err)
{
    CnCheckpoint *ck = malloc(sizeof *ck);
    if (!ck)
        cn_errorf(err, "out of memory reading %s", path);
    else if (cn_checkpoint_read(path, &ck->model, &ck->st, err) != 0)
        free(ck), ck = NULL;
    return ck;
}

const CnModel *cn_checkpoint_model(const CnCheckpoint *ck)
{
    return &ck->model;
}

const CnTrainConfig *cn_checkpoint_config(const CnCheckpoint *ck)
{
    return &ck->st.cfg;
}

const CnProgress *cn_checkpoint_progress(const CnCheckpoint *ck)
{
    return &ck->st.p;
}

void cn_checkpoint_free(CnCheckpoint *ck)
{
    if (ck) {
        cn_train_state_free(&ck->st);
        cn_model_release(&ck->model);
    }
    free(ck);
}

/* ------------------------------------------------------------------------- */
/* Reading: every field bounds-checked, every value range-checked. */

typedef struct {
    const unsigned char *p;
    size_t len, at;
    const char *name;
    CnError *err;
    int failed;
    uint32_t version;
} Reader;

static const unsigned char *take(Reader *r, size_t n)
{
    if (r->failed || n > r->len - r->at) {
        if (!r->failed)
            cn_errorf(r->err, "%s: checkpoint is truncated", r->name);
        r->failed = 1;
        return NULL;
    }
    const unsigned char *p = r->p + r->at;
    r->at += n;
    return p;
}

/* `bytes` little-endian bytes as a number (0 once the read has failed) */
static uint64_t get_le(Reader *r, int bytes)
{
    const unsigned char *b = take(r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; b && i < bytes; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static uint32_t get_u32(Reader *r)
{
    return (uint32_t)get_le(r, 4);
}

static uint64_t get_u64(Reader *r)
{
    return get_le(r, 8);
}

static double get_f64(Reader *r)
{
    uint64_t v = get_u64(r);
    double x;
    memcpy(&x, &v, 8);
    return x;
}

/* Fails the read with "NAME: checkpoint <what>", keeping the first failure. */
static int bad(Reader *r, const char *fmt, ...) OS_PRINTF(2, 3);
static int bad(Reader *r, const char *fmt, ...)
{
    if (!r->failed) {
        char what[CN_ERRLEN];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        cn_errorf(r->err, "%s: checkpoint %s", r->name, what);
    }
    r->failed = 1;
    return -1;
}

/* u64 count, which must be one of the two expected values (a model saved
 * without training progress has no optimizer or carried state). */
static size_t get_count(Reader *r, size_t expect, size_t alt, const char *what)
{
    uint64_t n = get_u64(r);
    if (!r->failed && n != expect && n != alt)
        bad(r, "has %llu %s values where its header implies %zu", (unsigned long long)n, what,
            expect);
    return r->failed ? 0 : (size_t)n;
}

/* n f32 values, all finite, into a malloc'd array (NULL on failure). */
static CnReal *get_reals(Reader *r, size_t n, const char *what)
{
    if (r->failed)
        return NULL;
    if (n > (r->len - r->at) / 4) {
        bad(r, "is truncated");
        return NULL;
    }
    CnReal *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) {
        bad(r, "is too large for this machine's memory");
        return NULL;
    }
    const unsigned char *b = take(r, 4 * n);
    for (size_t i = 0; i < n; i++, b += 4) {
        uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        float f;
        memcpy(&f, &v, 4);
        if (!isfinite(f)) {
            free(x);
            bad(r, "has a non-finite %s value (entry %zu)", what, i);
            return NULL;
        }
        x[i] = f;
    }
    return x;
}

/* Magic, byte order, version, and the size the header records against the
 * file's `size`; with the whole file in r, its CRC too. */
static int check_header(Reader *r, uint64_t size)
{
    if (r->len < 8 || memcmp(r->p, magic, 8) != 0) {
        cn_errorf(r->err, "%s is not a charnn checkpoint (bad magic number)", r->name);
        r->failed = 1;
        return -1;
    }
    r->at = 8;
    uint32_t version = get_u32(r), bom = get_u32(r);
    uint64_t total = get_u64(r);
    if (bom == 0x04030201u)
        return bad(r, "was written with big-endian byte order; charnn checkpoints are "
                      "little-endian, so convert it or re-save it with charnn");
    if (bom != BOM)
        return bad(r, "has a corrupted byte-order mark");
    if (version == 0)
        return bad(r, "has format version 0, which no charnn writes: the file is damaged");
    if (version > CN_CHECKPOINT_VERSION)
        return bad(r, "is format version %u, but this charnn reads versions 1 to %d; use a newer "
                   "charnn", version, CN_CHECKPOINT_VERSION);
    r->version = version;
    if (total != size)
        return bad(r, "is %llu bytes but should be %llu: %s", (unsigned long long)size,
                   (unsigned long long)total,
                   total > size ? "truncated (an interrupted copy?)" : "it has trailing bytes");
    if (r->len != size)
        return 0;
    uint32_t stored = (uint32_t)r->p[r->len - 4] | (uint32_t)r->p[r->len - 3] << 8 |
                      (uint32_t)r->p[r->len - 2] << 16 | (uint32_t)r->p[r->len - 1] << 24;
    if (cn_crc32(0, r->p, r->len - 4) != stored)
        return bad(r, "fails its CRC-32 check: the file is corrupted");
    return 0;
}

/* The fields of the file's version into shape and st, each checked against
 * its range; then what relates them. */
static int read_fields(Reader *r, CnShape *shape, CnTrainState *st)
{
    for (const CnField *f = cn_fields; f->name; f++) {
        if (f->since > r->version)
            continue;
        char *v = cn_field_at(f, shape, st);
        for (int k = 0; k < f->count; k++) {
            double x = 0;
            char text[32];
            switch (f->type) {
            case CN_F_INT:
            case CN_F_U32: {
                uint32_t u = get_u32(r);
                x = u;
                snprintf(text, sizeof text, "%u", (unsigned)u);
                if (f->type == CN_F_INT)
                    ((int *)v)[k] = (int)(u > INT32_MAX ? -1 : (int32_t)u);
                else
                    ((uint32_t *)v)[k] = u;
                break;
            }
            case CN_F_U64: {
                uint64_t u = get_u64(r);
                x = (double)u;
                snprintf(text, sizeof text, "%llu", (unsigned long long)u);
                ((uint64_t *)v)[k] = u;
                break;
            }
            case CN_F_REAL:
                x = ((double *)v)[k] = get_f64(r);
                snprintf(text, sizeof text, "%g", x);
                break;
            }
            /* the configuration is checked whole below (a model saved alone has none) */
            if (!r->failed && f->part != CN_IN_CONFIG && !cn_field_holds(f, x))
                return bad(r, "has an out-of-range %s (%s): the file is damaged", f->name, text);
        }
    }
    if (r->failed)
        return -1;
    CnError why;
    if (st->cfg.batch != 0 && cn_config_check(&st->cfg, &why) != 0)
        return bad(r, "has a training configuration out of range (%s): the file is damaged",
                   why.msg);
    const CnProgress *p = &st->p;
    if (p->chunk > p->iteration || st->optim_t > p->iteration || p->epoch > p->iteration ||
        p->best_iteration > p->iteration)
        return bad(r, "has invalid progress counters");
    return 0;
}

int cn_checkpoint_parse(const void *data, size_t n, const char *name, CnModel *m,
                        CnTrainState *st, CnError *err)
{
    Reader r = {.p = data, .len = n, .name = name, .err = err};
    memset(m, 0, sizeof *m);
    CnTrainState s;
    memset(&s, 0, sizeof s);
    if (check_header(&r, n) != 0)
        return -1;
    CnShape shape;
    if (read_fields(&r, &shape, &s) != 0)
        return -1;
    s.p.version = r.version;
    const CnTrainConfig *c = &s.cfg;
    uint32_t V = (uint32_t)shape.vocab;
    if ((size_t)V > (r.len - r.at) / 4)
        return bad(&r, "is truncated");
    uint32_t *chars = malloc((size_t)V * sizeof *chars);
    if (!chars)
        return bad(&r, "is too large for this machine's memory");
    for (uint32_t k = 0; k < V; k++)
        chars[k] = get_u32(&r);
    CnVocab vocab;
    if (cn_vocab_from_chars(&vocab, chars, (int)V, err) != 0) {
        cn_errorf(err, "%s: checkpoint has an invalid vocabulary: %s", name, err->msg);
        return -1;
    }
    m->shape = shape;
    m->vocab = vocab;
    m->nparams = cn_shape_nparams(&shape);
    if (m->nparams == 0) {
        bad(&r, "has a shape too large for this machine");
        goto fail;
    }
    m->params = get_reals(&r, get_count(&r, m->nparams, m->nparams, "parameter"), "parameter");
    if (!m->params)
        goto fail;
    cn_view_init(&m->w, &shape, m->params);
    size_t optim_len = m->nparams * (size_t)cn_optim_slots(c->optim.kind);
    s.optim_len = get_count(&r, optim_len, 0, "optimizer state");
    s.optim_state = get_reals(&r, s.optim_len, "optimizer state");
    size_t state_len = cn_state_values(&shape, c->batch > 0 ? c->batch : 0);
    s.state_len = get_count(&r, state_len, 0, "carried state");
    s.state = get_reals(&r, s.state_len, "carried state");
    take(&r, 4); /* CRC, checked above */
    if (!r.failed && r.at != r.len)
        bad(&r, "has unexpected bytes before its checksum");
    if (r.failed)
        goto fail;
    if (st)
        *st = s;
    else
        cn_train_state_free(&s);
    return 0;
fail:
    cn_train_state_free(&s);
    cn_model_release(m);
    return -1;
}

/* Before a file of `size` bytes is read whole: its first bytes (head, n of
 * them) must describe a checkpoint of exactly that size, with or without
 * its optimizer and carried state. A huge, sparse or damaged file is
 * refused without reading the rest. */
static int check_size(const unsigned char *head, size_t n, uint64_t size, const char *name,
                      CnError *err)
{
    Reader r = {.p = head, .len = n, .name = name, .err = err};
    CnShape shape;
    CnTrainState st;
    memset(&st, 0, sizeof st);
    if (check_header(&r, size) != 0)
        return -1;
    if (n < fixed_size(r.version))
        return bad(&r, "is truncated");
    if (read_fields(&r, &shape, &st) != 0)
        return -1;
    size_t P = cn_shape_nparams(&shape);
    if (P == 0)
        return bad(&r, "has a shape too large for this machine");
    uint64_t V = (uint64_t)shape.vocab, O = P * (uint64_t)cn_optim_slots(st.cfg.optim.kind);
    uint64_t S = cn_state_values(&shape, st.cfg.batch);
    for (int k = 0; k < 4; k++)
        if (size == file_size(r.version, V, P + (k & 1 ? O : 0) + (k & 2 ? S : 0)))
            return 0;
    return bad(&r, "is %llu bytes, which no model of its shape (%s, %d layers x %d, %d "
               "characters) takes: the file is damaged", (unsigned long long)size,
               cn_cell_names[shape.cell], shape.layers, shape.hidden, shape.vocab);
}

/* Reads n bytes of fd into buf; returns how many it got. */
static size_t read_fully(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

int cn_checkpoint_read(const char *path, CnModel *m, CnTrainState *st, CnError *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        cn_errorf(err, "cannot open checkpoint %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cn_errorf(err, "%s is not a regular file; give a checkpoint file", path);
        close(fd);
        return -1;
    }
    unsigned char head[512];
    size_t n = (size_t)sb.st_size, got = read_fully(fd, head, n < sizeof head ? n : sizeof head);
    if (check_size(head, got, (uint64_t)sb.st_size, path, err) != 0) {
        close(fd);
        memset(m, 0, sizeof *m);
        return -1;
    }
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        cn_errorf(err, "out of memory reading %s", path);
        close(fd);
        return -1;
    }
    memcpy(buf, head, got);
    got += read_fully(fd, buf + got, n - got);
    close(fd);
    int rc = cn_checkpoint_parse(buf, got, path, m, st, err);
    free(buf);
    return rc;
}

void cn_train_state_free(CnTrainState *st)
{
    free(st->optim_state);
    free(st->state);
    st->optim_state = st->state = NULL;
    st->optim_len = st->state_len = 0;
}
