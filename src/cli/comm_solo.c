/* SPDX-License-Identifier: MIT */
/*
 * The single-process build of the CLI's Comm (cli.h): one rank, nothing to
 * sum or send. The MPI build (make MPI=1) uses src/cli/comm_mpi.c instead.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

Comm cli_comm = {0, 1};

void comm_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
}

void comm_finish(void)
{
}

const char *comm_build(void)
{
    return "single process";
}

void comm_shard(int batch, CnShard *shard)
{
    *shard = (CnShard){.first = 0, .count = batch};
}

int comm_signal(void)
{
    return cli_signal != 0;
}

int comm_agree(int ok)
{
    return ok;
}

void comm_broadcast(int *v, int n)
{
    (void)v, (void)n;
}

void comm_broadcast_doubles(double *v, int n)
{
    (void)v, (void)n;
}

int comm_same(uint32_t value)
{
    (void)value;
    return 1;
}

CnReal *comm_gather_state(const CnTrainer *tr, const CnShard *shard, size_t *len)
{
    (void)shard; /* all of the batch */
    const CnReal *mine = cn_trainer_carried(tr, len);
    CnReal *state = malloc(*len * sizeof *state);
    if (state)
        memcpy(state, mine, *len * sizeof *state);
    return state;
}

double comm_reduce_seconds(uint64_t *calls, double *during)
{
    *calls = 0;
    *during = 0;
    return 0;
}
