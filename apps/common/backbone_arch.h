/* The ResNet a program builds, from --depth, --width and --stem: the
 * backbone of both the pretraining and the FCN. */
#ifndef APPS_BACKBONE_ARCH_H
#define APPS_BACKBONE_ARCH_H

#include <jansson.h>

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

/* config with "depth":..,"width":..,"stem":.., for a run's config; a chain
 * step as in out_files.h. */
json_t *backbone_arch_config(const backbone_arch *a, json_t *config);

#endif
