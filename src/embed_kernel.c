/*
 * embed_kernel.c — the embed room's shared machinery (embed_internal.h):
 * the blocked dot-product kernel behind PCA's covariance and every
 * exact distance computation, the walk over all pairwise distances, and
 * k-smallest selection.
 *
 * The kernel computes a 6 x 16 tile of dot products at a time, each output
 * a sum over the common length, with twelve 8-float vector accumulators
 * held in registers: per step it loads two vectors of B (16 rows, packed
 * k-major so that the 16 values of one k are adjacent) and broadcasts six
 * values of A (packed the same way), 12 multiply-adds for 8 loads.  It is
 * written in the GCC/Clang vector extension, which both compilers lower to
 * the target's vector unit (SSE2 in the default portable build, AVX2 or
 * AVX-512 with make NATIVE=1; dl_embed_vector_unit says which), and
 * asks GCC to fuse a·b + c into one instruction where the CPU has one (ISO
 * C mode otherwise forbids it; clang fuses by default).  The summation
 * order of every output depends only on the shapes, never on threads.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include "embed_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double embed_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *dl_embed_vector_unit(void)
{
#if defined(__AVX512F__)
    return "AVX-512 (16 floats per vector)";
#elif defined(__AVX__) && defined(__FMA__)
    return "AVX2 + FMA (8 floats per vector)";
#elif defined(__AVX__)
    return "AVX (8 floats per vector)";
#elif defined(__x86_64__)
    return "SSE2 (4 floats per vector)";
#else
    return "the target's baseline vector unit (4 floats per vector)";
#endif
}

dl_status embed_check_shape(const char *what, const float *X, size_t n, int d, size_t min_n, dl_err *e)
{
    if (!X) return dl_err_set(e, DL_EINVAL, "%s: no data", what);
    if (n < min_n) return dl_err_set(e, DL_EINVAL, "%s: needs at least %zu points (have %zu)", what, min_n, n);
    if (n > DL_EMBED_MAX_POINTS)
        return dl_err_set(e, DL_ELIMIT, "%s: %zu points is more than the %u supported", what, n, DL_EMBED_MAX_POINTS);
    if (d < 1 || d > DL_EMBED_MAX_DIM)
        return dl_err_set(e, DL_EINVAL, "%s: dimension %d is outside 1..%d", what, d, DL_EMBED_MAX_DIM);
    for (size_t i = 0; i < n * (size_t)d; i++)
        if (!isfinite(X[i]))
            return dl_err_set(e, DL_EINVAL, "%s: point %zu has a non-finite coordinate (%d)", what, i / (size_t)d,
                              (int)(i % (size_t)d));
    return DL_OK;
}

/* ---- the kernel ---------------------------------------------------------- */

typedef float vf8 __attribute__((vector_size(32)));
/* An unaligned, aliasing view for loads of 8 floats (the reductions). */
typedef float vf8u __attribute__((vector_size(32), aligned(4), may_alias));
#define LD(p) (*(const vf8u *)(const void *)(p))

float *embed_pack_rows(const float *B, size_t rb, size_t ldb, size_t len)
{
    size_t np = (rb + EMBED_NR - 1) / EMBED_NR;
    if (len && np > SIZE_MAX / sizeof(float) / EMBED_NR / len) return NULL;
    float *p = malloc(np * EMBED_NR * len * sizeof(float) + sizeof(float));
    if (!p) return NULL;
    for (size_t q = 0; q < np; q++) {
        float *dst = p + q * EMBED_NR * len;
        for (int r = 0; r < EMBED_NR; r++) {
            size_t row = q * EMBED_NR + (size_t)r;
            if (row < rb) {
                const float *src = B + row * ldb;
                for (size_t k = 0; k < len; k++) dst[k * EMBED_NR + (size_t)r] = src[k];
            } else {
                for (size_t k = 0; k < len; k++) dst[k * EMBED_NR + (size_t)r] = 0.0f;
            }
        }
    }
    return p;
}

/* Eight running sums (one per lane) and a fixed final order: the result
 * depends only on the data, and the loop runs at the vector unit's rate
 * instead of one add's latency per element. */
float embed_dist2(const float *a, const float *b, size_t len)
{
    vf8 s0 = {0}, s1 = {0};
    size_t k = 0;
    for (; k + 16 <= len; k += 16) {
        vf8 t0 = LD(a + k) - LD(b + k), t1 = LD(a + k + 8) - LD(b + k + 8);
        s0 += t0 * t0;
        s1 += t1 * t1;
    }
    s0 += s1;
    float s = 0.0f;
    for (int l = 0; l < 8; l++) s += s0[l];
    for (; k < len; k++) {
        float t = a[k] - b[k];
        s += t * t;
    }
    return s;
}

float embed_dot(const float *a, const float *b, size_t len)
{
    vf8 s0 = {0}, s1 = {0};
    size_t k = 0;
    for (; k + 16 <= len; k += 16) {
        s0 += LD(a + k) * LD(b + k);
        s1 += LD(a + k + 8) * LD(b + k + 8);
    }
    s0 += s1;
    float s = 0.0f;
    for (int l = 0; l < 8; l++) s += s0[l];
    for (; k < len; k++) s += a[k] * b[k];
    return s;
}

/* The tile's vector: EMBED_VW floats (embed_internal.h). */
typedef float vfk __attribute__((vector_size(4 * EMBED_VW)));
typedef float vfku __attribute__((vector_size(4 * EMBED_VW), aligned(4), may_alias));
#define LDK(p) (*(const vfku *)(const void *)(p))
#define STK(p, v) (*(vfku *)(void *)(p) = (v))

/* c [6][NR] (+)= A [kl][6] by B [kl][NR], both packed k-major; acc: add
 * to what c holds instead of overwriting it. */
static void tile(const float *a, const float *b, size_t kl, float *c, int acc)
{
    vfk c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
    vfk c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
    if (acc) {
        c00 = LDK(c + 0 * EMBED_NR), c01 = LDK(c + 0 * EMBED_NR + EMBED_VW);
        c10 = LDK(c + 1 * EMBED_NR), c11 = LDK(c + 1 * EMBED_NR + EMBED_VW);
        c20 = LDK(c + 2 * EMBED_NR), c21 = LDK(c + 2 * EMBED_NR + EMBED_VW);
        c30 = LDK(c + 3 * EMBED_NR), c31 = LDK(c + 3 * EMBED_NR + EMBED_VW);
        c40 = LDK(c + 4 * EMBED_NR), c41 = LDK(c + 4 * EMBED_NR + EMBED_VW);
        c50 = LDK(c + 5 * EMBED_NR), c51 = LDK(c + 5 * EMBED_NR + EMBED_VW);
    }
    for (size_t k = 0; k < kl; k++, a += EMBED_MR, b += EMBED_NR) {
        vfk b0 = LDK(b), b1 = LDK(b + EMBED_VW);
        float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5];
        c00 += a0 * b0; c01 += a0 * b1;
        c10 += a1 * b0; c11 += a1 * b1;
        c20 += a2 * b0; c21 += a2 * b1;
        c30 += a3 * b0; c31 += a3 * b1;
        c40 += a4 * b0; c41 += a4 * b1;
        c50 += a5 * b0; c51 += a5 * b1;
    }
    STK(c + 0 * EMBED_NR, c00); STK(c + 0 * EMBED_NR + EMBED_VW, c01);
    STK(c + 1 * EMBED_NR, c10); STK(c + 1 * EMBED_NR + EMBED_VW, c11);
    STK(c + 2 * EMBED_NR, c20); STK(c + 2 * EMBED_NR + EMBED_VW, c21);
    STK(c + 3 * EMBED_NR, c30); STK(c + 3 * EMBED_NR + EMBED_VW, c31);
    STK(c + 4 * EMBED_NR, c40); STK(c + 4 * EMBED_NR + EMBED_VW, c41);
    STK(c + 5 * EMBED_NR, c50); STK(c + 5 * EMBED_NR + EMBED_VW, c51);
}

/* Rows [i0, i0 + m) of A (m <= EMBED_ABLOCK), columns [k0, k0 + kl),
 * packed into groups of 6 rows, k-major, rows past m zero. */
static void pack_a(const float *A, size_t i0, size_t m, size_t lda, size_t k0, size_t kl, float *dst)
{
    size_t ng = (m + EMBED_MR - 1) / EMBED_MR;
    for (size_t g = 0; g < ng; g++, dst += EMBED_MR * kl)
        for (int r = 0; r < EMBED_MR; r++) {
            size_t row = g * EMBED_MR + (size_t)r;
            const float *src = A + (i0 + row) * lda + k0;
            if (row < m)
                for (size_t k = 0; k < kl; k++) dst[k * EMBED_MR + (size_t)r] = src[k];
            else
                for (size_t k = 0; k < kl; k++) dst[k * EMBED_MR + (size_t)r] = 0.0f;
        }
}

void embed_gram(const float *A, size_t ra, size_t lda, const float *Bp, size_t rb, size_t len,
                size_t j0, size_t j1, float *out, size_t ldo, float *scratch, const float *na, const float *nb)
{
    if (j1 > rb) j1 = rb;
    size_t np = (j1 - j0 + EMBED_NR - 1) / EMBED_NR;
    /* Partial sums of whole tiles live in a tile-shaped buffer after the
     * packed A: [groups][panels][6][NR], so that no tile needs clipping
     * until the end.  Panels are processed a stripe at a time to bound it. */
    enum { STRIPE = 64 };
    float *acc = scratch + EMBED_ABLOCK * EMBED_KC;
    for (size_t i0 = 0; i0 < ra; i0 += EMBED_ABLOCK) {
        size_t m = ra - i0 < EMBED_ABLOCK ? ra - i0 : EMBED_ABLOCK, mg = (m + EMBED_MR - 1) / EMBED_MR;
        for (size_t p0 = 0; p0 < np; p0 += STRIPE) {
            size_t p1 = p0 + STRIPE < np ? p0 + STRIPE : np;
            for (size_t k0 = 0; k0 < len; k0 += EMBED_KC) {
                size_t kl = len - k0 < EMBED_KC ? len - k0 : EMBED_KC;
                pack_a(A, i0, m, lda, k0, kl, scratch);
                /* Panel outermost: each slice of B is read once per block
                 * of A and reused by all its groups, which stay in cache. */
                for (size_t p = p0; p < p1; p++) {
                    const float *b = Bp + (j0 / EMBED_NR + p) * EMBED_NR * len + k0 * EMBED_NR;
                    for (size_t g = 0; g < mg; g++)
                        tile(scratch + g * EMBED_MR * kl, b, kl,
                             acc + ((g * STRIPE) + (p - p0)) * EMBED_MR * EMBED_NR, k0 > 0);
                }
            }
            for (size_t p = p0; p < p1; p++) {
                size_t jp = j0 + p * EMBED_NR, nc = j1 - jp < EMBED_NR ? j1 - jp : EMBED_NR;
                for (size_t g = 0; g < mg; g++) {
                    const float *c = acc + ((g * STRIPE) + (p - p0)) * EMBED_MR * EMBED_NR;
                    size_t nr = m - g * EMBED_MR < EMBED_MR ? m - g * EMBED_MR : EMBED_MR;
                    for (size_t r = 0; r < nr; r++) {
                        float *restrict o = out + (i0 + g * EMBED_MR + r) * ldo + jp;
                        const float *restrict cr = c + r * EMBED_NR;
                        if (!na) {
                            memcpy(o, cr, nc * sizeof(float));
                            continue;
                        }
                        /* Squared distances while the tile is in cache. */
                        float ni = na[i0 + g * EMBED_MR + r];
                        for (size_t q = 0; q < nc; q++) {
                            float v = ni + nb[jp + q] - 2.0f * cr[q];
                            o[q] = v > 0.0f ? v : 0.0f;
                        }
                    }
                }
            }
        }
    }
}

/* ---- all pairwise distances, a block of rows at a time ---------------------- */

typedef struct rows_job {
    const float *X;
    size_t n;
    int d;
    const float *Bp;
    const float *norm2;     /* [n] |x_i|² */
    float **scratch, **D;   /* per thread */
    embed_rows_fn visit;
    void *ctx;
    size_t block;
    _Atomic size_t next;
} rows_job;

static void rows_task(void *p, int tid, int nthreads)
{
    (void)nthreads;
    rows_job *J = p;
    size_t n = J->n;
    for (;;) {
        size_t row0 = J->next++ * J->block;
        if (row0 >= n) break;
        size_t m = n - row0 < J->block ? n - row0 : J->block;
        float *D = J->D[tid];
        embed_gram(J->X + row0 * (size_t)J->d, m, (size_t)J->d, J->Bp, n, (size_t)J->d, 0, n, D, n,
                   J->scratch[tid], J->norm2 + row0, J->norm2);
        J->visit(J->ctx, tid, row0, m, D);
    }
}

dl_status embed_distance_rows(const float *X, size_t n, int d, int threads, embed_rows_fn visit,
                              void *ctx, dl_err *e)
{
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    /* Rows per block: EMBED_ABLOCK, fewer when n is so large that a block's
     * distances would pass 32 MB per thread. */
    size_t block = ((size_t)32 << 20) / (n * sizeof(float)) / EMBED_MR * EMBED_MR;
    block = block < EMBED_MR ? EMBED_MR : block > EMBED_ABLOCK ? EMBED_ABLOCK : block;
    rows_job J = {.X = X, .n = n, .d = d, .visit = visit, .ctx = ctx, .block = block};
    J.next = 0;
    float *bufs[128] = {0};
    J.scratch = bufs;
    J.D = bufs + 64;
    float *norm2 = malloc(n * sizeof(float));
    float *Bp = embed_pack_rows(X, n, (size_t)d, (size_t)d);
    int ok = norm2 && Bp;
    for (int t = 0; t < threads && ok; t++) {
        J.scratch[t] = malloc(EMBED_SCRATCH * sizeof(float));
        J.D[t] = malloc(block * n * sizeof(float));
        ok = J.scratch[t] && J.D[t];
    }
    dl_status st = DL_OK;
    if (!ok) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory for the distances of %zu points in %d dimensions", n, d);
    } else {
        for (size_t i = 0; i < n; i++) norm2[i] = embed_dot(X + i * (size_t)d, X + i * (size_t)d, (size_t)d);
        J.Bp = Bp;
        J.norm2 = norm2;
        dl_parallel_run(threads, rows_task, &J);
    }
    for (int t = 0; t < 128; t++) free(bufs[t]);
    free(Bp);
    free(norm2);
    return st;
}

/* ---- k smallest ------------------------------------------------------------ */

/* (v, i) orders before (w, j) when it is smaller, or equal with a lower index. */
static int before(float v, uint32_t i, float w, uint32_t j) { return v < w || (v == w && i < j); }

/* Restores the max-heap (largest first) below position p. */
static void sift_down(float *val, uint32_t *idx, int k, int p)
{
    for (;;) {
        int c = 2 * p + 1;
        if (c >= k) return;
        if (c + 1 < k && before(val[c], idx[c], val[c + 1], idx[c + 1])) c++;
        if (!before(val[p], idx[p], val[c], idx[c])) return;
        float tv = val[p];
        uint32_t ti = idx[p];
        val[p] = val[c];
        idx[p] = idx[c];
        val[c] = tv;
        idx[c] = ti;
        p = c;
    }
}

void embed_select_k(const float *v, size_t n, size_t skip, int k, uint32_t *idx, float *val)
{
    int m = 0;
    size_t j = 0;
    /* Fill the heap with the first k candidates, then keep the k smallest:
     * a later candidate replaces the largest when it orders before it.
     * Indices only grow, so an equal value never displaces an earlier one. */
    for (; j < n && m < k; j++) {
        if (j == skip) continue;
        val[m] = v[j];
        idx[m] = (uint32_t)j;
        m++;
    }
    for (int p = m / 2 - 1; p >= 0; p--) sift_down(val, idx, m, p);
    /* Most candidates are beaten by the heap's top: test eight at a time
     * (a loop the compiler vectorises) and look closer only at a hit. */
    while (j < n) {
        size_t end = j + 8 <= n ? j + 8 : n;
        float top = val[0];
        int any = 0;
        if (end - j == 8)
            for (int l = 0; l < 8; l++) any |= v[j + (size_t)l] < top;
        else
            any = 1;
        if (!any) {
            j = end;
            continue;
        }
        for (; j < end; j++) {
            if (j == skip || !(v[j] < val[0])) continue;
            val[0] = v[j];
            idx[0] = (uint32_t)j;
            sift_down(val, idx, m, 0);
        }
    }
    /* Heap sort in place: the largest goes last. */
    for (int end = m - 1; end > 0; end--) {
        float tv = val[0];
        uint32_t ti = idx[0];
        val[0] = val[end];
        idx[0] = idx[end];
        val[end] = tv;
        idx[end] = ti;
        sift_down(val, idx, end, 0);
    }
}
