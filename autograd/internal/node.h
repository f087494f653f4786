/* What a differentiable op uses to record itself (for op authors).
 *
 * Pattern (see ops_elementwise.c):
 *     tg_tensor *out = tg_k_mul(a, b);                      // forward
 *     if (!out || !tg_needs_grad(2, (tg_tensor *[]){a, b})) return out;
 *     tg_node *n = tg_node_new(out, "mul", mul_backward, 2, (tg_tensor *[]){a, b}, 0);
 *     if (!n || tg_node_save(n, a) < 0 || tg_node_save(n, b) < 0) { tg_release(out); return NULL; }
 *     return out;
 * The backward sets grads[i] (a new reference, of input i's shape) for each
 * input with tg_node_needs_grad(n, i), or leaves it NULL for a zero gradient.
 * It runs with grad mode off, so it may use any op. */
#ifndef TG_NODE_H
#define TG_NODE_H

#include <stdalign.h>
#include <stddef.h>

#include "autograd/autograd.h"

typedef struct tg_node tg_node;

/* tg_requires_grad for the library's own use: false for NULL (an optional
 * input, or one a failed call left) without recording an error. */
bool tg_wants_grad(const tg_tensor *t);

typedef int (*tg_backward_fn)(tg_node *n, tg_tensor *grad, tg_tensor **grads);

typedef struct tg_edge {
    tg_node *node;   /* input's grad_fn, if it is a non-leaf */
    tg_tensor *leaf; /* the input itself, if it is a leaf that requires grad */
    int ndim;        /* input's shape, to check and reduce gradients */
    int64_t shape[TG_MAX_DIMS];
} tg_edge;

struct tg_node {
    _Atomic long refcount;
    const char *name;
    tg_backward_fn backward;
    int n_inputs;
    tg_edge *inputs;
    int n_saved;
    tg_tensor **saved;      /* aliases: storage shared, no autograd state */
    uint64_t *saved_version;
    bool freed;             /* saved tensors released by a backward */
    /* backward engine scratch */
    bool visited;
    int pending;
    tg_tensor *grad;
    struct tg_node *next_dead; /* list of nodes being freed */
    alignas(max_align_t) unsigned char ctx[]; /* op parameters, ctx_size bytes */
};

/* True if grad mode is on and any of the n inputs requires grad. */
bool tg_needs_grad(int n, tg_tensor *const *inputs);

/* Records a node for out (which then requires grad and owns the node).
 * out may be inputs[0] itself for an in-place op: it is rebased onto the
 * node. Returns the node (borrowed) or NULL with error. */
tg_node *tg_node_new(tg_tensor *out, const char *name, tg_backward_fn backward, int n,
                     tg_tensor *const *inputs, size_t ctx_size);
/* Saves t for backward, recording its version; returns its index or -1. */
int tg_node_save(tg_node *n, tg_tensor *t);
/* Saved tensor i (borrowed), or NULL with error if it changed in place or
 * the graph was freed. */
tg_tensor *tg_node_saved(tg_node *n, int i);
bool tg_node_needs_grad(const tg_node *n, int i);
/* Shape of input i. */
static inline const tg_edge *tg_node_input(const tg_node *n, int i) { return &n->inputs[i]; }

/* Records out's node if an input needs grad: inputs, tensors to save and a
 * copy of ctx (ctx_size bytes, read back as n->ctx). Returns out, or NULL
 * if out is NULL or recording failed (out is then released). */
tg_tensor *tg_recorded(tg_tensor *out, const char *name, tg_backward_fn backward, int n,
                       tg_tensor *const *inputs, int nsave, tg_tensor *const *save, const void *ctx,
                       size_t ctx_size);
/* The same for an in-place op that wrote inputs[0]; rc is the kernel's
 * status. Returns 0 or -1. */
int tg_recorded_(int rc, const char *name, tg_backward_fn backward, int n, tg_tensor *const *inputs,
                 int nsave, tg_tensor *const *save, const void *ctx, size_t ctx_size);

/* Fails (with error) if t may not be written in place by a differentiable
 * op whose other operands require grad as other_requires_grad says. */
int tg_check_inplace(const char *op, tg_tensor *t, bool other_requires_grad);

/* g summed over broadcast dims down to shape (new reference). */
tg_tensor *tg_sum_to(tg_tensor *g, int ndim, const int64_t *shape);
/* Sets grads[i] to g (taken, may be NULL) summed down to input i's shape;
 * returns 0 or -1. */
int tg_node_give(tg_node *n, int i, tg_tensor *g, tg_tensor **grads);

#endif
