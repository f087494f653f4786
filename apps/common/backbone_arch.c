/* The backbone's flags and config (see backbone_arch.h). */
#include "backbone_arch.h"

#include <string.h>

#include "out_files.h"

backbone_arch backbone_arch_defaults(void) { return (backbone_arch){.depth = 18, .width = 0.25, .stem = "small"}; }

int backbone_arch_flags(backbone_arch *a, tg_train_flag *table)
{
    const tg_train_flag flags[BACKBONE_ARCH_FLAGS] = {
        {"depth", TG_FLAG_LONG, &a->depth, 18, 50, "ResNet depth: 18, 34 or 50"},
        {"width", TG_FLAG_DOUBLE, &a->width, 0.01, 4, "ResNet channel multiplier (1: 64 in the stem)"},
        {"stem", TG_FLAG_STRING, &a->stem, 0, 0, "small (3x3 stride 1, no max-pool) or standard (7x7 + max-pool)"},
    };
    memcpy(table, flags, sizeof flags);
    return BACKBONE_ARCH_FLAGS;
}

json_t *backbone_arch_config(const backbone_arch *a, json_t *config)
{
    config = out_json_set(config, "depth", json_integer(a->depth));
    config = out_json_set(config, "width", out_json_number(a->width));
    return out_json_set(config, "stem", json_string(a->stem));
}
