/* 2-D convolution as im2col + GEMM (see internal/conv.h).
 *
 * Convolutions with one group mostly skip the column buffer: the forward
 * and (stride 1) input gradient of images at least 6 pixels wide, and the
 * weight gradient of most, run as implicit GEMMs in conv_gemm.c (see its
 * conv_gemm_applies* for when). This file plans every convolution and runs
 * the rest: narrow images, groups, the 1x1 fast path.
 *
 * For a block of nb images, the column buffer is a (C kh kw, nb H'W')
 * matrix: row (c, i, j) holds, for each output pixel of each image of the
 * block, the input element under kernel tap (i, j) of channel c (zero in
 * the padding). Then, group by group (sub-matrices by pointer offsets):
 *     forward        out  (O, nb H'W')      = W (O, C kh kw) @ col
 *     input grad     col                    = W^T @ g (O, nb H'W'), then col2im
 *     weight grad    dW   (O, C kh kw)     += g @ col^T
 * With one image a block, out and g are the tensors' own memory; with more,
 * they go through a (O, nb H'W') buffer that one pass copies in or out
 * (adding the bias on the way out). Several images a block pay off for
 * small images, where a single image's GEMM is too thin for BLIS. A 1x1,
 * stride-1, unpadded kernel on one image a block needs no column buffer:
 * x's own (C, H W) matrix is one.
 *
 * Scratch matrices get a padded leading dim: rows a power-of-two apart
 * fight over cache sets (measured: 25x slower im2col at 8x8 images).
 * Narrow images (under TABLE_WIDTH) unfold and fold through a table of
 * input offsets instead of per-row loops.
 *
 * Determinism: the block size depends on the shapes only; each element of
 * a column buffer, of dx and of out is written by one thread in a fixed
 * order (im2col splits rows of the buffer over threads, col2im and the
 * copies whole planes); BLIS never splits the k loop; the weight gradient
 * accumulates blocks in order. BLIS is only called outside OpenMP
 * regions. */
#include "tensor/internal/conv.h"

#include "tensor/internal/conv_geom.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/view.h"

/* A block gathers images up to about this many GEMM columns (measured on
 * ResNet-18's convolutions: 2048 beats one image a GEMM by 10% at 16x16
 * and 2-3x at 4x4 and below, where a single image's GEMM is too thin)... */
#define BLOCK_COLUMNS 2048
/* ...keeping the column buffer under this many bytes. */
#define BLOCK_BYTES (8 << 20)
/* A 1x1, stride-1, unpadded convolution on images of at least this many
 * pixels runs one image a GEMM on the tensors' own memory (as fast as
 * blocking them, with no copies). */
#define DIRECT_PIXELS 256


static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* 0 means 1 for stride, dilation and groups; negatives are errors. */
static int read_opts(const char *op, tg_conv2d_opts o, conv_geom *g)
{
    if (o.stride[0] < 0 || o.stride[1] < 0 || o.padding[0] < 0 || o.padding[1] < 0 || o.dilation[0] < 0 ||
        o.dilation[1] < 0 || o.groups < 0)
        return TG_FAIL("%s: negative option (stride %dx%d, padding %dx%d, dilation %dx%d, groups %d)", op,
                       o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0], o.dilation[1],
                       o.groups);
    g->sh = o.stride[0] ? o.stride[0] : 1;
    g->sw = o.stride[1] ? o.stride[1] : 1;
    g->dh = o.dilation[0] ? o.dilation[0] : 1;
    g->dw = o.dilation[1] ? o.dilation[1] : 1;
    g->ph = o.padding[0];
    g->pw = o.padding[1];
    g->groups = o.groups ? o.groups : 1;
    return 0;
}

/* Images per block and whether the 1x1 fast path applies. */
static void choose_block(conv_geom *g)
{
    bool pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
    int64_t block = 1;
    if (!pointwise || g->pixels < DIRECT_PIXELS) {
        block = (BLOCK_COLUMNS + g->pixels - 1) / g->pixels;
        block = min64(block, BLOCK_BYTES / (int64_t)sizeof(float) / max64(1, g->rows * g->pixels));
    }
    g->block = max64(1, min64(block, g->n));
    g->direct = pointwise && g->block == 1;
}

/* Checks the shapes of x (xs) and w (ws), both 4-D, against the options
 * and fills in the geometry. */
static int plan(const char *op, const int64_t *xs, const int64_t *ws, tg_conv2d_opts opts, conv_geom *g)
{
    memset(g, 0, sizeof *g);
    if (read_opts(op, opts, g)) return -1;
    g->n = xs[0], g->c = xs[1], g->h = xs[2], g->w = xs[3];
    g->o = ws[0], g->kh = ws[2], g->kw = ws[3];
    if (ws[1] == 0 || g->kh == 0 || g->kw == 0)
        return TG_FAIL("%s: weight (%lld,%lld,%lld,%lld) is empty", op, (long long)ws[0], (long long)ws[1],
                       (long long)ws[2], (long long)ws[3]);
    if (g->o % g->groups)
        return TG_FAIL("%s: weight has %lld output channels, not divisible by groups %lld", op, (long long)g->o,
                       (long long)g->groups);
    if (g->c != ws[1] * g->groups)
        return TG_FAIL("%s: input has %lld channels, weight expects %lld (groups %lld)", op, (long long)g->c,
                       (long long)(ws[1] * g->groups), (long long)g->groups);
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    if (eh > g->h + 2 * g->ph || ew > g->w + 2 * g->pw)
        return TG_FAIL("%s: kernel %lldx%lld (dilation %lldx%lld) spans %lldx%lld, larger than the padded "
                       "input %lldx%lld",
                       op, (long long)g->kh, (long long)g->kw, (long long)g->dh, (long long)g->dw, (long long)eh,
                       (long long)ew, (long long)(g->h + 2 * g->ph), (long long)(g->w + 2 * g->pw));
    g->oh = (g->h + 2 * g->ph - eh) / g->sh + 1;
    g->ow = (g->w + 2 * g->pw - ew) / g->sw + 1;
    g->cg = ws[1];
    g->og = g->o / g->groups;
    g->pixels = g->oh * g->ow;
    g->rows_g = g->cg * g->kh * g->kw;
    g->rows = g->c * g->kh * g->kw;
    choose_block(g);
    return 0;
}

static int check_tensor(const char *op, const char *what, const tg_tensor *t, int ndim)
{
    char s[TG_SHAPE_STR_LEN];
    tg_shape_str(t->ndim, t->shape, s, sizeof s);
    if (t->dtype != TG_FLOAT32)
        return TG_FAIL("%s: %s %s is %s; float32 only", op, what, s, tg_dtype_name(t->dtype));
    if (t->ndim != ndim) return TG_FAIL("%s: %s %s must have %d dims", op, what, s, ndim);
    return 0;
}

/* Checks that g has the output's shape. */
static int check_grad(const char *op, const tg_tensor *g, const conv_geom *geo)
{
    if (check_tensor(op, "gradient", g, 4)) return -1;
    int64_t want[4] = {geo->n, geo->o, geo->oh, geo->ow};
    if (memcmp(g->shape, want, sizeof want) == 0) return 0;
    char s[TG_SHAPE_STR_LEN], w[TG_SHAPE_STR_LEN];
    tg_shape_str(4, g->shape, s, sizeof s);
    tg_shape_str(4, want, w, sizeof w);
    return TG_FAIL("%s: gradient has shape %s, the output's is %s", op, s, w);
}

static float *data_of(tg_tensor *t) { return (float *)t->storage->data + t->offset; }

/* Leading dim of a scratch matrix of cols columns: a whole number of cache
 * lines, and rows not a multiple of 1 KiB apart, whose rows would compete
 * for the same cache sets. */
static int64_t padded_ld(int64_t cols)
{
    int64_t ld = (cols + 15) / 16 * 16;
    return ld % 256 == 0 ? ld + 16 : ld;
}

/* A scratch buffer of count floats (64-byte aligned), from the block
 * cache (tensor/memory.c), so a training step reuses the last one's. */
static float *scratch(const char *op, int64_t count)
{
    size_t bytes = (size_t)max64(count, 1) * sizeof(float);
    float *p = tg_memory_alloc(bytes);
    if (!p) TG_FAIL("%s: out of memory for a %zu-byte buffer", op, bytes);
    return p;
}

static void scratch_free(float *p, int64_t count) { tg_memory_free(p, (size_t)max64(count, 1) * sizeof(float)); }

/* Sizes of the column buffer (0 when direct) and of the block buffer (0
 * unless blocks hold more than one image). */
static void scratch_sizes(const conv_geom *g, int64_t *col, int64_t *blk)
{
    int64_t ld = padded_ld(g->block * g->pixels);
    *col = g->direct ? 0 : g->rows * ld;
    *blk = g->block > 1 ? g->o * ld : 0;
}

static void scratch_pair_free(const conv_geom *g, float *col, float *blk)
{
    int64_t ncol, nblk;
    scratch_sizes(g, &ncol, &nblk);
    if (col) scratch_free(col, ncol);
    if (blk) scratch_free(blk, nblk);
}

/* The column buffer and the block buffer, each only when needed, or -1. */
static int scratch_pair(const char *op, const conv_geom *g, float **col, float **blk)
{
    int64_t ncol, nblk;
    scratch_sizes(g, &ncol, &nblk);
    *col = ncol ? scratch(op, ncol) : NULL;
    *blk = nblk ? scratch(op, nblk) : NULL;
    if ((ncol && !*col) || (nblk && !*blk)) {
        scratch_pair_free(g, *col, *blk);
        return -1;
    }
    return 0;
}

/* ---- im2col and col2im ---- */

/* Where kernel tap (i, j) reads: output rows [y0, y1) and columns
 * [x0, x1) read inside the input; output pixel (y, x) reads input row
 * y * sh + top and column x * sw + left. */
typedef struct {
    int64_t y0, y1, x0, x1, top, left;
} tap_window;

/* The output positions [lo, hi) along one dim whose input position
 * pos * s + off is in [0, size). */
static void valid_range(int64_t out, int64_t size, int64_t s, int64_t off, int64_t *lo, int64_t *hi)
{
    *lo = off >= 0 ? 0 : min64(out, (-off + s - 1) / s);
    *hi = size - off <= 0 ? 0 : min64(out, (size - off + s - 1) / s);
    *hi = max64(*hi, *lo);
}

static tap_window window_of(const conv_geom *g, int64_t i, int64_t j)
{
    tap_window t = {.top = i * g->dh - g->ph, .left = j * g->dw - g->pw};
    valid_range(g->oh, g->h, g->sh, t.top, &t.y0, &t.y1);
    valid_range(g->ow, g->w, g->sw, t.left, &t.x0, &t.x1);
    return t;
}

/* One image's stretch of a column buffer row: what tap t reads of an
 * input plane, over the output pixels (zero in the padding). Plain loops:
 * rows are short (a few to a few dozen elements), where calls to memcpy
 * cost more than they save. */
static void unfold_tap(const conv_geom *g, const tap_window *t, const float *plane, float *dst)
{
    for (int64_t y = 0; y < g->oh; y++, dst += g->ow) {
        if (y < t->y0 || y >= t->y1) {
            for (int64_t x = 0; x < g->ow; x++) dst[x] = 0.0f;
            continue;
        }
        const float *src = plane + (y * g->sh + t->top) * g->w;
        int64_t x = 0;
        for (; x < t->x0; x++) dst[x] = 0.0f;
        for (; x < t->x1; x++) dst[x] = src[x * g->sw + t->left];
        for (; x < g->ow; x++) dst[x] = 0.0f;
    }
}

/* The reverse: adds one image's stretch of a row into the input plane. */
static void fold_tap(const conv_geom *g, const tap_window *t, const float *src, float *plane)
{
    for (int64_t y = t->y0; y < t->y1; y++) {
        float *d = plane + (y * g->sh + t->top) * g->w;
        const float *s = src + y * g->ow;
        for (int64_t x = t->x0; x < t->x1; x++) d[x * g->sw + t->left] += s[x];
    }
}

/* Images narrower than this go through a gather table (tap_table): their
 * rows of 2-4 elements cost more in loop overhead than in copying
 * (measured: layer3/4's im2col ~2x and col2im 2-3x faster at 4x4 and
 * 2x2; on 16x16 images the table is slower than the loops). */
#define TABLE_WIDTH 8

static size_t tap_table_bytes(const conv_geom *g) { return (size_t)(g->kh * g->kw * g->pixels) * sizeof(int32_t); }

/* For each kernel tap and output pixel, the input element it reads (an
 * offset in the plane), or -1 in the padding: (taps, pixels) int32s from
 * the block cache; NULL when the image is wide (or its planes too large
 * for int32 offsets), or when out of memory: the callers then take the
 * window loops, which give the same bits. */
static int32_t *tap_table(const conv_geom *g)
{
    if (g->ow >= TABLE_WIDTH || g->h * g->w > INT32_MAX) return NULL;
    int32_t *tab = tg_memory_alloc(tap_table_bytes(g));
    if (!tab) return NULL;
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            tap_window t = window_of(g, i, j);
            int32_t *row = tab + (i * g->kw + j) * g->pixels;
            for (int64_t y = 0; y < g->oh; y++)
                for (int64_t x = 0; x < g->ow; x++)
                    row[y * g->ow + x] = y >= t.y0 && y < t.y1 && x >= t.x0 && x < t.x1
                                             ? (int32_t)((y * g->sh + t.top) * g->w + x * g->sw + t.left)
                                             : -1;
        }
    return tab;
}

static void tap_table_free(const conv_geom *g, int32_t *tab) { tg_memory_free(tab, tap_table_bytes(g)); }

/* im2col by the table: row r's stretch for image b gathers plane c. */
static void im2col_table(const conv_geom *g, const int32_t *tab, const float *x, int64_t n0, int64_t nb, float *col,
                         int64_t ld)
{
    int64_t taps = g->kh * g->kw, plane = g->h * g->w, px = g->pixels;
#pragma omp parallel for if (g->rows * nb * g->pixels >= TG_PARALLEL_GRAIN)
    for (int64_t r = 0; r < g->rows; r++) {
        int64_t c = r / taps;
        const int32_t *t = tab + (r % taps) * px;
        for (int64_t b = 0; b < nb; b++) {
            const float *src = x + ((n0 + b) * g->c + c) * plane;
            float *dst = col + r * ld + b * px;
            for (int64_t p = 0; p < px; p++) dst[p] = t[p] >= 0 ? src[t[p]] : 0.0f;
        }
    }
}

/* col2im by the table: the same additions in the same order as the
 * window loops (taps in order, pixels ascending), so the same bits. */
static void col2im_table(const conv_geom *g, const int32_t *tab, const float *col, int64_t ld, int64_t n0, int64_t nb,
                         float *dx)
{
    int64_t planes = nb * g->c, taps = g->kh * g->kw, px = g->pixels;
#pragma omp parallel for if (planes * taps * g->pixels >= TG_PARALLEL_GRAIN)
    for (int64_t p = 0; p < planes; p++) {
        int64_t b = p / g->c, c = p % g->c;
        float *plane = dx + ((n0 + b) * g->c + c) * g->h * g->w;
        const float *src = col + c * taps * ld + b * px;
        memset(plane, 0, (size_t)(g->h * g->w) * sizeof *plane);
        for (int64_t k = 0; k < taps; k++, src += ld) {
            const int32_t *t = tab + k * px;
            for (int64_t q = 0; q < px; q++)
                if (t[q] >= 0) plane[t[q]] += src[q];
        }
    }
}

/* The column buffer (rows, nb pixels; leading dim ld) of images n0 ..
 * n0+nb-1 of x (contiguous); image b's columns start at b * pixels. Each
 * thread writes whole rows. */
static void im2col(const conv_geom *g, const float *x, int64_t n0, int64_t nb, float *col, int64_t ld)
{
    int32_t *tab = tap_table(g);
    if (tab) {
        im2col_table(g, tab, x, n0, nb, col, ld);
        tap_table_free(g, tab);
        return;
    }
    int64_t taps = g->kh * g->kw, plane = g->h * g->w;
#pragma omp parallel for if (g->rows * nb * g->pixels >= TG_PARALLEL_GRAIN)
    for (int64_t r = 0; r < g->rows; r++) {
        int64_t c = r / taps;
        tap_window t = window_of(g, r % taps / g->kw, r % g->kw);
        for (int64_t b = 0; b < nb; b++)
            unfold_tap(g, &t, x + ((n0 + b) * g->c + c) * plane, col + r * ld + b * g->pixels);
    }
}

/* Images n0 .. n0+nb-1 of dx (contiguous) from the column buffer: each
 * plane zeroed, then its taps added in a fixed order by one thread. */
static void col2im(const conv_geom *g, const float *col, int64_t ld, int64_t n0, int64_t nb, float *dx)
{
    int32_t *tab = tap_table(g);
    if (tab) {
        col2im_table(g, tab, col, ld, n0, nb, dx);
        tap_table_free(g, tab);
        return;
    }
    int64_t planes = nb * g->c, taps = g->kh * g->kw;
#pragma omp parallel for if (planes * taps * g->pixels >= TG_PARALLEL_GRAIN)
    for (int64_t p = 0; p < planes; p++) {
        int64_t b = p / g->c, c = p % g->c;
        float *plane = dx + ((n0 + b) * g->c + c) * g->h * g->w;
        const float *src = col + c * taps * ld + b * g->pixels;
        memset(plane, 0, (size_t)(g->h * g->w) * sizeof *plane);
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++, src += ld) {
                tap_window t = window_of(g, i, j);
                fold_tap(g, &t, src, plane);
            }
    }
}

/* ---- blocks of images ---- */

/* Images n0 .. n0+nb-1 as GEMM operands: the column matrix (rows, cols)
 * with leading dim col_ld, and the output or gradient matrix (O, cols)
 * with leading dim out_ld. A one-image block uses the tensors' own
 * memory where it can (x when direct, out and g always). */
typedef struct {
    int64_t n0, nb, cols, col_ld, out_ld;
} conv_block;

static conv_block block_at(const conv_geom *g, int64_t n0)
{
    conv_block b = {.n0 = n0, .nb = min64(g->block, g->n - n0)};
    b.cols = b.nb * g->pixels;
    b.col_ld = g->direct ? g->pixels : padded_ld(b.cols);
    b.out_ld = b.nb == 1 ? g->pixels : padded_ld(b.cols);
    return b;
}

/* The block's images of out (N,O,H',W') from its result src (O, cols),
 * plus bias (or NULL). With one image, src is out's own: done in place. */
static void store_block(const conv_geom *g, const conv_block *b, const float *src, const float *bias, float *out)
{
    if (b->nb == 1 && !bias) return;
    int64_t planes = b->nb * g->o, px = g->pixels;
#pragma omp parallel for if (planes * px >= TG_PARALLEL_GRAIN)
    for (int64_t p = 0; p < planes; p++) {
        int64_t o = p / b->nb, k = p % b->nb;
        const float *s = src + o * b->out_ld + k * px;
        float *d = out + ((b->n0 + k) * g->o + o) * px;
        float add = bias ? bias[o] : 0.0f;
        for (int64_t i = 0; i < px; i++) d[i] = s[i] + add;
    }
}

/* The block's images of g (N,O,H',W') as an (O, cols) matrix: g's own
 * memory for one image, else gathered into blk. */
static const float *grad_block(const conv_geom *g, const conv_block *b, const float *gd, float *blk)
{
    if (b->nb == 1) return gd + b->n0 * g->o * g->pixels;
    int64_t planes = b->nb * g->o, px = g->pixels;
#pragma omp parallel for if (planes * px >= TG_PARALLEL_GRAIN)
    for (int64_t p = 0; p < planes; p++) {
        int64_t o = p / b->nb, k = p % b->nb;
        memcpy(blk + o * b->out_ld + k * px, gd + ((b->n0 + k) * g->o + o) * px, (size_t)px * sizeof *blk);
    }
    return blk;
}

/* The block's column matrix: x's own memory when direct, else unfolded
 * into col. */
static const float *column_block(const conv_geom *g, const conv_block *b, const float *xd, float *col)
{
    if (g->direct) return xd + b->n0 * g->c * g->pixels;
    im2col(g, xd, b->n0, b->nb, col, b->col_ld);
    return col;
}

/* ---- forward ---- */

/* The block's images of out from their column matrix cols. */
static int forward_block(const conv_geom *g, const conv_block *b, const float *wd, const float *cols,
                         const float *bias, float *blk, float *od)
{
    float *dst = b->nb == 1 ? od + b->n0 * g->o * g->pixels : blk;
    for (int64_t k = 0; k < g->groups; k++) /* out_k = W_k @ col_k */
        if (tg_k_sgemm(g->og, b->cols, g->rows_g, 1.0f, wd + k * g->og * g->rows_g, g->rows_g, 1,
                       cols + k * g->rows_g * b->col_ld, b->col_ld, 1, 0.0f, dst + k * g->og * b->out_ld, b->out_ld,
                       1))
            return -1;
    store_block(g, b, dst, bias, od);
    return 0;
}

/* Checks the forward's operands and plans it. */
static int plan_forward(tg_tensor *x, tg_tensor *w, tg_tensor *bias, tg_conv2d_opts opts, conv_geom *g)
{
    if (check_tensor("conv2d", "input", x, 4) || check_tensor("conv2d", "weight", w, 4)) return -1;
    if (plan("conv2d", x->shape, w->shape, opts, g)) return -1;
    if (!bias) return 0;
    if (check_tensor("conv2d", "bias", bias, 1)) return -1;
    if (bias->shape[0] != g->o) {
        char s[TG_SHAPE_STR_LEN];
        tg_shape_str(bias->ndim, bias->shape, s, sizeof s);
        return TG_FAIL("conv2d: bias has shape %s, the weight has %lld output channels", s, (long long)g->o);
    }
    return 0;
}

static int run_forward(const conv_geom *g, tg_tensor *x, tg_tensor *w, tg_tensor *bias, tg_tensor *out)
{
    const float *xd = data_of(x), *wd = data_of(w), *bd = bias ? data_of(bias) : NULL;
    if (conv_direct_applies(g)) return conv_direct_forward(g, xd, wd, bd, data_of(out));
    if (conv_gemm_applies(g)) return conv_gemm_forward(g, xd, wd, bd, data_of(out));
    float *col, *blk;
    if (scratch_pair("conv2d", g, &col, &blk)) return -1;
    int rc = 0;
    for (int64_t n0 = 0; n0 < g->n && !rc; n0 += g->block) {
        conv_block b = block_at(g, n0);
        rc = forward_block(g, &b, wd, column_block(g, &b, xd, col), bd, blk, data_of(out));
    }
    scratch_pair_free(g, col, blk);
    return rc;
}

tg_tensor *tg_k_conv2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, tg_conv2d_opts opts)
{
    conv_geom g;
    if (TG_NEED("conv2d", x, w) || plan_forward(x, w, bias, opts, &g)) return NULL;
    tg_tensor *out = tg_empty(TG_SHAPE(g.n, g.o, g.oh, g.ow), TG_FLOAT32);
    if (!out || tg_numel(out) == 0) return out;
    tg_tensor *xc = tg_k_contiguous(x), *wc = tg_k_contiguous(w), *bc = bias ? tg_k_contiguous(bias) : NULL;
    int rc = xc && wc && (bc || !bias) ? run_forward(&g, xc, wc, bc, out) : -1;
    tg_release(xc);
    tg_release(wc);
    tg_release(bc);
    if (rc) {
        tg_release(out);
        return NULL;
    }
    return out;
}

/* ---- input gradient ---- */

static int run_backward_input(const conv_geom *g, tg_tensor *grad, tg_tensor *w, tg_tensor *dx)
{
    const float *gd = data_of(grad), *wd = data_of(w);
    float *dxd = data_of(dx);
    if (conv_direct_applies_backward_input(g)) return conv_direct_backward_input(g, gd, wd, dxd);
    if (conv_gemm_applies_backward_input(g)) return conv_gemm_backward_input(g, gd, wd, dxd);
    float *col, *blk;
    if (scratch_pair("conv2d_backward_input", g, &col, &blk)) return -1;
    int rc = 0;
    for (int64_t n0 = 0; n0 < g->n && !rc; n0 += g->block) {
        conv_block b = block_at(g, n0);
        const float *gb = grad_block(g, &b, gd, blk);
        float *dst = g->direct ? dxd + n0 * g->c * g->pixels : col;
        for (int64_t k = 0; k < g->groups && !rc; k++) /* col_k = W_k^T @ g_k */
            rc = tg_k_sgemm(g->rows_g, b.cols, g->og, 1.0f, wd + k * g->og * g->rows_g, 1, g->rows_g,
                            gb + k * g->og * b.out_ld, b.out_ld, 1, 0.0f, dst + k * g->rows_g * b.col_ld, b.col_ld, 1);
        if (!rc && !g->direct) col2im(g, col, b.col_ld, n0, b.nb, dxd);
    }
    scratch_pair_free(g, col, blk);
    return rc;
}

tg_tensor *tg_k_conv2d_backward_input(tg_tensor *grad, tg_tensor *w, const int64_t *x_shape, tg_conv2d_opts opts)
{
    const char *op = "conv2d_backward_input";
    conv_geom g;
    if (!grad || !w || check_tensor(op, "weight", w, 4) || plan(op, x_shape, w->shape, opts, &g) ||
        check_grad(op, grad, &g))
        return NULL;
    tg_tensor *dx = tg_empty(4, x_shape, TG_FLOAT32);
    if (!dx || tg_numel(dx) == 0) return dx;
    tg_tensor *gc = tg_k_contiguous(grad), *wc = tg_k_contiguous(w);
    int rc = gc && wc ? run_backward_input(&g, gc, wc, dx) : -1;
    tg_release(gc);
    tg_release(wc);
    if (rc) {
        tg_release(dx);
        return NULL;
    }
    return dx;
}

/* ---- weight gradient ----
 *
 * This rebuilds the forward's column buffers rather than have the forward
 * keep them (measured on ResNet-18, batch 32, 64 px: keeping all of them,
 * +180 MB, made a step 4% slower on 2 idle threads and 4-8% on one, the
 * kept columns coming back from memory instead of cache; 6-9% faster
 * only while another tenant slowed im2col). */

static int run_backward_weight(const conv_geom *g, tg_tensor *grad, tg_tensor *x, tg_tensor *dw)
{
    const float *gd = data_of(grad), *xd = data_of(x);
    float *dwd = data_of(dw);
    if (conv_direct_applies_backward_weight(g)) return conv_direct_backward_weight(g, gd, xd, dwd);
    if (conv_gemm_applies_backward_weight(g)) return conv_gemm_backward_weight(g, gd, xd, dwd);
    float *col, *blk;
    if (scratch_pair("conv2d_backward_weight", g, &col, &blk)) return -1;
    int rc = 0;
    for (int64_t n0 = 0; n0 < g->n && !rc; n0 += g->block) {
        conv_block b = block_at(g, n0);
        const float *cols = column_block(g, &b, xd, col), *gb = grad_block(g, &b, gd, blk);
        /* dW_k += g_k @ col_k^T, blocks in order; computed as its transpose
         * col_k @ g_k^T (into dW_k read column-major), which BLIS runs 5-15%
         * faster on these shapes (k, the pixels, much larger than m and n) */
        for (int64_t k = 0; k < g->groups && !rc; k++)
            rc = tg_k_sgemm(g->rows_g, g->og, b.cols, 1.0f, cols + k * g->rows_g * b.col_ld, b.col_ld, 1,
                            gb + k * g->og * b.out_ld, 1, b.out_ld, n0 == 0 ? 0.0f : 1.0f,
                            dwd + k * g->og * g->rows_g, 1, g->rows_g);
    }
    scratch_pair_free(g, col, blk);
    return rc;
}

tg_tensor *tg_k_conv2d_backward_weight(tg_tensor *grad, tg_tensor *x, const int64_t *w_shape, tg_conv2d_opts opts)
{
    const char *op = "conv2d_backward_weight";
    conv_geom g;
    if (!grad || !x || check_tensor(op, "input", x, 4) || plan(op, x->shape, w_shape, opts, &g) ||
        check_grad(op, grad, &g))
        return NULL;
    if (g.n == 0) return tg_zeros(4, w_shape, TG_FLOAT32);
    tg_tensor *dw = tg_empty(4, w_shape, TG_FLOAT32);
    if (!dw || tg_numel(dw) == 0) return dw;
    tg_tensor *gc = tg_k_contiguous(grad), *xc = tg_k_contiguous(x);
    int rc = gc && xc ? run_backward_weight(&g, gc, xc, dw) : -1;
    tg_release(gc);
    tg_release(xc);
    if (rc) {
        tg_release(dw);
        return NULL;
    }
    return dw;
}

/* ---- bias gradient ---- */

/* Sum of n floats in double, in 8 interleaved lanes (a fixed order). */
static double plane_sum(const float *x, int64_t n)
{
    double lane[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) lane[k] += x[i + k];
    double s = 0;
    for (; i < n; i++) s += x[i];
    for (int k = 0; k < 8; k++) s += lane[k];
    return s;
}

tg_tensor *tg_k_conv2d_backward_bias(tg_tensor *grad)
{
    if (!grad || check_tensor("conv2d_backward_bias", "gradient", grad, 4)) return NULL;
    int64_t n = grad->shape[0], o = grad->shape[1], px = grad->shape[2] * grad->shape[3];
    tg_tensor *db = tg_empty(TG_SHAPE(o), TG_FLOAT32);
    tg_tensor *gc = db ? tg_k_contiguous(grad) : NULL;
    if (!gc) {
        tg_release(db);
        return NULL;
    }
    const float *gd = data_of(gc);
    float *out = data_of(db);
#pragma omp parallel for if (n * o * px >= TG_PARALLEL_GRAIN)
    for (int64_t c = 0; c < o; c++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += plane_sum(gd + (i * o + c) * px, px);
        out[c] = (float)s;
    }
    tg_release(gc);
    return db;
}
