/* Gradcheck rows: cat, stack, gather, index_select, embedding, topk. Gradients
 * of joins are slices of g; those of gathers are scatter-adds, so repeated
 * indices (which random 'iK' indices have, and the fixed-index rows force)
 * must sum. */
#include "gradcheck_cases.h"

#define F(name, expr)                                          \
    static tg_tensor *name(tg_tensor *const *x, void *c)       \
    {                                                          \
        (void)c;                                               \
        return expr;                                           \
    }

F(f_cat2_dim0, tg_cat(2, x, 0))
F(f_cat2_dim1, tg_cat(2, x, 1))
F(f_cat3_dim0, tg_cat(3, x, 0))
F(f_cat3_dim1, tg_cat(3, x, 1))
F(f_cat2_last, tg_cat(2, x, -1))
F(f_cat3_neg2, tg_cat(3, x, -2))
F(f_stack2_dim0, tg_stack(2, x, 0))
F(f_stack3_dim1, tg_stack(3, x, 1))
F(f_stack3_last, tg_stack(3, x, -1))
F(f_gather0, tg_gather(x[0], 0, x[1]))
F(f_gather1, tg_gather(x[0], 1, x[1]))
F(f_gather_last, tg_gather(x[0], -1, x[1]))
F(f_index_select0, tg_index_select(x[0], 0, x[1]))
F(f_index_select1, tg_index_select(x[0], 1, x[1]))
F(f_index_select_last, tg_index_select(x[0], -1, x[1]))
F(f_embedding, tg_embedding(x[0], x[1], TG_EMBEDDING_NO_PADDING))

/* topk's values (indices dropped) */
static tg_tensor *f_topk(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *v = NULL, *ix = NULL;
    tg_topk(x[0], 2, 1, true, &v, &ix);
    tg_release(ix);
    return v;
}
F(f_embedding_padded, tg_embedding(x[0], x[1], 4)) /* a row no index reaches: its zero is true */

/* The same input twice: both slices' gradients reach it. */
static tg_tensor *f_cat_self(tg_tensor *const *x, void *c)
{
    (void)c;
    return tg_cat(3, (tg_tensor *[]){x[0], x[1], x[0]}, 0);
}

/* Ten inputs (more than a node keeps on the stack): x's rows, reversed. */
static tg_tensor *f_cat_many(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *rows[10] = {0};
    for (int i = 0; i < 10; i++) rows[i] = tg_narrow(x[0], 0, 9 - i, 1);
    tg_tensor *out = tg_cat(10, rows, 0);
    for (int i = 0; i < 10; i++) tg_release(rows[i]);
    return out;
}

/* Fixed indices with repeats (and a column never picked), whatever the rng. */
static tg_tensor *f_gather_repeats(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *index = tg_from_data(TG_SHAPE(2, 4), TG_INT64, (int64_t[]){2, 2, 0, 2, 0, 0, 0, 1});
    tg_tensor *out = tg_gather(x[0], 1, index);
    tg_release(index);
    return out;
}

static tg_tensor *f_index_select_repeats(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *index = tg_from_data(TG_SHAPE(5), TG_INT64, (int64_t[]){3, 0, 3, 3, 1});
    tg_tensor *out = tg_index_select(x[0], 0, index);
    tg_release(index);
    return out;
}

/* A gather feeding a cat feeding a sum-like product: the ops compose. */
static tg_tensor *f_gather_then_cat(tg_tensor *const *x, void *c)
{
    (void)c;
    tg_tensor *g = tg_gather(x[0], 0, x[1]);
    tg_tensor *out = tg_cat(2, (tg_tensor *[]){g, x[0]}, 0);
    tg_release(g);
    return out;
}

const gc_case gc_index[] = {
    {"cat 2 dim 0", f_cat2_dim0, "2,3|4,3"},
    {"cat 2 dim 1, transposed", f_cat2_dim1, "3,2|3,4T"},
    {"cat 3 dim 0, transposed and constant", f_cat3_dim0, "1,3|2,3N|3,3T"},
    {"cat 3 dim 1, transposed and constant", f_cat3_dim1, "3,2T|3,1N|3,4"},
    {"cat 2 dim -1, 3-D transposed", f_cat2_last, "2,3,2|2,3,4T"},
    {"cat 3 dim -2, 3-D", f_cat3_neg2, "2,1,3|2,3,3T|2,2,3N"},
    {"cat same input twice", f_cat_self, "2,3|1,3"},
    {"cat of 10 inputs", f_cat_many, "10,3T"},
    {"stack 2 dim 0", f_stack2_dim0, "2,3|2,3T"},
    {"stack 3 dim 1, constant", f_stack3_dim1, "2,3|2,3N|2,3T"},
    {"stack 3 dim -1", f_stack3_last, "3,2|3,2|3,2T"},
    {"gather dim 0, more rows than input", f_gather0, "4,3|6,3i4"},
    {"gather dim 0, narrower index", f_gather0, "4,3T|5,2i4"},
    {"gather dim 1", f_gather1, "3,5|3,7i5"},
    {"gather dim 1, transposed, fewer rows", f_gather1, "3,5T|2,4i5"},
    {"gather dim -1, 3-D", f_gather_last, "2,3,4|2,2,6i4"},
    {"gather fixed repeated indices", f_gather_repeats, "2,3"},
    {"index_select dim 0", f_index_select0, "4,3|6i4"},
    {"index_select dim 1, transposed", f_index_select1, "3,4T|7i4"},
    {"index_select dim -1, 3-D", f_index_select_last, "2,3,3|5i3"},
    {"embedding", f_embedding, "6,3|2,4i6"},
    {"topk", f_topk, "3,5"},
    {"embedding with padding_idx, transposed weight", f_embedding_padded, "5,3T|7i3"},
    {"index_select fixed repeated indices", f_index_select_repeats, "4,2T"},
    {"gather then cat", f_gather_then_cat, "3,2|4,2i3"},
    GC_END,
};
