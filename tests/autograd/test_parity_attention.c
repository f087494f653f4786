/* Scaled dot-product attention against PyTorch's definition
 * (tests/autograd/fixtures_attention.h, made by
 * tools/make_fixtures_attention.py): outputs and the gradients of q, k
 * and v for loss = sum(y * c), plain, causal, with a float mask added,
 * with an int64 keep-mask broadcast over the heads, and with another
 * scale; dropout against the same step composed from tensorgrad's own
 * ops with the mask drawn from a copy of the generator. */
#include "fixtures_attention.h"
#include "parity.h"

#define TOL 2e-6f
enum { B = 2, H = 3, L = 5, S = 7, E = 8, EV = 6 };

typedef struct {
    const char *name;
    bool causal;
    int mask; /* 0 none, 1 the float mask, 2 the int64 keep-mask */
    float scale;
    const float *y, *gq, *gk, *gv;
} att_case;

#define CASE(NAME, CAUSAL, MASK, SCALE) {#NAME, CAUSAL, MASK, SCALE, NAME##_y, NAME##_gq, NAME##_gk, NAME##_gv}
static const att_case cases[] = {
    CASE(att_plain, false, 0, 0), CASE(att_causal, true, 0, 0), CASE(att_added, false, 1, 0),
    CASE(att_kept, false, 2, 0),  CASE(att_scaled, false, 0, 0.3f),
};
#undef CASE

START_TEST(test_attention)
{
    const att_case *k = &cases[_i];
    scope s = {0};
    int64_t lq = k->causal ? S : L;
    tg_tensor *q = input(&s, k->causal ? att_qc : att_q, TG_SHAPE(B, H, lq, E), true);
    tg_tensor *kk = input(&s, att_k, TG_SHAPE(B, H, S, E), true), *v = input(&s, att_v, TG_SHAPE(B, H, S, EV), true);
    tg_attention_opts o = {.is_causal = k->causal, .scale = k->scale};
    if (k->mask == 1) o.attn_mask = keep(&s, tg_from_data(TG_SHAPE(L, S), TG_FLOAT32, att_add));
    if (k->mask == 2) o.attn_mask = keep(&s, tg_from_data(TG_SHAPE(B, 1, L, S), TG_INT64, att_keep));
    tg_tensor *y = keep(&s, tg_scaled_dot_product_attention(q, kk, v, &o));
    backprop(&s, y, k->causal ? att_cc : att_c);
    int64_t ny = B * H * lq * EV, nq = B * H * lq * E;
    assert_close(y, k->y, ny, TOL, k->name);
    assert_grad(q, k->gq, nq, TOL, "grad q");
    assert_grad(kk, k->gk, B * H * S * E, TOL, "grad k");
    assert_grad(v, k->gv, B * H * S * EV, TOL, "grad v");
    close_scope(&s);
}
END_TEST

/* softmax(q k^T / sqrt(E)) with the dropout's mask (uniform < p drops) and
 * 1 / (1 - p), times v, from tensorgrad's own ops. */
static tg_tensor *composed(scope *s, tg_tensor *q, tg_tensor *k, tg_tensor *v, float p, tg_rng rng)
{
    tg_tensor *scores = keep(s, tg_mul_scalar(keep(s, tg_matmul(q, keep(s, tg_transpose(k, -2, -1)))),
                                              1.0f / sqrtf((float)E)));
    tg_tensor *w = keep(s, tg_softmax(scores, -1));
    tg_tensor *u = keep(s, tg_rand(&rng, TG_SHAPE(B, H, L, S)));
    tg_tensor *z = keep(s, tg_mul_scalar(keep(s, tg_ge(u, keep(s, tg_scalar(p)))), 1.0f / (1.0f - p)));
    return keep(s, tg_matmul(keep(s, tg_mul(w, z)), v));
}

START_TEST(test_dropout_matches_composition)
{
    float got[2][B * H * L * EV], grads[2][B * H * S * E];
    tg_rng after = {0};
    for (int run = 0; run < 2; run++) {
        scope s = {0};
        tg_tensor *q = input(&s, att_q, TG_SHAPE(B, H, L, E), true);
        tg_tensor *k = input(&s, att_k, TG_SHAPE(B, H, S, E), true), *v = input(&s, att_v, TG_SHAPE(B, H, S, EV), true);
        tg_rng rng = tg_rng_new(42, 5);
        tg_attention_opts o = {.dropout_p = 0.3f, .rng = &rng};
        tg_tensor *y = run ? composed(&s, q, k, v, 0.3f, rng) : keep(&s, tg_scaled_dot_product_attention(q, k, v, &o));
        if (!run) after = rng;
        backprop(&s, y, att_c);
        ck_assert_int_eq(tg_copy_to_buffer(y, got[run]), 0);
        tg_tensor *gk = keep(&s, tg_grad(k));
        ck_assert_int_eq(tg_copy_to_buffer(gk, grads[run]), 0);
        close_scope(&s);
    }
    for (int i = 0; i < B * H * L * EV; i++) ck_assert_float_eq_tol(got[0][i], got[1][i], 1e-5);
    for (int i = 0; i < B * H * S * E; i++) ck_assert_float_eq_tol(grads[0][i], grads[1][i], 1e-5);
    ck_assert(after.counter == (uint64_t)(B * H * L * S + 3) / 4); /* advanced as a draw of B H L S uniforms */
}
END_TEST

START_TEST(test_bad_arguments)
{
    scope s = {0};
    tg_tensor *q = input(&s, att_q, TG_SHAPE(B, H, L, E), false), *k = input(&s, att_k, TG_SHAPE(B, H, S, E), false);
    tg_tensor *v = input(&s, att_v, TG_SHAPE(B, H, S, EV), false);
    tg_clear_error();
    ck_assert_ptr_null(tg_scaled_dot_product_attention(q, v, k, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "needs q (..., L, E), k (..., S, E) and v (..., S, Ev)"));
    tg_attention_opts o = {.dropout_p = 0.5f};
    ck_assert_ptr_null(tg_scaled_dot_product_attention(q, k, v, &o));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "needs a generator"));
    tg_rng rng = tg_rng_new(1, 0);
    o = (tg_attention_opts){.dropout_p = 1.0f, .rng = &rng};
    ck_assert_ptr_null(tg_scaled_dot_product_attention(q, k, v, &o));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "dropout_p 1 is outside [0, 1)"));
    o = (tg_attention_opts){.attn_mask = keep(&s, tg_zeros(TG_SHAPE(3, S), TG_FLOAT32))};
    ck_assert_ptr_null(tg_scaled_dot_product_attention(q, k, v, &o));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "expand"));
    close_scope(&s);
}
END_TEST

Suite *parity_attention_suite(void)
{
    Suite *s = suite_create("parity_attention");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_attention, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_dropout_matches_composition);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
