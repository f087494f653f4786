/* compare: the DenseCL vs MoCo-v2 protocol in one command (docs/protocol.md
 * sections 14 and 15). Random init, MoCo-v2 and DenseCL pretrained on
 * the same images with the same budget, each fine-tuned as an FCN and
 * probed with its backbone frozen, over several fine-tune seeds:
 *
 *   compare --preset quick                         # the demo, a few minutes
 *   compare --out runs/compare                     # the full preset, about 3 h on 2 cores
 *   compare --out runs/compare                     # again, after Ctrl-C: continues
 *   compare --preset quick --seeds 3 --ft-epochs 20   # any setting as a flag
 *
 * --out DIR holds one subdirectory a run (compare_config.h):
 * pretrain_mocov2/, pretrain_densecl/, ft_<arm>_seed<k>/ and
 * probe_<arm>_seed<k>/, each as the pretrain and finetune_seg programs
 * write them, and for the length study (--lengths 0.25,0.5, the full
 * preset's) ft_<arm>_len<f>_seed<k>/ and probe_<arm>_len<f>_seed<k>/ for
 * MoCo-v2 and DenseCL, fine-tuned and probed with the same seeds from the
 * backbone_iter<N>.safetensors their pretraining saved after iteration N =
 * round(f x iterations): the one long pretraining of each method, so the
 * study costs only its fine-tunings and probes. A run whose results.json
 * exists is skipped, one that left a checkpoint is resumed (with the same
 * numbers as if it had not stopped), one that left no checkpoint starts
 * over (--overwrite), so re-running the same command continues where
 * Ctrl-C (or a crash) left off. DIR/settings.json holds the settings the
 * runs were made with; other settings are refused (more --seeds only add
 * runs). DIR/compare.log says what ran, and how long it took.
 *
 * When every run is done: DIR/results.md (the table: FCN and probe mIoU,
 * pixel accuracy and things-mIoU per arm, mean +- std over seeds; the
 * paired DenseCL-minus-MoCo-v2 difference per seed; the DenseCL/MoCo-v2
 * time per step; the scale, the command and the wall times),
 * DIR/results.json (the same numbers), DIR/chart.png (the mIoU bars with
 * std error bars) and DIR/losses.png (the pretraining curves); with the
 * length study, its section in both (the paired difference at each
 * length, the whole length being the main runs) and DIR/length_study.png.
 *
 * Exit status: 0 when every run and the report are done, 130 after Ctrl-C
 * or SIGTERM (the run under way saved its checkpoint), 1 on a failure (a
 * run's, or a run's results.json without a number the report needs), 2
 * for bad flags. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compare_config.h"
#include "compare_plots.h"
#include "compare_report.h"
#include "compare_results.h"
#include "json_read.h"
#include "app.h"
#include "out_files.h"
#include "tensorgrad.h"

#define COMMAND_MAX 8192

typedef struct {
    compare_config c;
    char command[COMMAND_MAX]; /* argv as a shell would read it back */
    FILE *log;                 /* DIR/compare.log */
    int64_t pretrain_steps[ARMS]; /* each pretraining's iterations, once done: where its snapshots are */
} comparer;

/* ---- the output directory ---- */

/* "<out>/<name>" into buf (TG_TRAIN_PATH_MAX bytes). */
static void out_path(const comparer *m, const char *name, char *buf)
{
    snprintf(buf, TG_TRAIN_PATH_MAX, "%s/%s", m->c.out, name);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A line of DIR/compare.log, after the time of day; also to stdout. */
static void log_line(comparer *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(comparer *m, const char *fmt, ...)
{
    char when[32], text[1024];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("compare: %s\n", text);
    if (m->log) fprintf(m->log, "%s  %s\n", when, text), fflush(m->log);
}

/* Whether the JSON file at path holds the values of text (see tg_train_same_config). */
static bool file_holds(const char *path, const char *text)
{
    json_t *then = json_read_file(path);
    char *then_text = then ? json_dumps(then, OUT_JSON_FLAGS) : NULL;
    bool same = then_text && tg_train_same_config(then_text, text);
    free(then_text);
    json_decref(then);
    return same;
}

/* Refuses a DIR whose runs were made with other settings; records them in
 * a new one. */
static int guard_settings(comparer *m)
{
    char path[TG_TRAIN_PATH_MAX];
    json_t *now = compare_settings_json(&m->c);
    char *text = now ? json_dumps(now, OUT_JSON_FLAGS) : NULL;
    out_path(m, "settings.json", path);
    int rc = 0;
    if (!text) {
        fprintf(stderr, "compare: out of memory\n");
        rc = -1;
    } else if (!exists(path)) rc = out_write_json(m->c.out, "settings.json", json_incref(now), NULL, "compare");
    else if (!file_holds(path, text)) {
        fprintf(stderr, "compare: %s holds runs made with other settings (see %s); now:\n%s\n", m->c.out, path,
                text);
        rc = -1;
    }
    free(text);
    json_decref(now);
    return rc;
}

/* argv as one line to copy into a shell: arguments with characters other
 * than letters, digits and -_./=:,+ in single quotes. */
static void join_command(int argc, char **argv, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && len < size; i++) {
        const char *a = argv[i];
        bool plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+") ==
                               strlen(a);
        len += (size_t)snprintf(buf + len, size - len, "%s%s%s%s", i ? " " : "", plain ? "" : "'", a, plain ? "" : "'");
    }
}

/* ---- the runs ---- */

/* Whether the run in DIR/name has yet to run (no results.json), and how
 * it starts: resumed from its checkpoint, or over whatever a run that
 * never saved left; a finished one is logged as skipped. */
static bool pending(comparer *m, const char *name, tg_train_start *start)
{
    char path[TG_TRAIN_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/results.json", m->c.out, name);
    if (exists(path)) {
        log_line(m, "%s: skipped (results.json exists)", name);
        return false;
    }
    snprintf(path, sizeof path, "%s/%s/checkpoint.safetensors", m->c.out, name);
    bool resume = exists(path);
    *start = resume ? TG_TRAIN_RESUME : TG_TRAIN_OVERWRITE;
    log_line(m, "%s: %s", name, resume ? "resuming from its checkpoint" : "starting");
    return true;
}

/* Logs how a run ended (rc: a tg_train_outcome, or -1 failed) and its
 * wall time since t0; returns rc. */
static int finished(comparer *m, const char *name, int rc, double t0)
{
    double took = tg_train_clock() - t0;
    if (rc == 0) log_line(m, "%s: done in %.1f s", name, took);
    else if (rc > 0) log_line(m, "%s: stopped after %.1f s, its checkpoint saved", name, took);
    else log_line(m, "%s: failed after %.1f s", name, took);
    return rc;
}

static int pretrain_part(comparer *m, compare_arm arm)
{
    char name[TG_TRAIN_NAME_MAX], dir[TG_TRAIN_PATH_MAX];
    compare_pretrain_dir_name(arm, name, sizeof name);
    out_path(m, name, dir);
    pretrain_config p = compare_pretrain_config(&m->c, arm, dir);
    if (!pending(m, name, &p.start)) return 0;
    pretrain_result r;
    double t0 = tg_train_clock();
    return finished(m, name, pretrain_run(&p, &r), t0);
}

/* "<out>/pretrain_<arm>/<file>" into buf (TG_TRAIN_PATH_MAX bytes). */
static void pretrained_file(const comparer *m, compare_arm arm, const char *file, char *buf)
{
    char pretrained[TG_TRAIN_NAME_MAX];
    compare_pretrain_dir_name(arm, pretrained, sizeof pretrained);
    snprintf(buf, TG_TRAIN_PATH_MAX, "%s/%s/%s", m->c.out, pretrained, file);
}

/* The fine-tuning or probe e with seed in DIR/name, from backbone (NULL:
 * random init). */
static int finetune_part(comparer *m, const char *name, compare_eval e, long seed, const char *backbone)
{
    char dir[TG_TRAIN_PATH_MAX];
    out_path(m, name, dir);
    finetune_config f = compare_finetune_config(&m->c, e, seed, backbone, dir);
    if (!pending(m, name, &f.start)) return 0;
    finetune_result r;
    double t0 = tg_train_clock();
    return finished(m, name, finetune_run(&f, &r), t0);
}

static int seg_part(comparer *m, compare_eval e, compare_arm arm, long seed)
{
    char name[TG_TRAIN_NAME_MAX], backbone[TG_TRAIN_PATH_MAX];
    compare_run_dir_name(e, arm, seed, name, sizeof name);
    pretrained_file(m, arm, "backbone.safetensors", backbone);
    return finetune_part(m, name, e, seed, arm == ARM_RANDOM ? NULL : backbone);
}

/* The length study's run of a pretrained arm from its snapshot at fraction f. */
static int length_part(comparer *m, compare_eval e, compare_arm arm, double f, long seed)
{
    char name[TG_TRAIN_NAME_MAX], snapshot[TG_TRAIN_NAME_MAX], backbone[TG_TRAIN_PATH_MAX];
    compare_length_dir_name(e, arm, f, seed, name, sizeof name);
    pretrain_snapshot_name(fractions_step(f, m->pretrain_steps[arm]), snapshot, sizeof snapshot);
    pretrained_file(m, arm, snapshot, backbone);
    return finetune_part(m, name, e, seed, backbone);
}

/* The length study, seed by seed: each pretrained arm fine-tuned and
 * probed from each of its pretraining's snapshots. */
static int run_length_study(comparer *m)
{
    const fraction_list *f = &m->c.pretrain.snapshots;
    int rc = 0;
    for (int a = ARM_MOCOV2; !rc && a <= ARM_DENSECL; a++) {
        compare_pretrain p;
        rc = compare_pretrain_read(&p, m->c.out, (compare_arm)a);
        if (!rc) m->pretrain_steps[a] = (int64_t)p.steps;
    }
    for (long k = 0; !rc && k < m->c.seeds; k++)
        for (int l = 0; !rc && l < f->n; l++)
            for (int a = ARM_MOCOV2; !rc && a <= ARM_DENSECL; a++)
                for (int e = 0; !rc && e < EVALS; e++)
                    rc = tg_train_interrupt_requested() ? TG_TRAIN_INTERRUPTED
                                                        : length_part(m, (compare_eval)e, (compare_arm)a, f->v[l], k);
    return rc;
}

/* Every run in order: the pretrainings, then seed by seed every arm's
 * fine-tuning and probe (so a stopped protocol has whole seeds), then the
 * length study's. TG_TRAIN_DONE when all are done, TG_TRAIN_INTERRUPTED at
 * Ctrl-C, -1. */
static int run_all(comparer *m)
{
    int rc = 0;
    for (int a = ARM_MOCOV2; !rc && a <= ARM_DENSECL; a++)
        rc = tg_train_interrupt_requested() ? TG_TRAIN_INTERRUPTED : pretrain_part(m, (compare_arm)a);
    for (long k = 0; !rc && k < m->c.seeds; k++)
        for (int a = 0; !rc && a < ARMS; a++)
            for (int e = 0; !rc && e < EVALS; e++)
                rc = tg_train_interrupt_requested() ? TG_TRAIN_INTERRUPTED
                                                    : seg_part(m, (compare_eval)e, (compare_arm)a, k);
    return rc || !m->c.pretrain.snapshots.n ? rc : run_length_study(m);
}

/* ---- the report ---- */

static int report(comparer *m)
{
    compare_results r;
    if (compare_results_read(&r, &m->c)) return -1;
    int rc = compare_report_write(&m->c, &r, m->command) || compare_plots_write(&m->c, &r) ? -1 : 0;
    compare_results_free(&r);
    const char *charts = r.lengths ? "chart.png, losses.png and length_study.png" : "chart.png and losses.png";
    if (!rc) log_line(m, "wrote results.md, results.json, %s in %s", charts, m->c.out);
    return rc;
}

/* The output directory, its settings and log, by rank 0 (the job's
 * files); every rank fails when it fails. */
static int open_out(comparer *m)
{
    char path[TG_TRAIN_PATH_MAX];
    int rc = 0;
    if (tg_dist_rank() == 0) {
        if (tg_train_make_dir(m->c.out)) rc = app_fail("compare", "the output directory");
        else rc = guard_settings(m);
        out_path(m, "compare.log", path);
        if (!rc && !(m->log = fopen(path, "a"))) rc = TG_FAIL("cannot open %s", path);
    }
    return tg_dist_agree(rc) ? app_fail("compare", "the output directory") : 0;
}

/* Ranks started with other flags, refused alike on every rank. */
static int same_settings(comparer *m)
{
    json_t *now = compare_settings_json(&m->c);
    char *text = now ? json_dumps(now, OUT_JSON_FLAGS) : NULL;
    int rc = text ? tg_dist_check_same(text, strlen(text), "the settings") : TG_FAIL("out of memory");
    free(text);
    json_decref(now);
    return rc ? app_job_fail("compare", "settings") : 0;
}

int main(int argc, char **argv)
{
    static comparer m;
    int rc = compare_parse(argc, argv, &m.c);
    if (rc) return rc > 0 ? 0 : 2;
    join_command(argc, argv, m.command, sizeof m.command);
    if (app_join_job(&argc, &argv, "compare")) return 1;
    if (same_settings(&m) || open_out(&m)) return 1;
    tg_train_interrupt_install();
    log_line(&m, "%s (preset %s, %ld seed%s, %d threads)", m.command, m.c.preset, m.c.seeds, m.c.seeds == 1 ? "" : "s",
             tg_get_num_threads());
    rc = run_all(&m);
    if (rc > 0) log_line(&m, "stopped; run the same command again to continue");
    if (rc == 0 && tg_dist_rank() == 0) rc = report(&m); /* rank 0 writes the job's files */
    if (rc < 0) log_line(&m, "failed");
    if (m.log) fclose(m.log);
    return app_leave_job(tg_train_exit_status(rc), "compare");
}
