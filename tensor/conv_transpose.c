/* Transposed 2-D convolution (F.conv_transpose2d) on the convolution's
 * kernels: its forward is the input gradient of the convolution that maps
 * its output back to its input, its input gradient that convolution's
 * forward, its weight gradient that convolution's weight gradient with the
 * roles of input and output swapped.
 *
 * With output_padding below the stride the convolution's padding is the
 * transposed one's and the output comes out whole. Otherwise (possible
 * with dilation) the convolution runs unpadded on the full output,
 * (H - 1) s + d (k - 1) + 1 rows, and the output is cut from it (rows
 * padding.. on, zeros past its end): one copy more. */
#include "tensor/internal/conv.h"

#include "tensor/internal/check.h"
#include "tensor/internal/elementwise.h"
#include "tensor/internal/resample.h"
#include "tensor/internal/view.h"

/* The convolution behind a transposed one and the shapes around it. */
typedef struct {
    tg_conv2d_opts conv;
    int64_t out[4];  /* the transposed convolution's output */
    int64_t full[4]; /* what the convolution sees as its input */
    int64_t pads[4]; /* F.pad's (w before, w after, h before, h after) from full to out */
    bool cut;        /* whether full differs from out */
} transpose_plan;

static int read_opts(const tg_conv_transpose2d_opts *o, int s[2], int d[2], int *groups)
{
    for (int i = 0; i < 2; i++) {
        if (o->stride[i] < 0 || o->padding[i] < 0 || o->output_padding[i] < 0 || o->dilation[i] < 0)
            return TG_FAIL("conv_transpose2d: negative option (stride %dx%d, padding %dx%d, output_padding %dx%d, "
                           "dilation %dx%d)",
                           o->stride[0], o->stride[1], o->padding[0], o->padding[1], o->output_padding[0],
                           o->output_padding[1], o->dilation[0], o->dilation[1]);
        s[i] = o->stride[i] ? o->stride[i] : 1;
        d[i] = o->dilation[i] ? o->dilation[i] : 1;
        if (o->output_padding[i] >= s[i] && o->output_padding[i] >= d[i])
            return TG_FAIL("conv_transpose2d: output_padding %d must be smaller than the stride (%d) or the "
                           "dilation (%d)",
                           o->output_padding[i], s[i], d[i]);
    }
    if (o->groups < 0) return TG_FAIL("conv_transpose2d: groups %d is negative", o->groups);
    *groups = o->groups ? o->groups : 1;
    return 0;
}

static int check_shapes(const int64_t *xs, const int64_t *ws, int groups)
{
    if (ws[0] % groups)
        return TG_FAIL("conv_transpose2d: weight has %lld input channels, not divisible by groups %d",
                       (long long)ws[0], groups);
    if (xs[1] != ws[0])
        return TG_FAIL("conv_transpose2d: input has %lld channels, weight expects %lld", (long long)xs[1],
                       (long long)ws[0]);
    return 0;
}

/* Checks the shapes of x (xs) and w (ws) against the options (NULL: the
 * defaults) and fills p. */
static int plan(const int64_t *xs, const int64_t *ws, const tg_conv_transpose2d_opts *opts, transpose_plan *p)
{
    static const tg_conv_transpose2d_opts defaults = {0};
    const tg_conv_transpose2d_opts *o = opts ? opts : &defaults;
    int s[2], d[2], groups = 1;
    if (read_opts(o, s, d, &groups) || check_shapes(xs, ws, groups)) return -1;
    p->conv = (tg_conv2d_opts){.stride = {s[0], s[1]}, .dilation = {d[0], d[1]}, .groups = groups};
    p->out[0] = p->full[0] = xs[0];
    p->out[1] = p->full[1] = ws[1] * groups;
    p->cut = o->output_padding[0] >= s[0] || o->output_padding[1] >= s[1];
    for (int i = 0; i < 2; i++) {
        int64_t span = (int64_t)d[i] * (ws[2 + i] - 1) + 1, whole = (xs[2 + i] - 1) * s[i] + span;
        p->out[2 + i] = whole - 2 * (int64_t)o->padding[i] + o->output_padding[i];
        if (p->out[2 + i] <= 0)
            return TG_FAIL("conv_transpose2d: output size %lld along dim %d (input %lld, padding %d) is not positive",
                           (long long)p->out[2 + i], 2 + i, (long long)xs[2 + i], o->padding[i]);
        p->full[2 + i] = p->cut ? whole : p->out[2 + i];
        if (!p->cut) p->conv.padding[i] = o->padding[i];
        p->pads[2 - 2 * i] = -(int64_t)o->padding[i];
        p->pads[3 - 2 * i] = p->out[2 + i] + o->padding[i] - whole;
    }
    return 0;
}

/* Fails unless t is a float32 4-D tensor (what names its dims). */
static int check_4d(const char *op, const char *what, const tg_tensor *t, const char *dims)
{
    if (t->dtype != TG_FLOAT32 || t->ndim != 4) {
        char s[TG_SHAPE_STR_LEN];
        tg_shape_str(t->ndim, t->shape, s, sizeof s);
        return TG_FAIL("%s: %s %s is %s; float32 %s expected", op, what, s, tg_dtype_name(t->dtype), dims);
    }
    return 0;
}

/* Adds bias (C) to each channel of out in place. */
static int add_bias(tg_tensor *out, tg_tensor *bias)
{
    if (bias->dtype != TG_FLOAT32 || bias->ndim != 1 || bias->shape[0] != out->shape[1])
        return TG_FAIL("conv_transpose2d: bias must be float32 (%lld), one per output channel",
                       (long long)out->shape[1]);
    tg_tensor *b = tg_k_view(bias, 4, (const int64_t[]){1, bias->shape[0], 1, 1});
    int rc = b ? tg_k_add_(out, b) : -1;
    tg_release(b);
    return rc;
}

tg_tensor *tg_k_conv_transpose2d(tg_tensor *x, tg_tensor *w, tg_tensor *bias, const tg_conv_transpose2d_opts *opts)
{
    transpose_plan p;
    const char *op = "conv_transpose2d";
    if (TG_NEED(op, x, w) || check_4d(op, "input", x, "(N, C_in, H, W)") ||
        check_4d(op, "weight", w, "(C_in, C_out/groups, kh, kw)") || plan(x->shape, w->shape, opts, &p))
        return NULL;
    tg_tensor *out = tg_k_conv2d_backward_input(x, w, p.full, p.conv);
    if (out && p.cut) {
        tg_tensor *whole = out;
        out = tg_k_pad(whole, 4, p.pads, 0.0);
        tg_release(whole);
    }
    if (out && bias && add_bias(out, bias)) {
        tg_release(out);
        return NULL;
    }
    return out;
}

/* g (the output's shape) as the convolution's input: itself, or padded out
 * to the full rows and columns. */
static tg_tensor *as_conv_input(tg_tensor *g, const transpose_plan *p)
{
    if (!p->cut) return tg_retain(g);
    int64_t back[4] = {-p->pads[0], -p->pads[1], -p->pads[2], -p->pads[3]};
    return tg_k_pad(g, 4, back, 0.0);
}

tg_tensor *tg_k_conv_transpose2d_backward_input(tg_tensor *g, tg_tensor *w, const int64_t *x_shape,
                                                const tg_conv_transpose2d_opts *opts)
{
    transpose_plan p;
    if (TG_NEED("conv_transpose2d_backward_input", g, w) || plan(x_shape, w->shape, opts, &p))
        return NULL;
    tg_tensor *gc = as_conv_input(g, &p);
    tg_tensor *dx = gc ? tg_k_conv2d(gc, w, NULL, p.conv) : NULL;
    tg_release(gc);
    return dx;
}

tg_tensor *tg_k_conv_transpose2d_backward_weight(tg_tensor *g, tg_tensor *x, const int64_t *w_shape,
                                                 const tg_conv_transpose2d_opts *opts)
{
    transpose_plan p;
    if (TG_NEED("conv_transpose2d_backward_weight", g, x) || plan(x->shape, w_shape, opts, &p))
        return NULL;
    tg_tensor *gc = as_conv_input(g, &p);
    tg_tensor *dw = gc ? tg_k_conv2d_backward_weight(x, gc, w_shape, p.conv) : NULL;
    tg_release(gc);
    return dw;
}
