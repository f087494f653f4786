/* Refcounted storage, the tensor headers over it and the memory blocks
 * behind it, with the shape helpers tensor/ and the layers above share
 * (internal). */
#ifndef TG_STORAGE_H
#define TG_STORAGE_H

#include "tensor/tensor.h"

/* New storage of nbytes (64-byte aligned, uninitialised); NULL with error. */
tg_storage *tg_storage_new(size_t nbytes);
void tg_storage_retain(tg_storage *s);
void tg_storage_release(tg_storage *s);

/* A tensor header over s (retained) with the given geometry; internal. */
tg_tensor *tg_tensor_wrap(tg_storage *s, int64_t offset, int ndim, const int64_t *shape,
                          const int64_t *stride, tg_dtype dtype);
/* Fills stride with the contiguous (row-major) strides of shape. */
void tg_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
/* Called when a tensor holding autograd state is freed; set by autograd/. */
void tg_set_autograd_meta_free(void (*fn)(struct tg_autograd_meta *));
/* prod(shape), or -1 with error on overflow or a negative size. */
int64_t tg_shape_numel(const char *op, int ndim, const int64_t *shape);
/* A dim index in [-ndim, ndim) made non-negative; -1 (with error) if out of range. */
int tg_wrap_dim(const char *op, int dim, int ndim);

/* The blocks behind storage (memory.c): a 64-byte-aligned block for
 * nbytes, from the cache when one fits, and its return. */
void *tg_memory_alloc(size_t nbytes);
void tg_memory_free(void *block, size_t nbytes);

#endif
