/* The compare program's charts:
 *   DIR/chart.png   test mIoU per arm, FCN fine-tuning and frozen probe
 *                   side by side: bars at the mean over seeds, error bars
 *                   of one sample std
 *   DIR/losses.png  the two pretrainings' curves from their log.jsonl
 *                   step lines: total loss, L_g, DenseCL's L_d, and the
 *                   global and dense top-1 with the matching accuracy
 *   DIR/length_study.png   with the length study: DenseCL minus MoCo-v2
 *                   test mIoU against pretraining iterations, FCN and
 *                   probe, at the mean over seeds with error bars of one
 *                   sample std, and the zero line */
#ifndef APPS_COMPARE_PLOTS_H
#define APPS_COMPARE_PLOTS_H

#include "compare_config.h"
#include "compare_results.h"

/* Writes the PNGs into c->out. 0, or -1 after printing why. */
int compare_plots_write(const compare_config *c, const compare_results *r);

#endif
