/* The step profiler linked into prof_resnet and prof_contrastive (see
 * prof_wrap.c). */
#ifndef TG_BENCH_PROF_WRAP_H
#define TG_BENCH_PROF_WRAP_H

#include <stdint.h>
#include <stdio.h>

#include "peak.h"

/* At least as many as the rows of the breakdown (prof_wrap.c checks). */
enum { PROF_MAX_ROWS = 96 };
/* At most as many convolution layers (distinct shapes) are told apart. */
enum { PROF_MAX_LAYERS = 64 };
/* A convolution's passes: forward, input gradient, weight gradient. */
enum { PROF_PASSES = 3 };

/* What a kernel's calls came to, summed: seconds from call to return,
 * arithmetic in FLOPs and minimum memory traffic in bytes (prof_wrap.c's
 * head comment gives the conventions). */
typedef struct {
    double secs, flop, bytes;
} prof_cost;

/* A convolution layer: its input's channels, height and width, its output
 * channels, square kernel and stride. */
typedef struct {
    int64_t c, h, w, o, k, stride;
} prof_conv_shape;

/* A layer's calls by pass: the kernel's own time (outside the wrapped
 * calls it makes: GEMMs, allocation) and its cost. */
typedef struct {
    prof_conv_shape shape;
    double own_secs[PROF_PASSES];
    prof_cost cost[PROF_PASSES];
} prof_conv_layer;

/* A breakdown set aside: the time and calls of each row of the table,
 * and the roofline's costs by row and by convolution layer, summed over
 * the steps added to it. Start from all zeros. */
typedef struct {
    double secs[PROF_MAX_ROWS];
    long calls[PROF_MAX_ROWS];
    prof_cost cost[PROF_MAX_ROWS];
    prof_conv_layer layers[PROF_MAX_LAYERS];
    int n_layers;
    double step_secs; /* the steps' own total */
    int steps;
} prof_breakdown;

void prof_reset(void);
void prof_step_begin(void);
void prof_step_end(void);
/* The breakdown per step since the last reset, as a Markdown table, then
 * per function, per convolution layer and per GEMM shape, then the
 * roofline (prof_print_roofline) against peak (NULL: not measured). */
void prof_print(FILE *f, const bench_peak *peak);
/* Adds the steps since the last reset to b: with a reset before each step,
 * steps of different kinds, interleaved, go to breakdowns of their own. */
void prof_breakdown_add(prof_breakdown *b);
/* Two breakdowns' tables side by side, ms per step of each, b minus a, and
 * calls per step of each: one row per row with time or calls in either,
 * largest difference first. */
void prof_print_pair(FILE *f, const prof_breakdown *a, const prof_breakdown *b, const char *name_a,
                     const char *name_b);
/* b's kernels against the machine, as a Markdown table: a row per layer
 * and pass of the convolutions, then per row of the breakdown that has
 * costed kernels, largest time first, and their total; per step their ms,
 * GFLOP and GB, their GFLOP/s and GB/s, FLOP per byte, the shares of
 * peak's FMA rate and copy bandwidth and which of the two bounds the row
 * (its FLOP per byte against the machine's balance). With peak NULL
 * (not measured) the last three columns read "-". */
void prof_print_roofline(FILE *f, const prof_breakdown *b, const bench_peak *peak);

#endif
