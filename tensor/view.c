/* Views over shared storage, and the copies behind contiguous/clone/reshape. */
#include "tensor/internal/view.h"

#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/storage.h"

static tg_tensor *make_view(tg_tensor *base, int64_t offset, int ndim, const int64_t *shape,
                            const int64_t *stride)
{
    tg_tensor *v = tg_tensor_wrap(base->storage, offset, ndim, shape, stride, base->dtype);
    if (v) v->is_view = true;
    return v;
}

/* Resolves one -1 entry of a requested shape against numel into out. */
static int infer_shape(const char *op, const tg_tensor *t, int ndim, const int64_t *shape, int64_t *out)
{
    if (TG_NEED_RANGE(op, ndim, 0, TG_MAX_DIMS) || (ndim > 0 && TG_NEED(op, shape))) return -1;
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1 && infer < 0) infer = i;
        else if (shape[i] < 0) return TG_FAIL("%s: invalid size %lld in dim %d", op, (long long)shape[i], i);
        else if (shape[i] > 0 && known > INT64_MAX / shape[i]) return TG_FAIL("%s: shape too large", op);
        else known *= shape[i];
    }
    int64_t n = tg_numel(t);
    if (infer >= 0 && known > 0 && n % known == 0) out[infer] = n / known;
    if ((infer >= 0 && (known == 0 || n % known)) || (infer < 0 && known != n)) {
        char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
        return TG_FAIL("%s: shape %s is invalid for a tensor of shape %s (%lld elements)", op,
                       tg_shape_str(ndim, shape, b1, sizeof b1), tg_shape_str(t->ndim, t->shape, b0, sizeof b0),
                       (long long)n);
    }
    return 0;
}

/* Strides that view t with shape, or false when its strides forbid it
 * (PyTorch's rule: each run of mutually contiguous old dims maps onto
 * whole new dims). */
static bool view_strides(const tg_tensor *t, int ndim, const int64_t *shape, int64_t *stride)
{
    if (t->ndim == 0 || tg_numel(t) == 0) {
        tg_contiguous_strides(ndim, shape, stride);
        return true;
    }
    int vd = ndim - 1;
    int64_t base = t->stride[t->ndim - 1], tn = 1, vn = 1;
    for (int td = t->ndim - 1; td >= 0; td--) {
        tn *= t->shape[td];
        if (td == 0 || (t->shape[td - 1] != 1 && t->stride[td - 1] != tn * base)) {
            while (vd >= 0 && (vn < tn || shape[vd] == 1)) {
                stride[vd] = vn * base;
                vn *= shape[vd];
                vd--;
            }
            if (vn != tn) return false;
            if (td > 0) {
                base = t->stride[td - 1];
                tn = vn = 1;
            }
        }
    }
    return vd == -1;
}

tg_tensor *tg_k_view(tg_tensor *t, int ndim, const int64_t *shape)
{
    if (TG_NEED("view", t)) return NULL;
    int64_t s[TG_MAX_DIMS], st[TG_MAX_DIMS];
    if (infer_shape("view", t, ndim, shape, s)) return NULL;
    if (!view_strides(t, ndim, s, st)) {
        char b[TG_SHAPE_STR_LEN];
        TG_FAIL("view: strides of a %s tensor do not allow this view; use reshape",
                tg_shape_str(t->ndim, t->shape, b, sizeof b));
        return NULL;
    }
    return make_view(t, t->offset, ndim, s, st);
}

tg_tensor *tg_k_reshape(tg_tensor *t, int ndim, const int64_t *shape)
{
    if (TG_NEED("reshape", t)) return NULL;
    int64_t s[TG_MAX_DIMS], st[TG_MAX_DIMS];
    if (infer_shape("reshape", t, ndim, shape, s)) return NULL;
    if (view_strides(t, ndim, s, st)) return make_view(t, t->offset, ndim, s, st);
    tg_tensor *c = tg_k_clone(t);
    if (!c) return NULL;
    tg_tensor *v = tg_k_view(c, ndim, s);
    tg_release(c);
    if (v) v->is_view = false; /* it alone owns the copy */
    return v;
}

tg_tensor *tg_k_permute(tg_tensor *t, const int *perm)
{
    if (TG_NEED("permute", t, perm)) return NULL;
    int64_t s[TG_MAX_DIMS], st[TG_MAX_DIMS];
    bool seen[TG_MAX_DIMS] = {false};
    for (int i = 0; i < t->ndim; i++) {
        int d = tg_wrap_dim("permute", perm[i], t->ndim);
        if (d < 0) return NULL;
        if (seen[d]) {
            TG_FAIL("permute: dim %d repeated", d);
            return NULL;
        }
        seen[d] = true;
        s[i] = t->shape[d];
        st[i] = t->stride[d];
    }
    return make_view(t, t->offset, t->ndim, s, st);
}

tg_tensor *tg_k_transpose(tg_tensor *t, int dim0, int dim1)
{
    if (TG_NEED("transpose", t)) return NULL;
    int d0 = tg_wrap_dim("transpose", dim0, t->ndim), d1 = tg_wrap_dim("transpose", dim1, t->ndim);
    if (d0 < 0 || d1 < 0) return NULL;
    int perm[TG_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++) perm[i] = i;
    perm[d0] = d1;
    perm[d1] = d0;
    if (t->ndim == 0) return make_view(t, t->offset, 0, NULL, NULL);
    return tg_k_permute(t, perm);
}

tg_tensor *tg_k_narrow(tg_tensor *t, int dim, int64_t start, int64_t length)
{
    if (TG_NEED("narrow", t)) return NULL;
    int d = tg_wrap_dim("narrow", dim, t->ndim);
    if (d < 0) return NULL;
    if (t->ndim == 0) {
        TG_FAIL("narrow: cannot narrow a 0-dim tensor");
        return NULL;
    }
    if (start < 0) start += t->shape[d];
    if (start < 0 || length < 0 || length > t->shape[d] - start) {
        TG_FAIL("narrow: range start %lld length %lld exceeds size %lld of dim %d", (long long)start,
                (long long)length, (long long)t->shape[d], d);
        return NULL;
    }
    int64_t s[TG_MAX_DIMS];
    memcpy(s, t->shape, sizeof s);
    s[d] = length;
    return make_view(t, t->offset + start * t->stride[d], t->ndim, s, t->stride);
}

tg_tensor *tg_k_select(tg_tensor *t, int dim, int64_t index)
{
    if (TG_NEED("select", t)) return NULL;
    if (t->ndim == 0) {
        TG_FAIL("select: cannot index a 0-dim tensor");
        return NULL;
    }
    int d = tg_wrap_dim("select", dim, t->ndim);
    if (d < 0) return NULL;
    if (index < -t->shape[d] || index >= t->shape[d]) {
        TG_FAIL("select: index %lld out of range for size %lld of dim %d", (long long)index,
                (long long)t->shape[d], d);
        return NULL;
    }
    if (index < 0) index += t->shape[d];
    int64_t s[TG_MAX_DIMS], st[TG_MAX_DIMS];
    for (int i = 0, j = 0; i < t->ndim; i++) {
        if (i == d) continue;
        s[j] = t->shape[i];
        st[j++] = t->stride[i];
    }
    return make_view(t, t->offset + index * t->stride[d], t->ndim - 1, s, st);
}

tg_tensor *tg_k_expand(tg_tensor *t, int ndim, const int64_t *shape)
{
    if (TG_NEED("expand", t, shape)) return NULL;
    if (ndim < t->ndim || ndim > TG_MAX_DIMS) {
        TG_FAIL("expand: cannot expand %d dims to %d", t->ndim, ndim);
        return NULL;
    }
    int64_t s[TG_MAX_DIMS], st[TG_MAX_DIMS];
    int lead = ndim - t->ndim;
    for (int i = 0; i < ndim; i++) {
        int64_t have = i < lead ? 1 : t->shape[i - lead];
        int64_t want = shape[i] == -1 && i >= lead ? have : shape[i];
        if (want == have) {
            s[i] = have;
            st[i] = i < lead ? 0 : t->stride[i - lead];
        } else if (have == 1 && want >= 0) {
            s[i] = want;
            st[i] = 0;
        } else {
            char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
            TG_FAIL("expand: cannot expand %s to %s", tg_shape_str(t->ndim, t->shape, b0, sizeof b0),
                    tg_shape_str(ndim, shape, b1, sizeof b1));
            return NULL;
        }
    }
    return make_view(t, t->offset, ndim, s, st);
}

tg_tensor *tg_k_squeeze(tg_tensor *t, int dim)
{
    if (TG_NEED("squeeze", t)) return NULL;
    int d = tg_wrap_dim("squeeze", dim, t->ndim);
    if (d < 0) return NULL;
    if (t->ndim == 0) return make_view(t, t->offset, 0, NULL, NULL);
    if (t->shape[d] != 1) {
        TG_FAIL("squeeze: dim %d has size %lld, not 1", d, (long long)t->shape[d]);
        return NULL;
    }
    return tg_k_select(t, d, 0);
}

tg_tensor *tg_k_unsqueeze(tg_tensor *t, int dim)
{
    if (TG_NEED("unsqueeze", t)) return NULL;
    int d = tg_wrap_dim("unsqueeze", dim, t->ndim + 1);
    if (d < 0) return NULL;
    if (t->ndim == TG_MAX_DIMS) {
        TG_FAIL("unsqueeze: tensor already has %d dims", TG_MAX_DIMS);
        return NULL;
    }
    int64_t s[TG_MAX_DIMS], st[TG_MAX_DIMS];
    for (int i = 0, j = 0; i <= t->ndim; i++) {
        if (i == d) {
            s[i] = 1;
            st[i] = j < t->ndim ? t->stride[j] * t->shape[j] : 1;
            continue;
        }
        s[i] = t->shape[j];
        st[i] = t->stride[j++];
    }
    return make_view(t, t->offset, t->ndim + 1, s, st);
}

/* ---- copies ---- */

static void copy_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const tg_dtype *types = ctx; /* {dst, src} */
    if (types[0] == types[1] && s[0] == 1 && s[1] == 1) {
        memcpy(p[0], p[1], (size_t)n * tg_dtype_size(types[0]));
        return;
    }
#define COPY(DT, ST)                                                              \
    for (int64_t i = 0; i < n; i++) ((DT *)p[0])[i * s[0]] = (DT)((const ST *)p[1])[i * s[1]]
    if (types[0] == TG_FLOAT32 && types[1] == TG_FLOAT32) COPY(float, float);
    else if (types[0] == TG_FLOAT32) COPY(float, int64_t);
    else if (types[1] == TG_FLOAT32) COPY(int64_t, float);
    else COPY(int64_t, int64_t);
#undef COPY
}

int tg_k_copy_(tg_tensor *dst, tg_tensor *src)
{
    if (TG_NEED("copy_", dst, src)) return -1;
    tg_iter it;
    if (tg_iter_init(&it, "copy_", 2, (tg_tensor *[]){dst, src})) return -1;
    tg_dtype types[2] = {dst->dtype, src->dtype};
    tg_iter_run(&it, copy_loop, types);
    tg_bump_version(dst);
    return 0;
}

static tg_tensor *copy_as(tg_tensor *t, tg_dtype dtype)
{
    tg_tensor *c = tg_empty(t->ndim, t->shape, dtype);
    if (c && tg_k_copy_(c, t)) {
        tg_release(c);
        return NULL;
    }
    return c;
}

tg_tensor *tg_k_clone(tg_tensor *t)
{
    if (TG_NEED("clone", t)) return NULL;
    return copy_as(t, t->dtype);
}

tg_tensor *tg_k_contiguous(tg_tensor *t)
{
    if (TG_NEED("contiguous", t)) return NULL;
    return tg_is_contiguous(t) ? tg_retain(t) : tg_k_clone(t);
}

tg_tensor *tg_k_to_dtype(tg_tensor *t, tg_dtype dtype)
{
    if (TG_NEED("to_dtype", t)) return NULL;
    return copy_as(t, dtype);
}

typedef struct {
    tg_dtype dtype;
    double value;
} fill_ctx;

static void fill_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    const fill_ctx *f = ctx;
    if (f->dtype == TG_INT64)
        for (int64_t i = 0; i < n; i++) ((int64_t *)p[0])[i * s[0]] = (int64_t)f->value;
    else
        for (int64_t i = 0; i < n; i++) ((float *)p[0])[i * s[0]] = (float)f->value;
}

int tg_k_fill_(tg_tensor *dst, double value)
{
    if (TG_NEED("fill_", dst)) return -1;
    tg_iter it;
    if (tg_iter_init(&it, "fill_", 1, &dst)) return -1;
    tg_iter_run(&it, fill_loop, &(fill_ctx){dst->dtype, value});
    tg_bump_version(dst);
    return 0;
}
