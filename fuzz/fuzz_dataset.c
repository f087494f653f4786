/* libFuzzer harness: the dataset readers' lists. The first byte picks the
 * reader, the rest is
 *   VOC (even):      the split list ImageSets/Segmentation/train.txt of a
 *                    dataset holding images and masks for ids "a" and "b";
 *   folders (odd):   one relative path a line, each made an empty file
 *                    under leftImg8bit/train/ and gtFine/train/ (names that
 *                    would leave the directory are skipped), then opened
 *                    as Cityscapes and as an image folder.
 * Each dataset opened has its length and sample names read, then is freed.
 * Everything lives in the harness's private directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"
#include "data/datasets.h"
#include "fuzz_tmp.h"

#define MAX_FILES 32

static void read_and_free(tg_dataset *ds)
{
    if (!ds) return;
    if (ds->size < 1) abort(); /* a reader opens no empty dataset */
    char name[512];
    for (int64_t i = 0; i < ds->size && i < MAX_FILES; i++) ds->name(ds, i, name, sizeof name);
    tg_dataset_free(ds);
}

/* root/rel, made an empty file with its directories where the names
 * allow it (an earlier line may have made a file where this one wants a
 * directory, or the reverse: then nothing is made). */
static void touch(const char *root, const char *rel)
{
    char path[FUZZ_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *slash = path + strlen(root) + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
    FILE *f = fopen(path, "wb");
    if (f) fclose(f);
}

static void make_voc(const char *root, const uint8_t *list, size_t size)
{
    static const char *const files[] = {"JPEGImages/a.jpg", "JPEGImages/b.png", "SegmentationClass/a.png",
                                        "SegmentationClass/b.png", "ImageSets/Segmentation/x"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) touch(root, files[i]);
    char path[FUZZ_PATH_MAX];
    snprintf(path, sizeof path, "%s/ImageSets/Segmentation/train.txt", root);
    fuzz_write(path, list, size);
    read_and_free(tg_voc_open(root, "train", 21));
    read_and_free(tg_voc_open(root, "train", 0));
}

/* Whether rel stays inside the directory it is made under: not absolute,
 * no empty, "." or ".." component, short. */
static int stays_inside(const char *rel)
{
    if (!*rel || *rel == '/' || strlen(rel) > 200) return 0;
    for (const char *c = rel; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return 0;
        c += n + (c[n] == '/');
        if (c[-1] == '/' && !*c) return 0;
    }
    return 1;
}

static void make_folders(const char *root, const uint8_t *names, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, names, size);
    text[size] = '\0';
    int made = 0;
    for (char *line = strtok(text, "\n"); line && made < MAX_FILES; line = strtok(NULL, "\n")) {
        if (!stays_inside(line)) continue;
        char rel[FUZZ_PATH_MAX];
        snprintf(rel, sizeof rel, "leftImg8bit/train/%s", line);
        touch(root, rel);
        snprintf(rel, sizeof rel, "gtFine/train/%s", line);
        touch(root, rel);
        made++;
    }
    free(text);
    read_and_free(tg_cityscapes_open(root, "train"));
    read_and_free(tg_image_folder_open(root));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    char root[FUZZ_PATH_MAX];
    fuzz_path(root, "dataset");
    if (mkdir(root, 0700) != 0) abort();
    if (data[0] % 2 == 0) make_voc(root, data + 1, size - 1);
    else make_folders(root, data + 1, size - 1);
    fuzz_remove(root);
    return 0;
}
