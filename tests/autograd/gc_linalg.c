/* Gradcheck rows: matmul (1-D, 2-D, batched, broadcast batch) and bmm. */
#include "gradcheck_cases.h"

static tg_tensor *f_matmul(tg_tensor *const *x, void *c) { (void)c; return tg_matmul(x[0], x[1]); }
static tg_tensor *f_bmm(tg_tensor *const *x, void *c) { (void)c; return tg_bmm(x[0], x[1]); }

/* x @ x^T: one tensor on both sides, one of them a transposed view. */
static tg_tensor *f_gram(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *t = tg_transpose(x[0], -2, -1);
    tg_tensor *out = tg_matmul(x[0], t);
    tg_release(t);
    return out;
}

/* A product of a product: gradients flow through a non-leaf operand. */
static tg_tensor *f_chain(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *ab = tg_matmul(x[0], x[1]);
    tg_tensor *out = tg_matmul(ab, x[2]);
    tg_release(ab);
    return out;
}

const gc_case gc_linalg[] = {
    {"matmul 2-D", f_matmul, "3,4|4,5"},
    {"matmul 2-D, a transposed", f_matmul, "3,4T|4,5"},
    {"matmul 2-D, b transposed", f_matmul, "3,4|4,5T"},
    {"matmul 2-D, both transposed", f_matmul, "3,4T|4,5T"},
    {"matmul 2-D, b constant", f_matmul, "3,4|4,5N"},
    {"matmul 2-D, a constant", f_matmul, "3,4N|4,5"},
    {"matmul row times column", f_matmul, "1,4|4,1"},
    {"matmul outer (k = 1)", f_matmul, "3,1|1,5"},
    {"matmul 1-D @ 2-D", f_matmul, "4|4,5"},
    {"matmul 2-D @ 1-D", f_matmul, "3,4|4"},
    {"matmul 1-D @ 1-D (dot)", f_matmul, "4|4"},
    {"matmul 1-D @ batched", f_matmul, "4|2,4,3"},
    {"matmul batched @ 1-D", f_matmul, "2,3,4|4"},
    {"matmul batched", f_matmul, "2,3,4|2,4,5"},
    {"matmul batched, transposed", f_matmul, "2,3,4T|2,4,5T"},
    {"matmul broadcast batch", f_matmul, "2,1,3,4|5,4,2"},
    {"matmul batched @ 2-D", f_matmul, "2,3,4|4,5"},
    {"matmul batched transposed @ 2-D", f_matmul, "2,3,4T|4,5"},
    {"matmul 4-D @ 2-D", f_matmul, "2,2,3,4|4,2"},
    {"matmul 2-D @ batched", f_matmul, "3,4|2,4,5"},
    {"matmul batched @ size-1 batch", f_matmul, "3,2,4|1,4,2"},
    {"matmul x @ x^T", f_gram, "3,4"},
    {"matmul chain", f_chain, "2,3|3,4|4,2"},
    {"bmm", f_bmm, "2,3,4|2,4,5"},
    {"bmm transposed", f_bmm, "2,3,4T|2,4,5T"},
    {"bmm b constant", f_bmm, "3,2,4|3,4,1N"},
    GC_END,
};
