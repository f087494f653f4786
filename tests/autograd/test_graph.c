/* Autograd semantics: leaves and non-leaves, accumulation, grad mode,
 * detach, version counters, freed graphs, and error messages. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels.h"
#include "suites.h"

static tg_tensor *leaf(float a, float b, float c)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(3), TG_FLOAT32, (float[]){a, b, c});
    tg_set_requires_grad(t, true);
    return t;
}

static float grad_at(tg_tensor *t, int64_t i)
{
    tg_tensor *g = tg_grad(t);
    ck_assert_ptr_nonnull(g);
    float v = tg_get(g, &i);
    tg_release(g);
    return v;
}

START_TEST(test_leaf_rules)
{
    tg_tensor *x = leaf(1, 2, 3), *c = tg_ones(TG_SHAPE(3), TG_FLOAT32);
    ck_assert(tg_is_leaf(x) && tg_requires_grad(x));
    ck_assert(!tg_requires_grad(c));
    tg_tensor *y = tg_mul(x, c);
    ck_assert(!tg_is_leaf(y) && tg_requires_grad(y));
    ck_assert_str_eq(tg_grad_fn_name(y), "mul");
    ck_assert_int_eq(tg_set_requires_grad(y, false), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "leaf"));
    tg_tensor *z = tg_mul(c, c);
    ck_assert(!tg_requires_grad(z) && tg_is_leaf(z));
    tg_tensor *idx = tg_zeros(TG_SHAPE(2), TG_INT64);
    ck_assert_int_eq(tg_set_requires_grad(idx, true), -1);
    tg_release(x), tg_release(c), tg_release(y), tg_release(z), tg_release(idx);
}
END_TEST

START_TEST(test_accumulates_across_backwards)
{
    tg_tensor *x = leaf(1, 2, 3);
    for (int k = 0; k < 2; k++) {
        tg_tensor *y = tg_mul(x, x), *s = tg_sum(y, 0, NULL, false);
        ck_assert_int_eq(tg_backward(s, NULL), 0);
        tg_release(y), tg_release(s);
    }
    ck_assert_float_eq(grad_at(x, 2), 12.0f); /* 2 * (2 * 3) */
    tg_zero_grad(x);
    ck_assert_ptr_null(tg_grad(x));
    tg_release(x);
}
END_TEST

START_TEST(test_graph_outlives_intermediates)
{
    tg_tensor *x = leaf(1, 2, 3);
    tg_tensor *a = tg_exp(x), *b = tg_mul_scalar(a, 2.0f);
    tg_release(a); /* the graph keeps what backward needs */
    tg_tensor *s = tg_sum(b, 0, NULL, false);
    tg_release(b);
    ck_assert_int_eq(tg_backward(s, NULL), 0);
    ck_assert_float_eq_tol(grad_at(x, 1), 2.0f * expf(2.0f), 1e-4);
    tg_release(s), tg_release(x);
}
END_TEST

START_TEST(test_second_backward_refused)
{
    tg_tensor *x = leaf(1, 2, 3), *y = tg_exp(x), *s = tg_sum(y, 0, NULL, false);
    ck_assert_int_eq(tg_backward(s, NULL), 0);
    ck_assert_int_eq(tg_backward(s, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "tg_backward_retain"));
    tg_release(x), tg_release(y), tg_release(s);
}
END_TEST

START_TEST(test_retain_graph)
{
    tg_tensor *x = leaf(1, 2, 3), *y = tg_exp(x), *s = tg_sum(y, 0, NULL, false);
    ck_assert_int_eq(tg_backward_retain(s, NULL), 0);
    ck_assert_int_eq(tg_backward(s, NULL), 0);
    ck_assert_float_eq_tol(grad_at(x, 0), 2.0f * expf(1.0f), 1e-4);
    tg_release(x), tg_release(y), tg_release(s);
}
END_TEST

START_TEST(test_no_grad_and_detach)
{
    tg_tensor *x = leaf(1, 2, 3);
    tg_no_grad_enter();
    tg_tensor *y = tg_mul(x, x);
    tg_no_grad_exit();
    ck_assert(!tg_requires_grad(y));
    tg_tensor *d = tg_detach(x);
    ck_assert(!tg_requires_grad(d) && d->storage == x->storage);
    tg_tensor *z = tg_mul(d, x), *s = tg_sum(z, 0, NULL, false);
    ck_assert_int_eq(tg_backward(s, NULL), 0);
    ck_assert_float_eq(grad_at(x, 1), 2.0f); /* only through the non-detached side */
    tg_release(x), tg_release(y), tg_release(d), tg_release(z), tg_release(s);
}
END_TEST

START_TEST(test_backward_needs_grad_for_non_scalar)
{
    tg_tensor *x = leaf(1, 2, 3), *y = tg_mul_scalar(x, 3.0f);
    ck_assert_int_eq(tg_backward(y, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "(3)"));
    tg_tensor *g = tg_from_data(TG_SHAPE(3), TG_FLOAT32, (float[]){1, 10, 100});
    ck_assert_int_eq(tg_backward(y, g), 0);
    ck_assert_float_eq(grad_at(x, 2), 300.0f);
    tg_tensor *c = tg_ones(TG_SHAPE(3), TG_FLOAT32);
    ck_assert_int_eq(tg_backward(c, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "does not require grad"));
    tg_release(x), tg_release(y), tg_release(g), tg_release(c);
}
END_TEST

START_TEST(test_modified_saved_tensor_refused)
{
    tg_tensor *x = leaf(1, 2, 3);
    tg_tensor *e = tg_exp(x);     /* exp saves its output */
    tg_tensor *s = tg_sum(e, 0, NULL, false);
    tg_tensor *one = tg_ones(TG_SHAPE(3), TG_FLOAT32);
    ck_assert_int_eq(tg_add_(e, one), 0); /* changes what exp saved */
    tg_tensor *t = tg_sum(e, 0, NULL, false);
    ck_assert_int_eq(tg_backward(t, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "exp backward"));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "modified by an in-place op"));
    tg_release(x), tg_release(e), tg_release(s), tg_release(one), tg_release(t);
}
END_TEST

START_TEST(test_inplace_on_leaf_refused)
{
    tg_tensor *x = leaf(1, 2, 3);
    ck_assert_int_eq(tg_relu_(x), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "leaf"));
    tg_no_grad_enter(); /* allowed without grad mode, like an optimizer step */
    ck_assert_int_eq(tg_mul_scalar_(x, 2.0f), 0);
    tg_no_grad_exit();
    ck_assert_float_eq(tg_get(x, (int64_t[]){2}), 6.0f);
    tg_release(x);
}
END_TEST

START_TEST(test_inplace_on_view_refused)
{
    tg_tensor *x = leaf(1, 2, 3), *y = tg_mul_scalar(x, 1.0f), *v = tg_narrow(y, 0, 0, 2);
    ck_assert_int_eq(tg_relu_(v), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "view"));
    tg_release(x), tg_release(y), tg_release(v);
}
END_TEST

START_TEST(test_version_counter)
{
    tg_tensor *x = tg_zeros(TG_SHAPE(3), TG_FLOAT32), *v = tg_k_narrow(x, 0, 1, 1);
    uint64_t before = tg_version(x);
    ck_assert_int_eq(tg_k_add_scalar_(v, 1.0f), 0);
    ck_assert_uint_eq(tg_version(x), before + 1); /* views share the counter */
    tg_release(x), tg_release(v);
}
END_TEST

START_TEST(test_null_propagates_first_error)
{
    tg_tensor *a = tg_ones(TG_SHAPE(2, 3), TG_FLOAT32), *b = tg_ones(TG_SHAPE(4, 3), TG_FLOAT32);
    tg_tensor *bad = tg_add(a, b);
    ck_assert_ptr_null(bad);
    char first[256];
    snprintf(first, sizeof first, "%s", tg_last_error());
    ck_assert_ptr_nonnull(strstr(first, "(2,3) and (4,3)"));
    tg_tensor *worse = tg_exp(tg_mul(bad, a));
    ck_assert_ptr_null(worse);
    ck_assert_str_eq(tg_last_error(), first);
    ck_assert_int_eq(tg_backward(worse, NULL), -1);
    tg_release(a), tg_release(b);
}
END_TEST

/* A chain far deeper than the C stack could recurse: backward and freeing
 * both walk it in loops. */
START_TEST(test_deep_chain)
{
    tg_tensor *x = leaf(1, 2, 3), *y = tg_retain(x);
    for (int i = 0; i < 1000000; i++) {
        tg_tensor *next = tg_add_scalar(y, 1e-6f);
        tg_release(y);
        y = next;
    }
    tg_tensor *s = tg_sum(y, 0, NULL, false);
    ck_assert_int_eq(tg_backward(s, NULL), 0);
    ck_assert_float_eq(grad_at(x, 0), 1.0f);
    tg_release(s), tg_release(y);
    tg_tensor *z = tg_retain(x); /* freed without a backward */
    for (int i = 0; i < 1000000; i++) {
        tg_tensor *next = tg_mul_scalar(z, 1.0f);
        tg_release(z);
        z = next;
    }
    tg_release(z), tg_release(x);
}
END_TEST

/* What the hook heard: the leaves in order and each one's gradient then. */
typedef struct {
    tg_tensor *leaves[8];
    float first[8];
    int n;
} heard;

static void hear(tg_tensor *leaf, void *ctx)
{
    heard *h = ctx;
    tg_tensor *g = tg_grad(leaf);
    h->first[h->n] = g ? tg_data_f32(g)[0] : NAN;
    h->leaves[h->n++] = leaf;
    tg_release(g);
}

START_TEST(test_hook_hears_each_leaf_once_when_final)
{
    /* y = sum(a b + a c + b): a gets two edges, b two, c one; d is not reached. */
    tg_tensor *a = leaf(1, 2, 3), *b = leaf(4, 5, 6), *c = leaf(7, 8, 9), *d = leaf(0, 0, 0);
    int scope = tg_scope_begin();
    tg_tensor *y = tg_sum(tg_add(tg_add(tg_mul(a, b), tg_mul(a, c)), b), 0, NULL, false);
    heard h = {0};
    ck_assert_int_eq(tg_backward_with_hook(y, NULL, hear, &h), 0);
    tg_scope_end(scope);
    ck_assert_int_eq(h.n, 3);
    tg_tensor *want[] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        int seen = 0;
        for (int i = 0; i < h.n; i++) {
            if (h.leaves[i] != want[k]) continue;
            seen++;
            ck_assert_float_eq(h.first[i], grad_at(want[k], 0)); /* final when heard */
        }
        ck_assert_int_eq(seen, 1);
    }
    ck_assert_float_eq(grad_at(a, 0), 4 + 7);
    ck_assert_float_eq(grad_at(b, 0), 1 + 1);
    /* The same order again, and a leaf as the root is heard too. */
    heard again = {0}, alone = {0};
    scope = tg_scope_begin();
    y = tg_sum(tg_add(tg_add(tg_mul(a, b), tg_mul(a, c)), b), 0, NULL, false);
    ck_assert_int_eq(tg_backward_with_hook(y, NULL, hear, &again), 0);
    tg_scope_end(scope);
    ck_assert_mem_eq(again.leaves, h.leaves, 3 * sizeof *h.leaves);
    tg_tensor *s = tg_from_data(TG_SHAPE(1), TG_FLOAT32, (float[]){2});
    tg_set_requires_grad(s, true);
    ck_assert_int_eq(tg_backward_with_hook(s, NULL, hear, &alone), 0);
    ck_assert_int_eq(alone.n, 1);
    ck_assert_ptr_eq(alone.leaves[0], s);
    tg_release(a), tg_release(b), tg_release(c), tg_release(d), tg_release(s);
}
END_TEST

Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_leaf_rules);
    tcase_add_test(tc, test_accumulates_across_backwards);
    tcase_add_test(tc, test_graph_outlives_intermediates);
    tcase_add_test(tc, test_second_backward_refused);
    tcase_add_test(tc, test_retain_graph);
    tcase_add_test(tc, test_no_grad_and_detach);
    tcase_add_test(tc, test_backward_needs_grad_for_non_scalar);
    tcase_add_test(tc, test_modified_saved_tensor_refused);
    tcase_add_test(tc, test_inplace_on_leaf_refused);
    tcase_add_test(tc, test_inplace_on_view_refused);
    tcase_add_test(tc, test_version_counter);
    tcase_add_test(tc, test_null_propagates_first_error);
    tcase_add_test(tc, test_deep_chain);
    tcase_add_test(tc, test_hook_hears_each_leaf_once_when_final);
    suite_add_tcase(s, tc);
    return s;
}
