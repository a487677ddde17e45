/*
 * train_fast_avx2.c — the fast kernels for AVX2 + FMA (8-lane vectors),
 * compiled with the compiler's target pragma so that only this file uses
 * those instructions (train_fast_variants.h).
 */
#include "train_fast_variants.h"

#if DL_X86_VARIANTS
#define DL_SIMD_LEVEL 1
#include "fast/prelude.h"
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include "fast/variant.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#include "fast/table.h"
#else
const dl_fast_variant *dl_fast_avx2(void) { return NULL; }
#endif
