/* The FCN segmentor (models/fcn.h) against PyTorch: with every parameter,
 * running statistic, the input and the labels filled by the formulas of
 * tools/make_fixtures_fcn.py, the logits and aux logits after upsampling,
 * the mmseg loss and its terms, gradients and running statistics match what
 * PyTorch computed in float64 (fixtures_fcn.h), in training mode (BN batch
 * statistics, dropout off) and in eval mode (dropout 0.1 inactive). Also:
 * mmseg's state-dict names, backbone loading strict and not strict with
 * what was skipped reported, the frozen-backbone probe, predict, and the
 * loss's edge cases. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "formula.h"
#include "kernels.h"
#include "tensorgrad.h"
#include "tmpdir.h"

#include "fixtures_fcn.h"

#define BATCH 2
#define SIZE 32
#define CLASSES 3

static tg_resnet_opts r18_backbone(void)
{
    return (tg_resnet_opts){.depth = 18, .width = 0.125, .small_stem = true, .conv_fan = TG_FAN_OUT};
}

/* The r18_train case: dropout off for parity. */
static tg_fcn_opts r18_opts(void)
{
    tg_fcn_opts o = tg_fcn_default_opts(r18_backbone(), CLASSES);
    o.dropout = 0.0f;
    return o;
}

static tg_fcn_opts r50_opts(void)
{
    tg_fcn_opts o = tg_fcn_default_opts((tg_resnet_opts){.depth = 50, .width = 0.0625}, CLASSES);
    o.align_corners = true;
    return o;
}

static tg_module *new_fcn(tg_fcn_opts o)
{
    tg_module *m = tg_fcn_new(o);
    ck_assert_msg(m != NULL, "%s", tg_last_error());
    return m;
}

/* The script's labels: floor(u (C + 1)) for u = (noise + 1) / 2, C meaning 255. */
static tg_tensor *formula_labels(void)
{
    tg_tensor *y = tg_empty(TG_SHAPE(BATCH, SIZE, SIZE), TG_INT64);
    for (int64_t i = 0; i < tg_numel(y); i++) {
        int64_t v = (int64_t)floor((formula_noise(i, FCN_LABEL_SEED) + 1.0) / 2.0 * (CLASSES + 1));
        tg_data_i64(y)[i] = v == CLASSES ? 255 : v;
    }
    return y;
}

/* Every FCN_SAMPLE_STRIDE-th element within 1e-4 of the tensor's RMS. */
static void check_sample(const char *what, tg_tensor *t, const fixture_stats *f, const double *want)
{
    double rms = sqrt(f->s[1] / (double)tg_numel(t));
    for (int64_t i = 0, k = 0; i < tg_numel(t); i += FCN_SAMPLE_STRIDE, k++)
        ck_assert_msg(fabs(tg_data_f32(t)[i] - want[k]) <= 1e-4 * rms, "%s[%lld]: %.8g, PyTorch %.8g", what,
                      (long long)i, tg_data_f32(t)[i], want[k]);
}

/* got within 1e-5 + 3e of want, relatively (e: PyTorch float32's own error). */
static void check_value(const char *what, double got, double want, double e)
{
    ck_assert_msg(fabs(got - want) <= (1e-5 + 3 * e) * fabs(want), "%s: %.10g, PyTorch %.10g", what, got, want);
}

/* The loss averaged over labelled pixels only, from the same logits. */
static double plain_mean_loss(tg_fcn_opts o, tg_tensor *logits, tg_tensor *aux, tg_tensor *labels)
{
    o.avg_non_ignore = true;
    tg_module *m = new_fcn(o);
    tg_fcn_loss_terms t;
    tg_no_grad_enter();
    tg_tensor *loss = tg_fcn_loss(m, logits, aux, labels, &t);
    tg_no_grad_exit();
    ck_assert_ptr_nonnull(loss);
    tg_release(loss);
    tg_module_free(m);
    return t.loss;
}

static void check_case(tg_fcn_opts o, bool training, uint32_t seed, const double *want_loss,
                       const fixture_stats *outputs, const double *logits_sample, const double *aux_sample,
                       const fixture_stats *want)
{
    tg_module *m = new_fcn(o);
    formula_fill_module(m);
    tg_module_train(m, training);
    tg_tensor *x = formula_input(TG_SHAPE(BATCH, 3, SIZE, SIZE), seed), *labels = formula_labels();
    tg_tensor *logits = NULL, *aux = NULL;
    ck_assert_msg(tg_fcn_forward(m, x, &logits, &aux) == 0, "%s", tg_last_error());
    ck_assert_int_eq(logits->ndim, 4);
    ck_assert(logits->shape[0] == BATCH && logits->shape[1] == CLASSES && logits->shape[2] == SIZE &&
              logits->shape[3] == SIZE);
    ck_assert(tg_same_shape(logits, aux));
    formula_check(&outputs[0], logits);
    formula_check(&outputs[1], aux);
    check_sample("logits", logits, &outputs[0], logits_sample);
    check_sample("aux_logits", aux, &outputs[1], aux_sample);
    tg_fcn_loss_terms t;
    tg_tensor *loss = tg_fcn_loss(m, logits, aux, labels, &t);
    ck_assert_msg(loss != NULL, "%s", tg_last_error());
    check_value("loss", t.loss, want_loss[0], want_loss[4]);
    check_value("decode loss", t.decode, want_loss[1], want_loss[5]);
    check_value("aux loss", t.aux, want_loss[2], want_loss[6]);
    check_value("loss over labelled pixels", plain_mean_loss(o, logits, aux, labels), want_loss[3], want_loss[7]);
    ck_assert_msg(tg_backward(loss, NULL) == 0, "%s", tg_last_error());
    tg_tensor_list state = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &state), 0);
    int checked = 0;
    for (const fixture_stats *f = want; f->name; f++, checked++) {
        tg_tensor *p = tg_tensor_list_get(&state, f->name);
        ck_assert_msg(p != NULL, "no tensor named %s", f->name);
        tg_tensor *g = f->is_grad ? tg_grad(p) : tg_retain(p);
        ck_assert_msg(g != NULL, "%s has no gradient", f->name);
        formula_check(f, g);
        tg_release(g), tg_release(p);
    }
    ck_assert_int_gt(checked, 10);
    tg_tensor_list_clear(&state);
    tg_release(x), tg_release(labels), tg_release(logits), tg_release(aux), tg_release(loss);
    tg_module_free(m);
}

START_TEST(test_fcn_r18_train_matches_torch)
{
    check_case(r18_opts(), true, fcn_r18_train_input_seed, fcn_r18_train_loss, fcn_r18_train_outputs,
               fcn_r18_train_logits_sample, fcn_r18_train_aux_logits_sample, fcn_r18_train_stats);
}
END_TEST

START_TEST(test_fcn_r50_eval_matches_torch)
{
    check_case(r50_opts(), false, fcn_r50_eval_input_seed, fcn_r50_eval_loss, fcn_r50_eval_outputs,
               fcn_r50_eval_logits_sample, fcn_r50_eval_aux_logits_sample, fcn_r50_eval_stats);
}
END_TEST

/* mmseg's names in mmseg's order: backbone.*, then decode_head's conv_seg
 * before its convs and conv_cat, then auxiliary_head's. */
START_TEST(test_fcn_state_dict_names)
{
    tg_module *m = new_fcn(r18_opts());
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    int n = 0;
    for (; fcn_r18_state_dict[n]; n++) {
        ck_assert_int_lt(n, sd.n);
        ck_assert_str_eq(sd.items[n].name, fcn_r18_state_dict[n]);
    }
    ck_assert_int_eq(n, sd.n);
    tg_tensor_list_clear(&sd);
    tg_module_free(m);
}
END_TEST

/* A torchvision-named backbone file: written from a plain ResNet, read
 * strictly; then with one key missing and one unexpected, refused strictly
 * (the backbone unchanged) and loaded otherwise with both reported. */
START_TEST(test_fcn_load_backbone)
{
    tg_resnet_opts bo = r18_backbone();
    tg_module *resnet = tg_resnet_new(bo), *m = new_fcn(r18_opts());
    formula_fill_module(resnet);
    char path[256];
    tmpdir_file(path, "backbone.safetensors");
    ck_assert_int_eq(tg_module_save(path, resnet), 0);
    ck_assert_msg(tg_fcn_load_backbone(m, path, true, NULL, NULL) == 0, "%s", tg_last_error());
    tg_tensor_list mine = {0}, file = {0}, edited = {0}, missing = {0}, unexpected = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &mine), 0);
    ck_assert_int_eq(tg_module_state_dict(resnet, &file), 0);
    tg_tensor *w = tg_tensor_list_get(&mine, "backbone.layer4.1.conv2.weight");
    tg_tensor *want = tg_tensor_list_get(&file, "layer4.1.conv2.weight");
    ck_assert_mem_eq(tg_data_f32(w), tg_data_f32(want), (size_t)tg_numel(w) * sizeof(float));
    for (int i = 0; i < file.n; i++)
        if (strcmp(file.items[i].name, "layer4.1.bn2.running_var") != 0)
            ck_assert_int_eq(tg_tensor_list_add(&edited, file.items[i].name, file.items[i].tensor), 0);
    ck_assert_int_eq(tg_tensor_list_add(&edited, "fc.weight", want), 0);
    tmpdir_file(path, "edited.safetensors");
    ck_assert_int_eq(tg_safetensors_save(path, &edited, NULL), 0);
    tg_k_fill_(w, 0.0);
    ck_assert_int_eq(tg_fcn_load_backbone(m, path, true, &missing, &unexpected), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "layer4.1.bn2.running_var"));
    ck_assert_double_eq(tg_data_f32(w)[0], 0.0);
    ck_assert_int_eq(missing.n + unexpected.n, 0);
    ck_assert_msg(tg_fcn_load_backbone(m, path, false, &missing, &unexpected) == 0, "%s", tg_last_error());
    ck_assert_int_eq(missing.n, 1);
    ck_assert_str_eq(missing.items[0].name, "layer4.1.bn2.running_var");
    ck_assert_int_eq(unexpected.n, 1);
    ck_assert_str_eq(unexpected.items[0].name, "fc.weight");
    ck_assert_mem_eq(tg_data_f32(w), tg_data_f32(want), (size_t)tg_numel(w) * sizeof(float));
    tg_release(w), tg_release(want);
    tg_tensor_list *lists[] = {&mine, &file, &edited, &missing, &unexpected};
    for (int i = 0; i < 5; i++) tg_tensor_list_clear(lists[i]);
    tg_module_free(resnet), tg_module_free(m);
}
END_TEST

static bool has_grad(tg_tensor *t)
{
    tg_tensor *g = tg_grad(t);
    tg_release(g);
    return g != NULL;
}

/* The frozen-backbone probe: in training mode the backbone gets no
 * gradient and keeps its running statistics, the heads train, and only
 * the heads are offered to the optimiser. */
START_TEST(test_fcn_frozen_backbone)
{
    tg_fcn_opts o = r18_opts();
    o.frozen_backbone = true;
    tg_module *m = new_fcn(o);
    formula_fill_module(m);
    tg_module_train(m, true);
    tg_tensor *rv = tg_tensor_list_get(&tg_module_child(tg_module_child(m, "backbone"), "bn1")->buffers, "running_var");
    tg_tensor *rv0 = tg_k_clone(rv);
    tg_tensor *x = formula_input(TG_SHAPE(BATCH, 3, SIZE, SIZE), 1), *labels = formula_labels();
    tg_tensor *logits = NULL, *aux = NULL;
    ck_assert_int_eq(tg_fcn_forward(m, x, &logits, &aux), 0);
    tg_tensor *loss = tg_fcn_loss(m, logits, aux, labels, NULL);
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    ck_assert_mem_eq(tg_data_f32(rv), tg_data_f32(rv0), (size_t)tg_numel(rv) * sizeof(float));
    tg_tensor_list all = {0}, trainable = {0};
    ck_assert_int_eq(tg_module_parameters(m, &all), 0);
    ck_assert_int_eq(tg_fcn_parameters(m, &trainable), 0);
    int heads = 0;
    for (int i = 0; i < all.n; i++) {
        bool backbone = strncmp(all.items[i].name, "backbone.", 9) == 0;
        heads += !backbone;
        ck_assert_msg(has_grad(all.items[i].tensor) == !backbone, "%s", all.items[i].name);
    }
    ck_assert_int_eq(trainable.n, heads);
    ck_assert_int_eq(heads, 16); /* conv_seg 2 + 3 ConvModules x 3, aux: 2 + 3 */
    for (int i = 0; i < trainable.n; i++) ck_assert(strncmp(trainable.items[i].name, "backbone.", 9) != 0);
    tg_tensor_list_clear(&all), tg_tensor_list_clear(&trainable);
    tg_release(rv), tg_release(rv0), tg_release(x), tg_release(labels);
    tg_release(logits), tg_release(aux), tg_release(loss);
    tg_module_free(m);
}
END_TEST

/* predict: the argmax of the eval-mode logits, unrecorded, the training
 * mode restored; dropout is off so two calls agree. */
START_TEST(test_fcn_predict)
{
    tg_fcn_opts o = r18_opts();
    o.dropout = 0.5f;
    tg_module *m = new_fcn(o);
    formula_fill_module(m);
    tg_tensor *x = formula_input(TG_SHAPE(BATCH, 3, SIZE, SIZE), 3);
    tg_tensor *p1 = tg_fcn_predict(m, x), *p2 = tg_fcn_predict(m, x);
    ck_assert_msg(p1 != NULL, "%s", tg_last_error());
    ck_assert(m->training);
    ck_assert(p1->dtype == TG_INT64 && p1->ndim == 3 && p1->shape[1] == SIZE && p1->shape[2] == SIZE);
    ck_assert(!tg_requires_grad(p1));
    ck_assert_mem_eq(tg_data_i64(p1), tg_data_i64(p2), (size_t)tg_numel(p1) * sizeof(int64_t));
    tg_module_train(m, false);
    tg_tensor *logits = tg_module_forward(m, x), *want = tg_k_argmax(logits, 1, false);
    ck_assert_mem_eq(tg_data_i64(p1), tg_data_i64(want), (size_t)tg_numel(p1) * sizeof(int64_t));
    tg_release(x), tg_release(p1), tg_release(p2), tg_release(logits), tg_release(want);
    tg_module_free(m);
}
END_TEST

/* Constant logits: every pixel's cross-entropy is ln 3. mmseg's mean over
 * all 4 pixels, one ignored, is 3/4 ln 3; over labelled ones ln 3; the
 * total adds 0.4 of the same for the aux head. Nothing labelled: 0, with
 * zero gradients. A label that is no class: an error. */
START_TEST(test_fcn_loss_closed_form)
{
    tg_fcn_opts o = r18_opts();
    tg_module *m = new_fcn(o);
    o.avg_non_ignore = true;
    tg_module *plain = new_fcn(o);
    tg_tensor *logits = tg_zeros(TG_SHAPE(1, CLASSES, 2, 2), TG_FLOAT32), *aux = tg_zeros_like(logits);
    tg_set_requires_grad(logits, true);
    int64_t v[4] = {0, 1, 255, 2}, none[4] = {255, 255, 255, 255}, bad[4] = {0, 1, 3, 2};
    tg_tensor *y = tg_from_data(TG_SHAPE(1, 2, 2), TG_INT64, v);
    tg_fcn_loss_terms t;
    tg_tensor *loss = tg_fcn_loss(m, logits, aux, y, &t);
    ck_assert_double_eq_tol(t.decode, 0.75 * log(3.0), 1e-6);
    ck_assert_double_eq_tol(t.loss, 1.4 * 0.75 * log(3.0), 1e-6);
    ck_assert_int_eq(t.labelled, 3);
    ck_assert_double_eq_tol(t.acc, 1.0 / 3.0, 1e-12); /* ties go to class 0 */
    tg_release(loss);
    loss = tg_fcn_loss(plain, logits, NULL, y, &t);
    ck_assert_double_eq_tol(t.loss, log(3.0), 1e-6);
    ck_assert_double_eq(t.aux, 0.0);
    tg_release(loss), tg_release(y);
    y = tg_from_data(TG_SHAPE(1, 2, 2), TG_INT64, none);
    loss = tg_fcn_loss(m, logits, aux, y, &t);
    ck_assert_double_eq(t.loss, 0.0);
    ck_assert_int_eq(t.labelled, 0);
    ck_assert_int_eq(tg_backward(loss, NULL), 0);
    tg_tensor *g = tg_grad(logits);
    for (int i = 0; i < tg_numel(g); i++) ck_assert_float_eq(tg_data_f32(g)[i], 0.0f);
    tg_release(g), tg_release(loss), tg_release(y);
    y = tg_from_data(TG_SHAPE(1, 2, 2), TG_INT64, bad);
    ck_assert_ptr_null(tg_fcn_loss(m, logits, aux, y, NULL));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "out of range"));
    tg_release(y), tg_release(logits), tg_release(aux);
    tg_module_free(m), tg_module_free(plain);
}
END_TEST

/* Options: mmseg's defaults and their output stride, and bad ones refused. */
START_TEST(test_fcn_options)
{
    tg_fcn_opts o = tg_fcn_default_opts((tg_resnet_opts){.depth = 50}, 21);
    ck_assert(o.backbone.dilate && o.num_convs == 2 && o.concat_input && o.aux_head);
    ck_assert(o.dropout == 0.1f && o.aux_weight == 0.4f && !o.align_corners && !o.avg_non_ignore);
    ck_assert(!tg_fcn_default_opts(r18_backbone(), 21).backbone.dilate);
    o = r18_opts();
    o.num_convs = 0;
    ck_assert_ptr_null(tg_fcn_new(o));
    o = r18_opts();
    o.num_classes = 0;
    ck_assert_ptr_null(tg_fcn_new(o));
    o = r18_opts();
    o.backbone.num_classes = 10;
    ck_assert_ptr_null(tg_fcn_new(o));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "num_classes 0"));
    tg_module *resnet = tg_resnet_new(r18_backbone());
    tg_tensor *logits = NULL;
    tg_tensor *x = tg_zeros(TG_SHAPE(1, 3, 8, 8), TG_FLOAT32);
    ck_assert_int_eq(tg_fcn_forward(resnet, x, &logits, NULL), -1);
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "not an FCN"));
    tg_release(x);
    tg_module_free(resnet);
}
END_TEST

Suite *fcn_suite(void);
Suite *fcn_suite(void)
{
    Suite *s = suite_create("fcn");
    TCase *tc = tcase_create("torch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fcn_r18_train_matches_torch);
    tcase_add_test(tc, test_fcn_r50_eval_matches_torch);
    tcase_add_test(tc, test_fcn_state_dict_names);
    tcase_add_test(tc, test_fcn_frozen_backbone);
    tcase_add_test(tc, test_fcn_predict);
    tcase_add_test(tc, test_fcn_loss_closed_form);
    tcase_add_test(tc, test_fcn_options);
    suite_add_tcase(s, tc);
    TCase *files = tcase_create("files");
    tcase_add_checked_fixture(files, tmpdir_make, tmpdir_remove);
    tcase_add_test(files, test_fcn_load_backbone);
    suite_add_tcase(s, files);
    return s;
}
