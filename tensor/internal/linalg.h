/* Matrix products (float32) through BLIS.
 *
 * Raw, non-differentiable forms (autograd/ops_linalg.c wraps them). Operands
 * go to BLIS with their own strides: a transposed or narrowed view (one unit
 * stride) costs no copy. Only a matrix with no unit stride, or an expanded
 * one (stride 0 on a dim of size > 1), is copied to contiguous first.
 *
 * Results are bitwise identical whatever the thread count: BLIS splits the
 * output, never the k loop. BLIS runs on the thread count of
 * tg_set_num_threads; called inside an OpenMP parallel region it runs on one
 * thread (better: do not call it there). */
#ifndef TG_LINALG_H
#define TG_LINALG_H

#include "tensor/tensor.h"

/* torch.matmul: 1-D @ 1-D is a dot product (0-dim result); a 1-D left
 * operand is a row (its dim removed from the result), a 1-D right operand a
 * column; with 2 or more dims the leading ones are batch dims, broadcast
 * (NumPy rules). Returns a new contiguous tensor, or NULL with an error such
 * as "matmul: (2,3) @ (4,5): inner sizes 3 and 4 differ". */
tg_tensor *tg_k_matmul(tg_tensor *a, tg_tensor *b);

/* (B,M,K) @ (B,K,N) -> (B,M,N); no broadcasting. */
tg_tensor *tg_k_bmm(tg_tensor *a, tg_tensor *b);

/* The shape torch.matmul(a, b) would have, into *ndim and shape
 * (TG_MAX_DIMS entries); 0, or -1 with the error tg_k_matmul would give. */
int tg_k_matmul_shape(const tg_tensor *a, const tg_tensor *b, int *ndim, int64_t *shape);

/* c = alpha * a @ b + beta * c for 2-D float32 a (M,K), b (K,N) and c (M,N),
 * any strides; c must not overlap a or b. beta == 0 ignores c's old values
 * (NaNs included). Bumps c's version. Returns 0 or -1. */
int tg_k_gemm_into(tg_tensor *c, tg_tensor *a, tg_tensor *b, float alpha, float beta);

/* The same on raw float32 buffers, for kernels inside tensor/ (convolution):
 * A is m x k with element strides (rsa, csa), B k x n, C m x n. Any strides
 * are accepted (those of size-1 dims are ignored); matrices BLIS cannot take
 * as they are (no unit stride, stride 0) are packed into a temporary first.
 * Returns 0, or -1 with error (negative sizes, out of memory). */
int tg_k_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
               const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc);

/* ---- BLIS's register-tile kernel, for kernels that pack their own operands ----
 *
 * tg_k_tile computes one tile C (m x n, m <= mr, n <= nr) = A B + beta C
 * from packed panels: A holds mr floats for each of the k steps (k * mr
 * in all, 64-byte aligned), B nr floats a step. A panel's rows past m
 * (columns past n) must hold finite values (zeros) and are not written
 * back. Any C strides are accepted; rs_c == 1 is fastest with the kernels
 * BLIS uses here (skx, haswell: the wrapper turns the problem around for
 * kernels that prefer rows). tensor/conv_gemm.c packs its panels straight
 * from images (implicit GEMM), skipping the column buffer. Safe to call from
 * several threads at once. */
typedef struct tg_k_tile_dims {
    int64_t mr, nr; /* the tile */
    int64_t mc, kc; /* BLIS's blocking: rows of A and steps of k kept in cache at once */
} tg_k_tile_dims;

tg_k_tile_dims tg_k_tile_dims_get(void);
void tg_k_tile(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float beta, float *c, int64_t rs_c,
               int64_t cs_c);

/* C (m x n) = A B + beta C for products too small for BLIS's framework to
 * pay (attention's tiles: tens of rows and columns): A (m x k) and B (k x
 * n) with any element strides are packed into ws and every tile runs on
 * tg_k_tile. ws: tg_k_small_gemm_floats(m, n, k) floats, 64-byte aligned.
 * No threads of its own; safe to call from several at once. k >= 1. */
int64_t tg_k_small_gemm_floats(int64_t m, int64_t n, int64_t k);
void tg_k_small_gemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                     int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc, float *ws);

#endif
