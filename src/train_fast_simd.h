/*
 * train_fast_simd.h — the float vectors the fast kernels are written in,
 * spelled for one instruction set per translation unit (private to the
 * variant files, train_fast_variants.h).
 *
 * The includer defines DL_SIMD_LEVEL (2 = AVX-512, 1 = AVX2 + FMA,
 * 0 = generic) and has opened the matching target pragma
 * (train_fast_target.h); this header then defines
 *   dl_vf, DL_VW   the kernel's vector: 16 lanes (AVX-512) or 8;
 *   dl_v8          an 8-lane vector in every variant, for dot products, so
 *                  that their partial sums, and hence their rounding, do
 *                  not depend on the variant;
 *   DL_VNAME(f)    f with the variant's suffix (f_avx512, f_avx2, f_generic).
 * Every lane-wise operation rounds the same way in AVX-512 and AVX2 (the
 * same fused multiply-adds, the same polynomial exponential), so those two
 * variants compute bit-identical results; the generic spelling multiplies
 * and adds separately and uses expf.
 *
 * The vector exponential is the Cephes single-precision polynomial: within
 * 2 ulp of expf over the clamped range, which keeps the sigmoid within
 * about 3e-7 of dl_sigmoid.
 */
#ifndef DIGITLENS_TRAIN_FAST_SIMD_H
#define DIGITLENS_TRAIN_FAST_SIMD_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "digitlens/net.h"

#ifndef DL_SIMD_LEVEL
#error "define DL_SIMD_LEVEL (and include train_fast_target.h) before train_fast_simd.h"
#endif

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

#define DL_VNAME_(f, s) f##_##s
#define DL_VNAME2_(f, s) DL_VNAME_(f, s)

/* Pixel bytes to input values (train_fast_layers.h). */
#define DL_PIXEL_TABLE dl_fast_pixel_table

#if DL_SIMD_LEVEL >= 1 /* ---- x86-64: AVX2 + FMA 8-lane vectors ---------------- */
#include <immintrin.h>

typedef __m256 dl_v8;

DL_INLINE dl_v8 v8_zero(void) { return _mm256_setzero_ps(); }
DL_INLINE dl_v8 v8_load(const float *p) { return _mm256_loadu_ps(p); }
DL_INLINE dl_v8 v8_fmadd(dl_v8 a, dl_v8 b, dl_v8 c) { return _mm256_fmadd_ps(a, b, c); }

/* Lanes [0, n) of p, the rest zero; n in 0..8.  Never touches p[n..8). */
DL_INLINE dl_v8 v8_load_n(const float *p, int n)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
    return _mm256_maskload_ps(p, m);
}

/* Sum of the 8 lanes, pairwise: (0+4, 1+5, 2+6, 3+7), then (.+.), then (.+.). */
DL_INLINE float v8_hsum(dl_v8 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* out[b*os + i] = rows[i][k + b] for b < 16, i < 16 (rows i >= n read as
 * zeros): 16 pixels of up to 16 images, pixel-major.  Four rounds of
 * interleaving; the last leaves the columns in bit-reversed order. */
DL_INLINE void dl_transpose16_u8(const uint8_t *const *rows, int n, size_t k, uint8_t *out, size_t os)
{
    static const int col[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
    __m128i x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = i < n ? _mm_loadu_si128((const __m128i *)(const void *)(rows[i] + k)) : _mm_setzero_si128();
    for (int i = 0; i < 8; i++) {
        y[i] = _mm_unpacklo_epi8(x[2 * i], x[2 * i + 1]);
        y[i + 8] = _mm_unpackhi_epi8(x[2 * i], x[2 * i + 1]);
    }
    for (int i = 0; i < 8; i++) {
        x[i] = _mm_unpacklo_epi16(y[2 * i], y[2 * i + 1]);
        x[i + 8] = _mm_unpackhi_epi16(y[2 * i], y[2 * i + 1]);
    }
    for (int i = 0; i < 8; i++) {
        y[i] = _mm_unpacklo_epi32(x[2 * i], x[2 * i + 1]);
        y[i + 8] = _mm_unpackhi_epi32(x[2 * i], x[2 * i + 1]);
    }
    for (int i = 0; i < 8; i++) {
        x[i] = _mm_unpacklo_epi64(y[2 * i], y[2 * i + 1]);
        x[i + 8] = _mm_unpackhi_epi64(y[2 * i], y[2 * i + 1]);
    }
    for (int j = 0; j < 16; j++) _mm_storeu_si128((__m128i *)(void *)(out + (size_t)col[j] * os), x[j]);
}

/* dst[i*ds + j] = src[j*ss + i] for i, j < 8: an 8 x 8 block of floats
 * transposed in registers (three rounds of shuffles; exact copies). */
DL_INLINE void dl_transpose8_f32(const float *src, size_t ss, float *dst, size_t ds)
{
    __m256 r[8], t[8];
    for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + (size_t)j * ss);
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        r[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
        r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
        r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
        r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(dst + (size_t)i * ds, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(dst + (size_t)(i + 4) * ds, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

/* Bit k set when p[k] != 0, for the 16 bytes p[0..16). */
DL_INLINE uint16_t dl_nz16(const uint8_t *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    return (uint16_t)~_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
}

/* Bit k set when p[k] != 0, for the 32 bytes p[0..32). */
DL_INLINE uint32_t dl_nz32(const uint8_t *p)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i z = _mm256_cmpeq_epi8(v, _mm256_setzero_si256());
    return ~(uint32_t)_mm256_movemask_epi8(z);
}
#endif

#if DL_SIMD_LEVEL == 2 /* ---- AVX-512: 16 lanes --------------------------------- */
#define DL_VW 16
/* With 32 registers, the first layer's update keeps the sums of four
 * pixels in a tile of up to 7 vectors (28 registers), or of two in a tile
 * of 13, and shares each delta it loads between them (fast/train_step.c:
 * word_tile; the CPU may ask for groups of two, dl_simd_update_group). */
#define DL_UPDATE_GROUP(nv) ((nv) <= 7 ? 4 : 2)
#define DL_PAIR_TILE 13 /* vectors in a tile of which two fit in the registers */
#define DL_VNAME(f) DL_VNAME2_(f, avx512)

typedef __m512 dl_vf;

DL_INLINE __mmask16 vf_mask_n(int n) { return (__mmask16)((1u << n) - 1u); }
DL_INLINE dl_vf vf_zero(void) { return _mm512_setzero_ps(); }
DL_INLINE dl_vf vf_set1(float x) { return _mm512_set1_ps(x); }
DL_INLINE dl_vf vf_bcast(const float *p) { return _mm512_set1_ps(*p); }
DL_INLINE dl_vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
DL_INLINE void vf_store(float *p, dl_vf v) { _mm512_storeu_ps(p, v); }
DL_INLINE dl_vf vf_add(dl_vf a, dl_vf b) { return _mm512_add_ps(a, b); }
DL_INLINE dl_vf vf_sub(dl_vf a, dl_vf b) { return _mm512_sub_ps(a, b); }
DL_INLINE dl_vf vf_mul(dl_vf a, dl_vf b) { return _mm512_mul_ps(a, b); }
/* a*b + c and c - a*b, each with one rounding. */
DL_INLINE dl_vf vf_fmadd(dl_vf a, dl_vf b, dl_vf c) { return _mm512_fmadd_ps(a, b, c); }
DL_INLINE dl_vf vf_fnmadd(dl_vf a, dl_vf b, dl_vf c) { return _mm512_fnmadd_ps(a, b, c); }
/* Lanes [0, n) of p, the rest zero; n in 0..16; p[n..16) is not touched. */
DL_INLINE dl_vf vf_load_n(const float *p, int n) { return _mm512_maskz_loadu_ps(vf_mask_n(n), p); }
/* A load that stays an instruction of its own, for a vector two
 * multiply-adds share: GCC otherwise folds the load into both of them, and
 * the second load costs what sharing was meant to save.  keep is all ones
 * (dl_fast_keep16 below), read at run time so the compiler cannot see
 * that the mask is full and fold the load anyway. */
DL_INLINE dl_vf vf_load_r(const float *p, __mmask16 keep) { return _mm512_maskz_loadu_ps(keep, p); }
extern const unsigned dl_fast_keep16; /* 0xFFFF, in train_fast.c */
#define DL_KEEP_MASK ((__mmask16)dl_fast_keep16)
DL_INLINE void vf_store_n(float *p, dl_vf v, int n) { _mm512_mask_storeu_ps(p, vf_mask_n(n), v); }
/* Lanes [n, 16) of v set to zero. */
DL_INLINE dl_vf vf_keep_n(dl_vf v, int n) { return _mm512_maskz_mov_ps(vf_mask_n(n), v); }

/* Half vectors: the first layer's loops (fast/layers.c, fast/train_step.c)
 * run the last vector of a tile as 8 lanes, dl_vh, when its lanes from 8
 * on are padding (units that do not exist, whose weights, sums and deltas
 * are zeros that nothing reads), as 784-100-10's seventh vector is (units
 * 96..111, 100 of them real).  Lane by lane the same fused multiply-adds,
 * so the same bits.  A core that runs 512-bit operations as two 256-bit
 * halves (AMD Zen 4) does a half vector in half the time; elsewhere it
 * costs the same.  vh_from takes a vector's low half; vh_to widens a half
 * back with zeros above, as the full operations leave those lanes. */
#define DL_HALF_TAIL 1
typedef __m256 dl_vh;
DL_INLINE dl_vh vh_zero(void) { return _mm256_setzero_ps(); }
DL_INLINE dl_vh vh_from(dl_vf v) { return _mm512_castps512_ps256(v); }
DL_INLINE dl_vf vh_to(dl_vh v) { return _mm512_zextps256_ps512(v); }
DL_INLINE dl_vh vh_load(const float *p) { return _mm256_loadu_ps(p); }
/* vf_load_r's half: a load that stays an instruction of its own. */
DL_INLINE dl_vh vh_load_r(const float *p, __mmask16 keep) { return _mm256_maskz_loadu_ps((__mmask8)keep, p); }
/* a*b + c, a a vector of which the low half is taken. */
DL_INLINE dl_vh vh_fmadd(dl_vf a, dl_vh b, dl_vh c) { return _mm256_fmadd_ps(vh_from(a), b, c); }

/* What vf_exp (below, shared with AVX2) needs of this instruction set. */
DL_INLINE dl_vf vf_div(dl_vf a, dl_vf b) { return _mm512_div_ps(a, b); }
DL_INLINE dl_vf vf_clamp(dl_vf x, float lo, float hi)
{
    return _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
}
DL_INLINE dl_vf vf_round(dl_vf x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* 2^n for whole-number lanes n in [-126, 127], through the exponent bits. */
DL_INLINE dl_vf vf_pow2i(dl_vf n)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}

/* What vf_relu, vf_flush_tiny and vf_positive (below, shared with AVX2)
 * need: max(a, b) (b where either is NaN), |v|, and v where a > b or
 * a >= b (ordered: false for NaN), 0 elsewhere. */
DL_INLINE dl_vf vf_max(dl_vf a, dl_vf b) { return _mm512_max_ps(a, b); }
DL_INLINE dl_vf vf_abs(dl_vf v) { return _mm512_abs_ps(v); }
DL_INLINE dl_vf vf_where_gt(dl_vf a, dl_vf b, dl_vf v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), v); }
DL_INLINE dl_vf vf_where_ge(dl_vf a, dl_vf b, dl_vf v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_GE_OQ), v); }

/* Bit k set when p[k] != 0, for the 64 bytes p[0..64). */
DL_INLINE uint64_t dl_nz64(const uint8_t *p)
{
    __m512i v = _mm512_loadu_si512((const void *)p);
    return (uint64_t)_mm512_test_epi8_mask(v, v);
}

/* who[b] for the np <= 64 pixels b of a mask word: bit i set when example
 * i < n (n <= 16) lights pixel b, that is when bit b of its mask m[i*ms] is
 * set.  Here from the masks, a byte per pixel and example at a time (a
 * tenth of the cost of testing the transposed pixels xt, [np x 16], as the
 * other variants do); the entries from np to 64 become 0. */
DL_INLINE void dl_who64(const uint64_t *m, size_t ms, int n, const uint8_t *xt, int np, uint16_t *who)
{
    (void)xt;
    (void)np;
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    for (int i = 0; i < n && i < 8; i++) lo = _mm512_or_si512(lo, _mm512_maskz_set1_epi8(m[(size_t)i * ms], (char)(1 << i)));
    for (int i = 8; i < n; i++) hi = _mm512_or_si512(hi, _mm512_maskz_set1_epi8(m[(size_t)i * ms], (char)(1 << (i - 8))));
    for (int h = 0; h < 2; h++) {
        __m256i l = h ? _mm512_extracti64x4_epi64(lo, 1) : _mm512_castsi512_si256(lo);
        __m256i u = h ? _mm512_extracti64x4_epi64(hi, 1) : _mm512_castsi512_si256(hi);
        __m512i v = _mm512_or_si512(_mm512_cvtepu8_epi16(l), _mm512_slli_epi16(_mm512_cvtepu8_epi16(u), 8));
        _mm512_storeu_si512((void *)(who + 32 * h), v);
    }
}

#elif DL_SIMD_LEVEL == 1 /* ---- AVX2 + FMA: the kernel's vector is dl_v8 ------------- */
#define DL_VW 8
/* 16 registers hold one tile of 13 vectors; with three loads a cycle
 * against two multiply-adds, sharing rows would not pay. */
#define DL_UPDATE_GROUP(nv) 1
#define DL_PAIR_TILE 6
#define DL_VNAME(f) DL_VNAME2_(f, avx2)

typedef __m256 dl_vf;

DL_INLINE dl_vf vf_zero(void) { return _mm256_setzero_ps(); }
DL_INLINE dl_vf vf_set1(float x) { return _mm256_set1_ps(x); }
DL_INLINE dl_vf vf_bcast(const float *p) { return _mm256_broadcast_ss(p); }
DL_INLINE dl_vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
DL_INLINE void vf_store(float *p, dl_vf v) { _mm256_storeu_ps(p, v); }
DL_INLINE dl_vf vf_add(dl_vf a, dl_vf b) { return _mm256_add_ps(a, b); }
DL_INLINE dl_vf vf_sub(dl_vf a, dl_vf b) { return _mm256_sub_ps(a, b); }
DL_INLINE dl_vf vf_mul(dl_vf a, dl_vf b) { return _mm256_mul_ps(a, b); }
DL_INLINE dl_vf vf_fmadd(dl_vf a, dl_vf b, dl_vf c) { return _mm256_fmadd_ps(a, b, c); }
DL_INLINE dl_vf vf_fnmadd(dl_vf a, dl_vf b, dl_vf c) { return _mm256_fnmadd_ps(a, b, c); }
DL_INLINE dl_vf vf_load_n(const float *p, int n) { return v8_load_n(p, n); }
DL_INLINE dl_vf vf_load_r(const float *p, int keep) { return (void)keep, _mm256_loadu_ps(p); }
#define DL_KEEP_MASK 0

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

/* What vf_exp (below, shared with AVX-512) needs of this instruction set. */
DL_INLINE dl_vf vf_div(dl_vf a, dl_vf b) { return _mm256_div_ps(a, b); }
DL_INLINE dl_vf vf_clamp(dl_vf x, float lo, float hi)
{
    return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}
DL_INLINE dl_vf vf_round(dl_vf x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* 2^n for whole-number lanes n in [-126, 127], through the exponent bits. */
DL_INLINE dl_vf vf_pow2i(dl_vf n)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}

/* And what vf_relu, vf_flush_tiny and vf_positive need (as AVX-512 above). */
DL_INLINE dl_vf vf_max(dl_vf a, dl_vf b) { return _mm256_max_ps(a, b); }
DL_INLINE dl_vf vf_abs(dl_vf v) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
DL_INLINE dl_vf vf_where_gt(dl_vf a, dl_vf b, dl_vf v) { return _mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), v); }
DL_INLINE dl_vf vf_where_ge(dl_vf a, dl_vf b, dl_vf v) { return _mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_GE_OQ), v); }

DL_INLINE uint64_t dl_nz64(const uint8_t *p)
{
    return (uint64_t)dl_nz32(p) | (uint64_t)dl_nz32(p + 32) << 32;
}

#endif

#if DL_SIMD_LEVEL >= 1 /* ---- e^x and the activations, once for AVX-512 and AVX2 -- */
/* e^x (Cephes expf): x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6
 * polynomial, 2^n through the exponent bits.  x is clamped to
 * [-87.3, 88.3] so 2^n stays a normal float.  Written once over the
 * vf_ operations, so both widths do the same operations lane by lane and
 * train the same bytes. */
DL_INLINE dl_vf vf_exp(dl_vf x)
{
    x = vf_clamp(x, -87.3f, 88.3f);
    dl_vf n = vf_round(vf_mul(x, vf_set1(1.44269504088896341f)));
    /* ln2 split in two so n*ln2 is subtracted without losing r's bits. */
    x = vf_fnmadd(n, vf_set1(0.693359375f), x);
    x = vf_fnmadd(n, vf_set1(-2.12194440e-4f), x);
    dl_vf p = vf_set1(1.9875691500e-4f);
    p = vf_fmadd(p, x, vf_set1(1.3981999507e-3f));
    p = vf_fmadd(p, x, vf_set1(8.3334519073e-3f));
    p = vf_fmadd(p, x, vf_set1(4.1665795894e-2f));
    p = vf_fmadd(p, x, vf_set1(1.6666665459e-1f));
    p = vf_fmadd(p, x, vf_set1(5.0000001201e-1f));
    p = vf_fmadd(p, vf_mul(x, x), vf_add(x, vf_set1(1.0f)));
    return vf_mul(p, vf_pow2i(n));
}

/* The logistic function 1/(1+e^-z), lane-wise. */
DL_INLINE dl_vf vf_sigmoid(dl_vf z)
{
    dl_vf one = vf_set1(1.0f);
    return vf_div(one, vf_add(one, vf_exp(vf_sub(vf_zero(), z))));
}

/* tanh z = 1 − 2/(1 + e^{2z}): the vector exponential's clamp makes it
 * ±1 exactly for |z| > 44; within about 1e-7 of tanhf elsewhere. */
DL_INLINE dl_vf vf_tanh(dl_vf z)
{
    dl_vf one = vf_set1(1.0f);
    return vf_sub(one, vf_div(vf_set1(2.0f), vf_add(one, vf_exp(vf_add(z, z)))));
}

/* max(z, 0): 0 (never −0, and 0 for NaN) where z <= 0, as dl_act_apply. */
DL_INLINE dl_vf vf_relu(dl_vf z) { return vf_max(z, vf_zero()); }

/* v, with lanes below FLT_MIN in magnitude (subnormal) set to 0: see
 * fast/train_step.c, the momentum update. */
DL_INLINE dl_vf vf_flush_tiny(dl_vf v) { return vf_where_ge(vf_abs(v), vf_set1(FLT_MIN), v); }

/* 1 where a > 0, else 0: ReLU's slope from its output. */
DL_INLINE dl_vf vf_positive(dl_vf a) { return vf_where_gt(a, vf_zero(), vf_set1(1.0f)); }

#else /* ---- generic: the GCC/Clang vector extension ------------------------------- */
#define DL_VW 8
#define DL_UPDATE_GROUP(nv) 1
#define DL_PAIR_TILE 3
#define DL_VNAME(f) DL_VNAME2_(f, generic)

/* Two 4-lane vectors: lane-wise arithmetic the compiler maps to the
 * target's vector unit (SSE2 on any x86-64, NEON on ARM).  Two halves
 * rather than one 8-lane vector, because passing 32-byte vectors without
 * AVX changes the calling convention. */
typedef float dl_v4 __attribute__((vector_size(16)));
typedef struct dl_vf {
    dl_v4 lo, hi;
} dl_vf;
typedef dl_vf dl_v8;

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
DL_INLINE dl_vf vf_load_r(const float *p, int keep) { return (void)keep, vf_load(p); }
#define DL_KEEP_MASK 0
DL_INLINE dl_vf vf_sigmoid(dl_vf z)
{
    float t[DL_VW];
    vf_store(t, z);
    for (int i = 0; i < DL_VW; i++) t[i] = 1.0f / (1.0f + expf(-t[i]));
    return vf_load(t);
}
/* tanhf and the comparisons of dl_act_apply and dl_act_slope, lane by lane. */
DL_INLINE dl_vf vf_tanh(dl_vf z)
{
    float t[DL_VW];
    vf_store(t, z);
    for (int i = 0; i < DL_VW; i++) t[i] = tanhf(t[i]);
    return vf_load(t);
}
DL_INLINE dl_vf vf_relu(dl_vf z)
{
    float t[DL_VW];
    vf_store(t, z);
    for (int i = 0; i < DL_VW; i++) t[i] = t[i] > 0.0f ? t[i] : 0.0f;
    return vf_load(t);
}
DL_INLINE dl_vf vf_positive(dl_vf a)
{
    float t[DL_VW];
    vf_store(t, a);
    for (int i = 0; i < DL_VW; i++) t[i] = t[i] > 0.0f ? 1.0f : 0.0f;
    return vf_load(t);
}
DL_INLINE dl_vf vf_flush_tiny(dl_vf v)
{
    float t[DL_VW];
    vf_store(t, v);
    for (int i = 0; i < DL_VW; i++) t[i] = fabsf(t[i]) >= FLT_MIN ? t[i] : 0.0f;
    return vf_load(t);
}
DL_INLINE dl_v8 v8_zero(void) { return vf_zero(); }
DL_INLINE dl_v8 v8_load(const float *p) { return vf_load(p); }
DL_INLINE dl_v8 v8_load_n(const float *p, int n) { return vf_load_n(p, n); }
DL_INLINE dl_v8 v8_fmadd(dl_v8 a, dl_v8 b, dl_v8 c) { return vf_fmadd(a, b, c); }
/* Same pairing as the AVX2 spelling. */
DL_INLINE float v8_hsum(dl_v8 v)
{
    dl_v4 s = v.lo + v.hi;
    return (s[0] + s[2]) + (s[1] + s[3]);
}
DL_INLINE uint64_t dl_nz64(const uint8_t *p)
{
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) m |= (uint64_t)(p[i] != 0) << i;
    return m;
}
DL_INLINE uint16_t dl_nz16(const uint8_t *p)
{
    unsigned m = 0;
    for (int i = 0; i < 16; i++) m |= (unsigned)(p[i] != 0) << i;
    return (uint16_t)m;
}
DL_INLINE void dl_transpose8_f32(const float *src, size_t ss, float *dst, size_t ds)
{
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) dst[(size_t)i * ds + (size_t)j] = src[(size_t)j * ss + (size_t)i];
}
DL_INLINE void dl_transpose16_u8(const uint8_t *const *rows, int n, size_t k, uint8_t *out, size_t os)
{
    for (int b = 0; b < 16; b++)
        for (int i = 0; i < 16; i++) out[(size_t)b * os + (size_t)i] = i < n ? rows[i][k + (size_t)b] : 0;
}
#endif

#if DL_SIMD_LEVEL != 2
/* No half vectors (AVX-512's, above): half an 8-lane vector would cost
 * as much on the cores these variants serve. */
#define DL_HALF_TAIL 0
typedef dl_vf dl_vh;
#define vh_zero vf_zero
#define vh_from(v) (v)
#define vh_to(v) (v)
#define vh_load vf_load
#define vh_load_r vf_load_r
#define vh_fmadd vf_fmadd

/* dl_who64 (AVX-512's, above) from the pixels transposed: xt [np x 16],
 * xt[16b + i] example i's value of pixel b (0 for i >= n). */
DL_INLINE void dl_who64(const uint64_t *m, size_t ms, int n, const uint8_t *xt, int np, uint16_t *who)
{
    (void)m;
    (void)ms;
    (void)n;
    for (int b = 0; b < 64; b++) who[b] = b < np ? dl_nz16(xt + 16 * (size_t)b) : 0;
}
#endif

/* An elementwise activation f of z (dl_act_apply's, lane by lane; not
 * softmax, which couples the lanes), and its slope f'(z) from its output a
 * (dl_act_slope's: a(1−a), 1−a², or 1 where a > 0). */
DL_INLINE dl_vf vf_act(dl_act f, dl_vf z)
{
    return f == DL_ACT_RELU ? vf_relu(z) : f == DL_ACT_TANH ? vf_tanh(z) : vf_sigmoid(z);
}
DL_INLINE dl_vf vf_slope(dl_act f, dl_vf a)
{
    if (f == DL_ACT_RELU) return vf_positive(a);
    if (f == DL_ACT_TANH) return vf_sub(vf_set1(1.0f), vf_mul(a, a));
    return vf_mul(a, vf_sub(vf_set1(1.0f), a));
}

/* Rounds n up to a whole number of vectors. */
static inline size_t dl_vround(size_t n) { return (n + DL_VW - 1) / DL_VW * DL_VW; }

#endif
