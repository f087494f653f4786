/* Gradcheck rows: views and copies; their gradients flow to the base. */
#include "gradcheck_cases.h"

static tg_tensor *f_view(tg_tensor *const *x, void *c) { (void)c; return tg_view(x[0], TG_SHAPE(4, -1)); }
static tg_tensor *f_reshape(tg_tensor *const *x, void *c) { (void)c; return tg_reshape(x[0], TG_SHAPE(2, 6)); }
static tg_tensor *f_permute(tg_tensor *const *x, void *c) { (void)c; return tg_permute(x[0], (int[]){2, 0, 1}); }
static tg_tensor *f_transpose(tg_tensor *const *x, void *c) { (void)c; return tg_transpose(x[0], 0, -1); }
static tg_tensor *f_narrow(tg_tensor *const *x, void *c) { (void)c; return tg_narrow(x[0], 1, 1, 2); }
static tg_tensor *f_select(tg_tensor *const *x, void *c) { (void)c; return tg_select(x[0], -1, 2); }
static tg_tensor *f_expand(tg_tensor *const *x, void *c) { (void)c; return tg_expand(x[0], TG_SHAPE(2, 3, 4)); }
static tg_tensor *f_squeeze(tg_tensor *const *x, void *c) { (void)c; return tg_squeeze(x[0], 1); }
static tg_tensor *f_unsqueeze(tg_tensor *const *x, void *c) { (void)c; return tg_unsqueeze(x[0], -1); }
static tg_tensor *f_contiguous(tg_tensor *const *x, void *c) { (void)c; return tg_contiguous(x[0]); }
static tg_tensor *f_clone(tg_tensor *const *x, void *c) { (void)c; return tg_clone(x[0]); }

/* Two overlapping views of one base, combined: both gradients reach it. */
static tg_tensor *f_two_views(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *a = tg_narrow(x[0], 0, 0, 2), *b = tg_narrow(x[0], 0, 1, 2);
    tg_tensor *bt = tg_transpose(b, 0, 1), *btt = tg_transpose(bt, 0, 1);
    tg_tensor *out = tg_mul(a, btt);
    tg_release(a);
    tg_release(b);
    tg_release(bt);
    tg_release(btt);
    return out;
}

const gc_case gc_view[] = {
    {"view", f_view, "2,6"},
    {"reshape contiguous", f_reshape, "3,4"},
    {"reshape of transposed (copies)", f_reshape, "3,4T"},
    {"permute", f_permute, "2,3,4"},
    {"transpose", f_transpose, "2,3,4"},
    {"narrow", f_narrow, "3,4"},
    {"narrow transposed", f_narrow, "3,4T"},
    {"select", f_select, "2,4,3"},
    {"expand", f_expand, "3,1"},
    {"squeeze", f_squeeze, "3,1,4"},
    {"unsqueeze", f_unsqueeze, "3,4"},
    {"contiguous of transposed", f_contiguous, "3,4T"},
    {"clone", f_clone, "3,4"},
    {"overlapping views", f_two_views, "3,4"},
    GC_END,
};
