/* Parameter initialisation (see init.h). */
#include "nn/init.h"

#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/random.h"
#include "tensor/internal/view.h"

int64_t tg_init_fan(const tg_tensor *w, tg_fan_mode mode)
{
    if (TG_NEED("init_fan", w)) return -1;
    if (mode != TG_FAN_IN && mode != TG_FAN_OUT) return TG_FAIL("init_fan: unknown fan mode %d", (int)mode);
    if (w->ndim < 2) return -1;
    int64_t receptive = 1;
    for (int i = 2; i < w->ndim; i++) receptive *= w->shape[i];
    return (mode == TG_FAN_IN ? w->shape[1] : w->shape[0]) * receptive;
}

static int fan_of(const char *op, const tg_tensor *w, tg_fan_mode mode, double *fan)
{
    if (TG_NEED(op, w)) return -1;
    int64_t f = tg_init_fan(w, mode);
    if (f <= 0) return TG_FAIL("%s: needs a tensor of at least 2 dims with a non-zero fan, got %d dims", op, w->ndim);
    *fan = (double)f;
    return 0;
}

int tg_init_kaiming_normal_(tg_tensor *w, tg_rng *rng, tg_fan_mode mode, double gain)
{
    double fan = 0;
    if (fan_of("kaiming_normal_", w, mode, &fan)) return -1;
    return tg_k_normal_(w, rng, 0.0, gain / sqrt(fan));
}

int tg_init_kaiming_uniform_(tg_tensor *w, tg_rng *rng, tg_fan_mode mode, double gain)
{
    double fan = 0;
    if (fan_of("kaiming_uniform_", w, mode, &fan)) return -1;
    double bound = gain * sqrt(3.0 / fan);
    return tg_k_uniform_(w, rng, -bound, bound);
}

int tg_init_xavier_uniform_(tg_tensor *w, tg_rng *rng, double gain)
{
    double fan_in = 0, fan_out = 0;
    if (fan_of("xavier_uniform_", w, TG_FAN_IN, &fan_in) || fan_of("xavier_uniform_", w, TG_FAN_OUT, &fan_out))
        return -1;
    double bound = gain * sqrt(6.0 / (fan_in + fan_out));
    return tg_k_uniform_(w, rng, -bound, bound);
}

int tg_init_torch_default_(tg_tensor *w, tg_tensor *bias, tg_rng *rng)
{
    double fan = 0;
    if (fan_of("torch_default_", w, TG_FAN_IN, &fan)) return -1;
    double bound = 1.0 / sqrt(fan);
    if (tg_k_uniform_(w, rng, -bound, bound)) return -1;
    return bias ? tg_k_uniform_(bias, rng, -bound, bound) : 0;
}

int tg_init_normal_(tg_tensor *t, tg_rng *rng, double mean, double std) { return tg_k_normal_(t, rng, mean, std); }

int tg_init_uniform_(tg_tensor *t, tg_rng *rng, double low, double high) { return tg_k_uniform_(t, rng, low, high); }

int tg_init_constant_(tg_tensor *t, double value) { return tg_k_fill_(t, value); }
