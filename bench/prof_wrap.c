/* Where a training step's time goes, without touching the library: the
 * prof_resnet and prof_contrastive builds of bench_resnet and
 * bench_contrastive link the static library with `-Wl,--wrap=SYMBOL` for
 * the kernels below, so every call to one of them from another object file
 * (the autograd ops, the engine, the optimizer, the models, the conv
 * kernels' calls into tg_k_sgemm and aligned_alloc) goes through a __wrap_
 * function here that times it.
 *
 * Time is exclusive: a stack of the wrapped calls in progress gets each
 * interval charged to the innermost one, so tg_k_conv2d's own time is what
 * it spends outside tg_k_sgemm and the allocator (im2col, copies), and
 * the step's time outside every wrapped call is "autograd and other"
 * (module and op dispatch, graph bookkeeping). Two kinds of call own what
 * they call instead (owns_nested): the fused InfoNCE, whose GEMMs are the
 * loss, and tg_normalize, whose elementwise kernels are the normalisation.
 * Some calls go to a row other than their function's (PROF_SPLITS): an
 * InfoNCE with more rows of q than the step's fewest (one per cell:
 * DenseCL's dense loss) and the normalisation of C5 cells for the
 * correspondence. Only calls made outside OpenMP parallel regions are
 * counted; the kernels are called from the main thread, so that is all of
 * them. The clock costs ~25 ns a call, a few thousand calls a step: well
 * under 1% of it. */
#include "bench/prof_wrap.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensor/internal/conv.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/index.h"
#include "tensor/internal/linalg.h"
#include "tensor/internal/loss.h"
#include "tensor/internal/norm.h"
#include "tensor/internal/pool.h"
#include "tensor/internal/reduce.h"
#include "tensor/internal/storage.h"
#include "tensor/internal/update.h"
#include "tensor/internal/view.h"
#include "tensorgrad.h"

/* Every wrapped function: its name and the row of the breakdown it adds to.
 * bench/meson.build passes --wrap for each: keep the two lists alike. */
#define PROF_FUNCS(X)                                                       \
    X(tg_k_sgemm, "GEMM (BLIS): convolutions")                              \
    X(tg_k_matmul, "GEMM (BLIS): fc layer")                                 \
    X(tg_k_gemm_into, "GEMM (BLIS): fc layer")                              \
    X(tg_k_conv2d, "conv forward: im2col, copy-out")                        \
    X(tg_k_conv2d_backward_input, "conv dX: col2im, gather")                    \
    X(tg_k_conv2d_backward_weight, "conv dW: im2col (again), gather")           \
    X(tg_k_conv2d_backward_bias, "conv bias grad")                              \
    X(tg_k_batch_norm_stats, "batch norm forward (stats)")                  \
    X(tg_k_batch_norm_apply, "batch norm forward (normalise)")              \
    X(tg_k_batch_norm_update_, "batch norm forward (running stats)")        \
    X(tg_k_batch_norm_backward, "batch norm backward")                      \
    X(tg_k_relu_, "relu forward")                                           \
    X(tg_k_relu, "relu forward")                                            \
    X(tg_k_relu_backward, "relu backward")                                      \
    X(tg_k_axpy_, "add (residual, grad accumulation)")                      \
    X(tg_k_add_, "add (residual, grad accumulation)")                       \
    X(tg_k_add, "add (residual, grad accumulation)")                        \
    X(tg_k_max_pool2d, "max pool forward")                                  \
    X(tg_k_max_pool2d_backward, "max pool backward")                        \
    X(tg_k_adaptive_avg_pool2d, "avg pool forward + backward")              \
    X(tg_k_adaptive_avg_pool2d_backward, "avg pool forward + backward")     \
    X(tg_k_cross_entropy, "cross-entropy forward + backward")               \
    X(tg_k_cross_entropy_backward, "cross-entropy forward + backward")      \
    X(tg_k_sgd_update_, "SGD update")                                       \
    X(tg_k_momentum_update_, "momentum update of the key encoder")         \
    X(tg_k_info_nce, "InfoNCE, global loss (fused forward + backward)")     \
    X(tg_k_bmm, "dense correspondence (normalise C5, similarities, argmax)") \
    X(tg_k_argmax, "dense correspondence (normalise C5, similarities, argmax)") \
    X(tg_normalize, "L2 normalise forward (embeddings)")                    \
    X(tg_k_mul, "elementwise mul, sub, div (L2 normalise backward, loss scale)") \
    X(tg_k_mul_scalar, "elementwise mul, sub, div (L2 normalise backward, loss scale)") \
    X(tg_k_sub, "elementwise mul, sub, div (L2 normalise backward, loss scale)") \
    X(tg_k_div, "elementwise mul, sub, div (L2 normalise backward, loss scale)") \
    X(tg_k_clamp, "elementwise mul, sub, div (L2 normalise backward, loss scale)") \
    X(tg_k_in_range, "elementwise mul, sub, div (L2 normalise backward, loss scale)") \
    X(tg_k_mean, "mean over cells (the necks' pooling)")                    \
    X(tg_k_index_select, "row gathers (key shuffle, dense positives)")     \
    X(tg_k_sum, "copies, fills, sums (contiguous, clone, zeros, sum_to)")   \
    X(tg_k_contiguous, "copies, fills, sums (contiguous, clone, zeros, sum_to)") \
    X(tg_k_clone, "copies, fills, sums (contiguous, clone, zeros, sum_to)") \
    X(tg_k_copy_, "copies, fills, sums (contiguous, clone, zeros, sum_to)") \
    X(tg_k_fill_, "copies, fills, sums (contiguous, clone, zeros, sum_to)") \
    X(tg_zeros, "copies, fills, sums (contiguous, clone, zeros, sum_to)")   \
    X(tg_empty, "allocation (tensor headers, tg_memory, malloc, free)")     \
    X(tg_memory_alloc, "allocation (tensor headers, tg_memory, malloc, free)") \
    X(tg_memory_free, "allocation (tensor headers, tg_memory, malloc, free)")  \
    X(malloc, "allocation (tensor headers, tg_memory, malloc, free)")       \
    X(calloc, "allocation (tensor headers, tg_memory, malloc, free)")       \
    X(realloc, "allocation (tensor headers, tg_memory, malloc, free)")      \
    X(aligned_alloc, "allocation (tensor headers, tg_memory, malloc, free)") \
    X(free, "allocation (tensor headers, tg_memory, malloc, free)")         \
    X(tg_backward, "autograd: engine and backward glue")                    \
    X(tg_module_forward, "autograd: forward ops and module glue")           \
    X(tg_optimizer_step, "optimizer loop")                                  \
    X(tg_optimizer_zero_grad, "optimizer loop")

/* Rows that some calls of a wrapped function go to instead of its own, as
 * its wrapper below tells them apart: its id, the function, the row. */
#define PROF_SPLITS(X)                                                                   \
    X(info_nce_dense, "tg_k_info_nce(dense)", "InfoNCE, dense loss (fused forward + backward)") \
    X(normalize_cells, "tg_normalize(C5 cells)", "dense correspondence (normalise C5, similarities, argmax)")

enum {
#define ID(name, row) ID_##name,
#define SPLIT_ID(id, func, row) ID_##id,
    PROF_FUNCS(ID) PROF_SPLITS(SPLIT_ID)
#undef ID
#undef SPLIT_ID
    N_IDS
};

static const char *const func_name[N_IDS] = {
#define NAME(name, row) #name,
#define SPLIT_NAME(id, func, row) func,
    PROF_FUNCS(NAME) PROF_SPLITS(SPLIT_NAME)
#undef NAME
#undef SPLIT_NAME
};
static const char *const func_row[N_IDS] = {
#define ROW(name, row) row,
#define SPLIT_ROW(id, func, row) row,
    PROF_FUNCS(ROW) PROF_SPLITS(SPLIT_ROW)
#undef ROW
#undef SPLIT_ROW
};

/* The table's rows: the distinct rows of the ids in order of first
 * appearance, then "other" (index_rows fills them). */
static const char *row_name[N_IDS + 1];
static int row_of[N_IDS], n_rows;
_Static_assert(N_IDS + 1 <= PROF_MAX_ROWS, "PROF_MAX_ROWS (prof_wrap.h) is smaller than the rows");

static double excl[N_IDS]; /* seconds, exclusive */
static long calls[N_IDS];
static double other;       /* in a step, outside every wrapped call */
static double step_total;  /* seconds inside steps */
static int steps;
static bool in_step;
static int stack[64], depth;
static double last; /* when the innermost frame last started being charged */

/* tg_k_sgemm by shape: (m, n, k) and which operands are column-major. */
typedef struct {
    int64_t m, n, k;
    int trans; /* bit 0: A column-major, 1: B, 2: C */
    double t;
    long calls;
} gemm_shape;
static gemm_shape shapes[256];
static int n_shapes;

/* The convolution kernels by layer: their own time (outside the GEMMs and
 * the allocator), per kind (0 forward, 1 dX, 2 dW) and input shape. */
typedef struct {
    int64_t c, h, w, o, k, stride;
    double t[3];
} conv_layer;
static conv_layer layers[64];
static int n_layers;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void charge(double t)
{
    if (!in_step) return;
    if (depth) excl[stack[depth - 1]] += t - last;
    else other += t - last;
}

/* Calls whose nested wrapped calls count as their own time. */
static bool owns_nested(int id)
{
    return id == ID_tg_k_info_nce || id == ID_tg_normalize || id == ID_normalize_cells;
}

static bool enter(int id)
{
    if (!in_step || omp_in_parallel() || depth == (int)(sizeof stack / sizeof *stack) ||
        (depth && owns_nested(stack[depth - 1])))
        return false;
    double t = now();
    charge(t);
    last = t;
    calls[id]++;
    stack[depth++] = id;
    return true;
}

static void leave(bool entered)
{
    if (!entered) return;
    double t = now();
    charge(t);
    last = t;
    depth--;
}

/* The InfoNCE calls of the step in progress: rows of q and time. The
 * calls with the fewest rows (one per image) are the global loss; calls
 * with more (one per cell) are DenseCL's dense loss, moved to its row when
 * the step ends, whichever order the step makes them in. */
typedef struct {
    int64_t rows;
    double t;
} nce_call;
static nce_call nce_calls[8];
static int n_nce;

static void split_info_nce(void)
{
    int64_t fewest = INT64_MAX;
    for (int i = 0; i < n_nce; i++) fewest = nce_calls[i].rows < fewest ? nce_calls[i].rows : fewest;
    for (int i = 0; i < n_nce; i++) {
        if (nce_calls[i].rows == fewest) continue;
        excl[ID_tg_k_info_nce] -= nce_calls[i].t;
        excl[ID_info_nce_dense] += nce_calls[i].t;
        calls[ID_tg_k_info_nce]--;
        calls[ID_info_nce_dense]++;
    }
    n_nce = 0;
}

void prof_reset(void)
{
    memset(excl, 0, sizeof excl);
    memset(calls, 0, sizeof calls);
    other = step_total = 0;
    steps = 0;
    n_shapes = 0;
    n_layers = 0;
}

static double step_start;

void prof_step_begin(void)
{
    depth = 0;
    n_nce = 0;
    in_step = true;
    step_start = last = now();
}

void prof_step_end(void)
{
    double t = now();
    charge(t);
    in_step = false;
    step_total += t - step_start;
    steps++;
    split_info_nce();
}

static void index_rows(void)
{
    if (n_rows) return;
    for (int i = 0; i < N_IDS; i++) {
        int r = 0;
        while (r < n_rows && strcmp(row_name[r], func_row[i])) r++;
        if (r == n_rows) row_name[n_rows++] = func_row[i];
        row_of[i] = r;
    }
    row_name[n_rows++] = "other (the step outside every wrapped call)";
}

void prof_breakdown_add(prof_breakdown *b)
{
    index_rows();
    for (int i = 0; i < N_IDS; i++) {
        b->secs[row_of[i]] += excl[i];
        b->calls[row_of[i]] += calls[i];
    }
    b->secs[n_rows - 1] += other;
    b->step_secs += step_total;
    b->steps += steps;
}

/* A row of a table and the value it is sorted by, largest first. */
typedef struct {
    double key; /* first: cmp_ranked reads it */
    int row;
} ranked;

static int cmp_ranked(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y; /* first member: the key */
    return (a < b) - (a > b);
}

static int cmp_shapes(const void *x, const void *y)
{
    double a = ((const gemm_shape *)x)->t, b = ((const gemm_shape *)y)->t;
    return (a < b) - (a > b);
}

/* The rows in order of key, largest first: their count. */
static int rank_rows(const double *key, ranked *out)
{
    for (int r = 0; r < n_rows; r++) out[r] = (ranked){key[r], r};
    qsort(out, (size_t)n_rows, sizeof *out, cmp_ranked);
    return n_rows;
}

static void print_rows(FILE *f, const prof_breakdown *b)
{
    ranked order[PROF_MAX_ROWS];
    int n = rank_rows(b->secs, order);
    double per = 1e3 / b->steps;
    fprintf(f, "| where | ms/step | share | calls/step |\n|---|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        int r = order[i].row;
        if (b->secs[r] > 0 || b->calls[r])
            fprintf(f, "| %s | %.1f | %.1f%% | %.0f |\n", row_name[r], b->secs[r] * per,
                    100 * b->secs[r] / b->step_secs, (double)b->calls[r] / b->steps);
    }
    fprintf(f, "| **step (sum)** | **%.1f** | 100%% | |\n", b->step_secs * per);
}

static void print_functions(FILE *f)
{
    double per = 1e3 / steps;
    fprintf(f, "\nper function (exclusive ms/step, calls/step):");
    for (int i = 0; i < N_IDS; i++)
        if (calls[i]) fprintf(f, " %s %.2f/%ld", func_name[i], excl[i] * per, calls[i] / steps);
    fprintf(f, "\n");
}

static void print_conv_layers(FILE *f)
{
    double per = 1e3 / steps;
    fprintf(f, "\nconvolution kernels' own time (im2col, col2im, copies) by layer, ms/step:\n\n");
    fprintf(f, "| input CxHxW | out | kernel | stride | forward | dX | dW |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n_layers; i++) {
        const conv_layer *l = &layers[i];
        fprintf(f, "| %lldx%lldx%lld | %lld | %lldx%lld | %lld | %.2f | %.2f | %.2f |\n", (long long)l->c,
                (long long)l->h, (long long)l->w, (long long)l->o, (long long)l->k, (long long)l->k,
                (long long)l->stride, l->t[0] * per, l->t[1] * per, l->t[2] * per);
    }
}

static void print_gemm_shapes(FILE *f)
{
    double per = 1e3 / steps;
    qsort(shapes, (size_t)n_shapes, sizeof *shapes, cmp_shapes);
    double flop = 0, secs = 0;
    for (int i = 0; i < n_shapes; i++) {
        flop += 2.0 * (double)shapes[i].m * (double)shapes[i].n * (double)shapes[i].k * (double)shapes[i].calls;
        secs += shapes[i].t;
    }
    fprintf(f, "\nconvolution GEMMs: %.2f GFLOP a step in %.1f ms: %.0f GFLOP/s\n", flop / steps * 1e-9,
            secs * per, secs > 0 ? flop / secs * 1e-9 : 0.0);
    fprintf(f, "\nconvolution GEMMs by shape (T: operand read column-major):\n\n");
    fprintf(f, "| M | N | K | layout | calls/step | ms/step | GFLOP/s |\n|---:|---:|---:|---|---:|---:|---:|\n");
    for (int i = 0; i < n_shapes; i++) {
        const gemm_shape *g = &shapes[i];
        fprintf(f, "| %lld | %lld | %lld | %s%s%s | %.0f | %.2f | %.0f |\n", (long long)g->m, (long long)g->n,
                (long long)g->k, g->trans & 1 ? "A^T " : "A ", g->trans & 2 ? "B^T " : "B ",
                g->trans & 4 ? "C^T" : "C", (double)g->calls / steps, g->t * per,
                2.0 * (double)g->m * (double)g->n * (double)g->k * (double)g->calls / g->t * 1e-9);
    }
}

void prof_print(FILE *f)
{
    if (!steps) return;
    prof_breakdown b = {0};
    prof_breakdown_add(&b);
    print_rows(f, &b);
    print_functions(f);
    print_conv_layers(f);
    print_gemm_shapes(f);
}

void prof_print_pair(FILE *f, const prof_breakdown *a, const prof_breakdown *b, const char *name_a,
                     const char *name_b)
{
    if (!a->steps || !b->steps) return;
    index_rows();
    double pa = 1e3 / a->steps, pb = 1e3 / b->steps, diff[PROF_MAX_ROWS];
    for (int r = 0; r < n_rows; r++) diff[r] = b->secs[r] * pb - a->secs[r] * pa;
    ranked order[PROF_MAX_ROWS];
    int n = rank_rows(diff, order);
    fprintf(f, "| where | %s ms/step | %s ms/step | %s - %s ms | %s calls/step | %s calls/step |\n", name_a, name_b,
            name_b, name_a, name_a, name_b);
    fprintf(f, "|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        int r = order[i].row;
        if (a->secs[r] > 0 || b->secs[r] > 0 || a->calls[r] || b->calls[r])
            fprintf(f, "| %s | %.1f | %.1f | %+.1f | %.0f | %.0f |\n", row_name[r], a->secs[r] * pa,
                    b->secs[r] * pb, diff[r], (double)a->calls[r] / a->steps, (double)b->calls[r] / b->steps);
    }
    fprintf(f, "| **step (sum)** | **%.1f** | **%.1f** | **%+.1f** | | |\n", a->step_secs * pa, b->step_secs * pb,
            b->step_secs * pb - a->step_secs * pa);
}

/* ---- the wrappers ---- */

/* name's wrapper, charging its calls to id (an expression of the args). */
#define WRAP_AS(ret, name, id, params, args)         \
    ret __real_##name params;                        \
    ret __wrap_##name params;                        \
    ret __wrap_##name params                         \
    {                                                \
        bool e = enter(id);                          \
        ret r = __real_##name args;                  \
        leave(e);                                    \
        return r;                                    \
    }
#define WRAP(ret, name, params, args) WRAP_AS(ret, name, ID_##name, params, args)
#define WRAP_VOID(name, params, args)                \
    void __real_##name params;                       \
    void __wrap_##name params;                       \
    void __wrap_##name params                        \
    {                                                \
        bool e = enter(ID_##name);                   \
        __real_##name args;                          \
        leave(e);                                    \
    }

typedef tg_tensor *T;

static void count_gemm(int64_t m, int64_t n, int64_t k, int trans, double t)
{
    int i = 0;
    while (i < n_shapes && !(shapes[i].m == m && shapes[i].n == n && shapes[i].k == k && shapes[i].trans == trans))
        i++;
    if (i == n_shapes) {
        if (n_shapes == (int)(sizeof shapes / sizeof *shapes)) return;
        shapes[n_shapes++] = (gemm_shape){m, n, k, trans, 0, 0};
    }
    shapes[i].t += t;
    shapes[i].calls++;
}

int __real_tg_k_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                      const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc);
int __wrap_tg_k_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                      const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc);
int __wrap_tg_k_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                      const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc)
{
    bool e = enter(ID_tg_k_sgemm);
    double t0 = e ? now() : 0;
    int r = __real_tg_k_sgemm(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    if (e) count_gemm(m, n, k, (csa != 1) | (csb != 1) << 1 | (csc != 1) << 2, now() - t0);
    leave(e);
    return r;
}
WRAP(T, tg_k_matmul, (T a, T b), (a, b))
WRAP(int, tg_k_gemm_into, (T c, T a, T b, float alpha, float beta), (c, a, b, alpha, beta))
static void count_conv(int kind, const int64_t *xs, const int64_t *ws, tg_conv2d_opts o, double t)
{
    int64_t key[6] = {xs[1], xs[2], xs[3], ws[0], ws[2], o.stride[0] ? o.stride[0] : 1};
    int i = 0;
    while (i < n_layers && memcmp(&layers[i], key, sizeof key)) i++;
    if (i == n_layers) {
        if (n_layers == (int)(sizeof layers / sizeof *layers)) return;
        layers[n_layers] = (conv_layer){key[0], key[1], key[2], key[3], key[4], key[5], {0, 0, 0}};
        n_layers++;
    }
    layers[i].t[kind] += t;
}

/* A convolution kernel's wrapper: its exclusive time goes to its layer. */
#define WRAP_CONV(name, kind, params, args, xs, ws)    \
    T __real_##name params;                           \
    T __wrap_##name params;                           \
    T __wrap_##name params                            \
    {                                                 \
        bool e = enter(ID_##name);                    \
        double before = excl[ID_##name];              \
        T r = __real_##name args;                     \
        leave(e);                                     \
        if (e && r) count_conv(kind, xs, ws, o, excl[ID_##name] - before); \
        return r;                                     \
    }

WRAP_CONV(tg_k_conv2d, 0, (T x, T w, T bias, tg_conv2d_opts o), (x, w, bias, o), x->shape, w->shape)
WRAP_CONV(tg_k_conv2d_backward_input, 1, (T g, T w, const int64_t *s, tg_conv2d_opts o), (g, w, s, o), s, w->shape)
WRAP_CONV(tg_k_conv2d_backward_weight, 2, (T g, T x, const int64_t *s, tg_conv2d_opts o), (g, x, s, o), x->shape, s)
WRAP(T, tg_k_conv2d_backward_bias, (T g), (g))
WRAP(int, tg_k_batch_norm_stats, (T x, int groups, T *mean, T *var), (x, groups, mean, var))
WRAP(T, tg_k_batch_norm_apply, (T x, T mean, T var, T w, T b, float eps), (x, mean, var, w, b, eps))
WRAP(int, tg_k_batch_norm_update_, (T rm, T rv, T mean, T var, int64_t count, float momentum),
     (rm, rv, mean, var, count, momentum))
WRAP(int, tg_k_batch_norm_backward,
     (T g, T x, T mean, T var, T w, float eps, bool batch_stats, T *dx, T *dw, T *db),
     (g, x, mean, var, w, eps, batch_stats, dx, dw, db))
WRAP(int, tg_k_relu_, (T t), (t))
WRAP(T, tg_k_relu, (T t), (t))
WRAP(T, tg_k_relu_backward, (T g, T y), (g, y))
WRAP(int, tg_k_axpy_, (T a, float alpha, T b), (a, alpha, b))
WRAP(int, tg_k_add_, (T a, T b), (a, b))
WRAP(T, tg_k_add, (T a, T b), (a, b))
WRAP(T, tg_k_max_pool2d, (T x, tg_pool2d_opts o, T *idx), (x, o, idx))
WRAP(T, tg_k_max_pool2d_backward, (T g, T idx, int64_t h, int64_t w), (g, idx, h, w))
WRAP(T, tg_k_adaptive_avg_pool2d, (T x, int64_t h, int64_t w), (x, h, w))
WRAP(T, tg_k_adaptive_avg_pool2d_backward, (T g, int64_t h, int64_t w), (g, h, w))
WRAP(T, tg_k_cross_entropy, (T logits, T target, int64_t ignore, T *lse), (logits, target, ignore, lse))
WRAP(T, tg_k_cross_entropy_backward, (T g, T logits, T target, T lse, int64_t ignore),
     (g, logits, target, lse, ignore))
WRAP(int, tg_k_sgd_update_,
     (T p, T g, T buf, double lr, double momentum, double dampening, double wd, bool nesterov, bool first),
     (p, g, buf, lr, momentum, dampening, wd, nesterov, first))
WRAP(T, tg_k_sum, (T t, int ndims, const int *dims, bool keepdim), (t, ndims, dims, keepdim))
WRAP(T, tg_k_contiguous, (T t), (t))
WRAP(T, tg_k_clone, (T t), (t))
WRAP(int, tg_k_copy_, (T dst, T src), (dst, src))
WRAP(int, tg_k_fill_, (T dst, double v), (dst, v))
WRAP(T, tg_zeros, (int ndim, const int64_t *shape, tg_dtype dtype), (ndim, shape, dtype))
WRAP(T, tg_empty, (int ndim, const int64_t *shape, tg_dtype dtype), (ndim, shape, dtype))
WRAP(void *, tg_memory_alloc, (size_t n), (n))
WRAP_VOID(tg_memory_free, (void *p, size_t n), (p, n))
WRAP(void *, malloc, (size_t n), (n))
WRAP(void *, calloc, (size_t n, size_t s), (n, s))
WRAP(void *, realloc, (void *p, size_t n), (p, n))
WRAP(void *, aligned_alloc, (size_t a, size_t n), (a, n))
WRAP_VOID(free, (void *p), (p))
WRAP(int, tg_backward, (T root, T grad), (root, grad))
WRAP(T, tg_module_forward, (tg_module * m, T x), (m, x))
WRAP(int, tg_optimizer_step, (tg_optimizer * o), (o))
WRAP_VOID(tg_optimizer_zero_grad, (tg_optimizer * o), (o))
WRAP(int, tg_k_momentum_update_, (T k, T q, double momentum), (k, q, momentum))
WRAP(T, tg_k_bmm, (T a, T b), (a, b))
WRAP(T, tg_k_argmax, (T t, int dim, bool keepdim), (t, dim, keepdim))
/* The correspondence normalises C5 cells, (N, C, S^2); the necks their
 * 2-D embeddings. */
WRAP_AS(T, tg_normalize, x && x->ndim == 3 ? ID_normalize_cells : ID_tg_normalize, (T x, int dim, float eps),
        (x, dim, eps))
WRAP(T, tg_k_mul, (T a, T b), (a, b))
WRAP(T, tg_k_mul_scalar, (T t, float s), (t, s))
WRAP(T, tg_k_sub, (T a, T b), (a, b))
WRAP(T, tg_k_div, (T a, T b), (a, b))
WRAP(T, tg_k_clamp, (T t, float lo, float hi), (t, lo, hi))
WRAP(T, tg_k_in_range, (T t, float lo, float hi), (t, lo, hi))
WRAP(T, tg_k_mean, (T t, int ndims, const int *dims, bool keepdim), (t, ndims, dims, keepdim))
WRAP(T, tg_k_index_select, (T t, int dim, T index), (t, dim, index))

/* The fused InfoNCE: each call's rows and time kept for split_info_nce. */
T __real_tg_k_info_nce(T q, T pos, T queue, float tau, int64_t *correct, T *grad);
T __wrap_tg_k_info_nce(T q, T pos, T queue, float tau, int64_t *correct, T *grad);
T __wrap_tg_k_info_nce(T q, T pos, T queue, float tau, int64_t *correct, T *grad)
{
    bool e = enter(ID_tg_k_info_nce);
    double before = excl[ID_tg_k_info_nce];
    T r = __real_tg_k_info_nce(q, pos, queue, tau, correct, grad);
    leave(e);
    if (e && q && n_nce < (int)(sizeof nce_calls / sizeof *nce_calls))
        nce_calls[n_nce++] = (nce_call){q->shape[0], excl[ID_tg_k_info_nce] - before};
    return r;
}
