/* Reflect, replicate and circular padding against PyTorch's F.pad over
 * one, two and three trailing dims (tests/autograd/fixtures_pad.h, made
 * by tools/make_fixtures_pad.py): outputs and the input gradient for
 * loss = sum(y * c), edge elements summing every copy of themselves. */
#include "fixtures_pad.h"
#include "parity.h"

#define TOL 1e-6f

static const struct {
    const char *name;
    const float *x;
    int ndim;
    int64_t shape[5];
    int npads;
    int64_t pads[6];
    tg_pad_mode mode;
    const float *c, *y, *gx;
    int64_t ny;
} cases[] = {
    {"reflect 2-D", pad_x4, 4, {2, 3, 4, 5}, 4, {2, 1, 3, 2}, TG_PAD_REFLECT, pad_reflect_2d_c, pad_reflect_2d_y,
     pad_reflect_2d_gx, 2 * 3 * 9 * 8},
    {"replicate 1-D", pad_x4, 3, {6, 4, 5}, 2, {3, 0}, TG_PAD_REPLICATE, pad_replicate_1d_c, pad_replicate_1d_y,
     pad_replicate_1d_gx, 6 * 4 * 8},
    {"circular 2-D", pad_x4, 4, {2, 3, 4, 5}, 4, {1, 2, 4, 1}, TG_PAD_CIRCULAR, pad_circular_2d_c, pad_circular_2d_y,
     pad_circular_2d_gx, 2 * 3 * 9 * 8},
    {"replicate 3-D", pad_x5, 5, {1, 2, 3, 4, 5}, 6, {1, 2, 0, 1, 2, 1}, TG_PAD_REPLICATE, pad_replicate_3d_c,
     pad_replicate_3d_y, pad_replicate_3d_gx, 2 * 6 * 5 * 8},
    {"reflect 3-D", pad_x5, 5, {1, 2, 3, 4, 5}, 6, {1, 1, 2, 0, 1, 1}, TG_PAD_REFLECT, pad_reflect_3d_c,
     pad_reflect_3d_y, pad_reflect_3d_gx, 2 * 5 * 6 * 7},
};

START_TEST(test_pad)
{
    scope s = {0};
    tg_tensor *x = input(&s, cases[_i].x, cases[_i].ndim, cases[_i].shape, true);
    tg_tensor *y = keep(&s, tg_pad_edges(x, cases[_i].npads, cases[_i].pads, cases[_i].mode));
    ck_assert_int_eq(tg_numel(y), cases[_i].ny);
    backprop(&s, y, cases[_i].c);
    assert_close(y, cases[_i].y, cases[_i].ny, TOL, cases[_i].name);
    assert_grad(x, cases[_i].gx, 120, TOL, cases[_i].name);
    close_scope(&s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *x = input(&s, pad_x4, TG_SHAPE(2, 3, 4, 5), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_pad_edges(x, 2, (const int64_t[]){5, 0}, TG_PAD_REFLECT));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "reflect padding (5, 0) of dim 3 of size 5"));
    ck_assert_ptr_null(tg_pad_edges(x, 2, (const int64_t[]){6, 0}, TG_PAD_CIRCULAR));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "at most the size"));
    ck_assert_ptr_null(tg_pad_edges(x, 2, (const int64_t[]){-1, 0}, TG_PAD_REPLICATE));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "needs pads >= 0"));
    ck_assert_ptr_null(tg_pad_edges(x, 3, (const int64_t[]){1, 1, 1}, TG_PAD_REPLICATE));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "3 pads for a 4-dim input"));
    close_scope(&s);
}
END_TEST

Suite *parity_pad_suite(void)
{
    Suite *s = suite_create("parity_pad");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_pad, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
