/*
 * crc32.c — dl_crc32 (crc32.h): carry-less multiply folding where the CPU
 * has it, zlib elsewhere and for the last few bytes.
 *
 * The folding works on the CRC register before zlib's final inversion
 * ("raw"): crc32_z(c, m) = ~raw(~c, m).  Four 128-bit lanes each absorb 16
 * bytes per step (x ← x.lo·K1 ⊕ x.hi·K2 ⊕ next, with K1, K2 = x^(4·128+32)
 * and x^(4·128-32) mod P, bit-reflected), then the lanes are folded into
 * one (K3, K4: the same for one lane), 128 bits are reduced to 64, to 32
 * (K5), and the last step is Barrett's reduction by P with μ = x^64 / P.
 * The constants are those of the paper for P = 0x104C11DB7 (reflected).
 */
#include "crc32.h"

#include <zlib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DL_CRC_FOLD 1

__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i x, __m128i k, __m128i next)
{
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

/* raw CRC of p[0..len), len >= 64 and a multiple of 16, from raw state c. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t raw_fold(uint32_t c, const unsigned char *p, size_t len)
{
    const __m128i k12 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4), k34 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124), pmu = _mm_set_epi64x(0x1f7011641, 0x1db710641);
    const __m128i lo32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_cvtsi32_si128((int)c));
    __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
    for (p += 64, len -= 64; len >= 64; p += 64, len -= 64) {
        x0 = fold(x0, k12, _mm_loadu_si128((const __m128i *)(const void *)p));
        x1 = fold(x1, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
        x2 = fold(x2, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
        x3 = fold(x3, k12, _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
    }
    __m128i x = fold(fold(fold(x0, k34, x1), k34, x2), k34, x3);
    for (; len >= 16; p += 16, len -= 16) x = fold(x, k34, _mm_loadu_si128((const __m128i *)(const void *)p));
    /* 128 -> 64 bits (appending 32 zero bits), then 64 -> 32. */
    x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(k34, x, 0x01));
    x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, lo32), k5, 0x00));
    /* Barrett: q = (x mod x^32)·μ, x ⊕= (q mod x^32)·P. */
    __m128i q = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(x, lo32), pmu, 0x10), lo32);
    x = _mm_xor_si128(x, _mm_clmulepi64_si128(q, pmu, 0x00));
    return (uint32_t)_mm_extract_epi32(x, 1);
}
#else
#define DL_CRC_FOLD 0
#endif

uint32_t dl_crc32(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
#if DL_CRC_FOLD
    if (len >= 256 && __builtin_cpu_supports("pclmul")) {
        size_t n = len / 16 * 16;
        crc = ~raw_fold(~crc, p, n);
        p += n;
        len -= n;
    }
#endif
    return (uint32_t)crc32_z(crc, p, len);
}

uint32_t dl_crc32_combine(uint32_t crc1, uint32_t crc2, size_t len2)
{
    /* zlib's: a few dozen carry-less products in software, whatever the
     * length; the pieces here are records, under 1 GB, which z_off_t holds. */
    return (uint32_t)crc32_combine(crc1, crc2, (z_off_t)len2);
}
