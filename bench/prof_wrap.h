/* The step profiler linked into prof_resnet and prof_contrastive (see
 * prof_wrap.c). */
#ifndef TG_BENCH_PROF_WRAP_H
#define TG_BENCH_PROF_WRAP_H

#include <stdio.h>

/* At least as many as the rows of the breakdown (prof_wrap.c checks). */
enum { PROF_MAX_ROWS = 96 };

/* A breakdown set aside: the time and calls of each row of the table,
 * summed over the steps added to it. Start from all zeros. */
typedef struct {
    double secs[PROF_MAX_ROWS];
    long calls[PROF_MAX_ROWS];
    double step_secs; /* the steps' own total */
    int steps;
} prof_breakdown;

void prof_reset(void);
void prof_step_begin(void);
void prof_step_end(void);
/* The breakdown per step since the last reset, as a Markdown table, then
 * per function, per convolution layer and per GEMM shape. */
void prof_print(FILE *f);
/* Adds the steps since the last reset to b: with a reset before each step,
 * steps of different kinds, interleaved, go to breakdowns of their own. */
void prof_breakdown_add(prof_breakdown *b);
/* Two breakdowns' tables side by side, ms per step of each, b minus a, and
 * calls per step of each: one row per row with time or calls in either,
 * largest difference first. */
void prof_print_pair(FILE *f, const prof_breakdown *a, const prof_breakdown *b, const char *name_a,
                     const char *name_b);

#endif
