/* A dataset: random access to (image, mask) samples by index.
 *
 * Datasets (ShapeScenes, PASCAL VOC, Cityscapes, image folders) fill this
 * table; transforms and the loader use only it. get() is called from loader
 * worker threads at once, so it must be safe to call concurrently, and the
 * same index always gives the same sample. */
#ifndef TG_DATA_DATASET_H
#define TG_DATA_DATASET_H

#include <stddef.h>
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

/* base with its samples kept in memory: the first get() of an index asks
 * base and keeps a copy while the copies take at most max_bytes in all;
 * later ones copy it back (a procedural dataset is then rendered, an image
 * file decoded, once). The samples are base's, bit for bit. Takes base
 * (freed with the result, or at once on failure). NULL with tg_last_error()
 * when out of memory. */
TG_API tg_dataset *tg_dataset_cached(tg_dataset *base, size_t max_bytes);

#endif
