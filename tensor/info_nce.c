/* InfoNCE against a queue of negatives (see internal/loss.h), fused.
 *
 * Rows are taken in blocks. A block's logits against the queue come from
 * one GEMM into a buffer whose column 0 is left free for the positive
 * logit; one pass turns the row into exp(x - shift) in place and sums it
 * (the shift: a bound on the row's logits, or its largest; see row_shift);
 * when the gradient is wanted a second GEMM multiplies those exponentials
 * by the queue while they are still in cache, and each row of the product
 * is scaled by its 1 / sum. So the (rows x (1 + K)) logits, which for
 * DenseCL's dense loss run to hundreds of megabytes, are never written out
 * whole or copied: a block (4 MiB at K = 4096) stays in cache.
 *
 * d loss / d q_r = ((p_r0 - 1) pos_r + sum_j p_rj queue_j) / (R tau), with
 * p the softmax of row r: the backward only scales it by the incoming
 * gradient. */
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "tensor/internal/exp_lane.h"
#include "tensor/internal/check.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/loss.h"
#include "tensor/internal/storage.h"

/* A block's buffer holds about this many floats (4 MiB), so that it stays
 * in cache; but at least MIN_ROWS rows, because each of a block's two
 * products packs the whole queue again (BLIS packs its operands per call),
 * and over fewer rows that packing costs more than the products. */
#define BLOCK_FLOATS (1 << 20)
enum { MIN_ROWS = 128, LANES = 16 };

typedef struct {
    int64_t rows, dim, keys;
    const float *q, *pos, *queue;
    int64_t qr, qd, pr, pd, kk, kd; /* strides of q (row, dim), pos, queue (key, dim) */
    double tau, key_norm; /* key_norm: the largest norm of a queue row */
    float inv_tau;
    double *loss;       /* per row: lse - positive logit */
    unsigned char *hit; /* per row: the positive is the largest logit */
    float *grad;        /* rows x dim, or NULL */
} nce_job;

static int check_operand(const char *what, const tg_tensor *t, int64_t rows, int64_t dim)
{
    char b[TG_SHAPE_STR_LEN];
    if (TG_NEED("info_nce", t)) return -1;
    if (t->dtype != TG_FLOAT32) return TG_FAIL("info_nce: %s is %s; float32 only", what, tg_dtype_name(t->dtype));
    if (t->ndim != 2 || (rows >= 0 && t->shape[0] != rows) || t->shape[1] != dim)
        return TG_FAIL("info_nce: %s has shape %s; (%s, %" PRId64 ") expected", what,
                       tg_shape_str(t->ndim, t->shape, b, sizeof b), rows >= 0 ? "rows of q" : "K", dim);
    return 0;
}

static const float *data_of(const tg_tensor *t) { return (const float *)t->storage->data + t->offset; }

/* The largest of x[0..n), in LANES partial maxima (a NaN is passed over
 * here; it still makes the row's loss NaN through exp). */
TG_WIDEST_VECTORS static float row_max(const float *x, int64_t n)
{
    float mx[LANES];
    for (int j = 0; j < LANES; j++) mx[j] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) mx[j] = pick(x[i + j] > mx[j], x[i + j], mx[j]);
    float m = -INFINITY;
    for (int j = 0; j < LANES; j++) m = max_nan(m, mx[j]);
    for (; i < n; i++) m = max_nan(m, x[i]);
    return m;
}

/* x[i] = exp(x[i] - m) for i < n; returns their sum, in LANES partial
 * sums, and *max gets the largest x[i] as it was. */
TG_WIDEST_VECTORS static double exp_in_place(float *x, int64_t n, float m, float *max)
{
    float acc[LANES] = {0}, mx[LANES];
    for (int j = 0; j < LANES; j++) mx[j] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float v = x[i + j], e = exp_lane(v - m);
            mx[j] = pick(v > mx[j], v, mx[j]);
            x[i + j] = e;
            acc[j] += e;
        }
    double sum = 0.0;
    float top = -INFINITY;
    for (; i < n; i++) {
        top = max_nan(top, x[i]);
        x[i] = exp_lane(x[i] - m);
        sum += x[i];
    }
    for (int j = 0; j < LANES; j++) {
        sum += acc[j];
        top = max_nan(top, mx[j]);
    }
    *max = top;
    return sum;
}

/* The Euclidean norm of n floats at stride s, in double. */
static double norm_of(const float *x, int64_t n, int64_t s)
{
    double ss = 0.0;
    for (int64_t d = 0; d < n; d++) ss += (double)x[d * s] * x[d * s];
    return sqrt(ss);
}

/* The positive logit of row r: <q_r, pos_r> / tau, summed in double. */
static float positive_logit(const nce_job *J, int64_t r)
{
    const float *q = J->q + r * J->qr, *p = J->pos + r * J->pr;
    double s = 0.0;
    for (int64_t d = 0; d < J->dim; d++) s += (double)q[d * J->qd] * p[d * J->pd];
    return (float)(s / J->tau);
}

/* The shift of row r's exponentials. Softmax is the same for any shift;
 * the row's largest logit keeps exp from overflowing, but finding it costs
 * a pass over the row. Cauchy-Schwarz bounds every logit by B = |q_r|
 * max(|pos_r|, |queue_j|) / tau, so with B <= MAX_SHIFT (unit vectors and
 * tau >= 0.025) the shift B keeps each exp within [e^-2B, 1]: no
 * overflow, no underflow, and no extra pass. */
#define MAX_SHIFT 40.0
static float row_shift(const nce_job *J, int64_t r, const float *neg, float l0)
{
    double qn = norm_of(J->q + r * J->qr, J->dim, J->qd), pn = norm_of(J->pos + r * J->pr, J->dim, J->pd);
    double bound = qn * (pn > J->key_norm ? pn : J->key_norm) / J->tau;
    return bound <= MAX_SHIFT ? (float)bound : max_nan(l0, row_max(neg, J->keys));
}

/* Rows r0 .. r0+n-1 in buf (n x (1 + keys)) with sums (n doubles) as
 * scratch. 0, or -1 when a product failed (out of memory). */
static int nce_block(const nce_job *J, int64_t r0, int64_t n, float *buf, double *sums)
{
    int64_t ld = J->keys + 1;
    if (tg_k_sgemm(n, J->keys, J->dim, J->inv_tau, J->q + r0 * J->qr, J->qr, J->qd, J->queue, J->kd, J->kk, 0.0f,
                   buf + 1, ld, 1))
        return -1;
    for (int64_t i = 0; i < n; i++) {
        float *x = buf + i * ld, l0 = positive_logit(J, r0 + i), m = row_shift(J, r0 + i, x + 1, l0), mneg;
        x[0] = exp_lane(l0 - m);
        sums[i] = exp_in_place(x + 1, J->keys, m, &mneg) + x[0];
        J->loss[r0 + i] = (double)m + log(sums[i]) - (double)l0;
        J->hit[r0 + i] = l0 >= mneg;
    }
    if (!J->grad) return 0;
    float *g = J->grad + r0 * J->dim;
    if (tg_k_sgemm(n, J->dim, J->keys, 1.0f, buf + 1, ld, 1, J->queue, J->kk, J->kd, 0.0f, g, J->dim, 1)) return -1;
    double scale = 1.0 / ((double)J->rows * J->tau);
    for (int64_t i = 0; i < n; i++) {
        double c = scale / sums[i], c0 = scale * ((double)buf[i * ld] / sums[i] - 1.0);
        const float *p = J->pos + (r0 + i) * J->pr;
        float *gi = g + i * J->dim;
        for (int64_t d = 0; d < J->dim; d++) gi[d] = (float)(c * gi[d] + c0 * p[d * J->pd]);
    }
    return 0;
}

/* Every block, split over threads; each thread has its own buffer. */
static int nce_run(const nce_job *J)
{
    int nt = omp_get_max_threads();
    int64_t ld = J->keys + 1, nb = BLOCK_FLOATS / ld;
    int64_t per_thread = (J->rows + nt - 1) / nt;
    if (nb < MIN_ROWS) nb = MIN_ROWS;
    if (nb > per_thread) nb = per_thread;
    if (nb < 1) nb = 1;
    int64_t blocks = (J->rows + nb - 1) / nb;
    size_t floats = ((size_t)nb * (size_t)ld + 15) / 16 * 16; /* the sums after them stay aligned */
    size_t bytes = floats * sizeof(float) + (size_t)nb * sizeof(double);
    int failed = 0;
#pragma omp parallel if (blocks > 1 && (double)J->rows * (double)ld * (double)J->dim >= (1 << 19)) \
    reduction(| : failed)
    {
        float *buf = tg_memory_alloc(bytes);
        double *sums = buf ? (double *)(buf + floats) : NULL;
        failed = !buf;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < blocks; b++) {
            int64_t r0 = b * nb, n = J->rows - r0 < nb ? J->rows - r0 : nb;
            if (!failed) failed = nce_block(J, r0, n, buf, sums) != 0;
        }
        if (buf) tg_memory_free(buf, bytes);
    }
    return failed ? TG_FAIL("info_nce: out of memory for a block of %" PRId64 " rows x %" PRId64 " logits", nb, ld)
                  : 0;
}

/* The job's operands and strides, and the largest norm of a queue row. */
static nce_job make_job(tg_tensor *q, tg_tensor *pos, tg_tensor *queue, float tau)
{
    nce_job J = {.rows = q->shape[0], .dim = q->shape[1], .keys = queue->shape[0], .q = data_of(q),
                 .pos = data_of(pos), .queue = data_of(queue), .qr = q->stride[0], .qd = q->stride[1],
                 .pr = pos->stride[0], .pd = pos->stride[1], .kk = queue->stride[0], .kd = queue->stride[1],
                 .tau = tau, .inv_tau = 1.0f / tau};
    for (int64_t j = 0; j < J.keys; j++) {
        double n = norm_of(J.queue + j * J.kk, J.dim, J.kd);
        if (!isnan(J.key_norm) && !(n <= J.key_norm)) J.key_norm = n; /* NaN sticks: then the exact max is used */
    }
    return J;
}

static int check_args(const tg_tensor *q, const tg_tensor *pos, const tg_tensor *queue, float tau)
{
    if (!(tau > 0.0f)) return TG_FAIL("info_nce: temperature %g must be positive", (double)tau);
    int64_t dim = q->ndim == 2 ? q->shape[1] : -1;
    if (check_operand("q", q, -1, dim) || check_operand("pos", pos, q->shape[0], dim) ||
        check_operand("queue", queue, -1, dim))
        return -1;
    return q->shape[0] ? 0 : TG_FAIL("info_nce: q has no rows");
}

tg_tensor *tg_k_info_nce(tg_tensor *q, tg_tensor *pos, tg_tensor *queue, float tau, int64_t *correct,
                         tg_tensor **grad)
{
    if (grad) *grad = NULL;
    if (TG_NEED("info_nce", q, pos, queue) || check_args(q, pos, queue, tau)) return NULL;
    nce_job J = make_job(q, pos, queue, tau);
    J.loss = malloc((size_t)J.rows * sizeof *J.loss);
    J.hit = malloc((size_t)J.rows);
    tg_tensor *g = grad ? tg_empty(TG_SHAPE(J.rows, J.dim), TG_FLOAT32) : NULL, *out = NULL;
    J.grad = g ? (float *)g->storage->data : NULL;
    if (!J.loss || !J.hit) TG_FAIL("info_nce: out of memory for %" PRId64 " rows", J.rows);
    else if ((!grad || g) && !nce_run(&J)) {
        double total = 0.0;
        int64_t hits = 0;
        for (int64_t r = 0; r < J.rows; r++) {
            total += J.loss[r];
            hits += J.hit[r];
        }
        out = tg_scalar((float)(total / (double)J.rows));
        if (correct) *correct = hits;
    }
    free(J.loss);
    free(J.hit);
    if (out && grad) *grad = g;
    else tg_release(g);
    return out;
}
