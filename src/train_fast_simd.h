/*
 * train_fast_simd.h — the 8-lane float vector the fast kernels are written
 * in (private to train_fast*.c and the evaluation in train.c).
 *
 * One algorithm, two spellings of its primitive operations: AVX2 + FMA
 * intrinsics when the compiler targets them (the default -march=native
 * build on x86-64), else the GCC/Clang vector extension (PORTABLE=1, other
 * CPUs), which the compiler lowers to the target's own vector unit.  Lane width is 8 in both, so every buffer layout, padding
 * rule and thread split is the same whichever spelling is compiled; only
 * the rounding of fused multiply-adds and of the exponential differs.
 *
 * The vector exponential (AVX2 spelling) is the Cephes single-precision
 * polynomial: within 2 ulp of expf over the clamped range, which keeps the
 * sigmoid within about 3e-7 of dl_sigmoid.
 */
#ifndef DIGITLENS_TRAIN_FAST_SIMD_H
#define DIGITLENS_TRAIN_FAST_SIMD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DL_VW 8 /* floats per vector, in both spellings */

/* Forces inlining where a constant argument must reach a loop bound so the
 * loop unrolls and its accumulators live in registers. */
#define DL_INLINE static inline __attribute__((always_inline))

/* Register tiles: X(c) for c = 0..12.  Kernels keep up to 13 accumulators
 * as separate named variables (s0..s12) rather than an array, because
 * compilers keep an array's elements in memory across a data-dependent loop
 * even when every index is a constant; a guard `if (c < nv)` with nv a
 * compile-time constant removes the unused ones. */
#define DL_TILE_MAX 13
#define DL_REP13(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12)

/* Rounds n up to a whole number of vectors. */
static inline size_t dl_vround(size_t n) { return (n + DL_VW - 1) / DL_VW * DL_VW; }

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define DL_SIMD_NAME "AVX2+FMA"

typedef __m256 dl_vf;

DL_INLINE dl_vf vf_zero(void) { return _mm256_setzero_ps(); }
DL_INLINE dl_vf vf_set1(float x) { return _mm256_set1_ps(x); }
DL_INLINE dl_vf vf_bcast(const float *p) { return _mm256_broadcast_ss(p); }
DL_INLINE dl_vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
DL_INLINE void vf_store(float *p, dl_vf v) { _mm256_storeu_ps(p, v); }
DL_INLINE dl_vf vf_add(dl_vf a, dl_vf b) { return _mm256_add_ps(a, b); }
DL_INLINE dl_vf vf_sub(dl_vf a, dl_vf b) { return _mm256_sub_ps(a, b); }
DL_INLINE dl_vf vf_mul(dl_vf a, dl_vf b) { return _mm256_mul_ps(a, b); }
/* a*b + c and c - a*b, each with one rounding. */
DL_INLINE dl_vf vf_fmadd(dl_vf a, dl_vf b, dl_vf c) { return _mm256_fmadd_ps(a, b, c); }
DL_INLINE dl_vf vf_fnmadd(dl_vf a, dl_vf b, dl_vf c) { return _mm256_fnmadd_ps(a, b, c); }

/* Lanes [0, n) of p, the rest zero; n in 0..8.  Never touches p[n..8),
 * so it may read the tail of a row that ends where other data begins. */
DL_INLINE dl_vf vf_load_n(const float *p, int n)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    return _mm256_maskload_ps(p, m);
}

/* Stores lanes [0, n) of v to p; p[n..8) untouched. */
DL_INLINE void vf_store_n(float *p, dl_vf v, int n)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    _mm256_maskstore_ps(p, m, v);
}

/* Lanes [n, 8) of v set to zero. */
DL_INLINE dl_vf vf_keep_n(dl_vf v, int n)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    return _mm256_and_ps(v, _mm256_castsi256_ps(m));
}

/* Sum of the 8 lanes, pairwise: (0+4, 1+5, 2+6, 3+7), then (.+.), then (.+.). */
DL_INLINE float vf_hsum(dl_vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* e^x (Cephes expf): x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6
 * polynomial, 2^n through the exponent bits.  x is clamped to
 * [-87.3, 88.3] so 2^n stays a normal float. */
DL_INLINE dl_vf vf_exp(dl_vf x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    dl_vf n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* ln2 split in two so n*ln2 is subtracted without losing r's bits. */
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
    dl_vf p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* The logistic function 1/(1+e^-z), lane-wise. */
DL_INLINE dl_vf vf_sigmoid(dl_vf z)
{
    dl_vf one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, vf_exp(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

/* Bit k set when p[k] != 0, for the 32 bytes p[0..32). */
DL_INLINE uint32_t dl_nz32(const uint8_t *p)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i z = _mm256_cmpeq_epi8(v, _mm256_setzero_si256());
    return ~(uint32_t)_mm256_movemask_epi8(z);
}

/* out[b] (b < 32) gets bit i set when rows[i][k + b] != 0, for i < n <= 8:
 * which of up to 8 images have pixel k + b lit. */
DL_INLINE void dl_lit32(const uint8_t *const *rows, int n, size_t k, uint8_t *out)
{
    __m256i acc = _mm256_setzero_si256(), zero = _mm256_setzero_si256();
    for (int i = 0; i < n; i++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(rows[i] + k));
        __m256i isz = _mm256_cmpeq_epi8(v, zero);
        acc = _mm256_or_si256(acc, _mm256_andnot_si256(isz, _mm256_set1_epi8((char)(1 << i))));
    }
    _mm256_storeu_si256((__m256i *)(void *)out, acc);
}

/* Transposes the 8x8 block src (row stride ss floats) into dst (row stride ds). */
DL_INLINE void dl_transpose8(const float *src, size_t ss, float *dst, size_t ds)
{
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ss);
    __m256 r2 = _mm256_loadu_ps(src + 2 * ss), r3 = _mm256_loadu_ps(src + 3 * ss);
    __m256 r4 = _mm256_loadu_ps(src + 4 * ss), r5 = _mm256_loadu_ps(src + 5 * ss);
    __m256 r6 = _mm256_loadu_ps(src + 6 * ss), r7 = _mm256_loadu_ps(src + 7 * ss);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}

#else /* portable spelling */
#define DL_SIMD_NAME "portable"

/* Two GCC/Clang 4-lane vectors: lane-wise arithmetic the compiler maps to
 * the target's vector unit (SSE2 on any x86-64, NEON on ARM).  Two halves
 * rather than one 8-lane vector, because passing 32-byte vectors without
 * AVX changes the calling convention. */
typedef float dl_v4 __attribute__((vector_size(16)));
typedef struct dl_vf {
    dl_v4 lo, hi;
} dl_vf;

DL_INLINE dl_vf vf_set1(float x)
{
    dl_v4 v = {x, x, x, x};
    return (dl_vf){v, v};
}
DL_INLINE dl_vf vf_zero(void) { return vf_set1(0.0f); }
DL_INLINE dl_vf vf_bcast(const float *p) { return vf_set1(*p); }
DL_INLINE dl_vf vf_load(const float *p)
{
    dl_vf r;
    memcpy(&r.lo, p, sizeof r.lo);
    memcpy(&r.hi, p + 4, sizeof r.hi);
    return r;
}
DL_INLINE void vf_store(float *p, dl_vf v)
{
    memcpy(p, &v.lo, sizeof v.lo);
    memcpy(p + 4, &v.hi, sizeof v.hi);
}
DL_INLINE dl_vf vf_add(dl_vf a, dl_vf b) { return (dl_vf){a.lo + b.lo, a.hi + b.hi}; }
DL_INLINE dl_vf vf_sub(dl_vf a, dl_vf b) { return (dl_vf){a.lo - b.lo, a.hi - b.hi}; }
DL_INLINE dl_vf vf_mul(dl_vf a, dl_vf b) { return (dl_vf){a.lo * b.lo, a.hi * b.hi}; }
/* Two roundings here (no fused multiply-add is assumed). */
DL_INLINE dl_vf vf_fmadd(dl_vf a, dl_vf b, dl_vf c)
{
    return (dl_vf){a.lo * b.lo + c.lo, a.hi * b.hi + c.hi};
}
DL_INLINE dl_vf vf_fnmadd(dl_vf a, dl_vf b, dl_vf c)
{
    return (dl_vf){c.lo - a.lo * b.lo, c.hi - a.hi * b.hi};
}
DL_INLINE dl_vf vf_load_n(const float *p, int n)
{
    float t[DL_VW] = {0};
    for (int i = 0; i < n; i++) t[i] = p[i];
    return vf_load(t);
}
DL_INLINE void vf_store_n(float *p, dl_vf v, int n)
{
    float t[DL_VW];
    vf_store(t, v);
    for (int i = 0; i < n; i++) p[i] = t[i];
}
DL_INLINE dl_vf vf_keep_n(dl_vf v, int n)
{
    float t[DL_VW];
    vf_store(t, v);
    for (int i = n; i < DL_VW; i++) t[i] = 0.0f;
    return vf_load(t);
}
/* Same pairing as the AVX2 spelling, so sums agree where FMA does not matter. */
DL_INLINE float vf_hsum(dl_vf v)
{
    dl_v4 s = v.lo + v.hi;
    return (s[0] + s[2]) + (s[1] + s[3]);
}
DL_INLINE dl_vf vf_sigmoid(dl_vf z)
{
    float t[DL_VW];
    vf_store(t, z);
    for (int i = 0; i < DL_VW; i++) t[i] = 1.0f / (1.0f + expf(-t[i]));
    return vf_load(t);
}
DL_INLINE uint32_t dl_nz32(const uint8_t *p)
{
    uint32_t m = 0;
    for (int i = 0; i < 32; i++) m |= (uint32_t)(p[i] != 0) << i;
    return m;
}
DL_INLINE void dl_lit32(const uint8_t *const *rows, int n, size_t k, uint8_t *out)
{
    for (int b = 0; b < 32; b++) {
        unsigned v = 0;
        for (int i = 0; i < n; i++) v |= (unsigned)(rows[i][k + b] != 0) << i;
        out[b] = (uint8_t)v;
    }
}
DL_INLINE void dl_transpose8(const float *src, size_t ss, float *dst, size_t ds)
{
    for (int r = 0; r < DL_VW; r++)
        for (int c = 0; c < DL_VW; c++) dst[(size_t)r * ds + c] = src[(size_t)c * ss + r];
}
#endif

#endif
