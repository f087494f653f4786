/* ResNet-18 and ResNet-50 against torchvision: with every parameter, running
 * statistic and the input filled by the formula of
 * tools/make_fixtures_resnet.py, the logits, the loss, every parameter
 * gradient and every BN running statistic match what torchvision computed in
 * float64 (fixtures_resnet*.h): to 1e-4 relative to each tensor's norm in
 * eval mode; in training mode, which this tiny batch makes ill-conditioned,
 * about as closely as torchvision's own float32 run (see the script). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/resnet.h"
#include "tensorgrad.h"
#include "formula.h"

#include "fixtures_resnet18_eval.h"
#include "fixtures_resnet18_train.h"
#include "fixtures_resnet50_eval.h"

#define BATCH 2
#define SIZE 64

/* ||got - want|| <= 1e-4 ||want|| over the logits. */
static void assert_logits(tg_tensor *logits, const double *want)
{
    double err = 0, norm = 0;
    for (int64_t j = 0; j < tg_numel(logits); j++) {
        double d = tg_data_f32(logits)[j] - want[j];
        err += d * d;
        norm += want[j] * want[j];
    }
    ck_assert_msg(sqrt(err) <= 1e-4 * sqrt(norm), "logits: relative error %.3g", sqrt(err / norm));
}

static void check_resnet(int depth, bool training, uint32_t seed, const double *want_logits, double want_loss,
                         const fixture_stats *want)
{
    tg_module *m = tg_resnet_new((tg_resnet_opts){.depth = depth, .num_classes = 1000, .conv_fan = TG_FAN_OUT});
    ck_assert_msg(m != NULL, "%s", tg_last_error());
    tg_module_train(m, training);
    formula_fill_module(m);
    tg_tensor *x = formula_input(TG_SHAPE(BATCH, 3, SIZE, SIZE), seed);
    tg_tensor *logits = tg_module_forward(m, x);
    ck_assert_msg(logits != NULL, "%s", tg_last_error());
    int64_t nl = tg_numel(logits);
    tg_tensor *w = tg_empty(logits->ndim, logits->shape, TG_FLOAT32);
    double loss = 0, norm_l = 0, norm_w = 0; /* the loss is judged against ||logits|| ||w|| */
    for (int64_t j = 0; j < nl; j++) {
        tg_data_f32(w)[j] = (float)cos(0.13 * (double)j);
        loss += (double)tg_data_f32(logits)[j] * cos(0.13 * (double)j);
        norm_l += want_logits[j] * want_logits[j];
        norm_w += cos(0.13 * (double)j) * cos(0.13 * (double)j);
    }
    assert_logits(logits, want_logits);
    ck_assert_msg(fabs(loss - want_loss) <= 1e-4 * sqrt(norm_l * norm_w), "loss %.8g vs %.8g", loss, want_loss);
    ck_assert_int_eq(tg_backward(logits, w), 0);
    tg_tensor_list state = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &state), 0);
    int checked = 0;
    for (const fixture_stats *f = want; f->name; f++, checked++) {
        tg_tensor *t = tg_tensor_list_get(&state, f->name);
        ck_assert_msg(t != NULL, "no tensor named %s", f->name);
        tg_tensor *g = f->is_grad ? tg_grad(t) : tg_retain(t);
        ck_assert_msg(g != NULL, "%s has no gradient", f->name);
        formula_check(f, g);
        tg_release(g);
        tg_release(t);
    }
    ck_assert_int_gt(checked, 0);
    tg_tensor_list_clear(&state);
    tg_release(x), tg_release(logits), tg_release(w);
    tg_module_free(m);
}

START_TEST(test_resnet18_eval_matches_torchvision)
{
    check_resnet(18, false, resnet18_eval_input_seed, resnet18_eval_logits, resnet18_eval_loss, resnet18_eval_stats);
}
END_TEST

START_TEST(test_resnet50_eval_matches_torchvision)
{
    check_resnet(50, false, resnet50_eval_input_seed, resnet50_eval_logits, resnet50_eval_loss, resnet50_eval_stats);
}
END_TEST

START_TEST(test_resnet18_train_matches_torchvision)
{
    check_resnet(18, true, resnet18_train_input_seed, resnet18_train_logits, resnet18_train_loss, resnet18_train_stats);
}
END_TEST

/* Names and counts as torchvision's state_dict (resnet18: 62 parameters,
 * 11,689,512 numbers; 60 BN buffers with num_batches_tracked). */
START_TEST(test_resnet18_state_dict_names)
{
    tg_module *m = tg_resnet_new((tg_resnet_opts){.depth = 18, .num_classes = 1000});
    tg_tensor_list sd = {0}, params = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    ck_assert_int_eq(tg_module_parameters(m, &params), 0);
    ck_assert_int_eq(params.n, 62);
    ck_assert_int_eq(sd.n, 62 + 3 * 20);
    ck_assert_int_eq(tg_module_num_parameters(m), 11689512);
    ck_assert_str_eq(sd.items[0].name, "conv1.weight");
    ck_assert_str_eq(sd.items[3].name, "bn1.running_mean");
    ck_assert_str_eq(sd.items[5].name, "bn1.num_batches_tracked");
    ck_assert_str_eq(sd.items[6].name, "layer1.0.conv1.weight");
    ck_assert_str_eq(sd.items[sd.n - 1].name, "fc.bias");
    tg_tensor *ds = tg_tensor_list_get(&sd, "layer2.0.downsample.1.running_var");
    ck_assert_ptr_nonnull(ds);
    tg_release(ds);
    tg_tensor_list_clear(&sd);
    tg_tensor_list_clear(&params);
    tg_module_free(m);
}
END_TEST

/* Output stride 8 with dilation, the small-input stem, C4 and C5. */
START_TEST(test_resnet_options)
{
    tg_resnet_opts o = {.depth = 18, .dilate = true, .width = 0.25, .small_stem = false};
    tg_module *m = tg_resnet_new(o);
    tg_tensor *x = tg_zeros(TG_SHAPE(2, 3, 64, 64), TG_FLOAT32), *c4 = NULL, *c5 = NULL;
    ck_assert_int_eq(tg_resnet_features(m, x, &c4, &c5), 0);
    ck_assert_int_eq(c4->shape[1], tg_resnet_channels(o, 3));
    ck_assert_int_eq(c5->shape[1], 128);
    ck_assert_int_eq(c5->shape[2], 8); /* 64 / 8 */
    ck_assert_int_eq(c4->shape[3], 8);
    tg_release(c4), tg_release(c5);
    tg_module_free(m);
    o = (tg_resnet_opts){.depth = 18, .small_stem = true, .width = 0.25};
    m = tg_resnet_new(o);
    ck_assert_int_eq(tg_resnet_features(m, x, NULL, &c5), 0);
    ck_assert_int_eq(c5->shape[2], 8); /* 64 / 8 with no stem stride */
    tg_release(c5), tg_release(x);
    tg_module_free(m);
    ck_assert_ptr_null(tg_resnet_new((tg_resnet_opts){.depth = 20}));
}
END_TEST

/* The dilation of a stride-1 3x3 conv module, read from its impulse
 * response: with every weight 1, an impulse at the centre of an 11x11 map
 * reaches the centre row first at column centre + dilation. */
static int conv_dilation(tg_module *resnet, const char *stage, const char *block, const char *conv)
{
    tg_module *c = tg_module_child(tg_module_child(tg_module_child(resnet, stage), block), conv);
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(c, &params), 0);
    tg_tensor *w = params.items[0].tensor;
    for (int64_t i = 0; i < tg_numel(w); i++) tg_data_f32(w)[i] = 1.0f;
    tg_tensor *x = tg_zeros(TG_SHAPE(1, w->shape[1], 11, 11), TG_FLOAT32);
    tg_data_f32(x)[5 * 11 + 5] = 1.0f;
    tg_tensor *y = tg_module_forward(c, x);
    ck_assert_ptr_nonnull(y);
    int d = 1;
    while (d < 5 && tg_data_f32(y)[5 * 11 + 5 + d] == 0.0f) d++;
    tg_release(y), tg_release(x);
    tg_tensor_list_clear(&params);
    return d;
}

/* Dilated stages (output stride 8) as mmseg builds them: stage 3's first
 * block undilated and stage 4's at 2 (contract_dilation), the rest at 2 and
 * 4; a BasicBlock dilates conv1 only, a Bottleneck its 3x3 conv2. */
START_TEST(test_resnet_dilation)
{
    tg_module *m = tg_resnet_new((tg_resnet_opts){.depth = 18, .dilate = true, .width = 0.25});
    ck_assert_int_eq(conv_dilation(m, "layer3", "0", "conv1"), 1);
    ck_assert_int_eq(conv_dilation(m, "layer3", "1", "conv1"), 2);
    ck_assert_int_eq(conv_dilation(m, "layer4", "0", "conv1"), 2);
    ck_assert_int_eq(conv_dilation(m, "layer4", "1", "conv1"), 4);
    const char *blocks[] = {"0", "1"};
    for (int s = 3; s <= 4; s++)
        for (int b = 0; b < 2; b++) ck_assert_int_eq(conv_dilation(m, s == 3 ? "layer3" : "layer4", blocks[b], "conv2"), 1);
    tg_module_free(m);
    m = tg_resnet_new((tg_resnet_opts){.depth = 50, .dilate = true, .width = 0.0625});
    ck_assert_int_eq(conv_dilation(m, "layer3", "0", "conv2"), 1);
    ck_assert_int_eq(conv_dilation(m, "layer3", "1", "conv2"), 2);
    ck_assert_int_eq(conv_dilation(m, "layer4", "0", "conv2"), 2);
    ck_assert_int_eq(conv_dilation(m, "layer4", "2", "conv2"), 4);
    tg_module_free(m);
}
END_TEST

Suite *resnet_suite(void);
Suite *resnet_suite(void)
{
    Suite *s = suite_create("resnet");
    TCase *tc = tcase_create("torchvision");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_resnet18_state_dict_names);
    tcase_add_test(tc, test_resnet_options);
    tcase_add_test(tc, test_resnet_dilation);
    tcase_add_test(tc, test_resnet18_eval_matches_torchvision);
    tcase_add_test(tc, test_resnet50_eval_matches_torchvision);
    tcase_add_test(tc, test_resnet18_train_matches_torchvision);
    suite_add_tcase(s, tc);
    return s;
}
