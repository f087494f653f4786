/* The library below its public surface, for the tests: the tg_k_ kernels
 * and the storage helpers of tensor/internal/. Tests link the static
 * library, which holds them; programs a user writes see only the public
 * headers (tensorgrad.h). */
#ifndef TESTS_KERNELS_H
#define TESTS_KERNELS_H

#include "tensor/internal/conv.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/finite.h"
#include "tensor/internal/index.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/loss.h"
#include "tensor/internal/norm.h"
#include "tensor/internal/pool.h"
#include "tensor/internal/random.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/resample.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/update.h"
#include "tensor/internal/view.h"

#endif
