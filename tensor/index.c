/* Joining (cat, stack) and indexing (gather, index_select, one_hot) kernels,
 * the scatter-adds behind their gradients, and confusion counts (see internal/index.h).
 *
 * gather and index_select are one kernel: out[p] = t[p with p[dim] replaced
 * by idx[p]], where idx is the index seen with out's shape (index_select
 * views its 1-D index with stride 0 on every other dim). The walk is the
 * strided iterator's, over out, idx and a view of t with t's strides but
 * stride 0 along dim, so only the index moves along dim.
 *
 * scatter_add_ and index_add_ are the mirror kernel. Many index entries may
 * name one destination element, so the work is split over "fibers": the
 * lines along dim at each position of the other dims. A destination element
 * is written only from its own fiber, by one thread, in index order. */
#include "tensor/internal/index.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

/* t's geometry with another shape and strides over the same storage. */
static tg_tensor *restrided(tg_tensor *t, int ndim, const int64_t *shape, const int64_t *stride)
{
    return tg_tensor_wrap(t->storage, t->offset, ndim, shape, stride, t->dtype);
}

static int need_int64_index(const char *op, const tg_tensor *index)
{
    if (index->dtype == TG_INT64) return 0;
    return TG_FAIL("%s: index must be int64, got %s", op, tg_dtype_name(index->dtype));
}

static int need_same_dtype(const char *op, const tg_tensor *a, const char *aname, const tg_tensor *b,
                           const char *bname)
{
    if (a->dtype == b->dtype) return 0;
    return TG_FAIL("%s: %s is %s but %s is %s; they must have one dtype", op, aname, tg_dtype_name(a->dtype),
                   bname, tg_dtype_name(b->dtype));
}

/* Size and stride along dim d, with a 0-dim tensor seen as one element. */
static int64_t size_at(const tg_tensor *t, int d) { return t->ndim ? t->shape[d] : 1; }
static int64_t stride_at(const tg_tensor *t, int d) { return t->ndim ? t->stride[d] : 0; }

/* Writes into a tensor whose elements repeat (a stride-0 dim of size > 1,
 * as from expand) would race and double count: refused, as in PyTorch. */
static int need_writable(const char *op, const tg_tensor *dst)
{
    for (int i = 0; i < dst->ndim; i++)
        if (dst->shape[i] > 1 && dst->stride[i] == 0)
            return TG_FAIL("%s: the destination has repeated elements (dim %d is expanded); "
                           "write into a contiguous copy",
                           op, i);
    return 0;
}

/* ---- index checks ---- */

/* Checks every value of the int64 tensor index lies in [0, size), walking
 * it in row-major order. The first bad value fails with the message
 * "<op>: <what> <value> out of range for <for_what> (at element k, position (i,j))". */
static int check_range(const char *op, tg_tensor *index, int64_t size, const char *what, const char *for_what)
{
    int64_t n = tg_numel(index);
    if (n == 0) return 0;
    tg_tensor *c = tg_k_contiguous(index);
    if (!c) return -1;
    const int64_t *v = (const int64_t *)c->storage->data + c->offset;
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (v[i] < 0 || v[i] >= size) bad = i;
    if (bad < 0) {
        tg_release(c);
        return 0;
    }
    int64_t pos[TG_MAX_DIMS], rem = bad;
    for (int d = index->ndim - 1; d >= 0; d--) {
        pos[d] = rem % index->shape[d];
        rem /= index->shape[d];
    }
    char b[TG_SHAPE_STR_LEN];
    tg_shape_str(index->ndim, pos, b, sizeof b);
    int64_t value = v[bad];
    tg_release(c);
    return TG_FAIL("%s: %s %" PRId64 " out of range for %s (at element %" PRId64 ", position %s)", op, what, value,
                   for_what, bad, b);
}

static int check_index_range(const char *op, tg_tensor *index, int64_t size, int dim)
{
    char for_what[64];
    snprintf(for_what, sizeof for_what, "size %" PRId64 " of dim %d", size, dim);
    return check_range(op, index, size, "index", for_what);
}

/* ---- gather and index_select: one kernel ---- */

typedef struct {
    int64_t stride; /* t's stride along dim */
    size_t elsize;
} gather_ctx;

/* operands: out, idx, t (stride 0 along dim) */
static void gather_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const gather_ctx *c = ctx;
    const int64_t *idx = (const int64_t *)p[1];
#define GATHER(T)                                                                            \
    do {                                                                                     \
        T *o = (T *)p[0];                                                                    \
        const T *src = (const T *)p[2];                                                      \
        for (int64_t i = 0; i < n; i++) o[i * s[0]] = src[i * s[2] + idx[i * s[1]] * c->stride]; \
    } while (0)
    if (c->elsize == sizeof(int64_t)) GATHER(int64_t);
    else GATHER(float);
#undef GATHER
}

/* out[p] = t[p, p[dim] := idx[p]]; idx has out's shape, its values are in
 * range and out.size(d) <= t.size(d) for d != dim (all checked by callers). */
static tg_tensor *gather_into(const char *op, tg_tensor *out, tg_tensor *t, int dim, tg_tensor *idx)
{
    if (!out) return NULL;
    int64_t stride[TG_MAX_DIMS];
    memcpy(stride, t->stride, sizeof stride);
    if (t->ndim) stride[dim] = 0;
    tg_tensor *src = restrided(t, out->ndim, out->shape, stride);
    tg_iter it;
    int rc = src ? tg_iter_init(&it, op, 3, (tg_tensor *[]){out, idx, src}) : -1;
    if (!rc) tg_iter_run(&it, gather_loop, &(gather_ctx){stride_at(t, dim), tg_dtype_size(t->dtype)});
    tg_release(src);
    if (rc) {
        tg_release(out);
        return NULL;
    }
    return out;
}

tg_tensor *tg_k_gather(tg_tensor *t, int dim, tg_tensor *index)
{
    if (TG_NEED("gather", t, index)) return NULL;
    int d = tg_wrap_dim("gather", dim, t->ndim);
    if (d < 0 || need_int64_index("gather", index)) return NULL;
    char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
    if (index->ndim != t->ndim) {
        TG_FAIL("gather: index has %d dims, input has %d; they must match", index->ndim, t->ndim);
        return NULL;
    }
    for (int i = 0; i < t->ndim; i++)
        if (i != d && index->shape[i] > t->shape[i]) {
            TG_FAIL("gather: index shape %s exceeds input shape %s in dim %d (only dim %d may be larger)",
                    tg_shape_str(index->ndim, index->shape, b0, sizeof b0),
                    tg_shape_str(t->ndim, t->shape, b1, sizeof b1), i, d);
            return NULL;
        }
    if (check_index_range("gather", index, size_at(t, d), d)) return NULL;
    return gather_into("gather", tg_empty(index->ndim, index->shape, t->dtype), t, d, index);
}

/* The 1-D (or 0-dim) index seen with shape: its stride along dim, 0 elsewhere. */
static tg_tensor *index_along(tg_tensor *index, int ndim, const int64_t *shape, int dim)
{
    int64_t stride[TG_MAX_DIMS] = {0};
    if (ndim) stride[dim] = stride_at(index, 0);
    return restrided(index, ndim, shape, stride);
}

static int check_index_1d(const char *op, tg_tensor *index)
{
    if (need_int64_index(op, index)) return -1;
    if (index->ndim > 1) return TG_FAIL("%s: index must be 1-D, got %d dims", op, index->ndim);
    return 0;
}

tg_tensor *tg_k_index_select(tg_tensor *t, int dim, tg_tensor *index)
{
    if (TG_NEED("index_select", t, index)) return NULL;
    int d = tg_wrap_dim("index_select", dim, t->ndim);
    if (d < 0 || check_index_1d("index_select", index)) return NULL;
    int64_t n = tg_numel(index);
    if (t->ndim == 0 && n != 1) {
        TG_FAIL("index_select: a 0-dim input takes an index of one element, got %" PRId64, n);
        return NULL;
    }
    if (check_index_range("index_select", index, size_at(t, d), d)) return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    if (t->ndim) shape[d] = n;
    tg_tensor *idx = index_along(index, t->ndim, shape, d);
    tg_tensor *out = idx ? gather_into("index_select", tg_empty(t->ndim, shape, t->dtype), t, d, idx) : NULL;
    tg_release(idx);
    return out;
}

/* ---- scatter_add_ and index_add_: one kernel over fibers ---- */

typedef struct {
    int64_t length;                             /* the index's size along dim */
    int64_t idx_stride, src_stride, dst_stride; /* along dim */
    tg_dtype dtype;
} scatter_ctx;

/* operands: idx, src, dst, each at the start of a fiber (dim coordinate 0) */
static void scatter_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const scatter_ctx *c = ctx;
#define SCATTER(T)                                                                   \
    for (int64_t f = 0; f < n; f++) {                                                \
        const int64_t *idx = (const int64_t *)p[0] + f * s[0];                       \
        const T *src = (const T *)p[1] + f * s[1];                                   \
        T *dst = (T *)p[2] + f * s[2];                                               \
        for (int64_t j = 0; j < c->length; j++)                                      \
            dst[idx[j * c->idx_stride] * c->dst_stride] += src[j * c->src_stride];   \
    }
    if (c->dtype == TG_INT64) SCATTER(int64_t)
    else SCATTER(float)
#undef SCATTER
}

/* dst[p, p[dim] := idx[p]] += src[p] for every p in idx's shape; idx values
 * are in range and the shapes fit (checked by callers). */
static int scatter_into(const char *op, tg_tensor *dst, int dim, tg_tensor *idx, tg_tensor *src)
{
    int nd = idx->ndim;
    int64_t fiber[TG_MAX_DIMS];
    memcpy(fiber, idx->shape, sizeof fiber);
    if (nd) fiber[dim] = 1;
    tg_tensor *i = restrided(idx, nd, fiber, idx->stride);
    tg_tensor *s = restrided(src, nd, fiber, src->stride);
    tg_tensor *o = restrided(dst, nd, fiber, dst->stride);
    tg_iter it;
    int rc = i && s && o ? tg_iter_init(&it, op, 3, (tg_tensor *[]){i, s, o}) : -1;
    if (!rc) {
        scatter_ctx c = {size_at(idx, dim), stride_at(idx, dim), stride_at(src, dim), stride_at(dst, dim),
                         dst->dtype};
        tg_iter_run(&it, scatter_loop, &c);
        tg_bump_version(dst);
    }
    tg_release(i);
    tg_release(s);
    tg_release(o);
    return rc;
}

int tg_k_scatter_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src)
{
    if (TG_NEED("scatter_add_", dst, index, src)) return -1;
    int d = tg_wrap_dim("scatter_add_", dim, dst->ndim);
    if (d < 0 || need_int64_index("scatter_add_", index) ||
        need_same_dtype("scatter_add_", dst, "the destination", src, "the source") ||
        need_writable("scatter_add_", dst))
        return -1;
    char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN], b2[TG_SHAPE_STR_LEN];
    if (index->ndim != dst->ndim || src->ndim != dst->ndim)
        return TG_FAIL("scatter_add_: index, source and destination have %d, %d and %d dims; they must match",
                       index->ndim, src->ndim, dst->ndim);
    for (int i = 0; i < dst->ndim; i++)
        if (index->shape[i] > src->shape[i] || (i != d && index->shape[i] > dst->shape[i]))
            return TG_FAIL("scatter_add_: index shape %s exceeds source %s or destination %s in dim %d",
                           tg_shape_str(index->ndim, index->shape, b0, sizeof b0),
                           tg_shape_str(src->ndim, src->shape, b1, sizeof b1),
                           tg_shape_str(dst->ndim, dst->shape, b2, sizeof b2), i);
    if (check_index_range("scatter_add_", index, size_at(dst, d), d)) return -1;
    return scatter_into("scatter_add_", dst, d, index, src);
}

int tg_k_index_add_(tg_tensor *dst, int dim, tg_tensor *index, tg_tensor *src)
{
    if (TG_NEED("index_add_", dst, index, src)) return -1;
    int d = tg_wrap_dim("index_add_", dim, dst->ndim);
    if (d < 0 || check_index_1d("index_add_", index) ||
        need_same_dtype("index_add_", dst, "the destination", src, "the source") ||
        need_writable("index_add_", dst))
        return -1;
    int64_t n = tg_numel(index);
    bool fits = src->ndim == dst->ndim && size_at(src, d) == n;
    for (int i = 0; fits && i < dst->ndim; i++) fits = i == d || src->shape[i] == dst->shape[i];
    if (!fits) {
        char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
        return TG_FAIL("index_add_: source shape %s does not fit destination %s with %" PRId64
                       " indices along dim %d",
                       tg_shape_str(src->ndim, src->shape, b0, sizeof b0),
                       tg_shape_str(dst->ndim, dst->shape, b1, sizeof b1), n, d);
    }
    if (check_index_range("index_add_", index, size_at(dst, d), d)) return -1;
    tg_tensor *idx = index_along(index, src->ndim, src->shape, d);
    int rc = idx ? scatter_into("index_add_", dst, d, idx, src) : -1;
    tg_release(idx);
    return rc;
}

/* ---- cat and stack ---- */

/* torch.cat's legacy rule: a 1-D tensor of size 0 joins anything. */
static bool skipped_in_cat(const tg_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

static int check_list(const char *op, int n, tg_tensor *const *ts)
{
    if (n < 1 || !ts) return TG_FAIL("%s: expected at least one tensor, got %d", op, n);
    for (int i = 0; i < n; i++)
        if (!ts[i]) return -1; /* an earlier failure: keep its message */
    return 0;
}

tg_tensor *tg_k_cat(int n, tg_tensor *const *ts, int dim)
{
    if (check_list("cat", n, ts)) return NULL;
    int first = 0;
    while (first < n && skipped_in_cat(ts[first])) first++;
    const tg_tensor *ref = ts[first < n ? first : 0];
    if (ref->ndim == 0) {
        TG_FAIL("cat: a 0-dim tensor (input %d) cannot be concatenated", first);
        return NULL;
    }
    int d = tg_wrap_dim("cat", dim, ref->ndim);
    if (d < 0) return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, ref->shape, sizeof shape);
    shape[d] = 0;
    for (int i = 0; i < n; i++) {
        const tg_tensor *t = ts[i];
        if (t->dtype != ts[0]->dtype) {
            TG_FAIL("cat: input %d is %s but input 0 is %s; they must have one dtype", i,
                    tg_dtype_name(t->dtype), tg_dtype_name(ts[0]->dtype));
            return NULL;
        }
        if (skipped_in_cat(t)) continue;
        bool fits = t->ndim == ref->ndim;
        for (int k = 0; fits && k < t->ndim; k++) fits = k == d || t->shape[k] == ref->shape[k];
        if (!fits) {
            char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
            TG_FAIL("cat: input %d has shape %s but input %d has %s; sizes must match except in dim %d", i,
                    tg_shape_str(t->ndim, t->shape, b0, sizeof b0), first,
                    tg_shape_str(ref->ndim, ref->shape, b1, sizeof b1), d);
            return NULL;
        }
        shape[d] += t->shape[d];
    }
    tg_tensor *out = tg_empty(ref->ndim, shape, ts[0]->dtype);
    int64_t at = 0;
    for (int i = 0; out && i < n; i++) {
        if (skipped_in_cat(ts[i]) || ts[i]->shape[d] == 0) continue;
        int64_t len = ts[i]->shape[d];
        tg_tensor *part = tg_k_narrow(out, d, at, len);
        int rc = part ? tg_k_copy_(part, ts[i]) : -1;
        tg_release(part);
        if (rc) {
            tg_release(out);
            return NULL;
        }
        at += len;
    }
    return out;
}

tg_tensor *tg_k_stack(int n, tg_tensor *const *ts, int dim)
{
    if (check_list("stack", n, ts)) return NULL;
    const tg_tensor *ref = ts[0];
    if (ref->ndim == TG_MAX_DIMS) {
        TG_FAIL("stack: inputs already have %d dims", TG_MAX_DIMS);
        return NULL;
    }
    int d = tg_wrap_dim("stack", dim, ref->ndim + 1);
    if (d < 0) return NULL;
    for (int i = 1; i < n; i++) {
        if (ts[i]->dtype != ref->dtype) {
            TG_FAIL("stack: input %d is %s but input 0 is %s; they must have one dtype", i,
                    tg_dtype_name(ts[i]->dtype), tg_dtype_name(ref->dtype));
            return NULL;
        }
        if (!tg_same_shape(ts[i], ref)) {
            char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
            TG_FAIL("stack: input %d has shape %s but input 0 has %s; all must match", i,
                    tg_shape_str(ts[i]->ndim, ts[i]->shape, b0, sizeof b0),
                    tg_shape_str(ref->ndim, ref->shape, b1, sizeof b1));
            return NULL;
        }
    }
    int64_t shape[TG_MAX_DIMS];
    for (int i = 0, j = 0; i <= ref->ndim; i++) shape[i] = i == d ? n : ref->shape[j++];
    tg_tensor *out = tg_empty(ref->ndim + 1, shape, ref->dtype);
    for (int i = 0; out && i < n; i++) {
        tg_tensor *part = tg_k_select(out, d, i);
        int rc = part ? tg_k_copy_(part, ts[i]) : -1;
        tg_release(part);
        if (rc) {
            tg_release(out);
            return NULL;
        }
    }
    return out;
}

/* ---- one_hot ---- */

tg_tensor *tg_k_one_hot(tg_tensor *labels, int64_t num_classes)
{
    if (TG_NEED("one_hot", labels)) return NULL;
    if (labels->dtype != TG_INT64) {
        TG_FAIL("one_hot: labels must be int64, got %s", tg_dtype_name(labels->dtype));
        return NULL;
    }
    if (labels->ndim == TG_MAX_DIMS) {
        TG_FAIL("one_hot: labels already have %d dims", TG_MAX_DIMS);
        return NULL;
    }
    if (num_classes < -1) {
        TG_FAIL("one_hot: num_classes must be -1 (inferred) or >= 0, got %" PRId64, num_classes);
        return NULL;
    }
    tg_tensor *c = tg_k_contiguous(labels);
    if (!c) return NULL;
    const int64_t *v = (const int64_t *)c->storage->data + c->offset;
    int64_t n = tg_numel(c);
    if (num_classes == -1) {
        if (n == 0) {
            tg_release(c);
            TG_FAIL("one_hot: cannot infer the number of classes from empty labels");
            return NULL;
        }
        int64_t max = v[0];
        for (int64_t i = 1; i < n; i++) max = v[i] > max ? v[i] : max;
        num_classes = max < 0 ? 0 : max + 1; /* max < 0: the range check below names the label */
    }
    char for_what[64];
    snprintf(for_what, sizeof for_what, "%" PRId64 " classes", num_classes);
    tg_tensor *out = NULL;
    if (!check_range("one_hot", c, num_classes, "label", for_what)) {
        int64_t shape[TG_MAX_DIMS];
        memcpy(shape, labels->shape, sizeof shape);
        shape[labels->ndim] = num_classes;
        out = tg_zeros(labels->ndim + 1, shape, TG_INT64);
        if (out) {
            int64_t *o = (int64_t *)out->storage->data;
            for (int64_t i = 0; i < n; i++) o[i * num_classes + v[i]] = 1;
        }
    }
    tg_release(c);
    return out;
}

/* ---- confusion counts ---- */

static int check_confusion_args(tg_tensor *cm, tg_tensor *target, tg_tensor *pred)
{
    const char *op = "confusion_add_";
    if (cm->dtype != TG_INT64 || cm->ndim != 2 || cm->shape[0] != cm->shape[1] || !tg_is_contiguous(cm))
        return TG_FAIL("%s: the matrix must be a contiguous int64 (C, C)", op);
    if (need_int64_index(op, target) || need_int64_index(op, pred)) return -1;
    if (tg_same_shape(target, pred)) return 0;
    char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
    return TG_FAIL("%s: target %s and prediction %s differ in shape", op,
                   tg_shape_str(target->ndim, target->shape, b0, sizeof b0),
                   tg_shape_str(pred->ndim, pred->shape, b1, sizeof b1));
}

/* The first counted element whose target or prediction is outside [0, c),
 * or -1. */
static int64_t first_out_of_range(const int64_t *t, const int64_t *p, int64_t n, int64_t c, int64_t ignore)
{
    for (int64_t i = 0; i < n; i++)
        if (t[i] != ignore && (t[i] < 0 || t[i] >= c || p[i] < 0 || p[i] >= c)) return i;
    return -1;
}

int tg_k_confusion_add_(tg_tensor *cm, tg_tensor *target, tg_tensor *pred, int64_t ignore_index)
{
    if (TG_NEED("confusion_add_", cm, target, pred)) return -1;
    if (check_confusion_args(cm, target, pred)) return -1;
    tg_tensor *tc = tg_k_contiguous(target), *pc = tc ? tg_k_contiguous(pred) : NULL;
    int rc = pc ? 0 : -1;
    if (!rc) {
        const int64_t *t = (const int64_t *)tc->storage->data + tc->offset;
        const int64_t *p = (const int64_t *)pc->storage->data + pc->offset;
        int64_t n = tg_numel(tc), c = cm->shape[0];
        int64_t bad = first_out_of_range(t, p, n, c, ignore_index);
        if (bad >= 0) {
            rc = TG_FAIL("confusion_add_: target %" PRId64 " or prediction %" PRId64 " out of range for %" PRId64
                         " classes (at element %" PRId64 "; ignored target %" PRId64 ")",
                         t[bad], p[bad], c, bad, ignore_index);
        } else {
            int64_t *m = (int64_t *)cm->storage->data + cm->offset;
            for (int64_t i = 0; i < n; i++)
                if (t[i] != ignore_index) m[t[i] * c + p[i]]++;
            tg_bump_version(cm);
        }
    }
    tg_release(tc);
    tg_release(pc);
    return rc;
}
