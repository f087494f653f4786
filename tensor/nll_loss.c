/* NLL: the loss -w[t] x[t] of log-probabilities x at each position's
 * target and its gradient, on the layout, chunks and reductions that
 * cross-entropy uses (tensor/class_targets.c); each chunk's sum in double,
 * the chunks added in a fixed order. */
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/class_targets.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/loss.h"

static int open_nll(tg_class_args *a, tg_tensor *x, tg_tensor *target, const tg_cross_entropy_opts *opts)
{
    a->x = a->t = a->w = NULL;
    if (opts && opts->label_smoothing != 0.0f)
        return TG_FAIL("nll_loss: label_smoothing is %g; nll_loss takes none (cross_entropy does)",
                       (double)opts->label_smoothing);
    return tg_class_args_open(a, "nll_loss", x, target, opts);
}

/* Chunk k's losses into per (or NULL), their sum returned. */
static double chunk_forward(const tg_class_layout *L, int64_t k, float *per)
{
    int64_t n, s0, len;
    tg_class_chunk_at(L, k, &n, &s0, &len);
    double sum = 0.0;
    for (int64_t j = 0; j < len; j++) {
        int64_t pn = L->s == 1 ? n + j : n, s = L->s == 1 ? 0 : s0 + j; /* a row chunk or a column chunk */
        int64_t t = L->t[pn * L->tn + s * L->ts];
        double loss = 0.0;
        if (t != L->ignore) loss = -(double)tg_class_weight(L, t) * L->x[pn * L->xn + t * L->xc + s * L->xs];
        sum += loss;
        if (per) per[pn * L->s + s] = (float)loss;
    }
    return sum;
}

static tg_tensor *forward(const tg_class_args *a, tg_tensor *per)
{
    const tg_class_layout *L = &a->L;
    int64_t nchunks = tg_class_chunk_count(L);
    double *part = malloc((size_t)(nchunks ? nchunks : 1) * sizeof *part);
    if (!part) {
        TG_FAIL("nll_loss: out of memory");
        return NULL;
    }
    float *p = per ? tg_data_f32(per) : NULL;
#pragma omp parallel for if (L->n * L->s >= TG_PARALLEL_GRAIN && nchunks > 1) schedule(static)
    for (int64_t k = 0; k < nchunks; k++) part[k] = chunk_forward(L, k, p);
    tg_tensor *out = tg_class_reduce(a, part, nchunks, per);
    free(part);
    return out;
}

tg_tensor *tg_k_nll_loss(tg_tensor *x, tg_tensor *target, const tg_cross_entropy_opts *opts)
{
    if (TG_NEED("nll_loss", x, target)) return NULL;
    tg_class_args a;
    tg_tensor *out = NULL, *per = NULL;
    bool ok = !open_nll(&a, x, target, opts);
    if (ok) per = tg_class_per_position(&a, target);
    if (ok && (per || a.reduction != TG_REDUCTION_NONE)) out = forward(&a, per);
    tg_class_args_close(&a);
    tg_release(per);
    return out;
}

/* -g w[t] at each counted target of the positions of sample n, into o (C,S). */
static void sample_backward(const tg_class_layout *L, const tg_class_grad *gs, int64_t n, float *o)
{
    memset(o, 0, (size_t)(L->c * L->s) * sizeof *o);
    for (int64_t s = 0; s < L->s; s++) {
        int64_t t = L->t[n * L->tn + s * L->ts];
        if (t != L->ignore) o[t * L->s + s] = -tg_class_grad_at(gs, L, n, s) * tg_class_weight(L, t);
    }
}

tg_tensor *tg_k_nll_loss_backward(tg_tensor *g, tg_tensor *x, tg_tensor *target, const tg_cross_entropy_opts *opts)
{
    if (TG_NEED("nll_loss_backward", g, x, target)) return NULL;
    tg_class_args a;
    tg_class_grad gs = {0};
    tg_tensor *out = NULL;
    if (!open_nll(&a, x, target, opts) && !tg_class_grad_open(&gs, &a, g, "nll_loss"))
        out = tg_empty(x->ndim, x->shape, TG_FLOAT32);
    if (out) {
        const tg_class_layout *L = &a.L;
        float *o = tg_data_f32(out);
#pragma omp parallel for if (L->n * L->s * L->c >= TG_PARALLEL_GRAIN && L->n > 1) schedule(static)
        for (int64_t n = 0; n < L->n; n++) sample_backward(L, &gs, n, o + n * L->c * L->s);
    }
    tg_class_grad_close(&gs);
    tg_class_args_close(&a);
    return out;
}
