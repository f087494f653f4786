/* The caching block allocator behind tensor storage (see memory.h). A freed
 * block is pushed on the list of its size class, its first bytes holding
 * the link; one mutex guards the lists and the counters. Unless a limit was
 * set, the cache holds up to twice the most bytes the program has had in
 * use at once (at least 1 GiB): a step that needs more than 1 GiB then
 * finds all of its blocks again in the next step (at batch 256 a MoCo-v2
 * step went from 4.4 to 3.2 s once its freed blocks stopped going back to
 * the system and coming back as page faults). Once its own peak, a bound
 * of the cache alone was not enough: blocks of classes the next step does
 * not ask for (another method's, the first step's) filled it, and 1.7 GB a
 * step still faulted. */
#include "tensor/internal/storage.h"
#include "tensor/memory.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define ALIGN 64
#define CLASSES 256

typedef struct free_block {
    struct free_block *next;
} free_block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static free_block *lists[CLASSES];
static tg_memory_stats stats;
#if defined(__SANITIZE_ADDRESS__)
static size_t cache_limit = 0;
static bool limit_set = true;
#else
static size_t cache_limit = (size_t)1 << 30;
static bool limit_set = false;
#endif
static size_t high_water; /* the most bytes ever in use at once */

/* The size class of nbytes: its index, and the block size it stands for
 * (64 bytes, then 2^k x {1.25, 1.5, 1.75, 2}, rounded up to a multiple of
 * the alignment as aligned_alloc requires). */
static int size_class(size_t nbytes, size_t *block)
{
    if (nbytes <= ALIGN) {
        *block = ALIGN;
        return 0;
    }
    int k = 63 - __builtin_clzll((unsigned long long)(nbytes - 1)); /* 2^k < nbytes <= 2^(k+1) */
    size_t quarter = (size_t)1 << (k - 2);
    size_t steps = (nbytes - ((size_t)1 << k) + quarter - 1) / quarter; /* 1..4 quarters above 2^k */
    *block = (((size_t)1 << k) + steps * quarter + ALIGN - 1) / ALIGN * ALIGN;
    return 1 + (k - 6) * 4 + (int)steps - 1;
}

void *tg_memory_alloc(size_t nbytes)
{
    size_t block;
    int c = size_class(nbytes, &block);
    pthread_mutex_lock(&lock);
    free_block *b = c < CLASSES ? lists[c] : NULL;
    if (b) {
        lists[c] = b->next;
        stats.cached -= block;
        stats.reused++;
    }
    pthread_mutex_unlock(&lock);
    void *p = b ? (void *)b : aligned_alloc(ALIGN, block);
    if (!p) { /* the cache may hold what the system lacks */
        tg_memory_empty_cache();
        p = aligned_alloc(ALIGN, block);
    }
    if (!p) return NULL;
    pthread_mutex_lock(&lock);
    stats.allocs++;
    stats.in_use += block;
    if (stats.in_use > stats.peak_in_use) stats.peak_in_use = stats.in_use;
    if (stats.in_use > high_water) {
        high_water = stats.in_use;
        if (!limit_set && 2 * high_water > cache_limit) cache_limit = 2 * high_water;
    }
    pthread_mutex_unlock(&lock);
    return p;
}

void tg_memory_free(void *p, size_t nbytes)
{
    if (!p) return;
    size_t block;
    int c = size_class(nbytes, &block);
    pthread_mutex_lock(&lock);
    stats.in_use -= block;
    bool keep = c < CLASSES && stats.cached + block <= cache_limit;
    if (keep) {
        free_block *b = p;
        b->next = lists[c];
        lists[c] = b;
        stats.cached += block;
    }
    pthread_mutex_unlock(&lock);
    if (!keep) free(p);
}

tg_memory_stats tg_memory_get_stats(void)
{
    pthread_mutex_lock(&lock);
    tg_memory_stats s = stats;
    pthread_mutex_unlock(&lock);
    return s;
}

void tg_memory_reset_peak(void)
{
    pthread_mutex_lock(&lock);
    stats.peak_in_use = stats.in_use;
    pthread_mutex_unlock(&lock);
}

void tg_memory_empty_cache(void)
{
    pthread_mutex_lock(&lock);
    free_block *all[CLASSES];
    for (int c = 0; c < CLASSES; c++) {
        all[c] = lists[c];
        lists[c] = NULL;
    }
    stats.cached = 0;
    pthread_mutex_unlock(&lock);
    for (int c = 0; c < CLASSES; c++)
        while (all[c]) {
            free_block *next = all[c]->next;
            free(all[c]);
            all[c] = next;
        }
}

void tg_memory_set_cache_limit(size_t bytes)
{
    pthread_mutex_lock(&lock);
    cache_limit = bytes;
    limit_set = true;
    pthread_mutex_unlock(&lock);
    if (bytes == 0) tg_memory_empty_cache();
}
