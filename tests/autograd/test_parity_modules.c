/* The layers of nn/ against torch.nn's (tests/autograd/fixtures_modules.h,
 * made by tools/make_fixtures_modules.py): the same state_dict names; with
 * torch's values loaded, the same output, input and parameter gradients,
 * and state after a training-mode forward. */
#include <string.h>

#include "fixtures_modules.h"
#include "parity.h"

#define TOL 2e-5f

typedef struct {
    const char *name;
    tg_module *(*make)(void);
    const char *const *names;
    const float *const *sd, *const *after, *const *grads; /* per state entry / parameter; NULL: int64 */
    int64_t x_shape[4];
    int x_ndim;
    const void *x; /* float, or int64 when indices */
    bool indices, self_attention; /* self_attention: forward_n on (x, x, x) */
    const float *y, *c, *gx;
} module_case;

static tg_rng rng_of_test(void) { return tg_rng_new(7, 0); }

static tg_module *layer_norm(void) { return tg_nn_layer_norm(2, (const int64_t[]){3, 4}, NULL); }
static tg_module *group_norm(void) { return tg_nn_group_norm(2, 4, NULL); }
static tg_module *rms_norm(void) { return tg_nn_rms_norm(1, (const int64_t[]){4}, &(tg_norm_layer_opts){.eps = 1e-6f}); }
static tg_module *batch_norm1d(void) { return tg_nn_batch_norm1d(3, NULL); }
static tg_module *embedding(void)
{
    tg_rng rng = rng_of_test();
    return tg_nn_embedding(6, 3, 2, &rng);
}
static tg_module *conv_t(void)
{
    tg_rng rng = rng_of_test();
    tg_conv_transpose2d_opts o = {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}, .groups = 2};
    return tg_nn_conv_transpose2d(2, 4, 3, 3, &o, true, &rng);
}
static tg_module *gelu(void) { return tg_nn_gelu(TG_GELU_TANH); }
static tg_module *silu(void) { return tg_nn_silu(); }
static tg_module *leaky_relu(void) { return tg_nn_leaky_relu(0.2f); }
static tg_module *mha(void)
{
    tg_rng rng = rng_of_test();
    return tg_nn_multihead_attention(4, 2, NULL, &rng);
}
/* pre-norm, gelu, batch first, causal: the mask the script passed */
static tg_module *encoder(void)
{
    tg_rng rng = rng_of_test();
    tg_encoder_layer_opts o = {.dim_feedforward = 6, .no_dropout = true, .gelu = true, .batch_first = true,
                               .norm_first = true, .causal = true};
    return tg_nn_transformer_encoder_layer(4, 2, &o, &rng);
}
static tg_module *encoder_post(void)
{
    tg_rng rng = rng_of_test();
    return tg_nn_transformer_encoder_layer(4, 2, &(tg_encoder_layer_opts){.dim_feedforward = 6, .no_dropout = true},
                                           &rng);
}

static tg_module *lstm(void)
{
    tg_rng rng = rng_of_test();
    return tg_nn_lstm(3, 4, &(tg_rnn_opts){.num_layers = 2}, &rng);
}
static tg_module *gru(void)
{
    tg_rng rng = rng_of_test();
    return tg_nn_gru(3, 4, &(tg_rnn_opts){.batch_first = true}, &rng);
}

#define STATE(P) P##_names, P##_sd, P##_after, P##_g
#define FLOAT_INPUT(P) P##_x, false, false, P##_y, P##_c, P##_gx

static const module_case cases[] = {
    {"LayerNorm", layer_norm, STATE(layer_norm), {2, 3, 4}, 3, FLOAT_INPUT(layer_norm)},
    {"GroupNorm", group_norm, STATE(group_norm), {2, 4, 3}, 3, FLOAT_INPUT(group_norm)},
    {"RMSNorm", rms_norm, STATE(rms_norm), {3, 4}, 2, FLOAT_INPUT(rms_norm)},
    {"BatchNorm1d", batch_norm1d, STATE(batch_norm1d), {4, 3, 2}, 3, FLOAT_INPUT(batch_norm1d)},
    {"Embedding", embedding, STATE(embedding), {2, 3}, 2, embedding_x, true, false, embedding_y, embedding_c, NULL},
    {"ConvTranspose2d", conv_t, STATE(conv_t), {1, 2, 3, 3}, 4, FLOAT_INPUT(conv_t)},
    {"GELU", gelu, STATE(gelu), {2, 5}, 2, FLOAT_INPUT(gelu)},
    {"SiLU", silu, STATE(silu), {2, 5}, 2, FLOAT_INPUT(silu)},
    {"LeakyReLU", leaky_relu, STATE(leaky_relu), {2, 5}, 2, FLOAT_INPUT(leaky_relu)},
    {"MultiheadAttention", mha, STATE(mha), {3, 2, 4}, 3, mha_x, false, true, mha_y, mha_c, mha_gx},
    {"TransformerEncoderLayer pre-norm causal", encoder, STATE(encoder), {2, 3, 4}, 3, FLOAT_INPUT(encoder)},
    {"TransformerEncoderLayer", encoder_post, STATE(encoder_post), {3, 2, 4}, 3, FLOAT_INPUT(encoder_post)},
    {"LSTM 2 layers", lstm, STATE(lstm), {5, 2, 3}, 3, FLOAT_INPUT(lstm)},
    {"GRU batch first", gru, STATE(gru), {2, 5, 3}, 3, FLOAT_INPUT(gru)},
};

/* Checks the names and loads torch's values (num_batches_tracked stays 0:
 * the fixture's int64 entry is compared by name only). */
static void load_torch_state(tg_module *m, const module_case *k, tg_tensor_list *sd)
{
    ck_assert_int_eq(tg_module_state_dict(m, sd), 0);
    int n = 0;
    while (k->names[n]) n++;
    ck_assert_int_eq(sd->n, n);
    tg_tensor_list values = {0};
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(sd->items[i].name, k->names[i]);
        tg_tensor *t = sd->items[i].tensor;
        if (!k->sd[i]) continue;
        tg_tensor *v = tg_from_data(t->ndim, t->shape, TG_FLOAT32, k->sd[i]);
        ck_assert_int_eq(tg_tensor_list_add(&values, k->names[i], v), 0);
        tg_release(v);
    }
    ck_assert_msg(tg_module_load_state_dict(m, &values, false) == 0, "%s", tg_last_error());
    tg_tensor_list_clear(&values);
}

START_TEST(test_module)
{
    const module_case *k = &cases[_i];
    tg_module *m = k->make();
    ck_assert_msg(m != NULL, "%s: %s", k->name, tg_last_error());
    tg_tensor_list sd = {0};
    load_torch_state(m, k, &sd);
    scope s = {0};
    tg_tensor *x = k->indices ? keep(&s, tg_from_data(k->x_ndim, k->x_shape, TG_INT64, k->x))
                              : input(&s, k->x, k->x_ndim, k->x_shape, true);
    tg_tensor *y = k->self_attention ? tg_module_forward_n(m, 3, (tg_tensor *[]){x, x, x}) : tg_module_forward(m, x);
    ck_assert_msg(y != NULL, "%s: %s", k->name, tg_last_error());
    keep(&s, y);
    backprop(&s, y, k->c);
    char what[64];
    snprintf(what, sizeof what, "%s y", k->name);
    assert_close(y, k->y, tg_numel(y), TOL, what);
    if (k->gx) assert_grad(x, k->gx, tg_numel(x), TOL, k->name);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(m, &params), 0);
    for (int i = 0; i < params.n; i++) {
        snprintf(what, sizeof what, "%s grad %s", k->name, params.items[i].name);
        assert_grad(params.items[i].tensor, k->grads[i], tg_numel(params.items[i].tensor), TOL, what);
    }
    for (int i = 0; i < sd.n; i++) {
        if (!k->after[i]) continue;
        snprintf(what, sizeof what, "%s %s after", k->name, sd.items[i].name);
        assert_close(sd.items[i].tensor, k->after[i], tg_numel(sd.items[i].tensor), TOL, what);
    }
    tg_tensor_list_clear(&params);
    tg_tensor_list_clear(&sd);
    close_scope(&s);
    tg_module_free(m);
}
END_TEST

/* Bad sizes are refused with the layer's name. */
START_TEST(test_bad_layers)
{
    tg_rng rng = rng_of_test();
    ck_assert_ptr_null(tg_nn_group_norm(3, 4, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "GroupNorm: 4 channels do not split into 3 groups"));
    ck_assert_ptr_null(tg_nn_layer_norm(1, (const int64_t[]){0}, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "LayerNorm: normalized_shape[0] is 0"));
    ck_assert_ptr_null(tg_nn_embedding(4, 2, 4, &rng));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "Embedding: invalid sizes (4 x 2) or padding_idx"));
    ck_assert_ptr_null(tg_nn_gelu((tg_gelu_approximate)7));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "GELU: approximate 7 is neither exact nor tanh"));
    ck_assert_ptr_null(tg_nn_conv_transpose2d(3, 4, 3, 3, &(tg_conv_transpose2d_opts){.groups = 2}, true, &rng));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "ConvTranspose2d: invalid sizes"));
}
END_TEST

Suite *parity_modules_suite(void)
{
    Suite *s = suite_create("parity_modules");
    TCase *tc = tcase_create("torch");
    tcase_add_loop_test(tc, test_module, 0, (int)N_OF(cases));
    tcase_add_test(tc, test_bad_layers);
    suite_add_tcase(s, tc);
    return s;
}
