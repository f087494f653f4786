/* Differentiable joining and indexing: cat, stack, gather, index_select.
 *
 * cat and stack hand each input its slice of the gradient (a view of g);
 * gather and index_select scatter-add g back into zeros of the input's shape,
 * so repeated indices sum their gradients. Index tensors are int64 and never
 * get gradients: they are saved, not recorded as inputs. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/index.h"
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
