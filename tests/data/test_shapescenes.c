/* ShapeScenes (data/shapescenes.h): a pinned hash of the first train images
 * and masks, determinism across calls and threads, distinct splits, the
 * pretrain leakage guard, scene statistics against docs/protocol.md section 13, the
 * same scene at other sizes, bad configs, and the VOC export read back. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/datasets.h"
#include "data/shapescenes.h"
#include "suites.h"
#include "tensor/error.h"
#include "tmpdir.h"

/* FNV-1a (64-bit) of the first 64 train images and masks at the defaults,
 * images and masks interleaved. Changes whenever one pixel does. */
#define PINNED_HASH 0x96065b9402a2a3a2ull
#define HASHED 64

#define CK_ERROR_HAS(text) \
    ck_assert_msg(strstr(tg_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"", tg_last_error(), (text))

static uint64_t fnv1a(uint64_t h, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ bytes[i]) * 0x100000001b3ull;
    return h;
}

static size_t bytes_of(const tg_image *img) { return (size_t)img->height * (size_t)img->width * (size_t)img->channels; }

static int same_image(const tg_image *a, const tg_image *b)
{
    return a->height == b->height && a->width == b->width && a->channels == b->channels &&
           memcmp(a->data, b->data, bytes_of(a)) == 0;
}

/* FNV-1a over images (and masks unless NULL) first .. first+n-1. */
static uint64_t hash_range(const tg_shapescenes_config *cfg, int64_t first, int64_t n, int with_masks)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t i = first; i < first + n; i++) {
        tg_image img, mask;
        ck_assert_int_eq(tg_shapescenes_render(cfg, i, &img, with_masks ? &mask : NULL), 0);
        h = fnv1a(h, img.data, bytes_of(&img));
        if (with_masks) h = fnv1a(h, mask.data, bytes_of(&mask));
        tg_image_free(&img);
        if (with_masks) tg_image_free(&mask);
    }
    return h;
}

START_TEST(test_pinned_hash)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    uint64_t h = hash_range(&cfg, 0, HASHED, 1);
    ck_assert_msg(h == PINNED_HASH, "hash of the first %d train images and masks is 0x%016llx, pinned 0x%016llx",
                  HASHED, (unsigned long long)h, (unsigned long long)PINNED_HASH);
}
END_TEST

START_TEST(test_same_index_same_bytes)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_VAL);
    tg_image a, am, b, bm;
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 7, &a, &am), 0);
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 7, &b, &bm), 0);
    ck_assert(same_image(&a, &b) && same_image(&am, &bm));
    tg_image_free(&b), tg_image_free(&bm);
    /* the dataset's get() gives the same sample */
    tg_dataset *ds = tg_shapescenes_open(&cfg);
    ck_assert_ptr_nonnull(ds);
    tg_sample s = {0};
    ck_assert_int_eq(ds->get(ds, 7, &s), 0);
    ck_assert(same_image(&a, &s.image) && same_image(&am, &s.mask));
    char name[64];
    ds->name(ds, 7, name, sizeof name);
    ck_assert_str_eq(name, "shapescenes val 7");
    tg_sample_free(&s), tg_dataset_free(ds);
    /* another index or seed gives another image */
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 8, &b, NULL), 0);
    ck_assert(!same_image(&a, &b));
    tg_image_free(&b);
    cfg.seed = 1;
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 7, &b, NULL), 0);
    ck_assert(!same_image(&a, &b));
    tg_image_free(&a), tg_image_free(&am), tg_image_free(&b);
}
END_TEST

START_TEST(test_noise_moves_colours_not_labels)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    tg_image a, am, b, bm;
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 3, &a, &am), 0);
    cfg.noise_sigma = 0.0f;
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 3, &b, &bm), 0);
    ck_assert(!same_image(&a, &b) && same_image(&am, &bm));
    tg_image_free(&a), tg_image_free(&am), tg_image_free(&b), tg_image_free(&bm);
}
END_TEST

START_TEST(test_splits_differ)
{
    tg_shapescenes_config train = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    tg_shapescenes_config test = tg_shapescenes_defaults(TG_SHAPESCENES_TEST);
    enum { N = 32 };
    tg_image a[N], b[N];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(tg_shapescenes_render(&train, i, &a[i], NULL), 0);
        ck_assert_int_eq(tg_shapescenes_render(&test, i, &b[i], NULL), 0);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) ck_assert_msg(!same_image(&a[i], &b[j]), "train %d equals test %d", i, j);
    for (int i = 0; i < N; i++) tg_image_free(&a[i]), tg_image_free(&b[i]);
}
END_TEST

START_TEST(test_pretrain_never_makes_masks)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_PRETRAIN);
    tg_dataset *ds = tg_shapescenes_open(&cfg);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(ds->has_masks, 0);
    ck_assert_int_eq(ds->num_classes, 0);
    ck_assert_int_eq(ds->size, 4000);
    for (int64_t i = 0; i < 4; i++) {
        tg_sample s = {0};
        ck_assert_int_eq(ds->get(ds, i, &s), 0);
        ck_assert_ptr_nonnull(s.image.data);
        ck_assert(s.mask.data == NULL && s.mask.height == 0);
        tg_sample_free(&s);
    }
    tg_dataset_free(ds);
    /* asking the renderer for a pretrain mask is refused, leaving both empty */
    tg_image img, mask;
    tg_clear_error();
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 0, &img, &mask), -1);
    CK_ERROR_HAS("pretrain");
    CK_ERROR_HAS("never renders masks");
    ck_assert(img.data == NULL && mask.data == NULL);
    /* labelled splits say so */
    cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TEST);
    ds = tg_shapescenes_open(&cfg);
    ck_assert_ptr_nonnull(ds);
    ck_assert(ds->has_masks == 1 && ds->num_classes == 9 && ds->size == 1000);
    tg_dataset_free(ds);
}
END_TEST

typedef struct {
    double background;      /* fraction of pixels */
    double classes[9];      /* fraction of pixels per class */
    double things_per_image; /* distinct thing classes, mean */
    int min_things, max_things;
} scene_stats;

static scene_stats measure(const tg_shapescenes_config *cfg, int n)
{
    scene_stats st = {.min_things = 9};
    long counts[9] = {0}, pixels = 0;
    for (int i = 0; i < n; i++) {
        tg_image img, mask;
        ck_assert_int_eq(tg_shapescenes_render(cfg, i, &img, &mask), 0);
        int seen[256] = {0}, things = 0;
        for (size_t p = 0; p < bytes_of(&mask); p++) seen[mask.data[p]]++;
        for (int c = 9; c < 256; c++) ck_assert_msg(seen[c] == 0, "image %d has label %d", i, c);
        for (int c = 0; c < 9; c++) counts[c] += seen[c], seen[c] = seen[c] > 0;
        for (int c = 1; c < 9; c++) things += seen[c];
        st.things_per_image += things;
        st.min_things = things < st.min_things ? things : st.min_things;
        st.max_things = things > st.max_things ? things : st.max_things;
        pixels += (long)bytes_of(&mask);
        tg_image_free(&img), tg_image_free(&mask);
    }
    for (int c = 0; c < 9; c++) st.classes[c] = (double)counts[c] / (double)pixels;
    st.background = st.classes[0];
    st.things_per_image /= n;
    return st;
}

START_TEST(test_statistics_multi)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    scene_stats st = measure(&cfg, 300);
    /* docs/protocol.md section 13: background 67.5%, each thing class 2.7-5.1%, 3.6 classes an image */
    ck_assert_msg(st.background > 0.6 && st.background < 0.75, "background %.3f", st.background);
    ck_assert_msg(st.things_per_image > 3.0 && st.things_per_image < 4.0, "%.2f thing classes an image",
                  st.things_per_image);
    ck_assert(st.min_things >= 1 && st.max_things <= 6);
    for (int c = 1; c < 9; c++) ck_assert_msg(st.classes[c] > 0.02 && st.classes[c] < 0.07, "class %d: %.3f", c, st.classes[c]);
}
END_TEST

START_TEST(test_statistics_single)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    cfg.single = 1;
    scene_stats st = measure(&cfg, 100);
    ck_assert_int_eq(st.min_things, 1);
    ck_assert_int_eq(st.max_things, 1);
    /* one centred object of half-size 0.55-0.8 */
    ck_assert_msg(st.background > 0.6 && st.background < 0.9, "background %.3f", st.background);
}
END_TEST

/* The scene does not depend on the resolution: a 96 px mask sampled at the
 * 64 px pixel centres agrees with the 64 px mask nearly everywhere. */
START_TEST(test_other_sizes_same_scene)
{
    tg_shapescenes_config small = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN), big = small;
    big.size = 96, big.supersample = 4;
    for (int i = 0; i < 4; i++) {
        tg_image a, am, b, bm;
        ck_assert_int_eq(tg_shapescenes_render(&small, i, &a, &am), 0);
        ck_assert_int_eq(tg_shapescenes_render(&big, i, &b, &bm), 0);
        ck_assert(b.height == 96 && b.width == 96 && b.channels == 3 && bm.channels == 1);
        int agree = 0;
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) agree += am.data[y * 64 + x] == bm.data[(y * 3 / 2) * 96 + x * 3 / 2];
        ck_assert_msg(agree > 64 * 64 * 9 / 10, "image %d: %d of 4096 labels agree", i, agree);
        tg_image_free(&a), tg_image_free(&am), tg_image_free(&b), tg_image_free(&bm);
    }
}
END_TEST

/* Each thread hashes the same range; all must match the serial hash. */
typedef struct {
    const tg_shapescenes_config *cfg;
    uint64_t hash;
} hash_job;

static void *hash_thread(void *arg)
{
    hash_job *job = arg;
    job->hash = hash_range(job->cfg, 0, 16, 1);
    return NULL;
}

START_TEST(test_threads_same_bytes)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    uint64_t serial = hash_range(&cfg, 0, 16, 1);
    hash_job jobs[3];
    pthread_t threads[3];
    for (int t = 0; t < 3; t++) {
        jobs[t] = (hash_job){&cfg, 0};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, hash_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < 3; t++) {
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
        ck_assert(jobs[t].hash == serial);
    }
}
END_TEST

/* Rendering with cfg fails with a message holding text; outputs empty. */
static void assert_refused(const tg_shapescenes_config *cfg, int64_t index, const char *text)
{
    tg_image img = {.height = 5}, mask = {.height = 5};
    tg_clear_error();
    ck_assert_int_eq(tg_shapescenes_render(cfg, index, &img, &mask), -1);
    CK_ERROR_HAS(text);
    ck_assert(img.data == NULL && img.height == 0 && mask.data == NULL && mask.height == 0);
}

START_TEST(test_bad_configs)
{
    const tg_shapescenes_config good = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    tg_shapescenes_config cfg = good;
    assert_refused(&cfg, -1, "index -1 is outside 0..499");
    assert_refused(&cfg, 500, "index 500");
    cfg.size = 4;
    assert_refused(&cfg, 0, "size 4");
    cfg = good, cfg.supersample = 0;
    assert_refused(&cfg, 0, "supersample 0");
    cfg = good, cfg.p_tie = 1.5f;
    assert_refused(&cfg, 0, "p_tie");
    cfg = good, cfg.noise_sigma = -0.1f;
    assert_refused(&cfg, 0, "noise_sigma");
    cfg = good, cfg.split = (tg_shapescenes_split)7;
    assert_refused(&cfg, 0, "split 7");
    ck_assert_ptr_null(tg_shapescenes_open(&cfg));
    CK_ERROR_HAS("split 7");
    ck_assert_int_eq(tg_shapescenes_export(&cfg, tmpdir_path, 0), -1);
}
END_TEST

/* ---- export ---- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static double mean_abs_diff(const tg_image *a, const tg_image *b)
{
    long diff = 0;
    for (size_t p = 0; p < bytes_of(a); p++) diff += labs((long)a->data[p] - (long)b->data[p]);
    return (double)diff / (double)bytes_of(a);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Exports the first count samples of cfg's split under tmpdir/voc (its
 * path in root, 256 bytes) and checks that the id list reads list. */
static void export_split(tg_shapescenes_config *cfg, int count, int use_jpeg, char *root, const char *list)
{
    char path[512];
    cfg->count = count;
    tmpdir_file(root, "voc");
    ck_assert_int_eq(tg_shapescenes_export(cfg, root, use_jpeg), 0);
    snprintf(path, sizeof path, "%s/ImageSets/Segmentation/%s.txt", root, tg_shapescenes_split_name(cfg->split));
    ck_assert_str_eq(read_text(path), list);
}

START_TEST(test_export_png_round_trip)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    char root[256], path[512];
    export_split(&cfg, 3, 0, root, "train_000000\ntrain_000001\ntrain_000002\n");
    for (int i = 0; i < 3; i++) {
        tg_image img, mask, back;
        ck_assert_int_eq(tg_shapescenes_render(&cfg, i, &img, &mask), 0);
        snprintf(path, sizeof path, "%s/JPEGImages/train_%06d.png", root, i);
        ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
        ck_assert(same_image(&img, &back));
        tg_image_free(&back);
        snprintf(path, sizeof path, "%s/SegmentationClass/train_%06d.png", root, i);
        ck_assert_int_eq(tg_image_read(path, TG_IMAGE_LABEL, &back), 0);
        ck_assert(same_image(&mask, &back));
        tg_image_free(&back);
        /* the mask's colours are the VOC palette's */
        ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
        const uint8_t *palette = tg_image_voc_palette();
        size_t wrong = 0;
        for (size_t p = 0; p < bytes_of(&mask); p++) wrong += memcmp(back.data + 3 * p, palette + 3 * mask.data[p], 3) != 0;
        ck_assert_uint_eq(wrong, 0);
        tg_image_free(&back), tg_image_free(&img), tg_image_free(&mask);
    }
}
END_TEST

/* The VOC reader serves the export as it serves VOC: the same samples as
 * the generator, in id order. */
START_TEST(test_export_reads_back_through_voc)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    char root[256];
    export_split(&cfg, 4, 0, root, "train_000000\ntrain_000001\ntrain_000002\ntrain_000003\n");
    tg_dataset *ds = tg_voc_open(root, "train", TG_SHAPESCENES_CLASSES);
    ck_assert_msg(ds != NULL, "%s", tg_last_error());
    ck_assert_int_eq(ds->size, 4);
    ck_assert_int_eq(ds->num_classes, TG_SHAPESCENES_CLASSES);
    for (int i = 0; i < 4; i++) {
        tg_sample got;
        tg_image img, mask;
        ck_assert_int_eq(ds->get(ds, i, &got), 0);
        ck_assert_int_eq(tg_shapescenes_render(&cfg, i, &img, &mask), 0);
        ck_assert(same_image(&img, &got.image) && same_image(&mask, &got.mask));
        tg_image_free(&img), tg_image_free(&mask), tg_sample_free(&got);
    }
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_export_jpeg_pretrain)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_PRETRAIN);
    char root[256], path[512];
    export_split(&cfg, 2, 1, root, "pretrain_000000\npretrain_000001\n");
    snprintf(path, sizeof path, "%s/SegmentationClass", root);
    ck_assert_msg(!exists(path), "the pretrain export made %s", path);
    tg_image img, other, back;
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 1, &img, NULL), 0);
    ck_assert_int_eq(tg_shapescenes_render(&cfg, 0, &other, NULL), 0);
    snprintf(path, sizeof path, "%s/JPEGImages/pretrain_000001.jpg", root);
    ck_assert_int_eq(tg_image_read(path, TG_IMAGE_RGB, &back), 0);
    ck_assert(back.height == 64 && back.width == 64 && back.channels == 3);
    /* lossy (with 4:2:0 chroma, fine textures lose ~10 levels a byte), but
       far nearer its own image than another one */
    double same = mean_abs_diff(&img, &back), far = mean_abs_diff(&other, &back);
    ck_assert_msg(same < 16.0 && far > 3.0 * same, "JPEG differs by %.1f a byte from its image, %.1f from another",
                  same, far);
    tg_image_free(&img), tg_image_free(&other), tg_image_free(&back);
}
END_TEST

START_TEST(test_export_refuses_missing_parent)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_VAL);
    cfg.count = 1;
    char root[256];
    tmpdir_file(root, "no/such/dir");
    tg_clear_error();
    ck_assert_int_eq(tg_shapescenes_export(&cfg, root, 0), -1);
    CK_ERROR_HAS("cannot make directory");
    CK_ERROR_HAS(tmpdir_path);
}
END_TEST

Suite *shapescenes_suite(void)
{
    Suite *s = suite_create("shapescenes");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_pinned_hash);
    tcase_add_test(tc, test_same_index_same_bytes);
    tcase_add_test(tc, test_noise_moves_colours_not_labels);
    tcase_add_test(tc, test_splits_differ);
    tcase_add_test(tc, test_pretrain_never_makes_masks);
    tcase_add_test(tc, test_statistics_multi);
    tcase_add_test(tc, test_statistics_single);
    tcase_add_test(tc, test_other_sizes_same_scene);
    tcase_add_test(tc, test_threads_same_bytes);
    tcase_add_test(tc, test_bad_configs);
    tcase_add_test(tc, test_export_png_round_trip);
    tcase_add_test(tc, test_export_reads_back_through_voc);
    tcase_add_test(tc, test_export_jpeg_pretrain);
    tcase_add_test(tc, test_export_refuses_missing_parent);
    suite_add_tcase(s, tc);
    return s;
}
