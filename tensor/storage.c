/* Storage (its blocks come from memory.c), tensor headers and their
 * refcounted lifetime. */
#include "tensor/internal/storage.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"

static void (*autograd_meta_free)(struct tg_autograd_meta *);

void tg_set_autograd_meta_free(void (*fn)(struct tg_autograd_meta *)) { autograd_meta_free = fn; }

tg_storage *tg_storage_new(size_t nbytes)
{
    tg_storage *s = malloc(sizeof *s);
    void *data = s ? tg_memory_alloc(nbytes) : NULL;
    if (!s || !data) {
        free(s);
        TG_FAIL("out of memory allocating %zu bytes", nbytes);
        return NULL;
    }
    s->data = data;
    s->nbytes = nbytes;
    s->device = TG_CPU;
    atomic_init(&s->refcount, 1);
    atomic_init(&s->version, 0);
    return s;
}

void tg_storage_retain(tg_storage *s) { atomic_fetch_add(&s->refcount, 1); }

void tg_storage_release(tg_storage *s)
{
    if (!s || atomic_fetch_sub(&s->refcount, 1) != 1) return;
    tg_memory_free(s->data, s->nbytes);
    free(s);
}

void tg_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
}

int64_t tg_shape_numel(const char *op, int ndim, const int64_t *shape)
{
    if (ndim > 0 && TG_NEED(op, shape)) return -1;
    if (ndim < 0 || ndim > TG_MAX_DIMS) {
        TG_FAIL("%s: %d dims (at most %d)", op, ndim, TG_MAX_DIMS);
        return -1;
    }
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            TG_FAIL("%s: negative size %lld in dim %d", op, (long long)shape[i], i);
            return -1;
        }
        if (shape[i] && n > INT64_MAX / 8 / shape[i]) {
            TG_FAIL("%s: shape too large", op);
            return -1;
        }
        n *= shape[i];
    }
    return n;
}

tg_tensor *tg_tensor_wrap(tg_storage *s, int64_t offset, int ndim, const int64_t *shape,
                          const int64_t *stride, tg_dtype dtype)
{
    tg_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        TG_FAIL("out of memory allocating a tensor header");
        return NULL;
    }
    tg_storage_retain(s);
    t->storage = s;
    t->offset = offset;
    t->ndim = ndim;
    if (ndim) {
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
        memcpy(t->stride, stride, (size_t)ndim * sizeof *stride);
    }
    t->dtype = dtype;
    t->refcount = 1;
    return t;
}

tg_tensor *tg_retain(tg_tensor *t)
{
    if (t) atomic_fetch_add(&t->refcount, 1);
    return t;
}

void tg_release(tg_tensor *t)
{
    if (!t || atomic_fetch_sub(&t->refcount, 1) != 1) return;
    if (t->autograd && autograd_meta_free) autograd_meta_free(t->autograd);
    tg_storage_release(t->storage);
    free(t);
}

void tg_bump_version(tg_tensor *t)
{
    if (!TG_NEED("bump_version", t)) atomic_fetch_add(&t->storage->version, 1);
}

/* 0 with an error for NULL. */
uint64_t tg_version(const tg_tensor *t) { return TG_NEED("version", t) ? 0 : atomic_load(&t->storage->version); }
