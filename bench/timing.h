/* Clock and median for the benchmark programs of bench/. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

/* Seconds on the monotonic clock. */
double bench_now(void);
/* Seconds of CPU time used by all of the process's threads: on a machine
 * shared with busy neighbours, a steadier measure of work than the clock
 * (with OMP_WAIT_POLICY=passive, so that waiting threads sleep). */
double bench_cpu_now(void);
/* Median of v[0..n-1] (v is left as it was); -1 if out of memory. */
double bench_median(const double *v, int n);

#endif
