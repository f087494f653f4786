/* What the model parity tests share with their fixture scripts
 * (tools/make_fixtures_resnet.py and those that import it): parameters,
 * inputs and labels filled by a formula both sides repeat, so no weights
 * are committed, and tensors compared by three statistics of each. */
#ifndef MODELS_FORMULA_H
#define MODELS_FORMULA_H

#include <stdbool.h>
#include <stdint.h>

#include "tensorgrad.h"

typedef struct {
    const char *name;
    int is_grad; /* 1: stats of the gradient; 0: of the value (running stats) */
    double s[6]; /* sum, sum of squares, weighted sum; then for each, how
                  * far PyTorch's float32 run is from it (see the scripts) */
} fixture_stats;

/* Uniform in [-1, 1): the scripts' 32-bit integer hash of (i, seed). */
double formula_noise(int64_t i, uint32_t seed);
/* The scripts' fill of the float32 tensor t, parameter or buffer name. */
void formula_fill(const char *name, tg_tensor *t);
/* Fills every float32 tensor of m's state_dict. */
void formula_fill_module(const tg_module *m);
/* A float32 input of the given shape, element i = noise(i, seed). */
tg_tensor *formula_input(int ndim, const int64_t *shape, uint32_t seed);
/* sum, sum of squares and cos-weighted sum (phase from name) of t. */
void formula_stats(const char *name, tg_tensor *t, double *s);
/* got within 1e-4 + 3e (e: PyTorch float32's own error) of the tensor's
 * norm (its square for the sum of squares). */
void formula_assert_stats(const fixture_stats *f, const double *got);
/* formula_assert_stats on the stats of t. */
void formula_check(const fixture_stats *f, tg_tensor *t);

#endif
