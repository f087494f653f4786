/* Differentiable matrix products: matmul and bmm, each backward beside it.
 *
 * For out = a @ b over matrices, dL/da = g @ b^T and dL/db = a^T @ g. The
 * transposes are views (tg_k_transpose), which BLIS reads in place: the
 * backward copies nothing but the two results. Batch dims broadcast in the
 * forward get their gradient summed back (tg_sum_to). 1-D operands are
 * unsqueezed into matrices with the differentiable view ops, so only the
 * matrix core has a backward of its own. */
#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/view.h"

/* Which saved slot holds a and b (-1: not saved). Each is kept only for
 * the other's gradient, as PyTorch does: a constant weight that changes in
 * place before backward is no error when only the input needs grad. */
typedef struct {
    int a_at, b_at;
} saved_slots;

/* x^T @ y where x's batch dims, when y has them too, are summed over:
 * (B..,M,K)^T @ (B..,M,N) -> (K,N) as one (K, B*M) @ (B*M, N) product,
 * instead of B products and a sum. A reshape is a view unless x or y is
 * not contiguous enough. */
static tg_tensor *batch_summed_tn(tg_tensor *x, tg_tensor *y)
{
    tg_tensor *x2 = tg_k_reshape(x, TG_SHAPE(-1, x->shape[x->ndim - 1]));
    tg_tensor *y2 = tg_k_reshape(y, TG_SHAPE(-1, y->shape[y->ndim - 1]));
    tg_tensor *xt = tg_k_transpose(x2, 0, 1);
    tg_tensor *r = tg_k_matmul(xt, y2);
    tg_release(x2);
    tg_release(y2);
    tg_release(xt);
    return r;
}

static int64_t batch_numel(const tg_edge *e)
{
    int64_t n = 1;
    for (int i = 0; i < e->ndim - 2; i++) n *= e->shape[i];
    return n;
}

/* saved: see saved_slots; a and b have at least 2 dims */
static int matmul_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const saved_slots *slot = (const saved_slots *)n->ctx;
    int rc = 0;
    if (tg_node_needs_grad(n, 0)) { /* g @ b^T */
        tg_tensor *b = tg_node_saved(n, slot->b_at);
        if (!b) return -1;
        tg_tensor *b_t = tg_k_transpose(b, -2, -1);
        rc = tg_node_give(n, 0, tg_k_matmul(g, b_t), grads);
        tg_release(b_t);
    }
    if (!rc && tg_node_needs_grad(n, 1)) { /* a^T @ g */
        tg_tensor *a = tg_node_saved(n, slot->a_at);
        if (!a) return -1;
        if (batch_numel(tg_node_input(n, 1)) == 1 && g->ndim > 2 && tg_numel(a) > 0 && tg_numel(g) > 0) {
            /* one b for a whole batch (a linear layer): one product */
            const tg_edge *e = tg_node_input(n, 1);
            tg_tensor *r = batch_summed_tn(a, g);
            grads[1] = tg_k_reshape(r, e->ndim, e->shape);
            tg_release(r);
            rc = grads[1] ? 0 : -1;
        } else {
            tg_tensor *a_t = tg_k_transpose(a, -2, -1);
            rc = tg_node_give(n, 1, tg_k_matmul(a_t, g), grads);
            tg_release(a_t);
        }
    }
    return rc;
}

static tg_tensor *record(tg_tensor *out, const char *name, tg_tensor *a, tg_tensor *b)
{
    tg_tensor *in[] = {a, b}, *save[2];
    saved_slots slot = {-1, -1};
    int nsave = 0;
    if (tg_wants_grad(b)) { /* a, for b's gradient */
        slot.a_at = nsave;
        save[nsave++] = a;
    }
    if (tg_wants_grad(a)) {
        slot.b_at = nsave;
        save[nsave++] = b;
    }
    return tg_recorded(out, name, matmul_backward, 2, in, nsave, save, &slot, sizeof slot);
}

/* matmul with a 1-D operand: a is a row (1,K), b a column (K,1), and
 * their dims go again; composed of ops, so run with capture paused. */
static tg_tensor *matmul_vectors(tg_tensor *a, tg_tensor *b)
{
    tg_tensor *a2 = a->ndim == 1 ? tg_unsqueeze(a, 0) : tg_retain(a);
    tg_tensor *b2 = b->ndim == 1 ? tg_unsqueeze(b, -1) : tg_retain(b);
    tg_tensor *out = a2 && b2 ? record(tg_k_matmul(a2, b2), "matmul", a2, b2) : NULL;
    tg_release(a2);
    tg_release(b2);
    if (out && a->ndim == 1) {
        tg_tensor *s = tg_squeeze(out, -2);
        tg_release(out);
        out = s;
    }
    if (out && b->ndim == 1) {
        tg_tensor *s = tg_squeeze(out, -1);
        tg_release(out);
        out = s;
    }
    return out;
}

tg_tensor *tg_matmul(tg_tensor *a, tg_tensor *b)
{
    if (TG_NEED("matmul", a, b)) return NULL;
    if (!tg_needs_grad(2, (tg_tensor *[]){a, b})) return tg_captured(tg_k_matmul(a, b));
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    if (tg_k_matmul_shape(a, b, &ndim, shape)) return NULL; /* errors name the shapes given */
    if (a->ndim >= 2 && b->ndim >= 2) return record(tg_k_matmul(a, b), "matmul", a, b);
    if (tg_capture_pause()) return NULL;
    tg_tensor *out = matmul_vectors(a, b);
    tg_capture_resume();
    return tg_captured(out);
}

tg_tensor *tg_bmm(tg_tensor *a, tg_tensor *b) { return record(tg_k_bmm(a, b), "bmm", a, b); }
