/* The checks, layout, chunks and reductions that cross-entropy and NLL
 * share (tensor/internal/class_targets.h): inputs of any strides are
 * walked in place when their position dims flatten to one stride, else
 * copied once; the weighted count of the targets is summed in a fixed
 * order, so the mean does not depend on the thread count. */
#include "tensor/internal/class_targets.h"

#include <inttypes.h>
#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/view.h"

enum { DEFAULT_IGNORE_INDEX = -100 };

/* ---- checks ---- */

static int check_operands(const char *op, const tg_tensor *x, const tg_tensor *t)
{
    char sx[TG_SHAPE_STR_LEN], st[TG_SHAPE_STR_LEN];
    tg_shape_str(x->ndim, x->shape, sx, sizeof sx);
    tg_shape_str(t->ndim, t->shape, st, sizeof st);
    if (x->dtype != TG_FLOAT32) return TG_FAIL("%s: input is %s; float32 only", op, tg_dtype_name(x->dtype));
    if (t->dtype != TG_INT64)
        return TG_FAIL("%s: target is %s; int64 class indices expected", op, tg_dtype_name(t->dtype));
    if (x->ndim < 2) return TG_FAIL("%s: input %s needs a class dim: (N,C) or (N,C,d1,...)", op, sx);
    bool same = t->ndim == x->ndim - 1 && t->shape[0] == x->shape[0];
    for (int i = 1; same && i < t->ndim; i++) same = t->shape[i] == x->shape[i + 1];
    if (!same)
        return TG_FAIL("%s: input %s and target %s: the target must have the input's shape without the class dim",
                       op, sx, st);
    return 0;
}

static int check_options(const char *op, const tg_cross_entropy_opts *o, int64_t classes)
{
    if (o->reduction != TG_REDUCTION_MEAN && o->reduction != TG_REDUCTION_SUM && o->reduction != TG_REDUCTION_NONE)
        return TG_FAIL("%s: reduction %d is none of mean, sum, none", op, (int)o->reduction);
    if (!(o->label_smoothing >= 0.0f && o->label_smoothing <= 1.0f))
        return TG_FAIL("%s: label_smoothing %g is outside [0, 1]", op, (double)o->label_smoothing);
    if (o->ignore_class_zero && o->ignore_index != 0)
        return TG_FAIL("%s: ignore_class_zero with ignore_index %" PRId64 "; give one of them", op, o->ignore_index);
    const tg_tensor *w = o->weight;
    if (w && (w->dtype != TG_FLOAT32 || w->ndim != 1 || w->shape[0] != classes)) {
        char sw[TG_SHAPE_STR_LEN];
        tg_shape_str(w->ndim, w->shape, sw, sizeof sw);
        return TG_FAIL("%s: weight is %s %s; float32 (%" PRId64 ") expected, one per class", op,
                       tg_dtype_name(w->dtype), sw, classes);
    }
    return 0;
}

/* ---- layout ---- */

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

static void make_layout(tg_class_layout *L, const tg_class_args *a, int64_t ignore)
{
    const tg_tensor *x = a->x, *t = a->t;
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
    L->w = a->w ? (const float *)a->w->storage->data + a->w->offset : NULL;
    L->ignore = ignore;
}

/* Fails naming the bad target at position p (row-major in t). */
static int bad_target(const char *op, const tg_class_layout *L, const tg_tensor *t, int64_t p, int64_t value)
{
    int64_t pos[TG_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) {
        pos[d] = p % t->shape[d];
        p /= t->shape[d];
    }
    char b[TG_SHAPE_STR_LEN];
    tg_shape_str(t->ndim, pos, b, sizeof b);
    return TG_FAIL("%s: target %" PRId64 " out of range for %" PRId64 " classes (at position %s; "
                   "ignore_index is %" PRId64 ")",
                   op, value, L->c, b, L->ignore);
}

/* The summed weights of the targets that count into *denom; -1 with error
 * at the first target outside [0, C) that is not ignore_index. */
static int count_targets(const char *op, const tg_class_layout *L, const tg_tensor *t, double *denom)
{
    double sum = 0.0;
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t s = 0; s < L->s; s++) {
            int64_t v = L->t[n * L->tn + s * L->ts];
            if (v == L->ignore) continue;
            if (v < 0 || v >= L->c) return bad_target(op, L, t, n * L->s + s, v);
            sum += tg_class_weight(L, v);
        }
    *denom = sum;
    return 0;
}

int tg_class_args_open(tg_class_args *a, const char *op, tg_tensor *x, tg_tensor *target,
                       const tg_cross_entropy_opts *opts)
{
    static const tg_cross_entropy_opts defaults = {0};
    const tg_cross_entropy_opts *o = opts ? opts : &defaults;
    a->x = a->t = a->w = NULL;
    if (check_operands(op, x, target) || check_options(op, o, x->shape[1])) return -1;
    a->reduction = o->reduction;
    a->smoothing = o->label_smoothing;
    a->x = flattenable(x, 2);
    a->t = flattenable(target, 1);
    if (o->weight) a->w = tg_k_contiguous(o->weight);
    if (!a->x || !a->t || (o->weight && !a->w)) return -1;
    int64_t ignore = o->ignore_index || o->ignore_class_zero ? o->ignore_index : DEFAULT_IGNORE_INDEX;
    make_layout(&a->L, a, ignore);
    return count_targets(op, &a->L, target, &a->denom);
}

void tg_class_args_close(tg_class_args *a)
{
    tg_release(a->x);
    tg_release(a->t);
    tg_release(a->w);
}

/* ---- chunks ---- */

static int64_t chunks_per_sample(const tg_class_layout *L) { return (L->s + TG_CLASS_COLS - 1) / TG_CLASS_COLS; }

int64_t tg_class_chunk_count(const tg_class_layout *L)
{
    return L->s == 1 ? (L->n + TG_CLASS_ROWS - 1) / TG_CLASS_ROWS : L->n * chunks_per_sample(L);
}

void tg_class_chunk_at(const tg_class_layout *L, int64_t k, int64_t *n, int64_t *s0, int64_t *len)
{
    if (L->s == 1) { /* rows n.. */
        *n = k * TG_CLASS_ROWS;
        *s0 = 0;
        *len = L->n - *n < TG_CLASS_ROWS ? L->n - *n : TG_CLASS_ROWS;
        return;
    }
    int64_t cps = chunks_per_sample(L);
    *n = k / cps;
    *s0 = (k % cps) * TG_CLASS_COLS;
    *len = L->s - *s0 < TG_CLASS_COLS ? L->s - *s0 : TG_CLASS_COLS;
}

/* ---- reductions ---- */

tg_tensor *tg_class_per_position(const tg_class_args *a, const tg_tensor *target)
{
    if (a->reduction != TG_REDUCTION_NONE) return NULL;
    return tg_empty(target->ndim, target->shape, TG_FLOAT32);
}

tg_tensor *tg_class_reduce(const tg_class_args *a, const double *part, int64_t nchunks, tg_tensor *per)
{
    if (a->reduction == TG_REDUCTION_NONE) return tg_retain(per);
    double sum = 0.0;
    for (int64_t k = 0; k < nchunks; k++) sum += part[k];
    if (a->reduction == TG_REDUCTION_SUM) return tg_scalar((float)sum);
    return tg_scalar(a->denom != 0.0 ? (float)(sum / a->denom) : NAN);
}

int tg_class_grad_open(tg_class_grad *gs, const tg_class_args *a, tg_tensor *g, const char *op)
{
    gs->per = NULL;
    gs->held = NULL;
    gs->scale = 0.0f;
    if (g->dtype != TG_FLOAT32) return TG_FAIL("%s_backward: g is %s; float32 expected", op, tg_dtype_name(g->dtype));
    if (a->reduction == TG_REDUCTION_NONE) {
        if (tg_numel(g) != a->L.n * a->L.s)
            return TG_FAIL("%s_backward: g has %" PRId64 " elements for %" PRId64 " positions", op, tg_numel(g),
                           a->L.n * a->L.s);
        if (!(gs->held = tg_k_contiguous(g))) return -1;
        gs->per = tg_data_f32(gs->held);
        return 0;
    }
    if (tg_numel(g) != 1)
        return TG_FAIL("%s_backward: g must be one float32 element (has %" PRId64 ")", op, tg_numel(g));
    float gv = ((const float *)g->storage->data)[g->offset];
    if (a->reduction == TG_REDUCTION_SUM) gs->scale = gv;
    else gs->scale = a->denom != 0.0 ? gv / (float)a->denom : 0.0f;
    return 0;
}

void tg_class_grad_close(tg_class_grad *gs) { tg_release(gs->held); }
