/* tensorgrad: the one header users include. */
#ifndef TENSORGRAD_H
#define TENSORGRAD_H

#include "tensor/tensor.h"
#include "tensor/error.h"
#include "tensor/export.h"
#include "tensor/memory.h"
#include "tensor/options.h"
#include "tensor/rng.h"
#include "tensor/threads.h"

#include "dist/dist.h"

#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/ops_nograd.h"
#include "autograd/scope.h"

#include "nn/checkpoint.h"
#include "nn/clip.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/metrics.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "nn/schedule.h"
#include "nn/tensor_list.h"

#include "data/datasets.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/overlay.h"
#include "data/pipelines.h"
#include "data/shapescenes.h"
#include "data/transforms.h"

#include "models/contrastive.h"
#include "models/fcn.h"
#include "models/resnet.h"

#include "train/data_parallel.h"
#include "train/flags.h"
#include "train/interrupt.h"
#include "train/loop.h"
#include "train/progress.h"
#include "train/run.h"

#endif
