/* Closeness as torch.isclose: |a - b| <= atol + rtol |b| elementwise, a and
 * b broadcast together; infinities close only to themselves, NaN close to
 * NaN only with equal_nan. */
#include "tensor/internal/isclose.h"

#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"

typedef struct {
    double rtol, atol;
    bool equal_nan;
} close_ctx;

static bool close_pair(float x, float y, const close_ctx *c)
{
    if (isnan(x) || isnan(y)) return c->equal_nan && isnan(x) && isnan(y);
    if (x == y) return true; /* equal infinities included */
    if (isinf(x) || isinf(y)) return false;
    return fabs((double)x - (double)y) <= c->atol + c->rtol * fabs((double)y);
}

/* The iterator's loop: operand 0 the output, 1 and 2 a and b, strides in
 * elements. */
static void close_loop(char **p, const int64_t *s, int64_t n, const void *ctx)
{
    float *out = (float *)p[0];
    const float *a = (const float *)p[1], *b = (const float *)p[2];
    for (int64_t i = 0; i < n; i++) out[i * s[0]] = close_pair(a[i * s[1]], b[i * s[2]], ctx) ? 1.0f : 0.0f;
}

tg_tensor *tg_k_isclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan)
{
    if (!(rtol >= 0.0) || !(atol >= 0.0)) {
        TG_FAIL("isclose: rtol %g and atol %g must be >= 0", rtol, atol);
        return NULL;
    }
    close_ctx c = {rtol, atol, equal_nan};
    return tg_iter_map_f32("isclose", close_loop, 2, (tg_tensor *[]){a, b}, &c);
}

int tg_k_allclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan)
{
    tg_tensor *close = tg_k_isclose(a, b, rtol, atol, equal_nan);
    if (!close) return -1;
    const float *v = (const float *)close->storage->data + close->offset;
    int all = 1;
    for (int64_t i = 0; all && i < tg_numel(close); i++) all = v[i] != 0.0f;
    tg_release(close);
    return all;
}
