/* The ResNet a program builds, from --depth, --width and --stem: the
 * backbone of both the pretraining and the FCN. */
#ifndef APPS_BACKBONE_ARCH_H
#define APPS_BACKBONE_ARCH_H

#include "nn/json.h"
#include "tensorgrad.h"

#define BACKBONE_ARCH_FLAGS 3

typedef struct {
    long depth;
    double width;
    const char *stem; /* "small" or "standard" */
} backbone_arch;

backbone_arch backbone_arch_defaults(void);
/* Appends --depth, --width and --stem to table; returns BACKBONE_ARCH_FLAGS. */
int backbone_arch_flags(backbone_arch *a, tg_train_flag *table);

/* Appends "depth":..,"width":..,"stem":.. to b, for a run's config. */
void backbone_arch_config(const backbone_arch *a, tg_json_buf *b);

#endif
