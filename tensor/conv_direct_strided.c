/* The input gradient of a strided (or over-padded) convolution with the
 * direct kernels (AVX-512; see conv_direct.c), one stride phase at a time.
 *
 * The forward adds w[o][c][i][j] x[c][sh y + dh i - ph][sw x + dw j - pw]
 * into out[o][y][x], so input row Y = sh a + ry receives from the taps i
 * with (ry + ph - dh i) divisible by sh, from output row a + e_i with
 * e_i = (ry + ph - dh i) / sh; columns alike. Phase (ry, rx) of dx is then
 * a stride-1 convolution of g (zero-padded enough for every e_i and f_j)
 * with the phase's taps, transposed: a direct_job over g's channels whose
 * outputs are dx's channels. Each phase is written into a buffer of its
 * own rows and columns, and the phases of a block of channels are woven
 * into dx rows once the block is done (pairs of vectors interleaved with
 * permutes for stride 2).
 *
 * Threads share out (image, range of channel blocks) items as the forward
 * does; each dx element is one item's, summed in a fixed order. */
#include "tensor/internal/conv_direct.h"

#include <omp.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/internal/storage.h"

#if HAVE_KERNEL

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* One stride phase (ry, rx): its taps, where they read g, and its size. */
typedef struct {
    int64_t taps, tap[MAX_TAPS]; /* the taps (i kw + j) of w it uses */
    int64_t koff[MAX_TAPS];      /* where each reads the padded g, from a position's element */
    int64_t rows, cols;          /* dx rows Y = sh a + ry and columns X = sw b + rx of the phase */
    direct_job job;
} phase;

typedef struct {
    const conv_geom *g;
    conv_geom gg;    /* g's gradient as an image to pad: O channels of oh x ow */
    direct_layout l; /* its padded layout */
    direct_tile tile; /* every phase's: the same blocks of channels */
    int64_t slack, phases, blocks;
    int64_t prow, pplane; /* the phase buffer: (C, phases, rows, prow), pplane floats a channel */
    phase ph[MAX_PHASES];
} strided_plan;

/* (r + pad - d k) / s for the k in [0, kn) where it divides: into e[]
 * (k-indexed, the count returned, the k listed in ks). */
static int64_t phase_offsets(int64_t r, int64_t pad, int64_t d, int64_t s, int64_t kn, int64_t *ks, int64_t *e)
{
    int64_t n = 0;
    for (int64_t k = 0; k < kn; k++) {
        int64_t t = r + pad - d * k;
        if (((t % s) + s) % s) continue;
        ks[n] = k;
        e[n++] = t / s;
    }
    return n;
}

/* The zero padding of g that every phase's reads fit in, rows (or
 * columns): size n of dx, out of g, stride s, padding pad, dilation d,
 * kernel kn. */
static int64_t grad_padding(int64_t n, int64_t out, int64_t s, int64_t pad, int64_t d, int64_t kn)
{
    int64_t need = 0, ks[MAX_TAPS], e[MAX_TAPS];
    for (int64_t r = 0; r < s && r < n; r++) {
        int64_t rows = (n - r + s - 1) / s, m = phase_offsets(r, pad, d, s, kn, ks, e);
        for (int64_t k = 0; k < m; k++) need = max64(need, max64(-e[k], rows - 1 + e[k] - (out - 1)));
    }
    return need;
}

static void plan_phase(strided_plan *p, int64_t ry, int64_t rx, phase *f)
{
    const conv_geom *g = p->g;
    int64_t is[MAX_TAPS], js[MAX_TAPS], e[MAX_TAPS], fo[MAX_TAPS];
    int64_t ni = phase_offsets(ry, g->ph, g->dh, g->sh, g->kh, is, e);
    int64_t nj = phase_offsets(rx, g->pw, g->dw, g->sw, g->kw, js, fo);
    f->taps = ni * nj;
    for (int64_t a = 0; a < ni; a++)
        for (int64_t b = 0; b < nj; b++) {
            f->tap[a * nj + b] = is[a] * g->kw + js[b];
            f->koff[a * nj + b] = (e[a] + p->gg.ph) * p->l.wq + fo[b] + p->gg.pw;
        }
    f->rows = ry < g->h ? (g->h - ry + g->sh - 1) / g->sh : 0;
    f->cols = rx < g->w ? (g->w - rx + g->sw - 1) / g->sw : 0;
    f->job = (direct_job){.cin = g->o, .plane = p->l.plane, .taps = f->taps, .koff = f->koff,
                          .positions = f->rows * p->l.wq, .pitch = p->l.wq, .rows = f->rows, .cols = f->cols,
                          .cout = g->c, .out_plane = p->pplane, .out_row = p->prow, .tile = p->tile};
}

static void plan_of(const conv_geom *g, strided_plan *p)
{
    memset(p, 0, sizeof *p);
    p->g = g;
    p->gg = (conv_geom){.n = g->n, .c = g->o, .h = g->oh, .w = g->ow, .o = g->c, .kh = 1, .kw = 1, .sh = 1,
                        .sw = 1, .dh = 1, .dw = 1, .groups = 1, .oh = g->oh, .ow = g->ow};
    p->gg.ph = grad_padding(g->h, g->oh, g->sh, g->ph, g->dh, g->kh);
    p->gg.pw = grad_padding(g->w, g->ow, g->sw, g->pw, g->dw, g->kw);
    conv_direct_layout(&p->gg, &p->l);
    p->phases = g->sh * g->sw;
    p->tile = conv_direct_tile_for((g->h + g->sh - 1) / g->sh * p->l.wq);
    p->blocks = (g->c + p->tile.channels - 1) / p->tile.channels;
    p->prow = (g->w + g->sw - 1) / g->sw;
    p->pplane = p->phases * ((g->h + g->sh - 1) / g->sh) * p->prow;
    int64_t slack = 0;
    for (int64_t k = 0; k < p->phases; k++) {
        plan_phase(p, k / g->sw, k % g->sw, &p->ph[k]);
        slack = max64(slack, conv_direct_slack(&p->ph[k].job));
    }
    p->slack = slack;
}

/* Floats of phase k's packed weight. */
static int64_t phase_weight(const strided_plan *p, int64_t k)
{
    return p->blocks * p->g->o * p->ph[k].taps * p->tile.channels;
}

/* Phase k's weight: blocks of the tile's channels ch of dx's channels c,
 * each (O, the phase's taps, ch) of w[o][c][tap]. */
static void pack_phase(const strided_plan *p, int64_t k, const float *w, float *wp)
{
    const conv_geom *g = p->g;
    const phase *f = &p->ph[k];
    int64_t taps = g->kh * g->kw, ch = p->tile.channels;
    for (int64_t b = 0; b < p->blocks; b++)
        for (int64_t o = 0; o < g->o; o++)
            for (int64_t t = 0; t < f->taps; t++)
                for (int64_t j = 0; j < ch; j++) {
                    int64_t c = b * ch + j;
                    *wp++ = c < g->c ? w[(o * g->c + c) * taps + f->tap[t]] : 0.0f;
                }
}

/* dst[2 i] = a[i], dst[2 i + 1] = b[i] for 2 i (+ 1) < n: two vectors woven
 * by two permutes. */
KERNEL static void weave_pair(const float *a, const float *b, int64_t n, float *dst)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int64_t k = 0; k < n; k += 2 * LANES) {
        int64_t m = n - k < 2 * LANES ? n - k : 2 * LANES; /* outputs here */
        __mmask16 ma = (__mmask16)((1u << ((m + 1) / 2)) - 1), mb = (__mmask16)((1u << (m / 2)) - 1);
        __m512 va = _mm512_maskz_loadu_ps(ma, a + k / 2), vb = _mm512_maskz_loadu_ps(mb, b + k / 2);
        __mmask16 m0 = (__mmask16)(m >= LANES ? 0xffff : (1u << m) - 1);
        __mmask16 m1 = (__mmask16)(m > LANES ? (1u << (m - LANES)) - 1 : 0);
        _mm512_mask_storeu_ps(dst + k, m0, _mm512_permutex2var_ps(va, lo, vb));
        _mm512_mask_storeu_ps(dst + k + LANES, m1, _mm512_permutex2var_ps(va, hi, vb));
    }
}

/* Channels [c0, c1) of the phase buffer woven into dx's image. */
KERNEL static void weave(const strided_plan *p, const float *pb, int64_t c0, int64_t c1, float *dx)
{
    const conv_geom *g = p->g;
    int64_t prows = p->pplane / p->phases;
    for (int64_t c = c0; c < c1; c++)
        for (int64_t y = 0; y < g->h; y++) {
            const float *row = pb + c * p->pplane + (y % g->sh * g->sw) * prows + y / g->sh * p->prow;
            float *dst = dx + (c * g->h + y) * g->w;
            if (g->sw == 2) {
                weave_pair(row, row + prows, g->w, dst);
                continue;
            }
            for (int64_t x = 0; x < g->w; x++) dst[x] = row[x % g->sw * prows + x / g->sw];
        }
}

/* Channel blocks [b0, b1) of one image: every phase into pb (the last one
 * prefetching ahead), then woven. */
static void run_item(const strided_plan *p, const float *gp, const float *wp, int64_t b0, int64_t b1, float *pb,
                     float *dx, direct_ahead ahead)
{
    const float *w = wp;
    for (int64_t k = 0; k < p->phases; k++) {
        const phase *f = &p->ph[k];
        conv_direct_run_job(&f->job, gp, w, b0, b1, NULL, pb + k * (p->pplane / p->phases),
                            k == p->phases - 1 ? ahead : (direct_ahead){0});
        w += phase_weight(p, k);
    }
    int64_t ch = p->tile.channels, c1 = b1 * ch < p->g->c ? b1 * ch : p->g->c;
    weave(p, pb, b0 * ch, c1, dx);
}

static int run(const strided_plan *p, const float *grad, const float *wp, float *dx)
{
    const conv_geom *g = p->g;
    int threads = omp_get_max_threads();
    int64_t chunks = conv_direct_chunks(g->n, p->blocks), image = g->o * p->l.plane + p->slack;
    int64_t per_thread = image + g->c * p->pplane;
    size_t bytes = (size_t)(threads * per_thread) * sizeof(float);
    float *bufs = tg_memory_alloc(bytes);
    if (!bufs) return TG_FAIL("conv2d_backward_input: out of memory for %zu bytes", bytes);
    int64_t items = g->n * chunks, in_image = g->o * g->oh * g->ow;
#pragma omp parallel num_threads(threads)
    {
        float *gp = bufs + (int64_t)omp_get_thread_num() * per_thread, *pb = gp + image;
        int64_t padded = -1;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int64_t n = it / chunks, k = it % chunks;
            if (n != padded) conv_direct_pad_image(&p->l, grad + n * in_image, gp, p->slack, false);
            padded = n;
            run_item(p, gp, wp, p->blocks * k / chunks, p->blocks * (k + 1) / chunks, pb, dx + n * g->c * g->h * g->w,
                     conv_direct_next_image(grad, in_image, n, g->n, k, chunks));
        }
    }
    tg_memory_free(bufs, bytes);
    return 0;
}

int conv_direct_backward_input_strided(const conv_geom *g, const float *grad, const float *w, float *dx)
{
    strided_plan p;
    plan_of(g, &p);
    int64_t floats = 0;
    for (int64_t k = 0; k < p.phases; k++) floats += phase_weight(&p, k);
    size_t bytes = (size_t)(floats > 0 ? floats : 1) * sizeof(float);
    float *wp = tg_memory_alloc(bytes);
    if (!wp) return TG_FAIL("conv2d_backward_input: out of memory for %zu bytes of packed weight", bytes);
    float *at = wp;
    for (int64_t k = 0; k < p.phases; k++) {
        pack_phase(&p, k, w, at);
        at += phase_weight(&p, k);
    }
    int rc = run(&p, grad, wp, dx);
    tg_memory_free(wp, bytes);
    return rc;
}

#else

int conv_direct_backward_input_strided(const conv_geom *g, const float *grad, const float *w, float *dx)
{
    (void)g, (void)grad, (void)w, (void)dx;
    return TG_FAIL("conv2d_backward_input: no direct kernel on this CPU");
}

#endif
