/* Module registration, traversal and state dicts (see module.h). */
#include "nn/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/autograd.h"
#include "tensor/internal/check.h"
#include "tensor/internal/view.h"

#define NAME_MAX_LEN 512

tg_module *tg_module_new(const tg_module_type *type, size_t size)
{
    if (TG_NEED("module_new", type)) return NULL;
    if (size > TG_MODULE_MAX_SIZE) {
        TG_FAIL("module_new: size %zu is above %u bytes", size, TG_MODULE_MAX_SIZE);
        return NULL;
    }
    tg_module *m = calloc(1, size < sizeof *m ? sizeof *m : size);
    if (!m) {
        TG_FAIL("%s: out of memory creating the module", type->name);
        return NULL;
    }
    m->type = type;
    m->training = true;
    return m;
}

static int check_name(const tg_module *m, const char *name)
{
    if (!name || !*name || strchr(name, '.'))
        return TG_FAIL("%s: invalid name \"%s\" (non-empty, no dots)", m->type->name, name ? name : "(null)");
    bool taken = false;
    tg_tensor *p = tg_tensor_list_get(&m->params, name), *b = tg_tensor_list_get(&m->buffers, name);
    taken = p || b;
    tg_release(p);
    tg_release(b);
    for (int i = 0; i < m->n_children && !taken; i++) taken = strcmp(m->children[i].name, name) == 0;
    return taken ? TG_FAIL("%s: the name \"%s\" is already registered", m->type->name, name) : 0;
}

static int add_tensor(const char *fn, tg_module *m, const char *name, tg_tensor *t, bool param)
{
    int rc = TG_NEED(fn, m, t) ? -1 : check_name(m, name);
    if (!rc && param) rc = tg_set_requires_grad(t, true);
    if (!rc) rc = tg_tensor_list_add(param ? &m->params : &m->buffers, name, t);
    tg_release(t);
    return rc;
}

int tg_module_add_param(tg_module *m, const char *name, tg_tensor *t)
{
    return add_tensor("module_add_param", m, name, t, true);
}

int tg_module_add_buffer(tg_module *m, const char *name, tg_tensor *t)
{
    return add_tensor("module_add_buffer", m, name, t, false);
}

int tg_module_add_child(tg_module *m, const char *name, tg_module *child)
{
    if (TG_NEED("module_add_child", m, child) || check_name(m, name)) {
        tg_module_free(child);
        return -1;
    }
    if (m->n_children == m->cap_children) {
        int cap = m->cap_children ? 2 * m->cap_children : 4;
        tg_named_module *c = realloc(m->children, (size_t)cap * sizeof *c);
        if (!c) {
            tg_module_free(child);
            return TG_FAIL("%s: out of memory adding a child", m->type->name);
        }
        m->children = c;
        m->cap_children = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        tg_module_free(child);
        return TG_FAIL("%s: out of memory adding a child", m->type->name);
    }
    m->children[m->n_children++] = (tg_named_module){copy, child};
    return 0;
}

tg_module *tg_module_child(const tg_module *m, const char *name)
{
    if (TG_NEED("module_child", m, name)) return NULL;
    for (int i = 0; i < m->n_children; i++)
        if (strcmp(m->children[i].name, name) == 0) return m->children[i].module;
    TG_FAIL("%s: no child named \"%s\"", m->type->name, name);
    return NULL;
}

tg_tensor *tg_module_forward(tg_module *m, tg_tensor *x)
{
    if (TG_NEED("module_forward", m, x)) return NULL;
    if (m->type->forward) return m->type->forward(m, x);
    if (m->type->forward_n) return m->type->forward_n(m, 1, &x);
    TG_FAIL("%s: has no forward", m->type->name);
    return NULL;
}

tg_tensor *tg_module_forward_n(tg_module *m, int n, tg_tensor *const *inputs)
{
    if (TG_NEED("module_forward_n", m, inputs) || TG_NEED_RANGE("module_forward_n", n, 1, INT_MAX) ||
        TG_NEED("module_forward_n", inputs[0]))
        return NULL;
    if (m->type->forward_n) return m->type->forward_n(m, n, inputs);
    if (n == 1) return tg_module_forward(m, inputs[0]);
    TG_FAIL("%s: takes one input, not %d", m->type->name, n);
    return NULL;
}

void tg_module_free(tg_module *m)
{
    if (!m) return;
    if (m->type->destroy) m->type->destroy(m);
    for (int i = 0; i < m->n_children; i++) {
        tg_module_free(m->children[i].module);
        free(m->children[i].name);
    }
    free(m->children);
    tg_tensor_list_clear(&m->params);
    tg_tensor_list_clear(&m->buffers);
    free(m);
}

void tg_module_train(tg_module *m, bool training)
{
    if (TG_NEED("module_train", m)) return;
    m->training = training;
    for (int i = 0; i < m->n_children; i++) tg_module_train(m->children[i].module, training);
}

void tg_module_zero_grad(tg_module *m)
{
    if (TG_NEED("module_zero_grad", m)) return;
    for (int i = 0; i < m->params.n; i++) tg_zero_grad(m->params.items[i].tensor);
    for (int i = 0; i < m->n_children; i++) tg_module_zero_grad(m->children[i].module);
}

int tg_module_set_requires_grad(tg_module *m, bool requires_grad)
{
    if (TG_NEED("module_set_requires_grad", m)) return -1;
    for (int i = 0; i < m->params.n; i++)
        if (tg_set_requires_grad(m->params.items[i].tensor, requires_grad)) return -1;
    for (int i = 0; i < m->n_children; i++)
        if (tg_module_set_requires_grad(m->children[i].module, requires_grad)) return -1;
    return 0;
}

/* prefix + "." + name into buf (no dot after an empty prefix). */
static int join(char *buf, const char *prefix, const char *name)
{
    int n = snprintf(buf, NAME_MAX_LEN, "%s%s%s", prefix, *prefix ? "." : "", name);
    return n < 0 || n >= NAME_MAX_LEN ? TG_FAIL("module: name %s.%s is too long", prefix, name) : 0;
}

/* Appends m's tensors (buffers too when with_buffers) under prefix. */
static int collect(const tg_module *m, const char *prefix, bool with_buffers, tg_tensor_list *out)
{
    char name[NAME_MAX_LEN];
    for (int i = 0; i < m->params.n; i++)
        if (join(name, prefix, m->params.items[i].name) || tg_tensor_list_add(out, name, m->params.items[i].tensor))
            return -1;
    for (int i = 0; with_buffers && i < m->buffers.n; i++)
        if (join(name, prefix, m->buffers.items[i].name) || tg_tensor_list_add(out, name, m->buffers.items[i].tensor))
            return -1;
    for (int i = 0; i < m->n_children; i++)
        if (join(name, prefix, m->children[i].name) || collect(m->children[i].module, name, with_buffers, out))
            return -1;
    return 0;
}

int tg_module_parameters(const tg_module *m, tg_tensor_list *out)
{
    return TG_NEED("module_parameters", m, out) ? -1 : collect(m, "", false, out);
}

int tg_module_state_dict(const tg_module *m, tg_tensor_list *out)
{
    return TG_NEED("module_state_dict", m, out) ? -1 : collect(m, "", true, out);
}

int64_t tg_module_num_parameters(const tg_module *m)
{
    if (TG_NEED("module_num_parameters", m)) return -1;
    int64_t n = 0;
    for (int i = 0; i < m->params.n; i++) n += tg_numel(m->params.items[i].tensor);
    for (int i = 0; i < m->n_children; i++) n += tg_module_num_parameters(m->children[i].module);
    return n;
}

/* Checks that src can be copied into the module tensor dst called name. */
static int check_match(const char *name, const tg_tensor *dst, const tg_tensor *src)
{
    if (src->dtype != dst->dtype)
        return TG_FAIL("load_state_dict: %s is %s in the file, %s in the module", name, tg_dtype_name(src->dtype),
                       tg_dtype_name(dst->dtype));
    if (tg_same_shape(src, dst)) return 0;
    char b0[TG_SHAPE_STR_LEN], b1[TG_SHAPE_STR_LEN];
    return TG_FAIL("load_state_dict: %s has shape %s in the file, %s in the module", name,
                   tg_shape_str(src->ndim, src->shape, b0, sizeof b0), tg_shape_str(dst->ndim, dst->shape, b1, sizeof b1));
}

/* Appends to out every item of a whose name b lacks. */
static int append_absent(const tg_tensor_list *a, const tg_tensor_list *b, tg_tensor_list *out)
{
    for (int i = 0; out && i < a->n; i++) {
        tg_tensor *t = tg_tensor_list_get(b, a->items[i].name);
        tg_release(t);
        if (!t && tg_tensor_list_add(out, a->items[i].name, a->items[i].tensor)) return -1;
    }
    return 0;
}

int tg_module_state_dict_diff(const tg_module *m, const tg_tensor_list *sd, tg_tensor_list *missing,
                              tg_tensor_list *unexpected)
{
    if (TG_NEED("module_state_dict_diff", m, sd)) return -1;
    tg_tensor_list mine = {0};
    int rc = tg_module_state_dict(m, &mine);
    if (!rc) rc = append_absent(&mine, sd, missing);
    if (!rc) rc = append_absent(sd, &mine, unexpected);
    tg_tensor_list_clear(&mine);
    return rc;
}

static int check_state(const tg_tensor_list *mine, const tg_tensor_list *sd, bool strict)
{
    for (int i = 0; i < mine->n; i++) {
        tg_tensor *src = tg_tensor_list_get(sd, mine->items[i].name);
        int rc = src ? check_match(mine->items[i].name, mine->items[i].tensor, src)
                     : strict ? TG_FAIL("load_state_dict: missing key %s", mine->items[i].name) : 0;
        tg_release(src);
        if (rc) return -1;
    }
    for (int i = 0; strict && i < sd->n; i++) {
        tg_tensor *t = tg_tensor_list_get(mine, sd->items[i].name);
        tg_release(t);
        if (!t) return TG_FAIL("load_state_dict: unexpected key %s", sd->items[i].name);
    }
    return 0;
}

int tg_module_load_state_dict(tg_module *m, const tg_tensor_list *sd, bool strict)
{
    if (TG_NEED("module_load_state_dict", m, sd)) return -1;
    tg_tensor_list mine = {0};
    int rc = tg_module_state_dict(m, &mine);
    if (!rc) rc = check_state(&mine, sd, strict);
    tg_no_grad_enter();
    for (int i = 0; !rc && i < mine.n; i++) {
        tg_tensor *src = tg_tensor_list_get(sd, mine.items[i].name);
        if (src) rc = tg_k_copy_(mine.items[i].tensor, src);
        tg_release(src);
    }
    tg_no_grad_exit();
    tg_tensor_list_clear(&mine);
    return rc;
}

/* sd's entries whose key starts with strip, renamed add + the rest, into out. */
static int renamed(const tg_tensor_list *sd, const char *strip, const char *add, tg_tensor_list *out)
{
    size_t ls = strip ? strlen(strip) : 0, la = add ? strlen(add) : 0;
    for (int i = 0; i < sd->n; i++) {
        const char *key = sd->items[i].name;
        if (ls && strncmp(key, strip, ls) != 0) continue;
        size_t rest = strlen(key + ls);
        char *name = malloc(la + rest + 1);
        if (!name) return TG_FAIL("load_state_dict: out of memory");
        memcpy(name, add ? add : "", la);
        memcpy(name + la, key + ls, rest + 1);
        int rc = tg_tensor_list_add(out, name, sd->items[i].tensor);
        free(name);
        if (rc) return -1;
    }
    return 0;
}

int tg_module_load_state_dict_prefixed(tg_module *m, const tg_tensor_list *sd, const char *strip, const char *add,
                                       bool strict)
{
    if (TG_NEED("module_load_state_dict_prefixed", m, sd)) return -1;
    tg_tensor_list keys = {0};
    int rc = renamed(sd, strip, add, &keys);
    if (!rc) rc = tg_module_load_state_dict(m, &keys, strict);
    tg_tensor_list_clear(&keys);
    return rc;
}
