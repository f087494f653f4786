/* Attention layers, as torch.nn: MultiheadAttention (PyTorch's packed
 * in_proj_weight (3E, E) and in_proj_bias, out_proj a Linear child) on the
 * fused scaled_dot_product_attention, and TransformerEncoderLayer (post- or
 * pre-norm) built from it, two Linears and two LayerNorms, under PyTorch's
 * state_dict names. Each forward runs in a scope of its own. */
#include <math.h>
#include <string.h>

#include "autograd/scope.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "tensor/internal/check.h"

/* ---- MultiheadAttention ---- */

typedef struct {
    tg_module base;
    tg_tensor *in_proj_weight, *in_proj_bias; /* borrowed from base.params; the bias NULL without */
    tg_module *out_proj, *attn_dropout;       /* children */
    int64_t embed_dim, heads;
    tg_attention_layer_opts opts;
} mha_module;

/* x (N, L, E) projected by rows [part E, (part + 1) E) of the packed weight,
 * split into heads: (N, H, L, E / H). */
static tg_tensor *project(const mha_module *a, tg_tensor *x, int part)
{
    int64_t e = a->embed_dim;
    tg_tensor *w = tg_narrow(a->in_proj_weight, 0, part * e, e);
    tg_tensor *b = a->in_proj_bias ? tg_narrow(a->in_proj_bias, 0, part * e, e) : NULL;
    tg_tensor *y = tg_linear(x, w, b);
    if (!y) return NULL;
    tg_tensor *heads = tg_reshape(y, TG_SHAPE(y->shape[0], y->shape[1], a->heads, e / a->heads));
    return tg_transpose(heads, 1, 2);
}

/* (N, L, E) from (L, N, E) unless batch_first: the layout attention works in. */
static tg_tensor *batch_major(const mha_module *a, tg_tensor *x)
{
    return !x || a->opts.batch_first ? x : tg_transpose(x, 0, 1);
}

static int check_inputs(const mha_module *a, int n, tg_tensor *const *in)
{
    if (n < 3 || n > 4)
        return TG_FAIL("MultiheadAttention: takes query, key, value and an optional mask, not %d inputs", n);
    for (int i = 0; i < 3; i++) {
        if (TG_NEED("MultiheadAttention", in[i])) return -1;
        if (in[i]->ndim != 3 || in[i]->shape[2] != a->embed_dim)
            return TG_FAIL("MultiheadAttention: input %d must be 3-D with %lld features, got %d dims", i,
                           (long long)a->embed_dim, in[i]->ndim);
    }
    return 0;
}

/* query, key, value (L, N, E) or (N, L, E) with batch_first; an optional
 * float mask added to the scores, broadcast to (N, H, L, S). */
static tg_tensor *mha_forward_n(tg_module *m, int n, tg_tensor *const *in)
{
    mha_module *a = (mha_module *)m;
    if (check_inputs(a, n, in)) return NULL;
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *q = project(a, batch_major(a, in[0]), 0);
    tg_tensor *k = project(a, batch_major(a, in[1]), 1);
    tg_tensor *v = project(a, batch_major(a, in[2]), 2);
    tg_attention_opts o = {.attn_mask = n == 4 ? in[3] : NULL, .is_causal = a->opts.causal};
    if (m->training && a->opts.dropout > 0.0f) {
        o.dropout_p = a->opts.dropout;
        o.rng = tg_nn_module_rng(a->attn_dropout);
    }
    tg_tensor *heads = q && k && v ? tg_scaled_dot_product_attention(q, k, v, &o) : NULL; /* (N, H, L, D) */
    tg_tensor *joined = NULL;
    if (heads) {
        tg_tensor *rows = tg_contiguous(tg_transpose(heads, 1, 2));
        joined = tg_reshape(rows, TG_SHAPE(heads->shape[0], heads->shape[2], a->embed_dim));
    }
    return tg_scope_return(scope, batch_major(a, tg_module_forward(a->out_proj, joined)));
}

static const tg_module_type mha_type = {.name = "MultiheadAttention", .forward_n = mha_forward_n};

/* PyTorch's initialisation: in_proj_weight xavier_uniform, the biases 0,
 * out_proj.weight Linear's default. */
static int mha_params(mha_module *a, tg_rng *rng)
{
    tg_module *m = &a->base;
    int64_t e = a->embed_dim;
    bool bias = !a->opts.no_bias;
    a->in_proj_weight = tg_empty(TG_SHAPE(3 * e, e), TG_FLOAT32);
    int rc = tg_module_add_param(m, "in_proj_weight", a->in_proj_weight);
    if (!rc && bias) {
        a->in_proj_bias = tg_zeros(TG_SHAPE(3 * e), TG_FLOAT32);
        rc = tg_module_add_param(m, "in_proj_bias", a->in_proj_bias);
    }
    if (!rc) rc = tg_init_xavier_uniform_(a->in_proj_weight, rng, 1.0);
    if (!rc) rc = tg_module_add_child(m, "out_proj", a->out_proj = tg_nn_linear(e, e, bias, rng));
    if (!rc && bias) rc = tg_init_constant_(a->out_proj->params.items[1].tensor, 0.0);
    a->attn_dropout = tg_nn_dropout(a->opts.dropout, a->opts.seed); /* holds the weights' dropout stream */
    if (!rc) rc = tg_module_add_child(m, "attn_dropout", a->attn_dropout);
    else tg_module_free(a->attn_dropout);
    return rc;
}

tg_module *tg_nn_multihead_attention(int64_t embed_dim, int64_t num_heads, const tg_attention_layer_opts *opts,
                                     tg_rng *rng)
{
    tg_attention_layer_opts o = opts ? *opts : (tg_attention_layer_opts){0};
    if (embed_dim <= 0 || embed_dim > TG_LAYER_MAX_FEATURES || num_heads <= 0 || embed_dim % num_heads ||
        !(o.dropout >= 0.0f && o.dropout < 1.0f)) {
        TG_FAIL("MultiheadAttention: embed_dim %lld does not split into %lld heads, or dropout %g is outside [0, 1)",
                (long long)embed_dim, (long long)num_heads, (double)o.dropout);
        return NULL;
    }
    mha_module *a = (mha_module *)tg_module_new(&mha_type, sizeof *a);
    if (!a) return NULL;
    a->embed_dim = embed_dim;
    a->heads = num_heads;
    a->opts = o;
    if (mha_params(a, rng)) {
        tg_module_free(&a->base);
        return NULL;
    }
    return &a->base;
}

/* ---- TransformerEncoderLayer ---- */

typedef struct {
    tg_module base;
    tg_module *self_attn, *linear1, *dropout, *linear2, *norm1, *norm2, *dropout1, *dropout2; /* children */
    tg_encoder_layer_opts opts;
} encoder_module;

/* dropout1(self_attn(x, x, x, mask)) */
static tg_tensor *attention_block(encoder_module *l, tg_tensor *x, tg_tensor *mask)
{
    tg_tensor *in[] = {x, x, x, mask};
    return tg_module_forward(l->dropout1, tg_module_forward_n(l->self_attn, mask ? 4 : 3, in));
}

/* dropout2(linear2(dropout(activation(linear1(x))))) */
static tg_tensor *feed_forward_block(encoder_module *l, tg_tensor *x)
{
    tg_tensor *h = tg_module_forward(l->linear1, x);
    h = l->opts.gelu ? tg_gelu(h, TG_GELU_EXACT) : tg_relu(h);
    return tg_module_forward(l->dropout2, tg_module_forward(l->linear2, tg_module_forward(l->dropout, h)));
}

/* src and an optional float mask, as TransformerEncoderLayer(src, src_mask). */
static tg_tensor *encoder_forward_n(tg_module *m, int n, tg_tensor *const *in)
{
    encoder_module *l = (encoder_module *)m;
    if (n > 2) {
        TG_FAIL("TransformerEncoderLayer: takes src and an optional mask, not %d inputs", n);
        return NULL;
    }
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *x = in[0], *mask = n == 2 ? in[1] : NULL;
    if (l->opts.norm_first) {
        x = tg_add(x, attention_block(l, tg_module_forward(l->norm1, x), mask));
        x = tg_add(x, feed_forward_block(l, tg_module_forward(l->norm2, x)));
    } else {
        x = tg_module_forward(l->norm1, tg_add(x, attention_block(l, x, mask)));
        x = tg_module_forward(l->norm2, tg_add(x, feed_forward_block(l, x)));
    }
    return tg_scope_return(scope, x);
}

static const tg_module_type encoder_type = {.name = "TransformerEncoderLayer", .forward_n = encoder_forward_n};

/* Adds child under name, keeping a borrowed pointer in *slot. */
static int add(tg_module *m, const char *name, tg_module *child, tg_module **slot)
{
    *slot = child;
    return tg_module_add_child(m, name, child);
}

/* The children in PyTorch's registration order (its state_dict's). */
static int encoder_children(encoder_module *l, int64_t d, int64_t heads, tg_rng *rng)
{
    const tg_encoder_layer_opts *o = &l->opts;
    tg_module *m = &l->base;
    int64_t ff = o->dim_feedforward ? o->dim_feedforward : 2048;
    float p = o->no_dropout ? 0.0f : o->dropout ? o->dropout : 0.1f;
    tg_attention_layer_opts attn = {.dropout = p, .batch_first = o->batch_first, .causal = o->causal, .seed = o->seed};
    tg_norm_layer_opts norm = {.eps = o->layer_norm_eps};
    int rc = add(m, "self_attn", tg_nn_multihead_attention(d, heads, &attn, rng), &l->self_attn);
    if (!rc) rc = add(m, "linear1", tg_nn_linear(d, ff, true, rng), &l->linear1);
    if (!rc) rc = add(m, "dropout", tg_nn_dropout(p, o->seed + 1), &l->dropout);
    if (!rc) rc = add(m, "linear2", tg_nn_linear(ff, d, true, rng), &l->linear2);
    if (!rc) rc = add(m, "norm1", tg_nn_layer_norm(TG_SHAPE(d), &norm), &l->norm1);
    if (!rc) rc = add(m, "norm2", tg_nn_layer_norm(TG_SHAPE(d), &norm), &l->norm2);
    if (!rc) rc = add(m, "dropout1", tg_nn_dropout(p, o->seed + 2), &l->dropout1);
    if (!rc) rc = add(m, "dropout2", tg_nn_dropout(p, o->seed + 3), &l->dropout2);
    return rc;
}

tg_module *tg_nn_transformer_encoder_layer(int64_t d_model, int64_t nhead, const tg_encoder_layer_opts *opts,
                                           tg_rng *rng)
{
    tg_encoder_layer_opts o = opts ? *opts : (tg_encoder_layer_opts){0};
    if (o.dim_feedforward < 0 || !(o.dropout >= 0.0f && o.dropout < 1.0f)) {
        TG_FAIL("TransformerEncoderLayer: dim_feedforward %lld or dropout %g out of range",
                (long long)o.dim_feedforward, (double)o.dropout);
        return NULL;
    }
    encoder_module *l = (encoder_module *)tg_module_new(&encoder_type, sizeof *l);
    if (!l) return NULL;
    l->opts = o;
    if (encoder_children(l, d_model, nhead, rng)) {
        tg_module_free(&l->base);
        return NULL;
    }
    return &l->base;
}
