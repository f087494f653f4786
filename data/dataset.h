/* A dataset: random access to (image, mask) samples by index.
 *
 * Datasets (ShapeScenes, PASCAL VOC, Cityscapes, image folders) fill this
 * table; transforms and the loader use only it. get() is called from loader
 * worker threads at once, so it must be safe to call concurrently, and the
 * same index always gives the same sample. */
#ifndef TG_DATA_DATASET_H
#define TG_DATA_DATASET_H

#include <stdint.h>

#include "data/image.h"
#include "tensor/export.h"

typedef struct tg_sample {
    tg_image image; /* RGB, 3 channels */
    tg_image mask;  /* 1 channel of class ids, 255 = ignore; empty (data NULL)
                       for unlabeled data, which never produces masks */
} tg_sample;

typedef struct tg_dataset tg_dataset;
struct tg_dataset {
    int64_t size;        /* number of samples */
    int num_classes;     /* 0 for unlabeled data */
    int has_masks;       /* whether get() fills sample.mask */
    /* Fills *out (which the caller frees with tg_sample_free); 0 or -1 with
       tg_last_error() naming the sample's file or index. */
    int (*get)(const tg_dataset *ds, int64_t index, tg_sample *out);
    /* A name for sample index (its file path, or "shapescenes train 12"),
       written into buf (size bytes). */
    void (*name)(const tg_dataset *ds, int64_t index, char *buf, int size);
    void (*destroy)(tg_dataset *ds); /* frees ds and what it holds */
};

/* Frees both images of a sample; safe on NULL. */
TG_API void tg_sample_free(tg_sample *s);
/* Calls ds->destroy; safe on NULL. */
TG_API void tg_dataset_free(tg_dataset *ds);

#endif
