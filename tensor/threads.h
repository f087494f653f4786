/* The one thread-count setting, shared by the OpenMP kernels and BLIS.
 *
 * Default: all cores. Results do not depend on it: kernels split work over
 * outputs, never over a reduction, and BLIS does not split the k loop. */
#ifndef TG_THREADS_H
#define TG_THREADS_H

int tg_set_num_threads(int n);
int tg_get_num_threads(void);

/* Loads BLIS with the fastest kernels this CPU runs (skx on AVX-512, haswell
 * on AVX2; BLIS_ARCH_TYPE from the environment wins). Called by the GEMM and
 * thread-count paths; safe to call more than once. Returns the BLIS
 * sub-configuration's name. */
const char *tg_blas_init(void);

#endif
