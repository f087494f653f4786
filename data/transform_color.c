/* Colour transforms on RGB float images (3 x h x w, values in [0, 1]):
 * torchvision's adjust_brightness/contrast/saturation/hue, grayscale,
 * gaussian_blur and normalize, written with the same float operations in
 * the same order as its tensor path so results agree to rounding; and
 * mmseg's PhotoMetricDistortion, which has no torchvision twin. */
#include "data/internal/fp_strict.h"

#include <math.h>
#include <stdlib.h>

#include "data/internal/draw.h"
#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/internal/check.h"

static float clamp01(float x)
{
    return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
}

/* torchvision's rgb_to_grayscale weights. */
static float grey(float r, float g, float b)
{
    return 0.2989f * r + 0.587f * g + 0.114f * b;
}

/* torchvision's _blend: ratio * a + (1 - ratio) * b, clamped. */
typedef struct {
    float a, b;
} blend;

static blend blend_of(double ratio)
{
    return (blend){(float)ratio, (float)(1.0 - ratio)};
}

static float mix(blend k, float x, float y)
{
    return clamp01(k.a * x + k.b * y);
}

/* Whether img (3 x h x w floats) can be worked on; if not, an error names fn. */
static bool usable(const char *fn, const float *img, int h, int w)
{
    return !TG_NEED(fn, img) && !TG_NEED_MIN(fn, h, 0) && !TG_NEED_MIN(fn, w, 0);
}

void tg_tf_adjust_brightness(float *img, int h, int w, double factor)
{
    if (!usable("tf_adjust_brightness", img, h, w)) return;
    blend k = blend_of(factor);
    for (size_t i = 0; i < (size_t)3 * h * w; i++) img[i] = mix(k, img[i], 0.0f);
}

void tg_tf_adjust_contrast(float *img, int h, int w, double factor)
{
    if (!usable("tf_adjust_contrast", img, h, w)) return;
    size_t n = (size_t)h * w;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += grey(img[i], img[n + i], img[2 * n + i]);
    float mean = (float)(sum / (double)n);
    blend k = blend_of(factor);
    for (size_t i = 0; i < 3 * n; i++) img[i] = mix(k, img[i], mean);
}

void tg_tf_adjust_saturation(float *img, int h, int w, double factor)
{
    if (!usable("tf_adjust_saturation", img, h, w)) return;
    size_t n = (size_t)h * w;
    blend k = blend_of(factor);
    for (size_t i = 0; i < n; i++) {
        float l = grey(img[i], img[n + i], img[2 * n + i]);
        for (int c = 0; c < 3; c++) img[c * n + i] = mix(k, img[c * n + i], l);
    }
}

void tg_tf_grayscale(float *img, int h, int w)
{
    if (!usable("tf_grayscale", img, h, w)) return;
    size_t n = (size_t)h * w;
    for (size_t i = 0; i < n; i++) img[i] = img[n + i] = img[2 * n + i] = grey(img[i], img[n + i], img[2 * n + i]);
}

/* fmodf(x, 1.0f), exactly (the fraction of a float is a float), without
 * the libm call: |x| is small here. */
static float fmod1(float x)
{
    return x - (float)(int)x;
}

/* torchvision's _rgb2hsv for one pixel (h in turns, [0, 1)). */
static void rgb_to_hsv(const float rgb[3], float hsv[3])
{
    float r = rgb[0], g = rgb[1], b = rgb[2];
    float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
    bool flat = maxc == minc;
    float cr = maxc - minc, div = flat ? 1.0f : cr;
    float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    float hue = maxc == r ? bc - gc : maxc == g ? 2.0f + rc - bc : 4.0f + gc - rc;
    hsv[0] = fmod1(hue / 6.0f + 1.0f);
    hsv[1] = cr / (flat ? 1.0f : maxc);
    hsv[2] = maxc;
}

/* torchvision's _hsv2rgb for one pixel (h >= 0, so (int) is floor). */
static void hsv_to_rgb(const float hsv[3], float rgb[3])
{
    float s = hsv[1], v = hsv[2], i = (float)(int)(hsv[0] * 6.0f), f = hsv[0] * 6.0f - i;
    float p = clamp01(v * (1.0f - s)), q = clamp01(v * (1.0f - s * f)), t = clamp01(v * (1.0f - s * (1.0f - f)));
    /* Per hue sector, which of (v, q, p, t) each of R, G, B takes. */
    static const int pick[6][3] = {{0, 3, 2}, {1, 0, 2}, {2, 0, 3}, {2, 1, 0}, {3, 2, 0}, {0, 2, 1}};
    float vals[4] = {v, q, p, t};
    const int *k = pick[(int)i % 6];
    for (int c = 0; c < 3; c++) rgb[c] = vals[k[c]];
}

/* Each pixel through HSV: saturation times sat (clipped to 1), hue plus
 * shift turns (torch's remainder: the result is in [0, 1)). */
static void hsv_adjust(float *img, int h, int w, double sat, double shift)
{
    size_t n = (size_t)h * w;
    for (size_t i = 0; i < n; i++) {
        float rgb[3] = {img[i], img[n + i], img[2 * n + i]}, hsv[3];
        rgb_to_hsv(rgb, hsv);
        float hue = fmod1(hsv[0] + (float)shift);
        hsv[0] = hue < 0.0f ? hue + 1.0f : hue;
        if (sat != 1.0) hsv[1] = fminf(hsv[1] * (float)sat, 1.0f);
        hsv_to_rgb(hsv, rgb);
        for (int c = 0; c < 3; c++) img[c * n + i] = rgb[c];
    }
}

void tg_tf_adjust_hue(float *img, int h, int w, double shift)
{
    if (!usable("tf_adjust_hue", img, h, w)) return;
    hsv_adjust(img, h, w, 1.0, shift);
}

#define MAX_BLUR_KSIZE 1023

/* torchvision's _get_gaussian_kernel1d. */
static void gaussian_kernel(float *k, int ksize, double sigma)
{
    float sum = 0.0f;
    for (int i = 0; i < ksize; i++) {
        float x = (float)(i - (ksize - 1) / 2) / (float)sigma;
        sum += k[i] = expf(-0.5f * (x * x));
    }
    for (int i = 0; i < ksize; i++) k[i] /= sum;
}

/* Index i reflected into 0 .. n-1 (PyTorch's "reflect": the edge pixel is
 * not repeated). */
static int reflect(int i, int n)
{
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* Rows of a plane blurred across into dst, each row first reflected into
 * pad (w + ksize - 1 floats). */
static void blur_rows(const float *src, float *dst, int h, int w, const float *k, int ksize, float *pad)
{
    int r = ksize / 2;
    for (int i = 0; i < h; i++) {
        const float *row = src + (size_t)i * w;
        for (int j = -r; j < w + r; j++) pad[j + r] = row[reflect(j, w)];
        for (int j = 0; j < w; j++) {
            float acc = 0.0f;
            for (int t = 0; t < ksize; t++) acc += k[t] * pad[j + t];
            dst[(size_t)i * w + j] = acc;
        }
    }
}

/* Columns blurred down into dst: each output row sums ksize reflected
 * source rows. */
static void blur_cols(const float *src, float *dst, int h, int w, const float *k, int ksize)
{
    int r = ksize / 2;
    for (int i = 0; i < h; i++) {
        float *d = dst + (size_t)i * w;
        for (int j = 0; j < w; j++) d[j] = 0.0f;
        for (int t = 0; t < ksize; t++) {
            const float *s = src + (size_t)reflect(i + t - r, h) * w;
            for (int j = 0; j < w; j++) d[j] += k[t] * s[j];
        }
    }
}

int tg_tf_gaussian_blur(float *img, int h, int w, double sigma, int ksize)
{
    if (!usable("tf_gaussian_blur", img, h, w)) return -1;
    if (!(sigma > 0) || ksize < 1 || ksize > MAX_BLUR_KSIZE || ksize % 2 == 0)
        return TG_FAIL("gaussian blur: sigma %g and kernel size %d (need sigma > 0, odd size up to %d)", sigma, ksize,
                       MAX_BLUR_KSIZE);
    size_t n = (size_t)h * w;
    float *tmp = malloc((n + 2 * (size_t)ksize + (size_t)w) * sizeof *tmp);
    if (!tmp) return TG_FAIL("gaussian blur: out of memory for %dx%d", h, w);
    float *k = tmp + n, *pad = k + ksize;
    gaussian_kernel(k, ksize, sigma);
    for (int c = 0; c < 3; c++) {
        blur_rows(img + c * n, tmp, h, w, k, ksize, pad);
        blur_cols(tmp, img + c * n, h, w, k, ksize);
    }
    free(tmp);
    return 0;
}

void tg_tf_normalize(float *img, int h, int w, const float mean[3], const float std[3])
{
    if (!usable("tf_normalize", img, h, w) || TG_NEED("tf_normalize", mean, std)) return;
    size_t n = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++) img[c * n + i] = (img[c * n + i] - mean[c]) / std[c];
}

/* ---- PhotoMetricDistortion ---- */

tg_photometric tg_photometric_default(void)
{
    return (tg_photometric){.brightness_delta = 32, .contrast = {0.5, 1.5}, .saturation = {0.5, 1.5}, .hue_delta = 18};
}

tg_photometric_params tg_photometric_draw(const tg_photometric *cfg, tg_rng *rng)
{
    tg_photometric_params p = {.alpha = 1, .sat_alpha = 1};
    if (TG_NEED("photometric_draw", cfg, rng)) return p;
    if ((p.brightness = tg_draw_coin(rng, 0.5)))
        p.delta = tg_draw_uniform(rng, -cfg->brightness_delta, cfg->brightness_delta);
    p.contrast_first = tg_draw_coin(rng, 0.5);
    if ((p.contrast = tg_draw_coin(rng, 0.5))) p.alpha = tg_draw_uniform(rng, cfg->contrast.lo, cfg->contrast.hi);
    if ((p.saturation = tg_draw_coin(rng, 0.5)))
        p.sat_alpha = tg_draw_uniform(rng, cfg->saturation.lo, cfg->saturation.hi);
    if ((p.hue = tg_draw_coin(rng, 0.5))) p.hue_shift = tg_draw_below(rng, 2 * cfg->hue_delta) - cfg->hue_delta;
    return p;
}

/* mmseg's convert: x * alpha + beta, clipped. */
static void affine(float *img, int h, int w, float alpha, float beta)
{
    for (size_t i = 0; i < (size_t)3 * h * w; i++) img[i] = clamp01(img[i] * alpha + beta);
}

void tg_photometric_apply(float *img, int h, int w, const tg_photometric_params *p)
{
    if (!usable("photometric_apply", img, h, w) || TG_NEED("photometric_apply", p)) return;
    if (p->brightness) affine(img, h, w, 1.0f, (float)(p->delta / 255.0));
    if (p->contrast && p->contrast_first) affine(img, h, w, (float)p->alpha, 0.0f);
    if (p->saturation || p->hue)
        hsv_adjust(img, h, w, p->saturation ? p->sat_alpha : 1.0, p->hue ? p->hue_shift / 180.0 : 0.0);
    if (p->contrast && !p->contrast_first) affine(img, h, w, (float)p->alpha, 0.0f);
}
