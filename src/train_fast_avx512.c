/*
 * train_fast_avx512.c — the fast kernels for AVX-512 F/BW/DQ/VL (16-lane
 * vectors), compiled with the compiler's target pragma so that only this
 * file uses those instructions (train_fast_variants.h).
 */
#include "train_fast_variants.h"

#if DL_X86_VARIANTS
#define DL_SIMD_LEVEL 2
#include "fast/prelude.h"
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")
#endif
#include "fast/variant.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#include "fast/table.h"
#else
const dl_fast_variant *dl_fast_avx512(void) { return NULL; }
#endif
