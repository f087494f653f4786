/* Reflect, replicate and circular padding (see internal/pad_edges.h).
 * Every output element takes one input element: its index along each
 * padded dim mapped back inside (reflected without repeating the edge,
 * clamped, or wrapped). The backward adds each output element's gradient
 * to that input element; slices along the unpadded leading dims are
 * independent, each one thread's in one order: the same bits for any
 * thread count. */
#include "tensor/internal/pad_edges.h"

#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

static const char *const mode_names[] = {"reflect", "replicate", "circular"};

/* Index i (-before <= i < n + after) of a dim of n mapped inside [0, n). */
static int64_t inside(int64_t i, int64_t n, tg_pad_mode mode)
{
    switch (mode) {
    case TG_PAD_REFLECT: return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
    case TG_PAD_REPLICATE: return i < 0 ? 0 : i >= n ? n - 1 : i;
    case TG_PAD_CIRCULAR: return ((i % n) + n) % n;
    }
    return 0;
}

/* The input shape, output shape and padded dims of a call. */
typedef struct {
    int ndim, padded;       /* dims; the trailing ones padded */
    int64_t in[TG_MAX_DIMS], out[TG_MAX_DIMS], before[TG_MAX_DIMS];
    int64_t slices, slice_in, slice_out; /* leading slices; elements of one, in and out */
    tg_pad_mode mode;
} pad_plan;

static int plan(const char *op, int ndim, const int64_t *shape, int npads, const int64_t *pads, tg_pad_mode mode,
                pad_plan *p)
{
    if ((unsigned)mode > TG_PAD_CIRCULAR) return TG_FAIL("%s: unknown mode %d", op, (int)mode);
    if (npads < 2 || npads % 2 || npads / 2 > ndim || !pads)
        return TG_FAIL("%s: %d pads for a %d-dim input; give (before, after) pairs for 1 to %d trailing dims", op,
                       npads, ndim, ndim);
    memset(p, 0, sizeof *p);
    p->ndim = ndim, p->padded = npads / 2, p->mode = mode;
    memcpy(p->in, shape, (size_t)ndim * sizeof *shape);
    memcpy(p->out, shape, (size_t)ndim * sizeof *shape);
    for (int k = 0; k < p->padded; k++) {
        int d = ndim - 1 - k;
        int64_t b = pads[2 * k], a = pads[2 * k + 1], n = shape[d];
        bool ok = b >= 0 && a >= 0 && n > 0 &&
                  (mode == TG_PAD_REPLICATE || (mode == TG_PAD_REFLECT ? b < n && a < n : b <= n && a <= n));
        if (!ok)
            return TG_FAIL("%s: %s padding (%lld, %lld) of dim %d of size %lld; needs pads >= 0%s", op,
                           mode_names[mode], (long long)b, (long long)a, d, (long long)n,
                           mode == TG_PAD_REFLECT    ? " and below the size"
                           : mode == TG_PAD_CIRCULAR ? " and at most the size"
                                                     : " and a dim not empty");
        p->before[d] = b;
        p->out[d] = n + b + a;
    }
    p->slices = 1, p->slice_in = 1, p->slice_out = 1;
    for (int d = 0; d < ndim; d++) {
        if (d < ndim - p->padded) p->slices *= shape[d];
        else p->slice_in *= p->in[d], p->slice_out *= p->out[d];
    }
    return 0;
}

/* Where output element o of a slice reads, within the input slice. */
static int64_t source(const pad_plan *p, int64_t o)
{
    int64_t at = 0, stride = 1;
    for (int d = p->ndim - 1; d >= p->ndim - p->padded; d--) {
        int64_t i = o % p->out[d] - p->before[d];
        o /= p->out[d];
        at += inside(i, p->in[d], p->mode) * stride;
        stride *= p->in[d];
    }
    return at;
}

tg_tensor *tg_k_pad_edges(tg_tensor *x, int npads, const int64_t *pads, tg_pad_mode mode)
{
    pad_plan p;
    if (TG_NEED("pad", x) || tg_iter_check_f32("pad", 1, &x) || plan("pad", x->ndim, x->shape, npads, pads, mode, &p))
        return NULL;
    tg_tensor *xc = tg_k_contiguous(x), *y = xc ? tg_empty(p.ndim, p.out, TG_FLOAT32) : NULL;
    if (y) {
        const float *in = tg_data_f32(xc);
        float *out = tg_data_f32(y);
#pragma omp parallel for if (p.slices * p.slice_out >= TG_PARALLEL_GRAIN && p.slices > 1) schedule(static)
        for (int64_t s = 0; s < p.slices; s++)
            for (int64_t o = 0; o < p.slice_out; o++) out[s * p.slice_out + o] = in[s * p.slice_in + source(&p, o)];
    }
    tg_release(xc);
    return y;
}

tg_tensor *tg_k_pad_edges_backward(tg_tensor *g, int ndim, const int64_t *shape, int npads, const int64_t *pads,
                                   tg_pad_mode mode)
{
    pad_plan p;
    if (TG_NEED("pad backward", g) || plan("pad backward", ndim, shape, npads, pads, mode, &p)) return NULL;
    if (g->ndim != ndim || tg_numel(g) != p.slices * p.slice_out) {
        TG_FAIL("pad backward: the gradient's shape is not the padded output's");
        return NULL;
    }
    tg_tensor *gc = tg_k_contiguous(g), *dx = gc ? tg_zeros(ndim, shape, TG_FLOAT32) : NULL;
    if (dx) {
        const float *in = tg_data_f32(gc);
        float *out = tg_data_f32(dx);
#pragma omp parallel for if (p.slices * p.slice_out >= TG_PARALLEL_GRAIN && p.slices > 1) schedule(static)
        for (int64_t s = 0; s < p.slices; s++)
            for (int64_t o = 0; o < p.slice_out; o++) out[s * p.slice_in + source(&p, o)] += in[s * p.slice_out + o];
    }
    tg_release(gc);
    return dx;
}
