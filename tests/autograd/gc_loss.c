/* Gradcheck rows: the elementwise losses (L1, smooth L1, Huber, binary
 * cross-entropy with logits, KL divergence), each reduced, and the class
 * losses' options (cross-entropy with class weights, label smoothing,
 * every reduction; NLL). L1's rows keep
 * input - target on one side of its kink at 0: the target shifted by 2. */
#include "gradcheck_cases.h"
#include "kernels.h"

/* The target x[1] shifted by s, then the loss CALL of x[0] against it. */
#define SHIFTED(NAME, S, CALL)                                    \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c)      \
    {                                                             \
        (void)c;                                                  \
        tg_tensor *t = tg_add_scalar(x[1], S), *y = t ? CALL : NULL; \
        tg_release(t);                                            \
        return y;                                                 \
    }
SHIFTED(l1_below, 2.0f, tg_l1_loss(x[0], t, TG_REDUCTION_MEAN))
SHIFTED(l1_above, -2.0f, tg_l1_loss(x[0], t, TG_REDUCTION_NONE))
#undef SHIFTED

#define F(NAME, CALL) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return CALL; }
F(smooth_l1, tg_smooth_l1_loss(x[0], x[1], TG_REDUCTION_SUM, 0.7f))
F(huber, tg_huber_loss(x[0], x[1], TG_REDUCTION_NONE, 0.4f))
F(bce, tg_binary_cross_entropy_with_logits(x[0], x[1], NULL, NULL, TG_REDUCTION_MEAN))
F(bce_weighted, tg_binary_cross_entropy_with_logits(x[0], x[1], x[2], x[3], TG_REDUCTION_SUM))
F(kl, tg_kl_div(x[0], x[1], TG_REDUCTION_BATCHMEAN, false))
F(kl_log, tg_kl_div(x[0], x[1], TG_REDUCTION_NONE, true))
#undef F

/* The class loss CALL (of x[0], target t, options o) with every third
 * target set to -1 and ignored, the class weight x[2] when given, times 10
 * so that a gradient 10% off exceeds the check's tolerance. */
#define CLASS_LOSS(NAME, REDUCTION, SMOOTHING, WEIGHTED, CALL)                                   \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c)                                     \
    {                                                                                              \
        (void)c;                                                                                   \
        tg_tensor *t = tg_k_clone(x[1]);                                                          \
        if (!t) return NULL;                                                                       \
        for (int64_t i = 0; i < tg_numel(t); i += 3) tg_data_i64(t)[i] = -1;                      \
        tg_cross_entropy_opts o = {REDUCTION, WEIGHTED ? x[2] : NULL, -1, false, SMOOTHING};      \
        tg_tensor *loss = CALL, *out = loss ? tg_mul_scalar(loss, 10.0f) : NULL;                  \
        tg_release(loss), tg_release(t);                                                           \
        return out;                                                                                \
    }
CLASS_LOSS(ce_weighted_smoothed, TG_REDUCTION_MEAN, 0.2f, true, tg_cross_entropy(x[0], t, &o))
CLASS_LOSS(ce_smoothed_sum, TG_REDUCTION_SUM, 0.3f, false, tg_cross_entropy(x[0], t, &o))
CLASS_LOSS(ce_none, TG_REDUCTION_NONE, 0.1f, true, tg_cross_entropy(x[0], t, &o))
CLASS_LOSS(nll_weighted, TG_REDUCTION_MEAN, 0.0f, true, tg_nll_loss(x[0], t, &o))
CLASS_LOSS(nll_none, TG_REDUCTION_NONE, 0.0f, false, tg_nll_loss(x[0], t, &o))
#undef CLASS_LOSS

/* Class 0 ignored instead. */
static tg_tensor *f_ce_ignore_zero(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_cross_entropy(x[0], x[1], &(tg_cross_entropy_opts){.ignore_class_zero = true});
}

const gc_case gc_loss[] = {
    {"l1_loss below its kink", f_l1_below, "3,4 | 3,4"},
    {"l1_loss above its kink, broadcast", f_l1_above, "3,4 | 4"},
    {"smooth_l1_loss", f_smooth_l1, "3,4 | 3,4"},
    {"huber_loss transposed", f_huber, "4,3T | 4,3"},
    {"binary_cross_entropy_with_logits", f_bce, "3,4 | 3,4+"},
    {"binary_cross_entropy_with_logits weighted", f_bce_weighted, "3,4 | 3,4+ | 3,1 | 4+N"},
    {"kl_div", f_kl, "3,4 | 3,4+"},
    {"kl_div log target", f_kl_log, "3,4 | 3,4"},
    {"cross_entropy weighted, smoothed (N,C)", f_ce_weighted_smoothed, "6,4 | 6i4 | 4+N"},
    {"cross_entropy weighted, smoothed (N,C,H,W)", f_ce_weighted_smoothed, "2,3,2,3 | 2,2,3i3 | 3+N"},
    {"cross_entropy smoothed, summed, transposed", f_ce_smoothed_sum, "2,3,3,2T | 2,3,2i3"},
    {"cross_entropy reduction none", f_ce_none, "2,3,2,3 | 2,2,3i3 | 3+N"},
    {"cross_entropy ignoring class 0", f_ce_ignore_zero, "6,4 | 6i4"},
    {"nll_loss weighted (N,C)", f_nll_weighted, "6,4 | 6i4 | 4+N"},
    {"nll_loss reduction none (N,C,H,W)", f_nll_none, "2,3,2,3 | 2,2,3i3"},
    GC_END,
};
