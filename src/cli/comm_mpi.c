/* SPDX-License-Identifier: MIT */
/*
 * The MPI build of the CLI's Comm (cli.h), compiled only with make MPI=1
 * (mpicc). Each rank trains a contiguous share of the batch's streams; one
 * MPI_Iallreduce per part of the flat gradient array sums it, started as
 * soon as the backward pass has finished that part (the output layer's
 * first, then each layer's from the top: CnShard's ready) so that the sums
 * travel while the layers below are computed, and completed after the pass;
 * an MPI_Allreduce of a few doubles then sums the loss and each rank's "saw
 * a signal" flag. CHARNN_MPI_OVERLAP=0 sums all of it after the pass. Rank 0's
 * decisions are broadcast; the carried state is gathered on rank 0 for
 * checkpoints, which therefore resume on any number of ranks.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <limits.h>
#include <stdint.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#ifdef CHARNN_DOUBLE
#define MPI_REAL_TYPE MPI_DOUBLE
#else
#define MPI_REAL_TYPE MPI_FLOAT
#endif

Comm cli_comm = {0, 1};
static int signal_anywhere;
static double reduce_seconds, ready_seconds;
static uint64_t reduce_calls;

/* The sums started during this backward pass: grads[started_from, n). */
enum { MAX_PENDING = 64 };
static MPI_Request pending[MAX_PENDING];
static int npending;
static size_t started_from = SIZE_MAX;
static char build[MPI_MAX_LIBRARY_VERSION_STRING + 64];

void comm_init(int *argc, char ***argv)
{
    int provided; /* only the main thread calls MPI, also while workers compute */
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &cli_comm.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &cli_comm.size);
}

void comm_finish(void)
{
    MPI_Finalize();
}

const char *comm_build(void)
{
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, ",\n")] = '\0';
    snprintf(build, sizeof build, "MPI (%s), %d rank%s", lib, cli_comm.size,
             cli_comm.size == 1 ? "" : "s");
    return build;
}

/* Starts summing grads[offset, offset + n), in pieces of at most INT_MAX
 * values (MPI counts are int), and moves the sums already under way along
 * (Open MPI progresses them only inside MPI calls). */
static void ready(void *ctx, CnReal *grads, size_t offset, size_t n)
{
    (void)ctx;
    double t0 = MPI_Wtime();
    for (size_t done = 0; done < n;) {
        int count = n - done > (size_t)INT_MAX ? INT_MAX : (int)(n - done);
        if (npending == MAX_PENDING) /* never for a model that fits in memory */
            MPI_Allreduce(MPI_IN_PLACE, grads + offset + done, count, MPI_REAL_TYPE, MPI_SUM,
                          MPI_COMM_WORLD);
        else
            MPI_Iallreduce(MPI_IN_PLACE, grads + offset + done, count, MPI_REAL_TYPE, MPI_SUM,
                           MPI_COMM_WORLD, &pending[npending++]);
        done += (size_t)count;
    }
    if (offset < started_from)
        started_from = offset;
    int flag;
    MPI_Testall(npending, pending, &flag, MPI_STATUSES_IGNORE);
    ready_seconds += MPI_Wtime() - t0;
}

/* Completes the sums the backward pass started, sums what it did not,
 * then the scalars with this rank's signal flag. */
static void reduce(void *ctx, CnReal *grads, size_t n, double *scalars, int nscalars)
{
    (void)ctx;
    double t0 = MPI_Wtime();
    MPI_Waitall(npending, pending, MPI_STATUSES_IGNORE);
    npending = 0;
    size_t rest = started_from < n ? started_from : n;
    started_from = SIZE_MAX;
    for (size_t done = 0; done < rest;) {
        int count = rest - done > (size_t)INT_MAX ? INT_MAX : (int)(rest - done);
        MPI_Allreduce(MPI_IN_PLACE, grads + done, count, MPI_REAL_TYPE, MPI_SUM, MPI_COMM_WORLD);
        done += (size_t)count;
    }
    double buf[8];
    int k = nscalars < 7 ? nscalars : 7;
    memcpy(buf, scalars, (size_t)k * sizeof *buf);
    buf[k] = cli_signal != 0;
    MPI_Allreduce(MPI_IN_PLACE, buf, k + 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    memcpy(scalars, buf, (size_t)k * sizeof *buf);
    signal_anywhere |= buf[k] > 0;
    reduce_seconds += MPI_Wtime() - t0;
    reduce_calls++;
}

void comm_shard(int batch, CnShard *shard)
{
    int first = (int)((long long)batch * cli_comm.rank / cli_comm.size);
    int next = (int)((long long)batch * (cli_comm.rank + 1) / cli_comm.size);
    /* every rank must start the same sums: rank 0's environment decides */
    const char *env = getenv("CHARNN_MPI_OVERLAP");
    int overlap = !(env && strcmp(env, "0") == 0);
    comm_broadcast(&overlap, 1);
    *shard = (CnShard){.first = first, .count = next - first,
                       .reduce = cli_comm.size > 1 ? reduce : NULL,
                       .ready = cli_comm.size > 1 && overlap ? ready : NULL};
}

int comm_signal(void)
{
    return signal_anywhere || (cli_comm.size == 1 && cli_signal);
}

int comm_agree(int ok)
{
    int all = ok;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

void comm_broadcast(int *v, int n)
{
    MPI_Bcast(v, n, MPI_INT, 0, MPI_COMM_WORLD);
}

void comm_broadcast_doubles(double *v, int n)
{
    MPI_Bcast(v, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

int comm_same(uint32_t value)
{
    unsigned lo = value, hi = value;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

CnReal *comm_gather_state(const CnTrainer *tr, const CnShard *shard, size_t *len)
{
    const CnShape shape = cn_model_shape(cn_trainer_model(tr)), *s = &shape;
    int batch = cn_trainer_config(tr)->batch;
    size_t mine_len;
    const CnReal *mine_state = cn_trainer_carried(tr, &mine_len);
    int mine = (int)mine_len;
    /* each rank's (first, count) and rows, on rank 0 */
    int me[2] = {shard->first, shard->count}, *shares = NULL, *counts = NULL, *displs = NULL;
    CnReal *all = NULL, *state = NULL;
    *len = cn_state_values(s, batch);
    if (cli_comm.rank == 0) {
        shares = malloc(2 * (size_t)cli_comm.size * sizeof *shares);
        counts = malloc((size_t)cli_comm.size * sizeof *counts);
        displs = malloc((size_t)cli_comm.size * sizeof *displs);
        all = malloc(*len * sizeof *all);
        state = malloc(*len * sizeof *state);
        if (!shares || !counts || !displs || !all || !state) {
            cli_error("out of memory gathering the carried state");
            MPI_Abort(MPI_COMM_WORLD, EXIT_ERROR);
        }
    }
    MPI_Gather(me, 2, MPI_INT, shares, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if (cli_comm.rank == 0)
        for (int r = 0, at = 0; r < cli_comm.size; r++) {
            counts[r] = (int)cn_state_values(s, shares[2 * r + 1]);
            displs[r] = at;
            at += counts[r];
        }
    MPI_Gatherv(mine_state, mine, MPI_REAL_TYPE, all, counts, displs, MPI_REAL_TYPE, 0,
                MPI_COMM_WORLD);
    if (cli_comm.rank == 0)
        for (int r = 0; r < cli_comm.size; r++)
            cn_state_place(state, all + displs[r], s, batch, shares[2 * r], shares[2 * r + 1]);
    free(shares);
    free(counts);
    free(displs);
    free(all);
    return state;
}

double comm_reduce_seconds(uint64_t *calls, double *during)
{
    *calls = reduce_calls;
    *during = ready_seconds;
    return reduce_seconds;
}
