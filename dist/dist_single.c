/* The transport of a build without MPI (see internal/backend.h): the
 * process is rank 0 of a job of one, and every collective is the identity. */
#include "dist/internal/backend.h"

#include <string.h>

int tg_dist_backend_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int tg_dist_backend_finalize(void) { return 0; }
bool tg_dist_backend_available(void) { return false; }
int tg_dist_backend_rank(void) { return 0; }
int tg_dist_backend_size(void) { return 1; }
int tg_dist_backend_barrier(void) { return 0; }

int tg_dist_backend_broadcast(void *buf, int64_t count, tg_dtype dtype, int root)
{
    (void)buf, (void)count, (void)dtype, (void)root;
    return 0;
}

int tg_dist_backend_allreduce_sum(void *buf, int64_t count, tg_dtype dtype)
{
    (void)buf, (void)count, (void)dtype;
    return 0;
}

int tg_dist_backend_allgather(const void *send, void *recv, int64_t bytes)
{
    if (bytes > 0) memcpy(recv, send, (size_t)bytes);
    return 0;
}

int tg_dist_backend_allreduce_start(void *buf, int64_t count, tg_dtype dtype, void **request)
{
    (void)buf, (void)count, (void)dtype;
    *request = NULL;
    return 0;
}

int tg_dist_backend_test(void *request, bool *done)
{
    (void)request;
    *done = true;
    return 0;
}

int tg_dist_backend_wait(void *request)
{
    (void)request;
    return 0;
}
