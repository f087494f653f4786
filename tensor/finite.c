/* The scan for non-finite values (see internal/finite.h). */
#include "tensor/internal/finite.h"

#include <stdint.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/internal/view.h"

#define EXPONENT_BITS 0x7f800000u /* all ones: Inf or NaN */
#define BLOCK 4096                /* elements scanned between early exits */

/* Whether the n floats at p hold a non-finite one: their exponent bits,
 * OR-reduced per block so the compiler vectorises the scan. */
static bool block_has_nonfinite(const float *p, int64_t n)
{
    uint32_t hit = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &p[i], sizeof bits);
        hit |= (bits & EXPONENT_BITS) == EXPONENT_BITS;
    }
    return hit != 0;
}

/* The first non-finite value of the n floats at p; -1 when there is none. */
static int64_t first_nonfinite(const float *p, int64_t n)
{
    for (int64_t at = 0; at < n; at += BLOCK) {
        int64_t len = n - at < BLOCK ? n - at : BLOCK;
        if (!block_has_nonfinite(p + at, len)) continue;
        for (int64_t i = at; i < at + len; i++)
            if (block_has_nonfinite(p + i, 1)) return i;
    }
    return -1;
}

int tg_k_all_finite(tg_tensor *t, float *bad)
{
    if (!t) return TG_FAIL("all_finite: NULL tensor");
    if (t->dtype != TG_FLOAT32) return 1;
    tg_tensor *c = tg_k_contiguous(t);
    if (!c) return -1;
    const float *p = tg_data_f32(c);
    int64_t at = first_nonfinite(p, tg_numel(c));
    if (at >= 0 && bad) *bad = p[at];
    tg_release(c);
    return at < 0;
}
