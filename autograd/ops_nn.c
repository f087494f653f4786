/* Differentiable functional forms of layers: linear, dropout, dropout2d,
 * bilinear upsampling, L2 normalisation and constant padding, each
 * backward right above its forward. */
#include <math.h>
#include <string.h>

#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/pad_edges.h"
#include "tensor/internal/random.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/resample.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

#define SAVED(i) tg_node_saved(n, i)

/* ---- linear ---- */

/* Which saved slot holds x and w (-1: not saved). Each is kept only for the
 * other's gradient, as matmul does. */
typedef struct {
    int x_at, w_at;
} linear_slots;

/* The product of all dims of an input but the last (its rows). */
static int64_t rows_of(int ndim, const int64_t *shape)
{
    int64_t m = 1;
    for (int i = 0; i + 1 < ndim; i++) m *= shape[i];
    return m;
}

static tg_tensor *grad_x(tg_tensor *g2, tg_tensor *w, const tg_edge *e)
{
    tg_tensor *gx = tg_k_matmul(g2, w); /* (M, in) */
    tg_tensor *r = gx ? tg_k_reshape(gx, e->ndim, e->shape) : NULL;
    tg_release(gx);
    return r;
}

static tg_tensor *grad_w(tg_tensor *g2, tg_tensor *x, int64_t m)
{
    tg_tensor *x2 = tg_k_reshape(x, TG_SHAPE(m, x->shape[x->ndim - 1]));
    tg_tensor *gt = x2 ? tg_k_transpose(g2, 0, 1) : NULL;
    tg_tensor *gw = gt ? tg_k_matmul(gt, x2) : NULL; /* (out, in) */
    tg_release(x2);
    tg_release(gt);
    return gw;
}

/* saved: see linear_slots. g (..., out) viewed as g2 (M, out):
 * dx = g2 @ w, dw = g2^T @ x2, dbias = sum of g2's rows. */
static int linear_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const linear_slots *slot = (const linear_slots *)n->ctx;
    int64_t m = rows_of(g->ndim, g->shape), out_f = tg_node_input(n, 1)->shape[0];
    tg_tensor *g2 = tg_k_reshape(g, TG_SHAPE(m, out_f));
    int rc = g2 ? 0 : -1;
    if (!rc && tg_node_needs_grad(n, 0)) {
        tg_tensor *w = SAVED(slot->w_at);
        rc = w && (grads[0] = grad_x(g2, w, tg_node_input(n, 0))) ? 0 : -1;
    }
    if (!rc && tg_node_needs_grad(n, 1)) {
        tg_tensor *x = SAVED(slot->x_at);
        rc = x && (grads[1] = grad_w(g2, x, m)) ? 0 : -1;
    }
    if (!rc && n->n_inputs == 3 && tg_node_needs_grad(n, 2))
        rc = (grads[2] = tg_k_sum(g2, 1, (const int[]){0}, false)) ? 0 : -1;
    tg_release(g2);
    return rc;
}

static int check_linear(const tg_tensor *x, const tg_tensor *w, const tg_tensor *bias)
{
    char sx[TG_SHAPE_STR_LEN], sw[TG_SHAPE_STR_LEN], sb[TG_SHAPE_STR_LEN] = "none";
    tg_shape_str(x->ndim, x->shape, sx, sizeof sx);
    tg_shape_str(w->ndim, w->shape, sw, sizeof sw);
    if (bias) tg_shape_str(bias->ndim, bias->shape, sb, sizeof sb);
    if (x->dtype != TG_FLOAT32 || w->dtype != TG_FLOAT32 || (bias && bias->dtype != TG_FLOAT32))
        return TG_FAIL("linear: x %s, weight %s, bias %s: float32 only", sx, sw, sb);
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
        return TG_FAIL("linear: x %s and weight %s: the weight must be (out, in) with in = x's last dim", sx, sw);
    if (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[0]))
        return TG_FAIL("linear: bias %s must be 1-D with the weight %s's %lld outputs", sb, sw,
                       (long long)w->shape[0]);
    return 0;
}

/* out (M, out) = x2 (M, in) @ w^T, plus bias when given: the bias is
 * copied into every row and the product added onto it (beta = 1). */
static int linear_into(tg_tensor *out, tg_tensor *x, tg_tensor *w, tg_tensor *bias, int64_t m)
{
    tg_tensor *o2 = tg_k_view(out, TG_SHAPE(m, w->shape[0]));
    tg_tensor *x2 = o2 ? tg_k_reshape(x, TG_SHAPE(m, w->shape[1])) : NULL;
    tg_tensor *wt = x2 ? tg_k_transpose(w, 0, 1) : NULL;
    int rc = wt ? 0 : -1;
    if (!rc && bias) rc = tg_k_copy_(o2, bias);
    if (!rc) rc = tg_k_gemm_into(o2, x2, wt, 1.0f, bias ? 1.0f : 0.0f);
    tg_release(o2);
    tg_release(x2);
    tg_release(wt);
    return rc;
}

tg_tensor *tg_linear(tg_tensor *x, tg_tensor *w, tg_tensor *bias)
{
    if (TG_NEED("linear", x, w) || check_linear(x, w, bias)) return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = w->shape[0];
    int64_t m = rows_of(x->ndim, x->shape);
    tg_tensor *out = tg_empty(x->ndim, shape, TG_FLOAT32);
    if (out && linear_into(out, x, w, bias, m)) {
        tg_release(out);
        return NULL;
    }
    tg_tensor *in[] = {x, w, bias}, *save[2];
    linear_slots slot = {-1, -1};
    int nsave = 0;
    if (tg_wants_grad(w)) {
        slot.x_at = nsave;
        save[nsave++] = x;
    }
    if (tg_wants_grad(x)) {
        slot.w_at = nsave;
        save[nsave++] = w;
    }
    return tg_recorded(out, "linear", linear_backward, bias ? 3 : 2, in, nsave, save, &slot, sizeof slot);
}

/* ---- dropout, dropout2d ---- */

/* saved: the scaled mask (broadcasts against g) */
static int dropout_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *mask = SAVED(0);
    return mask && (grads[0] = tg_k_mul(g, mask)) ? 0 : -1;
}

/* 1/(1-p) where a uniform draw is >= p (kept, probability 1-p), else 0. */
static tg_tensor *draw_mask(tg_rng *rng, int ndim, const int64_t *shape, float p)
{
    return tg_k_dropout_mask(rng, ndim, shape, p, p < 1.0f ? (float)(1.0 / (1.0 - (double)p)) : 0.0f);
}

/* mask_dims: how many leading dims of x the mask has its own draws for
 * (the rest broadcast). */
static tg_tensor *dropout_common(const char *name, tg_tensor *x, float p, bool training, tg_rng *rng, int mask_dims)
{
    if (!(p >= 0.0f && p <= 1.0f)) {
        TG_FAIL("%s: p = %g is outside [0, 1]", name, (double)p);
        return NULL;
    }
    if (!training || p == 0.0f) return tg_captured(tg_retain(x));
    if (!rng) {
        TG_FAIL("%s: NULL rng", name);
        return NULL;
    }
    if (x->dtype != TG_FLOAT32) {
        TG_FAIL("%s: input is %s; float32 only", name, tg_dtype_name(x->dtype));
        return NULL;
    }
    int64_t shape[TG_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) shape[i] = i < mask_dims ? x->shape[i] : 1;
    tg_tensor *mask = draw_mask(rng, x->ndim, shape, p);
    tg_tensor *out = mask ? tg_k_mul(x, mask) : NULL;
    out = tg_recorded(out, name, dropout_backward, 1, &x, 1, &mask, NULL, 0);
    tg_release(mask);
    return out;
}

tg_tensor *tg_dropout(tg_tensor *x, float p, bool training, tg_rng *rng)
{
    return TG_NEED("dropout", x) ? NULL : dropout_common("dropout", x, p, training, rng, x->ndim);
}

/* Whole channels: (N,C,H,W) draws (N,C), (C,H,W) draws (C). torch 1.13 reads
 * a 3-D input as (N,C,L) instead (with a warning); this follows the
 * documented (C,H,W) meaning. */
tg_tensor *tg_dropout2d(tg_tensor *x, float p, bool training, tg_rng *rng)
{
    if (TG_NEED("dropout2d", x)) return NULL;
    if (x->ndim != 3 && x->ndim != 4) {
        char s[TG_SHAPE_STR_LEN];
        TG_FAIL("dropout2d: input %s is not (N,C,H,W) or (C,H,W)", tg_shape_str(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    return dropout_common("dropout2d", x, p, training, rng, x->ndim - 2);
}

/* ---- resizing: bilinear upsampling, interpolate ---- */

typedef struct {
    int64_t in_h, in_w;
    tg_resize how;
} upsample_ctx;

static int upsample_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const upsample_ctx *c = (const upsample_ctx *)n->ctx;
    return (grads[0] = tg_k_resize_backward(g, c->in_h, c->in_w, &c->how)) ? 0 : -1;
}

static tg_tensor *resized(const char *name, tg_tensor *x, int64_t out_h, int64_t out_w, tg_resize how)
{
    tg_tensor *out = tg_k_resize(x, out_h, out_w, &how);
    upsample_ctx c = {out ? x->shape[2] : 0, out ? x->shape[3] : 0, how};
    return tg_recorded(out, name, upsample_backward, 1, &x, 0, NULL, &c, sizeof c);
}

tg_tensor *tg_upsample_bilinear(tg_tensor *x, int64_t out_h, int64_t out_w, bool align_corners)
{
    return resized("upsample_bilinear", x, out_h, out_w, (tg_resize){.align_corners = align_corners});
}

/* The output size along a dim of in: size, or floor(in factor). */
static int64_t resized_size(int64_t in, int64_t size, double factor)
{
    return size > 0 ? size : (int64_t)floor((double)in * factor);
}

tg_tensor *tg_interpolate(tg_tensor *x, const tg_interpolate_opts *opts)
{
    const char *op = "interpolate";
    if (TG_NEED(op, x, opts)) return NULL;
    const tg_interpolate_opts *o = opts;
    bool no_size = !o->size[0] && !o->size[1], no_factor = !o->scale_factor[0] && !o->scale_factor[1];
    bool sized = o->size[0] > 0 && o->size[1] > 0 && no_factor;
    bool scaled = o->scale_factor[0] > 0 && o->scale_factor[1] > 0 && no_size;
    if (!sized && !scaled) {
        TG_FAIL("%s: give either size (both > 0) or scale_factor (both > 0), got size (%lld, %lld), scale_factor "
                "(%g, %g)", op, (long long)o->size[0], (long long)o->size[1], o->scale_factor[0], o->scale_factor[1]);
        return NULL;
    }
    if (o->mode != TG_INTERPOLATE_NEAREST && o->mode != TG_INTERPOLATE_BILINEAR) {
        TG_FAIL("%s: unknown mode %d", op, (int)o->mode);
        return NULL;
    }
    if (o->mode == TG_INTERPOLATE_NEAREST && o->align_corners) {
        TG_FAIL("%s: align_corners is for bilinear only, as in PyTorch", op);
        return NULL;
    }
    if (x->ndim != 4) {
        char s[TG_SHAPE_STR_LEN];
        TG_FAIL("%s: input %s is not 4-D (N,C,H,W)", op, tg_shape_str(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    tg_resize how = {o->mode == TG_INTERPOLATE_NEAREST, o->align_corners, o->scale_factor[0], o->scale_factor[1]};
    return resized(how.nearest ? "upsample_nearest" : "upsample_bilinear", x,
                   resized_size(x->shape[2], o->size[0], o->scale_factor[0]),
                   resized_size(x->shape[3], o->size[1], o->scale_factor[1]), how);
}

/* ---- normalize ---- */

typedef struct {
    int dim;
    float eps;
} normalize_ctx;

/* saved: y = x / max(norm, eps), norm (kept dim). Where norm >= eps (the
 * clamp passes its gradient, as torch's clamp_min):
 * dx = (g - y * sum(g * y, dim)) / norm; elsewhere the denominator is the
 * constant eps and dx = g / eps. */
static int normalize_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const normalize_ctx *c = (const normalize_ctx *)n->ctx;
    tg_tensor *y = SAVED(0), *norm = SAVED(1);
    if (!y || !norm) return -1;
    tg_tensor *gy = tg_k_mul(g, y);
    tg_tensor *s = gy ? tg_k_sum(gy, 1, &c->dim, true) : NULL;
    tg_tensor *live = s ? tg_k_in_range(norm, c->eps, INFINITY) : NULL;
    tg_tensor *sl = live ? tg_k_mul(s, live) : NULL;
    tg_tensor *ys = sl ? tg_k_mul(y, sl) : NULL;
    tg_tensor *d = ys ? tg_k_sub(g, ys) : NULL;
    tg_tensor *den = d ? tg_k_clamp(norm, c->eps, INFINITY) : NULL;
    grads[0] = den ? tg_k_div(d, den) : NULL;
    tg_tensor *tmp[] = {gy, s, live, sl, ys, d, den};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) tg_release(tmp[i]);
    return grads[0] ? 0 : -1;
}

tg_tensor *tg_normalize(tg_tensor *x, int dim, float eps)
{
    if (TG_NEED("normalize", x)) return NULL;
    if (x->ndim < 1) {
        TG_FAIL("normalize: the input is 0-dim; it needs a dim to normalise along");
        return NULL;
    }
    int d = tg_wrap_dim("normalize", dim, x->ndim);
    if (d < 0) return NULL;
    tg_tensor *sq = tg_k_mul(x, x);
    tg_tensor *ss = sq ? tg_k_sum(sq, 1, &d, true) : NULL;
    tg_tensor *norm = ss ? tg_k_sqrt(ss) : NULL;
    tg_tensor *den = norm ? tg_k_clamp(norm, eps, INFINITY) : NULL;
    tg_tensor *y = den ? tg_k_div(x, den) : NULL;
    normalize_ctx c = {d, eps};
    y = tg_recorded(y, "normalize", normalize_backward, 1, &x, 2, (tg_tensor *[]){y, norm}, &c, sizeof c);
    tg_release(sq);
    tg_release(ss);
    tg_release(norm);
    tg_release(den);
    return y;
}

/* ---- constant padding ---- */

typedef struct {
    int npads;
    int64_t pads[2 * TG_MAX_DIMS];
} pad_ctx;

/* g cut back to the input: a view of g when nothing was cropped, else g
 * padded by the negated pads (zeros where the forward cropped). */
static int pad_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const pad_ctx *c = (const pad_ctx *)n->ctx;
    int64_t neg[2 * TG_MAX_DIMS];
    bool crops = false;
    for (int i = 0; i < c->npads; i++) {
        neg[i] = -c->pads[i];
        crops = crops || c->pads[i] < 0;
    }
    if (crops) return (grads[0] = tg_k_pad(g, c->npads, neg, 0.0)) ? 0 : -1;
    tg_tensor *v = tg_retain(g);
    for (int k = 0; v && k < c->npads / 2; k++) {
        int dim = g->ndim - 1 - k;
        tg_tensor *u = tg_k_narrow(v, dim, c->pads[2 * k], tg_node_input(n, 0)->shape[dim]);
        tg_release(v);
        v = u;
    }
    return (grads[0] = v) ? 0 : -1;
}

tg_tensor *tg_pad(tg_tensor *x, int npads, const int64_t *pads, float value)
{
    tg_tensor *out = tg_k_pad(x, npads, pads, value);
    pad_ctx c = {0};
    if (out) c.npads = npads;
    for (int i = 0; out && i < npads; i++) c.pads[i] = pads[i];
    return tg_recorded(out, "pad", pad_backward, 1, &x, 0, NULL, &c, sizeof c);
}

/* ---- padding from the edges (reflect, replicate, circular) ---- */

typedef struct {
    int npads;
    int64_t pads[2 * TG_MAX_DIMS];
    tg_pad_mode mode;
} pad_edges_ctx;

static int pad_edges_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const pad_edges_ctx *c = (const pad_edges_ctx *)n->ctx;
    const tg_edge *e = tg_node_input(n, 0);
    return (grads[0] = tg_k_pad_edges_backward(g, e->ndim, e->shape, c->npads, c->pads, c->mode)) ? 0 : -1;
}

tg_tensor *tg_pad_edges(tg_tensor *x, int npads, const int64_t *pads, tg_pad_mode mode)
{
    tg_tensor *out = tg_k_pad_edges(x, npads, pads, mode);
    pad_edges_ctx c = {0};
    if (out) c.npads = npads, c.mode = mode;
    for (int i = 0; out && i < npads; i++) c.pads[i] = pads[i];
    return tg_recorded(out, "pad_edges", pad_edges_backward, 1, &x, 0, NULL, &c, sizeof c);
}
