/* mmseg's segmentation pipelines (docs/protocol.md section 11). Training:
 * Resize(img_scale, ratio_range, keep_ratio), RandomCrop(cat_max_ratio),
 * RandomFlip, PhotoMetricDistortion, Normalize, Pad (image 0, mask
 * ignore_index). Test: Resize(img_scale, keep_ratio), Normalize. Masks are
 * always resized nearest; only the crop's window of the image is resampled. */
#include <math.h>
#include <stdlib.h>

#include "data/internal/draw.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"

#define CROP_TRIES 10
#define MAX_SIDE 16384

tg_aug_seg tg_aug_seg_default(int crop)
{
    if (TG_NEED_RANGE("aug_seg_default", crop, 1, MAX_SIDE / 4)) return (tg_aug_seg){0};
    return (tg_aug_seg){
        .crop_h = crop,
        .crop_w = crop,
        .scale_long = 4 * crop,
        .scale_short = crop,
        .ratio = {0.5, 2.0},
        .cat_max_ratio = 0.75,
        .ignore_index = 255,
        .flip_prob = 0.5,
        .photometric = true,
        .pmd = tg_photometric_default(),
        .mean = {123.675f, 116.28f, 103.53f},
        .std = {58.395f, 57.12f, 57.375f},
    };
}

static int check_photometric(const tg_photometric *p)
{
    if (!(p->brightness_delta >= 0 && p->brightness_delta <= 255) || p->hue_delta < 0 || p->hue_delta > 90)
        return TG_FAIL("seg aug: brightness delta %g (0 .. 255), hue delta %d (0 .. 90)", p->brightness_delta,
                       p->hue_delta);
    if (!(p->contrast.lo >= 0 && p->contrast.lo <= p->contrast.hi && p->saturation.lo >= 0 &&
          p->saturation.lo <= p->saturation.hi))
        return TG_FAIL("seg aug: contrast (%g, %g), saturation (%g, %g)", p->contrast.lo, p->contrast.hi,
                       p->saturation.lo, p->saturation.hi);
    return 0;
}

int tg_aug_seg_check(const tg_aug_seg *c)
{
    if (TG_NEED("aug_seg_check", c)) return -1;
    if (c->crop_h < 1 || c->crop_w < 1 || c->crop_h > MAX_SIDE || c->crop_w > MAX_SIDE)
        return TG_FAIL("seg aug: crop %dx%d (1 .. %d)", c->crop_h, c->crop_w, MAX_SIDE);
    if (c->scale_long < 1 || c->scale_short < 1 || c->scale_long > MAX_SIDE || c->scale_short > MAX_SIDE)
        return TG_FAIL("seg aug: image scale (%d, %d) (1 .. %d)", c->scale_long, c->scale_short, MAX_SIDE);
    if (!(c->ratio.lo > 0 && c->ratio.lo <= c->ratio.hi && c->ratio.hi <= 8))
        return TG_FAIL("seg aug: ratio (%g, %g) (0 < lo <= hi <= 8)", c->ratio.lo, c->ratio.hi);
    if (!(c->cat_max_ratio > 0) || !(c->flip_prob >= 0 && c->flip_prob <= 1))
        return TG_FAIL("seg aug: cat_max_ratio %g (> 0), flip %g (0 .. 1)", c->cat_max_ratio, c->flip_prob);
    for (int i = 0; i < 3; i++)
        if (!(c->std[i] != 0)) return TG_FAIL("seg aug: std[%d] is %g", i, c->std[i]);
    return c->photometric ? check_photometric(&c->pmd) : 0;
}

/* mmcv's rescale_size: the largest scale that fits (long, short) edges,
 * sides rounded half up. */
static void rescale_size(int h, int w, double scale_long, double scale_short, int *out_h, int *out_w)
{
    double f = fmin(fmax(scale_long, scale_short) / fmax(h, w), fmin(scale_long, scale_short) / fmin(h, w));
    *out_h = (int)fmax(1, (int)(h * f + 0.5));
    *out_w = (int)fmax(1, (int)(w * f + 0.5));
}

static int check_sources(const tg_image *img, const tg_image *mask)
{
    if (!img->data || img->channels != 3)
        return TG_FAIL("seg aug: image is %dx%dx%d; RGB needed", img->height, img->width, img->channels);
    if (mask && (!mask->data || mask->channels != 1 || mask->height != img->height || mask->width != img->width))
        return TG_FAIL("seg aug: mask is %dx%dx%d; image is %dx%d, one channel needed", mask->height, mask->width,
                       mask->channels, img->height, img->width);
    return 0;
}

/* RandomCrop.get_crop_bbox: a uniform offset; the box is clipped to the
 * image when the image is smaller than the crop. */
static tg_box draw_crop(const tg_aug_seg *c, tg_rng *rng, int h, int w)
{
    int y = tg_draw_below(rng, (h > c->crop_h ? h - c->crop_h : 0) + 1);
    int x = tg_draw_below(rng, (w > c->crop_w ? w - c->crop_w : 0) + 1);
    return (tg_box){x, y, w - x < c->crop_w ? w - x : c->crop_w, h - y < c->crop_h ? h - y : c->crop_h};
}

/* Whether the crop holds more than one class and none of them reaches
 * max_ratio of its labelled pixels (ignore_index not counted). */
static bool balanced(const tg_image *mask, tg_box b, int ignore, double max_ratio)
{
    int64_t count[256] = {0}, total = 0, most = 0;
    int classes = 0;
    for (int i = 0; i < b.h; i++) {
        const uint8_t *row = mask->data + (size_t)(b.y + i) * mask->width + b.x;
        for (int j = 0; j < b.w; j++) {
            if (row[j] == ignore) continue;
            if (count[row[j]]++ == 0) classes++;
            total++;
        }
    }
    for (int k = 0; k < 256; k++) most = count[k] > most ? count[k] : most;
    return classes > 1 && (double)most / (double)total < max_ratio;
}

/* RandomCrop with cat_max_ratio: up to 10 redraws while unbalanced. */
static tg_box choose_crop(const tg_aug_seg *c, tg_rng *rng, const tg_image *mask)
{
    tg_box b = draw_crop(c, rng, mask->height, mask->width);
    if (c->cat_max_ratio >= 1) return b;
    for (int t = 0; t < CROP_TRIES && !balanced(mask, b, c->ignore_index, c->cat_max_ratio); t++)
        b = draw_crop(c, rng, mask->height, mask->width);
    return b;
}

/* Normalize with mean and std given in grey levels, on [0, 1] values. */
static void normalize_levels(const tg_aug_seg *c, float *img, int h, int w)
{
    float mean[3], std[3];
    for (int i = 0; i < 3; i++) mean[i] = c->mean[i] / 255.0f, std[i] = c->std[i] / 255.0f;
    tg_tf_normalize(img, h, w, mean, std);
}

/* The cropped, flipped, distorted, normalized image of box b of the image
 * resized to rh x rw, padded into out. */
static int train_image(const tg_aug_seg *c, const tg_image *img, int rh, int rw, tg_box b, bool flip,
                       const tg_photometric_params *pmd, float *out)
{
    float *work = malloc((size_t)3 * b.h * b.w * sizeof *work);
    if (!work) return TG_FAIL("seg aug: out of memory for a %dx%d crop", b.h, b.w);
    tg_box all = {0, 0, img->width, img->height};
    if (tg_tf_resize_bilinear(img, all, rh, rw, b, false, 1.0f / 255.0f, work) != 0) {
        free(work);
        return -1;
    }
    if (flip) tg_tf_hflip(work, 3, b.h, b.w);
    if (pmd) tg_photometric_apply(work, b.h, b.w, pmd);
    normalize_levels(c, work, b.h, b.w);
    tg_tf_pad(work, 3, b.h, b.w, 0.0f, out, c->crop_h, c->crop_w);
    free(work);
    return 0;
}

int tg_aug_seg_train(const tg_aug_seg *c, const tg_image *img, const tg_image *mask, tg_rng *rng, float *out_img,
                     int64_t *out_mask)
{
    if (tg_aug_seg_check(c) != 0 || TG_NEED("aug_seg_train", img, mask, rng, out_img, out_mask) ||
        check_sources(img, mask) != 0)
        return -1;
    double r = tg_draw_uniform(rng, c->ratio.lo, c->ratio.hi);
    int rh, rw;
    rescale_size(img->height, img->width, (int)(c->scale_long * r), (int)(c->scale_short * r), &rh, &rw);
    tg_image m;
    if (tg_tf_resize_nearest(mask, rh, rw, &m) != 0) return -1;
    tg_box b = choose_crop(c, rng, &m);
    bool flip = tg_draw_coin(rng, c->flip_prob);
    tg_photometric_params pmd = {0};
    if (c->photometric) pmd = tg_photometric_draw(&c->pmd, rng);
    int rc = train_image(c, img, rh, rw, b, flip, c->photometric ? &pmd : NULL, out_img);
    if (rc == 0) rc = tg_tf_mask_crop_pad(&m, b, flip, c->ignore_index, out_mask, c->crop_h, c->crop_w);
    tg_image_free(&m);
    return rc;
}

void tg_aug_seg_test_size(const tg_aug_seg *c, int height, int width, int *out_h, int *out_w)
{
    const char *fn = "aug_seg_test_size";
    if (TG_NEED(fn, c, out_h, out_w)) return;
    *out_h = *out_w = 0;
    if (TG_NEED_MIN(fn, height, 1) || TG_NEED_MIN(fn, width, 1)) return;
    rescale_size(height, width, c->scale_long, c->scale_short, out_h, out_w);
}

int tg_aug_seg_test(const tg_aug_seg *c, const tg_image *img, float *out)
{
    if (tg_aug_seg_check(c) != 0 || TG_NEED("aug_seg_test", img, out) || check_sources(img, NULL) != 0) return -1;
    int h, w;
    tg_aug_seg_test_size(c, img->height, img->width, &h, &w);
    tg_box all = {0, 0, img->width, img->height}, win = {0, 0, w, h};
    if (tg_tf_resize_bilinear(img, all, h, w, win, false, 1.0f / 255.0f, out) != 0) return -1;
    normalize_levels(c, out, h, w);
    return 0;
}
