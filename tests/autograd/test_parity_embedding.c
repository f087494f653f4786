/* Embedding against PyTorch: the rows and the weight's gradient for loss
 * = sum(y * c) must match torch's (tests/autograd/fixtures_embedding.h,
 * made by tools/make_fixtures_embedding.py): repeated indices add their
 * gradients, the padding row's gradient stays 0. */
#include "fixtures_embedding.h"
#include "parity.h"

#define TOL 1e-6f

static const struct {
    const char *name;
    int64_t padding_idx;
    const float *y, *gw;
} cases[] = {
    {"no padding", TG_EMBEDDING_NO_PADDING, emb_plain_y, emb_plain_gw},
    {"padding_idx 2", 2, emb_pad2_y, emb_pad2_gw},
    {"padding_idx -1", -1, emb_pad_last_y, emb_pad_last_gw},
};

START_TEST(test_embedding)
{
    scope s = {0};
    tg_tensor *w = input(&s, emb_w, TG_SHAPE(10, 4), true);
    tg_tensor *idx = keep(&s, tg_from_data(TG_SHAPE(2, 3, 2), TG_INT64, emb_idx));
    tg_tensor *y = keep(&s, tg_embedding(w, idx, cases[_i].padding_idx));
    ck_assert_int_eq(y->ndim, 4);
    ck_assert_int_eq(y->shape[3], 4);
    backprop(&s, y, emb_c);
    assert_close(y, cases[_i].y, N_OF(emb_c), TOL, cases[_i].name);
    assert_grad(w, cases[_i].gw, N_OF(emb_w), TOL, cases[_i].name);
    close_scope(&s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *w = input(&s, emb_w, TG_SHAPE(10, 4), false);
    tg_tensor *idx = keep(&s, tg_from_data(TG_SHAPE(2, 3, 2), TG_INT64, emb_idx));
    tg_clear_error();
    ck_assert_ptr_null(tg_embedding(w, idx, 10));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "embedding: padding_idx 10 is outside the weight's 10 rows"));
    ck_assert_ptr_null(tg_embedding(idx, w, TG_EMBEDDING_NO_PADDING));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "embedding: needs a 2-D float32 weight and int64 indices"));
    tg_tensor *far = keep(&s, tg_from_data(TG_SHAPE(1), TG_INT64, (int64_t[]){10}));
    ck_assert_ptr_null(tg_embedding(w, far, TG_EMBEDDING_NO_PADDING));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "10"));
    close_scope(&s);
}
END_TEST

Suite *parity_embedding_suite(void)
{
    Suite *s = suite_create("parity_embedding");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_embedding, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
