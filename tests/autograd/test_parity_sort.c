/* topk and sort against PyTorch (tests/autograd/fixtures_sort.h, made by
 * tools/make_fixtures_sort.py): values, indices and the input gradient of
 * loss = sum(values * c), and the order of ties and NaNs in a stable
 * sort. */
#include "fixtures_sort.h"
#include "parity.h"

#define TOL 1e-6f

static void assert_indices(tg_tensor *t, const int64_t *want, int64_t n, const char *what)
{
    ck_assert_int_eq(tg_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(tg_data_i64(t)[i] == want[i], "%s[%lld]: %lld, torch %lld", what, (long long)i,
                      (long long)tg_data_i64(t)[i], (long long)want[i]);
}

static const struct {
    const char *name;
    bool sort;
    int64_t k;
    int dim;
    bool flag; /* largest, or descending */
    const float *c, *v;
    const int64_t *i;
    const float *gx;
    int64_t n;
} cases[] = {
    {"topk dim 1", false, 2, 1, true, topk_mid_c, topk_mid_v, topk_mid_i, topk_mid_gx, 3 * 2 * 4},
    {"topk last, smallest", false, 3, -1, false, topk_last_small_c, topk_last_small_v, topk_last_small_i,
     topk_last_small_gx, 3 * 5 * 3},
    {"sort dim 0 descending", true, 0, 0, true, sort_first_desc_c, sort_first_desc_v, sort_first_desc_i,
     sort_first_desc_gx, 60},
    {"sort last", true, 0, -1, false, sort_last_c, sort_last_v, sort_last_i, sort_last_gx, 60},
};

START_TEST(test_sort)
{
    scope s = {0};
    tg_tensor *x = input(&s, sort_x, TG_SHAPE(3, 5, 4), true), *v, *ix;
    int rc = cases[_i].sort ? tg_sort(x, cases[_i].dim, cases[_i].flag, &v, &ix)
                            : tg_topk(x, cases[_i].k, cases[_i].dim, cases[_i].flag, &v, &ix);
    ck_assert_msg(rc == 0, "%s", tg_last_error());
    keep(&s, v), keep(&s, ix);
    backprop(&s, v, cases[_i].c);
    assert_close(v, cases[_i].v, cases[_i].n, TOL, cases[_i].name);
    assert_indices(ix, cases[_i].i, cases[_i].n, cases[_i].name);
    assert_grad(x, cases[_i].gx, 60, TOL, cases[_i].name);
    close_scope(&s);
}
END_TEST

START_TEST(test_ties_and_nans)
{
    scope s = {0};
    tg_tensor *x = input(&s, ties_x, TG_SHAPE(8), false), *v, *ix;
    ck_assert_int_eq(tg_sort(x, 0, false, &v, &ix), 0);
    keep(&s, v), keep(&s, ix);
    assert_close(v, ties_asc_v, 8, 0, "ascending");
    assert_indices(ix, ties_asc_i, 8, "ascending");
    ck_assert_int_eq(tg_sort(x, -1, true, &v, &ix), 0);
    keep(&s, v), keep(&s, ix);
    assert_close(v, ties_desc_v, 8, 0, "descending");
    assert_indices(ix, ties_desc_i, 8, "descending");
    tg_clear_error();
    ck_assert_int_eq(tg_topk(x, 9, 0, true, &v, &ix), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "topk: k 9 is outside [0, 8]"));
    ck_assert_ptr_null(v);
    close_scope(&s);
}
END_TEST

Suite *parity_sort_suite(void)
{
    Suite *s = suite_create("parity_sort");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_sort, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_ties_and_nans);
    suite_add_tcase(s, tc);
    return s;
}
