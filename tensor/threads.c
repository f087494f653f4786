/* Thread count and BLIS start-up (see threads.h). */
#include "tensor/threads.h"

#include <blis.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor/error.h"
#include "tensor/internal/check.h"

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* BLIS picks its kernels from the CPU's brand string and falls back to slow
 * generic ones on CPUs it does not name (virtual CPUs, new AMD parts). Pick
 * by instruction set instead, before BLIS first initialises. */
static void blas_init_once(void)
{
    if (!getenv("BLIS_ARCH_TYPE")) {
        __builtin_cpu_init();
        int arch = -1;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
            arch = BLIS_ARCH_SKX;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            arch = BLIS_ARCH_HASWELL;
        if (arch >= 0) {
            char id[16];
            snprintf(id, sizeof id, "%d", arch);
            setenv("BLIS_ARCH_TYPE", id, 0);
        }
    }
    bli_init();
}

const char *tg_blas_init(void)
{
    pthread_once(&blas_once, blas_init_once);
    return bli_arch_string(bli_arch_query_id());
}

int tg_set_num_threads(int n)
{
    if (TG_NEED_RANGE("set_num_threads", n, 1, TG_MAX_THREADS)) return -1;
    omp_set_num_threads(n);
    return 0;
}

int tg_get_num_threads(void) { return omp_get_max_threads(); }
