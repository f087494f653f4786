/* Clock and median for the benchmark programs of bench/. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

/* Seconds on the monotonic clock. */
double bench_now(void);
/* Median of v[0..n-1] (v is left as it was); -1 if out of memory. */
double bench_median(const double *v, int n);

#endif
