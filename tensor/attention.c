/* Scaled dot-product attention (see internal/attention.h), row by row as
 * flash attention's online softmax: for query row i the keys go by once,
 * keeping the running maximum m, the running sum l of exp(s - m) and the
 * running weighted sum of values, rescaled whenever m grows; out = acc / l
 * and lse = m + log l. Memory beyond the operands: one row of Ev values a
 * thread. The backward, again per query row, recomputes each weight as
 * exp(s - lse), with D_i = <dout_i, out_i>:
 *     ds_ij = p_ij (z_ij <dout_i, v_j> - D_i),  z the dropout's 0 or 1/(1-p)
 *     dq_i += scale ds_ij k_j,  dk_j += scale ds_ij q_i,  dv_j += z_ij p_ij dout_i.
 * Threads take whole (batch, head) slices, each summed in one order: the
 * same bits for any thread count. Dot products run in 8 lanes, added in a
 * fixed order. */
#include "tensor/internal/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/random.h"
#include "tensor/internal/view.h"

enum { LANES = 8 };

/* The problem's sizes and operands, contiguous. */
typedef struct {
    int64_t bh, l, s, e, ev;      /* slices, query rows, keys, q/k width, v width */
    const float *q, *k, *v;
    const char *mask;             /* NULL, or the expanded mask's first element */
    bool mask_i64;                /* int64 (keep where nonzero) or float32 (added) */
    int64_t *mask_off;            /* per slice, in elements */
    int64_t mask_si, mask_sj;     /* element strides along i and j */
    bool causal;
    float scale, dropout;
    tg_rng rng;
} attn;

static float dot(const float *a, const float *b, int64_t n)
{
    float lane[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) lane[k] += a[i + k] * b[i + k];
    float s = 0;
    for (int k = 0; k < LANES; k++) s += lane[k];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy(float *y, float a, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* The score of query i against key j of slice b (scaled, masked), or
 * -INFINITY where the pair does not take part. */
static float score(const attn *a, int64_t b, int64_t i, int64_t j)
{
    if (a->causal && j > i) return -INFINITY;
    float s = dot(a->q + (b * a->l + i) * a->e, a->k + (b * a->s + j) * a->e, a->e) * a->scale;
    if (!a->mask) return s;
    int64_t at = a->mask_off[b] + i * a->mask_si + j * a->mask_sj;
    if (a->mask_i64) return ((const int64_t *)(const void *)a->mask)[at] ? s : -INFINITY;
    return s + ((const float *)(const void *)a->mask)[at];
}

/* The dropout's factor for weight (b, i, j): 0, or 1 / (1 - p). */
static float kept(const attn *a, int64_t b, int64_t i, int64_t j)
{
    if (a->dropout == 0) return 1.0f;
    float u = tg_rng_uniform_at(&a->rng, (uint64_t)((b * a->l + i) * a->s + j));
    return u < a->dropout ? 0.0f : 1.0f / (1.0f - a->dropout);
}

/* out row i of slice b and its log-sum-exp; acc: Ev floats of scratch. */
static void forward_row(const attn *a, int64_t b, int64_t i, float *out, float *lse)
{
    float m = -INFINITY, l = 0;
    memset(out, 0, (size_t)a->ev * sizeof *out);
    for (int64_t j = 0; j < a->s; j++) {
        float s = score(a, b, i, j);
        if (s == -INFINITY) continue;
        if (s > m) {
            float shrink = expf(m - s); /* 0 the first time: m = -inf */
            l *= shrink;
            for (int64_t c = 0; c < a->ev; c++) out[c] *= shrink;
            m = s;
        }
        float p = expf(s - m);
        l += p;
        axpy(out, p * kept(a, b, i, j), a->v + (b * a->s + j) * a->ev, a->ev);
    }
    for (int64_t c = 0; c < a->ev; c++) out[c] /= l; /* no key: 0 / 0, NaN as PyTorch */
    *lse = m + logf(l);
}

/* ---- setup ---- */

static int check_operands(tg_tensor *q, tg_tensor *k, tg_tensor *v)
{
    if (TG_NEED("scaled_dot_product_attention", q, k, v) ||
        tg_iter_check_f32("scaled_dot_product_attention", 3, (tg_tensor *[]){q, k, v}))
        return -1;
    int n = q->ndim;
    bool ok = n >= 2 && k->ndim == n && v->ndim == n && q->shape[n - 1] == k->shape[n - 1] &&
              k->shape[n - 2] == v->shape[n - 2];
    for (int d = 0; ok && d < n - 2; d++) ok = q->shape[d] == k->shape[d] && q->shape[d] == v->shape[d];
    if (ok) return 0;
    char s0[TG_SHAPE_STR_LEN], s1[TG_SHAPE_STR_LEN], s2[TG_SHAPE_STR_LEN];
    return TG_FAIL("scaled_dot_product_attention: needs q (..., L, E), k (..., S, E) and v (..., S, Ev) with the "
                   "same leading dims, got %s, %s and %s",
                   tg_shape_str(q->ndim, q->shape, s0, sizeof s0), tg_shape_str(k->ndim, k->shape, s1, sizeof s1),
                   tg_shape_str(v->ndim, v->shape, s2, sizeof s2));
}

/* The mask expanded to (..., L, S) (a view, strides 0 where broadcast)
 * into a->mask and its per-slice offsets; *view holds it. */
static int open_mask(attn *a, tg_tensor *mask, const tg_tensor *q, tg_tensor **view)
{
    *view = NULL;
    if (!mask) return 0;
    if (mask->dtype != TG_FLOAT32 && mask->dtype != TG_INT64)
        return TG_FAIL("scaled_dot_product_attention: the mask is %s; float32 (added) or int64 (kept where "
                       "nonzero)", tg_dtype_name(mask->dtype));
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, q->shape, (size_t)q->ndim * sizeof *shape);
    shape[q->ndim - 1] = a->s;
    if (!(*view = tg_k_expand(mask, q->ndim, shape))) return -1;
    a->mask_off = malloc((size_t)(a->bh ? a->bh : 1) * sizeof *a->mask_off);
    if (!a->mask_off) return TG_FAIL("scaled_dot_product_attention: out of memory");
    for (int64_t b = 0; b < a->bh; b++) {
        int64_t rest = b, off = (*view)->offset;
        for (int d = q->ndim - 3; d >= 0; d--) {
            off += rest % shape[d] * (*view)->stride[d];
            rest /= shape[d];
        }
        a->mask_off[b] = off;
    }
    a->mask_i64 = mask->dtype == TG_INT64;
    a->mask = (const char *)(*view)->storage->data;
    a->mask_si = (*view)->stride[q->ndim - 2];
    a->mask_sj = (*view)->stride[q->ndim - 1];
    return 0;
}

/* Contiguous operands, sizes and the spec into a; frees what it made on
 * failure. held[0..3]: the contiguous q, k, v and the mask's view. */
static int open_attn(attn *a, tg_tensor *q, tg_tensor *k, tg_tensor *v, const tg_attention_spec *spec,
                     tg_tensor **held)
{
    memset(a, 0, sizeof *a);
    memset(held, 0, 4 * sizeof *held);
    if (check_operands(q, k, v)) return -1;
    if (!(spec->dropout >= 0 && spec->dropout < 1))
        return TG_FAIL("scaled_dot_product_attention: dropout_p %g is outside [0, 1)", (double)spec->dropout);
    int n = q->ndim;
    a->l = q->shape[n - 2], a->e = q->shape[n - 1], a->s = k->shape[n - 2], a->ev = v->shape[n - 1];
    a->bh = 1;
    for (int d = 0; d < n - 2; d++) a->bh *= q->shape[d];
    a->causal = spec->causal;
    a->scale = spec->scale != 0 ? spec->scale : (float)(1.0 / sqrt((double)(a->e ? a->e : 1)));
    a->dropout = spec->dropout;
    a->rng = spec->rng;
    for (int i = 0; i < 3; i++) held[i] = tg_k_contiguous((tg_tensor *[]){q, k, v}[i]);
    if (!held[0] || !held[1] || !held[2] || open_mask(a, spec->mask, q, &held[3])) return -1;
    a->q = tg_data_f32(held[0]), a->k = tg_data_f32(held[1]), a->v = tg_data_f32(held[2]);
    return 0;
}

static void close_attn(attn *a, tg_tensor **held)
{
    free(a->mask_off);
    for (int i = 0; i < 4; i++) tg_release(held[i]);
}

tg_tensor *tg_k_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v, const tg_attention_spec *spec, tg_tensor **lse)
{
    if (lse) *lse = NULL;
    attn a;
    tg_tensor *held[4];
    if (open_attn(&a, q, k, v, spec, held)) {
        close_attn(&a, held);
        return NULL;
    }
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, q->shape, (size_t)q->ndim * sizeof *shape);
    shape[q->ndim - 1] = a.ev;
    tg_tensor *out = tg_empty(q->ndim, shape, TG_FLOAT32), *rows = tg_empty(q->ndim - 1, q->shape, TG_FLOAT32);
    if (out && rows) {
        float *o = tg_data_f32(out), *r = tg_data_f32(rows);
#pragma omp parallel for if (a.bh * a.l * a.s * a.e >= TG_PARALLEL_GRAIN && a.bh > 1) schedule(static)
        for (int64_t b = 0; b < a.bh; b++)
            for (int64_t i = 0; i < a.l; i++) forward_row(&a, b, i, o + (b * a.l + i) * a.ev, r + b * a.l + i);
    }
    close_attn(&a, held);
    if (!out || !rows) {
        tg_release(out), tg_release(rows);
        return NULL;
    }
    if (lse) *lse = rows;
    else tg_release(rows);
    return out;
}

/* ---- backward ---- */

typedef struct {
    const float *g, *out, *lse;
    float *dq, *dk, *dv; /* each may be NULL */
} attn_grads;

/* Slice b's gradients, query row by query row. */
static void backward_slice(const attn *a, const attn_grads *t, int64_t b)
{
    for (int64_t i = 0; i < a->l; i++) {
        const float *gi = t->g + (b * a->l + i) * a->ev, *qi = a->q + (b * a->l + i) * a->e;
        float d_i = dot(gi, t->out + (b * a->l + i) * a->ev, a->ev), lse = t->lse[b * a->l + i];
        for (int64_t j = 0; j < a->s; j++) {
            float s = score(a, b, i, j);
            if (s == -INFINITY) continue;
            float p = expf(s - lse), z = kept(a, b, i, j);
            const float *vj = a->v + (b * a->s + j) * a->ev, *kj = a->k + (b * a->s + j) * a->e;
            float ds = p * (z * dot(gi, vj, a->ev) - d_i) * a->scale;
            if (t->dv) axpy(t->dv + (b * a->s + j) * a->ev, z * p, gi, a->ev);
            if (t->dq) axpy(t->dq + (b * a->l + i) * a->e, ds, kj, a->e);
            if (t->dk) axpy(t->dk + (b * a->s + j) * a->e, ds, qi, a->e);
        }
    }
}

/* A zeroed tensor of t's shape into *slot, its data into *data; nothing
 * when slot is NULL. */
static int zeros_like_into(const tg_tensor *t, tg_tensor **slot, float **data)
{
    *data = NULL;
    if (!slot) return 0;
    if (!(*slot = tg_zeros(t->ndim, t->shape, TG_FLOAT32))) return -1;
    *data = tg_data_f32(*slot);
    return 0;
}

int tg_k_attention_backward(tg_tensor *g, tg_tensor *q, tg_tensor *k, tg_tensor *v, tg_tensor *out, tg_tensor *lse,
                            const tg_attention_spec *spec, tg_tensor **dq, tg_tensor **dk, tg_tensor **dv)
{
    tg_tensor **slots[] = {dq, dk, dv};
    for (int i = 0; i < 3; i++)
        if (slots[i]) *slots[i] = NULL;
    if (TG_NEED("scaled_dot_product_attention backward", g, out, lse)) return -1;
    attn a;
    tg_tensor *held[4], *gc = NULL;
    int rc = open_attn(&a, q, k, v, spec, held);
    attn_grads t = {0};
    if (!rc) {
            gc = tg_k_contiguous(g);
        rc = gc && tg_same_shape(g, out) && tg_is_contiguous(out) && tg_is_contiguous(lse) ? 0 : -1;
        if (rc && gc) TG_FAIL("scaled_dot_product_attention backward: the gradient's shape is not the output's");
    }
    if (!rc) rc = zeros_like_into(q, dq, &t.dq) || zeros_like_into(k, dk, &t.dk) || zeros_like_into(v, dv, &t.dv);
    if (!rc) {
        t.g = tg_data_f32(gc), t.out = tg_data_f32(out), t.lse = tg_data_f32(lse);
#pragma omp parallel for if (a.bh * a.l * a.s * a.e >= TG_PARALLEL_GRAIN && a.bh > 1) schedule(static)
        for (int64_t b = 0; b < a.bh; b++) backward_slice(&a, &t, b);
    }
    tg_release(gc);
    close_attn(&a, held);
    if (rc)
        for (int i = 0; i < 3; i++)
            if (slots[i]) tg_release(*slots[i]), *slots[i] = NULL;
    return rc;
}
