/* Float helpers that keep loops vectorisable (internal to tensor/): a
 * branch-free select, a polynomial exp and a NaN-propagating max, shared by
 * the softmax-style kernels (cross-entropy, InfoNCE, attention), a
 * polynomial erf (GELU), and the mark that
 * compiles a row loop for the widest vectors the CPU has (InfoNCE, batch
 * norm). */
#ifndef TG_EXP_LANE_H
#define TG_EXP_LANE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The library is built for baseline x86-64: a function marked
 * TG_WIDEST_VECTORS is compiled for AVX-512, AVX2 and the baseline, and the
 * loader picks one. Its loops fix the lanes, not the vector width, and
 * nothing is contracted into FMAs (-std=c11), so every version gives the
 * same bits. */
#if defined(__x86_64__) && !defined(__clang__)
#define TG_WIDEST_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG_WIDEST_VECTORS
#endif

/* cond ? a : b, chosen on the bits: under -ftrapping-math (the default) a
 * float select after arithmetic keeps GCC from vectorising the loop. */
static inline float pick(bool cond, float a, float b)
{
    uint32_t m = (uint32_t) - (int32_t)cond, ab, bb;
    memcpy(&ab, &a, sizeof ab);
    memcpy(&bb, &b, sizeof bb);
    ab = (ab & m) | (bb & ~m);
    memcpy(&a, &ab, sizeof a);
    return a;
}

/* exp(x) in float without a libm call, so loops over it vectorise: Cephes'
 * expf (2^n times a degree-6 polynomial on |r| <= ln2/2; within 2 ulp of
 * expf). Arguments here are x - max or x - lse, at most about 0: below
 * -87.3 (where floats turn subnormal) it gives 0, above 88 it stays at
 * e^88, and a NaN stays NaN. */
static inline float exp_lane(float x)
{
    float xc = pick(x > 88.0f, 88.0f, pick(x >= -87.3f, x, -87.3f)); /* NaN: -87.3, for a finite n */
    float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;        /* round to nearest */
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return pick(x >= -87.3f, p * scale, pick(isnan(x), x, 0.0f));
}

/* erf(x) in float without a libm call: x P(x^2) for |x| < 1, else
 * sign(x) (1 - exp(-x^2) Q(1 / |x|)), P and Q least-squares fits in double
 * (relative error 4e-9 on [0, 1], erfc's absolute error 1.2e-9 on
 * [1, 4]); beyond 4 erf is 1 in float. Within 2.5 ulp of erf; erf(+-inf)
 * is +-1 and a NaN stays NaN. */
static inline float erf_lane(float x)
{
    float y = x * x, a = fabsf(x);
    float p = 7.971048431126837e-05f;
    p = p * y - 8.043374016094007e-04f;
    p = p * y + 5.191833298639953e-03f;
    p = p * y - 2.6855509263350577e-02f;
    p = p * y + 1.1283622048334421e-01f;
    p = p * y - 3.761262873563916e-01f;
    p = p * y + 1.1283791660958757f;
    float t = 1.0f / (a > 1.0f ? a : 1.0f);
    float q = -1.892276332610962e-02f;
    q = q * t + 1.2464275359624027e-01f;
    q = q * t - 3.5946157291773184e-01f;
    q = q * t + 5.781054677035781e-01f;
    q = q * t - 5.048978652870979e-01f;
    q = q * t + 4.9556876552179e-02f;
    q = q * t + 5.582802226448094e-01f;
    q = q * t + 2.8045429674730996e-04f;
    float tail = 1.0f - exp_lane(-y) * q;
    return pick(a < 1.0f, x * p, copysignf(tail, x));
}

/* The larger of m and v, or NaN if either is. */
static inline float max_nan(float m, float v) { return v > m || isnan(v) ? v : m; }

#endif
