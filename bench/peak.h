/* What this machine can do at most, measured by the benchmark itself, so
 * that a step's arithmetic rate can be read against it: fp32 fused
 * multiply-adds from registers (no memory traffic) and a streaming copy
 * through arrays far larger than any cache. Also the CPU's name. */
#ifndef BENCH_PEAK_H
#define BENCH_PEAK_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *isa;      /* the FMA loop's instructions: "avx512f", "avx2+fma" or "scalar" (mul and add) */
    int threads;          /* the thread count of fma_gflops and copy_gbs */
    double fma_gflops_1t; /* the FMA loop on one thread, GFLOP/s (2 FLOPs a lane's FMA) */
    double fma_gflops;    /* the same on threads threads at once */
    double copy_gbs;      /* the streaming copy on threads threads: bytes read + written, GB/s */
} bench_peak;

/* Measures *peak at threads threads (OpenMP; 1 and threads for the FMA
 * loop), the best of a few short repetitions, about 1-2 s in all. Returns
 * -1 when the copy's arrays cannot be had (the FMA rates are still set,
 * copy_gbs 0). */
int bench_peak_measure(int threads, bench_peak *peak);

/* One line on f: "measured peak: " and the rates of *peak. */
void bench_peak_print(FILE *f, const bench_peak *peak);

/* "MODEL NAME (family F, model M)" from /proc/cpuinfo into buf (size
 * bytes), "unknown CPU" where it cannot be read. */
void bench_cpu_model(char *buf, size_t size);

#endif
