/* Cumulative sums and triangular masks (see internal/scan.h). Each output
 * row is one thread's, in a fixed order: the same bits for any thread
 * count. */
#include "tensor/internal/scan.h"

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

/* A contiguous float32 copy (or reference) of t and an output of its
 * shape; NULL outputs on failure (an error set). */
static int open_io(const char *op, tg_tensor *t, tg_tensor **in, tg_tensor **out)
{
    *in = *out = NULL;
    if (TG_NEED(op, t) || tg_iter_check_f32(op, 1, &t)) return -1;
    *in = tg_k_contiguous(t);
    *out = *in ? tg_empty(t->ndim, t->shape, TG_FLOAT32) : NULL;
    if (*out) return 0;
    tg_release(*in);
    *in = NULL;
    return -1;
}

tg_tensor *tg_k_cumsum(tg_tensor *t, int dim, bool reverse)
{
    tg_tensor *in, *out;
    if (open_io("cumsum", t, &in, &out)) return NULL;
    int d = t->ndim ? tg_wrap_dim("cumsum", dim, t->ndim) : (dim == 0 || dim == -1 ? 0 : -1);
    if (d < 0) {
        if (!t->ndim) TG_FAIL("cumsum: dim %d is out of range for a 0-dim tensor", dim);
        tg_release(in), tg_release(out);
        return NULL;
    }
    int64_t n = t->ndim ? t->shape[d] : 1, inner = 1, rows = n ? tg_numel(t) / n : 0;
    for (int i = d + 1; i < t->ndim; i++) inner *= t->shape[i];
    const float *x = tg_data_f32(in);
    float *y = tg_data_f32(out);
#pragma omp parallel for if (rows * n >= TG_PARALLEL_GRAIN && rows > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t at = (r / inner) * n * inner + r % inner;
        double s = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t j = at + (reverse ? n - 1 - i : i) * inner;
            s += x[j];
            y[j] = (float)s;
        }
    }
    tg_release(in);
    return out;
}

tg_tensor *tg_k_triangle(tg_tensor *t, int64_t k, bool upper)
{
    const char *op = upper ? "triu" : "tril";
    if (t && t->ndim < 2) {
        TG_FAIL("%s: needs a tensor of 2 dims or more (matrices in its last two), got %d", op, t->ndim);
        return NULL;
    }
    tg_tensor *in, *out;
    if (open_io(op, t, &in, &out)) return NULL;
    int64_t rows = t->shape[t->ndim - 2], cols = t->shape[t->ndim - 1];
    int64_t lines = rows && cols ? tg_numel(t) / cols : 0;
    const float *x = tg_data_f32(in);
    float *y = tg_data_f32(out);
#pragma omp parallel for if (lines * cols >= TG_PARALLEL_GRAIN) schedule(static)
    for (int64_t l = 0; l < lines; l++) {
        int64_t row = l % rows;
        for (int64_t c = 0; c < cols; c++) {
            bool kept = upper ? c - row >= k : c - row <= k;
            y[l * cols + c] = kept ? x[l * cols + c] : 0.0f;
        }
    }
    tg_release(in);
    return out;
}
