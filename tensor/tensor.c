/* Tensor queries, element access and creation. */
#include "tensor/tensor.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

static int check_dtype(const char *fn, tg_dtype dtype)
{
    if (dtype == TG_FLOAT32 || dtype == TG_INT64) return 0;
    return TG_FAIL("%s: unknown dtype %d", fn, (int)dtype);
}

size_t tg_dtype_size(tg_dtype dtype)
{
    if (check_dtype("dtype_size", dtype)) return 0;
    return dtype == TG_INT64 ? sizeof(int64_t) : sizeof(float);
}

const char *tg_dtype_name(tg_dtype dtype)
{
    if (check_dtype("dtype_name", dtype)) return NULL;
    return dtype == TG_INT64 ? "int64" : "float32";
}

int64_t tg_numel(const tg_tensor *t)
{
    if (TG_NEED("numel", t)) return -1;
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

bool tg_is_contiguous(const tg_tensor *t)
{
    if (TG_NEED("is_contiguous", t)) return false;
    if (tg_numel(t) == 0) return true;
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect) return false;
        expect *= t->shape[i];
    }
    return true;
}

bool tg_same_shape(const tg_tensor *a, const tg_tensor *b)
{
    if (TG_NEED("same_shape", a, b)) return false;
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

char *tg_shape_str(int ndim, const int64_t *shape, char *buf, size_t len)
{
    if (TG_NEED("shape_str", shape, buf) || TG_NEED_RANGE("shape_str", ndim, 0, TG_MAX_DIMS) ||
        TG_NEED_RANGE("shape_str", len, 1, INT_MAX))
        return NULL;
    size_t n = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (n < len) snprintf(buf + n, len - n, ")");
    return buf;
}

int tg_wrap_dim(const char *op, int dim, int ndim)
{
    int lo = ndim ? -ndim : -1, hi = ndim ? ndim : 1;
    if (dim < lo || dim >= hi) return TG_FAIL("%s: dim %d out of range for a %d-dim tensor", op, dim, ndim);
    return dim < 0 ? dim + (ndim ? ndim : 1) : dim;
}

/* ---- element access ---- */

/* The storage offset of the element at index into *off, or -1 with an
 * error naming fn when an argument is NULL or an index out of range. */
static int element_offset(const char *fn, const tg_tensor *t, const int64_t *index, int64_t *off)
{
    if (TG_NEED(fn, t) || (t->ndim > 0 && TG_NEED(fn, index))) return -1;
    *off = t->offset;
    for (int i = 0; i < t->ndim; i++) {
        if (index[i] < 0 || index[i] >= t->shape[i])
            return TG_FAIL("%s: index %lld out of range for dim %d of size %lld", fn, (long long)index[i], i,
                           (long long)t->shape[i]);
        *off += index[i] * t->stride[i];
    }
    return 0;
}

float tg_get(const tg_tensor *t, const int64_t *index)
{
    int64_t off;
    if (element_offset("get", t, index, &off)) return NAN;
    if (t->dtype == TG_INT64) return (float)((int64_t *)t->storage->data)[off];
    return ((float *)t->storage->data)[off];
}

int64_t tg_get_i64(const tg_tensor *t, const int64_t *index)
{
    int64_t off;
    if (element_offset("get_i64", t, index, &off)) return -1;
    if (t->dtype == TG_FLOAT32) return (int64_t)((float *)t->storage->data)[off];
    return ((int64_t *)t->storage->data)[off];
}

float tg_item(const tg_tensor *t)
{
    if (TG_NEED("item", t)) return NAN;
    int64_t zero[TG_MAX_DIMS] = {0};
    if (tg_numel(t) != 1) {
        TG_FAIL("item: tensor has %lld elements, not 1", (long long)tg_numel(t));
        return NAN;
    }
    return tg_get(t, zero);
}

int tg_copy_to_buffer(const tg_tensor *t, void *out)
{
    if (TG_NEED("copy_to_buffer", t, out)) return -1;
    tg_tensor *c = tg_k_contiguous((tg_tensor *)t);
    if (!c) return -1;
    size_t elsize = tg_dtype_size(c->dtype);
    memcpy(out, (char *)c->storage->data + c->offset * (int64_t)elsize, (size_t)tg_numel(c) * elsize);
    tg_release(c);
    return 0;
}

static void *contiguous_data(tg_tensor *t, tg_dtype dtype, const char *op)
{
    if (TG_NEED(op, t)) return NULL;
    if (t->dtype != dtype) {
        TG_FAIL("%s: tensor is %s, not %s", op, tg_dtype_name(t->dtype), tg_dtype_name(dtype));
        return NULL;
    }
    if (!tg_is_contiguous(t)) {
        TG_FAIL("%s: tensor is not contiguous", op);
        return NULL;
    }
    return (char *)t->storage->data + t->offset * (int64_t)tg_dtype_size(dtype);
}

float *tg_data_f32(tg_tensor *t) { return contiguous_data(t, TG_FLOAT32, "data_f32"); }

int64_t *tg_data_i64(tg_tensor *t) { return contiguous_data(t, TG_INT64, "data_i64"); }

/* ---- creation ---- */

tg_tensor *tg_empty(int ndim, const int64_t *shape, tg_dtype dtype)
{
    if (check_dtype("empty", dtype)) return NULL;
    int64_t n = tg_shape_numel("empty", ndim, shape);
    if (n < 0) return NULL;
    tg_storage *s = tg_storage_new((size_t)n * tg_dtype_size(dtype));
    if (!s) return NULL;
    int64_t stride[TG_MAX_DIMS];
    tg_contiguous_strides(ndim, shape, stride);
    tg_tensor *t = tg_tensor_wrap(s, 0, ndim, shape, stride, dtype);
    tg_storage_release(s);
    return t;
}

static tg_tensor *filled(int ndim, const int64_t *shape, tg_dtype dtype, double value)
{
    tg_tensor *t = tg_empty(ndim, shape, dtype);
    if (t && tg_k_fill_(t, value)) {
        tg_release(t);
        return NULL;
    }
    return t;
}

tg_tensor *tg_zeros(int ndim, const int64_t *shape, tg_dtype dtype)
{
    tg_tensor *t = tg_empty(ndim, shape, dtype);
    if (t) memset(t->storage->data, 0, t->storage->nbytes);
    return t;
}

tg_tensor *tg_ones(int ndim, const int64_t *shape, tg_dtype dtype) { return filled(ndim, shape, dtype, 1.0); }

tg_tensor *tg_full(int ndim, const int64_t *shape, float value) { return filled(ndim, shape, TG_FLOAT32, value); }

tg_tensor *tg_scalar(float value) { return filled(0, NULL, TG_FLOAT32, value); }

tg_tensor *tg_arange(double start, double end, double step)
{
    double count = ceil((end - start) / step);
    if (step == 0 || !(count >= 0) || count > (double)INT64_MAX / 8) {
        TG_FAIL("arange: empty or endless range %g to %g by %g", start, end, step);
        return NULL;
    }
    int64_t n = (int64_t)count;
    tg_tensor *t = tg_empty(TG_SHAPE(n), TG_FLOAT32);
    if (!t) return NULL;
    float *d = t->storage->data;
    for (int64_t i = 0; i < n; i++) d[i] = (float)(start + (double)i * step);
    return t;
}

tg_tensor *tg_from_data(int ndim, const int64_t *shape, tg_dtype dtype, const void *data)
{
    if (TG_NEED("from_data", data)) return NULL;
    tg_tensor *t = tg_empty(ndim, shape, dtype);
    if (t) memcpy(t->storage->data, data, (size_t)tg_numel(t) * tg_dtype_size(dtype));
    return t;
}

tg_tensor *tg_empty_like(const tg_tensor *t)
{
    return TG_NEED("empty_like", t) ? NULL : tg_empty(t->ndim, t->shape, t->dtype);
}

tg_tensor *tg_zeros_like(const tg_tensor *t)
{
    return TG_NEED("zeros_like", t) ? NULL : tg_zeros(t->ndim, t->shape, t->dtype);
}
