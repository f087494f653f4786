/* Convolution kernels: tg_k_conv2d and its input, weight and bias
 * gradients against a naive reference (summed in double) over many
 * configurations (strides, padding, dilation, groups, the 1x1 fast path,
 * blocks of several images with a partial last block, strided operands,
 * narrow images (gather tables) and wide ones (implicit GEMM, window
 * loops)), each run twice: through the direct kernels (conv_direct*.c,
 * where the CPU has them) and with them turned off (the GEMM paths);
 * hand-checked values; shape rules and error messages; and bitwise-equal
 * results on 1 and 2 threads, on both paths. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "tensor/internal/conv_geom.h"
#include "tensorgrad.h"

Suite *conv_suite(void);

/* One configuration: x (n,c,h,w), weight (o, c/groups, kh, kw). */
typedef struct {
    const char *name;
    int64_t n, c, h, w, o, kh, kw;
    tg_conv2d_opts opts;
    bool bias;
} conv_case;

static int64_t dflt(int v) { return v ? v : 1; }

static int64_t out_size(int64_t in, int64_t k, int pad, int stride, int dil)
{
    return (in + 2 * pad - dflt(dil) * (k - 1) - 1) / dflt(stride) + 1;
}

/* Everything a reference loop needs, with defaults applied. */
typedef struct {
    int64_t n, c, h, w, o, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups, cg, og;
} ref_geom;

static ref_geom geom_of(const conv_case *k)
{
    ref_geom g = {.n = k->n, .c = k->c, .h = k->h, .w = k->w, .o = k->o, .kh = k->kh, .kw = k->kw};
    g.sh = dflt(k->opts.stride[0]), g.sw = dflt(k->opts.stride[1]);
    g.dh = dflt(k->opts.dilation[0]), g.dw = dflt(k->opts.dilation[1]);
    g.ph = k->opts.padding[0], g.pw = k->opts.padding[1];
    g.groups = dflt(k->opts.groups);
    g.oh = out_size(g.h, g.kh, k->opts.padding[0], k->opts.stride[0], k->opts.dilation[0]);
    g.ow = out_size(g.w, g.kw, k->opts.padding[1], k->opts.stride[1], k->opts.dilation[1]);
    g.cg = g.c / g.groups, g.og = g.o / g.groups;
    return g;
}

/* Calls f(x index, w index, out index) for every multiply-add of the
 * convolution, in a fixed order. */
#define FOR_EACH_TAP(g, BODY)                                                                                  \
    for (int64_t n_ = 0; n_ < (g).n; n_++)                                                                     \
        for (int64_t o_ = 0; o_ < (g).o; o_++)                                                                 \
            for (int64_t y_ = 0; y_ < (g).oh; y_++)                                                            \
                for (int64_t x_ = 0; x_ < (g).ow; x_++)                                                        \
                    for (int64_t c_ = 0; c_ < (g).cg; c_++)                                                    \
                        for (int64_t i_ = 0; i_ < (g).kh; i_++)                                                \
                            for (int64_t j_ = 0; j_ < (g).kw; j_++) {                                          \
                                int64_t iy = y_ * (g).sh - (g).ph + i_ * (g).dh;                               \
                                int64_t ix = x_ * (g).sw - (g).pw + j_ * (g).dw;                               \
                                if (iy < 0 || iy >= (g).h || ix < 0 || ix >= (g).w) continue;                  \
                                int64_t ci = (o_ / (g).og) * (g).cg + c_;                                      \
                                int64_t xi = ((n_ * (g).c + ci) * (g).h + iy) * (g).w + ix;                    \
                                int64_t wi = ((o_ * (g).cg + c_) * (g).kh + i_) * (g).kw + j_;                 \
                                int64_t oi = ((n_ * (g).o + o_) * (g).oh + y_) * (g).ow + x_;                  \
                                BODY;                                                                          \
                            }

static float *values_of(tg_tensor *t)
{
    float *v = malloc((size_t)tg_numel(t) * sizeof *v + 1);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(tg_copy_to_buffer(t, v), 0);
    return v;
}

/* Checks got against want (double) element by element. */
static void assert_near(tg_tensor *got, const double *want, int64_t n, const char *what, const char *name)
{
    ck_assert_msg(got != NULL, "%s %s: %s", name, what, tg_last_error());
    ck_assert_int_eq(tg_numel(got), n);
    float *v = values_of(got);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(v[i] - want[i]) <= 1e-4 * (1 + fabs(want[i])), "%s %s[%lld]: %.7g, want %.7g", name,
                      what, (long long)i, v[i], want[i]);
    free(v);
}

/* A random tensor of shape; stored with its last two dims transposed (a
 * non-contiguous view) when strided is set. */
static tg_tensor *random_tensor(tg_rng *rng, int ndim, const int64_t *shape, bool strided)
{
    int64_t stored[4];
    memcpy(stored, shape, (size_t)ndim * sizeof *shape);
    if (strided) stored[ndim - 2] = shape[ndim - 1], stored[ndim - 1] = shape[ndim - 2];
    tg_tensor *base = tg_randn(rng, ndim, stored);
    tg_tensor *t = strided ? tg_k_transpose(base, -2, -1) : tg_retain(base);
    tg_release(base);
    return t;
}

static void check_case(const conv_case *k, bool strided)
{
    ref_geom g = geom_of(k);
    tg_rng rng = tg_rng_new(77, 0);
    tg_tensor *x = random_tensor(&rng, TG_SHAPE(g.n, g.c, g.h, g.w), strided);
    tg_tensor *w = random_tensor(&rng, TG_SHAPE(g.o, g.cg, g.kh, g.kw), strided);
    tg_tensor *b = k->bias ? tg_randn(&rng, TG_SHAPE(g.o)) : NULL;
    tg_tensor *gr = random_tensor(&rng, TG_SHAPE(g.n, g.o, g.oh, g.ow), strided);
    float *xv = values_of(x), *wv = values_of(w), *gv = values_of(gr), *bv = b ? values_of(b) : NULL;
    int64_t nout = g.n * g.o * g.oh * g.ow, nx = tg_numel(x), nw = tg_numel(w);
    double *out = calloc((size_t)nout + 1, sizeof *out), *dx = calloc((size_t)nx + 1, sizeof *dx);
    double *dw = calloc((size_t)nw + 1, sizeof *dw), *db = calloc((size_t)g.o + 1, sizeof *db);
    FOR_EACH_TAP(g, {
        out[oi] += (double)xv[xi] * wv[wi];
        dx[xi] += (double)gv[oi] * wv[wi];
        dw[wi] += (double)gv[oi] * xv[xi];
    });
    for (int64_t i = 0; i < nout; i++) {
        int64_t o = i / (g.oh * g.ow) % g.o;
        if (bv) out[i] += bv[o];
        db[o] += gv[i];
    }
    tg_tensor *y = tg_k_conv2d(x, w, b, k->opts);
    tg_tensor *gx = tg_k_conv2d_backward_input(gr, w, x->shape, k->opts);
    tg_tensor *gw = tg_k_conv2d_backward_weight(gr, x, w->shape, k->opts);
    tg_tensor *gb = tg_k_conv2d_backward_bias(gr);
    assert_near(y, out, nout, "forward", k->name);
    ck_assert(y->ndim == 4 && y->shape[0] == g.n && y->shape[1] == g.o && y->shape[2] == g.oh &&
              y->shape[3] == g.ow);
    assert_near(gx, dx, nx, "grad input", k->name);
    assert_near(gw, dw, nw, "grad weight", k->name);
    assert_near(gb, db, g.o, "grad bias", k->name);
    tg_tensor *all[] = {x, w, b, gr, y, gx, gw, gb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
    void *bufs[] = {xv, wv, gv, bv, out, dx, dw, db};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
}

#define OPTS(...) ((tg_conv2d_opts){__VA_ARGS__})

static const conv_case cases[] = {
    {"3x3 pad 1", 2, 3, 6, 5, 4, 3, 3, OPTS(.padding = {1, 1}), true},
    {"3x3 no pad", 2, 3, 6, 5, 4, 3, 3, OPTS(.groups = 0), false},
    {"stride 2", 2, 3, 7, 6, 4, 3, 3, OPTS(.stride = {2, 2}, .padding = {1, 1}), true},
    {"stride 3x2, pad 2x0", 1, 2, 8, 7, 3, 3, 2, OPTS(.stride = {3, 2}, .padding = {2, 0}), true},
    {"dilation 2", 2, 3, 7, 7, 4, 3, 3, OPTS(.dilation = {2, 2}, .padding = {2, 2}), true},
    {"dilation 1x3", 1, 2, 6, 9, 2, 2, 3, OPTS(.dilation = {1, 3}, .padding = {0, 1}), false},
    /* the cases above mostly have outputs under 6 wide (gather tables);
     * these wide ones take the implicit GEMM (tensor/conv_gemm.c) forward */
    {"wide, stride 3x2, pad 2x0", 2, 2, 8, 20, 3, 3, 2, OPTS(.stride = {3, 2}, .padding = {2, 0}), true},
    {"wide, dilation 1x3", 1, 2, 6, 30, 2, 2, 3, OPTS(.dilation = {1, 3}, .padding = {0, 1}), false},
    {"groups 2", 2, 4, 5, 5, 6, 3, 3, OPTS(.groups = 2, .padding = {1, 1}), true},
    {"depthwise", 2, 3, 5, 5, 3, 3, 3, OPTS(.groups = 3, .padding = {1, 1}), true},
    {"groups 3, 2 out each", 1, 6, 4, 5, 6, 2, 2, OPTS(.groups = 3, .stride = {2, 1}), false},
    {"1x1 on a big image (direct)", 2, 5, 16, 17, 3, 1, 1, OPTS(.groups = 0), true},
    {"1x1 direct, groups 2", 2, 4, 16, 16, 6, 1, 1, OPTS(.groups = 2), true},
    {"1x1 small images (blocked)", 3, 5, 4, 4, 3, 1, 1, OPTS(.groups = 0), true},
    {"1x1 stride 2", 2, 4, 7, 8, 3, 1, 1, OPTS(.stride = {2, 2}), true},
    {"1x1 padded", 1, 2, 3, 3, 2, 1, 1, OPTS(.padding = {1, 2}), true},
    {"7x7 stride 2 pad 3", 2, 3, 12, 11, 4, 7, 7, OPTS(.stride = {2, 2}, .padding = {3, 3}), true},
    {"3x3 big images, one per block", 2, 1, 46, 45, 2, 3, 3, OPTS(.padding = {1, 1}), true},
    {"partial last block", 7, 2, 20, 20, 3, 3, 3, OPTS(.padding = {1, 1}), true},
    {"kernel fills padded input", 2, 2, 3, 2, 2, 5, 4, OPTS(.padding = {1, 1}), true},
    {"padding wider than kernel", 1, 2, 3, 3, 2, 2, 2, OPTS(.padding = {3, 2}, .stride = {2, 3}), true},
    {"batch 1, one channel", 1, 1, 5, 5, 1, 3, 3, OPTS(.padding = {1, 1}), false},
    /* implicit GEMM: k steps in two chunks (pixels in two chunks for the
     * weight gradient), 13 outputs (a partial tile of channels), tiles
     * across images and a partial last tile */
    {"wide, 2 k chunks, 13 out", 5, 48, 9, 10, 13, 3, 3, OPTS(.padding = {1, 1}), true},
    {"wide, stride 2, dilation 2, 288 rows", 2, 32, 21, 20, 7, 3, 3,
     OPTS(.stride = {2, 2}, .padding = {2, 2}, .dilation = {2, 2}), false},
    /* a narrow image's weight gradient as an implicit GEMM (288 rows, 500
     * pixels) */
    {"narrow, implicit weight gradient", 25, 32, 4, 5, 5, 3, 3, OPTS(.padding = {1, 1}), true},
    {"7x7 stride 2 on 3 channels, implicit weight gradient", 3, 3, 30, 29, 5, 7, 7,
     OPTS(.stride = {2, 2}, .padding = {3, 3}), false},
    {"wide, many tile groups, stride 2, dilation 2", 4, 3, 41, 40, 5, 3, 3,
     OPTS(.stride = {2, 2}, .padding = {2, 2}, .dilation = {2, 2}), true},
    /* padding past the kernel's reach: the direct input gradient takes it
     * phase by phase (one phase) */
    {"wide, padded past the kernel", 2, 3, 12, 40, 4, 3, 3, OPTS(.padding = {3, 2}), true},
    /* 8x8 images: 80 positions, one 5 x 4 register tile of the direct path */
    {"8x8 images, 5 x 4 tiles", 3, 5, 8, 8, 6, 3, 3, OPTS(.padding = {1, 1}), true},
    /* the direct weight gradient: images in 5 chunks of 8, one slot each */
    {"direct weight gradient, chunks in slots", 40, 16, 20, 20, 16, 3, 3, OPTS(.padding = {1, 1}), false},
};

#define NCASES ((int)(sizeof cases / sizeof *cases))

START_TEST(test_against_reference) { check_case(&cases[_i], false); }
END_TEST

START_TEST(test_strided_operands) { check_case(&cases[_i], true); }
END_TEST

START_TEST(test_gemm_paths_against_reference)
{
    conv_direct_enable(false);
    check_case(&cases[_i], _i % 2 == 1);
    conv_direct_enable(true);
}
END_TEST

static tg_tensor *arange_shaped(int ndim, const int64_t *shape, double start)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    tg_tensor *a = tg_arange(start, start + (double)n, 1);
    tg_tensor *t = tg_k_reshape(a, ndim, shape);
    tg_release(a);
    return t;
}

static void assert_values(tg_tensor *t, const float *want, int64_t n)
{
    ck_assert_msg(t != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_numel(t), n);
    float *v = values_of(t);
    for (int64_t i = 0; i < n; i++) ck_assert_msg(v[i] == want[i], "[%lld]: %g, want %g", (long long)i, v[i], want[i]);
    free(v);
}

/* x = 1..16 (4x4), a 2x2 kernel of ones: each output is a window's sum. */
START_TEST(test_hand_checked)
{
    tg_tensor *x = arange_shaped(TG_SHAPE(1, 1, 4, 4), 1);
    tg_tensor *w = tg_ones(TG_SHAPE(1, 1, 2, 2), TG_FLOAT32);
    tg_tensor *b = tg_full(TG_SHAPE(1), 0.5f);
    tg_tensor *y = tg_k_conv2d(x, w, b, OPTS(.groups = 0));
    assert_values(y, (float[]){14.5f, 18.5f, 22.5f, 30.5f, 34.5f, 38.5f, 46.5f, 50.5f, 54.5f}, 9);
    tg_release(y);
    /* padding 1, stride 2: the corners see one element, edges two */
    y = tg_k_conv2d(x, w, NULL, OPTS(.stride = {2, 2}, .padding = {1, 1}));
    assert_values(y, (float[]){1, 5, 4, 14, 34, 20, 13, 29, 16}, 9);
    tg_release(y);
    /* the input gradient of ones through a 2x2 kernel of ones counts windows */
    tg_tensor *g = tg_ones(TG_SHAPE(1, 1, 3, 3), TG_FLOAT32);
    tg_tensor *gx = tg_k_conv2d_backward_input(g, w, x->shape, OPTS(.groups = 0));
    assert_values(gx, (float[]){1, 2, 2, 1, 2, 4, 4, 2, 2, 4, 4, 2, 1, 2, 2, 1}, 16);
    tg_tensor *gw = tg_k_conv2d_backward_weight(g, x, w->shape, OPTS(.groups = 0));
    assert_values(gw, (float[]){54, 63, 90, 99}, 4);
    tg_tensor *gb = tg_k_conv2d_backward_bias(g);
    assert_values(gb, (float[]){9}, 1);
    tg_tensor *all[] = {x, w, b, g, gx, gw, gb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
}
END_TEST

/* Output sizes follow floor((H + 2p - d(k-1) - 1) / s) + 1. */
START_TEST(test_output_shapes)
{
    tg_tensor *x = tg_zeros(TG_SHAPE(2, 4, 9, 8), TG_FLOAT32);
    tg_tensor *w = tg_zeros(TG_SHAPE(6, 2, 3, 2), TG_FLOAT32);
    tg_tensor *y = tg_k_conv2d(x, w, NULL, OPTS(.stride = {2, 3}, .padding = {1, 0}, .dilation = {2, 1}, .groups = 2));
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(y->shape[0], 2);
    ck_assert_int_eq(y->shape[1], 6);
    ck_assert_int_eq(y->shape[2], 4); /* (9 + 2 - 4 - 1) / 2 + 1 */
    ck_assert_int_eq(y->shape[3], 3); /* (8 - 1 - 1) / 3 + 1 */
    ck_assert(tg_is_contiguous(y));
    tg_release(y);
    tg_release(x);
    /* an empty batch gives an empty output and a zero weight gradient */
    x = tg_zeros(TG_SHAPE(0, 4, 9, 8), TG_FLOAT32);
    y = tg_k_conv2d(x, w, NULL, OPTS(.groups = 2));
    ck_assert_msg(y != NULL, "%s", tg_last_error());
    ck_assert_int_eq(tg_numel(y), 0);
    tg_tensor *gw = tg_k_conv2d_backward_weight(y, x, w->shape, OPTS(.groups = 2));
    ck_assert_msg(gw != NULL, "%s", tg_last_error());
    ck_assert_double_eq(tg_get(gw, (int64_t[]){5, 1, 2, 1}), 0.0);
    tg_release(gw);
    tg_release(y);
    tg_release(x);
    tg_release(w);
}
END_TEST

/* Calls conv2d and checks it fails with a message containing want. */
static void assert_fails(tg_tensor *x, tg_tensor *w, tg_tensor *b, tg_conv2d_opts o, const char *want)
{
    tg_clear_error();
    tg_tensor *y = tg_k_conv2d(x, w, b, o);
    ck_assert_msg(y == NULL, "expected failure: %s", want);
    ck_assert_msg(strstr(tg_last_error(), want), "message \"%s\" lacks \"%s\"", tg_last_error(), want);
}

START_TEST(test_errors)
{
    tg_tensor *x = tg_zeros(TG_SHAPE(1, 4, 5, 5), TG_FLOAT32);
    tg_tensor *x3 = tg_zeros(TG_SHAPE(4, 5, 5), TG_FLOAT32);
    tg_tensor *w = tg_zeros(TG_SHAPE(2, 3, 3, 3), TG_FLOAT32);
    tg_tensor *w4 = tg_zeros(TG_SHAPE(2, 4, 3, 3), TG_FLOAT32);
    tg_tensor *w2 = tg_zeros(TG_SHAPE(3, 2, 3, 3), TG_FLOAT32);
    tg_tensor *big = tg_zeros(TG_SHAPE(2, 4, 6, 3), TG_FLOAT32);
    tg_tensor *b3 = tg_zeros(TG_SHAPE(3), TG_FLOAT32);
    tg_tensor *xi = tg_k_to_dtype(x, TG_INT64);
    assert_fails(x, w, NULL, OPTS(.groups = 0), "conv2d: input has 4 channels, weight expects 3 (groups 1)");
    assert_fails(x3, w4, NULL, OPTS(.groups = 0), "conv2d: input (4,5,5) must have 4 dims");
    assert_fails(x, x3, NULL, OPTS(.groups = 0), "conv2d: weight (4,5,5) must have 4 dims");
    assert_fails(xi, w4, NULL, OPTS(.groups = 0), "conv2d: input (1,4,5,5) is int64; float32 only");
    assert_fails(x, w2, NULL, OPTS(.groups = 2), "conv2d: weight has 3 output channels, not divisible by groups 2");
    assert_fails(x, w, NULL, OPTS(.groups = 2), "conv2d: input has 4 channels, weight expects 6 (groups 2)");
    assert_fails(x, big, NULL, OPTS(.groups = 0),
                 "conv2d: kernel 6x3 (dilation 1x1) spans 6x3, larger than the padded input 5x5");
    assert_fails(x, w4, NULL, OPTS(.dilation = {3, 1}), "spans 7x3, larger than the padded input 5x5");
    assert_fails(x, w4, b3, OPTS(.groups = 0), "conv2d: bias has shape (3), the weight has 2 output channels");
    assert_fails(x, w4, x3, OPTS(.groups = 0), "conv2d: bias (4,5,5) must have 1 dims");
    assert_fails(x, w4, NULL, OPTS(.stride = {-1, 1}), "conv2d: negative option (stride -1x1");
    assert_fails(x, w4, NULL, OPTS(.groups = -2), "groups -2");
    /* NULL from an earlier failure keeps that failure's message */
    tg_set_error("here", 1, "earlier");
    ck_assert_ptr_null(tg_k_conv2d(NULL, w, NULL, OPTS(.groups = 0)));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "earlier"));
    /* gradients check the incoming gradient's shape */
    tg_tensor *g = tg_zeros(TG_SHAPE(1, 2, 4, 3), TG_FLOAT32);
    ck_assert_ptr_null(tg_k_conv2d_backward_input(g, w4, x->shape, OPTS(.groups = 0)));
    ck_assert_ptr_nonnull(
        strstr(tg_last_error(), "conv2d_backward_input: gradient has shape (1,2,4,3), the output's is (1,2,3,3)"));
    ck_assert_ptr_null(tg_k_conv2d_backward_weight(g, x, w4->shape, OPTS(.groups = 0)));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "conv2d_backward_weight: gradient has shape (1,2,4,3)"));
    ck_assert_ptr_null(tg_k_conv2d_backward_bias(b3));
    ck_assert_ptr_nonnull(strstr(tg_last_error(), "conv2d_backward_bias: gradient (3) must have 4 dims"));
    tg_tensor *all[] = {x, x3, w, w4, w2, big, b3, xi, g};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tg_release(all[i]);
}
END_TEST

/* Forward and all gradients, bitwise equal on 1 and 2 threads, for the
 * blocked, one-image, direct and gather-table paths, on sizes that go
 * parallel. */
static void run_all(const conv_case *k, tg_tensor **res)
{
    ref_geom g = geom_of(k);
    tg_rng rng = tg_rng_new(5, 0);
    tg_tensor *x = tg_randn(&rng, TG_SHAPE(g.n, g.c, g.h, g.w));
    tg_tensor *w = tg_randn(&rng, TG_SHAPE(g.o, g.cg, g.kh, g.kw));
    tg_tensor *b = tg_randn(&rng, TG_SHAPE(g.o));
    tg_tensor *gr = tg_randn(&rng, TG_SHAPE(g.n, g.o, g.oh, g.ow));
    res[0] = tg_k_conv2d(x, w, b, k->opts);
    res[1] = tg_k_conv2d_backward_input(gr, w, x->shape, k->opts);
    res[2] = tg_k_conv2d_backward_weight(gr, x, w->shape, k->opts);
    res[3] = tg_k_conv2d_backward_bias(gr);
    tg_release(x);
    tg_release(w);
    tg_release(b);
    tg_release(gr);
}

static void assert_bitwise(tg_tensor *a, tg_tensor *b, const char *name)
{
    ck_assert_msg(a && b, "%s: %s", name, tg_last_error());
    float *va = values_of(a), *vb = values_of(b);
    ck_assert_msg(memcmp(va, vb, (size_t)tg_numel(a) * sizeof *va) == 0, "%s differs across thread counts", name);
    free(va);
    free(vb);
}

static const conv_case big_cases[] = {
    {"blocked 3x3", 6, 16, 12, 12, 16, 3, 3, OPTS(.padding = {1, 1}), true},
    {"one image a block, groups 2", 3, 8, 48, 48, 8, 3, 3, OPTS(.padding = {1, 1}, .groups = 2), true},
    {"blocked, stride 2", 5, 8, 20, 20, 8, 3, 3, OPTS(.padding = {1, 1}, .stride = {2, 2}), true},
    {"direct 1x1", 3, 16, 20, 20, 24, 1, 1, OPTS(.groups = 0), true},
    {"narrow images (gather table)", 16, 32, 4, 4, 32, 3, 3, OPTS(.padding = {1, 1}), true},
    {"implicit GEMM, 2 k chunks, tile groups", 4, 48, 20, 20, 20, 3, 3, OPTS(.padding = {1, 1}), true},
    {"direct weight gradient, chunks in slots", 40, 16, 20, 20, 16, 3, 3, OPTS(.padding = {1, 1}), false},
    {"8x8 images, 5 x 4 tiles", 8, 16, 8, 8, 13, 3, 3, OPTS(.padding = {1, 1}), true},
    {"stride 2, 20 out (a partial tile of channels)", 6, 8, 31, 30, 20, 3, 3,
     OPTS(.padding = {1, 1}, .stride = {2, 2}), true},
};

static void check_thread_invariance(const conv_case *k)
{
    int before = tg_get_num_threads();
    tg_tensor *one[4], *two[4];
    tg_set_num_threads(1);
    run_all(k, one);
    tg_set_num_threads(2);
    run_all(k, two);
    tg_set_num_threads(before);
    const char *names[] = {"forward", "grad input", "grad weight", "grad bias"};
    for (int i = 0; i < 4; i++) {
        assert_bitwise(one[i], two[i], names[i]);
        tg_release(one[i]);
        tg_release(two[i]);
    }
}

START_TEST(test_thread_invariance) { check_thread_invariance(&big_cases[_i]); }
END_TEST

START_TEST(test_thread_invariance_gemm_paths)
{
    conv_direct_enable(false);
    check_thread_invariance(&big_cases[_i]);
    conv_direct_enable(true);
}
END_TEST

Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_against_reference, 0, NCASES);
    tcase_add_loop_test(tc, test_strided_operands, 0, NCASES);
    tcase_add_test(tc, test_hand_checked);
    tcase_add_test(tc, test_output_shapes);
    tcase_add_test(tc, test_errors);
    tcase_add_loop_test(tc, test_gemm_paths_against_reference, 0, NCASES);
    tcase_add_loop_test(tc, test_thread_invariance, 0, (int)(sizeof big_cases / sizeof *big_cases));
    tcase_add_loop_test(tc, test_thread_invariance_gemm_paths, 0, (int)(sizeof big_cases / sizeof *big_cases));
    suite_add_tcase(s, tc);
    return s;
}
