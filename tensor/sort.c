/* Top-k and sorting along a dim (see internal/sort.h): each row copied
 * out with its indices, sorted by a total order (NaN above every number,
 * ties by index), its first k written back. Rows are split over threads;
 * each is one thread's: the same result for any thread count. */
#include "tensor/internal/sort.h"

#include <math.h>
#include <stdlib.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

typedef struct {
    float v;
    int64_t i;
} entry;

/* -1, 0 or 1 as a is below, equal to or above b, NaN above numbers. */
static int order(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

static int by_largest(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int c = order(b->v, a->v);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int by_smallest(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int c = order(a->v, b->v);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

/* Row r's k first entries in the order cmp gives, written out. */
typedef int entry_cmp(const void *, const void *);

static void top_row(const float *x, int64_t n, int64_t inner, int64_t r, int64_t k, entry_cmp *cmp, entry *buf,
                    float *v, int64_t *ix)
{
    int64_t at = (r / inner) * n * inner + r % inner, out = (r / inner) * k * inner + r % inner;
    for (int64_t j = 0; j < n; j++) buf[j] = (entry){x[at + j * inner], j};
    qsort(buf, (size_t)n, sizeof *buf, cmp);
    for (int64_t j = 0; j < k; j++) {
        v[out + j * inner] = buf[j].v;
        ix[out + j * inner] = buf[j].i;
    }
}

int tg_k_topk(tg_tensor *t, int64_t k, int dim, bool largest, tg_tensor **values, tg_tensor **indices)
{
    *values = *indices = NULL;
    if (TG_NEED("topk", t) || tg_iter_check_f32("topk", 1, &t)) return -1;
    int d = t->ndim ? tg_wrap_dim("topk", dim, t->ndim) : 0;
    if (d < 0) return -1;
    int64_t n = t->ndim ? t->shape[d] : 1;
    if (k < 0 || k > n)
        return TG_FAIL("topk: k %lld is outside [0, %lld], the size of dim %d", (long long)k, (long long)n, d);
    int64_t shape[TG_MAX_DIMS], inner = 1;
    for (int i = 0; i < t->ndim; i++) shape[i] = i == d ? k : t->shape[i];
    for (int i = d + 1; i < t->ndim; i++) inner *= t->shape[i];
    int64_t rows = n ? tg_numel(t) / n : 0;
    tg_tensor *c = tg_k_contiguous(t), *v = c ? tg_empty(t->ndim, shape, TG_FLOAT32) : NULL;
    tg_tensor *ix = v ? tg_empty(t->ndim, shape, TG_INT64) : NULL;
    bool failed = !ix;
    if (ix) {
        const float *x = tg_data_f32(c);
        float *vd = tg_data_f32(v);
        int64_t *id = tg_data_i64(ix);
#pragma omp parallel if (rows * n >= TG_PARALLEL_GRAIN && rows > 1) reduction(|| : failed)
        {
            entry *buf = malloc((size_t)(n ? n : 1) * sizeof *buf);
            failed = !buf;
#pragma omp for schedule(static)
            for (int64_t r = 0; r < rows; r++)
                if (buf) top_row(x, n, inner, r, k, largest ? by_largest : by_smallest, buf, vd, id);
            free(buf);
        }
    }
    tg_release(c);
    if (failed) {
        tg_release(v), tg_release(ix);
        return TG_FAIL("topk: out of memory for rows of %lld", (long long)n);
    }
    *values = v;
    *indices = ix;
    return 0;
}
