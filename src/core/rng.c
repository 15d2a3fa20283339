/* SPDX-License-Identifier: MIT */
/*
 * Random numbers: xoshiro256** (Blackman and Vigna), seeded by expanding a
 * 64-bit seed with splitmix64. Same sequence on every platform, 32 bytes of
 * state, which checkpoints save so that a resumed run draws what the
 * uninterrupted run would have drawn.
 */
#include "core.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cn_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64: the next of the sequence x, x + g, x + 2g, ... mixed */
static uint64_t splitmix64(uint64_t *x)
{
    return cn_mix64(*x += CN_GOLDEN);
}

void cn_rng_seed(CnRng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t cn_rng_next(CnRng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cn_rng_uniform(CnRng *rng)
{
    return (double)(cn_rng_next(rng) >> 11) * 0x1.0p-53;
}
