/* SPDX-License-Identifier: MIT */
/*
 * A small pool of persistent threads for data-parallel kernels. The caller
 * is thread 0 and takes part in every task; workers wait for the next task
 * by spinning briefly, then sleeping on a condition variable. Inside a task,
 * cn_pool_barrier() waits for every thread (a sense-reversing barrier).
 * Work is always split by output ranges that do not depend on timing, so
 * results are the same whatever the number of threads.
 */
#include "kernels.h"
#include "os.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

double cn_seconds(void)
{
    return os_seconds();
}

const char *cn_phase_name(CnPhase phase)
{
    static const char *const names[CN_PHASES] = {
        "recurrent products", "rest of the cells", "input layer", "output layer",
        "clip and update", "other"};
    return phase < CN_PHASES ? names[phase] : "?";
}

/* pause ~2k times (tens of microseconds), then yield, then sleep */
enum { SPINS_BEFORE_YIELD = 1 << 11, SPINS_BEFORE_SLEEP = 1 << 14 };

struct CnPool {
    int n;                      /* threads, the caller included */
    OsThread *workers;         /* (n - 1) */
    CnTask task;
    void *ctx;
    atomic_uint generation;     /* bumped to start a task; odd values never used */
    atomic_int finished;        /* workers done with the current task */
    atomic_int quit;
    atomic_int sleepers;        /* workers waiting on wake */
    OsMutex lock;
    OsCond wake;
    /* the barrier, on a cache line of its own: it is hit once per step */
    _Alignas(64) atomic_int barrier_count; /* threads arrived at the current barrier */
    atomic_int barrier_sense;
    char pad[64 - 2 * sizeof(atomic_int)];
};

typedef struct {
    CnPool *pool;
    int tid;
} Worker;

static void cpu_relax(unsigned spins)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (spins > SPINS_BEFORE_YIELD)
        os_yield();
}

/* Waits until the pool's generation differs from seen; returns it. */
static unsigned wait_for_task(CnPool *p, unsigned seen)
{
    unsigned gen;
    for (unsigned spins = 0; (gen = atomic_load_explicit(&p->generation,
                                                         memory_order_acquire)) == seen;) {
        if (++spins < SPINS_BEFORE_SLEEP) {
            cpu_relax(spins);
            continue;
        }
        os_mutex_lock(&p->lock);
        atomic_fetch_add(&p->sleepers, 1);
        while (atomic_load(&p->generation) == seen)
            os_cond_wait(&p->wake, &p->lock);
        atomic_fetch_sub(&p->sleepers, 1);
        os_mutex_unlock(&p->lock);
    }
    return gen;
}

static void *worker_main(void *arg)
{
    Worker *w = arg;
    CnPool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_task(p, seen);
        if (atomic_load(&p->quit))
            break;
        p->task(p->ctx, w->tid, p->n);
        atomic_fetch_add_explicit(&p->finished, 1, memory_order_release);
    }
    free(w);
    return NULL;
}

int cn_pool_create(CnPool **out, int nthreads)
{
    *out = NULL;
    if (nthreads < 1 || nthreads > 1024) {
        errno = EINVAL;
        return -1;
    }
    CnPool *p = os_aligned_alloc(64, sizeof *p);
    if (p)
        memset(p, 0, sizeof *p);
    if (!p || (nthreads > 1 && !(p->workers = calloc((size_t)nthreads - 1, sizeof(OsThread))))) {
        os_aligned_free(p);
        errno = ENOMEM;
        return -1;
    }
    p->n = 1;
    os_mutex_init(&p->lock);
    os_cond_init(&p->wake);
    for (int t = 1; t < nthreads; t++) {
        Worker *w = malloc(sizeof *w);
        if (w)
            *w = (Worker){p, t};
        int rc = w ? os_thread_start(&p->workers[t - 1], worker_main, w) : ENOMEM;
        if (rc != 0) {
            free(w);
            cn_pool_destroy(p);
            errno = rc;
            return -1;
        }
        p->n++;
    }
    *out = p;
    return 0;
}

/* Starts the task on every worker and runs it as thread 0. */
void cn_pool_run(CnPool *p, CnTask task, void *ctx)
{
    if (!p || p->n == 1) {
        task(ctx, 0, 1);
        return;
    }
    p->task = task;
    p->ctx = ctx;
    atomic_store(&p->finished, 0);
    os_mutex_lock(&p->lock);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (atomic_load(&p->sleepers))
        os_cond_broadcast(&p->wake);
    os_mutex_unlock(&p->lock);
    task(ctx, 0, p->n);
    for (unsigned spins = 0;
         atomic_load_explicit(&p->finished, memory_order_acquire) != p->n - 1;)
        cpu_relax(++spins);
}

void cn_pool_barrier(CnPool *p)
{
    if (!p || p->n == 1)
        return;
    int sense = atomic_load_explicit(&p->barrier_sense, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&p->barrier_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->barrier_count, 0, memory_order_relaxed);
        atomic_store_explicit(&p->barrier_sense, !sense, memory_order_release);
        return;
    }
    for (unsigned spins = 0;
         atomic_load_explicit(&p->barrier_sense, memory_order_acquire) == sense;)
        cpu_relax(++spins);
}

int cn_pool_size(const CnPool *p)
{
    return p ? p->n : 1;
}

void cn_pool_destroy(CnPool *p)
{
    if (!p)
        return;
    if (p->n > 1) {
        atomic_store(&p->quit, 1);
        os_mutex_lock(&p->lock);
        atomic_fetch_add(&p->generation, 1);
        os_cond_broadcast(&p->wake);
        os_mutex_unlock(&p->lock);
        for (int t = 1; t < p->n; t++)
            os_thread_join(&p->workers[t - 1]);
    }
    os_mutex_destroy(&p->lock);
    os_cond_destroy(&p->wake);
    free(p->workers);
    os_aligned_free(p);
}
