/* What the direct convolution kernels share (conv_direct.c: forward and
 * input gradient; conv_direct_strided.c: strided input gradient;
 * conv_direct_weight.c: weight gradient): the layout of a zero-padded image
 * split by stride phase and the offset of each kernel tap in it
 * (conv_direct_pad.c), and the run of register tiles over it. Internal to
 * tensor/; not installed. */
#ifndef TG_CONV_DIRECT_H
#define TG_CONV_DIRECT_H

#include "tensor/internal/conv_geom.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_KERNEL 1
#define KERNEL __attribute__((target("avx512f")))
#else
#define HAVE_KERNEL 0
#endif

#define LANES 16          /* floats in a vector */
#define MAX_TAPS 64       /* larger kernels take the GEMM paths */
#define MAX_PHASES 16     /* sh sw: larger strides' input gradients take the GEMM paths */

/* An image padded for the direct kernels: channel by channel, each the
 * padded image's sh x sw stride phases of hq x wq. Output position
 * q = y wq + x (x < wq; the columns x >= ow are junk) reads tap t of
 * channel c at element c plane + koff[t] + q. */
typedef struct {
    const conv_geom *g;
    int64_t hq, wq;         /* one stride phase of the padded input */
    int64_t plane;          /* floats of one channel: its sh x sw phases */
    int64_t positions;      /* oh wq: an image's output positions, junk columns included */
    int64_t taps;           /* kh kw */
    int64_t koff[MAX_TAPS]; /* per tap (i, j): its offset from a position's element */
} direct_layout;

void conv_direct_layout(const conv_geom *g, direct_layout *l);

/* Image x (C, H, W) of g into xp, which has room for c plane + slack
 * floats: the slack (zeros) is for the reads of junk positions past the
 * last row. The phases no tap reads are left as they were unless
 * all_phases: a kernel that multiplies junk by zero (the weight gradient)
 * needs them finite. */
void conv_direct_pad_image(const direct_layout *l, const float *x, float *xp, int64_t slack, bool all_phases);

/* A run of register tiles over one padded image (conv_direct.c): output
 * position q (rows of pitch positions) sums, over cin channels a plane
 * apart and taps, the element q + koff[t] of the channel times the packed
 * weight, register tile by register tile (16 tile.vectors positions by
 * tile.channels output channels). The weight is packed as blocks of
 * tile.channels output channels, each (cin, taps, tile.channels), zero
 * past cout. The valid positions, the first cols of each of the first rows
 * rows, are stored: output channel o, row y, column x at
 * out[o out_plane + y out_row + x]. */
typedef struct {
    int64_t vectors, channels;
} direct_tile;

typedef struct {
    int64_t cin, plane, taps;
    const int64_t *koff;
    int64_t positions, pitch; /* computed: a whole number of rows of pitch, or more */
    int64_t rows, cols;       /* valid */
    int64_t cout, out_plane, out_row;
    direct_tile tile;
} direct_job;

/* The register tile for a job of so many positions. */
direct_tile conv_direct_tile_for(int64_t positions);

/* Whether the direct kernels take g at all (one group, at most MAX_TAPS
 * taps, a CPU with AVX-512, not turned off), and whether a job of rows of
 * pitch positions, cols of them useful, computes mostly useful ones. */
bool conv_direct_takes(const conv_geom *g);
bool conv_direct_mostly_useful(int64_t rows, int64_t cols, int64_t pitch);

/* Zeros a padded image needs past its channels for a job's junk reads. */
int64_t conv_direct_slack(const direct_job *jb);

/* Memory the next item will read, fetched into L2 a share at a time while
 * this item's tiles run, so that its DRAM reads overlap the arithmetic
 * (padding an image otherwise waits on them: on the preset's stride-2
 * layer, more time than the tiles take). */
typedef struct {
    const void *at;
    size_t bytes;
} direct_ahead;

/* What item (n, k) of images n in [0, count), each chunks items of floats
 * floats, prefetches: the next image, while the last item of image n
 * runs; nothing otherwise. */
direct_ahead conv_direct_next_image(const float *images, int64_t floats, int64_t n, int64_t count, int64_t k,
                                    int64_t chunks);

/* Fetches share i of parts of the bytes at [at, at + bytes) into L2. */
void conv_direct_prefetch_share(const void *at, int64_t bytes, int64_t parts, int64_t i);

/* Output channel blocks [b0, b1) of job jb on padded image xp, weight wp
 * packed as above, plus bias (or NULL), prefetching ahead. */
void conv_direct_run_job(const direct_job *jb, const float *xp, const float *wp, int64_t b0, int64_t b1,
                         const float *bias, float *out, direct_ahead ahead);

/* Items per image when threads share out (image, range of channel blocks)
 * items: enough for at least 4 items a thread, at most blocks. */
int64_t conv_direct_chunks(int64_t images, int64_t blocks);

/* The input gradient of a strided convolution, or of one padded past the
 * kernel's reach (conv_direct_strided.c). */
int conv_direct_backward_input_strided(const conv_geom *g, const float *grad, const float *w, float *dx);

#endif
