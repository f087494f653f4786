/* Cityscapes: leftImg8bit images with their gtFine label ids mapped to the
 * 19 train ids (see datasets.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datasets.h"
#include "data/internal/file_dataset.h"
#include "tensor/error.h"

#define IMAGE_SUFFIX "_leftImg8bit.png"
#define LABEL_SUFFIX "_gtFine_labelIds.png"

/* The train id of each label id, from cityscapesScripts' labels.py. */
static const uint8_t train_id[] = {
    255, 255, 255, 255, 255, 255, 255, /* 0-6: unlabeled, ego vehicle, rectification border, out of roi,
                                          static, dynamic, ground */
    0, 1, 255, 255,                    /* 7-10: road, sidewalk, parking, rail track */
    2, 3, 4, 255, 255, 255,            /* 11-16: building, wall, fence, guard rail, bridge, tunnel */
    5, 255, 6, 7,                      /* 17-20: pole, polegroup, traffic light, traffic sign */
    8, 9, 10, 11, 12,                  /* 21-25: vegetation, terrain, sky, person, rider */
    13, 14, 15, 255, 255,              /* 26-30: car, truck, bus, caravan, trailer */
    16, 17, 18,                        /* 31-33: train, motorcycle, bicycle */
};
_Static_assert(sizeof train_id == 34, "Cityscapes has label ids 0-33");

static void cityscapes_labels(tg_label_map *map)
{
    memset(map, 0, sizeof *map);
    for (int v = 0; v < (int)sizeof train_id; v++) map->known[v] = 1, map->class_of[v] = train_id[v];
    snprintf(map->expected, sizeof map->expected, "a Cityscapes label id (0-33)");
}

static int is_image(const char *name)
{
    size_t n = strlen(name), k = strlen(IMAGE_SUFFIX);
    return n > k && strcmp(name + n - k, IMAGE_SUFFIX) == 0;
}

/* For each root/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png, its
 * root/gtFine/<split>/<city>/<name>_gtFine_labelIds.png, which must exist. */
static int find_labels(const char *root, const tg_path_list *images, tg_path_list *labels)
{
    size_t skip = strlen(root) + strlen("/leftImg8bit/");
    for (int64_t i = 0; i < images->n; i++) {
        const char *rel = images->items[i] + skip; /* <split>/<city>/<name>_leftImg8bit.png */
        int stem = (int)(strlen(rel) - strlen(IMAGE_SUFFIX));
        if (tg_path_list_addf(labels, "%s/gtFine/%.*s" LABEL_SUFFIX, root, stem, rel)) return -1;
        if (!tg_is_file(labels->items[i]))
            return TG_FAIL("cityscapes: no labels for %s: %s does not exist", images->items[i], labels->items[i]);
    }
    return 0;
}

static int find_files(const char *root, const char *split, tg_path_list *images, tg_path_list *labels)
{
    if (!root || !split) return TG_FAIL("cityscapes: NULL root or split");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/leftImg8bit/%s", root, split);
    if (!tg_is_directory(dir)) return TG_FAIL("cityscapes: %s is not a directory", dir);
    if (tg_path_list_walk(images, dir, is_image)) return -1;
    if (images->n == 0) return TG_FAIL("cityscapes: no *" IMAGE_SUFFIX " files under %s", dir);
    tg_path_list_sort(images);
    return find_labels(root, images, labels);
}

tg_dataset *tg_cityscapes_open(const char *root, const char *split)
{
    tg_path_list images = {0}, labels = {0};
    if (find_files(root, split, &images, &labels)) {
        tg_path_list_clear(&images);
        tg_path_list_clear(&labels);
        return NULL;
    }
    tg_label_map map;
    cityscapes_labels(&map);
    return tg_file_dataset_new(&images, &labels, TG_CITYSCAPES_CLASSES, &map);
}
