/* Gradcheck rows: cumsum, tril, triu and masked_fill. */
#include "gradcheck_cases.h"

#define F(NAME, CALL) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return CALL; }
F(cumsum_0, tg_cumsum(x[0], 0))
F(cumsum_last, tg_cumsum(x[0], -1))
F(tril, tg_tril(x[0], 1))
F(triu, tg_triu(x[0], -1))
F(masked_fill, tg_masked_fill(x[0], x[1], 2.0f))
#undef F

const gc_case gc_scan[] = {
    {"cumsum dim 0", f_cumsum_0, "3,4"},
    {"cumsum last dim, transposed", f_cumsum_last, "2,3,4T"},
    {"tril", f_tril, "2,3,4"},
    {"triu transposed", f_triu, "4,3T"},
    {"masked_fill broadcast mask", f_masked_fill, "3,4 | 1,4M"},
    GC_END,
};
