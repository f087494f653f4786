/* ShapeScenes (see shapescenes.h): drawing a scene from its seed, rendering
 * it with supersampling, and the dataset over a split.
 *
 * A scene is drawn from one per-image generator, xoshiro128** seeded by
 * splitmix64(seed ^ split * K1 ^ index * K2), so every image is independent
 * and random-access. Every object draws all its parameters, used or not, so
 * each draw sits at a fixed place in the stream. Geometry is float32 with
 * sinf, cosf, sqrtf and floorf only, and no FP contraction (fp_strict.h):
 * same glibc, same bits; and masks, being integer decisions, are stable
 * even where another libm would move a colour by one step. */
#include "data/internal/fp_strict.h"

#include "data/shapescenes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal/shapetex.h"
#include "tensor/error.h"

#define MAX_OBJECTS 6
#define TWO_PI 6.28318531f
#define SHADING 0.25f  /* the light ramp: +-25% across an object */
#define BOX_MARGIN 1.25f /* every shape lies within 1.25 radii of its centre */

typedef enum {
    SHAPE_ELLIPSE = 1,
    SHAPE_RECTANGLE,
    SHAPE_TRIANGLE,
    SHAPE_STAR,
    SHAPE_CROSS,
    SHAPE_BLOB,
    SHAPE_RING,
    SHAPE_HEXAGON,
} shape_class;

/* ---- the per-image generator ---- */

typedef struct {
    uint32_t s[4];
} scene_rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static scene_rng rng_for(const tg_shapescenes_config *cfg, int64_t index)
{
    uint64_t x = cfg->seed ^ ((uint64_t)cfg->split * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)index * 0xd1b54a32d192ed03ull);
    uint64_t a = splitmix64(&x), b = splitmix64(&x);
    return (scene_rng){{(uint32_t)a, (uint32_t)(a >> 32), (uint32_t)b, (uint32_t)(b >> 32) | 1u}};
}

static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

/* xoshiro128** (Blackman and Vigna). */
static uint32_t next_u32(scene_rng *r)
{
    uint32_t *s = r->s;
    uint32_t out = rotl(s[1] * 5u, 7) * 9u, t = s[1] << 9;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return out;
}

static float uniform(scene_rng *r) { return (float)(next_u32(r) >> 8) * 0x1p-24f; } /* [0, 1) */

static float uniform_in(scene_rng *r, float lo, float hi) { return lo + (hi - lo) * uniform(r); }

static int below(scene_rng *r, int n) { return (int)(uniform(r) * (float)n); } /* 0 .. n-1 */

/* Approximately standard normal: the sum of four uniform bytes, centred and
 * scaled to unit variance (needs no log, so it is exact everywhere). */
static float gaussian(scene_rng *r)
{
    uint32_t w = next_u32(r);
    int sum = (int)(w & 255u) + (int)((w >> 8) & 255u) + (int)((w >> 16) & 255u) + (int)(w >> 24);
    return (float)(sum - 510) * (1.0f / 147.800541f); /* sqrt(4 * (256^2 - 1) / 12) */
}

/* ---- drawing a scene ---- */

/* A rotated frame: local = R(-angle) (p - origin), in pixels. */
typedef struct {
    float ox, oy, c, s;
} frame;

typedef struct {
    int cls;
    frame f;
    float radius, inv_r;   /* half-size in pixels */
    float x0, y0, x1, y1;  /* bounding box in pixels */
    float inv_aspect;      /* ellipse and rectangle: 1 / aspect (minor / major, 0.55-1) */
    float blob[3][3];      /* Fourier blob, k = 2, 3, 5: a_k, cos phi_k, sin phi_k */
    float light_x, light_y; /* unit direction of the shading ramp */
    tg_shapetex tex;
    float colour[2][3];
} object;

typedef struct {
    int n;
    object obj[MAX_OBJECTS]; /* painter's order: the last is on top */
    frame bg_frame;
    tg_shapetex bg_tex;
    float bg_colour[2][3];
} scene;

static frame random_frame(scene_rng *r, float ox, float oy)
{
    float angle = TWO_PI * uniform(r);
    return (frame){ox, oy, cosf(angle), sinf(angle)};
}

static void hsv_to_rgb(float h, float s, float v, float rgb[3])
{
    float h6 = 6.0f * h, i = floorf(h6), f = h6 - i;
    float p = v * (1.0f - s), q = v * (1.0f - s * f), t = v * (1.0f - s * (1.0f - f));
    float table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    memcpy(rgb, table[(int)i % 6], sizeof table[0]);
}

/* Two random colours, one light and one dark in random order, so the
 * texture between them shows even in grey. */
static void random_colours(scene_rng *r, float colour[2][3])
{
    int dark = below(r, 2);
    for (int k = 0; k < 2; k++) {
        float h = uniform(r), s = uniform_in(r, 0.2f, 1.0f);
        float v = k == dark ? uniform_in(r, 0.1f, 0.5f) : uniform_in(r, 0.55f, 1.0f);
        hsv_to_rgb(h, s, v, colour[k]);
    }
}

static void draw_object(scene_rng *r, const tg_shapescenes_config *cfg, object *o)
{
    float half = 0.5f * (float)cfg->size;
    o->cls = 1 + below(r, 8);
    float cx = uniform_in(r, -0.8f, 0.8f), cy = uniform_in(r, -0.8f, 0.8f);
    float size = cfg->single ? uniform_in(r, 0.55f, 0.8f) : uniform_in(r, 0.25f, 0.55f);
    if (cfg->single) cx = cy = 0.0f;
    o->f = random_frame(r, half * (1.0f + cx), half * (1.0f + cy));
    o->radius = half * size;
    o->inv_r = 1.0f / o->radius;
    float reach = BOX_MARGIN * o->radius;
    o->x0 = o->f.ox - reach, o->x1 = o->f.ox + reach;
    o->y0 = o->f.oy - reach, o->y1 = o->f.oy + reach;
    random_colours(r, o->colour);
    int tied = uniform(r) < cfg->p_tie, other = below(r, TG_SHAPETEX_OBJECT_FAMILIES);
    float period = uniform(r);
    o->tex = tg_shapetex_make((tg_shapetex_family)(tied ? o->cls - 1 : other), period, next_u32(r));
    o->inv_aspect = 1.0f / uniform_in(r, 0.55f, 1.0f);
    for (int k = 0; k < 3; k++) {
        float phase = TWO_PI * uniform(r);
        o->blob[k][0] = uniform_in(r, 0.0f, 0.12f);
        o->blob[k][1] = cosf(phase), o->blob[k][2] = sinf(phase);
    }
    float light = TWO_PI * uniform(r);
    o->light_x = cosf(light), o->light_y = sinf(light);
}

static void draw_scene(scene_rng *r, const tg_shapescenes_config *cfg, scene *sc)
{
    sc->n = cfg->single ? 1 : 3 + below(r, 4);
    for (int k = 0; k < sc->n; k++) draw_object(r, cfg, &sc->obj[k]);
    int distractor = uniform(r) < cfg->p_bg_distractor;
    int family = distractor ? below(r, TG_SHAPETEX_OBJECT_FAMILIES)
                            : TG_SHAPETEX_OBJECT_FAMILIES + below(r, TG_SHAPETEX_STUFF_FAMILIES);
    float side = (float)cfg->size, ox = side * uniform(r), oy = side * uniform(r);
    sc->bg_frame = random_frame(r, ox, oy);
    float period = uniform(r);
    sc->bg_tex = tg_shapetex_make((tg_shapetex_family)family, period, next_u32(r));
    random_colours(r, sc->bg_colour);
}

/* ---- shapes ---- */

/* Whether local point (x, y), in radii, lies in the object's shape. The
 * shapes of docs/protocol.md section 13, each about a disc of radius 1: ellipse with
 * semi-axes 1 and aspect; rectangle with half-sides 0.85 and 0.85 aspect;
 * isosceles triangle, apex (0, 1), base from (-0.9, -0.7) to (0.9, -0.7);
 * star r = 0.45 + 0.55 (cos 5t + 1) / 2; cross of arms 0.95 long and 0.33
 * half-wide; Fourier blob r = 0.75 + sum a_k cos(k t + phi_k); ring of
 * radii 0.5 and 1; hexagon of circumradius 1. Angles come from (x, y) / r
 * by Chebyshev and complex powers: no atan2. */
static int shape_contains(const object *o, float x, float y)
{
    float ax = fabsf(x), ay = fabsf(y), rr = x * x + y * y;
    switch (o->cls) {
    case SHAPE_ELLIPSE: return x * x + (y * o->inv_aspect) * (y * o->inv_aspect) <= 1.0f;
    case SHAPE_RECTANGLE: return ax <= 0.85f && ay * o->inv_aspect <= 0.85f;
    case SHAPE_TRIANGLE: return y >= -0.7f && 1.7f * ax <= 0.9f * (1.0f - y); /* apex (0, 1), base y = -0.7 */
    case SHAPE_RING: return rr >= 0.25f && rr <= 1.0f;
    case SHAPE_CROSS: return (ax <= 0.33f && ay <= 0.95f) || (ay <= 0.33f && ax <= 0.95f);
    case SHAPE_HEXAGON: return ay <= 0.8660254f && 0.8660254f * ax + 0.5f * ay <= 0.8660254f;
    default: break;
    }
    if (rr > 1.25f) return 0; /* beyond any star or blob */
    if (rr == 0.0f) return 1;
    float rho = sqrtf(rr), c = x / rho, s = y / rho;
    if (o->cls == SHAPE_STAR) {
        float cos5 = c * (16.0f * c * c * c * c - 20.0f * c * c + 5.0f);
        return rho <= 0.45f + 0.275f * (cos5 + 1.0f);
    }
    /* SHAPE_BLOB: cos(k theta) + i sin(k theta) = (c + i s)^k for k = 2, 3, 5 */
    float c2 = c * c - s * s, s2 = 2.0f * c * s;
    float c3 = c2 * c - s2 * s, s3 = c2 * s + s2 * c;
    float c5 = c3 * c2 - s3 * s2, s5 = c3 * s2 + s3 * c2;
    float ck[3] = {c2, c3, c5}, sk[3] = {s2, s3, s5}, edge = 0.75f;
    for (int k = 0; k < 3; k++) edge += o->blob[k][0] * (ck[k] * o->blob[k][1] - sk[k] * o->blob[k][2]);
    return rho <= edge;
}

static void to_local(const frame *f, float px, float py, float *u, float *v)
{
    float dx = px - f->ox, dy = py - f->oy;
    *u = f->c * dx + f->s * dy;
    *v = f->c * dy - f->s * dx;
}

/* The top-most object at (px, py), in pixels, or -1; its local point in
 * pixels in *u, *v. */
static int top_object(const scene *sc, float px, float py, float *u, float *v)
{
    for (int k = sc->n - 1; k >= 0; k--) {
        const object *o = &sc->obj[k];
        if (px < o->x0 || px > o->x1 || py < o->y0 || py > o->y1) continue;
        to_local(&o->f, px, py, u, v);
        if (shape_contains(o, *u * o->inv_r, *v * o->inv_r)) return k;
    }
    return -1;
}

/* ---- rendering ---- */

static void blend(const float colour[2][3], float t, float light, float rgb[3])
{
    for (int c = 0; c < 3; c++) rgb[c] = light * (colour[0][c] + (colour[1][c] - colour[0][c]) * t);
}

/* The colour at (px, py), in pixels. */
static void shade(const scene *sc, float px, float py, float rgb[3])
{
    float u, v;
    int k = top_object(sc, px, py, &u, &v);
    if (k < 0) {
        to_local(&sc->bg_frame, px, py, &u, &v);
        blend(sc->bg_colour, tg_shapetex_eval(&sc->bg_tex, u, v), 1.0f, rgb);
        return;
    }
    const object *o = &sc->obj[k];
    float ramp = ((px - o->f.ox) * o->light_x + (py - o->f.oy) * o->light_y) * o->inv_r;
    ramp = ramp < -1.0f ? -1.0f : ramp > 1.0f ? 1.0f : ramp;
    blend(o->colour, tg_shapetex_eval(&o->tex, u, v), 1.0f + SHADING * ramp, rgb);
}

static uint8_t quantise(float x)
{
    float q = floorf(x * 255.0f + 0.5f);
    return (uint8_t)(q < 0.0f ? 0.0f : q > 255.0f ? 255.0f : q);
}

/* Box-filters ss x ss subsamples per pixel, adds the noise, quantises. */
static void paint(const scene *sc, const tg_shapescenes_config *cfg, scene_rng *r, tg_image *img)
{
    int n = cfg->size, ss = cfg->supersample;
    float step = 1.0f / (float)ss, norm = 1.0f / (float)(ss * ss);
    uint8_t *out = img->data;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float acc[3] = {0, 0, 0}, rgb[3];
            for (int j = 0; j < ss; j++)
                for (int i = 0; i < ss; i++) {
                    shade(sc, (float)x + ((float)i + 0.5f) * step, (float)y + ((float)j + 0.5f) * step, rgb);
                    acc[0] += rgb[0], acc[1] += rgb[1], acc[2] += rgb[2];
                }
            for (int c = 0; c < 3; c++) {
                float noise = cfg->noise_sigma > 0.0f ? cfg->noise_sigma * gaussian(r) : 0.0f;
                *out++ = quantise(acc[c] * norm + noise);
            }
        }
}

/* Class of the top-most object at each pixel centre. */
static void label(const scene *sc, int n, tg_image *mask)
{
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float u, v;
            int k = top_object(sc, (float)x + 0.5f, (float)y + 0.5f, &u, &v);
            mask->data[y * n + x] = (uint8_t)(k < 0 ? 0 : sc->obj[k].cls);
        }
}

/* ---- configuration ---- */

tg_shapescenes_config tg_shapescenes_defaults(tg_shapescenes_split split)
{
    static const int64_t counts[4] = {4000, 500, 500, 1000};
    return (tg_shapescenes_config){
        .seed = 0,
        .split = split,
        .size = 64,
        .supersample = 2,
        .single = 0,
        .p_tie = 0.85f,
        .p_bg_distractor = 0.2f,
        .noise_sigma = 0.03f,
        .count = (unsigned)split < 4 ? counts[split] : 0,
    };
}

const char *tg_shapescenes_split_name(tg_shapescenes_split split)
{
    static const char *const names[4] = {"pretrain", "train", "val", "test"};
    if ((unsigned)split < 4) return names[split];
    TG_FAIL("shapescenes_split_name: unknown split %d", (int)split);
    return NULL;
}

static int probability(float p) { return p >= 0.0f && p <= 1.0f; }

static int check_config(const tg_shapescenes_config *cfg)
{
    if (!cfg) return TG_FAIL("shapescenes: no config");
    if (!tg_shapescenes_split_name(cfg->split)) return TG_FAIL("shapescenes: split %d is not 0-3", (int)cfg->split);
    if (cfg->size < 8 || cfg->size > 1024) return TG_FAIL("shapescenes: size %d is outside 8-1024", cfg->size);
    if (cfg->supersample < 1 || cfg->supersample > 4)
        return TG_FAIL("shapescenes: supersample %d is outside 1-4", cfg->supersample);
    if (!probability(cfg->p_tie) || !probability(cfg->p_bg_distractor))
        return TG_FAIL("shapescenes: p_tie %g and p_bg_distractor %g must lie in [0, 1]", (double)cfg->p_tie,
                       (double)cfg->p_bg_distractor);
    if (!(cfg->noise_sigma >= 0.0f && cfg->noise_sigma <= 1.0f))
        return TG_FAIL("shapescenes: noise_sigma %g is outside [0, 1]", (double)cfg->noise_sigma);
    if (cfg->count < 0) return TG_FAIL("shapescenes: count %lld is negative", (long long)cfg->count);
    return 0;
}

int tg_shapescenes_render(const tg_shapescenes_config *cfg, int64_t index, tg_image *image, tg_image *mask)
{
    if (!image) return TG_FAIL("shapescenes: no output image");
    memset(image, 0, sizeof *image);
    if (mask) memset(mask, 0, sizeof *mask);
    if (check_config(cfg) < 0) return -1;
    const char *split = tg_shapescenes_split_name(cfg->split);
    if (index < 0 || index >= cfg->count)
        return TG_FAIL("shapescenes %s: index %lld is outside 0..%lld", split, (long long)index,
                       (long long)cfg->count - 1);
    if (mask && cfg->split == TG_SHAPESCENES_PRETRAIN)
        return TG_FAIL("shapescenes pretrain: index %lld: the unlabeled split never renders masks",
                       (long long)index);
    if (tg_image_alloc(image, cfg->size, cfg->size, 3) < 0) return -1;
    if (mask && tg_image_alloc(mask, cfg->size, cfg->size, 1) < 0) {
        tg_image_free(image);
        return -1;
    }
    scene_rng r = rng_for(cfg, index);
    scene sc;
    draw_scene(&r, cfg, &sc);
    paint(&sc, cfg, &r, image);
    if (mask) label(&sc, cfg->size, mask);
    return 0;
}

/* ---- the dataset ---- */

typedef struct {
    tg_dataset base;
    tg_shapescenes_config cfg;
} scenes_dataset;

static int scenes_get(const tg_dataset *ds, int64_t index, tg_sample *out)
{
    const scenes_dataset *d = (const scenes_dataset *)ds;
    memset(out, 0, sizeof *out);
    return tg_shapescenes_render(&d->cfg, index, &out->image, ds->has_masks ? &out->mask : NULL);
}

static void scenes_name(const tg_dataset *ds, int64_t index, char *buf, int size)
{
    const scenes_dataset *d = (const scenes_dataset *)ds;
    if (size > 0)
        snprintf(buf, (size_t)size, "shapescenes%s %s %lld", d->cfg.single ? " single" : "",
                 tg_shapescenes_split_name(d->cfg.split), (long long)index);
}

static void scenes_destroy(tg_dataset *ds) { free(ds); }

tg_dataset *tg_shapescenes_open(const tg_shapescenes_config *cfg)
{
    if (check_config(cfg) < 0) return NULL;
    scenes_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        TG_FAIL("shapescenes: out of memory");
        return NULL;
    }
    int labelled = cfg->split != TG_SHAPESCENES_PRETRAIN;
    d->cfg = *cfg;
    d->base = (tg_dataset){
        .size = cfg->count,
        .num_classes = labelled ? TG_SHAPESCENES_CLASSES : 0,
        .has_masks = labelled,
        .get = scenes_get,
        .name = scenes_name,
        .destroy = scenes_destroy,
    };
    return &d->base;
}
