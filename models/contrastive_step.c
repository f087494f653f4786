/* One MoCo-v2 / DenseCL training step (see contrastive.h for the order of
 * things): the query path with gradients, the key path without, the
 * argmax correspondence, both InfoNCE losses and the enqueue. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "autograd/internal/capture.h"
#include "autograd/ops_nograd.h"
#include "autograd/scope.h"
#include "dist/dist.h"
#include "models/internal/contrastive.h"
#include "tensor/internal/check.h"
#include "tensor/internal/index.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/view.h"

/* What one encoder gives for a batch: C5 and the normalised embeddings,
 * all held by the step's scope. */
typedef struct {
    tg_tensor *f;     /* C5, (N, C, S, S) */
    tg_tensor *g;     /* global, (N, D) */
    tg_tensor *dense; /* per cell, (N S^2, D), rows n S^2 + i (DenseCL) */
    tg_tensor *p;     /* pooled dense, (N, D) (DenseCL keys) */
} embeddings;

static tg_module *neck_part(tg_module *enc, const char *name)
{
    tg_module *neck = tg_module_child(enc, "1");
    return neck ? tg_module_child(neck, name) : NULL;
}

/* normalize(mlp(avgpool(f))). */
static tg_tensor *global_embedding(tg_module *enc, tg_tensor *f)
{
    tg_tensor *pooled = tg_mean(f, 2, (const int[]){2, 3}, false);
    return tg_normalize(tg_module_forward(neck_part(enc, "mlp"), pooled), 1, 1e-12f);
}

/* e->dense = mlp2(f) per cell as normalised rows; with pooled, also
 * e->p = normalize(mean of mlp2(f) over the cells). */
static int dense_embedding(tg_module *enc, embeddings *e, bool pooled)
{
    tg_tensor *d = tg_module_forward(neck_part(enc, "mlp2"), e->f);
    if (!d) return -1;
    int64_t n = d->shape[0], dim = d->shape[1], cells = d->shape[2] * d->shape[3];
    tg_tensor *cl = tg_permute(d, (const int[]){0, 2, 3, 1});
    e->dense = tg_normalize(tg_reshape(cl, TG_SHAPE(n * cells, dim)), 1, 1e-12f);
    if (e->dense && pooled) e->p = tg_normalize(tg_mean(d, 2, (const int[]){2, 3}, false), 1, 1e-12f);
    return e->dense && (!pooled || e->p) ? 0 : -1;
}

/* ---- query and key paths ---- */

static int query_path(contrastive_module *c, tg_tensor *im_q, embeddings *e)
{
    tg_module *enc = tg_contrastive_encoder(&c->base, 0);
    if (tg_resnet_features(tg_module_child(enc, "0"), im_q, NULL, &e->f)) return -1;
    e->g = global_embedding(enc, e->f);
    if (!e->g) return -1;
    return c->cfg.method == TG_DENSECL ? dense_embedding(enc, e, false) : 0;
}

/* rows of t in the order of index (int64 values, n of them), held by the scope. */
static tg_tensor *take_rows(tg_tensor *t, const int64_t *index, int64_t n)
{
    tg_tensor *idx = tg_from_data(TG_SHAPE(n), TG_INT64, index);
    tg_tensor *out = idx ? tg_k_index_select(t, 0, idx) : NULL;
    tg_release(idx);
    return tg_scoped(out);
}

/* The key backbone on this rank's slice of the permuted global batch
 * (n x ranks images, perm over all of them: shuffle BN), its C5 gathered,
 * un-permuted and this rank's rows kept; then the necks, which work sample
 * by sample. Call in a no-grad scope. */
static int key_path(contrastive_module *c, tg_tensor *im_k, const int64_t *perm, embeddings *e)
{
    int64_t n = im_k->shape[0], first = n * tg_dist_rank(), total = n * tg_dist_world_size();
    int64_t *inverse = malloc((size_t)total * sizeof *inverse);
    if (!inverse) return TG_FAIL("contrastive_step: out of memory");
    for (int64_t i = 0; i < total; i++) inverse[perm[i]] = i;
    tg_module *enc = tg_contrastive_encoder(&c->base, 1);
    tg_tensor *all = tg_contrastive_gather(im_k), *f = NULL;
    tg_tensor *shuffled = all ? take_rows(all, perm + first, n) : NULL;
    int rc = shuffled ? tg_resnet_features(tg_module_child(enc, "0"), shuffled, NULL, &f) : -1;
    tg_tensor *f_all = rc ? NULL : tg_contrastive_gather(f);
    if (!rc) rc = f_all && (e->f = take_rows(f_all, inverse + first, n)) ? 0 : -1;
    if (!rc) rc = (e->g = global_embedding(enc, e->f)) ? 0 : -1;
    if (!rc && c->cfg.method == TG_DENSECL) rc = dense_embedding(enc, e, true);
    free(inverse);
    return rc;
}

/* ---- correspondence ---- */

/* f (N, C, S, S) as (N, C, S^2), normalised along C. */
static tg_tensor *unit_cells(tg_tensor *f)
{
    return tg_normalize(tg_reshape(f, TG_SHAPE(f->shape[0], f->shape[1], -1)), 1, 1e-12f);
}

/* match (N, S^2): for each query cell the key cell of largest cosine
 * similarity of the backbones' C5 features. No gradient (no-grad scope). */
static tg_tensor *correspondence(tg_tensor *f_q, tg_tensor *f_k)
{
    tg_tensor *uq = unit_cells(f_q), *uk = unit_cells(f_k);
    return tg_argmax(tg_bmm(tg_transpose(uq, 1, 2), uk), 2, false);
}

/* The dense positives: row n S^2 + i of the key's dense rows at cell
 * match[n][i] of image n. */
static tg_tensor *dense_positives(tg_tensor *key_dense, tg_tensor *match)
{
    int64_t n = match->shape[0], cells = match->shape[1];
    int64_t *rows = malloc((size_t)(n * cells) * sizeof *rows);
    if (!rows) {
        TG_FAIL("contrastive_step: out of memory");
        return NULL;
    }
    const int64_t *j = tg_data_i64(match);
    for (int64_t r = 0; r < n * cells; r++) rows[r] = r / cells * cells + j[r];
    tg_tensor *pos = take_rows(key_dense, rows, n * cells);
    free(rows);
    return pos;
}

/* ---- checks ---- */

static int check_perm(const int64_t *perm, int64_t n)
{
    if (!perm) return TG_FAIL("contrastive_step: no permutation given");
    unsigned char *seen = calloc((size_t)n, 1);
    if (!seen) return TG_FAIL("contrastive_step: out of memory");
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++) {
        if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]) bad = i;
        else seen[perm[i]] = 1;
    }
    free(seen);
    return bad < 0 ? 0
                   : TG_FAIL("contrastive_step: perm[%" PRId64 "] = %" PRId64 ": not a permutation of 0..%" PRId64,
                             bad, perm[bad], n - 1);
}

static int check_batch(const contrastive_module *c, const tg_tensor *im_q, const tg_tensor *im_k,
                       const int64_t *perm)
{
    char bq[TG_SHAPE_STR_LEN], bk[TG_SHAPE_STR_LEN];
    if (TG_NEED("contrastive_step", im_q, im_k)) return -1;
    if (im_q->ndim != 4 || !tg_same_shape(im_q, im_k))
        return TG_FAIL("contrastive_step: views %s and %s; two (N, 3, H, W) batches of one shape expected",
                       tg_shape_str(im_q->ndim, im_q->shape, bq, sizeof bq),
                       tg_shape_str(im_k->ndim, im_k->shape, bk, sizeof bk));
    int64_t n = im_q->shape[0], k = c->cfg.queue_len, groups = c->cfg.backbone.bn_groups;
    int64_t global = n * tg_dist_world_size();
    if (n < 1) return TG_FAIL("contrastive_step: the batch is empty");
    if (k % global)
        return TG_FAIL("contrastive_step: the queue length %" PRId64 " is not a multiple of the %sbatch size %" PRId64,
                       k, global > n ? "global " : "", global);
    if (groups > 1 && n % groups)
        return TG_FAIL("contrastive_step: batch size %" PRId64 " is not a multiple of the %" PRId64 " BN groups", n,
                       groups);
    return check_perm(perm, global);
}

/* ---- the step ---- */

void tg_contrastive_out_clear(tg_contrastive_out *out)
{
    if (!out) return;
    tg_release(out->loss);
    tg_release(out->match);
    memset(out, 0, sizeof *out);
}

/* (1 - lambda) L_g + lambda L_d (L_g alone for MoCo-v2). */
static tg_tensor *total_loss(tg_tensor *lg, tg_tensor *ld, double lambda)
{
    return ld ? tg_add(tg_mul_scalar(lg, (float)(1 - lambda)), tg_mul_scalar(ld, (float)lambda)) : lg;
}

/* The step's numbers into out, over the global batch: every rank's slice
 * has n samples and cells query cells, so the means over the ranks are
 * the means over the global batch. */
static int report(tg_contrastive_out *out, tg_tensor *lg, tg_tensor *ld, double lambda, const int64_t hits[2],
                  int64_t n, int64_t cells)
{
    int ranks = tg_dist_world_size();
    double v[4] = {tg_item(lg), ld ? tg_item(ld) : 0.0, (double)hits[0], (double)hits[1]};
    if (tg_contrastive_sum_over_ranks(v, 4)) return -1;
    out->loss_global = v[0] / ranks;
    out->weighted_global = out->loss_global;
    out->top1_global = v[2] / (double)(n * ranks);
    if (!ld) return 0;
    out->loss_dense = v[1] / ranks;
    out->lambda = lambda;
    out->weighted_global = (1 - lambda) * out->loss_global;
    out->weighted_dense = lambda * out->loss_dense;
    out->top1_dense = v[3] / (double)(cells * ranks);
    return 0;
}

/* Every rank's keys into the queues, in rank order: the global batch's,
 * so the queues stay the same on every rank. */
static int enqueue_global(contrastive_module *c, const embeddings *k)
{
    tg_no_grad_enter();
    tg_tensor *g = tg_contrastive_gather(k->g), *p = k->p ? tg_contrastive_gather(k->p) : NULL;
    tg_no_grad_exit();
    return g && (!k->p || p) ? tg_contrastive_enqueue(c, g, p) : -1;
}

/* The losses from both paths; the enqueue once they are computed. */
static int losses(contrastive_module *c, embeddings *q, embeddings *k, int64_t iter, tg_contrastive_out *out)
{
    const tg_contrastive_config *cfg = &c->cfg;
    bool dense = cfg->method == TG_DENSECL;
    tg_tensor *match = NULL, *pos = NULL, *ld = NULL;
    tg_no_grad_enter();
    if (dense) match = correspondence(q->f, k->f);
    if (match) pos = dense_positives(k->dense, match);
    tg_no_grad_exit();
    int64_t hits[2] = {0, 0};
    tg_tensor *lg = tg_info_nce(q->g, k->g, tg_contrastive_queue(&c->base, false), (float)cfg->tau, &hits[0]);
    if (pos) ld = tg_info_nce(q->dense, pos, tg_contrastive_queue(&c->base, true), (float)cfg->tau, &hits[1]);
    if (!lg || (dense && !ld)) return -1;
    double lambda = iter < cfg->warmup_iters ? 0.0 : cfg->lambda;
    out->loss = tg_keep(total_loss(lg, ld, lambda));
    out->match = match ? tg_keep(match) : NULL;
    if (!out->loss || report(out, lg, ld, lambda, hits, q->g->shape[0], dense ? q->dense->shape[0] : 0)) return -1;
    return enqueue_global(c, k);
}

/* The step in a scope of its own, behind a barrier: what it keeps is out's. */
static int scoped_step(contrastive_module *c, tg_tensor *im_q, tg_tensor *im_k, int64_t iter, const int64_t *perm,
                       tg_contrastive_out *out)
{
    int scope = tg_scope_begin();
    if (scope < 0) return -1;
    embeddings q = {0}, k = {0};
    int rc = query_path(c, im_q, &q);
    if (!rc) {
        tg_no_grad_enter();
        rc = tg_contrastive_momentum_update(c);
        if (!rc) rc = key_path(c, im_k, perm, &k);
        tg_no_grad_exit();
    }
    if (!rc) rc = losses(c, &q, &k, iter, out);
    tg_scope_end(scope);
    return rc;
}

int tg_contrastive_step_perm(tg_module *m, tg_tensor *im_q, tg_tensor *im_k, int64_t iter, const int64_t *perm,
                             tg_contrastive_out *out)
{
    if (TG_NEED("contrastive_step_perm", out)) return -1;
    memset(out, 0, sizeof *out);
    contrastive_module *c = tg_contrastive_cast("contrastive_step", m);
    if (!c || check_batch(c, im_q, im_k, perm) || tg_capture_pause()) return -1;
    int rc = scoped_step(c, im_q, im_k, iter, perm, out);
    tg_capture_resume();
    if (rc) tg_contrastive_out_clear(out);
    return rc;
}
int tg_contrastive_step(tg_module *m, tg_tensor *im_q, tg_tensor *im_k, int64_t iter, tg_rng *shuffle,
                        tg_contrastive_out *out)
{
    if (out) memset(out, 0, sizeof *out); /* zeroed on every failure, an out-of-memory one included */
    if (TG_NEED("contrastive_step", m, im_q, im_k, shuffle, out)) return -1;
    int64_t n = im_q->shape[0] * tg_dist_world_size(); /* the global batch */
    int64_t *perm = malloc((size_t)(n > 0 ? n : 1) * sizeof *perm);
    if (!perm) return TG_FAIL("contrastive_step: out of memory");
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)(tg_rng_uniform(shuffle) * (double)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int rc = tg_contrastive_share_perm(perm, n) || tg_contrastive_step_perm(m, im_q, im_k, iter, perm, out) ? -1 : 0;
    free(perm);
    return rc;
}
