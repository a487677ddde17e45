/*
 * train_fast_generic.c — the fast kernels in the GCC/Clang vector
 * extension, for the baseline instruction set of whatever the compiler
 * targets (SSE2 on x86-64, NEON on ARM): the variant every CPU runs
 * (train_fast_variants.h).
 */
#include "train_fast_variants.h"

#define DL_SIMD_LEVEL 0
#include "fast/prelude.h"
#include "fast/variant.h"
#include "fast/table.h"
