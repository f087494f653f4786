/* Loss kernels: fused cross-entropy over a class dim and its gradient,
 * NLL (tensor/nll_loss.c) and InfoNCE against a queue (tensor/info_nce.c).
 *
 * Raw, non-differentiable forms (autograd/ops_loss.c wraps them), with the
 * meaning of torch.nn.functional.cross_entropy and nll_loss with the options
 * of tensor/options.h (NULL: the defaults). Inputs are float32 of any
 * strides, targets int64 of any strides; outputs are new contiguous tensors. */
#ifndef TG_LOSS_H
#define TG_LOSS_H

#include "tensor/options.h"
#include "tensor/tensor.h"

/* Cross-entropy of logits (N,C) or (N,C,d1,...,dk) against targets (N)
 * or (N,d1,...,dk), over the positions whose target is not ignore_index:
 * a 0-dim tensor (the mean is NaN when every target is ignored: 0/0, as
 * PyTorch), or the target's shape with reduction none (0 where ignored). A
 * target outside [0, C) other than ignore_index fails, naming its value and
 * position. If lse is not NULL, *lse gets each position's log-sum-exp over
 * the classes (float32, the target's shape), which the backward reuses.
 * Positions are split over threads, each computed alone (a stable
 * log-sum-exp, summed in double); the loss adds fixed blocks of positions
 * in a fixed order, in double, so its bits do not depend on the thread
 * count. The class dim may be strided (N,C,H,W): nothing is permuted. */
tg_tensor *tg_k_cross_entropy(tg_tensor *logits, tg_tensor *target, const tg_cross_entropy_opts *opts,
                              tg_tensor **lse);

/* d loss / d logits for the incoming gradient g (one element, or the
 * target's shape with reduction none), with lse from the forward: 0 at
 * ignored positions. Logits' shape, contiguous. */
tg_tensor *tg_k_cross_entropy_backward(tg_tensor *g, tg_tensor *logits, tg_tensor *target, tg_tensor *lse,
                                       const tg_cross_entropy_opts *opts);

/* NLL of log-probabilities x: -w[t] x[t] per counted position, reduced as
 * cross-entropy's; label_smoothing must be 0. Its gradient is -g w[t] at
 * each counted target, 0 elsewhere. */
tg_tensor *tg_k_nll_loss(tg_tensor *x, tg_tensor *target, const tg_cross_entropy_opts *opts);
tg_tensor *tg_k_nll_loss_backward(tg_tensor *g, tg_tensor *x, tg_tensor *target, const tg_cross_entropy_opts *opts);

/* InfoNCE against a queue of negatives, as MoCo and DenseCL compute it
 * (tensor/info_nce.c): for each row r of q (R, D), the logits
 *   [<q_r, pos_r>, <q_r, queue_1>, ..., <q_r, queue_K>] / tau
 * and cross-entropy with target 0, averaged over the R rows: a 0-dim
 * tensor. pos is (R, D), queue (K, D); any strides, float32. *correct (may
 * be NULL) gets how many rows have their positive logit largest (a tie
 * counts, as argmax takes the first). grad (may be NULL) gets d loss / d q
 * (R, D), contiguous, computed while each block of rows' logits is in
 * cache: the R x (1 + K) logits are never stored whole. Rows are split
 * over threads, each computed alone in a fixed order, so the bits do not
 * depend on the thread count. */
tg_tensor *tg_k_info_nce(tg_tensor *q, tg_tensor *pos, tg_tensor *queue, float tau, int64_t *correct,
                         tg_tensor **grad);

#endif
