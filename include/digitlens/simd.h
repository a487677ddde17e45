/*
 * simd.h — which vector instructions the fast kernels use on this CPU.
 *
 * digitlens is built for any x86-64 (or any other CPU) and carries its
 * fast training and evaluation kernels in several variants, each compiled
 * by the compiler's own multiversioning for one instruction set:
 *     avx512   AVX-512 F/BW/DQ/VL, 16 float lanes
 *     avx2     AVX2 + FMA, 8 lanes
 *     generic  the GCC/Clang vector extension (SSE2 on x86-64, NEON on ARM)
 * At start each kernel asks for the fastest variant this CPU runs, unless
 * the environment variable DIGITLENS_SIMD names one (avx512, avx2, generic
 * or auto): for tests, benchmarks and bug reports.
 *
 * avx512 and avx2 compute the same numbers lane by lane (the same fused
 * multiply-adds in the same order, and the dense layers' dot products in 8
 * partial sums in both), so they train bit-identical networks; generic
 * rounds differently (a separate multiply and add, and expf).
 *
 * No state: the CPU is asked through the compiler's __builtin_cpu_supports
 * (read-only data the C runtime fills before main) and the variable is
 * read at each call, so any thread may call these at any time.
 */
#ifndef DIGITLENS_SIMD_H
#define DIGITLENS_SIMD_H

#include "digitlens/err.h"

typedef enum dl_simd {
    DL_SIMD_GENERIC = 0,
    DL_SIMD_AVX2 = 1,
    DL_SIMD_AVX512 = 2,
    DL_SIMD_COUNT = 3
} dl_simd;

/* "generic", "avx2", "avx512"; NULL for anything else. */
const char *dl_simd_name(dl_simd v);

/* What the variant needs, for messages: "AVX-512F/BW/DQ/VL, 16 lanes". */
const char *dl_simd_needs(dl_simd v);

/* 1 when this CPU (and this build: x86-64 variants exist only there) can
 * run variant v, else 0. */
int dl_simd_supported(dl_simd v);

/* 1 when this CPU runs a 512-bit vector operation as two 256-bit halves
 * (AMD's Zen 4, family 19h, the one AMD family with AVX-512 and 256-bit
 * units), else 0. */
int dl_simd_halves512(void);

/* Pixels per group in the avx512 training kernel's first-layer update, 2
 * or 4: DIGITLENS_UPDATE_GROUP when set and not empty or "auto" (tests,
 * benchmarks, bug reports: both give the same bits), else 2 where
 * dl_simd_halves512 (there multiply-adds are the limit, and groups of 4
 * do 12% more of them on Fashion-MNIST) and 4 elsewhere (half as many
 * groups, each of which costs a loop exit no branch predictor knows).
 * Any other value is DL_EINVAL with a message naming the variable. */
dl_status dl_simd_update_group(int *g, dl_err *e);

/* The value of the environment variable `name` (DIGITLENS_SIMD,
 * DIGITLENS_UPDATE_GROUP) when it asks for something: set, not empty and
 * not "auto"; else NULL. */
const char *dl_simd_env(const char *name);

/* The fastest variant this CPU runs. */
dl_simd dl_simd_best(void);

/* The variant to use: DIGITLENS_SIMD when set and non-empty ("auto" means
 * dl_simd_best), else dl_simd_best().  An unknown name, or a variant this
 * CPU cannot run, is DL_EINVAL with a message naming the variable. */
dl_status dl_simd_choose(dl_simd *out, dl_err *e);

#endif
