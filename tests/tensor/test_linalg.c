/* Matrix products: tg_k_matmul, tg_k_bmm, tg_k_gemm_into and tg_k_sgemm
 * against a naive triple loop, over many shapes (size-1 and empty dims
 * included), transposed, narrowed, general-strided and expanded operands;
 * error messages; and bitwise-equal results on 1 and 2 threads. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "tensorgrad.h"

Suite *linalg_suite(void);

/* A random (rows, cols) matrix; stored transposed (a column-major view)
 * when transposed is set. */
static tg_tensor *matrix(tg_rng *rng, int64_t rows, int64_t cols, bool transposed)
{
    if (!transposed) return tg_randn(rng, TG_SHAPE(rows, cols));
    tg_tensor *base = tg_randn(rng, TG_SHAPE(cols, rows));
    tg_tensor *t = tg_k_transpose(base, 0, 1);
    tg_release(base);
    return t;
}

/* The same values as t, stored column-major in its last two dims. */
static tg_tensor *col_major(tg_tensor *t)
{
    tg_tensor *tt = tg_k_transpose(t, -2, -1);
    tg_tensor *c = tg_k_contiguous(tt);
    tg_tensor *r = tg_k_transpose(c, -2, -1);
    tg_release(tt);
    tg_release(c);
    return r;
}

/* Checks out == a @ b (torch.matmul's meaning) by the definition, summed in
 * double: the shape, contiguity and every element. Releases out. */
static void check_product(tg_tensor *a, tg_tensor *b, tg_tensor *out)
{
    ck_assert_msg(out != NULL, "matmul failed: %s", tg_last_error());
    tg_tensor *a2 = a->ndim == 1 ? tg_k_unsqueeze(a, 0) : tg_retain(a);
    tg_tensor *b2 = b->ndim == 1 ? tg_k_unsqueeze(b, -1) : tg_retain(b);
    int nb = (a2->ndim > b2->ndim ? a2->ndim : b2->ndim) - 2;
    int64_t full_a[TG_MAX_DIMS], full_b[TG_MAX_DIMS], full_c[TG_MAX_DIMS], expect[TG_MAX_DIMS];
    int64_t batch = 1;
    for (int i = 0; i < nb; i++) {
        int ia = i - (nb - (a2->ndim - 2)), ib = i - (nb - (b2->ndim - 2));
        int64_t na = ia >= 0 ? a2->shape[ia] : 1, nbs = ib >= 0 ? b2->shape[ib] : 1;
        full_a[i] = full_b[i] = full_c[i] = expect[i] = na == 1 ? nbs : na;
        batch *= full_c[i];
    }
    int64_t m = a2->shape[a2->ndim - 2], k = a2->shape[a2->ndim - 1], n = b2->shape[b2->ndim - 1];
    ck_assert_int_eq(b2->shape[b2->ndim - 2], k);
    full_a[nb] = m, full_a[nb + 1] = k;
    full_b[nb] = k, full_b[nb + 1] = n;
    full_c[nb] = m, full_c[nb + 1] = n;
    int nexpect = nb;
    if (a->ndim >= 2) expect[nexpect++] = m;
    if (b->ndim >= 2) expect[nexpect++] = n;
    ck_assert_int_eq(out->ndim, nexpect);
    for (int i = 0; i < nexpect; i++) ck_assert_int_eq(out->shape[i], expect[i]);
    ck_assert(tg_numel(out) == 0 || tg_is_contiguous(out)); /* empty: any strides */

    tg_tensor *ae = tg_k_expand(a2, nb + 2, full_a), *be = tg_k_expand(b2, nb + 2, full_b);
    tg_tensor *ce = tg_k_reshape(out, nb + 2, full_c);
    ck_assert(ae && be && ce);
    int64_t ia[TG_MAX_DIMS] = {0}, ib[TG_MAX_DIMS] = {0}, ic[TG_MAX_DIMS] = {0};
    for (int64_t bi = 0; bi < batch; bi++) {
        for (int64_t r = bi, d = nb - 1; d >= 0; d--) {
            ia[d] = ib[d] = ic[d] = r % full_c[d];
            r /= full_c[d];
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double sum = 0, mag = 0;
                for (int64_t p = 0; p < k; p++) {
                    ia[nb] = i, ia[nb + 1] = p, ib[nb] = p, ib[nb + 1] = j;
                    double x = tg_get(ae, ia), y = tg_get(be, ib);
                    sum += x * y;
                    mag += fabs(x * y);
                }
                ic[nb] = i, ic[nb + 1] = j;
                double got = tg_get(ce, ic);
                ck_assert_msg(fabs(got - sum) <= 1e-5 * mag + 1e-6,
                              "batch %lld [%lld,%lld]: got %.8g, expected %.8g (m=%lld n=%lld k=%lld)",
                              (long long)bi, (long long)i, (long long)j, got, sum, (long long)m, (long long)n,
                              (long long)k);
            }
    }
    tg_release(a2);
    tg_release(b2);
    tg_release(ae);
    tg_release(be);
    tg_release(ce);
    tg_release(out);
}

static void check_matmul(tg_tensor *a, tg_tensor *b)
{
    ck_assert(a && b);
    check_product(a, b, tg_k_matmul(a, b));
}

/* ---- 2-D, all layouts ---- */

static const int64_t shapes_mnk[][3] = {
    {1, 1, 1}, {1, 5, 3},  {4, 1, 3},   {4, 5, 1},   {1, 1, 7},   {7, 1, 1},   {1, 7, 1},    {2, 3, 4},
    {7, 9, 13}, {16, 16, 16}, {33, 17, 65}, {64, 48, 80}, {5, 130, 3}, {0, 3, 4}, {3, 0, 4}, {3, 4, 0},
};

START_TEST(test_2d_layouts)
{
    tg_rng rng = tg_rng_new(7, 0);
    for (size_t s = 0; s < sizeof shapes_mnk / sizeof *shapes_mnk; s++)
        for (int t = 0; t < 4; t++) {
            int64_t m = shapes_mnk[s][0], n = shapes_mnk[s][1], k = shapes_mnk[s][2];
            tg_tensor *a = matrix(&rng, m, k, t & 1), *b = matrix(&rng, k, n, t & 2);
            check_matmul(a, b);
            tg_release(a);
            tg_release(b);
        }
}
END_TEST

/* Narrowed views: rows longer than the matrix (rs > cols), starting at an
 * offset; still one unit stride, so no copy is needed. */
START_TEST(test_narrowed)
{
    tg_rng rng = tg_rng_new(8, 0);
    for (int t = 0; t < 4; t++) {
        tg_tensor *abase = matrix(&rng, 9, 12, t & 1), *bbase = matrix(&rng, 10, 8, t & 2);
        tg_tensor *a1 = tg_k_narrow(abase, 1, 3, 5), *a = tg_k_narrow(a1, 0, 2, 6);
        tg_tensor *b1 = tg_k_narrow(bbase, 0, 4, 5), *b = tg_k_narrow(b1, 1, 1, 7);
        check_matmul(a, b);
        /* single rows and columns cut from a bigger matrix */
        tg_tensor *row = tg_k_narrow(a, 0, 1, 1), *col = tg_k_narrow(b, 1, 2, 1);
        check_matmul(row, b);
        check_matmul(a, col);
        check_matmul(row, col);
        tg_tensor *rows[] = {abase, bbase, a1, a, b1, b, row, col};
        for (int i = 0; i < 8; i++) tg_release(rows[i]);
    }
}
END_TEST

/* No unit stride at all (every other element): copied before BLIS. */
START_TEST(test_general_strides)
{
    tg_rng rng = tg_rng_new(9, 0);
    tg_tensor *abase = tg_randn(&rng, TG_SHAPE(6, 5, 2)), *bbase = tg_randn(&rng, TG_SHAPE(5, 2, 4));
    tg_tensor *a = tg_k_select(abase, 2, 1);  /* (6,5) strides (10,2) */
    tg_tensor *b = tg_k_select(bbase, 1, 0);  /* (5,4) strides (8,1) */
    check_matmul(a, b);
    tg_tensor *at = tg_k_transpose(a, 0, 1); /* (5,6) strides (2,10) */
    tg_tensor *c = tg_randn(&rng, TG_SHAPE(6, 3));
    check_matmul(at, c);
    /* 1 x k and k x 1 matrices with a non-unit stride: no copy needed */
    tg_tensor *r1 = tg_k_narrow(a, 0, 2, 1), *c1 = tg_k_narrow(a, 1, 2, 1); /* (1,5) and (6,1) */
    check_matmul(r1, at);
    check_matmul(at, c1);
    tg_release(abase);
    tg_release(bbase);
    tg_release(a);
    tg_release(b);
    tg_release(at);
    tg_release(c);
    tg_release(r1);
    tg_release(c1);
}
END_TEST

/* Expanded (stride 0) rows, columns and batch dims. */
START_TEST(test_expanded)
{
    tg_rng rng = tg_rng_new(10, 0);
    tg_tensor *row = tg_randn(&rng, TG_SHAPE(1, 5)), *col = tg_randn(&rng, TG_SHAPE(5, 1));
    tg_tensor *a = tg_k_expand(row, TG_SHAPE(4, 5)); /* rows repeat: rs 0 */
    tg_tensor *b = tg_k_expand(col, TG_SHAPE(5, 3)); /* columns repeat: cs 0 */
    check_matmul(a, b);
    tg_tensor *one = tg_randn(&rng, TG_SHAPE(1, 1));
    tg_tensor *ones_row = tg_k_expand(one, TG_SHAPE(1, 6)), *ones_col = tg_k_expand(one, TG_SHAPE(6, 1));
    check_matmul(ones_row, ones_col); /* 1 x k with cs 0 */
    check_matmul(ones_col, ones_row);
    /* batch broadcast by expand over a transposed matrix (needs no copy) and
     * over a general-strided one (copied once, not once per batch) */
    tg_tensor *m = matrix(&rng, 3, 4, true), *mb = tg_k_unsqueeze(m, 0), *me = tg_k_expand(mb, TG_SHAPE(5, 3, 4));
    tg_tensor *rhs = tg_randn(&rng, TG_SHAPE(5, 4, 2));
    check_matmul(me, rhs);
    tg_tensor *g3 = tg_randn(&rng, TG_SHAPE(1, 3, 4, 2)), *g = tg_k_select(g3, 3, 1);
    tg_tensor *ge = tg_k_expand(g, TG_SHAPE(5, 3, 4));
    check_matmul(ge, rhs);
    tg_tensor *all[] = {row, col, a, b, one, ones_row, ones_col, m, mb, me, rhs, g3, g, ge};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
}
END_TEST

/* ---- 1-D operands ---- */

START_TEST(test_one_d)
{
    tg_rng rng = tg_rng_new(11, 0);
    tg_tensor *v = tg_randn(&rng, TG_SHAPE(4)), *w = tg_randn(&rng, TG_SHAPE(4));
    tg_tensor *one = tg_randn(&rng, TG_SHAPE(1)), *one2 = tg_randn(&rng, TG_SHAPE(1));
    tg_tensor *m = tg_randn(&rng, TG_SHAPE(4, 3)), *mt = matrix(&rng, 3, 4, true);
    tg_tensor *bat = tg_randn(&rng, TG_SHAPE(2, 4, 3)), *bat2 = tg_randn(&rng, TG_SHAPE(2, 5, 4));
    tg_tensor *dot = tg_k_matmul(v, w);
    ck_assert_int_eq(dot->ndim, 0);
    check_product(v, w, dot);
    check_matmul(one, one2);
    check_matmul(v, m);
    check_matmul(mt, v);
    check_matmul(v, bat);
    check_matmul(bat2, v);
    /* a strided vector: a column of a matrix */
    tg_tensor *colv = tg_k_select(m, 1, 2);
    ck_assert_int_eq(colv->stride[0], 3);
    check_matmul(colv, w);
    check_matmul(colv, m);
    check_matmul(mt, colv);
    tg_tensor *empty = tg_randn(&rng, TG_SHAPE(0)), *empty2 = tg_randn(&rng, TG_SHAPE(0));
    tg_tensor *z = tg_k_matmul(empty, empty2);
    ck_assert_int_eq(z->ndim, 0);
    ck_assert(tg_item(z) == 0.0f);
    tg_release(z);
    tg_tensor *all[] = {v, w, one, one2, m, mt, bat, bat2, colv, empty, empty2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
}
END_TEST

/* ---- batched ---- */

START_TEST(test_batched)
{
    tg_rng rng = tg_rng_new(12, 0);
    struct {
        int na, nb;
        int64_t a[4], b[4];
    } cases[] = {
        {3, 3, {2, 3, 4}, {2, 4, 5}},       {4, 3, {2, 1, 3, 4}, {5, 4, 2}}, {3, 2, {3, 5, 4}, {4, 6}},
        {2, 3, {5, 4}, {3, 4, 6}},          {3, 2, {6, 1, 4}, {4, 3}},       {4, 4, {2, 3, 1, 4}, {1, 1, 4, 1}},
        {3, 3, {1, 3, 4}, {4, 4, 2}},       {3, 3, {4, 3, 4}, {1, 4, 2}},    {4, 2, {2, 2, 3, 4}, {4, 5}},
        {3, 3, {0, 3, 4}, {1, 4, 2}},       {3, 3, {2, 3, 0}, {2, 0, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int t = 0; t < 4; t++) {
            tg_tensor *a = tg_randn(&rng, cases[c].na, cases[c].a), *b = tg_randn(&rng, cases[c].nb, cases[c].b);
            tg_tensor *av = (t & 1) ? col_major(a) : tg_retain(a);
            tg_tensor *bv = (t & 2) ? col_major(b) : tg_retain(b);
            check_matmul(av, bv);
            tg_tensor *all[] = {a, b, av, bv};
            for (int i = 0; i < 4; i++) tg_release(all[i]);
        }
}
END_TEST

/* (B,M,K) @ (K,N) folds into one GEMM when a's batch and rows are one
 * strided dim; narrowed or permuted batches take the per-batch path. */
START_TEST(test_batched_fold)
{
    tg_rng rng = tg_rng_new(13, 0);
    tg_tensor *w = tg_randn(&rng, TG_SHAPE(6, 5)), *wt = matrix(&rng, 6, 5, true);
    tg_tensor *x = tg_randn(&rng, TG_SHAPE(4, 7, 6));
    check_matmul(x, w);
    check_matmul(x, wt);
    tg_tensor *xb = tg_k_narrow(x, 0, 1, 2); /* still one strided dim */
    check_matmul(xb, w);
    tg_tensor *xr = tg_k_narrow(x, 1, 2, 3); /* rows narrowed: batch stride breaks the run */
    check_matmul(xr, w);
    tg_tensor *xc = tg_k_narrow(x, 2, 1, 5); /* columns narrowed: rs 6 over 5 columns */
    tg_tensor *w5 = tg_randn(&rng, TG_SHAPE(5, 3));
    check_matmul(xc, w5);
    int perm[] = {1, 0, 2};
    tg_tensor *xp = tg_k_permute(x, perm); /* (7,4,6): batch stride 6, rows stride 42 */
    check_matmul(xp, w);
    tg_tensor *x1 = tg_randn(&rng, TG_SHAPE(5, 1, 6)); /* M = 1: the batch is the rows */
    check_matmul(x1, w);
    tg_tensor *x4 = tg_randn(&rng, TG_SHAPE(2, 3, 4, 6));
    check_matmul(x4, w);
    tg_tensor *all[] = {w, wt, x, xb, xr, xc, w5, xp, x1, x4};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
}
END_TEST

START_TEST(test_bmm)
{
    tg_rng rng = tg_rng_new(14, 0);
    for (int t = 0; t < 4; t++) {
        tg_tensor *a = tg_randn(&rng, TG_SHAPE(3, 4, 5)), *b = tg_randn(&rng, TG_SHAPE(3, 5, 2));
        tg_tensor *av = (t & 1) ? tg_k_narrow(a, 2, 0, 5) : tg_retain(a);
        tg_tensor *bv = (t & 2) ? col_major(b) : tg_retain(b);
        check_product(av, bv, tg_k_bmm(av, bv));
        tg_release(a);
        tg_release(b);
        tg_release(av);
        tg_release(bv);
    }
    tg_tensor *a = tg_randn(&rng, TG_SHAPE(2, 1, 1)), *b = tg_randn(&rng, TG_SHAPE(2, 1, 1));
    check_product(a, b, tg_k_bmm(a, b));
    tg_release(a);
    tg_release(b);
}
END_TEST

/* ---- errors ---- */

static void expect_error(tg_tensor *out, const char *needle)
{
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(tg_last_error(), needle) != NULL, "error \"%s\" lacks \"%s\"", tg_last_error(), needle);
}

START_TEST(test_errors)
{
    tg_tensor *a = tg_zeros(TG_SHAPE(2, 3), TG_FLOAT32), *b = tg_zeros(TG_SHAPE(4, 5), TG_FLOAT32);
    expect_error(tg_k_matmul(a, b), "matmul: (2,3) @ (4,5): inner sizes 3 and 4 differ");
    tg_tensor *v = tg_zeros(TG_SHAPE(4), TG_FLOAT32);
    expect_error(tg_k_matmul(a, v), "matmul: (2,3) @ (4): inner sizes 3 and 4 differ");
    expect_error(tg_k_matmul(v, a), "matmul: (4) @ (2,3): inner sizes 4 and 2 differ");
    tg_tensor *x = tg_zeros(TG_SHAPE(2, 3, 4), TG_FLOAT32), *y = tg_zeros(TG_SHAPE(5, 4, 2), TG_FLOAT32);
    expect_error(tg_k_matmul(x, y), "matmul: (2,3,4) @ (5,4,2): batch dims cannot broadcast");
    tg_tensor *s = tg_scalar(1.0f);
    expect_error(tg_k_matmul(s, a), "matmul: () @ (2,3): both operands need at least 1 dim");
    tg_tensor *i = tg_zeros(TG_SHAPE(3, 2), TG_INT64);
    expect_error(tg_k_matmul(a, i), "matmul: (2,3) @ (3,2): float32 and int64 operands");
    tg_clear_error();
    expect_error(tg_k_matmul(NULL, a), ""); /* an earlier failure passes through */
    /* bmm is strict */
    tg_tensor *w = tg_zeros(TG_SHAPE(4, 2), TG_FLOAT32);
    expect_error(tg_k_bmm(x, w), "bmm: (2,3,4) @ (4,2): needs two 3-D tensors");
    tg_tensor *z = tg_zeros(TG_SHAPE(3, 4, 2), TG_FLOAT32);
    expect_error(tg_k_bmm(x, z), "bmm: (2,3,4) @ (3,4,2): batch sizes 2 and 3 differ");
    expect_error(tg_k_bmm(x, x), "bmm: (2,3,4) @ (2,3,4): inner sizes 4 and 3 differ");
    /* gemm_into */
    tg_tensor *c = tg_zeros(TG_SHAPE(2, 2), TG_FLOAT32);
    ck_assert_int_eq(tg_k_gemm_into(c, a, w, 1.0f, 0.0f), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "gemm_into: (2,3) @ (4,2) into (2,2)"));
    ck_assert_int_eq(tg_k_sgemm(-1, 2, 2, 1.0f, NULL, 1, 1, NULL, 1, 1, 0.0f, NULL, 1, 1), -1);
    tg_tensor *all[] = {a, b, v, x, y, s, i, w, z, c};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) tg_release(all[k]);
}
END_TEST

/* ---- gemm_into and the raw sgemm ---- */

START_TEST(test_gemm_into)
{
    tg_rng rng = tg_rng_new(15, 0);
    tg_tensor *a = tg_randn(&rng, TG_SHAPE(5, 4)), *b = matrix(&rng, 4, 3, true);
    tg_tensor *ab = tg_k_matmul(a, b);
    for (int layout = 0; layout < 3; layout++) {
        /* c row-major, column-major (a transposed view) and general-strided */
        tg_tensor *base = layout == 0 ? tg_randn(&rng, TG_SHAPE(5, 3))
                        : layout == 1 ? tg_randn(&rng, TG_SHAPE(3, 5))
                                      : tg_randn(&rng, TG_SHAPE(5, 3, 2));
        tg_tensor *c = layout == 0 ? tg_retain(base) : layout == 1 ? tg_k_transpose(base, 0, 1) : tg_k_select(base, 2, 1);
        tg_tensor *c0 = tg_k_clone(c);
        uint64_t version = tg_version(c);
        ck_assert_int_eq(tg_k_gemm_into(c, a, b, 2.0f, -0.5f), 0);
        ck_assert(tg_version(c) > version);
        for (int64_t i = 0; i < 5; i++)
            for (int64_t j = 0; j < 3; j++) {
                int64_t ix[] = {i, j};
                float want = 2.0f * tg_get(ab, ix) - 0.5f * tg_get(c0, ix);
                ck_assert_float_eq_tol(tg_get(c, ix), want, 1e-4f);
            }
        /* beta 0 never reads c: NaNs there do not leak into the result */
        ck_assert_int_eq(tg_k_fill_(c, NAN), 0);
        ck_assert_int_eq(tg_k_gemm_into(c, a, b, 1.0f, 0.0f), 0);
        for (int64_t i = 0; i < 5; i++)
            for (int64_t j = 0; j < 3; j++) {
                int64_t ix[] = {i, j};
                ck_assert_float_eq_tol(tg_get(c, ix), tg_get(ab, ix), 1e-5f);
            }
        tg_release(base);
        tg_release(c);
        tg_release(c0);
    }
    tg_release(a);
    tg_release(b);
    tg_release(ab);
}
END_TEST

START_TEST(test_sgemm_edges)
{
    /* k = 0: C = beta C; beta 0 writes zeros over NaN */
    float c[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_int_eq(tg_k_sgemm(2, 3, 0, 1.0f, NULL, 0, 0, NULL, 0, 0, 2.0f, c, 3, 1), 0);
    ck_assert(c[0] == 2.0f && c[5] == 12.0f);
    c[1] = NAN;
    ck_assert_int_eq(tg_k_sgemm(2, 3, 0, 1.0f, NULL, 0, 0, NULL, 0, 0, 0.0f, c, 3, 1), 0);
    for (int i = 0; i < 6; i++) ck_assert(c[i] == 0.0f);
    /* m = 0 or n = 0: nothing to do, nothing touched */
    ck_assert_int_eq(tg_k_sgemm(0, 3, 2, 1.0f, NULL, 0, 0, NULL, 0, 0, 0.0f, NULL, 0, 0), 0);
    /* 1x1x1 with strides BLIS would refuse as they are (0 and equal ones) */
    float x = 3.0f, y = -2.0f, z = 7.0f;
    ck_assert_int_eq(tg_k_sgemm(1, 1, 1, 1.0f, &x, 0, 0, &y, 5, 5, 1.0f, &z, 0, 0), 0);
    ck_assert(z == 1.0f);
    /* overlapping "strides" on a row: a 1 x 3 row of stride 1 with rs 1 */
    float r[3] = {1, 2, 3}, col[3] = {1, 1, 1}, out = 0;
    ck_assert_int_eq(tg_k_sgemm(1, 1, 3, 1.0f, r, 1, 1, col, 1, 1, 0.0f, &out, 1, 1), 0);
    ck_assert(out == 6.0f);
}
END_TEST

/* ---- determinism ---- */

static tg_tensor *product_on(int threads, tg_tensor *a, tg_tensor *b)
{
    ck_assert_int_eq(tg_set_num_threads(threads), 0);
    return tg_k_matmul(a, b);
}

START_TEST(test_threads_bitwise)
{
    int saved = tg_get_num_threads();
    tg_rng rng = tg_rng_new(16, 0);
    struct {
        int na, nb;
        int64_t a[3], b[3];
        bool ta, tb;
    } cases[] = {
        {2, 2, {257, 300}, {300, 131}, false, false},
        {2, 2, {200, 333}, {333, 190}, true, true},
        {3, 2, {4, 97, 150}, {150, 65}, false, true},
        {3, 3, {3, 70, 80}, {3, 80, 90}, true, false},
        {2, 1, {300, 500}, {500}, false, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tg_tensor *a = tg_randn(&rng, cases[c].na, cases[c].a), *b = tg_randn(&rng, cases[c].nb, cases[c].b);
        tg_tensor *av = cases[c].ta ? col_major(a) : tg_retain(a);
        tg_tensor *bv = cases[c].tb ? col_major(b) : tg_retain(b);
        tg_tensor *one = product_on(1, av, bv), *two = product_on(2, av, bv);
        ck_assert(one && two);
        ck_assert_int_eq(tg_numel(one), tg_numel(two));
        ck_assert_msg(memcmp(tg_data_f32(one), tg_data_f32(two), (size_t)tg_numel(one) * sizeof(float)) == 0,
                      "case %zu differs between 1 and 2 threads", c);
        tg_release(a);
        tg_release(b);
        tg_release(av);
        tg_release(bv);
        tg_release(one);
        tg_release(two);
    }
    tg_set_num_threads(saved);
}
END_TEST

#ifdef _OPENMP
/* Called inside an OpenMP parallel region, BLIS runs on one thread of its
 * own: same bits as outside. */
START_TEST(test_inside_parallel_region)
{
    tg_rng rng = tg_rng_new(17, 0);
    tg_tensor *a = tg_randn(&rng, TG_SHAPE(70, 90)), *b = matrix(&rng, 90, 50, true);
    tg_tensor *want = tg_k_matmul(a, b);
    ck_assert_ptr_nonnull(want);
    int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
    {
        tg_tensor *got = tg_k_matmul(a, b);
        bad += !got || memcmp(tg_data_f32(got), tg_data_f32(want), 70 * 50 * sizeof(float)) != 0;
        tg_release(got);
    }
    ck_assert_int_eq(bad, 0);
    tg_release(a);
    tg_release(b);
    tg_release(want);
}
END_TEST
#endif

Suite *linalg_suite(void)
{
    Suite *s = suite_create("linalg");
    TCase *tc = tcase_create("matmul");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_2d_layouts);
    tcase_add_test(tc, test_narrowed);
    tcase_add_test(tc, test_general_strides);
    tcase_add_test(tc, test_expanded);
    tcase_add_test(tc, test_one_d);
    tcase_add_test(tc, test_batched);
    tcase_add_test(tc, test_batched_fold);
    tcase_add_test(tc, test_bmm);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_gemm_into);
    tcase_add_test(tc, test_sgemm_edges);
    tcase_add_test(tc, test_threads_bitwise);
#ifdef _OPENMP
    tcase_add_test(tc, test_inside_parallel_region);
#endif
    suite_add_tcase(s, tc);
    return s;
}
