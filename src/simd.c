/*
 * simd.c — choosing the fast kernels' variant (see simd.h).  Which
 * variants this build has is decided in train_fast_variants.h.
 */
#include "digitlens/simd.h"

#include <stdlib.h>
#include <string.h>

#include "train_fast_variants.h"

static const char *const NAMES[DL_SIMD_COUNT] = {"generic", "avx2", "avx512"};
static const char *const NEEDS[DL_SIMD_COUNT] = {
    "the compiler's vector extension, 8 lanes", "AVX2 and FMA, 8 lanes",
    "AVX-512F/BW/DQ/VL, 16 lanes"};

const char *dl_simd_name(dl_simd v) { return (unsigned)v < DL_SIMD_COUNT ? NAMES[v] : NULL; }

const char *dl_simd_needs(dl_simd v) { return (unsigned)v < DL_SIMD_COUNT ? NEEDS[v] : NULL; }

int dl_simd_supported(dl_simd v)
{
    switch (v) {
    case DL_SIMD_GENERIC: return 1;
#if DL_X86_VARIANTS
    /* __builtin_cpu_supports also checks that the operating system saves
     * the vector registers (XGETBV), and valgrind answers for the CPU it
     * emulates (no AVX-512), so a variant it reports runs here. */
    case DL_SIMD_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case DL_SIMD_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
    default: return 0;
    }
}

int dl_simd_halves512(void)
{
#if DL_X86_VARIANTS
    return __builtin_cpu_is("amdfam19h") && dl_simd_supported(DL_SIMD_AVX512);
#else
    return 0;
#endif
}

const char *dl_simd_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "auto") != 0 ? v : NULL;
}

dl_status dl_simd_update_group(int *g, dl_err *e)
{
    const char *want = dl_simd_env("DIGITLENS_UPDATE_GROUP");
    *g = dl_simd_halves512() ? 2 : 4;
    if (!want) return DL_OK;
    if (strcmp(want, "2") == 0 || strcmp(want, "4") == 0) {
        *g = want[0] - '0';
        return DL_OK;
    }
    return dl_err_set(e, DL_EINVAL, "DIGITLENS_UPDATE_GROUP=%s: use 2, 4 or auto", want);
}

dl_simd dl_simd_best(void)
{
    for (int v = DL_SIMD_COUNT - 1; v > 0; v--)
        if (dl_simd_supported((dl_simd)v)) return (dl_simd)v;
    return DL_SIMD_GENERIC;
}

dl_status dl_simd_choose(dl_simd *out, dl_err *e)
{
    const char *want = dl_simd_env("DIGITLENS_SIMD");
    *out = dl_simd_best();
    if (!want) return DL_OK;
    for (int v = 0; v < DL_SIMD_COUNT; v++) {
        if (strcmp(want, NAMES[v]) != 0) continue;
        if (!dl_simd_supported((dl_simd)v))
            return dl_err_set(e, DL_EINVAL,
                              "DIGITLENS_SIMD=%s: this CPU cannot run the %s kernels (they need %s; "
                              "it runs %s: unset DIGITLENS_SIMD or pick that)",
                              want, NAMES[v], NEEDS[v], NAMES[*out]);
        *out = (dl_simd)v;
        return DL_OK;
    }
    return dl_err_set(e, DL_EINVAL,
                      "DIGITLENS_SIMD=%s: unknown kernel variant (use avx512, avx2, generic or auto)",
                      want);
}
