/* same_tensors A.safetensors B.safetensors RTOL [PREFIX]: whether two files
 * hold the same tensors (those whose names start with PREFIX; default
 * all): the same names, dtypes and shapes, int64 values equal, and the
 * float32 ones, taken together as one vector, within RTOL of B's in the
 * relative L2 norm (||a - b|| <= RTOL ||b||; RTOL 0: the same values).
 * Prints the measure and the tensor that differs most; exits 0 when they
 * agree, 1 when not, 2 on bad arguments or files. The data-parallel tests
 * compare checkpoints with it: the norm over the whole model, as tensors
 * that start at zero (biases) hold rounding noise of their own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorgrad.h"

typedef struct {
    double gap2, norm2;     /* sums of squares of a - b and of b, float32 tensors */
    bool differ;            /* names, shapes, dtypes or int64 values differ */
    double worst;           /* the largest relative gap of one tensor */
    const char *worst_name;
} tally;

/* Whether a and b have one dtype and shape. */
static bool alike(const tg_tensor *a, const tg_tensor *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim && !memcmp(a->shape, b->shape, (size_t)a->ndim * 8);
}

/* Adds float32 tensors a and b to the sums; returns a's relative gap. */
static double add_floats(tally *t, tg_tensor *a, tg_tensor *b)
{
    const float *x = tg_data_f32(a), *y = tg_data_f32(b);
    double gap2 = 0, norm2 = 0;
    for (int64_t i = 0; i < tg_numel(a); i++) {
        double d = (double)x[i] - (double)y[i];
        gap2 += d * d;
        norm2 += (double)y[i] * (double)y[i];
    }
    t->gap2 += gap2;
    t->norm2 += norm2;
    return gap2 == 0 ? 0 : norm2 == 0 ? INFINITY : sqrt(gap2 / norm2);
}

/* One tensor of a against b's of its name. */
static void compare_one(tally *t, const char *name, tg_tensor *x, const tg_tensor_list *b)
{
    tg_tensor *y = tg_tensor_list_get(b, name);
    double gap = INFINITY;
    if (!y || !alike(x, y)) printf("%s: %s\n", name, y ? "another dtype or shape" : "missing from the second file");
    else if (x->dtype == TG_FLOAT32) gap = add_floats(t, x, y);
    else if (x->dtype == TG_INT64) gap = memcmp(tg_data_i64(x), tg_data_i64(y), (size_t)tg_numel(x) * 8) ? INFINITY : 0;
    if (gap == INFINITY) t->differ = true;
    if (gap >= t->worst) t->worst = gap, t->worst_name = name;
    tg_release(y);
}

static int compare(const tg_tensor_list *a, const tg_tensor_list *b, double rtol, const char *prefix)
{
    tally t = {.worst_name = "(none)"};
    int n = 0;
    for (int i = 0; i < a->n; i++)
        if (!strncmp(a->items[i].name, prefix, strlen(prefix))) {
            compare_one(&t, a->items[i].name, a->items[i].tensor, b);
            n++;
        }
    double gap = t.gap2 == 0 ? 0 : t.norm2 == 0 ? INFINITY : sqrt(t.gap2 / t.norm2);
    printf("%d tensors '%s*': relative L2 gap %.3g (tolerance %g); the largest of one tensor %.3g (%s)\n", n, prefix,
           gap, rtol, t.worst, t.worst_name);
    return n > 0 && !t.differ && gap <= rtol ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: same_tensors A.safetensors B.safetensors RTOL [PREFIX]\n");
        return 2;
    }
    char *end = NULL;
    double rtol = strtod(argv[3], &end);
    if (*end || !(rtol >= 0)) {
        fprintf(stderr, "same_tensors: RTOL '%s' is not a number >= 0\n", argv[3]);
        return 2;
    }
    tg_tensor_list a = {0}, b = {0};
    int rc = tg_safetensors_load(argv[1], &a, NULL) || tg_safetensors_load(argv[2], &b, NULL) ? 2 : 0;
    if (rc) fprintf(stderr, "same_tensors: %s\n", tg_last_error());
    else rc = compare(&a, &b, rtol, argc == 5 ? argv[4] : "");
    tg_tensor_list_clear(&a);
    tg_tensor_list_clear(&b);
    return rc;
}
