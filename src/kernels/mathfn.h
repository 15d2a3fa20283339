/* SPDX-License-Identifier: MIT */
/*
 * exp, sigmoid and tanh for the per-instruction-set kernels: branch-free C
 * that compilers vectorize, so a row of gates costs a few instructions per
 * element instead of a libm call each. In the double-precision build (the
 * gradient checks) they are libm's.
 *
 * exp: x = n ln2 + r with |r| <= ln2/2 (n by rounding, ln2 split in two for
 * an exact product), e^r by the degree-7 polynomial of Cephes' expf, times
 * 2^n built in the exponent bits. x is clamped to [-87.3, 88.3] so 2^n stays
 * a normal float: e^x for x < -87.3 comes out as 1.2e-38 instead of a
 * smaller denormal, which no sum or sigmoid here can tell apart. Relative
 * error below 2e-7 (test_kernels measures it against libm).
 * tanh: the odd polynomial of Cephes' tanhf for |x| < 0.625, where
 * 1 - 2/(e^2x + 1) would lose relative accuracy; that formula elsewhere.
 * The clamps and tanh's choice of formula are bitwise selects (cn_pick):
 * written as ?:, GCC turns them into branches (threading the clamped,
 * constant case, computing each formula only where it is taken), and a
 * loop with branches around floating-point arithmetic does not vectorize.
 */
#ifndef CHARNN_MATHFN_H
#define CHARNN_MATHFN_H

#include "kernels.h"

#include <stdint.h>

#ifdef CHARNN_DOUBLE

static inline CnReal cn_fexp(CnReal x)
{
    return exp(x);
}

static inline CnReal cn_ftanh(CnReal x)
{
    return tanh(x);
}

#else

/* c ? a : b, bit for bit, without a branch. */
static inline float cn_pick(int c, float a, float b)
{
    union {
        float f;
        uint32_t u;
    } ua = {.f = a}, ub = {.f = b}, r;
    uint32_t m = -(uint32_t)(c != 0);
    r.u = (ua.u & m) | (ub.u & ~m);
    return r.f;
}

static inline float cn_fexp(float x)
{
    x = cn_pick(x < -87.3f, -87.3f, x);
    x = cn_pick(x > 88.3f, 88.3f, x);
    /* n = round(x / ln2): adding 1.5 * 2^23 leaves no fraction bits */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;  /* ln2 high part: n * it is exact */
    r = r - n * -2.12194440e-4f;      /* ln2 low part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    union {
        int32_t i;
        float f;
    } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}

static inline float cn_ftanh(float x)
{
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * x + x;
    float big = 1.0f - 2.0f / (cn_fexp(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    return cn_pick(ax < 0.625f, small, big);
}

#endif

static inline CnReal cn_fsigmoid(CnReal x)
{
    return 1 / (1 + cn_fexp(-x));
}

#endif /* CHARNN_MATHFN_H */
