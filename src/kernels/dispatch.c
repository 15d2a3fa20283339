/* SPDX-License-Identifier: MIT */
/*
 * Which build of the kernels to run (kernels.h): the best one the CPU supports,
 * unless CHARNN_ISA names another, chosen once.
 */
#include "kernels.h"
#include "os.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && !defined(CHARNN_DOUBLE) && !defined(CHARNN_GENERIC_ONLY)
#define HAVE_X86_BUILDS 1
#include <cpuid.h>

/* x86-64-v3's scalar extras, which not every compiler's
 * __builtin_cpu_supports knows: BMI1, BMI2, LZCNT, MOVBE, F16C. */
static int has_v3_extras(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 22)) || !(c & (1u << 29)))
        return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 3)) || !(b & (1u << 8)))
        return 0;
    return __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 5));
}
#endif

/* AVX512_BF16: CPUID leaf 7, sub-leaf 1, EAX bit 5 (the OS's saving of the
 * AVX-512 registers is checked with the avx512 build's other features). */
int cn_cpu_bf16(void)
{
#ifdef HAVE_X86_BUILDS
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1)
        return 0;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
#else
    return 0;
#endif
}

int cn_bf16_native(void)
{
    return cn_mul_for(CN_BF16) == CN_MUL_BF16_NATIVE;
}

/* bf16 products: natively where the kernels in use and the CPU can, else
 * emulated. CHARNN_BF16 (tests) forces a way: emulate, or pairs (the native
 * layout with fused multiply-adds, on any CPU the AVX-512 kernels run on). */
CnMul cn_mul_for(CnPrecision precision)
{
    const char *force = getenv("CHARNN_BF16");
    if (precision != CN_BF16)
        return CN_MUL_FP32;
    if (force && strcmp(force, "emulate") == 0)
        return CN_MUL_BF16_EMULATED;
    if (!cn_isa()->bf16_pairs)
        return CN_MUL_BF16_EMULATED;
    if (force && strcmp(force, "pairs") == 0)
        return CN_MUL_BF16_PAIRS;
    return cn_cpu_bf16() ? CN_MUL_BF16_NATIVE : CN_MUL_BF16_EMULATED;
}

/* --precision auto. bf16 products pay where the products' multiply-adds
 * dominate and VDPBF16PS doubles their rate, provided the rounding and
 * packing around them stay small (charnn bench's phase table counts them).
 * No CPU has yet been measured training faster in bf16 than in fp32 (on a
 * Zen 5, before the packing was rebuilt, bf16 was slower: 0.37x to 0.91x),
 * so auto means fp32 until a side-by-side measurement, `charnn bench
 * --precision fp32` against `bf16` on that CPU, shows otherwise; then this
 * rule names that CPU and the shapes measured. */
CnPrecision cn_precision_auto(const CnShape *shape, int batch, const char **why)
{
    (void)shape, (void)batch;
    *why = cn_bf16_native() ? "bf16 has not been measured faster than fp32 on any CPU yet"
                            : "this CPU has no AVX512_BF16";
    return CN_FP32;
}

/* NEON (Advanced SIMD) is part of every AArch64 CPU: no check needed. */
#if defined(__aarch64__) && !defined(CHARNN_DOUBLE) && !defined(CHARNN_GENERIC_ONLY)
#define HAVE_NEON_BUILD 1
#endif

static int supported(const char *name)
{
    if (strcmp(name, "generic") == 0)
        return 1;
#ifdef HAVE_X86_BUILDS
    /* the builtin also checks that the OS saves the vector registers */
    __builtin_cpu_init();
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_v3_extras();
    if (strcmp(name, "avx2") == 0)
        return v3;
    if (strcmp(name, "avx512") == 0)
        return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
#endif
#ifdef HAVE_NEON_BUILD
    if (strcmp(name, "neon") == 0)
        return 1;
#endif
    return 0;
}

const CnIsa *cn_isa_named(const char *name)
{
    if (!supported(name))
        return NULL;
#ifdef HAVE_X86_BUILDS
    if (strcmp(name, "avx512") == 0)
        return &cn_isa_avx512;
    if (strcmp(name, "avx2") == 0)
        return &cn_isa_avx2;
#endif
#ifdef HAVE_NEON_BUILD
    if (strcmp(name, "neon") == 0)
        return &cn_isa_neon;
#endif
    return &cn_isa_generic;
}

/* The table in use; threads that find none pick the same one, and store it
 * atomically. */
static const CnIsa *_Atomic chosen;

void cn_isa_use(const CnIsa *isa)
{
    atomic_store(&chosen, isa);
}

const CnIsa *cn_isa(void)
{
    const CnIsa *isa = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (!isa) {
        const char *want = getenv("CHARNN_ISA");
        isa = want ? cn_isa_named(want) : NULL;
        if (!isa)
            isa = cn_isa_named("avx512");
        if (!isa)
            isa = cn_isa_named("avx2");
        if (!isa)
            isa = cn_isa_named("neon");
        if (!isa)
            isa = &cn_isa_generic;
        atomic_store_explicit(&chosen, isa, memory_order_relaxed);
    }
    return isa;
}

const char *cn_version(void)
{
    return CHARNN_VERSION;
}

const char *cn_kernels_name(void)
{
    return cn_isa()->name;
}

typedef struct {
    const CnIsa *isa;
    int64_t rounds;
    _Atomic int sink; /* keeps the loops' results alive */
} PeakRun;

static void peak_task(void *ctx, int tid, int nthreads)
{
    PeakRun *r = ctx;
    (void)tid, (void)nthreads;
    atomic_fetch_add(&r->sink, r->isa->fma_loop(r->rounds) > 0);
}

double cn_fma_peak(int threads, double seconds)
{
    CnPool *pool = NULL;
    if (threads < 1)
        threads = 1;
    if (threads > 1 && cn_pool_create(&pool, threads) != 0)
        return 0;
    PeakRun r = {.isa = cn_isa(), .rounds = 1 << 16};
    double t = 0;
    for (;;) { /* grow the loop until it runs long enough to time */
        double t0 = cn_seconds();
        cn_pool_run(pool, peak_task, &r);
        t = cn_seconds() - t0;
        if (t >= seconds || r.rounds > ((int64_t)1 << 40))
            break;
        r.rounds = t < seconds / 16 ? r.rounds * 16 : (int64_t)((double)r.rounds * seconds / t) + 1;
    }
    cn_pool_destroy(pool);
    return t > 0 ? (double)threads * (double)r.rounds * r.isa->fma_flops / t / 1e9 : 0;
}

int cn_cpu_count(void)
{
    return os_cpu_count();
}

uint64_t cn_physical_memory(void)
{
    return os_physical_memory();
}

int cn_cell_gates(CnCell cell)
{
    return cell == CN_RNN ? 1 : cell == CN_GRU ? 3 : 4;
}

const char *cn_gate_name(CnCell cell, int g)
{
    static const char *const names[4][4] = {[CN_RNN] = {"h"},
                                            [CN_LSTM] = {"i", "f", "o", "g"},
                                            [CN_PEEPHOLE] = {"i", "f", "o", "g"},
                                            [CN_GRU] = {"r", "u", "n"}};
    if ((unsigned)cell > CN_GRU || g < 0 || g >= cn_cell_gates(cell))
        return NULL;
    return names[cell][g];
}

int cn_threads_for(const CnShape *s, int B, int max)
{
    /* below ~256k multiply-adds a step is a few microseconds of work, less
     * than what a barrier per step costs */
    double macs = (double)B * s->hidden * cn_cell_gates(s->cell) * s->hidden;
    int panels = (s->hidden + cn_isa()->nr - 1) / cn_isa()->nr;
    int n = macs < 262144.0 ? 1 : max < panels ? max : panels;
    return n < 1 ? 1 : n;
}
