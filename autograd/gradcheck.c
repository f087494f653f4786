/* Finite-difference gradient check (see gradcheck.h). */
#include "autograd/gradcheck.h"

#include <math.h>
#include <stdlib.h>

#include "autograd/autograd.h"
#include "autograd/internal/capture.h"
#include "autograd/internal/node.h"
#include "tensor/internal/check.h"
#include "tensor/rng.h"

/* L = sum(w * out) in double. */
static int contract(tg_tensor *out, const float *w, double *loss)
{
    int64_t n = tg_numel(out);
    float *buf = malloc((size_t)(n ? n : 1) * sizeof *buf);
    if (!buf) return TG_FAIL("gradcheck: out of memory");
    int rc = tg_copy_to_buffer(out, buf);
    double s = 0;
    for (int64_t i = 0; !rc && i < n; i++) s += (double)w[i] * buf[i];
    free(buf);
    *loss = s;
    return rc;
}

static int eval_loss(tg_gradcheck_fn f, void *ctx, tg_tensor *const *inputs, const float *w, double *loss)
{
    tg_tensor *out = f(inputs, ctx);
    if (!out) return -1;
    int rc = contract(out, w, loss);
    tg_release(out);
    return rc;
}

/* Storage index of logical element i of t. */
static int64_t storage_index(const tg_tensor *t, int64_t i)
{
    int64_t off = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    return off;
}

static int check_input(tg_gradcheck_fn f, void *ctx, tg_tensor *const *inputs, int k, const float *w,
                       const tg_gradcheck_opts *o)
{
    tg_tensor *x = inputs[k];
    tg_tensor *grad = tg_grad(x);
    int64_t n = tg_numel(x);
    float *analytic = malloc((size_t)(n ? n : 1) * sizeof *analytic);
    int rc = analytic ? 0 : TG_FAIL("gradcheck: out of memory");
    if (!rc && grad) rc = tg_copy_to_buffer(grad, analytic);
    for (int64_t i = 0; !rc && !grad && i < n; i++) analytic[i] = 0.0f;
    float *data = x->storage->data;
    for (int64_t i = 0; !rc && i < n; i++) {
        int64_t at = storage_index(x, i);
        float orig = data[at];
        double lp = 0, lm = 0;
        data[at] = (float)(orig + o->eps);
        rc = eval_loss(f, ctx, inputs, w, &lp);
        data[at] = (float)(orig - o->eps);
        if (!rc) rc = eval_loss(f, ctx, inputs, w, &lm);
        data[at] = orig;
        double numeric = (lp - lm) / (2 * o->eps), a = analytic[i];
        if (!rc && !(fabs(a - numeric) <= o->atol + o->rtol * fabs(numeric)))
            rc = TG_FAIL("gradcheck: input %d element %lld: analytic %.6g, numeric %.6g", k, (long long)i, a, numeric);
    }
    free(analytic);
    tg_release(grad);
    return rc;
}

static int check_inputs_distinct(int n, tg_tensor *const *inputs)
{
    for (int k = 0; k < n; k++) {
        if (!inputs[k]) return tg_need_argument(__FILE__, __LINE__, "gradcheck input", k + 1);
        for (int d = 0; d < inputs[k]->ndim; d++)
            if (tg_wants_grad(inputs[k]) && inputs[k]->stride[d] == 0 && inputs[k]->shape[d] > 1)
                return TG_FAIL("gradcheck: input %d is an expanded view; pass its base", k);
    }
    return 0;
}

static int gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs, const tg_gradcheck_opts *opts)
{
    tg_gradcheck_opts o = opts ? *opts : (tg_gradcheck_opts){1e-2, 1e-2, 1e-2};
    if (!f) return TG_FAIL("gradcheck: f is NULL");
    if (TG_NEED_MIN("gradcheck", n, 1) || TG_NEED("gradcheck", inputs) || check_inputs_distinct(n, inputs)) return -1;
    for (int k = 0; k < n; k++) tg_zero_grad(inputs[k]);
    tg_tensor *out = f(inputs, ctx);
    if (!out) return -1;
    tg_rng rng = tg_rng_new(0x6772616463686b, 0);
    tg_tensor *w = tg_randn(&rng, out->ndim, out->shape);
    int rc = w ? tg_backward(out, w) : -1;
    tg_release(out);
    tg_no_grad_enter();
    for (int k = 0; k < n && !rc; k++)
        if (tg_wants_grad(inputs[k])) rc = check_input(f, ctx, inputs, k, tg_data_f32(w), &o);
    tg_no_grad_exit();
    tg_release(w);
    return rc;
}

/* f's results are gradcheck's to release: no scope takes them. */
int tg_gradcheck(tg_gradcheck_fn f, void *ctx, int n, tg_tensor *const *inputs, const tg_gradcheck_opts *opts)
{
    if (tg_capture_pause()) return -1;
    int rc = gradcheck(f, ctx, n, inputs, opts);
    tg_capture_resume();
    return rc;
}
