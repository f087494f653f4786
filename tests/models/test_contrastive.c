/* MoCo-v2 / DenseCL (models/contrastive.h): one DenseCL step against plain
 * PyTorch (fixtures_contrastive.h, from tools/make_fixtures_contrastive.py)
 * with every weight, queue entry and view filled by the shared formula:
 * both losses, the top-1 counts, the matching, every query gradient, the
 * momentum-updated key encoder, running statistics, the queues and their
 * pointer after the step. Then what the fixture cannot show: the momentum
 * update's kernel alone, MoCo-v2 runs no dense branch, the key permutation
 * cancels out, identical views match cell to cell (docs/protocol.md section 15), the lambda
 * warm-up, the queue ring, the names and files, the crop-geometry score,
 * and the errors. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "formula.h"
#include "kernels.h"
#include "tensorgrad.h"
#include "tmpdir.h"

#include "fixtures_contrastive.h"

enum { BATCH = 4, SIZE = 32, CELLS = 16 };

/* The fixture's configuration; groups 2 splits BN. */
static tg_contrastive_config fixture_config(tg_contrastive_method method, int groups)
{
    tg_contrastive_config c = tg_contrastive_defaults(method);
    c.backbone = (tg_resnet_opts){.depth = 18, .width = 0.125, .small_stem = true, .bn_groups = groups};
    c.dim = 8;
    c.queue_len = 8;
    c.momentum = 0.99;
    return c;
}

/* Every float of the state by the formula, the queues' rows normalised. */
static void fill_model(tg_module *m)
{
    formula_fill_module(m);
    for (int dense = 0; dense < 2; dense++) {
        tg_tensor *q = tg_contrastive_queue(m, dense);
        if (!q) continue;
        tg_tensor *unit = tg_normalize(q, 1, 1e-12f);
        ck_assert_int_eq(tg_k_copy_(q, unit), 0);
        tg_release(unit);
    }
}

static tg_tensor *view(uint32_t seed) { return formula_input(TG_SHAPE(BATCH, 3, SIZE, SIZE), seed); }

/* m's tensor of that state_dict name (a new reference). */
static tg_tensor *named(const tg_module *m, const char *name)
{
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    tg_tensor *t = tg_tensor_list_get(&sd, name);
    ck_assert_msg(t != NULL, "no %s", name);
    tg_tensor_list_clear(&sd);
    return t;
}

/* A fixture-filled model after one step on the fixture's views. */
static tg_module *stepped(tg_contrastive_method method, tg_contrastive_out *out)
{
    tg_module *m = tg_contrastive_new(fixture_config(method, 2));
    ck_assert_msg(m != NULL, "%s", tg_last_error());
    fill_model(m);
    tg_tensor *q = view(contrastive_seed_q), *k = view(contrastive_seed_k);
    ck_assert_msg(tg_contrastive_step_perm(m, q, k, 0, contrastive_perm, out) == 0, "%s", tg_last_error());
    tg_release(q), tg_release(k);
    return m;
}

static void assert_loss(double got, int which)
{
    double want = contrastive_losses[which], e = contrastive_losses[3 + which];
    ck_assert_msg(fabs(got - want) <= (2e-5 + 3 * e) * fabs(want), "loss %d: %.9g, PyTorch %.9g", which, got, want);
}

START_TEST(test_densecl_step_matches_pytorch)
{
    tg_contrastive_out out;
    tg_module *m = stepped(TG_DENSECL, &out);
    assert_loss(tg_item(out.loss), 0);
    assert_loss(out.loss_global, 1);
    assert_loss(out.loss_dense, 2);
    ck_assert_double_eq_tol(out.weighted_global + out.weighted_dense, tg_item(out.loss), 1e-6);
    ck_assert_double_eq(out.top1_global, contrastive_hits[0] / (double)BATCH);
    ck_assert_double_eq(out.top1_dense, contrastive_hits[1] / (double)(BATCH * CELLS));
    ck_assert_int_eq(out.match->shape[0], BATCH);
    ck_assert_int_eq(out.match->shape[1], CELLS);
    for (int i = 0; i < BATCH * CELLS; i++)
        ck_assert_msg(tg_data_i64(out.match)[i] == contrastive_match[i], "match %d: %lld, PyTorch %lld", i,
                      (long long)tg_data_i64(out.match)[i], (long long)contrastive_match[i]);
    ck_assert_int_eq(tg_backward(out.loss, NULL), 0);
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    for (const fixture_stats *f = contrastive_stats; f->name; f++) {
        tg_tensor *t = tg_tensor_list_get(&sd, f->name);
        ck_assert_msg(t != NULL, "no tensor named %s", f->name);
        tg_tensor *g = f->is_grad ? tg_grad(t) : tg_retain(t);
        ck_assert_msg(g != NULL, "%s has no gradient", f->name);
        formula_check(f, g);
        tg_release(g), tg_release(t);
    }
    tg_tensor_list_clear(&sd);
    for (int dense = 0; dense < 2; dense++) {
        const double *want = dense ? contrastive_queue_dense : contrastive_queue;
        tg_tensor *q = tg_contrastive_queue(m, dense);
        for (int i = 0; i < 8 * 8; i++)
            ck_assert_msg(fabs(tg_data_f32(q)[i] - want[i]) <= 1e-5, "queue %d entry %d: %g, PyTorch %g", dense, i,
                          tg_data_f32(q)[i], want[i]);
    }
    ck_assert_int_eq(tg_contrastive_queue_ptr(m), contrastive_queue_ptr);
    tg_contrastive_out_clear(&out);
    tg_module_free(m);
}
END_TEST

/* The momentum update's kernel: k = m k + (1 - m) q, shapes checked. */
START_TEST(test_momentum_update_kernel)
{
    tg_tensor *k = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (const float[]){1, 2});
    tg_tensor *q = tg_from_data(TG_SHAPE(2), TG_FLOAT32, (const float[]){3, -2});
    tg_tensor *bad = tg_zeros(TG_SHAPE(3), TG_FLOAT32);
    ck_assert_int_eq(tg_k_momentum_update_(k, q, 0.75), 0);
    ck_assert_float_eq(tg_data_f32(k)[0], 1.5f);
    ck_assert_float_eq(tg_data_f32(k)[1], 1.0f);
    ck_assert_int_eq(tg_k_momentum_update_(k, bad, 0.75), -1);
    ck_assert_msg(strstr(tg_last_error(), "momentum_update_: operand 1"), "%s", tg_last_error());
    tg_release(k), tg_release(q), tg_release(bad);
}
END_TEST

/* MoCo-v2: no dense neck, queue or matching; the loss is L_g, the same
 * L_g as DenseCL's on the same weights. */
START_TEST(test_mocov2_has_no_dense_branch)
{
    tg_contrastive_out out;
    tg_module *m = stepped(TG_MOCOV2, &out);
    assert_loss(out.loss_global, 1);
    ck_assert_double_eq(tg_item(out.loss), out.loss_global);
    ck_assert(out.loss_dense == 0 && out.top1_dense == 0 && out.lambda == 0 && out.weighted_dense == 0);
    ck_assert_ptr_null(out.match);
    ck_assert_ptr_null(tg_contrastive_queue(m, true));
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    for (int i = 0; i < sd.n; i++)
        ck_assert_msg(!strstr(sd.items[i].name, "mlp2") && !strstr(sd.items[i].name, "queue_dense"), "%s",
                      sd.items[i].name);
    tg_tensor_list_clear(&sd);
    ck_assert_int_eq(tg_backward(out.loss, NULL), 0);
    tg_contrastive_out_clear(&out);
    tg_module_free(m);
}
END_TEST

/* With one BN group the key batch's order cannot matter: two models alike
 * and two permutations give the same losses, matching, gradients and
 * queues. With two groups a permutation that regroups the images changes
 * the key's statistics, so there it must matter. */
static void step_fresh(int groups, const int64_t *perm, tg_contrastive_out *out, tg_module **model)
{
    tg_contrastive_config c = fixture_config(TG_DENSECL, groups);
    c.seed = 7;
    c.backbone.seed = 8;
    *model = tg_contrastive_new(c);
    tg_tensor *q = view(contrastive_seed_q), *k = view(contrastive_seed_k);
    ck_assert_msg(tg_contrastive_step_perm(*model, q, k, 0, perm, out) == 0, "%s", tg_last_error());
    ck_assert_int_eq(tg_backward(out->loss, NULL), 0);
    tg_release(q), tg_release(k);
}

static void assert_close(tg_tensor *a, tg_tensor *b, double tol, const char *what)
{
    ck_assert_int_eq(tg_numel(a), tg_numel(b));
    for (int64_t i = 0; i < tg_numel(a); i++)
        ck_assert_msg(fabs(tg_data_f32(a)[i] - tg_data_f32(b)[i]) <= tol * (1 + fabs(tg_data_f32(b)[i])),
                      "%s %lld: %g vs %g", what, (long long)i, tg_data_f32(a)[i], tg_data_f32(b)[i]);
}

START_TEST(test_permutation_cancels_out)
{
    static const int64_t identity[] = {0, 1, 2, 3}, reversed[] = {3, 2, 1, 0};
    tg_contrastive_out a, b, c, d;
    tg_module *ma, *mb, *mc, *md;
    step_fresh(1, identity, &a, &ma);
    step_fresh(1, reversed, &b, &mb);
    ck_assert_double_eq_tol(a.loss_global, b.loss_global, 1e-5);
    ck_assert_double_eq_tol(a.loss_dense, b.loss_dense, 1e-5);
    for (int i = 0; i < BATCH * CELLS; i++) ck_assert_int_eq(tg_data_i64(a.match)[i], tg_data_i64(b.match)[i]);
    tg_tensor *wa = named(ma, "encoder_q.0.conv1.weight"), *wb = named(mb, "encoder_q.0.conv1.weight");
    tg_tensor *ga = tg_grad(wa), *gb = tg_grad(wb);
    assert_close(ga, gb, 1e-4, "conv1 gradient");
    for (int dense = 0; dense < 2; dense++)
        assert_close(tg_contrastive_queue(ma, dense), tg_contrastive_queue(mb, dense), 1e-5, "queue");
    step_fresh(2, identity, &c, &mc);
    step_fresh(2, contrastive_perm, &d, &md); /* key BN groups {2,0} {3,1}, not {0,1} {2,3} */
    ck_assert(fabs(c.loss_global - d.loss_global) > 1e-4);
    tg_release(wa), tg_release(wb), tg_release(ga), tg_release(gb);
    tg_contrastive_out_clear(&a), tg_contrastive_out_clear(&b);
    tg_contrastive_out_clear(&c), tg_contrastive_out_clear(&d);
    tg_module_free(ma), tg_module_free(mb), tg_module_free(mc), tg_module_free(md);
}
END_TEST

/* Spec 9.9: identical views through equal encoders match every cell to
 * itself (the key batch permuted, statistics over the same images). */
START_TEST(test_identical_views_match_identity)
{
    tg_contrastive_config c = fixture_config(TG_DENSECL, 1);
    tg_module *m = tg_contrastive_new(c);
    tg_tensor *x = view(contrastive_seed_q);
    tg_contrastive_out out;
    tg_rng rng = tg_rng_new(3, 0);
    ck_assert_int_eq(tg_contrastive_step(m, x, x, 0, &rng, &out), 0);
    for (int i = 0; i < BATCH * CELLS; i++) ck_assert_int_eq(tg_data_i64(out.match)[i], i % CELLS);
    tg_contrastive_out_clear(&out);
    tg_release(x);
    tg_module_free(m);
}
END_TEST

/* Before warmup_iters lambda is 0 (the loss is L_g) and the dense queue
 * still fills; from then on it is lambda. */
START_TEST(test_lambda_warmup)
{
    tg_contrastive_config c = fixture_config(TG_DENSECL, 2);
    c.warmup_iters = 2;
    tg_module *m = tg_contrastive_new(c);
    tg_tensor *q = view(1), *k = view(2), *before = tg_k_clone(tg_contrastive_queue(m, true));
    tg_rng rng = tg_rng_new(3, 0);
    tg_contrastive_out out;
    ck_assert_int_eq(tg_contrastive_step(m, q, k, 1, &rng, &out), 0);
    ck_assert(out.lambda == 0 && out.weighted_dense == 0 && out.loss_dense > 0);
    ck_assert_double_eq_tol(tg_item(out.loss), out.loss_global, 1e-6);
    ck_assert_float_ne(tg_data_f32(tg_contrastive_queue(m, true))[0], tg_data_f32(before)[0]);
    tg_contrastive_out_clear(&out);
    ck_assert_int_eq(tg_contrastive_step(m, q, k, 2, &rng, &out), 0);
    ck_assert_double_eq(out.lambda, 0.5);
    ck_assert_double_eq_tol(tg_item(out.loss), 0.5 * (out.loss_global + out.loss_dense), 1e-6);
    tg_contrastive_out_clear(&out);
    tg_release(q), tg_release(k), tg_release(before);
    tg_module_free(m);
}
END_TEST

/* The pointer goes round the ring; the rows written are unit keys. A
 * batch that does not divide K, or is not a multiple of the BN groups,
 * fails before anything changes. */
START_TEST(test_queue_ring_and_batch_checks)
{
    tg_module *m = tg_contrastive_new(fixture_config(TG_DENSECL, 2));
    tg_tensor *q = view(1), *k = view(2);
    tg_rng rng = tg_rng_new(3, 0);
    tg_contrastive_out out;
    for (int step = 1; step <= 3; step++) {
        ck_assert_int_eq(tg_contrastive_step(m, q, k, step, &rng, &out), 0);
        tg_contrastive_out_clear(&out);
        ck_assert_int_eq(tg_contrastive_queue_ptr(m), (step % 2 ? 4 : 0));
    }
    tg_tensor *norms = tg_k_mul(tg_contrastive_queue(m, true), tg_contrastive_queue(m, true)), *ss = NULL;
    ss = tg_k_sum(norms, 1, (const int[]){1}, false);
    for (int i = 0; i < 8; i++) ck_assert_float_eq_tol(tg_data_f32(ss)[i], 1.0f, 1e-5f);
    tg_tensor *key = named(m, "encoder_k.0.conv1.weight"), *key_before = tg_k_clone(key);
    tg_tensor *three = formula_input(TG_SHAPE(3, 3, SIZE, SIZE), 1);
    tg_tensor *six = formula_input(TG_SHAPE(6, 3, SIZE, SIZE), 1);
    tg_clear_error();
    ck_assert_int_eq(tg_contrastive_step(m, three, three, 0, &rng, &out), -1);
    ck_assert_msg(strstr(tg_last_error(), "queue length 8 is not a multiple of the batch size 3"), "%s",
                  tg_last_error());
    ck_assert_ptr_null(out.loss);
    ck_assert_int_eq(tg_contrastive_step(m, q, three, 0, &rng, &out), -1);
    ck_assert_msg(strstr(tg_last_error(), "views (4,3,32,32) and (3,3,32,32)"), "%s", tg_last_error());
    ck_assert_int_eq(tg_contrastive_step_perm(m, q, k, 0, (const int64_t[]){0, 1, 1, 2}, &out), -1);
    ck_assert_msg(strstr(tg_last_error(), "perm[2] = 1: not a permutation of 0..3"), "%s", tg_last_error());
    tg_contrastive_config c = fixture_config(TG_MOCOV2, 4);
    c.queue_len = 12;
    tg_module *m4 = tg_contrastive_new(c);
    ck_assert_int_eq(tg_contrastive_step(m4, six, six, 0, &rng, &out), -1);
    ck_assert_msg(strstr(tg_last_error(), "batch size 6 is not a multiple of the 4 BN groups"), "%s", tg_last_error());
    assert_close(key, key_before, 0, "key after a refused step");
    ck_assert_int_eq(tg_contrastive_queue_ptr(m), 4);
    tg_release(norms), tg_release(ss), tg_release(key), tg_release(key_before), tg_release(three), tg_release(six);
    tg_release(q), tg_release(k);
    tg_module_free(m), tg_module_free(m4);
}
END_TEST

/* OpenSelfSup's names; keys start equal to queries and take no gradient;
 * the optimizer's parameters are the query's. */
START_TEST(test_names_and_initial_state)
{
    tg_module *m = tg_contrastive_new(fixture_config(TG_DENSECL, 2));
    tg_tensor_list sd = {0}, params = {0}, trained = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    static const char *names[] = {"queue", "queue_dense", "queue_ptr", "encoder_q.0.conv1.weight",
                                  "encoder_q.0.layer4.1.bn2.running_var", "encoder_q.1.mlp.0.weight",
                                  "encoder_q.1.mlp.2.bias", "encoder_q.1.mlp2.0.weight", "encoder_q.1.mlp2.2.bias",
                                  "encoder_k.0.conv1.weight", "encoder_k.1.mlp2.2.bias"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tg_tensor *t = tg_tensor_list_get(&sd, names[i]);
        ck_assert_msg(t != NULL, "no %s", names[i]);
        tg_release(t);
    }
    tg_tensor *w = tg_tensor_list_get(&sd, "encoder_q.1.mlp2.0.weight");
    ck_assert_int_eq(w->shape[0], 64); /* hidden: C5's channels */
    ck_assert_int_eq(w->shape[1], 64);
    tg_release(w);
    ck_assert_int_eq(tg_module_parameters(m, &params), 0);
    ck_assert_int_eq(tg_contrastive_parameters(m, &trained), 0);
    ck_assert_int_eq(2 * trained.n, params.n);
    for (int i = 0; i < trained.n; i++) {
        ck_assert_str_eq(trained.items[i].name, params.items[i].name);
        tg_tensor *kp = params.items[trained.n + i].tensor;
        ck_assert(tg_requires_grad(trained.items[i].tensor) && !tg_requires_grad(kp));
        assert_close(kp, trained.items[i].tensor, 0, params.items[trained.n + i].name);
    }
    tg_tensor_list_clear(&sd), tg_tensor_list_clear(&params), tg_tensor_list_clear(&trained);
    tg_module_free(m);
}
END_TEST

/* The query backbone alone loads strictly into a plain ResNet; a training
 * checkpoint restores both encoders, the queues and the pointer. */
START_TEST(test_backbone_export_and_checkpoint)
{
    tg_contrastive_out out;
    tg_module *m = stepped(TG_DENSECL, &out);
    char path[256];
    ck_assert_int_eq(tg_contrastive_save_backbone(m, tmpdir_file(path, "backbone.safetensors")), 0);
    tg_module *r = tg_resnet_new((tg_resnet_opts){.depth = 18, .width = 0.125, .small_stem = true});
    ck_assert_msg(tg_module_load(path, r, true) == 0, "%s", tg_last_error());
    tg_tensor *w = named(r, "conv1.weight"), *want = named(m, "encoder_q.0.conv1.weight");
    assert_close(w, want, 0, "conv1");
    tg_release(w), tg_release(want);
    ck_assert_int_eq(tg_checkpoint_save(tmpdir_file(path, "ckpt.safetensors"), m, NULL, NULL), 0);
    tg_module *fresh = tg_contrastive_new(fixture_config(TG_DENSECL, 2));
    ck_assert_msg(tg_checkpoint_load(path, fresh, NULL, NULL) == 0, "%s", tg_last_error());
    ck_assert_int_eq(tg_contrastive_queue_ptr(fresh), contrastive_queue_ptr);
    for (int dense = 0; dense < 2; dense++)
        assert_close(tg_contrastive_queue(fresh, dense), tg_contrastive_queue(m, dense), 0, "queue");
    const char *key_name = "encoder_k.0.layer4.1.conv2.weight";
    tg_tensor *k1 = named(fresh, key_name), *k0 = named(m, key_name);
    assert_close(k1, k0, 0, "key layer4.1.conv2");
    tg_release(k1), tg_release(k0);
    tg_contrastive_out_clear(&out);
    tg_module_free(m), tg_module_free(r), tg_module_free(fresh);
}
END_TEST

/* Cells of an 8x8 grid on 64-pixel views: the same crop maps a cell to
 * itself; a flipped key mirrors the column; a key showing only the right
 * half of the source has no cell for the query's left half, and there a
 * query cell spans two key cells, its centre in the second. */
START_TEST(test_true_cell_and_score)
{
    tg_view_geom whole = {{0, 0, 64, 64}, false, 64}, flipped = {{0, 0, 64, 64}, true, 64};
    tg_view_geom right = {{32, 0, 32, 64}, false, 64};
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(tg_contrastive_true_cell(&whole, &whole, 8, i), i);
        ck_assert_int_eq(tg_contrastive_true_cell(&whole, &flipped, 8, i), i / 8 * 8 + 7 - i % 8);
        int64_t right_cell = i % 8 < 4 ? -1 : i / 8 * 8 + 2 * (i % 8 - 4) + 1;
        ck_assert_int_eq(tg_contrastive_true_cell(&whole, &right, 8, i), right_cell);
    }
    /* two samples: identity match; sample 0 same crops, sample 1 key flipped */
    tg_tensor *match = tg_empty(TG_SHAPE(2, 64), TG_INT64);
    tg_tensor *aux = tg_empty(TG_SHAPE(2, 2 * TG_PAIR_VIEW_AUX), TG_FLOAT32);
    for (int i = 0; i < 128; i++) tg_data_i64(match)[i] = i % 64;
    static const float rows[2][2 * TG_PAIR_VIEW_AUX] = {{0, 0, 64, 64, 0, 64, 0, 0, 64, 64, 0, 64},
                                                          {0, 0, 64, 64, 0, 64, 0, 0, 64, 64, 1, 64}};
    memcpy(tg_data_f32(aux), rows, sizeof rows);
    tg_match_score s = {0};
    ck_assert_int_eq(tg_contrastive_score_match(match, aux, &s), 0);
    ck_assert_int_eq(s.cells, 128);
    ck_assert_int_eq(s.exact, 64); /* mirrored: only sample 0 */
    ck_assert_int_eq(s.near, 64 + 16); /* columns 3 and 4 are each other's neighbours */
    tg_tensor *bad = tg_empty(TG_SHAPE(2, 60), TG_INT64);
    ck_assert_int_eq(tg_contrastive_score_match(bad, aux, &s), -1);
    tg_release(match), tg_release(aux), tg_release(bad);
}
END_TEST

START_TEST(test_config_errors)
{
    tg_contrastive_config c = fixture_config(TG_DENSECL, 2);
    c.tau = 0;
    ck_assert_ptr_null(tg_contrastive_new(c));
    ck_assert_msg(strstr(tg_last_error(), "tau 0"), "%s", tg_last_error());
    c = fixture_config(TG_DENSECL, 2);
    c.queue_len = 0;
    ck_assert_ptr_null(tg_contrastive_new(c));
    c = fixture_config(TG_DENSECL, 2);
    c.backbone.depth = 20;
    ck_assert_ptr_null(tg_contrastive_new(c));
    tg_module *r = tg_resnet_new((tg_resnet_opts){.depth = 18});
    tg_contrastive_out out;
    tg_rng rng = tg_rng_new(1, 0);
    ck_assert_int_eq(tg_contrastive_step(r, NULL, NULL, 0, &rng, &out), -1);
    ck_assert_int_eq(tg_contrastive_step_perm(r, NULL, NULL, 0, NULL, &out), -1);
    ck_assert_msg(strstr(tg_last_error(), "the module is a ResNet, not a MoCo-v2/DenseCL model"), "%s",
                  tg_last_error());
    ck_assert_ptr_null(tg_contrastive_backbone(r));
    tg_module_free(r);
}
END_TEST

Suite *contrastive_suite(void);
Suite *contrastive_suite(void)
{
    Suite *s = suite_create("contrastive");
    TCase *tc = tcase_create("step");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_densecl_step_matches_pytorch);
    tcase_add_test(tc, test_momentum_update_kernel);
    tcase_add_test(tc, test_mocov2_has_no_dense_branch);
    tcase_add_test(tc, test_permutation_cancels_out);
    tcase_add_test(tc, test_identical_views_match_identity);
    tcase_add_test(tc, test_lambda_warmup);
    tcase_add_test(tc, test_queue_ring_and_batch_checks);
    tcase_add_test(tc, test_names_and_initial_state);
    tcase_add_test(tc, test_true_cell_and_score);
    tcase_add_test(tc, test_config_errors);
    suite_add_tcase(s, tc);
    TCase *files = tcase_create("files");
    tcase_set_timeout(files, 300);
    tcase_add_checked_fixture(files, tmpdir_make, tmpdir_remove);
    tcase_add_test(files, test_backbone_export_and_checkpoint);
    suite_add_tcase(s, files);
    return s;
}
