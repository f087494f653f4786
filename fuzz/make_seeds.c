/* Writes the fuzzers' seed corpora: valid inputs made by the library's own
 * writers (and JSON written with jansson as the apps write it), plus the
 * attackers' files of issue 11.
 *   make_seeds DIR    makes DIR/<target>/ for each target of fuzz/run.sh */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "data/image.h"
#include "fixtures/attacks.h"
#include "fuzz_model.h"
#include "nn/checkpoint.h"
#include "out_files.h"
#include "tensor/error.h"

static const char *root;

/* root/target/name into buf (512 bytes), the folder made; returns buf. */
static char *seed_path(char *buf, const char *target, const char *name)
{
    snprintf(buf, 512, "%s/%s", root, target);
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_seeds: cannot make %s: %s\n", buf, strerror(errno));
        exit(1);
    }
    snprintf(buf, 512, "%s/%s/%s", root, target, name);
    return buf;
}

static void write_bytes(const char *target, const char *name, const void *bytes, size_t size)
{
    char path[512];
    FILE *f = fopen(seed_path(path, target, name), "wb");
    if (!f || fwrite(bytes, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void write_text(const char *target, const char *name, const char *text)
{
    write_bytes(target, name, text, strlen(text));
}

/* -1 from a library call: says what failed and exits. */
static void check(int rc, const char *what)
{
    if (rc == 0) return;
    fprintf(stderr, "make_seeds: %s: %s\n", what, tg_last_error());
    exit(1);
}

static void image_seeds(void)
{
    char path[512];
    tg_image rgb, gray;
    check(tg_image_alloc(&rgb, 12, 16, 3) || tg_image_alloc(&gray, 12, 16, 1), "image");
    for (int i = 0; i < 12 * 16; i++) {
        gray.data[i] = (uint8_t)(i % 21);
        for (int c = 0; c < 3; c++) rgb.data[3 * i + c] = (uint8_t)(i * 7 + c * 60);
    }
    check(tg_image_write_png(seed_path(path, "image", "rgb.png"), &rgb), "rgb.png");
    check(tg_image_write_png(seed_path(path, "image", "gray.png"), &gray), "gray.png");
    check(tg_image_write_png_indexed(seed_path(path, "image", "mask.png"), &gray, tg_image_voc_palette(), 256),
          "mask.png");
    check(tg_image_write_jpeg(seed_path(path, "image", "rgb.jpg"), &rgb, 90), "rgb.jpg");
    check(tg_image_write_jpeg(seed_path(path, "image", "gray.jpg"), &gray, 50), "gray.jpg");
    tg_image_free(&rgb), tg_image_free(&gray);
    uint8_t png[ATTACK_PNG_BYTES];
    attack_png_chunk_bomb(png, "tEXt");
    write_bytes("image", "attack_text_chunk.png", png, sizeof png);
    size_t size;
    uint8_t *jpeg = attack_jpeg_size_bomb(seed_path(path, "image", "tmp.jpg"), &size);
    check(jpeg ? 0 : -1, "attack jpeg");
    write_bytes("image", "attack_size.jpg", jpeg, size);
    free(jpeg);
}

static void safetensors_seeds(void)
{
    char path[512];
    int64_t shape[2] = {2, 3}, labels[3] = {-1, 0, 1LL << 40};
    float values[6] = {0.5f, -1, 3, 1e-30f, 0, 2};
    tg_tensor_list list = {0};
    tg_metadata meta = {0};
    check(tg_safetensors_save(seed_path(path, "safetensors", "empty.safetensors"), &list, NULL), "empty");
    tg_tensor *f = tg_from_data(2, shape, TG_FLOAT32, values), *i = tg_from_data(1, &shape[1], TG_INT64, labels);
    check(!f || !i || tg_tensor_list_add(&list, "layer.weight", f) || tg_tensor_list_add(&list, "labels", i) ||
              tg_metadata_add(&meta, "format", "pt"),
          "tensors");
    tg_release(f), tg_release(i);
    check(tg_safetensors_save(seed_path(path, "safetensors", "two.safetensors"), &list, &meta), "two");
    tg_tensor_list_clear(&list);
    tg_metadata_clear(&meta);
}

/* One SGD step on the model, so that the optimizer holds momentum. */
static void one_step(tg_module *model, tg_optimizer *opt)
{
    int64_t shape[2] = {2, 4};
    tg_tensor *x = tg_full(2, shape, 0.25f), *y = x ? tg_module_forward(model, x) : NULL;
    tg_tensor *loss = y ? tg_sum(y, 0, NULL, false) : NULL;
    check(!loss || tg_backward(loss, NULL) || tg_optimizer_step(opt), "a training step");
    tg_release(loss), tg_release(y), tg_release(x);
}

static void checkpoint_seeds(void)
{
    char path[512];
    tg_module *model = fuzz_model();
    tg_optimizer *opt = model ? fuzz_optimizer(model) : NULL;
    check(opt ? 0 : -1, "model");
    check(tg_checkpoint_save(seed_path(path, "checkpoint", "fresh.safetensors"), model, NULL, NULL), "fresh");
    one_step(model, opt);
    tg_rng data = tg_rng_new(3, 4);
    tg_checkpoint_rng rngs[] = {{"data", &data}};
    tg_checkpoint_extra extra = {.step = 12, .epoch = 2, .position = 40, .n_rngs = 1, .rngs = rngs};
    check(tg_metadata_add(&extra.metadata, "config", "{\"lr\":0.1,\"steps\":12}"), "metadata");
    check(tg_checkpoint_save(seed_path(path, "checkpoint", "trained.safetensors"), model, opt, &extra), "trained");
    tg_metadata_clear(&extra.metadata);
    check(tg_module_save(seed_path(path, "checkpoint", "weights.safetensors"), model), "weights");
    tg_optimizer_free(opt);
    tg_module_free(model);
}

/* A config as the apps print one: compact, in order, 17-digit reals. */
static char *config_text(double lr, int steps)
{
    json_t *root = json_pack("{s:s, s:f, s:i, s:b, s:n, s:[i, i], s:{s:s, s:f}}", "method", "densecl", "lr", lr,
                             "steps", steps, "amp", 0, "resume", "crop", 64, 64, "data", "name", "shapescenes",
                             "scale", 0.2);
    char *text = root ? json_dumps(root, OUT_JSON_FLAGS) : NULL;
    json_decref(root);
    check(text ? 0 : -1, "config");
    return text;
}

static void config_seeds(void)
{
    char *a = config_text(0.1, 12), *b = config_text(0.1000000000000000055511151231257827, 12);
    char *c = config_text(0.3, 13), *pair = NULL;
    const char *pairs[][2] = {{a, b}, {a, c}, {"2", "2.0"}, {"[1, 2.5e3, null]", "[1,2500,null]"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "pair%zu.txt", i);
        check(asprintf(&pair, "%s\n%s", pairs[i][0], pairs[i][1]) < 0 ? -1 : 0, "pair");
        write_text("config", name, pair);
        free(pair);
    }
    free(a), free(b), free(c);
}

static void results_seeds(void)
{
    write_text("results", "pretrain.json",
               "{\"train\":{\"images\":8000,\"steps\":775,\"steps_per_epoch\":31,\"warmup_steps\":0,\"grid\":7},"
               "\"timing\":{\"seconds\":1234.5,\"seconds_per_step\":1.59,\"img_s\":160.1},"
               "\"last_epoch\":{\"loss\":7.25,\"loss_global\":7.5,\"loss_dense\":7,\"top1_global\":0.125,"
               "\"top1_dense\":0.0625,\"match_exact\":0.5,\"match_near\":0.75}}\n");
    write_text("results", "seg.json",
               "{\"test\":{\"miou\":0.41,\"things_miou\":0.38,\"pixel_acc\":0.9},\"train\":{\"steps\":300},"
               "\"timing\":{\"seconds\":88.25,\"eval_seconds\":3.5}}\n");
    write_text("results", "log.jsonl",
               "{\"step\":1,\"kind\":\"step\",\"loss\":7.9,\"lr\":0.06}\n"
               "{\"step\":2,\"kind\":\"step\",\"loss\":7.8,\"lr\":0.06}\n"
               "{\"step\":2,\"kind\":\"epoch\",\"loss\":7.85}\n");
}

static void dataset_seeds(void)
{
    /* First byte even: a VOC list; odd: file names (see fuzz_dataset.c). */
    write_text("dataset", "voc.txt", "\x02" "a\nb\n\n  a  \n");
    write_text("dataset", "voc_bad.txt", "\x02" "a b\nc\n");
    write_text("dataset", "cityscapes.txt",
               "\x01" "aachen/aachen_000000_000019_leftImg8bit.png\nbonn/bonn_000001_000019_leftImg8bit.png\n"
               "x/photo.JPG\nnested/a/b/c.png\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_seeds: cannot make %s: %s\n", root, strerror(errno));
        return 1;
    }
    image_seeds();
    safetensors_seeds();
    checkpoint_seeds();
    config_seeds();
    results_seeds();
    dataset_seeds();
    return 0;
}
