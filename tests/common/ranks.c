/* The tests' helpers for a job of several ranks (see ranks.h). */
#include "ranks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int run_on_every_rank(Suite *s, int *argc, char ***argv)
{
    if (tg_dist_init(argc, argv)) {
        fprintf(stderr, "%s: %s\n", (*argv)[0], tg_last_error());
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tg_tensor *any = tg_from_data(TG_SHAPE(1), TG_INT64, (int64_t[]){failed});
    int rc = tg_dist_allreduce(any, TG_DIST_SUM) || tg_data_i64(any)[0] ? EXIT_FAILURE : EXIT_SUCCESS;
    tg_release(any);
    return tg_dist_finalize() ? EXIT_FAILURE : rc;
}

void assert_same_on_every_rank(tg_tensor *t, const char *name)
{
    tg_tensor *all = tg_dist_allgather(t);
    ck_assert_msg(all != NULL, "%s: %s", name, tg_last_error());
    bool ints = t->dtype == TG_INT64;
    size_t bytes = (size_t)tg_numel(t) * (ints ? 8 : 4);
    const char *base = ints ? (const char *)tg_data_i64(all) : (const char *)tg_data_f32(all);
    for (int r = 1; r < tg_dist_world_size(); r++)
        ck_assert_msg(!memcmp(base + (size_t)r * bytes, base, bytes), "rank %d's %s is not rank 0's", r, name);
    tg_release(all);
}
