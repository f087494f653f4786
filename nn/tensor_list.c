/* Named tensor lists (see tensor_list.h). */
#include "nn/tensor_list.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"

int tg_tensor_list_add(tg_tensor_list *l, const char *name, tg_tensor *t)
{
    if (TG_NEED("tensor_list_add", l, name, t)) return -1;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 8;
        tg_named_tensor *items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) return TG_FAIL("tensor_list_add: out of memory");
        l->items = items;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) return TG_FAIL("tensor_list_add: out of memory");
    l->items[l->n++] = (tg_named_tensor){copy, tg_retain(t)};
    return 0;
}

tg_tensor *tg_tensor_list_get(const tg_tensor_list *l, const char *name)
{
    if (TG_NEED("tensor_list_get", l, name)) return NULL;
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->items[i].name, name) == 0) return tg_retain(l->items[i].tensor);
    return NULL;
}

void tg_tensor_list_clear(tg_tensor_list *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].name);
        tg_release(l->items[i].tensor);
    }
    free(l->items);
    *l = (tg_tensor_list){0};
}
