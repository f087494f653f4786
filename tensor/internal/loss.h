/* Loss kernels: fused cross-entropy over a class dim and its gradient.
 *
 * Raw, non-differentiable forms (autograd/ops_loss.c wraps them), with the
 * meaning of torch.nn.functional.cross_entropy(reduction='mean',
 * ignore_index=...). Logits are float32 of any strides, targets int64 of
 * any strides; outputs are new contiguous tensors. */
#ifndef TG_LOSS_H
#define TG_LOSS_H

#include "tensor/tensor.h"

/* Mean cross-entropy of logits (N,C) or (N,C,d1,...,dk) against targets (N)
 * or (N,d1,...,dk), over the positions whose target is not ignore_index: a
 * 0-dim tensor, NaN when every target is ignored (0/0, as PyTorch). A
 * target outside [0, C) other than ignore_index fails, naming its value and
 * position. If lse is not NULL, *lse gets each position's log-sum-exp over
 * the classes (float32, the target's shape), which the backward reuses.
 * Positions are split over threads, each computed alone (a stable
 * log-sum-exp, summed in double); the loss adds fixed blocks of positions
 * in a fixed order, in double, so its bits do not depend on the thread
 * count. The class dim may be strided (N,C,H,W): nothing is permuted. */
tg_tensor *tg_k_cross_entropy(tg_tensor *logits, tg_tensor *target, int64_t ignore_index, tg_tensor **lse);

/* d loss / d logits times g (a one-element float32 tensor):
 * (softmax - onehot(target)) * g / count at the positions that count, 0 at
 * ignored ones, with lse from the forward. Logits' shape, contiguous. */
tg_tensor *tg_k_cross_entropy_backward(tg_tensor *g, tg_tensor *logits, tg_tensor *target, tg_tensor *lse,
                                       int64_t ignore_index);

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
