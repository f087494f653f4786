/* Differentiable cumulative sum and triangular masks (tensor/scan.c):
 * cumsum's gradient is the reverse cumulative sum of g, tril's and triu's
 * the same mask applied to g. */
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/scan.h"

/* ctx: the dim */
static int cumsum_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    int dim = *(const int *)n->ctx;
    return (grads[0] = tg_k_cumsum(g, dim, true)) ? 0 : -1;
}

tg_tensor *tg_cumsum(tg_tensor *t, int dim)
{
    return tg_recorded(tg_k_cumsum(t, dim, false), "cumsum", cumsum_backward, 1, &t, 0, NULL, &dim, sizeof dim);
}

/* What a triangle's node keeps. */
typedef struct {
    int64_t k;
    bool upper;
} triangle_args;

static int triangle_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    const triangle_args *a = (const triangle_args *)n->ctx;
    return (grads[0] = tg_k_triangle(g, a->k, a->upper)) ? 0 : -1;
}

static tg_tensor *triangle(tg_tensor *t, int64_t k, bool upper)
{
    triangle_args a = {k, upper};
    return tg_recorded(tg_k_triangle(t, k, upper), upper ? "triu" : "tril", triangle_backward, 1, &t, 0, NULL, &a,
                       sizeof a);
}

tg_tensor *tg_tril(tg_tensor *t, int64_t diagonal) { return triangle(t, diagonal, false); }
tg_tensor *tg_triu(tg_tensor *t, int64_t diagonal) { return triangle(t, diagonal, true); }
