/* The loader configurations of pipelines.h: prepare callbacks that run a
 * recipe of transforms.h on one sample. */
#include "data/pipelines.h"

#include "tensor/error.h"
#include "tensor/internal/check.h"

static tg_loader_shape image_shape(int h, int w) { return (tg_loader_shape){3, {3, h, w}}; }

static void put_geom(const tg_view_geom *g, float *aux)
{
    const float v[TG_PAIR_VIEW_AUX] = {(float)g->crop.x, (float)g->crop.y, (float)g->crop.w, (float)g->crop.h,
                                       g->flipped ? 1.0f : 0.0f, (float)g->size};
    for (int i = 0; i < TG_PAIR_VIEW_AUX; i++) aux[i] = v[i];
}

tg_view_geom tg_pair_geom(const float *aux_row, int view)
{
    if (TG_NEED("pair_geom", aux_row) || TG_NEED_RANGE("pair_geom", view, 0, 1)) return (tg_view_geom){0};
    const float *a = aux_row + view * TG_PAIR_VIEW_AUX;
    return (tg_view_geom){.crop = {(int)a[0], (int)a[1], (int)a[2], (int)a[3]}, .flipped = a[4] != 0.0f,
                          .size = (int)a[5]};
}

static int prepare_pair(void *ctx, const tg_sample *s, int64_t index, tg_rng *rng, const tg_loader_slots *slots)
{
    (void)index;
    const tg_aug_pretrain *aug = ctx;
    for (int v = 0; v < 2; v++) {
        tg_view_geom g;
        if (tg_aug_pretrain_view(aug, &s->image, rng, slots->fields[v], &g)) return -1;
        put_geom(&g, slots->aux + v * TG_PAIR_VIEW_AUX);
    }
    return 0;
}

tg_loader_config tg_pretrain_pairs_config(const tg_aug_pretrain *aug)
{
    if (TG_NEED("pretrain_pairs_config", aug)) return (tg_loader_config){0};
    return (tg_loader_config){.batch_size = 1,
                              .num_fields = 2,
                              .field_shape = {image_shape(aug->size, aug->size), image_shape(aug->size, aug->size)},
                              .aux_size = 2 * TG_PAIR_VIEW_AUX,
                              .prepare = prepare_pair,
                              .ctx = (void *)aug};
}

static int prepare_seg_train(void *ctx, const tg_sample *s, int64_t index, tg_rng *rng, const tg_loader_slots *slots)
{
    (void)index;
    if (!s->mask.data) return TG_FAIL("segmentation: the sample has no mask");
    return tg_aug_seg_train(ctx, &s->image, &s->mask, rng, slots->fields[0], slots->mask);
}

tg_loader_config tg_seg_train_config(const tg_aug_seg *aug)
{
    if (TG_NEED("seg_train_config", aug)) return (tg_loader_config){0};
    return (tg_loader_config){.batch_size = 1,
                              .num_fields = 1,
                              .field_shape = {image_shape(aug->crop_h, aug->crop_w)},
                              .has_mask = true,
                              .mask_height = aug->crop_h,
                              .mask_width = aug->crop_w,
                              .prepare = prepare_seg_train,
                              .ctx = (void *)aug};
}

static int prepare_seg_test(void *ctx, const tg_sample *s, int64_t index, tg_rng *rng, const tg_loader_slots *slots)
{
    (void)rng;
    const tg_seg_test *t = ctx;
    const tg_image *img = &s->image, *mask = &s->mask;
    if (img->height != t->height || img->width != t->width)
        return TG_FAIL("segmentation test: sample %lld is %dx%d, the loader expects %dx%d", (long long)index,
                       img->height, img->width, t->height, t->width);
    if (!mask->data || mask->height != img->height || mask->width != img->width)
        return TG_FAIL("segmentation test: sample %lld has no mask of its image's size", (long long)index);
    for (int64_t i = 0; i < (int64_t)mask->height * mask->width; i++) slots->mask[i] = mask->data[i];
    return tg_aug_seg_test(&t->aug, img, slots->fields[0]);
}

tg_loader_config tg_seg_test_config(const tg_seg_test *test)
{
    if (TG_NEED("seg_test_config", test)) return (tg_loader_config){0};
    int h, w;
    tg_aug_seg_test_size(&test->aug, test->height, test->width, &h, &w);
    return (tg_loader_config){.batch_size = 1,
                              .num_fields = 1,
                              .field_shape = {image_shape(h, w)},
                              .has_mask = true,
                              .mask_height = test->height,
                              .mask_width = test->width,
                              .prepare = prepare_seg_test,
                              .ctx = (void *)test};
}
