/* Matrix products through BLIS (see internal/linalg.h).
 *
 * Everything ends in one call, tg_k_sgemm, which hands BLIS the operands'
 * own strides. BLIS aborts the process on strides it does not accept, so
 * blas_strides() below rewrites every matrix into a form BLIS takes, and
 * anything it cannot rewrite is packed first: no input reaches BLIS's
 * checks unvetted. */
#include "tensor/internal/linalg.h"

#include <blis.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/internal/check.h"
#include "tensor/internal/view.h"
#include "tensor/threads.h"

/* ---- the raw GEMM ---- */

/* Rewrites the strides of an m x n matrix (m, n >= 1) into ones BLIS accepts
 * for the same elements, or returns false (leaving them unchanged) when
 * there are none. BLIS wants one unit stride, and the other at least the
 * extent of the dim it steps over (bli_check_matrix_strides). A size-1 dim's
 * stride addresses nothing, so it is free to choose. */
static bool blas_strides(int64_t m, int64_t n, int64_t *rs, int64_t *cs)
{
    if (m == 1 && n == 1) {
        *rs = *cs = 1;
        return true;
    }
    if (m == 1) { /* a row: only cs steps; stored "column-major", or row-major with rs = n */
        if (*cs < 1) return false;
        *rs = *cs == 1 ? n : 1;
        return true;
    }
    if (n == 1) { /* a column: only rs steps */
        if (*rs < 1) return false;
        *cs = *rs == 1 ? m : 1;
        return true;
    }
    return (*cs == 1 && *rs >= n) || (*rs == 1 && *cs >= m);
}

/* A row-major copy of an m x n strided matrix, in new memory (free()). */
static float *pack(int64_t m, int64_t n, const float *x, int64_t rs, int64_t cs)
{
    float *p = malloc((size_t)m * (size_t)n * sizeof *p);
    if (!p) {
        TG_FAIL("gemm: out of memory packing a %lldx%lld matrix", (long long)m, (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) p[i * n + j] = x[i * rs + j * cs];
    return p;
}

/* Below this many multiply-adds a product runs on one thread: a team costs
 * more than it saves (measured: 2 threads are slower up to 64x64x64,
 * faster from 128x128x128). */
#define SERIAL_GEMM_MACS (1 << 19)

/* Slices of a threaded product start at multiples of these: whole register
 * tiles of the skx (32x12) and haswell (6x16) kernels. */
#define ROW_ALIGN 96
#define COL_ALIGN 48

/* One single-threaded BLIS call. Its small-matrix ("sup") path is off, so
 * every slice of every split takes the same packed path: the bits of an
 * element do not depend on how the product was split. */
static void gemm_serial(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                        const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc)
{
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &rntm);
    bli_rntm_disable_l3_sup(&rntm);
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, rsa, csa, (float *)b, rsb, csb,
                 &beta, c, rsc, csc, NULL, &rntm);
}

/* Threads split C into slices of rows (or of columns when it is wider than
 * tall), each computed by a single-threaded BLIS call. BLIS's own threads
 * meet at several spin barriers per product: when another process holds a
 * core, each barrier waits out a scheduler slice, and products ran 5-10x
 * slower than on one thread (measured with other jobs on the machine);
 * slices meet once, at the end. On an idle machine the two are level. */
static void blis_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                       const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc)
{
    tg_blas_init();
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt == 1 || (double)m * (double)n * (double)k < SERIAL_GEMM_MACS) {
        gemm_serial(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
        return;
    }
    bool by_rows = m >= n;
    int64_t extent = by_rows ? m : n, align = by_rows ? ROW_ALIGN : COL_ALIGN;
    int64_t chunk = (extent / nt + align - 1) / align * align;
#pragma omp parallel num_threads(nt)
    {
        int64_t lo = chunk * omp_get_thread_num(), hi = lo + chunk < extent ? lo + chunk : extent;
        if (lo < hi && by_rows)
            gemm_serial(hi - lo, n, k, alpha, a + lo * rsa, rsa, csa, b, rsb, csb, beta, c + lo * rsc, rsc, csc);
        else if (lo < hi)
            gemm_serial(m, hi - lo, k, alpha, a, rsa, csa, b + lo * csb, rsb, csb, beta, c + lo * csc, rsc, csc);
    }
}

/* ---- the register-tile kernel ---- */

typedef struct {
    sgemm_ukr_ft ukr;
    cntx_t *cntx;
    bool swap; /* the kernel prefers row-major C: run it on the transpose */
    tg_k_tile_dims dims;
} tile_kernel;

static tile_kernel tile;
static pthread_once_t tile_once = PTHREAD_ONCE_INIT;

static void tile_init(void)
{
    tg_blas_init();
    tile.cntx = bli_gks_query_cntx();
    tile.ukr = (sgemm_ukr_ft)bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, tile.cntx);
    tile.swap = bli_cntx_l3_nat_ukr_prefers_rows_dt(BLIS_FLOAT, BLIS_GEMM_UKR, tile.cntx);
    int64_t mr = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, tile.cntx);
    int64_t nr = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, tile.cntx);
    tile.dims = (tg_k_tile_dims){.mr = tile.swap ? nr : mr,
                                 .nr = tile.swap ? mr : nr,
                                 .mc = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MC, tile.cntx),
                                 .kc = bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, tile.cntx)};
}

tg_k_tile_dims tg_k_tile_dims_get(void)
{
    pthread_once(&tile_once, tile_init);
    return tile.dims;
}

void tg_k_tile(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float beta, float *c, int64_t rs_c,
               int64_t cs_c)
{
    pthread_once(&tile_once, tile_init);
    float one = 1.0f;
    auxinfo_t aux;
    memset(&aux, 0, sizeof aux);
    bli_auxinfo_set_next_a((void *)a, &aux);
    bli_auxinfo_set_next_b((void *)b, &aux);
    if (tile.swap)
        tile.ukr(n, m, k, &one, (float *)b, (float *)a, &beta, c, cs_c, rs_c, &aux, tile.cntx);
    else
        tile.ukr(m, n, k, &one, (float *)a, (float *)b, &beta, c, rs_c, cs_c, &aux, tile.cntx);
}

/* Floats of n panels of k steps of w values, each panel whole 64-byte lines. */
static int64_t panels_floats(int64_t n, int64_t w, int64_t k) { return (n + w - 1) / w * ((k * w + 15) / 16 * 16); }

int64_t tg_k_small_gemm_floats(int64_t m, int64_t n, int64_t k)
{
    tg_k_tile_dims t = tg_k_tile_dims_get();
    return panels_floats(m, t.mr, k) + panels_floats(n, t.nr, k);
}

/* Panels of w rows of x (rows x k, strides rs and cs), each k steps of w
 * values (zeros past the last row), into out. */
static void pack_panels(const float *x, int64_t rows, int64_t k, int64_t rs, int64_t cs, int64_t w, float *out)
{
    int64_t panel = (k * w + 15) / 16 * 16;
    for (int64_t p = 0; p * w < rows; p++) {
        float *o = out + p * panel;
        int64_t n = rows - p * w < w ? rows - p * w : w;
        for (int64_t s = 0; s < k; s++) {
            for (int64_t i = 0; i < n; i++) o[s * w + i] = x[(p * w + i) * rs + s * cs];
            for (int64_t i = n; i < w; i++) o[s * w + i] = 0.0f;
        }
    }
}

void tg_k_small_gemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                     int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc, float *ws)
{
    tg_k_tile_dims t = tg_k_tile_dims_get();
    float *pb = ws + panels_floats(m, t.mr, k);
    int64_t a_panel = (k * t.mr + 15) / 16 * 16, b_panel = (k * t.nr + 15) / 16 * 16;
    pack_panels(a, m, k, rsa, csa, t.mr, ws);
    pack_panels(b, n, k, csb, rsb, t.nr, pb); /* B's columns as the rows of B^T */
    for (int64_t i = 0; i * t.mr < m; i++)
        for (int64_t j = 0; j * t.nr < n; j++)
            tg_k_tile(m - i * t.mr < t.mr ? m - i * t.mr : t.mr, n - j * t.nr < t.nr ? n - j * t.nr : t.nr, k,
                      ws + i * a_panel, pb + j * b_panel, beta, c + i * t.mr * rsc + j * t.nr * csc, rsc, csc);
}

int tg_k_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
               const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc)
{
    if (m < 0 || n < 0 || k < 0)
        return TG_FAIL("gemm: negative size (m=%lld, n=%lld, k=%lld)", (long long)m, (long long)n, (long long)k);
    if (m == 0 || n == 0) return 0;
    if (k == 0) { /* an empty sum: C = beta C, without reading C when beta is 0 */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                float *x = &c[i * rsc + j * csc];
                *x = beta == 0.0f ? 0.0f : beta * *x;
            }
        return 0;
    }
    float *pa = NULL, *pb = NULL, *pc = NULL;
    int rc = -1;
    if (!blas_strides(m, k, &rsa, &csa)) {
        if (!(pa = pack(m, k, a, rsa, csa))) goto done;
        a = pa;
        rsa = k;
        csa = 1;
        blas_strides(m, k, &rsa, &csa);
    }
    if (!blas_strides(k, n, &rsb, &csb)) {
        if (!(pb = pack(k, n, b, rsb, csb))) goto done;
        b = pb;
        rsb = n;
        csb = 1;
        blas_strides(k, n, &rsb, &csb);
    }
    int64_t rs = rsc, cs = csc;
    if (blas_strides(m, n, &rs, &cs)) {
        blis_sgemm(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rs, cs);
    } else { /* compute into a packed C, then scatter it back */
        pc = beta == 0.0f ? malloc((size_t)m * (size_t)n * sizeof *pc) : pack(m, n, c, rsc, csc);
        if (!pc) {
            TG_FAIL("gemm: out of memory for a %lldx%lld result", (long long)m, (long long)n);
            goto done;
        }
        rs = n;
        cs = 1;
        blas_strides(m, n, &rs, &cs);
        blis_sgemm(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, pc, rs, cs);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * rsc + j * csc] = pc[i * n + j];
    }
    rc = 0;
done:
    free(pa);
    free(pb);
    free(pc);
    return rc;
}

static float *data_of(const tg_tensor *t) { return (float *)t->storage->data + t->offset; }

int tg_k_gemm_into(tg_tensor *c, tg_tensor *a, tg_tensor *b, float alpha, float beta)
{
    if (TG_NEED("gemm_into", c, a, b)) return -1;
    char sa[TG_SHAPE_STR_LEN], sb[TG_SHAPE_STR_LEN], sc[TG_SHAPE_STR_LEN];
    tg_shape_str(a->ndim, a->shape, sa, sizeof sa);
    tg_shape_str(b->ndim, b->shape, sb, sizeof sb);
    tg_shape_str(c->ndim, c->shape, sc, sizeof sc);
    if (a->dtype != TG_FLOAT32 || b->dtype != TG_FLOAT32 || c->dtype != TG_FLOAT32)
        return TG_FAIL("gemm_into: %s @ %s into %s: float32 only", sa, sb, sc);
    if (a->ndim != 2 || b->ndim != 2 || c->ndim != 2)
        return TG_FAIL("gemm_into: %s @ %s into %s: needs 2-D matrices", sa, sb, sc);
    if (a->shape[1] != b->shape[0] || c->shape[0] != a->shape[0] || c->shape[1] != b->shape[1])
        return TG_FAIL("gemm_into: %s @ %s into %s: sizes do not match", sa, sb, sc);
    int rc = tg_k_sgemm(a->shape[0], b->shape[1], a->shape[1], alpha, data_of(a), a->stride[0], a->stride[1],
                        data_of(b), b->stride[0], b->stride[1], beta, data_of(c), c->stride[0], c->stride[1]);
    if (!rc) tg_bump_version(c);
    return rc;
}

/* ---- matmul and bmm over tensors ---- */

/* An operand as a stack of matrices: batch dims, then rows x cols. A 1-D
 * left operand is one row, a 1-D right operand one column. */
typedef struct {
    int nbatch;
    int64_t bshape[TG_MAX_DIMS], bstride[TG_MAX_DIMS];
    int64_t rows, cols, rs, cs;
} mat_layout;

static void layout_of(const tg_tensor *t, bool left, mat_layout *l)
{
    int nd = t->ndim;
    if (nd == 1) {
        l->nbatch = 0;
        l->rows = left ? 1 : t->shape[0];
        l->cols = left ? t->shape[0] : 1;
        l->rs = left ? 0 : t->stride[0]; /* a size-1 dim's stride: unused */
        l->cs = left ? t->stride[0] : 0;
        return;
    }
    l->nbatch = nd - 2;
    for (int i = 0; i < nd - 2; i++) {
        l->bshape[i] = t->shape[i];
        l->bstride[i] = t->stride[i];
    }
    l->rows = t->shape[nd - 2];
    l->cols = t->shape[nd - 1];
    l->rs = t->stride[nd - 2];
    l->cs = t->stride[nd - 1];
}

/* What a product needs to know: both layouts, the broadcast batch shape
 * and the result's shape. */
typedef struct {
    mat_layout a, b;
    int nbatch;
    int64_t bshape[TG_MAX_DIMS];
    int ndim;
    int64_t shape[TG_MAX_DIMS];
} product_plan;

/* Checks a @ b for op ("matmul", or "bmm" when strict) and plans it. */
static int plan_product(const char *op, bool strict, const tg_tensor *a, const tg_tensor *b, product_plan *p)
{
    if (TG_NEED(op, a, b)) return -1;
    char sa[TG_SHAPE_STR_LEN], sb[TG_SHAPE_STR_LEN];
    tg_shape_str(a->ndim, a->shape, sa, sizeof sa);
    tg_shape_str(b->ndim, b->shape, sb, sizeof sb);
    if (a->dtype != TG_FLOAT32 || b->dtype != TG_FLOAT32)
        return TG_FAIL("%s: %s @ %s: %s and %s operands; only float32 is supported", op, sa, sb,
                       tg_dtype_name(a->dtype), tg_dtype_name(b->dtype));
    if (strict && (a->ndim != 3 || b->ndim != 3))
        return TG_FAIL("%s: %s @ %s: needs two 3-D tensors (B,M,K) and (B,K,N)", op, sa, sb);
    if (a->ndim < 1 || b->ndim < 1)
        return TG_FAIL("%s: %s @ %s: both operands need at least 1 dim", op, sa, sb);
    layout_of(a, true, &p->a);
    layout_of(b, false, &p->b);
    if (p->a.cols != p->b.rows)
        return TG_FAIL("%s: %s @ %s: inner sizes %lld and %lld differ", op, sa, sb, (long long)p->a.cols,
                       (long long)p->b.rows);
    if (strict && a->shape[0] != b->shape[0])
        return TG_FAIL("%s: %s @ %s: batch sizes %lld and %lld differ", op, sa, sb, (long long)a->shape[0],
                       (long long)b->shape[0]);
    int nb = p->a.nbatch > p->b.nbatch ? p->a.nbatch : p->b.nbatch;
    for (int i = 0; i < nb; i++) {
        int ia = i - (nb - p->a.nbatch), ib = i - (nb - p->b.nbatch);
        int64_t na = ia >= 0 ? p->a.bshape[ia] : 1, nbs = ib >= 0 ? p->b.bshape[ib] : 1;
        if (na != nbs && na != 1 && nbs != 1)
            return TG_FAIL("%s: %s @ %s: batch dims cannot broadcast (size %lld against %lld)", op, sa, sb,
                           (long long)na, (long long)nbs);
        p->bshape[i] = na == 1 ? nbs : na;
    }
    p->nbatch = nb;
    p->ndim = 0;
    for (int i = 0; i < nb; i++) p->shape[p->ndim++] = p->bshape[i];
    if (a->ndim >= 2) p->shape[p->ndim++] = p->a.rows;
    if (b->ndim >= 2) p->shape[p->ndim++] = p->b.cols;
    return 0;
}

int tg_k_matmul_shape(const tg_tensor *a, const tg_tensor *b, int *ndim, int64_t *shape)
{
    product_plan p = {0};
    if (plan_product("matmul", false, a, b, &p)) return -1;
    *ndim = p.ndim;
    memcpy(shape, p.shape, (size_t)p.ndim * sizeof *shape);
    return 0;
}

/* t, or a contiguous copy of it when BLIS cannot take its matrices as they
 * are (no unit stride, or expanded rows or columns). Batch dims expanded
 * with stride 0 stay expanded over one copied matrix. */
static tg_tensor *blas_ready(tg_tensor *t, bool left, mat_layout *l)
{
    int64_t rs = l->rs, cs = l->cs;
    if (blas_strides(l->rows, l->cols, &rs, &cs)) return tg_retain(t);
    tg_tensor *v = tg_retain(t);
    for (int d = 0; d < l->nbatch && v; d++) {
        if (t->stride[d] != 0 || t->shape[d] == 1) continue;
        tg_tensor *one = tg_k_narrow(v, d, 0, 1);
        tg_release(v);
        v = one;
    }
    tg_tensor *c = tg_k_clone(v);
    tg_release(v);
    if (c && !tg_same_shape(c, t)) {
        tg_tensor *e = tg_k_expand(c, t->ndim, t->shape);
        tg_release(c);
        c = e;
    }
    if (c) layout_of(c, left, l);
    return c;
}

/* Whether the batch dims (shape, stride) and the rows (m, rs) of an operand
 * walk one strided dim; if so, its stride into *merged. */
static bool coalesce(int nb, const int64_t *shape, const int64_t *stride, int64_t m, int64_t rs, int64_t *merged)
{
    int64_t size[TG_MAX_DIMS + 1], step[TG_MAX_DIMS + 1];
    int n = 0;
    for (int i = 0; i <= nb; i++) {
        int64_t s = i < nb ? shape[i] : m, st = i < nb ? stride[i] : rs;
        if (s == 1) continue;
        size[n] = s;
        step[n++] = st;
    }
    for (int i = 0; i + 1 < n; i++)
        if (step[i] != size[i + 1] * step[i + 1]) return false;
    *merged = n ? step[n - 1] : rs;
    return true;
}

/* out (contiguous, the plan's shape) = a @ b, operands ready for BLIS. */
static int run_product(tg_tensor *out, const tg_tensor *a, const tg_tensor *b, const product_plan *p)
{
    const mat_layout *la = &p->a, *lb = &p->b;
    int64_t m = la->rows, n = lb->cols, k = la->cols, nb = p->nbatch;
    float *A = data_of(a), *B = data_of(b), *C = data_of(out);
    /* batch strides over the broadcast batch shape; 0 where broadcast */
    int64_t sa[TG_MAX_DIMS], sb[TG_MAX_DIMS], batch = 1;
    bool b_shared = true;
    for (int i = 0; i < nb; i++) {
        int ia = i - (int)(nb - la->nbatch), ib = i - (int)(nb - lb->nbatch);
        sa[i] = ia >= 0 && la->bshape[ia] != 1 ? la->bstride[ia] : 0;
        sb[i] = ib >= 0 && lb->bshape[ib] != 1 ? lb->bstride[ib] : 0;
        if (sb[i] != 0) b_shared = false;
        batch *= p->bshape[i];
    }
    /* One b for the whole batch, and a's batch and rows one strided dim:
     * (B,M,K) @ (K,N) is a single (B*M,K) @ (K,N). */
    int64_t rs;
    if (b_shared && coalesce((int)nb, p->bshape, sa, m, la->rs, &rs))
        return tg_k_sgemm(batch * m, n, k, 1.0f, A, rs, la->cs, B, lb->rs, lb->cs, 0.0f, C, n, 1);
    int64_t idx[TG_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < batch; i++) {
        if (tg_k_sgemm(m, n, k, 1.0f, A + oa, la->rs, la->cs, B + ob, lb->rs, lb->cs, 0.0f, C + i * m * n, n, 1))
            return -1;
        for (int d = (int)nb - 1; d >= 0; d--) { /* next batch index */
            oa += sa[d];
            ob += sb[d];
            if (++idx[d] < p->bshape[d]) break;
            oa -= sa[d] * p->bshape[d];
            ob -= sb[d] * p->bshape[d];
            idx[d] = 0;
        }
    }
    return 0;
}

static tg_tensor *product(const char *op, bool strict, tg_tensor *a, tg_tensor *b)
{
    product_plan p = {0};
    if (plan_product(op, strict, a, b, &p)) return NULL;
    tg_tensor *out = tg_empty(p.ndim, p.shape, TG_FLOAT32);
    if (!out || tg_numel(out) == 0) return out;
    if (p.a.cols == 0) { /* empty inner dim: zeros */
        memset(data_of(out), 0, (size_t)tg_numel(out) * sizeof(float));
        return out;
    }
    /* Copies BLIS needs are made once here, not once per batch entry. */
    tg_tensor *ra = blas_ready(a, true, &p.a);
    tg_tensor *rb = ra ? blas_ready(b, false, &p.b) : NULL;
    int rc = rb ? run_product(out, ra, rb, &p) : -1;
    tg_release(ra);
    tg_release(rb);
    if (rc) {
        tg_release(out);
        return NULL;
    }
    return out;
}

tg_tensor *tg_k_matmul(tg_tensor *a, tg_tensor *b) { return product("matmul", false, a, b); }

tg_tensor *tg_k_bmm(tg_tensor *a, tg_tensor *b) { return product("bmm", true, a, b); }
