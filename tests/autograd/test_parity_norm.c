/* Batch norm (alone, and followed by a relu after an optional residual)
 * and pooling against PyTorch: outputs, input gradients and the updated
 * running statistics must match the values torch computed
 * (tests/autograd/fixtures_norm.h, made by tools/make_fixtures_norm.py).
 * Each case backpropagates loss = sum(y * c) for the fixture's c. */
#include "fixtures_norm.h"
#include "parity.h"

#define MOMENTUM 0.1f
#define EPS 1e-5f

/* ---- batch norm ---- */

/* One batch-norm fixture: inputs, and torch's results. relu: y is
 * relu(bn(x) + r), r and its gradient gr given or NULL. */
typedef struct {
    const float *x, *w, *b, *rm, *rv, *c;
    const float *y, *rm_after, *rv_after, *gx, *gw, *gb;
    int ndim;
    int64_t shape[4];
    bool training;
    int groups;
    bool relu;
    const float *r, *gr;
} bn_case;

#define BN_CASE(P, TRAIN, GROUPS, RM_AFTER, RV_AFTER, ...) \
    (bn_case) { P##_x, P##_w, P##_b, P##_rm, P##_rv, P##_c, P##_y, RM_AFTER, RV_AFTER, P##_gx, P##_gw, P##_gb, \
                TG_SHAPE_N(__VA_ARGS__), {__VA_ARGS__}, TRAIN, GROUPS, false, NULL, NULL }
#define BN_RELU_CASE(P, TRAIN, GROUPS, R, GR, ...) \
    (bn_case) { P##_x, P##_w, P##_b, P##_rm, P##_rv, P##_c, P##_y, P##_rm_after, P##_rv_after, P##_gx, P##_gw, \
                P##_gb, TG_SHAPE_N(__VA_ARGS__), {__VA_ARGS__}, TRAIN, GROUPS, true, R, GR }
#define TG_SHAPE_N(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* The case's op on x, its residual (or NULL) and the rest. */
static tg_tensor *bn_op(const bn_case *k, tg_tensor *x, tg_tensor *r, tg_tensor *rm, tg_tensor *rv, tg_tensor *w,
                        tg_tensor *b)
{
    if (r) return tg_batch_norm_add_relu(x, r, rm, rv, w, b, k->training, MOMENTUM, EPS, k->groups);
    if (k->relu) return tg_batch_norm_relu(x, rm, rv, w, b, k->training, MOMENTUM, EPS, k->groups);
    return tg_batch_norm(x, rm, rv, w, b, k->training, MOMENTUM, EPS, k->groups);
}

static void run_bn(const bn_case *k, float tol)
{
    scope s = {0};
    int64_t n = 1, ch = k->shape[1];
    for (int i = 0; i < k->ndim; i++) n *= k->shape[i];
    tg_tensor *x = input(&s, k->x, k->ndim, k->shape, true);
    tg_tensor *w = input(&s, k->w, 1, &ch, true), *b = input(&s, k->b, 1, &ch, true);
    tg_tensor *rm = input(&s, k->rm, 1, &ch, false), *rv = input(&s, k->rv, 1, &ch, false);
    tg_tensor *r = k->r ? input(&s, k->r, k->ndim, k->shape, true) : NULL;
    tg_tensor *y = keep(&s, bn_op(k, x, r, rm, rv, w, b));
    backprop(&s, y, k->c);
    if (r) assert_grad(r, k->gr, n, tol, "grad residual");
    assert_close(y, k->y, n, tol, "y");
    assert_close(rm, k->rm_after ? k->rm_after : k->rm, ch, tol, "running_mean");
    assert_close(rv, k->rv_after ? k->rv_after : k->rv, ch, tol, "running_var");
    assert_grad(x, k->gx, n, tol, "grad x");
    assert_grad(w, k->gw, ch, tol, "grad weight");
    assert_grad(b, k->gb, ch, tol, "grad bias");
    close_scope(&s);
}

START_TEST(test_bn_train_4d)
{
    bn_case k = BN_CASE(bn4, true, 1, bn4_rm_after, bn4_rv_after, 4, 3, 4, 4);
    run_bn(&k, 1e-5f);
}
END_TEST

START_TEST(test_bn_train_2d)
{
    bn_case k = BN_CASE(bn2, true, 1, bn2_rm_after, bn2_rv_after, 8, 5);
    run_bn(&k, 1e-5f);
}
END_TEST

START_TEST(test_bn_eval)
{
    bn_case k = BN_CASE(bneval, false, 1, NULL, NULL, 2, 3, 4, 4);
    run_bn(&k, 1e-5f);
}
END_TEST

/* Two groups of 4 consecutive samples, each with its own statistics. */
START_TEST(test_bn_split)
{
    bn_case k = BN_CASE(bnsplit, true, 2, bnsplit_rm_after, bnsplit_rv_after, 8, 2, 3, 3);
    run_bn(&k, 1e-5f);
}
END_TEST

/* relu(bn(x)) in training: 4-D, 2-D, two groups of 4 samples. */
START_TEST(test_bn_relu_train)
{
    bn_case k[] = {BN_RELU_CASE(bnrelu4, true, 1, NULL, NULL, 4, 3, 4, 4),
                   BN_RELU_CASE(bnrelu2, true, 1, NULL, NULL, 8, 5),
                   BN_RELU_CASE(bnrelusplit, true, 2, NULL, NULL, 8, 2, 3, 3)};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) run_bn(&k[i], 1e-5f);
}
END_TEST

/* relu(bn(x) + r): eval, and training in two groups. */
START_TEST(test_bn_add_relu)
{
    bn_case k[] = {BN_RELU_CASE(bnreluevalr, false, 1, bnreluevalr_r, bnreluevalr_gr, 2, 3, 4, 4),
                   BN_RELU_CASE(bnaddrelu, true, 2, bnaddrelu_r, bnaddrelu_gr, 8, 2, 3, 3)};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) run_bn(&k[i], 1e-5f);
}
END_TEST

/* ---- pooling ---- */

typedef enum { MAX, AVG, ADAPTIVE } pool_kind;

typedef struct {
    const char *name;
    const float *x, *c, *y, *gx;
    int64_t shape[4], nx, ny;
    pool_kind kind;
    tg_pool2d_opts opts;
    int64_t out[2]; /* adaptive output size */
} pool_case;

#define POOL_CASE(P, KIND, OUT_H, OUT_W, H, W, ...) \
    {#P, P##_x, P##_c, P##_y, P##_gx, {1, 2, H, W}, N_OF(P##_x), N_OF(P##_y), KIND, {__VA_ARGS__}, {OUT_H, OUT_W}}

static const pool_case pool_cases[] = {
    POOL_CASE(maxp1, MAX, 0, 0, 7, 7, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}),
    POOL_CASE(maxceil, MAX, 0, 0, 7, 7, .kernel = {2, 2}, .stride = {2, 2}, .ceil_mode = true),
    POOL_CASE(maxdil, MAX, 0, 0, 7, 7, .kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1},
              .dilation = {2, 2}),
    POOL_CASE(avgpad, AVG, 0, 0, 7, 7, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
              .count_include_pad = true),
    POOL_CASE(avgnopad, AVG, 0, 0, 7, 7, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}),
    POOL_CASE(avgceil, AVG, 0, 0, 6, 6, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true,
              .count_include_pad = true),
    POOL_CASE(avgceilnp, AVG, 0, 0, 6, 6, .kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
              .ceil_mode = true),
    POOL_CASE(adapt1, ADAPTIVE, 1, 1, 7, 7, .kernel = {0, 0}),
    POOL_CASE(adapt3, ADAPTIVE, 3, 3, 5, 5, .kernel = {0, 0}),
    POOL_CASE(adapt43, ADAPTIVE, 4, 3, 7, 5, .kernel = {0, 0}),
};

static tg_tensor *pool(const pool_case *k, tg_tensor *x)
{
    switch (k->kind) {
    case MAX: return tg_max_pool2d(x, k->opts);
    case AVG: return tg_avg_pool2d(x, k->opts);
    case ADAPTIVE: return tg_adaptive_avg_pool2d(x, k->out[0], k->out[1]);
    }
    return NULL;
}

START_TEST(test_pool)
{
    const pool_case *k = &pool_cases[_i];
    scope s = {0};
    tg_tensor *x = input(&s, k->x, 4, k->shape, true);
    tg_tensor *y = pool(k, x);
    ck_assert_msg(y != NULL, "%s: %s", k->name, tg_last_error());
    keep(&s, y);
    ck_assert_msg(tg_numel(y) == k->ny, "%s: %lld outputs, torch %lld", k->name, (long long)tg_numel(y),
                  (long long)k->ny);
    backprop(&s, y, k->c);
    assert_close(y, k->y, k->ny, 1e-5f, k->name);
    assert_grad(x, k->gx, k->nx, 1e-5f, k->name);
    close_scope(&s);
}
END_TEST

/* The max cases' argmax indices, as return_indices=True gives them, with
 * the same output and gradient as without. */
START_TEST(test_max_pool_indices)
{
    const pool_case *k = &pool_cases[_i];
    const int64_t *want[] = {maxp1_idx, maxceil_idx, maxdil_idx};
    scope s = {0};
    tg_tensor *x = input(&s, k->x, 4, k->shape, true), *idx = NULL;
    tg_tensor *y = tg_max_pool2d_with_indices(x, k->opts, &idx);
    ck_assert_msg(y && idx, "%s: %s", k->name, tg_last_error());
    keep(&s, y), keep(&s, idx);
    ck_assert_int_eq(idx->dtype, TG_INT64);
    ck_assert(tg_same_shape(idx, y));
    for (int64_t i = 0; i < k->ny; i++)
        ck_assert_msg(tg_data_i64(idx)[i] == want[_i][i], "%s: index %lld is %lld, torch %lld", k->name,
                      (long long)i, (long long)tg_data_i64(idx)[i], (long long)want[_i][i]);
    backprop(&s, y, k->c);
    assert_close(y, k->y, k->ny, 1e-5f, k->name);
    assert_grad(x, k->gx, k->nx, 1e-5f, k->name);
    close_scope(&s);
}
END_TEST

Suite *parity_norm_suite(void)
{
    Suite *s = suite_create("parity_norm");
    TCase *tc = tcase_create("torch");
    tcase_add_test(tc, test_bn_train_4d);
    tcase_add_test(tc, test_bn_train_2d);
    tcase_add_test(tc, test_bn_eval);
    tcase_add_test(tc, test_bn_split);
    tcase_add_test(tc, test_bn_relu_train);
    tcase_add_test(tc, test_bn_add_relu);
    tcase_add_loop_test(tc, test_pool, 0, (int)N_OF(pool_cases));
    tcase_add_loop_test(tc, test_max_pool_indices, 0, 3); /* the MAX cases come first */
    suite_add_tcase(s, tc);
    return s;
}
