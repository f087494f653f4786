/* Walking several strided operands of one shape in lockstep (internal).
 *
 * Operand 0 is the output and fixes the shape; the others are broadcast to
 * it (stride 0 on broadcast dims). Size-1 dims are dropped and dims that are
 * contiguous for every operand are merged, so most walks become one flat
 * loop. Work is split into contiguous ranges of the output, one per thread:
 * each element is computed by exactly one thread the same way, whatever the
 * thread count. */
#ifndef TG_ITER_H
#define TG_ITER_H

#include "tensor/tensor.h"

#define TG_ITER_MAX_OPS 5

typedef struct tg_iter {
    int ndim;
    int nops;
    int64_t numel;
    int64_t shape[TG_MAX_DIMS];
    int64_t stride[TG_ITER_MAX_OPS][TG_MAX_DIMS]; /* element strides */
    char *data[TG_ITER_MAX_OPS];                  /* first element */
    size_t elsize[TG_ITER_MAX_OPS];
} tg_iter;

/* Runs n elements: ptr[k] is operand k's first element, stride[k] its
 * element stride. */
typedef void (*tg_iter_loop)(char **ptr, const int64_t *stride, int64_t n, const void *ctx);

int tg_iter_init(tg_iter *it, const char *op, int nops, tg_tensor *const *ops);
void tg_iter_run(const tg_iter *it, tg_iter_loop loop, const void *ctx);

/* The broadcast of n shapes (NumPy rules) into ndim/shape, or -1 with an
 * error naming op and the shapes. */
int tg_broadcast_shapes(const char *op, int n, tg_tensor *const *ts, int *ndim, int64_t *shape);

/* Fails, naming op and the argument, unless each of the n inputs is there
 * and float32. */
int tg_iter_check_f32(const char *op, int n, tg_tensor *const *ts);

/* A new float32 tensor of the broadcast shape of nin float32 inputs, loop
 * run over it (operand 0) and the inputs with ctx: what an elementwise
 * kernel does. NULL with an error naming op (a missing or non-float32
 * input, shapes that do not broadcast, out of memory). */
tg_tensor *tg_iter_map_f32(const char *op, tg_iter_loop loop, int nin, tg_tensor *const *in, const void *ctx);

/* Below this many elements a kernel runs on one thread. */
#define TG_PARALLEL_GRAIN 32768

#endif
