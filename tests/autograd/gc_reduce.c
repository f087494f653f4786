/* Gradcheck rows: reductions (one dim, several, all; keepdim or not) and
 * softmax / log_softmax. */
#include "gradcheck_cases.h"

/* F(NAME, CALL): a row function f_NAME returning CALL over x[0]. */
#define F(NAME, CALL) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return CALL; }
#define DIMS(...) (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (const int[]){__VA_ARGS__}

F(sum_dim1, tg_sum(x[0], DIMS(1), false))
F(sum_dim1_keep, tg_sum(x[0], DIMS(1), true))
F(sum_dims02, tg_sum(x[0], DIMS(0, 2), false))
F(sum_dims20_keep, tg_sum(x[0], DIMS(2, 0), true))
F(sum_all, tg_sum(x[0], 0, NULL, false))
F(sum_all_keep, tg_sum(x[0], 0, NULL, true))
F(sum_neg, tg_sum(x[0], DIMS(-1), false))

F(mean_dim0, tg_mean(x[0], DIMS(0), false))
F(mean_dims12_keep, tg_mean(x[0], DIMS(1, 2), true))
F(mean_all, tg_mean(x[0], 0, NULL, false))
F(mean_neg_keep, tg_mean(x[0], DIMS(-2), true))

F(var_dim1, tg_var(x[0], DIMS(1), true, false))
F(var_dim1_biased_keep, tg_var(x[0], DIMS(1), false, true))
F(var_dims01, tg_var(x[0], DIMS(0, 1), true, false))
F(var_all, tg_var(x[0], 0, NULL, true, false))
F(var_neg_keep, tg_var(x[0], DIMS(-1), true, true))

F(amax_dim1, tg_amax(x[0], DIMS(1), false))
F(amax_dim0_keep, tg_amax(x[0], DIMS(0), true))
F(amax_dims12, tg_amax(x[0], DIMS(1, 2), false))
F(amax_all, tg_amax(x[0], 0, NULL, false))
F(amax_neg_keep, tg_amax(x[0], DIMS(-1), true))
F(amin_dim1, tg_amin(x[0], DIMS(1), false))
F(amin_dims02_keep, tg_amin(x[0], DIMS(0, 2), true))
F(amin_all, tg_amin(x[0], 0, NULL, true))

F(softmax_dim0, tg_softmax(x[0], 0))
F(softmax_dim1, tg_softmax(x[0], 1))
F(softmax_last, tg_softmax(x[0], -1))
F(log_softmax_dim0, tg_log_softmax(x[0], 0))
F(log_softmax_dim1, tg_log_softmax(x[0], 1))
F(log_softmax_last, tg_log_softmax(x[0], -1))
#undef F

/* Ties: x (3,1) expanded to (3,4), so each row's maximum appears 4 times and
 * each copy gets a quarter of the gradient (summed back by expand). */
static tg_tensor *f_amax_ties(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *e = tg_expand(x[0], 2, (const int64_t[]){3, 4});
    tg_tensor *out = tg_amax(e, DIMS(1), false);
    tg_release(e);
    return out;
}

/* A reduction of a softmax: the reduction's gradient (an expanded view)
 * feeds the softmax backward. */
static tg_tensor *f_sum_of_log_softmax(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *y = tg_log_softmax(x[0], 1);
    tg_tensor *out = tg_mean(y, DIMS(0), false);
    tg_release(y);
    return out;
}
#undef DIMS

const gc_case gc_reduce[] = {
    {"sum dim 1", f_sum_dim1, "3,4,2"},
    {"sum dim 1 keepdim", f_sum_dim1_keep, "3,4,2"},
    {"sum dims 0,2", f_sum_dims02, "3,4,2"},
    {"sum dims 2,0 keepdim", f_sum_dims20_keep, "3,4,2"},
    {"sum all", f_sum_all, "3,4"},
    {"sum all keepdim", f_sum_all_keep, "3,4"},
    {"sum dim -1 transposed", f_sum_neg, "3,4T"},
    {"sum all 0-dim", f_sum_all, " "},
    {"mean dim 0", f_mean_dim0, "3,4"},
    {"mean dims 1,2 keepdim", f_mean_dims12_keep, "2,3,4"},
    {"mean all transposed", f_mean_all, "3,4T"},
    {"mean dim -2 keepdim", f_mean_neg_keep, "2,3,4"},
    {"var dim 1", f_var_dim1, "3,5"},
    {"var dim 1 biased keepdim", f_var_dim1_biased_keep, "3,5"},
    {"var dims 0,1", f_var_dims01, "3,4,2"},
    {"var all", f_var_all, "3,4"},
    {"var dim -1 keepdim transposed", f_var_neg_keep, "4,3T"},
    {"amax dim 1", f_amax_dim1, "3,4"},
    {"amax dim 0 keepdim", f_amax_dim0_keep, "3,4"},
    {"amax dims 1,2", f_amax_dims12, "2,2,3"},
    {"amax all", f_amax_all, "2,3"},
    {"amax dim -1 keepdim transposed", f_amax_neg_keep, "3,4T"},
    {"amax ties share the gradient", f_amax_ties, "3,1"},
    {"amin dim 1", f_amin_dim1, "3,4"},
    {"amin dims 0,2 keepdim", f_amin_dims02_keep, "2,3,2"},
    {"amin all keepdim", f_amin_all, "2,3"},
    {"softmax dim 0", f_softmax_dim0, "4,3"},
    {"softmax dim 1 of 3-d", f_softmax_dim1, "2,3,4"},
    {"softmax dim -1", f_softmax_last, "3,5"},
    {"softmax dim -1 transposed", f_softmax_last, "3,4T"},
    {"log_softmax dim 0", f_log_softmax_dim0, "4,3"},
    {"log_softmax dim 1 of 3-d", f_log_softmax_dim1, "2,3,4"},
    {"log_softmax dim -1", f_log_softmax_last, "3,5"},
    {"log_softmax dim -1 transposed", f_log_softmax_last, "3,4T"},
    {"mean of log_softmax", f_sum_of_log_softmax, "3,4"},
    GC_END,
};
