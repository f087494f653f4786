/* The threaded data loader (data/loader.h) over a synthetic in-test dataset
 * whose pixels are computed from the sample's index and one index of which
 * fails on purpose: batch contents and order, drop_last, shuffling per epoch
 * and per seed, per-sample generators, bitwise determinism across worker
 * counts and prefetch depths, seeking to a saved position, skip and fail
 * modes for bad samples, bad configs, freeing mid-epoch with workers
 * blocked on a full queue, and the shards of a data-parallel job, whose
 * rows put side by side are the unsharded loader's batches. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/loader.h"
#include "tensor/threads.h"
#include "suites.h"

#define SIZE 23
#define SIDE 4
#define CLASSES 7
#define NO_BAD (-1)

#define CK_ERROR_HAS(text) \
    ck_assert_msg(strstr(tg_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"", tg_last_error(), (text))

/* ---- the synthetic dataset ---- */

typedef struct synthetic {
    tg_dataset base;
    int64_t bad_index; /* get() fails for it; NO_BAD for none */
} synthetic;

static uint8_t pixel(int64_t index, int y, int x, int c) { return (uint8_t)(index * 11 + y * 7 + x * 3 + c); }
static uint8_t label(int64_t index, int y, int x) { return (uint8_t)((index + y + x) % CLASSES); }

static int synthetic_get(const tg_dataset *ds, int64_t index, tg_sample *out)
{
    const synthetic *s = (const synthetic *)ds;
    if (index == s->bad_index) return TG_FAIL("synthetic: sample %lld is corrupt", (long long)index);
    if (tg_image_alloc(&out->image, SIDE, SIDE, 3) || tg_image_alloc(&out->mask, SIDE, SIDE, 1)) return -1;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            for (int c = 0; c < 3; c++) out->image.data[(y * SIDE + x) * 3 + c] = pixel(index, y, x, c);
            out->mask.data[y * SIDE + x] = label(index, y, x);
        }
    return 0;
}

static void synthetic_name(const tg_dataset *ds, int64_t index, char *buf, int size)
{
    (void)ds;
    snprintf(buf, (size_t)size, "synthetic/%05lld.png", (long long)index);
}

static void synthetic_destroy(tg_dataset *ds) { (void)ds; }

static synthetic make_dataset(int64_t size, int64_t bad_index)
{
    return (synthetic){{size, CLASSES, 1, synthetic_get, synthetic_name, synthetic_destroy}, bad_index};
}

/* ---- the callback: field 0 the image (C,H,W) / 255, field 1 (index, left
 * alone), the mask, aux (index, a draw) ---- */

typedef struct prepare_ctx {
    int64_t fail_index;  /* prepare() fails for it; NO_BAD for none */
    _Atomic long calls;  /* how many times prepare ran */
    int64_t hold_index;  /* prepare() waits for `release` on it; NO_BAD for none */
    _Atomic bool held, release;
    int64_t slow_index;  /* prepare() takes 50 ms on it; NO_BAD for none */
    _Atomic int most_threads; /* the largest kernel thread count prepare() saw */
} prepare_ctx;

#define CTX(fail) {.fail_index = (fail), .hold_index = NO_BAD, .slow_index = NO_BAD}

static void sleep_ms(long ms) { nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000}, NULL); }

static int prepare(void *ctx, const tg_sample *s, int64_t index, tg_rng *rng, const tg_loader_slots *slots)
{
    prepare_ctx *p = ctx;
    atomic_fetch_add(&p->calls, 1);
    if (index == p->hold_index) {
        atomic_store(&p->held, true);
        for (int i = 0; i < 5000 && !atomic_load(&p->release); i++) sleep_ms(1);
    }
    if (index == p->slow_index) sleep_ms(50);
    for (int seen = atomic_load(&p->most_threads), now = tg_get_num_threads(); now > seen;)
        if (atomic_compare_exchange_weak(&p->most_threads, &seen, now)) break;
    slots->fields[1][0] = (float)index;
    if (index == p->fail_index) {
        slots->fields[1][1] = 99; /* a half-written sample the loader must clear */
        return TG_FAIL("prepare: refuses %lld", (long long)index);
    }
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < SIDE * SIDE; i++) slots->fields[0][c * SIDE * SIDE + i] = s->image.data[i * 3 + c] / 255.0f;
    for (int i = 0; i < SIDE * SIDE; i++) slots->mask[i] = s->mask.data[i];
    slots->aux[0] = (float)index;
    slots->aux[1] = (float)tg_rng_uniform(rng);
    return 0;
}

static tg_loader_config config(prepare_ctx *ctx, int64_t batch_size, int workers, int prefetch)
{
    return (tg_loader_config){
        .batch_size = batch_size,
        .seed = 1234,
        .num_workers = workers,
        .prefetch = prefetch,
        .num_fields = 2,
        .field_shape = {{3, {3, SIDE, SIDE}}, {1, {2}}},
        .has_mask = true,
        .mask_height = SIDE,
        .mask_width = SIDE,
        .aux_size = 2,
        .prepare = prepare,
        .ctx = ctx,
    };
}

static tg_loader *new_loader(const synthetic *ds, const tg_loader_config *cfg)
{
    tg_loader *l = tg_loader_new(&ds->base, cfg);
    ck_assert_msg(l != NULL, "%s", tg_last_error());
    return l;
}

/* ---- helpers ---- */

static tg_batch next_ok(tg_loader *l)
{
    tg_batch b;
    int rc = tg_loader_next(l, &b);
    ck_assert_msg(rc == 1, "next gave %d: %s", rc, tg_last_error());
    return b;
}

static int64_t index_at(const tg_batch *b, int64_t j) { return tg_get_i64(b->index, (int64_t[]){j}); }

/* Every element of sample j is what the dataset and the callback make of
 * its index. */
static void check_sample(const tg_batch *b, int64_t j)
{
    int64_t i = index_at(b, j);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                ck_assert_float_eq(tg_get(b->fields[0], (int64_t[]){j, c, y, x}), pixel(i, y, x, c) / 255.0f);
                ck_assert_int_eq(tg_get_i64(b->mask, (int64_t[]){j, y, x}), label(i, y, x));
            }
    ck_assert_float_eq(tg_get(b->fields[1], (int64_t[]){j, 0}), (float)i);
    ck_assert_float_eq(tg_get(b->fields[1], (int64_t[]){j, 1}), 0.0f);
    ck_assert_float_eq(tg_get(b->aux, (int64_t[]){j, 0}), (float)i);
}

/* t's bytes, row-major, in a buffer the caller frees. */
static char *bytes_of(const tg_tensor *t)
{
    size_t bytes = (size_t)tg_numel(t) * tg_dtype_size(t->dtype);
    char *x = malloc(bytes ? bytes : 1);
    ck_assert(x);
    ck_assert_int_eq(tg_copy_to_buffer(t, x), 0);
    return x;
}

/* Whether whole, cut along dim 0 into `shards` blocks, holds part's bytes in block r. */
static bool rows_equal(const tg_tensor *whole, const tg_tensor *part, int shards, int r)
{
    if (!whole || !part) return whole == part;
    if (whole->ndim != part->ndim || whole->dtype != part->dtype || whole->shape[0] != shards * part->shape[0])
        return false;
    for (int d = 1; d < part->ndim; d++)
        if (whole->shape[d] != part->shape[d]) return false;
    size_t bytes = (size_t)tg_numel(part) * tg_dtype_size(part->dtype);
    char *x = bytes_of(whole), *y = bytes_of(part);
    bool same = memcmp(x + (size_t)r * bytes, y, bytes) == 0;
    free(x);
    free(y);
    return same;
}

/* part is shard r's slice of whole: its rows [r*m, (r+1)*m), m = whole->n / shards. */
static bool holds_rows(const tg_batch *whole, const tg_batch *part, int shards, int r)
{
    bool same = whole->n == shards * part->n && rows_equal(whole->mask, part->mask, shards, r) &&
                rows_equal(whole->aux, part->aux, shards, r) && rows_equal(whole->index, part->index, shards, r);
    for (int k = 0; k < TG_LOADER_MAX_FIELDS; k++)
        same = same && rows_equal(whole->fields[k], part->fields[k], shards, r);
    return same;
}

static bool batches_equal(const tg_batch *a, const tg_batch *b) { return holds_rows(a, b, 1, 0); }

#define MAX_BATCHES 64

/* The batches of `epochs` epochs from the loader's position (one empty
 * batch, n = 0, marks each epoch's end). Returns how many. */
static int collect(tg_loader *l, int epochs, tg_batch *out)
{
    int count = 0;
    while (epochs > 0) {
        ck_assert_int_lt(count, MAX_BATCHES);
        int rc = tg_loader_next(l, &out[count]);
        ck_assert_msg(rc >= 0, "%s", tg_last_error());
        count++;
        epochs -= rc == 0;
    }
    return count;
}

static void release_all(tg_batch *b, int count)
{
    for (int i = 0; i < count; i++) tg_batch_release(&b[i]);
}

/* The indices of one epoch's batches, in order, into order[]; returns how many. */
static int epoch_order(tg_loader *l, int64_t *order)
{
    int n = 0;
    tg_batch b;
    int rc;
    while ((rc = tg_loader_next(l, &b)) == 1) {
        for (int64_t j = 0; j < b.n; j++) order[n++] = index_at(&b, j);
        tg_batch_release(&b);
    }
    ck_assert_msg(rc == 0, "%s", tg_last_error());
    return n;
}

/* ---- tests ---- */

START_TEST(test_batches_in_order_with_contents)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, 5, 0, 0);
    tg_loader *l = new_loader(&ds, &cfg);
    ck_assert_int_eq(tg_loader_batches_per_epoch(l), 5);
    for (int epoch = 0; epoch < 2; epoch++) {
        int64_t expect = 0;
        for (int batch = 0; batch < 5; batch++) {
            ck_assert_int_eq(tg_loader_position(l), tg_loader_pack_position(epoch, batch));
            tg_batch b = next_ok(l);
            ck_assert_int_eq(b.n, batch < 4 ? 5 : 3);
            ck_assert_int_eq(b.fields[0]->ndim, 4);
            ck_assert_int_eq(b.fields[0]->shape[0], b.n);
            ck_assert_int_eq(b.mask->dtype, TG_INT64);
            ck_assert_int_eq(b.aux->shape[1], 2);
            ck_assert_int_eq(b.fields[1]->shape[1], 2);
            ck_assert_ptr_null(b.fields[2]);
            for (int64_t j = 0; j < b.n; j++) {
                ck_assert_int_eq(index_at(&b, j), expect++);
                check_sample(&b, j);
            }
            tg_batch_release(&b);
        }
        tg_batch b;
        ck_assert_int_eq(tg_loader_next(l, &b), 0);
        ck_assert_ptr_null(b.index);
    }
    ck_assert_int_eq(tg_loader_position(l), tg_loader_pack_position(2, 0));
    tg_loader_free(l);
}
END_TEST

START_TEST(test_drop_last)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, 5, 2, 0);
    cfg.drop_last = true;
    tg_loader *l = new_loader(&ds, &cfg);
    ck_assert_int_eq(tg_loader_batches_per_epoch(l), 4);
    int64_t order[SIZE];
    ck_assert_int_eq(epoch_order(l, order), 20);
    for (int i = 0; i < 20; i++) ck_assert_int_eq(order[i], i);
    tg_loader_free(l);

    /* A dataset smaller than one batch has no batches at all. */
    cfg.batch_size = SIZE + 1;
    l = new_loader(&ds, &cfg);
    ck_assert_int_eq(tg_loader_batches_per_epoch(l), 0);
    tg_batch b;
    ck_assert_int_eq(tg_loader_next(l, &b), 0);
    ck_assert_int_eq(tg_loader_next(l, &b), 0);
    ck_assert_int_eq(tg_loader_position(l), tg_loader_pack_position(2, 0));
    tg_loader_free(l);
}
END_TEST

static bool same_order(const int64_t *a, const int64_t *b, int n) { return memcmp(a, b, (size_t)n * sizeof *a) == 0; }

START_TEST(test_shuffle_per_epoch_and_seed)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, 4, 0, 0);
    cfg.shuffle = true;
    int64_t orders[2][2][SIZE], identity[SIZE];
    for (int i = 0; i < SIZE; i++) identity[i] = i;
    for (int run = 0; run < 2; run++) {
        tg_loader *l = new_loader(&ds, &cfg);
        for (int epoch = 0; epoch < 2; epoch++) {
            ck_assert_int_eq(epoch_order(l, orders[run][epoch]), SIZE);
            int seen[SIZE] = {0};
            for (int i = 0; i < SIZE; i++) seen[orders[run][epoch][i]]++;
            for (int i = 0; i < SIZE; i++) ck_assert_int_eq(seen[i], 1);
            ck_assert(!same_order(orders[run][epoch], identity, SIZE));
        }
        tg_loader_free(l);
    }
    ck_assert(same_order(orders[0][0], orders[1][0], SIZE));
    ck_assert(same_order(orders[0][1], orders[1][1], SIZE));
    ck_assert(!same_order(orders[0][0], orders[0][1], SIZE));

    cfg.seed = 1235;
    tg_loader *l = new_loader(&ds, &cfg);
    int64_t other[SIZE];
    epoch_order(l, other);
    ck_assert(!same_order(other, orders[0][0], SIZE));
    tg_loader_free(l);
}
END_TEST

/* aux[1] of every sample of one epoch, by dataset index. */
static void draws_by_index(tg_loader *l, float *draw)
{
    tg_batch b;
    while (tg_loader_next(l, &b) == 1) {
        for (int64_t j = 0; j < b.n; j++) draw[index_at(&b, j)] = tg_get(b.aux, (int64_t[]){j, 1});
        tg_batch_release(&b);
    }
}

START_TEST(test_sample_generator_depends_on_epoch_and_index_only)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    float draws[3][2][SIZE];
    int64_t batch_sizes[3] = {4, 7, 7};
    for (int run = 0; run < 3; run++) {
        tg_loader_config cfg = config(&ctx, batch_sizes[run], run, 0);
        cfg.shuffle = run != 2;
        tg_loader *l = new_loader(&ds, &cfg);
        draws_by_index(l, draws[run][0]);
        draws_by_index(l, draws[run][1]);
        tg_loader_free(l);
    }
    int differ = 0;
    for (int i = 0; i < SIZE; i++) {
        for (int run = 1; run < 3; run++)
            for (int epoch = 0; epoch < 2; epoch++) ck_assert_float_eq(draws[run][epoch][i], draws[0][epoch][i]);
        differ += draws[0][0][i] != draws[0][1][i];
        if (i > 0) ck_assert_float_ne(draws[0][0][i], draws[0][0][i - 1]);
    }
    ck_assert_int_eq(differ, SIZE);
}
END_TEST

START_TEST(test_same_batches_for_any_workers_and_prefetch)
{
    synthetic ds = make_dataset(SIZE, 5);
    prepare_ctx ctx = CTX(17);
    tg_loader_config cfg = config(&ctx, 4, 0, 0);
    cfg.shuffle = true;
    cfg.on_error = TG_LOADER_SKIP;
    tg_batch want[MAX_BATCHES], got[MAX_BATCHES];
    tg_loader *l = new_loader(&ds, &cfg);
    int count = collect(l, 3, want);
    ck_assert_int_eq(count, 3 * 7);
    int64_t skipped = tg_loader_skipped(l);
    ck_assert_int_eq(skipped, 3 * 2);
    tg_loader_free(l);
    int prefetches[] = {0, 1, 3};
    for (int workers = 1; workers <= 3; workers++)
        for (int p = 0; p < 3; p++) {
            cfg.num_workers = workers;
            cfg.prefetch = prefetches[p];
            l = new_loader(&ds, &cfg);
            ck_assert_int_eq(collect(l, 3, got), count);
            for (int i = 0; i < count; i++)
                ck_assert_msg(batches_equal(&want[i], &got[i]), "batch %d differs with %d workers, prefetch %d", i,
                              workers, prefetches[p]);
            ck_assert_int_eq(tg_loader_skipped(l), skipped);
            release_all(got, count);
            tg_loader_free(l);
        }
    release_all(want, count);
}
END_TEST

START_TEST(test_seek_gives_the_batches_that_followed)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, 5, 0, 0);
    cfg.shuffle = true;
    tg_batch want[MAX_BATCHES], got[MAX_BATCHES];
    tg_loader *l = new_loader(&ds, &cfg);
    int count = collect(l, 3, want);
    tg_loader_free(l);
    /* want: epoch 0 is want[0..5] (5 batches and its end), epoch 1 want[6..11]. */
    int starts[] = {2, 5, 8, 0};
    int64_t positions[] = {tg_loader_pack_position(0, 2), tg_loader_pack_position(0, 5),
                           tg_loader_pack_position(1, 2), tg_loader_pack_position(0, 0)};
    for (int workers = 0; workers <= 2; workers += 2) {
        cfg.num_workers = workers;
        l = new_loader(&ds, &cfg);
        /* Run ahead (the queue fills), note the position, move on, come back. */
        for (int i = 0; i < 3; i++) {
            tg_batch b = next_ok(l);
            tg_batch_release(&b);
        }
        ck_assert_int_eq(tg_loader_position(l), tg_loader_pack_position(0, 3));
        for (int s = 0; s < 4; s++) {
            ck_assert_msg(tg_loader_seek(l, positions[s]) == 0, "%s", tg_last_error());
            ck_assert_int_eq(tg_loader_position(l), positions[s]);
            int n = collect(l, 2 - (starts[s] >= 6), got);
            ck_assert_int_eq(starts[s] + n, count - 6);
            for (int i = 0; i < n; i++) ck_assert(batches_equal(&want[starts[s] + i], &got[i]));
            release_all(got, n);
        }
        ck_assert_int_eq(tg_loader_seek(l, tg_loader_pack_position(0, 6)), -1);
        CK_ERROR_HAS("not one of this loader's");
        ck_assert_int_eq(tg_loader_seek(l, -1), -1);
        tg_loader_free(l);
    }
    release_all(want, count);
}
END_TEST

START_TEST(test_skip_replaces_and_counts)
{
    synthetic ds = make_dataset(SIZE, 5);
    prepare_ctx ctx = CTX(6);
    for (int workers = 0; workers <= 2; workers += 2) {
        tg_loader_config cfg = config(&ctx, 4, workers, 0);
        cfg.on_error = TG_LOADER_SKIP;
        tg_loader *l = new_loader(&ds, &cfg);
        /* 5 and 6 fail: both places go to 7, the next one that loads, each
         * drawn with its own generator. */
        tg_batch b = next_ok(l);
        tg_batch_release(&b);
        b = next_ok(l);
        for (int j = 0; j < 4; j++) ck_assert_int_eq(index_at(&b, j), j == 1 || j == 2 ? 7 : 4 + j);
        for (int j = 0; j < 4; j++) check_sample(&b, j);
        float draw[4];
        for (int j = 0; j < 4; j++) draw[j] = tg_get(b.aux, (int64_t[]){j, 1});
        ck_assert(draw[1] != draw[2] && draw[2] != draw[3] && draw[1] != draw[3]);
        tg_batch_release(&b);
        int64_t order[SIZE];
        ck_assert_int_eq(epoch_order(l, order), SIZE - 8);
        for (int i = 0; i < SIZE - 8; i++) ck_assert_int_eq(order[i], 8 + i);
        ck_assert_int_eq(tg_loader_skipped(l), 2);
        tg_loader_free(l);
    }
    /* The last sample fails: the order wraps around to the first. */
    synthetic last_bad = make_dataset(SIZE, SIZE - 1);
    tg_loader_config cfg = config(&ctx, 4, 1, 0);
    cfg.on_error = TG_LOADER_SKIP;
    ctx.fail_index = NO_BAD;
    tg_loader *l = new_loader(&last_bad, &cfg);
    int64_t order[SIZE];
    epoch_order(l, order);
    ck_assert_int_eq(order[SIZE - 1], 0);
    tg_loader_free(l);
    /* Nothing loads: an error, no hang. */
    synthetic one_bad = make_dataset(1, 0);
    l = new_loader(&one_bad, &cfg);
    tg_batch b;
    ck_assert_int_eq(tg_loader_next(l, &b), -1);
    CK_ERROR_HAS("no sample of the 1 loads");
    tg_loader_free(l);
}
END_TEST

START_TEST(test_fail_names_the_sample)
{
    synthetic ds = make_dataset(SIZE, 5);
    prepare_ctx ctx = CTX(9);
    for (int workers = 0; workers <= 2; workers += 2) {
        tg_loader_config cfg = config(&ctx, 4, workers, 0);
        tg_loader *l = new_loader(&ds, &cfg);
        tg_batch b = next_ok(l);
        tg_batch_release(&b);
        for (int again = 0; again < 2; again++) {
            ck_assert_int_eq(tg_loader_next(l, &b), -1);
            ck_assert_ptr_null(b.index);
            CK_ERROR_HAS("synthetic/00005.png (index 5)");
            CK_ERROR_HAS("synthetic: sample 5 is corrupt");
            ck_assert_int_eq(tg_loader_position(l), tg_loader_pack_position(0, 1));
        }
        ck_assert_int_eq(tg_loader_seek(l, tg_loader_pack_position(0, 2)), 0);
        ck_assert_int_eq(tg_loader_next(l, &b), -1);
        CK_ERROR_HAS("synthetic/00009.png (index 9)");
        CK_ERROR_HAS("prepare: refuses 9");
        ck_assert_int_eq(tg_loader_seek(l, tg_loader_pack_position(0, 3)), 0);
        b = next_ok(l);
        ck_assert_int_eq(index_at(&b, 0), 12);
        ck_assert_int_eq(tg_loader_skipped(l), 0);
        tg_batch_release(&b);
        tg_loader_free(l);
    }
}
END_TEST

/* Waits (at most a few seconds) until prepare has run at least n times. */
static void wait_for_calls(prepare_ctx *ctx, long n)
{
    long calls = 0;
    for (int i = 0; i < 5000 && (calls = atomic_load(&ctx->calls)) < n; i++) sleep_ms(1);
    ck_assert_int_ge(calls, n);
}

START_TEST(test_seek_while_a_worker_is_mid_batch)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    ctx.slow_index = 4; /* a stale batch 0 would come first */
    for (int64_t hold = 0; hold < 2; hold++) {
        /* The worker is held in batch 0's first, then last, sample. */
        ctx.hold_index = hold;
        atomic_store(&ctx.held, false);
        atomic_store(&ctx.release, false);
        tg_loader_config cfg = config(&ctx, 2, 1, 1);
        tg_loader *l = new_loader(&ds, &cfg);
        for (int i = 0; i < 5000 && !atomic_load(&ctx.held); i++) sleep_ms(1);
        ck_assert(atomic_load(&ctx.held));
        ck_assert_int_eq(tg_loader_seek(l, tg_loader_pack_position(0, 2)), 0);
        atomic_store(&ctx.release, true);
        tg_batch b = next_ok(l);
        ck_assert_int_eq(index_at(&b, 0), 4);
        ck_assert_int_eq(index_at(&b, 1), 5);
        tg_batch_release(&b);
        tg_loader_free(l);
    }
}
END_TEST

START_TEST(test_workers_run_kernels_on_one_thread)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    int before = tg_get_num_threads();
    ck_assert_int_eq(tg_set_num_threads(3), 0);
    tg_loader_config cfg = config(&ctx, 4, 2, 0);
    tg_loader *l = new_loader(&ds, &cfg);
    int64_t order[SIZE];
    ck_assert_int_eq(epoch_order(l, order), SIZE);
    tg_loader_free(l);
    int most = atomic_load(&ctx.most_threads);
    ck_assert_int_eq(most, 1);
    ck_assert_int_eq(tg_get_num_threads(), 3);
    ck_assert_int_eq(tg_set_num_threads(before), 0);
}
END_TEST

START_TEST(test_free_mid_epoch_with_a_full_queue)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, 2, 3, 2);
    /* Freed at once, while the workers start. */
    tg_loader_free(new_loader(&ds, &cfg));
    /* Freed with the queue full: one batch taken, two made ahead, workers waiting. */
    atomic_store(&ctx.calls, 0);
    tg_loader *l = new_loader(&ds, &cfg);
    tg_batch b = next_ok(l);
    wait_for_calls(&ctx, 2 * 3);
    sleep_ms(20);
    long calls = atomic_load(&ctx.calls);
    ck_assert_int_eq(calls, 2 * 3);
    tg_loader_free(l);
    tg_batch_release(&b);
    /* Freed after an error left the queue stuck on a failed batch. */
    synthetic bad = make_dataset(SIZE, 0);
    l = new_loader(&bad, &cfg);
    ck_assert_int_eq(tg_loader_next(l, &b), -1);
    tg_loader_free(l);
}
END_TEST

/* ---- shards ---- */

#define SHARDED_SIZE 42 /* batches of 12: three, and a last one of 6 */
#define SHARDED_BATCH 12

/* Each of `count` batches of shard r is its slice of the whole batch. */
static void check_slices(const tg_batch *whole, const tg_batch *part, int count, int shards, int r)
{
    for (int i = 0; i < count; i++)
        ck_assert_msg(holds_rows(&whole[i], &part[i], shards, r), "batch %d of shard %d of %d is not its slice", i, r,
                      shards);
}

/* Every shard of `shards`, with 0 and 2 workers, delivers its slice of each
 * of the unsharded loader's batches over 2 epochs, and again after a seek
 * into the second epoch; the shards' skips add up to the whole's. */
static void check_shards_split(const synthetic *ds, tg_loader_config cfg, int shards)
{
    tg_batch whole[MAX_BATCHES], part[MAX_BATCHES];
    tg_loader *l = new_loader(ds, &cfg);
    int count = collect(l, 2, whole);
    int64_t skipped = tg_loader_skipped(l), batches = tg_loader_batches_per_epoch(l);
    int resume_at = (int)batches + 2; /* epoch 0's batches and end, then epoch 1's batch 0 */
    tg_loader_free(l);
    cfg.shard_count = shards;
    for (int workers = 0; workers <= 2; workers += 2) {
        int64_t shard_skips = 0;
        for (int r = 0; r < shards; r++) {
            cfg.num_workers = workers;
            cfg.shard_index = r;
            l = new_loader(ds, &cfg);
            ck_assert_int_eq(tg_loader_batches_per_epoch(l), batches);
            ck_assert_int_eq(collect(l, 2, part), count);
            check_slices(whole, part, count, shards, r);
            release_all(part, count);
            shard_skips += tg_loader_skipped(l);
            ck_assert_int_eq(tg_loader_seek(l, tg_loader_pack_position(1, 1)), 0);
            int n = collect(l, 1, part);
            ck_assert_int_eq(resume_at + n, count);
            check_slices(whole + resume_at, part, n, shards, r);
            release_all(part, n);
            tg_loader_free(l);
        }
        ck_assert_int_eq(shard_skips, skipped);
    }
    release_all(whole, count);
}

START_TEST(test_shards_side_by_side_are_the_whole_batch)
{
    synthetic ds = make_dataset(SHARDED_SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, SHARDED_BATCH, 0, 0);
    cfg.shuffle = true;
    for (int shards = 1; shards <= 4; shards++) {
        cfg.drop_last = shards == 4; /* the last batch, of 6, does not split in 4 */
        check_shards_split(&ds, cfg, shards);
    }
}
END_TEST

START_TEST(test_a_shard_prepares_its_slice_only)
{
    synthetic ds = make_dataset(24, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    tg_loader_config cfg = config(&ctx, 4, 0, 0);
    cfg.shard_count = 2;
    tg_loader *first = new_loader(&ds, &cfg);
    cfg.shard_index = 1;
    tg_loader *second = new_loader(&ds, &cfg);
    tg_batch a = next_ok(first), b = next_ok(second);
    ck_assert_int_eq(a.n, 2);
    ck_assert_int_eq(b.n, 2);
    ck_assert_int_eq(index_at(&a, 0), 0);
    ck_assert_int_eq(index_at(&b, 0), 2);
    ck_assert_float_ne(tg_get(a.fields[0], (int64_t[]){0, 0, 0, 0}), tg_get(b.fields[0], (int64_t[]){0, 0, 0, 0}));
    check_sample(&b, 1);
    tg_batch_release(&a);
    tg_batch_release(&b);
    ck_assert_int_eq(tg_loader_position(second), tg_loader_pack_position(0, 1));
    ck_assert_int_eq(tg_loader_batches_per_epoch(second), 6);
    int64_t order[24];
    ck_assert_int_eq(epoch_order(second, order), 10);
    long calls = atomic_load(&ctx.calls);
    ck_assert_int_eq(calls, 2 + 12);
    tg_loader_free(first);
    tg_loader_free(second);
}
END_TEST

/* The indices of shard r's (of 4) first two batches: 3 each. */
static void first_indices(const synthetic *ds, tg_loader_config cfg, int r, int64_t *out)
{
    cfg.shard_count = 4;
    cfg.shard_index = r;
    tg_loader *l = new_loader(ds, &cfg);
    for (int i = 0; i < 2; i++) {
        tg_batch b = next_ok(l);
        for (int j = 0; j < 3; j++) out[3 * i + j] = index_at(&b, j);
        tg_batch_release(&b);
    }
    ck_assert_int_eq(tg_loader_skipped(l), (r == 0 || r == 3));
    tg_loader_free(l);
}

START_TEST(test_shards_skip_like_the_whole)
{
    /* 2 and 11 fail: 2, the last of shard 0's 3 rows, goes to 3, in shard
     * 1's slice; 11, the last row of batch 0, to 12, in batch 1. */
    synthetic ds = make_dataset(SHARDED_SIZE, 11);
    prepare_ctx ctx = CTX(2);
    tg_loader_config cfg = config(&ctx, SHARDED_BATCH, 0, 0);
    cfg.on_error = TG_LOADER_SKIP;
    cfg.drop_last = true;
    int64_t first[6], last[6];
    first_indices(&ds, cfg, 0, first);
    first_indices(&ds, cfg, 3, last);
    ck_assert_mem_eq(first, ((int64_t[]){0, 1, 3, 12, 13, 14}), sizeof first);
    ck_assert_mem_eq(last, ((int64_t[]){9, 10, 12, 21, 22, 23}), sizeof last);
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        cfg.shuffle = shuffle;
        for (int shards = 2; shards <= 4; shards++) check_shards_split(&ds, cfg, shards);
    }
}
END_TEST

/* A config (made by config() and changed by `change`) the loader refuses
 * with a message holding `text`. */
#define CHECK_REFUSED(change, text)                                     \
    do {                                                                \
        tg_loader_config cfg = config(&ctx, 2, 0, 0);                   \
        change;                                                         \
        ck_assert_ptr_null(tg_loader_new(&ds.base, &cfg));              \
        CK_ERROR_HAS(text);                                             \
    } while (0)

START_TEST(test_bad_configs_are_refused)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    CHECK_REFUSED(cfg.batch_size = 0, "batch_size 0");
    CHECK_REFUSED(cfg.prepare = NULL, "prepare");
    CHECK_REFUSED(cfg.num_workers = -1, "num_workers");
    CHECK_REFUSED(cfg.prefetch = -2, "prefetch is -2");
    CHECK_REFUSED(cfg.num_workers = TG_MAX_THREADS + 1, "num_workers is 1025, not in [0, 1024]");
    CHECK_REFUSED(cfg.prefetch = TG_LOADER_MAX_PREFETCH + 1, "prefetch is 1025");
    CHECK_REFUSED(cfg.num_fields = TG_LOADER_MAX_FIELDS + 1, "num_fields");
    CHECK_REFUSED(cfg.num_fields = -1, "num_fields");
    CHECK_REFUSED(cfg.field_shape[0].dims[1] = 0, "field 0 dim 1");
    CHECK_REFUSED(cfg.field_shape[1].ndim = TG_MAX_DIMS, "field 1 has 8 dims");
    CHECK_REFUSED(cfg.mask_width = -3, "mask dim 1");
    CHECK_REFUSED(cfg.aux_size = -1, "aux_size");
    CHECK_REFUSED(ds.base.size = -1, "dataset size -1");
    ck_assert_ptr_null(tg_loader_new(NULL, &(tg_loader_config){0}));
    CK_ERROR_HAS("no dataset");
    tg_batch b;
    ck_assert_int_eq(tg_loader_next(NULL, &b), -1);
    tg_loader_free(NULL);
}
END_TEST

START_TEST(test_bad_shards_are_refused)
{
    synthetic ds = make_dataset(SIZE, NO_BAD);
    prepare_ctx ctx = CTX(NO_BAD);
    CHECK_REFUSED(cfg.shard_count = -1, "shard_count is -1, not in [0, 65536]");
    CHECK_REFUSED(cfg.shard_count = TG_LOADER_MAX_SHARDS + 1, "shard_count is 65537, not in [0, 65536]");
    CHECK_REFUSED((cfg.shard_count = 2, cfg.shard_index = 2), "shard_index is 2, not in [0, 1]");
    CHECK_REFUSED((cfg.shard_count = 2, cfg.shard_index = -1), "shard_index is -1, not in [0, 1]");
    CHECK_REFUSED(cfg.shard_index = 1, "shard_index is 1, not in [0, 0]");
    CHECK_REFUSED((cfg.batch_size = 10, cfg.shard_count = 4), "batch size 10 does not split across 4 shards");
    CHECK_REFUSED((cfg.batch_size = 4, cfg.shard_count = 2), "last batch of 3 samples (of 23) does not split across 2");
    CK_ERROR_HAS("use drop_last, or a dataset size that splits");
    /* The same shards drop that last batch. */
    tg_loader_config cfg = config(&ctx, 4, 0, 0);
    cfg.shard_count = 2;
    cfg.drop_last = true;
    tg_loader *l = new_loader(&ds, &cfg);
    ck_assert_int_eq(tg_loader_batches_per_epoch(l), 5);
    tg_loader_free(l);
}
END_TEST

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, test_batches_in_order_with_contents);
    tcase_add_test(tc, test_drop_last);
    tcase_add_test(tc, test_shuffle_per_epoch_and_seed);
    tcase_add_test(tc, test_sample_generator_depends_on_epoch_and_index_only);
    tcase_add_test(tc, test_same_batches_for_any_workers_and_prefetch);
    tcase_add_test(tc, test_seek_gives_the_batches_that_followed);
    tcase_add_test(tc, test_skip_replaces_and_counts);
    tcase_add_test(tc, test_fail_names_the_sample);
    tcase_add_test(tc, test_seek_while_a_worker_is_mid_batch);
    tcase_add_test(tc, test_workers_run_kernels_on_one_thread);
    tcase_add_test(tc, test_free_mid_epoch_with_a_full_queue);
    tcase_add_test(tc, test_shards_side_by_side_are_the_whole_batch);
    tcase_add_test(tc, test_a_shard_prepares_its_slice_only);
    tcase_add_test(tc, test_shards_skip_like_the_whole);
    tcase_add_test(tc, test_bad_configs_are_refused);
    tcase_add_test(tc, test_bad_shards_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
