/* Batch normalisation kernels (see internal/norm.h).
 *
 * x is walked as (N, C, S), S the product of the dims after C: channel c of
 * sample n is the row of S floats at (n C + c) S of a contiguous copy.
 * Channel sums run on one thread each, in an order fixed by the shape:
 * wide rows (S >= LANES) channel by channel in LANES interleaved double
 * accumulators; narrow rows ((N,C) inputs, small feature maps) a block of
 * channels at a time, sample by sample, one double accumulator per
 * channel, so memory is read in order. Channels (or blocks) are split over
 * threads. The statistics take one pass: the sums of d = x - centre and of
 * d^2, the centre one of the group's values.
 *
 * The elementwise passes work span by span: a piece of at most CHUNK
 * values of a wide row, or a block of narrow rows of one sample; rows
 * (wide) or samples (narrow) are split over threads. A fused relu (after
 * a residual, if any) is applied as each value is normalised. Backward
 * masks g by the relu in a buffer of one span, with the forward's own
 * loop (relu_span) reading x and g together: the mask is the forward's
 * bit for bit, and the output need not be kept. Sums and the passes run
 * at the widest vectors the CPU has (TG_WIDEST_VECTORS). */
#include "tensor/internal/norm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

enum { LANES = 8, BLOCK = 64, CHUNK = 512 };
_Static_assert(CHUNK % LANES == 0 && CHUNK >= BLOCK * (LANES - 1), "a span fits a buffer of CHUNK floats");

/* x as (N, C, S), its statistics in groups of per_group samples. */
typedef struct {
    int64_t n, c, s;
    int64_t groups, per_group;
} bn_shape;

/* Per-channel parameters as floats: mean and invstd (G,C), weight and
 * bias (C); the forward's y = scale (x - mean) + offset and the backward's
 * dx = a g + slope (x - mean) + shift, each coefficient (G,C). One
 * allocation, buf. */
typedef struct {
    float *mean, *invstd, *weight, *bias;
    float *scale, *offset, *a, *slope, *shift;
    float *buf;
} bn_params;

/* An elementwise pass's coefficients: out = a g + slope (x - mean) +
 * shift; a is NULL when there is no g term. */
typedef struct {
    const float *a, *slope, *shift, *mean;
} bn_coefs;

/* nc channels of s values each, contiguous, the first at (group, channel)
 * k of the (G,C) coefficients: a piece of a wide row (nc 1), or a block of
 * one sample's narrow rows. */
typedef struct {
    int64_t nc, s, k;
} bn_span;

/* One pass over contiguous arrays of x's shape: g (NULL in the forward), x,
 * the residual r (or NULL); out (y, or dx: NULL when not wanted) and dr
 * (the residual's gradient, or NULL). relu: the normalised x, plus r, goes
 * through a relu; masked: dr already holds g masked by it. */
typedef struct {
    const float *g, *x, *r;
    float *out, *dr;
    const bn_shape *b;
    const bn_params *p;
    bool relu, masked;
} bn_job;

static const char *shape_str(const tg_tensor *t, char *buf)
{
    return tg_shape_str(t->ndim, t->shape, buf, TG_SHAPE_STR_LEN);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int bn_shape_of(const tg_tensor *x, bn_shape *b)
{
    char s[TG_SHAPE_STR_LEN];
    if (x->dtype != TG_FLOAT32 || x->ndim < 2)
        return TG_FAIL("batch_norm: input must be float32 of shape (N,C,...), got %s %s", tg_dtype_name(x->dtype),
                       shape_str(x, s));
    b->n = x->shape[0];
    b->c = x->shape[1];
    b->s = 1;
    for (int d = 2; d < x->ndim; d++) b->s *= x->shape[d];
    b->groups = 1;
    b->per_group = b->n;
    return 0;
}

static int set_groups(bn_shape *b, int64_t groups, const tg_tensor *x)
{
    char s[TG_SHAPE_STR_LEN];
    if (groups < 1 || b->n % groups)
        return TG_FAIL("batch_norm: groups %lld does not divide the batch of input %s", (long long)groups,
                       shape_str(x, s));
    b->groups = groups;
    b->per_group = b->n / groups;
    return 0;
}

/* t must be float32 (C); what names it in the message. */
static int check_channels(const char *what, const tg_tensor *t, const tg_tensor *x)
{
    char s[TG_SHAPE_STR_LEN], xs[TG_SHAPE_STR_LEN];
    if (t->dtype == TG_FLOAT32 && t->ndim == 1 && t->shape[0] == x->shape[1]) return 0;
    return TG_FAIL("batch_norm: %s is %s %s, expected float32 (%lld) for input %s", what, tg_dtype_name(t->dtype),
                   shape_str(t, s), (long long)x->shape[1], shape_str(x, xs));
}

/* t (the residual, or a gradient: what) must be float32 of x's shape. */
static int check_like_input(const char *what, const tg_tensor *t, const tg_tensor *x)
{
    char s[TG_SHAPE_STR_LEN], xs[TG_SHAPE_STR_LEN];
    if (t->dtype == TG_FLOAT32 && tg_same_shape(t, x)) return 0;
    return TG_FAIL("batch_norm: %s is %s %s, expected float32 of the input's shape %s", what, tg_dtype_name(t->dtype),
                   shape_str(t, s), shape_str(x, xs));
}

/* mean and var must be float32 (C) or (G,C) with G dividing N; sets b's
 * groups. */
static int check_stats(const tg_tensor *mean, const tg_tensor *var, const tg_tensor *x, bn_shape *b)
{
    char ms[TG_SHAPE_STR_LEN], vs[TG_SHAPE_STR_LEN], xs[TG_SHAPE_STR_LEN];
    bool ok = mean->dtype == TG_FLOAT32 && tg_same_shape(mean, var) && var->dtype == TG_FLOAT32 &&
              (mean->ndim == 1 || mean->ndim == 2) && mean->shape[mean->ndim - 1] == b->c;
    if (!ok)
        return TG_FAIL("batch_norm: statistics %s and %s must both be float32 (%lld) or (G,%lld) for input %s",
                       shape_str(mean, ms), shape_str(var, vs), (long long)b->c, (long long)b->c, shape_str(x, xs));
    return set_groups(b, mean->ndim == 2 ? mean->shape[0] : 1, x);
}

/* ---- reading parameters ---- */

/* n values of t (or fill when t is NULL) into out. */
static int read_values(tg_tensor *t, float *out, int64_t n, float fill)
{
    if (t) return tg_copy_to_buffer(t, out);
    for (int64_t i = 0; i < n; i++) out[i] = fill;
    return 0;
}

static void free_params(bn_params *p) { free(p->buf); }

/* Loads mean, 1/sqrt(var + eps), weight (1 if NULL) and bias (0 if NULL),
 * and the forward's coefficients. */
static int load_params(bn_params *p, const bn_shape *b, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                       tg_tensor *bias, float eps)
{
    int64_t gc = b->groups * b->c;
    p->buf = malloc((size_t)(7 * gc + 2 * b->c + 1) * sizeof *p->buf);
    if (!p->buf) return TG_FAIL("batch_norm: out of memory");
    float **gc_arrays[] = {&p->mean, &p->invstd, &p->scale, &p->offset, &p->a, &p->slope, &p->shift};
    for (int i = 0; i < 7; i++) *gc_arrays[i] = p->buf + i * gc;
    p->weight = p->buf + 7 * gc;
    p->bias = p->weight + b->c;
    if (read_values(mean, p->mean, gc, 0) || read_values(var, p->invstd, gc, 0) ||
        read_values(weight, p->weight, b->c, 1) || read_values(bias, p->bias, b->c, 0)) {
        free_params(p);
        return -1;
    }
    for (int64_t k = 0; k < gc; k++) {
        p->invstd[k] = (float)(1.0 / sqrt((double)p->invstd[k] + eps));
        p->scale[k] = p->invstd[k] * p->weight[k % b->c];
        p->offset[k] = p->bias[k % b->c];
    }
    return 0;
}

static bn_coefs forward_coefs(const bn_params *p) { return (bn_coefs){NULL, p->scale, p->offset, p->mean}; }

static bn_coefs backward_coefs(const bn_params *p) { return (bn_coefs){p->a, p->slope, p->shift, p->mean}; }

/* ---- lane sums ---- */

static double lanes_total(const double *acc)
{
    double s = 0;
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

/* LANES floats or doubles as one value (GCC's vector extension, also
 * clang's): each clone keeps it in its widest registers, where GCC's
 * vectoriser gives up on the lane loops of a sum. */
typedef float lanes_f32 __attribute__((vector_size(LANES * sizeof(float))));
typedef double lanes_f64 __attribute__((vector_size(LANES * sizeof(double))));

/* s1 += d and s2 += d^2 for d = x - centre over x[0..n), lane j taking
 * the values at j mod LANES (the tail's from lane 0), in double, where the
 * square of a float's difference is exact. */
TG_WIDEST_VECTORS static void lanes_moments(double *s1, double *s2, const float *x, int64_t n, double centre)
{
    lanes_f64 a1, a2;
    memcpy(&a1, s1, sizeof a1);
    memcpy(&a2, s2, sizeof a2);
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        lanes_f32 xv;
        memcpy(&xv, x + i, sizeof xv);
        lanes_f64 d = __builtin_convertvector(xv, lanes_f64) - centre;
        a1 += d;
        a2 += d * d;
    }
    memcpy(s1, &a1, sizeof a1);
    memcpy(s2, &a2, sizeof a2);
    for (int j = 0; i < n; i++, j++) {
        double d = (double)x[i] - centre;
        s1[j] += d;
        s2[j] += d * d;
    }
}

/* sg += g, sgd += g (x - centre), lane by lane as lanes_moments; each
 * product in float (one rounding), the sums in double. */
TG_WIDEST_VECTORS static void lanes_grad(double *sg, double *sgd, const float *g, const float *x, int64_t n,
                                         float centre)
{
    lanes_f64 a1, a2;
    memcpy(&a1, sg, sizeof a1);
    memcpy(&a2, sgd, sizeof a2);
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        lanes_f32 gv, xv;
        memcpy(&gv, g + i, sizeof gv);
        memcpy(&xv, x + i, sizeof xv);
        a1 += __builtin_convertvector(gv, lanes_f64);
        a2 += __builtin_convertvector(gv * (xv - centre), lanes_f64);
    }
    memcpy(sg, &a1, sizeof a1);
    memcpy(sgd, &a2, sizeof a2);
    for (int j = 0; i < n; i++, j++) {
        sg[j] += g[i];
        sgd[j] += g[i] * (x[i] - centre);
    }
}

/* ---- narrow sums: nc channels of one sample, rows of s, acc[c] each ---- */

static bool narrow(const bn_shape *b) { return b->s < LANES; }

TG_WIDEST_VECTORS static void narrow_moments(double *s1, double *s2, const float *x, int64_t nc, int64_t s,
                                             const double *centre)
{
    if (s == 1)
        for (int64_t c = 0; c < nc; c++) {
            double d = (double)x[c] - centre[c];
            s1[c] += d;
            s2[c] += d * d;
        }
    else
        for (int64_t c = 0; c < nc; c++)
            for (int64_t i = 0; i < s; i++) {
                double d = (double)x[c * s + i] - centre[c];
                s1[c] += d;
                s2[c] += d * d;
            }
}

static void narrow_grad(double *sg, double *sgd, const float *g, const float *x, int64_t nc, int64_t s,
                        const float *centre)
{
    for (int64_t c = 0; c < nc; c++)
        for (int64_t i = 0; i < s; i++) {
            sg[c] += g[c * s + i];
            sgd[c] += g[c * s + i] * (x[c * s + i] - centre[c]);
        }
}

static const float *row_of(const float *x, const bn_shape *b, int64_t n, int64_t c)
{
    return x + (n * b->c + c) * b->s;
}

/* Sum units: channels (wide rows) or blocks of BLOCK channels (narrow). */
static int64_t units(const bn_shape *b) { return narrow(b) ? (b->c + BLOCK - 1) / BLOCK : b->c; }

/* ---- statistics ---- */

/* The mean and biased variance of m values from the sums of d = x - centre
 * and of d^2: E[d^2] - E[d]^2, where E[d] is of the order of the spread
 * (the centre is one of the values), so the difference keeps its digits.
 * Rounding may take it just below 0: then 0 (a NaN stays). */
static void finish_stats(double s1, double s2, double m, double centre, float *mean, float *var)
{
    double d = s1 / m, v = s2 / m - d * d;
    *mean = (float)(centre + d);
    *var = (float)(v < 0 ? 0 : v);
}

/* Mean and biased variance of channel c over group g's samples (wide). */
static void wide_stats(const float *x, const bn_shape *b, int64_t c, int64_t g, float *mean, float *var)
{
    double s1[LANES] = {0}, s2[LANES] = {0};
    int64_t first = g * b->per_group, end = first + b->per_group;
    double centre = row_of(x, b, first, c)[0];
    for (int64_t n = first; n < end; n++) lanes_moments(s1, s2, row_of(x, b, n, c), b->s, centre);
    finish_stats(lanes_total(s1), lanes_total(s2), (double)(b->per_group * b->s), centre, mean + c, var + c);
}

/* The same for the block of channels starting at c0 (narrow). */
static void narrow_stats(const float *x, const bn_shape *b, int64_t c0, int64_t g, float *mean, float *var)
{
    double s1[BLOCK] = {0}, s2[BLOCK] = {0}, centre[BLOCK];
    int64_t nc = min64(b->c - c0, BLOCK), first = g * b->per_group, end = first + b->per_group;
    for (int64_t c = 0; c < nc; c++) centre[c] = row_of(x, b, first, c0 + c)[0];
    for (int64_t n = first; n < end; n++) narrow_moments(s1, s2, row_of(x, b, n, c0), nc, b->s, centre);
    for (int64_t c = 0; c < nc; c++)
        finish_stats(s1[c], s2[c], (double)(b->per_group * b->s), centre[c], mean + c0 + c, var + c0 + c);
}

/* Every group's statistics into mean and var (G,C). One parallel loop per
 * kind of row, so each compiles on its own. */
static void all_stats(const float *x, const bn_shape *b, float *mean, float *var)
{
    int64_t nu = units(b);
    bool par = b->n * b->c * b->s >= TG_PARALLEL_GRAIN && nu > 1;
    if (narrow(b)) {
#pragma omp parallel for if (par) schedule(static)
        for (int64_t u = 0; u < nu; u++)
            for (int64_t g = 0; g < b->groups; g++) narrow_stats(x, b, u * BLOCK, g, mean + g * b->c, var + g * b->c);
        return;
    }
#pragma omp parallel for if (par) schedule(static)
    for (int64_t c = 0; c < nu; c++)
        for (int64_t g = 0; g < b->groups; g++) wide_stats(x, b, c, g, mean + g * b->c, var + g * b->c);
}

/* Fails unless each group has more than one value per channel. */
static int check_count(const bn_shape *b, const tg_tensor *x)
{
    char s[TG_SHAPE_STR_LEN];
    if (b->per_group * b->s > 1) return 0;
    return TG_FAIL("batch_norm: training needs more than 1 value per channel in each of the %lld groups, "
                   "got input %s", (long long)b->groups, shape_str(x, s));
}

int tg_k_batch_norm_stats(tg_tensor *x, int groups, tg_tensor **mean, tg_tensor **var)
{
    *mean = *var = NULL;
    bn_shape b;
    if (!x || bn_shape_of(x, &b) || set_groups(&b, groups, x) || check_count(&b, x)) return -1;
    tg_tensor *xc = tg_k_contiguous(x);
    tg_tensor *m = tg_empty(TG_SHAPE(b.groups, b.c), TG_FLOAT32), *v = tg_empty(TG_SHAPE(b.groups, b.c), TG_FLOAT32);
    if (!xc || !m || !v) {
        tg_release(xc), tg_release(m), tg_release(v);
        return -1;
    }
    const float *xd = tg_data_f32(xc);
    float *md = tg_data_f32(m), *vd = tg_data_f32(v);
    all_stats(xd, &b, md, vd);
    tg_release(xc);
    *mean = m;
    *var = v;
    return 0;
}

/* ---- spans ---- */

/* out = a g + slope (x - mean) + shift over n values of (group, channel)
 * k; g NULL drops its term. */
static inline void affine_row(const float *g, const float *x, float *out, int64_t n, const bn_coefs *co, int64_t k)
{
    float slope = co->slope[k], shift = co->shift[k], mu = co->mean[k];
    if (g) {
        float a = co->a[k];
        for (int64_t i = 0; i < n; i++) out[i] = a * g[i] + slope * (x[i] - mu) + shift;
    } else {
        for (int64_t i = 0; i < n; i++) out[i] = slope * (x[i] - mu) + shift;
    }
}

/* The same over a span; rows of one value run as one loop over the
 * channels. */
TG_WIDEST_VECTORS static void affine_span(const float *g, const float *x, float *out, const bn_span *sp,
                                          const bn_coefs *co)
{
    int64_t s = sp->s;
    if (s > 1) {
        for (int64_t c = 0; c < sp->nc; c++) affine_row(g ? g + c * s : NULL, x + c * s, out + c * s, s, co, sp->k + c);
        return;
    }
    const float *slope = co->slope + sp->k, *shift = co->shift + sp->k, *mu = co->mean + sp->k;
    if (g) {
        const float *a = co->a + sp->k;
        for (int64_t c = 0; c < sp->nc; c++) out[c] = a[c] * g[c] + slope[c] * (x[c] - mu[c]) + shift[c];
    } else {
        for (int64_t c = 0; c < sp->nc; c++) out[c] = slope[c] * (x[c] - mu[c]) + shift[c];
    }
}

/* Where z = slope (x - mean) + shift, plus r if any, is above 0 (or NaN),
 * out = z (the forward's relu) or, given g, g (backward's mask); else 0.
 * One expression serves both, so the mask is the forward's bit for bit. */
static inline void relu_row(const float *g, const float *x, const float *r, float *out, int64_t n, float slope,
                            float mu, float shift)
{
    for (int64_t i = 0; i < n; i++) {
        float z = slope * (x[i] - mu) + shift;
        z = r ? z + r[i] : z;
        out[i] = pick(z <= 0, 0.0f, g ? g[i] : z);
    }
}

/* The same over a span, rows of one value as one loop over the channels. */
TG_WIDEST_VECTORS static void relu_span(const float *g, const float *x, const float *r, float *out, const bn_span *sp,
                                        const bn_coefs *co)
{
    int64_t s = sp->s, k = sp->k;
    if (s > 1) {
        for (int64_t c = 0; c < sp->nc; c++)
            relu_row(g ? g + c * s : NULL, x + c * s, r ? r + c * s : NULL, out + c * s, s, co->slope[k + c],
                     co->mean[k + c], co->shift[k + c]);
        return;
    }
    const float *slope = co->slope + k, *shift = co->shift + k, *mu = co->mean + k;
    for (int64_t c = 0; c < sp->nc; c++) {
        float z = slope[c] * (x[c] - mu[c]) + shift[c];
        z = r ? z + r[c] : z;
        out[c] = pick(z <= 0, 0.0f, g ? g[c] : z);
    }
}

/* The forward over the span at value at. */
static void forward_span(const bn_job *j, int64_t at, const bn_span *sp)
{
    bn_coefs co = forward_coefs(j->p);
    if (j->relu) relu_span(NULL, j->x + at, j->r ? j->r + at : NULL, j->out + at, sp, &co);
    else affine_span(NULL, j->x + at, j->out + at, sp, &co);
}

/* The gradient reaching the normalisation over the span at value at: g
 * itself, or (after a relu) g masked by the relu: into dr, which is that
 * gradient's, or else into buf. */
static const float *reaching(const bn_job *j, int64_t at, const bn_span *sp, float *buf)
{
    if (!j->relu) return j->g + at;
    if (j->masked) return j->dr + at;
    float *masked = j->dr ? j->dr + at : buf;
    bn_coefs co = forward_coefs(j->p);
    relu_span(j->g + at, j->x + at, j->r ? j->r + at : NULL, masked, sp, &co);
    return masked;
}

/* dx (and dr, unless masked) over the span at value at. */
static void backward_span(const bn_job *j, int64_t at, const bn_span *sp)
{
    float buf[CHUNK];
    const float *g = reaching(j, at, sp, buf);
    bn_coefs co = backward_coefs(j->p);
    if (j->out) affine_span(g, j->x + at, j->out + at, sp, &co);
}

typedef void span_fn(const bn_job *j, int64_t at, const bn_span *sp);

/* Runs fn on every span of x: wide rows split over threads, each in
 * pieces of CHUNK, or narrow rows sample by sample, in blocks of BLOCK
 * channels. */
static void each_span(const bn_job *j, span_fn *fn)
{
    const bn_shape *b = j->b;
    int64_t rows = b->n * b->c;
    bool par = rows * b->s >= TG_PARALLEL_GRAIN;
    if (narrow(b)) {
#pragma omp parallel for if (par && b->n > 1) schedule(static)
        for (int64_t n = 0; n < b->n; n++)
            for (int64_t c0 = 0; c0 < b->c; c0 += BLOCK) {
                bn_span sp = {min64(b->c - c0, BLOCK), b->s, (n / b->per_group) * b->c + c0};
                fn(j, (n * b->c + c0) * b->s, &sp);
            }
        return;
    }
#pragma omp parallel for if (par && rows > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < b->s; i += CHUNK) {
            bn_span sp = {1, min64(b->s - i, CHUNK), (r / b->c / b->per_group) * b->c + r % b->c};
            fn(j, r * b->s + i, &sp);
        }
}

/* ---- forward ---- */

/* Checks x, mean, var, weight, bias and the residual; fills b. */
static int check_apply(tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                       tg_tensor *bias, bn_shape *b)
{
    if (bn_shape_of(x, b) || check_stats(mean, var, x, b)) return -1;
    if (weight && check_channels("weight", weight, x)) return -1;
    if (bias && check_channels("bias", bias, x)) return -1;
    return residual ? check_like_input("residual", residual, x) : 0;
}

/* The normalised x, or relu(it + residual) (residual may be NULL) when
 * relu. */
static tg_tensor *forward(tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                          tg_tensor *bias, float eps, bool relu)
{
    bn_shape b;
    bn_params p;
    if (!x || !mean || !var || check_apply(x, residual, mean, var, weight, bias, &b)) return NULL;
    if (load_params(&p, &b, mean, var, weight, bias, eps)) return NULL;
    tg_tensor *xc = tg_k_contiguous(x), *resc = residual ? tg_k_contiguous(residual) : NULL;
    tg_tensor *out = xc && (resc || !residual) ? tg_empty(x->ndim, x->shape, TG_FLOAT32) : NULL;
    if (out) {
        const float *r = resc ? tg_data_f32(resc) : NULL;
        bn_job j = {NULL, tg_data_f32(xc), r, tg_data_f32(out), NULL, &b, &p, relu, false};
        each_span(&j, forward_span);
    }
    tg_release(xc), tg_release(resc);
    free_params(&p);
    return out;
}

tg_tensor *tg_k_batch_norm_apply(tg_tensor *x, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                                 tg_tensor *bias, float eps)
{
    return forward(x, NULL, mean, var, weight, bias, eps, false);
}

tg_tensor *tg_k_batch_norm_relu(tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var,
                                tg_tensor *weight, tg_tensor *bias, float eps)
{
    return forward(x, residual, mean, var, weight, bias, eps, true);
}

/* ---- running statistics ---- */

static int check_running(tg_tensor *rm, tg_tensor *rv, tg_tensor *mean, int64_t count)
{
    char a[TG_SHAPE_STR_LEN], s[TG_SHAPE_STR_LEN];
    int64_t c = mean->shape[mean->ndim - 1];
    const tg_tensor *bad = NULL;
    for (int i = 0; i < 2; i++) {
        const tg_tensor *t = i ? rv : rm;
        if (t->dtype != TG_FLOAT32 || t->ndim != 1 || t->shape[0] != c) bad = t;
    }
    if (bad)
        return TG_FAIL("batch_norm: running statistics must be float32 (%lld) for statistics %s, got %s %s",
                       (long long)c, shape_str(mean, s), tg_dtype_name(bad->dtype), shape_str(bad, a));
    if (count <= 1) return TG_FAIL("batch_norm: running variance needs more than 1 value per channel, got %lld",
                                   (long long)count);
    return 0;
}

/* Blends stat into running element c (any stride) in double. */
static void blend(tg_tensor *running, int64_t c, double stat, double momentum)
{
    float *r = (float *)running->storage->data + running->offset + c * running->stride[0];
    *r = (float)((1.0 - momentum) * (double)*r + momentum * stat);
}

int tg_k_batch_norm_update_(tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *mean, tg_tensor *var,
                            int64_t count, float momentum)
{
    if (TG_NEED("batch_norm_update_", running_mean, running_var, mean, var)) return -1;
    if (mean->dtype != TG_FLOAT32 || var->dtype != TG_FLOAT32 || !tg_same_shape(mean, var) || mean->ndim < 1 ||
        mean->ndim > 2)
        return TG_FAIL("batch_norm: batch statistics must be float32 (C) or (G,C) of one shape");
    if (check_running(running_mean, running_var, mean, count)) return -1;
    int64_t nc = mean->shape[mean->ndim - 1], ng = mean->ndim == 2 ? mean->shape[0] : 1;
    tg_tensor *mc = tg_k_contiguous(mean), *vc = tg_k_contiguous(var);
    if (!mc || !vc) {
        tg_release(mc), tg_release(vc);
        return -1;
    }
    const float *md = tg_data_f32(mc), *vd = tg_data_f32(vc);
    double unbias = (double)count / (double)(count - 1);
    for (int64_t c = 0; c < nc; c++) {
        double ms = 0, vs = 0;
        for (int64_t g = 0; g < ng; g++) {
            ms += md[g * nc + c];
            vs += vd[g * nc + c] * unbias;
        }
        blend(running_mean, c, ms / (double)ng, momentum);
        blend(running_var, c, vs / (double)ng, momentum);
    }
    tg_bump_version(running_mean);
    tg_bump_version(running_var);
    tg_release(mc), tg_release(vc);
    return 0;
}

/* ---- backward ---- */

/* Where the gradients go; each may be NULL (not wanted). */
typedef struct {
    tg_tensor **dx, **dweight, **dbias, **dresidual;
} bn_grads;

/* Sums of the gradient reaching the normalisation, and of it times
 * (x - mean), over channel c (wide) of group gr into sg[k], sgd[k]. */
static void wide_grad(const bn_job *j, int64_t c, int64_t gr, double *sg, double *sgd)
{
    const bn_shape *b = j->b;
    double a1[LANES] = {0}, a2[LANES] = {0};
    float buf[CHUNK];
    int64_t first = gr * b->per_group, k = gr * b->c + c;
    for (int64_t n = first; n < first + b->per_group; n++)
        for (int64_t i = 0; i < b->s; i += CHUNK) {
            bn_span sp = {1, min64(b->s - i, CHUNK), k};
            int64_t at = (n * b->c + c) * b->s + i;
            lanes_grad(a1, a2, reaching(j, at, &sp, buf), j->x + at, sp.s, j->p->mean[k]);
        }
    sg[k] = lanes_total(a1);
    sgd[k] = lanes_total(a2);
}

/* The same for the block of channels starting at c0 (narrow). */
static void narrow_grad_block(const bn_job *j, int64_t c0, int64_t gr, double *sg, double *sgd)
{
    const bn_shape *b = j->b;
    float buf[CHUNK];
    int64_t nc = min64(b->c - c0, BLOCK), first = gr * b->per_group, k0 = gr * b->c + c0;
    for (int64_t c = 0; c < nc; c++) sg[k0 + c] = sgd[k0 + c] = 0;
    for (int64_t n = first; n < first + b->per_group; n++) {
        bn_span sp = {nc, b->s, k0};
        int64_t at = (n * b->c + c0) * b->s;
        narrow_grad(sg + k0, sgd + k0, reaching(j, at, &sp, buf), j->x + at, nc, b->s, j->p->mean + k0);
    }
}

/* Per-(group, channel) sums into sg and sgd; one parallel loop per kind of
 * row (see all_stats). */
static void grad_sums(const bn_job *j, double *sg, double *sgd)
{
    const bn_shape *b = j->b;
    int64_t nu = units(b);
    bool par = b->n * b->c * b->s >= TG_PARALLEL_GRAIN && nu > 1;
    if (narrow(b)) {
#pragma omp parallel for if (par) schedule(static)
        for (int64_t u = 0; u < nu; u++)
            for (int64_t gr = 0; gr < b->groups; gr++) narrow_grad_block(j, u * BLOCK, gr, sg, sgd);
        return;
    }
#pragma omp parallel for if (par) schedule(static)
    for (int64_t c = 0; c < nu; c++)
        for (int64_t gr = 0; gr < b->groups; gr++) wide_grad(j, c, gr, sg, sgd);
}

/* dweight = sum over groups of sgd invstd, dbias = sum of sg; either
 * pointer may be NULL. */
static int param_grads(const bn_shape *b, const bn_params *p, const double *sg, const double *sgd,
                       tg_tensor **dweight, tg_tensor **dbias)
{
    for (int i = 0; i < 2; i++) {
        tg_tensor **out = i ? dbias : dweight;
        if (!out) continue;
        if (!(*out = tg_empty(TG_SHAPE(b->c), TG_FLOAT32))) return -1;
        float *d = tg_data_f32(*out);
        for (int64_t c = 0; c < b->c; c++) {
            double s = 0;
            for (int64_t g = 0; g < b->groups; g++) {
                int64_t k = g * b->c + c;
                s += i ? sg[k] : sgd[k] * p->invstd[k];
            }
            d[c] = (float)s;
        }
    }
    return 0;
}

/* dx = a g + slope (x - mean) + shift per (group, channel): with batch
 * statistics a = w invstd, slope = -a invstd^2 sgd / m, shift = -a sg / m;
 * else only a. */
static void dx_coefs(const bn_shape *b, bn_params *p, const double *sg, const double *sgd, bool batch_stats)
{
    double m = (double)(b->per_group * b->s);
    for (int64_t k = 0; k < b->groups * b->c; k++) {
        double is = p->invstd[k], a = (double)p->weight[k % b->c] * is;
        p->a[k] = (float)a;
        p->slope[k] = batch_stats ? (float)(-a * is * is * sgd[k] / m) : 0.0f;
        p->shift[k] = batch_stats ? (float)(-a * sg[k] / m) : 0.0f;
    }
}

/* A new tensor of x's shape into *slot, its data into *data; nothing when
 * slot is NULL. */
static int new_like(const tg_tensor *x, tg_tensor **slot, float **data)
{
    if (!slot) return 0;
    if (!(*slot = tg_empty(x->ndim, x->shape, TG_FLOAT32))) return -1;
    *data = tg_data_f32(*slot);
    return 0;
}

/* The sums (writing dresidual on the way), then dweight/dbias, then dx
 * (and dresidual, if the sums were not needed) as wanted. */
static int backward_passes(bn_job *j, bn_params *p, bool batch_stats, const tg_tensor *x, const bn_grads *o)
{
    int64_t gc = j->b->groups * j->b->c;
    double *sums = calloc((size_t)(2 * gc + 1), sizeof *sums);
    int rc = sums ? new_like(x, o->dresidual, &j->dr) : TG_FAIL("batch_norm backward: out of memory");
    if (!rc && ((o->dx && batch_stats) || o->dweight || o->dbias)) {
        grad_sums(j, sums, sums + gc);
        j->masked = j->dr != NULL;
    }
    if (!rc) rc = param_grads(j->b, p, sums, sums + gc, o->dweight, o->dbias);
    if (!rc && (o->dx || (j->dr && !j->masked))) {
        dx_coefs(j->b, p, sums, sums + gc, batch_stats);
        rc = new_like(x, o->dx, &j->out);
        if (!rc) each_span(j, backward_span);
    }
    free(sums);
    return rc;
}

/* Sets each wanted output to NULL, releasing what it held when release. */
static void clear_outputs(const bn_grads *o, bool release)
{
    tg_tensor **outs[] = {o->dx, o->dweight, o->dbias, o->dresidual};
    for (int i = 0; i < 4; i++)
        if (outs[i]) {
            if (release) tg_release(*outs[i]);
            *outs[i] = NULL;
        }
}

/* The gradients of forward(x, residual, ..., relu) for dL/dy = g. */
static int backward(tg_tensor *g, tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var,
                    tg_tensor *weight, tg_tensor *bias, float eps, bool batch_stats, bool relu, const bn_grads *o)
{
    clear_outputs(o, false);
    bn_shape b;
    bn_params p;
    if (!g || !x || !mean || !var || check_apply(x, residual, mean, var, weight, bias, &b)) return -1;
    if (check_like_input("gradient", g, x) || load_params(&p, &b, mean, var, weight, bias, eps)) return -1;
    tg_tensor *gc = tg_k_contiguous(g), *xc = tg_k_contiguous(x);
    tg_tensor *resc = residual ? tg_k_contiguous(residual) : NULL;
    int rc = gc && xc && (resc || !residual) ? 0 : -1;
    if (!rc) {
        bn_job j = {tg_data_f32(gc), tg_data_f32(xc), resc ? tg_data_f32(resc) : NULL, NULL, NULL, &b, &p, relu, false};
        rc = backward_passes(&j, &p, batch_stats, x, o);
    }
    if (rc) clear_outputs(o, true);
    tg_release(gc), tg_release(xc), tg_release(resc);
    free_params(&p);
    return rc;
}

int tg_k_batch_norm_backward(tg_tensor *g, tg_tensor *x, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                             float eps, bool batch_stats, tg_tensor **dx, tg_tensor **dweight, tg_tensor **dbias)
{
    bn_grads o = {dx, dweight, dbias, NULL};
    return backward(g, x, NULL, mean, var, weight, NULL, eps, batch_stats, false, &o);
}

int tg_k_batch_norm_relu_backward(tg_tensor *g, tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var,
                                  tg_tensor *weight, tg_tensor *bias, float eps, bool batch_stats, tg_tensor **dx,
                                  tg_tensor **dweight, tg_tensor **dbias, tg_tensor **dresidual)
{
    bn_grads o = {dx, dweight, dbias, residual ? dresidual : NULL};
    if (dresidual) *dresidual = NULL;
    return backward(g, x, residual, mean, var, weight, bias, eps, batch_stats, true, &o);
}
