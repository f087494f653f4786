/* Cross-entropy: per position a stable log-sum-exp over the classes, the
 * loss lse - x[target], and in the backward softmax - onehot, in one pass
 * each over the logits. Positions are walked in chunks fixed by the shape
 * alone. With many positions per sample (N,C,H,W) a chunk is a run of
 * neighbouring positions and the class loop is the outer one, so the inner
 * loop runs along positions (unit stride in NCHW) and vectorises; with one
 * position per sample (N,C) a chunk is a few rows, each walked along its
 * classes. exp is a polynomial the compiler can vectorise. */
#include "tensor/internal/loss.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

/* Positions per chunk (columns of (N,C,S), rows of (N,C)); partial sums
 * per row. */
enum { COLS = 256, ROWS = 8, LANES = 8 };

/* The logits as (N, C, S) and the targets as (N, S), S = d1 * ... * dk. */
typedef struct {
    int64_t n, c, s;
    int64_t xn, xc, xs; /* the logits' strides */
    int64_t tn, ts;     /* the targets' strides */
    const float *x;
    const int64_t *t;
    int64_t ignore;
} ce_layout;

/* ---- checks and layout ---- */

static int check_args(const tg_tensor *x, const tg_tensor *t)
{
    char sx[TG_SHAPE_STR_LEN], st[TG_SHAPE_STR_LEN];
    tg_shape_str(x->ndim, x->shape, sx, sizeof sx);
    tg_shape_str(t->ndim, t->shape, st, sizeof st);
    if (x->dtype != TG_FLOAT32) return TG_FAIL("cross_entropy: logits are %s; float32 only", tg_dtype_name(x->dtype));
    if (t->dtype != TG_INT64)
        return TG_FAIL("cross_entropy: target is %s; int64 class indices expected", tg_dtype_name(t->dtype));
    if (x->ndim < 2) return TG_FAIL("cross_entropy: logits %s need a class dim: (N,C) or (N,C,d1,...)", sx);
    bool same = t->ndim == x->ndim - 1 && t->shape[0] == x->shape[0];
    for (int i = 1; same && i < t->ndim; i++) same = t->shape[i] == x->shape[i + 1];
    if (!same)
        return TG_FAIL("cross_entropy: logits %s and target %s: the target must have the logits' shape "
                       "without the class dim",
                       sx, st);
    return 0;
}

/* Whether dims from.. of t walk as one dim; *stride gets its stride. */
static bool flat_tail(const tg_tensor *t, int from, int64_t *stride)
{
    int64_t next = -1; /* the stride the dim before must have */
    *stride = 0;
    for (int d = t->ndim - 1; d >= from; d--) {
        if (t->shape[d] == 1) continue;
        if (next >= 0 && t->stride[d] != next) return false;
        if (next < 0) *stride = t->stride[d];
        next = t->stride[d] * t->shape[d];
    }
    return true;
}

/* t itself (retained) if its dims from.. walk as one, else a contiguous copy. */
static tg_tensor *flattenable(tg_tensor *t, int from)
{
    int64_t s;
    return flat_tail(t, from, &s) ? tg_retain(t) : tg_k_contiguous(t);
}

/* Fills L from x and t, which flattenable made walkable. */
static void make_layout(ce_layout *L, const tg_tensor *x, const tg_tensor *t, int64_t ignore)
{
    L->n = x->shape[0];
    L->c = x->shape[1];
    L->s = 1;
    for (int d = 1; d < t->ndim; d++) L->s *= t->shape[d];
    L->xn = x->stride[0];
    L->xc = x->stride[1];
    flat_tail(x, 2, &L->xs);
    L->tn = t->stride[0];
    flat_tail(t, 1, &L->ts);
    L->x = (const float *)x->storage->data + x->offset;
    L->t = (const int64_t *)t->storage->data + t->offset;
    L->ignore = ignore;
}

/* Fails naming the bad target at position p (row-major in t). */
static int bad_target(const ce_layout *L, const tg_tensor *t, int64_t p, int64_t value)
{
    int64_t pos[TG_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        pos[d] = p % t->shape[d];
        p /= t->shape[d];
    }
    char b[TG_SHAPE_STR_LEN];
    tg_shape_str(t->ndim, pos, b, sizeof b);
    return TG_FAIL("cross_entropy: target %" PRId64 " out of range for %" PRId64 " classes (at position %s; "
                   "ignore_index is %" PRId64 ")",
                   value, L->c, b, L->ignore);
}

/* The number of targets that count, or -1 with error at the first one
 * (row-major) outside [0, C) that is not ignore_index. */
static int64_t count_targets(const ce_layout *L, const tg_tensor *t)
{
    int64_t count = 0;
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t s = 0; s < L->s; s++) {
            int64_t v = L->t[n * L->tn + s * L->ts];
            if (v == L->ignore) continue;
            if (v < 0 || v >= L->c) return bad_target(L, t, n * L->s + s, v);
            count++;
        }
    return count;
}

/* Holds the walkable forms of logits and target and their layout. */
typedef struct {
    tg_tensor *x, *t;
    ce_layout L;
    int64_t count;
} ce_args;

static int open_args(ce_args *a, tg_tensor *logits, tg_tensor *target, int64_t ignore)
{
    a->x = a->t = NULL;
    if (check_args(logits, target)) return -1;
    a->x = flattenable(logits, 2);
    a->t = flattenable(target, 1);
    if (!a->x || !a->t) return -1;
    make_layout(&a->L, a->x, a->t, ignore);
    a->count = count_targets(&a->L, target);
    return a->count < 0 ? -1 : 0;
}

static void close_args(ce_args *a)
{
    tg_release(a->x);
    tg_release(a->t);
}

/* ---- chunks ---- */

static int64_t chunks_per_sample(const ce_layout *L) { return (L->s + COLS - 1) / COLS; }

/* Row chunks when each sample has one position, else column chunks. */
static int64_t chunk_count(const ce_layout *L)
{
    return L->s == 1 ? (L->n + ROWS - 1) / ROWS : L->n * chunks_per_sample(L);
}

/* Chunk k's first position (n, s0) and its number of positions. */
static void chunk_at(const ce_layout *L, int64_t k, int64_t *n, int64_t *s0, int64_t *len)
{
    if (L->s == 1) { /* rows n.. */
        *n = k * ROWS;
        *s0 = 0;
        *len = L->n - *n < ROWS ? L->n - *n : ROWS;
        return;
    }
    int64_t cps = chunks_per_sample(L);
    *n = k / cps;
    *s0 = (k % cps) * COLS;
    *len = L->s - *s0 < COLS ? L->s - *s0 : COLS;
}

/* Per-position max and sum of exp(x - max) over the classes of len
 * neighbouring positions at stride xs; inlined with xs == 1 to vectorise. */
static inline __attribute__((always_inline)) void column_stats(const float *x, int64_t c, int64_t xc, int64_t xs,
                                                               int64_t len, float *m, double *sum)
{
    for (int64_t j = 0; j < len; j++) {
        m[j] = -INFINITY;
        sum[j] = 0.0;
    }
    for (int64_t k = 0; k < c; k++)
        for (int64_t j = 0; j < len; j++) {
            float v = x[k * xc + j * xs];
            m[j] = max_nan(m[j], v);
        }
    for (int64_t k = 0; k < c; k++)
        for (int64_t j = 0; j < len; j++) sum[j] += exp_lane(x[k * xc + j * xs] - m[j]);
}

/* Positions s0.. of sample n: their lse into lse, the sum of their losses
 * returned. */
static double column_forward(const ce_layout *L, int64_t n, int64_t s0, int64_t len, float *lse)
{
    const float *x = L->x + n * L->xn + s0 * L->xs;
    const int64_t *t = L->t + n * L->tn + s0 * L->ts;
    float m[COLS];
    double sum[COLS], loss = 0.0;
    if (L->xs == 1) column_stats(x, L->c, L->xc, 1, len, m, sum);
    else column_stats(x, L->c, L->xc, L->xs, len, m, sum);
    for (int64_t j = 0; j < len; j++) {
        double l = (double)m[j] + log(sum[j]);
        lse[j] = (float)l;
        int64_t k = t[j * L->ts];
        if (k != L->ignore) loss += l - (double)x[k * L->xc + j * L->xs];
    }
    return loss;
}

/* log-sum-exp of one row of c classes at stride xc: the max in LANES
 * partial maxima (exact in any order), then the sum in LANES partial sums. */
static inline __attribute__((always_inline)) double row_lse(const float *x, int64_t c, int64_t xc)
{
    float mx[LANES];
    for (int j = 0; j < LANES; j++) mx[j] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= c; i += LANES)
        for (int j = 0; j < LANES; j++) mx[j] = max_nan(mx[j], x[(i + j) * xc]);
    float m = -INFINITY;
    for (int j = 0; j < LANES; j++) m = max_nan(m, mx[j]);
    for (; i < c; i++) m = max_nan(m, x[i * xc]);
    double acc[LANES] = {0};
    for (i = 0; i + LANES <= c; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += exp_lane(x[(i + j) * xc] - m);
    for (; i < c; i++) acc[0] += exp_lane(x[i * xc] - m);
    double sum = 0.0;
    for (int j = 0; j < LANES; j++) sum += acc[j];
    return (double)m + log(sum);
}

/* Rows n0.. (one position each): their lse, the sum of their losses. */
static double row_forward(const ce_layout *L, int64_t n0, int64_t len, float *lse)
{
    double loss = 0.0;
    for (int64_t r = 0; r < len; r++) {
        const float *x = L->x + (n0 + r) * L->xn;
        double l = L->xc == 1 ? row_lse(x, L->c, 1) : row_lse(x, L->c, L->xc);
        lse[r] = (float)l;
        int64_t k = L->t[(n0 + r) * L->tn];
        if (k != L->ignore) loss += l - (double)x[k * L->xc];
    }
    return loss;
}

static double chunk_forward(const ce_layout *L, int64_t k, float *lse)
{
    int64_t n, s0, len;
    chunk_at(L, k, &n, &s0, &len);
    if (L->s == 1) return row_forward(L, n, len, lse + n);
    return column_forward(L, n, s0, len, lse + n * L->s + s0);
}

/* ---- forward ---- */

/* The loss over a's positions, lse into lse; NULL with error. */
static tg_tensor *forward(const ce_args *a, tg_tensor *lse)
{
    const ce_layout *L = &a->L;
    int64_t nchunks = chunk_count(L);
    double *part = malloc((size_t)(nchunks ? nchunks : 1) * sizeof *part);
    if (!part) {
        TG_FAIL("cross_entropy: out of memory");
        return NULL;
    }
    float *l = tg_data_f32(lse);
#pragma omp parallel for if (L->n * L->s * L->c >= TG_PARALLEL_GRAIN && nchunks > 1) schedule(static)
    for (int64_t k = 0; k < nchunks; k++) part[k] = chunk_forward(L, k, l);
    double sum = 0.0;
    for (int64_t k = 0; k < nchunks; k++) sum += part[k];
    free(part);
    return tg_scalar(a->count ? (float)(sum / (double)a->count) : NAN);
}

tg_tensor *tg_k_cross_entropy(tg_tensor *logits, tg_tensor *target, int64_t ignore_index, tg_tensor **lse)
{
    if (lse) *lse = NULL;
    if (TG_NEED("cross_entropy", logits, target)) return NULL;
    ce_args a;
    tg_tensor *out = NULL, *l = NULL;
    if (!open_args(&a, logits, target, ignore_index)) l = tg_empty(target->ndim, target->shape, TG_FLOAT32);
    if (l) out = forward(&a, l);
    close_args(&a);
    if (out && lse) *lse = tg_retain(l);
    tg_release(l);
    return out;
}

/* ---- backward ---- */

/* Columns s0.. of sample n: softmax * scale into o (N,C,S) where keep[j]
 * (the target counts), else 0. */
static inline __attribute__((always_inline)) void column_grad(const ce_layout *L, const float *x, int64_t xs,
                                                              const int32_t *keep, const float *lse, float scale,
                                                              int64_t len, float *o)
{
    for (int64_t k = 0; k < L->c; k++)
        for (int64_t j = 0; j < len; j++)
            o[k * L->s + j] = pick(keep[j] != 0, exp_lane(x[k * L->xc + j * xs] - lse[j]) * scale, 0.0f);
}

/* The gradient of chunk (n, s0, len): softmax * scale, then minus scale at
 * each target (the same expression as (p - 1) * scale). */
static void column_backward(const ce_layout *L, int64_t n, int64_t s0, int64_t len, const float *lse, float scale,
                            float *out)
{
    const float *x = L->x + n * L->xn + s0 * L->xs;
    const int64_t *t = L->t + n * L->tn + s0 * L->ts;
    int32_t keep[COLS];
    for (int64_t j = 0; j < len; j++) keep[j] = t[j * L->ts] != L->ignore;
    float *o = out + n * L->c * L->s + s0;
    if (L->xs == 1) column_grad(L, x, 1, keep, lse, scale, len, o);
    else column_grad(L, x, L->xs, keep, lse, scale, len, o);
    for (int64_t j = 0; j < len; j++) {
        int64_t k = t[j * L->ts];
        if (keep[j]) o[k * L->s + j] = (exp_lane(x[k * L->xc + j * L->xs] - lse[j]) - 1.0f) * scale;
    }
}

static void row_backward(const ce_layout *L, int64_t n0, int64_t len, const float *lse, float scale, float *out)
{
    for (int64_t r = 0; r < len; r++) {
        const float *x = L->x + (n0 + r) * L->xn;
        int64_t t = L->t[(n0 + r) * L->tn];
        float *o = out + (n0 + r) * L->c;
        if (t == L->ignore) {
            memset(o, 0, (size_t)L->c * sizeof *o);
            continue;
        }
        for (int64_t k = 0; k < L->c; k++) o[k] = exp_lane(x[k * L->xc] - lse[r]) * scale;
        o[t] = (exp_lane(x[t * L->xc] - lse[r]) - 1.0f) * scale;
    }
}

static void chunk_backward(const ce_layout *L, int64_t k, const float *lse, float scale, float *out)
{
    int64_t n, s0, len;
    chunk_at(L, k, &n, &s0, &len);
    if (L->s == 1) row_backward(L, n, len, lse + n, scale, out);
    else column_backward(L, n, s0, len, lse + n * L->s + s0, scale, out);
}

static int check_backward_args(const tg_tensor *g, const tg_tensor *target, const tg_tensor *lse)
{
    if (g->dtype != TG_FLOAT32 || tg_numel(g) != 1)
        return TG_FAIL("cross_entropy_backward: g must be one float32 element (has %" PRId64 ")", tg_numel(g));
    if (lse->dtype != TG_FLOAT32 || !tg_same_shape(lse, target))
        return TG_FAIL("cross_entropy_backward: lse must be float32 of the target's shape");
    return 0;
}

/* The gradient at a's positions, in a new tensor shaped like the logits. */
static tg_tensor *backward(const ce_args *a, const tg_tensor *g, tg_tensor *lse, const tg_tensor *logits)
{
    tg_tensor *out = tg_empty(logits->ndim, logits->shape, TG_FLOAT32);
    if (!out) return NULL;
    const ce_layout *L = &a->L;
    float gv = ((const float *)g->storage->data)[g->offset];
    float scale = a->count ? gv / (float)a->count : 0.0f;
    const float *l = tg_data_f32(lse);
    float *o = tg_data_f32(out);
    int64_t nchunks = chunk_count(L);
#pragma omp parallel for if (L->n * L->s * L->c >= TG_PARALLEL_GRAIN && nchunks > 1) schedule(static)
    for (int64_t k = 0; k < nchunks; k++) chunk_backward(L, k, l, scale, o);
    return out;
}

tg_tensor *tg_k_cross_entropy_backward(tg_tensor *g, tg_tensor *logits, tg_tensor *target, tg_tensor *lse,
                                       int64_t ignore_index)
{
    if (!g || !logits || !target || !lse || check_backward_args(g, target, lse)) return NULL;
    ce_args a;
    tg_tensor *l = NULL, *out = NULL;
    if (!open_args(&a, logits, target, ignore_index)) l = tg_k_contiguous(lse);
    if (l) out = backward(&a, g, l, logits);
    close_args(&a);
    tg_release(l);
    return out;
}
