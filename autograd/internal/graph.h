/* Autograd internals shared by graph.c and backward.c. */
#ifndef TG_GRAPH_H
#define TG_GRAPH_H

#include "autograd/internal/node.h"

struct tg_autograd_meta {
    bool requires_grad;
    tg_tensor *grad;  /* accumulated gradient (leaves) */
    tg_node *grad_fn; /* the node that made this tensor (non-leaves) */
    int pending;      /* a running backward's edges to this leaf still to deliver */
};

/* t's autograd state, made on demand when create is set. */
struct tg_autograd_meta *tg_meta(tg_tensor *t, bool create);
void tg_node_release(tg_node *n);
/* Releases n's saved tensors after a backward without retain. */
void tg_node_free_graph_state(tg_node *n);

#endif
