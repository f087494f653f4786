/* Differentiable reductions and softmax: each forward, its backward beside it.
 * A reduction's backward broadcasts g back over the reduced dims; the
 * gradient it returns may be an expanded view of the input's shape. */
#include <math.h>

#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

#define SAVED(i) tg_node_saved(n, i)

/* What a reduction's backward needs: which input dims were reduced. */
typedef struct {
    bool reduced[TG_MAX_DIMS];
    bool keepdim;
    bool unbiased; /* var only */
} reduce_ctx;

/* The ctx of a reduction of t that succeeded (so dims are valid). */
static reduce_ctx make_ctx(const tg_tensor *t, int ndims, const int *dims, bool keepdim, bool unbiased)
{
    reduce_ctx c = {.keepdim = keepdim, .unbiased = unbiased};
    for (int i = 0; i < t->ndim; i++) c.reduced[i] = ndims == 0;
    for (int k = 0; k < ndims && t->ndim > 0; k++) c.reduced[tg_wrap_dim("reduce", dims[k], t->ndim)] = true;
    return c;
}

/* The reduced dims of input 0 as a dims list (empty for a 0-dim input,
 * which then means all). Returns their count. */
static int reduced_dims(const tg_node *n, int *dims)
{
    const reduce_ctx *c = (const reduce_ctx *)n->ctx;
    int k = 0;
    for (int i = 0; i < tg_node_input(n, 0)->ndim; i++)
        if (c->reduced[i]) dims[k++] = i;
    return k;
}

/* How many input elements each output element reduced. */
static int64_t reduced_count(const tg_node *n)
{
    const reduce_ctx *c = (const reduce_ctx *)n->ctx;
    const tg_edge *e = tg_node_input(n, 0);
    int64_t count = 1;
    for (int i = 0; i < e->ndim; i++)
        if (c->reduced[i]) count *= e->shape[i];
    return count;
}

/* t (of the output's shape) with the reduced dims back as size 1, so it
 * broadcasts against the input. A new reference. */
static tg_tensor *keep_dims(const tg_node *n, tg_tensor *t)
{
    const reduce_ctx *c = (const reduce_ctx *)n->ctx;
    tg_tensor *v = tg_retain(t);
    for (int i = 0; v && !c->keepdim && i < tg_node_input(n, 0)->ndim; i++) {
        if (!c->reduced[i]) continue;
        tg_tensor *u = tg_k_unsqueeze(v, i);
        tg_release(v);
        v = u;
    }
    return v;
}

/* t (of the output's shape) expanded to the input's shape (a view). */
static tg_tensor *expand_back(const tg_node *n, tg_tensor *t)
{
    const tg_edge *e = tg_node_input(n, 0);
    tg_tensor *k = keep_dims(n, t);
    tg_tensor *out = tg_k_expand(k, e->ndim, e->shape);
    tg_release(k);
    return out;
}

/* ---- sum, mean ---- */

static int sum_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    return (grads[0] = expand_back(n, g)) ? 0 : -1;
}

static int mean_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *s = tg_k_mul_scalar(g, (float)(1.0 / (double)reduced_count(n)));
    grads[0] = s ? expand_back(n, s) : NULL;
    tg_release(s);
    return grads[0] ? 0 : -1;
}

tg_tensor *tg_sum(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    tg_tensor *out = tg_k_sum(t, ndims, dims, keepdim);
    reduce_ctx c = out ? make_ctx(t, ndims, dims, keepdim, false) : (reduce_ctx){0};
    return tg_recorded(out, "sum", sum_backward, 1, &t, 0, NULL, &c, sizeof c);
}

tg_tensor *tg_mean(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    tg_tensor *out = tg_k_mean(t, ndims, dims, keepdim);
    reduce_ctx c = out ? make_ctx(t, ndims, dims, keepdim, false) : (reduce_ctx){0};
    return tg_recorded(out, "mean", mean_backward, 1, &t, 0, NULL, &c, sizeof c);
}

/* ---- var ---- */

/* saved: x. dx = g * 2 (x - mean) / (n - correction) */
static int var_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const reduce_ctx *c = (const reduce_ctx *)n->ctx;
    tg_tensor *x = SAVED(0);
    if (!x) return -1;
    int dims[TG_MAX_DIMS];
    int nd = reduced_dims(n, dims);
    double denom = (double)reduced_count(n) - (c->unbiased ? 1.0 : 0.0);
    float scale = denom > 0 ? (float)(2.0 / denom) : NAN;
    tg_tensor *mean = tg_k_mean(x, nd, dims, true);
    tg_tensor *dev = tg_k_sub(x, mean);
    tg_tensor *gk = keep_dims(n, g);
    tg_tensor *gs = tg_k_mul_scalar(gk, scale);
    grads[0] = dev && gs ? tg_k_mul(dev, gs) : NULL;
    tg_release(mean);
    tg_release(dev);
    tg_release(gk);
    tg_release(gs);
    return grads[0] ? 0 : -1;
}

tg_tensor *tg_var(tg_tensor *t, int ndims, const int *dims, bool unbiased, bool keepdim)
{
    tg_tensor *out = tg_k_var(t, ndims, dims, unbiased, keepdim);
    reduce_ctx c = out ? make_ctx(t, ndims, dims, keepdim, unbiased) : (reduce_ctx){0};
    return tg_recorded(out, "var", var_backward, 1, &t, 1, &t, &c, sizeof c);
}

/* ---- amax, amin ---- */

/* saved: x, out. g is shared evenly among the elements equal to the
 * extreme: dx = (x == out) * g / (number of ties), as torch.amax. */
static int extreme_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *x = SAVED(0), *out = SAVED(1);
    if (!x || !out) return -1;
    int dims[TG_MAX_DIMS];
    int nd = reduced_dims(n, dims);
    tg_tensor *ok = keep_dims(n, out);
    tg_tensor *mask = ok ? tg_k_eq(x, ok) : NULL;
    tg_tensor *ties = mask ? tg_k_sum(mask, nd, dims, true) : NULL;
    tg_tensor *gk = keep_dims(n, g);
    tg_tensor *share = ties && gk ? tg_k_div(gk, ties) : NULL;
    grads[0] = share ? tg_k_mul(mask, share) : NULL;
    tg_release(ok);
    tg_release(mask);
    tg_release(ties);
    tg_release(gk);
    tg_release(share);
    return grads[0] ? 0 : -1;
}

static tg_tensor *extreme(tg_tensor *out, const char *name, tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    reduce_ctx c = out ? make_ctx(t, ndims, dims, keepdim, false) : (reduce_ctx){0};
    return tg_recorded(out, name, extreme_backward, 1, &t, 2, (tg_tensor *[]){t, out}, &c, sizeof c);
}

tg_tensor *tg_amax(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    return extreme(tg_k_amax(t, ndims, dims, keepdim), "amax", t, ndims, dims, keepdim);
}

tg_tensor *tg_amin(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    return extreme(tg_k_amin(t, ndims, dims, keepdim), "amin", t, ndims, dims, keepdim);
}

/* ---- softmax, log_softmax: ctx is the dim, made non-negative ---- */

/* saved: y. dx = y * (g - sum(g * y, dim)) */
static int softmax_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int dim = *(const int *)n->ctx;
    tg_tensor *y = SAVED(0);
    if (!y) return -1;
    tg_tensor *gy = tg_k_mul(g, y);
    tg_tensor *s = tg_k_sum(gy, 1, &dim, true);
    tg_tensor *d = tg_k_sub(g, s);
    grads[0] = d ? tg_k_mul(y, d) : NULL;
    tg_release(gy);
    tg_release(s);
    tg_release(d);
    return grads[0] ? 0 : -1;
}

/* saved: y. dx = g - exp(y) * sum(g, dim) */
static int log_softmax_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int dim = *(const int *)n->ctx;
    tg_tensor *y = SAVED(0);
    if (!y) return -1;
    tg_tensor *p = tg_k_exp(y);
    tg_tensor *s = tg_k_sum(g, 1, &dim, true);
    tg_tensor *ps = p && s ? tg_k_mul(p, s) : NULL;
    grads[0] = ps ? tg_k_sub(g, ps) : NULL;
    tg_release(p);
    tg_release(s);
    tg_release(ps);
    return grads[0] ? 0 : -1;
}

static tg_tensor *softmax_like(tg_tensor *out, const char *name, tg_backward_fn fn, tg_tensor *t, int dim)
{
    int d = out ? tg_wrap_dim(name, dim, t->ndim) : 0;
    return tg_recorded(out, name, fn, 1, &t, 1, &out, &d, sizeof d);
}

tg_tensor *tg_softmax(tg_tensor *t, int dim)
{
    return softmax_like(tg_k_softmax(t, dim), "softmax", softmax_backward, t, dim);
}

tg_tensor *tg_log_softmax(tg_tensor *t, int dim)
{
    return softmax_like(tg_k_log_softmax(t, dim), "log_softmax", log_softmax_backward, t, dim);
}
