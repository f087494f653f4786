/* Parameter initialisation, as torch.nn.init. Every function fills its
 * tensor in place from an explicit tg_rng and returns 0 or -1. */
#ifndef TG_INIT_H
#define TG_INIT_H

#include "tensor/export.h"
#include "tensor/rng.h"

typedef enum { TG_FAN_IN, TG_FAN_OUT } tg_fan_mode;

/* fan_in = size(1) x receptive field, fan_out = size(0) x receptive field
 * (PyTorch's _calculate_fan_in_and_fan_out); -1 for fewer than 2 dims
 * (no error), or with an error for NULL or an unknown mode. */
TG_API int64_t tg_init_fan(const tg_tensor *w, tg_fan_mode mode);
/* N(0, gain / sqrt(fan)); gain sqrt(2) for ReLU. */
TG_API int tg_init_kaiming_normal_(tg_tensor *w, tg_rng *rng, tg_fan_mode mode, double gain);
/* U(-b, b) with b = gain * sqrt(3 / fan). */
TG_API int tg_init_kaiming_uniform_(tg_tensor *w, tg_rng *rng, tg_fan_mode mode, double gain);
/* U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), as
 * torch.nn.init.xavier_uniform_ (MultiheadAttention's in_proj_weight). */
TG_API int tg_init_xavier_uniform_(tg_tensor *w, tg_rng *rng, double gain);
/* PyTorch's default for Conv2d and Linear: weight kaiming_uniform with
 * a = sqrt(5) (b = 1/sqrt(fan_in)), bias (may be NULL) U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
TG_API int tg_init_torch_default_(tg_tensor *w, tg_tensor *bias, tg_rng *rng);
TG_API int tg_init_normal_(tg_tensor *t, tg_rng *rng, double mean, double std);
TG_API int tg_init_uniform_(tg_tensor *t, tg_rng *rng, double low, double high);
TG_API int tg_init_constant_(tg_tensor *t, double value);

#endif
