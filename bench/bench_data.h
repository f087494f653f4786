/* The images bench_loader reads: ShapeScenes' pretrain split on the fly,
 * and the same images exported to files (PNG at 64 px, JPEG at 320 px),
 * in a folder that bench_loader.py reads too. */
#ifndef BENCH_DATA_H
#define BENCH_DATA_H

#include <limits.h>
#include <stdbool.h>

#include "data/dataset.h"

#define BENCH_JPEG_IMAGES 256 /* exported as JPEG */
#define BENCH_JPEG_SIDE 320   /* their side in pixels */
#define BENCH_JPEG_VIEW 224   /* the views cut from them */

typedef struct bench_data {
    char root[PATH_MAX]; /* "" when no files are used */
    bool temporary;      /* root is ours: removed on close */
    tg_dataset *fly;     /* the first `count` images, rendered on the fly (64 px) */
    tg_dataset *png;     /* root/png64: the same images as PNG files */
    tg_dataset *jpeg;    /* root/jpeg320: the first BENCH_JPEG_IMAGES at 320 px, JPEG */
} bench_data;

/* Opens the on-the-fly split and, when files is set, the folders under dir
 * (made and written if missing, kept as they are otherwise; dir NULL: a new
 * temporary directory). 0, or -1 with tg_last_error() set; close *d either
 * way. */
int bench_data_open(bench_data *d, const char *dir, int count, bool files);
/* Frees the datasets and removes a temporary root. 0 or -1. */
int bench_data_close(bench_data *d);

#endif
