/* The weight gradient of a one-group convolution as a direct kernel on
 * vectors of output positions (AVX-512; see conv_direct.c).
 *
 * dw[o][c][t] = sum over images and positions q of g[o][q] x[c][q + koff t],
 * with x padded and split by stride phase (conv_direct_pad_image) and g
 * laid on the same grid of positions with zeros in its junk columns and
 * rows (pad_grad). A register tile is 4 output channels by 6 columns
 * (c, t) of the weight: per vector of 16 positions, 4 loads of g, 6 of x
 * and 24 fused multiply-adds into 24 vector accumulators, summed across
 * their lanes once per chunk (lane_sums). (3 by 9, one channel's taps of
 * a 3x3 kernel, computed 18 channels for 16 on the preset's first layer.)
 *
 * Images go in chunks of a fixed size (as many as about fit in L2 once
 * padded), chunks in a fixed number of slots (contiguous ranges); a slot's
 * chunks are one thread's, each chunk's tiles added to the slot's partial
 * weight gradient in order, and the slots' partials summed in order at the
 * end. Chunks and slots depend on the shapes only, so the result is
 * bitwise the same for any thread count. */
#include "tensor/internal/conv_direct.h"

#include <omp.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/internal/storage.h"

#define OUT_TILE 4                   /* output channels in a register tile (16-128 here: no waste) */
#define COL_TILE 6                   /* weight columns (c, t) in a register tile */
#define CHUNK_FLOATS (128 * 1024)    /* a chunk's padded images: about 512 KB */
#define SLOTS 16                     /* partial sums at most */
_Static_assert(OUT_TILE * COL_TILE <= 32, "a tile's accumulators are summed 16 at a time, twice");
/* A tile sums its lanes once a chunk: with fewer vectors of positions a
 * chunk than this, the sums cost more than the GEMM paths save (ResNet-18's
 * 8x8 layers at width 1: 5 vectors, 3.8x slower; at width 0.25, 25
 * vectors, 1.5x slower; its 16x16 stride-2 layer, 34 vectors: 1.6x
 * faster). */
#define MIN_CHUNK_VECTORS 32

#if HAVE_KERNEL

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

typedef struct {
    direct_layout l;
    int64_t cols;       /* c taps: a weight row */
    int64_t gplane;     /* floats of one channel of the padded gradient: whole vectors */
    int64_t gimage;     /* floats of one padded gradient image: OUT_TILE-rounded channels */
    int64_t ximage;     /* floats of one padded input image, with the slack of the junk reads */
    int64_t slack;      /* of them past the channels */
    int64_t chunk;      /* images a chunk */
    int64_t chunks;     /* of them in all */
    int64_t slots;      /* partial sums */
    int64_t out_tiles;  /* tiles of OUT_TILE output channels */
    int64_t col_tiles;  /* tiles of COL_TILE columns */
} weight_plan;

static void plan_of(const conv_geom *g, weight_plan *p)
{
    conv_direct_layout(g, &p->l);
    p->cols = g->c * p->l.taps;
    p->gplane = (p->l.positions + LANES - 1) / LANES * LANES;
    p->out_tiles = (g->o + OUT_TILE - 1) / OUT_TILE;
    p->col_tiles = (p->cols + COL_TILE - 1) / COL_TILE;
    p->gimage = p->out_tiles * OUT_TILE * p->gplane;
    p->slack = p->gplane - p->l.positions + p->l.wq + LANES;
    p->ximage = (g->c * p->l.plane + p->slack + LANES - 1) / LANES * LANES; /* keeps gp aligned */
    p->chunk = max64(1, min64(g->n, CHUNK_FLOATS / (p->gimage + p->ximage)));
    p->chunks = (g->n + p->chunk - 1) / p->chunk;
    p->slots = min64(SLOTS, p->chunks);
}

/* Image g (O, oh, ow) onto the positions' grid: (O rounded, gplane), zero in
 * the junk columns and rows and the channels past O. */
static void pad_grad(const weight_plan *p, const float *g, float *gp)
{
    const conv_geom *c = p->l.g;
    int64_t wq = p->l.wq, junk = wq - c->ow, valid = c->oh * wq;
    for (int64_t o = 0; o < c->o; o++) {
        float *dst = gp + o * p->gplane;
        for (int64_t y = 0; y < c->oh; y++) {
            memcpy(dst + y * wq, g + (o * c->oh + y) * c->ow, (size_t)c->ow * sizeof *g);
            memset(dst + y * wq + c->ow, 0, (size_t)junk * sizeof *g);
        }
        memset(dst + valid, 0, (size_t)(p->gplane - valid) * sizeof *g);
    }
    memset(gp + c->o * p->gplane, 0, (size_t)(p->gimage - c->o * p->gplane) * sizeof *g);
}

/* Where column r = (c, t) of the weight reads its input, from a position's
 * element of channel 0 (past the last column: column 0, not stored). */
static int64_t column_offset(const weight_plan *p, int64_t r)
{
    if (r >= p->cols) r = 0;
    return r / p->l.taps * p->l.plane + p->l.koff[r % p->l.taps];
}

/* acc += the products of one image: OUT_TILE gradient channels from g (a
 * gplane apart) by COL_TILE input columns from x at off[], over vectors
 * of positions. */
KERNEL static void tile_image(const float *g, int64_t gplane, const float *x, const int64_t *off,
                              int64_t vectors, __m512 acc[OUT_TILE][COL_TILE])
{
    const float *src[COL_TILE];
    for (int k = 0; k < COL_TILE; k++) src[k] = x + off[k];
    __m512 a[OUT_TILE][COL_TILE];
#pragma GCC unroll 16
    for (int i = 0; i < OUT_TILE; i++)
#pragma GCC unroll 16
        for (int k = 0; k < COL_TILE; k++) a[i][k] = acc[i][k];
    for (int64_t u = 0; u < vectors * LANES; u += LANES) {
        __m512 gv[OUT_TILE];
#pragma GCC unroll 16
        for (int i = 0; i < OUT_TILE; i++) gv[i] = _mm512_load_ps(g + i * gplane + u);
#pragma GCC unroll 16
        for (int k = 0; k < COL_TILE; k++) {
            __m512 xv = _mm512_loadu_ps(src[k] + u);
            __asm__("" : "+v"(xv)); /* one load for the three products, not three */
#pragma GCC unroll 16
            for (int i = 0; i < OUT_TILE; i++) a[i][k] = _mm512_fmadd_ps(gv[i], xv, a[i][k]);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < OUT_TILE; i++)
#pragma GCC unroll 16
        for (int k = 0; k < COL_TILE; k++) acc[i][k] = a[i][k];
}

/* The sums of the lanes of a[0..15]: lane m of the result is a[m]'s,
 * added pairwise in a fixed order (4 stages of shuffles and adds, a third
 * of 16 separate reductions). */
KERNEL static __m512 lane_sums(const __m512 *a)
{
    __m512 b[8], c[4];
    for (int i = 0; i < 8; i++) /* per 128-bit segment: (a0+a2, b0+b2, a1+a3, b1+b3) of a[2i], a[2i+1] */
        b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++) /* per segment: the segment's sums of a[4i .. 4i+3] */
        c[i] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * i], b[2 * i + 1], 0x44),
                             _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], 0xee));
    __m512 d0 = _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xdd));
    __m512 d1 = _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x88), _mm512_shuffle_f32x4(c[2], c[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(d0, d1, 0x88), _mm512_shuffle_f32x4(d0, d1, 0xdd));
}

/* One tile over a chunk's padded images, its lanes summed into the slot's
 * partial (O, cols). */
KERNEL static void tile_chunk(const weight_plan *p, const float *gp, const float *xp, int64_t images, int64_t ot,
                              int64_t ct, float *partial)
{
    const conv_geom *g = p->l.g;
    int64_t off[COL_TILE];
    for (int k = 0; k < COL_TILE; k++) off[k] = column_offset(p, ct * COL_TILE + k);
    __m512 acc[2 * LANES]; /* [i COL_TILE + k]: OUT_TILE x COL_TILE used, the rest zero */
    for (int m = 0; m < 2 * LANES; m++) acc[m] = _mm512_setzero_ps();
    for (int64_t n = 0; n < images; n++)
        tile_image(gp + n * p->gimage + ot * OUT_TILE * p->gplane, p->gplane, xp + n * p->ximage, off,
                   p->gplane / LANES, (__m512(*)[COL_TILE])acc);
    float sums[2 * LANES];
    _mm512_storeu_ps(sums, lane_sums(acc));
    _mm512_storeu_ps(sums + LANES, lane_sums(acc + LANES));
    for (int i = 0; i < OUT_TILE; i++)
        for (int k = 0; k < COL_TILE; k++) {
            int64_t o = ot * OUT_TILE + i, r = ct * COL_TILE + k;
            if (o < g->o && r < p->cols) partial[o * p->cols + r] += sums[i * COL_TILE + k];
        }
}

/* Chunk k's images padded into gp and xp, then every tile over them; with
 * more to do, the next chunk's gradient and input are fetched into L2 a
 * share a row of tiles at a time (their DRAM reads then overlap the
 * arithmetic instead of stalling the padding). */
static void run_chunk(const weight_plan *p, const float *grad, const float *x, int64_t k, bool more, float *gp,
                      float *xp, float *partial)
{
    const conv_geom *g = p->l.g;
    int64_t n0 = k * p->chunk, images = min64(p->chunk, g->n - n0);
    int64_t gsize = g->o * g->pixels, xsize = g->c * g->h * g->w;
    for (int64_t n = 0; n < images; n++) {
        pad_grad(p, grad + (n0 + n) * gsize, gp + n * p->gimage);
        conv_direct_pad_image(&p->l, x + (n0 + n) * xsize, xp + n * p->ximage, p->slack, true);
    }
    int64_t next = more ? min64(p->chunk, g->n - n0 - images) : 0, floats = (int64_t)sizeof(float);
    for (int64_t ot = 0; ot < p->out_tiles; ot++) {
        for (int64_t ct = 0; ct < p->col_tiles; ct++) tile_chunk(p, gp, xp, images, ot, ct, partial);
        conv_direct_prefetch_share(grad + (n0 + images) * gsize, next * gsize * floats, p->out_tiles, ot);
        conv_direct_prefetch_share(x + (n0 + images) * xsize, next * xsize * floats, p->out_tiles, ot);
    }
}

/* dw = the slots' partials summed in order. */
static void sum_slots(const weight_plan *p, const float *partials, float *dw)
{
    int64_t size = p->l.g->o * p->cols;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < size; i++) {
        float s = partials[i];
        for (int64_t k = 1; k < p->slots; k++) s += partials[k * size + i];
        dw[i] = s;
    }
}

static int run(const weight_plan *p, const float *grad, const float *x, float *dw)
{
    int threads = omp_get_max_threads();
    int64_t size = p->l.g->o * p->cols, per_thread = p->chunk * (p->gimage + p->ximage);
    size_t partial_bytes = (size_t)(p->slots * size) * sizeof(float);
    size_t pad_bytes = (size_t)(threads * per_thread) * sizeof(float);
    float *partials = tg_memory_alloc(partial_bytes), *pads = tg_memory_alloc(pad_bytes);
    int rc = partials && pads ? 0
                              : TG_FAIL("conv2d_backward_weight: out of memory for %zu bytes",
                                        partial_bytes + pad_bytes);
    if (!rc) {
        memset(partials, 0, partial_bytes);
#pragma omp parallel num_threads(threads)
        {
            float *gp = pads + (int64_t)omp_get_thread_num() * per_thread, *xp = gp + p->chunk * p->gimage;
#pragma omp for schedule(static)
            for (int64_t s = 0; s < p->slots; s++)
                for (int64_t k = p->chunks * s / p->slots, end = p->chunks * (s + 1) / p->slots; k < end; k++)
                    run_chunk(p, grad, x, k, k + 1 < end, gp, xp, partials + s * size);
        }
        sum_slots(p, partials, dw);
    }
    tg_memory_free(partials, partial_bytes);
    tg_memory_free(pads, pad_bytes);
    return rc;
}

bool conv_direct_applies_backward_weight(const conv_geom *g)
{
    if (!conv_direct_takes(g)) return false;
    weight_plan p;
    plan_of(g, &p);
    return p.chunk * p.gplane / LANES >= MIN_CHUNK_VECTORS && conv_direct_mostly_useful(g->oh, g->ow, p.l.wq);
}

int conv_direct_backward_weight(const conv_geom *g, const float *grad, const float *x, float *dw)
{
    weight_plan p;
    plan_of(g, &p);
    return run(&p, grad, x, dw);
}

#else

bool conv_direct_applies_backward_weight(const conv_geom *g)
{
    (void)g;
    return false;
}

int conv_direct_backward_weight(const conv_geom *g, const float *grad, const float *x, float *dw)
{
    (void)g, (void)grad, (void)x, (void)dw;
    return TG_FAIL("conv2d_backward_weight: no direct kernel on this CPU");
}

#endif
