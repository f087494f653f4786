/* The standard layers (see layers.h): each a struct led by its tg_module,
 * a constructor that registers parameters under PyTorch's names, and a
 * forward over the differentiable ops. */
#include "nn/layers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autograd/autograd.h"
#include "autograd/scope.h"
#include "dist/dist.h"
#include "nn/init.h"
#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/random.h"
#include "tensor/internal/view.h"

/* Registers t (taken) as a parameter (is_param) or buffer and keeps a
 * borrowed pointer to it in *slot. */
static int keep(tg_module *m, const char *name, tg_tensor *t, bool is_param, tg_tensor **slot)
{
    *slot = t;
    return is_param ? tg_module_add_param(m, name, t) : tg_module_add_buffer(m, name, t);
}

/* Registers "weight" of the given shape and, when bias, "bias" (out), and
 * fills them with PyTorch's default initialisation (Conv2d, Linear). */
static int add_weight_and_bias(tg_module *m, int ndim, const int64_t *shape, bool bias, tg_rng *rng, tg_tensor **w,
                               tg_tensor **b)
{
    int rc = keep(m, "weight", tg_empty(ndim, shape, TG_FLOAT32), true, w);
    if (!rc && bias) rc = keep(m, "bias", tg_empty(TG_SHAPE(shape[0]), TG_FLOAT32), true, b);
    return rc ? -1 : tg_init_torch_default_(*w, *b, rng);
}

/* ---- Conv2d ---- */

typedef struct {
    tg_module base;
    tg_tensor *weight, *bias; /* owned by base.params */
    tg_conv2d_opts opts;
} conv2d_module;

static tg_tensor *conv2d_forward(tg_module *m, tg_tensor *x)
{
    conv2d_module *c = (conv2d_module *)m;
    return tg_conv2d(x, c->weight, c->bias, c->opts);
}

static const tg_module_type conv2d_type = {.name = "Conv2d", .forward = conv2d_forward};

tg_module *tg_nn_conv2d(int64_t in, int64_t out, int kh, int kw, tg_conv2d_opts opts, bool bias, tg_rng *rng)
{
    int groups = opts.groups > 0 ? opts.groups : 1;
    if (in <= 0 || out <= 0 || kh <= 0 || kw <= 0 || in % groups || out % groups) {
        TG_FAIL("Conv2d: invalid sizes in %lld, out %lld, kernel %dx%d, groups %d", (long long)in, (long long)out,
                kh, kw, groups);
        return NULL;
    }
    conv2d_module *c = (conv2d_module *)tg_module_new(&conv2d_type, sizeof *c);
    if (!c) return NULL;
    c->opts = opts;
    tg_module *m = &c->base;
    if (add_weight_and_bias(m, TG_SHAPE(out, in / groups, kh, kw), bias, rng, &c->weight, &c->bias)) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- ConvTranspose2d ---- */

typedef struct {
    tg_module base;
    tg_tensor *weight, *bias;
    tg_conv_transpose2d_opts opts;
} conv_transpose2d_module;

static tg_tensor *conv_transpose2d_forward(tg_module *m, tg_tensor *x)
{
    conv_transpose2d_module *c = (conv_transpose2d_module *)m;
    return tg_conv_transpose2d(x, c->weight, c->bias, &c->opts);
}

static const tg_module_type conv_transpose2d_type = {.name = "ConvTranspose2d", .forward = conv_transpose2d_forward};

/* weight (in, out/groups, kh, kw) and bias (out) from PyTorch's default:
 * fan_in is weight's dim 1 times the kernel, as for ConvTranspose2d. */
tg_module *tg_nn_conv_transpose2d(int64_t in, int64_t out, int kh, int kw, const tg_conv_transpose2d_opts *opts,
                                  bool bias, tg_rng *rng)
{
    tg_conv_transpose2d_opts o = opts ? *opts : (tg_conv_transpose2d_opts){.groups = 0};
    int64_t groups = o.groups ? o.groups : 1;
    if (in <= 0 || out <= 0 || kh <= 0 || kw <= 0 || o.groups < 0 || in % groups || out % groups) {
        TG_FAIL("ConvTranspose2d: invalid sizes (in %lld, out %lld, kernel %dx%d, groups %d)", (long long)in,
                (long long)out, kh, kw, o.groups);
        return NULL;
    }
    conv_transpose2d_module *c = (conv_transpose2d_module *)tg_module_new(&conv_transpose2d_type, sizeof *c);
    if (!c) return NULL;
    c->opts = o;
    tg_module *m = &c->base;
    int rc = keep(m, "weight", tg_empty(TG_SHAPE(in, out / groups, kh, kw), TG_FLOAT32), true, &c->weight);
    if (!rc && bias) rc = keep(m, "bias", tg_empty(TG_SHAPE(out), TG_FLOAT32), true, &c->bias);
    if (rc || tg_init_torch_default_(c->weight, c->bias, rng)) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- Embedding ---- */

typedef struct {
    tg_module base;
    tg_tensor *weight;
    int64_t padding_idx;
} embedding_module;

static tg_tensor *embedding_forward(tg_module *m, tg_tensor *indices)
{
    embedding_module *e = (embedding_module *)m;
    return tg_embedding(e->weight, indices, e->padding_idx);
}

static const tg_module_type embedding_type = {.name = "Embedding", .forward = embedding_forward};

static int zero_row(tg_tensor *w, int64_t row)
{
    tg_tensor *r = tg_k_select(w, 0, row);
    int rc = r ? tg_k_fill_(r, 0.0) : -1;
    tg_release(r);
    return rc;
}

/* weight N(0, 1), the padding row zeroed, as torch.nn.Embedding. */
tg_module *tg_nn_embedding(int64_t num_embeddings, int64_t dim, int64_t padding_idx, tg_rng *rng)
{
    bool padded = padding_idx != TG_EMBEDDING_NO_PADDING;
    if (num_embeddings <= 0 || dim <= 0 ||
        (padded && (padding_idx < -num_embeddings || padding_idx >= num_embeddings))) {
        TG_FAIL("Embedding: invalid sizes (%lld x %lld) or padding_idx", (long long)num_embeddings, (long long)dim);
        return NULL;
    }
    embedding_module *e = (embedding_module *)tg_module_new(&embedding_type, sizeof *e);
    if (!e) return NULL;
    tg_module *m = &e->base;
    e->padding_idx = padded && padding_idx < 0 ? padding_idx + num_embeddings : padding_idx;
    int rc = keep(m, "weight", tg_empty(TG_SHAPE(num_embeddings, dim), TG_FLOAT32), true, &e->weight);
    if (!rc) rc = tg_init_normal_(e->weight, rng, 0.0, 1.0);
    if (!rc && padded) rc = zero_row(e->weight, e->padding_idx);
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- BatchNorm2d ---- */

typedef struct {
    tg_module base;
    tg_tensor *weight, *bias, *running_mean, *running_var, *num_batches_tracked;
    float eps, momentum;
    int groups;
    bool sync;
} batch_norm_module;

static const tg_module_type batch_norm_type, batch_norm1d_type;

/* Fails unless x has the dims m's type takes: (N,C,H,W) for BatchNorm2d,
 * (N,C) or (N,C,L) for BatchNorm1d, as PyTorch. */
static int check_batch_norm_input(const tg_module *m, const tg_tensor *x)
{
    bool one = m->type == &batch_norm1d_type;
    if (one ? x->ndim == 2 || x->ndim == 3 : x->ndim == 4) return 0;
    return TG_FAIL("%s: expected %s input, got %d dims", m->type->name, one ? "2-D or 3-D" : "4-D", x->ndim);
}

/* A SyncBN's training forward across ranks: the batch norm, then the
 * residual and the relu as ops of their own. */
static tg_tensor *run_sync_batch_norm(batch_norm_module *b, tg_tensor *x, tg_tensor *residual, bool relu)
{
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *y = tg_sync_batch_norm(x, b->running_mean, b->running_var, b->weight, b->bias, true, b->momentum,
                                      b->eps);
    if (residual) y = tg_add(y, residual);
    return tg_scope_return(scope, relu ? tg_relu(y) : y);
}

/* Runs batch norm module m on x, counting the batch in training: the batch
 * norm alone, or relu'd (relu) after adding residual (or NULL), as one op. */
static tg_tensor *run_batch_norm(tg_module *m, tg_tensor *x, tg_tensor *residual, bool relu)
{
    batch_norm_module *b = (batch_norm_module *)m;
    if (check_batch_norm_input(m, x)) return NULL;
    if (m->training) {
        int64_t seen = tg_get_i64(b->num_batches_tracked, NULL);
        if (tg_k_fill_(b->num_batches_tracked, (double)(seen + 1))) return NULL;
    }
    if (b->sync && m->training && tg_dist_world_size() > 1) return run_sync_batch_norm(b, x, residual, relu);
    int groups = m->training ? b->groups : 1;
    if (residual)
        return tg_batch_norm_add_relu(x, residual, b->running_mean, b->running_var, b->weight, b->bias, m->training,
                                      b->momentum, b->eps, groups);
    if (relu)
        return tg_batch_norm_relu(x, b->running_mean, b->running_var, b->weight, b->bias, m->training, b->momentum,
                                  b->eps, groups);
    return tg_batch_norm(x, b->running_mean, b->running_var, b->weight, b->bias, m->training, b->momentum, b->eps,
                         groups);
}

static tg_tensor *batch_norm_forward(tg_module *m, tg_tensor *x) { return run_batch_norm(m, x, NULL, false); }

static const tg_module_type batch_norm_type = {.name = "BatchNorm2d", .forward = batch_norm_forward};
static const tg_module_type batch_norm1d_type = {.name = "BatchNorm1d", .forward = batch_norm_forward};

/* Fails, naming fn, unless m is a BatchNorm2d. */
static int check_batch_norm(const char *fn, const tg_module *m)
{
    if (m->type == &batch_norm_type) return 0;
    return TG_FAIL("%s: the module is a %s, not a BatchNorm2d", fn, m->type->name);
}

tg_tensor *tg_nn_batch_norm2d_relu_forward(tg_module *bn, tg_tensor *x)
{
    const char *fn = "batch_norm2d_relu_forward";
    if (TG_NEED(fn, bn, x) || check_batch_norm(fn, bn)) return NULL;
    return run_batch_norm(bn, x, NULL, true);
}

tg_tensor *tg_nn_batch_norm2d_add_relu_forward(tg_module *bn, tg_tensor *x, tg_tensor *residual)
{
    const char *fn = "batch_norm2d_add_relu_forward";
    if (TG_NEED(fn, bn, x, residual) || check_batch_norm(fn, bn)) return NULL;
    return run_batch_norm(bn, x, residual, true);
}

/* A batch norm module of type over channels, with PyTorch's defaults for
 * opts' zeros (eps 1e-5, momentum 0.1, groups 1). */
static tg_module *batch_norm_new(const tg_module_type *type, int64_t channels, const tg_batch_norm_opts *opts)
{
    tg_batch_norm_opts o = opts ? *opts : (tg_batch_norm_opts){0};
    if (o.sync && o.groups > 1) {
        TG_FAIL("%s: a SyncBN's statistics are the whole batch's: groups %d must be 1", type->name, o.groups);
        return NULL;
    }
    if (channels <= 0 || o.groups < 0 || !(o.eps >= 0.0f) || !(o.momentum >= 0.0f && o.momentum <= 1.0f)) {
        TG_FAIL("%s: invalid channels %lld, eps %g, momentum %g or groups %d", type->name, (long long)channels,
                (double)o.eps, (double)o.momentum, o.groups);
        return NULL;
    }
    batch_norm_module *b = (batch_norm_module *)tg_module_new(type, sizeof *b);
    if (!b) return NULL;
    b->eps = o.eps ? o.eps : 1e-5f;
    b->momentum = o.momentum ? o.momentum : 0.1f;
    b->groups = o.groups ? o.groups : 1;
    b->sync = o.sync;
    tg_module *m = &b->base;
    int rc = keep(m, "weight", tg_ones(TG_SHAPE(channels), TG_FLOAT32), true, &b->weight);
    if (!rc) rc = keep(m, "bias", tg_zeros(TG_SHAPE(channels), TG_FLOAT32), true, &b->bias);
    if (!rc) rc = keep(m, "running_mean", tg_zeros(TG_SHAPE(channels), TG_FLOAT32), false, &b->running_mean);
    if (!rc) rc = keep(m, "running_var", tg_ones(TG_SHAPE(channels), TG_FLOAT32), false, &b->running_var);
    if (!rc) rc = keep(m, "num_batches_tracked", tg_zeros(0, NULL, TG_INT64), false, &b->num_batches_tracked);
    if (rc) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

tg_module *tg_nn_batch_norm2d(int64_t channels, const tg_batch_norm_opts *opts)
{
    return batch_norm_new(&batch_norm_type, channels, opts);
}

tg_module *tg_nn_batch_norm1d(int64_t channels, const tg_batch_norm_opts *opts)
{
    return batch_norm_new(&batch_norm1d_type, channels, opts);
}

/* ---- Linear ---- */

typedef struct {
    tg_module base;
    tg_tensor *weight, *bias;
} linear_module;

static tg_tensor *linear_forward(tg_module *m, tg_tensor *x)
{
    linear_module *l = (linear_module *)m;
    return tg_linear(x, l->weight, l->bias);
}

static const tg_module_type linear_type = {.name = "Linear", .forward = linear_forward};

tg_module *tg_nn_linear(int64_t in, int64_t out, bool bias, tg_rng *rng)
{
    if (in <= 0 || out <= 0) {
        TG_FAIL("Linear: invalid sizes in %lld, out %lld", (long long)in, (long long)out);
        return NULL;
    }
    linear_module *l = (linear_module *)tg_module_new(&linear_type, sizeof *l);
    if (!l) return NULL;
    tg_module *m = &l->base;
    if (add_weight_and_bias(m, TG_SHAPE(out, in), bias, rng, &l->weight, &l->bias)) {
        tg_module_free(m);
        return NULL;
    }
    return m;
}

/* ---- ReLU, pools ---- */

typedef struct {
    tg_module base;
    bool inplace;
} relu_module;

static tg_tensor *relu_forward(tg_module *m, tg_tensor *x)
{
    if (!((relu_module *)m)->inplace) return tg_relu(x);
    return tg_relu_(x) ? NULL : tg_scoped(tg_retain(x)); /* as an op's result */
}

static const tg_module_type relu_type = {.name = "ReLU", .forward = relu_forward};

tg_module *tg_nn_relu(bool inplace)
{
    relu_module *r = (relu_module *)tg_module_new(&relu_type, sizeof *r);
    if (r) r->inplace = inplace;
    return r ? &r->base : NULL;
}

typedef struct {
    tg_module base;
    tg_pool2d_opts opts;
    int64_t out_h, out_w;
} pool_module;

static tg_tensor *max_pool_forward(tg_module *m, tg_tensor *x) { return tg_max_pool2d(x, ((pool_module *)m)->opts); }

static tg_tensor *adaptive_avg_forward(tg_module *m, tg_tensor *x)
{
    pool_module *p = (pool_module *)m;
    return tg_adaptive_avg_pool2d(x, p->out_h, p->out_w);
}

static const tg_module_type max_pool_type = {.name = "MaxPool2d", .forward = max_pool_forward};
static const tg_module_type adaptive_avg_type = {.name = "AdaptiveAvgPool2d", .forward = adaptive_avg_forward};

tg_module *tg_nn_max_pool2d(tg_pool2d_opts opts)
{
    pool_module *p = (pool_module *)tg_module_new(&max_pool_type, sizeof *p);
    if (p) p->opts = opts;
    return p ? &p->base : NULL;
}

tg_module *tg_nn_adaptive_avg_pool2d(int64_t out_h, int64_t out_w)
{
    if (out_h <= 0 || out_w <= 0) {
        TG_FAIL("AdaptiveAvgPool2d: invalid output size %lldx%lld", (long long)out_h, (long long)out_w);
        return NULL;
    }
    pool_module *p = (pool_module *)tg_module_new(&adaptive_avg_type, sizeof *p);
    if (p) {
        p->out_h = out_h;
        p->out_w = out_w;
    }
    return p ? &p->base : NULL;
}

/* ---- Dropout ---- */

typedef struct {
    tg_module base;
    float p;
    tg_rng rng;
} dropout_module;

/* Dropout on rank r's part of a global batch of x's rows times the ranks
 * (its rows r N .. r N + N - 1): the mask one process draws for the whole
 * batch, these rows of it, and the generator then past the whole batch's
 * draw, as that process's. Exactly the same mask when a rank's first draw
 * falls on a multiple of 4 numbers (Philox's come in blocks of 4);
 * otherwise another, as random. channels: Dropout2d, one draw per (N, C). */
static tg_tensor *dropout_rows(tg_module *m, tg_tensor *x, bool channels)
{
    dropout_module *d = (dropout_module *)m;
    int ranks = tg_dist_world_size();
    bool spread = x && ranks > 1 && m->training && x->ndim >= (channels ? 4 : 1);
    tg_rng start = d->rng;
    uint64_t part = spread ? (uint64_t)(channels ? x->shape[0] * x->shape[1] : tg_numel(x)) : 0;
    if (spread) tg_rng_skip(&d->rng, (uint64_t)tg_dist_rank() * part);
    tg_tensor *y = channels ? tg_dropout2d(x, d->p, m->training, &d->rng) : tg_dropout(x, d->p, m->training, &d->rng);
    if (spread) {
        d->rng = start;
        tg_rng_skip(&d->rng, (uint64_t)ranks * part);
    }
    return y;
}

static tg_tensor *dropout_forward(tg_module *m, tg_tensor *x) { return dropout_rows(m, x, false); }

static tg_tensor *dropout2d_forward(tg_module *m, tg_tensor *x) { return dropout_rows(m, x, true); }

static const tg_module_type dropout_type = {.name = "Dropout", .forward = dropout_forward};
static const tg_module_type dropout2d_type = {.name = "Dropout2d", .forward = dropout2d_forward};

static tg_module *dropout_new(const tg_module_type *type, float p, uint64_t seed)
{
    if (!(p >= 0.0f && p <= 1.0f)) {
        TG_FAIL("%s: probability %g is not in [0, 1]", type->name, p);
        return NULL;
    }
    dropout_module *d = (dropout_module *)tg_module_new(type, sizeof *d);
    if (d) {
        d->p = p;
        d->rng = tg_rng_new(seed, 0);
    }
    return d ? &d->base : NULL;
}

tg_module *tg_nn_dropout(float p, uint64_t seed) { return dropout_new(&dropout_type, p, seed); }
tg_module *tg_nn_dropout2d(float p, uint64_t seed) { return dropout_new(&dropout2d_type, p, seed); }

tg_rng *tg_nn_module_rng(tg_module *m)
{
    if (TG_NEED("nn_module_rng", m)) return NULL;
    if (m->type == &dropout_type || m->type == &dropout2d_type) return &((dropout_module *)m)->rng;
    return NULL;
}

/* ---- Flatten ---- */

static tg_tensor *flatten_forward(tg_module *m, tg_tensor *x)
{
    (void)m;
    if (x->ndim < 1) {
        TG_FAIL("Flatten: needs at least 1 dim, got a 0-dim tensor");
        return NULL;
    }
    int64_t n = x->shape[0];
    return tg_reshape(x, TG_SHAPE(n, n ? tg_numel(x) / n : 0));
}

static const tg_module_type flatten_type = {.name = "Flatten", .forward = flatten_forward};

tg_module *tg_nn_flatten(void) { return tg_module_new(&flatten_type, sizeof(tg_module)); }

/* ---- Sequential ---- */

static tg_tensor *sequential_forward(tg_module *m, tg_tensor *x)
{
    int scope = tg_scope_begin();
    if (scope < 0) return NULL;
    tg_tensor *h = x;
    for (int i = 0; h && i < m->n_children; i++) h = tg_module_forward(m->children[i].module, h);
    return tg_scope_return(scope, h);
}

static const tg_module_type sequential_type = {.name = "Sequential", .forward = sequential_forward};

tg_module *tg_nn_sequential(void) { return tg_module_new(&sequential_type, sizeof(tg_module)); }

int tg_nn_sequential_append(tg_module *seq, tg_module *child)
{
    if (TG_NEED("nn_sequential_append", seq)) {
        tg_module_free(child);
        return -1;
    }
    if (seq->type != &sequential_type) {
        tg_module_free(child);
        return TG_FAIL("sequential_append: %s is not a Sequential", seq->type->name);
    }
    char name[16];
    snprintf(name, sizeof name, "%d", seq->n_children);
    return tg_module_add_child(seq, name, child);
}
