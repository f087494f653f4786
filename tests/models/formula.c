/* Formula-filled tensors and their statistics (see formula.h). */
#include "formula.h"
#include "kernels.h"

#include <check.h>
#include <math.h>
#include <string.h>

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static double phase(const char *name) { return (double)(fnv1a(name) % 10007) / 10007.0 * 2.0 * M_PI; }

double formula_noise(int64_t i, uint32_t seed)
{
    uint32_t h = (uint32_t)i * 2654435761u + seed;
    h ^= h >> 16;
    h *= 0x45D9F3Bu;
    h ^= h >> 16;
    return (double)h / 4294967296.0 * 2.0 - 1.0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void formula_fill(const char *name, tg_tensor *t)
{
    float *d = tg_data_f32(t);
    int64_t n = tg_numel(t);
    uint32_t seed = fnv1a(name);
    double amp = 0.1, offset = 0.0;
    if (t->ndim >= 2) amp = sqrt(6.0 / (double)(n / t->shape[0]));
    else if (ends_with(name, "running_var")) amp = 0.5, offset = 1.0;
    else if (ends_with(name, "weight")) amp = 0.2, offset = 1.0;
    for (int64_t i = 0; i < n; i++) d[i] = (float)(offset + amp * formula_noise(i, seed));
}

void formula_fill_module(const tg_module *m)
{
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    for (int i = 0; i < sd.n; i++)
        if (sd.items[i].tensor->dtype == TG_FLOAT32) formula_fill(sd.items[i].name, sd.items[i].tensor);
    tg_tensor_list_clear(&sd);
}

tg_tensor *formula_input(int ndim, const int64_t *shape, uint32_t seed)
{
    tg_tensor *x = tg_empty(ndim, shape, TG_FLOAT32);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < tg_numel(x); i++) tg_data_f32(x)[i] = (float)formula_noise(i, seed);
    return x;
}

void formula_stats(const char *name, tg_tensor *t, double *s)
{
    tg_tensor *c = tg_k_contiguous(t);
    const float *d = tg_data_f32(c);
    int64_t n = tg_numel(c);
    double ph = phase(name);
    s[0] = s[1] = s[2] = 0;
    for (int64_t i = 0; i < n; i++) {
        s[0] += d[i];
        s[1] += (double)d[i] * d[i];
        s[2] += d[i] * cos(0.29 * (double)i + ph);
    }
    tg_release(c);
}

void formula_assert_stats(const fixture_stats *f, const double *got)
{
    double norm = sqrt(f->s[1]), scale[3] = {norm, f->s[1], norm};
    for (int k = 0; k < 3; k++)
        ck_assert_msg(fabs(got[k] - f->s[k]) <= (1e-4 + 3 * f->s[3 + k]) * scale[k] + 1e-12,
                      "%s %s stat %d: %.8g, PyTorch %.8g", f->name, f->is_grad ? "grad" : "value", k, got[k], f->s[k]);
}

void formula_check(const fixture_stats *f, tg_tensor *t)
{
    double got[3];
    formula_stats(f->name, t, got);
    formula_assert_stats(f, got);
}
