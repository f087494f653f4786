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

/* DenseCL minus MoCo-v2 in mIoU at length l of the study (the main runs:
 * rp->r->lengths), seed by seed, into rp->diff[e]. */
static stats_summary paired(const reporter *rp, int l, compare_eval e)
{
    for (int k = 0; k < rp->seeds; k++) {
        rp->a[k] = compare_length_seg(rp->r, l, ARM_DENSECL, e, k)->miou;
        rp->b[k] = compare_length_seg(rp->r, l, ARM_MOCOV2, e, k)->miou;
    }
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

/* The same for the length study's runs of e (both arms, every length). */
static double length_seconds(const reporter *rp, compare_eval e)
{
    double sum = 0;
    for (int l = 0; l < rp->r->lengths; l++)
        for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++)
            for (int k = 0; k < rp->seeds; k++) {
                const compare_seg *s = compare_length_seg(rp->r, l, (compare_arm)a, e, k);
                sum += s->seconds + s->eval_seconds;
            }
    return sum;
}

static double total_seconds(const reporter *rp)
{
    double sum = rp->r->pretrain[ARM_MOCOV2].seconds + rp->r->pretrain[ARM_DENSECL].seconds;
    for (int e = 0; e < EVALS; e++) {
        sum += length_seconds(rp, (compare_eval)e);
        for (int a = 0; a < ARMS; a++) sum += seg_seconds(rp, (compare_arm)a, (compare_eval)e);
    }
    return sum;
}

static double step_ratio(const compare_results *r)
{
    return r->pretrain[ARM_DENSECL].seconds_per_step / r->pretrain[ARM_MOCOV2].seconds_per_step;
}

/* ---- markdown ---- */

/* v with decimals digits (a sign first when sign), or "n/a". */
static void md_number(FILE *f, double v, int decimals, bool sign)
{
    if (isfinite(v)) fprintf(f, sign ? "%+.*f" : "%.*f", decimals, v);
    else fprintf(f, "n/a");
}

static void md_summary(FILE *f, stats_summary s, bool sign)
{
    md_number(f, s.mean, 4, sign);
    if (s.n >= 2 && isfinite(s.mean)) fprintf(f, " ± %.4f", s.std);
}

static void md_time(FILE *f, double seconds)
{
    if (!isfinite(seconds)) fprintf(f, "n/a");
    else if (seconds < 120) fprintf(f, "%.1f s", seconds);
    else fprintf(f, "%.1f min", seconds / 60);
}

static void md_scale(FILE *f, const reporter *rp)
{
    const pretrain_config *p = &rp->c->pretrain;
    const finetune_config *t = &rp->c->finetune;
    const compare_pretrain *dense = &rp->r->pretrain[ARM_DENSECL];
    const compare_seg *ft = compare_seg_at(rp->r, ARM_RANDOM, EVAL_FCN, 0);
    const compare_seg *probe = compare_seg_at(rp->r, ARM_RANDOM, EVAL_PROBE, 0);
    fprintf(f, "**Scale.** ResNet-%ld, %s stem, width %g; %ld px images, C5 grid S = %.0f (%.0fx%.0f cells). ",
            p->arch.depth, p->arch.stem, p->arch.width, p->size, dense->grid, dense->grid, dense->grid);
    fprintf(f, "Pretraining on %.0f unlabelled images: %ld epoch%s x %.0f = %.0f iterations, batch %ld, "
               "K %ld, m %g, tau %g, lambda %g after %.0f warm-up iterations (DenseCL), %ld BN groups, "
               "SGD lr %g cosine, wd %g. ",
            dense->images, p->epochs, p->epochs == 1 ? "" : "s", dense->steps_per_epoch, dense->steps,
            p->batch, p->queue, p->moco_momentum, p->tau, p->lambda, dense->warmup_steps, p->bn_groups, p->lr,
            p->weight_decay);
    fprintf(f, "FCN fine-tuning on %ld labelled images: %ld epoch%s = %.0f iterations, batch %ld, SGD lr %g "
               "poly, wd %g; frozen-backbone probe: %ld epoch%s = %.0f iterations, lr %g. Test: %ld images. "
               "%d threads.\n\n",
            t->data.train_images, t->epochs, t->epochs == 1 ? "" : "s", ft->steps, t->batch, t->lr,
            t->weight_decay, rp->c->probe_epochs, rp->c->probe_epochs == 1 ? "" : "s", probe->steps,
            rp->c->probe_lr, t->data.test_images, tg_get_num_threads());
}

/* Names the arms and evaluations that segmented no object at all
 * (things-mIoU 0 on every seed): their mIoU is the background's alone. */
static void md_no_objects(FILE *f, const reporter *rp)
{
    int listed = 0;
    for (int e = 0; e < EVALS; e++)
        for (int a = 0; a < ARMS; a++) {
            per_seed(rp, (compare_arm)a, (compare_eval)e, SCORE_THINGS, rp->a);
            bool none = true;
            for (int k = 0; k < rp->seeds; k++) none = none && rp->a[k] == 0;
            if (!none) continue;
            fprintf(f, "%s%s %s", listed++ ? ", " : "No object class segmented on any seed (things-mIoU 0): ",
                    eval_labels[e], compare_arm_labels[a]);
        }
    if (listed) fprintf(f, ". Their mIoU is the background IoU over %d classes.\n\n", TG_SHAPESCENES_CLASSES);
}

static void md_scores(FILE *f, const reporter *rp)
{
    if (rp->seeds == 1) fprintf(f, "## Test scores (one fine-tune seed)\n\n| arm |");
    else fprintf(f, "## Test scores (mean ± sample std over %d seeds)\n\n| arm |", rp->seeds);
    for (int s = 0; s < SCORES; s++)
        for (int e = 0; e < EVALS; e++) fprintf(f, " %s %s |", eval_labels[e], score_labels[s]);
    fprintf(f, "\n| --- |");
    for (int i = 0; i < SCORES * EVALS; i++) fprintf(f, " --- |");
    for (int a = 0; a < ARMS; a++) {
        fprintf(f, "\n| %s |", compare_arm_labels[a]);
        for (int s = 0; s < SCORES; s++)
            for (int e = 0; e < EVALS; e++) {
                fprintf(f, " ");
                md_summary(f, summary(rp, (compare_arm)a, (compare_eval)e, s), false);
                fprintf(f, " |");
            }
    }
    fprintf(f, "\n\n");
    md_no_objects(f, rp);
}

/* Whether the paired difference exceeds its spread (docs/protocol.md section 14). */
static void md_verdict(FILE *f, const char *what, stats_summary s)
{
    fprintf(f, "- %s: ", what);
    if (s.n < 2 || !isfinite(s.std)) fprintf(f, "one seed, no spread to judge the difference by.\n");
    else if (fabs(s.mean) > s.std)
        fprintf(f, "the mean difference exceeds its spread: DenseCL %s MoCo-v2.\n",
                s.mean > 0 ? "above" : "below");
    else fprintf(f, "the mean difference is within its spread: no difference claimed.\n");
}

static void md_paired(FILE *f, const reporter *rp)
{
    stats_summary s[EVALS];
    for (int e = 0; e < EVALS; e++) s[e] = paired(rp, rp->r->lengths, (compare_eval)e);
    fprintf(f, "## DenseCL minus MoCo-v2 (test mIoU, paired by fine-tune seed)\n\n| seed | FCN | probe |\n"
               "| --- | --- | --- |\n");
    for (int k = 0; k < rp->seeds; k++) {
        fprintf(f, "| %d | ", k);
        md_number(f, rp->diff[EVAL_FCN][k], 4, true);
        fprintf(f, " | ");
        md_number(f, rp->diff[EVAL_PROBE][k], 4, true);
        fprintf(f, " |\n");
    }
    fprintf(f, "| mean ± std | ");
    md_summary(f, s[EVAL_FCN], true);
    fprintf(f, " | ");
    md_summary(f, s[EVAL_PROBE], true);
    fprintf(f, " |\n\n");
    md_verdict(f, "FCN", s[EVAL_FCN]);
    md_verdict(f, "probe", s[EVAL_PROBE]);
    fprintf(f, "\n");
}

/* The seeds' numbers, with their signs, separated by commas. */
static void md_per_seed(FILE *f, const double *v, int n)
{
    for (int k = 0; k < n; k++) {
        fprintf(f, k ? ", " : "");
        md_number(f, v[k], 4, true);
    }
}

/* One row of the length study: length l's paired differences. */
static void md_length_row(FILE *f, const reporter *rp, int l)
{
    stats_summary s[EVALS];
    for (int e = 0; e < EVALS; e++) s[e] = paired(rp, l, (compare_eval)e);
    fprintf(f, "| %.0f | %g | ", rp->r->iterations[l], rp->r->fraction[l]);
    for (int e = 0; e < EVALS; e++) {
        md_summary(f, s[e], true);
        fprintf(f, " | ");
    }
    for (int e = 0; e < EVALS; e++) {
        md_per_seed(f, rp->diff[e], rp->seeds);
        fprintf(f, " |%s", e + 1 < EVALS ? " " : "\n");
    }
}

static void md_length_study(FILE *f, const reporter *rp)
{
    if (!rp->r->lengths) return;
    fprintf(f, "## Length study: DenseCL minus MoCo-v2 by pretraining length (test mIoU, paired by fine-tune "
               "seed)\n\nEach pretraining's query backbone as it was after a share of its iterations (a "
               "snapshot of the one run above, its cosine learning rate not yet at its end), fine-tuned and "
               "probed as the main runs with the same seeds 0-%d; the last row is the main comparison. Mean ± "
               "sample std over seeds, then each seed's difference.\n\n"
               "| pretraining iterations | fraction | FCN | probe | FCN per seed | probe per seed |\n"
               "| --- | --- | --- | --- | --- | --- |\n",
            rp->seeds - 1);
    for (int l = 0; l <= rp->r->lengths; l++) md_length_row(f, rp, l);
    fprintf(f, "\n![DenseCL minus MoCo-v2 by pretraining length](length_study.png)\n\n");
}

static void md_pretraining(FILE *f, const reporter *rp)
{
    fprintf(f, "## Pretraining (the last epoch's means)\n\n| method | iterations | s/iteration | img/s "
               "| wall time | loss | L_g | L_d | global top-1 | dense top-1 | match exact "
               "| match within 1 cell |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        const compare_pretrain *p = &rp->r->pretrain[a];
        fprintf(f, "| %s | %.0f | ", compare_arm_labels[a], p->steps);
        md_number(f, p->seconds_per_step, 3, false);
        fprintf(f, " | ");
        md_number(f, p->img_s, 1, false);
        fprintf(f, " | ");
        md_time(f, p->seconds);
        const double v[] = {p->loss, p->loss_global, p->loss_dense, p->top1_global, p->top1_dense, p->match_exact,
                            p->match_near};
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            bool dense = i == 2 || i >= 4; /* L_d, dense top-1, the matching: off in MoCo-v2 */
            fprintf(f, " | ");
            if (dense && a == ARM_MOCOV2) fprintf(f, "off");
            else md_number(f, v[i], 3, false);
        }
        fprintf(f, " |\n");
    }
    fprintf(f, "\nDenseCL / MoCo-v2 time per iteration: **");
    md_number(f, step_ratio(rp->r), 3, false);
    fprintf(f, "** (the two pretrainings above: the same settings and machine, one after the other; the "
               "first iteration of each part left out).\n\n");
}

/* A row of the wall-time table. */
static void md_time_row(FILE *f, const char *part, const char *what, int runs, double seconds)
{
    fprintf(f, "| %s, %s | %d | ", part, what, runs);
    md_time(f, seconds);
    fprintf(f, " |\n");
}

static void md_times(FILE *f, const reporter *rp)
{
    static const char *const parts[EVALS] = {"FCN fine-tuning", "frozen probe"};
    int length_runs = PRETRAINED_ARMS * rp->r->lengths * rp->seeds;
    fprintf(f, "## Wall time\n\n| part | runs | wall time |\n| --- | --- | --- |\n");
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++)
        md_time_row(f, "pretraining", compare_arm_labels[a], 1, rp->r->pretrain[a].seconds);
    for (int e = 0; e < EVALS; e++) {
        for (int a = 0; a < ARMS; a++)
            md_time_row(f, parts[e], compare_arm_labels[a], rp->seeds,
                        seg_seconds(rp, (compare_arm)a, (compare_eval)e));
        if (length_runs) md_time_row(f, parts[e], "length study", length_runs, length_seconds(rp, (compare_eval)e));
    }
    fprintf(f, "| total | %d | ", 2 + EVALS * (ARMS * rp->seeds + length_runs));
    md_time(f, total_seconds(rp));
    fprintf(f, " |\n\nTraining and test-evaluation times as the runs recorded them (over every part of a "
               "resumed run).\n\n");
}

static void markdown(FILE *f, const reporter *rp, const char *command)
{
    fprintf(f, "# DenseCL vs MoCo-v2 on ShapeScenes\n\nPreset `%s`; fine-tune seeds 0-%d, the same for every "
               "arm; pretraining seed %ld. Command:\n\n    %s\n\n",
            rp->c->preset, rp->seeds - 1, rp->c->pretrain.seed, command);
    md_scale(f, rp);
    md_scores(f, rp);
    md_paired(f, rp);
    md_length_study(f, rp);
    md_pretraining(f, rp);
    md_times(f, rp);
    fprintf(f, "![test mIoU per arm](chart.png)\n\n![pretraining curves](losses.png)\n");
}

/* ---- JSON ---- */

/* {"per_seed":[..],"mean":..,"std":..} */
static json_t *json_summary(const double *v, stats_summary s)
{
    json_t *per_seed = json_array();
    for (int k = 0; per_seed && k < s.n; k++)
        if (json_array_append_new(per_seed, out_json_number(v[k]))) {
            json_decref(per_seed);
            per_seed = NULL;
        }
    return json_pack("{s:o,s:o,s:o}", "per_seed", per_seed, "mean", out_json_number(s.mean), "std",
                     out_json_number(s.std));
}

/* The scores of one arm: {"ft":{"miou":{..},..},"probe":{..}} */
static json_t *json_arm(const reporter *rp, compare_arm arm)
{
    json_t *evals = json_object();
    for (int e = 0; e < EVALS; e++) {
        json_t *scores = json_object();
        for (int s = 0; s < SCORES; s++) {
            stats_summary sum = summary(rp, arm, (compare_eval)e, s);
            scores = out_json_set(scores, score_names[s], json_summary(rp->a, sum));
        }
        evals = out_json_set(evals, compare_eval_names[e], scores);
    }
    return evals;
}

/* DenseCL minus MoCo-v2 at length l of the study: {"ft":{..},"probe":{..}} */
static json_t *json_paired(const reporter *rp, int l)
{
    json_t *diff = json_object();
    for (int e = 0; e < EVALS; e++) {
        stats_summary s = paired(rp, l, (compare_eval)e);
        diff = out_json_set(diff, compare_eval_names[e], json_summary(rp->diff[e], s));
    }
    return diff;
}

/* root with "arms" and "densecl_minus_mocov2_miou". */
static json_t *json_arms(json_t *root, const reporter *rp)
{
    json_t *arms = json_object();
    for (int a = 0; a < ARMS; a++) arms = out_json_set(arms, compare_arm_names[a], json_arm(rp, (compare_arm)a));
    return out_json_set(out_json_set(root, "arms", arms), "densecl_minus_mocov2_miou", json_paired(rp, rp->r->lengths));
}

/* [{"fraction":0.25,"iterations":194,"densecl_minus_mocov2_miou":{..}},..], the whole length last. */
static json_t *json_length_study(const reporter *rp)
{
    json_t *list = json_array();
    for (int l = 0; list && l <= rp->r->lengths; l++) {
        json_t *one = json_pack("{s:o,s:o,s:o}", "fraction", out_json_number(rp->r->fraction[l]), "iterations",
                                out_json_number(rp->r->iterations[l]), "densecl_minus_mocov2_miou",
                                json_paired(rp, l));
        if (json_array_append_new(list, one)) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

static json_t *json_pretraining(const reporter *rp)
{
    static const char *const keys[] = {"images", "steps", "steps_per_epoch", "warmup_steps", "grid", "seconds",
                                       "seconds_per_step", "img_s", "loss", "loss_global", "loss_dense",
                                       "top1_global", "top1_dense", "match_exact", "match_near"};
    json_t *pretrain = json_object();
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        const compare_pretrain *p = &rp->r->pretrain[a];
        const double v[] = {p->images, p->steps, p->steps_per_epoch, p->warmup_steps, p->grid, p->seconds,
                            p->seconds_per_step, p->img_s, p->loss, p->loss_global, p->loss_dense,
                            p->top1_global, p->top1_dense, p->match_exact, p->match_near};
        _Static_assert(sizeof v / sizeof *v == sizeof keys / sizeof *keys, "a key for every number");
        json_t *arm = out_json_numbers(json_object(), keys, v, (int)(sizeof v / sizeof *v));
        pretrain = out_json_set(pretrain, compare_arm_names[a], arm);
    }
    return out_json_set(pretrain, "densecl_mocov2_time_per_step", out_json_number(step_ratio(rp->r)));
}

/* The seconds of every run, training plus evaluation. */
static json_t *json_times(const reporter *rp)
{
    char name[TG_TRAIN_NAME_MAX];
    json_t *seconds = json_object();
    for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++) {
        compare_pretrain_dir_name((compare_arm)a, name, sizeof name);
        seconds = out_json_set(seconds, name, out_json_number(rp->r->pretrain[a].seconds));
    }
    for (int k = 0; k < rp->seeds; k++)
        for (int a = 0; a < ARMS; a++)
            for (int e = 0; e < EVALS; e++) {
                const compare_seg *s = compare_seg_at(rp->r, (compare_arm)a, (compare_eval)e, k);
                compare_run_dir_name((compare_eval)e, (compare_arm)a, k, name, sizeof name);
                seconds = out_json_set(seconds, name, out_json_number(s->seconds + s->eval_seconds));
            }
    for (int k = 0; k < rp->seeds; k++)
        for (int l = 0; l < rp->r->lengths; l++)
            for (int a = ARM_MOCOV2; a <= ARM_DENSECL; a++)
                for (int e = 0; e < EVALS; e++) {
                    const compare_seg *s = compare_length_seg(rp->r, l, (compare_arm)a, (compare_eval)e, k);
                    compare_length_dir_name((compare_eval)e, (compare_arm)a, rp->r->fraction[l], k, name, sizeof name);
                    seconds = out_json_set(seconds, name, out_json_number(s->seconds + s->eval_seconds));
                }
    return out_json_set(seconds, "total", out_json_number(total_seconds(rp)));
}

static json_t *json_report(const reporter *rp, const char *command)
{
    json_t *root = json_pack("{s:s,s:s,s:i,s:i,s:o}", "command", command, "preset", rp->c->preset, "seeds", rp->seeds,
                             "threads", tg_get_num_threads(), "settings", compare_settings_json(rp->c));
    root = json_arms(root, rp);
    if (rp->r->lengths) root = out_json_set(root, "length_study", json_length_study(rp));
    root = out_json_set(root, "pretrain", json_pretraining(rp));
    return out_json_set(root, "seconds", json_times(rp));
}

/* ---- files ---- */

/* The markdown in *text (malloc'd, *len bytes). 0, or -1 when out of memory. */
static int markdown_text(const reporter *rp, const char *command, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = open_memstream(text, len);
    if (!f) return -1;
    markdown(f, rp, command);
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0) rc = -1;
    return rc;
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
    static const char *const spread[] = {"arms", "pretrain", "seconds", NULL};
    char *md;
    size_t len;
    int rc = markdown_text(&rp, command, &md, &len);
    if (rc) fprintf(stderr, "compare: results.md: out of memory\n");
    if (!rc) rc = app_write_text(c->out, "results.md", md, len, "compare");
    if (!rc) rc = out_write_json(c->out, "results.json", json_report(&rp, command), spread, "compare");
    if (!rc) printf("\n%s\n", md);
    free(md);
    free(scratch);
    return rc;
}
