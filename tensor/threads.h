/* The one thread-count setting: OpenMP's, used by every kernel, the matrix
 * products included (tensor/linalg.c splits a product into slices, each a
 * single-threaded BLIS call, rather than letting BLIS start its own team).
 *
 * Default: all cores. Results do not depend on it: kernels split work over
 * outputs, never over a reduction, and no product splits its k loop. */
#ifndef TG_THREADS_H
#define TG_THREADS_H

#include "tensor/export.h"

/* The compute threads every kernel uses (default: all cores); setting it
 * fails with -1 for n outside 1 .. TG_MAX_THREADS. */
#define TG_MAX_THREADS 1024 /* OpenMP's runtime fails to start teams far larger than any machine we run on */
TG_API int tg_set_num_threads(int n);
TG_API int tg_get_num_threads(void);

/* Loads BLIS with the fastest kernels this CPU runs (skx on AVX-512, haswell
 * on AVX2; BLIS_ARCH_TYPE from the environment wins). Called before every
 * matrix product; safe to call more than once. Returns the BLIS
 * sub-configuration's name. */
TG_API const char *tg_blas_init(void);

#endif
