/* Differentiable 2-D pooling: max (the gradient goes to each window's
 * saved argmax), average and adaptive average, each forward with its
 * backward beside it. */
#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/pool.h"

#define SAVED(i) tg_node_saved(n, i)

/* The window and the input's spatial size. */
typedef struct {
    tg_pool2d_opts opts;
    int64_t in_h, in_w;
} pool_ctx;

/* The ctx of a pooling of x that succeeded (so x is 4-D). */
static pool_ctx ctx_of(const tg_tensor *x, tg_pool2d_opts o) { return (pool_ctx){o, x->shape[2], x->shape[3]}; }

/* saved: the int64 argmax indices */
static int max_pool2d_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const pool_ctx *c = (const pool_ctx *)n->ctx;
    tg_tensor *idx = SAVED(0);
    return idx ? tg_node_give(n, 0, tg_k_max_pool2d_backward(g, idx, c->in_h, c->in_w), grads) : -1;
}

tg_tensor *tg_max_pool2d_with_indices(tg_tensor *x, tg_pool2d_opts opts, tg_tensor **indices)
{
    if (indices) *indices = NULL;
    tg_tensor *idx = NULL;
    bool want = indices || (x && tg_needs_grad(1, &x));
    tg_tensor *out = tg_k_max_pool2d(x, opts, want ? &idx : NULL);
    pool_ctx c = out ? ctx_of(x, opts) : (pool_ctx){0};
    out = tg_recorded(out, "max_pool2d", max_pool2d_backward, 1, &x, 1, &idx, &c, sizeof c);
    if (out && indices && !(*indices = tg_captured(tg_retain(idx)))) out = NULL; /* out: the scope's, if any */
    tg_release(idx);
    return out;
}

tg_tensor *tg_max_pool2d(tg_tensor *x, tg_pool2d_opts opts) { return tg_max_pool2d_with_indices(x, opts, NULL); }

static int avg_pool2d_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const pool_ctx *c = (const pool_ctx *)n->ctx;
    return tg_node_give(n, 0, tg_k_avg_pool2d_backward(g, c->opts, c->in_h, c->in_w), grads);
}

tg_tensor *tg_avg_pool2d(tg_tensor *x, tg_pool2d_opts opts)
{
    tg_tensor *out = tg_k_avg_pool2d(x, opts);
    pool_ctx c = out ? ctx_of(x, opts) : (pool_ctx){0};
    return tg_recorded(out, "avg_pool2d", avg_pool2d_backward, 1, &x, 0, NULL, &c, sizeof c);
}

static int adaptive_avg_pool2d_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const pool_ctx *c = (const pool_ctx *)n->ctx;
    return tg_node_give(n, 0, tg_k_adaptive_avg_pool2d_backward(g, c->in_h, c->in_w), grads);
}

tg_tensor *tg_adaptive_avg_pool2d(tg_tensor *x, int64_t out_h, int64_t out_w)
{
    tg_tensor *out = tg_k_adaptive_avg_pool2d(x, out_h, out_w);
    pool_ctx c = out ? ctx_of(x, (tg_pool2d_opts){0}) : (pool_ctx){0};
    return tg_recorded(out, "adaptive_avg_pool2d", adaptive_avg_pool2d_backward, 1, &x, 0, NULL, &c, sizeof c);
}
