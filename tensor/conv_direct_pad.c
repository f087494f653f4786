/* The padded images of the direct convolution kernels (see
 * internal/conv_direct.h): each channel as its sh x sw stride phases, the
 * padded element (yy, xx) at (yy / sh, xx / sw) of phase (yy % sh,
 * xx % sw), so a row of output positions reads each tap from consecutive
 * elements whatever the stride. A phase row is zeros, then the real
 * elements of one input row, then zeros: only the padding is cleared, and
 * the real elements are copied (stride 1) or gathered two apart with
 * vector permutes (stride 2). */
#include "tensor/internal/conv_direct.h"

#include <string.h>

void conv_direct_layout(const conv_geom *g, direct_layout *l)
{
    memset(l, 0, sizeof *l);
    l->g = g;
    l->taps = g->kh * g->kw;
    int64_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    l->hq = (hp + g->sh - 1) / g->sh;
    l->wq = (wp + g->sw - 1) / g->sw;
    l->plane = g->sh * g->sw * l->hq * l->wq;
    l->positions = g->oh * l->wq;
    for (int64_t t = 0; t < l->taps; t++) {
        int64_t di = t / g->kw * g->dh, dj = t % g->kw * g->dw;
        l->koff[t] = (di % g->sh * g->sw + dj % g->sw) * l->hq * l->wq + di / g->sh * l->wq + dj / g->sw;
    }
}

#if HAVE_KERNEL

/* dst[i] = src[2 i] for i < n: pairs of vectors, their even elements
 * picked by one permute (the last pair masked so that no read passes
 * src[2 n - 2]). */
KERNEL static void gather_even(const float *src, int64_t n, float *dst)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        __m512 lo = _mm512_loadu_ps(src + 2 * i), hi = _mm512_maskz_loadu_ps(0x7fff, src + 2 * i + LANES);
        _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(lo, even, hi));
    }
    for (; i < n; i++) dst[i] = src[2 * i];
}

/* n elements of src, step apart, into dst. */
KERNEL static void copy_strided(const float *src, int64_t step, int64_t n, float *dst)
{
    if (step == 1) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
        return;
    }
    if (step == 2) {
        gather_even(src, n, dst);
        return;
    }
    for (int64_t i = 0; i < n; i++) dst[i] = src[i * step];
}

/* Phase (py, px) of channel xc (H, W) into dst (hq x wq). */
KERNEL static void pad_phase(const direct_layout *l, const float *xc, int64_t py, int64_t px, float *dst)
{
    const conv_geom *g = l->g;
    /* phase column k holds input column px + sw k - pw: real for k in [k0, k1) */
    int64_t k0 = g->pw > px ? (g->pw - px + g->sw - 1) / g->sw : 0;
    int64_t k1 = (g->w + g->pw - px + g->sw - 1) / g->sw;
    if (k1 > l->wq) k1 = l->wq;
    if (k1 < k0) k1 = k0;
    for (int64_t r = 0; r < l->hq; r++, dst += l->wq) {
        int64_t y = py + g->sh * r - g->ph;
        if (y < 0 || y >= g->h || k1 == k0) {
            memset(dst, 0, (size_t)l->wq * sizeof *dst);
            continue;
        }
        memset(dst, 0, (size_t)k0 * sizeof *dst);
        copy_strided(xc + y * g->w + px + g->sw * k0 - g->pw, g->sw, k1 - k0, dst + k0);
        memset(dst + k1, 0, (size_t)(l->wq - k1) * sizeof *dst);
    }
}

/* Whether some tap of g reads phase (py, px). */
static bool phase_read(const conv_geom *g, int64_t py, int64_t px)
{
    bool row = false, col = false;
    for (int64_t i = 0; i < g->kh; i++) row |= i * g->dh % g->sh == py;
    for (int64_t j = 0; j < g->kw; j++) col |= j * g->dw % g->sw == px;
    return row && col;
}

KERNEL void conv_direct_pad_image(const direct_layout *l, const float *x, float *xp, int64_t slack, bool all_phases)
{
    const conv_geom *g = l->g;
    int64_t pq = l->hq * l->wq;
    for (int64_t py = 0; py < g->sh; py++)
        for (int64_t px = 0; px < g->sw; px++) {
            if (!all_phases && !phase_read(g, py, px)) continue;
            for (int64_t c = 0; c < g->c; c++)
                pad_phase(l, x + c * g->h * g->w, py, px, xp + c * l->plane + (py * g->sw + px) * pq);
        }
    memset(xp + g->c * l->plane, 0, (size_t)slack * sizeof *xp);
}

#endif
