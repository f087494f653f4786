/* tg_dist_* (see dist.h): the arguments checked alike on every rank, then
 * the transport of this build (internal/backend.h). */
#include "dist/dist.h"

#include <stdint.h>
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

int tg_dist_agree(int rc)
{
    int size = tg_dist_world_size();
    int64_t mine = rc != 0, *all = malloc((size_t)size * sizeof mine);
    if (!all) return TG_FAIL("dist agree: out of memory");
    int failed = tg_dist_backend_allgather(&mine, all, sizeof mine) ? -2 : -1;
    for (int r = 0; failed == -1 && r < size; r++)
        if (all[r]) failed = r;
    free(all);
    if (failed == -2) return -1;
    if (failed < 0) return 0;
    return mine ? -1 : TG_FAIL("rank %d failed", failed);
}

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

/* Divides x by the number of ranks (the mean's last step). */
static void divide_by_ranks(tg_tensor *t)
{
    float size = (float)tg_dist_world_size(), *x = tg_data_f32(t);
    for (int64_t i = 0; i < tg_numel(t); i++) x[i] /= size;
}

/* The arguments of an allreduce named name. */
static int check_reduce(const char *name, const tg_tensor *t, tg_dist_op op)
{
    if (check_inplace(name, t)) return -1;
    if (op != TG_DIST_SUM && op != TG_DIST_MEAN) return TG_FAIL("%s: unknown op %d", name, (int)op);
    if (op == TG_DIST_MEAN && t->dtype != TG_FLOAT32) return TG_FAIL("%s: the mean takes float32 only", name);
    return 0;
}

int tg_dist_allreduce(tg_tensor *t, tg_dist_op op)
{
    if (check_reduce("dist allreduce", t, op)) return -1;
    if (tg_dist_backend_allreduce_sum(data_of(t), tg_numel(t), t->dtype)) return -1;
    if (op == TG_DIST_MEAN) divide_by_ranks(t);
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

struct tg_dist_work {
    tg_tensor *t; /* held until the wait */
    void *request;
    bool mean;
};

tg_dist_work *tg_dist_allreduce_start(tg_tensor *t, tg_dist_op op)
{
    if (check_reduce("dist allreduce_start", t, op)) return NULL;
    if (tg_numel(t) > (int64_t)1 << 30) {
        TG_FAIL("dist allreduce_start: %lld elements; at most 2^30 (split the tensor)", (long long)tg_numel(t));
        return NULL;
    }
    tg_dist_work *w = calloc(1, sizeof *w);
    if (!w) {
        TG_FAIL("dist allreduce_start: out of memory");
        return NULL;
    }
    if (tg_dist_backend_allreduce_start(data_of(t), tg_numel(t), t->dtype, &w->request)) {
        free(w);
        return NULL;
    }
    w->t = tg_retain(t);
    w->mean = op == TG_DIST_MEAN;
    return w;
}

int tg_dist_test(tg_dist_work *work)
{
    if (TG_NEED("dist test", work)) return -1;
    bool done = false;
    return tg_dist_backend_test(work->request, &done) ? -1 : done;
}

int tg_dist_wait(tg_dist_work *work)
{
    if (!work) return 0;
    int rc = tg_dist_backend_wait(work->request);
    if (!rc && work->mean) divide_by_ranks(work->t);
    if (!rc) tg_bump_version(work->t);
    tg_release(work->t);
    free(work);
    return rc;
}

/* FNV-1a over the bytes. */
static uint64_t hash_of(const unsigned char *p, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * UINT64_C(1099511628211);
    return h;
}

int tg_dist_check_same(const void *data, size_t len, const char *what)
{
    if (TG_NEED("dist check_same", what) || (len && TG_NEED("dist check_same", data))) return -1;
    int size = tg_dist_world_size();
    uint64_t mine[2] = {hash_of(data, len), len}, *all = malloc((size_t)size * sizeof mine);
    if (!all) return TG_FAIL("dist check_same: out of memory");
    int rc = tg_dist_backend_allgather(mine, all, sizeof mine);
    for (int r = 1; !rc && r < size; r++)
        if (memcmp(all + 2 * r, all, sizeof mine))
            rc = TG_FAIL("%s differs between ranks: rank %d's is not rank 0's", what, r);
    free(all);
    return rc;
}
