/* Layer, RMS and group normalisation (see internal/layer_norm.h), fused: one
 * pass for a row's statistics (in double), one for its output; the
 * backward one pass for a row's two sums, one for its dx. Rows are split
 * over threads; the weight's and bias's gradients are summed in fixed
 * blocks of rows, the blocks then added in order: the same bits for any
 * thread count. A row's sums run in LANES double lanes added in order, and
 * rows whose values are one channel each (layer and RMS norm) take loops
 * without the channel lookup: both vectorise. */
#include "tensor/internal/layer_norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

enum { BLOCK_ROWS = 64, LANES = 8 }; /* rows a block of the weight's gradient sums; lanes of a row's sums */

/* x as rows of d values, and which of the channels weight entries each
 * value takes: value k of row r is channel (r mod groups) d / spatial +
 * k / spatial (layer norm: one group, spatial 1, channel k; group norm:
 * rows (n, group), each its channels' spatial runs). */
typedef struct {
    int64_t rows, d;
    int64_t groups, spatial, channels;
} ln_shape;

static inline int64_t channel_of(const ln_shape *s, int64_t r, int64_t k)
{
    return r % s->groups * (s->d / s->spatial) + k / s->spatial;
}

/* Whether value k of every row is channel k (layer and RMS norm). */
static inline bool plain(const ln_shape *s) { return s->groups == 1 && s->spatial == 1; }

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
    s->groups = s->spatial = 1;
    s->channels = s->d;
    return 0;
}

/* Fails unless t (weight or bias, may be NULL) is 1-D of c floats. */
static int check_channels(const char *op, const char *what, const tg_tensor *t, int64_t c)
{
    if (!t || (t->ndim == 1 && t->shape[0] == c && t->dtype == TG_FLOAT32)) return 0;
    char b[TG_SHAPE_STR_LEN];
    return TG_FAIL("%s: %s has shape %s (%s), not (%lld): one value a channel", op, what,
                   tg_shape_str(t->ndim, t->shape, b, sizeof b), tg_dtype_name(t->dtype), (long long)c);
}

/* Group norm's rows: x (N, C, *) as N G rows of C / G channels' spatial
 * values. */
static int group_shape_of(const tg_tensor *x, int64_t groups, const tg_tensor *weight, const tg_tensor *bias,
                          ln_shape *s)
{
    const char *op = "group_norm";
    if (TG_NEED(op, x) || tg_iter_check_f32(op, 1, (tg_tensor *const *)&x)) return -1;
    if (x->ndim < 2 || groups < 1 || x->shape[1] % groups)
        return TG_FAIL("%s: needs an input (N, C, ...) whose C is a multiple of %lld groups, got a %d-dim input "
                       "with %lld channels", op, (long long)groups, x->ndim,
                       (long long)(x->ndim >= 2 ? x->shape[1] : 0));
    int64_t c = x->shape[1];
    if (check_channels(op, "weight", weight, c) || check_channels(op, "bias", bias, c)) return -1;
    s->spatial = 1;
    for (int i = 2; i < x->ndim; i++) s->spatial *= x->shape[i];
    s->groups = groups, s->channels = c;
    s->d = c / groups * s->spatial;
    s->rows = x->shape[0] * groups;
    return 0;
}

static const float *data_or_null(tg_tensor *t) { return t ? tg_data_f32(t) : NULL; }

/* The sum of (x - centre)^p over x[0..d), p 1 or 2, in double lanes. */
TG_WIDEST_VECTORS static double sum_lanes(const float *x, int64_t d, double centre, bool square)
{
    double lane[LANES] = {0};
    int64_t j = 0;
    for (; j + LANES <= d; j += LANES)
        for (int k = 0; k < LANES; k++) {
            double v = (double)x[j + k] - centre;
            lane[k] += square ? v * v : v;
        }
    double s = 0;
    for (int k = 0; k < LANES; k++) s += lane[k];
    for (; j < d; j++) s += square ? ((double)x[j] - centre) * ((double)x[j] - centre) : (double)x[j] - centre;
    return s;
}

/* A row's mean (0 for rms) and 1 / sqrt(variance + eps) (of x^2's mean
 * for rms), summed in double. */
static void row_stats(const float *x, int64_t d, float eps, bool rms, float *mean, float *rstd)
{
    double m = rms ? 0 : sum_lanes(x, d, 0, false) / (double)d, q = sum_lanes(x, d, m, true);
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(q / (double)d + (double)eps));
}

/* (x - mean) rstd w + b over a row whose values are one channel each. */
TG_WIDEST_VECTORS static void row_affine(const float *x, float *y, int64_t d, float mean, float rstd, const float *w,
                                         const float *b)
{
    for (int64_t j = 0; j < d; j++) y[j] = (x[j] - mean) * rstd * w[j] + b[j];
}

/* (x - mean) rstd, then w and b: x - mean first keeps the digits that
 * ATen's x rstd - mean rstd loses to cancellation for rows far from 0. */
static void row_forward(const ln_shape *s, int64_t r, const float *x, float *y, float mean, float rstd,
                        const float *w, const float *b)
{
    if (w && b && plain(s)) return row_affine(x, y, s->d, mean, rstd, w, b);
    for (int64_t j = 0; j < s->d; j++) {
        float v = (x[j] - mean) * rstd;
        int64_t c = w || b ? channel_of(s, r, j) : 0;
        y[j] = (w ? v * w[c] : v) + (b ? b[c] : 0.0f);
    }
}

/* The forward of any of the three over rows sh. */
static tg_tensor *forward(const ln_shape *sh, tg_tensor *x, tg_tensor *weight, tg_tensor *bias, float eps, bool rms,
                          tg_tensor **mean, tg_tensor **rstd)
{
    tg_tensor *xc = tg_k_contiguous(x), *y = xc ? tg_empty(x->ndim, x->shape, TG_FLOAT32) : NULL;
    tg_tensor *m = tg_empty(TG_SHAPE(sh->rows), TG_FLOAT32), *r = tg_empty(TG_SHAPE(sh->rows), TG_FLOAT32);
    if (!y || !m || !r) {
        tg_release(xc), tg_release(y), tg_release(m), tg_release(r);
        return NULL;
    }
    const float *xd = tg_data_f32(xc), *w = data_or_null(weight), *b = rms ? NULL : data_or_null(bias);
    float *yd = tg_data_f32(y), *md = tg_data_f32(m), *rd = tg_data_f32(r);
    int64_t d = sh->d;
#pragma omp parallel for if (sh->rows * d >= TG_PARALLEL_GRAIN && sh->rows > 1) schedule(static)
    for (int64_t i = 0; i < sh->rows; i++) {
        row_stats(xd + i * d, d, eps, rms, &md[i], &rd[i]);
        row_forward(sh, i, xd + i * d, yd + i * d, md[i], rd[i], w, b);
    }
    tg_release(xc);
    if (mean && !rms) *mean = tg_retain(m);
    if (rstd) *rstd = tg_retain(r);
    tg_release(m), tg_release(r);
    return y;
}

tg_tensor *tg_k_layer_norm(tg_tensor *x, int ndim, tg_tensor *weight, tg_tensor *bias, float eps, bool rms,
                           tg_tensor **mean, tg_tensor **rstd)
{
    ln_shape s;
    if (mean) *mean = NULL;
    if (rstd) *rstd = NULL;
    if (shape_of(rms ? "rms_norm" : "layer_norm", x, ndim, weight, rms ? NULL : bias, &s)) return NULL;
    return forward(&s, x, weight, bias, eps, rms, mean, rstd);
}

tg_tensor *tg_k_group_norm(tg_tensor *x, int64_t groups, tg_tensor *weight, tg_tensor *bias, float eps,
                           tg_tensor **mean, tg_tensor **rstd)
{
    ln_shape s;
    if (mean) *mean = NULL;
    if (rstd) *rstd = NULL;
    if (group_shape_of(x, groups, weight, bias, &s)) return NULL;
    return forward(&s, x, weight, bias, eps, false, mean, rstd);
}

/* ---- backward ---- */

typedef struct {
    const float *g, *x, *w, *mean, *rstd;
    ln_shape s;
    bool rms;
} ln_grad_job;

/* sum(g w) and sum(g w (x - m) r) over a row of one channel a value, in double lanes. */
TG_WIDEST_VECTORS static void plain_sums(const float *g, const float *x, const float *w, int64_t d, float m, float r,
                                         double *sh, double *shx)
{
    double a[LANES] = {0}, b[LANES] = {0};
    int64_t k = 0;
    for (; k + LANES <= d; k += LANES)
        for (int l = 0; l < LANES; l++) {
            double h = (double)g[k + l] * w[k + l];
            a[l] += h;
            b[l] += h * ((double)x[k + l] - m) * r;
        }
    *sh = *shx = 0;
    for (int l = 0; l < LANES; l++) *sh += a[l], *shx += b[l];
    for (; k < d; k++) {
        double h = (double)g[k] * w[k];
        *sh += h;
        *shx += h * ((double)x[k] - m) * r;
    }
}

TG_WIDEST_VECTORS static void plain_dx(const float *g, const float *x, const float *w, int64_t d, float m, float r,
                                       float mean_h, float mean_hx, float *dx)
{
    for (int64_t k = 0; k < d; k++) dx[k] = r * (g[k] * w[k] - (x[k] - m) * r * mean_hx - mean_h);
}

/* dx of row i: with h = g w, rstd (h - x_hat mean(h x_hat) - mean(h)) for
 * layer norm (x_hat = (x - mean) rstd), rstd (h - x_hat mean(h x_hat))
 * for rms (x_hat = x rstd); the sums in double. */
static void row_dx(const ln_grad_job *j, int64_t i, float *dx)
{
    int64_t d = j->s.d;
    const float *g = j->g + i * d, *x = j->x + i * d;
    float m = j->rms ? 0.0f : j->mean[i], r = j->rstd[i];
    double sh = 0, shx = 0;
    if (j->w && plain(&j->s)) {
        plain_sums(g, x, j->w, d, m, r, &sh, &shx);
    } else {
        for (int64_t k = 0; k < d; k++) {
            double h = (double)g[k] * (j->w ? j->w[channel_of(&j->s, i, k)] : 1.0f);
            sh += h;
            shx += h * ((double)x[k] - m) * r;
        }
    }
    float mean_h = j->rms ? 0.0f : (float)(sh / (double)d), mean_hx = (float)(shx / (double)d);
    if (j->w && plain(&j->s)) return plain_dx(g, x, j->w, d, m, r, mean_h, mean_hx, dx);
    for (int64_t k = 0; k < d; k++) {
        float h = g[k] * (j->w ? j->w[channel_of(&j->s, i, k)] : 1.0f), xhat = (x[k] - m) * r;
        dx[k] = r * (h - xhat * mean_hx - mean_h);
    }
}

/* dw += g x_hat and db += g over a row of one channel a value. */
TG_WIDEST_VECTORS static void plain_affine(const float *g, const float *x, int64_t d, float m, float r, double *dw,
                                           double *db)
{
    for (int64_t c = 0; c < d; c++) {
        dw[c] += (double)g[c] * (double)((x[c] - m) * r);
        db[c] += g[c];
    }
}

/* Sums over block k's rows of g x_hat (into dw) and of g (into db), by
 * channel, in double, each may be NULL. */
static void block_affine(const ln_grad_job *j, int64_t k, double *dw, double *db)
{
    int64_t d = j->s.d, end = k * BLOCK_ROWS + BLOCK_ROWS < j->s.rows ? k * BLOCK_ROWS + BLOCK_ROWS : j->s.rows;
    for (int64_t i = k * BLOCK_ROWS; i < end; i++) {
        const float *g = j->g + i * d, *x = j->x + i * d;
        float m = j->rms ? 0.0f : j->mean[i], r = j->rstd[i];
        if (dw && db && plain(&j->s)) {
            plain_affine(g, x, d, m, r, dw, db);
            continue;
        }
        for (int64_t c = 0; c < d; c++) {
            int64_t ch = channel_of(&j->s, i, c);
            if (dw) dw[ch] += (double)g[c] * (double)((x[c] - m) * r);
            if (db) db[ch] += g[c];
        }
    }
}

/* The weight's and bias's gradients (shape of weight) into *dw and *db,
 * either may be NULL. */
static int affine_grads(const ln_grad_job *j, const tg_tensor *weight, tg_tensor **dw, tg_tensor **db)
{
    int64_t d = j->s.channels, blocks = (j->s.rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    double *part = calloc((size_t)(2 * (blocks ? blocks : 1) * d + 1), sizeof *part);
    if (!part) return TG_FAIL("layer_norm backward: out of memory for %lld blocks of %lld sums", (long long)blocks,
                              (long long)d);
#pragma omp parallel for if (j->s.rows * j->s.d >= TG_PARALLEL_GRAIN && blocks > 1) schedule(static)
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

/* The backward of any of the three over rows s. */
static int backward(const char *op, const ln_shape *s, tg_tensor *g, tg_tensor *x, tg_tensor *weight, tg_tensor *mean,
                    tg_tensor *rstd, bool rms, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias)
{
    if (TG_NEED(op, g, rstd) || (!rms && TG_NEED(op, mean))) return -1;
    if (!tg_same_shape(g, x)) return TG_FAIL("%s: the gradient's shape differs from the input's", op);
    if ((dweight || dbias) && !weight) return TG_FAIL("%s: affine gradients asked without a weight", op);
    tg_tensor *gc = tg_k_contiguous(g), *xc = tg_k_contiguous(x);
    int rc = gc && xc ? 0 : -1;
    ln_grad_job j = {gc ? tg_data_f32(gc) : NULL, xc ? tg_data_f32(xc) : NULL, data_or_null(weight),
                     rms ? NULL : tg_data_f32(mean), tg_data_f32(rstd), *s, rms};
    if (!rc && dx && (*dx = tg_empty(x->ndim, x->shape, TG_FLOAT32))) {
        float *out = tg_data_f32(*dx);
#pragma omp parallel for if (s->rows * s->d >= TG_PARALLEL_GRAIN && s->rows > 1) schedule(static)
        for (int64_t i = 0; i < s->rows; i++) row_dx(&j, i, out + i * s->d);
    } else if (dx) {
        rc = -1;
    }
    if (!rc && (dweight || dbias)) rc = affine_grads(&j, weight, dweight, dbias);
    tg_release(gc), tg_release(xc);
    return rc;
}

/* Clears the wanted outputs, releasing what they hold when release. */
static void clear(tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias, bool release)
{
    tg_tensor **outs[] = {dx, dweight, dbias};
    for (int i = 0; i < 3; i++)
        if (outs[i]) {
            if (release) tg_release(*outs[i]);
            *outs[i] = NULL;
        }
}

int tg_k_layer_norm_backward(tg_tensor *g, tg_tensor *x, int ndim, tg_tensor *weight, tg_tensor *mean,
                             tg_tensor *rstd, bool rms, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias)
{
    const char *op = rms ? "rms_norm backward" : "layer_norm backward";
    ln_shape s;
    clear(dx, dweight, dbias, false);
    int rc = shape_of(op, x, ndim, weight, NULL, &s);
    if (!rc) rc = backward(op, &s, g, x, weight, mean, rstd, rms, dx, dweight, dbias);
    if (rc) clear(dx, dweight, dbias, true);
    return rc;
}

int tg_k_group_norm_backward(tg_tensor *g, tg_tensor *x, int64_t groups, tg_tensor *weight, tg_tensor *mean,
                             tg_tensor *rstd, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias)
{
    ln_shape s;
    clear(dx, dweight, dbias, false);
    int rc = group_shape_of(x, groups, weight, NULL, &s);
    if (!rc) rc = backward("group_norm backward", &s, g, x, weight, mean, rstd, false, dx, dweight, dbias);
    if (rc) clear(dx, dweight, dbias, true);
    return rc;
}
