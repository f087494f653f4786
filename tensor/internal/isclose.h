/* Closeness of two float32 tensors (tensor/isclose.c), as torch.isclose and
 * torch.allclose; autograd/ops_nograd.c makes them public. */
#ifndef TG_ISCLOSE_H
#define TG_ISCLOSE_H

#include "tensor/tensor.h"

/* float32 1/0 of the broadcast shape: |a - b| <= atol + rtol |b|. */
tg_tensor *tg_k_isclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan);
/* 1 if every pair is close, 0 if not, -1 with an error. */
int tg_k_allclose(tg_tensor *a, tg_tensor *b, double rtol, double atol, bool equal_nan);

#endif
