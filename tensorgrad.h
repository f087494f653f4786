/* tensorgrad: the one header users include. */
#ifndef TENSORGRAD_H
#define TENSORGRAD_H

#include "tensor/tensor.h"
#include "tensor/elementwise.h"
#include "tensor/index.h"
#include "tensor/linalg.h"
#include "tensor/reduce.h"
#include "tensor/rng.h"
#include "tensor/threads.h"
#include "tensor/view.h"

#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"

#endif
