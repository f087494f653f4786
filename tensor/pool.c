/* Pooling kernels (see internal/pool.h).
 *
 * Every kernel walks planes: the (H,W) image of one sample and channel in a
 * contiguous copy. One thread owns a whole plane, forward or backward, and
 * visits its windows in a fixed order, so the gradients scattered into
 * overlapping windows add up the same way on any thread count. */
#include "tensor/internal/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

/* A window with PyTorch's defaults filled in (see internal/pool.h). */
typedef struct {
    int64_t kernel[2], stride[2], padding[2], dilation[2];
    bool ceil_mode, count_include_pad;
} pool_geom;

/* opts with its zeros filled in: stride 0 means the kernel, dilation 0
 * means 1. */
static pool_geom geom_of(tg_pool2d_opts o)
{
    pool_geom g = {.ceil_mode = o.ceil_mode, .count_include_pad = o.count_include_pad};
    for (int i = 0; i < 2; i++) {
        g.kernel[i] = o.kernel[i];
        g.stride[i] = o.stride[i] ? o.stride[i] : o.kernel[i];
        g.padding[i] = o.padding[i];
        g.dilation[i] = o.dilation[i] ? o.dilation[i] : 1;
    }
    return g;
}

/* The planes of an (N,C,H,W) input and its (N,C,OH,OW) output. */
typedef struct {
    int64_t n, c, ih, iw, oh, ow;
} planes;

/* One dim of a window: input range [lo, hi) and, for average pooling, the
 * extent it had inside the padded input. */
typedef struct {
    int64_t lo, hi, span;
} span1;

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* PyTorch's pooling_output_shape. */
static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode)
{
    int64_t out = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) out--;
    return out;
}

static int check_input(const char *op, const tg_tensor *x)
{
    char s[TG_SHAPE_STR_LEN];
    if (x->dtype == TG_FLOAT32 && x->ndim == 4) return 0;
    return TG_FAIL("%s: input must be float32 (N,C,H,W), got %s %s", op, tg_dtype_name(x->dtype),
                   tg_shape_str(x->ndim, x->shape, s, sizeof s));
}

static int check_window(const char *op, const pool_geom *g, bool avg)
{
    for (int i = 0; i < 2; i++)
        if (g->kernel[i] < 1 || g->stride[i] < 1 || g->dilation[i] < 1 || g->padding[i] < 0)
            return TG_FAIL("%s: kernel, stride and dilation must be positive and padding non-negative, got "
                           "kernel (%lld,%lld) stride (%lld,%lld) padding (%lld,%lld) dilation (%lld,%lld)",
                           op, (long long)g->kernel[0], (long long)g->kernel[1], (long long)g->stride[0],
                           (long long)g->stride[1], (long long)g->padding[0], (long long)g->padding[1],
                           (long long)g->dilation[0], (long long)g->dilation[1]);
    if (avg && (g->dilation[0] != 1 || g->dilation[1] != 1))
        return TG_FAIL("%s: dilation must be 1 (PyTorch's avg_pool2d has none), got (%lld,%lld)", op,
                       (long long)g->dilation[0], (long long)g->dilation[1]);
    if (2 * g->padding[0] > g->kernel[0] || 2 * g->padding[1] > g->kernel[1])
        return TG_FAIL("%s: padding (%lld,%lld) must be at most half the kernel (%lld,%lld)", op,
                       (long long)g->padding[0], (long long)g->padding[1], (long long)g->kernel[0],
                       (long long)g->kernel[1]);
    return 0;
}

/* Checks the window and sizes the output of p's input planes. */
static int plan_window(const char *op, const pool_geom *g, bool avg, planes *p)
{
    if (check_window(op, g, avg)) return -1;
    p->oh = out_size(p->ih, g->kernel[0], g->stride[0], g->padding[0], g->dilation[0], g->ceil_mode);
    p->ow = out_size(p->iw, g->kernel[1], g->stride[1], g->padding[1], g->dilation[1], g->ceil_mode);
    if (p->oh >= 1 && p->ow >= 1) return 0;
    return TG_FAIL("%s: input (%lld,%lld,%lld,%lld) is too small for kernel (%lld,%lld) with padding (%lld,%lld) "
                   "and dilation (%lld,%lld): the output would be (%lld,%lld)", op, (long long)p->n,
                   (long long)p->c, (long long)p->ih, (long long)p->iw, (long long)g->kernel[0],
                   (long long)g->kernel[1], (long long)g->padding[0], (long long)g->padding[1],
                   (long long)g->dilation[0], (long long)g->dilation[1], (long long)p->oh, (long long)p->ow);
}

/* Checks x and the window and sizes the output. */
static int plan(const char *op, const tg_tensor *x, const pool_geom *g, bool avg, planes *p)
{
    if (check_input(op, x)) return -1;
    *p = (planes){x->shape[0], x->shape[1], x->shape[2], x->shape[3], 0, 0};
    return plan_window(op, g, avg, p);
}

/* A contiguous copy of x and a new output of its planes' output size. */
static int begin(tg_tensor *x, const planes *p, tg_dtype out_dtype, tg_tensor **xc, tg_tensor **out)
{
    *xc = tg_k_contiguous(x);
    *out = *xc ? tg_empty(TG_SHAPE(p->n, p->c, p->oh, p->ow), out_dtype) : NULL;
    if (*out) return 0;
    tg_release(*xc);
    *xc = NULL;
    return -1;
}

static bool go_parallel(const planes *p)
{
    return p->n * p->c > 1 && p->n * p->c * (p->ih * p->iw + p->oh * p->ow) >= TG_PARALLEL_GRAIN;
}

/* ---- max ---- */

/* The taps of a max-pooling window along one dim that land inside the
 * input: tap t reads coordinate first + t dilation, for t in [lo, hi). */
typedef struct {
    int64_t first, lo, hi;
} taps;

static taps window_taps(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad, int64_t d)
{
    int64_t first = o * s - pad, lo = first < 0 ? (-first + d - 1) / d : 0;
    int64_t hi = in - 1 - first < 0 ? 0 : min64(k, (in - 1 - first) / d + 1);
    return (taps){first, lo, hi};
}

/* mask (all ones or zero) ? a : b, with bit operations: compilers turn a
 * ?: on a data-dependent compare into a branch, and on random data a
 * branch per element mispredicts half the time. */
static inline float select_f32(int64_t mask, float a, float b)
{
    uint32_t ua, ub, m = (uint32_t)mask;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ub = (ua & m) | (ub & ~m);
    memcpy(&b, &ub, sizeof b);
    return b;
}

/* One tap of a running maximum: v (at flat index k) takes over if it is
 * larger or NaN. */
static inline void max_step(float v, int64_t k, float *best, int64_t *arg)
{
    int64_t take = -(int64_t)((v > *best) | (v != v)); /* all ones or zero */
    *best = select_f32(take, v, *best);
    *arg = (k & take) | (*arg & ~take);
}

/* Max and flat index of the first maximum of the window (h, w) of plane
 * x (width iw); a NaN takes over, as in PyTorch. An empty window gives
 * -inf and -1. */
static float window_max(const float *x, int64_t iw, taps h, taps w, int64_t dh, int64_t dw, int64_t *at)
{
    float best = -INFINITY;
    int64_t arg = h.lo < h.hi && w.lo < w.hi ? (h.first + h.lo * dh) * iw + w.first + w.lo * dw : -1;
    for (int64_t i = h.lo; i < h.hi; i++) {
        int64_t row = (h.first + i * dh) * iw;
        for (int64_t j = w.lo; j < w.hi; j++) {
            int64_t k = row + w.first + j * dw;
            max_step(x[k], k, &best, &arg);
        }
    }
    *at = arg;
    return best;
}

/* Outputs [lo, hi) along one dim whose windows lie wholly inside the
 * input. */
static void interior(int64_t in, int64_t out, int64_t k, int64_t s, int64_t pad, int64_t d, int64_t *lo,
                     int64_t *hi)
{
    *lo = min64((pad + s - 1) / s, out);
    int64_t last = in - 1 - (k - 1) * d + pad; /* window start + pad must be <= this */
    *hi = last < 0 ? *lo : max64(*lo, min64(out, last / s + 1));
}

enum { MAX_RUN = 64 };

/* Outputs ow0 .. ow0+n-1 (n <= MAX_RUN) of row h, whose windows are inside
 * the input along w: each tap updates all n running maxima at once, so the
 * n compare-select chains overlap instead of waiting on each other. */
static void max_run(const float *x, float *y, int64_t *idx, const planes *p, const pool_geom *g, taps h,
                    int64_t ow0, int64_t n)
{
    float best[MAX_RUN];
    int64_t arg[MAX_RUN], sw = g->stride[1], dw = g->dilation[1];
    int64_t col0 = ow0 * sw - g->padding[1];
    for (int64_t o = 0; o < n; o++) {
        best[o] = -INFINITY;
        arg[o] = (h.first + h.lo * g->dilation[0]) * p->iw + col0 + o * sw;
    }
    for (int64_t i = h.lo; i < h.hi; i++)
        for (int64_t j = 0; j < g->kernel[1]; j++) {
            int64_t base = (h.first + i * g->dilation[0]) * p->iw + col0 + j * dw;
            for (int64_t o = 0; o < n; o++) max_step(x[base + o * sw], base + o * sw, &best[o], &arg[o]);
        }
    for (int64_t o = 0; o < n; o++) {
        y[ow0 + o] = best[o];
        if (idx) idx[ow0 + o] = arg[o];
    }
}

/* One output row: the interior in runs, the edge windows one by one. A
 * row whose windows hold no input row (possible with dilation) is -inf
 * with index -1. */
static void max_row(const float *x, float *y, int64_t *idx, const planes *p, const pool_geom *g, int64_t oh,
                    int64_t lo, int64_t hi)
{
    taps h = window_taps(oh, p->ih, g->kernel[0], g->stride[0], g->padding[0], g->dilation[0]);
    for (int64_t ow = 0; ow < p->ow; ow++) {
        if (ow >= lo && ow < hi && h.lo < h.hi) continue;
        taps w = window_taps(ow, p->iw, g->kernel[1], g->stride[1], g->padding[1], g->dilation[1]);
        int64_t at;
        y[ow] = window_max(x, p->iw, h, w, g->dilation[0], g->dilation[1], &at);
        if (idx) idx[ow] = at;
    }
    for (int64_t ow = lo; ow < hi && h.lo < h.hi; ow += MAX_RUN)
        max_run(x, y, idx, p, g, h, ow, min64(MAX_RUN, hi - ow));
}

static void max_plane(const float *x, float *y, int64_t *idx, const planes *p, const pool_geom *g)
{
    int64_t lo, hi;
    interior(p->iw, p->ow, g->kernel[1], g->stride[1], g->padding[1], g->dilation[1], &lo, &hi);
    for (int64_t oh = 0; oh < p->oh; oh++)
        max_row(x, y + oh * p->ow, idx ? idx + oh * p->ow : NULL, p, g, oh, lo, hi);
}

tg_tensor *tg_k_max_pool2d(tg_tensor *x, tg_pool2d_opts opts, tg_tensor **indices)
{
    if (indices) *indices = NULL;
    pool_geom geom = geom_of(opts), *g = &geom;
    planes p;
    tg_tensor *xc, *out, *ind = NULL;
    if (TG_NEED("max_pool2d", x) || plan("max_pool2d", x, g, false, &p) || begin(x, &p, TG_FLOAT32, &xc, &out))
        return NULL;
    if (indices && !(ind = tg_empty(out->ndim, out->shape, TG_INT64))) {
        tg_release(xc), tg_release(out);
        return NULL;
    }
    const float *xd = tg_data_f32(xc);
    float *yd = tg_data_f32(out);
    int64_t *id = ind ? tg_data_i64(ind) : NULL, in_plane = p.ih * p.iw, out_plane = p.oh * p.ow;
#pragma omp parallel for if (go_parallel(&p)) schedule(static)
    for (int64_t q = 0; q < p.n * p.c; q++)
        max_plane(xd + q * in_plane, yd + q * out_plane, id ? id + q * out_plane : NULL, &p, g);
    tg_release(xc);
    if (indices) *indices = ind;
    return out;
}

/* Checks a gradient of an (N,C,OH,OW) pooling output and gives its planes
 * for an input of (in_h, in_w). */
static int grad_planes(const char *op, const tg_tensor *grad, int64_t in_h, int64_t in_w, planes *p)
{
    if (check_input(op, grad)) return -1;
    if (in_h < 1 || in_w < 1)
        return TG_FAIL("%s: input size (%lld,%lld) must be positive", op, (long long)in_h, (long long)in_w);
    *p = (planes){grad->shape[0], grad->shape[1], in_h, in_w, grad->shape[2], grad->shape[3]};
    return 0;
}

/* A contiguous copy of grad and a zero input-sized gradient. */
static int begin_backward(tg_tensor *grad, const planes *p, tg_tensor **gc, tg_tensor **dx)
{
    *gc = tg_k_contiguous(grad);
    *dx = *gc ? tg_zeros(TG_SHAPE(p->n, p->c, p->ih, p->iw), TG_FLOAT32) : NULL;
    if (*dx) return 0;
    tg_release(*gc);
    *gc = NULL;
    return -1;
}

/* Adds each gradient of one plane to its argmax (none for -1, an empty
 * window); returns the count of indices out of range (skipped). */
static int64_t route_plane(const float *g, const int64_t *idx, float *dx, const planes *p)
{
    int64_t bad = 0, n = p->ih * p->iw;
    for (int64_t o = 0; o < p->oh * p->ow; o++) {
        if (idx[o] >= 0 && idx[o] < n) dx[idx[o]] += g[o];
        else bad += idx[o] != -1;
    }
    return bad;
}

tg_tensor *tg_k_max_pool2d_backward(tg_tensor *grad, tg_tensor *indices, int64_t in_h, int64_t in_w)
{
    planes p;
    tg_tensor *gc, *dx, *ic;
    if (!grad || !indices || grad_planes("max_pool2d backward", grad, in_h, in_w, &p)) return NULL;
    if (indices->dtype != TG_INT64 || !tg_same_shape(indices, grad)) {
        TG_FAIL("max_pool2d backward: indices must be int64 of the gradient's shape");
        return NULL;
    }
    if (!(ic = tg_k_contiguous(indices)) || begin_backward(grad, &p, &gc, &dx)) {
        tg_release(ic);
        return NULL;
    }
    const float *gd = tg_data_f32(gc);
    const int64_t *id = tg_data_i64(ic);
    float *d = tg_data_f32(dx);
    int64_t bad = 0, in_plane = p.ih * p.iw, out_plane = p.oh * p.ow;
#pragma omp parallel for if (go_parallel(&p)) schedule(static) reduction(+ : bad)
    for (int64_t q = 0; q < p.n * p.c; q++)
        bad += route_plane(gd + q * out_plane, id + q * out_plane, d + q * in_plane, &p);
    tg_release(gc), tg_release(ic);
    if (!bad) return dx;
    tg_release(dx);
    TG_FAIL("max_pool2d backward: %lld indices outside the (%lld,%lld) input", (long long)bad, (long long)in_h,
            (long long)in_w);
    return NULL;
}

/* ---- average ---- */

/* Window o of one dim of average pooling. */
static span1 avg_span(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad)
{
    int64_t start = o * s - pad, end = min64(start + k, in + pad);
    return (span1){max64(start, 0), min64(end, in), end - start};
}

static float avg_divisor(const pool_geom *g, span1 h, span1 w)
{
    return g->count_include_pad ? (float)(h.span * w.span) : (float)((h.hi - h.lo) * (w.hi - w.lo));
}

static void avg_plane(const float *x, float *y, const planes *p, const pool_geom *g)
{
    for (int64_t oh = 0; oh < p->oh; oh++) {
        span1 h = avg_span(oh, p->ih, g->kernel[0], g->stride[0], g->padding[0]);
        for (int64_t ow = 0; ow < p->ow; ow++) {
            span1 w = avg_span(ow, p->iw, g->kernel[1], g->stride[1], g->padding[1]);
            float s = 0;
            for (int64_t i = h.lo; i < h.hi; i++)
                for (int64_t j = w.lo; j < w.hi; j++) s += x[i * p->iw + j];
            y[oh * p->ow + ow] = s / avg_divisor(g, h, w);
        }
    }
}

static void avg_plane_backward(const float *gr, float *dx, const planes *p, const pool_geom *g)
{
    for (int64_t oh = 0; oh < p->oh; oh++) {
        span1 h = avg_span(oh, p->ih, g->kernel[0], g->stride[0], g->padding[0]);
        for (int64_t ow = 0; ow < p->ow; ow++) {
            span1 w = avg_span(ow, p->iw, g->kernel[1], g->stride[1], g->padding[1]);
            float v = gr[oh * p->ow + ow] / avg_divisor(g, h, w);
            for (int64_t i = h.lo; i < h.hi; i++)
                for (int64_t j = w.lo; j < w.hi; j++) dx[i * p->iw + j] += v;
        }
    }
}

tg_tensor *tg_k_avg_pool2d(tg_tensor *x, tg_pool2d_opts opts)
{
    pool_geom geom = geom_of(opts), *g = &geom;
    planes p;
    tg_tensor *xc, *out;
    if (TG_NEED("avg_pool2d", x) || plan("avg_pool2d", x, g, true, &p) || begin(x, &p, TG_FLOAT32, &xc, &out))
        return NULL;
    const float *xd = tg_data_f32(xc);
    float *yd = tg_data_f32(out);
    int64_t in_plane = p.ih * p.iw, out_plane = p.oh * p.ow;
#pragma omp parallel for if (go_parallel(&p)) schedule(static)
    for (int64_t q = 0; q < p.n * p.c; q++) avg_plane(xd + q * in_plane, yd + q * out_plane, &p, g);
    tg_release(xc);
    return out;
}

/* Fails unless grad's spatial size is what pooling (in_h, in_w) with g
 * gives. */
static int check_grad_size(const char *op, const tg_tensor *grad, const pool_geom *g, bool avg, int64_t in_h,
                           int64_t in_w)
{
    planes want = {grad->shape[0], grad->shape[1], in_h, in_w, 0, 0};
    if (plan_window(op, g, avg, &want)) return -1;
    if (want.oh == grad->shape[2] && want.ow == grad->shape[3]) return 0;
    return TG_FAIL("%s: gradient is (%lld,%lld) but pooling (%lld,%lld) gives (%lld,%lld)", op,
                   (long long)grad->shape[2], (long long)grad->shape[3], (long long)in_h, (long long)in_w,
                   (long long)want.oh, (long long)want.ow);
}

tg_tensor *tg_k_avg_pool2d_backward(tg_tensor *grad, tg_pool2d_opts opts, int64_t in_h, int64_t in_w)
{
    const char *op = "avg_pool2d backward";
    pool_geom geom = geom_of(opts), *g = &geom;
    planes p;
    tg_tensor *gc, *dx;
    if (!grad || grad_planes(op, grad, in_h, in_w, &p) || check_grad_size(op, grad, g, true, in_h, in_w)) return NULL;
    if (begin_backward(grad, &p, &gc, &dx)) return NULL;
    const float *gd = tg_data_f32(gc);
    float *d = tg_data_f32(dx);
    int64_t in_plane = p.ih * p.iw, out_plane = p.oh * p.ow;
#pragma omp parallel for if (go_parallel(&p)) schedule(static)
    for (int64_t q = 0; q < p.n * p.c; q++) avg_plane_backward(gd + q * out_plane, d + q * in_plane, &p, g);
    tg_release(gc);
    return dx;
}

/* ---- adaptive average ---- */

static span1 adaptive_span(int64_t o, int64_t in, int64_t out)
{
    int64_t lo = o * in / out, hi = ((o + 1) * in + out - 1) / out;
    return (span1){lo, hi, hi - lo};
}

static void adaptive_plane(const float *x, float *y, const planes *p)
{
    for (int64_t oh = 0; oh < p->oh; oh++) {
        span1 h = adaptive_span(oh, p->ih, p->oh);
        for (int64_t ow = 0; ow < p->ow; ow++) {
            span1 w = adaptive_span(ow, p->iw, p->ow);
            float s = 0;
            for (int64_t i = h.lo; i < h.hi; i++)
                for (int64_t j = w.lo; j < w.hi; j++) s += x[i * p->iw + j];
            y[oh * p->ow + ow] = s / (float)(h.span * w.span);
        }
    }
}

static void adaptive_plane_backward(const float *gr, float *dx, const planes *p)
{
    for (int64_t oh = 0; oh < p->oh; oh++) {
        span1 h = adaptive_span(oh, p->ih, p->oh);
        for (int64_t ow = 0; ow < p->ow; ow++) {
            span1 w = adaptive_span(ow, p->iw, p->ow);
            float v = gr[oh * p->ow + ow] / (float)(h.span * w.span);
            for (int64_t i = h.lo; i < h.hi; i++)
                for (int64_t j = w.lo; j < w.hi; j++) dx[i * p->iw + j] += v;
        }
    }
}

tg_tensor *tg_k_adaptive_avg_pool2d(tg_tensor *x, int64_t out_h, int64_t out_w)
{
    const char *op = "adaptive_avg_pool2d";
    if (TG_NEED(op, x) || check_input(op, x)) return NULL;
    if (out_h < 1 || out_w < 1 || x->shape[2] < 1 || x->shape[3] < 1) {
        TG_FAIL("%s: sizes must be positive, got input (%lld,%lld) and output (%lld,%lld)", op,
                (long long)x->shape[2], (long long)x->shape[3], (long long)out_h, (long long)out_w);
        return NULL;
    }
    planes p = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], out_h, out_w};
    tg_tensor *xc, *out;
    if (begin(x, &p, TG_FLOAT32, &xc, &out)) return NULL;
    const float *xd = tg_data_f32(xc);
    float *yd = tg_data_f32(out);
#pragma omp parallel for if (go_parallel(&p)) schedule(static)
    for (int64_t q = 0; q < p.n * p.c; q++) adaptive_plane(xd + q * p.ih * p.iw, yd + q * p.oh * p.ow, &p);
    tg_release(xc);
    return out;
}

tg_tensor *tg_k_adaptive_avg_pool2d_backward(tg_tensor *grad, int64_t in_h, int64_t in_w)
{
    planes p;
    tg_tensor *gc, *dx;
    if (!grad || grad_planes("adaptive_avg_pool2d backward", grad, in_h, in_w, &p)) return NULL;
    if (begin_backward(grad, &p, &gc, &dx)) return NULL;
    const float *gd = tg_data_f32(gc);
    float *d = tg_data_f32(dx);
#pragma omp parallel for if (go_parallel(&p)) schedule(static)
    for (int64_t q = 0; q < p.n * p.c; q++) adaptive_plane_backward(gd + q * p.oh * p.ow, d + q * p.ih * p.iw, &p);
    tg_release(gc);
    return dx;
}
