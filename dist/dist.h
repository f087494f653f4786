/* Communication between the processes of one data-parallel job: Open MPI
 * behind tg_dist_*. A job is N processes started together (mpirun -np N),
 * each a rank 0..N-1; collectives are called by every rank in the same
 * order. Without MPI (built with -Dmpi=disabled, or Open MPI not found),
 * or before tg_dist_init, the process is rank 0 of a job of one and every
 * collective leaves its tensors as they are: programs run the same code
 * either way.
 *
 * MPI's errors come back as -1 with the error recorded (tensor/error.h),
 * never as an abort from the library. Tensors passed to the in-place
 * collectives must be contiguous float32 or int64 and alike on every rank
 * (shape and dtype); results are the same bits for the same number of
 * ranks. Only the thread that called tg_dist_init may call the others. */
#ifndef TG_DIST_H
#define TG_DIST_H

#include <stdbool.h>

#include "tensor/export.h"
#include "tensor/tensor.h"

typedef enum tg_dist_op {
    TG_DIST_SUM,  /* elementwise sum over the ranks */
    TG_DIST_MEAN, /* the sum divided by the number of ranks (float32 only) */
} tg_dist_op;

/* Joins the job (MPI_Init_thread, funneled; argc and argv may be NULL)
 * when the process was started by an MPI launcher (mpirun sets
 * OMPI_COMM_WORLD_SIZE or PMIX_RANK); a process started alone stays rank
 * 0 of a job of one without starting MPI. Once per process; a second call
 * does nothing. 0, or -1 with an error. */
TG_API int tg_dist_init(int *argc, char ***argv);
/* Leaves the job after a barrier (MPI_Finalize). 0 or -1. */
TG_API int tg_dist_finalize(void);
/* Whether the library was built with MPI. */
TG_API bool tg_dist_available(void);
/* This process's rank and the job's size (0 and 1 outside a job). */
TG_API int tg_dist_rank(void);
TG_API int tg_dist_world_size(void);

/* Whether every rank succeeded at something each did on its own: rc is
 * this rank's 0 or -1. 0 when every rank's was 0; otherwise -1 on every
 * rank, the ranks that failed keeping their error, the others recording
 * "rank R failed" (the first that did). */
TG_API int tg_dist_agree(int rc);
/* Waits until every rank has called it. 0 or -1. */
TG_API int tg_dist_barrier(void);
/* t on every rank becomes root's t. 0 or -1 (root out of range, a tensor
 * that is not contiguous float32 or int64, MPI's error). */
TG_API int tg_dist_broadcast(tg_tensor *t, int root);
/* t on every rank becomes op over the ranks' t, elementwise. 0 or -1. */
TG_API int tg_dist_allreduce(tg_tensor *t, tg_dist_op op);
/* Every rank's t (any strides; the same shape on every rank) stacked along
 * a new first dim in rank order: (world size, t's shape). NULL with an
 * error on every rank if the ranks' shapes differ. */
TG_API tg_tensor *tg_dist_allgather(tg_tensor *t);

/* An allreduce running in the background (tg_dist_allreduce_start). */
typedef struct tg_dist_work tg_dist_work;
/* Starts tg_dist_allreduce(t, op) and returns at once, so that computing
 * can go on while it runs: t (at most 2^30 elements) is the collective's
 * until tg_dist_wait, and must be neither read nor written before. Every
 * rank starts its collectives in the same order. NULL with an error. */
TG_API tg_dist_work *tg_dist_allreduce_start(tg_tensor *t, tg_dist_op op);
/* Moves work along (MPI progresses a collective only inside its calls):
 * 1 when it has finished, 0 while it runs, -1 with an error. */
TG_API int tg_dist_test(tg_dist_work *work);
/* Waits until work has finished and frees it (NULL: nothing to wait
 * for); its tensor then holds the result. 0, or -1 with an error (work
 * freed either way). */
TG_API int tg_dist_wait(tg_dist_work *work);

/* 0 when every rank passed the same bytes (a program's settings), else
 * -1 on every rank with "<what> differs between ranks: rank R's is not
 * rank 0's". Compares a 64-bit hash of the bytes. */
TG_API int tg_dist_check_same(const void *data, size_t len, const char *what);

#endif
