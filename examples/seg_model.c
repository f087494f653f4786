/* Building the segmentation programs' FCN (see seg_model.h). */
#include "seg_model.h"

#include <stdio.h>
#include <string.h>

#include "out_files.h"

/* The heads' seed, apart from the backbone's. */
#define HEAD_SEED_BIT (UINT64_C(1) << 40)

seg_arch seg_arch_defaults(void) { return (seg_arch){.depth = 18, .width = 0.25, .stem = "small"}; }

int seg_arch_flags(seg_arch *a, cli_flag *table)
{
    const cli_flag flags[SEG_ARCH_FLAGS] = {
        {"depth", CLI_LONG, &a->depth, 18, 50, "ResNet depth: 18, 34 or 50"},
        {"width", CLI_DOUBLE, &a->width, 0.01, 4, "ResNet channel multiplier (1: 64 in the stem)"},
        {"stem", CLI_STRING, &a->stem, 0, 0, "small (3x3 stride 1, no max-pool) or standard (7x7 + max-pool)"},
    };
    memcpy(table, flags, sizeof flags);
    return SEG_ARCH_FLAGS;
}

int seg_cli_parse(int argc, char **argv, seg_data_opts *data, bool with_train, seg_arch *arch, const cli_flag *own,
                  int n_own, const char *about)
{
    cli_flag flags[SEG_DATA_FLAGS + SEG_ARCH_FLAGS + 1 + SEG_OWN_FLAGS];
    if (n_own > SEG_OWN_FLAGS) {
        fprintf(stderr, "%s: %d flags of its own, more than %d\n", about, n_own, SEG_OWN_FLAGS);
        return -1;
    }
    long threads = 0;
    int n = seg_data_flags(data, flags, with_train);
    n += seg_arch_flags(arch, flags + n);
    flags[n++] = (cli_flag){"threads", CLI_LONG, &threads, 0, 1024, "compute threads (0: all cores)"};
    memcpy(flags + n, own, (size_t)n_own * sizeof *own);
    int rc = cli_parse(argc, argv, flags, n + n_own, about);
    return rc ? rc : cli_set_threads(threads);
}

tg_module *seg_model_new(const seg_arch *a, const seg_data *d, bool frozen, uint64_t seed)
{
    bool small = strcmp(a->stem, "small") == 0;
    if (!small && strcmp(a->stem, "standard") != 0) {
        fprintf(stderr, "--stem: '%s' is neither small nor standard\n", a->stem);
        return NULL;
    }
    tg_resnet_opts backbone = {.depth = (int)a->depth, .width = a->width, .small_stem = small,
                               .conv_fan = TG_FAN_OUT, .seed = seed};
    tg_fcn_opts o = tg_fcn_default_opts(backbone, d->num_classes);
    o.align_corners = d->align_corners;
    o.frozen_backbone = frozen;
    o.seed = seed | HEAD_SEED_BIT;
    tg_module *m = tg_fcn_new(o);
    if (!m) fprintf(stderr, "building the FCN: %s\n", tg_last_error());
    return m;
}

json_t *seg_arch_config(const seg_arch *a, json_t *config)
{
    config = out_json_set(config, "depth", json_integer(a->depth));
    config = out_json_set(config, "width", out_json_number(a->width));
    return out_json_set(config, "stem", json_string(a->stem));
}
