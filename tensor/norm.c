/* Batch normalisation kernels (see internal/norm.h).
 *
 * x is walked as (N, C, S), S the product of the dims after C: channel c of
 * sample n is the row of S floats at (n C + c) S of a contiguous copy.
 * Each channel's sums run on one thread, in an order fixed by the shape:
 * its rows sample by sample, in LANES interleaved double accumulators
 * (wide rows, S >= LANES) or one ((N,C) inputs, small feature maps). The
 * channels are split over threads in units of consecutive channels, whose
 * rows a thread reads sample by sample, so memory is read in order. The
 * statistics take one pass: the sums of d = x - centre and of d^2, the
 * centre one of the group's values.
 *
 * The elementwise passes work span by span: up to CHUNK values of a
 * sample's consecutive rows (a piece of a row when rows are longer), spans
 * split over threads. A fused relu (after a residual, if any) is applied
 * as each value is normalised. Backward masks g by the relu in a buffer of
 * one span, with the forward's own loop (relu_span) reading x and g
 * together: the mask is the forward's bit for bit, and the output need not
 * be kept. Sums and passes run at the widest vectors the CPU has
 * (TG_WIDEST_VECTORS). */
#include "tensor/internal/norm.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

enum { LANES = 8, BLOCK = 64, CHUNK = 512 };
_Static_assert(CHUNK % LANES == 0, "a piece of a wide row starts at lane 0");

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

/* ---- sums ---- */

/* The sums run over the rows of s values of nc consecutive channels of one
 * sample (x the first), channel c about centre[c]. Wide rows keep LANES
 * interleaved double accumulators a channel, at acc + c LANES, lane j
 * taking the values at j mod LANES of each row, or piece of a row (a
 * tail's from lane 0); narrow ones (s < LANES) one, at acc + c. */
static bool narrow(const bn_shape *b) { return b->s < LANES; }

/* The sum of channel c's accumulators. */
static double acc_total(const double *acc, int64_t c, bool wide)
{
    if (!wide) return acc[c];
    double t = 0;
    for (int j = 0; j < LANES; j++) t += acc[c * LANES + j];
    return t;
}

/* LANES floats or doubles as one value (GCC's vector extension, also
 * clang's): each clone keeps it in its widest registers, where GCC's
 * vectoriser gives up on the lane loops of a sum. */
typedef float lanes_f32 __attribute__((vector_size(LANES * sizeof(float))));
typedef double lanes_f64 __attribute__((vector_size(LANES * sizeof(double))));

/* s1 += d and s2 += d^2 for d = x - centre over one wide row of n values,
 * in double, where the square of a float's difference is exact. */
static inline void lanes_moments(double *s1, double *s2, const float *x, int64_t n, double centre)
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

/* The same over the rows (see above). */
TG_WIDEST_VECTORS static void moments(double *s1, double *s2, const float *x, int64_t nc, int64_t s, bool wide,
                                      const double *centre)
{
    if (wide)
        for (int64_t c = 0; c < nc; c++) lanes_moments(s1 + c * LANES, s2 + c * LANES, x + c * s, s, centre[c]);
    else
        for (int64_t c = 0; c < nc; c++)
            for (int64_t i = 0; i < s; i++) {
                double d = (double)x[c * s + i] - centre[c];
                s1[c] += d;
                s2[c] += d * d;
            }
}

/* sg += g, sgd += g (x - centre) over one wide row of n values; each
 * product in float (one rounding), the sums in double. */
static inline void lanes_grad(double *sg, double *sgd, const float *g, const float *x, int64_t n, float centre)
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

/* The same over the rows (see above). */
TG_WIDEST_VECTORS static void grad_moments(double *sg, double *sgd, const float *g, const float *x, int64_t nc,
                                           int64_t s, bool wide, const float *centre)
{
    if (wide)
        for (int64_t c = 0; c < nc; c++)
            lanes_grad(sg + c * LANES, sgd + c * LANES, g + c * s, x + c * s, s, centre[c]);
    else
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

/* Channels per unit of the sums: up to BLOCK, and at least one unit a
 * thread. A unit reads its channels' rows sample by sample, in memory
 * order; each channel's sums take the samples in order whatever the units,
 * so the split does not change them. */
static int64_t unit_channels(const bn_shape *b, bool par)
{
    int64_t threads = par ? omp_get_max_threads() : 1;
    return min64((b->c + threads - 1) / threads, BLOCK);
}

/* Runs fn on each unit of channels [c0, c0 + nc) for each group g, units
 * split over threads. */
typedef void unit_fn(const void *job, int64_t c0, int64_t nc, int64_t g);

static void each_unit(const bn_shape *b, unit_fn *fn, const void *job)
{
    bool par = b->n * b->c * b->s >= TG_PARALLEL_GRAIN;
    int64_t per = unit_channels(b, par), nu = (b->c + per - 1) / per;
#pragma omp parallel for if (par && nu > 1) schedule(static)
    for (int64_t u = 0; u < nu; u++)
        for (int64_t g = 0; g < b->groups; g++) fn(job, u * per, min64(per, b->c - u * per), g);
}

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

/* x's statistics into mean and var (G,C). */
typedef struct {
    const float *x;
    const bn_shape *b;
    float *mean, *var;
} stats_job;

/* Mean and biased variance of channels [c0, c0 + nc) over group g. */
static void unit_stats(const void *job, int64_t c0, int64_t nc, int64_t g)
{
    const stats_job *j = job;
    const bn_shape *b = j->b;
    double s1[BLOCK * LANES] = {0}, s2[BLOCK * LANES] = {0}, centre[BLOCK];
    bool wide = !narrow(b);
    int64_t first = g * b->per_group, k0 = g * b->c + c0;
    for (int64_t c = 0; c < nc; c++) centre[c] = row_of(j->x, b, first, c0 + c)[0];
    for (int64_t n = first; n < first + b->per_group; n++)
        moments(s1, s2, row_of(j->x, b, n, c0), nc, b->s, wide, centre);
    for (int64_t c = 0; c < nc; c++)
        finish_stats(acc_total(s1, c, wide), acc_total(s2, c, wide), (double)(b->per_group * b->s), centre[c],
                     j->mean + k0 + c, j->var + k0 + c);
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
    stats_job j = {tg_data_f32(xc), &b, tg_data_f32(m), tg_data_f32(v)};
    each_unit(&b, unit_stats, &j);
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

/* How the passes cut a sample's rows into spans: rows of CHUNK or more
 * values into pieces of CHUNK (one channel a span), shorter rows whole, up
 * to CHUNK values and BLOCK channels a span. */
typedef struct {
    int64_t c, s;
} bn_cut;

static bn_cut span_cut(const bn_shape *b)
{
    if (b->s >= CHUNK) return (bn_cut){1, CHUNK};
    return (bn_cut){min64(BLOCK, CHUNK / b->s), b->s};
}

/* Runs fn on every span of x, spans split over threads. */
static void each_span(const bn_job *j, span_fn *fn)
{
    const bn_shape *b = j->b;
    bn_cut cut = span_cut(b);
    int64_t blocks = (b->c + cut.c - 1) / cut.c, pieces = (b->s + cut.s - 1) / cut.s, spans = b->n * blocks * pieces;
    bool par = b->n * b->c * b->s >= TG_PARALLEL_GRAIN;
#pragma omp parallel for if (par && spans > 1) schedule(static)
    for (int64_t t = 0; t < spans; t++) {
        int64_t n = t / (blocks * pieces), c0 = t / pieces % blocks * cut.c, i = t % pieces * cut.s;
        bn_span sp = {min64(cut.c, b->c - c0), min64(cut.s, b->s - i), n / b->per_group * b->c + c0};
        fn(j, (n * b->c + c0) * b->s + i, &sp);
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

/* A backward's sums into sg and sgd (G,C). */
typedef struct {
    const bn_job *j;
    double *sg, *sgd;
} grad_job;

/* The sums of the gradient reaching the normalisation (see reaching) and
 * of it times (x - mean) over channels [c0, c0 + nc) of group g, span by
 * span. */
static void unit_grad(const void *job, int64_t c0, int64_t nc, int64_t g)
{
    const grad_job *gj = job;
    const bn_job *j = gj->j;
    const bn_shape *b = j->b;
    double a1[BLOCK * LANES] = {0}, a2[BLOCK * LANES] = {0};
    float buf[CHUNK];
    bool wide = !narrow(b);
    bn_cut cut = span_cut(b);
    int64_t first = g * b->per_group, k0 = g * b->c + c0, stride = wide ? LANES : 1;
    for (int64_t n = first; n < first + b->per_group; n++)
        for (int64_t c = 0; c < nc; c += cut.c)
            for (int64_t i = 0; i < b->s; i += cut.s) {
                bn_span sp = {min64(cut.c, nc - c), min64(cut.s, b->s - i), k0 + c};
                int64_t at = (n * b->c + c0 + c) * b->s + i;
                grad_moments(a1 + c * stride, a2 + c * stride, reaching(j, at, &sp, buf), j->x + at, sp.nc, sp.s, wide,
                             j->p->mean + sp.k);
            }
    for (int64_t c = 0; c < nc; c++) {
        gj->sg[k0 + c] = acc_total(a1, c, wide);
        gj->sgd[k0 + c] = acc_total(a2, c, wide);
    }
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
 * statistics a = w invstd, slope = -a invstd^2 sgd / m, shift = -a sg / m
 * (m values per channel in a group, or in the whole spread batch); else
 * only a. */
static void dx_coefs(const bn_shape *b, bn_params *p, const double *sg, const double *sgd, bool batch_stats,
                     double m)
{
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
 * (and dresidual, if the sums were not needed) as wanted; with spread,
 * dx from the whole batch's sums. */
static int backward_passes(bn_job *j, bn_params *p, bool batch_stats, const tg_tensor *x, const bn_grads *o,
                           const tg_k_bn_spread *spread)
{
    int64_t gc = j->b->groups * j->b->c;
    double *sums = calloc((size_t)(2 * gc + 1), sizeof *sums);
    int rc = sums ? new_like(x, o->dresidual, &j->dr) : TG_FAIL("batch_norm backward: out of memory");
    if (!rc && ((o->dx && batch_stats) || o->dweight || o->dbias)) {
        grad_job sums_job = {j, sums, sums + gc};
        each_unit(j->b, unit_grad, &sums_job);
        j->masked = j->dr != NULL;
    }
    if (!rc) rc = param_grads(j->b, p, sums, sums + gc, o->dweight, o->dbias);
    if (!rc && o->dx && spread) rc = spread->reduce(sums, gc, spread->ctx);
    if (!rc && (o->dx || (j->dr && !j->masked))) {
        dx_coefs(j->b, p, sums, sums + gc, batch_stats, spread ? spread->count : (double)(j->b->per_group * j->b->s));
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
                    tg_tensor *weight, tg_tensor *bias, float eps, bool batch_stats, bool relu, const bn_grads *o,
                    const tg_k_bn_spread *spread)
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
        rc = backward_passes(&j, &p, batch_stats, x, o, spread);
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
    return backward(g, x, NULL, mean, var, weight, NULL, eps, batch_stats, false, &o, NULL);
}

int tg_k_batch_norm_backward_spread(tg_tensor *g, tg_tensor *x, tg_tensor *mean, tg_tensor *var, tg_tensor *weight,
                                    float eps, const tg_k_bn_spread *spread, tg_tensor **dx, tg_tensor **dweight,
                                    tg_tensor **dbias)
{
    bn_grads o = {dx, dweight, dbias, NULL};
    clear_outputs(&o, false);
    if (TG_NEED("batch_norm_backward_spread", spread)) return -1;
    if (mean && x && x->ndim >= 2 && tg_numel(mean) != x->shape[1])
        return TG_FAIL("batch_norm_backward_spread: a spread batch has one group of statistics");
    return backward(g, x, NULL, mean, var, weight, NULL, eps, true, false, &o, spread);
}

int tg_k_batch_norm_relu_backward(tg_tensor *g, tg_tensor *x, tg_tensor *residual, tg_tensor *mean, tg_tensor *var,
                                  tg_tensor *weight, tg_tensor *bias, float eps, bool batch_stats, tg_tensor **dx,
                                  tg_tensor **dweight, tg_tensor **dbias, tg_tensor **dresidual)
{
    bn_grads o = {dx, dweight, dbias, residual ? dresidual : NULL};
    if (dresidual) *dresidual = NULL;
    return backward(g, x, residual, mean, var, weight, bias, eps, batch_stats, true, &o, NULL);
}
