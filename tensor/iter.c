/* Strided lockstep iteration and broadcasting (see internal/iter.h). */
#include "tensor/internal/iter.h"

#include <omp.h>
#include <string.h>

#include "tensor/internal/check.h"

int tg_broadcast_shapes(const char *op, int n, tg_tensor *const *ts, int *ndim, int64_t *shape)
{
    int nd = 0;
    for (int k = 0; k < n; k++)
        if (ts[k]->ndim > nd) nd = ts[k]->ndim;
    for (int i = 0; i < nd; i++) shape[i] = 1;
    for (int k = 0; k < n; k++) {
        const tg_tensor *t = ts[k];
        for (int i = 0; i < t->ndim; i++) {
            int64_t *d = &shape[nd - t->ndim + i];
            int64_t s = t->shape[i];
            if (s == *d || s == 1) continue;
            if (*d != 1) {
                char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
                TG_FAIL("%s: shapes %s and %s cannot broadcast", op,
                        tg_shape_str(ts[0]->ndim, ts[0]->shape, b0, sizeof b0),
                        tg_shape_str(t->ndim, t->shape, b1, sizeof b1));
                return -1;
            }
            *d = s;
        }
    }
    *ndim = nd;
    return 0;
}

/* Operand k's strides against the output shape; -1 if it cannot broadcast. */
static int broadcast_strides(const tg_tensor *out, const tg_tensor *t, int64_t *stride)
{
    if (t->ndim > out->ndim) return -1;
    int lead = out->ndim - t->ndim;
    for (int i = 0; i < out->ndim; i++) {
        if (i < lead) {
            stride[i] = 0;
            continue;
        }
        int64_t s = t->shape[i - lead];
        if (s == out->shape[i]) stride[i] = t->stride[i - lead];
        else if (s == 1) stride[i] = 0;
        else return -1;
    }
    return 0;
}

/* Drops size-1 dims and merges dims contiguous for every operand. */
static void coalesce(tg_iter *it)
{
    int nd = 0;
    for (int i = 0; i < it->ndim; i++) {
        if (it->shape[i] == 1) continue;
        bool merge = nd > 0;
        for (int k = 0; k < it->nops && merge; k++)
            merge = it->stride[k][nd - 1] == it->stride[k][i] * it->shape[i];
        if (merge) {
            it->shape[nd - 1] *= it->shape[i];
            for (int k = 0; k < it->nops; k++) it->stride[k][nd - 1] = it->stride[k][i];
            continue;
        }
        it->shape[nd] = it->shape[i];
        for (int k = 0; k < it->nops; k++) it->stride[k][nd] = it->stride[k][i];
        nd++;
    }
    if (nd == 0) {
        it->shape[0] = 1;
        for (int k = 0; k < it->nops; k++) it->stride[k][0] = 0;
        nd = 1;
    }
    it->ndim = nd;
}

int tg_iter_init(tg_iter *it, const char *op, int nops, tg_tensor *const *ops)
{
    memset(it, 0, sizeof *it);
    const tg_tensor *out = ops[0];
    it->nops = nops;
    it->ndim = out->ndim;
    memcpy(it->shape, out->shape, sizeof it->shape);
    it->numel = tg_numel(out);
    for (int k = 0; k < nops; k++) {
        if (broadcast_strides(out, ops[k], it->stride[k])) {
            char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
            return TG_FAIL("%s: shape %s does not broadcast to %s", op,
                           tg_shape_str(ops[k]->ndim, ops[k]->shape, b1, sizeof b1),
                           tg_shape_str(out->ndim, out->shape, b0, sizeof b0));
        }
        it->elsize[k] = tg_dtype_size(ops[k]->dtype);
        it->data[k] = (char *)ops[k]->storage->data + ops[k]->offset * (int64_t)it->elsize[k];
    }
    coalesce(it);
    return 0;
}

/* Runs output elements [begin, end) in row-major order. */
static void run_range(const tg_iter *it, int64_t begin, int64_t end, tg_iter_loop loop, const void *ctx)
{
    int nd = it->ndim, last = nd - 1;
    int64_t idx[TG_MAX_DIMS];
    char *ptr[TG_ITER_MAX_OPS];
    int64_t inner[TG_ITER_MAX_OPS];
    int64_t rem = begin;
    for (int i = last; i >= 0; i--) {
        idx[i] = rem % it->shape[i];
        rem /= it->shape[i];
    }
    for (int k = 0; k < it->nops; k++) {
        int64_t off = 0;
        for (int i = 0; i < nd; i++) off += idx[i] * it->stride[k][i];
        ptr[k] = it->data[k] + off * (int64_t)it->elsize[k];
        inner[k] = it->stride[k][last];
    }
    for (int64_t pos = begin; pos < end;) {
        int64_t run = it->shape[last] - idx[last];
        if (run > end - pos) run = end - pos;
        loop(ptr, inner, run, ctx);
        pos += run;
        idx[last] += run;
        for (int k = 0; k < it->nops; k++) ptr[k] += run * inner[k] * (int64_t)it->elsize[k];
        for (int i = last; i > 0 && idx[i] == it->shape[i]; i--) {
            idx[i] = 0;
            idx[i - 1]++;
            for (int k = 0; k < it->nops; k++)
                ptr[k] += (it->stride[k][i - 1] - it->shape[i] * it->stride[k][i]) * (int64_t)it->elsize[k];
        }
    }
}

void tg_iter_run(const tg_iter *it, tg_iter_loop loop, const void *ctx)
{
    if (it->numel == 0) return;
    if (it->numel < TG_PARALLEL_GRAIN || omp_in_parallel()) {
        run_range(it, 0, it->numel, loop, ctx);
        return;
    }
#pragma omp parallel
    {
        int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        run_range(it, it->numel * t / nt, it->numel * (t + 1) / nt, loop, ctx);
    }
}

int tg_iter_check_f32(const char *op, int n, tg_tensor *const *ts)
{
    for (int k = 0; k < n; k++) {
        if (!ts[k]) return tg_need_argument(__FILE__, __LINE__, op, k + 1);
        if (ts[k]->dtype != TG_FLOAT32)
            return TG_FAIL("%s: argument %d is %s; this op takes float32", op, k + 1, tg_dtype_name(ts[k]->dtype));
    }
    return 0;
}

tg_tensor *tg_iter_map_f32(const char *op, tg_iter_loop loop, int nin, tg_tensor *const *in, const void *ctx)
{
    if (tg_iter_check_f32(op, nin, in)) return NULL;
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    if (tg_broadcast_shapes(op, nin, in, &ndim, shape)) return NULL;
    tg_tensor *out = tg_empty(ndim, shape, TG_FLOAT32);
    if (!out) return NULL;
    tg_tensor *ops[TG_ITER_MAX_OPS] = {out};
    for (int k = 0; k < nin; k++) ops[k + 1] = in[k];
    tg_iter it;
    if (tg_iter_init(&it, op, nin + 1, ops)) {
        tg_release(out);
        return NULL;
    }
    tg_iter_run(&it, loop, ctx);
    return out;
}
