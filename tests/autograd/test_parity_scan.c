/* cumsum, tril, triu and masked_fill against PyTorch: outputs and input
 * gradients of loss = sum(y * c) must match torch's
 * (tests/autograd/fixtures_scan.h, made by tools/make_fixtures_scan.py). */
#include "fixtures_scan.h"
#include "parity.h"

#define TOL 1e-6f

static tg_tensor *mask_fill(tg_tensor *x)
{
    tg_tensor *mask = tg_from_data(TG_SHAPE(2, 1, 4), TG_FLOAT32, scan_mask);
    tg_tensor *y = mask ? tg_masked_fill(x, mask, -3.5f) : NULL;
    tg_release(mask);
    return y;
}

#define OP(NAME, CALL) \
    static tg_tensor *NAME(tg_tensor *x) { return CALL; }
OP(cumsum_0, tg_cumsum(x, 0))
OP(cumsum_1, tg_cumsum(x, 1))
OP(cumsum_last, tg_cumsum(x, -1))
OP(tril_0, tg_tril(x, 0))
OP(tril_1, tg_tril(x, 1))
OP(tril_m1, tg_tril(x, -1))
OP(triu_0, tg_triu(x, 0))
OP(triu_2, tg_triu(x, 2))
OP(triu_m2, tg_triu(x, -2))
#undef OP

static const struct {
    const char *name;
    tg_tensor *(*op)(tg_tensor *x);
    const float *y, *gx;
} cases[] = {
#define CASE(NAME) {#NAME, NAME, NAME##_y, NAME##_gx}
    CASE(cumsum_0), CASE(cumsum_1), CASE(cumsum_last), CASE(tril_0),  CASE(tril_1),
    CASE(tril_m1),  CASE(triu_0),   CASE(triu_2),      CASE(triu_m2),
    {"masked_fill", mask_fill, masked_fill_y, masked_fill_gx},
#undef CASE
};

START_TEST(test_scan)
{
    scope s = {0};
    tg_tensor *x = input(&s, scan_x, TG_SHAPE(2, 3, 4), true);
    tg_tensor *y = keep(&s, cases[_i].op(x));
    backprop(&s, y, scan_c);
    char what[64];
    snprintf(what, sizeof what, "%s y", cases[_i].name);
    assert_close(y, cases[_i].y, N_OF(scan_x), TOL, what);
    snprintf(what, sizeof what, "%s grad x", cases[_i].name);
    assert_grad(x, cases[_i].gx, N_OF(scan_x), TOL, what);
    close_scope(&s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = input(&s, scan_x, TG_SHAPE(2, 3, 4), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_cumsum(x, 3));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "cumsum"));
    tg_tensor *row = keep(&s, tg_select(x, 0, 0)), *vec = keep(&s, tg_select(row, 0, 0));
    ck_assert_ptr_null(tg_tril(vec, 0));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tril: needs a tensor of 2 dims or more"));
    tg_tensor *big = keep(&s, tg_zeros(TG_SHAPE(2, 1, 1, 4), TG_FLOAT32)); /* broadcasts with x, not to it */
    ck_assert_ptr_null(tg_masked_fill(x, big, 0.0f));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "masked_fill: the mask's shape (2,1,1,4) does not broadcast"));
    tg_tensor *empty = keep(&s, tg_zeros(TG_SHAPE(2, 0, 4), TG_FLOAT32));
    tg_tensor *e = keep(&s, tg_triu(empty, 1));
    ck_assert_int_eq(tg_numel(e), 0);
    close_scope(&s);
}
END_TEST

Suite *parity_scan_suite(void)
{
    Suite *s = suite_create("parity_scan");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_scan, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
