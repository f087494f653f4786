/* MoCo-v2 and DenseCL: one model, one training step (docs/protocol.md
 * sections 2-6 and 10).
 *
 * The model is a module tree named as OpenSelfSup names DenseCL's, so its
 * state_dict is the whole training state and tg_checkpoint_save takes it
 * as it is:
 *   encoder_q.0.*        query backbone (ResNet, torchvision names after
 *                        the prefix; tg_contrastive_backbone gives it alone)
 *   encoder_q.1.mlp.*    global neck: avgpool, Linear-ReLU-Linear
 *   encoder_q.1.mlp2.*   dense neck (DenseCL only): 1x1 conv-ReLU-1x1 conv
 *   encoder_k.*          the momentum (key) encoder, the same shapes
 *   queue, queue_dense   (K, D) rings of unit keys (queue_dense: DenseCL)
 *   queue_ptr            int64 (1): where the next batch of keys goes
 * MoCo-v2 is the same model with the dense neck, the dense queue and the
 * matching absent and lambda 0.
 *
 * One step (tg_contrastive_step), before the caller's backward and
 * optimizer step:
 *   1. query: F_q = backbone_q(im_q) (C5, N x C x S x S), g_q = normalize(
 *      mlp(avgpool F_q)), D_q = normalize(mlp2(F_q)) per cell;
 *   2. key, without gradients: momentum update theta_k = m theta_k +
 *      (1 - m) theta_q (parameters only, not BN statistics); the key batch
 *      permuted (shuffle BN: split BN of bn_groups groups in both
 *      encoders), F_k = backbone_k, un-permuted; then g_k, D_k and the
 *      pooled-then-normalised p_k from F_k. The heads work sample by
 *      sample (no BN), so un-permuting F_k un-permutes every key output;
 *   3. L_g = InfoNCE(g_q; g_k, queue) at temperature tau;
 *   4. DenseCL: j*(i) = argmax_j <F_q[:,i], F_k[:,j]> over key cells, both
 *      maps L2-normalised per cell (query backbone vs momentum backbone);
 *      L_d = InfoNCE over all N S^2 cells of D_q against D_k at j*(i) and
 *      the dense queue; L = (1 - lambda) L_g + lambda L_d, with lambda 0
 *      before warmup_iters;
 *   5. g_k and p_k enqueued (after the losses): rows [ptr, ptr + N).
 * The InfoNCE logits, (N S^2) x (1 + K) for the dense loss, are never
 * stored whole (tg_info_nce).
 *
 * Across the R ranks of a data-parallel job (dist/dist.h), each rank
 * steps on its slice of N images of the global batch of N R (rank r's
 * are images r N .. r N + N - 1), as the official code does over GPUs:
 * the key images are gathered, the permutation of the global batch comes
 * from rank 0, each rank runs the key backbone on its slice of the
 * permuted batch (its batch norms, split in bn_groups groups, are the
 * shuffle BN), the key C5 maps are gathered and un-permuted, and every
 * rank enqueues the global batch's keys in rank order, so the queues stay
 * the same everywhere. With bn_groups G / R per rank, R ranks compute
 * what one process with G groups computes on the global batch (the
 * gradients averaged by train/data_parallel.h). */
#ifndef TG_CONTRASTIVE_H
#define TG_CONTRASTIVE_H

#include "data/transforms.h"
#include "models/resnet.h"
#include "nn/module.h"
#include "tensor/export.h"
#include "tensor/rng.h"

typedef enum { TG_MOCOV2, TG_DENSECL } tg_contrastive_method;

typedef struct tg_contrastive_config {
    tg_contrastive_method method;
    tg_resnet_opts backbone; /* num_classes is ignored (C5 only); bn_groups > 1: shuffle BN */
    int64_t hidden;          /* hidden width of both necks; 0: C5's channels */
    int64_t dim;             /* output width of both necks (D); 0: 128 */
    int64_t queue_len;       /* K: a multiple of the batch size */
    double momentum;         /* m */
    double tau;              /* temperature of both losses */
    double lambda;           /* weight of the dense loss (ignored for MoCo-v2) */
    int64_t warmup_iters;    /* lambda is 0 for iterations before this */
    uint64_t seed;           /* necks and queues (the backbone has its own) */
} tg_contrastive_config;

/* The spec's settings: ResNet-50 (mmcv's fan_in init), 2048-2048-128
 * necks, K 65536, m 0.999, tau 0.2, lambda 0.5 (0 for MoCo-v2), no
 * warm-up, no split BN. */
TG_API tg_contrastive_config tg_contrastive_defaults(tg_contrastive_method method);

/* The model: the query initialised as docs/protocol.md sections 2-4 say (backbone convs
 * Kaiming normal with backbone.conv_fan, neck Linears Kaiming normal fan_in
 * with zero bias, neck 1x1 convs PyTorch's default), the key a copy of it,
 * the queues' rows N(0,1) normalised, the pointer 0, every module in
 * training mode. NULL with error on a bad config. */
TG_API tg_module *tg_contrastive_new(tg_contrastive_config cfg);
TG_API const tg_contrastive_config *tg_contrastive_config_of(const tg_module *m);

/* Parts (borrowed; NULL with error if m is not a contrastive model): the
 * query encoder (key 0) or the key encoder (key 1), each a Sequential of
 * "0" the backbone and "1" the necks; the query backbone alone. */
TG_API tg_module *tg_contrastive_encoder(tg_module *m, int key);
TG_API tg_module *tg_contrastive_backbone(tg_module *m);
/* The queues, (K, D) rows (borrowed; the dense one NULL for MoCo-v2), and
 * the pointer (-1 if m is not a contrastive model). */
TG_API tg_tensor *tg_contrastive_queue(tg_module *m, bool dense);
TG_API int64_t tg_contrastive_queue_ptr(const tg_module *m);

/* The parameters the optimizer trains: the query encoder's, under their
 * names in the model ("encoder_q.0.conv1.weight"), appended to out. */
TG_API int tg_contrastive_parameters(const tg_module *m, tg_tensor_list *out);
/* The query backbone alone, torchvision-named ("conv1.weight",
 * "layer1.0.bn1.running_mean"), as a safetensors file for fine-tuning. */
TG_API int tg_contrastive_save_backbone(tg_module *m, const char *path);

/* What a step computed; the numbers are over the global batch (every
 * rank's), the loss tensor and match over this rank's slice. */
typedef struct tg_contrastive_out {
    tg_tensor *loss;      /* 0-dim, for tg_backward (out's, whatever scope is open) */
    double loss_global;   /* L_g */
    double loss_dense;    /* L_d (0 for MoCo-v2) */
    double lambda;        /* the weight used this step */
    double weighted_global, weighted_dense; /* (1 - lambda) L_g and lambda L_d; MoCo-v2: L_g, 0 */
    double top1_global;   /* share of images whose positive logit is the largest */
    double top1_dense;    /* the same over all N S^2 cells (0 for MoCo-v2) */
    tg_tensor *match;     /* int64 (N, S*S): j*(i), the key cell matched to query
                           * cell i (row-major over the grid); NULL for MoCo-v2 */
} tg_contrastive_out;

/* Releases out's tensors and zeroes it. */
TG_API void tg_contrastive_out_clear(tg_contrastive_out *out);

/* One step on views im_q (queries) and im_k (keys), both (N, 3, H, W),
 * at iteration iter (for the lambda warm-up). The global key batch's
 * permutation is drawn from shuffle (rank 0's is used). The global batch
 * must divide K and N be a multiple of bn_groups; bad inputs fail before
 * anything changes. Leaves out zeroed on failure. Every rank of a job
 * calls it with a batch of the same shape. */
TG_API int tg_contrastive_step(tg_module *m, tg_tensor *im_q, tg_tensor *im_k, int64_t iter, tg_rng *shuffle,
                               tg_contrastive_out *out);
/* The same with the permutation given (the same on every rank):
 * position i of the shuffled global key batch holds image perm[i]. */
TG_API int tg_contrastive_step_perm(tg_module *m, tg_tensor *im_q, tg_tensor *im_k, int64_t iter, const int64_t *perm,
                                    tg_contrastive_out *out);

/* ---- correspondence against the crop geometry (contrastive_match.c) ---- */

/* The key cell (row-major on a grid x grid map of view k) whose area holds
 * the source point shown at the centre of query cell i of view q, or -1
 * when view k does not show that point (with an error when an argument
 * is NULL, grid is not in 1 .. 65536 or i not below grid^2). */
TG_API int64_t tg_contrastive_true_cell(const tg_view_geom *q, const tg_view_geom *k, int grid, int64_t i);

typedef struct tg_match_score {
    int64_t cells; /* query cells that have a true key cell */
    int64_t exact; /* of those, matched to exactly that cell */
    int64_t near;  /* matched within one cell of it (its 3 x 3 neighbourhood) */
} tg_match_score;

/* Adds to *score how match (int64 (N, grid^2), as tg_contrastive_out's)
 * agrees with the batch's crop geometry aux (float32 (N, 2
 * TG_PAIR_VIEW_AUX), the pretraining pipeline's: view 0 the query, view 1
 * the key). */
TG_API int tg_contrastive_score_match(tg_tensor *match, tg_tensor *aux, tg_match_score *score);

#endif
