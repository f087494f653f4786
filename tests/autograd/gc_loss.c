/* Gradcheck rows: the elementwise losses (L1, smooth L1, Huber, binary
 * cross-entropy with logits, KL divergence), each reduced. L1's rows keep
 * input - target on one side of its kink at 0: the target shifted by 2. */
#include "gradcheck_cases.h"

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

const gc_case gc_loss[] = {
    {"l1_loss below its kink", f_l1_below, "3,4 | 3,4"},
    {"l1_loss above its kink, broadcast", f_l1_above, "3,4 | 4"},
    {"smooth_l1_loss", f_smooth_l1, "3,4 | 3,4"},
    {"huber_loss transposed", f_huber, "4,3T | 4,3"},
    {"binary_cross_entropy_with_logits", f_bce, "3,4 | 3,4+"},
    {"binary_cross_entropy_with_logits weighted", f_bce_weighted, "3,4 | 3,4+ | 3,1 | 4+N"},
    {"kl_div", f_kl, "3,4 | 3,4+"},
    {"kl_div log target", f_kl_log, "3,4 | 3,4"},
    GC_END,
};
