/* Layer and RMS normalisation (see internal/layer_norm.h), fused: one
 * pass for a row's statistics (in double), one for its output; the
 * backward one pass for a row's two sums, one for its dx. Rows are split
 * over threads; the weight's and bias's gradients are summed in fixed
 * blocks of rows, the blocks then added in order: the same bits for any
 * thread count. */
#include "tensor/internal/layer_norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

enum { BLOCK_ROWS = 64 }; /* rows a block of the weight's gradient sums */

/* x as rows of d values. */
typedef struct {
    int64_t rows, d;
} ln_shape;

/* Fails unless t (weight or bias, may be NULL) has x's last ndim dims. */
static int check_affine(const char *op, const char *what, const tg_tensor *t, const tg_tensor *x, int ndim)
{
    if (!t) return 0;
    bool same = t->ndim == ndim && t->dtype == TG_FLOAT32;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == x->shape[x->ndim - ndim + i];
    if (same) return 0;
    char s0[TG_SHAPE_STR_LEN], s1[TG_SHAPE_STR_LEN];
    return TG_FAIL("%s: %s has shape %s (%s), not the normalised shape: the last %d dims of %s", op, what,
                   tg_shape_str(t->ndim, t->shape, s0, sizeof s0), tg_dtype_name(t->dtype), ndim,
                   tg_shape_str(x->ndim, x->shape, s1, sizeof s1));
}

static int shape_of(const char *op, const tg_tensor *x, int ndim, const tg_tensor *weight, const tg_tensor *bias,
                    ln_shape *s)
{
    if (TG_NEED(op, x) || tg_iter_check_f32(op, 1, (tg_tensor *const *)&x)) return -1;
    if (ndim < 1 || ndim > x->ndim)
        return TG_FAIL("%s: normalises the last %d dims of a %d-dim input; needs 1 to %d", op, ndim, x->ndim,
                       x->ndim);
    if (check_affine(op, "weight", weight, x, ndim) || check_affine(op, "bias", bias, x, ndim)) return -1;
    s->d = 1;
    for (int i = x->ndim - ndim; i < x->ndim; i++) s->d *= x->shape[i];
    s->rows = s->d ? tg_numel(x) / s->d : 0;
    return 0;
}

static const float *data_or_null(tg_tensor *t) { return t ? tg_data_f32(t) : NULL; }

/* A row's mean (0 for rms) and 1 / sqrt(variance + eps) (of x^2's mean
 * for rms), summed in double. */
static void row_stats(const float *x, int64_t d, float eps, bool rms, float *mean, float *rstd)
{
    double s = 0, q = 0;
    if (!rms)
        for (int64_t j = 0; j < d; j++) s += x[j];
    double m = rms ? 0 : s / (double)d;
    for (int64_t j = 0; j < d; j++) q += ((double)x[j] - m) * ((double)x[j] - m);
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(q / (double)d + (double)eps));
}

/* (x - mean) rstd, then w and b: x - mean first keeps the digits that
 * ATen's x rstd - mean rstd loses to cancellation for rows far from 0. */
static void row_forward(const float *x, float *y, int64_t d, float mean, float rstd, const float *w, const float *b)
{
    for (int64_t j = 0; j < d; j++) {
        float v = (x[j] - mean) * rstd;
        y[j] = (w ? v * w[j] : v) + (b ? b[j] : 0.0f);
    }
}

tg_tensor *tg_k_layer_norm(tg_tensor *x, int ndim, tg_tensor *weight, tg_tensor *bias, float eps, bool rms,
                           tg_tensor **mean, tg_tensor **rstd)
{
    const char *op = rms ? "rms_norm" : "layer_norm";
    ln_shape s;
    if (mean) *mean = NULL;
    if (rstd) *rstd = NULL;
    if (shape_of(op, x, ndim, weight, rms ? NULL : bias, &s)) return NULL;
    tg_tensor *xc = tg_k_contiguous(x), *y = xc ? tg_empty(x->ndim, x->shape, TG_FLOAT32) : NULL;
    tg_tensor *m = tg_empty(TG_SHAPE(s.rows), TG_FLOAT32), *r = tg_empty(TG_SHAPE(s.rows), TG_FLOAT32);
    if (!y || !m || !r) {
        tg_release(xc), tg_release(y), tg_release(m), tg_release(r);
        return NULL;
    }
    const float *xd = tg_data_f32(xc), *w = data_or_null(weight), *b = rms ? NULL : data_or_null(bias);
    float *yd = tg_data_f32(y), *md = tg_data_f32(m), *rd = tg_data_f32(r);
#pragma omp parallel for if (s.rows * s.d >= TG_PARALLEL_GRAIN && s.rows > 1) schedule(static)
    for (int64_t i = 0; i < s.rows; i++) {
        row_stats(xd + i * s.d, s.d, eps, rms, &md[i], &rd[i]);
        row_forward(xd + i * s.d, yd + i * s.d, s.d, md[i], rd[i], w, b);
    }
    tg_release(xc);
    if (mean && !rms) *mean = tg_retain(m);
    if (rstd) *rstd = tg_retain(r);
    tg_release(m), tg_release(r);
    return y;
}

/* ---- backward ---- */

typedef struct {
    const float *g, *x, *w, *mean, *rstd;
    ln_shape s;
    bool rms;
} ln_grad_job;

/* dx of row i: with h = g w, rstd (h - x_hat mean(h x_hat) - mean(h)) for
 * layer norm (x_hat = (x - mean) rstd), rstd (h - x_hat mean(h x_hat))
 * for rms (x_hat = x rstd); the sums in double. */
static void row_dx(const ln_grad_job *j, int64_t i, float *dx)
{
    int64_t d = j->s.d;
    const float *g = j->g + i * d, *x = j->x + i * d;
    float m = j->rms ? 0.0f : j->mean[i], r = j->rstd[i];
    double sh = 0, shx = 0;
    for (int64_t k = 0; k < d; k++) {
        double h = (double)g[k] * (j->w ? j->w[k] : 1.0f);
        sh += h;
        shx += h * ((double)x[k] - m) * r;
    }
    float mean_h = j->rms ? 0.0f : (float)(sh / (double)d), mean_hx = (float)(shx / (double)d);
    for (int64_t k = 0; k < d; k++) {
        float h = g[k] * (j->w ? j->w[k] : 1.0f), xhat = (x[k] - m) * r;
        dx[k] = r * (h - xhat * mean_hx - mean_h);
    }
}

/* Sums over block k's rows of g x_hat (into dw) and of g (into db), in
 * double, each may be NULL. */
static void block_affine(const ln_grad_job *j, int64_t k, double *dw, double *db)
{
    int64_t d = j->s.d, end = k * BLOCK_ROWS + BLOCK_ROWS < j->s.rows ? k * BLOCK_ROWS + BLOCK_ROWS : j->s.rows;
    for (int64_t i = k * BLOCK_ROWS; i < end; i++) {
        const float *g = j->g + i * d, *x = j->x + i * d;
        float m = j->rms ? 0.0f : j->mean[i], r = j->rstd[i];
        for (int64_t c = 0; c < d; c++) {
            if (dw) dw[c] += (double)g[c] * (double)((x[c] - m) * r);
            if (db) db[c] += g[c];
        }
    }
}

/* The weight's and bias's gradients (shape of weight) into *dw and *db,
 * either may be NULL. */
static int affine_grads(const ln_grad_job *j, const tg_tensor *weight, tg_tensor **dw, tg_tensor **db)
{
    int64_t d = j->s.d, blocks = (j->s.rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    double *part = calloc((size_t)(2 * (blocks ? blocks : 1) * d + 1), sizeof *part);
    if (!part) return TG_FAIL("layer_norm backward: out of memory for %lld blocks of %lld sums", (long long)blocks,
                              (long long)d);
#pragma omp parallel for if (j->s.rows * d >= TG_PARALLEL_GRAIN && blocks > 1) schedule(static)
    for (int64_t k = 0; k < blocks; k++)
        block_affine(j, k, dw ? part + 2 * k * d : NULL, db ? part + (2 * k + 1) * d : NULL);
    int rc = 0;
    for (int which = 0; which < 2 && !rc; which++) {
        tg_tensor **out = which ? db : dw;
        if (!out) continue;
        if (!(*out = tg_empty(weight->ndim, weight->shape, TG_FLOAT32))) rc = -1;
        for (int64_t c = 0; !rc && c < d; c++) {
            double s = 0;
            for (int64_t k = 0; k < blocks; k++) s += part[(2 * k + which) * d + c];
            tg_data_f32(*out)[c] = (float)s;
        }
    }
    free(part);
    return rc;
}

int tg_k_layer_norm_backward(tg_tensor *g, tg_tensor *x, int ndim, tg_tensor *weight, tg_tensor *mean,
                             tg_tensor *rstd, bool rms, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias)
{
    const char *op = rms ? "rms_norm backward" : "layer_norm backward";
    ln_shape s;
    if (dx) *dx = NULL;
    if (dweight) *dweight = NULL;
    if (dbias) *dbias = NULL;
    if (shape_of(op, x, ndim, weight, NULL, &s) || TG_NEED(op, g, rstd) || (!rms && TG_NEED(op, mean))) return -1;
    if (!tg_same_shape(g, x)) return TG_FAIL("%s: the gradient's shape differs from the input's", op);
    if ((dweight || dbias) && !weight) return TG_FAIL("%s: affine gradients asked without a weight", op);
    tg_tensor *gc = tg_k_contiguous(g), *xc = tg_k_contiguous(x);
    int rc = gc && xc ? 0 : -1;
    ln_grad_job j = {gc ? tg_data_f32(gc) : NULL, xc ? tg_data_f32(xc) : NULL, data_or_null(weight),
                     rms ? NULL : tg_data_f32(mean), tg_data_f32(rstd), s, rms};
    if (!rc && dx && (*dx = tg_empty(x->ndim, x->shape, TG_FLOAT32))) {
        float *out = tg_data_f32(*dx);
#pragma omp parallel for if (s.rows * s.d >= TG_PARALLEL_GRAIN && s.rows > 1) schedule(static)
        for (int64_t i = 0; i < s.rows; i++) row_dx(&j, i, out + i * s.d);
    } else if (dx) {
        rc = -1;
    }
    if (!rc && (dweight || dbias)) rc = affine_grads(&j, weight, dweight, dbias);
    tg_release(gc), tg_release(xc);
    if (rc) {
        if (dx) tg_release(*dx), *dx = NULL;
        if (dweight) tg_release(*dweight), *dweight = NULL;
        if (dbias) tg_release(*dbias), *dbias = NULL;
    }
    return rc;
}
