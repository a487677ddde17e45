/*
 * train_fast_variants.h — the fast kernels, once per SIMD variant
 * (private to the library; simd.h says what the variants are).
 *
 * The .c files of src/fast/ hold the kernels' code once.  Each of train_fast_avx512.c,
 * train_fast_avx2.c and train_fast_generic.c compiles all of it for one
 * instruction set (the compiler's target pragma; no -m flags, so the rest
 * of the program stays baseline x86-64) and exports one table of entry
 * points; train_fast.c picks the table (dl_fast_variant).
 */
#ifndef DIGITLENS_TRAIN_FAST_VARIANTS_H
#define DIGITLENS_TRAIN_FAST_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/idx.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"
#include "train_kernels.h"

/* The x86-64 variants need GCC's or Clang's target pragmas and
 * __builtin_cpu_supports; elsewhere only the generic variant exists, as in
 * a build with DL_FAST_GENERIC_ONLY (`make KERNELS=generic`: the fuzzing
 * build, whose harnesses never reach the kernels). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(DL_FAST_GENERIC_ONLY)
#define DL_X86_VARIANTS 1
#else
#define DL_X86_VARIANTS 0
#endif

typedef struct dl_fast_variant {
    dl_simd simd;
    /* The training kernel (train_kernels.h). */
    const dl_kernel_ops *kernel;
    /* dl_fast_evaluate (train_fast_eval.h) in this variant. */
    dl_status (*evaluate)(const dl_net *net, const dl_dataset *d, dl_cost cost, int threads,
                          uint32_t *confusion, size_t *correct, double *cost_sum, dl_err *e);
    /* dl_fast_first_forward (train_fast_layers.h) in this variant. */
    dl_status (*first_forward)(const float *wt, size_t ld, const float *bias, int nh,
                               const uint8_t *const *px, size_t npix, int n, float *a, size_t lda);
    /* dl_fast_transpose_in (train_fast_layers.h) in this variant. */
    void (*transpose_in)(const dl_net *net, float *wt, size_t ld);
} dl_fast_variant;

/* Each variant's table; NULL for a variant this build does not have. */
const dl_fast_variant *dl_fast_generic(void);
const dl_fast_variant *dl_fast_avx2(void);
const dl_fast_variant *dl_fast_avx512(void);

/* The table of variant v (NULL when this build lacks it).  Does not check
 * that the CPU runs it: dl_simd_supported does. */
const dl_fast_variant *dl_fast_variant_of(dl_simd v);

#endif
