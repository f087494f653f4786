/* tg_dataset_cached (data/dataset.h): the same samples as the base, bit for
 * bit, on first and later reads, from several threads at once, with the
 * cache full or too small for one sample; the base asked once an index
 * while there is room; a bad index refused; names passed through. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data/shapescenes.h"
#include "suites.h"
#include "tensor/error.h"

/* ShapeScenes val (images and masks) under a dataset that counts its
 * base's get() calls. */
typedef struct {
    tg_dataset ds;
    tg_dataset *scenes;
    int calls[64];
    pthread_mutex_t lock;
} counting;

static int counting_get(const tg_dataset *ds, int64_t index, tg_sample *out)
{
    counting *c = (counting *)ds;
    pthread_mutex_lock(&c->lock);
    if (index >= 0 && index < 64) c->calls[index]++;
    pthread_mutex_unlock(&c->lock);
    return c->scenes->get(c->scenes, index, out);
}

static void counting_name(const tg_dataset *ds, int64_t index, char *buf, int size)
{
    const counting *c = (const counting *)ds;
    c->scenes->name(c->scenes, index, buf, size);
}

static void counting_destroy(tg_dataset *ds)
{
    counting *c = (counting *)ds;
    tg_dataset_free(c->scenes);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static counting *counting_new(int64_t count)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_VAL);
    cfg.count = count;
    counting *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->scenes = tg_shapescenes_open(&cfg);
    ck_assert_ptr_nonnull(c->scenes);
    c->ds = (tg_dataset){.size = c->scenes->size, .num_classes = c->scenes->num_classes,
                         .has_masks = c->scenes->has_masks, .get = counting_get, .name = counting_name,
                         .destroy = counting_destroy};
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static size_t bytes_of(const tg_image *img) { return (size_t)img->height * (size_t)img->width * (size_t)img->channels; }

static int same_image(const tg_image *a, const tg_image *b)
{
    return a->height == b->height && a->width == b->width && a->channels == b->channels &&
           memcmp(a->data, b->data, bytes_of(a)) == 0;
}

/* Sample index of ds equals what ShapeScenes val renders for it. */
static void assert_sample(const tg_dataset *ds, int64_t index)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_VAL);
    tg_image img, mask;
    ck_assert_int_eq(tg_shapescenes_render(&cfg, index, &img, &mask), 0);
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, index, &s), 0);
    ck_assert_msg(same_image(&img, &s.image) && same_image(&mask, &s.mask), "sample %lld differs", (long long)index);
    tg_sample_free(&s);
    tg_image_free(&img);
    tg_image_free(&mask);
}

START_TEST(test_same_samples_base_asked_once)
{
    counting *c = counting_new(8);
    tg_dataset *ds = tg_dataset_cached(&c->ds, (size_t)1 << 20);
    ck_assert_ptr_nonnull(ds);
    ck_assert(ds->size == 8 && ds->has_masks && ds->num_classes == c->ds.num_classes);
    for (int pass = 0; pass < 3; pass++)
        for (int64_t i = 0; i < 8; i++) assert_sample(ds, i);
    for (int i = 0; i < 8; i++) ck_assert_int_eq(c->calls[i], 1);
    /* a caller may change what it got: the kept copy stays as it was */
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, 3, &s), 0);
    memset(s.image.data, 0, bytes_of(&s.image));
    tg_sample_free(&s);
    assert_sample(ds, 3);
    char name[64];
    ds->name(ds, 5, name, sizeof name);
    ck_assert_str_eq(name, "shapescenes val 5");
    tg_dataset_free(ds); /* frees the base too: LSan sees any leak */
}
END_TEST

START_TEST(test_full_cache_passes_through)
{
    counting *c = counting_new(6);
    tg_sample first;
    ck_assert_int_eq(c->ds.get(&c->ds, 0, &first), 0);
    size_t one = bytes_of(&first.image) + bytes_of(&first.mask);
    tg_sample_free(&first);
    c->calls[0] = 0;
    tg_dataset *ds = tg_dataset_cached(&c->ds, 2 * one); /* room for two samples */
    ck_assert_ptr_nonnull(ds);
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < 6; i++) assert_sample(ds, i);
    ck_assert(c->calls[0] == 1 && c->calls[1] == 1);
    for (int i = 2; i < 6; i++) ck_assert_int_eq(c->calls[i], 2);
    tg_dataset_free(ds);

    c = counting_new(3);
    ds = tg_dataset_cached(&c->ds, 0); /* no room at all */
    for (int64_t i = 0; i < 3; i++) assert_sample(ds, i);
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_bad_index_refused)
{
    tg_dataset *ds = tg_dataset_cached(&counting_new(4)->ds, (size_t)1 << 20);
    tg_sample s = {.image = {.height = 3}};
    tg_clear_error();
    ck_assert_int_eq(ds->get(ds, 4, &s), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "index 4 outside [0, 4)"));
    ck_assert(s.image.data == NULL && s.image.height == 0);
    ck_assert_int_eq(ds->get(ds, -1, &s), -1);
    tg_dataset_free(ds);
    tg_clear_error();
    ck_assert_ptr_null(tg_dataset_cached(NULL, 1));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "no base dataset"));
}
END_TEST

typedef struct {
    const tg_dataset *ds;
    int first;
} reader;

/* Reads every sample, twice, starting at first. */
static void *read_all(void *arg)
{
    const reader *r = arg;
    for (int k = 0; k < 2 * 16; k++) assert_sample(r->ds, (r->first + k) % 16);
    return NULL;
}

START_TEST(test_threads_same_samples)
{
    counting *c = counting_new(16);
    tg_dataset *ds = tg_dataset_cached(&c->ds, (size_t)1 << 20);
    reader readers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        readers[t] = (reader){ds, t % 2 ? 0 : 8};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, read_all, &readers[t]), 0);
    }
    for (int t = 0; t < 4; t++) ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    for (int i = 0; i < 16; i++) ck_assert(c->calls[i] >= 1 && c->calls[i] <= 4);
    tg_dataset_free(ds);
}
END_TEST

Suite *dataset_cache_suite(void)
{
    Suite *s = suite_create("dataset_cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_same_samples_base_asked_once);
    tcase_add_test(tc, test_full_cache_passes_through);
    tcase_add_test(tc, test_bad_index_refused);
    tcase_add_test(tc, test_threads_same_samples);
    suite_add_tcase(s, tc);
    return s;
}
