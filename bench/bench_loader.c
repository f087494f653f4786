/* The data loader's throughput, next to what a training step consumes.
 *
 * Supply: MoCo-v2 view pairs (tg_pretrain_pairs_config with
 * tg_aug_pretrain_default) per second, from a fresh loader (shuffle,
 * drop_last) until --pairs pairs have arrived, and the CPU time per pair
 * of all the process's threads over that span (which a busy neighbour
 * changes far less than the rate), for 0, 1 and 2 workers:
 *   fly   ShapeScenes' pretrain split rendered on the fly, 64 px views;
 *   png   the same images exported as 64 px PNG files, read back by the
 *         image-folder dataset (what bench_loader.py gives torchvision);
 *   jpeg  320 px exports as JPEG (quality 95), decoded and cropped to
 *         224 px views (1 and 2 workers).
 * Batch 32 and 256 at 64 px, 32 at 224 px.
 *
 * Consumption (train): the ResNet-18 step of bench_resnet (batch 32, 64 px,
 * SGD) fed one fixed tensor, then fed view 0 of the "fly" loader's batches
 * (0, 1 and 2 workers): the time per step and the part of it spent waiting
 * in tg_loader_next. The feeds alternate over --reps rounds.
 *
 * The images live under --data DIR (png64/ and jpeg320/, written if
 * missing and kept), or in a temporary directory removed at the end.
 * Prints Markdown tables and RESULT lines for bench_loader.py --compare:
 *
 *   RESULT supply source=<> size=<> batch=<> workers=<> pairs_per_s=<> cpu_ms_per_pair=<>
 *   RESULT train feed=<fixed|loader> workers=<> median_ms=<> mean_ms=<> wait_ms=<> images_per_s=<>
 *
 * usage: bench_loader [--threads 2] [--reps 3] [--pairs 1024] [--images 1024]
 *                     [--steps 10] [--warmup 3] [--only fly,png,jpeg,train]
 *                     [--data DIR] [--quiet] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_data.h"
#include "tensor/error.h"
#include "tensorgrad.h"
#include "timing.h"
#include "train_step.h"
#include "usage.h"

#define MAX_REPS 64
#define TRAIN_BATCH 32
#define TRAIN_SIZE 64
#define TRAIN_CLASSES 1000

enum { CASE_FLY = 1, CASE_PNG = 2, CASE_JPEG = 4, CASE_TRAIN = 8 };

typedef struct {
    int threads, reps, pairs, images, steps, warmup, cases;
    const char *data;
    bool quiet;
} options;

/* One loader configuration and its rate in each repetition. */
typedef struct {
    const char *source;
    int size, batch, workers;
    double pairs_s[MAX_REPS], cpu_ms[MAX_REPS]; /* per repetition: rate, CPU ms per pair */
} supply_row;

/* One way of feeding the step (workers -1: the fixed tensor), with every
 * timed step of every round. */
typedef struct {
    int workers;
    double *iter_ms, *wait_ms; /* reps * steps */
    int n;
} feed_row;

static int parse_cases(const char *list)
{
    int c = 0;
    if (strstr(list, "fly")) c |= CASE_FLY;
    if (strstr(list, "png")) c |= CASE_PNG;
    if (strstr(list, "jpeg")) c |= CASE_JPEG;
    if (strstr(list, "train")) c |= CASE_TRAIN;
    return c;
}

#define STRINGIFY(x) #x
#define STRING_OF(x) STRINGIFY(x)
#define OPTIONS \
    "[--threads 2] [--reps 3 (<= " STRING_OF(MAX_REPS) ")] [--pairs 1024 (>= 256)] [--images 1024 (>= 256)]\n" \
    "       [--steps 10] [--warmup 3] [--only fly,png,jpeg,train] [--data DIR] [--quiet]"
#define ABOUT \
    "The data loader's supply of MoCo-v2 view pairs per second (ShapeScenes rendered on the fly, as PNG\n" \
    "and as JPEG files under --data; 0, 1 and 2 workers) next to what a ResNet-18 training step consumes;\n" \
    "Markdown tables and RESULT lines. bench/run_loader.sh compares it with torchvision."

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.threads = 2, .reps = 3, .pairs = 1024, .images = 1024, .steps = 10, .warmup = 3, .cases = 15};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet")) {
            o->quiet = true;
            continue;
        }
        if (i + 1 >= argc) goto usage;
        const char *v = argv[++i];
        if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--only")) o->cases = parse_cases(v);
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else if (!strcmp(a, "--reps")) o->reps = atoi(v);
        else if (!strcmp(a, "--pairs")) o->pairs = atoi(v);
        else if (!strcmp(a, "--images")) o->images = atoi(v);
        else if (!strcmp(a, "--steps")) o->steps = atoi(v);
        else if (!strcmp(a, "--warmup")) o->warmup = atoi(v);
        else goto usage;
    }
    if (o->threads > 0 && o->reps > 0 && o->reps <= MAX_REPS && o->pairs >= 256 && o->images >= 256 &&
        o->steps > 0 && o->warmup >= 0 && o->cases)
        return 0;
usage:
    bench_usage_error(argv[0], OPTIONS);
    return -1;
}

static tg_loader_config pairs_config(const tg_aug_pretrain *aug, int batch, int workers)
{
    tg_loader_config cfg = tg_pretrain_pairs_config(aug);
    cfg.batch_size = batch;
    cfg.shuffle = true;
    cfg.drop_last = true;
    cfg.seed = 1;
    cfg.num_workers = workers;
    return cfg;
}

/* The next batch, past the end of an epoch if need be: 0 or -1. */
static int next_batch(tg_loader *l, tg_batch *b)
{
    int rc = tg_loader_next(l, b);
    if (rc == 0) rc = tg_loader_next(l, b);
    if (rc == 0) return TG_FAIL("bench_loader: an epoch without batches");
    return rc == 1 ? 0 : -1;
}

/* A fresh loader from its creation to its nbatches-th batch: pairs per
 * second and CPU ms per pair (all threads, up to that batch), or -1. */
static int time_pairs(const tg_dataset *ds, const tg_aug_pretrain *aug, int batch, int workers, int nbatches,
                      double *pairs_s, double *cpu_ms)
{
    tg_loader_config cfg = pairs_config(aug, batch, workers);
    double t0 = bench_now(), c0 = bench_cpu_now();
    tg_loader *l = tg_loader_new(ds, &cfg);
    int got = 0;
    for (tg_batch b; l && got < nbatches && next_batch(l, &b) == 0; got++) tg_batch_release(&b);
    double dt = bench_now() - t0, dc = bench_cpu_now() - c0;
    tg_loader_free(l);
    *pairs_s = (double)nbatches * batch / dt;
    *cpu_ms = 1e3 * dc / ((double)nbatches * batch);
    return got == nbatches ? 0 : -1;
}

static const tg_dataset *row_dataset(const bench_data *d, const supply_row *r)
{
    if (!strcmp(r->source, "fly")) return d->fly;
    return !strcmp(r->source, "png") ? d->png : d->jpeg;
}

/* Every configuration the cases ask for, into rows (room for 16). */
static int supply_rows(const options *o, supply_row *rows)
{
    static const char *sources[] = {"fly", "png"};
    int n = 0;
    for (int s = 0; s < 2; s++) {
        if (!(o->cases & (s ? CASE_PNG : CASE_FLY))) continue;
        for (int batch = 32; batch <= 256; batch *= 8)
            for (int w = 0; w <= 2; w++)
                rows[n++] = (supply_row){.source = sources[s], .size = 64, .batch = batch, .workers = w};
    }
    for (int w = 1; (o->cases & CASE_JPEG) && w <= 2; w++)
        rows[n++] = (supply_row){.source = "jpeg", .size = BENCH_JPEG_VIEW, .batch = 32, .workers = w};
    return n;
}

/* Pairs in one timed run: --pairs at 64 px, one pass over the JPEG set at
 * 224 px (decoding and augmenting at 224 px is ~10x the work). */
static int run_batches(const options *o, const supply_row *r)
{
    int pairs = r->size == BENCH_JPEG_VIEW ? BENCH_JPEG_IMAGES : o->pairs;
    return pairs / r->batch > 0 ? pairs / r->batch : 1;
}

static int measure_supply(const options *o, const bench_data *d, supply_row *rows, int n)
{
    for (int rep = 0; rep < o->reps; rep++)
        for (int i = 0; i < n; i++) {
            supply_row *r = &rows[i];
            tg_aug_pretrain aug = tg_aug_pretrain_default(r->size);
            if (time_pairs(row_dataset(d, r), &aug, r->batch, r->workers, run_batches(o, r), &r->pairs_s[rep],
                           &r->cpu_ms[rep]))
                return -1;
            if (!o->quiet)
                fprintf(stderr, "# rep %d %s %d px batch %d workers %d: %.0f pairs/s\n", rep + 1, r->source, r->size,
                        r->batch, r->workers, r->pairs_s[rep]);
        }
    return 0;
}

static void print_supply(const options *o, const supply_row *rows, int n)
{
    printf("\n| source | view px | batch | workers | pairs/s (median of %d) | min | max | CPU ms per pair |\n",
           o->reps);
    printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const supply_row *r = &rows[i];
        double lo = r->pairs_s[0], hi = lo, med = bench_median(r->pairs_s, o->reps);
        for (int k = 1; k < o->reps; k++) {
            lo = r->pairs_s[k] < lo ? r->pairs_s[k] : lo;
            hi = r->pairs_s[k] > hi ? r->pairs_s[k] : hi;
        }
        printf("| %s | %d | %d | %d | %.0f | %.0f | %.0f | %.2f |\n", r->source, r->size, r->batch, r->workers, med,
               lo, hi, bench_median(r->cpu_ms, o->reps));
    }
    for (int i = 0; i < n; i++)
        printf("RESULT supply source=%s size=%d batch=%d workers=%d pairs_per_s=%.1f cpu_ms_per_pair=%.3f\n",
               rows[i].source, rows[i].size, rows[i].batch, rows[i].workers, bench_median(rows[i].pairs_s, o->reps),
               bench_median(rows[i].cpu_ms, o->reps));
}

/* ---- consumption: the training step ---- */

/* One step fed by l (or the fixed tensor when l is NULL): *iter_ms the
 * whole iteration, *wait_ms the part spent in tg_loader_next. */
static int fed_step(bench_trainer *t, tg_loader *l, double *iter_ms, double *wait_ms)
{
    tg_batch b = {0};
    float loss;
    double t0 = bench_now();
    if (l && next_batch(l, &b)) return -1;
    double t1 = bench_now();
    int rc = bench_train_step(t, l ? b.fields[0] : t->x, &loss);
    tg_batch_release(&b);
    *iter_ms = 1e3 * (bench_now() - t0);
    *wait_ms = 1e3 * (t1 - t0);
    return rc;
}

/* A round of one feed: a fresh loader, --warmup steps, --steps timed. */
static int feed_round(const options *o, bench_trainer *t, const bench_data *d, feed_row *f)
{
    tg_aug_pretrain aug = tg_aug_pretrain_default(TRAIN_SIZE);
    tg_loader_config cfg = pairs_config(&aug, TRAIN_BATCH, f->workers);
    tg_loader *l = f->workers >= 0 ? tg_loader_new(d->fly, &cfg) : NULL;
    if (f->workers >= 0 && !l) return -1;
    int rc = 0;
    for (int i = 0; !rc && i < o->warmup + o->steps; i++) {
        double it, wait;
        rc = fed_step(t, l, &it, &wait);
        if (rc || i < o->warmup) continue;
        f->iter_ms[f->n] = it, f->wait_ms[f->n] = wait, f->n++;
    }
    tg_loader_free(l);
    return rc;
}

static double mean(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

static void feed_name(const feed_row *f, char *buf, size_t size)
{
    if (f->workers < 0) snprintf(buf, size, "a fixed tensor");
    else snprintf(buf, size, "the loader, %d worker%s", f->workers, f->workers == 1 ? "" : "s");
}

static void print_train(const feed_row *feeds, int n)
{
    printf("\n| ResNet-18 step fed by | step ms (median) | step ms (mean) | waiting in next() ms (mean) | "
           "images/s consumed |\n|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const feed_row *f = &feeds[i];
        double it = mean(f->iter_ms, f->n);
        char name[48];
        feed_name(f, name, sizeof name);
        printf("| %s | %.1f | %.1f | %.1f | %.0f |\n", name, bench_median(f->iter_ms, f->n), it,
               mean(f->wait_ms, f->n), TRAIN_BATCH * 1e3 / it);
    }
    for (int i = 0; i < n; i++) {
        const feed_row *f = &feeds[i];
        double it = mean(f->iter_ms, f->n);
        printf("RESULT train feed=%s workers=%d median_ms=%.2f mean_ms=%.2f wait_ms=%.2f images_per_s=%.1f\n",
               f->workers < 0 ? "fixed" : "loader", f->workers, bench_median(f->iter_ms, f->n), it,
               mean(f->wait_ms, f->n), TRAIN_BATCH * 1e3 / it);
    }
}

/* The feeds alternate within each round, so a busy neighbour hits all. */
static int measure_train(const options *o, const bench_data *d)
{
    enum { NFEEDS = 4 };
    feed_row feeds[NFEEDS];
    bench_trainer t;
    int rc = bench_trainer_init(&t, 18, TRAIN_BATCH, TRAIN_SIZE, TRAIN_CLASSES, 1);
    for (int i = 0; i < NFEEDS; i++) {
        feeds[i] = (feed_row){.workers = i - 1};
        feeds[i].iter_ms = calloc((size_t)(o->reps * o->steps), sizeof(double));
        feeds[i].wait_ms = calloc((size_t)(o->reps * o->steps), sizeof(double));
        if (!feeds[i].iter_ms || !feeds[i].wait_ms) rc = -1;
    }
    for (int rep = 0; !rc && rep < o->reps; rep++)
        for (int i = 0; !rc && i < NFEEDS; i++) {
            rc = feed_round(o, &t, d, &feeds[i]);
            char name[48];
            feed_name(&feeds[i], name, sizeof name);
            if (!rc && !o->quiet)
                fprintf(stderr, "# rep %d step fed by %s: %.1f ms mean, %.1f ms waiting\n", rep + 1, name,
                        mean(feeds[i].iter_ms + rep * o->steps, o->steps),
                        mean(feeds[i].wait_ms + rep * o->steps, o->steps));
        }
    if (!rc) print_train(feeds, NFEEDS);
    for (int i = 0; i < NFEEDS; i++) free(feeds[i].iter_ms), free(feeds[i].wait_ms);
    bench_trainer_free(&t);
    return rc;
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    options o;
    if (parse_args(argc, argv, &o)) return 2;
    if (tg_set_num_threads(o.threads)) {
        fprintf(stderr, "bench_loader: %s\n", tg_last_error());
        return 1;
    }
    bench_data d;
    int need_files = o.cases & (CASE_PNG | CASE_JPEG);
    int rc = bench_data_open(&d, o.data, o.images, need_files);
    supply_row rows[16];
    int n = supply_rows(&o, rows);
    if (!rc)
        printf("MoCo-v2 view pairs, ShapeScenes pretrain split (%d images at 64 px, %d as %d px JPEG), %d threads, "
               "BLIS %s\n", o.images, BENCH_JPEG_IMAGES, BENCH_JPEG_SIDE, o.threads, tg_blas_init());
    if (!rc && n) rc = measure_supply(&o, &d, rows, n);
    if (!rc && n) print_supply(&o, rows, n);
    if (!rc && (o.cases & CASE_TRAIN)) rc = measure_train(&o, &d);
    if (rc) fprintf(stderr, "bench_loader: %s\n", tg_last_error());
    if (bench_data_close(&d)) {
        fprintf(stderr, "bench_loader: %s\n", tg_last_error());
        rc = -1;
    }
    return rc ? 1 : 0;
}
