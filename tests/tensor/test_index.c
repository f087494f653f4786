/* Joining and indexing kernels: cat, stack, gather, scatter_add_,
 * index_select, index_add_ and one_hot against hand-checked values, int64
 * data, any strides, empty sizes, errors, and thread-count independence. */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"

static tg_tensor *f32(int ndim, const int64_t *shape, const float *v)
{
    return tg_from_data(ndim, shape, TG_FLOAT32, v);
}
static tg_tensor *i64(int ndim, const int64_t *shape, const int64_t *v)
{
    return tg_from_data(ndim, shape, TG_INT64, v);
}
#define F32(SHAPE, ...) f32(SHAPE, (const float[]){__VA_ARGS__})
#define I64(SHAPE, ...) i64(SHAPE, (const int64_t[]){__VA_ARGS__})

static void expect_shape(const tg_tensor *t, int ndim, const int64_t *shape)
{
    ck_assert_msg(t != NULL, "NULL result: %s", tg_last_error());
    ck_assert_int_eq(t->ndim, ndim);
    for (int i = 0; i < ndim; i++) ck_assert_int_eq(t->shape[i], shape[i]);
}

/* Checks t's shape and its float32 values in logical order (exactly: these
 * ops only move and add small integers), then releases t. */
static void expect_f(tg_tensor *t, int ndim, const int64_t *shape, const float *want)
{
    expect_shape(t, ndim, shape);
    ck_assert_int_eq(t->dtype, TG_FLOAT32);
    float got[64];
    ck_assert_int_le(tg_numel(t), 64);
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int64_t i = 0; i < tg_numel(t); i++)
        ck_assert_msg(got[i] == want[i], "element %lld: %g, want %g", (long long)i, got[i], want[i]);
    tg_release(t);
}

static void expect_i(tg_tensor *t, int ndim, const int64_t *shape, const int64_t *want)
{
    expect_shape(t, ndim, shape);
    ck_assert_int_eq(t->dtype, TG_INT64);
    int64_t got[64];
    ck_assert_int_le(tg_numel(t), 64);
    ck_assert_int_eq(tg_copy_to_buffer(t, got), 0);
    for (int64_t i = 0; i < tg_numel(t); i++) ck_assert_int_eq(got[i], want[i]);
    tg_release(t);
}

#define EXPECT_F(t, SHAPE, ...) expect_f(t, SHAPE, (const float[]){__VA_ARGS__})
#define EXPECT_I(t, SHAPE, ...) expect_i(t, SHAPE, (const int64_t[]){__VA_ARGS__})

/* A failing call: NULL (or -1) and a message holding each of the words. */
static void expect_error(const char *w0, const char *w1)
{
    const char *e = tg_last_error();
    ck_assert_msg(strstr(e, w0) != NULL, "error \"%s\" lacks \"%s\"", e, w0);
    if (w1) ck_assert_msg(strstr(e, w1) != NULL, "error \"%s\" lacks \"%s\"", e, w1);
    tg_clear_error();
}
#define FAILS(call, w0, w1)                  \
    do {                                     \
        tg_tensor *r_ = (call);              \
        ck_assert_ptr_null(r_);              \
        expect_error(w0, w1);                \
    } while (0)

/* [[1, 2, 3], [4, 5, 6]] */
static tg_tensor *a23(void) { return F32(S(2, 3), 1, 2, 3, 4, 5, 6); }

/* ---- cat ---- */

START_TEST(test_cat_values)
{
    tg_tensor *a = a23(), *b = F32(S(1, 3), 7, 8, 9), *c = F32(S(2, 1), 10, 11);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){a, b}, 0), S(3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){b, a}, -2), S(3, 3), 7, 8, 9, 1, 2, 3, 4, 5, 6);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){a, c}, 1), S(2, 4), 1, 2, 3, 10, 4, 5, 6, 11);
    EXPECT_F(tg_k_cat(3, (tg_tensor *[]){c, a, c}, -1), S(2, 5), 10, 1, 2, 3, 10, 11, 4, 5, 6, 11);
    EXPECT_F(tg_k_cat(1, &a, 0), S(2, 3), 1, 2, 3, 4, 5, 6);
    /* a transposed (non-contiguous) input, and a transposed output slice */
    tg_tensor *at = tg_k_transpose(a, 0, 1), *col = F32(S(3, 1), 7, 8, 9);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){at, col}, 1), S(3, 3), 1, 4, 7, 2, 5, 8, 3, 6, 9);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){at, at}, 0), S(6, 2), 1, 4, 2, 5, 3, 6, 1, 4, 2, 5, 3, 6);
    /* the output does not alias its inputs */
    tg_tensor *out = tg_k_cat(1, &a, 0);
    ck_assert_ptr_ne(out->storage, a->storage);
    tg_release(out);
    tg_release(at);
    tg_release(col);
    tg_release(a);
    tg_release(b);
    tg_release(c);
}
END_TEST

START_TEST(test_cat_int64_and_empty)
{
    tg_tensor *x = I64(S(2), 5, -6), *y = I64(S(3), 7, 8, 1LL << 40);
    EXPECT_I(tg_k_cat(2, (tg_tensor *[]){x, y}, 0), S(5), 5, -6, 7, 8, 1LL << 40);
    tg_release(x);
    tg_release(y);

    tg_tensor *a = a23(), *e20 = tg_empty(S(2, 0), TG_FLOAT32), *e0 = tg_empty(S(0), TG_FLOAT32);
    /* size 0 along dim */
    EXPECT_F(tg_k_cat(3, (tg_tensor *[]){e20, a, e20}, 1), S(2, 3), 1, 2, 3, 4, 5, 6);
    expect_f(tg_k_cat(2, (tg_tensor *[]){e20, e20}, 1), S(2, 0), NULL);
    /* torch's legacy rule: a 1-D size-0 tensor joins anything, and dim is
     * taken against the first tensor that is not skipped */
    EXPECT_F(tg_k_cat(3, (tg_tensor *[]){e0, a, e0}, -1), S(2, 3), 1, 2, 3, 4, 5, 6);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){a, e0}, 0), S(2, 3), 1, 2, 3, 4, 5, 6);
    expect_f(tg_k_cat(2, (tg_tensor *[]){e0, e0}, 0), S(0), NULL);
    /* size 0 in another dim */
    tg_tensor *e03 = tg_empty(S(0, 3), TG_FLOAT32);
    expect_f(tg_k_cat(2, (tg_tensor *[]){e03, e03}, 0), S(0, 3), NULL);
    EXPECT_F(tg_k_cat(2, (tg_tensor *[]){e03, a}, 0), S(2, 3), 1, 2, 3, 4, 5, 6);
    tg_release(e03);
    tg_release(e20);
    tg_release(e0);
    tg_release(a);
}
END_TEST

START_TEST(test_cat_errors)
{
    tg_tensor *a = a23(), *b = F32(S(2, 4), 0, 0, 0, 0, 0, 0, 0, 0), *v = F32(S(6), 1, 2, 3, 4, 5, 6);
    tg_tensor *ai = tg_zeros(S(2, 3), TG_INT64), *s = tg_scalar(1.0f);
    FAILS(tg_k_cat(2, (tg_tensor *[]){a, b}, 0), "cat: input 1 has shape (2,4)", "except in dim 0");
    FAILS(tg_k_cat(2, (tg_tensor *[]){a, v}, 0), "cat", "(6)");
    FAILS(tg_k_cat(2, (tg_tensor *[]){a, ai}, 0), "cat", "int64");
    FAILS(tg_k_cat(2, (tg_tensor *[]){s, s}, 0), "cat", "0-dim");
    FAILS(tg_k_cat(2, (tg_tensor *[]){a, a}, 2), "cat", "dim 2 out of range");
    FAILS(tg_k_cat(2, (tg_tensor *[]){a, a}, -3), "cat", "dim -3");
    FAILS(tg_k_cat(0, NULL, 0), "cat", "at least one");
    /* a NULL from an earlier failure keeps its message */
    tg_set_error("here", 1, "earlier failure");
    ck_assert_ptr_null(tg_k_cat(2, (tg_tensor *[]){a, NULL}, 0));
    expect_error("earlier failure", NULL);
    tg_release(a);
    tg_release(b);
    tg_release(v);
    tg_release(ai);
    tg_release(s);
}
END_TEST

/* ---- stack ---- */

START_TEST(test_stack_values)
{
    tg_tensor *a = a23(), *b = F32(S(2, 3), 7, 8, 9, 10, 11, 12);
    tg_tensor *ab[] = {a, b};
    EXPECT_F(tg_k_stack(2, ab, 0), S(2, 2, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    EXPECT_F(tg_k_stack(2, ab, 1), S(2, 2, 3), 1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12);
    EXPECT_F(tg_k_stack(2, ab, -1), S(2, 3, 2), 1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12);
    EXPECT_F(tg_k_stack(2, ab, -3), S(2, 2, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    /* transposed inputs */
    tg_tensor *at = tg_k_transpose(a, 0, 1), *bt = tg_k_transpose(b, 0, 1);
    EXPECT_F(tg_k_stack(2, (tg_tensor *[]){at, bt}, 0), S(2, 3, 2), 1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12);
    /* 0-dim inputs make a vector; int64 */
    tg_tensor *s1 = tg_scalar(3.0f), *s2 = tg_scalar(-1.0f);
    EXPECT_F(tg_k_stack(3, (tg_tensor *[]){s1, s2, s1}, 0), S(3), 3, -1, 3);
    tg_tensor *x = I64(S(2), 1, 2), *y = I64(S(2), 3, 4);
    EXPECT_I(tg_k_stack(2, (tg_tensor *[]){x, y}, 1), S(2, 2), 1, 3, 2, 4);
    /* empty inputs */
    tg_tensor *e = tg_empty(S(0, 2), TG_FLOAT32);
    expect_f(tg_k_stack(2, (tg_tensor *[]){e, e}, 1), S(0, 2, 2), NULL);
    tg_release(e);
    tg_release(x);
    tg_release(y);
    tg_release(s1);
    tg_release(s2);
    tg_release(at);
    tg_release(bt);
    tg_release(a);
    tg_release(b);
}
END_TEST

START_TEST(test_stack_errors)
{
    tg_tensor *a = a23(), *at = tg_k_transpose(a, 0, 1), *ai = tg_zeros(S(2, 3), TG_INT64);
    FAILS(tg_k_stack(2, (tg_tensor *[]){a, at}, 0), "stack: input 1 has shape (3,2)", "(2,3)");
    FAILS(tg_k_stack(2, (tg_tensor *[]){a, ai}, 0), "stack", "int64");
    FAILS(tg_k_stack(2, (tg_tensor *[]){a, a}, 3), "stack", "dim 3 out of range");
    FAILS(tg_k_stack(2, (tg_tensor *[]){a, a}, -4), "stack", "dim -4");
    FAILS(tg_k_stack(0, (tg_tensor *[]){a}, 0), "stack", "at least one");
    tg_release(a);
    tg_release(at);
    tg_release(ai);
}
END_TEST

/* ---- gather and scatter_add_ ---- */

START_TEST(test_gather_values)
{
    tg_tensor *a = a23();
    tg_tensor *i1 = I64(S(2, 2), 2, 0, 1, 1);
    EXPECT_F(tg_k_gather(a, 1, i1), S(2, 2), 3, 1, 5, 5);
    EXPECT_F(tg_k_gather(a, -1, i1), S(2, 2), 3, 1, 5, 5);
    /* dim 0; an index smaller than the input in the other dim */
    tg_tensor *i0 = I64(S(1, 2), 1, 0);
    EXPECT_F(tg_k_gather(a, 0, i0), S(1, 2), 4, 2);
    /* index longer than the input along dim */
    tg_tensor *i3 = I64(S(3, 2), 1, 0, 0, 0, 1, 1);
    EXPECT_F(tg_k_gather(a, 0, i3), S(3, 2), 4, 2, 1, 2, 4, 5);
    /* transposed input: at = [[1,4],[2,5],[3,6]] */
    tg_tensor *at = tg_k_transpose(a, 0, 1);
    tg_tensor *it = I64(S(3, 1), 1, 0, 1);
    EXPECT_F(tg_k_gather(at, 1, it), S(3, 1), 4, 2, 6);
    /* transposed index: i1t = [[2,1],[0,1]] */
    tg_tensor *i1t = tg_k_transpose(i1, 0, 1);
    EXPECT_F(tg_k_gather(a, 1, i1t), S(2, 2), 3, 2, 4, 5);
    /* int64 data, 1-D, 3-D */
    tg_tensor *v = I64(S(4), 10, 20, 30, 1LL << 50), *iv = I64(S(5), 3, 3, 0, 2, 1);
    EXPECT_I(tg_k_gather(v, 0, iv), S(5), 1LL << 50, 1LL << 50, 10, 30, 20);
    tg_release(iv);
    tg_tensor *c = F32(S(2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8);
    tg_tensor *ic = I64(S(2, 1, 2), 1, 0, 0, 1);
    EXPECT_F(tg_k_gather(c, 1, ic), S(2, 1, 2), 3, 2, 5, 8);
    tg_release(c);
    tg_release(ic);
    tg_release(v);
    tg_release(i1t);
    tg_release(it);
    tg_release(at);
    tg_release(i3);
    tg_release(i0);
    tg_release(i1);
    tg_release(a);
}
END_TEST

START_TEST(test_gather_empty)
{
    tg_tensor *a = a23(), *e = tg_empty(S(2, 0), TG_INT64);
    expect_f(tg_k_gather(a, 1, e), S(2, 0), NULL);
    expect_f(tg_k_gather(a, 0, e), S(2, 0), NULL);
    /* an input of size 0 along dim gathers nothing, and any index fails */
    tg_tensor *z = tg_empty(S(2, 0), TG_FLOAT32), *one = I64(S(1, 1), 0);
    expect_f(tg_k_gather(z, 1, e), S(2, 0), NULL);
    FAILS(tg_k_gather(z, 1, one), "index 0 out of range for size 0 of dim 1", NULL);
    tg_release(z);
    tg_release(one);
    tg_release(e);
    tg_release(a);
}
END_TEST

START_TEST(test_gather_errors)
{
    tg_tensor *a = a23();
    tg_tensor *bad = I64(S(2, 3), 0, 1, 2, 7, 0, 1);
    FAILS(tg_k_gather(a, 1, bad), "gather: index 7 out of range for size 3 of dim 1", "element 3, position (1,0)");
    tg_tensor *neg = I64(S(1, 2), 0, -1);
    FAILS(tg_k_gather(a, 0, neg), "index -1 out of range for size 2 of dim 0", "position (0,1)");
    tg_tensor *fidx = F32(S(2, 2), 0, 1, 1, 0);
    FAILS(tg_k_gather(a, 1, fidx), "gather: index must be int64", "float32");
    tg_tensor *flat = I64(S(2), 0, 1);
    FAILS(tg_k_gather(a, 1, flat), "gather: index has 1 dims, input has 2", NULL);
    tg_tensor *wide = I64(S(3, 1), 0, 0, 0);
    FAILS(tg_k_gather(a, 1, wide), "gather: index shape (3,1) exceeds input shape (2,3) in dim 0", NULL);
    FAILS(tg_k_gather(a, 2, flat), "gather", "dim 2 out of range");
    tg_release(a);
    tg_release(bad);
    tg_release(neg);
    tg_release(fidx);
    tg_release(flat);
    tg_release(wide);
}
END_TEST

START_TEST(test_scatter_add_values)
{
    /* dim 1, repeated targets add up */
    tg_tensor *dst = tg_zeros(S(2, 4), TG_FLOAT32);
    tg_tensor *idx = I64(S(2, 3), 0, 1, 0, 3, 3, 3), *src = a23();
    uint64_t v0 = tg_version(dst);
    ck_assert_int_eq(tg_k_scatter_add_(dst, 1, idx, src), 0);
    ck_assert_uint_gt(tg_version(dst), v0);
    EXPECT_F(tg_retain(dst), S(2, 4), 4, 2, 0, 0, 0, 0, 0, 15);
    /* into a non-zero, transposed destination; dim 0; index smaller than src */
    tg_tensor *base = F32(S(3, 3), 1, 1, 1, 1, 1, 1, 1, 1, 1);
    tg_tensor *bt = tg_k_transpose(base, 0, 1);
    tg_tensor *i0 = I64(S(1, 2), 2, 0);
    ck_assert_int_eq(tg_k_scatter_add_(bt, 0, i0, src), 0);
    /* bt[2][0] += 1, bt[0][1] += 2: base[0][2] = 2, base[1][0] = 3 */
    EXPECT_F(tg_retain(base), S(3, 3), 1, 1, 2, 3, 1, 1, 1, 1, 1);
    /* gather's adjoint: scatter_add of ones counts how often each is picked */
    tg_tensor *cnt = tg_zeros(S(2, 4), TG_FLOAT32), *ones = tg_ones(S(2, 3), TG_FLOAT32);
    ck_assert_int_eq(tg_k_scatter_add_(cnt, -1, idx, ones), 0);
    EXPECT_F(cnt, S(2, 4), 2, 1, 0, 0, 0, 0, 0, 3);
    /* int64 */
    tg_tensor *di = tg_zeros(S(3), TG_INT64), *si = I64(S(4), 1LL << 40, 2, 3, 4);
    tg_tensor *ii = I64(S(4), 2, 2, 0, 2);
    ck_assert_int_eq(tg_k_scatter_add_(di, 0, ii, si), 0);
    EXPECT_I(di, S(3), 3, 0, (1LL << 40) + 6);
    /* empty index: nothing changes */
    tg_tensor *e = tg_empty(S(2, 0), TG_INT64);
    ck_assert_int_eq(tg_k_scatter_add_(dst, 1, e, src), 0);
    EXPECT_F(dst, S(2, 4), 4, 2, 0, 0, 0, 0, 0, 15);
    tg_release(e);
    tg_release(ii);
    tg_release(si);
    tg_release(ones);
    tg_release(i0);
    tg_release(bt);
    tg_release(base);
    tg_release(idx);
    tg_release(src);
}
END_TEST

START_TEST(test_scatter_add_errors)
{
    tg_tensor *dst = tg_zeros(S(2, 3), TG_FLOAT32), *src = a23();
    tg_tensor *bad = I64(S(2, 2), 0, 1, 2, 3);
    ck_assert_int_eq(tg_k_scatter_add_(dst, 1, bad, src), -1);
    expect_error("scatter_add_: index 3 out of range for size 3 of dim 1", "element 3, position (1,1)");
    /* dst untouched by a failed call */
    EXPECT_F(tg_retain(dst), S(2, 3), 0, 0, 0, 0, 0, 0);
    tg_tensor *fidx = F32(S(2, 2), 0, 1, 1, 0);
    ck_assert_int_eq(tg_k_scatter_add_(dst, 1, fidx, src), -1);
    expect_error("index must be int64", NULL);
    tg_tensor *big = I64(S(3, 1), 0, 0, 0);
    ck_assert_int_eq(tg_k_scatter_add_(dst, 1, big, src), -1);
    expect_error("scatter_add_: index shape (3,1) exceeds", "dim 0");
    tg_tensor *srci = tg_zeros(S(2, 3), TG_INT64), *ok = I64(S(1, 1), 0);
    ck_assert_int_eq(tg_k_scatter_add_(dst, 1, ok, srci), -1);
    expect_error("scatter_add_", "int64");
    /* a destination with repeated elements is refused */
    tg_tensor *row = tg_zeros(S(1, 3), TG_FLOAT32), *ex = tg_k_expand(row, S(2, 3));
    ck_assert_int_eq(tg_k_scatter_add_(ex, 1, ok, src), -1);
    expect_error("scatter_add_", "expanded");
    tg_release(row);
    tg_release(ex);
    tg_release(srci);
    tg_release(ok);
    tg_release(big);
    tg_release(fidx);
    tg_release(bad);
    tg_release(dst);
    tg_release(src);
}
END_TEST

/* ---- index_select and index_add_ ---- */

START_TEST(test_index_select_values)
{
    tg_tensor *t = F32(S(3, 2), 1, 2, 3, 4, 5, 6);
    tg_tensor *i = I64(S(3), 2, 0, 2);
    EXPECT_F(tg_k_index_select(t, 0, i), S(3, 2), 5, 6, 1, 2, 5, 6);
    tg_tensor *j = I64(S(3), 1, 1, 0);
    EXPECT_F(tg_k_index_select(t, 1, j), S(3, 3), 2, 2, 1, 4, 4, 3, 6, 6, 5);
    EXPECT_F(tg_k_index_select(t, -1, j), S(3, 3), 2, 2, 1, 4, 4, 3, 6, 6, 5);
    /* transposed input: tt = [[1,3,5],[2,4,6]] */
    tg_tensor *tt = tg_k_transpose(t, 0, 1);
    EXPECT_F(tg_k_index_select(tt, 1, i), S(2, 3), 5, 1, 5, 6, 2, 6);
    /* a strided index: column 1 of [[9,2],[9,0],[9,1]] */
    tg_tensor *m = I64(S(3, 2), 9, 2, 9, 0, 9, 1), *col = tg_k_select(m, 1, 1);
    EXPECT_F(tg_k_index_select(t, 0, col), S(3, 2), 5, 6, 1, 2, 3, 4);
    /* a 0-dim index keeps the dim with size 1 */
    tg_tensor *one = tg_k_select(i, 0, 0);
    EXPECT_F(tg_k_index_select(t, 0, one), S(1, 2), 5, 6);
    /* empty index; int64 data; 3-D */
    tg_tensor *e = tg_empty(S(0), TG_INT64);
    expect_f(tg_k_index_select(t, 0, e), S(0, 2), NULL);
    expect_f(tg_k_index_select(t, 1, e), S(3, 0), NULL);
    tg_tensor *ti = I64(S(2, 2), 1, -2, 3, 1LL << 45);
    EXPECT_I(tg_k_index_select(ti, 1, j), S(2, 3), -2, -2, 1, 1LL << 45, 1LL << 45, 3);
    tg_tensor *c = F32(S(2, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8), *k = I64(S(1), 1);
    EXPECT_F(tg_k_index_select(c, 1, k), S(2, 1, 2), 3, 4, 7, 8);
    tg_release(c);
    tg_release(k);
    tg_release(ti);
    tg_release(e);
    tg_release(one);
    tg_release(m);
    tg_release(col);
    tg_release(tt);
    tg_release(t);
    tg_release(i);
    tg_release(j);
}
END_TEST

START_TEST(test_index_select_errors)
{
    tg_tensor *t = F32(S(3, 2), 1, 2, 3, 4, 5, 6);
    tg_tensor *bad = I64(S(4), 0, 1, 3, 2);
    FAILS(tg_k_index_select(t, 0, bad), "index_select: index 3 out of range for size 3 of dim 0",
          "element 2, position (2)");
    tg_tensor *neg = I64(S(2), 0, -1);
    FAILS(tg_k_index_select(t, 1, neg), "index -1 out of range for size 2 of dim 1", NULL);
    tg_tensor *i2 = I64(S(1, 2), 0, 1);
    FAILS(tg_k_index_select(t, 0, i2), "index_select: index must be 1-D", NULL);
    tg_tensor *fidx = F32(S(2), 0, 1);
    FAILS(tg_k_index_select(t, 0, fidx), "index_select: index must be int64", NULL);
    FAILS(tg_k_index_select(t, 2, neg), "index_select", "out of range");
    tg_release(t);
    tg_release(bad);
    tg_release(neg);
    tg_release(i2);
    tg_release(fidx);
}
END_TEST

START_TEST(test_index_add_values)
{
    tg_tensor *dst = tg_zeros(S(3, 2), TG_FLOAT32);
    tg_tensor *i = I64(S(3), 0, 2, 0), *src = F32(S(3, 2), 1, 2, 3, 4, 5, 6);
    uint64_t v0 = tg_version(dst);
    ck_assert_int_eq(tg_k_index_add_(dst, 0, i, src), 0);
    ck_assert_uint_gt(tg_version(dst), v0);
    EXPECT_F(tg_retain(dst), S(3, 2), 6, 8, 0, 0, 3, 4);
    /* dim 1 into a transposed destination */
    tg_tensor *base = tg_zeros(S(2, 3), TG_FLOAT32), *bt = tg_k_transpose(base, 0, 1); /* (3,2) */
    tg_tensor *j = I64(S(4), 1, 1, 0, 1), *s4 = F32(S(3, 4), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    ck_assert_int_eq(tg_k_index_add_(bt, 1, j, s4), 0);
    /* bt rows: [3, 1+2+4], [7, 5+6+8], [11, 9+10+12] */
    EXPECT_F(tg_retain(bt), S(3, 2), 3, 7, 7, 19, 11, 31);
    /* index_select's adjoint: index_add of ones counts picks */
    tg_tensor *cnt = tg_zeros(S(3), TG_FLOAT32), *ones = tg_ones(S(3), TG_FLOAT32);
    ck_assert_int_eq(tg_k_index_add_(cnt, 0, i, ones), 0);
    EXPECT_F(cnt, S(3), 2, 0, 1);
    /* int64; empty index */
    tg_tensor *di = tg_zeros(S(2), TG_INT64), *si = I64(S(3), 5, 6, 7);
    tg_tensor *i101 = I64(S(3), 1, 0, 1);
    ck_assert_int_eq(tg_k_index_add_(di, 0, i101, si), 0);
    EXPECT_I(di, S(2), 6, 12);
    tg_release(i101);
    tg_tensor *e = tg_empty(S(0), TG_INT64), *se = tg_empty(S(0, 2), TG_FLOAT32);
    ck_assert_int_eq(tg_k_index_add_(dst, 0, e, se), 0);
    EXPECT_F(dst, S(3, 2), 6, 8, 0, 0, 3, 4);
    tg_release(e);
    tg_release(se);
    tg_release(si);
    tg_release(ones);
    tg_release(j);
    tg_release(s4);
    tg_release(bt);
    tg_release(base);
    tg_release(i);
    tg_release(src);
}
END_TEST

START_TEST(test_index_add_errors)
{
    tg_tensor *dst = tg_zeros(S(3, 2), TG_FLOAT32), *src = F32(S(2, 2), 1, 2, 3, 4);
    tg_tensor *bad = I64(S(2), 1, 3), *i3 = I64(S(3), 0, 1, 2), *ok = I64(S(2), 0, 1);
    ck_assert_int_eq(tg_k_index_add_(dst, 0, bad, src), -1);
    expect_error("index_add_: index 3 out of range for size 3 of dim 0", "element 1");
    EXPECT_F(tg_retain(dst), S(3, 2), 0, 0, 0, 0, 0, 0);
    ck_assert_int_eq(tg_k_index_add_(dst, 0, i3, src), -1);
    expect_error("index_add_: source shape (2,2) does not fit destination (3,2)", "3 indices");
    tg_tensor *fidx = F32(S(2), 0, 1);
    ck_assert_int_eq(tg_k_index_add_(dst, 0, fidx, src), -1);
    expect_error("index must be int64", NULL);
    tg_tensor *srci = tg_zeros(S(2, 2), TG_INT64);
    ck_assert_int_eq(tg_k_index_add_(dst, 0, ok, srci), -1);
    expect_error("index_add_", "int64");
    tg_release(srci);
    tg_release(fidx);
    tg_release(ok);
    tg_release(i3);
    tg_release(bad);
    tg_release(dst);
    tg_release(src);
}
END_TEST

/* ---- one_hot ---- */

START_TEST(test_one_hot)
{
    tg_tensor *l = I64(S(3), 2, 0, 1);
    EXPECT_I(tg_k_one_hot(l, 3), S(3, 3), 0, 0, 1, 1, 0, 0, 0, 1, 0);
    EXPECT_I(tg_k_one_hot(l, 4), S(3, 4), 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0);
    EXPECT_I(tg_k_one_hot(l, -1), S(3, 3), 0, 0, 1, 1, 0, 0, 0, 1, 0);
    /* 2-D transposed labels: [[1, 0], [1, 1]] */
    tg_tensor *m = I64(S(2, 2), 1, 1, 0, 1), *mt = tg_k_transpose(m, 0, 1);
    EXPECT_I(tg_k_one_hot(mt, -1), S(2, 2, 2), 0, 1, 1, 0, 0, 1, 0, 1);
    /* 0-dim label; empty labels with a known class count */
    tg_tensor *s = tg_k_select(l, 0, 0);
    EXPECT_I(tg_k_one_hot(s, 3), S(3), 0, 0, 1);
    tg_tensor *e = tg_empty(S(2, 0), TG_INT64);
    expect_i(tg_k_one_hot(e, 4), S(2, 0, 4), NULL);
    /* errors */
    FAILS(tg_k_one_hot(l, 2), "one_hot: label 2 out of range for 2 classes", "element 0, position (0)");
    tg_tensor *neg = I64(S(2), 0, -3);
    FAILS(tg_k_one_hot(neg, 5), "one_hot: label -3 out of range", "element 1");
    FAILS(tg_k_one_hot(neg, -1), "one_hot: label -3", NULL);
    FAILS(tg_k_one_hot(e, -1), "one_hot: cannot infer", NULL);
    FAILS(tg_k_one_hot(l, -2), "one_hot: num_classes", NULL);
    tg_tensor *f = F32(S(2), 0, 1);
    FAILS(tg_k_one_hot(f, 2), "one_hot: labels must be int64", NULL);
    tg_release(f);
    tg_release(neg);
    tg_release(e);
    tg_release(s);
    tg_release(m);
    tg_release(mt);
    tg_release(l);
}
END_TEST

/* ---- determinism and size: big enough to run on several threads ---- */

START_TEST(test_thread_count_independent)
{
    enum { ROWS = 40000, COLS = 48, K = 5 };
    tg_rng rng = tg_rng_new(7, 0);
    tg_tensor *src = tg_randn(&rng, S(ROWS, COLS));
    tg_tensor *idx = tg_randint(&rng, 0, K, S(ROWS, COLS));
    tg_tensor *sel = tg_randint(&rng, 0, ROWS, S(ROWS));
    ck_assert_ptr_nonnull(src);
    ck_assert_ptr_nonnull(idx);
    ck_assert_ptr_nonnull(sel);
    const float *s = tg_data_f32(src);
    const int64_t *ix = tg_data_i64(idx), *sx = tg_data_i64(sel);

    /* serial references, summing in index order */
    float *want = calloc((size_t)ROWS * K, sizeof *want), *want_ia = calloc((size_t)ROWS * COLS, sizeof *want_ia);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(want_ia);
    for (int64_t r = 0; r < ROWS; r++)
        for (int64_t c = 0; c < COLS; c++) want[r * K + ix[r * COLS + c]] += s[r * COLS + c];
    for (int64_t r = 0; r < ROWS; r++)
        for (int64_t c = 0; c < COLS; c++) want_ia[sx[r] * COLS + c] += s[r * COLS + c];

    int saved = tg_get_num_threads();
    for (int threads = 1; threads <= 2; threads++) {
        tg_set_num_threads(threads);
        tg_tensor *dst = tg_zeros(S(ROWS, K), TG_FLOAT32);
        ck_assert_int_eq(tg_k_scatter_add_(dst, 1, idx, src), 0);
        ck_assert_int_eq(memcmp(tg_data_f32(dst), want, sizeof(float) * ROWS * K), 0);
        tg_tensor *ia = tg_zeros(S(ROWS, COLS), TG_FLOAT32);
        ck_assert_int_eq(tg_k_index_add_(ia, 0, sel, src), 0);
        ck_assert_int_eq(memcmp(tg_data_f32(ia), want_ia, sizeof(float) * ROWS * COLS), 0);
        /* gather and index_select against direct reads */
        tg_tensor *g = tg_k_gather(src, 1, idx), *is = tg_k_index_select(src, 0, sel);
        ck_assert_ptr_nonnull(g);
        ck_assert_ptr_nonnull(is);
        const float *gd = tg_data_f32(g), *isd = tg_data_f32(is);
        for (int64_t r = 0; r < ROWS; r++)
            for (int64_t c = 0; c < COLS; c++) {
                ck_assert(gd[r * COLS + c] == s[r * COLS + ix[r * COLS + c]]);
                ck_assert(isd[r * COLS + c] == s[sx[r] * COLS + c]);
            }
        tg_release(g);
        tg_release(is);
        tg_release(ia);
        tg_release(dst);
    }
    tg_set_num_threads(saved);
    free(want);
    free(want_ia);
    tg_release(src);
    tg_release(idx);
    tg_release(sel);
}
END_TEST

Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("index");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cat_values);
    tcase_add_test(tc, test_cat_int64_and_empty);
    tcase_add_test(tc, test_cat_errors);
    tcase_add_test(tc, test_stack_values);
    tcase_add_test(tc, test_stack_errors);
    tcase_add_test(tc, test_gather_values);
    tcase_add_test(tc, test_gather_empty);
    tcase_add_test(tc, test_gather_errors);
    tcase_add_test(tc, test_scatter_add_values);
    tcase_add_test(tc, test_scatter_add_errors);
    tcase_add_test(tc, test_index_select_values);
    tcase_add_test(tc, test_index_select_errors);
    tcase_add_test(tc, test_index_add_values);
    tcase_add_test(tc, test_index_add_errors);
    tcase_add_test(tc, test_one_hot);
    tcase_add_test(tc, test_thread_count_independent);
    suite_add_tcase(s, tc);
    return s;
}
