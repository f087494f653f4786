/* Gradcheck rows: layer and RMS normalisation, over one and two trailing
 * dims, and group normalisation, with and without weight and bias. */
#include "gradcheck_cases.h"

#define F(NAME, CALL) \
    static tg_tensor *f_##NAME(tg_tensor *const *x, void *c) { (void)c; return CALL; }
F(ln_affine, tg_layer_norm(x[0], 1, x[1], x[2], 1e-5f))
F(ln_two_dims, tg_layer_norm(x[0], 2, x[1], x[2], 1e-5f))
F(ln_plain, tg_layer_norm(x[0], 1, NULL, NULL, 1e-5f))
F(rms_weight, tg_rms_norm(x[0], 1, x[1], 1e-6f))
F(rms_plain, tg_rms_norm(x[0], 2, NULL, 1e-6f))
F(gn_affine, tg_group_norm(x[0], 2, x[1], x[2], 1e-5f))
F(gn_plain, tg_group_norm(x[0], 3, NULL, NULL, 1e-5f))
#undef F

const gc_case gc_layer_norm[] = {
    {"layer_norm affine", f_ln_affine, "3,5 | 5 | 5"},
    {"layer_norm two dims, transposed", f_ln_two_dims, "2,4,3T | 4,3 | 4,3"},
    {"layer_norm plain", f_ln_plain, "2,3,4"},
    {"rms_norm weight", f_rms_weight, "3,5 | 5"},
    {"rms_norm plain two dims", f_rms_plain, "2,3,4"},
    {"group_norm affine", f_gn_affine, "2,4,3 | 4 | 4"},
    {"group_norm plain, transposed", f_gn_plain, "2,3,2,2T"},
    GC_END,
};
