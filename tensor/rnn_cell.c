/* The fused cell steps of LSTM and GRU: the gate nonlinearities and the
 * state update in one pass over (N, gates x H), and their gradients in
 * one more, from the pre-activations (nothing else is stored). PyTorch's
 * gate orders: LSTM i, f, g, o; GRU r, z, n. */
#include "tensor/internal/rnn_cell.h"

#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/iter.h"
#include "tensor/internal/view.h"

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static float *data(tg_tensor *t) { return (float *)t->storage->data + t->offset; }

/* Fails unless t is float32 (n, k h), h > 0. */
static int check_rows(const char *op, const char *what, const tg_tensor *t, int64_t n, int64_t width)
{
    if (t->dtype == TG_FLOAT32 && t->ndim == 2 && t->shape[0] == n && t->shape[1] == width) return 0;
    char b[TG_SHAPE_STR_LEN];
    tg_shape_str(t->ndim, t->shape, b, sizeof b);
    return TG_FAIL("%s: %s is %s %s; float32 (%lld, %lld) expected", op, what, tg_dtype_name(t->dtype), b,
                   (long long)n, (long long)width);
}

/* Contiguous forms of the n operands (retained or copied); -1 on failure. */
static int contiguous_all(int n, tg_tensor *const *in, tg_tensor **out)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        out[i] = in[i] ? tg_k_contiguous(in[i]) : NULL;
        if (in[i] && !out[i]) rc = -1;
    }
    return rc;
}

static void release_all(int n, tg_tensor **t)
{
    for (int i = 0; i < n; i++) tg_release(t[i]);
}

/* ---- LSTM ---- */

/* The gates of one element: i, f, g, o and c' from pre-activations p
 * (row of 4H, column j) and c. */
typedef struct {
    float i, f, g, o, c;
} lstm_gates;

static lstm_gates lstm_at(const float *p, int64_t h, int64_t j, float c)
{
    lstm_gates s = {sigmoid(p[j]), sigmoid(p[h + j]), tanhf(p[2 * h + j]), sigmoid(p[3 * h + j]), 0};
    s.c = s.f * c + s.i * s.g;
    return s;
}

static int check_lstm(const char *op, const tg_tensor *gates, const tg_tensor *c)
{
    if (c->dtype != TG_FLOAT32 || c->ndim != 2) return TG_FAIL("%s: c must be float32 (N, H)", op);
    return check_rows(op, "gates", gates, c->shape[0], 4 * c->shape[1]);
}

tg_tensor *tg_k_lstm_cell(tg_tensor *gates, tg_tensor *c)
{
    if (TG_NEED("lstm_cell", gates, c) || check_lstm("lstm_cell", gates, c)) return NULL;
    int64_t n = c->shape[0], h = c->shape[1];
    tg_tensor *in[2], *out = tg_empty(TG_SHAPE(n, 2 * h), TG_FLOAT32);
    if (contiguous_all(2, (tg_tensor *[]){gates, c}, in) || !out) {
        release_all(2, in);
        tg_release(out);
        return NULL;
    }
    const float *p = data(in[0]), *cv = data(in[1]);
    float *o = data(out);
#pragma omp parallel for if (n * h >= TG_PARALLEL_GRAIN / 8) schedule(static)
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < h; j++) {
            lstm_gates s = lstm_at(p + r * 4 * h, h, j, cv[r * h + j]);
            o[r * 2 * h + j] = s.o * tanhf(s.c);
            o[r * 2 * h + h + j] = s.c;
        }
    release_all(2, in);
    return out;
}

/* One element's gradients: into the gates' row dp (4H) and dc_prev. */
static void lstm_backward_at(const float *p, int64_t h, int64_t j, float c, float dh, float dc, float *dp,
                             float *dc_prev)
{
    lstm_gates s = lstm_at(p, h, j, c);
    float tc = tanhf(s.c), total = dc + dh * s.o * (1.0f - tc * tc);
    dp[j] = total * s.g * s.i * (1.0f - s.i);
    dp[h + j] = total * c * s.f * (1.0f - s.f);
    dp[2 * h + j] = total * s.i * (1.0f - s.g * s.g);
    dp[3 * h + j] = dh * tc * s.o * (1.0f - s.o);
    *dc_prev = total * s.f;
}

int tg_k_lstm_cell_backward(tg_tensor *g, tg_tensor *gates, tg_tensor *c, tg_tensor **dgates, tg_tensor **dc)
{
    *dgates = *dc = NULL;
    if (TG_NEED("lstm_cell_backward", g, gates, c) || check_lstm("lstm_cell_backward", gates, c)) return -1;
    int64_t n = c->shape[0], h = c->shape[1];
    if (check_rows("lstm_cell_backward", "the gradient", g, n, 2 * h)) return -1;
    tg_tensor *in[3];
    *dgates = tg_empty(TG_SHAPE(n, 4 * h), TG_FLOAT32);
    *dc = tg_empty(TG_SHAPE(n, h), TG_FLOAT32);
    int rc = contiguous_all(3, (tg_tensor *[]){g, gates, c}, in) || !*dgates || !*dc ? -1 : 0;
    if (!rc) {
        const float *gv = data(in[0]), *p = data(in[1]), *cv = data(in[2]);
        float *dp = data(*dgates), *dcv = data(*dc);
#pragma omp parallel for if (n * h >= TG_PARALLEL_GRAIN / 8) schedule(static)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < h; j++)
                lstm_backward_at(p + r * 4 * h, h, j, cv[r * h + j], gv[r * 2 * h + j], gv[r * 2 * h + h + j],
                                 dp + r * 4 * h, dcv + r * h + j);
    }
    release_all(3, in);
    if (rc) {
        tg_release(*dgates), tg_release(*dc);
        *dgates = *dc = NULL;
    }
    return rc;
}

/* ---- GRU ---- */

typedef struct {
    float r, z, n;
} gru_gates;

static gru_gates gru_at(const float *x, const float *hg, int64_t h, int64_t j)
{
    gru_gates s = {sigmoid(x[j] + hg[j]), sigmoid(x[h + j] + hg[h + j]), 0};
    s.n = tanhf(x[2 * h + j] + s.r * hg[2 * h + j]);
    return s;
}

static int check_gru(const char *op, const tg_tensor *xg, const tg_tensor *hg, const tg_tensor *h)
{
    if (h->dtype != TG_FLOAT32 || h->ndim != 2) return TG_FAIL("%s: h must be float32 (N, H)", op);
    if (check_rows(op, "the input gates", xg, h->shape[0], 3 * h->shape[1])) return -1;
    return check_rows(op, "the hidden gates", hg, h->shape[0], 3 * h->shape[1]);
}

tg_tensor *tg_k_gru_cell(tg_tensor *xg, tg_tensor *hg, tg_tensor *h)
{
    if (TG_NEED("gru_cell", xg, hg, h) || check_gru("gru_cell", xg, hg, h)) return NULL;
    int64_t n = h->shape[0], w = h->shape[1];
    tg_tensor *in[3], *out = tg_empty(TG_SHAPE(n, w), TG_FLOAT32);
    if (contiguous_all(3, (tg_tensor *[]){xg, hg, h}, in) || !out) {
        release_all(3, in);
        tg_release(out);
        return NULL;
    }
    const float *x = data(in[0]), *hgv = data(in[1]), *hv = data(in[2]);
    float *o = data(out);
#pragma omp parallel for if (n * w >= TG_PARALLEL_GRAIN / 8) schedule(static)
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < w; j++) {
            gru_gates s = gru_at(x + r * 3 * w, hgv + r * 3 * w, w, j);
            o[r * w + j] = (1.0f - s.z) * s.n + s.z * hv[r * w + j];
        }
    release_all(3, in);
    return out;
}

/* One element's gradients into the rows dx and dhg (3H) and dh. */
static void gru_backward_at(const float *x, const float *hg, int64_t w, int64_t j, float h, float g, float *dx,
                            float *dhg, float *dh)
{
    gru_gates s = gru_at(x, hg, w, j);
    float dn = g * (1.0f - s.z) * (1.0f - s.n * s.n);
    float dz = g * (h - s.n) * s.z * (1.0f - s.z);
    float dr = dn * hg[2 * w + j] * s.r * (1.0f - s.r);
    dx[j] = dhg[j] = dr;
    dx[w + j] = dhg[w + j] = dz;
    dx[2 * w + j] = dn;
    dhg[2 * w + j] = dn * s.r;
    *dh = g * s.z;
}

int tg_k_gru_cell_backward(tg_tensor *g, tg_tensor *xg, tg_tensor *hg, tg_tensor *h, tg_tensor **grads)
{
    grads[0] = grads[1] = grads[2] = NULL;
    if (TG_NEED("gru_cell_backward", g, xg, hg, h) || check_gru("gru_cell_backward", xg, hg, h)) return -1;
    int64_t n = h->shape[0], w = h->shape[1];
    if (check_rows("gru_cell_backward", "the gradient", g, n, w)) return -1;
    tg_tensor *in[4];
    grads[0] = tg_empty(TG_SHAPE(n, 3 * w), TG_FLOAT32);
    grads[1] = tg_empty(TG_SHAPE(n, 3 * w), TG_FLOAT32);
    grads[2] = tg_empty(TG_SHAPE(n, w), TG_FLOAT32);
    int rc = contiguous_all(4, (tg_tensor *[]){g, xg, hg, h}, in) || !grads[0] || !grads[1] || !grads[2] ? -1 : 0;
    if (!rc) {
        const float *gv = data(in[0]), *x = data(in[1]), *hgv = data(in[2]), *hv = data(in[3]);
        float *dx = data(grads[0]), *dhg = data(grads[1]), *dh = data(grads[2]);
#pragma omp parallel for if (n * w >= TG_PARALLEL_GRAIN / 8) schedule(static)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < w; j++)
                gru_backward_at(x + r * 3 * w, hgv + r * 3 * w, w, j, hv[r * w + j], gv[r * w + j], dx + r * 3 * w,
                                dhg + r * 3 * w, dh + r * w + j);
    }
    release_all(4, in);
    if (rc) {
        release_all(3, grads);
        grads[0] = grads[1] = grads[2] = NULL;
    }
    return rc;
}
