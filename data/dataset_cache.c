/* A dataset that keeps the samples another one gives in memory (see
 * tg_dataset_cached in dataset.h): the first get() of an index asks the
 * base dataset and keeps a copy while the cache has room; later ones copy
 * it back. The base's samples are the same for an index every time, so a
 * kept copy is what the base would give again: caching changes no result.
 *
 * get() runs in several loader workers at once. A slot, once filled under
 * the lock, never changes until destroy, so its bytes are copied out
 * without the lock. Two workers asking for the same index first both ask
 * the base; the first to finish fills the slot. */
#include "data/dataset.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/error.h"

typedef struct {
    tg_dataset ds; /* first: the table the callers see */
    tg_dataset *base;
    size_t max_bytes, used;
    tg_sample *kept; /* one a sample; image.data NULL until kept */
    pthread_mutex_t lock;
} cached_dataset;

static size_t image_bytes(const tg_image *img)
{
    return img->data ? (size_t)img->height * (size_t)img->width * (size_t)img->channels : 0;
}

/* A copy of src into *dst (empty for an empty src). 0, or -1 out of
 * memory with *dst empty. */
static int copy_image(const tg_image *src, tg_image *dst)
{
    *dst = (tg_image){0};
    if (!src->data) return 0;
    if (tg_image_alloc(dst, src->height, src->width, src->channels)) return -1;
    memcpy(dst->data, src->data, image_bytes(src));
    return 0;
}

static int copy_sample(const tg_sample *src, tg_sample *dst)
{
    *dst = (tg_sample){0};
    if (!copy_image(&src->image, &dst->image) && !copy_image(&src->mask, &dst->mask)) return 0;
    tg_sample_free(dst);
    return -1;
}

/* Keeps a copy of s as sample index if it is not kept yet and fits. */
static void keep(cached_dataset *c, int64_t index, const tg_sample *s)
{
    size_t bytes = image_bytes(&s->image) + image_bytes(&s->mask);
    pthread_mutex_lock(&c->lock);
    bool wanted = !c->kept[index].image.data && c->used + bytes <= c->max_bytes;
    if (wanted) c->used += bytes; /* reserved: another worker cannot overfill */
    pthread_mutex_unlock(&c->lock);
    if (!wanted) return;
    tg_sample copy;
    int rc = copy_sample(s, &copy);
    pthread_mutex_lock(&c->lock);
    bool stored = !rc && !c->kept[index].image.data;
    if (stored) c->kept[index] = copy;
    else c->used -= bytes;
    pthread_mutex_unlock(&c->lock);
    if (!stored) tg_sample_free(&copy); /* empty when the copy failed */
}

static int cached_get(const tg_dataset *ds, int64_t index, tg_sample *out)
{
    cached_dataset *c = (cached_dataset *)ds;
    *out = (tg_sample){0};
    if (index < 0 || index >= ds->size)
        return TG_FAIL("dataset: index %lld outside [0, %lld)", (long long)index, (long long)ds->size);
    pthread_mutex_lock(&c->lock);
    tg_sample kept = c->kept[index];
    pthread_mutex_unlock(&c->lock);
    if (kept.image.data) {
        if (!copy_sample(&kept, out)) return 0;
        char name[256];
        ds->name(ds, index, name, sizeof name);
        return TG_FAIL("dataset: out of memory copying sample %s", name);
    }
    if (c->base->get(c->base, index, out)) return -1;
    keep(c, index, out);
    return 0;
}

static void cached_name(const tg_dataset *ds, int64_t index, char *buf, int size)
{
    const cached_dataset *c = (const cached_dataset *)ds;
    c->base->name(c->base, index, buf, size);
}

static void cached_destroy(tg_dataset *ds)
{
    cached_dataset *c = (cached_dataset *)ds;
    for (int64_t i = 0; i < ds->size; i++) tg_sample_free(&c->kept[i]);
    free(c->kept);
    pthread_mutex_destroy(&c->lock);
    tg_dataset_free(c->base);
    free(c);
}

tg_dataset *tg_dataset_cached(tg_dataset *base, size_t max_bytes)
{
    if (!base) {
        TG_FAIL("tg_dataset_cached: no base dataset");
        return NULL;
    }
    cached_dataset *c = calloc(1, sizeof *c);
    tg_sample *kept = base->size > 0 ? calloc((size_t)base->size, sizeof *kept) : NULL;
    if (!c || (base->size > 0 && !kept)) {
        free(c);
        free(kept);
        tg_dataset_free(base);
        TG_FAIL("tg_dataset_cached: out of memory for %lld samples", (long long)base->size);
        return NULL;
    }
    *c = (cached_dataset){.ds = {.size = base->size, .num_classes = base->num_classes, .has_masks = base->has_masks,
                                 .get = cached_get, .name = cached_name, .destroy = cached_destroy},
                          .base = base, .max_bytes = max_bytes, .kept = kept};
    pthread_mutex_init(&c->lock, NULL);
    return &c->ds;
}
