/* The compare program's settings (compare.c): the presets, a flag for
 * every setting, and from them the configuration of each run of the
 * protocol (docs/protocol.md section 14):
 *
 *   pretrain_mocov2/, pretrain_densecl/   the two pretrainings: the same
 *       images, backbone, epochs, batch, optimiser, views and seed; MoCo-v2
 *       is lambda 0 with the dense branch off (pretrain_run.h)
 *   ft_<arm>_seed<k>/, probe_<arm>_seed<k>/   FCN fine-tuning and the
 *       frozen-backbone probe of each arm (random, mocov2, densecl) for
 *       fine-tune seeds k = 0 .. seeds-1, the same seeds for every arm
 *       (finetune_run.h)
 *   ft_<arm>_len<f>_seed<k>/, probe_<arm>_len<f>_seed<k>/   the length
 *       study: the same for the pretrained arms (mocov2, densecl), from the
 *       backbone their pretraining saved at fraction f of its iterations
 *       (pretrain.snapshots, --lengths), with the same seeds
 *
 * Presets:
 *   full   the reproduction of record (about 3 h on 2 cores alone, 33 min
 *          of them the length study's):
 *          ShapeScenes 64 px, 8000 pretraining images, 500 labelled, 1000
 *          test; ResNet-18 small stem (C5 grid 8x8) at width 0.25; batch
 *          256, SGD lr 0.06 cosine, wd 1e-4, K 4096, m 0.99, tau 0.2,
 *          lambda 0.5 after a 2% warm-up, 8 BN groups, 75 epochs; FCN SGD
 *          lr 0.1 poly (the 0.01 learns nothing in 600 steps, see
 *          full_preset), wd 5e-4, batch 32, 40 epochs, the probe likewise;
 *          3 seeds; the length study at 0.25 and 0.5 of the pretraining
 *   quick  the demo (a few minutes): the same protocol, smaller, without
 *          the length study */
#ifndef APPS_COMPARE_CONFIG_H
#define APPS_COMPARE_CONFIG_H

#include <stdbool.h>
#include <jansson.h>
#include <stddef.h>

#include "finetune_run.h"
#include "pretrain_run.h"

/* The arms, in the order of every table. */
typedef enum { ARM_RANDOM, ARM_MOCOV2, ARM_DENSECL, ARMS } compare_arm;
/* How each arm is scored: FCN fine-tuning, frozen-backbone probe. */
typedef enum { EVAL_FCN, EVAL_PROBE, EVALS } compare_eval;

extern const char *const compare_arm_names[ARMS];  /* "random", "mocov2", "densecl" */
extern const char *const compare_arm_labels[ARMS]; /* "random init", "MoCo-v2", "DenseCL" */
extern const char *const compare_eval_names[EVALS]; /* "ft", "probe" (the run directories' prefixes) */

typedef struct {
    const char *preset, *out;
    long seeds, threads;
    pretrain_config pretrain; /* its size, data seed and backbone are the fine-tunings' too; its
                                 snapshots are the length study's fractions (none: no study) */
    finetune_config finetune;
    long probe_epochs;
    double probe_lr;
} compare_config;

/* The settings of a preset ("full" or "quick"); false for another name. */
bool compare_preset(const char *name, compare_config *c);

/* The preset argv names (--preset NAME; full when none), then every flag
 * over it. cli_parse's result (1: --help was shown). */
int compare_parse(int argc, char **argv, compare_config *c);

/* The configuration of a pretraining (ARM_MOCOV2 or ARM_DENSECL) writing
 * into dir. */
pretrain_config compare_pretrain_config(const compare_config *c, compare_arm arm, const char *dir);
/* The configuration of a fine-tuning or probe of arm with seed, from
 * backbone (NULL for ARM_RANDOM), writing into dir. */
finetune_config compare_finetune_config(const compare_config *c, compare_eval e, long seed, const char *backbone,
                                        const char *dir);

/* Every setting that changes the numbers, as a new JSON object (not the
 * seed count: more seeds add runs), the length study's fractions included
 * where there is one, for the output directory's guard; NULL when out of
 * memory. */
json_t *compare_settings_json(const compare_config *c);

/* "pretrain_mocov2", "ft_random_seed0", "probe_densecl_seed2"... into buf. */
void compare_pretrain_dir_name(compare_arm arm, char *buf, size_t size);
void compare_run_dir_name(compare_eval e, compare_arm arm, long seed, char *buf, size_t size);
/* "ft_mocov2_len0.25_seed0"...: the length study's run from the snapshot at fraction. */
void compare_length_dir_name(compare_eval e, compare_arm arm, double fraction, long seed, char *buf, size_t size);

#endif
