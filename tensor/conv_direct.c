/* Direct convolution on vectors of output pixels (NCHW, AVX-512): the
 * forward and the input gradient of one-group convolutions.
 *
 * Narrow layers starve a GEMM: with 16-64 output channels BLIS's 32x12
 * register tile is a third empty or repacks its operands for a handful of
 * multiply-adds each. Here the register tile is 48 output positions (3
 * vectors of 16) by 8 output channels (or 80 by 4, conv_direct_tile_for):
 * for each input channel and tap, 3 vector loads of the input, 8
 * broadcasts of the weight, 24 fused multiply-adds, and nothing is packed but the weight (once a call) and a
 * zero-padded copy of one image at a time, which stays in cache while all
 * output channels are computed from it.
 *
 * Positions: an image's output is computed on the padded input's grid,
 * q = y wq + x for x < wq (wq the padded width, or that of one stride
 * phase: conv_direct_pad_image), so the input under tap (i, j) of
 * position q is element q + koff(i, j) of its channel: one offset per
 * tap, every vector a plain load. The columns x >= ow are junk, computed and not stored;
 * rows past oh are junk too, computed for the last tile only.
 *
 * The input gradient of a stride-1 convolution is the forward of g padded
 * by the kernel's reach less the padding, with the weight transposed and
 * turned by 180 degrees (pack_weight_flipped): the same loop. Strided ones
 * run the same loop once per stride phase (conv_direct_strided.c).
 *
 * Threads share out the (image, block of channel tiles) items; every
 * output element is one item's, summed over channels and taps in a fixed
 * order: bitwise the same for any thread count. */
#include "tensor/internal/conv_direct.h"

#include <omp.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/internal/storage.h"

/* The direct kernels compute junk positions (the padding columns, the
 * last tile's rows past the output); below this share of useful ones the
 * GEMM paths are faster (4x4 images: 16 of 48). */
#define MIN_USEFUL 0.75

static bool enabled = true;

void conv_direct_enable(bool on) { enabled = on; }

static bool cpu_has_kernel(void)
{
#if HAVE_KERNEL
    return __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

/* Of the tile shapes (3 x 8 and 5 x 4 vectors by channels: the same
 * multiply-adds per load), the one that computes fewer junk positions
 * over rows of pitch (8x8 images: 80 positions, one 5 x 4 tile against
 * two 3 x 8). */
direct_tile conv_direct_tile_for(int64_t positions)
{
    int64_t three = (positions + 47) / 48 * 48, five = (positions + 79) / 80 * 80;
    return five < three ? (direct_tile){5, 4} : (direct_tile){3, 8};
}

bool conv_direct_mostly_useful(int64_t rows, int64_t cols, int64_t pitch)
{
    int64_t positions = rows * pitch;
    direct_tile t = conv_direct_tile_for(positions);
    int64_t size = t.vectors * LANES, computed = (positions + size - 1) / size * size;
    return (double)(rows * cols) >= MIN_USEFUL * (double)computed;
}

bool conv_direct_takes(const conv_geom *g)
{
    return enabled && g->groups == 1 && g->kh * g->kw <= MAX_TAPS && cpu_has_kernel();
}

/* The forward's positions: rows of the padded (phase) width. */
static int64_t forward_pitch(const conv_geom *g) { return (g->w + 2 * g->pw + g->sw - 1) / g->sw; }

bool conv_direct_applies(const conv_geom *g)
{
    return conv_direct_takes(g) && conv_direct_mostly_useful(g->oh, g->ow, forward_pitch(g));
}

/* Stride 1: dx's rows, of w plus twice the padding of g; strided: about
 * the forward's positions, phase by phase. A strided 1x1 kernel leaves
 * all phases but one empty, which are still woven: with 256 channels or
 * more the GEMM paths are faster (ResNet-50's downsamples at 224 px, batch
 * 8, 2 threads: 12.0 and 10.9 ms against 7.3 and 6.4). */
bool conv_direct_applies_backward_input(const conv_geom *g)
{
    if (!conv_direct_takes(g) || g->sh * g->sw > MAX_PHASES) return false;
    if (g->kh * g->kw == 1 && g->sh * g->sw > 1 && g->c >= 256) return false;
    if (g->sh > 1 || g->sw > 1) return conv_direct_mostly_useful(g->oh, g->ow, forward_pitch(g));
    int64_t pad = g->dw * (g->kw - 1) - g->pw;
    return conv_direct_mostly_useful(g->h, g->w, g->ow + 2 * (pad > 0 ? pad : 0));
}

#if HAVE_KERNEL

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The forward's plan: the layout and its job, and the blocks of output
 * channels. */
typedef struct {
    direct_layout l;
    direct_job job;
    int64_t slack;  /* floats past the channels, for the reads of the last tile's junk */
    int64_t blocks; /* of the tile's output channels */
} direct_plan;

static void plan_of(const conv_geom *g, direct_plan *p)
{
    conv_direct_layout(g, &p->l);
    p->job = (direct_job){.cin = g->c, .plane = p->l.plane, .taps = p->l.taps, .koff = p->l.koff,
                          .positions = p->l.positions, .pitch = p->l.wq, .rows = g->oh, .cols = g->ow,
                          .cout = g->o, .out_plane = g->oh * g->ow, .out_row = g->ow,
                          .tile = conv_direct_tile_for(p->l.positions)};
    p->slack = conv_direct_slack(&p->job);
    p->blocks = (g->o + p->job.tile.channels - 1) / p->job.tile.channels;
}

/* Floats of one padded image with its slack. */
static int64_t image_floats(const direct_plan *p) { return p->l.g->c * p->l.plane + p->slack; }

/* w (O, C, kh, kw) as blocks of the tile's output channels ch, each (C,
 * taps, ch), zero past O. */
static void pack_weight(const direct_plan *p, const float *w, float *wp)
{
    const conv_geom *g = p->l.g;
    int64_t cols = g->c * p->l.taps, ch = p->job.tile.channels;
    for (int64_t b = 0; b < p->blocks; b++)
        for (int64_t k = 0; k < cols; k++)
            for (int64_t j = 0; j < ch; j++) {
                int64_t o = b * ch + j;
                *wp++ = o < g->o ? w[o * cols + k] : 0.0f;
            }
}

/* The same for the input gradient's convolution (geometry t, whose input
 * channels are w's outputs and outputs w's inputs): tap (i, j) of t is
 * w's tap (kh-1-i, kw-1-j) transposed. */
static void pack_weight_flipped(const direct_plan *p, const float *w, float *wp)
{
    const conv_geom *t = p->l.g;
    int64_t taps = p->l.taps, rows = t->o * taps, ch = p->job.tile.channels; /* w is (t->c, t->o, kh, kw) */
    for (int64_t b = 0; b < p->blocks; b++)
        for (int64_t c = 0; c < t->c; c++)
            for (int64_t k = 0; k < taps; k++)
                for (int64_t j = 0; j < ch; j++) {
                    int64_t o = b * ch + j;
                    *wp++ = o < t->o ? w[c * rows + o * taps + taps - 1 - k] : 0.0f;
                }
}

/* A register tile: 16 V positions from x (channel 0 of the padded image at
 * the tile's first position) by CH output channels, summed over channels
 * and taps in order, into buf (CH rows of 16 V). */
#define DEFINE_TILE(V, CH)                                                                               \
    KERNEL static void tile_##V##x##CH(const direct_job *jb, const float *x, const float *w, float *buf) \
    {                                                                                                   \
        __m512 acc[V][CH];                                                                              \
        _Pragma("GCC unroll 8") for (int v = 0; v < V; v++)                                             \
            _Pragma("GCC unroll 8") for (int j = 0; j < CH; j++) acc[v][j] = _mm512_setzero_ps();       \
        for (int64_t c = 0; c < jb->cin; c++, x += jb->plane)                                           \
            for (int64_t t = 0; t < jb->taps; t++, w += CH) {                                           \
                const float *s = x + jb->koff[t];                                                       \
                __m512 xv[V];                                                                           \
                _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) xv[v] = _mm512_loadu_ps(s + LANES * v); \
                _Pragma("GCC unroll 8") for (int j = 0; j < CH; j++)                                    \
                {                                                                                       \
                    __m512 wv = _mm512_set1_ps(w[j]);                                                   \
                    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[v][j] =                     \
                        _mm512_fmadd_ps(xv[v], wv, acc[v][j]);                                          \
                }                                                                                       \
            }                                                                                           \
        _Pragma("GCC unroll 8") for (int j = 0; j < CH; j++)                                            \
            _Pragma("GCC unroll 8") for (int v = 0; v < V; v++)                                         \
                _mm512_storeu_ps(buf + (j * V + v) * LANES, acc[v][j]);                                 \
    }

DEFINE_TILE(3, 8)
DEFINE_TILE(5, 4)

/* len floats of src into dst, plus b: masked vectors. */
KERNEL static void copy_run(const float *src, float *dst, int64_t len, float b)
{
    __m512 bv = _mm512_set1_ps(b);
    for (int64_t i = 0; i < len; i += LANES) {
        __mmask16 m = len - i >= LANES ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, src + i), bv));
    }
}

/* The tile's valid positions (x < cols, y < rows) of channels [o0, o0 +
 * channels) into out, row run by row run, plus the bias. */
KERNEL static void store_tile(const direct_job *jb, int64_t q0, const float *buf, int64_t o0, const float *bias,
                              float *out)
{
    int64_t size = jb->tile.vectors * LANES, end = min64(q0 + size, jb->rows * jb->pitch);
    if (jb->cols == jb->pitch && jb->out_row == jb->pitch) { /* no junk columns: one run a channel */
        for (int64_t j = 0; j < jb->tile.channels && o0 + j < jb->cout; j++)
            copy_run(buf + j * size, out + (o0 + j) * jb->out_plane + q0, end - q0, bias ? bias[o0 + j] : 0.0f);
        return;
    }
    for (int64_t q = q0; q < end; q += jb->pitch - q % jb->pitch) { /* to the next row */
        int64_t y = q / jb->pitch, x = q % jb->pitch, len = min64(q - x + jb->cols, end) - q;
        for (int64_t j = 0; len > 0 && j < jb->tile.channels && o0 + j < jb->cout; j++)
            copy_run(buf + j * size + (q - q0), out + (o0 + j) * jb->out_plane + y * jb->out_row + x, len,
                     bias ? bias[o0 + j] : 0.0f);
    }
}

int64_t conv_direct_slack(const direct_job *jb) { return jb->tile.vectors * LANES + jb->pitch + LANES; }

void conv_direct_run_job(const direct_job *jb, const float *xp, const float *wp, int64_t b0, int64_t b1,
                         const float *bias, float *out, direct_ahead ahead)
{
    float buf[5 * LANES * 8] __attribute__((aligned(64)));
    int64_t ch = jb->tile.channels, size = jb->tile.vectors * LANES, wblock = jb->cin * jb->taps * ch;
    int64_t tiles = (b1 - b0) * ((jb->positions + size - 1) / size), i = 0;
    for (int64_t b = b0; b < b1; b++)
        for (int64_t q = 0; q < jb->positions; q += size) {
            if (jb->tile.vectors == 5) tile_5x4(jb, xp + q, wp + b * wblock, buf);
            else tile_3x8(jb, xp + q, wp + b * wblock, buf);
            store_tile(jb, q, buf, b * ch, bias, out);
            conv_direct_prefetch_share(ahead.at, (int64_t)ahead.bytes, tiles, i++);
        }
}

direct_ahead conv_direct_next_image(const float *images, int64_t floats, int64_t n, int64_t count, int64_t k,
                                    int64_t chunks)
{
    if (k < chunks - 1 || n + 1 >= count) return (direct_ahead){0};
    return (direct_ahead){images + (n + 1) * floats, (size_t)floats * sizeof *images};
}

void conv_direct_prefetch_share(const void *at, int64_t bytes, int64_t parts, int64_t i)
{
    const char *c = at;
    for (int64_t b = bytes * i / parts / 64 * 64; b < bytes * (i + 1) / parts; b += 64)
        _mm_prefetch(c + b, _MM_HINT_T1);
}

int64_t conv_direct_chunks(int64_t images, int64_t blocks)
{
    int threads = omp_get_max_threads();
    int64_t chunks = (4 * threads + images - 1) / images; /* at least 4 items a thread */
    return chunks < blocks ? chunks : blocks;
}

/* The convolution of plan p with its packed weight wp: threads share out
 * (image, range of channel blocks) items, each padding the images of its
 * items into its own buffer. */
static int run(const direct_plan *p, const float *x, const float *wp, const float *bias, float *out)
{
    const conv_geom *g = p->l.g;
    int threads = omp_get_max_threads();
    int64_t chunks = conv_direct_chunks(g->n, p->blocks);
    size_t bytes = (size_t)image_floats(p) * (size_t)threads * sizeof(float);
    float *pads = tg_memory_alloc(bytes);
    if (!pads) return TG_FAIL("conv2d: out of memory for %zu bytes of padded images", bytes);
    int64_t items = g->n * chunks, in_image = g->c * g->h * g->w, out_image = g->o * g->pixels;
#pragma omp parallel num_threads(threads)
    {
        float *xp = pads + (int64_t)omp_get_thread_num() * image_floats(p);
        int64_t padded = -1;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int64_t n = it / chunks, k = it % chunks;
            if (n != padded) conv_direct_pad_image(&p->l, x + n * in_image, xp, p->slack, false);
            padded = n;
            conv_direct_run_job(&p->job, xp, wp, p->blocks * k / chunks, p->blocks * (k + 1) / chunks, bias,
                                out + n * out_image, conv_direct_next_image(x, in_image, n, g->n, k, chunks));
        }
    }
    tg_memory_free(pads, bytes);
    return 0;
}

/* Packs w with pack and runs plan p. */
static int run_packed(const direct_plan *p, void (*pack)(const direct_plan *, const float *, float *),
                      const float *x, const float *w, const float *bias, float *out)
{
    size_t bytes = (size_t)(p->blocks * p->l.g->c * p->l.taps * p->job.tile.channels) * sizeof(float);
    float *wp = tg_memory_alloc(bytes);
    if (!wp) return TG_FAIL("conv2d: out of memory for %zu bytes of packed weight", bytes);
    pack(p, w, wp);
    int rc = run(p, x, wp, bias, out);
    tg_memory_free(wp, bytes);
    return rc;
}

int conv_direct_forward(const conv_geom *g, const float *x, const float *w, const float *bias, float *out)
{
    direct_plan p;
    plan_of(g, &p);
    return run_packed(&p, pack_weight, x, w, bias, out);
}

int conv_direct_backward_input(const conv_geom *g, const float *grad, const float *w, float *dx)
{
    bool flipped_forward = g->sh == 1 && g->sw == 1 && g->dh * (g->kh - 1) >= g->ph && g->dw * (g->kw - 1) >= g->pw;
    if (!flipped_forward) return conv_direct_backward_input_strided(g, grad, w, dx);
    conv_geom t = *g; /* g's input gradient as a forward convolution of grad */
    t.c = g->o, t.h = g->oh, t.w = g->ow;
    t.o = g->c, t.oh = g->h, t.ow = g->w;
    t.ph = g->dh * (g->kh - 1) - g->ph;
    t.pw = g->dw * (g->kw - 1) - g->pw;
    t.pixels = g->h * g->w;
    direct_plan p;
    plan_of(&t, &p);
    return run_packed(&p, pack_weight_flipped, grad, w, NULL, dx);
}

#else

int conv_direct_forward(const conv_geom *g, const float *x, const float *w, const float *bias, float *out)
{
    (void)g, (void)x, (void)w, (void)bias, (void)out;
    return TG_FAIL("conv2d: no direct kernel on this CPU");
}

int conv_direct_backward_input(const conv_geom *g, const float *grad, const float *w, float *dx)
{
    (void)g, (void)grad, (void)w, (void)dx;
    return TG_FAIL("conv2d: no direct kernel on this CPU");
}

#endif
