/* The table-driven gradient check: every row of every gc_<family>.c table
 * is built from its input spec (see gradcheck_cases.h) and checked by
 * finite differences. A failure names the row and the mismatch. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck_cases.h"
#include "kernels.h"
#include "suites.h"

#define MAX_INPUTS 4

/* One input's spec, parsed. */
typedef struct {
    int ndim;
    int64_t shape[TG_MAX_DIMS];
    bool positive, transposed, constant, mask;
    int64_t index_bound; /* > 0: int64 indices in [0, bound) */
} input_spec;

static const char *parse_input(const char *s, input_spec *in)
{
    memset(in, 0, sizeof *in);
    while (*s == ' ') s++;
    while (*s >= '0' && *s <= '9') {
        in->shape[in->ndim++] = strtoll(s, (char **)&s, 10);
        if (*s == ',') s++;
    }
    for (; *s && *s != '|'; s++) {
        if (*s == '+') in->positive = true;
        else if (*s == 'T') in->transposed = true;
        else if (*s == 'N') in->constant = true;
        else if (*s == 'M') in->mask = in->constant = true;
        else if (*s == 'i') {
            in->index_bound = strtoll(s + 1, (char **)&s, 10);
            in->constant = true;
            s--;
        }
    }
    return *s == '|' ? s + 1 : s;
}

/* Values per the spec: away from 0, positive, or a 0/1 mask. */
static int shape_values(tg_tensor *t, const input_spec *in, tg_rng *rng)
{
    tg_tensor *u = tg_rand(rng, t->ndim, t->shape);
    if (!u) return -1;
    float *d = tg_data_f32(t), *r = tg_data_f32(u);
    for (int64_t i = 0; i < tg_numel(t); i++) {
        float x = r[i];
        if (in->mask) d[i] = x < 0.5f ? 0.0f : 1.0f;
        else if (in->positive) d[i] = 0.5f + x;
        else d[i] = (tg_rng_uniform(rng) < 0.5 ? -1.0f : 1.0f) * (0.1f + 0.9f * x);
    }
    tg_release(u);
    return 0;
}

static tg_tensor *make_input(const input_spec *in, tg_rng *rng)
{
    if (in->index_bound > 0) return tg_randint(rng, 0, in->index_bound, in->ndim, in->shape);
    int64_t stored[TG_MAX_DIMS];
    memcpy(stored, in->shape, sizeof stored);
    if (in->transposed) {
        stored[in->ndim - 2] = in->shape[in->ndim - 1];
        stored[in->ndim - 1] = in->shape[in->ndim - 2];
    }
    tg_tensor *base = tg_empty(in->ndim, stored, TG_FLOAT32);
    if (!base || shape_values(base, in, rng)) {
        tg_release(base);
        return NULL;
    }
    tg_tensor *t = in->transposed ? tg_k_transpose(base, -2, -1) : tg_retain(base);
    tg_release(base);
    if (t && !in->constant) tg_set_requires_grad(t, true);
    return t;
}

static void run_case(const gc_case *c)
{
    tg_rng rng = tg_rng_new(1234, 0);
    tg_tensor *x[MAX_INPUTS] = {0};
    int n = 0;
    for (const char *s = c->inputs; *s && n < MAX_INPUTS; n++) {
        input_spec in;
        s = parse_input(s, &in);
        x[n] = make_input(&in, &rng);
        ck_assert_msg(x[n], "%s: input %d: %s", c->name, n, tg_last_error());
    }
    int rc = tg_gradcheck(c->fn, NULL, n, x, NULL);
    for (int i = 0; i < n; i++) tg_release(x[i]);
    ck_assert_msg(rc == 0, "%s: %s", c->name, tg_last_error());
}

static const gc_case *const tables[] = {gc_elementwise, gc_activation, gc_view, gc_reduce, gc_linalg,
                                        gc_index,       gc_conv,       gc_norm, gc_nn,     gc_loss,
                                        gc_scan,        gc_layer_norm, gc_attention, gc_rnn};

static int count_rows(void)
{
    int n = 0;
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const gc_case *c = tables[t]; c->name; c++) n++;
    return n;
}

static const gc_case *row(int i)
{
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const gc_case *c = tables[t]; c->name; c++)
            if (i-- == 0) return c;
    return NULL;
}

START_TEST(test_row) { run_case(row(_i)); }
END_TEST

/* The checker must catch a wrong gradient: an op whose backward is off by a
 * factor of two fails. */
static int twice_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    (void)n;
    return (grads[0] = tg_k_mul_scalar(g, 2.0f)) ? 0 : -1;
}

static tg_tensor *broken_identity(tg_tensor *const *x, void *ctx)
{
    (void)ctx;
    return tg_recorded(tg_k_clone(x[0]), "broken", twice_backward, 1, x, 0, NULL, NULL, 0);
}

START_TEST(test_catches_wrong_gradient)
{
    tg_rng rng = tg_rng_new(1, 0);
    tg_tensor *x = tg_randn(&rng, TG_SHAPE(3, 2));
    tg_set_requires_grad(x, true);
    ck_assert_int_eq(tg_gradcheck(broken_identity, NULL, 1, &x, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "analytic"));
    tg_release(x);
}
END_TEST

Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = tcase_create("table");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_row, 0, count_rows());
    tcase_add_test(tc, test_catches_wrong_gradient);
    suite_add_tcase(s, tc);
    return s;
}
