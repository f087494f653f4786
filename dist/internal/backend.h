/* What dist.c asks of the transport (internal to dist/): dist_mpi.c with
 * Open MPI, dist_single.c without (a job of one). Buffers are contiguous
 * and counts in elements of dtype (float32 or int64); the arguments are
 * checked by dist.c. Each returns 0, or -1 with the error recorded. */
#ifndef TG_DIST_BACKEND_H
#define TG_DIST_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/tensor.h"

int tg_dist_backend_init(int *argc, char ***argv);
int tg_dist_backend_finalize(void);
bool tg_dist_backend_available(void);
int tg_dist_backend_rank(void);
int tg_dist_backend_size(void);
int tg_dist_backend_barrier(void);
int tg_dist_backend_broadcast(void *buf, int64_t count, tg_dtype dtype, int root);
int tg_dist_backend_allreduce_sum(void *buf, int64_t count, tg_dtype dtype);
/* recv (size x bytes) = every rank's send (bytes), in rank order. */
int tg_dist_backend_allgather(const void *send, void *recv, int64_t bytes);
/* The sum started in the background (count below 2^31); *request is what
 * test and wait take (wait frees it; NULL: nothing runs). */
int tg_dist_backend_allreduce_start(void *buf, int64_t count, tg_dtype dtype, void **request);
int tg_dist_backend_test(void *request, bool *done);
int tg_dist_backend_wait(void *request);

#endif
