/* The collectives a data-parallel pretraining step makes, timed alone under
 * mpirun: an allreduce of the gradients' bytes (blocking, as the last
 * bucket waits) and an allgather of each rank's bytes (the key images and
 * key features of shuffle BN). run_ranks.sh uses it to say how much of
 * the step's communication the backward hides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"
#include "timing.h"
#include "usage.h"

#define OPTIONS "[--allreduce-mb 3.06] [--allgather-mb 10.5] [--reps 20]"
#define ABOUT "under mpirun -np N: median seconds of one allreduce (sum, float32) and one allgather (bytes a rank)"

/* Median seconds of reps calls of op on t (the first two left out, to warm the transport). */
static double time_of(int (*op)(tg_tensor *), tg_tensor *t, int reps)
{
    double *s = calloc((size_t)reps, sizeof *s);
    for (int i = -2; s && i < reps; i++) {
        tg_dist_barrier();
        double t0 = bench_now();
        if (op(t)) {
            fprintf(stderr, "bench_collectives: %s\n", tg_last_error());
            exit(1);
        }
        if (i >= 0) s[i] = bench_now() - t0;
    }
    double median = s ? bench_median(s, reps) : -1;
    free(s);
    return median;
}

static int bad_usage(const char *prog)
{
    bench_usage_error(prog, OPTIONS);
    return 2;
}

static int allreduce(tg_tensor *t) { return tg_dist_allreduce(t, TG_DIST_SUM); }

static int allgather(tg_tensor *t)
{
    tg_tensor *all = tg_dist_allgather(t);
    tg_release(all);
    return all ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (bench_help(argc, argv, OPTIONS, ABOUT)) return 0;
    double reduce_mb = 3.06, gather_mb = 10.5;
    int reps = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--allreduce-mb")) reduce_mb = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--allgather-mb")) gather_mb = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else return bad_usage(argv[0]);
    }
    if (argc % 2 == 0 || reps < 1 || reduce_mb <= 0 || gather_mb <= 0) return bad_usage(argv[0]);
    if (tg_dist_init(&argc, &argv)) {
        fprintf(stderr, "bench_collectives: %s\n", tg_last_error());
        return 1;
    }
    tg_tensor *grads = tg_zeros(TG_SHAPE((int64_t)(reduce_mb * 1e6 / 4)), TG_FLOAT32);
    tg_tensor *mine = tg_zeros(TG_SHAPE((int64_t)(gather_mb * 1e6 / 4)), TG_FLOAT32);
    double reduce_s = time_of(allreduce, grads, reps), gather_s = time_of(allgather, mine, reps);
    if (tg_dist_rank() == 0)
        printf("ranks %d: allreduce of %.2f MB %.5f s; allgather of %.2f MB a rank %.5f s\n", tg_dist_world_size(),
               reduce_mb, reduce_s, gather_mb, gather_s);
    tg_release(grads), tg_release(mine);
    return tg_dist_finalize() ? 1 : 0;
}
