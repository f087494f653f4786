/* Finite-difference check of an op's analytic gradient.
 *
 * f maps the inputs to an output. The check contracts the output with fixed
 * random weights w into a scalar L = sum(w * f(x)) (in double), backpropagates
 * w for the analytic gradient, and compares each element of each input that
 * requires grad with the central difference (L(x+eps) - L(x-eps)) / 2eps.
 * Inputs must not be expanded views (each element must be its own). */
#ifndef TG_GRADCHECK_H
#define TG_GRADCHECK_H

#include "tensor/export.h"
#include "tensor/tensor.h"

typedef tg_tensor *(*tg_gradcheck_fn)(tg_tensor *const *inputs, void *ctx);

typedef struct tg_gradcheck_opts {
    double eps;  /* finite-difference step (default 1e-2) */
    double atol; /* |analytic - numeric| <= atol + rtol |numeric| (defaults 1e-2) */
    double rtol;
} tg_gradcheck_opts;

/* 0 if every gradient matches; -1 with tg_last_error naming the first
 * mismatch (input, element, analytic and numeric values). opts may be NULL. */
TG_API int tg_gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs, const tg_gradcheck_opts *opts);

#endif
