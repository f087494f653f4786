/* The ready-made loader configurations (data/pipelines.h) on ShapeScenes:
 * pretraining pairs (shapes, geometry in aux, views that differ, the same
 * batches for any number of workers, no masks read), segmentation training
 * samples (labels only where the scene has them, padding ignored) and test
 * samples (the mask as the dataset has it, a wrong size refused). */
#include <check.h>
#include <math.h>
#include <string.h>

#include "suites.h"
#include "tensorgrad.h"

static tg_dataset *scenes(tg_shapescenes_split split, unsigned count)
{
    tg_shapescenes_config cfg = tg_shapescenes_defaults(split);
    cfg.count = count;
    tg_dataset *ds = tg_shapescenes_open(&cfg);
    ck_assert_msg(ds != NULL, "%s", tg_last_error());
    return ds;
}

/* The first batch of a loader over ds with cfg, batch 4, seed 7. */
static tg_batch first_batch(tg_dataset *ds, tg_loader_config cfg, int workers)
{
    cfg.batch_size = 4;
    cfg.seed = 7;
    cfg.shuffle = true;
    cfg.num_workers = workers;
    tg_loader *l = tg_loader_new(ds, &cfg);
    ck_assert_msg(l != NULL, "%s", tg_last_error());
    tg_batch b;
    ck_assert_msg(tg_loader_next(l, &b) == 1, "%s", tg_last_error());
    tg_loader_free(l);
    return b;
}

static bool same_tensor(tg_tensor *a, tg_tensor *b)
{
    return tg_numel(a) == tg_numel(b) &&
           memcmp(tg_data_f32(a), tg_data_f32(b), (size_t)tg_numel(a) * sizeof(float)) == 0;
}

START_TEST(test_pretrain_pairs)
{
    tg_dataset *ds = scenes(TG_SHAPESCENES_PRETRAIN, 16);
    tg_aug_pretrain aug = tg_aug_pretrain_default(32);
    tg_batch b = first_batch(ds, tg_pretrain_pairs_config(&aug), 0);
    ck_assert_int_eq(b.n, 4);
    ck_assert_ptr_null(b.mask);
    for (int v = 0; v < 2; v++) {
        tg_tensor *f = b.fields[v];
        ck_assert(f->ndim == 4 && f->shape[0] == 4 && f->shape[1] == 3 && f->shape[2] == 32 && f->shape[3] == 32);
    }
    ck_assert(!same_tensor(b.fields[0], b.fields[1]));
    for (int v = 0; v < 2; v++) { /* a normalised image, not zeros */
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < tg_numel(b.fields[v]); i++)
            lo = fminf(lo, tg_data_f32(b.fields[v])[i]), hi = fmaxf(hi, tg_data_f32(b.fields[v])[i]);
        ck_assert(lo < -0.5f && hi > 0.5f);
    }
    ck_assert(b.aux->shape[1] == 2 * TG_PAIR_VIEW_AUX);
    int same_crops = 0;
    for (int i = 0; i < 4; i++) {
        const float *row = tg_data_f32(b.aux) + i * 2 * TG_PAIR_VIEW_AUX;
        same_crops += memcmp(row, row + TG_PAIR_VIEW_AUX, TG_PAIR_VIEW_AUX * sizeof *row) == 0;
        for (int v = 0; v < 2; v++) {
            tg_view_geom g = tg_pair_geom(row, v);
            ck_assert_int_eq(g.size, 32);
            ck_assert(g.crop.x >= 0 && g.crop.y >= 0 && g.crop.w >= 1 && g.crop.h >= 1);
            ck_assert(g.crop.x + g.crop.w <= 64 && g.crop.y + g.crop.h <= 64);
            /* at least 0.2 of the area, as the recipe's scale says (less
             * rounding) */
            ck_assert(g.crop.w * g.crop.h >= 0.19 * 64 * 64);
        }
    }
    ck_assert_int_eq(same_crops, 0);
    tg_batch two = first_batch(ds, tg_pretrain_pairs_config(&aug), 2);
    for (int k = 0; k < 2; k++) ck_assert(same_tensor(b.fields[k], two.fields[k]));
    ck_assert(same_tensor(b.aux, two.aux));
    tg_batch_release(&b);
    tg_batch_release(&two);
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_seg_train_samples)
{
    tg_dataset *ds = scenes(TG_SHAPESCENES_TRAIN, 8);
    tg_aug_seg aug = tg_aug_seg_default(48);
    tg_batch b = first_batch(ds, tg_seg_train_config(&aug), 1);
    ck_assert(b.fields[0]->shape[1] == 3 && b.fields[0]->shape[2] == 48 && b.fields[0]->shape[3] == 48);
    ck_assert(b.mask->ndim == 3 && b.mask->shape[1] == 48 && b.mask->shape[2] == 48);
    const int64_t *m = tg_data_i64(b.mask);
    int64_t things = 0;
    for (int64_t i = 0; i < tg_numel(b.mask); i++) {
        ck_assert_msg((m[i] >= 0 && m[i] <= 8) || m[i] == 255, "label %lld", (long long)m[i]);
        things += m[i] >= 1 && m[i] <= 8;
    }
    ck_assert_int_gt(things, 0);
    tg_batch_release(&b);
    tg_dataset_free(ds);
}
END_TEST

START_TEST(test_seg_test_samples)
{
    tg_dataset *ds = scenes(TG_SHAPESCENES_TEST, 4);
    tg_seg_test t = {.aug = tg_aug_seg_default(64), .height = 64, .width = 64};
    tg_batch b = first_batch(ds, tg_seg_test_config(&t), 0);
    ck_assert(b.fields[0]->shape[2] == 64 && b.fields[0]->shape[3] == 64);
    for (int i = 0; i < 4; i++) {
        tg_sample s;
        ck_assert_int_eq(ds->get(ds, tg_data_i64(b.index)[i], &s), 0);
        const int64_t *m = tg_data_i64(b.mask) + i * 64 * 64;
        for (int p = 0; p < 64 * 64; p++) ck_assert_int_eq(m[p], s.mask.data[p]);
        /* pixel 0, red: normalised with mmseg's mean and std */
        float want = ((float)s.image.data[0] - t.aug.mean[0]) / t.aug.std[0];
        ck_assert_float_eq_tol(tg_data_f32(b.fields[0])[i * 3 * 64 * 64], want, 1e-4);
        tg_sample_free(&s);
    }
    tg_batch_release(&b);

    t.height = 60;
    tg_loader_config cfg = tg_seg_test_config(&t);
    cfg.batch_size = 2;
    tg_loader *l = tg_loader_new(ds, &cfg);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(tg_loader_next(l, &b), -1);
    ck_assert_msg(strstr(tg_last_error(), "is 64x64, the loader expects 60x64") != NULL, "%s", tg_last_error());
    tg_loader_free(l);
    tg_dataset_free(ds);
}
END_TEST

Suite *pipelines_suite(void)
{
    Suite *s = suite_create("pipelines");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pretrain_pairs);
    tcase_add_test(tc, test_seg_train_samples);
    tcase_add_test(tc, test_seg_test_samples);
    suite_add_tcase(s, tc);
    return s;
}
