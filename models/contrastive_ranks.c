/* What the MoCo-v2 / DenseCL step does across the ranks of a data-parallel
 * job (dist/dist.h), as the official code does over its GPUs: the key
 * batch and the key features gathered in rank order, the key permutation
 * of the global batch taken from rank 0, the step's numbers summed over
 * the ranks. With one rank each is the identity and costs nothing. */
#include <string.h>

#include "autograd/scope.h"
#include "dist/dist.h"
#include "models/internal/contrastive.h"
#include "tensor/internal/check.h"
#include "tensor/internal/view.h"

tg_tensor *tg_contrastive_gather(tg_tensor *t)
{
    int ranks = tg_dist_world_size();
    if (ranks == 1) return t;
    tg_tensor *all = tg_scoped(tg_dist_allgather(t));
    if (!all) return NULL;
    int64_t shape[TG_MAX_DIMS];
    memcpy(shape, t->shape, (size_t)t->ndim * sizeof *shape);
    shape[0] *= ranks;
    return tg_scoped(tg_k_reshape(all, t->ndim, shape));
}

int tg_contrastive_share_perm(int64_t *perm, int64_t n)
{
    if (tg_dist_world_size() == 1) return 0;
    tg_tensor *t = tg_from_data(TG_SHAPE(n), TG_INT64, perm);
    int rc = t ? tg_dist_broadcast(t, 0) : -1;
    if (!rc) memcpy(perm, tg_data_i64(t), (size_t)n * sizeof *perm);
    tg_release(t);
    return rc;
}

int tg_contrastive_sum_over_ranks(double *v, int n)
{
    if (tg_dist_world_size() == 1) return 0;
    tg_tensor *t = tg_empty(TG_SHAPE(n), TG_FLOAT32);
    if (!t) return -1;
    for (int i = 0; i < n; i++) tg_data_f32(t)[i] = (float)v[i];
    int rc = tg_dist_allreduce(t, TG_DIST_SUM);
    for (int i = 0; !rc && i < n; i++) v[i] = tg_data_f32(t)[i];
    tg_release(t);
    return rc;
}
