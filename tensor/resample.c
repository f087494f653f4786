/* Bilinear resize and constant padding. The resize works out, for every
 * output row and column, its two source taps and their weights once (the
 * rules of PyTorch's upsample_bilinear2d, in float as PyTorch computes them
 * for float32), then blends; its backward scatters each output gradient
 * onto the same four taps. Padding is a fill and one strided copy. */
#include "tensor/internal/resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

/* One output coordinate's two source indices and their weights. */
typedef struct {
    int64_t i0, i1;
    float w0, w1;
} tap;

/* PyTorch's compute_scales_value: 1 / the given scale factor, else
 * in / out. */
static float scale_value(int64_t in, int64_t out, double factor)
{
    return factor > 0 ? (float)(1.0 / factor) : (float)in / (float)out;
}

/* PyTorch's area_pixel_compute_scale. */
static float source_scale(int64_t in, int64_t out, bool align_corners, double factor)
{
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return scale_value(in, out, factor);
}

/* Nearest's taps: PyTorch's nearest_idx, one source with weight 1. */
static void nearest_taps(tap *t, int64_t in, int64_t out, double factor)
{
    float scale = scale_value(in, out, factor);
    for (int64_t o = 0; o < out; o++) {
        int64_t i = out == in ? o : out == 2 * in ? o >> 1 : (int64_t)floorf((float)o * scale);
        if (i > in - 1) i = in - 1;
        t[o] = (tap){i, i, 1.0f, 0.0f};
    }
}

/* The taps of each of out coordinates over an axis of in pixels
 * (area_pixel_compute_source_index and guard_index_and_lambda). */
static void make_taps(tap *t, int64_t in, int64_t out, const tg_resize *r, double factor)
{
    if (r->nearest) {
        nearest_taps(t, in, out, factor);
        return;
    }
    bool align_corners = r->align_corners;
    float scale = source_scale(in, out, align_corners, factor);
    for (int64_t o = 0; o < out; o++) {
        float src = align_corners ? scale * (float)o : (float)((double)scale * ((double)o + 0.5) - 0.5);
        if (src < 0) src = 0;
        int64_t i0 = (int64_t)floorf(src);
        if (i0 > in - 1) i0 = in - 1;
        float l1 = fminf(fmaxf(src - (float)i0, 0.0f), 1.0f);
        t[o] = (tap){i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0f - l1, l1};
    }
}

/* Row taps then column taps, in one allocation (NULL with error). */
static tap *plan_taps(const char *op, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, const tg_resize *r)
{
    tap *t = malloc((size_t)(out_h + out_w) * sizeof *t);
    if (!t) {
        TG_FAIL("%s: out of memory", op);
        return NULL;
    }
    make_taps(t, in_h, out_h, r, r->scale_h);
    make_taps(t + out_h, in_w, out_w, r, r->scale_w);
    return t;
}

static int check_image(const char *op, const tg_tensor *x, int64_t out_h, int64_t out_w)
{
    char s[TG_SHAPE_STR_LEN];
    tg_shape_str(x->ndim, x->shape, s, sizeof s);
    if (x->dtype != TG_FLOAT32) return TG_FAIL("%s: input is %s; float32 only", op, tg_dtype_name(x->dtype));
    if (x->ndim != 4) return TG_FAIL("%s: input %s is not 4-D (N,C,H,W)", op, s);
    if (x->shape[2] < 1 || x->shape[3] < 1 || out_h < 1 || out_w < 1)
        return TG_FAIL("%s: input %s to (%lld,%lld): sizes must be at least 1", op, s, (long long)out_h,
                       (long long)out_w);
    return tg_shape_numel(op, 4, (const int64_t[]){x->shape[0], x->shape[1], out_h, out_w}) < 0 ? -1 : 0;
}

/* Offset of plane p = (n, c) of x. */
static int64_t plane_offset(const tg_tensor *x, int64_t p)
{
    return x->offset + (p / x->shape[1]) * x->stride[0] + (p % x->shape[1]) * x->stride[1];
}

tg_tensor *tg_k_resize(tg_tensor *x, int64_t out_h, int64_t out_w, const tg_resize *how)
{
    const char *op = how->nearest ? "upsample_nearest" : "upsample_bilinear";
    bool nearest = how->nearest;
    if (TG_NEED(op, x) || check_image(op, x, out_h, out_w)) return NULL;
    tap *t = plan_taps(op, x->shape[2], x->shape[3], out_h, out_w, how);
    tg_tensor *out = t ? tg_empty(TG_SHAPE(x->shape[0], x->shape[1], out_h, out_w), TG_FLOAT32) : NULL;
    if (!out) {
        free(t);
        return NULL;
    }
    const tap *th = t, *tw = t + out_h;
    const float *xd = x->storage->data;
    float *o = tg_data_f32(out);
    int64_t rows = x->shape[0] * x->shape[1] * out_h, sh = x->stride[2], sw = x->stride[3];
#pragma omp parallel for if (rows * out_w >= TG_PARALLEL_GRAIN && rows > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        tap h = th[r % out_h];
        const float *x0 = xd + plane_offset(x, r / out_h) + h.i0 * sh, *x1 = x0 + (h.i1 - h.i0) * sh;
        float *y = o + r * out_w;
        for (int64_t j = 0; j < out_w && nearest; j++) y[j] = x0[tw[j].i0 * sw];
        for (int64_t j = 0; j < out_w && !nearest; j++) {
            tap w = tw[j];
            float top = x0[w.i0 * sw] * w.w0 + x0[w.i1 * sw] * w.w1;
            float bottom = x1[w.i0 * sw] * w.w0 + x1[w.i1 * sw] * w.w1;
            y[j] = top * h.w0 + bottom * h.w1;
        }
    }
    free(t);
    return out;
}

tg_tensor *tg_k_upsample_bilinear(tg_tensor *x, int64_t out_h, int64_t out_w, bool align_corners)
{
    return tg_k_resize(x, out_h, out_w, &(tg_resize){.align_corners = align_corners});
}

/* Scatters one plane of g (strides sh, sw) onto gi (in_h x in_w, zeroed). */
static void scatter_plane(const float *g, int64_t sh, int64_t sw, float *gi, int64_t in_w, const tap *th,
                          int64_t out_h, const tap *tw, int64_t out_w)
{
    for (int64_t i = 0; i < out_h; i++) {
        tap h = th[i];
        float *r0 = gi + h.i0 * in_w, *r1 = gi + h.i1 * in_w;
        for (int64_t j = 0; j < out_w; j++) {
            tap w = tw[j];
            float v = g[i * sh + j * sw];
            r0[w.i0] += h.w0 * w.w0 * v;
            r0[w.i1] += h.w0 * w.w1 * v;
            r1[w.i0] += h.w1 * w.w0 * v;
            r1[w.i1] += h.w1 * w.w1 * v;
        }
    }
}

tg_tensor *tg_k_resize_backward(tg_tensor *g, int64_t in_h, int64_t in_w, const tg_resize *r)
{
    const char *op = r->nearest ? "upsample_nearest_backward" : "upsample_bilinear_backward";
    if (!g || check_image(op, g, in_h, in_w)) return NULL;
    int64_t out_h = g->shape[2], out_w = g->shape[3];
    tap *t = plan_taps(op, in_h, in_w, out_h, out_w, r);
    tg_tensor *gi = t ? tg_empty(TG_SHAPE(g->shape[0], g->shape[1], in_h, in_w), TG_FLOAT32) : NULL;
    if (!gi) {
        free(t);
        return NULL;
    }
    const float *gd = g->storage->data;
    float *o = tg_data_f32(gi);
    int64_t planes = g->shape[0] * g->shape[1], plane = in_h * in_w;
#pragma omp parallel for if (planes * out_h * out_w >= TG_PARALLEL_GRAIN && planes > 1) schedule(static)
    for (int64_t p = 0; p < planes; p++) {
        memset(o + p * plane, 0, (size_t)plane * sizeof *o);
        scatter_plane(gd + plane_offset(g, p), g->stride[2], g->stride[3], o + p * plane, in_w, t, out_h,
                      t + out_h, out_w);
    }
    free(t);
    return gi;
}

tg_tensor *tg_k_upsample_bilinear_backward(tg_tensor *g, int64_t in_h, int64_t in_w, bool align_corners)
{
    return tg_k_resize_backward(g, in_h, in_w, &(tg_resize){.align_corners = align_corners});
}

/* ---- constant padding ---- */

/* The padded shape into shape; -1 with error if npads is malformed or a
 * size would go negative. */
static int padded_shape(const tg_tensor *x, int npads, const int64_t *pads, int64_t *shape)
{
    if (npads < 0 || npads % 2) return TG_FAIL("pad: %d pad values; they come in (before, after) pairs", npads);
    if (npads / 2 > x->ndim) return TG_FAIL("pad: %d pairs of pads for a %d-dim tensor", npads / 2, x->ndim);
    memcpy(shape, x->shape, sizeof x->shape);
    for (int k = 0; k < npads / 2; k++) {
        int d = x->ndim - 1 - k;
        int64_t size;
        if (__builtin_add_overflow(x->shape[d], pads[2 * k], &size) ||
            __builtin_add_overflow(size, pads[2 * k + 1], &size) || size < 0)
            return TG_FAIL("pad: dim %d of size %lld padded by (%lld, %lld) would have a negative size", d,
                           (long long)x->shape[d], (long long)pads[2 * k], (long long)pads[2 * k + 1]);
        shape[d] = size;
    }
    return 0;
}

/* Narrows t along dim to [start, start + length), replacing *t. */
static int narrow_in_place(tg_tensor **t, int dim, int64_t start, int64_t length)
{
    tg_tensor *v = tg_k_narrow(*t, dim, start, length);
    tg_release(*t);
    *t = v;
    return v ? 0 : -1;
}

/* Copies the part of x that survives the pads into out. */
static int copy_kept(tg_tensor *out, tg_tensor *x, int npads, const int64_t *pads)
{
    tg_tensor *src = tg_retain(x), *dst = tg_retain(out);
    int rc = 0;
    bool none_kept = false;
    for (int k = 0; !rc && !none_kept && k < npads / 2; k++) {
        int d = x->ndim - 1 - k;
        int64_t before = pads[2 * k], after = pads[2 * k + 1];
        int64_t cut0 = before < 0 ? -before : 0, cut1 = after < 0 ? -after : 0;
        int64_t length = x->shape[d] - cut0 - cut1;
        none_kept = length <= 0;
        if (!none_kept) rc = narrow_in_place(&src, d, cut0, length);
        if (!rc && !none_kept) rc = narrow_in_place(&dst, d, before > 0 ? before : 0, length);
    }
    if (!rc && !none_kept) rc = tg_k_copy_(dst, src);
    tg_release(src);
    tg_release(dst);
    return rc;
}

tg_tensor *tg_k_pad(tg_tensor *x, int npads, const int64_t *pads, double value)
{
    if (TG_NEED("pad", x)) return NULL;
    int64_t shape[TG_MAX_DIMS];
    if (padded_shape(x, npads, pads, shape)) return NULL;
    tg_tensor *out = tg_empty(x->ndim, shape, x->dtype);
    if (out && (tg_k_fill_(out, value) || copy_kept(out, x, npads, pads))) {
        tg_release(out);
        return NULL;
    }
    return out;
}
