/* The fused LSTM and GRU cell steps and their gradients (tensor/rnn_cell.c),
 * as torch.nn.LSTMCell / GRUCell compute them after their two linear
 * maps; autograd/ops_rnn.c makes them differentiable. Outputs are new
 * contiguous tensors. */
#ifndef TG_RNN_CELL_H
#define TG_RNN_CELL_H

#include "tensor/tensor.h"

/* gates (N, 4H): x W_ih^T + b_ih + h W_hh^T + b_hh, in PyTorch's order i,
 * f, g, o; c (N, H). Returns (N, 2H): h' = o tanh(c') in the first H
 * columns, c' = f c + i g in the last H. */
tg_tensor *tg_k_lstm_cell(tg_tensor *gates, tg_tensor *c);
/* From g = d loss / d (h', c') (N, 2H): *dgates (N, 4H) and *dc (N, H). */
int tg_k_lstm_cell_backward(tg_tensor *g, tg_tensor *gates, tg_tensor *c, tg_tensor **dgates, tg_tensor **dc);

/* xg = x W_ih^T + b_ih and hg = h W_hh^T + b_hh (N, 3H) in the order r, z,
 * n, h (N, H): h' = (1 - z) n + z h with n = tanh(xg_n + r hg_n). */
tg_tensor *tg_k_gru_cell(tg_tensor *xg, tg_tensor *hg, tg_tensor *h);
/* From g = d loss / d h' (N, H): grads[0..2] of xg, hg and h. */
int tg_k_gru_cell_backward(tg_tensor *g, tg_tensor *xg, tg_tensor *hg, tg_tensor *h, tg_tensor **grads);

#endif
