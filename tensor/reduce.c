/* Reductions: each output element walks its reduced elements with an
 * odometer over the (merged) reduced dims; outputs are split over threads.
 * Softmax and log_softmax walk rows of a contiguous copy, one row per
 * output slice along the dim, rows split over threads. */
#include "tensor/internal/reduce.h"
#include "tensor/internal/check.h"
#include "tensor/internal/storage.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

/* R_SQDEV sums squared deviations from a given centre (var's second pass). */
typedef enum { R_SUM, R_SQDEV, R_MAX, R_MIN } reduce_op;

typedef struct {
    int64_t nout, nred;
    int kept_nd, red_nd;
    int64_t kept_shape[TG_MAX_DIMS], kept_stride[TG_MAX_DIMS];
    int64_t red_shape[TG_MAX_DIMS], red_stride[TG_MAX_DIMS];
    int out_nd;
    int64_t out_shape[TG_MAX_DIMS];
} reduce_plan;

/* Parses dims into a mask of reduced dims; ndims == 0 means all. */
static int reduce_mask(const char *op, const tg_tensor *t, int ndims, const int *dims, bool *mask)
{
    if (TG_NEED_RANGE(op, ndims, 0, t->ndim ? t->ndim : 1) || (ndims > 0 && TG_NEED(op, dims))) return -1;
    for (int i = 0; i < TG_MAX_DIMS; i++) mask[i] = ndims == 0;
    for (int k = 0; k < ndims; k++) {
        int d = tg_wrap_dim(op, dims[k], t->ndim);
        if (d < 0) return -1;
        if (t->ndim == 0) continue;
        if (mask[d]) return TG_FAIL("%s: dim %d listed twice", op, d);
        mask[d] = true;
    }
    return 0;
}

static void merge_dims(int *nd, int64_t *shape, int64_t *stride)
{
    int n = 0;
    for (int i = 0; i < *nd; i++) {
        if (shape[i] == 1) continue;
        if (n > 0 && stride[n - 1] == stride[i] * shape[i]) {
            shape[n - 1] *= shape[i];
            stride[n - 1] = stride[i];
            continue;
        }
        shape[n] = shape[i];
        stride[n++] = stride[i];
    }
    *nd = n;
}

static int make_plan(const char *op, const tg_tensor *t, int ndims, const int *dims, bool keepdim,
                     reduce_plan *p)
{
    bool mask[TG_MAX_DIMS];
    if (reduce_mask(op, t, ndims, dims, mask)) return -1;
    memset(p, 0, sizeof *p);
    p->nout = p->nred = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (mask[i]) {
            p->red_shape[p->red_nd] = t->shape[i];
            p->red_stride[p->red_nd++] = t->stride[i];
            p->nred *= t->shape[i];
            if (keepdim) p->out_shape[p->out_nd++] = 1;
        } else {
            p->kept_shape[p->kept_nd] = t->shape[i];
            p->kept_stride[p->kept_nd++] = t->stride[i];
            p->nout *= t->shape[i];
            p->out_shape[p->out_nd++] = t->shape[i];
        }
    }
    merge_dims(&p->red_nd, p->red_shape, p->red_stride);
    return 0;
}

/* Offset of output element o's first input element. */
static int64_t kept_offset(const reduce_plan *p, int64_t o)
{
    int64_t off = 0;
    for (int i = p->kept_nd - 1; i >= 0; i--) {
        off += (o % p->kept_shape[i]) * p->kept_stride[i];
        o /= p->kept_shape[i];
    }
    return off;
}

/* Reduces the elements of one output starting at x (double accumulator);
 * centre is used by R_SQDEV only. */
static double reduce_one(const reduce_plan *p, const float *x, reduce_op op, double init, double centre)
{
    double acc = init;
    if (p->nred == 0) return acc;
    int64_t idx[TG_MAX_DIMS] = {0};
    int last = p->red_nd - 1;
    int64_t n = last >= 0 ? p->red_shape[last] : 1, s = last >= 0 ? p->red_stride[last] : 0;
    for (;;) {
        switch (op) {
        case R_SUM:
            for (int64_t i = 0; i < n; i++) acc += x[i * s];
            break;
        case R_SQDEV:
            for (int64_t i = 0; i < n; i++) acc += (x[i * s] - centre) * (x[i * s] - centre);
            break;
        case R_MAX:
            for (int64_t i = 0; i < n; i++) acc = x[i * s] > acc || isnan(x[i * s]) ? x[i * s] : acc;
            break;
        case R_MIN:
            for (int64_t i = 0; i < n; i++) acc = x[i * s] < acc || isnan(x[i * s]) ? x[i * s] : acc;
            break;
        }
        int d = last - 1;
        for (; d >= 0; d--) {
            x += p->red_stride[d];
            if (++idx[d] < p->red_shape[d]) break;
            x -= p->red_stride[d] * p->red_shape[d];
            idx[d] = 0;
        }
        if (d < 0) return acc;
    }
}

static int check_float(const char *name, const tg_tensor *t)
{
    if (t->dtype == TG_FLOAT32) return 0;
    return TG_FAIL("%s: tensor is %s; this op takes float32", name, tg_dtype_name(t->dtype));
}

/* Checks t, plans the reduction and allocates its float32 output; *x gets
 * t's first element. empty_ok allows reducing zero elements. */
static tg_tensor *reduce_begin(const char *name, tg_tensor *t, int ndims, const int *dims, bool keepdim,
                               bool empty_ok, reduce_plan *p, const float **x)
{
    if (TG_NEED(name, t)) return NULL;
    if (check_float(name, t) || make_plan(name, t, ndims, dims, keepdim, p)) return NULL;
    if (!empty_ok && p->nred == 0) {
        TG_FAIL("%s: cannot reduce over an empty dim", name);
        return NULL;
    }
    *x = (const float *)t->storage->data + t->offset;
    return tg_empty(p->out_nd, p->out_shape, TG_FLOAT32);
}

/* Whether the input is rows of nout contiguous outputs, rows p->red_stride[0]
 * apart and nothing else reduced: a bias gradient's column sums. */
static bool sums_columns(const reduce_plan *p)
{
    int nd = p->kept_nd;
    int64_t shape[TG_MAX_DIMS], stride[TG_MAX_DIMS];
    memcpy(shape, p->kept_shape, sizeof shape);
    memcpy(stride, p->kept_stride, sizeof stride);
    merge_dims(&nd, shape, stride);
    return p->red_nd == 1 && p->nout > 1 && nd == 1 && stride[0] == 1 && p->red_stride[0] >= p->nout;
}

enum { COLUMN_BLOCK = 256 };

/* Column sums, a block of columns at a time, a row after another: each
 * output's sum in the same order, in double, as reduce_one's, but reading
 * memory in rows (vectorised) rather than down each column. */
static void sum_columns(const reduce_plan *p, const float *x, float *o, double scale)
{
    int64_t rows = p->red_shape[0], row_stride = p->red_stride[0], cols = p->nout;
    int64_t blocks = (cols + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for if (cols * rows >= TG_PARALLEL_GRAIN && blocks > 1) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        double acc[COLUMN_BLOCK] = {0};
        int64_t first = b * COLUMN_BLOCK, n = cols - first < COLUMN_BLOCK ? cols - first : COLUMN_BLOCK;
        for (int64_t r = 0; r < rows; r++) {
            const float *row = x + r * row_stride + first;
            for (int64_t j = 0; j < n; j++) acc[j] += row[j];
        }
        for (int64_t j = 0; j < n; j++) o[first + j] = (float)(acc[j] * scale);
    }
}

static tg_tensor *reduce(const char *name, tg_tensor *t, int ndims, const int *dims, bool keepdim, reduce_op op,
                         double init, bool mean)
{
    reduce_plan p;
    const float *x = NULL;
    tg_tensor *out = reduce_begin(name, t, ndims, dims, keepdim, op == R_SUM, &p, &x);
    if (!out) return NULL;
    float *o = tg_data_f32(out);
    double scale = mean ? 1.0 / (double)p.nred : 1.0;
    if (op == R_SUM && sums_columns(&p)) {
        sum_columns(&p, x, o, scale);
        return out;
    }
#pragma omp parallel for if (p.nout * p.nred >= TG_PARALLEL_GRAIN && p.nout > 1) schedule(static)
    for (int64_t i = 0; i < p.nout; i++)
        o[i] = (float)(reduce_one(&p, x + kept_offset(&p, i), op, init, 0.0) * scale);
    return out;
}

tg_tensor *tg_k_sum(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    return reduce("sum", t, ndims, dims, keepdim, R_SUM, 0.0, false);
}

tg_tensor *tg_k_mean(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    return reduce("mean", t, ndims, dims, keepdim, R_SUM, 0.0, true);
}

tg_tensor *tg_k_amax(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    return reduce("amax", t, ndims, dims, keepdim, R_MAX, -INFINITY, false);
}

tg_tensor *tg_k_amin(tg_tensor *t, int ndims, const int *dims, bool keepdim)
{
    return reduce("amin", t, ndims, dims, keepdim, R_MIN, INFINITY, false);
}

/* Two passes per output: the mean, then the sum of squared deviations from
 * it. Dividing by n - 1 with n == 1 gives NaN, as torch.var does. */
tg_tensor *tg_k_var(tg_tensor *t, int ndims, const int *dims, bool unbiased, bool keepdim)
{
    reduce_plan p;
    const float *x = NULL;
    tg_tensor *out = reduce_begin("var", t, ndims, dims, keepdim, true, &p, &x);
    if (!out) return NULL;
    float *o = tg_data_f32(out);
    double n = (double)p.nred, denom = n - (unbiased ? 1.0 : 0.0);
#pragma omp parallel for if (p.nout * p.nred >= TG_PARALLEL_GRAIN && p.nout > 1) schedule(static)
    for (int64_t i = 0; i < p.nout; i++) {
        const float *xi = x + kept_offset(&p, i);
        double mean = n > 0 ? reduce_one(&p, xi, R_SUM, 0.0, 0.0) / n : NAN;
        double ss = reduce_one(&p, xi, R_SQDEV, 0.0, mean);
        o[i] = denom > 0 ? (float)(ss / denom) : NAN;
    }
    return out;
}

/* ---- argmax / argmin ---- */

/* Index of the first maximum (sign > 0) or minimum (sign < 0) of the n
 * elements x[0], x[s], ...; a NaN counts as the extreme, as in torch. */
static int64_t arg_extreme(const float *x, int64_t n, int64_t s, int sign)
{
    int64_t best = 0;
    float b = x[0];
    for (int64_t i = 1; i < n && !isnan(b); i++) {
        float v = x[i * s];
        if ((sign > 0 ? v > b : v < b) || isnan(v)) {
            b = v;
            best = i;
        }
    }
    return best;
}

static tg_tensor *arg_reduce(const char *name, tg_tensor *t, int dim, bool keepdim, int sign)
{
    if (TG_NEED(name, t)) return NULL;
    reduce_plan p;
    if (check_float(name, t) || make_plan(name, t, 1, &dim, keepdim, &p)) return NULL;
    if (p.nred == 0) {
        TG_FAIL("%s: cannot reduce over an empty dim", name);
        return NULL;
    }
    tg_tensor *out = tg_empty(p.out_nd, p.out_shape, TG_INT64);
    if (!out) return NULL;
    int64_t *o = tg_data_i64(out);
    const float *x = (const float *)t->storage->data + t->offset;
    /* One dim is reduced: after merging, red_nd is 0 (size 1) or 1. */
    int64_t s = p.red_nd ? p.red_stride[0] : 0;
#pragma omp parallel for if (p.nout * p.nred >= TG_PARALLEL_GRAIN && p.nout > 1) schedule(static)
    for (int64_t i = 0; i < p.nout; i++) o[i] = arg_extreme(x + kept_offset(&p, i), p.nred, s, sign);
    return out;
}

tg_tensor *tg_k_argmax(tg_tensor *t, int dim, bool keepdim) { return arg_reduce("argmax", t, dim, keepdim, 1); }
tg_tensor *tg_k_argmin(tg_tensor *t, int dim, bool keepdim) { return arg_reduce("argmin", t, dim, keepdim, -1); }

/* ---- softmax / log_softmax ---- */

/* Partial sums per row: additions pipeline, and the order depends only on
 * the row's length, never on the thread count. */
enum { EXP_SUM_LANES = 8 };

/* y[i] = exp(x[i] - m) over a row of n at stride s; returns their sum in
 * double. */
static double exp_sum(const float *x, float *y, int64_t n, int64_t s, float m)
{
    double acc[EXP_SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + EXP_SUM_LANES <= n; i += EXP_SUM_LANES)
        for (int j = 0; j < EXP_SUM_LANES; j++) {
            float e = expf(x[(i + j) * s] - m);
            y[(i + j) * s] = e;
            acc[j] += e;
        }
    for (; i < n; i++) {
        float e = expf(x[i * s] - m);
        y[i * s] = e;
        acc[0] += e;
    }
    double sum = 0.0;
    for (int j = 0; j < EXP_SUM_LANES; j++) sum += acc[j];
    return sum;
}

/* One row of n elements at stride s: y = exp(x - max) / sum, or for log,
 * y = (x - max) - log(sum). Subtracting the max keeps exp finite. */
static void softmax_row(const float *x, float *y, int64_t n, int64_t s, bool as_log)
{
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i * s] > m || isnan(x[i * s]) ? x[i * s] : m;
    double sum = exp_sum(x, y, n, s, m);
    if (as_log) {
        double lse = log(sum);
        for (int64_t i = 0; i < n; i++) y[i * s] = (float)((double)(x[i * s] - m) - lse);
    } else {
        double inv = 1.0 / sum;
        for (int64_t i = 0; i < n; i++) y[i * s] = (float)(y[i * s] * inv);
    }
}

/* Views t as (outer, n, inner) with n along dim and runs each of the
 * outer * inner rows on one thread. */
static tg_tensor *softmax_common(const char *name, tg_tensor *t, int dim, bool as_log)
{
    if (TG_NEED(name, t)) return NULL;
    if (check_float(name, t)) return NULL;
    int d = tg_wrap_dim(name, dim, t->ndim);
    if (d < 0) return NULL;
    int64_t outer = 1, n = t->ndim ? t->shape[d] : 1, inner = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (i < d) outer *= t->shape[i];
        if (i > d) inner *= t->shape[i];
    }
    tg_tensor *c = tg_k_contiguous(t);
    tg_tensor *out = c ? tg_empty(t->ndim, t->shape, TG_FLOAT32) : NULL;
    if (!out) {
        tg_release(c);
        return NULL;
    }
    const float *x = tg_data_f32(c);
    float *y = tg_data_f32(out);
    int64_t rows = outer * inner;
#pragma omp parallel for if (rows * n >= TG_PARALLEL_GRAIN && rows > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t at = (r / inner) * n * inner + r % inner;
        softmax_row(x + at, y + at, n, inner, as_log);
    }
    tg_release(c);
    return out;
}

tg_tensor *tg_k_softmax(tg_tensor *t, int dim) { return softmax_common("softmax", t, dim, false); }
tg_tensor *tg_k_log_softmax(tg_tensor *t, int dim) { return softmax_common("log_softmax", t, dim, true); }
