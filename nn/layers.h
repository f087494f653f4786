/* The standard layers, as torch.nn (nn/layers.c; normalisation:
 * layers_norm.c; activations: layers_activation.c): each returns a module
 * (see module.h) with PyTorch's parameter and buffer names and default
 * initialisation, drawn from the rng given. NULL with error on bad
 * arguments. */
#ifndef TG_LAYERS_H
#define TG_LAYERS_H

#include "nn/module.h"
#include "tensor/export.h"

/* weight (out, in/groups, kh, kw), bias (out) when bias is set. */
TG_API tg_module *tg_nn_conv2d(int64_t in, int64_t out, int kh, int kw, tg_conv2d_opts opts, bool bias, tg_rng *rng);
/* Batch norm options; zeros mean PyTorch's defaults (eps 1e-5, momentum
 * 0.1). groups > 1: split batch norm in training (statistics per
 * sub-batch, as MoCo's shuffle BN on one device). sync: SyncBatchNorm, in
 * training the statistics of the batch spread over every rank of the job
 * (tg_sync_batch_norm; groups must be 1); with one rank, plain batch norm. */
typedef struct tg_batch_norm_opts {
    float eps;
    float momentum;
    int groups;
    bool sync;
} tg_batch_norm_opts;
/* weight, bias (affine), running_mean, running_var, num_batches_tracked;
 * opts NULL: the defaults. BatchNorm2d takes (N,C,H,W) only, BatchNorm1d
 * (N,C) or (N,C,L), as PyTorch. */
TG_API tg_module *tg_nn_batch_norm2d(int64_t channels, const tg_batch_norm_opts *opts);
TG_API tg_module *tg_nn_batch_norm1d(int64_t channels, const tg_batch_norm_opts *opts);
/* A BatchNorm2d's forward followed by a relu as one op
 * (tg_batch_norm_relu), and with residual added before the relu
 * (tg_batch_norm_add_relu): the same values, gradients and updates of the
 * running statistics as tg_module_forward then tg_relu (after tg_add).
 * bn must be a tg_nn_batch_norm2d module. */
TG_API tg_tensor *tg_nn_batch_norm2d_relu_forward(tg_module *bn, tg_tensor *x);
TG_API tg_tensor *tg_nn_batch_norm2d_add_relu_forward(tg_module *bn, tg_tensor *x, tg_tensor *residual);
/* weight (in, out/groups, kh, kw), bias (out) when bias is set; opts NULL:
 * PyTorch's defaults. */
TG_API tg_module *tg_nn_conv_transpose2d(int64_t in, int64_t out, int kh, int kw, const tg_conv_transpose2d_opts *opts,
                                         bool bias, tg_rng *rng);
/* weight (num_embeddings, dim) drawn N(0, 1), row padding_idx (negative:
 * from the end) zeroed and kept from gradients, or TG_EMBEDDING_NO_PADDING. */
TG_API tg_module *tg_nn_embedding(int64_t num_embeddings, int64_t dim, int64_t padding_idx, tg_rng *rng);

/* Options of LayerNorm, GroupNorm and RMSNorm; zeros mean PyTorch's
 * defaults: eps 1e-5 (RMSNorm: float32's machine epsilon, as its eps=None),
 * an affine weight (ones) and bias (zeros; RMSNorm has none). */
typedef struct tg_norm_layer_opts {
    float eps;
    bool no_affine; /* elementwise_affine=False (GroupNorm: affine=False) */
    bool no_bias;   /* LayerNorm's bias=False */
} tg_norm_layer_opts;
/* Normalises the last ndim dims, of normalized_shape; weight and bias of that shape. */
TG_API tg_module *tg_nn_layer_norm(int ndim, const int64_t *normalized_shape, const tg_norm_layer_opts *opts);
TG_API tg_module *tg_nn_rms_norm(int ndim, const int64_t *normalized_shape, const tg_norm_layer_opts *opts);
/* (N, C, *) in num_groups groups of channels; weight and bias (C). */
TG_API tg_module *tg_nn_group_norm(int64_t num_groups, int64_t num_channels, const tg_norm_layer_opts *opts);
/* Activations (nn/layers_activation.c). */
TG_API tg_module *tg_nn_gelu(tg_gelu_approximate approximate);
TG_API tg_module *tg_nn_silu(void);
TG_API tg_module *tg_nn_leaky_relu(float negative_slope); /* PyTorch's default slope: 0.01 */

/* Attention layers (nn/layers_attention.c). Options: zeros mean PyTorch's
 * defaults. */
typedef struct tg_attention_layer_opts {
    float dropout;    /* on the attention weights, in training (default 0) */
    bool batch_first; /* inputs (N, L, E); default (L, N, E) */
    bool no_bias;     /* bias=False */
    bool causal;      /* query i attends to keys j <= i only */
    uint64_t seed;    /* the dropout's stream */
} tg_attention_layer_opts;
/* in_proj_weight (3E, E) xavier-uniform, in_proj_bias (3E) zeros,
 * out_proj (a Linear, bias zeros), as nn.MultiheadAttention. Forward with
 * tg_module_forward_n: query, key, value and an optional float mask added
 * to the scores (broadcast to (N, H, L, S)); gives the output only (as
 * need_weights=False: the weights are never stored). */
TG_API tg_module *tg_nn_multihead_attention(int64_t embed_dim, int64_t num_heads, const tg_attention_layer_opts *opts,
                                            tg_rng *rng);
typedef struct tg_encoder_layer_opts {
    int64_t dim_feedforward; /* 0: 2048 */
    float dropout;           /* 0: PyTorch's 0.1 */
    bool no_dropout;         /* dropout 0 */
    bool gelu;               /* the feed-forward's activation: gelu, not relu */
    float layer_norm_eps;    /* 0: 1e-5 */
    bool batch_first;
    bool norm_first; /* pre-norm: x + attn(norm1(x)), x + ff(norm2(x)) */
    bool causal;     /* self-attention masked to the past */
    uint64_t seed;   /* the dropouts' streams */
} tg_encoder_layer_opts;
/* nn.TransformerEncoderLayer's children and names (self_attn, linear1,
 * dropout, linear2, norm1, norm2, dropout1, dropout2); forward: src, or
 * src and a float mask (tg_module_forward_n). */
TG_API tg_module *tg_nn_transformer_encoder_layer(int64_t d_model, int64_t nhead, const tg_encoder_layer_opts *opts,
                                                  tg_rng *rng);

/* The most features (embed_dim, hidden_size, input_size) an attention or
 * recurrent layer takes: their packed weights hold 3 or 4 times as many rows. */
#define TG_LAYER_MAX_FEATURES (INT64_C(1) << 31)

/* Recurrent layers (nn/layers_recurrent.c); zeros mean PyTorch's defaults.
 * Dropout between layers and bidirectional layers are not offered. */
typedef struct tg_rnn_opts {
    int num_layers;   /* 0: 1 */
    bool no_bias;     /* bias=False */
    bool batch_first; /* (N, L, features); default (L, N, features) */
} tg_rnn_opts;
/* weight_ih_l{k} (4H, in), weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k}
 * (4H) per layer k, U(-1/sqrt(H), 1/sqrt(H)), as nn.LSTM; GRU alike with 3H. */
TG_API tg_module *tg_nn_lstm(int64_t input_size, int64_t hidden_size, const tg_rnn_opts *opts, tg_rng *rng);
TG_API tg_module *tg_nn_gru(int64_t input_size, int64_t hidden_size, const tg_rnn_opts *opts, tg_rng *rng);
/* Runs an LSTM or GRU module on x (L, N, in) or (N, L, in) with batch_first,
 * from h0 (and c0 for an LSTM), (layers, N, H) each or NULL for zeros: the
 * last layer's output at every step, (L, N, H) or (N, L, H); *h_n and *c_n
 * (each may be NULL; c_n an LSTM's only) get the final states (layers, N,
 * H), as PyTorch's output, (h_n, c_n). tg_module_forward gives the output
 * from zero states; tg_module_forward_n takes (x, h0[, c0]). */
TG_API tg_tensor *tg_nn_rnn_forward(tg_module *m, tg_tensor *x, tg_tensor *h0, tg_tensor *c0, tg_tensor **h_n,
                                    tg_tensor **c_n);

/* weight (out, in), bias (out) when bias is set. */
TG_API tg_module *tg_nn_linear(int64_t in, int64_t out, bool bias, tg_rng *rng);
TG_API tg_module *tg_nn_relu(bool inplace);
TG_API tg_module *tg_nn_max_pool2d(tg_pool2d_opts opts);
TG_API tg_module *tg_nn_adaptive_avg_pool2d(int64_t out_h, int64_t out_w);
/* The mask stream is the module's own, seeded here: the same seed gives
 * the same masks. In a data-parallel job (dist/dist.h) a rank's input is
 * its rows of the global batch, and its mask those rows of the mask one
 * process draws for the whole batch (exactly so when a rank's first draw
 * falls on a multiple of 4 numbers: Dropout2d over channels that are). */
TG_API tg_module *tg_nn_dropout(float p, uint64_t seed);
TG_API tg_module *tg_nn_dropout2d(float p, uint64_t seed);
/* (N, ...) -> (N, product of the rest), as torch.nn.Flatten(). */
TG_API tg_module *tg_nn_flatten(void);
/* Children named "0", "1", ... run in order. */
TG_API tg_module *tg_nn_sequential(void);
/* Appends child (taken) to a sequential module. */
TG_API int tg_nn_sequential_append(tg_module *seq, tg_module *child);

/* A Dropout's RNG state, for checkpoints (NULL for modules without one;
 * NULL with an error for a NULL module). */
TG_API tg_rng *tg_nn_module_rng(tg_module *m);

#endif
