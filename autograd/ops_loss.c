/* Differentiable losses: cross-entropy (a fused kernel in tensor/loss.c),
 * mean squared error and InfoNCE against a queue (tensor/info_nce.c), each
 * backward right above its forward. All return 0-dim means. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/loss.h"
#include "tensor/internal/reduce.h"

#define SAVED(i) tg_node_saved(n, i)

/* ---- cross-entropy ---- */

/* saved: logits, target, lse; ctx: ignore_index */
static int cross_entropy_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *logits = SAVED(0), *target = SAVED(1), *lse = SAVED(2);
    if (!logits || !target || !lse) return -1;
    int64_t ignore = *(const int64_t *)n->ctx;
    return (grads[0] = tg_k_cross_entropy_backward(g, logits, target, lse, ignore)) ? 0 : -1;
}

tg_tensor *tg_cross_entropy(tg_tensor *logits, tg_tensor *target, int64_t ignore_index)
{
    bool grad = tg_needs_grad(1, &logits);
    tg_tensor *lse = NULL;
    tg_tensor *out = tg_k_cross_entropy(logits, target, ignore_index, grad ? &lse : NULL);
    out = tg_recorded(out, "cross_entropy", cross_entropy_backward, 1, &logits, 3,
                      (tg_tensor *[]){logits, target, lse}, &ignore_index, sizeof ignore_index);
    tg_release(lse);
    return out;
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
