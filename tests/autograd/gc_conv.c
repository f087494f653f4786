/* Gradcheck rows: conv2d over its options (stride, padding, dilation,
 * groups, bias or none), the 1x1 fast path and the blocked path, constant
 * operands and non-contiguous (transposed) ones. Inputs: x, w[, bias]. */
#include "gradcheck_cases.h"

/* fn: conv2d of x[0], x[1] and bias (x[2] or NULL) with the given options. */
#define CONV_FN(fn, bias, ...)                                                             \
    static tg_tensor *fn(tg_tensor *const *x, void *c)                                     \
    {                                                                                      \
        (void)c;                                                                           \
        return tg_conv2d(x[0], x[1], bias, (tg_conv2d_opts){__VA_ARGS__});                 \
    }

CONV_FN(f_plain, x[2], .groups = 0)
CONV_FN(f_pad1, x[2], .padding = {1, 1})
CONV_FN(f_pad1_nobias, NULL, .padding = {1, 1})
CONV_FN(f_stride2, x[2], .stride = {2, 2}, .padding = {1, 1})
CONV_FN(f_stride2_nobias, NULL, .stride = {2, 2}, .padding = {1, 1})
CONV_FN(f_stride2_unpadded_nobias, NULL, .stride = {2, 2})
CONV_FN(f_dilation2, x[2], .dilation = {2, 2}, .padding = {2, 1})
CONV_FN(f_dilation2_nobias, NULL, .dilation = {2, 2}, .padding = {2, 1})
CONV_FN(f_groups2, x[2], .groups = 2, .padding = {1, 1})
CONV_FN(f_groups2_nobias, NULL, .groups = 2, .padding = {1, 1})
CONV_FN(f_mixed, x[2], .stride = {2, 1}, .padding = {0, 2}, .dilation = {1, 2})
CONV_FN(f_stem, x[2], .stride = {2, 2}, .padding = {3, 3})

/* A conv on the result of a conv: gradients flow through a non-leaf x. */
static tg_tensor *f_two_layers(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *h = tg_conv2d(x[0], x[1], NULL, (tg_conv2d_opts){.padding = {1, 1}});
    tg_tensor *out = tg_conv2d(h, x[2], NULL, (tg_conv2d_opts){.stride = {2, 2}});
    tg_release(h);
    return out;
}

/* conv_transpose2d of x[0] with x[1], bias x[2] when given. */
#define TRANSPOSE_FN(NAME, BIAS, ...)                                                                   \
    static tg_tensor *NAME(tg_tensor *const *x, void *c)                                              \
    {                                                                                                 \
        (void)c;                                                                                      \
        return tg_conv_transpose2d(x[0], x[1], BIAS, &(tg_conv_transpose2d_opts){__VA_ARGS__});       \
    }
TRANSPOSE_FN(f_t_plain, NULL, .groups = 0)
TRANSPOSE_FN(f_t_up2, x[2], .stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1})
TRANSPOSE_FN(f_t_groups, x[2], .stride = {2, 3}, .padding = {1, 2}, .dilation = {2, 1}, .groups = 2)
TRANSPOSE_FN(f_t_cut, NULL, .stride = {1, 2}, .padding = {2, 0}, .output_padding = {1, 0}, .dilation = {2, 1})
#undef TRANSPOSE_FN

const gc_case gc_conv[] = {
    {"conv2d 3x3 pad 1", f_pad1, "2,3,5,5|4,3,3,3|4"},
    {"conv2d 3x3 no padding", f_plain, "2,2,5,4|3,2,3,3|3"},
    {"conv2d stride 2", f_stride2, "2,2,6,5|3,2,3,3|3"},
    {"conv2d dilation 2", f_dilation2, "1,2,6,5|3,2,3,3|3"},
    {"conv2d groups 2", f_groups2, "2,4,4,4|6,2,3,3|6"},
    {"conv2d depthwise (groups = C)", f_pad1, "1,1,5,5|2,1,3,3|2"},
    {"conv2d stride 2x1, pad 0x2, dilation 1x2", f_mixed, "1,2,5,4|2,2,2,2|2"},
    {"conv2d 1x1 (direct path)", f_plain, "2,3,16,16|2,3,1,1|2"},
    {"conv2d 1x1 blocked", f_plain, "3,3,3,2|4,3,1,1|4"},
    {"conv2d 1x1 stride 2", f_stride2_unpadded_nobias, "2,3,5,5|2,3,1,1"},
    {"conv2d 7x7 stride 2 pad 3", f_stem, "1,2,7,6|2,2,7,7|2"},
    {"conv2d no bias", f_pad1_nobias, "2,2,4,4|3,2,3,3"},
    {"conv2d constant weight", f_pad1, "2,2,4,4|3,2,3,3N|3"},
    {"conv2d constant input", f_stride2, "2,2,5,5N|3,2,3,3|3"},
    {"conv2d only bias", f_pad1, "1,2,4,4N|3,2,3,3N|3"},
    {"conv2d transposed input", f_stride2_nobias, "2,2,5,6T|3,2,3,3"},
    {"conv2d transposed input and weight", f_groups2_nobias, "1,4,4,5T|4,2,3,2T"},
    {"conv2d dilated, no bias", f_dilation2_nobias, "2,2,6,5|2,2,3,2"},
    {"conv2d two layers", f_two_layers, "1,2,6,6|3,2,3,3|2,3,2,2"},
    {"conv_transpose2d defaults", f_t_plain, "2,2,3,3|2,3,2,2"},
    {"conv_transpose2d stride 2, output_padding 1", f_t_up2, "1,3,3,4|3,2,3,3|2"},
    {"conv_transpose2d groups, dilation, transposed input", f_t_groups, "1,4,3,4T|4,1,3,2|2"},
    {"conv_transpose2d output_padding >= stride (cut)", f_t_cut, "1,2,4,3|2,2,3,2"},
    GC_END,
};
