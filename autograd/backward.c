/* The backward engine: reverse topological walk over recorded nodes.
 *
 * Nodes reachable from the root are collected by an iterative depth-first
 * walk that counts, for each node, the edges pointing at it from within the
 * graph. A node runs once all of them have delivered their gradient, so it
 * sees the full sum. The walk order is fixed by the graph, so the order of
 * gradient additions, and thus the bits, are too. Leaves count their edges
 * the same way: when the last has delivered, the leaf's gradient is final
 * and a hook, if given, hears of it (data-parallel training starts the
 * gradient's allreduce then, while the walk goes on). */
#include <stdatomic.h>
#include <stdlib.h>

#include "autograd/internal/capture.h"
#include "autograd/internal/graph.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/view.h"

typedef struct {
    tg_node **items;
    int len, cap;
} node_list;

/* items (*cap slots of size bytes, len used) with room for one more,
 * doubled when full: the (maybe moved) items, or NULL with an error. */
static void *make_room(void *items, int *cap, int len, size_t size)
{
    if (len < *cap) return items;
    int grown = *cap ? *cap * 2 : 64;
    void *p = realloc(items, (size_t)grown * size);
    if (!p) {
        TG_FAIL("backward: out of memory walking the graph");
        return NULL;
    }
    *cap = grown;
    return p;
}

/* The leaves a walk reaches, and whom to tell as each one's gradient is final. */
typedef struct {
    tg_tensor **items;
    int len, cap;
    tg_grad_ready_fn ready; /* may be NULL */
    void *ctx;
} leaf_list;

/* Counts one more edge to leaf, listing it the first time. */
static int count_leaf(leaf_list *l, tg_tensor *leaf)
{
    if (leaf->autograd->pending++ > 0) return 0;
    tg_tensor **items = make_room(l->items, &l->cap, l->len, sizeof *items);
    if (!items) return -1;
    l->items = items;
    l->items[l->len++] = leaf;
    return 0;
}

/* One edge to leaf has delivered; the last one makes its gradient final. */
static void delivered(leaf_list *l, tg_tensor *leaf)
{
    if (--leaf->autograd->pending == 0 && l->ready) l->ready(leaf, l->ctx);
}

static int push(node_list *l, tg_node *n)
{
    tg_node **items = make_room(l->items, &l->cap, l->len, sizeof *items);
    if (!items) return -1;
    l->items = items;
    l->items[l->len++] = n;
    return 0;
}

/* All nodes reachable from root into all, with their pending counts; the
 * leaves into leaves, with theirs. */
static int collect(tg_node *root, node_list *all, leaf_list *leaves)
{
    node_list stack = {0};
    int rc = push(&stack, root);
    root->visited = true;
    while (!rc && stack.len) {
        tg_node *n = stack.items[--stack.len];
        rc = push(all, n);
        for (int i = 0; i < n->n_inputs && !rc; i++) {
            tg_node *next = n->inputs[i].node;
            if (!next && n->inputs[i].leaf) rc = count_leaf(leaves, n->inputs[i].leaf);
            if (!next) continue;
            next->pending++;
            if (!next->visited) {
                next->visited = true;
                rc = push(&stack, next);
            }
        }
    }
    free(stack.items);
    return rc;
}

/* Is t a tensor nobody else can see (safe to write in place)? */
static bool owned(const tg_tensor *t)
{
    return atomic_load(&t->refcount) == 1 && atomic_load(&t->storage->refcount) == 1 && tg_is_contiguous(t);
}

/* *acc += g, taking ownership of g. */
static int accumulate(tg_tensor **acc, tg_tensor *g)
{
    if (!*acc) {
        *acc = g;
        return 0;
    }
    int rc = 0;
    if (owned(*acc)) {
        rc = tg_k_add_(*acc, g);
    } else {
        tg_tensor *sum = tg_k_add(*acc, g);
        rc = sum ? 0 : -1;
        if (sum) {
            tg_release(*acc);
            *acc = sum;
        }
    }
    tg_release(g);
    return rc;
}

/* Adds g (taken) into leaf's .grad, which is always a tensor of its own. */
static int accumulate_leaf(tg_tensor *leaf, tg_tensor *g)
{
    struct tg_autograd_meta *m = leaf->autograd;
    if (!m->grad && !owned(g)) {
        tg_tensor *copy = tg_k_clone(g);
        tg_release(g);
        if (!copy) return -1;
        g = copy;
    }
    return accumulate(&m->grad, g);
}

static int check_grad_shape(const tg_node *n, int i, const tg_tensor *g)
{
    const tg_edge *e = &n->inputs[i];
    bool same = g->ndim == e->ndim;
    for (int d = 0; same && d < e->ndim; d++) same = g->shape[d] == e->shape[d];
    if (same) return 0;
    char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
    return TG_FAIL("%s backward: gradient for input %d has shape %s, input has %s", n->name, i,
                   tg_shape_str(g->ndim, g->shape, b0, sizeof b0), tg_shape_str(e->ndim, e->shape, b1, sizeof b1));
}

/* Runs node n and routes its input gradients; pushes nodes that became ready. */
static int run_node(tg_node *n, node_list *ready, leaf_list *leaves)
{
    tg_tensor *stack_grads[8] = {0};
    tg_tensor **grads = n->n_inputs <= 8 ? stack_grads : calloc((size_t)n->n_inputs, sizeof *grads);
    if (!grads) return TG_FAIL("%s backward: out of memory", n->name);
    tg_tensor *g = n->grad;
    n->grad = NULL;
    int rc = n->freed ? TG_FAIL("%s backward: the graph was freed by an earlier backward; "
                                "use tg_backward_retain to backward twice", n->name)
                      : g ? n->backward(n, g, grads) : 0;
    tg_release(g);
    for (int i = 0; i < n->n_inputs; i++) {
        tg_edge *e = &n->inputs[i];
        tg_tensor *gi = grads[i];
        if (!rc && gi) rc = check_grad_shape(n, i, gi);
        if (rc || !gi) tg_release(gi);
        else if (e->node) rc = accumulate(&e->node->grad, gi);
        else if (e->leaf) rc = accumulate_leaf(e->leaf, gi);
        else tg_release(gi);
        if (e->node && --e->node->pending == 0 && !rc) rc = push(ready, e->node);
        if (!e->node && e->leaf && !rc) delivered(leaves, e->leaf);
    }
    if (grads != stack_grads) free(grads);
    return rc;
}

static int run_graph(tg_tensor *root, tg_tensor *grad, bool retain, leaf_list *leaves)
{
    tg_node *top = root->autograd->grad_fn;
    if (!top) {
        int rc = accumulate_leaf(root, tg_retain(grad));
        if (!rc && leaves->ready) leaves->ready(root, leaves->ctx);
        return rc;
    }
    node_list all = {0}, ready = {0};
    int rc = collect(top, &all, leaves);
    top->grad = tg_retain(grad);
    if (!rc) rc = push(&ready, top);
    while (!rc && ready.len) rc = run_node(ready.items[--ready.len], &ready, leaves);
    for (int i = 0; i < all.len; i++) {
        tg_node *n = all.items[i];
        n->visited = false;
        n->pending = 0;
        tg_release(n->grad);
        n->grad = NULL;
        if (!rc && !retain) tg_node_free_graph_state(n);
    }
    for (int i = 0; i < leaves->len; i++) leaves->items[i]->autograd->pending = 0;
    free(leaves->items);
    free(all.items);
    free(ready.items);
    return rc;
}

static int backward(tg_tensor *root, tg_tensor *grad, bool retain, leaf_list *leaves)
{
    if (TG_NEED(retain ? "backward_retain" : "backward", root)) return -1;
    if (!tg_wants_grad(root))
        return TG_FAIL("backward: the tensor does not require grad (no input of its graph requires grad)");
    tg_tensor *g = grad ? tg_retain(grad) : NULL;
    if (!grad && tg_numel(root) != 1) {
        char b[TG_SHAPE_STR_LEN];
        return TG_FAIL("backward: a gradient is needed for a non-scalar output of shape %s",
                       tg_shape_str(root->ndim, root->shape, b, sizeof b));
    }
    if (!g) g = tg_ones(root->ndim, root->shape, TG_FLOAT32);
    if (g && !tg_same_shape(g, root)) {
        char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
        tg_release(g);
        return TG_FAIL("backward: gradient of shape %s for an output of shape %s",
                       tg_shape_str(grad->ndim, grad->shape, b0, sizeof b0),
                       tg_shape_str(root->ndim, root->shape, b1, sizeof b1));
    }
    if (!g) return -1;
    tg_no_grad_enter();
    int rc = run_graph(root, g, retain, leaves);
    tg_no_grad_exit();
    tg_release(g);
    return rc;
}

/* The backward functions own what they compute: no scope takes it. */
static int paused_backward(tg_tensor *root, tg_tensor *grad, bool retain, tg_grad_ready_fn ready, void *ctx)
{
    if (tg_capture_pause()) return -1;
    leaf_list leaves = {.ready = ready, .ctx = ctx};
    int rc = backward(root, grad, retain, &leaves);
    tg_capture_resume();
    return rc;
}

int tg_backward(tg_tensor *root, tg_tensor *grad) { return paused_backward(root, grad, false, NULL, NULL); }

int tg_backward_retain(tg_tensor *root, tg_tensor *grad) { return paused_backward(root, grad, true, NULL, NULL); }

int tg_backward_with_hook(tg_tensor *root, tg_tensor *grad, tg_grad_ready_fn ready, void *ctx)
{
    return paused_backward(root, grad, false, ready, ctx);
}
