/* The gradcheck table: one row per differentiable op and case.
 *
 * Each family of ops keeps its rows in its own file (gc_<family>.c) as an
 * array ending with GC_END; test_gradcheck.c runs every row of every array.
 *
 * inputs is a spec, one input per '|'-separated field: the shape as
 * comma-separated sizes (nothing for a 0-dim tensor), then flags:
 *   +    positive values in [0.5, 1.5] (for log, sqrt, div, pow)
 *   T    stored transposed: a non-contiguous view (needs >= 2 dims)
 *   N    constant: does not require grad
 *   M    a float 0/1 mask, constant
 *   iK   int64 indices in [0, K), constant
 * Other values are random, with |x| in [0.1, 1] and random sign, away from
 * the kinks of relu, abs and clamp at 0. */
#ifndef GRADCHECK_CASES_H
#define GRADCHECK_CASES_H

#include "tensorgrad.h"

typedef struct {
    const char *name;
    tg_gradcheck_fn fn;
    const char *inputs;
} gc_case;

#define GC_END {NULL, NULL, NULL}

extern const gc_case gc_elementwise[];
extern const gc_case gc_activation[];
extern const gc_case gc_attention[];
extern const gc_case gc_view[];
extern const gc_case gc_reduce[];
extern const gc_case gc_linalg[];
extern const gc_case gc_index[];
extern const gc_case gc_conv[];
extern const gc_case gc_norm[];
extern const gc_case gc_nn[];
extern const gc_case gc_loss[];
extern const gc_case gc_scan[];
extern const gc_case gc_layer_norm[];
extern const gc_case gc_rnn[];

#endif
