/* Differentiable losses: cross-entropy (a fused kernel in tensor/loss.c),
 * NLL (tensor/nll_loss.c), mean squared error, InfoNCE against a queue
 * (tensor/info_nce.c), and the elementwise losses (L1, smooth L1, Huber, BCE with logits, KL divergence:
 * tensor/pointwise_loss.c) reduced as asked, each backward right above its
 * forward. MSE and InfoNCE return 0-dim means. */
#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/loss.h"
#include "tensor/internal/pointwise_loss.h"
#include "tensor/internal/reduce.h"

#define SAVED(i) tg_node_saved(n, i)

/* ---- cross-entropy and NLL ---- */

/* What a class-index loss's node keeps: its options, the weight among the
 * saved tensors (its pointer is reset from there). saved: input, target,
 * lse (cross-entropy) or a placeholder, the weight if any. */
typedef struct {
    tg_cross_entropy_opts opts;
    bool nll;
} class_loss_args;

static int class_loss_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    class_loss_args k = *(const class_loss_args *)n->ctx;
    tg_tensor *x = SAVED(0), *target = SAVED(1), *lse = k.nll ? NULL : SAVED(2);
    if (k.opts.weight && !(k.opts.weight = SAVED(k.nll ? 2 : 3))) return -1;
    if (!x || !target || (!k.nll && !lse)) return -1;
    grads[0] = k.nll ? tg_k_nll_loss_backward(g, x, target, &k.opts)
                     : tg_k_cross_entropy_backward(g, x, target, lse, &k.opts);
    return grads[0] ? 0 : -1;
}

/* Refuses a weight that requires grad (PyTorch has no gradient for it). */
static int check_class_weight(const char *op, const tg_cross_entropy_opts *opts)
{
    if (opts && opts->weight && tg_needs_grad(1, &opts->weight))
        return TG_FAIL("%s: the class weight gets no gradient; detach it", op);
    return 0;
}

tg_tensor *tg_cross_entropy(tg_tensor *logits, tg_tensor *target, const tg_cross_entropy_opts *opts)
{
    if (check_class_weight("cross_entropy", opts)) return NULL;
    bool grad = tg_needs_grad(1, &logits);
    tg_tensor *lse = NULL;
    tg_tensor *out = tg_k_cross_entropy(logits, target, opts, grad ? &lse : NULL);
    class_loss_args k = {opts ? *opts : (tg_cross_entropy_opts){0}, false};
    tg_tensor *save[] = {logits, target, lse, k.opts.weight};
    out = tg_recorded(out, "cross_entropy", class_loss_backward, 1, &logits, k.opts.weight ? 4 : 3, save, &k,
                      sizeof k);
    tg_release(lse);
    return out;
}

tg_tensor *tg_nll_loss(tg_tensor *log_probs, tg_tensor *target, const tg_cross_entropy_opts *opts)
{
    if (check_class_weight("nll_loss", opts)) return NULL;
    tg_tensor *out = tg_k_nll_loss(log_probs, target, opts);
    class_loss_args k = {opts ? *opts : (tg_cross_entropy_opts){0}, true};
    tg_tensor *save[] = {log_probs, target, k.opts.weight};
    return tg_recorded(out, "nll_loss", class_loss_backward, 1, &log_probs, k.opts.weight ? 3 : 2, save, &k,
                       sizeof k);
}

/* ---- mean squared error ---- */

/* saved: d = a - b (the broadcast shape). dL/da = 2 d g / numel(d), summed
 * back to a's shape; dL/db is its negative, summed back to b's. */
static int mse_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *d = SAVED(0);
    if (!d) return -1;
    tg_tensor *gs = tg_k_mul_scalar(g, (float)(2.0 / (double)tg_numel(d)));
    tg_tensor *ga = gs ? tg_k_mul(d, gs) : NULL;
    tg_release(gs);
    int rc = ga ? 0 : -1;
    if (!rc && tg_node_needs_grad(n, 1)) rc = tg_node_give(n, 1, tg_k_neg(ga), grads);
    if (!rc && tg_node_needs_grad(n, 0)) rc = tg_node_give(n, 0, tg_retain(ga), grads);
    tg_release(ga);
    return rc;
}

/* mean((a - b)^2), a and b broadcast together as torch.nn.functional.mse_loss. */
tg_tensor *tg_mse_loss(tg_tensor *a, tg_tensor *b)
{
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    if (TG_NEED("mse_loss", a, b) || tg_broadcast_shapes("mse_loss", 2, (tg_tensor *[]){a, b}, &ndim, shape))
        return NULL;
    tg_tensor *d = tg_k_sub(a, b);
    tg_tensor *sq = d ? tg_k_mul(d, d) : NULL;
    tg_tensor *out = sq ? tg_k_mean(sq, 0, NULL, false) : NULL;
    tg_release(sq);
    tg_tensor *in[] = {a, b};
    out = tg_recorded(out, "mse_loss", mse_backward, 2, in, 1, &d, NULL, 0);
    tg_release(d);
    return out;
}

/* ---- InfoNCE against a queue ---- */

/* saved: d loss / d q, which the fused forward computed (tensor/info_nce.c). */
static int info_nce_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *dq = SAVED(0);
    if (!dq) return -1;
    return (grads[0] = tg_k_mul(dq, g)) ? 0 : -1;
}

tg_tensor *tg_info_nce(tg_tensor *q, tg_tensor *pos, tg_tensor *queue, float tau, int64_t *correct)
{
    if (TG_NEED("info_nce", q, pos, queue)) return NULL;
    if (tg_needs_grad(2, (tg_tensor *[]){pos, queue})) {
        TG_FAIL("info_nce: pos and queue are constants (keys get no gradient); detach them");
        return NULL;
    }
    bool grad = tg_needs_grad(1, &q);
    tg_tensor *dq = NULL;
    tg_tensor *out = tg_k_info_nce(q, pos, queue, tau, correct, grad ? &dq : NULL);
    out = tg_recorded(out, "info_nce", info_nce_backward, 1, &q, 1, &dq, NULL, 0);
    tg_release(dq);
    return out;
}

/* ---- elementwise losses, reduced ---- */

/* What an elementwise loss's node keeps; saved: input, target and the
 * third operand when has_c. */
typedef struct {
    tg_pointwise_loss loss;
    float p;
    bool has_c;
    const char *name;
} pointwise_args;

static int pointwise_loss_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const pointwise_args *k = (const pointwise_args *)n->ctx;
    tg_tensor *a = SAVED(0), *b = SAVED(1), *c = k->has_c ? SAVED(2) : NULL;
    if (!a || !b || (k->has_c && !c)) return -1;
    for (int wrt = 0; wrt < 2; wrt++) {
        if (!tg_node_needs_grad(n, wrt)) continue;
        tg_tensor *d = tg_k_pointwise_loss_backward(k->name, k->loss, wrt, g, a, b, c, k->p);
        if (tg_node_give(n, wrt, d, grads)) return -1;
    }
    return 0;
}

/* Fails unless reduction is one op takes (batchmean: kl_div only). */
static int check_reduction(const char *op, tg_reduction reduction, bool batchmean)
{
    if (reduction == TG_REDUCTION_MEAN || reduction == TG_REDUCTION_SUM || reduction == TG_REDUCTION_NONE ||
        (batchmean && reduction == TG_REDUCTION_BATCHMEAN))
        return 0;
    return TG_FAIL("%s: reduction %d is none of mean, sum, none%s", op, (int)reduction, batchmean ? ", batchmean" : "");
}

/* per (taken) reduced: itself, its sum, its mean, or its sum over the
 * size of dim 0 (batchmean). */
static tg_tensor *reduce(tg_tensor *per, tg_reduction reduction)
{
    if (!per || reduction == TG_REDUCTION_NONE) return per;
    tg_tensor *out = reduction == TG_REDUCTION_MEAN ? tg_mean(per, 0, NULL, false) : tg_sum(per, 0, NULL, false);
    if (out && reduction == TG_REDUCTION_BATCHMEAN && per->ndim > 0) {
        tg_tensor *batch = tg_mul_scalar(out, (float)(1.0 / (double)per->shape[0]));
        tg_release(out);
        out = batch;
    }
    tg_release(per);
    return out;
}

/* The elementwise loss of input against target (and c, a constant, or
 * NULL), unreduced. */
static tg_tensor *pointwise(const char *op, tg_pointwise_loss loss, tg_tensor *input, tg_tensor *target,
                            tg_tensor *c, float p)
{
    if (TG_NEED(op, input, target)) return NULL;
    pointwise_args k = {loss, p, c != NULL, op};
    tg_tensor *in[] = {input, target}, *save[] = {input, target, c};
    return tg_recorded(tg_k_pointwise_loss(op, loss, input, target, c, p), op, pointwise_loss_backward, 2, in,
                       c ? 3 : 2, save, &k, sizeof k);
}

/* The loss of input against target (c and p as pointwise's), times weight
 * (broadcast, or NULL), reduced: ops composed with capture paused, the
 * result handed to the current scope. */
static tg_tensor *reduced(const char *op, tg_pointwise_loss loss, tg_tensor *input, tg_tensor *target, tg_tensor *c,
                          float p, tg_tensor *weight, tg_reduction reduction)
{
    if (tg_capture_pause()) return NULL;
    tg_tensor *per = pointwise(op, loss, input, target, c, p);
    if (per && weight) {
        tg_tensor *weighted = tg_mul(per, weight);
        tg_release(per);
        per = weighted;
    }
    tg_tensor *out = reduce(per, reduction);
    tg_capture_resume();
    return tg_captured(out);
}

tg_tensor *tg_l1_loss(tg_tensor *input, tg_tensor *target, tg_reduction reduction)
{
    if (check_reduction("l1_loss", reduction, false)) return NULL;
    return reduced("l1_loss", TG_LOSS_L1, input, target, NULL, 0, NULL, reduction);
}

tg_tensor *tg_smooth_l1_loss(tg_tensor *input, tg_tensor *target, tg_reduction reduction, float beta)
{
    if (check_reduction("smooth_l1_loss", reduction, false)) return NULL;
    if (!(beta >= 0)) {
        TG_FAIL("smooth_l1_loss: beta must be >= 0, got %g", (double)beta);
        return NULL;
    }
    return reduced("smooth_l1_loss", TG_LOSS_SMOOTH_L1, input, target, NULL, beta, NULL, reduction);
}

tg_tensor *tg_huber_loss(tg_tensor *input, tg_tensor *target, tg_reduction reduction, float delta)
{
    if (check_reduction("huber_loss", reduction, false)) return NULL;
    if (!(delta > 0)) {
        TG_FAIL("huber_loss: delta must be > 0, got %g", (double)delta);
        return NULL;
    }
    return reduced("huber_loss", TG_LOSS_HUBER, input, target, NULL, delta, NULL, reduction);
}

tg_tensor *tg_binary_cross_entropy_with_logits(tg_tensor *input, tg_tensor *target, tg_tensor *weight,
                                               tg_tensor *pos_weight, tg_reduction reduction)
{
    const char *op = "binary_cross_entropy_with_logits";
    if (check_reduction(op, reduction, false)) return NULL;
    if (pos_weight && tg_needs_grad(1, &pos_weight)) {
        TG_FAIL("%s: pos_weight gets no gradient; detach it", op);
        return NULL;
    }
    return reduced(op, TG_LOSS_BCE_LOGITS, input, target, pos_weight, 0, weight, reduction);
}

tg_tensor *tg_kl_div(tg_tensor *input, tg_tensor *target, tg_reduction reduction, bool log_target)
{
    if (check_reduction("kl_div", reduction, true)) return NULL;
    tg_pointwise_loss loss = log_target ? TG_LOSS_KL_DIV_LOG : TG_LOSS_KL_DIV;
    return reduced("kl_div", loss, input, target, NULL, 0, NULL, reduction);
}
