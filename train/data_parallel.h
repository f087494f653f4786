/* Data-parallel training over the ranks of a job (dist/dist.h), as
 * PyTorch's DistributedDataParallel: every rank holds the whole model and
 * trains it on its slice of the global batch; the gradients are averaged
 * over the ranks before each update, so every rank makes the same update
 * and the model stays the same everywhere.
 *
 *   tg_data_parallel *dp = tg_data_parallel_new(model, &params, 0);   (every rank: rank 0's weights win)
 *   each step: forward on this rank's slice; tg_data_parallel_backward(dp, loss);
 *              tg_optimizer_step(opt); tg_data_parallel_sync_statistics(dp);
 *
 * The gradients travel in buckets of about bucket_bytes, filled in the
 * reverse of the parameters' order (the order backward finishes them in):
 * the backward engine reports each gradient the moment it is final
 * (tg_backward_with_hook), and a bucket's allreduce starts as soon as its
 * last gradient is in, while backward goes on with the earlier layers;
 * buckets start in the same order on every rank. Every parameter must
 * receive a gradient in every backward (on every rank).
 *
 * With one rank (a job of one, or a build without MPI) the backward is a
 * plain tg_backward and nothing is copied: the same program runs either
 * way. */
#ifndef TG_TRAIN_DATA_PARALLEL_H
#define TG_TRAIN_DATA_PARALLEL_H

#include <stdint.h>

#include "nn/module.h"
#include "tensor/export.h"

#define TG_DATA_PARALLEL_BUCKET_BYTES (1 << 20) /* bucket_bytes 0: 1 MiB */

typedef struct tg_data_parallel tg_data_parallel;

/* What the gradients' communication cost, summed over the backwards. */
typedef struct tg_data_parallel_stats {
    int64_t backwards; /* tg_data_parallel_backward calls */
    int64_t bytes;     /* gradient bytes each rank allreduces in one backward */
    int buckets;
    double backward_seconds; /* the backward walks, buckets started inside them */
    double wait_seconds;     /* waiting for the buckets after the walk: communication not hidden */
} tg_data_parallel_stats;

/* Every rank calls it with the same model: refused on every rank when the
 * ranks' models differ in names, shapes or dtypes; then each parameter and
 * buffer becomes rank 0's. params (borrowed tensors, retained) are those
 * whose gradients are averaged, usually what the optimizer trains.
 * bucket_bytes 0: TG_DATA_PARALLEL_BUCKET_BYTES. NULL with an error. */
TG_API tg_data_parallel *tg_data_parallel_new(tg_module *model, const tg_tensor_list *params, int64_t bucket_bytes);
/* tg_backward(loss, NULL) on every rank, then each parameter's gradient is
 * the mean of the ranks' gradients. Failing on one rank (a bad loss, a
 * parameter with no gradient) still completes the communication, so the
 * other ranks do not hang. 0 or -1. */
TG_API int tg_data_parallel_backward(tg_data_parallel *dp, tg_tensor *loss);
/* Averages the batch norms' running statistics (buffers named
 * running_mean and running_var) over the ranks: what one process's batch
 * norm would hold had it seen every rank's slice as a group of a split
 * batch norm (with groups of one size, exactly). Call after each step.
 * 0 or -1. */
TG_API int tg_data_parallel_sync_statistics(tg_data_parallel *dp);
TG_API tg_data_parallel_stats tg_data_parallel_stats_of(const tg_data_parallel *dp);
TG_API void tg_data_parallel_free(tg_data_parallel *dp);

#endif
