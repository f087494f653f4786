/* tg_interpolate against PyTorch's F.interpolate (tests/autograd/
 * fixtures_interpolate.h, made by tools/make_fixtures_interpolate.py):
 * nearest and bilinear, to sizes and by scale factors (whose source
 * coordinates use 1 / factor), with and without align_corners; outputs
 * and the input gradient for loss = sum(y * c). */
#include "fixtures_interpolate.h"
#include "parity.h"

#define TOL 1e-6f

static const struct {
    const char *name;
    tg_interpolate_opts o;
    const int64_t *hw;
    const float *c, *y, *gx;
} cases[] = {
#define CASE(NAME, ...) {#NAME, __VA_ARGS__, NAME##_hw, NAME##_c, NAME##_y, NAME##_gx}
    CASE(ip_nearest_size, {.size = {7, 3}}),
    CASE(ip_nearest_x2, {.scale_factor = {2.0, 2.0}}),
    CASE(ip_nearest_x15, {.scale_factor = {1.5, 1.7}}),
    CASE(ip_bilinear_x17, {.scale_factor = {1.7, 1.5}, .mode = TG_INTERPOLATE_BILINEAR}),
    CASE(ip_bilinear_x17_ac, {.scale_factor = {1.7, 1.5}, .mode = TG_INTERPOLATE_BILINEAR, .align_corners = true}),
    CASE(ip_bilinear_down, {.scale_factor = {0.6, 0.5}, .mode = TG_INTERPOLATE_BILINEAR}),
#undef CASE
};

START_TEST(test_interpolate)
{
    scope s = {0};
    tg_tensor *x = input(&s, ip_x, TG_SHAPE(2, 3, 4, 5), true);
    tg_tensor *y = keep(&s, tg_interpolate(x, &cases[_i].o));
    ck_assert_int_eq(y->shape[2], cases[_i].hw[0]);
    ck_assert_int_eq(y->shape[3], cases[_i].hw[1]);
    int64_t n = 6 * cases[_i].hw[0] * cases[_i].hw[1];
    backprop(&s, y, cases[_i].c);
    assert_close(y, cases[_i].y, n, TOL, cases[_i].name);
    assert_grad(x, cases[_i].gx, N_OF(ip_x), TOL, cases[_i].name);
    close_scope(&s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = input(&s, ip_x, TG_SHAPE(2, 3, 4, 5), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_interpolate(x, &(tg_interpolate_opts){.size = {3, 3}, .scale_factor = {2, 2}}));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "interpolate: give either size (both > 0) or scale_factor"));
    ck_assert_ptr_null(tg_interpolate(x, &(tg_interpolate_opts){0}));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "give either size"));
    ck_assert_ptr_null(tg_interpolate(x, &(tg_interpolate_opts){.size = {3, 3}, .align_corners = true}));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "align_corners is for bilinear only"));
    tg_tensor *x3 = keep(&s, tg_select(x, 0, 0));
    ck_assert_ptr_null(tg_interpolate(x3, &(tg_interpolate_opts){.size = {3, 3}}));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "is not 4-D"));
    close_scope(&s);
}
END_TEST

Suite *parity_interpolate_suite(void)
{
    Suite *s = suite_create("parity_interpolate");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_interpolate, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
