/* The transport over Open MPI (see internal/backend.h). MPI_COMM_WORLD
 * returns its errors (MPI_ERRORS_RETURN) instead of aborting, and each is
 * recorded with MPI's own text. MPI counts are ints: larger tensors go in
 * pieces of CHUNK elements. Outside a job (before init, after finalize)
 * the process is rank 0 of one and the collectives are the identity. */
#include "dist/internal/backend.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

enum { CHUNK = 1 << 30 };

static bool joined; /* initialised here and not finalised */

/* -1 with "dist <what>: MPI's message" unless rc is MPI_SUCCESS. */
static int check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return 0;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "MPI error %d", rc);
    return TG_FAIL("dist %s: %s", what, text);
}

static MPI_Datatype mpi_type(tg_dtype dtype) { return dtype == TG_INT64 ? MPI_INT64_T : MPI_FLOAT; }

/* Whether an MPI launcher started this process (Open MPI's mpirun sets
 * both; other launchers PMIX_RANK or PMI_RANK). */
static bool launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int tg_dist_backend_init(int *argc, char ***argv)
{
    if (!launched()) return 0;
    int started = 0, provided = 0;
    if (check(MPI_Initialized(&started), "init")) return -1;
    if (!started && check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "init")) return -1;
    if (check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "init")) return -1;
    joined = true;
    return 0;
}

int tg_dist_backend_finalize(void)
{
    if (!joined) return 0;
    joined = false;
    int rc = check(MPI_Barrier(MPI_COMM_WORLD), "finalize");
    return check(MPI_Finalize(), "finalize") || rc ? -1 : 0;
}

bool tg_dist_backend_available(void) { return true; }

int tg_dist_backend_rank(void)
{
    int rank = 0;
    if (joined) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int tg_dist_backend_size(void)
{
    int size = 1;
    if (joined) MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int tg_dist_backend_barrier(void) { return joined ? check(MPI_Barrier(MPI_COMM_WORLD), "barrier") : 0; }

int tg_dist_backend_broadcast(void *buf, int64_t count, tg_dtype dtype, int root)
{
    size_t size = tg_dtype_size(dtype);
    for (int64_t at = 0; joined && at < count; at += CHUNK) {
        int n = (int)(count - at < CHUNK ? count - at : CHUNK);
        if (check(MPI_Bcast((char *)buf + at * size, n, mpi_type(dtype), root, MPI_COMM_WORLD), "broadcast"))
            return -1;
    }
    return 0;
}

int tg_dist_backend_allreduce_sum(void *buf, int64_t count, tg_dtype dtype)
{
    size_t size = tg_dtype_size(dtype);
    for (int64_t at = 0; joined && at < count; at += CHUNK) {
        int n = (int)(count - at < CHUNK ? count - at : CHUNK);
        if (check(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * size, n, mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD),
                  "allreduce"))
            return -1;
    }
    return 0;
}

int tg_dist_backend_allgather(const void *send, void *recv, int64_t bytes)
{
    if (!joined) {
        if (bytes > 0) memcpy(recv, send, (size_t)bytes);
        return 0;
    }
    if (bytes > CHUNK) return TG_FAIL("dist allgather: %lld bytes a rank; at most %d", (long long)bytes, CHUNK);
    return check(MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, MPI_COMM_WORLD), "allgather");
}

int tg_dist_backend_allreduce_start(void *buf, int64_t count, tg_dtype dtype, void **request)
{
    *request = NULL;
    if (!joined || count == 0) return 0;
    MPI_Request *r = malloc(sizeof *r);
    if (!r) return TG_FAIL("dist allreduce: out of memory");
    if (check(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD, r),
              "allreduce")) {
        free(r);
        return -1;
    }
    *request = r;
    return 0;
}

int tg_dist_backend_test(void *request, bool *done)
{
    int flag = 1;
    int rc = request ? check(MPI_Test(request, &flag, MPI_STATUS_IGNORE), "allreduce") : 0;
    *done = flag != 0;
    return rc;
}

int tg_dist_backend_wait(void *request)
{
    int rc = request ? check(MPI_Wait(request, MPI_STATUS_IGNORE), "allreduce") : 0;
    free(request);
    return rc;
}
