/* Per-tensor autograd state, nodes and grad mode (see autograd.h, internal/node.h). */
#include "autograd/internal/graph.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/internal/capture.h"
#include "tensor/internal/check.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

static _Thread_local int no_grad_depth;

void tg_no_grad_enter(void) { no_grad_depth++; }
void tg_no_grad_exit(void)
{
    if (no_grad_depth > 0) no_grad_depth--;
}
bool tg_grad_enabled(void) { return no_grad_depth == 0; }

/* ---- nodes ---- */

static void node_free_saved(tg_node *n)
{
    for (int i = 0; i < n->n_saved; i++) tg_release(n->saved[i]);
    free(n->saved);
    free(n->saved_version);
    n->saved = NULL;
    n->saved_version = NULL;
    n->n_saved = 0;
}

/* Drops a reference; nodes it frees release their inputs in a loop, not by
 * recursion, so a graph a million nodes deep frees in constant stack. */
void tg_node_release(tg_node *n)
{
    tg_node *dead = NULL;
    if (n && atomic_fetch_sub(&n->refcount, 1) == 1) {
        n->next_dead = NULL;
        dead = n;
    }
    while (dead) {
        tg_node *d = dead;
        dead = d->next_dead;
        node_free_saved(d);
        for (int i = 0; i < d->n_inputs; i++) {
            tg_node *in = d->inputs[i].node;
            if (in && atomic_fetch_sub(&in->refcount, 1) == 1) {
                in->next_dead = dead;
                dead = in;
            }
            tg_release(d->inputs[i].leaf);
        }
        tg_release(d->grad);
        free(d->inputs);
        free(d);
    }
}

void tg_node_free_graph_state(tg_node *n)
{
    node_free_saved(n);
    n->freed = true;
}

/* ---- per-tensor state ---- */

static void meta_free(struct tg_autograd_meta *m)
{
    tg_release(m->grad);
    tg_node_release(m->grad_fn);
    free(m);
}

struct tg_autograd_meta *tg_meta(tg_tensor *t, bool create)
{
    if (t->autograd || !create) return t->autograd;
    t->autograd = calloc(1, sizeof *t->autograd);
    if (!t->autograd) TG_FAIL("out of memory allocating autograd state");
    tg_set_autograd_meta_free(meta_free);
    return t->autograd;
}

bool tg_wants_grad(const tg_tensor *t) { return t && t->autograd && t->autograd->requires_grad; }

bool tg_requires_grad(const tg_tensor *t) { return !TG_NEED("requires_grad", t) && tg_wants_grad(t); }

bool tg_is_leaf(const tg_tensor *t) { return !TG_NEED("is_leaf", t) && (!t->autograd || !t->autograd->grad_fn); }

const char *tg_grad_fn_name(const tg_tensor *t)
{
    if (TG_NEED("grad_fn_name", t)) return NULL;
    return t->autograd && t->autograd->grad_fn ? t->autograd->grad_fn->name : NULL;
}

int tg_set_requires_grad(tg_tensor *t, bool requires_grad)
{
    if (TG_NEED("set_requires_grad", t)) return -1;
    if (!tg_is_leaf(t))
        return TG_FAIL("set_requires_grad: only leaf tensors can change it (this one came from %s)",
                       tg_grad_fn_name(t));
    if (requires_grad && t->dtype != TG_FLOAT32)
        return TG_FAIL("set_requires_grad: only float32 tensors can require grad, not %s", tg_dtype_name(t->dtype));
    struct tg_autograd_meta *m = tg_meta(t, requires_grad);
    if (m) m->requires_grad = requires_grad;
    return requires_grad && !m ? -1 : 0;
}

tg_tensor *tg_grad(const tg_tensor *t)
{
    if (TG_NEED("grad", t)) return NULL;
    return t->autograd ? tg_retain(t->autograd->grad) : NULL;
}

void tg_zero_grad(tg_tensor *t)
{
    if (TG_NEED("zero_grad", t) || !t->autograd) return;
    tg_release(t->autograd->grad);
    t->autograd->grad = NULL;
}

static tg_tensor *alias(tg_tensor *t)
{
    return tg_tensor_wrap(t->storage, t->offset, t->ndim, t->shape, t->stride, t->dtype);
}

tg_tensor *tg_detach(tg_tensor *t) { return TG_NEED("detach", t) ? NULL : tg_captured(alias(t)); }

/* ---- recording ---- */

bool tg_needs_grad(int n, tg_tensor *const *inputs)
{
    if (!tg_grad_enabled()) return false;
    for (int i = 0; i < n; i++)
        if (tg_wants_grad(inputs[i])) return true;
    return false;
}

static void make_edge(tg_edge *e, tg_tensor *t)
{
    e->ndim = t->ndim;
    memcpy(e->shape, t->shape, sizeof e->shape);
    if (!tg_wants_grad(t)) return;
    if (t->autograd->grad_fn) {
        e->node = t->autograd->grad_fn;
        atomic_fetch_add(&e->node->refcount, 1);
    } else {
        e->leaf = tg_retain(t);
    }
}

tg_node *tg_node_new(tg_tensor *out, const char *name, tg_backward_fn backward, int n,
                     tg_tensor *const *inputs, size_t ctx_size)
{
    tg_node *node = calloc(1, sizeof *node + ctx_size);
    tg_edge *edges = calloc((size_t)(n ? n : 1), sizeof *edges);
    struct tg_autograd_meta *m = tg_meta(out, true);
    if (!node || !edges || !m) {
        free(node);
        free(edges);
        TG_FAIL("%s: out of memory recording the graph", name);
        return NULL;
    }
    atomic_init(&node->refcount, 1);
    node->name = name;
    node->backward = backward;
    node->n_inputs = n;
    node->inputs = edges;
    for (int i = 0; i < n; i++) make_edge(&edges[i], inputs[i]);
    tg_node_release(m->grad_fn); /* an in-place op rebases out; its edge holds the old node */
    m->grad_fn = node;
    m->requires_grad = true;
    return node;
}

int tg_node_save(tg_node *n, tg_tensor *t)
{
    tg_tensor **saved = realloc(n->saved, (size_t)(n->n_saved + 1) * sizeof *saved);
    if (saved) n->saved = saved;
    uint64_t *ver = realloc(n->saved_version, (size_t)(n->n_saved + 1) * sizeof *ver);
    if (ver) n->saved_version = ver;
    tg_tensor *a = saved && ver ? alias(t) : NULL;
    if (!a) return TG_FAIL("%s: out of memory saving a tensor for backward", n->name);
    n->saved[n->n_saved] = a;
    n->saved_version[n->n_saved] = tg_version(t);
    return n->n_saved++;
}

tg_tensor *tg_node_saved(tg_node *n, int i)
{
    if (n->freed || i >= n->n_saved) {
        TG_FAIL("%s backward: its saved tensors were freed by an earlier backward; "
                "use tg_backward_retain to backward twice", n->name);
        return NULL;
    }
    uint64_t now = tg_version(n->saved[i]);
    if (now != n->saved_version[i]) {
        char b[TG_SHAPE_STR_LEN];
        TG_FAIL("%s backward: a tensor it saved (#%d, shape %s) was modified by an in-place op "
                "(version %llu, saved at version %llu)", n->name, i,
                tg_shape_str(n->saved[i]->ndim, n->saved[i]->shape, b, sizeof b),
                (unsigned long long)now, (unsigned long long)n->saved_version[i]);
        return NULL;
    }
    return n->saved[i];
}

static int record(tg_tensor *out, const char *name, tg_backward_fn backward, int n, tg_tensor *const *inputs,
                  int nsave, tg_tensor *const *save, const void *ctx, size_t ctx_size)
{
    tg_node *node = tg_node_new(out, name, backward, n, inputs, ctx_size);
    if (!node) return -1;
    if (ctx_size) memcpy(node->ctx, ctx, ctx_size);
    for (int i = 0; i < nsave; i++)
        if (tg_node_save(node, save[i]) < 0) return -1;
    return 0;
}

tg_tensor *tg_recorded(tg_tensor *out, const char *name, tg_backward_fn backward, int n,
                       tg_tensor *const *inputs, int nsave, tg_tensor *const *save, const void *ctx,
                       size_t ctx_size)
{
    if (!out || !tg_needs_grad(n, inputs)) return tg_captured(out);
    if (record(out, name, backward, n, inputs, nsave, save, ctx, ctx_size)) {
        tg_release(out);
        return NULL;
    }
    return tg_captured(out);
}

int tg_recorded_(int rc, const char *name, tg_backward_fn backward, int n, tg_tensor *const *inputs,
                 int nsave, tg_tensor *const *save, const void *ctx, size_t ctx_size)
{
    if (rc || !tg_needs_grad(n, inputs)) return rc;
    return record(inputs[0], name, backward, n, inputs, nsave, save, ctx, ctx_size);
}

bool tg_node_needs_grad(const tg_node *n, int i) { return n->inputs[i].node || n->inputs[i].leaf; }

int tg_check_inplace(const char *op, tg_tensor *t, bool other_requires_grad)
{
    if (TG_NEED(op, t)) return -1;
    if (!tg_grad_enabled()) return 0;
    if (tg_wants_grad(t) && tg_is_leaf(t))
        return TG_FAIL("%s: a leaf tensor that requires grad cannot be modified in place", op);
    if (t->is_view && (tg_wants_grad(t) || other_requires_grad))
        return TG_FAIL("%s: in-place ops on views are not differentiable here; "
                       "use the out-of-place op or write into a tensor that is not a view", op);
    return 0;
}

tg_tensor *tg_sum_to(tg_tensor *g, int ndim, const int64_t *shape)
{
    if (TG_NEED("sum_to", g)) return NULL;
    int dims[TG_MAX_DIMS], nd = 0, lead = g->ndim - ndim;
    for (int i = 0; i < g->ndim; i++)
        if (i < lead || (shape[i - lead] == 1 && g->shape[i] != 1)) dims[nd++] = i;
    if (nd == 0) return tg_k_reshape(g, ndim, shape);
    tg_tensor *s = tg_k_sum(g, nd, dims, true);
    tg_tensor *r = tg_k_reshape(s, ndim, shape);
    tg_release(s);
    return r;
}

int tg_node_give(tg_node *n, int i, tg_tensor *g, tg_tensor **grads)
{
    const tg_edge *e = tg_node_input(n, i);
    grads[i] = tg_sum_to(g, e->ndim, e->shape);
    tg_release(g);
    return grads[i] ? 0 : -1;
}
