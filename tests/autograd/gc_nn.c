/* Gradcheck rows: linear, dropout, dropout2d, upsample_bilinear,
 * interpolate, normalize, pad (constant and from the edges), cross_entropy,
 * mse_loss and info_nce. */
#include "gradcheck_cases.h"
#include "kernels.h"

/* F(NAME, CALL): a row function f_NAME returning CALL over x[]. */
#define F(NAME, CALL) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return CALL; }
#define PADS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

F(linear, tg_linear(x[0], x[1], x[2]))
F(linear_no_bias, tg_linear(x[0], x[1], NULL))

/* Each evaluation draws the same mask: the rng starts from a fixed seed. */
#define DROPOUT(NAME, FN, P)                                                \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c)                \
    {                                                                       \
        (void)c;                                                            \
        tg_rng rng = tg_rng_new(99, 3);                                     \
        return FN(x[0], P, true, &rng);                                     \
    }
DROPOUT(dropout, tg_dropout, 0.4f)
DROPOUT(dropout_all, tg_dropout, 1.0f)
DROPOUT(dropout2d, tg_dropout2d, 0.5f)
#undef DROPOUT

F(up_6x6, tg_upsample_bilinear(x[0], 6, 6, false))
F(up_5x7, tg_upsample_bilinear(x[0], 5, 7, false))
F(up_5x7_ac, tg_upsample_bilinear(x[0], 5, 7, true))
F(down_3x4, tg_upsample_bilinear(x[0], 3, 4, false))
F(down_3x4_ac, tg_upsample_bilinear(x[0], 3, 4, true))
F(to_1x1_ac, tg_upsample_bilinear(x[0], 1, 1, true))
F(nearest_x15, tg_interpolate(x[0], &(tg_interpolate_opts){.scale_factor = {1.5, 2.5}}))
F(bilinear_x17,
  tg_interpolate(x[0], &(tg_interpolate_opts){.scale_factor = {1.7, 0.6}, .mode = TG_INTERPOLATE_BILINEAR}))

F(normalize_dim1, tg_normalize(x[0], 1, 1e-12f))
F(normalize_last, tg_normalize(x[0], -1, 1e-12f))
F(normalize_dim0, tg_normalize(x[0], 0, 1e-12f))

F(pad_last, tg_pad(x[0], PADS(1, 2), 0.5f))
F(pad_two_dims_crop, tg_pad(x[0], PADS(1, -1, -1, 2), -1.0f))
F(pad_crop_only, tg_pad(x[0], PADS(-1, 0, 0, -2), 0.0f))
F(pad_reflect, tg_pad_edges(x[0], PADS(2, 1, 1, 2), TG_PAD_REFLECT))
F(pad_replicate, tg_pad_edges(x[0], PADS(3, 1), TG_PAD_REPLICATE))
F(pad_circular, tg_pad_edges(x[0], PADS(1, 3, 0, 2), TG_PAD_CIRCULAR))

F(mse, tg_mse_loss(x[0], x[1]))
F(info_nce, tg_info_nce(x[0], x[1], x[2], 0.5f, NULL))
#undef F
#undef PADS

/* The loss against classes with every third entry set to 255, ignored;
 * times 10, so that a gradient 10% off exceeds the check's tolerance. */
static tg_tensor *cross_entropy_ignoring(tg_tensor *logits, tg_tensor *classes)
{
    tg_tensor *t = tg_k_clone(classes);
    if (!t) return NULL;
    int64_t *v = tg_data_i64(t);
    for (int64_t i = 0; i < tg_numel(t); i += 3) v[i] = 255;
    tg_tensor *loss = tg_cross_entropy(logits, t, &(tg_cross_entropy_opts){.ignore_index = 255});
    tg_tensor *out = tg_mul_scalar(loss, 10.0f);
    tg_release(loss);
    tg_release(t);
    return out;
}

static tg_tensor *f_cross_entropy(tg_tensor *const *x, void *c)
{
    (void)c;
    return cross_entropy_ignoring(x[0], x[1]);
}

/* Logits given as (N,H,W,C) and permuted to (N,C,H,W): the class dim has
 * stride 1 and positions stride C. */
static tg_tensor *f_cross_entropy_nhwc(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *p = tg_permute(x[0], (const int[]){0, 3, 1, 2});
    tg_tensor *out = cross_entropy_ignoring(p, x[1]);
    tg_release(p);
    return out;
}

const gc_case gc_nn[] = {
    {"linear 2-D", f_linear, "4,5|3,5|3"},
    {"linear 3-D", f_linear, "2,3,5|4,5|4"},
    {"linear 1-D x", f_linear, "5|3,5|3"},
    {"linear no bias", f_linear_no_bias, "3,5|4,5"},
    {"linear transposed weight", f_linear, "4,5|3,5T|3"},
    {"linear 3-D transposed x", f_linear, "2,5,3T|4,3|4"},
    {"linear constant weight", f_linear, "4,5|3,5N|3"},
    {"dropout p 0.4", f_dropout, "4,6"},
    {"dropout p 1", f_dropout_all, "3,4"},
    {"dropout transposed", f_dropout, "4,6T"},
    {"dropout2d (N,C,H,W)", f_dropout2d, "2,3,2,2"},
    {"dropout2d (C,H,W)", f_dropout2d, "4,2,3"},
    {"upsample x2", f_up_6x6, "1,2,3,3"},
    {"upsample non-integer", f_up_5x7, "2,1,3,4"},
    {"upsample non-integer align_corners", f_up_5x7_ac, "2,1,3,4"},
    {"upsample down", f_down_3x4, "1,1,5,6"},
    {"upsample down align_corners", f_down_3x4_ac, "1,1,5,6"},
    {"upsample to 1x1 align_corners", f_to_1x1_ac, "1,2,3,3"},
    {"interpolate nearest by 1.5 x 2.5", f_nearest_x15, "1,2,3,4"},
    {"interpolate bilinear by 1.7 x 0.6, transposed", f_bilinear_x17, "1,2,4,5T"},
    {"upsample transposed", f_up_5x7, "1,2,4,3T"},
    {"normalize dim 1", f_normalize_dim1, "3,4"},
    {"normalize dim -1", f_normalize_last, "2,3,4"},
    {"normalize dim 0 transposed", f_normalize_dim0, "4,3T"},
    {"pad last dim", f_pad_last, "2,3"},
    {"pad two dims with a crop", f_pad_two_dims_crop, "2,3,4"},
    {"pad crop only", f_pad_crop_only, "3,4"},
    {"pad transposed", f_pad_two_dims_crop, "2,3,4T"},
    {"pad reflect", f_pad_reflect, "2,3,4"},
    {"pad replicate, transposed", f_pad_replicate, "4,3T"},
    {"pad circular", f_pad_circular, "2,3,3"},
    {"cross_entropy (N,C)", f_cross_entropy, "6,4|6i4"},
    {"cross_entropy (N,C,H,W)", f_cross_entropy, "2,3,2,3|2,2,3i3"},
    {"cross_entropy (N,C,H,W) transposed", f_cross_entropy, "2,3,3,2T|2,3,2i3"},
    {"cross_entropy class dim stride 1", f_cross_entropy_nhwc, "2,2,3,4|2,2,3i4"},
    {"mse", f_mse, "3,4|3,4"},
    {"mse broadcast", f_mse, "3,1|4"},
    {"mse b constant, transposed", f_mse, "3,4T|3,4N"},
    {"info_nce", f_info_nce, "5,3|5,3N|7,3N"},
    {"info_nce transposed q and queue", f_info_nce, "4,6T|4,6N|3,6TN"},
    GC_END,
};
