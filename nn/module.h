/* Modules: named parameters, buffers and children, as torch.nn.Module.
 *
 * A module owns its parameters, buffers and children. Names compose with
 * dots the way PyTorch's state_dict does ("layer1.0.conv1.weight",
 * "bn1.running_mean"), in registration order: a module's own parameters,
 * then its own buffers, then each child's, so files move both ways between
 * this library and torchvision.
 *
 * A layer is a struct whose first member is a tg_module, created with
 * tg_module_new and a tg_module_type (its name, forward and destroy); see
 * layers.c. Modules are plain code over autograd/: a model's forward calls
 * its children's forwards and differentiable ops. */
#ifndef TG_MODULE_H
#define TG_MODULE_H

#include "autograd/ops.h"
#include "nn/tensor_list.h"
#include "tensor/export.h"

typedef struct tg_module tg_module;

typedef struct tg_module_type {
    const char *name;                                  /* "Conv2d" */
    tg_tensor *(*forward)(tg_module *m, tg_tensor *x); /* NULL: no one-input forward */
    void (*destroy)(tg_module *m);                     /* frees what the type added; may be NULL */
    /* several inputs (a query, a key, a mask...; those after the first may
     * be NULL where the type allows it); NULL: one input only */
    tg_tensor *(*forward_n)(tg_module *m, int n, tg_tensor *const *inputs);
} tg_module_type;

typedef struct tg_named_module {
    char *name;
    tg_module *module;
} tg_named_module;

struct tg_module {
    const tg_module_type *type;
    bool training;
    tg_tensor_list params;  /* this module's own, in registration order */
    tg_tensor_list buffers; /* this module's own */
    int n_children, cap_children;
    tg_named_module *children;
};

/* ---- for module authors ---- */

/* A zeroed struct of size bytes (sizeof(tg_module) .. TG_MODULE_MAX_SIZE)
 * whose head is an initialised module in training mode, or NULL with
 * error. */
#define TG_MODULE_MAX_SIZE (1u << 20)
TG_API tg_module *tg_module_new(const tg_module_type *type, size_t size);
/* Registers t under name, taking the caller's reference; a parameter is
 * made to require grad. t may be NULL (from a failed creation): then -1. */
TG_API int tg_module_add_param(tg_module *m, const char *name, tg_tensor *t);
TG_API int tg_module_add_buffer(tg_module *m, const char *name, tg_tensor *t);
/* Registers child under name, taking ownership (freed with m). */
TG_API int tg_module_add_child(tg_module *m, const char *name, tg_module *child);
/* The child registered as name (borrowed), or NULL with error. */
TG_API tg_module *tg_module_child(const tg_module *m, const char *name);

/* ---- for users ---- */

/* Runs m on x: a result as an op's (the current scope's, autograd/scope.h,
 * or a new reference outside any), or NULL with an error. */
TG_API tg_tensor *tg_module_forward(tg_module *m, tg_tensor *x);
/* Runs m on n inputs, as PyTorch's module(*args): the type's forward_n, or
 * its one-input forward when n is 1. */
TG_API tg_tensor *tg_module_forward_n(tg_module *m, int n, tg_tensor *const *inputs);
TG_API void tg_module_free(tg_module *m); /* NULL is fine; frees children too */
/* Training or evaluation mode for m and all its descendants. */
TG_API void tg_module_train(tg_module *m, bool training);
/* Drops every parameter's gradient. */
TG_API void tg_module_zero_grad(tg_module *m);
/* Freezes (requires_grad off) or unfreezes every parameter. */
TG_API int tg_module_set_requires_grad(tg_module *m, bool requires_grad);
/* Appends every parameter under its dotted name (retained) to out. */
TG_API int tg_module_parameters(const tg_module *m, tg_tensor_list *out);
/* Appends parameters and buffers, in PyTorch's state_dict order. */
TG_API int tg_module_state_dict(const tg_module *m, tg_tensor_list *out);
/* Copies values from sd into the module's tensors (shapes and dtypes must
 * match). strict: every key of the module must be in sd and no other key
 * may be there; the first problem is named. Nothing is changed unless all
 * checks pass. */
TG_API int tg_module_load_state_dict(tg_module *m, const tg_tensor_list *sd, bool strict);
/* The same with sd's keys renamed: those starting with strip (NULL or "":
 * every key) have it replaced by add (NULL or "": nothing), the others are
 * left out; "module." stripped loads a DataParallel file, "encoder_q.0."
 * stripped a backbone from a MoCo checkpoint, "backbone." added a backbone
 * into an FCN. */
TG_API int tg_module_load_state_dict_prefixed(tg_module *m, const tg_tensor_list *sd, const char *strip,
                                              const char *add, bool strict);
/* The keys a strict load of sd would complain of, as PyTorch's
 * missing_keys and unexpected_keys: each key of m's state_dict that sd
 * lacks is appended to missing (with m's tensor), each key of sd that m
 * lacks to unexpected (with sd's tensor), in state_dict and sd order.
 * Either list may be NULL. Shapes are not compared (the load does that). */
TG_API int tg_module_state_dict_diff(const tg_module *m, const tg_tensor_list *sd, tg_tensor_list *missing,
                                     tg_tensor_list *unexpected);
TG_API int64_t tg_module_num_parameters(const tg_module *m);

#endif
