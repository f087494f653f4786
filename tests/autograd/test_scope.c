/* Scopes for intermediates (autograd/scope.h): what ops return inside a
 * scope is released when it ends, kept tensors pass to the enclosing scope
 * or the caller, a graph built in a scope backpropagates after it, and the
 * library's composite ops, backward and gradcheck run inside scopes
 * without releasing anything twice (the sanitizer build checks that). */
#include <math.h>

#include "suites.h"
#include "tensorgrad.h"

static tg_tensor *vec(float a, float b, float c, bool grad)
{
    tg_tensor *t = tg_from_data(TG_SHAPE(3), TG_FLOAT32, (const float[]){a, b, c});
    if (grad) ck_assert_int_eq(tg_set_requires_grad(t, true), 0);
    return t;
}

static long refs(const tg_tensor *t) { return t->refcount; }

START_TEST(test_intermediates_released)
{
    tg_tensor *x = vec(1, 2, 3, false);
    int scope = tg_scope_begin();
    ck_assert_int_gt(scope, 0);
    tg_tensor *y = tg_mul(x, x), *z = tg_add(y, x);
    tg_retain(y); /* a reference of the test's own, to watch the scope's go */
    ck_assert_int_eq(refs(y), 2);
    ck_assert_float_eq(tg_data_f32(z)[2], 12.0f);
    tg_scope_end(scope);
    ck_assert_int_eq(refs(y), 1);
    tg_release(y);
    ck_assert_int_eq(refs(x), 1);
    tg_release(x);
}
END_TEST

/* Kept from an inner scope: the outer one holds it; from the outermost:
 * the caller. */
START_TEST(test_keep_passes_outward)
{
    tg_tensor *x = vec(1, 2, 3, false);
    int outer = tg_scope_begin();
    int inner = tg_scope_begin();
    tg_tensor *kept = tg_keep(tg_add_scalar(x, 1.0f));
    tg_scope_end(inner);
    ck_assert_int_eq(refs(kept), 1); /* the outer scope's */
    tg_retain(kept);
    tg_tensor *mine = tg_keep(tg_mul_scalar(kept, 2.0f));
    tg_scope_end(outer);
    ck_assert_int_eq(refs(kept), 1);
    ck_assert_int_eq(refs(mine), 1);
    ck_assert_float_eq(tg_data_f32(mine)[0], 4.0f);
    tg_release(kept), tg_release(mine), tg_release(x);
}
END_TEST

/* No scope: ops and tg_keep hand the caller its reference, as before. */
START_TEST(test_no_scope)
{
    tg_tensor *x = vec(1, 2, 3, false);
    tg_tensor *y = tg_keep(tg_neg(x));
    ck_assert_int_eq(refs(y), 1);
    ck_assert_ptr_eq(tg_scoped(y), y);
    tg_release(y), tg_release(x);
}
END_TEST

/* A loss made in a scope backpropagates after it ends; the grads match. */
START_TEST(test_graph_outlives_scope)
{
    tg_tensor *x = vec(1, 2, 3, true), *w = vec(0.5f, -1, 2, true);
    int scope = tg_scope_begin();
    tg_tensor *h = tg_relu(tg_mul(x, w));
    tg_tensor *loss = tg_keep(tg_sum(tg_mul(h, h), 0, NULL, false));
    tg_scope_end(scope);
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    tg_tensor *gx = tg_grad(x);
    /* d/dx sum(relu(x w)^2) = 2 relu(x w) w: 2*0.5*0.5, 0, 2*6*2 */
    ck_assert_float_eq(tg_data_f32(gx)[0], 0.5f);
    ck_assert_float_eq(tg_data_f32(gx)[1], 0.0f);
    ck_assert_float_eq(tg_data_f32(gx)[2], 24.0f);
    tg_release(gx), tg_release(loss), tg_release(x), tg_release(w);
}
END_TEST

/* Ending an outer scope ends those left open inside it; a stale token or
 * one of no scope does nothing. */
START_TEST(test_end_nested_and_stale)
{
    tg_tensor *x = vec(1, 2, 3, false);
    int outer = tg_scope_begin();
    tg_tensor *a = tg_retain(tg_neg(x));
    int inner = tg_scope_begin();
    tg_tensor *b = tg_retain(tg_neg(x));
    tg_scope_end(outer);
    ck_assert_int_eq(refs(a), 1);
    ck_assert_int_eq(refs(b), 1);
    tg_scope_end(inner); /* already ended */
    tg_scope_end(0);
    tg_scope_end(1000);
    ck_assert_int_eq(refs(a), 1);
    tg_release(a), tg_release(b), tg_release(x);
}
END_TEST

/* l1(m v, target c): a user function that opens its own scope. */
static tg_tensor *l1_of_matvec(tg_tensor *const *x, void *c)
{
    int scope = tg_scope_begin();
    tg_tensor *out = tg_keep(tg_l1_loss(tg_matmul(x[0], x[1]), c, TG_REDUCTION_SUM));
    tg_scope_end(scope);
    return out;
}

/* Composite ops (matmul of a vector, the reduced losses, topk, max pooling
 * with indices, masked_fill, contiguous), backward and gradcheck, all in a
 * scope: each result is released once. */
START_TEST(test_library_inside_scope)
{
    tg_tensor *m = tg_from_data(TG_SHAPE(2, 3), TG_FLOAT32, (const float[]){1, -2, 3, 0.5f, 1, -1});
    tg_tensor *v = vec(0.3f, -0.7f, 0.2f, true), *t = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (const float[]){1, 2});
    ck_assert_int_eq(tg_set_requires_grad(m, true), 0);
    int scope = tg_scope_begin();
    tg_tensor *mv = tg_matmul(m, v);
    tg_tensor *loss = tg_add(tg_l1_loss(mv, t, TG_REDUCTION_MEAN),
                             tg_binary_cross_entropy_with_logits(mv, tg_sigmoid(t), t, NULL, TG_REDUCTION_SUM));
    tg_tensor *values, *indices, *pool_idx;
    ck_assert_int_eq(tg_topk(tg_contiguous(m), 2, 1, true, &values, &indices), 0);
    tg_tensor *img = tg_reshape(m, 4, (const int64_t[]){1, 1, 2, 3});
    tg_tensor *pooled = tg_max_pool2d_with_indices(img, (tg_pool2d_opts){.kernel = {2, 2}}, &pool_idx);
    tg_tensor *masked = tg_masked_fill(values, tg_gt(values, tg_scoped(tg_scalar(0.9f))), 0.0f);
    tg_tensor *all = tg_add(tg_add(loss, tg_sum(masked, 0, NULL, false)), tg_sum(pooled, 0, NULL, false));
    ck_assert_ptr_nonnull(pool_idx);
    ck_assert_int_eq(tg_backward(all, NULL), 0);
    ck_assert_int_eq(tg_gradcheck(l1_of_matvec, t, 2, (tg_tensor *[]){m, v}, NULL), 0);
    tg_scope_end(scope);
    ck_assert_int_eq(refs(m), 1);
    ck_assert_int_eq(refs(v), 1);
    tg_release(m), tg_release(v), tg_release(t);
}
END_TEST

Suite *scope_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = tcase_create("scope");
    tcase_add_test(tc, test_intermediates_released);
    tcase_add_test(tc, test_keep_passes_outward);
    tcase_add_test(tc, test_no_scope);
    tcase_add_test(tc, test_graph_outlives_scope);
    tcase_add_test(tc, test_end_nested_and_stale);
    tcase_add_test(tc, test_library_inside_scope);
    suite_add_tcase(s, tc);
    return s;
}
