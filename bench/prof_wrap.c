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
 * it spends outside tg_k_sgemm and the allocator (the direct kernels, or
 * im2col and copies on the GEMM paths), and the step's time outside every
 * wrapped call is "autograd and other" (module and op dispatch, graph
 * bookkeeping). Two kinds of call own what they call instead
 * (owns_nested): the fused InfoNCE, whose GEMMs are the loss, and
 * tg_normalize, whose elementwise kernels are the normalisation. Some
 * calls go to a row other than their function's (PROF_SPLITS): an
 * InfoNCE with more rows of q than the step's fewest (one per cell:
 * DenseCL's dense loss) and the normalisation of C5 cells for the
 * correspondence. Only calls made outside OpenMP parallel regions are
 * counted; the kernels are called from the main thread, so that is all of
 * them. The clock costs ~25 ns a call, a few thousand calls a step: well
 * under 1% of it.
 *
 * The roofline (prof_print_roofline) costs each call of a kernel from its
 * arguments and result (the WRAP_COSTED wrappers): its time from call to
 * return, the GEMMs, copies and allocations it makes inside included, so
 * a costed call made inside another (a convolution's GEMMs) is its
 * caller's and is not costed again. Its conventions:
 * - FLOPs: 2 per multiply-add of the convolutions (their padding
 *   included), GEMMs and the InfoNCE; elementwise ops the operations of
 *   their formula per element, per-channel and per-row terms left out:
 *   1 for relu and its gradient, add, sub, mul, div, a product by a
 *   scalar, a sum, a mean, an argmax, a conv bias gradient, max pool's
 *   gradient (per element of g) and average pooling (per input element);
 *   2 for axpy, clamp and in_range; 3 for batch norm's apply
 *   (x - mean) slope + shift, its running statistics (per statistic),
 *   MoCo's momentum update and the L2 normalisation; 4 for batch norm's
 *   statistics (a sum, then squared deviations) and the cross-entropy
 *   (max, subtract, exp, add per logit; 3 for its gradient); 9 for batch
 *   norm's backward (the two sums of g and g (x - mean), then dx); a max
 *   pool's window size per output; SGD 2 for the step and 2 each for
 *   weight decay, momentum and Nesterov; the InfoNCE 4 a logit for its
 *   softmax besides its products; copies, fills and gathers none.
 * - bytes: the least traffic the call can make, every tensor operand read
 *   once and every result written once, at its element size (4 a float, 8
 *   an int64 index), an expanded dim (stride 0) once: batch norm's apply
 *   reads x (and the per-channel terms) and writes y; relu_ and the other
 *   in-place ops read and write their tensor; add reads two and writes one;
 *   a convolution reads its input (or g) and weight (and bias), its
 *   weight gradient g and the input, and writes its result; SGD reads
 *   the parameter, its gradient and momentum buffer (not on the first
 *   step) and writes the parameter and the buffer; a GEMM
 *   reads C too when beta is not 0; the InfoNCE reads q, the positives and
 *   the queue and writes d loss / d q, its logits never stored; a gather
 *   reads what it picks (the result's size) and the index. Temporaries a
 *   kernel makes (column buffers, packed panels) are not counted: the
 *   roofline says how far each kernel is from the least it must do. */
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
    X(tg_k_conv2d, "conv forward")                                          \
    X(tg_k_conv2d_backward_input, "conv input gradient")                    \
    X(tg_k_conv2d_backward_weight, "conv weight gradient")                  \
    X(tg_k_conv2d_backward_bias, "conv bias gradient")                      \
    X(tg_k_batch_norm_stats, "batch norm forward (stats)")                  \
    X(tg_k_batch_norm_apply, "batch norm forward (normalise)")              \
    X(tg_k_batch_norm_update_, "batch norm forward (running stats)")        \
    X(tg_k_batch_norm_backward, "batch norm backward")                      \
    X(tg_k_batch_norm_relu, "batch norm + relu (+ residual) forward")      \
    X(tg_k_batch_norm_relu_backward, "batch norm + relu (+ residual) backward") \
    X(tg_k_relu_, "relu forward")                                           \
    X(tg_k_relu, "relu forward")                                            \
    X(tg_k_relu_backward, "relu backward")                                  \
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
static prof_cost cost[N_IDS]; /* the costed calls (WRAP_COSTED) */
static double other;          /* in a step, outside every wrapped call */
static double step_total;     /* seconds inside steps */
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

/* The convolution kernels by layer and pass. */
enum { PASS_FORWARD, PASS_INPUT_GRADIENT, PASS_WEIGHT_GRADIENT };
static const char *const pass_name[PROF_PASSES] = {"forward", "input gradient", "weight gradient"};
static prof_conv_layer layers[PROF_MAX_LAYERS];
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

/* A costed call in progress. Only the outermost of the costed calls in
 * progress is costed: the costed calls it makes (a convolution's GEMMs,
 * a clone's copy) are part of it. */
typedef struct {
    bool entered, outermost;
    double start;
} op_frame;
static int op_depth; /* costed calls in progress */

static op_frame op_enter(bool entered)
{
    op_frame f = {entered, entered && op_depth == 0, 0};
    op_depth += entered;
    if (f.outermost) f.start = now();
    return f;
}

/* Ends f: true, with its seconds from call to return in *secs, when it is
 * the outermost. */
static bool op_leave(const op_frame *f, double *secs)
{
    op_depth -= f->entered;
    if (f->outermost) *secs = now() - f->start;
    return f->outermost;
}

static void add_cost(prof_cost *to, prof_cost c)
{
    to->secs += c.secs;
    to->flop += c.flop;
    to->bytes += c.bytes;
}

/* The layer of shape s in list (*n of them), added if new; NULL when the
 * list is full. */
static prof_conv_layer *layer_of(prof_conv_layer *list, int *n, const prof_conv_shape *s)
{
    for (int i = 0; i < *n; i++)
        if (!memcmp(&list[i].shape, s, sizeof *s)) return &list[i];
    if (*n == PROF_MAX_LAYERS) return NULL;
    list[*n] = (prof_conv_layer){.shape = *s};
    return &list[(*n)++];
}

/* The InfoNCE calls of the step in progress: rows of q, own time and cost.
 * The calls with the fewest rows (one per image) are the global loss;
 * calls with more (one per cell) are DenseCL's dense loss, moved to its
 * row when the step ends, whichever order the step makes them in. */
typedef struct {
    int64_t rows;
    double t;
    prof_cost cost;
} nce_call;
static nce_call nce_calls[8];
static int n_nce;

static void split_info_nce(void)
{
    int64_t fewest = INT64_MAX;
    for (int i = 0; i < n_nce; i++) fewest = nce_calls[i].rows < fewest ? nce_calls[i].rows : fewest;
    for (int i = 0; i < n_nce; i++) {
        const nce_call *c = &nce_calls[i];
        if (c->rows == fewest) continue;
        excl[ID_tg_k_info_nce] -= c->t;
        excl[ID_info_nce_dense] += c->t;
        calls[ID_tg_k_info_nce]--;
        calls[ID_info_nce_dense]++;
        add_cost(&cost[ID_tg_k_info_nce], (prof_cost){-c->cost.secs, -c->cost.flop, -c->cost.bytes});
        add_cost(&cost[ID_info_nce_dense], c->cost);
    }
    n_nce = 0;
}

void prof_reset(void)
{
    memset(excl, 0, sizeof excl);
    memset(calls, 0, sizeof calls);
    memset(cost, 0, sizeof cost);
    other = step_total = 0;
    steps = 0;
    n_shapes = 0;
    n_layers = 0;
}

static double step_start;

void prof_step_begin(void)
{
    depth = 0;
    op_depth = 0;
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

static void add_layers(prof_breakdown *b)
{
    for (int i = 0; i < n_layers; i++) {
        prof_conv_layer *to = layer_of(b->layers, &b->n_layers, &layers[i].shape);
        for (int p = 0; to && p < PROF_PASSES; p++) {
            to->own_secs[p] += layers[i].own_secs[p];
            add_cost(&to->cost[p], layers[i].cost[p]);
        }
    }
}

void prof_breakdown_add(prof_breakdown *b)
{
    index_rows();
    for (int i = 0; i < N_IDS; i++) {
        b->secs[row_of[i]] += excl[i];
        b->calls[row_of[i]] += calls[i];
        add_cost(&b->cost[row_of[i]], cost[i]);
    }
    add_layers(b);
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

/* "CxHxW -> O, KxK stride S", a layer's shape, into buf (size bytes). */
static const char *layer_label(const prof_conv_shape *s, char *buf, size_t size)
{
    snprintf(buf, size, "%lldx%lldx%lld -> %lld, %lldx%lld stride %lld", (long long)s->c, (long long)s->h,
             (long long)s->w, (long long)s->o, (long long)s->k, (long long)s->k, (long long)s->stride);
    return buf;
}

static void print_conv_layers(FILE *f, const prof_breakdown *b)
{
    double per = 1e3 / b->steps;
    fprintf(f, "\nconvolution kernels' own time (outside the GEMMs and the allocator) by layer, ms/step:\n\n");
    fprintf(f, "| layer | forward | input gradient | weight gradient |\n|---|---:|---:|---:|\n");
    for (int i = 0; i < b->n_layers; i++) {
        const prof_conv_layer *l = &b->layers[i];
        char label[96];
        fprintf(f, "| %s | %.2f | %.2f | %.2f |\n", layer_label(&l->shape, label, sizeof label),
                l->own_secs[PASS_FORWARD] * per, l->own_secs[PASS_INPUT_GRADIENT] * per,
                l->own_secs[PASS_WEIGHT_GRADIENT] * per);
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

void prof_print(FILE *f, const bench_peak *peak)
{
    if (!steps) return;
    prof_breakdown b = {0};
    prof_breakdown_add(&b);
    print_rows(f, &b);
    print_functions(f);
    print_conv_layers(f, &b);
    print_gemm_shapes(f);
    fprintf(f, "\nthe kernels against the machine, per step (bench/prof_wrap.c):\n\n");
    prof_print_roofline(f, &b, peak);
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

/* ---- the roofline ---- */

/* peak when it has both rates, else NULL. */
static const bench_peak *usable(const bench_peak *peak)
{
    return peak && peak->fma_gflops > 0 && peak->copy_gbs > 0 ? peak : NULL;
}

/* A row of the roofline: its label, c per step, its rates and, with a
 * peak, their shares of it and what bounds the row. */
static void print_roofline_row(FILE *f, const char *label, prof_cost c, int n_steps, const bench_peak *peak)
{
    double gflops = c.secs > 0 ? c.flop / c.secs * 1e-9 : 0, gbs = c.secs > 0 ? c.bytes / c.secs * 1e-9 : 0;
    fprintf(f, "| %s | %.2f | %.3f | %.3f | %.1f | %.1f | ", label, c.secs * 1e3 / n_steps, c.flop * 1e-9 / n_steps,
            c.bytes * 1e-9 / n_steps, gflops, gbs);
    if (c.bytes > 0) fprintf(f, "%.2f | ", c.flop / c.bytes);
    else fprintf(f, "- | ");
    if (!peak) {
        fprintf(f, "- | - | - |\n");
        return;
    }
    bool compute = c.flop > c.bytes * (peak->fma_gflops / peak->copy_gbs);
    fprintf(f, "%.1f%% | %.1f%% | %s |\n", 100 * gflops / peak->fma_gflops, 100 * gbs / peak->copy_gbs,
            compute ? "compute" : "memory");
}

static void print_conv_roofline(FILE *f, const prof_breakdown *b, const bench_peak *peak)
{
    for (int i = 0; i < b->n_layers; i++)
        for (int p = 0; p < PROF_PASSES; p++) {
            const prof_conv_layer *l = &b->layers[i];
            if (l->cost[p].secs <= 0) continue;
            char shape[96], label[128];
            snprintf(label, sizeof label, "conv %s: %s", layer_label(&l->shape, shape, sizeof shape), pass_name[p]);
            print_roofline_row(f, label, l->cost[p], b->steps, peak);
        }
}

/* Rows a convolution pass's layers stand for in the roofline. */
static bool is_conv_pass_row(int r)
{
    return r == row_of[ID_tg_k_conv2d] || r == row_of[ID_tg_k_conv2d_backward_input] ||
           r == row_of[ID_tg_k_conv2d_backward_weight];
}

void prof_print_roofline(FILE *f, const prof_breakdown *b, const bench_peak *peak)
{
    if (!b->steps) return;
    index_rows();
    peak = usable(peak);
    if (peak)
        fprintf(f, "machine balance %.1f FLOP/byte: FMA peak %.1f GFLOP/s over copy %.1f GB/s, %d thread%s\n\n",
                peak->fma_gflops / peak->copy_gbs, peak->fma_gflops, peak->copy_gbs, peak->threads,
                peak->threads == 1 ? "" : "s");
    else
        fprintf(f, "no measured peak (--peak 0): the last three columns read -\n\n");
    fprintf(f, "| kernels | ms/step | GFLOP/step | GB/step | GFLOP/s | GB/s | FLOP/byte | %% of FMA peak | "
               "%% of copy GB/s | bound |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    print_conv_roofline(f, b, peak);
    double key[PROF_MAX_ROWS];
    prof_cost total = {0};
    for (int r = 0; r < n_rows; r++) {
        add_cost(&total, b->cost[r]);
        key[r] = is_conv_pass_row(r) || b->cost[r].secs <= 0 ? -1 : b->cost[r].secs;
    }
    ranked order[PROF_MAX_ROWS];
    int n = rank_rows(key, order);
    for (int i = 0; i < n && order[i].key > 0; i++)
        print_roofline_row(f, row_name[order[i].row], b->cost[order[i].row], b->steps, peak);
    print_roofline_row(f, "**all of the above**", total, b->steps, peak);
}

/* ---- the wrappers ---- */

/* The wrapper of a function without a cost (the allocator, the autograd
 * glue): its calls charged to its id. */
#define WRAP(ret, name, params, args)                \
    ret __real_##name params;                        \
    ret __wrap_##name params;                        \
    ret __wrap_##name params                         \
    {                                                \
        bool e = enter(ID_##name);                   \
        ret r = __real_##name args;                  \
        leave(e);                                    \
        return r;                                    \
    }
#define WRAP_VOID(name, params, args)                \
    void __real_##name params;                       \
    void __wrap_##name params;                       \
    void __wrap_##name params                        \
    {                                                \
        bool e = enter(ID_##name);                   \
        __real_##name args;                          \
        leave(e);                                    \
    }

/* The wrapper of a kernel with a cost: its calls charged to id (an
 * expression of the args); a successful one (ok, an expression of the
 * result r) that is outermost (op_enter) costed with flop and bytes,
 * expressions of the args and r. Then, for every successful call it
 * entered, the statement then, which may read own_secs (the call's
 * exclusive seconds) and op_cost (its cost, zeros unless outermost). */
#define WRAP_COSTED(ret, name, id, ok, flop, bytes, then, params, args)                  \
    ret __real_##name params;                                                            \
    ret __wrap_##name params;                                                            \
    ret __wrap_##name params                                                             \
    {                                                                                    \
        const int which = (id);                                                          \
        const double before = excl[which];                                               \
        bool entered = enter(which);                                                     \
        op_frame frame = op_enter(entered);                                              \
        ret r = __real_##name args;                                                      \
        leave(entered);                                                                  \
        double secs;                                                                     \
        prof_cost op_cost = {0};                                                         \
        if (op_leave(&frame, &secs) && (ok)) op_cost = (prof_cost){secs, flop, bytes};   \
        add_cost(&cost[which], op_cost);                                                 \
        if (entered && (ok)) {                                                           \
            const double own_secs = excl[which] - before;                                \
            (void)own_secs;                                                              \
            then;                                                                        \
        }                                                                                \
        return r;                                                                        \
    }
/* Kernels that return a new tensor (NULL on failure), or 0 (-1). */
#define WRAP_NEW(name, params, args, flop, bytes) \
    WRAP_COSTED(T, name, ID_##name, r != NULL, flop, bytes, (void)0, params, args)
#define WRAP_RC(name, params, args, flop, bytes) \
    WRAP_COSTED(int, name, ID_##name, r == 0, flop, bytes, (void)0, params, args)
/* A convolution kernel: own time and cost also go to its layer (input
 * shape xs, weight shape ws) and pass. */
#define WRAP_CONV(name, pass, xs, ws, flop, bytes, params, args)                                       \
    WRAP_COSTED(T, name, ID_##name, r != NULL, flop, bytes, count_conv(pass, xs, ws, o, own_secs, op_cost), \
                params, args)

typedef tg_tensor *T;

/* ---- the costs' parts ---- */

static double elems(const tg_tensor *t)
{
    return t ? (double)tg_numel(t) : 0;
}

/* The bytes t's elements take in memory, an expanded dim (stride 0) once. */
static double bytes_of(const tg_tensor *t)
{
    if (!t) return 0;
    double n = (double)tg_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++)
        if (t->stride[d] || !t->shape[d]) n *= (double)t->shape[d];
    return n;
}

/* What an out-parameter got, NULL where none was asked for. */
static const tg_tensor *got(tg_tensor *const *out)
{
    return out ? *out : NULL;
}

/* A product's multiply-adds per element of its result: the inner size. */
static double inner(const tg_tensor *a)
{
    return (double)a->shape[a->ndim - 1];
}

/* A convolution's multiply-adds per element of its output: the weight's
 * (C/groups) x kh x kw. */
static double macs_per_output(const int64_t *w_shape)
{
    return (double)w_shape[1] * (double)w_shape[2] * (double)w_shape[3];
}

static double info_nce_flop(const tg_tensor *q, const tg_tensor *queue, bool grad)
{
    double logits = elems(q) / inner(q) * (double)(queue->shape[0] + 1);
    return 2 * logits * inner(q) * (grad ? 2 : 1) + 4 * logits;
}

static double sgd_flop(const tg_tensor *p, const tg_tensor *buf, double wd, bool nesterov, bool first)
{
    double per = 2 + (wd != 0 ? 2 : 0) + (buf && !first ? 2 : 0) + (nesterov ? 2 : 0);
    return per * elems(p);
}

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

static void count_conv(int pass, const int64_t *xs, const int64_t *ws, tg_conv2d_opts o, double own, prof_cost c)
{
    prof_conv_shape s = {xs[1], xs[2], xs[3], ws[0], ws[2], o.stride[0] ? o.stride[0] : 1};
    prof_conv_layer *l = layer_of(layers, &n_layers, &s);
    if (!l) return;
    l->own_secs[pass] += own;
    add_cost(&l->cost[pass], c);
}

static void count_info_nce(const tg_tensor *q, double own, prof_cost c)
{
    if (n_nce < (int)(sizeof nce_calls / sizeof *nce_calls)) nce_calls[n_nce++] = (nce_call){q->shape[0], own, c};
}

/* ---- the wrappers themselves ---- */

WRAP_COSTED(int, tg_k_sgemm, ID_tg_k_sgemm, r == 0, 2.0 * (double)m * (double)n * (double)k,
            4.0 * ((double)m * (double)k + (double)k * (double)n + (double)m * (double)n * (beta != 0 ? 2 : 1)),
            count_gemm(m, n, k, (csa != 1) | (csb != 1) << 1 | (csc != 1) << 2, own_secs),
            (int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa, const float *b,
             int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc),
            (m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc))
WRAP_NEW(tg_k_matmul, (T a, T b), (a, b), 2 * elems(r) * inner(a), bytes_of(a) + bytes_of(b) + bytes_of(r))
WRAP_RC(tg_k_gemm_into, (T c, T a, T b, float alpha, float beta), (c, a, b, alpha, beta), 2 * elems(c) * inner(a),
        bytes_of(a) + bytes_of(b) + bytes_of(c) * (beta != 0 ? 2 : 1))
WRAP_CONV(tg_k_conv2d, PASS_FORWARD, x->shape, w->shape,
          2 * elems(r) * macs_per_output(w->shape) + (bias ? elems(r) : 0),
          bytes_of(x) + bytes_of(w) + bytes_of(bias) + bytes_of(r), (T x, T w, T bias, tg_conv2d_opts o),
          (x, w, bias, o))
WRAP_CONV(tg_k_conv2d_backward_input, PASS_INPUT_GRADIENT, s, w->shape, 2 * elems(g) * macs_per_output(w->shape),
          bytes_of(g) + bytes_of(w) + bytes_of(r), (T g, T w, const int64_t *s, tg_conv2d_opts o), (g, w, s, o))
WRAP_CONV(tg_k_conv2d_backward_weight, PASS_WEIGHT_GRADIENT, x->shape, s, 2 * elems(g) * macs_per_output(s),
          bytes_of(g) + bytes_of(x) + bytes_of(r), (T g, T x, const int64_t *s, tg_conv2d_opts o), (g, x, s, o))
WRAP_NEW(tg_k_conv2d_backward_bias, (T g), (g), elems(g), bytes_of(g) + bytes_of(r))
WRAP_RC(tg_k_batch_norm_stats, (T x, int groups, T *mean, T *var), (x, groups, mean, var), 4 * elems(x),
        bytes_of(x) + bytes_of(*mean) + bytes_of(*var))
WRAP_NEW(tg_k_batch_norm_apply, (T x, T mean, T var, T w, T b, float eps), (x, mean, var, w, b, eps), 3 * elems(x),
         bytes_of(x) + bytes_of(mean) + bytes_of(var) + bytes_of(w) + bytes_of(b) + bytes_of(r))
WRAP_RC(tg_k_batch_norm_update_, (T rm, T rv, T mean, T var, int64_t count, float momentum),
        (rm, rv, mean, var, count, momentum), 3 * (elems(mean) + elems(var)),
        2 * (bytes_of(rm) + bytes_of(rv)) + bytes_of(mean) + bytes_of(var))
WRAP_RC(tg_k_batch_norm_backward, (T g, T x, T mean, T var, T w, float eps, bool batch_stats, T *dx, T *dw, T *db),
        (g, x, mean, var, w, eps, batch_stats, dx, dw, db), 9 * elems(x),
        bytes_of(g) + bytes_of(x) + bytes_of(mean) + bytes_of(var) + bytes_of(w) + bytes_of(got(dx)) +
            bytes_of(got(dw)) + bytes_of(got(db)))
WRAP_NEW(tg_k_batch_norm_relu, (T x, T res, T mean, T var, T w, T b, float eps), (x, res, mean, var, w, b, eps),
         4 * elems(x),
         bytes_of(x) + bytes_of(res) + bytes_of(mean) + bytes_of(var) + bytes_of(w) + bytes_of(b) + bytes_of(r))
WRAP_RC(tg_k_batch_norm_relu_backward,
        (T g, T x, T res, T mean, T var, T w, T b, float eps, bool batch_stats, T *dx, T *dw, T *db, T *dres),
        (g, x, res, mean, var, w, b, eps, batch_stats, dx, dw, db, dres), 10 * elems(x),
        bytes_of(g) + bytes_of(x) + bytes_of(res) + bytes_of(mean) + bytes_of(var) + bytes_of(w) + bytes_of(b) +
            bytes_of(got(dx)) + bytes_of(got(dw)) + bytes_of(got(db)) + bytes_of(got(dres)))
WRAP_RC(tg_k_relu_, (T t), (t), elems(t), 2 * bytes_of(t))
WRAP_NEW(tg_k_relu, (T t), (t), elems(t), bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_relu_backward, (T g, T y), (g, y), elems(r), bytes_of(g) + bytes_of(y) + bytes_of(r))
WRAP_RC(tg_k_axpy_, (T a, float alpha, T b), (a, alpha, b), 2 * elems(a), 2 * bytes_of(a) + bytes_of(b))
WRAP_RC(tg_k_add_, (T a, T b), (a, b), elems(a), 2 * bytes_of(a) + bytes_of(b))
WRAP_NEW(tg_k_add, (T a, T b), (a, b), elems(r), bytes_of(a) + bytes_of(b) + bytes_of(r))
WRAP_NEW(tg_k_max_pool2d, (T x, tg_pool2d_opts o, T *idx), (x, o, idx),
         elems(r) * (double)o.kernel[0] * (double)o.kernel[1], bytes_of(x) + bytes_of(r) + bytes_of(got(idx)))
WRAP_NEW(tg_k_max_pool2d_backward, (T g, T idx, int64_t h, int64_t w), (g, idx, h, w), elems(g),
         bytes_of(g) + bytes_of(idx) + bytes_of(r))
WRAP_NEW(tg_k_adaptive_avg_pool2d, (T x, int64_t h, int64_t w), (x, h, w), elems(x), bytes_of(x) + bytes_of(r))
WRAP_NEW(tg_k_adaptive_avg_pool2d_backward, (T g, int64_t h, int64_t w), (g, h, w), elems(r),
         bytes_of(g) + bytes_of(r))
WRAP_NEW(tg_k_cross_entropy, (T logits, T target, int64_t ignore, T *lse), (logits, target, ignore, lse),
         4 * elems(logits), bytes_of(logits) + bytes_of(target) + bytes_of(got(lse)) + bytes_of(r))
WRAP_NEW(tg_k_cross_entropy_backward, (T g, T logits, T target, T lse, int64_t ignore),
         (g, logits, target, lse, ignore), 3 * elems(logits),
         bytes_of(g) + bytes_of(logits) + bytes_of(target) + bytes_of(lse) + bytes_of(r))
WRAP_RC(tg_k_sgd_update_,
        (T p, T g, T buf, double lr, double momentum, double dampening, double wd, bool nesterov, bool first),
        (p, g, buf, lr, momentum, dampening, wd, nesterov, first), sgd_flop(p, buf, wd, nesterov, first),
        2 * bytes_of(p) + bytes_of(g) + bytes_of(buf) * (first ? 1 : 2))
WRAP_NEW(tg_k_sum, (T t, int ndims, const int *dims, bool keepdim), (t, ndims, dims, keepdim), elems(t),
         bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_contiguous, (T t), (t), 0, r == t ? 0 : bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_clone, (T t), (t), 0, bytes_of(t) + bytes_of(r))
WRAP_RC(tg_k_copy_, (T dst, T src), (dst, src), 0, bytes_of(src) + bytes_of(dst))
WRAP_RC(tg_k_fill_, (T dst, double v), (dst, v), 0, bytes_of(dst))
WRAP_NEW(tg_zeros, (int ndim, const int64_t *shape, tg_dtype dtype), (ndim, shape, dtype), 0, bytes_of(r))
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
WRAP_RC(tg_k_momentum_update_, (T k, T q, double momentum), (k, q, momentum), 3 * elems(k),
        2 * bytes_of(k) + bytes_of(q))
WRAP_NEW(tg_k_bmm, (T a, T b), (a, b), 2 * elems(r) * inner(a), bytes_of(a) + bytes_of(b) + bytes_of(r))
WRAP_NEW(tg_k_argmax, (T t, int dim, bool keepdim), (t, dim, keepdim), elems(t), bytes_of(t) + bytes_of(r))
/* The correspondence normalises C5 cells, (N, C, S^2); the necks their
 * 2-D embeddings. */
WRAP_COSTED(T, tg_normalize, x && x->ndim == 3 ? ID_normalize_cells : ID_tg_normalize, r != NULL, 3 * elems(x),
            bytes_of(x) + bytes_of(r), (void)0, (T x, int dim, float eps), (x, dim, eps))
WRAP_NEW(tg_k_mul, (T a, T b), (a, b), elems(r), bytes_of(a) + bytes_of(b) + bytes_of(r))
WRAP_NEW(tg_k_mul_scalar, (T t, float s), (t, s), elems(r), bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_sub, (T a, T b), (a, b), elems(r), bytes_of(a) + bytes_of(b) + bytes_of(r))
WRAP_NEW(tg_k_div, (T a, T b), (a, b), elems(r), bytes_of(a) + bytes_of(b) + bytes_of(r))
WRAP_NEW(tg_k_clamp, (T t, float lo, float hi), (t, lo, hi), 2 * elems(r), bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_in_range, (T t, float lo, float hi), (t, lo, hi), 2 * elems(r), bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_mean, (T t, int ndims, const int *dims, bool keepdim), (t, ndims, dims, keepdim), elems(t),
         bytes_of(t) + bytes_of(r))
WRAP_NEW(tg_k_index_select, (T t, int dim, T index), (t, dim, index), 0, 2 * bytes_of(r) + bytes_of(index))

/* The fused InfoNCE: each call's rows, own time and cost kept for
 * split_info_nce. */
WRAP_COSTED(T, tg_k_info_nce, ID_tg_k_info_nce, r != NULL, info_nce_flop(q, queue, grad != NULL),
            bytes_of(q) + bytes_of(pos) + bytes_of(queue) + bytes_of(got(grad)) + bytes_of(r),
            count_info_nce(q, own_secs, op_cost), (T q, T pos, T queue, float tau, int64_t *correct, T *grad),
            (q, pos, queue, tau, correct, grad))
