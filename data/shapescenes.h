/* ShapeScenes: a procedural multi-object segmentation dataset
 * (docs/protocol.md section 13).
 *
 * Each image holds 3-6 textured shapes of 8 "thing" classes over one of 5
 * background "stuff" textures; its mask labels every pixel 0 (background)
 * or 1-8 (the top-most object at the pixel centre). A sample is a pure
 * function of (seed, split, index): the same bytes on every run, thread and
 * machine with the same libm, rendered on the fly in well under a
 * millisecond at 64 px. The single-object control variant draws one large
 * centred object instead.
 *
 * The pretrain split is unlabeled: it never renders nor allocates a mask,
 * and asking it for one is an error (the leakage guard). */
#ifndef TG_DATA_SHAPESCENES_H
#define TG_DATA_SHAPESCENES_H

#include <stdint.h>

#include "data/dataset.h"
#include "data/image.h"
#include "tensor/export.h"

#define TG_SHAPESCENES_CLASSES 9 /* 0 = background, 1-8 = things */

typedef enum tg_shapescenes_split {
    TG_SHAPESCENES_PRETRAIN = 0, /* unlabeled */
    TG_SHAPESCENES_TRAIN = 1,
    TG_SHAPESCENES_VAL = 2,
    TG_SHAPESCENES_TEST = 3,
} tg_shapescenes_split;

typedef struct tg_shapescenes_config {
    uint64_t seed;
    tg_shapescenes_split split;
    int size;              /* image side in pixels, 8-1024 (64 by default; 96 is the other) */
    int supersample;       /* subsamples per pixel side, 1-4 (2 by default) */
    int single;            /* 1: the single-object control variant */
    float p_tie;           /* probability an object wears its class's texture (0.85) */
    float p_bg_distractor; /* probability the background wears an object texture (0.2) */
    float noise_sigma;     /* additive Gaussian noise, in [0, 1] intensity units (0.03) */
    int64_t count;         /* samples in the split: indices 0 .. count-1 */
} tg_shapescenes_config;

/* The spec's defaults for split, seed 0, and the split's suggested size
 * (pretrain 4000, train 500, val 500, test 1000). */
TG_API tg_shapescenes_config tg_shapescenes_defaults(tg_shapescenes_split split);

/* "pretrain", "train", "val" or "test"; NULL with an error for anything else. */
TG_API const char *tg_shapescenes_split_name(tg_shapescenes_split split);

/* Renders sample index into *image (RGB, size x size) and, when mask is not
 * NULL, *mask (1 channel of class ids 0-8). mask must be NULL for the
 * pretrain split. Safe to call from several threads at once. 0 or -1 (bad
 * config or index, out of memory) with both images left empty. */
TG_API int tg_shapescenes_render(const tg_shapescenes_config *cfg, int64_t index, tg_image *image,
                                 tg_image *mask);

/* The split as a dataset (cfg is copied): has_masks and num_classes 9 for
 * labelled splits; has_masks 0 and num_classes 0 for pretrain, whose get()
 * leaves sample.mask empty. NULL on a bad config. */
TG_API tg_dataset *tg_shapescenes_open(const tg_shapescenes_config *cfg);

/* Writes the split in PASCAL VOC layout under root (made if missing; its
 * parent must exist):
 *   root/JPEGImages/<id>.png (or .jpg, quality 95, when use_jpeg)
 *   root/SegmentationClass/<id>.png   indexed PNG, VOC palette (not for pretrain)
 *   root/ImageSets/Segmentation/<split name>.txt   one id a line
 * with ids "<split name>_<index, 6 digits>" such as "train_000012". Every
 * file is written atomically. 0 or -1. */
TG_API int tg_shapescenes_export(const tg_shapescenes_config *cfg, const char *root, int use_jpeg);

#endif
