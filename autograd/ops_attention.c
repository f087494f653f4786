/* Differentiable scaled dot-product attention (tensor/attention.c's
 * blocked kernels): the node keeps q, k, v, the output and each query
 * row's log-sum-exp, never the (L, S) weights; the dropout mask is
 * recomputed from the generator's state at the forward. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/attention.h"
#include "tensor/internal/check.h"
#include "tensor/internal/random.h"

/* What a node keeps beside its saved tensors (q, k, v, out, lse, then the
 * mask if any). */
typedef struct {
    tg_attention_spec spec; /* its mask pointer unused: the mask is saved */
    bool has_mask;
} attention_ctx;

static int attention_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const attention_ctx *c = (const attention_ctx *)n->ctx;
    tg_tensor *s[6] = {NULL};
    for (int i = 0; i < 5 + c->has_mask; i++)
        if (!(s[i] = tg_node_saved(n, i))) return -1;
    tg_attention_spec spec = c->spec;
    spec.mask = c->has_mask ? s[5] : NULL;
    tg_tensor **want[3];
    for (int i = 0; i < 3; i++) want[i] = tg_node_needs_grad(n, i) ? &grads[i] : NULL;
    return tg_k_attention_backward(g, s[0], s[1], s[2], s[3], s[4], &spec, want[0], want[1], want[2]);
}

/* The slices times query rows times keys: the uniforms the dropout
 * draws. */
static uint64_t weights_of(const tg_tensor *q, const tg_tensor *k)
{
    uint64_t n = (uint64_t)k->shape[k->ndim - 2];
    for (int d = 0; d < q->ndim - 1; d++) n *= (uint64_t)q->shape[d];
    return n;
}

tg_tensor *tg_scaled_dot_product_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v, const tg_attention_opts *opts)
{
    const char *op = "scaled_dot_product_attention";
    tg_attention_opts o = opts ? *opts : (tg_attention_opts){0};
    if (TG_NEED(op, q, k, v)) return NULL;
    if (o.dropout_p > 0 && !o.rng) {
        TG_FAIL("%s: dropout_p %g needs a generator (opts.rng)", op, (double)o.dropout_p);
        return NULL;
    }
    if (o.attn_mask && tg_wants_grad(o.attn_mask)) {
        TG_FAIL("%s: the mask gets no gradient; detach it", op);
        return NULL;
    }
    attention_ctx c = {{o.attn_mask, o.is_causal, o.scale, o.dropout_p, o.rng ? *o.rng : (tg_rng){0}},
                       o.attn_mask != NULL};
    tg_tensor *in[] = {q, k, v}, *lse = NULL;
    bool grad = tg_needs_grad(3, in);
    tg_tensor *out = tg_k_attention(q, k, v, &c.spec, grad ? &lse : NULL);
    if (out && o.dropout_p > 0) tg_rng_skip(o.rng, weights_of(q, k));
    c.spec.mask = NULL;
    tg_tensor *save[] = {q, k, v, out, lse, o.attn_mask};
    out = tg_recorded(out, op, attention_backward, 3, in, 5 + c.has_mask, save, &c, sizeof c);
    tg_release(lse);
    return out;
}
