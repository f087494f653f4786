/* Geometric transforms: RandomResizedCrop's box sampling, the bilinear
 * (optionally antialiased) and nearest resizes, flip, pad, and the mask's
 * crop-flip-pad (see transforms.h). */
#include "data/internal/fp_strict.h"

#include <math.h>
#include <stdlib.h>

#include "data/internal/draw.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"

#define CROP_TRIES 10

/* RandomResizedCrop's fallback: the centred crop whose aspect is the
 * source's clamped into ratio (at least one pixel each way). */
static tg_box centre_crop(int height, int width, tg_range ratio)
{
    double in_ratio = (double)width / height;
    int w = width, h = height;
    if (in_ratio < ratio.lo) h = (int)fmax(1, nearbyint(w / ratio.lo));
    else if (in_ratio > ratio.hi) w = (int)fmax(1, nearbyint(h * ratio.hi));
    return (tg_box){(width - w) / 2, (height - h) / 2, w, h};
}

tg_box tg_tf_sample_resized_crop(tg_rng *rng, int height, int width, tg_range scale, tg_range ratio)
{
    const char *fn = "tf_sample_resized_crop";
    if (TG_NEED(fn, rng) || TG_NEED_MIN(fn, height, 1) || TG_NEED_MIN(fn, width, 1)) return (tg_box){0};
    double area = (double)height * width, log_lo = log(ratio.lo), log_hi = log(ratio.hi);
    for (int t = 0; t < CROP_TRIES; t++) {
        double target = area * tg_draw_uniform(rng, scale.lo, scale.hi);
        double aspect = exp(tg_draw_uniform(rng, log_lo, log_hi));
        double w = nearbyint(sqrt(target * aspect)), h = nearbyint(sqrt(target / aspect));
        if (!(w >= 1 && w <= width && h >= 1 && h <= height)) continue;
        int y = tg_draw_below(rng, height - (int)h + 1), x = tg_draw_below(rng, width - (int)w + 1);
        return (tg_box){x, y, (int)w, (int)h};
    }
    return centre_crop(height, width, ratio);
}

/* One output coordinate's source span (relative to the crop) and weights. */
typedef struct {
    int first, count;
    const float *w;
} span;

/* PIL's bilinear filter. */
static float triangle(float x)
{
    x = fabsf(x);
    return x < 1.0f ? 1.0f - x : 0.0f;
}

/* Taps per output coordinate: ceil(support) * 2 + 1 at most. */
static int max_taps(int in, int out, bool antialias)
{
    float scale = (float)in / (float)out;
    return antialias && scale >= 1.0f ? (int)ceilf(scale) * 2 + 1 : 3;
}

/* The spans of outputs o0 .. o0+n-1 of an in -> out axis, in float as
 * PyTorch computes them (upsample's _compute_indices_weights_aa, which is
 * PIL's precompute_coeffs); weights go to wbuf, taps floats apart. */
static void axis_spans(int in, int out, int o0, int n, bool antialias, int taps, span *sp, float *wbuf)
{
    float scale = (float)in / (float)out;
    bool wide = antialias && scale >= 1.0f;
    float support = wide ? scale : 1.0f, inv = wide ? 1.0f / scale : 1.0f;
    for (int k = 0; k < n; k++) {
        float center = (float)(scale * (o0 + k + 0.5)), total = 0.0f, *w = wbuf + (size_t)k * taps;
        int lo = (int)fmax(0.0, (int)((double)(center - support) + 0.5));
        int hi = (int)fmin((double)in, (int)((double)(center + support) + 0.5));
        for (int j = lo; j < hi; j++) total += w[j - lo] = triangle((float)(((double)(j - center) + 0.5) * inv));
        for (int j = lo; j < hi; j++)
            if (total != 0.0f) w[j - lo] /= total;
        sp[k] = (span){lo, hi - lo, w};
    }
}

static bool box_inside(tg_box b, int h, int w)
{
    return b.w > 0 && b.h > 0 && b.x >= 0 && b.y >= 0 && b.x <= w - b.w && b.y <= h - b.h;
}

/* Rows first..last of the crop resampled across: tmp[c][row][k] for the
 * window's columns (channels <= 3). */
static void resample_rows(const tg_image *src, tg_box crop, int first, int last, const span *cols, int ncols,
                          float *tmp)
{
    int c_n = src->channels, nrows = last - first;
    for (int r = first; r < last; r++) {
        const uint8_t *row = src->data + ((size_t)(crop.y + r) * src->width + crop.x) * c_n;
        for (int k = 0; k < ncols; k++) {
            float acc[3] = {0.0f, 0.0f, 0.0f};
            const uint8_t *p = row + (size_t)cols[k].first * c_n;
            for (int j = 0; j < cols[k].count; j++)
                for (int c = 0; c < c_n; c++) acc[c] += (float)p[j * c_n + c] * cols[k].w[j];
            for (int c = 0; c < c_n; c++) tmp[((size_t)c * nrows + (r - first)) * ncols + k] = acc[c];
        }
    }
}

/* The window's rows resampled down from tmp into dst, times gain. */
static void resample_cols(const float *tmp, int channels, int first, int nrows, const span *rows, int nout,
                          int ncols, float gain, float *dst)
{
    for (int c = 0; c < channels; c++)
        for (int i = 0; i < nout; i++) {
            float *d = dst + ((size_t)c * nout + i) * ncols;
            for (int k = 0; k < ncols; k++) d[k] = 0.0f;
            for (int j = 0; j < rows[i].count; j++) {
                const float *t = tmp + ((size_t)c * nrows + rows[i].first + j - first) * ncols;
                for (int k = 0; k < ncols; k++) d[k] += t[k] * rows[i].w[j];
            }
            for (int k = 0; k < ncols; k++) d[k] *= gain;
        }
}

int tg_tf_resize_bilinear(const tg_image *src, tg_box crop, int out_h, int out_w, tg_box win, bool antialias,
                          float gain, float *dst)
{
    if (TG_NEED("tf_resize_bilinear", src, dst)) return -1;
    if (src->channels != 1 && src->channels != 3)
        return TG_FAIL("resize: %d channels (1 or 3)", src->channels);
    if (!src->data || !box_inside(crop, src->height, src->width))
        return TG_FAIL("resize: crop (x %d, y %d, w %d, h %d) is not inside the %dx%d image", crop.x, crop.y, crop.w,
                       crop.h, src->height, src->width);
    if (out_h < 1 || out_w < 1 || !box_inside(win, out_h, out_w))
        return TG_FAIL("resize: window (x %d, y %d, w %d, h %d) is not inside the %dx%d output", win.x, win.y, win.w,
                       win.h, out_h, out_w);
    int th = max_taps(crop.h, out_h, antialias), tw = max_taps(crop.w, out_w, antialias);
    span *sp = malloc((size_t)(win.h + win.w) * sizeof *sp);
    float *wts = malloc(((size_t)win.h * th + (size_t)win.w * tw) * sizeof *wts);
    if (!sp || !wts) {
        free(sp), free(wts);
        return TG_FAIL("resize: out of memory for %dx%d", out_h, out_w);
    }
    span *rows = sp, *cols = sp + win.h;
    axis_spans(crop.h, out_h, win.y, win.h, antialias, th, rows, wts);
    axis_spans(crop.w, out_w, win.x, win.w, antialias, tw, cols, wts + (size_t)win.h * th);
    int first = rows[0].first, last = rows[win.h - 1].first + rows[win.h - 1].count;
    float *tmp = malloc((size_t)src->channels * (size_t)(last - first) * win.w * sizeof *tmp);
    if (!tmp) {
        free(sp), free(wts);
        return TG_FAIL("resize: out of memory for %dx%d", out_h, out_w);
    }
    resample_rows(src, crop, first, last, cols, win.w, tmp);
    resample_cols(tmp, src->channels, first, last - first, rows, win.h, win.w, gain, dst);
    free(tmp), free(sp), free(wts);
    return 0;
}

/* torch's nearest source index (upsample nearest_idx). */
static int nearest_index(int o, int in, int out)
{
    if (in == out) return o;
    if (out == 2 * in) return o >> 1;
    int i = (int)floorf((float)o * ((float)in / (float)out));
    return i < in - 1 ? i : in - 1;
}

int tg_tf_resize_nearest(const tg_image *src, int out_h, int out_w, tg_image *dst)
{
    if (TG_NEED("tf_resize_nearest", src, dst)) return -1;
    if (!src->data) return TG_FAIL("resize nearest: empty source image");
    if (tg_image_alloc(dst, out_h, out_w, src->channels) != 0) return -1;
    int c = src->channels;
    for (int i = 0; i < out_h; i++) {
        const uint8_t *row = src->data + (size_t)nearest_index(i, src->height, out_h) * src->width * c;
        uint8_t *d = dst->data + (size_t)i * out_w * c;
        for (int j = 0; j < out_w; j++)
            for (int k = 0; k < c; k++) d[j * c + k] = row[nearest_index(j, src->width, out_w) * c + k];
    }
    return 0;
}

/* Whether img (channels x h x w floats) can be worked on; if not, an error names fn. */
static bool usable(const char *fn, const float *img, int channels, int h, int w)
{
    return !TG_NEED(fn, img) && !TG_NEED_MIN(fn, channels, 0) && !TG_NEED_MIN(fn, h, 0) && !TG_NEED_MIN(fn, w, 0);
}

void tg_tf_hflip(float *img, int channels, int h, int w)
{
    if (!usable("tf_hflip", img, channels, h, w)) return;
    for (int r = 0; r < channels * h; r++) {
        float *row = img + (size_t)r * w;
        for (int a = 0, b = w - 1; a < b; a++, b--) {
            float t = row[a];
            row[a] = row[b], row[b] = t;
        }
    }
}

void tg_tf_pad(const float *img, int channels, int h, int w, float value, float *out, int out_h, int out_w)
{
    if (!usable("tf_pad", img, channels, h, w) || !usable("tf_pad", out, channels, out_h, out_w)) return;
    for (int c = 0; c < channels; c++)
        for (int i = 0; i < out_h; i++) {
            float *d = out + ((size_t)c * out_h + i) * out_w;
            for (int j = 0; j < out_w; j++) d[j] = i < h && j < w ? img[((size_t)c * h + i) * w + j] : value;
        }
}

int tg_tf_mask_crop_pad(const tg_image *mask, tg_box box, bool flip, int pad_value, int64_t *out, int out_h,
                        int out_w)
{
    if (TG_NEED("tf_mask_crop_pad", mask, out) || TG_NEED_MIN("tf_mask_crop_pad", out_h, 0) ||
        TG_NEED_MIN("tf_mask_crop_pad", out_w, 0))
        return -1;
    if (!mask->data || mask->channels != 1 || !box_inside(box, mask->height, mask->width))
        return TG_FAIL("mask crop: box (x %d, y %d, w %d, h %d) is not inside the %dx%dx%d mask", box.x, box.y, box.w,
                       box.h, mask->height, mask->width, mask->channels);
    for (int i = 0; i < out_h; i++)
        for (int j = 0; j < out_w; j++) {
            int col = box.x + (flip ? box.w - 1 - j : j);
            bool in = i < box.h && j < box.w;
            out[(size_t)i * out_w + j] = in ? mask->data[(size_t)(box.y + i) * mask->width + col] : pad_value;
        }
    return 0;
}
