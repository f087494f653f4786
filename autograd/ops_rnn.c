/* Differentiable LSTM and GRU cell steps (fused kernels in
 * tensor/rnn_cell.c), each backward right above its forward: the cell's
 * gates, state and nonlinearities in one op; the linear maps around it are
 * tg_linear's. */
#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "autograd/ops.h"
#include "tensor/internal/check.h"
#include "tensor/internal/rnn_cell.h"

#define SAVED(i) tg_node_saved(n, i)

/* Hands the gradients computed for every input to the node's inputs that
 * need one (releasing the others); -1 if one of them is missing. */
static int give_all(tg_node *n, int count, tg_tensor **computed, tg_tensor **grads)
{
    int rc = 0;
    for (int i = 0; i < count; i++) {
        if (!computed[i]) rc = -1;
        if (!rc && tg_node_needs_grad(n, i)) rc = tg_node_give(n, i, computed[i], grads);
        else tg_release(computed[i]);
    }
    return rc;
}

/* ---- LSTM ---- */

/* saved: gates, c */
static int lstm_cell_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *d[2] = {NULL, NULL};
    if (!SAVED(0) || !SAVED(1) || tg_k_lstm_cell_backward(g, SAVED(0), SAVED(1), &d[0], &d[1])) return -1;
    return give_all(n, 2, d, grads);
}

/* (h', c') side by side, (N, 2H). */
static tg_tensor *lstm_cell_joined(tg_tensor *gates, tg_tensor *c)
{
    tg_tensor *in[] = {gates, c};
    return tg_recorded(tg_k_lstm_cell(gates, c), "lstm_cell", lstm_cell_backward, 2, in, 2, in, NULL, 0);
}

int tg_lstm_cell(tg_tensor *gates, tg_tensor *c, tg_tensor **h_next, tg_tensor **c_next)
{
    if (h_next) *h_next = NULL;
    if (c_next) *c_next = NULL;
    if (TG_NEED("lstm_cell", gates, c, h_next, c_next) || tg_capture_pause()) return -1;
    tg_tensor *joined = lstm_cell_joined(gates, c);
    int64_t h = joined ? joined->shape[1] / 2 : 0;
    tg_tensor *hv = joined ? tg_narrow(joined, 1, 0, h) : NULL, *cv = joined ? tg_narrow(joined, 1, h, h) : NULL;
    tg_release(joined);
    tg_capture_resume();
    if (!hv || !cv) {
        tg_release(hv), tg_release(cv);
        return -1;
    }
    *h_next = tg_captured(hv);
    *c_next = tg_captured(cv);
    return *h_next && *c_next ? 0 : -1;
}

/* ---- GRU ---- */

/* saved: xg, hg, h */
static int gru_cell_backward(tg_node *n, tg_tensor *g, tg_tensor **grads)
{
    tg_tensor *d[3] = {NULL, NULL, NULL};
    if (!SAVED(0) || !SAVED(1) || !SAVED(2) || tg_k_gru_cell_backward(g, SAVED(0), SAVED(1), SAVED(2), d)) return -1;
    return give_all(n, 3, d, grads);
}

tg_tensor *tg_gru_cell(tg_tensor *xg, tg_tensor *hg, tg_tensor *h)
{
    tg_tensor *in[] = {xg, hg, h};
    return tg_recorded(tg_k_gru_cell(xg, hg, h), "gru_cell", gru_cell_backward, 3, in, 3, in, NULL, 0);
}
