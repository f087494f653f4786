/* The PASCAL VOC 2012 segmentation layout (see datasets.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datasets.h"
#include "data/internal/file_dataset.h"
#include "tensor/error.h"

/* The ids of the list file, in order; blank lines are skipped. */
static int read_ids(const char *list, tg_path_list *ids)
{
    FILE *f = fopen(list, "r");
    if (!f) return TG_FAIL("voc: cannot open the split list %s: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int number = 1; rc == 0 && getline(&line, &cap, f) >= 0; number++) {
        char *id = line, *end = line + strlen(line);
        while (isspace((unsigned char)*id)) id++;
        while (end > id && isspace((unsigned char)end[-1])) *--end = '\0';
        if (!*id) continue;
        for (char *c = id; *c && rc == 0; c++) /* a file name: a list cannot reach outside root */
            if (isspace((unsigned char)*c) || *c == '/')
                rc = TG_FAIL("voc: %s: line %d: '%s' is not one id (a file name without spaces or '/')", list,
                             number, id);
        if (rc == 0) rc = tg_path_list_addf(ids, "%s", id);
    }
    if (rc == 0 && ferror(f)) rc = TG_FAIL("voc: cannot read %s: %s", list, strerror(errno));
    if (rc == 0 && ids->n == 0) rc = TG_FAIL("voc: the split list %s holds no ids", list);
    free(line);
    fclose(f);
    return rc;
}

/* Appends root/JPEGImages/<id>.jpg, or .png if there is no .jpg. */
static int add_image(tg_path_list *images, const char *root, const char *id)
{
    if (tg_path_list_addf(images, "%s/JPEGImages/%s.jpg", root, id)) return -1;
    char *path = images->items[images->n - 1];
    if (tg_is_file(path)) return 0;
    memcpy(path + strlen(path) - 3, "png", 3);
    if (tg_is_file(path)) return 0;
    return TG_FAIL("voc: no image for id '%s': neither %s/JPEGImages/%s.jpg nor .png exists", id, root, id);
}

static int add_mask(tg_path_list *masks, const char *root, const char *folder, const char *id)
{
    if (tg_path_list_addf(masks, "%s/%s/%s.png", root, folder, id)) return -1;
    const char *path = masks->items[masks->n - 1];
    return tg_is_file(path) ? 0 : TG_FAIL("voc: no mask for id '%s': %s does not exist", id, path);
}

/* The folder of masks for this split. */
static const char *mask_folder(const char *root, const char *split)
{
    if (strcmp(split, "train_aug") != 0) return "SegmentationClass";
    char path[4096];
    snprintf(path, sizeof path, "%s/SegmentationClassAug", root);
    return tg_is_directory(path) ? "SegmentationClassAug" : "SegmentationClass";
}

/* Values below num_classes are class ids, 255 is ignore, nothing else. */
static void voc_labels(tg_label_map *map, int num_classes)
{
    memset(map, 0, sizeof *map);
    for (int v = 0; v < 256; v++) {
        map->known[v] = v < num_classes || v == 255;
        map->class_of[v] = (uint8_t)v;
    }
    snprintf(map->expected, sizeof map->expected, "a class id below %d or 255 (ignore)", num_classes);
}

static int find_files(const char *root, const char *split, int num_classes, tg_path_list *images,
                      tg_path_list *masks)
{
    if (!root || !split) return TG_FAIL("voc: NULL root or split");
    if (num_classes < 0 || num_classes > 255)
        return TG_FAIL("voc: %d classes (0 for images only, at most 255: 255 means ignore)", num_classes);
    tg_path_list ids = {0};
    char list[4096];
    snprintf(list, sizeof list, "%s/ImageSets/Segmentation/%s.txt", root, split);
    int rc = read_ids(list, &ids);
    const char *folder = mask_folder(root, split);
    for (int64_t i = 0; rc == 0 && i < ids.n; i++) {
        rc = add_image(images, root, ids.items[i]);
        if (rc == 0 && num_classes) rc = add_mask(masks, root, folder, ids.items[i]);
    }
    tg_path_list_clear(&ids);
    return rc;
}

tg_dataset *tg_voc_open(const char *root, const char *split, int num_classes)
{
    tg_path_list images = {0}, masks = {0};
    if (find_files(root, split, num_classes, &images, &masks)) {
        tg_path_list_clear(&images);
        tg_path_list_clear(&masks);
        return NULL;
    }
    tg_label_map map;
    voc_labels(&map, num_classes);
    return tg_file_dataset_new(&images, num_classes ? &masks : NULL, num_classes, &map);
}
