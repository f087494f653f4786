/* Dataset readers (data/datasets.h) on tiny VOC, Cityscapes and image
 * folder trees that each test writes with the library's own writers:
 * order, contents, label mapping, concurrent get(), and the clear errors
 * for missing lists, images and masks, size mismatches, unknown label
 * values and empty folders; a file the decoder refuses fails a loader
 * batch made on a worker thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/datasets.h"
#include "data/loader.h"
#include "data/shapescenes.h"
#include "suites.h"
#include "tensor/error.h"
#include "tmpdir.h"

#define H 6
#define W 8

/* mkdir -p of tmpdir/rel. */
static void make_dirs(const char *rel)
{
    char path[256];
    tmpdir_file(path, rel);
    for (char *p = path + strlen(tmpdir_path) + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = '\0';
        ck_assert_msg(mkdir(path, 0700) == 0 || access(path, F_OK) == 0, "mkdir %s", path);
        if (!(*p = c)) break;
    }
}

static void write_text(const char *rel, const char *text)
{
    char path[256];
    FILE *f = fopen(tmpdir_file(path, rel), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* An RGB image of size h x w whose pixels depend on salt; written as PNG or
 * JPEG (by the name's ending) at tmpdir/rel. */
static void write_photo(const char *rel, int h, int w, int salt)
{
    char path[256];
    tg_image img;
    ck_assert_int_eq(tg_image_alloc(&img, h, w, 3), 0);
    for (int i = 0; i < h * w * 3; i++) img.data[i] = (uint8_t)(salt * 31 + i * 7);
    tmpdir_file(path, rel);
    int jpeg = strstr(rel, ".jpg") != NULL;
    ck_assert_int_eq(jpeg ? tg_image_write_jpeg(path, &img, 90) : tg_image_write_png(path, &img), 0);
    tg_image_free(&img);
}

/* A label image of h x w holding values[i % n]: indexed (VOC palette) or
 * 8-bit gray. */
static void write_labels(const char *rel, int h, int w, const uint8_t *values, int n, int indexed)
{
    char path[256];
    tg_image img;
    ck_assert_int_eq(tg_image_alloc(&img, h, w, 1), 0);
    for (int i = 0; i < h * w; i++) img.data[i] = values[i % n];
    tmpdir_file(path, rel);
    ck_assert_int_eq(indexed ? tg_image_write_png_indexed(path, &img, tg_image_voc_palette(), 256)
                             : tg_image_write_png(path, &img),
                     0);
    tg_image_free(&img);
}

static void assert_open_fails(tg_dataset *ds, const char *what)
{
    ck_assert_ptr_null(ds);
    ck_assert_msg(strstr(tg_last_error(), what), "no '%s' in: %s", what, tg_last_error());
}

static void assert_get_fails(const tg_dataset *ds, int64_t index, const char *what)
{
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, index, &s), -1);
    ck_assert_msg(strstr(tg_last_error(), what), "no '%s' in: %s", what, tg_last_error());
    ck_assert_ptr_null(s.image.data);
    ck_assert_ptr_null(s.mask.data);
}

/* ds opened, with these counts and sample names (paths under tmpdir). */
static void assert_dataset(const tg_dataset *ds, int num_classes, int has_masks, int size, const char *const *names)
{
    ck_assert_msg(ds != NULL, "%s", tg_last_error());
    ck_assert_int_eq(ds->size, size);
    ck_assert_int_eq(ds->num_classes, num_classes);
    ck_assert_int_eq(ds->has_masks, has_masks);
    for (int i = 0; i < size; i++) {
        char name[256], want[256];
        ds->name(ds, i, name, sizeof name);
        ck_assert_str_eq(name, tmpdir_file(want, names[i]));
    }
}

/* ---- PASCAL VOC ---- */

static const uint8_t voc_values[] = {0, 15, 20, 255, 3, 7, 0};

/* ids a (jpg), b (png only), c (both: the jpg is read), each with a mask. */
static void make_voc(void)
{
    make_dirs("voc/ImageSets/Segmentation");
    make_dirs("voc/JPEGImages");
    make_dirs("voc/SegmentationClass");
    write_text("voc/ImageSets/Segmentation/train.txt", "a\r\n\n  b \nc\n");
    write_photo("voc/JPEGImages/a.jpg", H, W, 1);
    write_photo("voc/JPEGImages/b.png", H, W, 2);
    write_photo("voc/JPEGImages/c.jpg", H, W, 3);
    write_photo("voc/JPEGImages/c.png", 3, 3, 4);
    const char *ids = "abc";
    for (int i = 0; i < 3; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "voc/SegmentationClass/%c.png", ids[i]);
        write_labels(rel, H, W, voc_values + i, 4, 1);
    }
}

START_TEST(test_voc_reads_images_and_masks)
{
    make_voc();
    char root[256];
    tg_dataset *ds = tg_voc_open(tmpdir_file(root, "voc"), "train", TG_VOC_CLASSES);
    const char *names[] = {"voc/JPEGImages/a.jpg", "voc/JPEGImages/b.png", "voc/JPEGImages/c.jpg"};
    assert_dataset(ds, 21, 1, 3, names);
    for (int64_t i = 0; i < 3; i++) {
        tg_sample s;
        ck_assert_msg(ds->get(ds, i, &s) == 0, "%s", tg_last_error());
        ck_assert_int_eq(s.image.height, H);
        ck_assert_int_eq(s.image.width, W);
        ck_assert_int_eq(s.image.channels, 3);
        ck_assert_int_eq(s.mask.channels, 1);
        for (int p = 0; p < H * W; p++) ck_assert_int_eq(s.mask.data[p], voc_values[i + p % 4]);
        if (i == 1) /* the PNG image: exact */
            for (int k = 0; k < H * W * 3; k++) ck_assert_int_eq(s.image.data[k], (uint8_t)(2 * 31 + k * 7));
        tg_sample_free(&s);
    }
    assert_get_fails(ds, 3, "out of range");
    assert_get_fails(ds, -1, "out of range");
    tg_dataset_free(ds);

    /* No classes: images only. */
    ds = tg_voc_open(root, "train", 0);
    assert_dataset(ds, 0, 0, 3, names);
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, 0, &s), 0);
    ck_assert_ptr_nonnull(s.image.data);
    ck_assert_ptr_null(s.mask.data);
    tg_sample_free(&s);
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_voc_train_aug_masks)
{
    make_voc();
    char root[256];
    tmpdir_file(root, "voc");
    write_text("voc/ImageSets/Segmentation/train_aug.txt", "a\n");
    /* Without SegmentationClassAug the usual masks are read. */
    tg_dataset *ds = tg_voc_open(root, "train_aug", TG_VOC_CLASSES);
    ck_assert_ptr_nonnull(ds);
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, 0, &s), 0);
    ck_assert_int_eq(s.mask.data[0], voc_values[0]);
    tg_sample_free(&s);
    tg_dataset_free(ds);

    make_dirs("voc/SegmentationClassAug");
    static const uint8_t aug[] = {9};
    write_labels("voc/SegmentationClassAug/a.png", H, W, aug, 1, 0); /* SBD's masks are gray */
    ds = tg_voc_open(root, "train_aug", TG_VOC_CLASSES);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(ds->get(ds, 0, &s), 0);
    for (int p = 0; p < H * W; p++) ck_assert_int_eq(s.mask.data[p], 9);
    tg_sample_free(&s);
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_voc_errors)
{
    make_voc();
    char root[256], path[256];
    tmpdir_file(root, "voc");
    assert_open_fails(tg_voc_open(root, "val", 21), "voc/ImageSets/Segmentation/val.txt");
    assert_open_fails(tg_voc_open(root, "train", 256), "at most 255");
    write_text("voc/ImageSets/Segmentation/empty.txt", "\n \n");
    assert_open_fails(tg_voc_open(root, "empty", 21), "holds no ids");
    write_text("voc/ImageSets/Segmentation/two.txt", "a b\n");
    assert_open_fails(tg_voc_open(root, "two", 21), "line 1: 'a b' is not one id");
    /* An id names a file in JPEGImages: a list cannot reach outside root. */
    write_text("voc/ImageSets/Segmentation/escape.txt", "a\n../ImageSets/Segmentation/two\n");
    assert_open_fails(tg_voc_open(root, "escape", 21), "line 2: '../ImageSets/Segmentation/two' is not one id");
    write_text("voc/ImageSets/Segmentation/ghost.txt", "a\nghost\n");
    assert_open_fails(tg_voc_open(root, "ghost", 21), "no image for id 'ghost'");
    write_photo("voc/JPEGImages/ghost.jpg", H, W, 5);
    assert_open_fails(tg_voc_open(root, "ghost", 21), "voc/SegmentationClass/ghost.png does not exist");

    /* A mask of another size, and values the class count does not allow. */
    static const uint8_t one[] = {1};
    write_labels("voc/SegmentationClass/ghost.png", W, H, one, 1, 1);
    tg_dataset *ds = tg_voc_open(root, "ghost", 21);
    ck_assert_ptr_nonnull(ds);
    assert_get_fails(ds, 1, "mask is 6x8 (width x height) but its image");
    assert_get_fails(ds, 1, tmpdir_file(path, "voc/SegmentationClass/ghost.png"));
    tg_dataset_free(ds);
    ds = tg_voc_open(root, "train", 9); /* masks hold 15 and 20 */
    ck_assert_ptr_nonnull(ds);
    assert_get_fails(ds, 0, "value 15 at (x 1, y 0) is not a class id below 9 or 255");
    tg_dataset_free(ds);
    /* A corrupt image fails at get(), naming the file. */
    write_text("voc/JPEGImages/b.png", "garbage");
    ds = tg_voc_open(root, "train", 21);
    ck_assert_ptr_nonnull(ds);
    assert_get_fails(ds, 1, tmpdir_file(path, "voc/JPEGImages/b.png"));
    tg_dataset_free(ds);
}
END_TEST

/* get() from several threads at once gives what one thread gets. */
typedef struct {
    const tg_dataset *ds;
    const tg_sample *want;
    int failures;
} reader_job;

static void *read_all_samples(void *arg)
{
    reader_job *job = arg;
    for (int round = 0; round < 20; round++)
        for (int64_t i = 0; i < job->ds->size; i++) {
            tg_sample s;
            const tg_sample *w = &job->want[i];
            if (job->ds->get(job->ds, i, &s) != 0 ||
                memcmp(s.image.data, w->image.data, (size_t)H * W * 3) != 0 ||
                memcmp(s.mask.data, w->mask.data, (size_t)H * W) != 0)
                job->failures++;
            tg_sample_free(&s);
        }
    return NULL;
}

START_TEST(test_concurrent_get)
{
    make_voc();
    char root[256];
    tg_dataset *ds = tg_voc_open(tmpdir_file(root, "voc"), "train", 21);
    ck_assert_ptr_nonnull(ds);
    tg_sample want[3];
    for (int i = 0; i < 3; i++) ck_assert_int_eq(ds->get(ds, i, &want[i]), 0);
    pthread_t threads[4];
    reader_job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (reader_job){ds, want, 0};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, read_all_samples, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        ck_assert_int_eq(jobs[t].failures, 0);
    }
    for (int i = 0; i < 3; i++) tg_sample_free(&want[i]);
    tg_dataset_free(ds);
}
END_TEST

/* ---- Cityscapes ---- */

static const uint8_t label_ids[] = {7, 26, 0, 33, 18, 24, 11, 23};
static const uint8_t train_ids[] = {0, 13, 255, 18, 255, 11, 2, 10};

static void make_city(const char *split, const char *city, const char *name, int salt)
{
    char rel[256];
    snprintf(rel, sizeof rel, "cs/leftImg8bit/%s/%s", split, city);
    make_dirs(rel);
    snprintf(rel, sizeof rel, "cs/gtFine/%s/%s", split, city);
    make_dirs(rel);
    snprintf(rel, sizeof rel, "cs/leftImg8bit/%s/%s/%s_leftImg8bit.png", split, city, name);
    write_photo(rel, H, W, salt);
    snprintf(rel, sizeof rel, "cs/gtFine/%s/%s/%s_gtFine_labelIds.png", split, city, name);
    write_labels(rel, H, W, label_ids + salt % 2, 6, 0);
}

START_TEST(test_cityscapes_reads_train_ids_in_order)
{
    make_city("train", "zurich", "zurich_000001_000019", 1);
    make_city("train", "aachen", "aachen_000002_000019", 2);
    make_city("train", "aachen", "aachen_000000_000019", 3);
    make_city("val", "lindau", "lindau_000000_000019", 4);
    write_text("cs/leftImg8bit/train/aachen/notes.txt", "not an image");
    char root[256];
    tg_dataset *ds = tg_cityscapes_open(tmpdir_file(root, "cs"), "train");
    const char *names[] = {"cs/leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png",
                           "cs/leftImg8bit/train/aachen/aachen_000002_000019_leftImg8bit.png",
                           "cs/leftImg8bit/train/zurich/zurich_000001_000019_leftImg8bit.png"};
    assert_dataset(ds, 19, 1, 3, names);
    const int salts[] = {3, 2, 1};
    for (int i = 0; i < 3; i++) {
        tg_sample s;
        ck_assert_msg(ds->get(ds, i, &s) == 0, "%s", tg_last_error());
        for (int p = 0; p < H * W; p++) ck_assert_int_eq(s.mask.data[p], train_ids[salts[i] % 2 + p % 6]);
        ck_assert_int_eq(s.image.data[0], (uint8_t)(salts[i] * 31));
        tg_sample_free(&s);
    }
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_cityscapes_errors)
{
    char root[256], path[256];
    tmpdir_file(root, "cs");
    assert_open_fails(tg_cityscapes_open(root, "train"), "cs/leftImg8bit/train is not a directory");
    make_dirs("cs/leftImg8bit/train/bonn");
    assert_open_fails(tg_cityscapes_open(root, "train"), "no *_leftImg8bit.png files under");
    make_city("train", "aachen", "aachen_000000_000019", 1);
    write_photo("cs/leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png", H, W, 1);
    assert_open_fails(tg_cityscapes_open(root, "train"), "cs/gtFine/train/bonn/bonn_000000_000019_gtFine_labelIds.png");
    static const uint8_t unknown[] = {7, 34};
    write_labels("cs/gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png", H, W, unknown, 2, 0);
    ck_assert_int_eq(remove(tmpdir_file(path, "cs/leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png")), 0);
    tg_dataset *ds = tg_cityscapes_open(root, "train");
    ck_assert_ptr_nonnull(ds);
    assert_get_fails(ds, 0, "value 34 at (x 1, y 0) is not a Cityscapes label id (0-33)");
    tg_dataset_free(ds);
}
END_TEST

/* ---- image folders ---- */

START_TEST(test_image_folder_finds_images_recursively)
{
    make_dirs("photos/b/d");
    write_photo("photos/a.JPG", H, W, 1);
    write_photo("photos/b/c.png", H, W, 2);
    write_photo("photos/b/d/e.jpeg", 4, 5, 3);
    write_photo("photos/z.Png", H, W, 4);
    write_text("photos/b/notes.txt", "not an image");
    write_text("photos/b/d/x.gif", "GIF89a");
    char root[256], target[256], link[256];
    /* A link to a directory is not followed (no loops). */
    ck_assert_int_eq(symlink(tmpdir_file(target, "photos/b"), tmpdir_file(link, "photos/b/d/loop")), 0);
    tg_dataset *ds = tg_image_folder_open(tmpdir_file(root, "photos"));
    const char *names[] = {"photos/a.JPG", "photos/b/c.png", "photos/b/d/e.jpeg", "photos/z.Png"};
    assert_dataset(ds, 0, 0, 4, names);
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, 2, &s), 0);
    ck_assert_int_eq(s.image.height, 4);
    ck_assert_int_eq(s.image.width, 5);
    ck_assert_ptr_null(s.mask.data);
    tg_sample_free(&s);
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_image_folder_errors)
{
    char root[256];
    assert_open_fails(tg_image_folder_open(tmpdir_file(root, "absent")), "absent: No such file or directory");
    make_dirs("empty/sub");
    write_text("empty/sub/readme.txt", "no images here");
    assert_open_fails(tg_image_folder_open(tmpdir_file(root, "empty")), "no .jpg, .jpeg or .png files under");
}
END_TEST

static int prepare_nothing(void *ctx, const tg_sample *sample, int64_t index, tg_rng *rng,
                           const tg_loader_slots *slots)
{
    (void)ctx, (void)sample, (void)index, (void)rng, (void)slots;
    return 0;
}

/* A file the decoder refuses (a JPEG cut short) fails the batch made by a
 * worker thread, naming the file, as it does on the caller's thread. */
START_TEST(test_a_corrupt_file_fails_the_loader)
{
    make_dirs("photos");
    write_photo("photos/a.png", H, W, 1);
    write_photo("photos/b.jpg", 32, 32, 2);
    char path[256], root[256];
    FILE *f = fopen(tmpdir_file(path, "photos/b.jpg"), "r+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), 400), 0);
    ck_assert_int_eq(fclose(f), 0);
    tg_dataset *ds = tg_image_folder_open(tmpdir_file(root, "photos"));
    ck_assert_ptr_nonnull(ds);
    for (int workers = 0; workers <= 2; workers += 2) {
        tg_loader_config cfg = {.batch_size = 2, .num_workers = workers, .num_fields = 1,
                                .field_shape = {{.ndim = 1, .dims = {1}}}, .prepare = prepare_nothing};
        tg_loader *l = tg_loader_new(ds, &cfg);
        ck_assert_ptr_nonnull(l);
        tg_batch b;
        ck_assert_int_eq(tg_loader_next(l, &b), -1);
        ck_assert_msg(strstr(tg_last_error(), path) && strstr(tg_last_error(), "truncated JPEG"), "%s",
                      tg_last_error());
        tg_loader_free(l);
    }
    tg_dataset_free(ds);
}
END_TEST

/* A dataset of files may opt into tolerance of corrupt data, or into
 * tighter limits; ShapeScenes, which decodes nothing, refuses options. */
START_TEST(test_decode_options_of_a_dataset)
{
    make_dirs("photos");
    write_photo("photos/b.jpg", 32, 32, 2);
    char path[256], root[256];
    struct stat st;
    ck_assert_int_eq(stat(tmpdir_file(path, "photos/b.jpg"), &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size - 64), 0); /* the end of the scan cut off */
    tg_dataset *ds = tg_image_folder_open(tmpdir_file(root, "photos"));
    ck_assert_ptr_nonnull(ds);
    tg_sample s;
    ck_assert_int_eq(ds->get(ds, 0, &s), -1);
    ck_assert_int_eq(tg_dataset_set_decode_opts(ds, &(tg_image_decode_opts){.tolerate_corrupt = true}), 0);
    ck_assert_msg(ds->get(ds, 0, &s) == 0, "%s", tg_last_error());
    ck_assert_int_eq(s.image.height, 32);
    tg_sample_free(&s);
    ck_assert_int_eq(tg_dataset_set_decode_opts(ds, &(tg_image_decode_opts){.max_pixels = 32 * 31}), 0);
    ck_assert_int_eq(ds->get(ds, 0, &s), -1);
    ck_assert_msg(strstr(tg_last_error(), "over the limit"), "%s", tg_last_error());
    ck_assert_int_eq(tg_dataset_set_decode_opts(ds, &(tg_image_decode_opts){.max_pixels = -1}), -1);
    ck_assert_int_eq(tg_dataset_set_decode_opts(ds, NULL), 0); /* the defaults again */
    ck_assert_int_eq(ds->get(ds, 0, &s), -1);
    tg_dataset_free(ds);

    tg_shapescenes_config cfg = tg_shapescenes_defaults(TG_SHAPESCENES_TRAIN);
    cfg.count = 1;
    ds = tg_shapescenes_open(&cfg);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(tg_dataset_set_decode_opts(ds, NULL), -1);
    ck_assert_msg(strstr(tg_last_error(), "decodes no image files"), "%s", tg_last_error());
    tg_dataset_free(ds);
}
END_TEST

Suite *datasets_suite(void)
{
    Suite *s = suite_create("datasets");
    TCase *tc = tcase_create("readers");
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove);
    tcase_add_test(tc, test_voc_reads_images_and_masks);
    tcase_add_test(tc, test_voc_train_aug_masks);
    tcase_add_test(tc, test_voc_errors);
    tcase_add_test(tc, test_concurrent_get);
    tcase_add_test(tc, test_cityscapes_reads_train_ids_in_order);
    tcase_add_test(tc, test_cityscapes_errors);
    tcase_add_test(tc, test_image_folder_finds_images_recursively);
    tcase_add_test(tc, test_image_folder_errors);
    tcase_add_test(tc, test_a_corrupt_file_fails_the_loader);
    tcase_add_test(tc, test_decode_options_of_a_dataset);
    suite_add_tcase(s, tc);
    return s;
}
