/* Making one batch of the loader (see loader.h), or its shard's slice: the
 * epoch's order, each sample's generator and the handling of bad samples.
 * A pure function of (plan, epoch, batch index), run by a worker or by the
 * caller's thread.
 * Internal to data/. */
#ifndef TG_DATA_LOADER_BUILD_H
#define TG_DATA_LOADER_BUILD_H

#include <stdatomic.h>

#include "data/loader.h"

/* What every builder shares, fixed when the loader is made. */
typedef struct loader_plan {
    const tg_dataset *ds;
    tg_loader_config cfg;
    int64_t batches_per_epoch;
    int64_t shards; /* 1 without sharding: every batch is cut into that many slices */
    uint64_t key; /* the Philox key of every generator the loader makes */
} loader_plan;

/* One thread's builder: it caches the permutation of the last epoch it saw. */
typedef struct loader_builder {
    const loader_plan *plan;
    int64_t perm_epoch; /* -1: none yet */
    int64_t *perm;      /* ds->size entries */
} loader_builder;

typedef enum { BUILD_OK, BUILD_FAILED, BUILD_CANCELLED } build_status;

typedef struct build_result {
    build_status status;
    tg_batch batch;     /* BUILD_OK only */
    int64_t skipped;    /* samples replaced in this batch */
    char message[1200]; /* BUILD_FAILED: what went wrong, naming the sample */
} build_result;

/* Fills a loader_plan from a checked config; 0 or -1 with an error. */
int loader_plan_init(loader_plan *plan, const tg_dataset *ds, const tg_loader_config *cfg);

int loader_builder_init(loader_builder *b, const loader_plan *plan);
void loader_builder_free(loader_builder *b);

/* Builds batch `batch` of `epoch` (this shard's slice of it) into *r. When
 * generation is not NULL the build gives up (BUILD_CANCELLED) as soon as
 * *generation != expected. */
void loader_build(loader_builder *b, int64_t epoch, int64_t batch,
                  const _Atomic uint64_t *generation, uint64_t expected, build_result *r);

/* The largest epoch a generator stream can name. */
#define LOADER_MAX_EPOCH ((INT64_C(1) << 23) - 1)

#endif
