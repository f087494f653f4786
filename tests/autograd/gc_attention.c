/* Gradcheck rows: scaled dot-product attention, plain (L != S), causal,
 * with a float mask added, and with dropout (each evaluation drawing the
 * same mask: the generator starts from a fixed seed). */
#include "gradcheck_cases.h"

static tg_tensor *f_plain(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_scaled_dot_product_attention(x[0], x[1], x[2], NULL);
}

static tg_tensor *f_causal(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_scaled_dot_product_attention(x[0], x[1], x[2], &(tg_attention_opts){.is_causal = true});
}

static tg_tensor *f_masked(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_scaled_dot_product_attention(x[0], x[1], x[2], &(tg_attention_opts){.attn_mask = x[3], .scale = 0.7f});
}

static tg_tensor *f_dropout(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_rng rng = tg_rng_new(7, 1);
    return tg_scaled_dot_product_attention(x[0], x[1], x[2], &(tg_attention_opts){.dropout_p = 0.25f, .rng = &rng});
}

const gc_case gc_attention[] = {
    {"attention", f_plain, "2,3,4 | 2,5,4 | 2,5,3"},
    {"attention causal, transposed q", f_causal, "4,3T | 4,3 | 4,2"},
    {"attention with a float mask", f_masked, "1,2,3,4 | 1,2,5,4 | 1,2,5,2 | 3,5N"},
    {"attention with dropout", f_dropout, "2,3,4 | 2,6,4 | 2,6,3"},
    GC_END,
};
