/* SPDX-License-Identifier: MIT */
/*
 * Random numbers: xoshiro256** (Blackman and Vigna), seeded by expanding a
 * 64-bit seed with splitmix64. Same sequence on every platform, 32 bytes of
 * state, which checkpoints save so that a resumed run draws what the
 * uninterrupted run would have drawn.
 */
#include "charnn.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
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
