/* vae_shapes: a convolutional variational autoencoder on ShapeScenes' shapes.
 *
 * The data: the object masks of ShapeScenes' single-object scenes, drawn as
 * 32x32 images, each class in its own colour on black. The encoder (three
 * stride-2 convolutions of 32, 64 and 128 channels, each with GroupNorm and
 * SiLU, and a linear layer) maps an image to the mean and log-variance of
 * a 32-dimensional Gaussian; the decoder (a linear layer and three stride-2
 * transposed convolutions) maps a latent back to pixel logits. The loss is
 * the binary cross-entropy with logits of the image (its pixels in [0, 1])
 * plus the KL divergence of the latent's Gaussian from N(0, I), both summed
 * over an image and averaged over the batch; the latent is drawn with the
 * reparameterisation trick from an explicit RNG. Adam trains it. Each step
 * runs in a scope: the forward code has no release calls.
 *
 * It prints the losses falling, then writes a PNG sheet: two rows of test
 * images above their reconstructions, then two rows decoded from latents
 * drawn from N(0, I). It exits 0 only if the loss fell to under half its
 * first value, so it doubles as a test.
 *
 *   vae_shapes [--steps N] [--seed S] [--threads T] [--out FILE.png] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tensorgrad.h"

#define SIZE 32
#define POOL 4096 /* training images, rendered once */
#define TEST 16   /* test images on the sheet */
#define LATENT 32
#define BATCH 64
#define LR 1e-3
#define ZOOM 3

typedef struct {
    long steps, seed, threads;
    const char *out;
} options;

typedef struct {
    tg_module *model;             /* children "encoder" and "decoder" */
    tg_module *encoder, *decoder; /* borrowed from model */
    tg_optimizer *opt;
    tg_rng rng; /* batches and latents */
} vae;

static const tg_module_type vae_type = {.name = "VAE"};

/* 0, 1 after --help, -1 on a bad flag. */
static int parse_options(int argc, char **argv, options *opt)
{
    *opt = (options){.steps = 3000, .seed = 0, .threads = 2, .out = "vae_shapes.png"};
    const tg_train_flag flags[] = {
        {"steps", TG_FLAG_LONG, &opt->steps, 1, 1000000, "training steps"},
        {"seed", TG_FLAG_LONG, &opt->seed, 0, 2147483647.0, "weights, batches and latents"},
        {"threads", TG_FLAG_LONG, &opt->threads, 1, 64, "compute threads"},
        {"out", TG_FLAG_STRING, &opt->out, 0, 0, "the PNG sheet to write"},
    };
    int rc = tg_train_parse_flags(argc, argv, flags, TG_FLAG_COUNT(flags),
                                  "vae_shapes: a convolutional VAE on ShapeScenes, with a sheet of samples");
    if (rc < 0) fprintf(stderr, "%s: %s\n", argv[0], tg_last_error());
    return rc;
}

/* ---- data ---- */

/* Each object class's colour on the black background: the corners and
 * edges of the RGB cube. */
static const float class_colour[TG_SHAPESCENES_CLASSES][3] = {
    {0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}, {1, 0.5f, 0},
};

/* The object masks of count ShapeScenes scenes of split from first on, as
 * (count, 3, SIZE, SIZE) images in [0, 1], each pixel its class's colour:
 * the single-object variant (one large shape), whose outlines a small VAE
 * learns in minutes (the photographs' textures and noise it can only blur). */
static tg_tensor *render_images(tg_shapescenes_split split, int64_t first, int64_t count)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(split);
    cfg.size = SIZE;
    cfg.single = 1;
    cfg.count = first + count;
    tg_tensor *t = tg_empty(TG_SHAPE(count, 3, SIZE, SIZE), TG_FLOAT32);
    for (int64_t i = 0; t && i < count; i++) {
        tg_image img = {0}, mask = {0};
        if (tg_shapescenes_render(&cfg, first + i, &img, &mask)) {
            tg_release(t);
            return NULL;
        }
        float *dst = tg_data_f32(t) + i * 3 * SIZE * SIZE;
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < SIZE * SIZE; p++) dst[c * SIZE * SIZE + p] = class_colour[mask.data[p]][c];
        tg_image_free(&img);
        tg_image_free(&mask);
    }
    return t;
}

/* The least reconstruction loss there is: binary cross-entropy against
 * targets in [0, 1] is their own entropy at best, summed over an image,
 * here averaged over the images of t. */
static double entropy_floor(const tg_tensor *t)
{
    const float *v = tg_data_f32((tg_tensor *)t);
    double sum = 0;
    for (int64_t i = 0; i < tg_numel(t); i++) {
        double x = v[i];
        if (x > 0 && x < 1) sum -= x * log(x) + (1 - x) * log(1 - x);
    }
    return sum / (double)t->shape[0];
}

/* BATCH images of pool drawn at random, held by the current scope. */
static tg_tensor *draw_batch(tg_tensor *pool, tg_rng *rng)
{
    int64_t index[BATCH];
    for (int i = 0; i < BATCH; i++) index[i] = (int64_t)(tg_rng_uniform(rng) * POOL) % POOL;
    tg_tensor *idx = tg_scoped(tg_from_data(TG_SHAPE(BATCH), TG_INT64, index));
    return tg_index_select(pool, 0, idx);
}

/* ---- the model ---- */

/* conv (stride 2, kernel 4, padding 1), GroupNorm of 8 groups, SiLU. */
static int add_down(tg_module *seq, int64_t in, int64_t out, tg_rng *rng)
{
    tg_conv2d_opts o = {.stride = {2, 2}, .padding = {1, 1}};
    if (tg_nn_sequential_append(seq, tg_nn_conv2d(in, out, 4, 4, o, true, rng))) return -1;
    if (tg_nn_sequential_append(seq, tg_nn_group_norm(8, out, NULL))) return -1;
    return tg_nn_sequential_append(seq, tg_nn_silu());
}

/* transposed conv (stride 2, kernel 4, padding 1), then GroupNorm and SiLU unless last. */
static int add_up(tg_module *seq, int64_t in, int64_t out, bool last, tg_rng *rng)
{
    tg_conv_transpose2d_opts o = {.stride = {2, 2}, .padding = {1, 1}};
    if (tg_nn_sequential_append(seq, tg_nn_conv_transpose2d(in, out, 4, 4, &o, true, rng))) return -1;
    if (last) return 0;
    if (tg_nn_sequential_append(seq, tg_nn_group_norm(8, out, NULL))) return -1;
    return tg_nn_sequential_append(seq, tg_nn_silu());
}

/* encoder: x -> (N, 2 LATENT), the mean then the log-variance; decoder: the
 * 64 x 8 x 8 feature maps from a latent's linear layer -> pixel logits. */
static int build(vae *v, tg_rng *rng)
{
    v->model = tg_module_new(&vae_type, sizeof(tg_module));
    if (!v->model || tg_module_add_child(v->model, "encoder", v->encoder = tg_nn_sequential()) ||
        tg_module_add_child(v->model, "decoder", v->decoder = tg_nn_sequential()))
        return -1;
    tg_module *up = v->decoder;
    if (add_down(v->encoder, 3, 32, rng) || add_down(v->encoder, 32, 64, rng) || add_down(v->encoder, 64, 128, rng))
        return -1;
    if (tg_nn_sequential_append(v->encoder, tg_nn_flatten())) return -1;
    if (tg_nn_sequential_append(v->encoder, tg_nn_linear(128 * 4 * 4, 2 * LATENT, true, rng))) return -1;
    if (tg_nn_sequential_append(up, tg_nn_linear(LATENT, 128 * 4 * 4, true, rng))) return -1;
    return add_up(up, 128, 64, false, rng) || add_up(up, 64, 32, false, rng) || add_up(up, 32, 3, true, rng) ? -1 : 0;
}

/* The decoder on latents z (N, LATENT): pixel logits (N, 3, SIZE, SIZE). */
static tg_tensor *decode(vae *v, tg_tensor *z)
{
    tg_module *linear = v->decoder->children[0].module;
    tg_tensor *maps = tg_reshape(tg_module_forward(linear, z), TG_SHAPE(z->shape[0], 128, 4, 4));
    for (int i = 1; maps && i < v->decoder->n_children; i++)
        maps = tg_module_forward(v->decoder->children[i].module, maps);
    return maps;
}

/* The loss of a batch x, in the caller's scope; its two terms into rec and kl.
 * logits of the reconstruction into *logits when not NULL. */
static tg_tensor *vae_loss(vae *v, tg_tensor *x, double *rec, double *kl, tg_tensor **logits)
{
    tg_tensor *h = tg_module_forward(v->encoder, x);
    if (!h) return NULL;
    int64_t n = x->shape[0];
    tg_tensor *mu = tg_narrow(h, 1, 0, LATENT), *logvar = tg_narrow(h, 1, LATENT, LATENT);
    tg_tensor *eps = tg_scoped(tg_randn(&v->rng, TG_SHAPE(n, LATENT)));
    tg_tensor *z = tg_add(mu, tg_mul(tg_exp(tg_mul_scalar(logvar, 0.5f)), eps));
    tg_tensor *out = decode(v, z);
    tg_tensor *r = tg_mul_scalar(tg_binary_cross_entropy_with_logits(out, x, NULL, NULL, TG_REDUCTION_SUM),
                                 1.0f / (float)n);
    /* KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) */
    tg_tensor *terms = tg_sub(tg_add_scalar(logvar, 1.0f), tg_add(tg_mul(mu, mu), tg_exp(logvar)));
    tg_tensor *k = tg_mul_scalar(tg_sum(terms, 0, NULL, false), -0.5f / (float)n);
    if (!r || !k) return NULL;
    *rec = tg_item(r);
    *kl = tg_item(k);
    if (logits) *logits = out;
    return tg_add(r, k);
}

/* One Adam step on a batch; its loss terms into rec and kl. */
static int train_step(vae *v, tg_tensor *pool, double *rec, double *kl)
{
    int scope = tg_scope_begin();
    if (scope < 0) return -1;
    tg_tensor *loss = vae_loss(v, draw_batch(pool, &v->rng), rec, kl, NULL);
    int rc = !loss || tg_backward(loss, NULL) || tg_optimizer_step(v->opt) ? -1 : 0;
    tg_optimizer_zero_grad(v->opt);
    tg_scope_end(scope);
    return rc;
}

/* ---- the sheet ---- */

/* Pastes image i of t (N, 3, SIZE, SIZE), its values in [0, 1] (probs:
 * logits, through a sigmoid), at cell (row, col) of the sheet. */
static void paste(tg_image *sheet, const tg_tensor *t, int64_t i, int row, int col, bool logits)
{
    const float *src = (const float *)t->storage->data + t->offset + i * 3 * SIZE * SIZE;
    int cell = SIZE * ZOOM + 2;
    for (int y = 0; y < SIZE * ZOOM; y++)
        for (int x = 0; x < SIZE * ZOOM; x++)
            for (int c = 0; c < 3; c++) {
                float v = src[c * SIZE * SIZE + (y / ZOOM) * SIZE + x / ZOOM];
                if (logits) v = 1.0f / (1.0f + expf(-v));
                int px = ((row * cell + 1 + y) * sheet->width + col * cell + 1 + x) * 3 + c;
                sheet->data[px] = (uint8_t)lrintf(fminf(fmaxf(v, 0.0f), 1.0f) * 255.0f);
            }
}

/* Rows 0-1: test images; 2-3: their reconstructions; 4-5: samples. */
static int write_sheet(vae *v, const char *path)
{
    int scope = tg_scope_begin(), rc = -1;
    tg_tensor *test = tg_scoped(render_images(TG_SHAPESCENES_TEST, 0, TEST)), *recon = NULL;
    double rec, kl;
    tg_module_train(v->model, false);
    tg_no_grad_enter();
    tg_tensor *loss = test ? vae_loss(v, test, &rec, &kl, &recon) : NULL;
    tg_tensor *samples = loss ? decode(v, tg_scoped(tg_randn(&v->rng, TG_SHAPE(TEST, LATENT)))) : NULL;
    tg_no_grad_exit();
    tg_tensor *a = samples ? tg_contiguous(recon) : NULL, *b = a ? tg_contiguous(samples) : NULL;
    tg_image sheet = {0};
    int cell = SIZE * ZOOM + 2, cols = TEST / 2;
    if (b && !tg_image_alloc(&sheet, 6 * cell, cols * cell, 3)) {
        for (int i = 0; i < TEST; i++) {
            paste(&sheet, test, i, i / cols, i % cols, false);
            paste(&sheet, a, i, 2 + i / cols, i % cols, true);
            paste(&sheet, b, i, 4 + i / cols, i % cols, true);
        }
        rc = tg_image_write_png(path, &sheet);
        double above = rec - entropy_floor(test);
        if (!rc) printf("test loss %.2f (reconstruction %.2f + KL %.2f); sheet in %s\n", above + kl, above, kl, path);
    }
    tg_image_free(&sheet);
    tg_scope_end(scope);
    return rc;
}

/* ---- main ---- */

/* Trains for steps, printing the loss above the reconstruction's floor
 * (the images' own entropy); 0 if that fell to under half its first value. */
static int train(vae *v, tg_tensor *pool, long steps)
{
    double floor = entropy_floor(pool), first = 0, window = 0, rec = 0, kl = 0;
    printf("the reconstruction loss cannot go below %.2f (the images' entropy): the losses below are above it\n",
           floor);
    time_t start = time(NULL);
    for (long s = 1; s <= steps; s++) {
        if (train_step(v, pool, &rec, &kl)) return -1;
        if (s == 1) first = rec - floor + kl;
        window += rec - floor + kl;
        if (s % 100 == 0 || s == steps) {
            long n = s % 100 ? s % 100 : 100;
            printf("step %5ld  loss %8.2f  (last step: reconstruction %8.2f + KL %6.2f)  %lds\n", s,
                   window / (double)n, rec - floor, kl, (long)(time(NULL) - start));
            window = 0;
        }
    }
    printf("loss %.2f at the first step, %.2f at the last\n", first, rec - floor + kl);
    return rec - floor + kl < 0.5 * first ? 0 : 1;
}

int main(int argc, char **argv)
{
    options opt;
    int parsed = parse_options(argc, argv, &opt);
    if (parsed) return parsed > 0 ? 0 : 2;
    if (tg_set_num_threads((int)opt.threads)) return 1;
    tg_rng init = tg_rng_new((uint64_t)opt.seed, 0);
    vae v = {.rng = tg_rng_new((uint64_t)opt.seed, 1)};
    tg_tensor_list params = {0};
    tg_tensor *pool = render_images(TG_SHAPESCENES_TRAIN, 0, POOL);
    int rc = pool && !build(&v, &init) && !tg_module_parameters(v.model, &params) ? 0 : -1;
    tg_adam_opts adam = tg_adam_default_opts();
    adam.lr = LR;
    if (!rc) rc = (v.opt = tg_adam_new(&params, adam)) ? 0 : -1;
    if (!rc) rc = train(&v, pool, opt.steps);
    if (rc >= 0 && write_sheet(&v, opt.out)) rc = -1;
    if (rc < 0) fprintf(stderr, "vae_shapes: %s\n", tg_last_error());
    tg_optimizer_free(v.opt);
    tg_tensor_list_clear(&params);
    tg_module_free(v.model);
    tg_release(pool);
    return rc ? 1 : 0;
}
