/* Convolution as an implicit GEMM: the im2col of conv.c fused into the
 * packing of BLIS's register-tile kernel (tg_k_tile, tensor/internal/linalg.h).
 *
 * The product is out^T (pixels, O) = col^T (pixels, C kh kw) @ W^T. Its
 * A operand, panels of mr output pixels by the k steps (c, i, j), is
 * packed straight from the input, one run of pixels along an output row at
 * a time, so the column buffer is never written and read back (measured
 * on ResNet-18's 3x3 layers at 64 px: 25-35% faster than im2col + BLIS).
 * The input is first copied with its zero padding and split by stride
 * phase, so every run is a plain contiguous copy. The B operand, panels of
 * nr output channels, is packed from the weight once per call. Each tile's
 * column-major C (pixel stride 1) is out itself (channels a plane apart)
 * when its pixels lie in one image, else a thread's buffer copied to out
 * at the end of the group.
 *
 * Threads split the output pixels into contiguous ranges of whole tiles.
 * Each output element is one thread's: k steps summed in order inside the
 * kernel, the kc-chunks added in order, whatever the split, so results are
 * bitwise the same for any thread count. */
#include <omp.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/internal/conv_geom.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/storage.h"

/* Images at least this wide take the implicit path: a tile's pixels then
 * come in runs of 6 or more along output rows. Narrower ones stay with
 * conv.c's gather tables (measured on ResNet-18's 3x3 layers: 6x6 images
 * 10-25% faster here, 4x4 the same, 3x3 10-25% slower). */
#define MIN_WIDTH 6

bool conv_gemm_applies(const conv_geom *g) { return g->groups == 1 && !g->direct && g->ow >= MIN_WIDTH; }

/* The weight gradient splits the rows (c, i, j) over threads in tiles of
 * mr, and each thread packs all of g: with few rows the split is
 * lopsided and the repacking of g dominates. The 7x7 stem on 3 channels
 * (147 rows, 5 tiles) is still 1.6x faster here than im2col + BLIS on 2
 * threads and 1.1x on one... */
#define MIN_ROWS_GRAD_WEIGHT 128
/* ...and with fewer pixels (its k) than this, each tile of dW gets too few
 * multiply-adds per load and store (measured on 2x2 images, 128 pixels:
 * 1.4x slower than im2col + BLIS). Its packing copies whole runs of
 * channels per pixel, so narrow images are no obstacle. */
#define MIN_PIXELS_GRAD_WEIGHT 384

bool conv_gemm_applies_backward_weight(const conv_geom *g)
{
    return g->groups == 1 && !g->direct && g->rows >= MIN_ROWS_GRAD_WEIGHT &&
           g->n * g->pixels >= MIN_PIXELS_GRAD_WEIGHT;
}

bool conv_gemm_applies_backward_input(const conv_geom *g)
{
    return g->groups == 1 && !g->direct && g->sh == 1 && g->sw == 1 && g->dh * (g->kh - 1) >= g->ph &&
           g->dw * (g->kw - 1) >= g->pw && g->w >= MIN_WIDTH;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; } /* floats: whole 64-byte lines */
static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* A run of output pixels along one output row, inside one tile. */
typedef struct {
    int64_t src; /* pad_input's element under tap (0, 0) of channel 0 for its first pixel */
    int64_t pix; /* that element's pixel in the padded images: (n hp + y) wp + x */
    int64_t dst; /* its index among the group's pixels */
    int64_t out; /* its offset in out, channel 0 */
    int64_t len;
} pixel_run;

/* The sizes everything is laid out by. */
typedef struct {
    const conv_geom *g;
    tg_k_tile_dims t;
    int64_t hp, wp;      /* the padded input's plane */
    int64_t hq, wq;      /* one of its sh x sw stride phases (pad_input) */
    int64_t tiles;       /* tiles of mr pixels over all images (the weight gradient: of mr rows) */
    int64_t group;       /* tiles a thread packs at once */
    int64_t a_stride;    /* floats between A panels: kc steps of mr, rounded */
    int64_t b_stride;    /* floats between B panels: kc steps of nr, rounded */
    int64_t panels;      /* B panels: nr channels each */
    int64_t c_ld;        /* a thread's C buffer: group * mr pixels by panels * nr channels */
    const int64_t *koff; /* for each k step (c, i, j): its offset in the padded input */
} gemm_plan;

static gemm_plan plan_of(const conv_geom *g)
{
    gemm_plan p = {.g = g, .t = tg_k_tile_dims_get()};
    p.hp = g->h + 2 * g->ph;
    p.wp = g->w + 2 * g->pw;
    p.hq = (p.hp + g->sh - 1) / g->sh;
    p.wq = (p.wp + g->sw - 1) / g->sw;
    p.tiles = (g->n * g->pixels + p.t.mr - 1) / p.t.mr;
    p.group = p.t.mc / p.t.mr > 0 ? p.t.mc / p.t.mr : 1;
    p.a_stride = round16(p.t.kc * p.t.mr);
    p.b_stride = round16(p.t.kc * p.t.nr);
    p.panels = (g->o + p.t.nr - 1) / p.t.nr;
    p.c_ld = p.group * p.t.mr;
    return p;
}

/* ---- operands ---- */

/* Floats of one channel of xp: its sh x sw phases of hq x wq. */
static int64_t phase_plane(const gemm_plan *p) { return p->g->sh * p->g->sw * p->hq * p->wq; }

/* x with its zero padding, split by stride phase, (N, C, sh, sw, hq, wq):
 * padded element (yy, xx) lands in phase (yy % sh, xx % sw) at
 * (yy / sh, xx / sw), so the pixels of an output row read each tap from
 * consecutive elements whatever the stride. */
static void pad_input(const gemm_plan *p, const float *x, float *xp)
{
    const conv_geom *g = p->g;
    int64_t planes = g->n * g->c, size = phase_plane(p), pq = p->hq * p->wq, sh = g->sh, sw = g->sw;
#pragma omp parallel for if (planes * size >= TG_PARALLEL_GRAIN)
    for (int64_t q = 0; q < planes; q++) {
        float *d = xp + q * size;
        memset(d, 0, (size_t)size * sizeof *d);
        for (int64_t y = 0; y < g->h; y++) {
            int64_t yy = y + g->ph;
            const float *src = x + (q * g->h + y) * g->w;
            float *row = d + yy % sh * sw * pq + yy / sh * p->wq;
            for (int64_t ph = 0; ph < sw; ph++) { /* phase column ph: x = xx - pw with xx % sw == ph */
                int64_t x0 = ((ph - g->pw) % sw + sw) % sw;
                float *dst = row + ph * pq + (x0 + g->pw) / sw;
                for (int64_t i = x0; i < g->w; i += sw) *dst++ = src[i];
            }
        }
    }
}

/* For each k step r = (c, i, j): where tap (i, j) of channel c sits in
 * pad_input's layout, relative to the pixel's tap (0, 0). */
static void k_offsets(const gemm_plan *p, int64_t *koff)
{
    const conv_geom *g = p->g;
    int64_t taps = g->kh * g->kw, pq = p->hq * p->wq;
    for (int64_t r = 0; r < g->rows; r++) {
        int64_t c = r / taps, di = r % taps / g->kw * g->dh, dj = r % g->kw * g->dw;
        koff[r] = c * phase_plane(p) + (di % g->sh * g->sw + dj % g->sw) * pq + di / g->sh * p->wq + dj / g->sw;
    }
}

/* W^T's B panels: for k chunk kk (k steps [kk kc, ...)) and panel jr, the
 * chunk's steps of nr channels (zero past O), at
 * wp + (kk panels + jr) b_stride. */
static void pack_weight(const gemm_plan *p, const float *w, float *wp)
{
    const conv_geom *g = p->g;
    int64_t chunks = (g->rows + p->t.kc - 1) / p->t.kc, nr = p->t.nr;
#pragma omp parallel for if (g->rows * g->o >= TG_PARALLEL_GRAIN)
    for (int64_t q = 0; q < chunks * p->panels; q++) {
        int64_t k0 = q / p->panels * p->t.kc, kc = min64(p->t.kc, g->rows - k0), o0 = q % p->panels * nr;
        float *d = wp + q * p->b_stride;
        for (int64_t k = 0; k < kc; k++)
            for (int64_t j = 0; j < nr; j++) d[k * nr + j] = o0 + j < g->o ? w[(o0 + j) * g->rows + k0 + k] : 0.0f;
    }
}

/* The runs of pixels [q0, q0 + count), cut at output rows and every mr
 * pixels (tile ends), in order; first[s] is the s-th cut's first run
 * (first[count / mr rounded up] the end). Returns the number of runs. */
static int64_t pixel_runs(const gemm_plan *p, int64_t q0, int64_t count, int64_t mr, pixel_run *runs, int64_t *first)
{
    const conv_geom *g = p->g;
    int64_t nruns = 0, tile = -1;
    for (int64_t q = q0; q < q0 + count;) {
        int64_t img = q / g->pixels, px = q % g->pixels, y = px / g->ow, x = px % g->ow, d = q - q0;
        int64_t len = min64(min64(g->ow - x, q0 + count - q), mr - d % mr);
        if (d / mr != tile) first[tile = d / mr] = nruns;
        runs[nruns++] = (pixel_run){.src = img * g->c * phase_plane(p) + y * p->wq + x,
                                    .pix = (img * p->hp + y * g->sh) * p->wp + x * g->sw,
                                    .dst = d,
                                    .out = img * g->o * g->pixels + px,
                                    .len = len};
        q += len;
    }
    first[tile + 1] = nruns;
    return nruns;
}

/* The A panels of the group's tiles for k steps [k0, k0 + kc), each
 * mr pixels by kc steps (zero past the group's last pixel). */
static void pack_pixels(const gemm_plan *p, const float *xp, const pixel_run *runs, const int64_t *first,
                        int64_t tiles, int64_t count, int64_t k0, int64_t kc, float *a)
{
    int64_t mr = p->t.mr, tail = count - (tiles - 1) * mr;
    for (int64_t s = 0; s < tiles; s++) {
        const pixel_run *r0 = runs + first[s], *r1 = runs + first[s + 1];
        float *panel = a + s * p->a_stride - s * mr;
        for (int64_t k = 0; k < kc; k++, panel += mr) {
            const float *base = xp + p->koff[k0 + k];
            for (const pixel_run *r = r0; r < r1; r++) {
                const float *src = base + r->src;
                float *dst = panel + r->dst;
                for (int64_t t = 0; t < r->len; t++) dst[t] = src[t];
            }
            if (s == tiles - 1)
                for (int64_t m = tail; m < mr; m++) panel[s * mr + m] = 0.0f;
        }
    }
}

/* Where a tile of the group accumulates its C: out itself (columns a
 * plane apart) when its pixels lie in one image, else the thread's buffer
 * (columns c_ld apart), which store_pixels copies out. */
typedef struct {
    float *c;
    int64_t cs;
    bool in_out;
} tile_target;

static tile_target target_of(const gemm_plan *p, float *out, float *cbuf, int64_t q0, int64_t s, int64_t m)
{
    int64_t px = p->g->pixels, q = q0 + s * p->t.mr, img = q / px;
    if ((q + m - 1) / px == img) return (tile_target){out + img * p->g->o * px + q % px, px, true};
    return (tile_target){cbuf + s * p->t.mr, p->c_ld, false};
}

/* The group's tiles kept in the thread's buffer, copied to out, and the
 * bias (or NULL) added to all of them. */
static void store_pixels(const gemm_plan *p, const float *cbuf, const pixel_run *runs, const int64_t *first,
                         int64_t tiles, int64_t q0, int64_t count, const float *bias, float *out)
{
    const conv_geom *g = p->g;
    int64_t mr = p->t.mr;
    for (int64_t s = 0; s < tiles; s++) {
        bool in_out = target_of(p, out, NULL, q0, s, min64(mr, count - s * mr)).in_out;
        if (in_out && !bias) continue;
        for (int64_t o = 0; o < g->o; o++) {
            float add = bias ? bias[o] : 0.0f;
            const float *src = cbuf + o * p->c_ld;
            for (const pixel_run *r = runs + first[s]; r < runs + first[s + 1]; r++) {
                float *d = out + r->out + o * g->pixels;
                if (in_out)
                    for (int64_t t = 0; t < r->len; t++) d[t] += add;
                else
                    for (int64_t t = 0; t < r->len; t++) d[t] = src[r->dst + t] + add;
            }
        }
    }
}

/* ---- the product ---- */

/* A thread's scratch: A panels, C buffer, runs and tile starts. */
typedef struct {
    float *a, *c;
    pixel_run *runs;
    int64_t *first;
} thread_scratch;

/* Tiles [s0, s1) of out: group by group, all k chunks, then stored. */
static void forward_tiles(const gemm_plan *p, const float *xp, const float *wp, const float *bias, float *out,
                          thread_scratch *ts, int64_t s0, int64_t s1)
{
    const conv_geom *g = p->g;
    int64_t mr = p->t.mr, nr = p->t.nr, total = g->n * g->pixels;
    for (int64_t sg = s0; sg < s1; sg += p->group) {
        int64_t tiles = min64(p->group, s1 - sg), q0 = sg * mr, count = min64(tiles * mr, total - q0);
        pixel_runs(p, q0, count, mr, ts->runs, ts->first);
        for (int64_t k0 = 0, kk = 0; k0 < g->rows; k0 += p->t.kc, kk++) {
            int64_t kc = min64(p->t.kc, g->rows - k0);
            pack_pixels(p, xp, ts->runs, ts->first, tiles, count, k0, kc, ts->a);
            for (int64_t jr = 0; jr < p->panels; jr++) {
                const float *b = wp + (kk * p->panels + jr) * p->b_stride;
                for (int64_t s = 0; s < tiles; s++) {
                    int64_t m = min64(mr, count - s * mr);
                    tile_target c = target_of(p, out, ts->c, q0, s, m);
                    tg_k_tile(m, min64(nr, g->o - jr * nr), kc, ts->a + s * p->a_stride, b, k0 ? 1.0f : 0.0f,
                              c.c + jr * nr * c.cs, 1, c.cs);
                }
            }
        }
        store_pixels(p, ts->c, ts->runs, ts->first, tiles, q0, count, bias, out);
    }
}

/* Byte sizes of the forward's scratch, each a whole number of 64-byte
 * lines (the kernel loads its panels aligned): padded input, packed
 * weight, k offsets, and one thread's share. */
typedef struct {
    size_t xp, wp, koff, a, c, runs, first;
} scratch_sizes;

static scratch_sizes sizes_of(const gemm_plan *p)
{
    const conv_geom *g = p->g;
    int64_t chunks = (g->rows + p->t.kc - 1) / p->t.kc;
    return (scratch_sizes){.xp = round64((size_t)(g->n * g->c * phase_plane(p)) * sizeof(float)),
                           .wp = round64((size_t)(chunks * p->panels * p->b_stride) * sizeof(float)),
                           .koff = round64((size_t)g->rows * sizeof(int64_t)),
                           .a = round64((size_t)(p->group * p->a_stride) * sizeof(float)),
                           .c = round64((size_t)(p->c_ld * p->panels * p->t.nr) * sizeof(float)),
                           .runs = round64((size_t)(p->c_ld + p->group) * sizeof(pixel_run)),
                           .first = round64((size_t)(p->group + 1) * sizeof(int64_t))};
}

static size_t thread_bytes(const scratch_sizes *z) { return z->a + z->c + z->runs + z->first; }

static thread_scratch thread_share(const scratch_sizes *z, char *base, int t)
{
    char *b = base + (size_t)t * thread_bytes(z);
    return (thread_scratch){.a = (float *)b,
                            .c = (float *)(b + z->a),
                            .runs = (pixel_run *)(b + z->a + z->c),
                            .first = (int64_t *)(b + z->a + z->c + z->runs)};
}

int conv_gemm_forward(const conv_geom *g, const float *x, const float *w, const float *bias, float *out)
{
    gemm_plan p = plan_of(g);
    scratch_sizes z = sizes_of(&p);
    int nt = omp_get_max_threads();
    size_t fixed = z.xp + z.wp + z.koff, bytes = fixed + (size_t)nt * thread_bytes(&z);
    char *mem = tg_memory_alloc(bytes);
    if (!mem) return TG_FAIL("conv2d: out of memory for %zu bytes of packed operands", bytes);
    float *xp = (float *)mem, *wp = (float *)(mem + z.xp);
    int64_t *koff = (int64_t *)(mem + z.xp + z.wp);
    p.koff = koff;
    pad_input(&p, x, xp);
    k_offsets(&p, koff);
    pack_weight(&p, w, wp);
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        thread_scratch ts = thread_share(&z, mem + fixed, t);
        forward_tiles(&p, xp, wp, bias, out, &ts, p.tiles * t / n, p.tiles * (t + 1) / n);
    }
    tg_memory_free(mem, bytes);
    return 0;
}

/* ---- input gradient ----
 *
 * With stride 1, dx is the convolution of g with the weight flipped in
 * space and transposed in channels, W'(c, o, i, j) = W(o, c, kh-1-i, kw-1-j),
 * padded by d (k - 1) - p: the forward above, on the transposed geometry. */

static conv_geom transposed(const conv_geom *g)
{
    conv_geom t = *g;
    t.c = g->o, t.h = g->oh, t.w = g->ow;
    t.o = g->c, t.oh = g->h, t.ow = g->w;
    t.ph = g->dh * (g->kh - 1) - g->ph;
    t.pw = g->dw * (g->kw - 1) - g->pw;
    t.cg = t.c, t.og = t.o;
    t.pixels = t.oh * t.ow;
    t.rows = t.rows_g = t.c * g->kh * g->kw;
    return t;
}

int conv_gemm_backward_input(const conv_geom *g, const float *grad, const float *w, float *dx)
{
    int64_t taps = g->kh * g->kw, count = g->o * g->c * taps;
    size_t bytes = (size_t)count * sizeof(float);
    float *flipped = tg_memory_alloc(bytes);
    if (!flipped) return TG_FAIL("conv2d_backward_input: out of memory for a %zu-byte flipped weight", bytes);
#pragma omp parallel for if (count >= TG_PARALLEL_GRAIN)
    for (int64_t q = 0; q < g->c * g->o; q++) {
        const float *src = w + (q % g->o * g->c + q / g->o) * taps;
        for (int64_t k = 0; k < taps; k++) flipped[q * taps + k] = src[taps - 1 - k];
    }
    conv_geom t = transposed(g);
    int rc = conv_gemm_forward(&t, grad, flipped, NULL, dx);
    tg_memory_free(flipped, bytes);
    return rc;
}

/* ---- weight gradient ----
 *
 * dW^T (C kh kw, O) = col (C kh kw, pixels) @ g^T, k running over all
 * pixels of all images, with the rows taken tap-major, (i, j, c), so that
 * a tile's rows are mostly consecutive channels of one tap: its A panels
 * (mr rows by a chunk of pixels) are copied in runs of channels from a
 * channels-last copy of the padded input (measured: 2x faster packing than
 * gathering the (c, i, j) rows from the planes). B panels are nr channels
 * of g by the same pixels. The tiles accumulate in a (O, kh kw C) buffer,
 * permuted into dW at the end. Threads split the rows into ranges of whole
 * tiles and each packs its own B: every element is one thread's, its pixel
 * chunks added in order. */

/* x padded and channels last: (N, hp, wp, C). */
static void pad_input_nhwc(const gemm_plan *p, const float *x, float *xt)
{
    const conv_geom *g = p->g;
    int64_t rows = g->n * p->hp, c = g->c, w = g->w, line = p->wp * c;
#pragma omp parallel for if (rows * line >= TG_PARALLEL_GRAIN)
    for (int64_t q = 0; q < rows; q++) {
        int64_t n = q / p->hp, y = q % p->hp - g->ph;
        float *d = xt + q * line;
        if (y < 0 || y >= g->h) {
            memset(d, 0, (size_t)line * sizeof *d);
            continue;
        }
        memset(d, 0, (size_t)(g->pw * c) * sizeof *d);
        memset(d + (g->pw + w) * c, 0, (size_t)((p->wp - g->pw - w) * c) * sizeof *d);
        for (int64_t k = 0; k < c; k++) {
            const float *s = x + ((n * c + k) * g->h + y) * w;
            for (int64_t i = 0; i < w; i++) d[(g->pw + i) * c + k] = s[i];
        }
    }
}

/* Rows [dst, dst + len) of a tile: channels from a pixel's element off on,
 * at one tap. */
typedef struct {
    int64_t off, dst, len;
} channel_run;

/* The channel runs of tap-major rows [r0, r0 + m), a run continuing into
 * the next tap where that tap's channels follow in memory (taps side by
 * side along a row, dilation 1: the 7x7 stem's 3 channels make runs of 21);
 * returns their number. */
static int64_t channel_runs(const gemm_plan *p, int64_t r0, int64_t m, channel_run *runs)
{
    const conv_geom *g = p->g;
    int64_t n = 0;
    for (int64_t r = r0; r < r0 + m;) {
        int64_t tap = r / g->c, c = r % g->c, len = min64(g->c - c, r0 + m - r);
        int64_t i = tap / g->kw, j = tap % g->kw, off = (i * g->dh * p->wp + j * g->dw) * g->c + c;
        if (n > 0 && runs[n - 1].off + runs[n - 1].len == off)
            runs[n - 1].len += len;
        else
            runs[n++] = (channel_run){.off = off, .dst = r - r0, .len = len};
        r += len;
    }
    return n;
}

/* B panels of g for the pixels of runs (count in all): panel jr holds,
 * for each pixel, nr channels (zero past O). */
static void pack_grad(const gemm_plan *p, const float *grad, const pixel_run *runs, int64_t nruns, int64_t count,
                      float *b)
{
    const conv_geom *g = p->g;
    int64_t nr = p->t.nr;
    for (int64_t jr = 0; jr < p->panels; jr++) {
        float *panel = b + jr * p->b_stride;
        for (int64_t j = 0; j < nr; j++) {
            int64_t o = jr * nr + j;
            if (o >= g->o) {
                for (int64_t q = 0; q < count; q++) panel[q * nr + j] = 0.0f;
                continue;
            }
            for (const pixel_run *r = runs; r < runs + nruns; r++) {
                const float *src = grad + r->out + o * g->pixels;
                float *dst = panel + r->dst * nr + j;
                for (int64_t t = 0; t < r->len; t++) dst[t * nr] = src[t];
            }
        }
    }
}

/* A panels of row tiles [s0, s0 + tiles) for the pixels of runs: panel s
 * holds, for each pixel, mr tap-major rows (zero past the last row). */
static void pack_rows(const gemm_plan *p, const float *xt, const pixel_run *runs, int64_t nruns, int64_t s0,
                      int64_t tiles, channel_run *cr, float *a)
{
    const conv_geom *g = p->g;
    int64_t mr = p->t.mr, step = g->sw * g->c;
    for (int64_t s = 0; s < tiles; s++) {
        int64_t r0 = (s0 + s) * mr, m = min64(mr, g->rows - r0), ncr = channel_runs(p, r0, m, cr);
        float *panel = a + s * p->a_stride;
        for (const pixel_run *r = runs; r < runs + nruns; r++)
            for (int64_t t = 0; t < r->len; t++) {
                const float *src = xt + r->pix * g->c + t * step;
                float *dst = panel + (r->dst + t) * mr;
                for (const channel_run *c = cr; c < cr + ncr; c++)
                    for (int64_t k = 0; k < c->len; k++) dst[c->dst + k] = src[c->off + k];
                for (int64_t k = m; k < mr; k++) dst[k] = 0.0f;
            }
    }
}

/* The weight gradient's scratch, byte sizes in whole 64-byte lines: the
 * channels-last input, dW in tap-major order, and per thread its A and B
 * panels, pixel runs (and the two-entry start list pixel_runs fills) and
 * channel runs. */
typedef struct {
    size_t xt, dwt, a, b, runs, first, channels;
} backward_weight_sizes;

typedef struct {
    float *a, *b;
    pixel_run *runs;
    int64_t *first;
    channel_run *channels;
} backward_weight_scratch;

static backward_weight_sizes backward_weight_sizes_of(const gemm_plan *p)
{
    const conv_geom *g = p->g;
    return (backward_weight_sizes){.xt = round64((size_t)(g->n * p->hp * p->wp * g->c) * sizeof(float)),
                               .dwt = round64((size_t)(g->o * g->rows) * sizeof(float)),
                               .a = round64((size_t)(p->group * p->a_stride) * sizeof(float)),
                               .b = round64((size_t)(p->panels * p->b_stride) * sizeof(float)),
                               .runs = round64((size_t)(p->t.kc + 1) * sizeof(pixel_run)),
                               .first = round64(2 * sizeof(int64_t)),
                               .channels = round64((size_t)p->t.mr * sizeof(channel_run))};
}

static size_t backward_weight_share(const backward_weight_sizes *z) { return z->a + z->b + z->runs + z->first + z->channels; }

static backward_weight_scratch backward_weight_scratch_of(const backward_weight_sizes *z, char *base, int t)
{
    char *m = base + (size_t)t * backward_weight_share(z);
    return (backward_weight_scratch){.a = (float *)m,
                                 .b = (float *)(m + z->a),
                                 .runs = (pixel_run *)(m + z->a + z->b),
                                 .first = (int64_t *)(m + z->a + z->b + z->runs),
                                 .channels = (channel_run *)(m + z->a + z->b + z->runs + z->first)};
}

/* A thread's share of dW^T (tap-major rows, into dwt): row tiles [s0, s1),
 * over all pixels. */
static void backward_weight_tiles(const gemm_plan *p, const float *xt, const float *grad, float *dwt,
                              const backward_weight_scratch *ts, int64_t s0, int64_t s1)
{
    const conv_geom *g = p->g;
    int64_t mr = p->t.mr, nr = p->t.nr, kc = p->t.kc, total = g->n * g->pixels;
    float *b = ts->b;
    for (int64_t q0 = 0; q0 < total; q0 += kc) {
        int64_t count = min64(kc, total - q0), nruns = pixel_runs(p, q0, count, count, ts->runs, ts->first);
        pack_grad(p, grad, ts->runs, nruns, count, b);
        for (int64_t sg = s0; sg < s1; sg += p->group) {
            int64_t tiles = min64(p->group, s1 - sg);
            pack_rows(p, xt, ts->runs, nruns, sg, tiles, ts->channels, ts->a);
            for (int64_t jr = 0; jr < p->panels; jr++)
                for (int64_t s = 0; s < tiles; s++) {
                    int64_t r0 = (sg + s) * mr;
                    tg_k_tile(min64(mr, g->rows - r0), min64(nr, g->o - jr * nr), count, ts->a + s * p->a_stride,
                              b + jr * p->b_stride, q0 ? 1.0f : 0.0f, dwt + jr * nr * g->rows + r0, 1, g->rows);
                }
        }
    }
}

/* dW (O, C, kh, kw) from its tap-major form dwt (O, kh kw, C). */
static void untranspose_taps(const conv_geom *g, const float *dwt, float *dw)
{
    int64_t taps = g->kh * g->kw;
#pragma omp parallel for if (g->o * g->rows >= TG_PARALLEL_GRAIN)
    for (int64_t o = 0; o < g->o; o++)
        for (int64_t c = 0; c < g->c; c++)
            for (int64_t t = 0; t < taps; t++) dw[(o * g->c + c) * taps + t] = dwt[(o * taps + t) * g->c + c];
}

int conv_gemm_backward_weight(const conv_geom *g, const float *grad, const float *x, float *dw)
{
    gemm_plan p = plan_of(g);
    p.tiles = (g->rows + p.t.mr - 1) / p.t.mr;
    backward_weight_sizes z = backward_weight_sizes_of(&p);
    int nt = omp_get_max_threads();
    size_t fixed = z.xt + z.dwt, bytes = fixed + (size_t)nt * backward_weight_share(&z);
    char *mem = tg_memory_alloc(bytes);
    if (!mem) return TG_FAIL("conv2d_backward_weight: out of memory for %zu bytes of packed operands", bytes);
    float *xt = (float *)mem, *dwt = (float *)(mem + z.xt);
    pad_input_nhwc(&p, x, xt);
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        backward_weight_scratch ts = backward_weight_scratch_of(&z, mem + fixed, t);
        backward_weight_tiles(&p, xt, grad, dwt, &ts, p.tiles * t / n, p.tiles * (t + 1) / n);
    }
    untranspose_taps(g, dwt, dw);
    tg_memory_free(mem, bytes);
    return 0;
}
