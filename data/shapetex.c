/* ShapeScenes texture families (see internal/shapetex.h): lattice value noise, fBm,
 * Voronoi, and the thirteen families built from them and from periodic
 * waves. Float arithmetic uses floorf and sqrtf only. */
#include "data/internal/fp_strict.h"

#include "data/internal/shapetex.h"

#include <math.h>

/* Period range of each family, in pixels. */
static const float period_lo[TG_SHAPETEX_COUNT] = {4, 4, 4, 4, 4, 4, 4, 4, 10, 4, 10, 5, 6};
static const float period_hi[TG_SHAPETEX_COUNT] = {10, 10, 10, 10, 10, 10, 10, 10, 28, 9, 20, 12, 14};

tg_shapetex tg_shapetex_make(tg_shapetex_family family, float u, uint32_t seed)
{
    float lo = period_lo[family], hi = period_hi[family];
    return (tg_shapetex){family, lo + (hi - lo) * u, seed};
}

/* ---- integer-hash lattices ---- */

/* A 32-bit hash of lattice point (x, y) under seed (lowbias32 finaliser). */
static uint32_t hash2(int32_t x, int32_t y, uint32_t seed)
{
    uint32_t h = seed ^ ((uint32_t)x * 0x8da6b343u) ^ ((uint32_t)y * 0xd8163841u);
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static float unit(uint32_t h) { return (float)(h >> 8) * 0x1p-24f; } /* [0, 1) */

static float clamp01(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }

static float smooth(float t) { return t * t * (3.0f - 2.0f * t); }

static float lerp(float a, float b, float t) { return a + (b - a) * t; }

static float frac(float x) { return x - floorf(x); }

/* Smoothly interpolated lattice values: in [0, 1), period-1 lattice. */
static float value_noise(float x, float y, uint32_t seed)
{
    float fx = floorf(x), fy = floorf(y);
    int32_t ix = (int32_t)fx, iy = (int32_t)fy;
    float tx = smooth(x - fx), ty = smooth(y - fy);
    float a = unit(hash2(ix, iy, seed)), b = unit(hash2(ix + 1, iy, seed));
    float c = unit(hash2(ix, iy + 1, seed)), d = unit(hash2(ix + 1, iy + 1, seed));
    return lerp(lerp(a, b, tx), lerp(c, d, tx), ty);
}

/* Four octaves of value noise, each twice the frequency and half the
 * weight of the last, stretched from its narrow middle to about [0, 1]. */
static float fbm(float x, float y, uint32_t seed)
{
    float sum = 0.0f, amp = 0.5f;
    for (int o = 0; o < 4; o++) {
        sum += amp * value_noise(x, y, seed);
        x *= 2.0f, y *= 2.0f, amp *= 0.5f;
        seed += 0x9e3779b9u;
    }
    return clamp01((sum / 0.9375f - 0.5f) * 2.2f + 0.5f);
}

/* Voronoi over a period-1 jittered lattice: returns sqrt(F2) - sqrt(F1),
 * the gap between the distances to the two nearest feature points (small
 * near a cell border), and sets *cell to the hash of the nearest one's cell. */
static float voronoi_border(float x, float y, uint32_t seed, uint32_t *cell)
{
    float fx = floorf(x), fy = floorf(y);
    int32_t ix = (int32_t)fx, iy = (int32_t)fy;
    float d1 = 1e9f, d2 = 1e9f;
    for (int j = -1; j <= 1; j++)
        for (int i = -1; i <= 1; i++) {
            uint32_t h = hash2(ix + i, iy + j, seed);
            float px = fx + (float)i + 0.1f + 0.8f * unit(h);
            float py = fy + (float)j + 0.1f + 0.8f * unit(h * 0x2c1b3c6du + 0x297a2d39u);
            float d = (x - px) * (x - px) + (y - py) * (y - py);
            if (d < d1) {
                d2 = d1, d1 = d, *cell = h;
            } else if (d < d2) {
                d2 = d;
            }
        }
    return sqrtf(d2) - sqrtf(d1);
}

/* ---- periodic waves ---- */

/* Triangle wave of period 1: 1 at integers, 0 half way. */
static float tri(float x) { return fabsf(2.0f * frac(x) - 1.0f); }

/* Square wave of period 1 with soft edges a quarter period wide. */
static float band(float x) { return clamp01((tri(x) - 0.5f) * 4.0f + 0.5f); }

/* Smooth wave of period 1 in [-1, 1], sine-like. */
static float wave(float x) { return 2.0f * smooth(tri(x)) - 1.0f; }

/* ---- the families ---- */

static float object_texture(const tg_shapetex *t, float x, float y)
{
    float p = t->period, u = x / p, v = y / p;
    uint32_t cell = 0;
    switch (t->family) {
    case TG_SHAPETEX_RINGS: return band(sqrtf(u * u + v * v));
    case TG_SHAPETEX_CHECKER: return (float)(((uint32_t)(int32_t)floorf(2.0f * u) + (uint32_t)(int32_t)floorf(2.0f * v)) & 1u);
    case TG_SHAPETEX_STRIPES: return band(u);
    case TG_SHAPETEX_DOTS: {
        float dx = frac(u) - 0.5f, dy = frac(v) - 0.5f;
        return dx * dx + dy * dy < 0.09f ? 1.0f : 0.0f;
    }
    case TG_SHAPETEX_FBM: return fbm(u, v, t->seed);
    case TG_SHAPETEX_CHEVRON: return band(v + 0.6f * tri(u));
    case TG_SHAPETEX_VORONOI: return voronoi_border(u, v, t->seed, &cell) < 0.15f ? 1.0f : 0.0f;
    default: return frac(u) < 0.25f || frac(v) < 0.25f ? 1.0f : 0.0f; /* GRID */
    }
}

static float stuff_texture(const tg_shapetex *t, float x, float y)
{
    float p = t->period, u = x / p, v = y / p;
    uint32_t cell = 0;
    switch (t->family) {
    case TG_SHAPETEX_CLOUDS: return fbm(u, v, t->seed);
    case TG_SHAPETEX_WOOD:
        return 0.5f + 0.5f * wave(sqrtf(0.04f * u * u + v * v) + 1.5f * value_noise(u * 0.1f, v * 0.3f, t->seed));
    case TG_SHAPETEX_CRACKS: {
        float gap = voronoi_border(u, v, t->seed, &cell);
        return gap < 0.06f ? 1.0f : 0.45f * unit(cell * 0x9e3779b9u);
    }
    case TG_SHAPETEX_STROKES: return fbm(u * 0.25f, v * 2.0f, t->seed);
    default: { /* HORIZON: the split's wavelength is 4 periods, its swing 0.4 */
        float edge = 0.4f * wave(u * 0.25f) + 0.5f * (value_noise(u, 0.0f, t->seed) - 0.5f);
        return (v > edge ? 0.8f : 0.2f) + 0.3f * (value_noise(2.0f * u, 2.0f * v, t->seed + 1u) - 0.5f);
    }
    }
}

float tg_shapetex_eval(const tg_shapetex *t, float x, float y)
{
    return t->family < TG_SHAPETEX_OBJECT_FAMILIES ? object_texture(t, x, y) : stuff_texture(t, x, y);
}
