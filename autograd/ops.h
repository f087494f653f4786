/* Differentiable ops: the forms users call.
 *
 * Each has the meaning of the PyTorch function with that name, and records
 * a graph node when an input requires grad (see autograd.h). Every returned
 * tensor is a new reference. Ops whose names end in '_' work in place: they
 * return 0 or -1, bump the version and, when recording, rebase the tensor
 * onto the new node. Ops with no gradient (comparisons, argmax, fills,
 * parameter updates...) are in ops_nograd.h. */
#ifndef TG_OPS_H
#define TG_OPS_H

#include "tensor/export.h"
#include "tensor/options.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"

/* ---- elementwise (ops_elementwise.c) ---- */
TG_API tg_tensor *tg_add(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_sub(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_mul(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_div(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_pow(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_maximum(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_minimum(tg_tensor *a, tg_tensor *b);
TG_API tg_tensor *tg_neg(tg_tensor *t);
TG_API tg_tensor *tg_exp(tg_tensor *t);
TG_API tg_tensor *tg_log(tg_tensor *t);
TG_API tg_tensor *tg_sqrt(tg_tensor *t);
TG_API tg_tensor *tg_abs(tg_tensor *t);
TG_API tg_tensor *tg_relu(tg_tensor *t);
TG_API tg_tensor *tg_sigmoid(tg_tensor *t);
TG_API tg_tensor *tg_tanh(tg_tensor *t);
TG_API tg_tensor *tg_pow_scalar(tg_tensor *t, float exponent);
TG_API tg_tensor *tg_clamp(tg_tensor *t, float lo, float hi);
TG_API tg_tensor *tg_add_scalar(tg_tensor *t, float s);
TG_API tg_tensor *tg_mul_scalar(tg_tensor *t, float s);
/* cond (float mask, no gradient) != 0 ? a : b */
TG_API tg_tensor *tg_where(tg_tensor *cond, tg_tensor *a, tg_tensor *b);
/* t with value where mask (float, != 0; broadcast to t's shape, no
 * gradient) is set, as torch.Tensor.masked_fill */
TG_API tg_tensor *tg_masked_fill(tg_tensor *t, tg_tensor *mask, float value);

/* in place */
TG_API int tg_add_(tg_tensor *a, tg_tensor *b);
TG_API int tg_sub_(tg_tensor *a, tg_tensor *b);
TG_API int tg_mul_(tg_tensor *a, tg_tensor *b);
TG_API int tg_relu_(tg_tensor *t);
TG_API int tg_add_scalar_(tg_tensor *t, float s);
TG_API int tg_mul_scalar_(tg_tensor *t, float s);

/* ---- activations (ops_activation.c), PyTorch's formulas ---- */
/* GELU exact (x Phi(x), erf) or with PyTorch's tanh approximation. */
typedef enum tg_gelu_approximate { TG_GELU_EXACT, TG_GELU_TANH } tg_gelu_approximate;
TG_API tg_tensor *tg_gelu(tg_tensor *t, tg_gelu_approximate approximate);
/* x sigmoid(x) (also called swish) */
TG_API tg_tensor *tg_silu(tg_tensor *t);
/* x > 0 ? x : negative_slope x (PyTorch's default slope: 0.01) */
TG_API tg_tensor *tg_leaky_relu(tg_tensor *t, float negative_slope);
/* x > 0 ? x : alpha (exp(x) - 1) (default alpha: 1) */
TG_API tg_tensor *tg_elu(tg_tensor *t, float alpha);
/* log(1 + exp(beta x)) / beta, or x where beta x > threshold (defaults:
 * beta 1, threshold 20); beta must not be 0 */
TG_API tg_tensor *tg_softplus(tg_tensor *t, float beta, float threshold);
/* log(sigmoid(x)), without overflow for large |x| */
TG_API tg_tensor *tg_log_sigmoid(tg_tensor *t);
TG_API tg_tensor *tg_erf(tg_tensor *t);
TG_API tg_tensor *tg_sin(tg_tensor *t);
TG_API tg_tensor *tg_cos(tg_tensor *t);

/* ---- views and copies (ops_view.c); gradients flow to the base ---- */
TG_API tg_tensor *tg_view(tg_tensor *t, int ndim, const int64_t *shape);
TG_API tg_tensor *tg_reshape(tg_tensor *t, int ndim, const int64_t *shape);
TG_API tg_tensor *tg_permute(tg_tensor *t, const int *perm);
TG_API tg_tensor *tg_transpose(tg_tensor *t, int dim0, int dim1);
TG_API tg_tensor *tg_narrow(tg_tensor *t, int dim, int64_t start, int64_t length);
TG_API tg_tensor *tg_select(tg_tensor *t, int dim, int64_t index);
TG_API tg_tensor *tg_expand(tg_tensor *t, int ndim, const int64_t *shape);
TG_API tg_tensor *tg_squeeze(tg_tensor *t, int dim);
TG_API tg_tensor *tg_unsqueeze(tg_tensor *t, int dim);
TG_API tg_tensor *tg_contiguous(tg_tensor *t);
TG_API tg_tensor *tg_clone(tg_tensor *t);

/* ---- reductions (ops_reduce.c) ---- */
TG_API tg_tensor *tg_sum(tg_tensor *t, int ndims, const int *dims, bool keepdim);
TG_API tg_tensor *tg_mean(tg_tensor *t, int ndims, const int *dims, bool keepdim);
TG_API tg_tensor *tg_var(tg_tensor *t, int ndims, const int *dims, bool unbiased, bool keepdim);
/* Gradient shared evenly among tied extremes, as torch.amax. */
TG_API tg_tensor *tg_amax(tg_tensor *t, int ndims, const int *dims, bool keepdim);
TG_API tg_tensor *tg_amin(tg_tensor *t, int ndims, const int *dims, bool keepdim);
TG_API tg_tensor *tg_softmax(tg_tensor *t, int dim);
TG_API tg_tensor *tg_log_softmax(tg_tensor *t, int dim);

/* ---- layer, RMS and group normalisation (ops_layer_norm.c) ---- */
/* F.layer_norm over the last normalized_ndim dims of x: (x - mean) /
 * sqrt(var + eps) (biased variance) per row, times weight plus bias
 * (each of the normalised dims' shape, or NULL) */
TG_API tg_tensor *tg_layer_norm(tg_tensor *x, int normalized_ndim, tg_tensor *weight, tg_tensor *bias, float eps);
/* x / sqrt(mean(x^2) + eps) per row of the last normalized_ndim dims,
 * times weight (or NULL), as torch.nn.functional.rms_norm */
TG_API tg_tensor *tg_rms_norm(tg_tensor *x, int normalized_ndim, tg_tensor *weight, float eps);
/* F.group_norm: x (N, C, *) normalised per sample over each group of
 * C / num_groups channels, then weight and bias (C, or NULL) per channel */
TG_API tg_tensor *tg_group_norm(tg_tensor *x, int64_t num_groups, tg_tensor *weight, tg_tensor *bias, float eps);

/* ---- attention (ops_attention.c) ---- */
/* Options of tg_scaled_dot_product_attention; zero (or a NULL pointer)
 * means PyTorch's defaults: no mask, no dropout, not causal, scale
 * 1 / sqrt(E). attn_mask broadcasts to (..., L, S): float32 is added to
 * the scores, int64 keeps the pairs where it is nonzero (PyTorch's bool
 * mask); it gets no gradient. dropout_p drops weights with the
 * generator rng (advanced as by a draw of one uniform per weight). */
typedef struct tg_attention_opts {
    tg_tensor *attn_mask;
    float dropout_p;
    bool is_causal; /* query i attends to keys j <= i */
    float scale;
    tg_rng *rng;
} tg_attention_opts;
/* softmax(q k^T scale + mask) v, as F.scaled_dot_product_attention, for q
 * (..., L, E), k (..., S, E), v (..., S, Ev) with the same leading dims:
 * (..., L, Ev). Memory grows with L and S, not L S: the weights are never
 * stored (computed for 16 query rows at a time, as flash attention does;
 * the backward recomputes them). */
TG_API tg_tensor *tg_scaled_dot_product_attention(tg_tensor *q, tg_tensor *k, tg_tensor *v,
                                                  const tg_attention_opts *opts);

/* ---- recurrent cells (ops_rnn.c) ---- */
/* One LSTM step, fused: gates (N, 4H) = x W_ih^T + b_ih + h W_hh^T + b_hh in
 * PyTorch's order i, f, g, o, and c (N, H) give *c_next = f c + i g and
 * *h_next = o tanh(c_next), as nn.LSTMCell (both views of one result). */
TG_API int tg_lstm_cell(tg_tensor *gates, tg_tensor *c, tg_tensor **h_next, tg_tensor **c_next);
/* One GRU step, fused: xg = x W_ih^T + b_ih and hg = h W_hh^T + b_hh (N, 3H),
 * order r, z, n, and h (N, H) give (1 - z) n + z h, n = tanh(xg_n + r hg_n),
 * as nn.GRUCell. */
TG_API tg_tensor *tg_gru_cell(tg_tensor *xg, tg_tensor *hg, tg_tensor *h);

/* ---- running sums and triangles (ops_scan.c) ---- */
/* The running sum along dim, as torch.cumsum (summed in double). */
TG_API tg_tensor *tg_cumsum(tg_tensor *t, int dim);
/* t's matrices (last two dims) with the elements above (tril) or below
 * (triu) the diagonal-th diagonal zeroed: 0 the main one, > 0 above it,
 * < 0 below, as torch.tril / torch.triu */
TG_API tg_tensor *tg_tril(tg_tensor *t, int64_t diagonal);
TG_API tg_tensor *tg_triu(tg_tensor *t, int64_t diagonal);

/* ---- linear algebra (ops_linalg.c) ---- */
/* torch.matmul: 1-D, 2-D and batched with broadcast batch dims. */
TG_API tg_tensor *tg_matmul(tg_tensor *a, tg_tensor *b);
/* (B,M,K) x (B,K,N) -> (B,M,N) */
TG_API tg_tensor *tg_bmm(tg_tensor *a, tg_tensor *b);

/* ---- joining and indexing (ops_index.c) ---- */
TG_API tg_tensor *tg_cat(int n, tg_tensor *const *ts, int dim);
TG_API tg_tensor *tg_stack(int n, tg_tensor *const *ts, int dim);
/* out[i][j] = t[index[i][j]][j] for dim 0 (torch.gather); index is int64. */
TG_API tg_tensor *tg_gather(tg_tensor *t, int dim, tg_tensor *index);
/* F.embedding: the rows of weight (V,D) at int64 indices of any shape,
 * shaped indices.shape + (D); the gradient of row padding_idx (negative:
 * from the end) stays 0, or TG_EMBEDDING_NO_PADDING for none */
#define TG_EMBEDDING_NO_PADDING INT64_MIN
TG_API tg_tensor *tg_embedding(tg_tensor *weight, tg_tensor *indices, int64_t padding_idx);
/* torch.topk: the k largest (or smallest) entries along dim, in order,
 * into *values (differentiable) and *indices (int64); ties keep the lower
 * index first, NaN counts above every number. 0 or -1. */
TG_API int tg_topk(tg_tensor *t, int64_t k, int dim, bool largest, tg_tensor **values, tg_tensor **indices);
/* torch.sort along dim (stable: ties keep their order), the same outputs. */
TG_API int tg_sort(tg_tensor *t, int dim, bool descending, tg_tensor **values, tg_tensor **indices);
/* Entries of t along dim at the int64 1-D index. */
TG_API tg_tensor *tg_index_select(tg_tensor *t, int dim, tg_tensor *index);

/* ---- convolution (ops_conv.c; options in tensor/options.h) ---- */
/* x (N,C,H,W), w (O,C/groups,kh,kw), bias (O) or NULL -> (N,O,H',W'),
 * as torch.nn.functional.conv2d. */
TG_API tg_tensor *tg_conv2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, tg_conv2d_opts opts);
/* The transposed convolution of x (N,C_in,H,W) with w (C_in,C_out/groups,
 * kh,kw) plus bias (C_out, or NULL), as F.conv_transpose2d (NULL opts:
 * PyTorch's defaults): the gradient of conv2d with respect to its input. */
TG_API tg_tensor *tg_conv_transpose2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias,
                                      const tg_conv_transpose2d_opts *opts);

/* ---- normalisation and pooling (ops_norm.c, ops_pool.c) ---- */
/* Batch norm over (N,C,...) per channel. training: batch statistics, and
 * running_mean/running_var (C, may be NULL) updated in place with momentum
 * (unbiased variance, as PyTorch); else the running statistics. weight and
 * bias (C) may be NULL. groups > 1 (training only) computes statistics over
 * each of groups equal sub-batches of N separately (split BN, for MoCo's
 * shuffle BN on one device); the running stats get the mean of the groups'. */
TG_API tg_tensor *tg_batch_norm(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *weight,
                                tg_tensor *bias, bool training, float momentum, float eps, int groups);
/* SyncBatchNorm: tg_batch_norm whose training statistics are those of the
 * whole batch spread over the ranks of a job (dist/dist.h), each rank
 * passing its part x: the mean and variance of every part combined, the
 * running statistics updated with them, and backward's sums over the
 * batch summed across the ranks, so dx is the whole batch's gradient for
 * this part (with the ranks' losses summed; averaging the parameters'
 * gradients over the ranks, as train/data_parallel.h does, gives one
 * process's on the whole batch). weight and bias get this part's
 * gradients. Every rank calls it in the same order. With one rank it is
 * tg_batch_norm with groups 1. */
TG_API tg_tensor *tg_sync_batch_norm(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var, tg_tensor *weight,
                                     tg_tensor *bias, bool training, float momentum, float eps);
/* relu(tg_batch_norm(x, ...)) as one op, with the same values and
 * gradients (relu keeps NaN, and its gradient passes there); backward
 * recomputes the relu's mask from x instead of keeping the output. */
TG_API tg_tensor *tg_batch_norm_relu(tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var,
                                     tg_tensor *weight, tg_tensor *bias, bool training, float momentum, float eps,
                                     int groups);
/* relu(tg_batch_norm(x, ...) + residual) as one op (a ResNet block's
 * tail), residual float32 of x's shape; backward keeps residual for the
 * mask. */
TG_API tg_tensor *tg_batch_norm_add_relu(tg_tensor *x, tg_tensor *residual, tg_tensor *running_mean,
                                         tg_tensor *running_var, tg_tensor *weight, tg_tensor *bias, bool training,
                                         float momentum, float eps, int groups);
/* x (N,C,H,W); the window's options are in tensor/options.h. */
TG_API tg_tensor *tg_max_pool2d(tg_tensor *x, tg_pool2d_opts opts);
/* The same, *indices (may be NULL; a new reference, the caller releases it)
 * getting each window's maximum as an int64 (N,C,H',W') flat index h W + w
 * into its input plane, as max_pool2d(return_indices=True) (-1 for a
 * window that dilation leaves empty). */
TG_API tg_tensor *tg_max_pool2d_with_indices(tg_tensor *x, tg_pool2d_opts opts, tg_tensor **indices);
TG_API tg_tensor *tg_avg_pool2d(tg_tensor *x, tg_pool2d_opts opts);
TG_API tg_tensor *tg_adaptive_avg_pool2d(tg_tensor *x, int64_t out_h, int64_t out_w);

/* ---- layers' functional forms (ops_nn.c) ---- */
/* x (..., in) @ w^T (out, in) + bias (out) or NULL */
TG_API tg_tensor *tg_linear(tg_tensor *x, tg_tensor *w, tg_tensor *bias);
/* Zeroes elements with probability p and scales the rest by 1/(1-p) when
 * training (else returns x retained). dropout2d zeroes whole channels of
 * (N,C,H,W). The mask is drawn from rng. */
TG_API tg_tensor *tg_dropout(tg_tensor *x, float p, bool training, tg_rng *rng);
TG_API tg_tensor *tg_dropout2d(tg_tensor *x, float p, bool training, tg_rng *rng);
/* Bilinear resize of (N,C,H,W) to (out_h, out_w), as F.interpolate. */
TG_API tg_tensor *tg_upsample_bilinear(tg_tensor *x, int64_t out_h, int64_t out_w, bool align_corners);
/* F.interpolate of (N,C,H,W) in nearest or bilinear mode (tensor/options.h)
 * to a size or by scale factors, with PyTorch's rules for both */
TG_API tg_tensor *tg_interpolate(tg_tensor *x, const tg_interpolate_opts *opts);
/* x / max(||x||_2 along dim, eps), as F.normalize(p=2). */
TG_API tg_tensor *tg_normalize(tg_tensor *x, int dim, float eps);
/* Constant padding of the last dims, as F.pad: pads lists (before, after)
 * pairs from the last dim backwards; npads is 2 x the padded dims. */
TG_API tg_tensor *tg_pad(tg_tensor *x, int npads, const int64_t *pads, float value);
/* The same from the edges, as F.pad's reflect, replicate and circular
 * modes (tensor/options.h): pads >= 0, reflect's below the dim's size,
 * circular's at most it */
TG_API tg_tensor *tg_pad_edges(tg_tensor *x, int npads, const int64_t *pads, tg_pad_mode mode);

/* ---- losses (ops_loss.c) ---- */
/* Cross-entropy of logits (N,C) or (N,C,d1,...) against int64 class
 * indices (N) or (N,d1,...), as F.cross_entropy with the options of
 * tensor/options.h (NULL: PyTorch's defaults): a 0-dim tensor, or the
 * target's shape with reduction none. The mean of a batch whose targets
 * are all ignored is NaN (0/0), as in PyTorch. Class weights get no
 * gradient. */
TG_API tg_tensor *tg_cross_entropy(tg_tensor *logits, tg_tensor *target, const tg_cross_entropy_opts *opts);
/* F.nll_loss of log-probabilities (N,C) or (N,C,d1,...): -weight[t] x[t],
 * with the same options (label_smoothing must be 0) */
TG_API tg_tensor *tg_nll_loss(tg_tensor *log_probs, tg_tensor *target, const tg_cross_entropy_opts *opts);
TG_API tg_tensor *tg_mse_loss(tg_tensor *a, tg_tensor *b);
/* MoCo's InfoNCE: mean over the rows r of q (R,D) of the cross-entropy of
 * [<q_r,pos_r>, q_r queue^T] / tau against target 0 (fused: the logits
 * are never stored). pos (R,D) and queue (K,D) are constants
 * and must not require grad. *correct (may be NULL): rows whose positive
 * logit is the largest. */
TG_API tg_tensor *tg_info_nce(tg_tensor *q, tg_tensor *pos, tg_tensor *queue, float tau, int64_t *correct);

/* |input - target| (input and target broadcast together) */
TG_API tg_tensor *tg_l1_loss(tg_tensor *input, tg_tensor *target, tg_reduction reduction);
/* d = input - target: |d| < beta ? d^2 / (2 beta) : |d| - beta / 2 (PyTorch's
 * default beta: 1; 0 gives the L1 loss) */
TG_API tg_tensor *tg_smooth_l1_loss(tg_tensor *input, tg_tensor *target, tg_reduction reduction, float beta);
/* |d| < delta ? d^2 / 2 : delta (|d| - delta / 2) (default delta: 1) */
TG_API tg_tensor *tg_huber_loss(tg_tensor *input, tg_tensor *target, tg_reduction reduction, float delta);
/* -[p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] from logits x
 * without overflow, times weight (broadcast to x, or NULL); pos_weight p
 * (broadcast along the last dim, or NULL for 1) weighs the positives and
 * gets no gradient */
TG_API tg_tensor *tg_binary_cross_entropy_with_logits(tg_tensor *input, tg_tensor *target, tg_tensor *weight,
                                                      tg_tensor *pos_weight, tg_reduction reduction);
/* target (log target - input), input being log-probabilities; with
 * log_target the target is given as log-probabilities too */
TG_API tg_tensor *tg_kl_div(tg_tensor *input, tg_tensor *target, tg_reduction reduction, bool log_target);

#endif
