/* eval_seg: scores FCN weights (finetune_seg's fcn.safetensors, mmseg
 * names) on a test split, as finetune_seg does at its end: mIoU,
 * things-mIoU, pixel accuracy and per-class IoU from one confusion matrix
 * over the split. Writes OUT/results.json and, for the first --overlays
 * images, OUT/overlay_NNNNN.png: the image, the prediction and the truth
 * blended in the VOC palette.
 *
 *   eval_seg --weights runs/densecl_s0/fcn.safetensors --out runs/densecl_s0/eval
 *
 * The architecture and data flags must be those of the fine-tuning
 * (--depth, --width, --stem; --size, --data-seed, --test-images, or --voc /
 * --cityscapes): the weights are loaded strictly. */
#include <stdio.h>

#include "app.h"
#include "out_files.h"
#include "seg_data.h"
#include "seg_eval.h"
#include "seg_model.h"
#include "tensorgrad.h"

#define ABOUT "eval_seg: test scores and overlays of FCN weights"

typedef struct {
    seg_data_opts data;
    backbone_arch arch;
    const char *weights, *out;
    long overlays, eval_batch;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.data = seg_data_defaults(), .arch = backbone_arch_defaults(), .out = "eval_seg_out", .overlays = 8};
    const tg_train_flag own[] = {
        {"weights", TG_FLAG_STRING, &o->weights, 0, 0, "FCN weights (safetensors, mmseg names)"},
        {"out", TG_FLAG_STRING, &o->out, 0, 0, "output directory: results.json, overlays"},
        {"overlays", TG_FLAG_LONG, &o->overlays, 0, 1e7, "images drawn with their prediction"},
        {"eval-batch", TG_FLAG_LONG, &o->eval_batch, 0, 4096, "test images a forward (0: 32, 1 for VOC/Cityscapes)"},
    };
    int rc = seg_cli_parse(argc, argv, &o->data, false, &o->arch, own, TG_FLAG_COUNT(own), ABOUT);
    if (!rc && !o->weights) {
        fprintf(stderr, "eval_seg: --weights FILE is needed (try --help)\n");
        rc = -1;
    }
    return rc;
}

static int write_results(const options *o, const seg_data *d, const seg_result *r)
{
    json_t *config = json_pack("{s:s}", "program", "eval_seg");
    config = backbone_arch_config(&o->arch, seg_data_config(&o->data, d, false, config));
    json_t *root = json_pack("{s:s,s:o}", "weights", o->weights, "config", config);
    return out_write_json(o->out, "results.json", seg_result_json(r, d, root), NULL, "eval_seg");
}

/* The model with its weights, scored; results written. */
static int evaluate(const options *o, const seg_data *d)
{
    tg_module *m = seg_model_new(&o->arch, d, false, 0);
    if (!m) return -1;
    if (tg_module_load(o->weights, m, true)) {
        fprintf(stderr, "eval_seg: %s\n", tg_last_error());
        tg_module_free(m);
        return -1;
    }
    seg_eval_opts eo = {.batch = o->eval_batch, .overlays = o->overlays, .overlay_dir = o->out};
    seg_result r;
    int rc = seg_evaluate(m, d, &eo, &r);
    tg_module_free(m);
    if (rc) return -1;
    int64_t drawn = o->overlays < r.images ? o->overlays : r.images;
    if (drawn) printf("overlays of the first %lld images in %s\n", (long long)drawn, o->out);
    rc = tg_dist_rank() == 0 ? write_results(o, d, &r) : 0; /* rank 0 writes the job's files */
    seg_result_free(&r);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc > 0 ? 0 : 2;
    if (app_join_job(&argc, &argv, "eval_seg")) return 1;
    seg_data d;
    if (tg_train_make_dir(o.out)) {
        app_fail("eval_seg", "the output directory");
        return 1;
    }
    if (seg_data_open(&d, &o.data, false)) return 1;
    rc = evaluate(&o, &d);
    seg_data_close(&d);
    return app_leave_job(rc ? 1 : 0, "eval_seg");
}
