/* Differentiable batch normalisation: the forward (batch or running
 * statistics, and the in-place running-statistics update) with its
 * closed-form backward (tensor/norm.c's fused kernels) beside it, alone
 * (tg_batch_norm) or followed by a relu (tg_batch_norm_relu) after a
 * residual is added (tg_batch_norm_add_relu), or over the parts of a batch
 * spread across the ranks of a job (tg_sync_batch_norm). The relu'd forms
 * keep no output: backward recomputes the relu's mask from x (and the
 * residual). */
#include <string.h>

#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "dist/dist.h"
#include "tensor/internal/check.h"
#include "tensor/internal/norm.h"
#include "tensor/internal/view.h"

#define SAVED(i) tg_node_saved(n, i)

/* The arguments every form shares. */
typedef struct {
    tg_tensor *running_mean, *running_var, *weight, *bias;
    bool training;
    float momentum, eps;
    int groups;
    bool spread; /* SyncBN: in training, the statistics of every rank's part of the batch */
} bn_args;

/* Optional operands: weight, bias, residual. */
enum { WEIGHT, BIAS, RESIDUAL, OPTIONAL };

/* Where each optional operand sits among the node's inputs and among its
 * saved tensors (after x, mean, var); -1: absent or not saved. */
typedef struct {
    float eps;
    bool batch_stats; /* training: normalised with x's own statistics */
    bool relu;
    int input_at[OPTIONAL], saved_at[OPTIONAL];
    double spread_count; /* > 0: the statistics are a spread batch's of this many values per channel */
} bn_ctx;

/* The sums of a SyncBN's backward summed over the ranks (float32, as the
 * ranks' gradients are). */
static int sum_over_ranks(double *sums, int64_t channels, void *ctx)
{
    (void)ctx;
    tg_tensor *t = tg_empty(TG_SHAPE(2 * channels), TG_FLOAT32);
    if (!t) return -1;
    float *v = tg_data_f32(t);
    for (int64_t i = 0; i < 2 * channels; i++) v[i] = (float)sums[i];
    int rc = tg_dist_allreduce(t, TG_DIST_SUM);
    for (int64_t i = 0; !rc && i < 2 * channels; i++) sums[i] = v[i];
    tg_release(t);
    return rc;
}

/* The gradients of a SyncBN's forward (no relu): dx from every rank's sums. */
static int spread_backward(const bn_ctx *c, tg_tensor *g, tg_tensor *x, tg_tensor *mean, tg_tensor *var,
                           tg_tensor *weight, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias)
{
    tg_k_bn_spread spread = {sum_over_ranks, NULL, c->spread_count};
    return tg_k_batch_norm_backward_spread(g, x, mean, var, weight, c->eps, &spread, dx, dweight, dbias);
}

/* saved: x, mean, var, then the optional operands that backward needs */
static int batch_norm_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const bn_ctx *c = (const bn_ctx *)n->ctx;
    tg_tensor *x = SAVED(0), *mean = SAVED(1), *var = SAVED(2), *opt[OPTIONAL] = {NULL, NULL, NULL};
    if (!x || !mean || !var) return -1;
    for (int i = 0; i < OPTIONAL; i++)
        if (c->saved_at[i] >= 0 && !(opt[i] = SAVED(c->saved_at[i]))) return -1;
    int at[4] = {0, c->input_at[WEIGHT], c->input_at[BIAS], c->input_at[RESIDUAL]};
    tg_tensor *d[4] = {NULL, NULL, NULL, NULL}, **want[4];
    for (int i = 0; i < 4; i++) want[i] = at[i] >= 0 && tg_node_needs_grad(n, at[i]) ? &d[i] : NULL;
    int rc = c->relu ? tg_k_batch_norm_relu_backward(g, x, opt[RESIDUAL], mean, var, opt[WEIGHT], opt[BIAS], c->eps,
                                                     c->batch_stats, want[0], want[1], want[2], want[3])
             : c->spread_count > 0
                 ? spread_backward(c, g, x, mean, var, opt[WEIGHT], want[0], want[1], want[2])
                 : tg_k_batch_norm_backward(g, x, mean, var, opt[WEIGHT], c->eps, c->batch_stats, want[0], want[1],
                                            want[2]);
    for (int i = 0; i < 4; i++) {
        if (!d[i]) continue;
        if (rc) tg_release(d[i]);
        else rc = tg_node_give(n, at[i], d[i], grads);
    }
    return rc;
}

static int check_args(const char *op, const bn_args *a)
{
    if (!a->running_mean != !a->running_var)
        return TG_FAIL("%s: give both running_mean and running_var, or neither", op);
    if (!a->training && !a->running_mean) return TG_FAIL("%s: eval mode needs running_mean and running_var", op);
    if (a->groups < 1) return TG_FAIL("%s: groups must be at least 1, got %d", op, a->groups);
    return 0;
}

/* mean and var (1, C), this rank's statistics over count values per
 * channel, become the whole spread batch's: every rank's gathered and
 * combined in double in rank order (the same bits on every rank);
 * *total gets the batch's values per channel. */
static int spread_statistics(tg_tensor *mean, tg_tensor *var, int64_t count, double *total)
{
    int64_t c = tg_numel(mean);
    tg_tensor *mine = tg_empty(TG_SHAPE(2 * c), TG_FLOAT32), *counted = tg_from_data(TG_SHAPE(1), TG_INT64, &count);
    if (mine) memcpy(tg_data_f32(mine), tg_data_f32(mean), (size_t)c * 4);
    if (mine) memcpy(tg_data_f32(mine) + c, tg_data_f32(var), (size_t)c * 4);
    tg_tensor *all = mine ? tg_dist_allgather(mine) : NULL, *counts = all ? tg_dist_allgather(counted) : NULL;
    int ranks = tg_dist_world_size();
    const int64_t *n_r = counts ? tg_data_i64(counts) : NULL;
    const float *stats = all ? tg_data_f32(all) : NULL; /* rank r: C means, then C variances */
    double n = 0;
    for (int r = 0; n_r && r < ranks; r++) n += (double)n_r[r];
    for (int64_t k = 0; n_r && k < c; k++) {
        double sum = 0, moment = 0;
        for (int r = 0; r < ranks; r++) sum += (double)n_r[r] * stats[r * 2 * c + k];
        double mu = sum / n;
        for (int r = 0; r < ranks; r++) {
            double d = stats[r * 2 * c + k] - mu;
            moment += (double)n_r[r] * (stats[r * 2 * c + c + k] + d * d);
        }
        tg_data_f32(mean)[k] = (float)mu;
        tg_data_f32(var)[k] = (float)(moment / n);
    }
    *total = n;
    int rc = counts ? 0 : -1;
    tg_release(mine), tg_release(counted), tg_release(all), tg_release(counts);
    return rc;
}

/* Values per channel in each group of x's statistics. */
static int64_t group_count(const tg_tensor *x, int groups)
{
    int64_t m = x->shape[0] / groups;
    for (int d = 2; d < x->ndim; d++) m *= x->shape[d];
    return m;
}

/* The statistics to normalise x with: its own per group (training; a
 * SyncBN's over the whole spread batch, *spread_count its values per
 * channel), or the running ones, copied when backward needs them (a later
 * training step updates the originals in place). */
static int statistics(tg_tensor *x, const bn_args *a, bool recording, tg_tensor **mean, tg_tensor **var,
                      double *spread_count)
{
    if (a->training && a->spread)
        return tg_k_batch_norm_stats(x, 1, mean, var) || spread_statistics(*mean, *var, group_count(x, 1), spread_count)
                   ? -1
                   : 0;
    if (a->training) return tg_k_batch_norm_stats(x, a->groups, mean, var);
    *mean = recording ? tg_k_clone(a->running_mean) : tg_retain(a->running_mean);
    *var = recording ? tg_k_clone(a->running_var) : tg_retain(a->running_var);
    return *mean && *var ? 0 : -1;
}

/* Normalises xc (contiguous), relu'd after adding residual (or NULL) when
 * relu, and, in training, blends the batch statistics into the running
 * ones once the output exists (so a bad weight leaves them untouched). */
static tg_tensor *normalise(tg_tensor *xc, tg_tensor *residual, bool relu, const bn_args *a, tg_tensor *mean,
                            tg_tensor *var, double spread_count)
{
    tg_tensor *out = relu ? tg_k_batch_norm_relu(xc, residual, mean, var, a->weight, a->bias, a->eps)
                          : tg_k_batch_norm_apply(xc, mean, var, a->weight, a->bias, a->eps);
    if (!out || !a->training || !a->running_mean) return out;
    int64_t count = spread_count > 0 ? (int64_t)spread_count : group_count(xc, a->groups);
    if (!tg_k_batch_norm_update_(a->running_mean, a->running_var, mean, var, count, a->momentum)) return out;
    tg_release(out);
    return NULL;
}

/* Lists x and the optional operands as the node's inputs (*nin of them),
 * and after save's first 3 what backward keeps of them (*nsave in all):
 * bias and residual only for the relu's mask. */
static void list_operands(tg_tensor *x, tg_tensor *residual, const bn_args *a, bn_ctx *c, tg_tensor **in, int *nin,
                          tg_tensor **save, int *nsave)
{
    tg_tensor *opt[OPTIONAL] = {a->weight, a->bias, residual};
    in[0] = x;
    *nin = 1;
    *nsave = 3;
    for (int i = 0; i < OPTIONAL; i++) {
        c->input_at[i] = c->saved_at[i] = -1;
        if (!opt[i]) continue;
        in[c->input_at[i] = (*nin)++] = opt[i];
        if (i == WEIGHT || c->relu) save[c->saved_at[i] = (*nsave)++] = opt[i];
    }
}

/* The op named op: batch norm, relu'd after adding residual (or NULL)
 * when relu. */
static tg_tensor *batch_norm_op(const char *op, tg_tensor *x, tg_tensor *residual, bool relu, const bn_args *a)
{
    if (TG_NEED(op, x) || check_args(op, a)) return NULL;
    bn_ctx c = {.eps = a->eps, .batch_stats = a->training, .relu = relu};
    tg_tensor *in[1 + OPTIONAL], *save[3 + OPTIONAL];
    int nin, nsave;
    list_operands(x, residual, a, &c, in, &nin, save, &nsave);
    tg_tensor *xc = tg_k_contiguous(x), *mean = NULL, *var = NULL, *out = NULL;
    if (xc && !statistics(xc, a, tg_needs_grad(nin, in), &mean, &var, &c.spread_count))
        out = normalise(xc, residual, relu, a, mean, var, c.spread_count);
    save[0] = xc, save[1] = mean, save[2] = var;
    out = tg_recorded(out, op, batch_norm_backward, nin, in, nsave, save, &c, sizeof c);
    tg_release(xc), tg_release(mean), tg_release(var);
    return out;
}

tg_tensor *tg_batch_norm(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *weight,
                         tg_tensor *bias, bool training, float momentum, float eps, int groups)
{
    bn_args a = {running_mean, running_var, weight, bias, training, momentum, eps, groups, false};
    return batch_norm_op("batch_norm", x, NULL, false, &a);
}

tg_tensor *tg_sync_batch_norm(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *weight,
                              tg_tensor *bias, bool training, float momentum, float eps)
{
    bn_args a = {running_mean, running_var, weight, bias, training, momentum, eps, 1, tg_dist_world_size() > 1};
    return batch_norm_op("sync_batch_norm", x, NULL, false, &a);
}

tg_tensor *tg_batch_norm_relu(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *weight,
                              tg_tensor *bias, bool training, float momentum, float eps, int groups)
{
    bn_args a = {running_mean, running_var, weight, bias, training, momentum, eps, groups, false};
    return batch_norm_op("batch_norm_relu", x, NULL, true, &a);
}

tg_tensor *tg_batch_norm_add_relu(tg_tensor *x, tg_tensor *residual, tg_tensor *running_mean,
                                  tg_tensor *running_var, tg_tensor *weight, tg_tensor *bias, bool training,
                                  float momentum, float eps, int groups)
{
    if (TG_NEED("batch_norm_add_relu", residual)) return NULL;
    bn_args a = {running_mean, running_var, weight, bias, training, momentum, eps, groups, false};
    return batch_norm_op("batch_norm_add_relu", x, residual, true, &a);
}
