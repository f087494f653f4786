/* Scaled dot-product attention (see internal/attention.h), a block of
 * query rows at a time: the block's scores against the keys it may see
 * (a tile of QB x S, never the whole L x S), their softmax per row, and
 * the rows of out = P V; the forward keeps each row's log-sum-exp lse.
 * The backward recomputes the tile's weights as exp(s - lse) and, with
 * D_i = <dout_i, out_i>:
 *     ds_ij = p_ij (z_ij <dout_i, v_j> - D_i) scale,  z the dropout's 0 or 1/(1-p)
 *     dq_i += ds_ij k_j,  dk_j += ds_ij q_i,  dv_j += z_ij p_ij dout_i.
 * Memory beyond the operands: two tiles and the packed operands of one
 * product, a thread. The products (q k^T, P V and the five of the
 * backward) run on BLIS's register tile (tg_k_small_gemm), the softmax's
 * loops vectorised with exp_lane. Threads take whole (batch, head)
 * slices, each computed in one order: the same bits for any thread count. */
#include "tensor/internal/attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/random.h"
#include "tensor/internal/view.h"

enum { LANES = 16, QB = 32 }; /* summing lanes; query rows a block */

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

/* A thread's scratch for one slice: two tiles, a row of dropout factors
 * and the small products' packing space. */
typedef struct {
    float *s, *t; /* (QB, S) each */
    float *z;     /* (S): one row's dropout factors, 1 without dropout */
    float *ws;    /* tg_k_small_gemm's, for the largest of the products below */
} scratch;

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int scratch_open(scratch *w, const attn *a)
{
    size_t s = (size_t)(a->s ? a->s : 1);
    int64_t qb = QB, k = max64(a->e, a->ev);
    int64_t ws = max64(tg_k_small_gemm_floats(qb, a->s, k), tg_k_small_gemm_floats(qb, k, a->s));
    ws = max64(ws, tg_k_small_gemm_floats(a->s, k, qb));
    w->s = malloc(QB * s * sizeof(float));
    w->t = malloc(QB * s * sizeof(float));
    w->z = malloc(s * sizeof(float));
    w->ws = aligned_alloc(64, (size_t)(ws + 16) / 16 * 64);
    if (!w->s || !w->t || !w->z || !w->ws) return -1;
    for (size_t j = 0; j < s; j++) w->z[j] = 1.0f;
    return 0;
}

static void scratch_close(scratch *w)
{
    free(w->s), free(w->t), free(w->z), free(w->ws);
}

/* The score tile of query rows [i0, i0 + rows) of slice b against keys
 * j < n: causal pairs j > i and masked-out pairs -inf, a float mask added. */
static void score_tile(const attn *a, scratch *w, int64_t b, int64_t i0, int64_t rows, int64_t n)
{
    tg_k_small_gemm(rows, n, a->e, a->q + (b * a->l + i0) * a->e, a->e, 1, a->k + b * a->s * a->e, 1, a->e, 0.0f,
                    w->s, n, 1, w->ws); /* q k^T */
    for (int64_t r = 0; r < rows; r++) {
        float *s = w->s + r * n;
        int64_t i = i0 + r;
        for (int64_t j = 0; j < n; j++) s[j] *= a->scale;
        if (a->causal)
            for (int64_t j = i + 1; j < n; j++) s[j] = -INFINITY;
        if (!a->mask) continue;
        for (int64_t j = 0; j < n; j++) {
            int64_t at = a->mask_off[b] + i * a->mask_si + j * a->mask_sj;
            if (a->mask_i64) s[j] = ((const int64_t *)(const void *)a->mask)[at] ? s[j] : -INFINITY;
            else s[j] += ((const float *)(const void *)a->mask)[at];
        }
    }
}

/* The dropout's factors of weights (b, i, j < n) into z: 0, or 1 / (1 - p). */
static void keep_row(const attn *a, int64_t b, int64_t i, int64_t n, float *z)
{
    tg_rng_uniform_run(&a->rng, (uint64_t)((b * a->l + i) * a->s), n, z);
    for (int64_t j = 0; j < n; j++) z[j] = z[j] < a->dropout ? 0.0f : 1.0f / (1.0f - a->dropout);
}

/* The largest of s[0..n), NaN if one is. */
TG_WIDEST_VECTORS static float row_max(const float *s, int64_t n)
{
    float lane[LANES];
    for (int k = 0; k < LANES; k++) lane[k] = -INFINITY;
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) lane[k] = max_nan(lane[k], s[j + k]);
    float m = -INFINITY;
    for (int k = 0; k < LANES; k++) m = max_nan(m, lane[k]);
    for (; j < n; j++) m = max_nan(m, s[j]);
    return m;
}

/* p[j] = exp(s[j] - m) (0 where s[j] is -inf, m finite); their sum. */
TG_WIDEST_VECTORS static float exp_row(float *p, const float *s, int64_t n, float m)
{
    for (int64_t j = 0; j < n; j++) p[j] = exp_lane(s[j] - m);
    float lane[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) lane[k] += p[j + k];
    float sum = 0;
    for (int k = 0; k < LANES; k++) sum += lane[k];
    for (; j < n; j++) sum += p[j];
    return sum;
}

/* How many keys query rows [i0, i0 + rows) see: causal, up to the last row's. */
static int64_t keys_seen(const attn *a, int64_t i0, int64_t rows)
{
    return a->causal && i0 + rows < a->s ? i0 + rows : a->s;
}

/* Out rows [i0, i0 + rows) of slice b and their log-sum-exps. A row that
 * sees no key is NaN (0 / 0, as PyTorch) with lse -inf. */
static void forward_block(const attn *a, scratch *w, int64_t b, int64_t i0, int64_t rows, float *out, float *lse)
{
    int64_t n = keys_seen(a, i0, rows);
    score_tile(a, w, b, i0, rows, n);
    float l[QB];
    for (int64_t r = 0; r < rows; r++) {
        float *p = w->t + r * n, m = row_max(w->s + r * n, n);
        l[r] = m == -INFINITY ? 0.0f : exp_row(p, w->s + r * n, n, m);
        if (l[r] == 0) memset(p, 0, (size_t)n * sizeof *p);
        if (a->dropout > 0) {
            keep_row(a, b, i0 + r, n, w->z);
            for (int64_t j = 0; j < n; j++) p[j] *= w->z[j];
        }
        lse[r] = m == -INFINITY ? -INFINITY : m + logf(l[r]);
    }
    tg_k_small_gemm(rows, a->ev, n, w->t, n, 1, a->v + b * a->s * a->ev, a->ev, 1, 0.0f, out, a->ev, 1, w->ws);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < a->ev; c++) out[r * a->ev + c] /= l[r];
}

/* Slice b's output and lse, a block of query rows at a time. */
static void forward_slice(const attn *a, scratch *w, int64_t b, float *out, float *lse)
{
    for (int64_t i0 = 0; i0 < a->l; i0 += QB) {
        int64_t rows = a->l - i0 < QB ? a->l - i0 : QB;
        forward_block(a, w, b, i0, rows, out + (b * a->l + i0) * a->ev, lse + b * a->l + i0);
    }
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

typedef void (*slice_fn)(const attn *a, scratch *w, int64_t b, const void *ctx);

/* fn on every slice, slices split over threads, each thread with its own
 * scratch. 0, or -1 with an error when scratch could not be had. */
static int run_slices(const attn *a, slice_fn fn, const void *ctx)
{
    int failed = 0;
#pragma omp parallel if (a->bh * a->l * a->s * a->e >= TG_PARALLEL_GRAIN && a->bh > 1) reduction(| : failed)
    {
        scratch w;
        bool ready = !scratch_open(&w, a);
#pragma omp for schedule(static)
        for (int64_t b = 0; b < a->bh; b++) {
            if (ready) fn(a, &w, b, ctx);
            else failed = 1;
        }
        scratch_close(&w);
    }
    return failed ? TG_FAIL("scaled_dot_product_attention: out of memory") : 0;
}

typedef struct {
    float *out, *lse;
} attn_outputs;

static void forward_slice_fn(const attn *a, scratch *w, int64_t b, const void *ctx)
{
    const attn_outputs *o = ctx;
    forward_slice(a, w, b, o->out, o->lse);
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
    int rc = out && rows ? run_slices(&a, forward_slice_fn, &(attn_outputs){tg_data_f32(out), tg_data_f32(rows)})
                         : -1;
    close_attn(&a, held);
    if (rc) {
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

/* One row of the tile: p = exp(s - lse) (0 where s is -inf), then in place
 * dp becomes ds = p (z dp - d) scale and s becomes z p. */
TG_WIDEST_VECTORS static void weight_grads(float *s, float *dp, const float *z, int64_t n, float lse, float d,
                                           float scale)
{
    for (int64_t j = 0; j < n; j++) {
        bool masked = s[j] == -INFINITY;
        float p = pick(masked, 0.0f, exp_lane(s[j] - lse));
        dp[j] = pick(masked, 0.0f, p * (z[j] * dp[j] - d) * scale);
        s[j] = z[j] * p;
    }
}

/* The gradients' contributions of query rows [i0, i0 + rows) of slice b. */
static void backward_block(const attn *a, scratch *w, const attn_grads *t, int64_t b, int64_t i0, int64_t rows)
{
    int64_t n = keys_seen(a, i0, rows);
    const float *g = t->g + (b * a->l + i0) * a->ev;
    score_tile(a, w, b, i0, rows, n);
    tg_k_small_gemm(rows, n, a->ev, g, a->ev, 1, a->v + b * a->s * a->ev, 1, a->ev, 0.0f, w->t, n, 1,
                    w->ws); /* <dout_i, v_j> */
    for (int64_t r = 0; r < rows; r++) {
        int64_t i = i0 + r;
        const float *gi = g + r * a->ev, *oi = t->out + (b * a->l + i) * a->ev;
        float d = 0;
        for (int64_t c = 0; c < a->ev; c++) d += gi[c] * oi[c];
        if (a->dropout > 0) keep_row(a, b, i, n, w->z);
        float *zp = w->s + r * n, *ds = w->t + r * n;
        weight_grads(zp, ds, w->z, n, t->lse[b * a->l + i], d, a->scale);
    }
    const float *q = a->q + (b * a->l + i0) * a->e, *k = a->k + b * a->s * a->e;
    float *dq = t->dq ? t->dq + (b * a->l + i0) * a->e : NULL;
    if (dq) tg_k_small_gemm(rows, a->e, n, w->t, n, 1, k, a->e, 1, 1.0f, dq, a->e, 1, w->ws);
    float *dk = t->dk ? t->dk + b * a->s * a->e : NULL, *dv = t->dv ? t->dv + b * a->s * a->ev : NULL;
    if (dk) tg_k_small_gemm(n, a->e, rows, w->t, 1, n, q, a->e, 1, 1.0f, dk, a->e, 1, w->ws);
    if (dv) tg_k_small_gemm(n, a->ev, rows, w->s, 1, n, g, a->ev, 1, 1.0f, dv, a->ev, 1, w->ws);
}

/* Slice b's gradients, a block of query rows at a time. */
static void backward_slice(const attn *a, scratch *w, int64_t b, const void *ctx)
{
    for (int64_t i0 = 0; i0 < a->l; i0 += QB) backward_block(a, w, ctx, b, i0, a->l - i0 < QB ? a->l - i0 : QB);
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
        rc = run_slices(&a, backward_slice, &t);
    }
    tg_release(gc);
    close_attn(&a, held);
    if (rc)
        for (int i = 0; i < 3; i++)
            if (slots[i]) tg_release(*slots[i]), *slots[i] = NULL;
    return rc;
}
