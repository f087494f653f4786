/* The DenseCL step against the MoCo-v2 step, side by side: the same
 * backbone, batch, queue and views, steps of the two methods interleaved
 * (so a busy neighbour slows both alike). A step is tg_contrastive_step,
 * backward, SGD (lr 0.03, momentum 0.9, weight decay 1e-4) and zero_grad.
 *
 * It prints each method's median step time, their ratio, and the ratio
 * that the arithmetic alone predicts: DenseCL adds the dense necks
 * (query forward and backward, key forward), the S^2 x S^2 similarity per
 * image and the dense logits (N S^2) x K x D forward and backward; a
 * step's arithmetic is counted as 4 backbone forwards (query forward and
 * backward, key forward) plus the necks and logits. The difference of the
 * two ratios is what the dense branch costs beyond its arithmetic. Each
 * step's CPU time (all threads) is reported beside the clock's: steadier
 * when other processes share the cores (run with OMP_WAIT_POLICY=passive).
 *
 * Built with -DTG_BENCH_PROF as prof_contrastive (bench/meson.build), it
 * also prints where each method's step goes: the step profiler's rows
 * (prof_wrap.c), one breakdown per method over its timed steps, side by
 * side with their difference.
 *
 * usage: bench_contrastive [--depth 18] [--width 0.25] [--size 64]
 *                          [--batch 64] [--queue 4096] [--groups 8]
 *                          [--threads 2] [--steps 6] [--warmup 2] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"
#include "timing.h"
#include "usage.h"

#define OPTIONS \
    "[--depth 18] [--width 0.25] [--size 64] [--batch 64] [--queue 4096] [--groups 8] [--threads 2]\n" \
    "       [--steps 6] [--warmup 2]"
#define ABOUT \
    "A DenseCL step against a MoCo-v2 step (tg_contrastive_step, backward, SGD), interleaved on the same\n" \
    "backbone, batch, queue and views: each method's median step time (clock and CPU), their ratio and the\n" \
    "ratio the arithmetic alone predicts. Built as prof_contrastive, it also prints where each step goes."

#ifdef TG_BENCH_PROF /* prof_contrastive: the same program with the step profiler */
#include "bench/prof_wrap.h"

static prof_breakdown breakdown[2]; /* per method, over its timed steps */

static void prof_begin(void)
{
    prof_reset();
    prof_step_begin();
}

static void prof_end(int method)
{
    prof_step_end();
    prof_breakdown_add(&breakdown[method]);
}

static void prof_report(int steps)
{
    printf("\nwhere a step goes, ms per step (mean of the %d timed steps; bench/prof_wrap.c):\n\n", steps);
    prof_print_pair(stdout, &breakdown[0], &breakdown[1], "MoCo-v2", "DenseCL");
}
#else
static void prof_begin(void) {}
static void prof_end(int method) { (void)method; }
static void prof_report(int steps) { (void)steps; }
#endif

typedef struct {
    int depth, size, batch, queue, groups, threads, steps, warmup;
    double width;
} options;

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){18, 64, 64, 4096, 8, 2, 6, 2, 0.25};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i];
        double v = strtod(argv[i + 1], NULL);
        if (!strcmp(a, "--depth")) o->depth = (int)v;
        else if (!strcmp(a, "--width")) o->width = v;
        else if (!strcmp(a, "--size")) o->size = (int)v;
        else if (!strcmp(a, "--batch")) o->batch = (int)v;
        else if (!strcmp(a, "--queue")) o->queue = (int)v;
        else if (!strcmp(a, "--groups")) o->groups = (int)v;
        else if (!strcmp(a, "--threads")) o->threads = (int)v;
        else if (!strcmp(a, "--steps")) o->steps = (int)v;
        else if (!strcmp(a, "--warmup")) o->warmup = (int)v;
        else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
            bench_usage_error(argv[0], OPTIONS);
            return -1;
        }
    }
    if (argc % 2) return 0;
    fprintf(stderr, "%s: %s needs a value\n", argv[0], argv[argc - 1]);
    bench_usage_error(argv[0], OPTIONS);
    return -1;
}

typedef struct {
    tg_module *model;
    tg_tensor_list params;
    tg_optimizer *opt;
    double *ms, *cpu_ms;
} runner;

static tg_contrastive_config config_of(const options *o, tg_contrastive_method method)
{
    tg_contrastive_config c = tg_contrastive_defaults(method);
    c.backbone = (tg_resnet_opts){.depth = o->depth, .width = o->width, .small_stem = true, .bn_groups = o->groups};
    c.queue_len = o->queue;
    c.momentum = 0.99;
    return c;
}

static int runner_init(runner *r, const options *o, tg_contrastive_method method)
{
    r->model = tg_contrastive_new(config_of(o, method));
    r->ms = calloc((size_t)o->steps, sizeof *r->ms);
    r->cpu_ms = calloc((size_t)o->steps, sizeof *r->cpu_ms);
    if (!r->model || !r->ms || !r->cpu_ms || tg_contrastive_parameters(r->model, &r->params)) return -1;
    r->opt = tg_sgd_new(&r->params, (tg_sgd_opts){.lr = 0.03, .momentum = 0.9, .weight_decay = 1e-4});
    return r->opt ? 0 : -1;
}

static void runner_free(runner *r)
{
    tg_optimizer_free(r->opt);
    tg_tensor_list_clear(&r->params);
    tg_module_free(r->model);
    free(r->ms);
    free(r->cpu_ms);
}

/* One step; its wall and CPU milliseconds into ms[0] and ms[1]. */
static int step(runner *r, tg_tensor *im_q, tg_tensor *im_k, int64_t iter, tg_rng *shuffle, double *ms)
{
    tg_contrastive_out out;
    double t0 = bench_now(), c0 = bench_cpu_now();
    int rc = tg_contrastive_step(r->model, im_q, im_k, iter, shuffle, &out);
    if (!rc) rc = tg_backward(out.loss, NULL);
    if (!rc) rc = tg_optimizer_step(r->opt);
    tg_optimizer_zero_grad(r->opt);
    tg_contrastive_out_clear(&out);
    ms[0] = (bench_now() - t0) * 1e3;
    ms[1] = (bench_cpu_now() - c0) * 1e3;
    return rc;
}

/* Multiply-adds of one backbone forward per image: 2 x weight x output
 * pixels for every conv, whose output side is that of its stage. */
static double backbone_flops(tg_module *model, const options *o)
{
    tg_tensor_list sd = {0};
    if (tg_module_state_dict(tg_contrastive_backbone(model), &sd)) return -1;
    double flops = 0;
    for (int i = 0; i < sd.n; i++) {
        const char *name = sd.items[i].name;
        tg_tensor *w = sd.items[i].tensor;
        if (w->ndim != 4) continue;
        int stage = strncmp(name, "layer", 5) ? 0 : name[5] - '0';
        double side = stage ? (double)o->size / (1 << (stage - 1)) : o->size; /* small stem: stride 1 */
        flops += 2.0 * (double)tg_numel(w) * side * side;
    }
    tg_tensor_list_clear(&sd);
    return flops;
}

/* The arithmetic of one step of each method, in FLOPs. */
static void step_flops(tg_module *model, const options *o, double *moco, double *dense)
{
    const tg_contrastive_config *c = tg_contrastive_config_of(model);
    double n = o->batch, s = o->size / 8.0, cells = n * s * s;
    double ch = (double)tg_resnet_channels(c->backbone, 4), h = (double)c->hidden, d = (double)c->dim;
    double neck = 2 * (ch * h + h * d), logits = 2 * (double)c->queue_len * d;
    *moco = 4 * n * (backbone_flops(model, o) + neck) + 2 * n * logits;
    *dense = 4 * cells * neck + 2 * cells * logits + 2 * n * s * s * s * s * ch;
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    options o;
    if (parse_args(argc, argv, &o)) return 2;
    tg_set_num_threads(o.threads);
    runner r[2] = {0};
    tg_rng rng = tg_rng_new(1, 0), shuffle[2] = {tg_rng_new(2, 0), tg_rng_new(2, 0)};
    tg_tensor *im_q = tg_randn(&rng, TG_SHAPE(o.batch, 3, o.size, o.size));
    tg_tensor *im_k = tg_randn(&rng, TG_SHAPE(o.batch, 3, o.size, o.size));
    int rc = im_q && im_k && !runner_init(&r[0], &o, TG_MOCOV2) && !runner_init(&r[1], &o, TG_DENSECL) ? 0 : -1;
    for (int it = 0; !rc && it < o.warmup + o.steps; it++)
        for (int k = 0; !rc && k < 2; k++) {
            int m = (it + k) % 2; /* alternate which method goes first */
            double ms[2];
            bool timed = it >= o.warmup;
            if (timed) prof_begin();
            rc = step(&r[m], im_q, im_k, it, &shuffle[m], ms);
            if (timed) {
                prof_end(m);
                r[m].ms[it - o.warmup] = ms[0];
                r[m].cpu_ms[it - o.warmup] = ms[1];
            }
        }
    if (rc) {
        fprintf(stderr, "bench_contrastive: %s\n", tg_last_error());
    } else {
        double moco, dense, t[2], cpu[2];
        step_flops(r[1].model, &o, &moco, &dense);
        for (int m = 0; m < 2; m++) {
            t[m] = bench_median(r[m].ms, o.steps);
            cpu[m] = bench_median(r[m].cpu_ms, o.steps);
        }
        printf("ResNet-%d width %g, %dx%d (S %d), batch %d, K %d, %d BN groups, %d threads, median of %d steps\n",
               o.depth, o.width, o.size, o.size, o.size / 8, o.batch, o.queue, o.groups, o.threads, o.steps);
        printf("MoCo-v2 step  %9.1f ms (CPU %9.1f ms)  %7.1f GFLOP\n", t[0], cpu[0], moco / 1e9);
        printf("DenseCL step  %9.1f ms (CPU %9.1f ms)  %7.1f GFLOP more\n", t[1], cpu[1], dense / 1e9);
        printf("arithmetic ratio %.3f; time ratio %.3f (CPU %.3f): the dense branch costs %+.1f%% (CPU %+.1f%%) of "
               "a MoCo-v2 step beyond its arithmetic\n",
               1 + dense / moco, t[1] / t[0], cpu[1] / cpu[0], 100 * (t[1] / t[0] - 1 - dense / moco),
               100 * (cpu[1] / cpu[0] - 1 - dense / moco));
        prof_report(o.steps);
        printf("RESULT moco_ms=%.2f densecl_ms=%.2f ratio=%.4f cpu_ratio=%.4f arith_ratio=%.4f\n", t[0], t[1],
               t[1] / t[0], cpu[1] / cpu[0], 1 + dense / moco);
    }
    runner_free(&r[0]);
    runner_free(&r[1]);
    tg_release(im_q);
    tg_release(im_k);
    return rc ? 1 : 0;
}
