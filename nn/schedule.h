/* Learning-rate schedules as pure functions of the step (or epoch): call
 * one each step and pass the result to tg_optimizer_set_lr. */
#ifndef TG_SCHEDULE_H
#define TG_SCHEDULE_H

#include <stdint.h>

#include "tensor/export.h"

/* min_lr + (base - min_lr) (1 + cos(pi t / total)) / 2 (past total it
 * rises again, as torch's CosineAnnealingLR). */
TG_API double tg_lr_cosine(double base, double min_lr, int64_t t, int64_t total);
/* (base - min_lr) (1 - t / total)^power + min_lr (mmseg's poly). */
TG_API double tg_lr_poly(double base, double min_lr, double power, int64_t t, int64_t total);
/* base gamma^floor(t / step_size). */
TG_API double tg_lr_step(double base, double gamma, int64_t step_size, int64_t t);
/* lr scaled linearly from start_factor to 1 over the first warmup steps. */
TG_API double tg_lr_warmup(double lr, double start_factor, int64_t t, int64_t warmup);

#endif
