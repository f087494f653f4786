/* The compare program's report: DIR/results.md, the table people read,
 * and DIR/results.json, the same numbers for programs. Per arm, the FCN
 * and probe scores (mIoU, pixel accuracy, things-mIoU) as mean and sample
 * std over the fine-tune seeds; the DenseCL-minus-MoCo-v2 mIoU difference
 * paired by seed, its mean and std, and whether it exceeds its spread
 * (the protocol's rule for claiming a gain); with the length study, the
 * same paired difference at each pretraining length (iterations and
 * fraction, each seed's and their mean and std; the whole length is the
 * main runs'); the pretrainings' last-epoch numbers and the DenseCL/MoCo-v2
 * time per step; the scale; the command; the wall time of each part. Every number comes from the runs' files, so
 * the report of a resumed protocol is that of one that never stopped. */
#ifndef APPS_COMPARE_REPORT_H
#define APPS_COMPARE_REPORT_H

#include "compare_config.h"
#include "compare_results.h"

/* Writes both files into c->out and the markdown to stdout. 0, or -1
 * after printing why. */
int compare_report_write(const compare_config *c, const compare_results *r, const char *command);

#endif
