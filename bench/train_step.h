/* The ResNet training step the benchmarks time (bench_resnet,
 * bench_loader): forward, cross-entropy (ignore_index -100), backward,
 * SGD (lr 0.01, momentum 0.9, weight decay 1e-4) and zero_grad, on a
 * fixed random batch or on one the caller gives. */
#ifndef BENCH_TRAIN_STEP_H
#define BENCH_TRAIN_STEP_H

#include <stdint.h>

#include "tensorgrad.h"

typedef struct bench_trainer {
    tg_module *model; /* ResNet-18 or -50 in training mode */
    tg_tensor_list params;
    tg_optimizer *opt;
    tg_tensor *x;      /* (batch, 3, size, size) ~ N(0, 1) */
    tg_tensor *labels; /* (batch) in [0, classes) */
} bench_trainer;

/* The ResNet of depth 18 or 50 (initialised from seed), its optimizer and the fixed batch
 * (drawn from seed, stream 7). 0, or -1 with tg_last_error(); free *t
 * either way. */
int bench_trainer_init(bench_trainer *t, int depth, int batch, int size, int classes, uint64_t seed);
void bench_trainer_free(bench_trainer *t);

/* One step on x (t->x, or another batch of its shape) and t->labels; the
 * loss into *loss_value. 0 or -1. */
int bench_train_step(bench_trainer *t, tg_tensor *x, float *loss_value);

#endif
