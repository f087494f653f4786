/* A list of named tensors, in insertion order: what the nn layer passes
 * around for parameters, buffers, state dicts and checkpoints.
 *
 * A zero-initialised list is empty: `tg_tensor_list l = {0};`. The list owns
 * a copy of each name and a reference to each tensor; tg_tensor_list_clear
 * gives them back and leaves the list empty again. */
#ifndef TG_NN_TENSOR_LIST_H
#define TG_NN_TENSOR_LIST_H

#include "tensor/export.h"
#include "tensor/tensor.h"

typedef struct {
    char *name;
    tg_tensor *tensor;
} tg_named_tensor;

typedef struct {
    int n, cap;
    tg_named_tensor *items;
} tg_tensor_list;

/* Appends (name, t): copies the name and retains t. Names need not be
 * unique here (a file format may refuse duplicates). -1 with error on a NULL
 * argument or when out of memory (tensor/error.h: a NULL t keeps the
 * error of the failure that made it). */
TG_API int tg_tensor_list_add(tg_tensor_list *l, const char *name, tg_tensor *t);

/* The first tensor named name, as a new reference, or NULL (no error) if
 * there is none; NULL with an error for a NULL argument. */
TG_API tg_tensor *tg_tensor_list_get(const tg_tensor_list *l, const char *name);

/* Releases every tensor and name; the list is empty afterwards. NULL is fine. */
TG_API void tg_tensor_list_clear(tg_tensor_list *l);

#endif
