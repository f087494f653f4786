/* The compare program's presets, flags and run configurations (see
 * compare_config.h). */
#include "compare_config.h"

#include <stdio.h>
#include <string.h>

#include "app.h"
#include "out_files.h"
#include "tensorgrad.h"

#define PROTOCOL_FLAGS 32 /* room for protocol_flags' own */

#define ABOUT \
    "compare: random init, MoCo-v2 and DenseCL pretrained alike, each fine-tuned (FCN) and probed (frozen\n" \
    "backbone) over several seeds; writes results.md, results.json, chart.png and losses.png into --out.\n" \
    "The length study (--lengths) also fine-tunes and probes MoCo-v2 and DenseCL from the backbones their\n" \
    "pretrainings saved part way (0.25,0.5: at a quarter and half of the iterations), with the same seeds,\n" \
    "and adds DenseCL minus MoCo-v2 by pretraining length to results.md and length_study.png.\n" \
    "--preset full (the default) or quick comes first; every flag below overrides it. Re-running the same\n" \
    "command continues: finished runs are skipped, interrupted ones resumed. The settings, --lengths\n" \
    "included, are fixed in --out at its first run: other settings there are refused."

const char *const compare_arm_names[ARMS] = {"random", "mocov2", "densecl"};
const char *const compare_arm_labels[ARMS] = {"random init", "MoCo-v2", "DenseCL"};
const char *const compare_eval_names[EVALS] = {"ft", "probe"};

/* The full preset: pretrain_defaults and finetune_defaults are the issue's
 * protocol, but for the fine-tuning learning rate. At 600 steps (40 epochs
 * of 500 images) lr 0.01 leaves random init predicting only background
 * (test mIoU 0.076 in tensorgrad and in plain PyTorch,
 * tools/torch_seg_reference.py) where lr 0.1 learns objects (0.153, PyTorch
 * 0.146); chosen on random init alone, before any pretrained arm ran. The
 * length study (issue 12, item 5) at a quarter and half of the
 * pretraining's iterations, whatever its epochs, the whole length being
 * the main runs: 8 more runs a seed, fixed before any of them ran. */
static compare_config full_preset(void)
{
    compare_config c = {.preset = "full", .out = "compare_out", .seeds = 3, .pretrain = pretrain_defaults(),
                        .finetune = finetune_defaults()};
    c.pretrain.arch.stem = "small";
    c.pretrain.snapshots = (fraction_list){2, {0.25, 0.5}};
    c.finetune.lr = 0.1;
    c.pretrain.log_every = 5;
    c.probe_epochs = c.finetune.epochs;
    c.probe_lr = c.finetune.lr;
    return c;
}

/* The demo: the full protocol at toy scale, in under 5 minutes on 2 quiet
 * cores, without the length study (its 8 runs a seed would double it).
 * Pretraining: 96 steps of 64 images at width 0.125 per method (about 40 s
 * each); the queue holds half the images, as in full. Fine-tuning at
 * full's lr 0.1 but batch 4: at batch 32, 80 to 300 steps left random init
 * predicting only background, while steps of 4 images learn objects
 * (random init, 20 epochs of 256 = 1280 steps: things-mIoU 0.060 and 0.059
 * on seeds 0 and 1, 12 epochs 0.017 and 0.011, 28 epochs 0.079; batch 8 at
 * 640 steps 0.013, batch 2 none). 28 epochs (1792 steps, about 42 s) leave
 * a margin past that threshold: at 20, one pretrained arm's seed stayed at
 * background. One fine-tune seed: two took 5:47 on a quiet machine
 * (--seeds 2 for a spread). The probe is kept short (3 epochs): at full
 * scale it segments no object either. */
static compare_config quick_preset(void)
{
    compare_config c = full_preset();
    c.preset = "quick";
    c.out = "compare_quick";
    c.seeds = 1;
    c.pretrain.images = 2048;
    c.pretrain.arch.width = 0.125;
    c.pretrain.epochs = 3;
    c.pretrain.batch = 64;
    c.pretrain.queue = 1024;
    c.pretrain.log_every = 2;
    c.pretrain.snapshots = (fraction_list){0};
    c.finetune.data.train_images = 256;
    c.finetune.data.test_images = 256;
    c.finetune.batch = 4;
    c.finetune.epochs = 28;
    c.probe_epochs = 3;
    return c;
}

bool compare_preset(const char *name, compare_config *c)
{
    if (strcmp(name, "full") == 0) *c = full_preset();
    else if (strcmp(name, "quick") == 0) *c = quick_preset();
    else return false;
    return true;
}

/* The preset named in argv (the last --preset), or "full". */
static const char *preset_name(int argc, char **argv)
{
    const char *name = "full";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--preset") == 0) name = argv[++i];
    return name;
}

/* The flags of the data, the pretraining and the fine-tunings. */
static int protocol_flags(compare_config *c, tg_train_flag *f)
{
    pretrain_config *p = &c->pretrain;
    finetune_config *t = &c->finetune;
    const tg_train_flag own[] = {
        {"size", TG_FLAG_LONG, &p->size, 8, 1024, "ShapeScenes image side in pixels (C5 grid: size/8)"},
        {"data-seed", TG_FLAG_LONG, &p->data_seed, 0, 2147483647.0, "ShapeScenes content seed (every split)"},
        {"pretrain-images", TG_FLAG_LONG, &p->images, 1, 1e7, "unlabelled pretraining images"},
        {"train-images", TG_FLAG_LONG, &t->data.train_images, 1, 1e7, "labelled images for fine-tuning and probes"},
        {"test-images", TG_FLAG_LONG, &t->data.test_images, 1, 1e7, "test images scored"},
        {"pretrain-epochs", TG_FLAG_LONG, &p->epochs, 1, 1e6, "pretraining passes"},
        {"pretrain-batch", TG_FLAG_LONG, &p->batch, 1, 65536,
         "pretraining batch (divides --queue, a multiple of --bn-groups)"},
        {"pretrain-lr", TG_FLAG_DOUBLE, &p->lr, 0, 10, "pretraining base learning rate (cosine per step)"},
        {"pretrain-wd", TG_FLAG_DOUBLE, &p->weight_decay, 0, 1, "pretraining weight decay"},
        {"queue", TG_FLAG_LONG, &p->queue, 1, 1e8, "K, keys in each queue"},
        {"moco-momentum", TG_FLAG_DOUBLE, &p->moco_momentum, 0, 1, "m, the key encoder's momentum"},
        {"tau", TG_FLAG_DOUBLE, &p->tau, 1e-6, 100, "temperature of both losses"},
        {"lambda", TG_FLAG_DOUBLE, &p->lambda, 0, 1, "DenseCL's dense-loss weight"},
        {"warmup", TG_FLAG_DOUBLE, &p->warmup, 0, 1, "share of DenseCL's steps with lambda 0"},
        {"bn-groups", TG_FLAG_LONG, &p->bn_groups, 1, 4096, "split-BN groups (shuffle BN on one device)"},
        {"pretrain-seed", TG_FLAG_LONG, &p->seed, 0, 2147483647.0, "the pretrainings' seed (init, order, views)"},
        {"ft-epochs", TG_FLAG_LONG, &t->epochs, 1, 1e6, "FCN fine-tuning passes"},
        {"ft-batch", TG_FLAG_LONG, &t->batch, 1, 4096, "fine-tuning and probe batch"},
        {"ft-lr", TG_FLAG_DOUBLE, &t->lr, 0, 10, "FCN fine-tuning base learning rate (poly per step)"},
        {"ft-min-lr", TG_FLAG_DOUBLE, &t->min_lr, 0, 10, "the poly schedule's floor"},
        {"ft-power", TG_FLAG_DOUBLE, &t->power, 0, 10, "the poly power"},
        {"ft-wd", TG_FLAG_DOUBLE, &t->weight_decay, 0, 1, "fine-tuning and probe weight decay"},
        {"probe-epochs", TG_FLAG_LONG, &c->probe_epochs, 1, 1e6, "frozen-backbone probe passes"},
        {"probe-lr", TG_FLAG_DOUBLE, &c->probe_lr, 0, 10, "frozen-backbone probe base learning rate"},
        {"sgd-momentum", TG_FLAG_DOUBLE, &p->momentum, 0, 1, "SGD momentum of every run"},
    };
    _Static_assert(TG_FLAG_COUNT(own) <= PROTOCOL_FLAGS, "PROTOCOL_FLAGS is too small");
    memcpy(f, own, sizeof own);
    return TG_FLAG_COUNT(own) + backbone_arch_flags(&p->arch, f + TG_FLAG_COUNT(own));
}

int compare_parse(int argc, char **argv, compare_config *c)
{
    const char *name = preset_name(argc, argv);
    if (!compare_preset(name, c)) {
        fprintf(stderr, "--preset: '%s' is neither full nor quick\n", name);
        return -1;
    }
    char preset_lengths[FRACTIONS_MAX * 24];
    fractions_format(&c->pretrain.snapshots, preset_lengths, sizeof preset_lengths);
    const char *lengths = preset_lengths;
    const tg_train_flag run[] = {
        {"preset", TG_FLAG_STRING, &c->preset, 0, 0, "full or quick (given first: the other flags override it)"},
        {"out", TG_FLAG_STRING, &c->out, 0, 0, "output directory: one subdirectory a run, results, charts"},
        {"seeds", TG_FLAG_LONG, &c->seeds, 1, 1000, "fine-tune seeds 0 .. N-1, the same for every arm"},
        {"threads", TG_FLAG_LONG, &c->threads, 0, 1024, "compute threads (0: all cores)"},
        {"workers", TG_FLAG_LONG, &c->pretrain.workers, 0, 64, "data loading threads"},
        {"log-every", TG_FLAG_LONG, &c->pretrain.log_every, 1, 1e9, "pretraining steps between log lines"},
        {"eval-batch", TG_FLAG_LONG, &c->finetune.eval_batch, 0, 4096, "test images a forward (0: 32)"},
        {"lengths", TG_FLAG_STRING, &lengths, 0, 0,
         "the length study: MoCo-v2 and DenseCL also fine-tuned and probed from their backbones at these "
         "fractions of the pretraining's iterations (in (0, 1), increasing), or none"},
    };
    tg_train_flag flags[TG_FLAG_COUNT(run) + PROTOCOL_FLAGS + BACKBONE_ARCH_FLAGS];
    memcpy(flags, run, sizeof run);
    int n = TG_FLAG_COUNT(run) + protocol_flags(c, flags + TG_FLAG_COUNT(run));
    int rc = app_parse_flags(argc, argv, flags, n, ABOUT);
    if (rc) return rc;
    if (fractions_parse(lengths, &c->pretrain.snapshots, "lengths", "compare") ||
        app_check_lr_floor("ft-min-lr", c->finetune.min_lr, "ft-lr", c->finetune.lr, "compare") ||
        app_check_lr_floor("ft-min-lr", c->finetune.min_lr, "probe-lr", c->probe_lr, "compare"))
        return -1;
    return app_set_threads(c->threads);
}

pretrain_config compare_pretrain_config(const compare_config *c, compare_arm arm, const char *dir)
{
    pretrain_config p = c->pretrain;
    p.method = arm == ARM_DENSECL ? "densecl" : "mocov2";
    p.out = dir;
    return p;
}

finetune_config compare_finetune_config(const compare_config *c, compare_eval e, long seed, const char *backbone,
                                        const char *dir)
{
    finetune_config f = c->finetune;
    f.data.size = c->pretrain.size;
    f.data.data_seed = c->pretrain.data_seed;
    f.arch = c->pretrain.arch;
    f.momentum = c->pretrain.momentum;
    f.workers = c->pretrain.workers;
    f.backbone = backbone;
    f.frozen = e == EVAL_PROBE;
    if (f.frozen) f.epochs = c->probe_epochs, f.lr = c->probe_lr;
    f.seed = seed;
    f.out = dir;
    return f;
}

json_t *compare_settings_json(const compare_config *c)
{
    const pretrain_config *p = &c->pretrain;
    const finetune_config *t = &c->finetune;
    json_t *s = json_pack("{s:I,s:I,s:I,s:I,s:I}", "size", (json_int_t)p->size, "data_seed", (json_int_t)p->data_seed,
                          "pretrain_images", (json_int_t)p->images, "train_images", (json_int_t)t->data.train_images,
                          "test_images", (json_int_t)t->data.test_images);
    s = out_json_merge(backbone_arch_config(&p->arch, s),
                       json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "pretrain_epochs", (json_int_t)p->epochs,
                                 "pretrain_batch", (json_int_t)p->batch, "queue", (json_int_t)p->queue, "bn_groups",
                                 (json_int_t)p->bn_groups, "pretrain_seed", (json_int_t)p->seed, "ft_epochs",
                                 (json_int_t)t->epochs, "ft_batch", (json_int_t)t->batch, "probe_epochs",
                                 (json_int_t)c->probe_epochs));
    const char *const keys[] = {"pretrain_lr", "pretrain_wd", "moco_momentum", "tau",      "lambda", "warmup",
                                "sgd_momentum", "ft_lr",      "ft_min_lr",     "ft_power", "ft_wd",  "probe_lr"};
    const double values[] = {p->lr, p->weight_decay, p->moco_momentum, p->tau, p->lambda, p->warmup, p->momentum,
                             t->lr, t->min_lr, t->power, t->weight_decay, c->probe_lr};
    s = out_json_numbers(s, keys, values, (int)(sizeof keys / sizeof *keys));
    return p->snapshots.n ? out_json_set(s, "lengths", fractions_json(&p->snapshots)) : s;
}

void compare_pretrain_dir_name(compare_arm arm, char *buf, size_t size)
{
    snprintf(buf, size, "pretrain_%s", compare_arm_names[arm]);
}

void compare_run_dir_name(compare_eval e, compare_arm arm, long seed, char *buf, size_t size)
{
    snprintf(buf, size, "%s_%s_seed%ld", compare_eval_names[e], compare_arm_names[arm], seed);
}

void compare_length_dir_name(compare_eval e, compare_arm arm, double fraction, long seed, char *buf, size_t size)
{
    snprintf(buf, size, "%s_%s_len%g_seed%ld", compare_eval_names[e], compare_arm_names[arm], fraction, seed);
}
