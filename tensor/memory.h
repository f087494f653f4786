/* The memory behind tensors, and what it costs.
 *
 * Freed storage is kept in a cache of blocks by size class (4 classes per
 * power of two, so at most 25% is lost to rounding) and handed out again
 * to the next request of that class. A training step allocates what the
 * previous step freed, so after the first step it reuses the same blocks:
 * no malloc growth and no page faults. The cache holds at most the limit
 * (by default twice the most bytes the program has had in use at once, at
 * least 1 GiB); blocks beyond it go
 * back to the system, and an allocation the system refuses empties the
 * cache and tries once more. Builds with
 * AddressSanitizer turn the cache off, so use-after-free stays visible. */
#ifndef TG_MEMORY_H
#define TG_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "tensor/export.h"

typedef struct tg_memory_stats {
    size_t in_use;      /* bytes in live blocks (rounded up to their class) */
    size_t peak_in_use; /* the most in_use has been since the last reset */
    size_t cached;      /* bytes held by the cache */
    uint64_t allocs;    /* blocks handed out */
    uint64_t reused;    /* of which came from the cache */
} tg_memory_stats;

/* The allocator's statistics so far; resetting the peak starts it again
 * from the bytes in use now. */
TG_API tg_memory_stats tg_memory_get_stats(void);
TG_API void tg_memory_reset_peak(void);
/* Caps the cache at a fixed size from now on (0 turns it off and empties
 * it). */
TG_API void tg_memory_set_cache_limit(size_t bytes);
/* Gives every cached block back to the system. */
TG_API void tg_memory_empty_cache(void);

#endif
