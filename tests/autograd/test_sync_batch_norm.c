/* tg_sync_batch_norm and SyncBN modules across the ranks of a job: each
 * rank's part of a batch normalised with the whole batch's statistics, as
 * tg_batch_norm on the whole batch does; dx the whole batch's gradient for
 * the part, dweight and dbias summed over the ranks the whole batch's; the
 * running statistics the whole batch's. Runs alone (a job of one: plain
 * batch norm) and under mpirun -np 2 and 4; any rank's failure fails the
 * job. */
#include <check.h>
#include <stdio.h>

#include "ranks.h"
#include "tensorgrad.h"

enum { PER_RANK = 3, C = 4, S = 5 };

typedef struct {
    tg_tensor *y, *dx, *dweight, *dbias, *running_mean, *running_var;
} bn_result;

static void result_clear(bn_result *r)
{
    tg_release(r->y), tg_release(r->dx), tg_release(r->dweight), tg_release(r->dbias);
    tg_release(r->running_mean), tg_release(r->running_var);
}

/* Rows [first, first + n) of a (n_all, C, S, S) tensor drawn from seed. */
static tg_tensor *rows(uint64_t seed, int64_t n_all, int64_t first, int64_t n, double shift)
{
    tg_rng rng = tg_rng_new(seed, 0);
    tg_tensor *all = tg_randn(&rng, TG_SHAPE(n_all, C, S, S)), *shifted = tg_add_scalar(all, (float)shift);
    tg_tensor *part = tg_narrow(shifted, 0, first, n), *out = tg_contiguous(part);
    tg_release(all), tg_release(shifted), tg_release(part);
    return out;
}

static tg_tensor *param(float start)
{
    tg_tensor *t = tg_empty(TG_SHAPE(C), TG_FLOAT32);
    for (int c = 0; c < C; c++) tg_data_f32(t)[c] = start + 0.25f * (float)c;
    tg_set_requires_grad(t, true);
    return t;
}

/* Batch norm of x (sync or plain) in training, loss sum(y * g), backward. */
static bn_result run(tg_tensor *x, tg_tensor *g, bool sync)
{
    bn_result r = {.running_mean = tg_zeros(TG_SHAPE(C), TG_FLOAT32), .running_var = tg_ones(TG_SHAPE(C), TG_FLOAT32)};
    tg_tensor *w = param(0.5f), *b = param(-0.3f), *xg = tg_clone(x);
    tg_set_requires_grad(xg, true);
    r.y = sync ? tg_sync_batch_norm(xg, r.running_mean, r.running_var, w, b, true, 0.1f, 1e-5f)
               : tg_batch_norm(xg, r.running_mean, r.running_var, w, b, true, 0.1f, 1e-5f, 1);
    ck_assert_msg(r.y != NULL, "%s", tg_last_error());
    tg_tensor *prod = tg_mul(r.y, g), *loss = tg_sum(prod, 0, NULL, false);
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    r.dx = tg_grad(xg), r.dweight = tg_grad(w), r.dbias = tg_grad(b);
    tg_release(prod), tg_release(loss), tg_release(w), tg_release(b), tg_release(xg);
    return r;
}

static void assert_close(tg_tensor *got, tg_tensor *want, const char *what)
{
    ck_assert_msg(tg_allclose(got, want, 1e-4, 1e-5, false) == 1, "%s differs from the whole batch's", what);
}

/* The part's slice of the whole batch's tensor t. */
static tg_tensor *slice(tg_tensor *t)
{
    return tg_narrow(t, 0, PER_RANK * tg_dist_rank(), PER_RANK);
}

START_TEST(test_parts_normalise_as_the_whole_batch)
{
    int64_t all = PER_RANK * tg_dist_world_size(), first = PER_RANK * tg_dist_rank();
    tg_tensor *x = rows(7, all, 0, all, 2.0), *g = rows(8, all, 0, all, 0.0);
    tg_tensor *xr = rows(7, all, first, PER_RANK, 2.0), *gr = rows(8, all, first, PER_RANK, 0.0);
    bn_result whole = run(x, g, false), part = run(xr, gr, true);
    tg_tensor *y = slice(whole.y), *dx = slice(whole.dx);
    assert_close(part.y, y, "y");
    assert_close(part.dx, dx, "dx");
    assert_close(part.running_mean, whole.running_mean, "running_mean");
    assert_close(part.running_var, whole.running_var, "running_var");
    ck_assert_int_eq(tg_dist_allreduce(part.dweight, TG_DIST_SUM), 0);
    ck_assert_int_eq(tg_dist_allreduce(part.dbias, TG_DIST_SUM), 0);
    assert_close(part.dweight, whole.dweight, "dweight summed over the ranks");
    assert_close(part.dbias, whole.dbias, "dbias summed over the ranks");
    assert_same_on_every_rank(part.running_var, "running_var");
    tg_release(y), tg_release(dx);
    result_clear(&whole), result_clear(&part);
    tg_release(x), tg_release(g), tg_release(xr), tg_release(gr);
}
END_TEST

/* A SyncBN module's fused forms (relu, residual + relu) give what the
 * whole batch's plain module gives, row for row. */
START_TEST(test_sync_module_matches_plain_module)
{
    int64_t all = PER_RANK * tg_dist_world_size(), first = PER_RANK * tg_dist_rank();
    tg_module *sync = tg_nn_batch_norm2d(C, &(tg_batch_norm_opts){.sync = true});
    tg_module *plain = tg_nn_batch_norm2d(C, NULL);
    tg_tensor *x = rows(3, all, 0, all, -1.0), *res = rows(4, all, 0, all, 0.0);
    tg_tensor *xr = rows(3, all, first, PER_RANK, -1.0), *rr = rows(4, all, first, PER_RANK, 0.0);
    tg_tensor *want = tg_nn_batch_norm2d_add_relu_forward(plain, x, res);
    tg_tensor *got = tg_nn_batch_norm2d_add_relu_forward(sync, xr, rr);
    tg_tensor *rows_wanted = slice(want);
    assert_close(got, rows_wanted, "relu(bn(x) + residual)");
    tg_release(want), tg_release(got), tg_release(rows_wanted);
    want = tg_nn_batch_norm2d_relu_forward(plain, x), got = tg_nn_batch_norm2d_relu_forward(sync, xr);
    rows_wanted = slice(want);
    assert_close(got, rows_wanted, "relu(bn(x))");
    tg_release(want), tg_release(got), tg_release(rows_wanted);
    tg_release(x), tg_release(res), tg_release(xr), tg_release(rr);
    ck_assert_ptr_null(tg_nn_batch_norm2d(C, &(tg_batch_norm_opts){.sync = true, .groups = 2}));
    tg_module_free(sync), tg_module_free(plain);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("sync_batch_norm");
    TCase *tc = tcase_create("sync_batch_norm");
    tcase_add_test(tc, test_parts_normalise_as_the_whole_batch);
    tcase_add_test(tc, test_sync_module_matches_plain_module);
    suite_add_tcase(s, tc);
    return run_on_every_rank(s, &argc, &argv);
}
