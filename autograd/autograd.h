/* Define-by-run autograd: the user-facing switches and the backward call.
 *
 * A float32 tensor can require grad. Every differentiable op (ops.h) whose
 * input requires grad, while grad mode is on, records a node holding what its
 * backward needs; the output points at that node (it is a non-leaf).
 * tg_backward walks the nodes in reverse topological order, accumulates
 * gradients into the .grad of leaves that require grad, and frees the saved
 * tensors (the graph), as PyTorch does without retain_graph. */
#ifndef TG_AUTOGRAD_H
#define TG_AUTOGRAD_H

#include "tensor/export.h"
#include "tensor/tensor.h"

/* Only leaves (tensors no op made) may change it; only float32 may set it. */
TG_API int tg_set_requires_grad(tg_tensor *t, bool requires_grad);
TG_API bool tg_requires_grad(const tg_tensor *t);
/* True for tensors not produced by a recorded op. */
TG_API bool tg_is_leaf(const tg_tensor *t);
/* The accumulated gradient (new reference), or NULL if none yet. */
TG_API tg_tensor *tg_grad(const tg_tensor *t);
/* Drops the gradient (PyTorch's zero_grad(set_to_none=True)). */
TG_API void tg_zero_grad(tg_tensor *t);
/* A tensor sharing t's storage, cut from the graph, not requiring grad. */
TG_API tg_tensor *tg_detach(tg_tensor *t);
/* Name of the op that produced t ("mul", "sum"...), or NULL for a leaf. */
TG_API const char *tg_grad_fn_name(const tg_tensor *t);

/* Backpropagates from root. grad: dLoss/droot of root's shape, or NULL when
 * root has one element (then 1). Frees the graph's saved tensors. */
TG_API int tg_backward(tg_tensor *root, tg_tensor *grad);
/* As tg_backward, keeping the graph for another backward. */
TG_API int tg_backward_retain(tg_tensor *root, tg_tensor *grad);
/* Told of each leaf of the graph once no more gradient will reach it in
 * this backward (its gradient, if any, is then final), in the order the
 * walk completes them: the same order every time. */
typedef void (*tg_grad_ready_fn)(tg_tensor *leaf, void *ctx);
/* tg_backward, calling ready(leaf, ctx) (ready may be NULL) for every leaf the graph reaches
 * as soon as its gradient is final, while the walk goes on (data-parallel
 * training starts each gradient's allreduce there). */
TG_API int tg_backward_with_hook(tg_tensor *root, tg_tensor *grad, tg_grad_ready_fn ready, void *ctx);

/* Grad mode: off inside a no-grad scope (scopes nest; per thread). */
TG_API void tg_no_grad_enter(void);
TG_API void tg_no_grad_exit(void);
TG_API bool tg_grad_enabled(void);

#endif
