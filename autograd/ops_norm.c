/* Differentiable batch normalisation: the forward (batch or running
 * statistics, and the in-place running-statistics update) with its
 * closed-form backward (tensor/norm.c's fused kernel) beside it. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/norm.h"
#include "tensor/internal/view.h"

#define SAVED(i) tg_node_saved(n, i)

/* Where weight and bias sit among the node's inputs (-1: absent). */
typedef struct {
    float eps;
    bool batch_stats; /* training: normalised with x's own statistics */
    int weight_at, bias_at;
} bn_ctx;

/* saved: x, mean, var, then weight if any */
static int batch_norm_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const bn_ctx *c = (const bn_ctx *)n->ctx;
    tg_tensor *x = SAVED(0), *mean = SAVED(1), *var = SAVED(2), *w = c->weight_at > 0 ? SAVED(3) : NULL;
    if (!x || !mean || !var || (c->weight_at > 0 && !w)) return -1;
    int at[3] = {0, c->weight_at, c->bias_at};
    tg_tensor *d[3] = {NULL, NULL, NULL}, **want[3];
    for (int i = 0; i < 3; i++) want[i] = at[i] >= 0 && tg_node_needs_grad(n, at[i]) ? &d[i] : NULL;
    int rc = tg_k_batch_norm_backward(g, x, mean, var, w, c->eps, c->batch_stats, want[0], want[1], want[2]);
    for (int i = 0; i < 3; i++) {
        if (!d[i]) continue;
        if (rc) tg_release(d[i]);
        else rc = tg_node_give(n, at[i], d[i], grads);
    }
    return rc;
}

static int check_args(tg_tensor *running_mean, tg_tensor *running_var, bool training, int groups)
{
    if (!running_mean != !running_var)
        return TG_FAIL("batch_norm: give both running_mean and running_var, or neither");
    if (!training && !running_mean) return TG_FAIL("batch_norm: eval mode needs running_mean and running_var");
    if (groups < 1) return TG_FAIL("batch_norm: groups must be at least 1, got %d", groups);
    return 0;
}

/* The statistics to normalise x with: its own per group (training), or the
 * running ones, copied when backward needs them (a later training step
 * updates the originals in place). */
static int statistics(tg_tensor *x, tg_tensor *rm, tg_tensor *rv, bool training, int groups, bool recording,
                      tg_tensor **mean, tg_tensor **var)
{
    if (training) return tg_k_batch_norm_stats(x, groups, mean, var);
    *mean = recording ? tg_k_clone(rm) : tg_retain(rm);
    *var = recording ? tg_k_clone(rv) : tg_retain(rv);
    return *mean && *var ? 0 : -1;
}

/* Values per channel in each group of x's statistics. */
static int64_t group_count(const tg_tensor *x, int groups)
{
    int64_t m = x->shape[0] / groups;
    for (int d = 2; d < x->ndim; d++) m *= x->shape[d];
    return m;
}

/* Normalises xc (contiguous) and, in training, blends the batch statistics
 * into the running ones once the output exists (so a bad weight leaves
 * them untouched). */
static tg_tensor *normalise(tg_tensor *xc, tg_tensor *rm, tg_tensor *rv, tg_tensor *w, tg_tensor *b, bool training,
                            float momentum, float eps, int groups, tg_tensor *mean, tg_tensor *var)
{
    tg_tensor *out = tg_k_batch_norm_apply(xc, mean, var, w, b, eps);
    if (!out || !training || !rm) return out;
    if (!tg_k_batch_norm_update_(rm, rv, mean, var, group_count(xc, groups), momentum)) return out;
    tg_release(out);
    return NULL;
}

tg_tensor *tg_batch_norm(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *weight,
                         tg_tensor *bias, bool training, float momentum, float eps, int groups)
{
    if (TG_NEED("batch_norm", x) || check_args(running_mean, running_var, training, groups)) return NULL;
    tg_tensor *in[3] = {x, NULL, NULL};
    int nin = 1;
    bn_ctx c = {eps, training, -1, -1};
    if (weight) in[c.weight_at = nin++] = weight;
    if (bias) in[c.bias_at = nin++] = bias;
    tg_tensor *xc = tg_k_contiguous(x), *mean = NULL, *var = NULL, *out = NULL;
    if (xc && !statistics(xc, running_mean, running_var, training, groups, tg_needs_grad(nin, in), &mean, &var))
        out = normalise(xc, running_mean, running_var, weight, bias, training, momentum, eps, groups, mean, var);
    tg_tensor *save[4] = {xc, mean, var, weight};
    out = tg_recorded(out, "batch_norm", batch_norm_backward, nin, in, weight ? 4 : 3, save, &c, sizeof c);
    tg_release(xc), tg_release(mean), tg_release(var);
    return out;
}
