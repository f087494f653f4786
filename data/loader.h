/* The data loader: batches of prepared samples from a dataset, made ahead
 * of the training loop by worker threads.
 *
 * The loader knows nothing of transforms. For each sample it calls the
 * user's prepare callback with the decoded tg_sample, its dataset index,
 * a generator for this sample alone, and pointers to the sample's slots in
 * the batch; the callback fills them. A batch holds up to
 * TG_LOADER_MAX_FIELDS float fields of fixed per-sample shape (two
 * pretraining views of (3,64,64), or one (3,H,W) image), optionally an
 * int64 mask (H,W) and a float "aux" vector per sample (crop geometry...).
 *
 * Order and randomness are functions of the seed alone:
 *   - epoch e visits the dataset in a permutation drawn from (seed, e)
 *     (the identity without shuffle), cut into batches of batch_size; the
 *     last, shorter batch is dropped with drop_last;
 *   - the sample at dataset index i in epoch e gets the generator with key
 *     derived from seed and stream (e << 40) | i (so epochs < 2^23 and
 *     datasets < 2^40 samples), whoever prepares it;
 * so the batches are bitwise identical for 0 workers (everything in the
 * caller's thread) or any number of worker threads and prefetch depths.
 * The callback runs on several threads at once and must treat ctx as
 * shared (read-only, or locked).
 *
 * Worker threads are pthreads, never OpenMP, so the training loop's
 * OpenMP team is left alone; tensor kernels the callback calls on a worker
 * run on that thread alone (each worker sets its own thread count to 1).
 * The workers keep at most `prefetch` batches built or being built ahead
 * of the one the caller takes next.
 *
 * A bad sample (get() or prepare() failing) either stops the loader
 * (TG_LOADER_FAIL: next() returns -1 naming the sample, and keeps doing so
 * until a seek) or is replaced (TG_LOADER_SKIP) by the next sample in the
 * epoch's order that loads, prepared with the failed sample's generator;
 * tg_loader_skipped() counts the replaced samples in delivered batches.
 *
 * Data-parallel training shards the batches: with shard_count N > 1, the
 * loader with shard_index r (a rank's) delivers rows [r*B/N, (r+1)*B/N) of
 * each batch of B (batch_size, the global batch) the unsharded loader
 * delivers, bitwise, and decodes and prepares those samples only. A bad
 * sample's replacement is the one the unsharded loader puts in its row,
 * even when it lies in another shard's slice or a later batch. Order,
 * batches, positions and seeking are those of the global batches, so a
 * step sees the same samples, and a position means the same, for any N. B
 * must split into N equal slices, and so must the last, shorter batch
 * unless drop_last drops it. */
#ifndef TG_DATA_LOADER_H
#define TG_DATA_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "tensor/export.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

#define TG_LOADER_MAX_FIELDS 4
#define TG_LOADER_MAX_PREFETCH 1024
#define TG_LOADER_MAX_SHARDS 65536

/* Where the callback writes one sample: contiguous, row-major, zeroed
 * before each call. mask and aux are NULL when the batch has none. */
typedef struct tg_loader_slots {
    float *fields[TG_LOADER_MAX_FIELDS]; /* field k: prod(field_shape[k]) floats */
    int64_t *mask;                       /* mask_height * mask_width */
    float *aux;                          /* aux_size floats */
} tg_loader_slots;

/* Fills slots from sample (dataset index `index`), drawing randomness from
 * rng only. 0, or -1 with tg_last_error() saying why. */
typedef int (*tg_loader_prepare_fn)(void *ctx, const tg_sample *sample, int64_t index, tg_rng *rng,
                                    const tg_loader_slots *slots);

typedef enum tg_loader_on_error {
    TG_LOADER_FAIL, /* next() fails, naming the sample */
    TG_LOADER_SKIP, /* the sample is replaced and counted */
} tg_loader_on_error;

/* A per-sample shape (without the batch dim). */
typedef struct tg_loader_shape {
    int ndim; /* 1 .. TG_MAX_DIMS - 1 */
    int64_t dims[TG_MAX_DIMS - 1];
} tg_loader_shape;

typedef struct tg_loader_config {
    int64_t batch_size; /* >= 1: the global batch, whatever the shards */
    bool shuffle;
    bool drop_last;
    uint64_t seed;
    int num_workers; /* 0: batches are made in next(), on the caller's thread; at most TG_MAX_THREADS */
    int prefetch;    /* batches made ahead with workers; 0 picks 2 per worker; at most TG_LOADER_MAX_PREFETCH */
    tg_loader_on_error on_error;
    int num_fields; /* 0 .. TG_LOADER_MAX_FIELDS */
    tg_loader_shape field_shape[TG_LOADER_MAX_FIELDS];
    bool has_mask;
    int64_t mask_height, mask_width;
    int64_t aux_size; /* 0: no aux */
    tg_loader_prepare_fn prepare;
    void *ctx;       /* passed to prepare; borrowed */
    int shard_count; /* 0 or 1: no sharding; at most TG_LOADER_MAX_SHARDS, and a divisor of batch_size */
    int shard_index; /* 0 .. shard_count - 1: the slice of each batch next() delivers */
} tg_loader_config;

/* One batch of n samples (batch_size, or what the epoch's last batch holds;
 * divided by shard_count with shards); every tensor is the caller's
 * (tg_batch_release). */
typedef struct tg_batch {
    int64_t n;
    tg_tensor *fields[TG_LOADER_MAX_FIELDS]; /* float32 (n, field_shape...) */
    tg_tensor *mask;                         /* int64 (n, mask_height, mask_width), or NULL */
    tg_tensor *aux;                          /* float32 (n, aux_size), or NULL */
    tg_tensor *index;                        /* int64 (n): the dataset index each sample came from */
} tg_batch;

typedef struct tg_loader tg_loader;

/* A loader at epoch 0, batch 0, its workers started. ds and cfg->ctx are
 * borrowed and must outlive the loader. NULL with an error on a bad config. */
TG_API tg_loader *tg_loader_new(const tg_dataset *ds, const tg_loader_config *cfg);
/* Stops the workers (even mid-epoch, blocked on a full queue) and frees
 * every batch not delivered. Safe on NULL. */
TG_API void tg_loader_free(tg_loader *l);

/* The next batch into *out: 1 with a batch, 0 at the end of an epoch (the
 * following call starts the next epoch), -1 with an error (*out empty). */
TG_API int tg_loader_next(tg_loader *l, tg_batch *out);
TG_API void tg_batch_release(tg_batch *b);

/* Batches in each epoch. */
TG_API int64_t tg_loader_batches_per_epoch(const tg_loader *l);
/* The position of the next call to next(): (epoch, batch index within the
 * epoch) packed into an int64 (epoch << 32 | batch), for checkpoints.
 * Epochs below 2^31 and batches below 2^32 pack; other values, and
 * negative positions, give -1 with an error. */
TG_API int64_t tg_loader_position(const tg_loader *l);
TG_API int64_t tg_loader_pack_position(int64_t epoch, int64_t batch);
TG_API int64_t tg_loader_epoch(int64_t position);
TG_API int64_t tg_loader_batch(int64_t position);
/* Moves to position (from tg_loader_position), dropping batches made
 * ahead: the following calls give exactly the batches that followed it. */
TG_API int tg_loader_seek(tg_loader *l, int64_t position);
/* Samples replaced in the batches delivered so far (TG_LOADER_SKIP); with
 * shards, in this shard's rows only. */
TG_API int64_t tg_loader_skipped(const tg_loader *l);

#endif
