/* The tensor: a strided view over a refcounted storage.
 *
 * A tensor has a dtype, up to TG_MAX_DIMS dims in PyTorch order (N, C, H, W),
 * element strides and a storage offset. Views (tg_view, tg_narrow ... in
 * autograd/ops.h) share the storage of their base; the storage's version
 * counter is bumped by every in-place write, so autograd can refuse a saved
 * tensor that changed.
 *
 * Ownership: every function that returns a tg_tensor * returns a new
 * reference, which the caller gives back with tg_release. Arguments are
 * borrowed: a function never keeps or releases what it was given unless it
 * says so. Fields are read-only outside tensor/. */
#ifndef TG_TENSOR_H
#define TG_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/error.h"
#include "tensor/export.h"

#define TG_MAX_DIMS 8

typedef enum { TG_FLOAT32, TG_INT64 } tg_dtype;

/* Where a storage lives. Only the CPU for now; kernels dispatch on it. */
typedef enum { TG_CPU } tg_device;

typedef struct tg_storage {
    void *data;
    size_t nbytes;
    tg_device device;
    _Atomic long refcount;
    _Atomic uint64_t version; /* bumped by every in-place write */
} tg_storage;

/* Autograd's per-tensor state; opaque to tensor/ (see autograd/internal/graph.h). */
struct tg_autograd_meta;

typedef struct tg_tensor {
    tg_storage *storage;
    int64_t offset; /* in elements */
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    int64_t stride[TG_MAX_DIMS]; /* in elements */
    tg_dtype dtype;
    bool is_view; /* made by a view op: shares its base's storage */
    _Atomic long refcount;
    struct tg_autograd_meta *autograd;
} tg_tensor;

/* ---- lifetime ---- */
TG_API tg_tensor *tg_retain(tg_tensor *t); /* returns t; NULL is fine */
TG_API void tg_release(tg_tensor *t);      /* NULL is fine */

/* ---- creation (all contiguous, new storage); NULL with an error for a
 * bad shape or an unknown dtype ---- */
TG_API tg_tensor *tg_empty(int ndim, const int64_t *shape, tg_dtype dtype);
TG_API tg_tensor *tg_zeros(int ndim, const int64_t *shape, tg_dtype dtype);
TG_API tg_tensor *tg_ones(int ndim, const int64_t *shape, tg_dtype dtype);
TG_API tg_tensor *tg_full(int ndim, const int64_t *shape, float value);
TG_API tg_tensor *tg_scalar(float value); /* 0-dim float32 */
/* start, start+step, ... below end (float32). */
TG_API tg_tensor *tg_arange(double start, double end, double step);
/* Copies n = prod(shape) elements from data. */
TG_API tg_tensor *tg_from_data(int ndim, const int64_t *shape, tg_dtype dtype, const void *data);
TG_API tg_tensor *tg_empty_like(const tg_tensor *t);
TG_API tg_tensor *tg_zeros_like(const tg_tensor *t);

/* Shorthand for a shape literal: tg_zeros(TG_SHAPE(2, 3), TG_FLOAT32). */
#define TG_SHAPE(...) \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

/* ---- queries: given NULL or an unknown dtype, they fail with -1, 0,
 * false or NULL and an error ---- */
TG_API int64_t tg_numel(const tg_tensor *t);
TG_API size_t tg_dtype_size(tg_dtype dtype);
TG_API const char *tg_dtype_name(tg_dtype dtype);
TG_API bool tg_is_contiguous(const tg_tensor *t);
TG_API bool tg_same_shape(const tg_tensor *a, const tg_tensor *b);
/* Writes "(2,3,4)" into buf; returns buf. */
TG_API char *tg_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);
#define TG_SHAPE_STR_LEN 160

/* Element access for tests, I/O and examples (one element; slow). index
 * holds one index per dim (NULL for a 0-dim tensor); a NULL tensor or an
 * index out of range fails
 * with NaN (tg_get, tg_item) or -1 (tg_get_i64) and an error. */
TG_API float tg_get(const tg_tensor *t, const int64_t *index);
TG_API int64_t tg_get_i64(const tg_tensor *t, const int64_t *index);
TG_API float tg_item(const tg_tensor *t); /* the one element of a 1-element tensor */
/* Copies all elements in logical (row-major) order into out (numel of them,
 * of the tensor's dtype). */
TG_API int tg_copy_to_buffer(const tg_tensor *t, void *out);
/* Pointer to the first element of a contiguous tensor, or NULL with error. */
TG_API float *tg_data_f32(tg_tensor *t);
TG_API int64_t *tg_data_i64(tg_tensor *t);

/* Marks an in-place write to t's storage (autograd refuses stale saves). */
TG_API void tg_bump_version(tg_tensor *t);
TG_API uint64_t tg_version(const tg_tensor *t);

#endif
