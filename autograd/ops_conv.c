/* Differentiable 2-D convolution and transposed convolution: tg_conv2d and
 * tg_conv_transpose2d, each backward beside its forward.
 *
 * For out = conv2d(x, w) + bias: dL/dx is the transposed convolution of g
 * with w, dL/dw correlates g with x, dL/dbias sums g over N, H' and W'
 * (kernels in tensor/conv.c). Each is computed only when its input needs
 * it, and x and w are saved only for each other's gradient, so a frozen
 * weight changed in place before backward is no error. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/conv.h"

typedef struct {
    tg_conv2d_opts opts;
    int x_at, w_at; /* saved slots of x and w; -1: not saved */
} conv_ctx;

/* inputs: x, w[, bias]; saved: see conv_ctx */
static int conv2d_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const conv_ctx *c = (const conv_ctx *)n->ctx;
    if (tg_node_needs_grad(n, 0)) {
        tg_tensor *w = tg_node_saved(n, c->w_at);
        if (!w || !(grads[0] = tg_k_conv2d_backward_input(g, w, tg_node_input(n, 0)->shape, c->opts))) return -1;
    }
    if (tg_node_needs_grad(n, 1)) {
        tg_tensor *x = tg_node_saved(n, c->x_at);
        if (!x || !(grads[1] = tg_k_conv2d_backward_weight(g, x, tg_node_input(n, 1)->shape, c->opts))) return -1;
    }
    if (n->n_inputs == 3 && tg_node_needs_grad(n, 2) && !(grads[2] = tg_k_conv2d_backward_bias(g))) return -1;
    return 0;
}

tg_tensor *tg_conv2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, tg_conv2d_opts opts)
{
    conv_ctx c = {.opts = opts, .x_at = -1, .w_at = -1};
    tg_tensor *out = tg_k_conv2d(x, w, bias, c.opts);
    tg_tensor *in[] = {x, w, bias}, *save[2];
    int nsave = 0;
    if (out && tg_wants_grad(w)) { /* x, for w's gradient */
        c.x_at = nsave;
        save[nsave++] = x;
    }
    if (out && tg_wants_grad(x)) {
        c.w_at = nsave;
        save[nsave++] = w;
    }
    return tg_recorded(out, "conv2d", conv2d_backward, bias ? 3 : 2, in, nsave, save, &c, sizeof c);
}

/* ---- transposed convolution ---- */

/* inputs: x, w[, bias]; saved: x and w when the other needs its gradient */
typedef struct {
    tg_conv_transpose2d_opts opts;
    int x_at, w_at;
} transpose_ctx;

static int conv_transpose2d_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const transpose_ctx *c = (const transpose_ctx *)n->ctx;
    const int64_t *x_shape = tg_node_input(n, 0)->shape, *w_shape = tg_node_input(n, 1)->shape;
    if (tg_node_needs_grad(n, 0)) {
        tg_tensor *w = tg_node_saved(n, c->w_at);
        if (!w || !(grads[0] = tg_k_conv_transpose2d_backward_input(g, w, x_shape, &c->opts))) return -1;
    }
    if (tg_node_needs_grad(n, 1)) {
        tg_tensor *x = tg_node_saved(n, c->x_at);
        if (!x || !(grads[1] = tg_k_conv_transpose2d_backward_weight(g, x, w_shape, &c->opts))) return -1;
    }
    if (n->n_inputs == 3 && tg_node_needs_grad(n, 2) && !(grads[2] = tg_k_conv2d_backward_bias(g))) return -1;
    return 0;
}

tg_tensor *tg_conv_transpose2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, const tg_conv_transpose2d_opts *opts)
{
    transpose_ctx c = {.x_at = -1, .w_at = -1};
    if (opts) c.opts = *opts;
    tg_tensor *out = tg_k_conv_transpose2d(x, w, bias, &c.opts);
    tg_tensor *in[] = {x, w, bias}, *save[2];
    int nsave = 0;
    if (out && tg_wants_grad(w)) {
        c.x_at = nsave;
        save[nsave++] = x;
    }
    if (out && tg_wants_grad(x)) {
        c.w_at = nsave;
        save[nsave++] = w;
    }
    return tg_recorded(out, "conv_transpose2d", conv_transpose2d_backward, bias ? 3 : 2, in, nsave, save, &c,
                       sizeof c);
}
