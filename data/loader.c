/* The loader's pipeline (see loader.h): worker threads, the bounded ring
 * of batches made ahead, delivery in order, positions and seeking.
 *
 * After a seek the batches that follow are numbered by a serial 0, 1, ...
 * (end-of-epoch calls take none). A worker takes the next serial while it
 * is fewer than `depth` ahead of the one the caller takes next, builds it
 * on its own, and puts it in ring slot serial % depth. Seeking or freeing
 * bumps the generation: builds of an older one stop early and are dropped. */
#include "data/loader.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "data/internal/loader_build.h"
#include "tensor/internal/check.h"
#include "tensor/threads.h"

typedef struct ring_slot {
    bool ready;
    int64_t serial;
    build_result result;
} ring_slot;

struct tg_loader {
    loader_plan plan;
    int64_t epoch, batch; /* the position of the next call to next() */
    int64_t skipped;
    loader_builder inline_builder; /* 0 workers: next() builds */

    int num_workers, depth;
    pthread_t *threads;
    loader_builder *builders;
    bool pipeline_ready; /* the mutex and conditions exist */
    int threads_started;
    pthread_mutex_t mutex;
    pthread_cond_t work_cond; /* workers: a serial to take, or stop */
    pthread_cond_t done_cond; /* the caller: a slot is ready */
    ring_slot *ring;
    int64_t base_epoch, base_batch; /* serial 0's batch */
    int64_t next_serial;            /* the next one a worker takes */
    int64_t deliver_serial;         /* the one the caller takes next */
    _Atomic uint64_t generation;
    bool stopping;
};

/* ---- positions ---- */

int64_t tg_loader_pack_position(int64_t epoch, int64_t batch)
{
    const char *fn = "loader_pack_position";
    if (TG_NEED_RANGE(fn, epoch, 0, INT32_MAX) || TG_NEED_RANGE(fn, batch, 0, UINT32_MAX)) return -1;
    return (int64_t)((uint64_t)epoch << 32 | (uint64_t)batch);
}

int64_t tg_loader_epoch(int64_t position)
{
    return TG_NEED_MIN("loader_epoch", position, 0) ? -1 : position >> 32;
}

int64_t tg_loader_batch(int64_t position)
{
    return TG_NEED_MIN("loader_batch", position, 0) ? -1 : position & 0xFFFFFFFF;
}

int64_t tg_loader_position(const tg_loader *l)
{
    return TG_NEED("loader_position", l) ? -1 : tg_loader_pack_position(l->epoch, l->batch);
}

int64_t tg_loader_batches_per_epoch(const tg_loader *l)
{
    return TG_NEED("loader_batches_per_epoch", l) ? -1 : l->plan.batches_per_epoch;
}

int64_t tg_loader_skipped(const tg_loader *l) { return TG_NEED("loader_skipped", l) ? -1 : l->skipped; }

/* ---- the ring (the mutex held) ---- */

static void clear_ring(tg_loader *l)
{
    for (int s = 0; s < l->depth; s++) {
        if (l->ring[s].ready) tg_batch_release(&l->ring[s].result.batch);
        l->ring[s].ready = false;
    }
}

/* Serial 0 is the first batch at or after the caller's position. */
static void restart_pipeline(tg_loader *l)
{
    atomic_fetch_add(&l->generation, 1);
    clear_ring(l);
    bool at_end = l->batch >= l->plan.batches_per_epoch;
    l->base_epoch = l->epoch + at_end;
    l->base_batch = at_end ? 0 : l->batch;
    l->next_serial = l->deliver_serial = 0;
    pthread_cond_broadcast(&l->work_cond);
}

static bool has_work(const tg_loader *l)
{
    return l->plan.batches_per_epoch > 0 && l->next_serial < l->deliver_serial + l->depth;
}

/* ---- workers ---- */

typedef struct worker_arg {
    tg_loader *loader;
    loader_builder *builder;
    build_result result; /* the batch being built */
} worker_arg;

/* Takes serials and builds them until the loader stops. */
static void work(tg_loader *l, loader_builder *b, build_result *r)
{
    pthread_mutex_lock(&l->mutex);
    for (;;) {
        while (!l->stopping && !has_work(l)) pthread_cond_wait(&l->work_cond, &l->mutex);
        if (l->stopping) break;
        int64_t serial = l->next_serial++, nb = l->plan.batches_per_epoch;
        int64_t epoch = l->base_epoch + (l->base_batch + serial) / nb;
        int64_t batch = (l->base_batch + serial) % nb;
        uint64_t generation = atomic_load(&l->generation);
        pthread_mutex_unlock(&l->mutex);
        loader_build(b, epoch, batch, &l->generation, generation, r);
        pthread_mutex_lock(&l->mutex);
        if (r->status != BUILD_CANCELLED && atomic_load(&l->generation) == generation) {
            ring_slot *slot = &l->ring[serial % l->depth];
            slot->ready = true;
            slot->serial = serial;
            slot->result = *r;
            pthread_cond_broadcast(&l->done_cond);
        } else {
            tg_batch_release(&r->batch);
        }
    }
    pthread_mutex_unlock(&l->mutex);
}

/* A worker runs kernels on its own thread only: this thread's OpenMP
 * setting, not the training loop's. */
static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    tg_set_num_threads(1);
    work(w->loader, w->builder, &w->result);
    free(w);
    return NULL;
}

/* ---- lifetime ---- */

static int start_workers(tg_loader *l)
{
    for (int i = 0; i < l->num_workers; i++) {
        if (loader_builder_init(&l->builders[i], &l->plan)) return -1;
        worker_arg *w = malloc(sizeof *w);
        if (!w) return TG_FAIL("loader: out of memory for a worker");
        w->loader = l;
        w->builder = &l->builders[i];
        if (pthread_create(&l->threads[i], NULL, worker_main, w)) {
            free(w);
            return TG_FAIL("loader: cannot start worker %d of %d", i + 1, l->num_workers);
        }
        l->threads_started++;
    }
    return 0;
}

static int init_pipeline(tg_loader *l)
{
    l->depth = l->plan.cfg.prefetch ? l->plan.cfg.prefetch : 2 * l->num_workers;
    l->threads = calloc((size_t)l->num_workers, sizeof *l->threads);
    l->builders = calloc((size_t)l->num_workers, sizeof *l->builders);
    l->ring = calloc((size_t)l->depth, sizeof *l->ring);
    if (!l->threads || !l->builders || !l->ring) return TG_FAIL("loader: out of memory for %d workers", l->num_workers);
    pthread_mutex_init(&l->mutex, NULL);
    pthread_cond_init(&l->work_cond, NULL);
    pthread_cond_init(&l->done_cond, NULL);
    l->pipeline_ready = true;
    restart_pipeline(l);
    return start_workers(l);
}

tg_loader *tg_loader_new(const tg_dataset *ds, const tg_loader_config *cfg)
{
    tg_loader *l = calloc(1, sizeof *l);
    if (!l) {
        TG_FAIL("loader: out of memory");
        return NULL;
    }
    if (loader_plan_init(&l->plan, ds, cfg) || loader_builder_init(&l->inline_builder, &l->plan)) {
        loader_builder_free(&l->inline_builder);
        free(l);
        return NULL;
    }
    l->num_workers = cfg->num_workers;
    if (l->num_workers > 0 && init_pipeline(l)) {
        tg_loader_free(l);
        return NULL;
    }
    return l;
}

static void stop_workers(tg_loader *l)
{
    pthread_mutex_lock(&l->mutex);
    l->stopping = true;
    atomic_fetch_add(&l->generation, 1);
    pthread_cond_broadcast(&l->work_cond);
    pthread_mutex_unlock(&l->mutex);
    for (int i = 0; i < l->threads_started; i++) pthread_join(l->threads[i], NULL);
    clear_ring(l);
    for (int i = 0; i < l->num_workers; i++) loader_builder_free(&l->builders[i]);
    pthread_cond_destroy(&l->done_cond);
    pthread_cond_destroy(&l->work_cond);
    pthread_mutex_destroy(&l->mutex);
}

void tg_loader_free(tg_loader *l)
{
    if (!l) return;
    if (l->pipeline_ready) stop_workers(l);
    free(l->ring);
    free(l->builders);
    free(l->threads);
    loader_builder_free(&l->inline_builder);
    free(l);
}

/* ---- delivery ---- */

/* Waits for the next serial's result and moves it into *r; a failed one
 * stays in the ring, so the next call reports it again. */
static void take(tg_loader *l, build_result *r)
{
    pthread_mutex_lock(&l->mutex);
    ring_slot *slot = &l->ring[l->deliver_serial % l->depth];
    while (!(slot->ready && slot->serial == l->deliver_serial)) pthread_cond_wait(&l->done_cond, &l->mutex);
    *r = slot->result;
    if (r->status == BUILD_OK) {
        slot->ready = false;
        l->deliver_serial++;
        pthread_cond_broadcast(&l->work_cond);
    }
    pthread_mutex_unlock(&l->mutex);
}

int tg_loader_next(tg_loader *l, tg_batch *out)
{
    if (TG_NEED("loader_next", out)) return -1;
    *out = (tg_batch){0};
    if (TG_NEED("loader_next", l)) return -1;
    if (l->batch >= l->plan.batches_per_epoch) {
        l->epoch++;
        l->batch = 0;
        return 0;
    }
    build_result r;
    if (l->num_workers == 0)
        loader_build(&l->inline_builder, l->epoch, l->batch, NULL, 0, &r);
    else
        take(l, &r);
    if (r.status != BUILD_OK) return TG_FAIL("loader: %s", r.message);
    *out = r.batch;
    l->skipped += r.skipped;
    l->batch++;
    return 1;
}

void tg_batch_release(tg_batch *b)
{
    if (!b) return;
    for (int k = 0; k < TG_LOADER_MAX_FIELDS; k++) tg_release(b->fields[k]);
    tg_release(b->mask);
    tg_release(b->aux);
    tg_release(b->index);
    *b = (tg_batch){0};
}

int tg_loader_seek(tg_loader *l, int64_t position)
{
    if (TG_NEED("loader_seek", l)) return -1;
    int64_t epoch = tg_loader_epoch(position), batch = tg_loader_batch(position);
    if (position < 0 || epoch > LOADER_MAX_EPOCH || batch > l->plan.batches_per_epoch)
        return TG_FAIL("loader: seek: position %" PRId64 " (epoch %" PRId64 ", batch %" PRId64
                       ") is not one of this loader's (%" PRId64 " batches per epoch)",
                       position, epoch, batch, l->plan.batches_per_epoch);
    l->epoch = epoch;
    l->batch = batch;
    if (l->num_workers > 0) {
        pthread_mutex_lock(&l->mutex);
        restart_pipeline(l);
        pthread_mutex_unlock(&l->mutex);
    }
    return 0;
}
