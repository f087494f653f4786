/* The machine's fp32 FMA peak and streaming-copy bandwidth, measured (see
 * peak.h). The FMA loop runs independent chains of fused multiply-adds in
 * registers, as many as it takes to hide the instruction's latency on
 * every FMA pipe; it uses intrinsics, as -std=c11 does not contract
 * a * b + c. The copy moves arrays of 256 MiB, far beyond any L3. */
#include "peak.h"

#include <immintrin.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

#define REPETITIONS 3          /* each measure is the best of these */
#define FMA_SECONDS 0.1        /* one timed run of the FMA loop */
#define CALIBRATION_SECONDS 0.02
#define COPY_BYTES ((size_t)256 << 20) /* each of the copy's two arrays */

/* The chains: AVX-512 has 32 registers, AVX2 16 (less the two constants). */
#define AVX512_CHAINS 16
#define AVX2_CHAINS 12
#define SCALAR_CHAINS 12

/* Each chain runs x = x * A + B, whose fixed point is 1: no overflow, no
 * denormals, however long it runs. */
#define MUL_A 0.999999f
#define ADD_B 1e-6f

/* iters rounds of one FMA per chain; the sum of the chains, so that the
 * compiler keeps them all. */
typedef float (*fma_loop_fn)(int64_t iters);

typedef struct {
    const char *isa;
    fma_loop_fn loop;
    int flops_per_round; /* chains x lanes x 2 */
} fma_kind;

static volatile float sink; /* where every loop's result goes */

__attribute__((target("avx512f"))) static float fma_loop_avx512(int64_t iters)
{
    const __m512 a = _mm512_set1_ps(MUL_A), b = _mm512_set1_ps(ADD_B);
    __m512 x[AVX512_CHAINS];
    for (int j = 0; j < AVX512_CHAINS; j++) x[j] = _mm512_set1_ps((float)j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < AVX512_CHAINS; j++) x[j] = _mm512_fmadd_ps(x[j], a, b);
    for (int j = 1; j < AVX512_CHAINS; j++) x[0] = _mm512_add_ps(x[0], x[j]);
    return _mm512_reduce_add_ps(x[0]);
}

__attribute__((target("avx2,fma"))) static float fma_loop_avx2(int64_t iters)
{
    const __m256 a = _mm256_set1_ps(MUL_A), b = _mm256_set1_ps(ADD_B);
    __m256 x[AVX2_CHAINS];
    for (int j = 0; j < AVX2_CHAINS; j++) x[j] = _mm256_set1_ps((float)j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < AVX2_CHAINS; j++) x[j] = _mm256_fmadd_ps(x[j], a, b);
    for (int j = 1; j < AVX2_CHAINS; j++) x[0] = _mm256_add_ps(x[0], x[j]);
    float lanes[8];
    _mm256_storeu_ps(lanes, x[0]);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

/* Without FMA: a multiply and an add, counted as the two FLOPs they are. */
static float fma_loop_scalar(int64_t iters)
{
    float x[SCALAR_CHAINS];
    for (int j = 0; j < SCALAR_CHAINS; j++) x[j] = (float)j;
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < SCALAR_CHAINS; j++) x[j] = x[j] * MUL_A + ADD_B;
    for (int j = 1; j < SCALAR_CHAINS; j++) x[0] += x[j];
    return x[0];
}

static fma_kind best_fma_kind(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return (fma_kind){"avx512f", fma_loop_avx512, AVX512_CHAINS * 16 * 2};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (fma_kind){"avx2+fma", fma_loop_avx2, AVX2_CHAINS * 8 * 2};
    return (fma_kind){"scalar", fma_loop_scalar, SCALAR_CHAINS * 2};
}

/* Rounds of the loop that take about FMA_SECONDS on one thread. */
static int64_t rounds_for_one_run(const fma_kind *k)
{
    for (int64_t iters = 1 << 12;; iters *= 2) {
        double t0 = bench_now();
        sink = k->loop(iters);
        double s = bench_now() - t0;
        if (s >= CALIBRATION_SECONDS) return (int64_t)((double)iters * FMA_SECONDS / s) + 1;
    }
}

/* GFLOP/s of the loop on threads threads at once, each running iters rounds. */
static double fma_gflops(const fma_kind *k, int threads, int64_t iters)
{
    double best = 0;
    for (int r = 0; r < REPETITIONS; r++) {
        float sum = 0;
        int team = 0;
        double t0 = bench_now();
#pragma omp parallel num_threads(threads) reduction(+ : sum, team)
        {
            sum += k->loop(iters);
            team += 1;
        }
        double s = bench_now() - t0;
        sink = sum;
        double gflops = (double)k->flops_per_round * (double)iters * team / s / 1e9;
        if (gflops > best) best = gflops;
    }
    return best;
}

/* This thread's share [*lo, *hi) of n bytes, in whole cache lines. */
static void my_slice(size_t n, size_t *lo, size_t *hi)
{
    size_t lines = n / 64, t = (size_t)omp_get_thread_num(), team = (size_t)omp_get_num_threads();
    *lo = lines * t / team * 64;
    *hi = t + 1 == team ? n : lines * (t + 1) / team * 64;
}

/* dst = src by every thread's slice; with fill, both set first instead
 * (so each thread's pages are its own from the first touch). */
static void copy_by_slices(char *dst, char *src, size_t n, int threads, bool fill)
{
#pragma omp parallel num_threads(threads)
    {
        size_t lo, hi;
        my_slice(n, &lo, &hi);
        if (fill) {
            memset(src + lo, 1, hi - lo);
            memset(dst + lo, 0, hi - lo);
        } else {
            memcpy(dst + lo, src + lo, hi - lo);
        }
    }
}

/* GB/s (read + written) of copying COPY_BYTES on threads threads; -1 when
 * the arrays cannot be had. */
static double copy_gbs(int threads)
{
    char *src = aligned_alloc(64, COPY_BYTES), *dst = aligned_alloc(64, COPY_BYTES);
    double best = src && dst ? 0 : -1;
    if (src && dst) copy_by_slices(dst, src, COPY_BYTES, threads, true);
    for (int r = 0; src && dst && r < REPETITIONS; r++) {
        double t0 = bench_now();
        copy_by_slices(dst, src, COPY_BYTES, threads, false);
        double gbs = 2.0 * (double)COPY_BYTES / (bench_now() - t0) / 1e9;
        if (gbs > best) best = gbs;
    }
    free(src);
    free(dst);
    return best;
}

int bench_peak_measure(int threads, bench_peak *peak)
{
    fma_kind k = best_fma_kind();
    int64_t iters = rounds_for_one_run(&k);
    peak->isa = k.isa;
    peak->threads = threads;
    peak->fma_gflops_1t = fma_gflops(&k, 1, iters);
    peak->fma_gflops = threads == 1 ? peak->fma_gflops_1t : fma_gflops(&k, threads, iters);
    peak->copy_gbs = copy_gbs(threads);
    if (peak->copy_gbs >= 0) return 0;
    peak->copy_gbs = 0;
    return -1;
}

void bench_peak_print(FILE *f, const bench_peak *peak)
{
    fprintf(f,
            "measured peak: FMA loop (%s) %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads; "
            "streaming copy %.1f GB/s (read + written) on %d threads\n",
            peak->isa, peak->fma_gflops_1t, peak->fma_gflops, peak->threads, peak->copy_gbs, peak->threads);
}

/* When line is "KEY<tabs or spaces>: VALUE\n": VALUE into out (size bytes). */
static bool take_field(const char *line, const char *key, char *out, size_t size)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n)) return false;
    const char *p = line + n + strspn(line + n, " \t");
    if (*p != ':') return false;
    p += 1 + strspn(p + 1, " \t");
    snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
    return true;
}

void bench_cpu_model(char *buf, size_t size)
{
    char name[256] = "unknown CPU", family[32] = "?", model[32] = "?", line[1024];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f) && line[0] != '\n') { /* the first processor's block */
        if (take_field(line, "model name", name, sizeof name)) continue;
        if (take_field(line, "cpu family", family, sizeof family)) continue;
        take_field(line, "model", model, sizeof model);
    }
    if (f) fclose(f);
    snprintf(buf, size, "%s (family %s, model %s)", name, family, model);
}
