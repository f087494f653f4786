/* The data of the segmentation programs: ShapeScenes (rendered on the fly,
 * no download; the default), PASCAL VOC or Cityscapes on disk, with the
 * mmseg recipe for each (data/transforms.h):
 *
 *   ShapeScenes  train split (--train-images, 500) and test split
 *                (--test-images, 1000) at --size px (64); crop = size
 *   VOC          ROOT in VOC layout, splits train / val; crop 512,
 *                image scale (2048, 512)
 *   Cityscapes   ROOT, splits train / val; crop 769, image scale
 *                (2049, 1025), align_corners true (whole-image test, not
 *                mmseg's sliding window)
 *
 * The ShapeScenes content depends on --data-seed alone, so every arm and
 * fine-tuning seed sees the same images. */
#ifndef APPS_SEG_DATA_H
#define APPS_SEG_DATA_H

#include <stdbool.h>

#include <jansson.h>

#include "app.h"
#include "tensorgrad.h"

#define SEG_DATA_FLAGS 10 /* the most flags seg_data_flags adds */

typedef struct {
    const char *voc, *cityscapes; /* roots; neither: ShapeScenes */
    const char *train_split, *test_split; /* NULL: the dataset's */
    long train_images, test_images, size, data_seed; /* ShapeScenes */
    long crop; /* 0: the dataset's */
    bool tolerate_corrupt; /* VOC, Cityscapes: decode what can be decoded of a corrupt image */
} seg_data_opts;

typedef struct {
    const char *name;        /* "shapescenes", "voc", "cityscapes" */
    const char *test_split;  /* the split evaluated */
    tg_dataset *train, *test; /* train is NULL when not asked for */
    int num_classes;
    const char *const *class_names; /* num_classes names */
    tg_aug_seg aug;          /* the training recipe; its scale also sizes test images */
    bool align_corners;
    int eval_batch;          /* test images a forward: 32 for ShapeScenes, 1 for large images */
} seg_data;

/* The defaults: ShapeScenes, 500 train and 1000 test images at 64 px. */
seg_data_opts seg_data_defaults(void);
/* Appends the data flags to table (room for SEG_DATA_FLAGS), the
 * training ones too when with_train; returns how many it added. */
int seg_data_flags(seg_data_opts *o, tg_train_flag *table, bool with_train);

/* Opens the test split, and the train split when with_train. 0, or -1
 * after printing why. */
int seg_data_open(seg_data *d, const seg_data_opts *o, bool with_train);
void seg_data_close(seg_data *d);

/* config with the options that change the numbers as members ("dataset":
 * ..., "size": ...), the training ones too when with_train; a chain step
 * as in out_files.h: config, or NULL (config released) when out of memory. */
json_t *seg_data_config(const seg_data_opts *o, const seg_data *d, bool with_train, json_t *config);

#endif
