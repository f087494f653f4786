/* Making one batch of the loader (see internal/loader_build.h): which dataset
 * indices batch b of epoch e (or this shard's slice of it) holds, the
 * generator of each sample, the callback filling its slots, and the
 * replacement of bad samples. Nothing here depends on the thread it runs on. */
#include "data/internal/loader_build.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/threads.h"

#define MAX_DATASET_SIZE (INT64_C(1) << 40) /* the index bits of a stream */
#define MAX_SAMPLE_NUMEL (INT64_C(1) << 32)

/* ---- the plan ---- */

static int check_shape(const char *what, const tg_loader_shape *s)
{
    if (s->ndim < 1 || s->ndim > TG_MAX_DIMS - 1)
        return TG_FAIL("loader: %s has %d dims (1 to %d allowed)", what, s->ndim, TG_MAX_DIMS - 1);
    int64_t numel = 1;
    for (int d = 0; d < s->ndim; d++) {
        if (s->dims[d] < 1 || s->dims[d] > MAX_SAMPLE_NUMEL / numel)
            return TG_FAIL("loader: %s dim %d is %" PRId64 " (too small or too large)", what, d, s->dims[d]);
        numel *= s->dims[d];
    }
    return 0;
}

/* How many slices each batch is cut into: 1 without sharding. */
static int shards_of(const tg_loader_config *c) { return c->shard_count > 1 ? c->shard_count : 1; }

/* Every batch splits into equal slices: batch_size, and the epoch's last,
 * shorter batch unless drop_last drops it. */
static int check_shards(const tg_dataset *ds, const tg_loader_config *c)
{
    if (TG_NEED_RANGE("loader", c->shard_count, 0, TG_LOADER_MAX_SHARDS)) return -1;
    int shards = shards_of(c);
    if (TG_NEED_RANGE("loader", c->shard_index, 0, shards - 1)) return -1;
    if (c->batch_size % shards)
        return TG_FAIL("loader: batch size %" PRId64 " does not split across %d shards", c->batch_size, shards);
    int64_t last = ds->size % c->batch_size;
    if (!c->drop_last && last % shards)
        return TG_FAIL("loader: the last batch of %" PRId64 " samples (of %" PRId64 ") does not split across %d "
                       "shards: use drop_last, or a dataset size that splits",
                       last, ds->size, shards);
    return 0;
}

static int check_config(const tg_dataset *ds, const tg_loader_config *c)
{
    if (!ds || !ds->get || !ds->name) return TG_FAIL("loader: no dataset (or one without get/name)");
    if (ds->size < 0 || ds->size >= MAX_DATASET_SIZE)
        return TG_FAIL("loader: dataset size %" PRId64 " out of range", ds->size);
    if (!c || !c->prepare) return TG_FAIL("loader: no config or no prepare callback");
    if (c->batch_size < 1) return TG_FAIL("loader: batch_size %" PRId64 " < 1", c->batch_size);
    if (TG_NEED_RANGE("loader", c->num_workers, 0, TG_MAX_THREADS) ||
        TG_NEED_RANGE("loader", c->prefetch, 0, TG_LOADER_MAX_PREFETCH))
        return -1;
    if (c->on_error != TG_LOADER_FAIL && c->on_error != TG_LOADER_SKIP)
        return TG_FAIL("loader: unknown on_error %d", (int)c->on_error);
    if (c->num_fields < 0 || c->num_fields > TG_LOADER_MAX_FIELDS)
        return TG_FAIL("loader: num_fields %d (0 to %d allowed)", c->num_fields, TG_LOADER_MAX_FIELDS);
    for (int k = 0; k < c->num_fields; k++) {
        char what[32];
        snprintf(what, sizeof what, "field %d", k);
        if (check_shape(what, &c->field_shape[k])) return -1;
    }
    tg_loader_shape mask = {2, {c->mask_height, c->mask_width}};
    if (c->has_mask && check_shape("mask", &mask)) return -1;
    if (c->aux_size < 0 || c->aux_size > MAX_SAMPLE_NUMEL)
        return TG_FAIL("loader: aux_size %" PRId64 " out of range", c->aux_size);
    return check_shards(ds, c);
}

/* splitmix64's finaliser: the loader's key differs from the seed itself, so
 * its streams never meet the caller's tg_rng_new(seed, k). */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

int loader_plan_init(loader_plan *plan, const tg_dataset *ds, const tg_loader_config *cfg)
{
    if (check_config(ds, cfg)) return -1;
    plan->ds = ds;
    plan->cfg = *cfg;
    int64_t bs = cfg->batch_size;
    plan->shards = shards_of(cfg);
    plan->batches_per_epoch = cfg->drop_last ? ds->size / bs : (ds->size + bs - 1) / bs;
    if (plan->batches_per_epoch > UINT32_MAX) /* a position keeps the batch in 32 bits */
        return TG_FAIL("loader: %" PRId64 " batches per epoch (at most 2^32 - 1)", plan->batches_per_epoch);
    plan->key = mix(cfg->seed ^ 0x6C6F61646572u); /* "loader" */
    return 0;
}

/* ---- the epoch's order ---- */

int loader_builder_init(loader_builder *b, const loader_plan *plan)
{
    b->plan = plan;
    b->perm_epoch = -1;
    b->perm = malloc((size_t)(plan->ds->size > 0 ? plan->ds->size : 1) * sizeof *b->perm);
    return b->perm ? 0 : TG_FAIL("loader: out of memory for a permutation of %" PRId64, plan->ds->size);
}

void loader_builder_free(loader_builder *b)
{
    free(b->perm);
    b->perm = NULL;
}

/* Uniform in [0, bound), without modulo bias. */
static uint64_t uniform_below(tg_rng *rng, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do {
        x = (uint64_t)tg_rng_u32(rng) << 32 | tg_rng_u32(rng);
    } while (x >= limit);
    return x % bound;
}

/* Fisher-Yates from stream 2^63 | epoch (sample streams have bit 63 clear). */
static void make_order(loader_builder *b, int64_t epoch)
{
    int64_t n = b->plan->ds->size;
    for (int64_t i = 0; i < n; i++) b->perm[i] = i;
    if (b->plan->cfg.shuffle) {
        tg_rng rng = tg_rng_new(b->plan->key, UINT64_C(1) << 63 | (uint64_t)epoch);
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)uniform_below(&rng, (uint64_t)i + 1);
            int64_t t = b->perm[i];
            b->perm[i] = b->perm[j];
            b->perm[j] = t;
        }
    }
    b->perm_epoch = epoch;
}

/* ---- one sample ---- */

static int64_t field_numel(const tg_loader_shape *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++) n *= s->dims[d];
    return n;
}

/* Sample j's slots in the batch, zeroed. */
static tg_loader_slots slots_of(const loader_plan *plan, tg_batch *batch, int64_t j)
{
    const tg_loader_config *c = &plan->cfg;
    tg_loader_slots s = {0};
    for (int k = 0; k < c->num_fields; k++) {
        int64_t n = field_numel(&c->field_shape[k]);
        s.fields[k] = tg_data_f32(batch->fields[k]) + j * n;
        memset(s.fields[k], 0, (size_t)n * sizeof(float));
    }
    if (c->has_mask) {
        int64_t n = c->mask_height * c->mask_width;
        s.mask = tg_data_i64(batch->mask) + j * n;
        memset(s.mask, 0, (size_t)n * sizeof(int64_t));
    }
    if (c->aux_size) {
        s.aux = tg_data_f32(batch->aux) + j * c->aux_size;
        memset(s.aux, 0, (size_t)c->aux_size * sizeof(float));
    }
    return s;
}

/* Loads dataset index `index` into sample j's slots with the generator of
 * (epoch, rng_index). On failure writes into message what and which. */
static int load_sample(const loader_plan *plan, tg_batch *batch, int64_t j, int64_t epoch, int64_t index,
                       int64_t rng_index, char *message, size_t size)
{
    const tg_dataset *ds = plan->ds;
    tg_sample sample = {0};
    tg_rng rng = tg_rng_new(plan->key, (uint64_t)epoch << 40 | (uint64_t)rng_index);
    tg_loader_slots slots = slots_of(plan, batch, j);
    tg_clear_error();
    int rc = ds->get(ds, index, &sample);
    if (rc == 0) rc = plan->cfg.prepare(plan->cfg.ctx, &sample, index, &rng, &slots);
    tg_sample_free(&sample);
    if (rc == 0) return 0;
    char name[512];
    ds->name(ds, index, name, sizeof name);
    snprintf(message, size, "sample %s (index %" PRId64 "): %s", name, index, tg_last_error());
    return -1;
}

/* Fills sample j from epoch position p; in skip mode a bad sample gives its
 * place (and generator) to the next position in the epoch's order that
 * loads. What lands in j is a function of (epoch, p) alone, whichever
 * batch or shard holds p, so a shard's rows are the unsharded batch's. */
static int fill_position(loader_builder *b, tg_batch *batch, int64_t j, int64_t epoch, int64_t p,
                         build_result *r)
{
    const loader_plan *plan = b->plan;
    int64_t n = plan->ds->size, index = b->perm[p];
    if (load_sample(plan, batch, j, epoch, index, index, r->message, sizeof r->message) == 0) {
        tg_data_i64(batch->index)[j] = index;
        return 0;
    }
    if (plan->cfg.on_error == TG_LOADER_FAIL) return -1;
    r->skipped++;
    char first[sizeof r->message];
    memcpy(first, r->message, sizeof first);
    for (int64_t k = 1; k < n; k++) {
        int64_t other = b->perm[(p + k) % n];
        if (load_sample(plan, batch, j, epoch, other, index, r->message, sizeof r->message) == 0) {
            tg_data_i64(batch->index)[j] = other;
            return 0;
        }
    }
    snprintf(r->message, sizeof r->message, "no sample of the %" PRId64 " loads; %.900s", n, first);
    return -1;
}

/* ---- one batch ---- */

static tg_tensor *batch_tensor(int64_t n, const tg_loader_shape *s, tg_dtype dtype)
{
    int64_t shape[TG_MAX_DIMS] = {n};
    memcpy(shape + 1, s->dims, (size_t)s->ndim * sizeof *shape);
    return tg_empty(s->ndim + 1, shape, dtype);
}

/* The batch's tensors, uninitialised; -1 if one could not be made. */
static int alloc_batch(const tg_loader_config *c, int64_t n, tg_batch *out)
{
    *out = (tg_batch){.n = n};
    int ok = 1;
    for (int k = 0; k < c->num_fields; k++) {
        out->fields[k] = batch_tensor(n, &c->field_shape[k], TG_FLOAT32);
        ok &= out->fields[k] != NULL;
    }
    if (c->has_mask) {
        out->mask = batch_tensor(n, &(tg_loader_shape){2, {c->mask_height, c->mask_width}}, TG_INT64);
        ok &= out->mask != NULL;
    }
    if (c->aux_size) {
        out->aux = batch_tensor(n, &(tg_loader_shape){1, {c->aux_size}}, TG_FLOAT32);
        ok &= out->aux != NULL;
    }
    out->index = tg_empty(1, &n, TG_INT64);
    ok &= out->index != NULL;
    return ok ? 0 : -1;
}

static void fail(build_result *r, build_status status)
{
    tg_batch_release(&r->batch);
    r->status = status;
}

void loader_build(loader_builder *b, int64_t epoch, int64_t batch, const _Atomic uint64_t *generation,
                  uint64_t expected, build_result *r)
{
    const loader_plan *plan = b->plan;
    int64_t bs = plan->cfg.batch_size, start = batch * bs;
    int64_t n = (plan->ds->size - start < bs ? plan->ds->size - start : bs) / plan->shards;
    int64_t first = start + plan->cfg.shard_index * n; /* this shard's first position */
    *r = (build_result){.status = BUILD_OK};
    if (epoch > LOADER_MAX_EPOCH) {
        snprintf(r->message, sizeof r->message, "epoch %" PRId64 " beyond the last, %" PRId64, epoch,
                 LOADER_MAX_EPOCH);
        fail(r, BUILD_FAILED);
        return;
    }
    if (alloc_batch(&plan->cfg, n, &r->batch)) {
        snprintf(r->message, sizeof r->message, "batch %" PRId64 " of epoch %" PRId64 ": %s", batch, epoch,
                 tg_last_error());
        fail(r, BUILD_FAILED);
        return;
    }
    if (b->perm_epoch != epoch) make_order(b, epoch);
    for (int64_t j = 0; j < n; j++) {
        if (generation && atomic_load(generation) != expected) {
            fail(r, BUILD_CANCELLED);
            return;
        }
        if (fill_position(b, &r->batch, j, epoch, first + j, r)) {
            fail(r, BUILD_FAILED);
            return;
        }
    }
}
