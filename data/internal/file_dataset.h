/* A dataset of image files, each with an optional mask file: what the VOC,
 * Cityscapes and image-folder readers build once they have found their
 * files. Internal header (not installed). */
#ifndef TG_DATA_FILE_DATASET_H
#define TG_DATA_FILE_DATASET_H

#include <stdint.h>

#include "data/dataset.h"
#include "data/internal/path_list.h"

/* How the values stored in a mask file become class ids. */
typedef struct tg_label_map {
    uint8_t class_of[256]; /* class id (or 255, ignore) of each stored value */
    uint8_t known[256];    /* whether a stored value may occur at all */
    char expected[64];     /* for errors: "a class id below 21 or 255" */
} tg_label_map;

/* A dataset over images->items[i] and, when masks is not NULL,
 * masks->items[i] (one per image), with num_classes classes and the map
 * (NULL when there are no masks). Takes both lists (emptied even on
 * failure). get() decodes on each call and may run on several threads. */
tg_dataset *tg_file_dataset_new(tg_path_list *images, tg_path_list *masks, int num_classes,
                                const tg_label_map *map);

#endif
