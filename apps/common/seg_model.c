/* Building the segmentation programs' FCN (see seg_model.h). */
#include "seg_model.h"

#include <stdio.h>
#include <string.h>

#include "app.h"

/* The heads' seed, apart from the backbone's. */
#define HEAD_SEED_BIT (UINT64_C(1) << 40)

int seg_cli_parse(int argc, char **argv, seg_data_opts *data, bool with_train, backbone_arch *arch, const tg_train_flag *own,
                  int n_own, const char *about)
{
    tg_train_flag flags[SEG_DATA_FLAGS + BACKBONE_ARCH_FLAGS + 1 + SEG_OWN_FLAGS];
    if (n_own > SEG_OWN_FLAGS) {
        fprintf(stderr, "%s: %d flags of its own, more than %d\n", about, n_own, SEG_OWN_FLAGS);
        return -1;
    }
    long threads = 0;
    int n = seg_data_flags(data, flags, with_train);
    n += backbone_arch_flags(arch, flags + n);
    flags[n++] = (tg_train_flag){"threads", TG_FLAG_LONG, &threads, 0, 1024, "compute threads (0: all cores)"};
    memcpy(flags + n, own, (size_t)n_own * sizeof *own);
    int rc = app_parse_flags(argc, argv, flags, n + n_own, about);
    return rc ? rc : app_set_threads(threads);
}

tg_module *seg_model_new(const backbone_arch *a, const seg_data *d, bool frozen, uint64_t seed)
{
    bool small = strcmp(a->stem, "small") == 0;
    if (!small && strcmp(a->stem, "standard") != 0) {
        fprintf(stderr, "--stem: '%s' is neither small nor standard\n", a->stem);
        return NULL;
    }
    tg_resnet_opts backbone = {.depth = (int)a->depth, .width = a->width, .small_stem = small,
                               .conv_fan = TG_FAN_OUT, .sync_bn = true, .seed = seed}; /* mmseg's SyncBN */
    tg_fcn_opts o = tg_fcn_default_opts(backbone, d->num_classes);
    o.align_corners = d->align_corners;
    o.frozen_backbone = frozen;
    o.seed = seed | HEAD_SEED_BIT;
    tg_module *m = tg_fcn_new(o);
    if (!m) fprintf(stderr, "building the FCN: %s\n", tg_last_error());
    return m;
}
