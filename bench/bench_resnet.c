/* One ResNet training step (ResNet-18, or ResNet-50 with --depth 50),
 * timed: forward, cross-entropy, backward, SGD (momentum 0.9, weight decay
 * 1e-4) and zero_grad, on a random batch.
 * bench_resnet.py times the same step in PyTorch; run_resnet.sh runs both
 * and prints the table (see README.md).
 *
 * After the warm-up steps it resets the allocator's peak, then times each
 * step and records, after it, the allocator's bytes in use, the blocks it
 * had to take from the system (allocs - reused), malloc's heap (mallinfo2),
 * the resident set (/proc/self/statm) and the minor page faults. A step
 * that reuses its memory shows no growth in any of them: it prints the
 * first and last timed step's values and the steps' total growth.
 * The last line is for run_resnet.sh:
 *
 *   RESULT median_ms=<> min_ms=<> tg_peak_mb=<> rss_peak_mb=<> ...
 *
 * usage: bench_resnet [--depth 18|50] [--batch 32] [--size 64] [--threads 2] [--steps 10]
 *                     [--warmup 3] [--classes 1000] [--seed 1] [--quiet]
 *                     [--perf-ctl FIFO]
 *
 * --perf-ctl: the control fifo of `perf record -D -1 --control fifo:FIFO`;
 * the benchmark writes "enable" to it after the warm-up and "disable" after
 * the timed steps, so the profile holds the timed steps only.
 *
 * Built with -DTG_BENCH_PROF as prof_resnet (bench/meson.build), it also
 * prints where the step goes (the step profiler, prof_wrap.c) and its
 * kernels' roofline against the machine's peak, which it measures first
 * (peak.c) unless --peak 0. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "peak.h"
#include "tensorgrad.h"
#include "timing.h"
#include "train_step.h"
#include "usage.h"

#ifdef TG_BENCH_PROF /* prof_resnet: the same program with the step profiler */
#include "bench/prof_wrap.h"

#define PROF_OPTIONS " [--peak 1|0]"
#define PROF_ABOUT                                                                                              \
    "\nBuilt as prof_resnet, it also prints where the step goes and its kernels' GFLOP/s and GB/s against\n" \
    "the machine's FMA peak and copy bandwidth, measured first (--peak 0 skips it)."
static const bool profiled = true;

/* With wanted, the machine's peak on threads threads into *peak, printed;
 * else NULL. */
static const bench_peak *measure_peak(bool wanted, int threads, bench_peak *peak)
{
    if (!wanted) return NULL;
    if (bench_peak_measure(threads, peak)) fprintf(stderr, "prof_resnet: no room for the copy's arrays\n");
    bench_peak_print(stdout, peak);
    return peak;
}
#else
#define PROF_OPTIONS ""
#define PROF_ABOUT ""
static const bool profiled = false;

static void prof_reset(void) {}
static void prof_step_begin(void) {}
static void prof_step_end(void) {}
static void prof_print(FILE *f, const bench_peak *peak)
{
    (void)f;
    (void)peak;
}
static const bench_peak *measure_peak(bool wanted, int threads, bench_peak *peak)
{
    (void)wanted;
    (void)threads;
    (void)peak;
    return NULL;
}
#endif

typedef struct {
    int depth, batch, size, threads, steps, warmup, classes;
    unsigned long long seed;
    bool quiet;
    bool peak;            /* prof_resnet: measure the machine's peak first */
    const char *perf_ctl; /* perf record --control fifo: enabled for the timed steps */
} options;

/* What one step leaves behind: memory after it, and its cost. */
typedef struct {
    double ms;
    size_t tg_in_use, tg_cached, heap, rss;
    uint64_t fresh_blocks; /* blocks the allocator took from malloc */
    long minflt;           /* minor page faults */
} step_record;

/* Current resident set in bytes. */
static size_t rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Peak resident set in bytes (ru_maxrss is in KiB on Linux). */
static size_t rss_peak(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024;
}

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Bytes malloc holds from the system: the main arena plus mmapped chunks. */
static size_t heap_now(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.arena + mi.hblkhd;
}

/* Sends a command ("enable", "disable") to perf's control fifo, if any. */
static void perf_control(FILE *ctl, const char *cmd)
{
    if (!ctl) return;
    fprintf(ctl, "%s\n", cmd);
    fflush(ctl);
}

static double mb(size_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

#define OPTIONS \
    "[--depth 18|50] [--batch 32] [--size 64] [--threads 2] [--steps 10] [--warmup 3] [--classes 1000]\n" \
    "       [--seed 1] [--quiet] [--perf-ctl FIFO]" PROF_OPTIONS
#define ABOUT \
    "One ResNet-18 (--depth 50: ResNet-50) training step (forward, cross-entropy, backward, SGD) on a\n" \
    "random batch, timed, and the memory each timed step adds; the last line is a RESULT line.\n" \
    "--perf-ctl: the control fifo of `perf record -D -1 --control fifo:FIFO`, enabled for the timed steps\n" \
    "only. bench/run_resnet.sh compares it with PyTorch." PROF_ABOUT

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.depth = 18, .batch = 32, .size = 64, .threads = 2, .steps = 10, .warmup = 3, .classes = 1000,
                   .seed = 1, .peak = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet")) {
            o->quiet = true;
            continue;
        }
        if (i + 1 >= argc) goto usage;
        if (!strcmp(a, "--perf-ctl")) {
            o->perf_ctl = argv[++i];
            continue;
        }
        long v = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(a, "--depth")) o->depth = (int)v;
        else if (!strcmp(a, "--batch")) o->batch = (int)v;
        else if (!strcmp(a, "--size")) o->size = (int)v;
        else if (!strcmp(a, "--threads")) o->threads = (int)v;
        else if (!strcmp(a, "--steps")) o->steps = (int)v;
        else if (!strcmp(a, "--warmup")) o->warmup = (int)v;
        else if (!strcmp(a, "--classes")) o->classes = (int)v;
        else if (!strcmp(a, "--seed")) o->seed = (unsigned long long)v;
        else if (profiled && !strcmp(a, "--peak")) o->peak = v != 0;
        else goto usage;
        i++;
    }
    bool depth_ok = o->depth == 18 || o->depth == 50;
    if (depth_ok && o->batch > 0 && o->size >= 32 && o->threads > 0 && o->steps > 0 && o->warmup >= 0 && o->classes > 1)
        return 0;
usage:
    bench_usage_error(argv[0], OPTIONS);
    return -1;
}

static step_record record_after(double ms, const tg_memory_stats *before)
{
    tg_memory_stats s = tg_memory_get_stats();
    return (step_record){.ms = ms,
                         .tg_in_use = s.in_use,
                         .tg_cached = s.cached,
                         .heap = heap_now(),
                         .rss = rss_now(),
                         .fresh_blocks = (s.allocs - s.reused) - (before->allocs - before->reused),
                         .minflt = minor_faults()};
}

static void print_growth(const options *o, const step_record *r, long minflt_start)
{
    const step_record *first = &r[0], *last = &r[o->steps - 1];
    uint64_t fresh = 0;
    for (int i = 1; i < o->steps; i++) fresh += r[i].fresh_blocks;
    printf("memory after timed step 1 / %d:\n", o->steps);
    printf("  tg in use        %9.1f MB / %9.1f MB\n", mb(first->tg_in_use), mb(last->tg_in_use));
    printf("  tg cache         %9.1f MB / %9.1f MB\n", mb(first->tg_cached), mb(last->tg_cached));
    printf("  malloc heap      %9.1f MB / %9.1f MB\n", mb(first->heap), mb(last->heap));
    printf("  resident set     %9.1f MB / %9.1f MB\n", mb(first->rss), mb(last->rss));
    printf("  fresh tg blocks  %9llu    / %9llu    (steps 2..%d: %llu)\n", (unsigned long long)first->fresh_blocks,
           (unsigned long long)last->fresh_blocks, o->steps, (unsigned long long)fresh);
    printf("  minor faults     %9ld    / %9ld    (per step, timed steps)\n", first->minflt - minflt_start,
           last->minflt - (o->steps > 1 ? r[o->steps - 2].minflt : minflt_start));
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    options o;
    if (parse_args(argc, argv, &o)) return 2;
    if (tg_set_num_threads(o.threads)) {
        fprintf(stderr, "bench_resnet: %s\n", tg_last_error());
        return 1;
    }
    bench_peak peak = {0};
    const bench_peak *measured = measure_peak(o.peak, o.threads, &peak);
    size_t rss_start = rss_now();
    bench_trainer t;
    int setup = bench_trainer_init(&t, o.depth, o.batch, o.size, o.classes, o.seed);
    step_record *rec = calloc((size_t)o.steps, sizeof *rec);
    double *ms = calloc((size_t)o.steps, sizeof *ms);
    if (setup || !rec || !ms) {
        fprintf(stderr, "bench_resnet: setup failed: %s\n", tg_last_error());
        return 1;
    }
    printf("ResNet-%d, %d classes, batch %d, %dx%d, %d threads (BLIS %s), %lld parameters\n", o.depth, o.classes,
           o.batch,
           o.size, o.size, tg_get_num_threads(), tg_blas_init(), (long long)tg_module_num_parameters(t.model));

    float loss = 0;
    for (int i = 0; i < o.warmup; i++) {
        double t0 = bench_now();
        if (bench_train_step(&t, t.x, &loss)) goto fail;
        if (!o.quiet) printf("warm-up %d: %8.1f ms  loss %.4f\n", i + 1, 1e3 * (bench_now() - t0), (double)loss);
    }
    FILE *ctl = o.perf_ctl ? fopen(o.perf_ctl, "w") : NULL;
    if (o.perf_ctl && !ctl) {
        perror(o.perf_ctl);
        return 1;
    }
    perf_control(ctl, "enable");
    tg_memory_reset_peak();
    prof_reset();
    size_t tg_base = tg_memory_get_stats().in_use;
    long minflt_start = minor_faults();
    for (int i = 0; i < o.steps; i++) {
        tg_memory_stats before = tg_memory_get_stats();
        prof_step_begin();
        double t0 = bench_now();
        if (bench_train_step(&t, t.x, &loss)) goto fail;
        ms[i] = 1e3 * (bench_now() - t0);
        prof_step_end();
        rec[i] = record_after(ms[i], &before);
        if (!o.quiet) printf("step %d: %8.1f ms  loss %.4f\n", i + 1, ms[i], (double)loss);
    }
    perf_control(ctl, "disable");
    if (ctl) fclose(ctl);
    tg_memory_stats end = tg_memory_get_stats();
    double med = bench_median(ms, o.steps), lo = ms[0];
    for (int i = 1; i < o.steps; i++) lo = ms[i] < lo ? ms[i] : lo;
    printf("median step %.1f ms (min %.1f) over %d steps after %d warm-up\n", med, lo, o.steps, o.warmup);
    printf("tg peak in use %.1f MB (between steps: %.1f MB of parameters, momentum buffers and input)\n",
           mb(end.peak_in_use), mb(tg_base));
    printf("peak RSS %.1f MB (%.1f MB at start)\n", mb(rss_peak()), mb(rss_start));
    print_growth(&o, rec, minflt_start);
    prof_print(stdout, measured);
    const step_record *first = &rec[0], *last = &rec[o.steps - 1];
    uint64_t fresh = 0;
    for (int i = 1; i < o.steps; i++) fresh += rec[i].fresh_blocks;
    printf("RESULT median_ms=%.3f min_ms=%.3f tg_peak_mb=%.1f rss_peak_mb=%.1f rss_start_mb=%.1f "
           "tg_in_use_first_mb=%.1f tg_in_use_last_mb=%.1f heap_first_mb=%.1f heap_last_mb=%.1f "
           "rss_first_mb=%.1f rss_last_mb=%.1f fresh_blocks_after_first=%llu minflt_last=%ld\n",
           med, lo, mb(end.peak_in_use), mb(rss_peak()), mb(rss_start), mb(first->tg_in_use), mb(last->tg_in_use),
           mb(first->heap), mb(last->heap), mb(first->rss), mb(last->rss), (unsigned long long)fresh,
           last->minflt - (o.steps > 1 ? rec[o.steps - 2].minflt : minflt_start));
    bench_trainer_free(&t);
    free(rec);
    free(ms);
    return 0;
fail:
    fprintf(stderr, "bench_resnet: step failed: %s\n", tg_last_error());
    return 1;
}
