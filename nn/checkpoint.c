/* Training checkpoints and weights-only files over safetensors (see
 * checkpoint.h for the layout of a file).
 *
 * Loading reads the whole file, sorts its entries by prefix and checks all
 * of them against the model, the optimizer and the caller's generators
 * before it writes anything, so a bad file changes nothing. */
#include "nn/checkpoint.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/ops_nograd.h"
#include "nn/layers.h"
#include "tensor/internal/view.h"

#define NAME_LEN 640
#define FORMAT_KEY "tensorgrad.checkpoint"
#define FORMAT_VERSION "1"
#define MODULE_RNG "rng.module"

/* ---- errors ---- */

/* The current message without its "dir/file.c:123: " location. */
static const char *without_location(const char *msg)
{
    const char *c = strstr(msg, ".c:");
    if (!c || memchr(msg, ' ', (size_t)(c - msg))) return msg;
    const char *p = c + 3;
    if (!isdigit((unsigned char)*p)) return msg;
    while (isdigit((unsigned char)*p)) p++;
    return p[0] == ':' && p[1] == ' ' ? p + 2 : msg;
}

/* Re-records the current error as "op: path: message"; returns -1. */
static int fail_in(const char *op, const char *path)
{
    char inner[1024];
    snprintf(inner, sizeof inner, "%s", without_location(tg_last_error()));
    return TG_FAIL("%s: %s: %s", op, path, inner);
}

/* ---- small helpers ---- */

/* Refuses a float tensor of l that holds NaN or Inf, naming it. */
static int check_finite(const char *op, const char *path, const tg_tensor_list *l)
{
    for (int i = 0; i < l->n; i++) {
        float bad = 0;
        int finite = tg_all_finite(l->items[i].tensor, &bad);
        if (finite < 0) return fail_in(op, path);
        if (!finite)
            return TG_FAIL("%s: %s: tensor %s has a non-finite value (%g); refused (allow_nonfinite lets it through)",
                           op, path, l->items[i].name, (double)bad);
    }
    return 0;
}

/* Appends each tensor of from to out under prefix + its name. */
static int add_prefixed(tg_tensor_list *out, const char *prefix, const tg_tensor_list *from)
{
    char name[NAME_LEN];
    for (int i = 0; i < from->n; i++) {
        int n = snprintf(name, sizeof name, "%s%s", prefix, from->items[i].name);
        if (n < 0 || (size_t)n >= sizeof name) return TG_FAIL("name %s%s is too long", prefix, from->items[i].name);
        if (tg_tensor_list_add(out, name, from->items[i].tensor)) return -1;
    }
    return 0;
}

static int add_meta_i64(tg_metadata *m, const char *key, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    return tg_metadata_add(m, key, text);
}

/* A generator as int64 (3): seed, stream, counter, bit for bit. */
static tg_tensor *rng_to_tensor(const tg_rng *rng)
{
    uint64_t u[3] = {rng->seed, rng->stream, rng->counter};
    int64_t v[3];
    memcpy(v, u, sizeof v);
    return tg_from_data(TG_SHAPE(3), TG_INT64, v);
}

static bool is_rng_tensor(const tg_tensor *t) { return t->dtype == TG_INT64 && t->ndim == 1 && t->shape[0] == 3; }

static int tensor_to_rng(const tg_tensor *t, tg_rng *rng)
{
    int64_t v[3];
    uint64_t u[3];
    if (tg_copy_to_buffer(t, v)) return -1;
    memcpy(u, v, sizeof u);
    *rng = (tg_rng){.seed = u[0], .stream = u[1], .counter = u[2]};
    return 0;
}

/* The name a caller's generator may have: not empty, not the modules'. */
static int check_rng_name(const char *name)
{
    if (!name || !*name) return TG_FAIL("a generator needs a non-empty name");
    if (strncmp(name, "module", 6) == 0 && (name[6] == '\0' || name[6] == '.'))
        return TG_FAIL("the generator name \"%s\" is reserved for module RNGs", name);
    return 0;
}

/* ---- module RNGs ---- */

typedef struct {
    char key[NAME_LEN]; /* "rng.module.<dotted module name>" */
    tg_rng *rng;
} module_rng;

typedef struct {
    int n, cap;
    module_rng *items;
} module_rng_list;

/* Appends the RNG of m and of each module below it; key is m's. */
static int find_module_rngs(tg_module *m, const char *key, module_rng_list *out)
{
    tg_rng *rng = tg_nn_module_rng(m);
    if (rng) {
        if (out->n == out->cap) {
            int cap = out->cap ? 2 * out->cap : 8;
            module_rng *items = realloc(out->items, (size_t)cap * sizeof *items);
            if (!items) return TG_FAIL("out of memory listing module RNGs");
            out->items = items;
            out->cap = cap;
        }
        snprintf(out->items[out->n].key, NAME_LEN, "%s", key);
        out->items[out->n++].rng = rng;
    }
    for (int i = 0; i < m->n_children; i++) {
        char child[NAME_LEN];
        int n = snprintf(child, sizeof child, "%s.%s", key, m->children[i].name);
        if (n < 0 || (size_t)n >= sizeof child)
            return TG_FAIL("module name %s.%s is too long", key, m->children[i].name);
        if (find_module_rngs(m->children[i].module, child, out)) return -1;
    }
    return 0;
}

static const module_rng *module_rng_get(const module_rng_list *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0) return &l->items[i];
    return NULL;
}

/* ---- save ---- */

static int collect_metadata(tg_metadata *meta, const tg_optimizer *opt, const tg_checkpoint_extra *extra)
{
    const tg_checkpoint_extra none = {0};
    if (!extra) extra = &none;
    if (tg_metadata_add(meta, FORMAT_KEY, FORMAT_VERSION) || add_meta_i64(meta, "step", extra->step) ||
        add_meta_i64(meta, "epoch", extra->epoch) || add_meta_i64(meta, "position", extra->position))
        return -1;
    if (opt) {
        char lr[40];
        snprintf(lr, sizeof lr, "%.17g", tg_optimizer_lr(opt));
        if (tg_metadata_add(meta, "optim.lr", lr)) return -1;
    }
    for (int i = 0; i < extra->metadata.n; i++) {
        char key[NAME_LEN];
        int n = snprintf(key, sizeof key, "user.%s", extra->metadata.items[i].key);
        if (n < 0 || (size_t)n >= sizeof key)
            return TG_FAIL("metadata key %s is too long", extra->metadata.items[i].key);
        if (tg_metadata_add(meta, key, extra->metadata.items[i].value)) return -1;
    }
    return 0;
}

static int collect_rngs(tg_tensor_list *out, const tg_module *model, const tg_checkpoint_extra *extra)
{
    module_rng_list mods = {0};
    int rc = find_module_rngs((tg_module *)model, MODULE_RNG, &mods);
    for (int i = 0; !rc && i < mods.n; i++) {
        tg_tensor *t = rng_to_tensor(mods.items[i].rng);
        rc = t ? tg_tensor_list_add(out, mods.items[i].key, t) : -1;
        tg_release(t);
    }
    free(mods.items);
    for (int i = 0; !rc && extra && i < extra->n_rngs; i++) {
        const tg_checkpoint_rng *r = &extra->rngs[i];
        char key[NAME_LEN];
        rc = check_rng_name(r->name);
        if (!rc && !r->rng) rc = TG_FAIL("generator %s is NULL", r->name);
        if (!rc && snprintf(key, sizeof key, "rng.%s", r->name) >= (int)sizeof key)
            rc = TG_FAIL("generator name %s is too long", r->name);
        tg_tensor *t = rc ? NULL : rng_to_tensor(r->rng);
        if (!rc) rc = t ? tg_tensor_list_add(out, key, t) : -1;
        tg_release(t);
    }
    return rc;
}

int tg_checkpoint_save(const char *path, const tg_module *model, const tg_optimizer *opt,
                       const tg_checkpoint_extra *extra)
{
    if (!path || !model) return TG_FAIL("checkpoint_save: NULL path or model");
    if (extra && extra->n_rngs > 0 && !extra->rngs)
        return TG_FAIL("checkpoint_save: %s: extra has %d generators but rngs is NULL", path, extra->n_rngs);
    tg_tensor_list out = {0}, part = {0};
    tg_metadata meta = {0};
    int rc = tg_module_state_dict(model, &part) || add_prefixed(&out, "model.", &part);
    tg_tensor_list_clear(&part);
    if (!rc && opt) rc = tg_optimizer_state(opt, &part) || add_prefixed(&out, "optim.", &part);
    tg_tensor_list_clear(&part);
    if (!rc) rc = collect_rngs(&out, model, extra) || collect_metadata(&meta, opt, extra);
    if (rc) rc = fail_in("checkpoint_save", path);
    else if (!(extra && extra->allow_nonfinite)) rc = check_finite("checkpoint_save", path, &out);
    if (!rc) rc = tg_safetensors_save(path, &out, &meta); /* its errors name the file */
    tg_tensor_list_clear(&out);
    tg_metadata_clear(&meta);
    return rc ? -1 : 0;
}

/* ---- load: read and check ---- */

/* A file read whole and sorted by prefix; names in model and optim are
 * without it. Nothing here is applied yet. */
typedef struct {
    const char *path;
    tg_tensor_list all;
    tg_metadata meta;
    tg_tensor_list model, optim;
    module_rng_list mods; /* the model's own RNGs (pointers into it) */
    tg_metadata user;     /* "user." entries, without the prefix */
    int64_t step, epoch, position;
    double lr;
} staged;

static void staged_free(staged *s)
{
    tg_tensor_list_clear(&s->all);
    tg_metadata_clear(&s->meta);
    tg_tensor_list_clear(&s->model);
    tg_tensor_list_clear(&s->optim);
    free(s->mods.items);
    tg_metadata_clear(&s->user);
}

#define LOAD_FAIL(s, fmt, ...) TG_FAIL("checkpoint_load: %s: " fmt, (s)->path, __VA_ARGS__)

static int parse_i64(staged *s, const char *key, int64_t *out)
{
    const char *text = tg_metadata_get(&s->meta, key);
    if (!text) return LOAD_FAIL(s, "metadata \"%s\" is missing", key);
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno) return LOAD_FAIL(s, "metadata \"%s\" is \"%s\", not an int64", key, text);
    *out = (int64_t)v;
    return 0;
}

/* Sorts the file's tensors into model / optim, checking every rng. entry. */
static int sort_entries(staged *s)
{
    for (int i = 0; i < s->all.n; i++) {
        const char *name = s->all.items[i].name;
        tg_tensor *t = s->all.items[i].tensor;
        if (strncmp(name, "model.", 6) == 0) {
            if (tg_tensor_list_add(&s->model, name + 6, t)) return -1;
        } else if (strncmp(name, "optim.", 6) == 0) {
            const char *what = strrchr(name, '.') + 1;
            bool is_step = strcmp(what, "step") == 0;
            if (is_step ? t->dtype != TG_INT64 || tg_numel(t) != 1 : t->dtype != TG_FLOAT32)
                return LOAD_FAIL(s, "%s has dtype %s, expected %s", name, tg_dtype_name(t->dtype),
                                 is_step ? "one int64" : "float32");
            if (tg_tensor_list_add(&s->optim, name + 6, t)) return -1;
        } else if (strncmp(name, "rng.", 4) == 0) {
            if (!is_rng_tensor(t))
                return LOAD_FAIL(s, "%s is not an int64 tensor of 3 values (seed, stream, counter)", name);
        } else {
            return LOAD_FAIL(s, "unexpected tensor %s (neither model., optim. nor rng.)", name);
        }
    }
    return 0;
}

/* The model's state_dict against the file's, strictly, naming the key. */
static int check_model(staged *s, const tg_module *model)
{
    tg_tensor_list mine = {0};
    int rc = tg_module_state_dict(model, &mine) ? fail_in("checkpoint_load", s->path) : 0;
    for (int i = 0; !rc && i < mine.n; i++) {
        const char *name = mine.items[i].name;
        const tg_tensor *dst = mine.items[i].tensor;
        tg_tensor *src = tg_tensor_list_get(&s->model, name);
        char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
        if (!src)
            rc = LOAD_FAIL(s, "model.%s is missing (the model has it)", name);
        else if (src->dtype != dst->dtype)
            rc = LOAD_FAIL(s, "model.%s is %s in the file, %s in the model", name, tg_dtype_name(src->dtype),
                           tg_dtype_name(dst->dtype));
        else if (!tg_same_shape(src, dst))
            rc = LOAD_FAIL(s, "model.%s has shape %s in the file, %s in the model", name,
                           tg_shape_str(src->ndim, src->shape, b0, sizeof b0),
                           tg_shape_str(dst->ndim, dst->shape, b1, sizeof b1));
        tg_release(src);
    }
    for (int i = 0; !rc && i < s->model.n; i++) {
        tg_tensor *t = tg_tensor_list_get(&mine, s->model.items[i].name);
        if (!t) rc = LOAD_FAIL(s, "unexpected model.%s (the model has no such key)", s->model.items[i].name);
        tg_release(t);
    }
    tg_tensor_list_clear(&mine);
    return rc;
}

/* Each module RNG of the model is in the file, and the file has no other. */
static int check_module_rngs(staged *s, tg_module *model)
{
    if (find_module_rngs(model, MODULE_RNG, &s->mods)) return fail_in("checkpoint_load", s->path);
    for (int i = 0; i < s->mods.n; i++) {
        tg_tensor *t = tg_tensor_list_get(&s->all, s->mods.items[i].key);
        tg_release(t);
        if (!t) return LOAD_FAIL(s, "%s is missing (the model has a module with an RNG there)", s->mods.items[i].key);
    }
    size_t len = strlen(MODULE_RNG);
    for (int i = 0; i < s->all.n; i++) {
        const char *name = s->all.items[i].name;
        if (strncmp(name, MODULE_RNG, len) == 0 && (name[len] == '\0' || name[len] == '.') &&
            !module_rng_get(&s->mods, name))
            return LOAD_FAIL(s, "unexpected %s (the model has no module with an RNG there)", name);
    }
    return 0;
}

static int check_extra(staged *s, const tg_checkpoint_extra *extra)
{
    if (extra->n_rngs > 0 && !extra->rngs)
        return LOAD_FAIL(s, "extra has %d generators but rngs is NULL", extra->n_rngs);
    for (int i = 0; i < extra->n_rngs; i++) {
        const tg_checkpoint_rng *r = &extra->rngs[i];
        char key[NAME_LEN];
        if (check_rng_name(r->name)) return fail_in("checkpoint_load", s->path);
        if (!r->rng) return LOAD_FAIL(s, "generator %s is NULL", r->name);
        snprintf(key, sizeof key, "rng.%s", r->name);
        tg_tensor *t = tg_tensor_list_get(&s->all, key);
        tg_release(t);
        if (!t) return LOAD_FAIL(s, "%s is missing (asked for generator \"%s\")", key, r->name);
    }
    for (int i = 0; i < s->meta.n; i++)
        if (strncmp(s->meta.items[i].key, "user.", 5) == 0 &&
            tg_metadata_add(&s->user, s->meta.items[i].key + 5, s->meta.items[i].value))
            return fail_in("checkpoint_load", s->path);
    return 0;
}

static int check_metadata(staged *s, const tg_optimizer *opt)
{
    const char *version = tg_metadata_get(&s->meta, FORMAT_KEY);
    if (!version)
        return LOAD_FAIL(s, "not a training checkpoint (no \"%s\" in its metadata; a weights-only file loads "
                            "with tg_module_load)", FORMAT_KEY);
    if (strcmp(version, FORMAT_VERSION) != 0)
        return LOAD_FAIL(s, "checkpoint format version \"%s\"; this library reads \"%s\"", version, FORMAT_VERSION);
    if (parse_i64(s, "step", &s->step) || parse_i64(s, "epoch", &s->epoch) || parse_i64(s, "position", &s->position))
        return -1;
    if (!opt) return 0;
    const char *lr = tg_metadata_get(&s->meta, "optim.lr");
    if (!lr)
        return LOAD_FAIL(s, "%s", "holds no optimizer (no \"optim.lr\" in its metadata): it was saved without one");
    char *end;
    errno = 0;
    s->lr = strtod(lr, &end);
    if (!*lr || *end || errno || !(s->lr >= 0))
        return LOAD_FAIL(s, "metadata \"optim.lr\" is \"%s\", not a learning rate", lr);
    return 0;
}

/* ---- load: apply ---- */

/* Loads the optimizer's state (it checks every key before it changes any). */
static int apply_optimizer(staged *s, tg_optimizer *opt)
{
    if (tg_optimizer_load_state(opt, &s->optim)) {
        char why[1024];
        snprintf(why, sizeof why, "%s", without_location(tg_last_error()));
        return LOAD_FAIL(s, "%s (optim. entries)", why);
    }
    tg_optimizer_set_lr(opt, s->lr);
    return 0;
}

static int apply_rest(staged *s, tg_module *model, tg_checkpoint_extra *extra)
{
    if (tg_module_load_state_dict(model, &s->model, true)) return fail_in("checkpoint_load", s->path);
    for (int i = 0; i < s->mods.n; i++) {
        tg_tensor *t = tg_tensor_list_get(&s->all, s->mods.items[i].key);
        int rc = tensor_to_rng(t, s->mods.items[i].rng);
        tg_release(t);
        if (rc) return fail_in("checkpoint_load", s->path);
    }
    if (!extra) return 0;
    for (int i = 0; i < extra->n_rngs; i++) {
        char key[NAME_LEN];
        snprintf(key, sizeof key, "rng.%s", extra->rngs[i].name);
        tg_tensor *t = tg_tensor_list_get(&s->all, key);
        int rc = tensor_to_rng(t, extra->rngs[i].rng);
        tg_release(t);
        if (rc) return fail_in("checkpoint_load", s->path);
    }
    extra->step = s->step;
    extra->epoch = s->epoch;
    extra->position = s->position;
    tg_metadata_clear(&extra->metadata);
    extra->metadata = s->user; /* moved */
    s->user = (tg_metadata){0};
    return 0;
}

int tg_checkpoint_load(const char *path, tg_module *model, tg_optimizer *opt, tg_checkpoint_extra *extra)
{
    if (!path || !model) return TG_FAIL("checkpoint_load: NULL path or model");
    staged s = {.path = path};
    int rc = tg_safetensors_load(path, &s.all, &s.meta); /* its errors name the file */
    if (!rc && !(extra && extra->allow_nonfinite)) rc = check_finite("checkpoint_load", path, &s.all);
    if (!rc) rc = check_metadata(&s, opt);
    if (!rc) rc = sort_entries(&s);
    if (!rc) rc = check_model(&s, model);
    if (!rc) rc = check_module_rngs(&s, model);
    if (!rc && extra) rc = check_extra(&s, extra);
    /* Everything that can be checked has been: from here on, apply. The
     * optimizer goes first, as the one part that may still refuse. */
    if (!rc && opt) rc = apply_optimizer(&s, opt);
    if (!rc) rc = apply_rest(&s, model, extra);
    staged_free(&s);
    return rc ? -1 : 0;
}

/* ---- weights only ---- */

int tg_module_save_with(const char *path, const tg_module *model, const tg_weights_opts *opts)
{
    if (!path || !model) return TG_FAIL("module_save: NULL path or model");
    tg_tensor_list sd = {0};
    tg_metadata meta = {0};
    int rc = tg_module_state_dict(model, &sd) || tg_metadata_add(&meta, "format", "pt");
    if (rc) rc = fail_in("module_save", path);
    else if (!(opts && opts->allow_nonfinite)) rc = check_finite("module_save", path, &sd);
    if (!rc) rc = tg_safetensors_save(path, &sd, &meta);
    tg_tensor_list_clear(&sd);
    tg_metadata_clear(&meta);
    return rc ? -1 : 0;
}

int tg_module_save(const char *path, const tg_module *model) { return tg_module_save_with(path, model, NULL); }

/* tg_module_load, and when not strict the keys it skipped appended to
 * missing and unexpected (either may be NULL). */
static int load_weights(const char *path, tg_module *model, bool strict, const tg_weights_opts *opts,
                        tg_tensor_list *missing, tg_tensor_list *unexpected)
{
    if (!path || !model) return TG_FAIL("module_load: NULL path or model");
    tg_tensor_list all = {0}, model_part = {0};
    tg_metadata meta = {0};
    int rc = tg_safetensors_load(path, &all, &meta);
    const tg_tensor_list *sd = &all;
    if (!rc && tg_metadata_get(&meta, FORMAT_KEY)) { /* a training checkpoint: its model. entries */
        for (int i = 0; !rc && i < all.n; i++)
            if (strncmp(all.items[i].name, "model.", 6) == 0)
                rc = tg_tensor_list_add(&model_part, all.items[i].name + 6, all.items[i].tensor);
        sd = &model_part;
        if (rc) rc = fail_in("module_load", path);
    }
    if (!rc && !(opts && opts->allow_nonfinite)) rc = check_finite("module_load", path, sd);
    if (!rc && tg_module_load_state_dict(model, sd, strict)) rc = fail_in("module_load", path);
    if (!rc && !strict && tg_module_state_dict_diff(model, sd, missing, unexpected)) rc = fail_in("module_load", path);
    tg_tensor_list_clear(&all);
    tg_tensor_list_clear(&model_part);
    tg_metadata_clear(&meta);
    return rc ? -1 : 0;
}

int tg_module_load(const char *path, tg_module *model, bool strict)
{
    return load_weights(path, model, strict, NULL, NULL, NULL);
}

int tg_module_load_with(const char *path, tg_module *model, bool strict, const tg_weights_opts *opts)
{
    return load_weights(path, model, strict, opts, NULL, NULL);
}

int tg_module_load_report(const char *path, tg_module *model, tg_tensor_list *missing, tg_tensor_list *unexpected)
{
    return load_weights(path, model, false, NULL, missing, unexpected);
}
