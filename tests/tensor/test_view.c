/* Views share storage; reshape copies only when it must; copies convert. */
#include <string.h>

#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

static tg_tensor *iota(int ndim, const int64_t *shape)
{
    tg_tensor *t = tg_empty(ndim, shape, TG_FLOAT32);
    float *d = tg_data_f32(t);
    for (int64_t i = 0; i < tg_numel(t); i++) d[i] = (float)i;
    return t;
}

START_TEST(test_views_share_storage)
{
    tg_tensor *t = iota(TG_SHAPE(2, 3, 4));
    tg_tensor *p = tg_k_permute(t, (int[]){2, 0, 1});
    ck_assert_ptr_eq(p->storage, t->storage);
    ck_assert(p->is_view && !tg_is_contiguous(p));
    ck_assert_float_eq(tg_get(p, (int64_t[]){3, 1, 2}), 1 * 12 + 2 * 4 + 3);
    tg_tensor *n = tg_k_narrow(t, 2, 1, 2), *s = tg_k_select(t, 1, -1);
    ck_assert_float_eq(tg_get(n, (int64_t[]){1, 2, 0}), 12 + 8 + 1);
    ck_assert_int_eq(s->ndim, 2);
    ck_assert_float_eq(tg_get(s, (int64_t[]){1, 3}), 12 + 8 + 3);
    tg_tensor *u = tg_k_unsqueeze(t, 1), *q = tg_k_squeeze(u, 1);
    ck_assert_int_eq(u->ndim, 4);
    ck_assert(tg_same_shape(q, t));
    tg_tensor *row = tg_k_select(s, 0, 0), *e = tg_k_expand(row, TG_SHAPE(5, 4));
    ck_assert_int_eq(e->stride[0], 0);
    ck_assert_float_eq(tg_get(e, (int64_t[]){4, 2}), 8 + 2);
    tg_release(t), tg_release(p), tg_release(n), tg_release(s), tg_release(u), tg_release(q), tg_release(row), tg_release(e);
}
END_TEST

START_TEST(test_view_vs_reshape)
{
    tg_tensor *t = iota(TG_SHAPE(3, 4)), *tt = tg_k_transpose(t, 0, 1);
    tg_tensor *v = tg_k_view(t, TG_SHAPE(2, -1, 2));
    ck_assert_int_eq(v->shape[1], 3);
    ck_assert_ptr_eq(v->storage, t->storage);
    ck_assert_ptr_null(tg_k_view(tt, TG_SHAPE(12)));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "use reshape"));
    tg_tensor *r = tg_k_reshape(tt, TG_SHAPE(12));
    ck_assert_ptr_ne(r->storage, t->storage);
    ck_assert_float_eq(tg_get(r, (int64_t[]){1}), 4.0f); /* tt[0][1] = t[1][0] */
    tg_tensor *ok = tg_k_view(tt, TG_SHAPE(2, 2, 3)); /* splitting a dim is a view */
    ck_assert_ptr_nonnull(ok);
    ck_assert_ptr_null(tg_k_reshape(t, TG_SHAPE(5, -1)));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "invalid for a tensor of shape (3,4)"));
    tg_release(t), tg_release(tt), tg_release(v), tg_release(r), tg_release(ok);
}
END_TEST

START_TEST(test_contiguous_copies_only_when_needed)
{
    tg_tensor *t = iota(TG_SHAPE(3, 4)), *c = tg_k_contiguous(t);
    ck_assert_ptr_eq(c, t);
    tg_tensor *tt = tg_k_transpose(t, 0, 1), *ct = tg_k_contiguous(tt);
    ck_assert(tg_is_contiguous(ct) && ct->storage != t->storage);
    ck_assert_float_eq(tg_get(ct, (int64_t[]){3, 2}), 11.0f);
    tg_release(t), tg_release(c), tg_release(tt), tg_release(ct);
}
END_TEST

START_TEST(test_copy_fill_and_dtype)
{
    tg_tensor *t = tg_zeros(TG_SHAPE(2, 3), TG_FLOAT32), *row = tg_arange(1, 4, 1);
    ck_assert_int_eq(tg_k_copy_(t, row), 0); /* broadcast copy */
    ck_assert_float_eq(tg_get(t, (int64_t[]){1, 2}), 3.0f);
    tg_tensor *col = tg_k_narrow(t, 1, 1, 1);
    ck_assert_int_eq(tg_k_fill_(col, -2.0), 0);
    ck_assert_float_eq(tg_get(t, (int64_t[]){0, 1}), -2.0f);
    ck_assert_float_eq(tg_get(t, (int64_t[]){0, 2}), 3.0f);
    tg_tensor *i = tg_k_to_dtype(t, TG_INT64);
    ck_assert_int_eq(i->dtype, TG_INT64);
    ck_assert_int_eq(tg_get_i64(i, (int64_t[]){1, 1}), -2);
    tg_tensor *bad = tg_ones(TG_SHAPE(4), TG_FLOAT32);
    ck_assert_int_eq(tg_k_copy_(t, bad), -1);
    tg_release(t), tg_release(row), tg_release(col), tg_release(i), tg_release(bad);
}
END_TEST

START_TEST(test_view_errors)
{
    tg_tensor *t = iota(TG_SHAPE(2, 3));
    ck_assert_ptr_null(tg_k_permute(t, (int[]){0, 0}));
    ck_assert_ptr_null(tg_k_narrow(t, 1, 2, 2));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "exceeds size 3"));
    ck_assert_ptr_null(tg_k_select(t, 0, 2));
    ck_assert_ptr_null(tg_k_squeeze(t, 0));
    ck_assert_ptr_null(tg_k_expand(t, TG_SHAPE(4, 3)));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "cannot expand (2,3) to (4,3)"));
    tg_release(t);
}
END_TEST

Suite *view_suite(void)
{
    Suite *s = suite_create("view");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_views_share_storage);
    tcase_add_test(tc, test_view_vs_reshape);
    tcase_add_test(tc, test_contiguous_copies_only_when_needed);
    tcase_add_test(tc, test_copy_fill_and_dtype);
    tcase_add_test(tc, test_view_errors);
    suite_add_tcase(s, tc);
    return s;
}
