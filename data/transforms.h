/* Image transforms: the MoCo-v2/DenseCL pretraining views and the mmseg
 * segmentation pipeline (docs/protocol.md sections 7 and 11), and the
 * single operations they are made of.
 *
 * Images: sources are tg_image (uint8, height x width x channels, RGB).
 * Working images are float32, channel-major (3 x height x width) in buffers
 * the caller gives, with values in [0, 1] (uint8 / 255) until normalized.
 * Every random draw comes from the tg_rng passed in; the same rng state
 * gives the same output, whatever thread runs it.
 *
 * Fidelity: each operation with a torchvision twin matches torchvision
 * 0.14's tensor path on float images (tests/data/test_transforms.c against
 * tools/make_fixtures_transforms.py, to about 1e-6). The official pipeline
 * feeds PIL images instead; we match the tensor path because it works in
 * float as we do, where the PIL path would need its uint8 rounding copied
 * op by op. The differences, measured on random images:
 * - resize: the tensor path with antialias=True is PIL's resampling rule
 *   (a triangle filter widened by the shrink factor) computed in float;
 *   PIL rounds to uint8: within 1 grey level.
 * - colour jitter: PIL truncates to uint8 after each op, its grey is
 *   (299 R + 587 G + 114 B) / 1000 in fixed point (ours 0.2989 R + 0.587 G
 *   + 0.114 B in float) and its hue goes through 8-bit HSV: 1.5 grey
 *   levels apart on average, up to 19 on a few saturated pixels.
 * - blur: PIL's GaussianBlur(radius=sigma), what MoCo-v2 uses, is three
 *   box blurs with the same variance and edge replication; we use
 *   torchvision's exact Gaussian with reflect padding, kernel size
 *   2 * ceil(3 sigma) + 1 (it holds 99.7% of the mass).
 * mmseg's segmentation pipeline works in uint8 (cv2): its resize rounds,
 * its photometric steps truncate after each step and its HSV is 8-bit (H
 * in 2-degree steps); ours stays in float with float HSV, a few grey
 * levels apart. */
#ifndef TG_DATA_TRANSFORMS_H
#define TG_DATA_TRANSFORMS_H

#include <stdbool.h>
#include <stdint.h>

#include "data/image.h"
#include "tensor/export.h"
#include "tensor/rng.h"

/* A rectangle of pixels: columns x .. x+w-1, rows y .. y+h-1. */
typedef struct tg_box {
    int x, y, w, h;
} tg_box;

/* A closed range of a parameter. */
typedef struct tg_range {
    double lo, hi;
} tg_range;

/* ---- Geometry (transform_geom.c) ---- */

/* torchvision's RandomResizedCrop.get_params on a height x width image: up
 * to 10 tries of an area fraction ~ U(scale) and an aspect ratio w/h
 * log-uniform in ratio, rounded half to even, kept if it fits, at a uniform
 * position; else the centre crop with the aspect ratio clamped into ratio
 * (the whole image if it is already inside). */
TG_API tg_box tg_tf_sample_resized_crop(tg_rng *rng, int height, int width, tg_range scale, tg_range ratio);

/* Resizes box crop of src to out_h x out_w with bilinear weights, pixel
 * centres aligned (align_corners=False), and writes only the window win of
 * that output (win.h x win.w, 3 x win.h x win.w floats for RGB) into dst,
 * each value times gain (1/255 gives [0, 1]). antialias: when shrinking,
 * the triangle filter widens by the shrink factor so every source pixel
 * counts (PIL; torchvision antialias=True); otherwise two taps per axis
 * (torch interpolate, cv2 INTER_LINEAR). 0, or -1 on bad boxes or memory. */
TG_API int tg_tf_resize_bilinear(const tg_image *src, tg_box crop, int out_h, int out_w, tg_box win, bool antialias,
                                 float gain, float *dst);

/* Nearest-neighbour resize of src (any channels; for label masks, which
 * must never blend) into dst, allocated here: source index
 * floor(i * (in / out)) with the scale in single precision, as torch's
 * "nearest" (the tests compare with it). cv2's INTER_NEAREST (mmseg)
 * computes in double and can pick the next index where i * in / out is a
 * whole number: one row or column of a mask, one source pixel apart. */
TG_API int tg_tf_resize_nearest(const tg_image *src, int out_h, int out_w, tg_image *dst);

/* Mirrors a channels x h x w float image left to right, in place. */
TG_API void tg_tf_hflip(float *img, int channels, int h, int w);

/* Copies a channels x h x w image into the top-left corner of a channels
 * x out_h x out_w one (out_h >= h, out_w >= w) and fills the rest with
 * value (mmseg's Pad). */
TG_API void tg_tf_pad(const float *img, int channels, int h, int w, float value, float *out, int out_h, int out_w);

/* Writes box of a 1-channel label image, mirrored if flip, into the
 * top-left corner of an out_h x out_w int64 mask, the rest pad_value.
 * 0, or -1 if the box is not inside the mask. */
TG_API int tg_tf_mask_crop_pad(const tg_image *mask, tg_box box, bool flip, int pad_value, int64_t *out, int out_h,
                               int out_w);

/* ---- Colour (transform_color.c): RGB 3 x h x w images in [0, 1] ---- */

/* torchvision's adjust_* ops: brightness scales (factor 1: identity),
 * contrast blends with the image's mean grey, saturation with each pixel's
 * grey, all clamped to [0, 1]; hue rotates hue by shift turns in HSV
 * (shift in [-0.5, 0.5]). */
TG_API void tg_tf_adjust_brightness(float *img, int h, int w, double factor);
TG_API void tg_tf_adjust_contrast(float *img, int h, int w, double factor);
TG_API void tg_tf_adjust_saturation(float *img, int h, int w, double factor);
TG_API void tg_tf_adjust_hue(float *img, int h, int w, double shift);
/* Grey 0.2989 R + 0.587 G + 0.114 B into all three channels. */
TG_API void tg_tf_grayscale(float *img, int h, int w);
/* Gaussian blur with standard deviation sigma pixels over a ksize x ksize
 * kernel (odd, at most 1023), reflect padding. 0, or -1 on bad arguments
 * or memory. */
TG_API int tg_tf_gaussian_blur(float *img, int h, int w, double sigma, int ksize);
/* (x - mean[c]) / std[c], in place. */
TG_API void tg_tf_normalize(float *img, int h, int w, const float mean[3], const float std[3]);

/* ---- mmseg's PhotoMetricDistortion (transform_color.c) ---- */

typedef struct tg_photometric {
    double brightness_delta; /* 32 grey levels: x + U(-32, 32) / 255 */
    tg_range contrast;       /* (0.5, 1.5): x * alpha (no mean: mmseg's rule) */
    tg_range saturation;     /* (0.5, 1.5): HSV saturation * alpha */
    int hue_delta;           /* 18: hue + randint[-18, 18) in cv2 units of 2 degrees */
} tg_photometric;

/* What one draw decided. Brightness first; contrast right after it or last
 * (after saturation and hue); each step applied with probability 0.5. */
typedef struct tg_photometric_params {
    bool brightness, contrast, saturation, hue, contrast_first;
    double delta;     /* brightness, grey levels */
    double alpha;     /* contrast */
    double sat_alpha; /* saturation */
    int hue_shift;    /* cv2 hue units (2 degrees) */
} tg_photometric_params;

/* mmseg's PhotoMetricDistortion defaults: brightness delta 32, contrast and
 * saturation in [0.5, 1.5], hue shift 18. */
TG_API tg_photometric tg_photometric_default(void);
/* Draws in mmseg's order: brightness (on, delta), contrast position,
 * contrast (on, alpha), saturation (on, alpha), hue (on, shift). */
TG_API tg_photometric_params tg_photometric_draw(const tg_photometric *cfg, tg_rng *rng);
/* Applies p to an image in [0, 1], each step clipped to [0, 1]. */
TG_API void tg_photometric_apply(float *img, int h, int w, const tg_photometric_params *p);

/* ---- The MoCo-v2 / DenseCL pretraining view (augment_pretrain.c) ---- */

typedef struct tg_aug_pretrain {
    int size;                  /* output side in pixels (224 in the paper) */
    tg_range scale;            /* crop area fraction (0.2, 1.0) */
    tg_range ratio;            /* crop aspect w/h, log-uniform (3/4, 4/3) */
    double jitter_prob;        /* 0.8 */
    double brightness, contrast, saturation; /* 0.4: factors ~ U(1-b, 1+b) */
    double hue;                /* 0.1: shift ~ U(-0.1, 0.1) turns */
    double gray_prob;          /* 0.2 */
    double blur_prob;          /* 0.5 (0 turns blur off) */
    tg_range blur_sigma;       /* pixels of the output: (0.1, 2.0) * size / 224 */
    double flip_prob;          /* 0.5 */
    float mean[3], std[3];     /* ImageNet's, on [0, 1] values */
} tg_aug_pretrain;

/* The paper's recipe at output size `size`. The blur's sigma range is the
 * paper's (0.1, 2.0) pixels at 224 scaled by size / 224 (0.03-0.57 px at
 * 64), so the blur removes the same share of the image's detail at any
 * size (docs/protocol.md section 10 allows this or no blur at <= 64 px; the scaled blur keeps
 * the recipe whole and is nearly free). */
TG_API tg_aug_pretrain tg_aug_pretrain_default(int size);

/* Where a view came from, for matching cells across views. Coordinates are
 * continuous with pixel (i, j) covering [i, i+1) x [j, j+1), so its centre
 * is (i + 0.5, j + 0.5). The view shows source box crop resized to size x
 * size, then mirrored if flipped: view point (u, v) shows source point
 *   x = crop.x + (flipped ? size - u : u) * crop.w / size,
 *   y = crop.y + v * crop.h / size. */
typedef struct tg_view_geom {
    tg_box crop;  /* in source pixels */
    bool flipped; /* mirrored left to right after resizing */
    int size;     /* the view is size x size */
} tg_view_geom;

/* The source point (x, y) that view point (u, v) shows (formula above);
 * e.g. the centre of cell (a, b) of an S x S grid is u = (a + 0.5) *
 * size / S, v = (b + 0.5) * size / S. */
TG_API void tg_view_geom_to_source(const tg_view_geom *g, double u, double v, double *x, double *y);

enum { TG_JITTER_BRIGHTNESS, TG_JITTER_CONTRAST, TG_JITTER_SATURATION, TG_JITTER_HUE };

/* Everything one view's draw decided. */
typedef struct tg_view_params {
    tg_view_geom geom;
    bool jitter;   /* colour jitter applied */
    int order[4];  /* the TG_JITTER_* ops in the order applied */
    double factor[4]; /* per op, indexed by TG_JITTER_*: factors, hue shift */
    bool gray;
    double blur_sigma; /* 0: no blur */
} tg_view_params;

/* 0, or -1 naming the first bad field. */
TG_API int tg_aug_pretrain_check(const tg_aug_pretrain *cfg);
/* Draws a view's parameters for a height x width source, in the recipe's
 * order: crop, jitter (on, order, factors), grayscale, blur, flip. */
TG_API int tg_aug_pretrain_draw(const tg_aug_pretrain *cfg, int height, int width, tg_rng *rng, tg_view_params *p);
/* Makes the view p describes from img (RGB) into out (3 x size x size
 * floats, normalized). */
TG_API int tg_aug_pretrain_apply(const tg_aug_pretrain *cfg, const tg_image *img, const tg_view_params *p, float *out);
/* Draw then apply: one view. Call it twice with the same rng for the two
 * independent views of an image. geom may be NULL. */
TG_API int tg_aug_pretrain_view(const tg_aug_pretrain *cfg, const tg_image *img, tg_rng *rng, float *out,
                                tg_view_geom *geom);

/* ---- mmseg's segmentation pipeline (augment_seg.c) ---- */

typedef struct tg_aug_seg {
    int crop_h, crop_w;          /* training crop and pad size: 512 x 512 (VOC) */
    int scale_long, scale_short; /* image scale (2048, 512): fit inside, keep aspect */
    tg_range ratio;              /* training scale ratio (0.5, 2.0) */
    double cat_max_ratio;        /* 0.75: redraw the crop (10 times at most) while
                                    one class holds this share or more; >= 1: off */
    int ignore_index;            /* 255: not a class, and the mask's padding */
    double flip_prob;            /* 0.5 */
    bool photometric;            /* PhotoMetricDistortion on */
    tg_photometric pmd;
    float mean[3], std[3];       /* mmseg's, in grey levels (123.675 ...) */
} tg_aug_seg;

/* The VOC recipe scaled to crop x crop: image scale (4 crop, crop), the
 * rest as VOC (crop 512 gives VOC's numbers exactly). crop is 1 .. 4096;
 * another gives a zeroed config (which tg_aug_seg_check refuses) and an
 * error. */
TG_API tg_aug_seg tg_aug_seg_default(int crop);
TG_API int tg_aug_seg_check(const tg_aug_seg *cfg);

/* One training sample: resize by a random ratio (image bilinear, mask
 * nearest), random crop with cat_max_ratio, flip, photometric distortion,
 * normalize, pad (image 0, mask ignore_index). img: RGB; mask: 1 channel,
 * same size. out_img: 3 x crop_h x crop_w floats; out_mask: crop_h x
 * crop_w labels. */
TG_API int tg_aug_seg_train(const tg_aug_seg *cfg, const tg_image *img, const tg_image *mask, tg_rng *rng,
                            float *out_img, int64_t *out_mask);

/* The test image's size for a height x width source: fit inside (scale_long,
 * scale_short) keeping the aspect ratio (mmcv's imrescale). */
TG_API void tg_aug_seg_test_size(const tg_aug_seg *cfg, int height, int width, int *out_h, int *out_w);
/* The test image: resized to tg_aug_seg_test_size and normalized, into out
 * (3 x out_h x out_w). The mask is not resized: predictions are resized back
 * to the source size and scored against the original mask. */
TG_API int tg_aug_seg_test(const tg_aug_seg *cfg, const tg_image *img, float *out);

#endif
