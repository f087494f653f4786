/* Each convolution of a ResNet backbone timed alone (by default the
 * pretraining preset's: ResNet-18 at width 0.25 with the small stem; also
 * ResNet-50 and the standard stem): the forward, the input gradient and
 * the weight gradient of every distinct layer shape, square images, with
 * their milliseconds, GFLOP/s (2 x weight x output pixels x images per
 * pass) and share of the machine's FMA peak at the same thread count
 * (measured first, peak.c), the median of --reps calls after one warm-up
 * call. Kernels are the tensor layer's (tg_k_conv2d*), so nothing of
 * autograd is timed. --direct 0 turns the direct kernels off
 * (conv_direct_enable), to compare them with the GEMM paths.
 *
 * usage: bench_conv [--depth 18|50] [--stem small|standard] [--width 0.25] [--size 64] [--batch 256]
 *                   [--threads 2] [--reps 5] [--direct 1] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peak.h"
#include "tensor/internal/conv.h"
#include "tensor/internal/conv_geom.h"
#include "tensorgrad.h"
#include "timing.h"
#include "usage.h"

#define OPTIONS \
    "[--depth 18|50] [--stem small|standard] [--width 0.25] [--size 64] [--batch 256] [--threads 2] [--reps 5]\n" \
    "       [--direct 1]"
#define ABOUT                                                                                            \
    "Each convolution of a ResNet backbone (default: the pretraining preset's, ResNet-18 with the small stem\n" \
    "at width 0.25) timed alone (forward, input gradient, weight gradient): median ms, GFLOP/s and % of the\n" \
    "measured FMA peak per distinct layer shape."
#define MAX_REPS 64
#define MAX_LAYERS 32

typedef struct {
    int depth, size, batch, threads, reps, direct;
    bool small_stem;
    double width;
} options;

typedef struct {
    char name[32];
    int64_t c, o, k, stride, side; /* side: the input's */
} layer;

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){18, 64, 256, 2, 5, 1, true, 0.25};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i];
        double v = strtod(argv[i + 1], NULL);
        if (!strcmp(a, "--depth") && (v == 18 || v == 50)) o->depth = (int)v;
        else if (!strcmp(a, "--stem") && !strcmp(argv[i + 1], "small")) o->small_stem = true;
        else if (!strcmp(a, "--stem") && !strcmp(argv[i + 1], "standard")) o->small_stem = false;
        else if (!strcmp(a, "--width")) o->width = v;
        else if (!strcmp(a, "--size")) o->size = (int)v;
        else if (!strcmp(a, "--batch")) o->batch = (int)v;
        else if (!strcmp(a, "--threads")) o->threads = (int)v;
        else if (!strcmp(a, "--reps")) o->reps = (int)v;
        else if (!strcmp(a, "--direct")) o->direct = (int)v;
        else {
            fprintf(stderr, "%s: unknown option or value %s %s\n", argv[0], a, argv[i + 1]);
            bench_usage_error(argv[0], OPTIONS);
            return -1;
        }
    }
    if (argc % 2 == 0 || o->reps < 1 || o->reps > MAX_REPS) {
        bench_usage_error(argv[0], OPTIONS);
        return -1;
    }
    return 0;
}

static int add_layer(layer *out, int n, int64_t c, int64_t o, int64_t k, int64_t stride, int64_t side,
                     const char *fmt, int stage)
{
    if (n == MAX_LAYERS) return n;
    out[n] = (layer){.c = c, .o = o, .k = k, .stride = stride, .side = side};
    snprintf(out[n].name, sizeof out[n].name, fmt, stage);
    return n + 1;
}

/* Stage s (0-3) of ResNet-18 from in channels at side: its 3x3s (the
 * first with stride 2 after stage 0) and its 1x1 downsample. */
static int basic_stage(layer *out, int n, int s, int64_t in, int64_t planes, int64_t side)
{
    if (s == 0) return add_layer(out, n, planes, planes, 3, 1, side, "layer%d 3x3", s + 1);
    n = add_layer(out, n, in, planes, 3, 2, side, "layer%d 3x3 s2", s + 1);
    n = add_layer(out, n, planes, planes, 3, 1, side / 2, "layer%d 3x3", s + 1);
    return add_layer(out, n, in, planes, 1, 2, side, "layer%d 1x1 s2", s + 1);
}

/* Stage s of ResNet-50 (bottlenecks of planes, 4 planes out; the stride on
 * the first 3x3, as torchvision's): its distinct 1x1s and 3x3s. */
static int bottleneck_stage(layer *out, int n, int s, int64_t in, int64_t planes, int64_t side)
{
    int64_t stride = s ? 2 : 1, after = side / stride;
    n = add_layer(out, n, in, planes, 1, 1, side, "layer%d 1x1 in", s + 1);
    n = add_layer(out, n, planes, planes, 3, stride, side, stride > 1 ? "layer%d 3x3 s2" : "layer%d 3x3", s + 1);
    if (stride > 1) n = add_layer(out, n, planes, planes, 3, 1, after, "layer%d 3x3", s + 1);
    n = add_layer(out, n, planes, 4 * planes, 1, 1, after, "layer%d 1x1 out", s + 1);
    n = add_layer(out, n, 4 * planes, planes, 1, 1, after, "layer%d 1x1 reduce", s + 1);
    return add_layer(out, n, in, 4 * planes, 1, stride, side, stride > 1 ? "layer%d 1x1 ds s2" : "layer%d 1x1 ds",
                     s + 1);
}

/* The distinct convolutions of the backbone: the stem (small: 3x3 stride
 * 1; standard: 7x7 stride 2, then a stride-2 max pool), then each stage's. */
static int layers_of(const options *o, layer *out)
{
    int64_t w = (int64_t)(64 * o->width + 0.5), side = o->size, n = 0;
    if (o->small_stem) n = add_layer(out, (int)n, 3, w, 3, 1, side, "stem 3x3", 0);
    else {
        n = add_layer(out, (int)n, 3, w, 7, 2, side, "stem 7x7 s2", 0);
        side /= 4;
    }
    int64_t in = w;
    for (int s = 0; s < 4; s++) {
        int64_t planes = w << s;
        if (o->depth == 50) n = bottleneck_stage(out, (int)n, s, in, planes, side);
        else n = basic_stage(out, (int)n, s, in, planes, side);
        in = o->depth == 50 ? 4 * planes : planes;
        if (s > 0) side /= 2; /* stages 2-4 halve the side */
    }
    return (int)n;
}

typedef enum { FORWARD, GRAD_INPUT, GRAD_WEIGHT, PASSES } pass;

static tg_tensor *run_pass(pass p, tg_tensor *x, tg_tensor *w, tg_tensor *g, tg_conv2d_opts opts)
{
    if (p == FORWARD) return tg_k_conv2d(x, w, NULL, opts);
    if (p == GRAD_INPUT) return tg_k_conv2d_backward_input(g, w, x->shape, opts);
    return tg_k_conv2d_backward_weight(g, x, w->shape, opts);
}

/* The median ms of reps calls of one pass, after a warm-up call. */
static double time_pass(pass p, tg_tensor *x, tg_tensor *w, tg_tensor *g, tg_conv2d_opts opts, int reps)
{
    double ms[MAX_REPS];
    for (int r = -1; r < reps; r++) {
        double t0 = bench_now();
        tg_tensor *out = run_pass(p, x, w, g, opts);
        double t = (bench_now() - t0) * 1e3;
        if (!out) return -1;
        tg_release(out);
        if (r >= 0) ms[r] = t;
    }
    return bench_median(ms, reps);
}

static int time_layer(const layer *l, const options *o, double peak, tg_rng *rng)
{
    int64_t pad = l->k / 2, out_side = (l->side + 2 * pad - l->k) / l->stride + 1;
    tg_conv2d_opts opts = {.stride = {(int)l->stride, (int)l->stride}, .padding = {(int)pad, (int)pad}};
    tg_tensor *x = tg_randn(rng, 4, (int64_t[]){o->batch, l->c, l->side, l->side});
    tg_tensor *w = tg_randn(rng, 4, (int64_t[]){l->o, l->c, l->k, l->k});
    tg_tensor *g = tg_randn(rng, 4, (int64_t[]){o->batch, l->o, out_side, out_side});
    int rc = x && w && g ? 0 : -1;
    double gflop = 2.0 * (double)(l->o * l->c * l->k * l->k) * (double)(out_side * out_side * o->batch) * 1e-9;
    printf("| %s | %lld -> %lld | %lldx%lld |", l->name, (long long)l->c, (long long)l->o, (long long)out_side,
           (long long)out_side);
    for (pass p = FORWARD; p < PASSES && !rc; p++) {
        double ms = l->c == 3 && p == GRAD_INPUT ? 0 : time_pass(p, x, w, g, opts, o->reps);
        if (ms < 0) rc = -1;
        else if (ms == 0) printf(" - |");
        else printf(" %.2f (%.0f, %.0f%%) |", ms, gflop / ms * 1e3, 100 * gflop / ms * 1e3 / peak);
    }
    printf(" %.3f |\n", gflop);
    tg_release(x);
    tg_release(w);
    tg_release(g);
    return rc;
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    options o;
    if (parse_args(argc, argv, &o)) return 2;
    tg_set_num_threads(o.threads);
    conv_direct_enable(o.direct != 0);
    layer layers[MAX_LAYERS];
    int n = layers_of(&o, layers);
    tg_rng rng = tg_rng_new(1, 0);
    bench_peak peak;
    char cpu[256];
    bench_peak_measure(o.threads, &peak);
    bench_cpu_model(cpu, sizeof cpu);
    printf("CPU: %s; FMA peak %.1f GFLOP/s on %d threads (%s)\n", cpu, peak.fma_gflops, o.threads, peak.isa);
    printf("batch %d, %d px, width %.3g, %d threads, direct kernels %s; ms (GFLOP/s, %% of peak), median of %d\n\n",
           o.batch, o.size, o.width, o.threads, o.direct ? "on" : "off", o.reps);
    printf("| layer | channels | output | forward | input grad | weight grad | GFLOP a pass |\n");
    printf("|---|---|---|---:|---:|---:|---:|\n");
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) rc = time_layer(&layers[i], &o, peak.fma_gflops, &rng);
    if (rc) fprintf(stderr, "bench_conv: %s\n", tg_last_error());
    return rc ? 1 : 0;
}
