/* Pictures of segmentations for people to look at: an image next to itself
 * with the predicted and the true label maps blended over it in the VOC
 * palette (as mmseg's show_result blends them), ready for
 * tg_image_write_png. Display code: nothing here is measured. */
#ifndef TG_DATA_OVERLAY_H
#define TG_DATA_OVERLAY_H

#include "data/image.h"
#include "tensor/export.h"
#include "tensor/tensor.h"

#define TG_OVERLAY_GUTTER 2 /* white pixels between panels */

/* out (RGB, allocated here): three panels of rgb's size side by side,
 * [rgb | rgb blended with pred | rgb blended with truth], each blended
 * pixel (1 - alpha) * rgb + alpha * palette[label] (label 255, the ignored
 * one, shows in the palette's cream). pred and truth are 1-channel label
 * images of rgb's size; alpha in [0, 1]. */
TG_API int tg_seg_overlay(const tg_image *rgb, const tg_image *pred, const tg_image *truth, float alpha, tg_image *out);

/* A 1-channel label image from an int64 (H, W) tensor of labels in
 * [0, 255], such as one image of a model's predictions. */
TG_API int tg_image_from_labels(const tg_tensor *labels, tg_image *out);

#endif
