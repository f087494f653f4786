/* What the two convolution paths share: the geometry of a convolution
 * (planned in conv.c from the shapes and options) and the entry points of
 * the implicit-GEMM path (conv_gemm.c). Internal to tensor/; not installed. */
#ifndef TG_CONV_GEOM_H
#define TG_CONV_GEOM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t n, c, h, w;      /* input */
    int64_t o, kh, kw;       /* weight: (o, c / groups, kh, kw) */
    int64_t oh, ow;          /* output */
    int64_t sh, sw, ph, pw, dh, dw, groups;
    int64_t cg, og;          /* input and output channels per group */
    int64_t pixels;          /* oh * ow */
    int64_t rows;            /* column buffer rows: c * kh * kw */
    int64_t rows_g;          /* of them per group: the weight's row length */
    int64_t block;           /* images per block */
    bool direct;             /* x (or dx) is its own column buffer */
} conv_geom;

/* Whether conv_gemm_forward takes this convolution: one group, and images
 * wide enough that a tile's pixels come in runs along output rows. */
bool conv_gemm_applies(const conv_geom *g);

/* out (N,O,H',W') = conv(x, w) + bias (or NULL); x, w contiguous. 0 or -1. */
int conv_gemm_forward(const conv_geom *g, const float *x, const float *w, const float *bias, float *out);

/* Whether conv_gemm_backward_weight takes it: one group, enough rows (C kh kw)
 * to share among threads and enough pixels, at any width. */
bool conv_gemm_applies_backward_weight(const conv_geom *g);

/* dw (O,C,kh,kw) from the output gradient and the input; grad, x
 * contiguous. 0 or -1. */
int conv_gemm_backward_weight(const conv_geom *g, const float *grad, const float *x, float *dw);

/* Whether conv_gemm_backward_input takes it: one group, stride 1, padding at
 * most the kernel's reach, and wide input images. */
bool conv_gemm_applies_backward_input(const conv_geom *g);

/* dx (N,C,H,W) from the output gradient; grad, w contiguous. 0 or -1. */
int conv_gemm_backward_input(const conv_geom *g, const float *grad, const float *w, float *dx);

/* The direct path (conv_direct*.c; AVX-512): whether it takes the forward,
 * the input gradient and the weight gradient (one group, kernels up to 64
 * taps, a CPU with AVX-512, strides up to 16 phases, and images big enough
 * that most positions it computes are useful). */
bool conv_direct_applies(const conv_geom *g);
bool conv_direct_applies_backward_input(const conv_geom *g);
bool conv_direct_applies_backward_weight(const conv_geom *g);

/* out (N,O,H',W') = conv(x, w) + bias (or NULL); x, w contiguous. 0 or -1. */
int conv_direct_forward(const conv_geom *g, const float *x, const float *w, const float *bias, float *out);

/* dx (N,C,H,W) from the output gradient; grad, w contiguous. 0 or -1. */
int conv_direct_backward_input(const conv_geom *g, const float *grad, const float *w, float *dx);

/* dw (O,C,kh,kw) from the output gradient and the input; grad, x
 * contiguous. 0 or -1. */
int conv_direct_backward_weight(const conv_geom *g, const float *grad, const float *x, float *dw);

/* Turns the direct path off (false) or back on, so that tests can compare
 * it with the GEMM paths. */
void conv_direct_enable(bool on);

#endif
