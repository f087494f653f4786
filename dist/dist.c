/* tg_dist_* (see dist.h): the arguments checked alike on every rank, then
 * the transport of this build (internal/backend.h). */
#include "dist/dist.h"

#include <stdlib.h>
#include <string.h>

#include "dist/internal/backend.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"
#include "tensor/internal/view.h"

int tg_dist_init(int *argc, char ***argv) { return tg_dist_backend_init(argc, argv); }
int tg_dist_finalize(void) { return tg_dist_backend_finalize(); }
bool tg_dist_available(void) { return tg_dist_backend_available(); }
int tg_dist_rank(void) { return tg_dist_backend_rank(); }
int tg_dist_world_size(void) { return tg_dist_backend_size(); }
int tg_dist_barrier(void) { return tg_dist_backend_barrier(); }

/* A tensor the in-place collectives take: contiguous float32 or int64. */
static int check_inplace(const char *op, const tg_tensor *t)
{
    if (TG_NEED(op, t)) return -1;
    if (t->dtype != TG_FLOAT32 && t->dtype != TG_INT64)
        return TG_FAIL("%s: tensor is %s; float32 or int64 only", op, tg_dtype_name(t->dtype));
    if (!tg_is_contiguous(t)) return TG_FAIL("%s: tensor is not contiguous", op);
    return 0;
}

/* A contiguous float32 or int64 tensor's first element. */
static void *data_of(tg_tensor *t) { return t->dtype == TG_INT64 ? (void *)tg_data_i64(t) : (void *)tg_data_f32(t); }

int tg_dist_broadcast(tg_tensor *t, int root)
{
    if (check_inplace("dist broadcast", t)) return -1;
    int size = tg_dist_world_size();
    if (root < 0 || root >= size) return TG_FAIL("dist broadcast: root %d is not a rank of 0..%d", root, size - 1);
    if (tg_dist_backend_broadcast(data_of(t), tg_numel(t), t->dtype, root)) return -1;
    tg_bump_version(t);
    return 0;
}

int tg_dist_allreduce(tg_tensor *t, tg_dist_op op)
{
    if (check_inplace("dist allreduce", t)) return -1;
    if (op != TG_DIST_SUM && op != TG_DIST_MEAN) return TG_FAIL("dist allreduce: unknown op %d", (int)op);
    if (op == TG_DIST_MEAN && t->dtype != TG_FLOAT32) return TG_FAIL("dist allreduce: the mean takes float32 only");
    if (tg_dist_backend_allreduce_sum(data_of(t), tg_numel(t), t->dtype)) return -1;
    float size = (float)tg_dist_world_size();
    float *x = op == TG_DIST_MEAN ? data_of(t) : NULL;
    for (int64_t i = 0; x && i < tg_numel(t); i++) x[i] /= size;
    tg_bump_version(t);
    return 0;
}

enum { HEADER = 2 + TG_MAX_DIMS }; /* dtype, ndim, shape */

/* Whether every rank's t has this rank's shape and dtype: every rank
 * gathers every header, so all of them give the same answer. */
static int same_everywhere(const tg_tensor *t)
{
    int size = tg_dist_world_size();
    int64_t mine[HEADER] = {t->dtype, t->ndim}, *all = malloc((size_t)size * sizeof mine);
    if (!all) return TG_FAIL("dist allgather: out of memory");
    memcpy(mine + 2, t->shape, (size_t)t->ndim * sizeof *t->shape);
    int rc = tg_dist_backend_allgather(mine, all, sizeof mine);
    for (int r = 0; !rc && r < size; r++)
        if (memcmp(all + r * HEADER, all, sizeof mine))
            rc = TG_FAIL("dist allgather: rank %d's tensor differs from rank 0's in shape or dtype", r);
    free(all);
    return rc;
}

tg_tensor *tg_dist_allgather(tg_tensor *t)
{
    if (TG_NEED("dist allgather", t) || same_everywhere(t)) return NULL;
    if (t->ndim >= TG_MAX_DIMS) {
        TG_FAIL("dist allgather: a %d-dim tensor would gather to more than %d dims", t->ndim, TG_MAX_DIMS);
        return NULL;
    }
    int64_t shape[TG_MAX_DIMS] = {tg_dist_world_size()};
    memcpy(shape + 1, t->shape, (size_t)t->ndim * sizeof *shape);
    tg_tensor *mine = tg_k_contiguous(t), *out = mine ? tg_empty(t->ndim + 1, shape, t->dtype) : NULL;
    int64_t bytes = tg_numel(t) * (int64_t)tg_dtype_size(t->dtype);
    int rc = out ? tg_dist_backend_allgather(data_of(mine), data_of(out), bytes) : -1;
    tg_release(mine);
    if (rc) tg_release(out);
    return rc ? NULL : out;
}
