/* Helpers shared by the PyTorch parity suites of tests/autograd; see
 * parity.h. */
#include "parity.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

tg_tensor *keep(scope *s, tg_tensor *t)
{
    ck_assert_msg(t != NULL, "%s", tg_last_error());
    ck_assert_int_lt(s->n, SCOPE_MAX);
    return s->t[s->n++] = t;
}

void close_scope(scope *s)
{
    for (int i = 0; i < s->n; i++) tg_release(s->t[i]);
}

tg_tensor *input(scope *s, const float *v, int ndim, const int64_t *shape, bool grad)
{
    tg_tensor *t = keep(s, tg_from_data(ndim, shape, TG_FLOAT32, v));
    if (grad) tg_set_requires_grad(t, true);
    return t;
}

void assert_close(tg_tensor *t, const float *want, int64_t n, float tol, const char *what)
{
    ck_assert_msg(t != NULL, "%s: %s", what, tg_last_error());
    ck_assert_int_eq(tg_numel(t), n);
    float *got = malloc((size_t)n * sizeof *got);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int64_t i = 0; i < n; i++) {
        bool same = isnan(want[i]) ? isnan(got[i]) : fabsf(got[i] - want[i]) <= tol * (1 + fabsf(want[i]));
        ck_assert_msg(same, "%s[%lld]: %.7g, torch %.7g", what, (long long)i, got[i], want[i]);
    }
    free(got);
}

void assert_grad(tg_tensor *t, const float *want, int64_t n, float tol, const char *what)
{
    tg_tensor *g = tg_grad(t);
    ck_assert_msg(g != NULL, "%s: no gradient", what);
    assert_close(g, want, n, tol, what);
    tg_release(g);
}

void backprop(scope *s, tg_tensor *y, const float *c)
{
    tg_tensor *ct = input(s, c, y->ndim, y->shape, false);
    tg_tensor *loss = keep(s, tg_sum(keep(s, tg_mul(y, ct)), 0, NULL, false));
    ck_assert_msg(tg_backward(loss, NULL) == 0, "%s", tg_last_error());
}

void expect_failure(tg_tensor *y, const char *message)
{
    ck_assert_ptr_null(y);
    ck_assert_msg(strstr(tg_last_error(), message), "error '%s' lacks '%s'", tg_last_error(), message);
}
