/* Differentiable layer and RMS normalisation over the last dims, and
 * group normalisation over groups of channels (the fused kernels of
 * tensor/layer_norm.c): the forward keeps each row's statistics, the
 * backward gives x, weight and bias their gradients in one call. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/layer_norm.h"

/* What a node keeps: the normalised dims, whether rms, and where the
 * optional operands sit. inputs: x, then weight and bias when given;
 * saved: x, rstd, then mean (layer norm) and weight when there. */
typedef struct {
    int ndim;       /* layer and RMS norm: the normalised dims */
    int64_t groups; /* group norm: the groups; 0 for the others */
    bool rms;
    int weight_at, bias_at;         /* input index, or -1 */
    int mean_saved, weight_saved;   /* saved index, or -1 */
} ln_ctx;

static int layer_norm_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const ln_ctx *c = (const ln_ctx *)n->ctx;
    tg_tensor *x = tg_node_saved(n, 0), *rstd = tg_node_saved(n, 1);
    tg_tensor *mean = c->mean_saved >= 0 ? tg_node_saved(n, c->mean_saved) : NULL;
    tg_tensor *weight = c->weight_saved >= 0 ? tg_node_saved(n, c->weight_saved) : NULL;
    if (!x || !rstd || (c->mean_saved >= 0 && !mean) || (c->weight_saved >= 0 && !weight)) return -1;
    bool want_w = c->weight_at >= 0 && tg_node_needs_grad(n, c->weight_at);
    bool want_b = c->bias_at >= 0 && tg_node_needs_grad(n, c->bias_at);
    tg_tensor *dx = NULL, *dw = NULL, *db = NULL;
    tg_tensor **want_x = tg_node_needs_grad(n, 0) ? &dx : NULL;
    int rc = c->groups ? tg_k_group_norm_backward(g, x, c->groups, weight, mean, rstd, want_x, want_w ? &dw : NULL,
                                                  want_b ? &db : NULL)
                       : tg_k_layer_norm_backward(g, x, c->ndim, weight, mean, rstd, c->rms, want_x,
                                                  want_w ? &dw : NULL, want_b ? &db : NULL);
    grads[0] = dx;
    if (want_w) grads[c->weight_at] = dw;
    if (want_b) grads[c->bias_at] = db;
    return rc;
}

static tg_tensor *normalised(const char *name, tg_tensor *x, int ndim, int64_t groups, tg_tensor *weight,
                             tg_tensor *bias, float eps, bool rms)
{
    ln_ctx c = {ndim, groups, rms, -1, -1, -1, -1};
    tg_tensor *in[3] = {x}, *mean = NULL, *rstd = NULL;
    int nin = 1;
    if (weight) in[c.weight_at = nin++] = weight;
    if (bias) in[c.bias_at = nin++] = bias;
    bool grad = tg_needs_grad(nin, in);
    tg_tensor *y = groups ? tg_k_group_norm(x, groups, weight, bias, eps, grad ? &mean : NULL, grad ? &rstd : NULL)
                          : tg_k_layer_norm(x, ndim, weight, bias, eps, rms, grad ? &mean : NULL, grad ? &rstd : NULL);
    tg_tensor *save[4] = {x, rstd};
    int nsave = 2;
    if (mean) save[c.mean_saved = nsave++] = mean;
    if (weight) save[c.weight_saved = nsave++] = weight;
    y = tg_recorded(y, name, layer_norm_backward, nin, in, nsave, save, &c, sizeof c);
    tg_release(mean), tg_release(rstd);
    return y;
}

tg_tensor *tg_layer_norm(tg_tensor *x, int normalized_ndim, tg_tensor *weight, tg_tensor *bias, float eps)
{
    return normalised("layer_norm", x, normalized_ndim, 0, weight, bias, eps, false);
}

tg_tensor *tg_rms_norm(tg_tensor *x, int normalized_ndim, tg_tensor *weight, float eps)
{
    return normalised("rms_norm", x, normalized_ndim, 0, weight, NULL, eps, true);
}

tg_tensor *tg_group_norm(tg_tensor *x, int64_t num_groups, tg_tensor *weight, tg_tensor *bias, float eps)
{
    if (num_groups < 1) {
        TG_FAIL("group_norm: num_groups must be at least 1, got %lld", (long long)num_groups);
        return NULL;
    }
    return normalised("group_norm", x, 0, num_groups, weight, bias, eps, false);
}
