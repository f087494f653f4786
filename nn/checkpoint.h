/* Training checkpoints and weights-only files, both in safetensors (see
 * safetensors.h), so that resuming gives the same numbers as not stopping
 * and weights move both ways between tensorgrad and PyTorch.
 *
 * A training checkpoint is one file holding everything a run needs to go
 * on bit for bit:
 *
 *   tensor "model.<name>"        the model's state_dict (parameters and
 *                                buffers: "model.layer1.0.bn1.running_mean")
 *   tensor "optim.<key>"         the optimizer's state (tg_optimizer_state:
 *                                "optim.fc.weight.momentum_buffer")
 *   tensor "rng.<name>"          each generator the caller names in extra
 *                                ("rng.data"), int64 (3): seed, stream,
 *                                counter, the uint64 bits kept exactly
 *   tensor "rng.module.<module>" the RNG of every module that has one
 *                                (Dropout: tg_nn_module_rng), found in the
 *                                model tree by itself ("rng.module.fc.1";
 *                                the root module's is "rng.module")
 *   __metadata__ "tensorgrad.checkpoint" "1"  (what marks the file a checkpoint)
 *                "step", "epoch", "position"  decimal int64
 *                "optim.lr"                   %.17g, present iff an optimizer
 *                                             was saved
 *                "user.<key>"                 the caller's free-form metadata
 *
 * Scalars live in __metadata__ as text rather than as 0-dim tensors, so
 * `safe_open(f, "pt").metadata()` shows them from Python and every tensor
 * in the file is state. A weights-only file (tg_module_save) holds the
 * state_dict with no prefix, exactly as torchvision names it, and the
 * metadata {"format": "pt"} that safetensors.torch.save_file writes.
 *
 * Non-finite values: every save and load here refuses a file whose float
 * tensors hold a NaN or an infinity, naming the file and the tensor
 * ("tensor model.bn1.running_var has a non-finite value (nan)"), so a
 * diverged model is neither kept nor carried on. A caller that wants them
 * anyway says so: allow_nonfinite in tg_checkpoint_extra, or in
 * tg_weights_opts for the weights-only functions. */
#ifndef TG_NN_CHECKPOINT_H
#define TG_NN_CHECKPOINT_H

#include "nn/module.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "tensor/export.h"
#include "tensor/rng.h"

/* A generator of the caller's, saved as "rng.<name>". name is not empty and
 * is neither "module" nor starts with "module." (the modules' own space). */
typedef struct tg_checkpoint_rng {
    const char *name; /* "data", "augment" */
    tg_rng *rng;      /* read by save, overwritten by load */
} tg_checkpoint_rng;

/* What a training loop keeps besides the model and the optimizer. */
typedef struct tg_checkpoint_extra {
    int64_t step, epoch;
    int64_t position; /* the data loader's position; opaque here */
    int n_rngs;
    const tg_checkpoint_rng *rngs; /* borrowed; n_rngs entries */
    /* Free-form strings, stored as "user.<key>". Load replaces its
     * entries with the file's; the caller clears it (tg_metadata_clear). */
    tg_metadata metadata;
    bool allow_nonfinite; /* save and load NaN and Inf (default: refused) */
} tg_checkpoint_extra;

/* Writes model, opt's state and lr (opt may be NULL) and extra (may be
 * NULL: step, epoch and position 0, no generators) to path, atomically
 * (tg_safetensors_save): a file already at path survives a failure.
 * 0, or -1 with an error naming path. */
TG_API int tg_checkpoint_save(const char *path, const tg_module *model, const tg_optimizer *opt,
                              const tg_checkpoint_extra *extra);

/* Restores what tg_checkpoint_save wrote into model, opt (may be NULL: the
 * file's optimizer state is then ignored) and extra (may be NULL; else its
 * rngs say which generators to restore, each of which must be in the file;
 * generators in the file it does not name are ignored).
 *
 * The model is loaded strictly: every key of its state_dict must be in the
 * file with the same shape and dtype, and the file may hold no other
 * "model." key; each module RNG likewise. The optimizer must hold the
 * parameters whose state the file has, under the same names (build it
 * from tg_module_parameters of the same model, as when saving).
 *
 * The whole file is read and checked before anything is changed: a file
 * that is not a checkpoint, truncated or malformed, from another
 * architecture, without an entry asked for, or with a value that does not
 * parse gives -1 with an error naming the file and the key, and model,
 * opt and extra are left as they were (optimizer state for parameters
 * this optimizer does not hold is found by tg_optimizer_load_state before
 * it changes anything). */
TG_API int tg_checkpoint_load(const char *path, tg_module *model, tg_optimizer *opt, tg_checkpoint_extra *extra);

/* How the weights-only functions treat values that are not finite. */
typedef struct tg_weights_opts {
    bool allow_nonfinite; /* save and load NaN and Inf (default: refused, the tensor named) */
} tg_weights_opts;

/* Weights only, for interop: the state_dict under its own names
 * ("conv1.weight", "bn1.running_mean", "fc.bias"), readable by
 * safetensors.torch.load_file + model.load_state_dict. 0 or -1 (a
 * non-finite value among them is refused). */
TG_API int tg_module_save(const char *path, const tg_module *model);
/* tg_module_save with options (opts may be NULL: the defaults). */
TG_API int tg_module_save_with(const char *path, const tg_module *model, const tg_weights_opts *opts);

/* Loads a weights file (from tg_module_save or PyTorch; the "model."
 * entries of a training checkpoint also do) into model, as
 * tg_module_load_state_dict with strict: nothing changes unless every
 * check passes (a non-finite value among the weights is refused). -1
 * with an error naming the file and the first bad key. */
TG_API int tg_module_load(const char *path, tg_module *model, bool strict);
/* tg_module_load with options (opts may be NULL: the defaults). */
TG_API int tg_module_load_with(const char *path, tg_module *model, bool strict, const tg_weights_opts *opts);
/* tg_module_load not strict, saying what it skipped: the model's keys the
 * file lacks are appended to missing, the file's keys the model lacks to
 * unexpected (tg_module_state_dict_diff; either may be NULL), which
 * PyTorch's strict=False would drop silently. Shapes must still match. */
TG_API int tg_module_load_report(const char *path, tg_module *model, tg_tensor_list *missing,
                                 tg_tensor_list *unexpected);

#endif
