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
 * It also reads that arithmetic against the machine: before the steps it
 * measures the fp32 FMA peak (1 thread and --threads) and a streaming
 * copy (peak.c; --peak 0 skips it), and prints the CPU model, each
 * method's GFLOP/s, its share of the FMA peak at --threads and its images
 * per second. --method moco or densecl times one method alone (what
 * bench_contrastive.py --compare runs, one process a method). The RESULT
 * line holds all of it as key=value numbers.
 *
 * Built with -DTG_BENCH_PROF as prof_contrastive (bench/meson.build), it
 * also prints where each method's step goes: the step profiler's rows
 * (prof_wrap.c), one breakdown per method over its timed steps, side by
 * side with their difference, then each method's roofline: its kernels'
 * GFLOP/s and GB/s, by convolution layer and pass and by row, against the
 * peak measured first (bounds and shares of it read "-" with --peak 0).
 *
 * usage: bench_contrastive [--depth 18] [--width 0.25] [--size 64]
 *                          [--batch 64] [--queue 4096] [--groups 8]
 *                          [--threads 2] [--steps 6] [--warmup 2]
 *                          [--method both|moco|densecl] [--peak 1|0] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peak.h"
#include "tensorgrad.h"
#include "timing.h"
#include "usage.h"

#define OPTIONS \
    "[--depth 18] [--width 0.25] [--size 64] [--batch 64] [--queue 4096] [--groups 8] [--threads 2]\n" \
    "       [--steps 6] [--warmup 2] [--method both|moco|densecl] [--peak 1|0]"
#define ABOUT \
    "A DenseCL step against a MoCo-v2 step (tg_contrastive_step, backward, SGD), interleaved on the same\n" \
    "backbone, batch, queue and views: each method's median step time (clock and CPU), their ratio and the\n" \
    "ratio the arithmetic alone predicts; each method's GFLOP/s against the machine's FMA peak, measured\n" \
    "first (1 thread and --threads; with a streaming copy's GB/s; --peak 0 skips it), and the CPU model.\n" \
    "--method moco or densecl times one method alone. Built as prof_contrastive, it also prints where each\n" \
    "step goes and each method's roofline: its kernels' GFLOP/s and GB/s against the measured peak."

static const char *const method_titles[2] = {"MoCo-v2", "DenseCL"}; /* by tg_contrastive_method */
static const char *const method_keys[2] = {"moco", "densecl"};      /* --method and RESULT's keys */

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

/* The breakdowns side by side, which needs both methods' steps, then each
 * method's roofline against peak (NULL: not measured). */
static void prof_report(int steps, const bool runs[2], const bench_peak *peak)
{
    if (runs[0] && runs[1]) {
        printf("\nwhere a step goes, ms per step (mean of the %d timed steps; bench/prof_wrap.c):\n\n", steps);
        prof_print_pair(stdout, &breakdown[0], &breakdown[1], method_titles[0], method_titles[1]);
    } else {
        printf("\nthe step profiler sets the two methods side by side: run it with --method both\n");
    }
    for (int m = 0; m < 2; m++)
        if (runs[m]) {
            printf("\nthe %s step's kernels against the machine, per step (mean of the %d timed steps):\n\n",
                   method_titles[m], steps);
            prof_print_roofline(stdout, &breakdown[m], peak);
        }
}
#else
static void prof_begin(void) {}
static void prof_end(int method) { (void)method; }
static void prof_report(int steps, const bool runs[2], const bench_peak *peak)
{
    (void)steps;
    (void)runs;
    (void)peak;
}
#endif

typedef struct {
    int depth, size, batch, queue, groups, threads, steps, warmup;
    double width;
    bool runs[2]; /* which methods to time, by tg_contrastive_method */
    bool peak;    /* measure the machine's peak first */
} options;

/* --method's value into runs; -1 if it is none of both, moco, densecl. */
static int parse_method(const char *name, bool runs[2])
{
    bool both = !strcmp(name, "both");
    for (int m = 0; m < 2; m++) runs[m] = both || !strcmp(name, method_keys[m]);
    return runs[0] || runs[1] ? 0 : -1;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.depth = 18, .size = 64, .batch = 64, .queue = 4096, .groups = 8, .threads = 2,
                   .steps = 6, .warmup = 2, .width = 0.25, .runs = {true, true}, .peak = true};
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
        else if (!strcmp(a, "--peak")) o->peak = v != 0;
        else if (strcmp(a, "--method") || parse_method(argv[i + 1], o->runs)) {
            fprintf(stderr, "%s: unknown option or value: %s %s\n", argv[0], a, argv[i + 1]);
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

static int64_t parameter_count(const tg_tensor_list *params)
{
    int64_t n = 0;
    for (int i = 0; i < params->n; i++) n += tg_numel(params->items[i].tensor);
    return n;
}

/* The warm-up and timed steps of the methods o->runs asks for,
 * interleaved, which goes first alternating. */
static int run_steps(runner r[2], const options *o, tg_tensor *im_q, tg_tensor *im_k)
{
    tg_rng shuffle[2] = {tg_rng_new(2, 0), tg_rng_new(2, 0)};
    int rc = 0;
    for (int it = 0; !rc && it < o->warmup + o->steps; it++)
        for (int k = 0; !rc && k < 2; k++) {
            int m = (it + k) % 2;
            if (!o->runs[m]) continue;
            double ms[2];
            bool timed = it >= o->warmup;
            if (timed) prof_begin();
            rc = step(&r[m], im_q, im_k, it, &shuffle[m], ms);
            if (timed) {
                prof_end(m);
                r[m].ms[it - o->warmup] = ms[0];
                r[m].cpu_ms[it - o->warmup] = ms[1];
            }
        }
    return rc;
}

/* The CPU and, with o->peak, what it measures at most (into *peak). */
static void measure_machine(const options *o, bench_peak *peak)
{
    char cpu[320];
    bench_cpu_model(cpu, sizeof cpu);
    printf("CPU: %s\n", cpu);
    if (!o->peak) return;
    if (bench_peak_measure(o->threads, peak)) fprintf(stderr, "bench_contrastive: no room for the copy's arrays\n");
    bench_peak_print(stdout, peak);
}

/* What the timed steps came to, by method. */
typedef struct {
    double ms[2], cpu_ms[2]; /* medians */
    double flops[2];         /* one step's arithmetic */
    int64_t params[2];       /* what the optimizer trains */
} summary;

static summary summarise(runner r[2], const options *o)
{
    summary s = {0};
    double moco, dense;
    step_flops(r[o->runs[TG_MOCOV2] ? TG_MOCOV2 : TG_DENSECL].model, o, &moco, &dense);
    s.flops[TG_MOCOV2] = moco;
    s.flops[TG_DENSECL] = moco + dense;
    for (int m = 0; m < 2; m++)
        if (o->runs[m]) {
            s.ms[m] = bench_median(r[m].ms, o->steps);
            s.cpu_ms[m] = bench_median(r[m].cpu_ms, o->steps);
            s.params[m] = parameter_count(&r[m].params);
        }
    return s;
}

static double gflops(const summary *s, int m)
{
    return s->flops[m] / s->ms[m] / 1e6;
}

static void print_summary(const summary *s, const options *o, const bench_peak *peak)
{
    printf("ResNet-%d width %g, %dx%d (S %d), batch %d, K %d, %d BN groups, %d threads, median of %d steps\n",
           o->depth, o->width, o->size, o->size, o->size / 8, o->batch, o->queue, o->groups, o->threads, o->steps);
    for (int m = 0; m < 2; m++) {
        if (!o->runs[m]) continue;
        printf("%s step  %9.1f ms (CPU %9.1f ms)  %7.1f GFLOP  %7.1f GFLOP/s", method_titles[m], s->ms[m],
               s->cpu_ms[m], s->flops[m] / 1e9, gflops(s, m));
        if (o->peak) printf(" (%.1f%% of the FMA peak)", 100 * gflops(s, m) / peak->fma_gflops);
        printf("  %.1f images/s  %" PRId64 " parameters\n", o->batch * 1e3 / s->ms[m], s->params[m]);
    }
    if (!o->runs[TG_MOCOV2] || !o->runs[TG_DENSECL]) return;
    double arith = s->flops[1] / s->flops[0], time = s->ms[1] / s->ms[0], cpu = s->cpu_ms[1] / s->cpu_ms[0];
    printf("arithmetic ratio %.3f; time ratio %.3f (CPU %.3f): the dense branch costs %+.1f%% (CPU %+.1f%%) of "
           "a MoCo-v2 step beyond its arithmetic\n",
           arith, time, cpu, 100 * (time - arith), 100 * (cpu - arith));
}

/* One line of key=value numbers for the scripts: the batch and threads,
 * each timed method's figures (KEY_ms, KEY_cpu_ms, KEY_gflop, KEY_gflops,
 * KEY_params, KEY_peak_pct), the two methods' ratios, the peak's. */
static void print_result(const summary *s, const options *o, const bench_peak *peak)
{
    printf("RESULT batch=%d threads=%d", o->batch, o->threads);
    for (int m = 0; m < 2; m++) {
        if (!o->runs[m]) continue;
        const char *k = method_keys[m];
        printf(" %s_ms=%.2f %s_cpu_ms=%.2f %s_gflop=%.3f %s_gflops=%.2f %s_params=%" PRId64, k, s->ms[m], k,
               s->cpu_ms[m], k, s->flops[m] / 1e9, k, gflops(s, m), k, s->params[m]);
        if (o->peak) printf(" %s_peak_pct=%.2f", k, 100 * gflops(s, m) / peak->fma_gflops);
    }
    if (o->runs[TG_MOCOV2] && o->runs[TG_DENSECL])
        printf(" ratio=%.4f cpu_ratio=%.4f arith_ratio=%.4f", s->ms[1] / s->ms[0], s->cpu_ms[1] / s->cpu_ms[0],
               s->flops[1] / s->flops[0]);
    if (o->peak)
        printf(" peak_fma_1t_gflops=%.1f peak_fma_gflops=%.1f copy_gbs=%.2f", peak->fma_gflops_1t, peak->fma_gflops,
               peak->copy_gbs);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    options o;
    if (parse_args(argc, argv, &o)) return 2;
    bench_peak peak = {0};
    measure_machine(&o, &peak);
    tg_set_num_threads(o.threads);
    runner r[2] = {0};
    tg_rng rng = tg_rng_new(1, 0);
    tg_tensor *im_q = tg_randn(&rng, TG_SHAPE(o.batch, 3, o.size, o.size));
    tg_tensor *im_k = tg_randn(&rng, TG_SHAPE(o.batch, 3, o.size, o.size));
    int rc = im_q && im_k ? 0 : -1;
    for (int m = 0; !rc && m < 2; m++)
        if (o.runs[m]) rc = runner_init(&r[m], &o, (tg_contrastive_method)m);
    if (!rc) rc = run_steps(r, &o, im_q, im_k);
    if (rc) {
        fprintf(stderr, "bench_contrastive: %s\n", tg_last_error());
    } else {
        summary s = summarise(r, &o);
        print_summary(&s, &o, &peak);
        prof_report(o.steps, o.runs, o.peak ? &peak : NULL);
        print_result(&s, &o, &peak);
    }
    runner_free(&r[0]);
    runner_free(&r[1]);
    tg_release(im_q);
    tg_release(im_k);
    return rc ? 1 : 0;
}
