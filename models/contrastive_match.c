/* How often the argmax correspondence finds the key cell that the crop
 * geometry says is right (see contrastive.h): the diagnostic of docs/protocol.md section 15,
 * possible because the pretraining pipeline records where each view came
 * from. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "data/pipelines.h"
#include "models/contrastive.h"
#include "tensor/internal/check.h"

int64_t tg_contrastive_true_cell(const tg_view_geom *q, const tg_view_geom *k, int grid, int64_t i)
{
    const char *fn = "contrastive_true_cell";
    if (TG_NEED(fn, q, k) || TG_NEED_RANGE(fn, grid, 1, 65536) || TG_NEED_RANGE(fn, i, 0, (int64_t)grid * grid - 1))
        return -1;
    double step_q = (double)q->size / grid, x, y;
    tg_view_geom_to_source(q, ((double)(i % grid) + 0.5) * step_q, ((double)(i / grid) + 0.5) * step_q, &x, &y);
    /* the inverse of tg_view_geom_to_source for view k */
    double u = (x - k->crop.x) * k->size / k->crop.w, v = (y - k->crop.y) * k->size / k->crop.h;
    if (k->flipped) u = k->size - u;
    if (!(u >= 0 && u < k->size && v >= 0 && v < k->size)) return -1;
    int64_t col = (int64_t)floor(u * grid / k->size), row = (int64_t)floor(v * grid / k->size);
    return row * grid + col;
}

int tg_contrastive_score_match(tg_tensor *match, tg_tensor *aux, tg_match_score *score)
{
    if (TG_NEED("contrastive_score_match", match, aux, score)) return -1;
    int64_t n = match->ndim == 2 ? match->shape[0] : -1, cells = n >= 0 ? match->shape[1] : 0;
    int grid = (int)llround(sqrt((double)cells));
    if (match->dtype != TG_INT64 || n < 0 || (int64_t)grid * grid != cells || aux->dtype != TG_FLOAT32 ||
        aux->ndim != 2 || aux->shape[0] != n || aux->shape[1] != 2 * TG_PAIR_VIEW_AUX || !tg_is_contiguous(aux) ||
        !tg_is_contiguous(match))
        return TG_FAIL("contrastive_score_match: match must be contiguous int64 (N, S*S) and aux contiguous "
                       "float32 (N, %d) of the same N",
                       2 * TG_PAIR_VIEW_AUX);
    const int64_t *j = tg_data_i64(match);
    for (int64_t s = 0; s < n; s++) {
        const float *row = tg_data_f32(aux) + s * 2 * TG_PAIR_VIEW_AUX;
        tg_view_geom q = tg_pair_geom(row, 0), k = tg_pair_geom(row, 1);
        for (int64_t i = 0; i < cells; i++) {
            int64_t want = tg_contrastive_true_cell(&q, &k, grid, i), got = j[s * cells + i];
            if (want < 0) continue;
            score->cells++;
            score->exact += got == want;
            score->near += llabs(got / grid - want / grid) <= 1 && llabs(got % grid - want % grid) <= 1;
        }
    }
    return 0;
}
