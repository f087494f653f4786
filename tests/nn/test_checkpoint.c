/* Training checkpoints and weights-only files (nn/checkpoint.h): resuming
 * gives bit for bit the numbers of a run that never stopped (SGD with
 * momentum and AdamW, with batch norm and dropout); bad files, files of
 * another architecture and missing entries are refused with the key and
 * the file named and nothing changed; generators keep their exact bits;
 * weights move both ways, and a file written from PyTorch
 * (tools/make_fixtures_checkpoint.py) loads and computes what torch did. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures/torch_small_model.h"
#include "kernels.h"
#include "suites.h"
#include "tensorgrad.h"
#include "tmpdir.h"

enum { SGD, ADAMW };
#define BATCH 8
#define CLASSES 3
#define TOTAL_STEPS 6

#define CK_ERROR_HAS(text) \
    ck_assert_msg(strstr(tg_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"", tg_last_error(), (text))

/* ---- the model: torch's Sequential(conv, bn, relu, pool, flatten, dropout, linear) ---- */

/* Inputs (N, 3, 8, 8) -> logits (N, classes). init_seed draws the weights,
 * dropout_seed the masks; with_dropout false puts a ReLU in its place. */
static tg_module *small_cnn(uint64_t init_seed, uint64_t dropout_seed, int classes, bool with_dropout)
{
    tg_rng rng = tg_rng_new(init_seed, 0);
    tg_module *seq = tg_nn_sequential();
    ck_assert_ptr_nonnull(seq);
    tg_module *layers[] = {
        tg_nn_conv2d(3, 4, 3, 3, (tg_conv2d_opts){.padding = {1, 1}}, true, &rng),
        tg_nn_batch_norm2d(4, NULL),
        tg_nn_relu(false),
        tg_nn_max_pool2d((tg_pool2d_opts){.kernel = {2, 2}}),
        tg_nn_flatten(),
        with_dropout ? tg_nn_dropout(0.5f, dropout_seed) : tg_nn_relu(false),
        tg_nn_linear(4 * 4 * 4, classes, true, &rng),
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        ck_assert_msg(tg_nn_sequential_append(seq, layers[i]) == 0, "%s", tg_last_error());
    return seq;
}

static tg_optimizer *make_optimizer(tg_module *model, int kind, double lr)
{
    tg_tensor_list params = {0};
    ck_assert_int_eq(tg_module_parameters(model, &params), 0);
    tg_sgd_opts sgd = {.lr = lr, .momentum = 0.9, .weight_decay = 1e-4};
    tg_adamw_opts adamw = {.lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 1e-2};
    tg_optimizer *opt = kind == SGD ? tg_sgd_new(&params, sgd) : tg_adamw_new(&params, adamw);
    ck_assert_msg(opt != NULL, "%s", tg_last_error());
    tg_tensor_list_clear(&params);
    return opt;
}

static double base_lr(int kind) { return kind == SGD ? 0.1 : 0.01; }

/* Steps [from, to) on batches drawn from data; the lr for the next step is
 * set after each step, as a scheduler does, so it lives in the optimizer. */
static void train_steps(tg_module *model, tg_optimizer *opt, tg_rng *data, int kind, int from, int to)
{
    tg_module_train(model, true);
    for (int step = from; step < to; step++) {
        tg_tensor *x = tg_randn(data, TG_SHAPE(BATCH, 3, 8, 8));
        tg_tensor *y = tg_randint(data, 0, CLASSES, TG_SHAPE(BATCH));
        tg_tensor *logits = tg_module_forward(model, x);
        tg_tensor *loss = tg_cross_entropy(logits, y, NULL);
        ck_assert_msg(loss != NULL, "%s", tg_last_error());
        ck_assert_int_eq(tg_backward(loss, NULL), 0);
        ck_assert_msg(tg_optimizer_step(opt) == 0, "%s", tg_last_error());
        tg_optimizer_zero_grad(opt);
        tg_optimizer_set_lr(opt, tg_lr_cosine(base_lr(kind), 1e-4, step + 1, TOTAL_STEPS));
        tg_release(x), tg_release(y), tg_release(logits), tg_release(loss);
    }
}

/* A copy of the model's state_dict (or of the optimizer's state). */
static tg_tensor_list copy_list(const tg_tensor_list *from)
{
    tg_tensor_list out = {0};
    for (int i = 0; i < from->n; i++) {
        tg_tensor *c = tg_k_clone(from->items[i].tensor);
        ck_assert_int_eq(tg_tensor_list_add(&out, from->items[i].name, c), 0);
        tg_release(c);
    }
    return out;
}

static tg_tensor_list copy_state(const tg_module *model)
{
    tg_tensor_list live = {0};
    ck_assert_int_eq(tg_module_state_dict(model, &live), 0);
    tg_tensor_list out = copy_list(&live);
    tg_tensor_list_clear(&live);
    return out;
}

static tg_tensor_list copy_optim_state(const tg_optimizer *opt)
{
    tg_tensor_list live = {0};
    ck_assert_int_eq(tg_optimizer_state(opt, &live), 0);
    tg_tensor_list out = copy_list(&live);
    tg_tensor_list_clear(&live);
    return out;
}

/* Same names, shapes, dtypes and bytes, in the same order. */
static void assert_bitwise_equal(const tg_tensor_list *a, const tg_tensor_list *b)
{
    ck_assert_int_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        ck_assert_str_eq(a->items[i].name, b->items[i].name);
        tg_tensor *x = a->items[i].tensor, *y = b->items[i].tensor;
        ck_assert_int_eq(x->dtype, y->dtype);
        ck_assert(tg_same_shape(x, y));
        size_t bytes = (size_t)tg_numel(x) * tg_dtype_size(x->dtype);
        void *bx = malloc(bytes + 1), *by = malloc(bytes + 1);
        ck_assert(bx && by);
        ck_assert_int_eq(tg_copy_to_buffer(x, bx), 0);
        ck_assert_int_eq(tg_copy_to_buffer(y, by), 0);
        ck_assert_msg(memcmp(bx, by, bytes) == 0, "%s differs", a->items[i].name);
        free(bx), free(by);
    }
}

static bool same_bits(const tg_tensor_list *a, const tg_tensor_list *b)
{
    bool same = a->n == b->n;
    for (int i = 0; same && i < a->n; i++) {
        tg_tensor *x = a->items[i].tensor, *y = b->items[i].tensor;
        size_t bytes = (size_t)tg_numel(x) * tg_dtype_size(x->dtype);
        void *bx = malloc(bytes + 1), *by = malloc(bytes + 1);
        same = bx && by && tg_same_shape(x, y) && !tg_copy_to_buffer(x, bx) && !tg_copy_to_buffer(y, by) &&
               memcmp(bx, by, bytes) == 0;
        free(bx), free(by);
    }
    return same;
}

/* ---- resuming gives the same numbers as not stopping ---- */

START_TEST(test_resume_is_bitwise)
{
    const int kind = _i; /* SGD, ADAMW */
    char path[256];
    tmpdir_file(path, "run.safetensors");

    /* The run that never stops. */
    tg_module *model = small_cnn(1, 77, CLASSES, true);
    tg_optimizer *opt = make_optimizer(model, kind, base_lr(kind));
    tg_rng data = tg_rng_new(5, 3);
    train_steps(model, opt, &data, kind, 0, TOTAL_STEPS);
    tg_tensor_list expected = copy_state(model), expected_opt = copy_optim_state(opt);
    tg_optimizer_free(opt);
    tg_module_free(model);

    /* Three steps, a checkpoint, and everything freed. */
    model = small_cnn(1, 77, CLASSES, true);
    opt = make_optimizer(model, kind, base_lr(kind));
    data = tg_rng_new(5, 3);
    train_steps(model, opt, &data, kind, 0, 3);
    tg_checkpoint_rng rngs[] = {{"data", &data}};
    tg_checkpoint_extra extra = {.step = 3, .epoch = 1, .position = 3 * BATCH, .n_rngs = 1, .rngs = rngs};
    ck_assert_int_eq(tg_metadata_add(&extra.metadata, "run", "resume-test"), 0);
    ck_assert_msg(tg_checkpoint_save(path, model, opt, &extra) == 0, "%s", tg_last_error());
    double saved_lr = tg_optimizer_lr(opt);
    tg_metadata_clear(&extra.metadata);
    tg_optimizer_free(opt);
    tg_module_free(model);

    /* A fresh model (other weights, other dropout seed), optimizer (other
     * lr) and generator, all put back by the checkpoint. */
    model = small_cnn(99, 1234, CLASSES, true);
    opt = make_optimizer(model, kind, 0.5);
    data = tg_rng_new(0, 0);
    tg_checkpoint_extra back = {.n_rngs = 1, .rngs = rngs};
    ck_assert_msg(tg_checkpoint_load(path, model, opt, &back) == 0, "%s", tg_last_error());
    ck_assert_int_eq(back.step, 3);
    ck_assert_int_eq(back.epoch, 1);
    ck_assert_int_eq(back.position, 3 * BATCH);
    ck_assert_int_eq(back.metadata.n, 1);
    ck_assert_str_eq(tg_metadata_get(&back.metadata, "run"), "resume-test");
    ck_assert(tg_optimizer_lr(opt) == saved_lr);
    train_steps(model, opt, &data, kind, (int)back.step, TOTAL_STEPS);

    tg_tensor_list got = copy_state(model), got_opt = copy_optim_state(opt);
    assert_bitwise_equal(&got, &expected);
    assert_bitwise_equal(&got_opt, &expected_opt);
    tg_tensor_list_clear(&got), tg_tensor_list_clear(&got_opt);
    tg_tensor_list_clear(&expected), tg_tensor_list_clear(&expected_opt);
    tg_metadata_clear(&back.metadata);
    tg_optimizer_free(opt);
    tg_module_free(model);
}
END_TEST

/* Without the module RNGs the masks after resuming would differ: the
 * dropout generator is really saved and really used. */
START_TEST(test_dropout_rng_is_restored)
{
    char path[256];
    tmpdir_file(path, "drop.safetensors");
    tg_module *a = small_cnn(1, 77, CLASSES, true), *b = small_cnn(1, 5, CLASSES, true);
    tg_tensor *x = tg_ones(TG_SHAPE(2, 3, 8, 8), TG_FLOAT32);
    tg_tensor *warm = tg_module_forward(a, x); /* advances a's mask stream */
    tg_release(warm);
    ck_assert_int_eq(tg_checkpoint_save(path, a, NULL, NULL), 0);
    ck_assert_msg(tg_checkpoint_load(path, b, NULL, NULL) == 0, "%s", tg_last_error());
    tg_tensor *ya = tg_module_forward(a, x), *yb = tg_module_forward(b, x);
    tg_tensor_list la = {0}, lb = {0};
    tg_tensor_list_add(&la, "y", ya), tg_tensor_list_add(&lb, "y", yb);
    assert_bitwise_equal(&la, &lb);
    tg_tensor_list_clear(&la), tg_tensor_list_clear(&lb);
    tg_release(x), tg_release(ya), tg_release(yb);
    tg_module_free(a), tg_module_free(b);
}
END_TEST

/* ---- the file's layout ---- */

START_TEST(test_layout)
{
    char path[256];
    tmpdir_file(path, "layout.safetensors");
    tg_module *model = small_cnn(1, 77, CLASSES, true);
    tg_optimizer *opt = make_optimizer(model, SGD, 0.1);
    tg_rng data = tg_rng_new(5, 3);
    train_steps(model, opt, &data, SGD, 0, 1);
    tg_checkpoint_rng rngs[] = {{"data", &data}};
    tg_checkpoint_extra extra = {.step = -7, .epoch = INT64_MAX, .position = INT64_MIN, .n_rngs = 1, .rngs = rngs};
    ck_assert_int_eq(tg_checkpoint_save(path, model, opt, &extra), 0);

    tg_tensor_list all = {0};
    tg_metadata meta = {0};
    ck_assert_int_eq(tg_safetensors_load(path, &all, &meta), 0);
    const char *names[] = {"model.0.weight", "model.1.running_var", "model.1.num_batches_tracked", "model.6.bias",
                           "optim.0.weight.momentum_buffer", "optim.6.bias.momentum_buffer", "rng.data",
                           "rng.module.5"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tg_tensor *t = tg_tensor_list_get(&all, names[i]);
        ck_assert_msg(t != NULL, "no %s", names[i]);
        tg_release(t);
    }
    ck_assert_int_eq(all.n, 9 + 6 + 2); /* state, momentum buffers, generators */
    ck_assert_str_eq(tg_metadata_get(&meta, "tensorgrad.checkpoint"), "1");
    ck_assert_str_eq(tg_metadata_get(&meta, "step"), "-7");
    ck_assert_str_eq(tg_metadata_get(&meta, "epoch"), "9223372036854775807");
    ck_assert_str_eq(tg_metadata_get(&meta, "position"), "-9223372036854775808");
    ck_assert_double_eq(strtod(tg_metadata_get(&meta, "optim.lr"), NULL), tg_optimizer_lr(opt));
    tg_tensor_list_clear(&all);
    tg_metadata_clear(&meta);

    tg_checkpoint_extra back = {.n_rngs = 0};
    ck_assert_int_eq(tg_checkpoint_load(path, model, opt, &back), 0);
    ck_assert_int_eq(back.step, -7);
    ck_assert(back.epoch == INT64_MAX && back.position == INT64_MIN);
    tg_optimizer_free(opt);
    tg_module_free(model);
}
END_TEST

/* uint64 seed, stream and counter survive the int64 tensor exactly. */
START_TEST(test_rng_bits_exact)
{
    char path[256];
    tmpdir_file(path, "rng.safetensors");
    tg_module *model = small_cnn(1, 77, CLASSES, true);
    tg_rng r1 = {UINT64_MAX, UINT64_C(1) << 63, (UINT64_C(1) << 63) + 1}, r2 = {0, 1, UINT64_MAX - 1};
    tg_checkpoint_rng rngs[] = {{"a", &r1}, {"b.c", &r2}};
    tg_checkpoint_extra extra = {.n_rngs = 2, .rngs = rngs};
    ck_assert_int_eq(tg_checkpoint_save(path, model, NULL, &extra), 0);
    tg_rng s1 = r1, s2 = r2;
    r1 = r2 = tg_rng_new(3, 3);
    ck_assert_msg(tg_checkpoint_load(path, model, NULL, &extra) == 0, "%s", tg_last_error());
    ck_assert(r1.seed == s1.seed && r1.stream == s1.stream && r1.counter == s1.counter);
    ck_assert(r2.seed == s2.seed && r2.stream == s2.stream && r2.counter == s2.counter);

    /* Only the generators asked for are restored. */
    tg_checkpoint_rng only_b[] = {{"b.c", &r2}};
    tg_checkpoint_extra some = {.n_rngs = 1, .rngs = only_b};
    ck_assert_int_eq(tg_checkpoint_load(path, model, NULL, &some), 0);

    /* Reserved and empty names are refused when saving. */
    tg_checkpoint_rng bad[] = {{"module.5", &r1}};
    tg_checkpoint_extra with_bad = {.n_rngs = 1, .rngs = bad};
    ck_assert_int_eq(tg_checkpoint_save(path, model, NULL, &with_bad), -1);
    CK_ERROR_HAS("reserved");
    bad[0].name = "";
    ck_assert_int_eq(tg_checkpoint_save(path, model, NULL, &with_bad), -1);
    CK_ERROR_HAS(path);
    tg_module_free(model);
}
END_TEST

/* ---- refusals: nothing is changed ---- */

static void write_bytes(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* A load of path into (model, opt, extra) must fail with an error holding
 * path and text, and leave the model's state, the optimizer's state and
 * lr, and the extra exactly as they were. */
static void assert_refused(const char *path, tg_module *model, tg_optimizer *opt, tg_checkpoint_extra *extra,
                           const char *text)
{
    tg_tensor_list before = copy_state(model), opt_before = copy_optim_state(opt);
    double lr = tg_optimizer_lr(opt);
    tg_checkpoint_extra extra_before = *extra;
    tg_rng rng_before = *extra->rngs[0].rng;
    ck_assert_int_eq(tg_checkpoint_load(path, model, opt, extra), -1);
    CK_ERROR_HAS(path);
    CK_ERROR_HAS(text);
    tg_tensor_list after = copy_state(model), opt_after = copy_optim_state(opt);
    ck_assert_msg(same_bits(&before, &after), "the model changed");
    ck_assert_msg(same_bits(&opt_before, &opt_after), "the optimizer changed");
    ck_assert(tg_optimizer_lr(opt) == lr);
    ck_assert(extra->step == extra_before.step && extra->epoch == extra_before.epoch);
    ck_assert(extra->metadata.n == extra_before.metadata.n);
    ck_assert(memcmp(extra->rngs[0].rng, &rng_before, sizeof rng_before) == 0);
    tg_tensor_list_clear(&before), tg_tensor_list_clear(&after);
    tg_tensor_list_clear(&opt_before), tg_tensor_list_clear(&opt_after);
}

START_TEST(test_refuses_bad_files)
{
    char path[256], bad[256];
    tmpdir_file(path, "good.safetensors");
    tg_module *model = small_cnn(1, 77, CLASSES, true);
    tg_optimizer *opt = make_optimizer(model, ADAMW, 0.01);
    tg_rng data = tg_rng_new(5, 3);
    train_steps(model, opt, &data, ADAMW, 0, 2);
    tg_checkpoint_rng rngs[] = {{"data", &data}};
    tg_checkpoint_extra extra = {.step = 2, .n_rngs = 1, .rngs = rngs};
    ck_assert_int_eq(tg_checkpoint_save(path, model, opt, &extra), 0);
    train_steps(model, opt, &data, ADAMW, 2, 3); /* now different from the file */
    extra.step = 3;

    size_t n;
    unsigned char *bytes = read_bytes(path, &n);
    write_bytes(tmpdir_file(bad, "truncated.safetensors"), bytes, n - 5);
    assert_refused(bad, model, opt, &extra, "safetensors_load");
    write_bytes(tmpdir_file(bad, "empty.safetensors"), bytes, 3);
    assert_refused(bad, model, opt, &extra, "too short");
    bytes[9] ^= 0x55; /* inside the JSON header */
    write_bytes(tmpdir_file(bad, "header.safetensors"), bytes, n);
    assert_refused(bad, model, opt, &extra, "safetensors_load");
    free(bytes);
    assert_refused(tmpdir_file(bad, "absent.safetensors"), model, opt, &extra, "cannot open");

    /* A weights-only file is not a training checkpoint. */
    ck_assert_int_eq(tg_module_save(tmpdir_file(bad, "weights.safetensors"), model), 0);
    assert_refused(bad, model, opt, &extra, "not a training checkpoint");

    /* A checkpoint saved without an optimizer, loaded with one. */
    ck_assert_int_eq(tg_checkpoint_save(tmpdir_file(bad, "noopt.safetensors"), model, NULL, &extra), 0);
    assert_refused(bad, model, opt, &extra, "without one");

    /* A generator asked for that the file lacks. */
    tg_rng loader = tg_rng_new(1, 1);
    tg_checkpoint_rng more[] = {{"data", &data}, {"loader", &loader}};
    tg_checkpoint_extra ask_more = {.n_rngs = 2, .rngs = more};
    assert_refused(path, model, opt, &ask_more, "rng.loader is missing");
    ck_assert(loader.seed == 1);

    /* An SGD optimizer given AdamW state: refused, state put back. */
    tg_optimizer *sgd = make_optimizer(model, SGD, 0.1);
    train_steps(model, sgd, &data, SGD, 0, 1);
    assert_refused(path, model, sgd, &extra, "optim.");
    tg_optimizer_free(sgd);

    tg_optimizer_free(opt);
    tg_module_free(model);
}
END_TEST

/* Files of edited checkpoints: a bad scalar, a stray tensor, a bad rng. */
START_TEST(test_refuses_inconsistent_entries)
{
    char path[256], bad[256];
    tmpdir_file(path, "good.safetensors");
    tg_module *model = small_cnn(1, 77, CLASSES, true);
    tg_optimizer *opt = make_optimizer(model, SGD, 0.1);
    tg_rng data = tg_rng_new(5, 3);
    train_steps(model, opt, &data, SGD, 0, 1);
    tg_checkpoint_rng rngs[] = {{"data", &data}};
    tg_checkpoint_extra extra = {.step = 1, .n_rngs = 1, .rngs = rngs};
    ck_assert_int_eq(tg_checkpoint_save(path, model, opt, &extra), 0);

    struct {
        const char *file, *drop, *meta_key, *meta_value, *add_name, *expect;
    } cases[] = {
        {"step.st", NULL, "step", "12x", NULL, "\"step\" is \"12x\""},
        {"lr.st", NULL, "optim.lr", "fast", NULL, "optim.lr"},
        {"version.st", NULL, "tensorgrad.checkpoint", "2", NULL, "version \"2\""},
        {"nostep.st", NULL, "step", NULL, NULL, "\"step\" is missing"},
        {"stray.st", NULL, NULL, NULL, "extra.thing", "unexpected tensor extra.thing"},
        {"rngshape.st", "rng.data", NULL, NULL, "rng.data", "rng.data is not an int64 tensor of 3"},
        {"nomask.st", "rng.module.5", NULL, NULL, NULL, "rng.module.5 is missing"},
        {"moremask.st", NULL, NULL, NULL, "rng.module.2", "unexpected rng.module.2"},
        {"noweight.st", "model.6.weight", NULL, NULL, NULL, "model.6.weight is missing"},
        {"moreweight.st", NULL, NULL, NULL, "model.7.weight", "unexpected model.7.weight"},
        {"optdtype.st", "optim.0.bias.momentum_buffer", NULL, NULL, "optim.0.bias.momentum_buffer", "dtype"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tg_tensor_list all = {0}, edited = {0};
        tg_metadata meta = {0}, edited_meta = {0};
        ck_assert_int_eq(tg_safetensors_load(path, &all, &meta), 0);
        for (int i = 0; i < all.n; i++)
            if (!cases[c].drop || strcmp(all.items[i].name, cases[c].drop))
                tg_tensor_list_add(&edited, all.items[i].name, all.items[i].tensor);
        if (cases[c].add_name) {
            bool is_rng = strncmp(cases[c].add_name, "rng.", 4) == 0 && strcmp(cases[c].add_name, "rng.data");
            tg_tensor *t = is_rng ? tg_zeros(TG_SHAPE(3), TG_INT64) : tg_zeros(TG_SHAPE(2), TG_INT64);
            tg_tensor_list_add(&edited, cases[c].add_name, t);
            tg_release(t);
        }
        for (int i = 0; i < meta.n; i++) {
            bool is_key = cases[c].meta_key && strcmp(meta.items[i].key, cases[c].meta_key) == 0;
            if (!is_key) tg_metadata_add(&edited_meta, meta.items[i].key, meta.items[i].value);
            else if (cases[c].meta_value) tg_metadata_add(&edited_meta, meta.items[i].key, cases[c].meta_value);
        }
        ck_assert_int_eq(tg_safetensors_save(tmpdir_file(bad, cases[c].file), &edited, &edited_meta), 0);
        assert_refused(bad, model, opt, &extra, cases[c].expect);
        tg_tensor_list_clear(&all), tg_tensor_list_clear(&edited);
        tg_metadata_clear(&meta), tg_metadata_clear(&edited_meta);
    }
    tg_optimizer_free(opt);
    tg_module_free(model);
}
END_TEST

START_TEST(test_refuses_other_architecture)
{
    char path[256];
    tmpdir_file(path, "five.safetensors");
    tg_module *five = small_cnn(1, 77, 5, true);
    tg_optimizer *five_opt = make_optimizer(five, SGD, 0.1);
    ck_assert_int_eq(tg_checkpoint_save(path, five, five_opt, NULL), 0);
    tg_optimizer_free(five_opt);
    tg_module_free(five);

    tg_module *model = small_cnn(2, 77, CLASSES, true);
    tg_optimizer *opt = make_optimizer(model, SGD, 0.1);
    tg_rng data = tg_rng_new(5, 3);
    train_steps(model, opt, &data, SGD, 0, 1);
    tg_checkpoint_rng rngs[] = {{"data", &data}};
    tg_checkpoint_extra extra = {.n_rngs = 1, .rngs = rngs};
    assert_refused(path, model, opt, &extra, "model.6.weight has shape (5,64) in the file, (3,64) in the model");

    /* Same state_dict, but no dropout where the file has one. */
    tg_module *plain = small_cnn(1, 77, 5, false);
    ck_assert_int_eq(tg_checkpoint_load(path, plain, NULL, NULL), -1);
    CK_ERROR_HAS("unexpected rng.module.5");
    CK_ERROR_HAS(path);

    /* Weights only: the key and the file are named too. */
    ck_assert_int_eq(tg_module_load(path, model, true), -1);
    CK_ERROR_HAS("6.weight has shape (5,64) in the file, (3,64) in the module");
    CK_ERROR_HAS(path);
    tg_module_free(plain);
    tg_optimizer_free(opt);
    tg_module_free(model);
}
END_TEST

/* ---- weights only ---- */

START_TEST(test_weights_round_trip)
{
    char path[256], ckpt[256];
    tmpdir_file(path, "weights.safetensors");
    tg_module *a = small_cnn(1, 77, CLASSES, true);
    tg_optimizer *opt = make_optimizer(a, SGD, 0.1);
    tg_rng data = tg_rng_new(5, 3);
    train_steps(a, opt, &data, SGD, 0, 2); /* running stats and counts move */
    ck_assert_msg(tg_module_save(path, a) == 0, "%s", tg_last_error());

    tg_tensor_list all = {0};
    tg_metadata meta = {0};
    ck_assert_int_eq(tg_safetensors_load(path, &all, &meta), 0);
    ck_assert_int_eq(all.n, 9);
    ck_assert_str_eq(all.items[0].name, "0.weight");
    ck_assert_str_eq(all.items[6].name, "1.num_batches_tracked");
    ck_assert_str_eq(tg_metadata_get(&meta, "format"), "pt");
    tg_tensor_list_clear(&all);
    tg_metadata_clear(&meta);

    tg_module *b = small_cnn(2, 5, CLASSES, true);
    ck_assert_msg(tg_module_load(path, b, true) == 0, "%s", tg_last_error());
    tg_tensor_list sa = copy_state(a), sb = copy_state(b);
    assert_bitwise_equal(&sa, &sb);
    tg_tensor_list_clear(&sb);

    /* A training checkpoint's model. entries load as weights too. */
    tg_module *c = small_cnn(3, 5, CLASSES, false);
    ck_assert_int_eq(tg_checkpoint_save(tmpdir_file(ckpt, "ckpt.safetensors"), a, opt, NULL), 0);
    ck_assert_msg(tg_module_load(ckpt, c, true) == 0, "%s", tg_last_error());
    tg_tensor_list sc = copy_state(c);
    assert_bitwise_equal(&sa, &sc);
    tg_tensor_list_clear(&sa), tg_tensor_list_clear(&sc);

    /* Strict refuses a model with a key the file lacks; non-strict takes
     * what matches. */
    tg_module *d = small_cnn(4, 5, CLASSES, true);
    tg_rng rng = tg_rng_new(1, 1);
    ck_assert_int_eq(tg_nn_sequential_append(d, tg_nn_linear(3, 2, true, &rng)), 0);
    ck_assert_int_eq(tg_module_load(path, d, true), -1);
    CK_ERROR_HAS("missing key 7.weight");
    CK_ERROR_HAS(path);
    ck_assert_msg(tg_module_load(path, d, false) == 0, "%s", tg_last_error());
    ck_assert_int_eq(tg_module_load(tmpdir_file(ckpt, "absent.safetensors"), d, false), -1);
    CK_ERROR_HAS("absent.safetensors");

    tg_module_free(a), tg_module_free(b), tg_module_free(c), tg_module_free(d);
    tg_optimizer_free(opt);
}
END_TEST

/* ---- integrity: non-finite values and corrupt bytes ---- */

/* Puts value into element 0 of the model's tensor named name. */
static void poke(tg_module *m, const char *name, float value)
{
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(m, &sd), 0);
    tg_tensor *t = tg_tensor_list_get(&sd, name);
    ck_assert_ptr_nonnull(t);
    tg_data_f32(t)[0] = value;
    tg_release(t);
    tg_tensor_list_clear(&sd);
}

/* A NaN running variance: every save and load refuses it, naming the
 * tensor, unless the caller allows non-finite values. */
START_TEST(test_nonfinite_weights_are_refused)
{
    char weights[256], ckpt[256];
    tmpdir_file(weights, "w.safetensors");
    tmpdir_file(ckpt, "c.safetensors");
    tg_module *a = small_cnn(1, 77, CLASSES, true), *b = small_cnn(2, 5, CLASSES, true);
    poke(a, "1.running_var", NAN);
    ck_assert_int_eq(tg_module_save(weights, a), -1);
    CK_ERROR_HAS("tensor 1.running_var has a non-finite value (nan)");
    CK_ERROR_HAS(weights);
    ck_assert_int_eq(tg_checkpoint_save(ckpt, a, NULL, NULL), -1);
    CK_ERROR_HAS("tensor model.1.running_var has a non-finite value (nan)");
    FILE *f = fopen(weights, "rb");
    ck_assert_ptr_null(f); /* nothing written */

    tg_weights_opts allow = {.allow_nonfinite = true};
    tg_checkpoint_extra extra = {.allow_nonfinite = true};
    ck_assert_int_eq(tg_module_save_with(weights, a, &allow), 0);
    ck_assert_int_eq(tg_checkpoint_save(ckpt, a, NULL, &extra), 0);
    tg_tensor_list before = copy_state(b);
    ck_assert_int_eq(tg_module_load(weights, b, true), -1);
    CK_ERROR_HAS("tensor 1.running_var has a non-finite value (nan)");
    ck_assert_int_eq(tg_module_load(ckpt, b, true), -1);
    ck_assert_int_eq(tg_checkpoint_load(ckpt, b, NULL, NULL), -1);
    CK_ERROR_HAS("tensor model.1.running_var has a non-finite value (nan)");
    tg_tensor_list after = copy_state(b);
    assert_bitwise_equal(&before, &after); /* nothing changed */
    tg_tensor_list_clear(&after);

    ck_assert_msg(tg_module_load_with(weights, b, true, &allow) == 0, "%s", tg_last_error());
    ck_assert_msg(tg_checkpoint_load(ckpt, b, NULL, &extra) == 0, "%s", tg_last_error());
    tg_metadata_clear(&extra.metadata);
    after = copy_state(b);
    tg_tensor *var = tg_tensor_list_get(&after, "1.running_var");
    ck_assert(isnan(tg_data_f32(var)[0]));
    tg_release(var);
    poke(a, "0.weight", -INFINITY);
    ck_assert_int_eq(tg_module_save(weights, a), -1);
    CK_ERROR_HAS("tensor 0.weight has a non-finite value (-inf)");
    tg_tensor_list_clear(&before), tg_tensor_list_clear(&after);
    tg_module_free(a), tg_module_free(b);
}
END_TEST

/* Where the bytes of tensor name begin in the safetensors file at path. */
static long data_offset(const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    uint64_t len;
    ck_assert_int_eq(fread(&len, 8, 1, f), 1);
    char *header = calloc(len + 1, 1);
    ck_assert_ptr_nonnull(header);
    ck_assert_int_eq(fread(header, 1, len, f), len);
    fclose(f);
    char key[128];
    snprintf(key, sizeof key, "\"%s\":{", name);
    const char *at = strstr(header, key), *offsets = at ? strstr(at, "\"data_offsets\":[") : NULL;
    long begin = -1;
    ck_assert_ptr_nonnull(offsets);
    ck_assert_int_eq(sscanf(offsets, "\"data_offsets\":[%ld", &begin), 1);
    free(header);
    return 8 + (long)len + begin;
}

/* One flipped exponent bit in a saved checkpoint's weights: the load is
 * refused, naming the file and the tensor, and the model is unchanged. */
START_TEST(test_a_flipped_bit_in_a_checkpoint_is_refused)
{
    char ckpt[256];
    tmpdir_file(ckpt, "c.safetensors");
    tg_module *a = small_cnn(1, 77, CLASSES, true), *b = small_cnn(2, 5, CLASSES, true);
    ck_assert_int_eq(tg_checkpoint_save(ckpt, a, NULL, NULL), 0);
    long at = data_offset(ckpt, "model.0.weight") + 3; /* the first float's sign and high exponent bits */
    FILE *f = fopen(ckpt, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
    tg_tensor_list before = copy_state(b);
    ck_assert_int_eq(tg_checkpoint_load(ckpt, b, NULL, NULL), -1);
    CK_ERROR_HAS("tensor 'model.0.weight' is corrupt");
    CK_ERROR_HAS(ckpt);
    ck_assert_int_eq(tg_module_load(ckpt, b, true), -1);
    CK_ERROR_HAS("tensor 'model.0.weight' is corrupt");
    tg_tensor_list after = copy_state(b);
    assert_bitwise_equal(&before, &after);
    tg_tensor_list_clear(&before), tg_tensor_list_clear(&after);
    tg_module_free(a), tg_module_free(b);
}
END_TEST

/* tools/make_fixtures_checkpoint.py: a torch Sequential of the same
 * layers, its state_dict written as safetensors, and its eval output. */
START_TEST(test_loads_torch_weights)
{
    tg_module *model = small_cnn(9, 9, CLASSES, true);
    ck_assert_msg(tg_module_load(TG_NN_FIXTURES "/torch_small_model.safetensors", model, true) == 0, "%s",
                  tg_last_error());
    tg_module_train(model, false);
    tg_tensor_list sd = {0};
    ck_assert_int_eq(tg_module_state_dict(model, &sd), 0);
    tg_tensor *count = tg_tensor_list_get(&sd, "1.num_batches_tracked");
    ck_assert_int_eq(tg_get_i64(count, NULL), 3);
    tg_release(count);
    tg_tensor_list_clear(&sd);

    tg_tensor *x = tg_from_data(TG_SHAPE(2, 3, 8, 8), TG_FLOAT32, torch_small_input);
    tg_tensor *y = tg_module_forward(model, x);
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(y->ndim, 2);
    ck_assert_int_eq(y->shape[0], 2);
    ck_assert_int_eq(y->shape[1], CLASSES);
    float got[2 * CLASSES];
    ck_assert_int_eq(tg_copy_to_buffer(y, got), 0);
    for (int i = 0; i < 2 * CLASSES; i++)
        ck_assert_msg(fabsf(got[i] - torch_small_output[i]) <= 1e-5f, "output %d: %.8g, torch %.8g", i, got[i],
                      torch_small_output[i]);
    tg_release(x), tg_release(y);
    tg_module_free(model);
}
END_TEST

Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, tmpdir_make, tmpdir_remove); /* also after a failure */
    tcase_add_loop_test(tc, test_resume_is_bitwise, SGD, ADAMW + 1);
    tcase_add_test(tc, test_dropout_rng_is_restored);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_rng_bits_exact);
    tcase_add_test(tc, test_refuses_bad_files);
    tcase_add_test(tc, test_refuses_inconsistent_entries);
    tcase_add_test(tc, test_refuses_other_architecture);
    tcase_add_test(tc, test_weights_round_trip);
    tcase_add_test(tc, test_loads_torch_weights);
    tcase_add_test(tc, test_nonfinite_weights_are_refused);
    tcase_add_test(tc, test_a_flipped_bit_in_a_checkpoint_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
