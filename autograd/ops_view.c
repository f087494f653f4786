/* Differentiable views and copies. A view's backward maps the gradient back
 * onto its base's shape, so gradients of views flow to the base. */
#include <string.h>

#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/view.h"

/* view, reshape, squeeze, unsqueeze, contiguous, clone: g in the input's shape */
static int reshape_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const tg_edge *e = tg_node_input(n, 0);
    return (grads[0] = tg_k_reshape(g, e->ndim, e->shape)) ? 0 : -1;
}

static tg_tensor *reshaped(tg_tensor *out, tg_tensor *t, const char *name)
{
    return tg_recorded(out, name, reshape_backward, 1, &t, 0, NULL, NULL, 0);
}

tg_tensor *tg_view(tg_tensor *t, int ndim, const int64_t *shape)
{
    return reshaped(tg_k_view(t, ndim, shape), t, "view");
}
tg_tensor *tg_reshape(tg_tensor *t, int ndim, const int64_t *shape)
{
    return reshaped(tg_k_reshape(t, ndim, shape), t, "reshape");
}
tg_tensor *tg_squeeze(tg_tensor *t, int dim) { return reshaped(tg_k_squeeze(t, dim), t, "squeeze"); }
tg_tensor *tg_unsqueeze(tg_tensor *t, int dim) { return reshaped(tg_k_unsqueeze(t, dim), t, "unsqueeze"); }
tg_tensor *tg_contiguous(tg_tensor *t)
{
    /* A contiguous input comes back as itself: no node, no copy. */
    if (t && tg_is_contiguous(t)) return tg_captured(tg_retain(t));
    return reshaped(tg_k_contiguous(t), t, "contiguous");
}
tg_tensor *tg_clone(tg_tensor *t) { return reshaped(tg_k_clone(t), t, "clone"); }

/* ctx: the permutation; backward applies its inverse */
static int permute_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const int *perm = (const int *)n->ctx;
    int inverse[TG_MAX_DIMS];
    for (int i = 0; i < g->ndim; i++) inverse[perm[i]] = i;
    return (grads[0] = tg_k_permute(g, inverse)) ? 0 : -1;
}

tg_tensor *tg_permute(tg_tensor *t, const int *perm)
{
    tg_tensor *out = tg_k_permute(t, perm);
    if (!out) return NULL;
    int wrapped[TG_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) wrapped[i] = perm[i] < 0 ? perm[i] + t->ndim : perm[i];
    return tg_recorded(out, "permute", permute_backward, 1, &t, 0, NULL, wrapped, sizeof wrapped);
}

tg_tensor *tg_transpose(tg_tensor *t, int dim0, int dim1)
{
    tg_tensor *out = tg_k_transpose(t, dim0, dim1);
    if (!out || t->ndim == 0) return tg_recorded(out, "transpose", reshape_backward, 1, &t, 0, NULL, NULL, 0);
    int perm[TG_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) perm[i] = i;
    int d0 = dim0 < 0 ? dim0 + t->ndim : dim0, d1 = dim1 < 0 ? dim1 + t->ndim : dim1;
    perm[d0] = d1;
    perm[d1] = d0;
    return tg_recorded(out, "transpose", permute_backward, 1, &t, 0, NULL, perm, sizeof perm);
}

/* narrow and select: g written into a zero tensor of the input's shape */
typedef struct {
    int dim;
    int64_t start, length; /* length < 0: select (the dim was removed) */
} slice_ctx;

static int slice_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const slice_ctx *c = (const slice_ctx *)n->ctx;
    const tg_edge *e = tg_node_input(n, 0);
    tg_tensor *full = tg_zeros(e->ndim, e->shape, TG_FLOAT32);
    tg_tensor *part = c->length < 0 ? tg_k_select(full, c->dim, c->start) : tg_k_narrow(full, c->dim, c->start, c->length);
    int rc = part ? tg_k_copy_(part, g) : -1;
    tg_release(part);
    if (rc) {
        tg_release(full);
        return -1;
    }
    grads[0] = full;
    return 0;
}

static tg_tensor *sliced(tg_tensor *out, tg_tensor *t, const char *name, int dim, int64_t start, int64_t length)
{
    if (!out) return NULL;
    slice_ctx c = {dim < 0 ? dim + t->ndim : dim, start < 0 ? start + t->shape[dim < 0 ? dim + t->ndim : dim] : start,
                   length};
    return tg_recorded(out, name, slice_backward, 1, &t, 0, NULL, &c, sizeof c);
}

tg_tensor *tg_narrow(tg_tensor *t, int dim, int64_t start, int64_t length)
{
    return sliced(tg_k_narrow(t, dim, start, length), t, "narrow", dim, start, length);
}

tg_tensor *tg_select(tg_tensor *t, int dim, int64_t index)
{
    return sliced(tg_k_select(t, dim, index), t, "select", dim, index, -1);
}

/* expand: g summed over the broadcast dims */
static int expand_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    return tg_node_give(n, 0, tg_retain(g), grads);
}

tg_tensor *tg_expand(tg_tensor *t, int ndim, const int64_t *shape)
{
    return tg_recorded(tg_k_expand(t, ndim, shape), "expand", expand_backward, 1, &t, 0, NULL, NULL, 0);
}
