/* Datasets stored on disk: PASCAL VOC segmentation (and our ShapeScenes
 * exports, written in its layout), Cityscapes, and folders of unlabeled
 * images. Each constructor finds every file up front and returns a
 * tg_dataset (data/dataset.h; free it with tg_dataset_free), or NULL with
 * tg_last_error() naming what is missing. Samples come in a fixed order;
 * get() decodes the files on each call (no caching), may run on several
 * threads at once, and fails naming the file (corrupt image, mask of
 * another size, a mask value the dataset does not know). They decode with
 * the default limits and refuse corrupt files (data/image.h) unless given
 * other options (tg_dataset_set_decode_opts). */
#ifndef TG_DATA_DATASETS_H
#define TG_DATA_DATASETS_H

#include "data/dataset.h"
#include "tensor/export.h"

#define TG_VOC_CLASSES 21        /* background + 20 object classes */
#define TG_CITYSCAPES_CLASSES 19 /* the train ids */

/* PASCAL VOC 2012 layout under root:
 *   ImageSets/Segmentation/<split>.txt   ids, one per line, in list order (an id
 *                                        is a file name: no spaces, no '/')
 *   JPEGImages/<id>.jpg, or <id>.png when there is no .jpg
 *   SegmentationClass/<id>.png           indexed PNG of class ids, 255 = ignore
 * For split "train_aug", masks come from SegmentationClassAug/<id>.png when
 * that folder exists (the SBD-augmented set). num_classes is
 * TG_VOC_CLASSES for VOC, 9 for ShapeScenes, at most 255; every mask value
 * must be below it or 255. num_classes 0 reads images only (has_masks 0):
 * ShapeScenes' pretraining split has no masks. */
TG_API tg_dataset *tg_voc_open(const char *root, const char *split, int num_classes);

/* Cityscapes under root: root/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png
 * with root/gtFine/<split>/<city>/<name>_gtFine_labelIds.png, sorted by
 * path. Label ids 0-33 map to the 19 train ids of cityscapesScripts
 * (everything else to 255); any other stored value is an error. */
TG_API tg_dataset *tg_cityscapes_open(const char *root, const char *split);

/* Every .jpg, .jpeg or .png file (any case) under root, recursively,
 * sorted by path; unlabeled (has_masks 0, num_classes 0). Symbolic links
 * to directories inside root are not followed. */
TG_API tg_dataset *tg_image_folder_open(const char *root);

/* How a dataset made by one of the constructors above decodes its files:
 * size limits and tolerance of corrupt data (data/image.h; NULL: the
 * defaults). Set it before a loader reads the dataset. Refused for a
 * dataset that decodes no image files (ShapeScenes) and for a negative
 * limit. 0 or -1. */
TG_API int tg_dataset_set_decode_opts(tg_dataset *ds, const tg_image_decode_opts *options);

#endif
