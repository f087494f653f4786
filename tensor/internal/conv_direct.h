/* What the direct convolution kernels share (conv_direct.c: forward and
 * input gradient; conv_direct_weight.c: weight gradient): the layout of a
 * zero-padded image split by stride phase, and the offset of each kernel
 * tap in it. Internal to tensor/; not installed. */
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

#define LANES 16    /* floats in a vector */
#define MAX_TAPS 64 /* larger kernels take the GEMM paths */

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
 * last row. */
void conv_direct_pad_image(const direct_layout *l, const float *x, float *xp, int64_t slack);

#endif
