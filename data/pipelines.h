/* Ready-made loader configurations for the two recipes: pretraining view
 * pairs (MoCo-v2 / DenseCL) and segmentation samples (train and test).
 * Given NULL, each returns a zeroed config (which tg_loader_new refuses)
 * and records an error.
 *
 * Each returns a tg_loader_config whose fields, mask, aux and prepare
 * callback are set, with batch_size 1 and everything else zero: set the
 * batch size, seed, shuffle, drop_last and workers, then tg_loader_new.
 * The transform config is borrowed: keep it alive while the loader runs. */
#ifndef TG_DATA_PIPELINES_H
#define TG_DATA_PIPELINES_H

#include "data/loader.h"
#include "data/transforms.h"
#include "tensor/export.h"

/* Floats of aux per view: crop x, y, w, h, flipped (0 or 1), size. */
#define TG_PAIR_VIEW_AUX 6

/* Two independent views of each image: fields 0 and 1 are (3, size, size);
 * aux holds both views' geometry, view 0 then view 1 (tg_pair_geom). The
 * dataset's masks are never read. */
TG_API tg_loader_config tg_pretrain_pairs_config(const tg_aug_pretrain *aug);
/* View v (0 or 1) of a batch's aux row. */
TG_API tg_view_geom tg_pair_geom(const float *aux_row, int view);

/* Training samples: field 0 the image (3, crop_h, crop_w), the mask
 * (crop_h, crop_w) with aug->ignore_index in the padding. */
TG_API tg_loader_config tg_seg_train_config(const tg_aug_seg *aug);

/* Test samples of a dataset whose images are all height x width: field 0
 * the image resized and normalized (3, tg_aug_seg_test_size), the mask as
 * it is (height, width). Another size is an error naming the sample. */
typedef struct tg_seg_test {
    tg_aug_seg aug;
    int height, width;
} tg_seg_test;
TG_API tg_loader_config tg_seg_test_config(const tg_seg_test *test);

#endif
