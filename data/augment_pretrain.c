/* The MoCo-v2 / DenseCL pretraining view (docs/protocol.md section 7):
 * RandomResizedCrop, ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8 in random
 * order, RandomGrayscale p 0.2, GaussianBlur p 0.5, horizontal flip p 0.5,
 * Normalize. A view is drawn (tg_view_params) then applied, so tests can
 * apply fixed parameters and compare with torchvision. */
#include <math.h>

#include "data/internal/draw.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"

#define MAX_SIZE 8192

tg_aug_pretrain tg_aug_pretrain_default(int size)
{
    double k = size / 224.0;
    return (tg_aug_pretrain){
        .size = size,
        .scale = {0.2, 1.0},
        .ratio = {3.0 / 4.0, 4.0 / 3.0},
        .jitter_prob = 0.8,
        .brightness = 0.4,
        .contrast = 0.4,
        .saturation = 0.4,
        .hue = 0.1,
        .gray_prob = 0.2,
        .blur_prob = 0.5,
        .blur_sigma = {0.1 * k, 2.0 * k},
        .flip_prob = 0.5,
        .mean = {0.485f, 0.456f, 0.406f},
        .std = {0.229f, 0.224f, 0.225f},
    };
}

static bool is_prob(double p)
{
    return p >= 0 && p <= 1;
}

static bool is_range(tg_range r)
{
    return r.lo > 0 && r.lo <= r.hi && isfinite(r.hi);
}

int tg_aug_pretrain_check(const tg_aug_pretrain *c)
{
    if (TG_NEED("aug_pretrain_check", c)) return -1;
    if (c->size < 1 || c->size > MAX_SIZE) return TG_FAIL("pretrain aug: size %d (1 .. %d)", c->size, MAX_SIZE);
    if (!is_range(c->scale)) return TG_FAIL("pretrain aug: scale (%g, %g)", c->scale.lo, c->scale.hi);
    if (!is_range(c->ratio)) return TG_FAIL("pretrain aug: ratio (%g, %g)", c->ratio.lo, c->ratio.hi);
    if (!is_prob(c->jitter_prob) || !is_prob(c->gray_prob) || !is_prob(c->blur_prob) || !is_prob(c->flip_prob))
        return TG_FAIL("pretrain aug: probabilities jitter %g gray %g blur %g flip %g (each 0 .. 1)", c->jitter_prob,
                       c->gray_prob, c->blur_prob, c->flip_prob);
    if (!(c->brightness >= 0 && c->contrast >= 0 && c->saturation >= 0 && c->hue >= 0 && c->hue <= 0.5))
        return TG_FAIL("pretrain aug: jitter %g %g %g %g (>= 0, hue <= 0.5)", c->brightness, c->contrast,
                       c->saturation, c->hue);
    if (c->blur_prob > 0 && !is_range(c->blur_sigma))
        return TG_FAIL("pretrain aug: blur sigma (%g, %g)", c->blur_sigma.lo, c->blur_sigma.hi);
    for (int i = 0; i < 3; i++)
        if (!(c->std[i] != 0)) return TG_FAIL("pretrain aug: std[%d] is %g", i, c->std[i]);
    return 0;
}

/* A factor ~ U(max(0, 1 - b), 1 + b), ColorJitter's rule. */
static double jitter_factor(tg_rng *rng, double b)
{
    return tg_draw_uniform(rng, fmax(0.0, 1.0 - b), 1.0 + b);
}

/* ColorJitter.get_params: the four ops in random order, then the factors. */
static void draw_jitter(const tg_aug_pretrain *c, tg_rng *rng, tg_view_params *p)
{
    for (int i = 0; i < 4; i++) p->order[i] = i;
    for (int i = 3; i > 0; i--) {
        int j = tg_draw_below(rng, i + 1), t = p->order[i];
        p->order[i] = p->order[j], p->order[j] = t;
    }
    p->factor[TG_JITTER_BRIGHTNESS] = jitter_factor(rng, c->brightness);
    p->factor[TG_JITTER_CONTRAST] = jitter_factor(rng, c->contrast);
    p->factor[TG_JITTER_SATURATION] = jitter_factor(rng, c->saturation);
    p->factor[TG_JITTER_HUE] = tg_draw_uniform(rng, -c->hue, c->hue);
}

int tg_aug_pretrain_draw(const tg_aug_pretrain *c, int height, int width, tg_rng *rng, tg_view_params *p)
{
    if (tg_aug_pretrain_check(c) != 0 || TG_NEED("aug_pretrain_draw", rng, p)) return -1;
    if (height < 1 || width < 1) return TG_FAIL("pretrain aug: empty %dx%d source", height, width);
    *p = (tg_view_params){.order = {0, 1, 2, 3}, .factor = {1, 1, 1, 0}};
    p->geom.crop = tg_tf_sample_resized_crop(rng, height, width, c->scale, c->ratio);
    p->geom.size = c->size;
    if ((p->jitter = tg_draw_coin(rng, c->jitter_prob))) draw_jitter(c, rng, p);
    p->gray = tg_draw_coin(rng, c->gray_prob);
    if (tg_draw_coin(rng, c->blur_prob)) p->blur_sigma = tg_draw_uniform(rng, c->blur_sigma.lo, c->blur_sigma.hi);
    p->geom.flipped = tg_draw_coin(rng, c->flip_prob);
    return 0;
}

/* One jitter op; an identity factor (a zero jitter range) is skipped, as
 * torchvision skips an op whose range is zero. */
static void jitter_op(float *img, int n, int op, double f)
{
    if (f == (op == TG_JITTER_HUE ? 0.0 : 1.0)) return;
    switch (op) {
    case TG_JITTER_BRIGHTNESS: tg_tf_adjust_brightness(img, n, n, f); break;
    case TG_JITTER_CONTRAST: tg_tf_adjust_contrast(img, n, n, f); break;
    case TG_JITTER_SATURATION: tg_tf_adjust_saturation(img, n, n, f); break;
    default: tg_tf_adjust_hue(img, n, n, f); break;
    }
}

/* The blur's kernel: 2 * ceil(3 sigma) + 1 taps. */
static int blur_ksize(double sigma)
{
    return 2 * (int)ceil(3.0 * sigma) + 1;
}

int tg_aug_pretrain_apply(const tg_aug_pretrain *c, const tg_image *img, const tg_view_params *p, float *out)
{
    if (tg_aug_pretrain_check(c) != 0 || TG_NEED("aug_pretrain_apply", img, p, out)) return -1;
    if (!img->data || img->channels != 3)
        return TG_FAIL("pretrain aug: source is %dx%dx%d; RGB needed", img->height, img->width, img->channels);
    if (p->geom.size != c->size)
        return TG_FAIL("pretrain aug: view size %d, config size %d", p->geom.size, c->size);
    for (int i = 0; i < 4; i++)
        if (p->order[i] < 0 || p->order[i] > 3) return TG_FAIL("pretrain aug: jitter op %d", p->order[i]);
    int n = c->size;
    tg_box all = {0, 0, n, n};
    if (tg_tf_resize_bilinear(img, p->geom.crop, n, n, all, true, 1.0f / 255.0f, out) != 0) return -1;
    for (int i = 0; p->jitter && i < 4; i++) jitter_op(out, n, p->order[i], p->factor[p->order[i]]);
    if (p->gray) tg_tf_grayscale(out, n, n);
    if (p->blur_sigma > 0 && tg_tf_gaussian_blur(out, n, n, p->blur_sigma, blur_ksize(p->blur_sigma)) != 0) return -1;
    if (p->geom.flipped) tg_tf_hflip(out, 3, n, n);
    tg_tf_normalize(out, n, n, c->mean, c->std);
    return 0;
}

int tg_aug_pretrain_view(const tg_aug_pretrain *c, const tg_image *img, tg_rng *rng, float *out, tg_view_geom *geom)
{
    tg_view_params p;
    if (TG_NEED("aug_pretrain_view", img)) return -1;
    if (tg_aug_pretrain_draw(c, img->height, img->width, rng, &p) != 0) return -1;
    if (tg_aug_pretrain_apply(c, img, &p, out) != 0) return -1;
    if (geom) *geom = p.geom;
    return 0;
}

void tg_view_geom_to_source(const tg_view_geom *g, double u, double v, double *x, double *y)
{
    if (TG_NEED("view_geom_to_source", g, x, y)) return;
    *x = g->crop.x + (g->flipped ? g->size - u : u) * g->crop.w / g->size;
    *y = g->crop.y + v * g->crop.h / g->size;
}
