/* results.md and results.json of the compare program (see compare_report.h). */
#include "compare_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "out_files.h"
#include "stats.h"
#include "tensorgrad.h"

/* The scores each arm and evaluation report. */
enum { SCORE_MIOU, SCORE_ACC, SCORE_THINGS, SCORES };
static const char *const score_names[SCORES] = {"miou", "pixel_acc", "things_miou"};
static const char *const score_labels[SCORES] = {"mIoU", "pixel acc.", "things-mIoU"};
static const char *const eval_labels[EVALS] = {"FCN", "probe"};

typedef struct {
    const compare_config *c;
    const compare_results *r;
    int seeds;
    double *a, *b;          /* scratch: seeds numbers each */
    double *diff[EVALS];    /* DenseCL minus MoCo-v2 mIoU, seed by seed */
} reporter;

static double score_of(const compare_seg *s, int score)
{
    return score == SCORE_MIOU ? s->miou : score == SCORE_ACC ? s->pixel_acc : s->things_miou;
}

/* The score of every seed of (arm, e) into v. */
static void per_seed(const reporter *rp, compare_arm arm, compare_eval e, int score, double *v)
{
    for (int k = 0; k < rp->seeds; k++) v[k] = score_of(compare_seg_at(rp->r, arm, e, k), score);
}

static stats_summary summary(const reporter *rp, compare_arm arm, compare_eval e, int score)
{
    per_seed(rp, arm, e, score, rp->a);
    return stats_summarize(rp->a, rp->seeds);
}

/* DenseCL minus MoCo-v2 in mIoU, seed by seed, into rp->diff[e]. */
static stats_summary paired(const reporter *rp, compare_eval e)
{
    per_seed(rp, ARM_DENSECL, e, SCORE_MIOU, rp->a);
    per_seed(rp, ARM_MOCOV2, e, SCORE_MIOU, rp->b);
    return stats_paired(rp->a, rp->b, rp->seeds, rp->diff[e]);
}

/* Training plus evaluation time of every seed of (arm, e). */
static double seg_seconds(const reporter *rp, compare_arm arm, compare_eval e)
{
    double sum = 0;
    for (int k = 0; k < rp->seeds; k++) {
        const compare_seg *s = compare_seg_at(rp->r, arm, e, k);
        sum += s->seconds + s->eval_seconds;
    }
    return sum;
}

static double total_seconds(const reporter *rp)
{
    double sum = rp->r->pretrain[ARM_MOCOV2].seconds + rp->r->pretrain[ARM_DENSECL].seconds;
    for (int a = 0; a < ARMS; a++)
        for (int e = 0; e < EVALS; e++) sum += seg_seconds(rp, (compare_arm)a, (compare_eval)e);
    return sum;
}

static double step_ratio(const compare_results *r)
{
    return r->pretrain[ARM_DENSECL].seconds_per_step / r->pretrain[ARM_MOCOV2].seconds_per_step;
}

/* ---- markdown ---- */

/* v with decimals digits (a sign first when sign), or "n/a". */
static void md_number(tg_json_buf *b, double v, int decimals, bool sign)
{
    if (isfinite(v)) tg_json_printf(b, sign ? "%+.*f" : "%.*f", decimals, v);
    else tg_json_printf(b, "n/a");
}

static void md_summary(tg_json_buf *b, stats_summary s, bool sign)
{
    md_number(b, s.mean, 4, sign);
    if (s.n < 2) tg_json_printf(b, " (1 seed)");
    else if (isfinite(s.mean)) tg_json_printf(b, " ± %.4f", s.std);
}

static void md_time(tg_json_buf *b, double seconds)
{
    if (!isfinite(seconds)) tg_json_printf(b, "n/a");
    else if (seconds < 120) tg_json_printf(b, "%.1f s", seconds);
    else tg_json_printf(b, "%.1f min", seconds / 60);
}

static void md_scale(tg_json_buf *b, const reporter *rp)
{
    const pretrain_config *p = &rp->c->pretrain;
    const finetune_config *t = &rp->c->finetune;
    const compare_pretrain *dense = &rp->r->pretrain[ARM_DENSECL];
    const compare_seg *ft = compare_seg_at(rp->r, ARM_RANDOM, EVAL_FCN, 0);
    const compare_seg *probe = compare_seg_at(rp->r, ARM_RANDOM, EVAL_PROBE, 0);
    tg_json_printf(b, "**Scale.** ResNet-%ld, %s stem, width %g; %ld px images, C5 grid S = %.0f (%.0fx%.0f cells). ",
                   p->arch.depth, p->arch.stem, p->arch.width, p->size, dense->grid, dense->grid, dense->grid);
    tg_json_printf(b, "Pretraining on %.0f unlabelled images: %ld epoch%s x %.0f = %.0f iterations, batch %ld, "
                      "K %ld, m %g, tau %g, lambda %g after %.0f warm-up iterations (DenseCL), %ld BN groups, "
                      "SGD lr %g cosine, wd %g. ",
                   dense->images, p->epochs, p->epochs == 1 ? "" : "s", dense->steps_per_epoch, dense->steps,
                   p->batch, p->queue, p->moco_momentum, p->tau, p->lambda, dense->warmup_steps, p->bn_groups, p->lr,
                   p->weight_decay);
    tg_json_printf(b, "FCN fine-tuning on %ld labelled images: %ld epoch%s = %.0f iterations, batch %ld, SGD lr %g "
                      "poly, wd %g; frozen-backbone probe: %ld epoch%s = %.0f iterations, lr %g. Test: %ld images. "
                      "%d threads.\n\n",
                   t->data.train_images, t->epochs, t->epochs == 1 ? "" : "s", ft->steps, t->batch, t->lr,
                   t->weight_decay, rp->c->probe_epochs, rp->c->probe_epochs == 1 ? "" : "s", probe->steps,
                   rp->c->probe_lr, t->data.test_images, tg_get_num_threads());
}

/* Names the arms and evaluations that segmented no object at all
 * (things-mIoU 0 on every seed): their mIoU is the background's alone. */
static void md_no_objects(tg_json_buf *b, const reporter *rp)
{
    int listed = 0;
    for (int e = 0; e < EVALS; e++)
        for (int a = 0; a < ARMS; a++) {
            per_seed(rp, (compare_arm)a, (compare_eval)e, SCORE_THINGS, rp->a);
            bool none = true;
            for (int k = 0; k < rp->seeds; k++) none = none && rp->a[k] == 0;
            if (!none) continue;
            tg_json_printf(b, "%s%s %s", listed++ ? ", " : "No object class segmented on any seed (things-mIoU 0): ",
                           eval_labels[e], compare_arm_labels[a]);
        }
    if (listed) tg_json_printf(b, ". Their mIoU is the background IoU over %d classes.\n\n", TG_SHAPESCENES_CLASSES);
}

static void md_scores(tg_json_buf *b, const reporter *rp)
{
    tg_json_printf(b, "## Test scores (mean ± sample std over %d seeds)\n\n| arm |", rp->seeds);
    for (int s = 0; s < SCORES; s++)
        for (int e = 0; e < EVALS; e++) tg_json_printf(b, " %s %s |", eval_labels[e], score_labels[s]);
    tg_json_printf(b, "\n| --- |");
    for (int i = 0; i < SCORES * EVALS; i++) tg_json_printf(b, " --- |");
    for (int a = 0; a < ARMS; a++) {
        tg_json_printf(b, "\n| %s |", compare_arm_labels[a]);
        for (int s = 0; s < SCORES; s++)
            for (int e = 0; e < EVALS; e++) {
                tg_json_printf(b, " ");
                md_summary(b, summary(rp, (compare_arm)a, (compare_eval)e, s), false);
                tg_json_printf(b, " |");
            }
    }
    tg_json_printf(b, "\n\n");
    md_no_objects(b, rp);
}

/* Whether the paired difference exceeds its spread (docs/protocol.md section 14). */
static void md_verdict(tg_json_buf *b, const char *what, stats_summary s)
{
    tg_json_printf(b, "- %s: ", what);
    if (s.n < 2 || !isfinite(s.std)) tg_json_printf(b, "one seed, no spread to judge the difference by.\n");
    else if (fabs(s.mean) > s.std)
        tg_json_printf(b, "the mean difference exceeds its spread: DenseCL %s MoCo-v2.\n",
                       s.mean > 0 ? "above" : "below");
    else tg_json_printf(b, "the mean difference is within its spread: no difference claimed.\n");
}

static void md_paired(tg_json_buf *b, const reporter *rp)
{
    stats_summary s[EVALS];
    for (int e = 0; e < EVALS; e++) s[e] = paired(rp, (compare_eval)e);
    tg_json_printf(b, "## DenseCL minus MoCo-v2 (test mIoU, paired by fine-tune seed)\n\n| seed | FCN | probe |\n"
                      "| --- | --- | --- |\n");
    for (int k = 0; k < rp->seeds; k++) {
        tg_json_printf(b, "| %d | ", k);
        md_number(b, rp->diff[EVAL_FCN][k], 4, true);
        tg_json_printf(b, " | ");
        md_number(b, rp->diff[EVAL_PROBE][k], 4, true);
        tg_json_printf(b, " |\n");
    }
    tg_json_printf(b, "| mean ± std | ");
    md_summary(b, s[EVAL_FCN], true);
    tg_json_printf(b, " | ");
    md_summary(b, s[EVAL_PROBE], true);
    tg_json_printf(b, " |\n\n");
    md_verdict(b, "FCN", s[EVAL_FCN]);
    md_verdict(b, "probe", s[EVAL_PROBE]);
    tg_json_printf(b, "\n");
}

static void md_pretraining(tg_json_buf *b, const reporter *rp)
{
    tg_json_printf(b, "## Pretraining (the last epoch's means)\n\n| method | iterations | s/iteration | img/s "
                      "| wall time | loss | L_g | L_d | global top-1 | dense top-1 | match exact "
                      "| match within 1 cell |\n"
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        const compare_pretrain *p = &rp->r->pretrain[a];
        tg_json_printf(b, "| %s | %.0f | ", compare_arm_labels[a], p->steps);
        md_number(b, p->seconds_per_step, 3, false);
        tg_json_printf(b, " | ");
        md_number(b, p->img_s, 1, false);
        tg_json_printf(b, " | ");
        md_time(b, p->seconds);
        const double v[] = {p->loss, p->loss_global, p->loss_dense, p->top1_global, p->top1_dense, p->match_exact,
                            p->match_near};
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            bool dense = i == 2 || i >= 4; /* L_d, dense top-1, the matching: off in MoCo-v2 */
            tg_json_printf(b, " | ");
            if (dense && a == ARM_MOCOV2) tg_json_printf(b, "off");
            else md_number(b, v[i], 3, false);
        }
        tg_json_printf(b, " |\n");
    }
    tg_json_printf(b, "\nDenseCL / MoCo-v2 time per iteration: **");
    md_number(b, step_ratio(rp->r), 3, false);
    tg_json_printf(b, "** (the two pretrainings above: the same settings and machine, one after the other; the "
                      "first iteration of each part left out).\n\n");
}

static void md_times(tg_json_buf *b, const reporter *rp)
{
    tg_json_printf(b, "## Wall time\n\n| part | runs | wall time |\n| --- | --- | --- |\n");
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        tg_json_printf(b, "| pretraining, %s | 1 | ", compare_arm_labels[a]);
        md_time(b, rp->r->pretrain[a].seconds);
        tg_json_printf(b, " |\n");
    }
    for (int e = 0; e < EVALS; e++)
        for (int a = 0; a < ARMS; a++) {
            tg_json_printf(b, "| %s, %s | %d | ", e == EVAL_FCN ? "FCN fine-tuning" : "frozen probe",
                           compare_arm_labels[a], rp->seeds);
            md_time(b, seg_seconds(rp, (compare_arm)a, (compare_eval)e));
            tg_json_printf(b, " |\n");
        }
    tg_json_printf(b, "| total | %d | ", 2 + ARMS * EVALS * rp->seeds);
    md_time(b, total_seconds(rp));
    tg_json_printf(b, " |\n\nTraining and test-evaluation times as the runs recorded them (over every part of a "
                      "resumed run).\n\n");
}

static void markdown(tg_json_buf *b, const reporter *rp, const char *command)
{
    tg_json_printf(b, "# DenseCL vs MoCo-v2 on ShapeScenes\n\nPreset `%s`; fine-tune seeds 0-%d, the same for every "
                      "arm; pretraining seed %ld. Command:\n\n    %s\n\n",
                   rp->c->preset, rp->seeds - 1, rp->c->pretrain.seed, command);
    md_scale(b, rp);
    md_scores(b, rp);
    md_paired(b, rp);
    md_pretraining(b, rp);
    md_times(b, rp);
    tg_json_printf(b, "![test mIoU per arm](chart.png)\n\n![pretraining curves](losses.png)\n");
}

/* ---- JSON ---- */

static void json_summary(tg_json_buf *b, const double *v, stats_summary s)
{
    tg_json_printf(b, "{\"per_seed\":[");
    for (int k = 0; k < s.n; k++) {
        if (k) tg_json_printf(b, ",");
        out_json_number(b, v[k]);
    }
    tg_json_printf(b, "],\"mean\":");
    out_json_number(b, s.mean);
    tg_json_printf(b, ",\"std\":");
    out_json_number(b, s.std);
    tg_json_printf(b, "}");
}

static void json_arms(tg_json_buf *b, const reporter *rp)
{
    tg_json_printf(b, "\"arms\":{");
    for (int a = 0; a < ARMS; a++) {
        tg_json_printf(b, "%s\n  \"%s\":{", a ? "," : "", compare_arm_names[a]);
        for (int e = 0; e < EVALS; e++) {
            tg_json_printf(b, "%s\"%s\":{", e ? "," : "", compare_eval_names[e]);
            for (int s = 0; s < SCORES; s++) {
                stats_summary sum = summary(rp, (compare_arm)a, (compare_eval)e, s);
                tg_json_printf(b, "%s\"%s\":", s ? "," : "", score_names[s]);
                json_summary(b, rp->a, sum);
            }
            tg_json_printf(b, "}");
        }
        tg_json_printf(b, "}");
    }
    tg_json_printf(b, "},\n\"densecl_minus_mocov2_miou\":{");
    for (int e = 0; e < EVALS; e++) {
        stats_summary s = paired(rp, (compare_eval)e);
        tg_json_printf(b, "%s\"%s\":", e ? "," : "", compare_eval_names[e]);
        json_summary(b, rp->diff[e], s);
    }
    tg_json_printf(b, "}");
}

static void json_pretraining(tg_json_buf *b, const reporter *rp)
{
    static const char *const keys[] = {"images", "steps", "steps_per_epoch", "warmup_steps", "grid", "seconds",
                                       "seconds_per_step", "img_s", "loss", "loss_global", "loss_dense",
                                       "top1_global", "top1_dense", "match_exact", "match_near"};
    tg_json_printf(b, "\"pretrain\":{");
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        const compare_pretrain *p = &rp->r->pretrain[a];
        const double v[] = {p->images, p->steps, p->steps_per_epoch, p->warmup_steps, p->grid, p->seconds,
                            p->seconds_per_step, p->img_s, p->loss, p->loss_global, p->loss_dense,
                            p->top1_global, p->top1_dense, p->match_exact, p->match_near};
        _Static_assert(sizeof v / sizeof *v == sizeof keys / sizeof *keys, "a key for every number");
        tg_json_printf(b, "\n  \"%s\":{", compare_arm_names[a]);
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            tg_json_printf(b, "%s\"%s\":", i ? "," : "", keys[i]);
            out_json_number(b, v[i]);
        }
        tg_json_printf(b, "},");
    }
    tg_json_printf(b, "\n  \"densecl_mocov2_time_per_step\":");
    out_json_number(b, step_ratio(rp->r));
    tg_json_printf(b, "}");
}

/* The seconds of every run, training plus evaluation. */
static void json_times(tg_json_buf *b, const reporter *rp)
{
    char name[TG_TRAIN_NAME_MAX];
    tg_json_printf(b, "\"seconds\":{");
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        compare_pretrain_dir_name((compare_arm)a, name, sizeof name);
        tg_json_printf(b, "\"%s\":", name);
        out_json_number(b, rp->r->pretrain[a].seconds);
        tg_json_printf(b, ",");
    }
    for (int k = 0; k < rp->seeds; k++)
        for (int a = 0; a < ARMS; a++)
            for (int e = 0; e < EVALS; e++) {
                const compare_seg *s = compare_seg_at(rp->r, (compare_arm)a, (compare_eval)e, k);
                compare_run_dir_name((compare_eval)e, (compare_arm)a, k, name, sizeof name);
                tg_json_printf(b, "\n  \"%s\":", name);
                out_json_number(b, s->seconds + s->eval_seconds);
                tg_json_printf(b, ",");
            }
    tg_json_printf(b, "\n  \"total\":");
    out_json_number(b, total_seconds(rp));
    tg_json_printf(b, "}");
}

static void json_report(tg_json_buf *b, const reporter *rp, const char *command)
{
    tg_json_printf(b, "{\n\"command\":");
    tg_json_append_string(b, command);
    tg_json_printf(b, ",\n\"preset\":");
    tg_json_append_string(b, rp->c->preset);
    tg_json_printf(b, ",\n\"seeds\":%d,\n\"threads\":%d,\n\"settings\":", rp->seeds, tg_get_num_threads());
    compare_settings_json(rp->c, b);
    tg_json_printf(b, ",\n");
    json_arms(b, rp);
    tg_json_printf(b, ",\n");
    json_pretraining(b, rp);
    tg_json_printf(b, ",\n");
    json_times(b, rp);
    tg_json_printf(b, "\n}\n");
}

/* ---- files ---- */

static int write_file(const compare_config *c, const char *name, const tg_json_buf *b)
{
    if (b->failed) {
        fprintf(stderr, "compare: %s: out of memory\n", name);
        return -1;
    }
    return app_write_text(c->out, name, b->data, b->len, "compare");
}

int compare_report_write(const compare_config *c, const compare_results *r, const char *command)
{
    reporter rp = {.c = c, .r = r, .seeds = (int)r->seeds};
    double *scratch = malloc((size_t)(2 + EVALS) * (size_t)rp.seeds * sizeof *scratch);
    if (!scratch) {
        fprintf(stderr, "compare: out of memory\n");
        return -1;
    }
    rp.a = scratch, rp.b = scratch + rp.seeds;
    for (int e = 0; e < EVALS; e++) rp.diff[e] = scratch + (2 + e) * rp.seeds;
    tg_json_buf md = {0}, json = {0};
    markdown(&md, &rp, command);
    json_report(&json, &rp, command);
    int rc = write_file(c, "results.md", &md) || write_file(c, "results.json", &json) ? -1 : 0;
    if (!rc) printf("\n%s\n", md.data);
    tg_json_buf_free(&md), tg_json_buf_free(&json);
    free(scratch);
    return rc;
}
