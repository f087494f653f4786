/* Learning-rate schedules (see schedule.h). */
#include "nn/schedule.h"

#include <math.h>

static double progress(int64_t t, int64_t total)
{
    if (total <= 0 || t >= total) return 1.0;
    return t <= 0 ? 0.0 : (double)t / (double)total;
}

double tg_lr_cosine(double base, double min_lr, int64_t t, int64_t total)
{
    double phase = total > 0 ? (double)t / (double)total : 1.0;
    return min_lr + (base - min_lr) * 0.5 * (1.0 + cos(M_PI * phase));
}

double tg_lr_poly(double base, double min_lr, double power, int64_t t, int64_t total)
{
    return (base - min_lr) * pow(1.0 - progress(t, total), power) + min_lr;
}

double tg_lr_step(double base, double gamma, int64_t step_size, int64_t t)
{
    if (step_size <= 0 || t <= 0) return base;
    return base * pow(gamma, (double)(t / step_size));
}

double tg_lr_warmup(double lr, double start_factor, int64_t t, int64_t warmup)
{
    if (t >= warmup) return lr;
    return lr * (start_factor + (1.0 - start_factor) * progress(t, warmup));
}
