/* What the class-index losses share (tensor/class_targets.c): the checks
 * of input (N,C,d1,...) against int64 targets (N,d1,...), class weights and
 * ignore_index; the layout that walks both with any strides, the class dim
 * included, without copying; the weighted count of the targets that count;
 * the fixed chunks of positions that the losses split over threads; and
 * the reductions. Cross-entropy (tensor/loss.c) and NLL
 * (tensor/nll_loss.c) are built on it. */
#ifndef TG_CLASS_TARGETS_H
#define TG_CLASS_TARGETS_H

#include "tensor/options.h"
#include "tensor/tensor.h"

/* Positions per chunk (columns of (N,C,S), rows of (N,C)). */
enum { TG_CLASS_COLS = 256, TG_CLASS_ROWS = 8 };

/* The input as (N, C, S) and the targets as (N, S), S = d1 * ... * dk. */
typedef struct {
    int64_t n, c, s;
    int64_t xn, xc, xs; /* the input's strides */
    int64_t tn, ts;     /* the targets' strides */
    const float *x;
    const int64_t *t;
    const float *w; /* the class weights (contiguous), or NULL for 1 */
    int64_t ignore;
} tg_class_layout;

/* The walkable forms of a loss's operands, its layout and options. */
typedef struct {
    tg_tensor *x, *t, *w;
    tg_class_layout L;
    double denom; /* the weights of the targets that count, summed */
    tg_reduction reduction;
    float smoothing;
} tg_class_args;

/* Checks op's operands and options (NULL: the defaults) and fills a;
 * -1 with error, naming the first target (row-major) outside [0, C) that
 * is not ignore_index. The caller closes a either way. */
int tg_class_args_open(tg_class_args *a, const char *op, tg_tensor *x, tg_tensor *target,
                       const tg_cross_entropy_opts *opts);
void tg_class_args_close(tg_class_args *a);

/* Row chunks when each sample has one position, else column chunks of
 * one sample; chunk k's first position (n, s0) and its length. */
int64_t tg_class_chunk_count(const tg_class_layout *L);
void tg_class_chunk_at(const tg_class_layout *L, int64_t k, int64_t *n, int64_t *s0, int64_t *len);

/* The weight of class k. */
static inline float tg_class_weight(const tg_class_layout *L, int64_t k) { return L->w ? L->w[k] : 1.0f; }

/* A new float32 tensor of the target's shape for per-position losses with
 * reduction none, else NULL (and no error). */
tg_tensor *tg_class_per_position(const tg_class_args *a, const tg_tensor *target);

/* The loss from the chunks' sums: per itself (reduction none, retained),
 * their sum, or their sum over a->denom (NaN when it is 0, as PyTorch). */
tg_tensor *tg_class_reduce(const tg_class_args *a, const double *part, int64_t nchunks, tg_tensor *per);

/* The incoming gradient g as a factor per position: g / denom (mean), g
 * (sum), or g's element at the position (none: g has the target's shape). */
typedef struct {
    float scale;
    const float *per; /* with reduction none, row-major (N, S), else NULL */
    tg_tensor *held;
} tg_class_grad;

int tg_class_grad_open(tg_class_grad *gs, const tg_class_args *a, tg_tensor *g, const char *op);
void tg_class_grad_close(tg_class_grad *gs);
static inline float tg_class_grad_at(const tg_class_grad *gs, const tg_class_layout *L, int64_t n, int64_t s)
{
    return gs->per ? gs->per[n * L->s + s] : gs->scale;
}

#endif
