/* The options of the ops that take many parameters: one struct per op,
 * shared by its kernel (tensor/) and its differentiable form
 * (autograd/ops.h). A zero field means PyTorch's default, which the
 * kernels fill in, so a struct literal names only what differs:
 * (tg_conv2d_opts){.padding = {1, 1}}. */
#ifndef TG_OPTIONS_H
#define TG_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor/export.h"

/* torch.nn.functional.conv2d's, as (h, w) pairs. */
typedef struct tg_conv2d_opts {
    int stride[2];   /* 0 means 1 */
    int padding[2];  /* zero padding */
    int dilation[2]; /* 0 means 1 */
    int groups;      /* 0 means 1 */
} tg_conv2d_opts;

/* torch.nn.functional.conv_transpose2d's, as (h, w) pairs: the output is
 * (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1 high
 * (and wide alike); output_padding below the stride or the dilation. */
typedef struct tg_conv_transpose2d_opts {
    int stride[2]; /* 0 means 1 */
    int padding[2];
    int output_padding[2];
    int dilation[2]; /* 0 means 1 */
    int groups;      /* 0 means 1 */
} tg_conv_transpose2d_opts;

/* A pooling window over (h, w), as torch.nn.functional.max_pool2d and
 * avg_pool2d take it. */
typedef struct tg_pool2d_opts {
    int kernel[2];
    int stride[2];          /* 0 means the kernel */
    int padding[2];         /* at most half the kernel */
    int dilation[2];        /* 0 means 1; average pooling takes none */
    bool ceil_mode;
    bool count_include_pad; /* avg_pool2d; PyTorch's default is true */
} tg_pool2d_opts;

/* How tg_pad_edges fills the padding, as F.pad's modes: reflect (the
 * values mirrored about the edge, the edge not repeated), replicate (the
 * edge value), circular (wrapped around from the other side). */
typedef enum tg_pad_mode { TG_PAD_REFLECT, TG_PAD_REPLICATE, TG_PAD_CIRCULAR } tg_pad_mode;

/* How tg_interpolate resizes (N,C,H,W): to size (h, w), or by
 * scale_factor (h, w): out = floor(in factor), the source coordinates
 * then using 1 / factor as PyTorch's (recompute_scale_factor off); give
 * one of them, the other zero. mode: nearest (PyTorch's default, its
 * legacy floor(dst scale)) or bilinear (align_corners as in PyTorch). */
typedef enum tg_interpolate_mode { TG_INTERPOLATE_NEAREST, TG_INTERPOLATE_BILINEAR } tg_interpolate_mode;
typedef struct tg_interpolate_opts {
    int64_t size[2];
    double scale_factor[2];
    tg_interpolate_mode mode;
    bool align_corners;
} tg_interpolate_opts;

/* How a loss reduces its elements, as PyTorch's reduction=: mean (the
 * default), sum, none (the elementwise losses), or batchmean (kl_div only:
 * the sum over the size of dim 0). */
typedef enum tg_reduction {
    TG_REDUCTION_MEAN,
    TG_REDUCTION_SUM,
    TG_REDUCTION_NONE,
    TG_REDUCTION_BATCHMEAN,
} tg_reduction;

/* The class-index losses' options (tg_cross_entropy, tg_nll_loss), as
 * F.cross_entropy's: reduction (mean: the sum of the losses over the sum of
 * their targets' weights), weight (C) per class or NULL for 1, targets
 * equal to ignore_index skipped (0 means PyTorch's -100; set
 * ignore_class_zero to skip class 0), label_smoothing in [0, 1]: the
 * target mixed with the uniform distribution over the classes. */
typedef struct tg_cross_entropy_opts {
    tg_reduction reduction;
    struct tg_tensor *weight;
    int64_t ignore_index;
    bool ignore_class_zero;
    float label_smoothing;
} tg_cross_entropy_opts;

#endif
