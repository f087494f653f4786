/* GEMM throughput of tg_matmul against raw bli_sgemm on the same buffers.
 *
 * Shapes are the convolutions of ResNet-18 at batch 32 on 64x64 images,
 * written as GEMMs (im2col rows = images x output pixels), plus the two
 * backward products of one 3x3 layer, which read a transposed view.
 * For each thread count and shape it prints one line:
 *
 *   RESULT <name> <M> <N> <K> <transa> <transb> <threads> <matmul> <gemm_into> <BLIS>
 *
 * in GFLOP/s, each the median over the repetitions: tg_matmul (which
 * allocates its result), tg_gemm_ (into a result allocated once) and
 * bli_sgemm called directly on the same buffers. bench_matmul.py adds PyTorch's
 * number for the same product and prints the table (run_matmul.sh).
 *
 * usage: bench_matmul [--threads 1,2] [--reps 9] [--list] */
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensorgrad.h"
#include "timing.h"
#include "usage.h"

#define OPTIONS "[--threads 1,2] [--reps 9] [--list]"
#define ABOUT \
    "GEMM throughput of tg_k_matmul and tg_k_gemm_into against raw bli_sgemm on the convolutions of\n" \
    "ResNet-18 written as GEMMs: a RESULT line (GFLOP/s) per shape and thread count. --list prints the\n" \
    "shapes. bench/run_matmul.sh adds PyTorch's numbers and prints the table."

typedef struct {
    const char *name;
    int64_t m, n, k;
    bool ta, tb; /* operand stored transposed (a column-major view) */
} gemm_shape;

/* (M, N, K): M = 32 images x output pixels, N = output channels,
 * K = input channels x kernel area. */
static const gemm_shape shapes[] = {
    {"conv1_7x7s2", 32 * 32 * 32, 64, 3 * 49, false, false},
    {"layer1_3x3", 32 * 16 * 16, 64, 64 * 9, false, false},
    {"layer2_3x3", 32 * 8 * 8, 128, 128 * 9, false, false},
    {"layer3_3x3", 32 * 4 * 4, 256, 256 * 9, false, false},
    {"layer4_3x3", 32 * 2 * 2, 512, 512 * 9, false, false},
    {"layer2_1x1ds", 32 * 8 * 8, 128, 64, false, false},
    {"layer2_dW=colT@dY", 128 * 9, 128, 32 * 8 * 8, true, false},
    {"layer2_dX=dY@WT", 32 * 8 * 8, 128 * 9, 128, false, true},
};
#define NSHAPES (int)(sizeof shapes / sizeof *shapes)

/* A random rows x cols operand, stored transposed when asked. */
static tg_tensor *operand(tg_rng *rng, int64_t rows, int64_t cols, bool transposed)
{
    if (!transposed) return tg_randn(rng, TG_SHAPE(rows, cols));
    tg_tensor *base = tg_randn(rng, TG_SHAPE(cols, rows));
    tg_tensor *t = tg_transpose(base, 0, 1);
    tg_release(base);
    return t;
}

static float *data_of(tg_tensor *t) { return (float *)t->storage->data + t->offset; }

/* One shape on the current thread count: medians in GFLOP/s. */
static int run_shape(const gemm_shape *s, int reps, double *tg_gflops, double *into_gflops, double *blis_gflops)
{
    tg_rng rng = tg_rng_new(42, 0);
    tg_tensor *a = operand(&rng, s->m, s->k, s->ta), *b = operand(&rng, s->k, s->n, s->tb);
    tg_tensor *into = tg_empty(TG_SHAPE(s->m, s->n), TG_FLOAT32);
    float *c = malloc((size_t)(s->m * s->n) * sizeof *c);
    double *t_tg = malloc(3 * (size_t)reps * sizeof(double)), *t_into = t_tg + reps, *t_blis = t_into + reps;
    if (!a || !b || !into || !c || !t_tg) {
        fprintf(stderr, "bench_matmul: %s\n", tg_last_error());
        return -1;
    }
    float one = 1.0f, zero = 0.0f;
    for (int r = -2; r < reps; r++) { /* two warm-up rounds, then timed ones, interleaved */
        double t0 = bench_now();
        tg_tensor *out = tg_matmul(a, b); /* its result's allocation and release count */
        bool ok = out != NULL;
        tg_release(out);
        double t1 = bench_now();
        if (!ok) {
            fprintf(stderr, "bench_matmul: %s\n", tg_last_error());
            return -1;
        }
        double t2 = bench_now();
        if (tg_gemm_(into, a, b, 1.0f, 0.0f)) {
            fprintf(stderr, "bench_matmul: %s\n", tg_last_error());
            return -1;
        }
        double t3 = bench_now();
        bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, s->m, s->n, s->k, &one, data_of(a), a->stride[0],
                  a->stride[1], data_of(b), b->stride[0], b->stride[1], &zero, c, s->n, 1);
        double t4 = bench_now();
        if (r >= 0) {
            t_tg[r] = t1 - t0;
            t_into[r] = t3 - t2;
            t_blis[r] = t4 - t3;
        }
    }
    double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    *tg_gflops = flops / bench_median(t_tg, reps) * 1e-9;
    *into_gflops = flops / bench_median(t_into, reps) * 1e-9;
    *blis_gflops = flops / bench_median(t_blis, reps) * 1e-9;
    tg_release(a);
    tg_release(b);
    tg_release(into);
    free(c);
    free(t_tg);
    return 0;
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    const char *threads = "1,2";
    int reps = 9;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--list")) {
            for (int s = 0; s < NSHAPES; s++)
                printf("SHAPE %s %lld %lld %lld %d %d\n", shapes[s].name, (long long)shapes[s].m,
                       (long long)shapes[s].n, (long long)shapes[s].k, shapes[s].ta, shapes[s].tb);
            return 0;
        } else {
            bench_usage_error(argv[0], OPTIONS);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    printf("# BLIS %s, kernels '%s'\n", bli_info_get_version_str(), tg_blas_init());
    for (const char *p = threads; *p;) {
        int nt = (int)strtol(p, (char **)&p, 10);
        if (*p == ',') p++;
        if (nt < 1 || tg_set_num_threads(nt)) {
            fprintf(stderr, "bench_matmul: bad thread count in '%s'\n", threads);
            return 2;
        }
        bli_thread_set_num_threads(nt); /* raw BLIS with its own team of nt */
        for (int s = 0; s < NSHAPES; s++) {
            double tg, into, blis;
            if (run_shape(&shapes[s], reps, &tg, &into, &blis)) return 1;
            printf("RESULT %s %lld %lld %lld %d %d %d %.1f %.1f %.1f\n", shapes[s].name, (long long)shapes[s].m,
                   (long long)shapes[s].n, (long long)shapes[s].k, shapes[s].ta, shapes[s].tb, nt, tg, into, blis);
            fflush(stdout);
        }
    }
    return 0;
}
