/* Differentiable joining and indexing: cat, stack, gather, index_select,
 * embedding, topk and sort.
 *
 * cat and stack hand each input its slice of the gradient (a view of g);
 * gather, index_select and embedding scatter-add g back into zeros of the
 * input's shape, so repeated indices sum their gradients. Index tensors are int64 and never
 * get gradients: they are saved, not recorded as inputs. */
#include <string.h>

#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/index.h"
#include "tensor/internal/sort.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

/* ---- cat: input i gets g narrowed to its own rows along dim ---- */

typedef struct {
    int dim; /* wrapped against the output */
} dim_ctx;

static int cat_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int d = ((const dim_ctx *)n->ctx)->dim;
    int64_t at = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const tg_edge *e = tg_node_input(n, i);
        /* torch.cat's legacy skip: a 1-D size-0 input joined a tensor of more dims */
        if (e->ndim != g->ndim) continue;
        int64_t len = e->shape[d];
        if (tg_node_needs_grad(n, i) && !(grads[i] = tg_k_narrow(g, d, at, len))) return -1;
        at += len;
    }
    return 0;
}

tg_tensor *tg_cat(int n, tg_tensor *const *ts, int dim)
{
    tg_tensor *out = tg_k_cat(n, ts, dim);
    if (!out) return NULL;
    dim_ctx c = {tg_wrap_dim("cat", dim, out->ndim)};
    if (c.dim < 0) c.dim = 0; /* only when every input was skipped: out is (0,) */
    return tg_recorded(out, "cat", cat_backward, n, ts, 0, NULL, &c, sizeof c);
}

/* ---- stack: input i gets g selected at i along the new dim ---- */

static int stack_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int d = ((const dim_ctx *)n->ctx)->dim;
    for (int i = 0; i < n->n_inputs; i++)
        if (tg_node_needs_grad(n, i) && !(grads[i] = tg_k_select(g, d, i))) return -1;
    return 0;
}

tg_tensor *tg_stack(int n, tg_tensor *const *ts, int dim)
{
    tg_tensor *out = tg_k_stack(n, ts, dim);
    if (!out) return NULL;
    dim_ctx c = {tg_wrap_dim("stack", dim, out->ndim)};
    return tg_recorded(out, "stack", stack_backward, n, ts, 0, NULL, &c, sizeof c);
}

/* ---- gather and index_select: g scatter-added into zeros of t's shape ---- */

typedef int (*scatter_fn)(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src);

static int scatter_backward(tg_node *n, tg_tensor *g, tg_tensor **grads, scatter_fn scatter)
{
    tg_tensor *index = tg_node_saved(n, 0);
    if (!index) return -1;
    const tg_edge *e = tg_node_input(n, 0);
    tg_tensor *z = tg_zeros(e->ndim, e->shape, TG_FLOAT32);
    if (!z || scatter(z, ((const dim_ctx *)n->ctx)->dim, index, g)) {
        tg_release(z);
        return -1;
    }
    grads[0] = z;
    return 0;
}

/* saved: index */
static int gather_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    return scatter_backward(n, g, grads, tg_k_scatter_add_);
}

static int index_select_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    return scatter_backward(n, g, grads, tg_k_index_add_);
}

static tg_tensor *indexed(tg_tensor *out, tg_tensor *t, int dim, tg_tensor *index, const char *name,
                          tg_backward_fn backward)
{
    if (!out) return NULL;
    dim_ctx c = {tg_wrap_dim(name, dim, t->ndim)};
    return tg_recorded(out, name, backward, 1, &t, 1, &index, &c, sizeof c);
}

tg_tensor *tg_gather(tg_tensor *t, int dim, tg_tensor *index)
{
    return indexed(tg_k_gather(t, dim, index), t, dim, index, "gather", gather_backward);
}

tg_tensor *tg_index_select(tg_tensor *t, int dim, tg_tensor *index)
{
    return indexed(tg_k_index_select(t, dim, index), t, dim, index, "index_select", index_select_backward);
}

/* ---- embedding: rows of the weight; the gradient adds g's rows back ---- */

/* What an embedding's node keeps: the padding row (non-negative) or
 * TG_EMBEDDING_NO_PADDING. saved: the indices, flattened. */
typedef struct {
    int64_t padding_idx;
} embedding_ctx;

static int embedding_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *flat = tg_node_saved(n, 0);
    if (!flat) return -1;
    const tg_edge *e = tg_node_input(n, 0);
    int64_t rows = tg_numel(flat), pad = ((const embedding_ctx *)n->ctx)->padding_idx;
    tg_tensor *gc = tg_k_contiguous(g), *g2 = gc ? tg_k_view(gc, TG_SHAPE(rows, e->shape[1])) : NULL;
    tg_tensor *z = g2 ? tg_zeros(e->ndim, e->shape, TG_FLOAT32) : NULL;
    int rc = z ? tg_k_index_add_(z, 0, flat, g2) : -1;
    if (!rc && pad != TG_EMBEDDING_NO_PADDING)
        memset(tg_data_f32(z) + pad * e->shape[1], 0, (size_t)e->shape[1] * sizeof(float));
    tg_release(gc), tg_release(g2);
    if (rc) tg_release(z);
    else grads[0] = z;
    return rc;
}

/* padding_idx made non-negative (from the end when negative), checked
 * against the weight's rows; TG_EMBEDDING_NO_PADDING stays. */
static int padding_row(int64_t padding_idx, int64_t rows, int64_t *out)
{
    *out = padding_idx;
    if (padding_idx == TG_EMBEDDING_NO_PADDING) return 0;
    if (padding_idx < -rows || padding_idx >= rows)
        return TG_FAIL("embedding: padding_idx %lld is outside the weight's %lld rows", (long long)padding_idx,
                       (long long)rows);
    if (padding_idx < 0) *out = padding_idx + rows;
    return 0;
}

tg_tensor *tg_embedding(tg_tensor *weight, tg_tensor *indices, int64_t padding_idx)
{
    if (TG_NEED("embedding", weight, indices)) return NULL;
    if (weight->ndim != 2 || weight->dtype != TG_FLOAT32 || indices->dtype != TG_INT64 ||
        indices->ndim + 1 > TG_MAX_DIMS) {
        TG_FAIL("embedding: needs a 2-D float32 weight and int64 indices of at most %d dims, got a %d-dim %s "
                "weight and %d-dim %s indices",
                TG_MAX_DIMS - 1, weight->ndim, tg_dtype_name(weight->dtype), indices->ndim,
                tg_dtype_name(indices->dtype));
        return NULL;
    }
    embedding_ctx c;
    if (padding_row(padding_idx, weight->shape[0], &c.padding_idx)) return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, indices->shape, (size_t)indices->ndim * sizeof *shape);
    shape[indices->ndim] = weight->shape[1];
    tg_tensor *flat = tg_k_reshape(indices, TG_SHAPE(tg_numel(indices)));
    tg_tensor *rows = flat ? tg_k_index_select(weight, 0, flat) : NULL;
    tg_tensor *out = rows ? tg_k_reshape(rows, indices->ndim + 1, shape) : NULL;
    tg_release(rows);
    out = tg_recorded(out, "embedding", embedding_backward, 1, &weight, 1, &flat, &c, sizeof c);
    tg_release(flat);
    return out;
}

/* ---- topk and sort: the values' gradient goes back to where each came from ---- */

/* saved: the indices; ctx: the dim */
static int topk_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    return scatter_backward(n, g, grads, tg_k_scatter_add_);
}

int tg_topk(tg_tensor *t, int64_t k, int dim, bool largest, tg_tensor **values, tg_tensor **indices)
{
    if (values) *values = NULL;
    if (indices) *indices = NULL;
    if (TG_NEED("topk", t, values, indices)) return -1;
    tg_tensor *v, *ix;
    if (tg_k_topk(t, k, dim, largest, &v, &ix)) return -1;
    dim_ctx c = {t->ndim ? tg_wrap_dim("topk", dim, t->ndim) : 0};
    if (!(v = tg_recorded(v, "topk", topk_backward, 1, &t, 1, &ix, &c, sizeof c))) {
        tg_release(ix);
        return -1;
    }
    *values = v;
    if (!(*indices = tg_captured(ix))) { /* v is the scope's when one is open */
        *values = NULL;
        return -1;
    }
    return 0;
}

int tg_sort(tg_tensor *t, int dim, bool descending, tg_tensor **values, tg_tensor **indices)
{
    if (TG_NEED("sort", t)) {
        if (values) *values = NULL;
        if (indices) *indices = NULL;
        return -1;
    }
    int d = t->ndim ? tg_wrap_dim("sort", dim, t->ndim) : 0;
    return d < 0 ? -1 : tg_topk(t, t->ndim ? t->shape[d] : 1, dim, descending, values, indices);
}
