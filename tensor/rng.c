/* Philox 4x32-10 (Salmon et al., SC'11): a counter-based generator. Block b
 * of a draw is philox(key = seed, counter = (counter + b, stream)); each
 * block gives four 32-bit words, so any element can be computed alone. */
#include "tensor/rng.h"

#include <math.h>

#include "tensor/internal/check.h"
#include "tensor/internal/exp_lane.h"
#include "tensor/internal/random.h"
#include "tensor/internal/view.h"

typedef struct {
    uint32_t v[4];
} block;

static uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

static block philox(uint64_t seed, uint64_t stream, uint64_t counter)
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
        uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return (block){{c0, c1, c2, c3}};
}

enum { BATCH = 16 }; /* blocks philox_batch computes side by side */

/* Blocks counter0 .. counter0 + BATCH - 1 of (seed, stream), word w of
 * block i into out[w][i]: philox's rounds over BATCH counters at once, so
 * the multiplies vectorise. The same words as philox, block by block. */
TG_WIDEST_VECTORS static void philox_batch(uint64_t seed, uint64_t stream, uint64_t counter0,
                                           uint32_t out[4][BATCH])
{
    uint32_t c0[BATCH], c1[BATCH], c2[BATCH], c3[BATCH];
    for (int i = 0; i < BATCH; i++) {
        uint64_t counter = counter0 + (uint64_t)i;
        c0[i] = (uint32_t)counter, c1[i] = (uint32_t)(counter >> 32);
        c2[i] = (uint32_t)stream, c3[i] = (uint32_t)(stream >> 32);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < BATCH; i++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0[i], p1 = (uint64_t)0xCD9E8D57u * c2[i];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[i] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3[i] ^ k1;
            c0[i] = n0, c1[i] = (uint32_t)p1, c2[i] = n2, c3[i] = (uint32_t)p0;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int i = 0; i < BATCH; i++) out[0][i] = c0[i], out[1][i] = c1[i], out[2][i] = c2[i], out[3][i] = c3[i];
}

tg_rng tg_rng_new(uint64_t seed, uint64_t stream) { return (tg_rng){seed, stream, 0}; }

static float unit_float(uint32_t x) { return (float)(x >> 8) * 0x1p-24f; } /* [0, 1) */

uint32_t tg_rng_u32(tg_rng *rng)
{
    if (TG_NEED("rng_u32", rng)) return 0;
    return philox(rng->seed, rng->stream, rng->counter++).v[0];
}

double tg_rng_uniform(tg_rng *rng)
{
    if (TG_NEED("rng_uniform", rng)) return NAN;
    block b = philox(rng->seed, rng->stream, rng->counter++);
    return (double)(((uint64_t)b.v[0] << 21) ^ (b.v[1] >> 11)) * 0x1p-53;
}

typedef enum { DRAW_UNIFORM, DRAW_NORMAL, DRAW_INT } draw_kind;

typedef struct {
    draw_kind kind;
    double a, b; /* low/high, mean/std, or low/range for ints */
} draw;

/* Blocks a draw of n elements consumes. */
static uint64_t blocks_for(draw_kind kind, int64_t n)
{
    return kind == DRAW_INT ? (uint64_t)(n + 1) / 2 : (uint64_t)(n + 3) / 4;
}

/* Lane `lane` of block b as draw d's value. */
static float value_f32(draw d, block b, int lane)
{
    if (d.kind == DRAW_UNIFORM) return (float)(d.a + (d.b - d.a) * unit_float(b.v[lane]));
    int pair = lane & 2;
    float u1 = ((float)(b.v[pair] >> 8) + 1.0f) * 0x1p-24f; /* (0, 1] */
    float u2 = unit_float(b.v[pair + 1]);
    float r = sqrtf(-2.0f * logf(u1)), th = 6.2831853071795864f * u2;
    return (float)(d.a + d.b * (lane & 1 ? r * sinf(th) : r * cosf(th)));
}

/* Element i from lane i % 4 of block i / 4, each block computed once. */
static void fill_f32(const tg_rng *rng, draw d, float *out, int64_t n)
{
    int64_t blocks = (n + 3) / 4;
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t k = 0; k < blocks; k++) {
        block b = philox(rng->seed, rng->stream, rng->counter + (uint64_t)k);
        for (int lane = 0; lane < 4 && 4 * k + lane < n; lane++) out[4 * k + lane] = value_f32(d, b, lane);
    }
}

static void fill_i64(const tg_rng *rng, draw d, int64_t *out, int64_t n)
{
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        block b = philox(rng->seed, rng->stream, rng->counter + (uint64_t)i / 2);
        int lane = (int)(i % 2) * 2;
        uint64_t x = ((uint64_t)b.v[lane] << 32) | b.v[lane + 1];
        out[i] = (int64_t)d.a + (int64_t)(x % (uint64_t)d.b);
    }
}

/* Fills t (any strides) with draw d and advances rng. */
static int fill(tg_tensor *t, tg_rng *rng, draw d, const char *op)
{
    if (TG_NEED(op, t, rng)) return -1;
    tg_dtype want = d.kind == DRAW_INT ? TG_INT64 : TG_FLOAT32;
    if (t->dtype != want) return TG_FAIL("%s: tensor is %s, expected %s", op, tg_dtype_name(t->dtype), tg_dtype_name(want));
    tg_tensor *buf = tg_is_contiguous(t) ? tg_retain(t) : tg_empty(t->ndim, t->shape, t->dtype);
    if (!buf) return -1;
    int64_t n = tg_numel(t);
    if (d.kind == DRAW_INT) fill_i64(rng, d, tg_data_i64(buf), n);
    else fill_f32(rng, d, tg_data_f32(buf), n);
    rng->counter += blocks_for(d.kind, n);
    int rc = buf == t ? 0 : tg_k_copy_(t, buf);
    if (buf == t) tg_bump_version(t);
    tg_release(buf);
    return rc;
}

static tg_tensor *fresh(tg_rng *rng, draw d, int ndim, const int64_t *shape, const char *op)
{
    tg_tensor *t = tg_empty(ndim, shape, d.kind == DRAW_INT ? TG_INT64 : TG_FLOAT32);
    if (t && fill(t, rng, d, op)) {
        tg_release(t);
        return NULL;
    }
    return t;
}

void tg_rng_uniform_run(const tg_rng *rng, uint64_t first, int64_t n, float *out)
{
    uint64_t start = first / 4; /* the first block */
    for (int64_t j = 0; j < n; start += BATCH) {
        uint32_t words[4][BATCH];
        philox_batch(rng->seed, rng->stream, rng->counter + start, words);
        for (uint64_t e = start == first / 4 ? first % 4 : 0; e < 4 * BATCH && j < n; e++)
            out[j++] = unit_float(words[e % 4][e / 4]);
    }
}

void tg_rng_skip(tg_rng *rng, uint64_t n) { rng->counter += blocks_for(DRAW_UNIFORM, (int64_t)n); }

tg_tensor *tg_k_dropout_mask(tg_rng *rng, int ndim, const int64_t *shape, float p, float scale)
{
    if (TG_NEED("dropout", rng)) return NULL;
    tg_tensor *t = tg_empty(ndim, shape, TG_FLOAT32);
    if (!t) return NULL;
    float *out = tg_data_f32(t);
    int64_t n = tg_numel(t), batches = (n + 4 * BATCH - 1) / (4 * BATCH);
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t k = 0; k < batches; k++) {
        uint32_t words[4][BATCH];
        philox_batch(rng->seed, rng->stream, rng->counter + (uint64_t)(k * BATCH), words);
        for (int64_t e = 0; e < 4 * BATCH && 4 * BATCH * k + e < n; e++)
            out[4 * BATCH * k + e] = unit_float(words[e % 4][e / 4]) >= p ? scale : 0.0f;
    }
    rng->counter += blocks_for(DRAW_UNIFORM, n);
    return t;
}

tg_tensor *tg_rand(tg_rng *rng, int ndim, const int64_t *shape)
{
    return fresh(rng, (draw){DRAW_UNIFORM, 0, 1}, ndim, shape, "rand");
}

tg_tensor *tg_randn(tg_rng *rng, int ndim, const int64_t *shape)
{
    return fresh(rng, (draw){DRAW_NORMAL, 0, 1}, ndim, shape, "randn");
}

tg_tensor *tg_randint(tg_rng *rng, int64_t low, int64_t high, int ndim, const int64_t *shape)
{
    if (high <= low) {
        TG_FAIL("randint: empty range [%lld, %lld)", (long long)low, (long long)high);
        return NULL;
    }
    return fresh(rng, (draw){DRAW_INT, (double)low, (double)(high - low)}, ndim, shape, "randint");
}

int tg_k_uniform_(tg_tensor *t, tg_rng *rng, double low, double high)
{
    return fill(t, rng, (draw){DRAW_UNIFORM, low, high}, "uniform_");
}

int tg_k_normal_(tg_tensor *t, tg_rng *rng, double mean, double std)
{
    return fill(t, rng, (draw){DRAW_NORMAL, mean, std}, "normal_");
}
