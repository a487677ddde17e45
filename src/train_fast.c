/*
 * train_fast.c — the fast kernels' entry points: each hands the work to
 * the SIMD variant asked for (train_fast_variants.h); and the helpers of
 * train_fast_layers.h that need no vectors.
 */
#include <stddef.h>

#include "train_fast_eval.h"
#include "train_fast_layers.h"
#include "train_fast_variants.h"

const dl_fast_variant *dl_fast_variant_of(dl_simd v)
{
    switch (v) {
    case DL_SIMD_GENERIC: return dl_fast_generic();
    case DL_SIMD_AVX2: return dl_fast_avx2();
    case DL_SIMD_AVX512: return dl_fast_avx512();
    default: return NULL;
    }
}

const dl_kernel_ops *dl_kernel_fast(dl_simd v)
{
    const dl_fast_variant *f = dl_fast_variant_of(v);
    return f ? f->kernel : NULL;
}

dl_status dl_fast_evaluate(dl_simd v, const dl_net *net, const dl_dataset *d, dl_cost cost,
                           int threads, uint32_t *confusion, size_t *correct, double *cost_sum,
                           dl_err *e)
{
    const dl_fast_variant *f = dl_fast_variant_of(v);
    if (!f || !dl_simd_supported(v))
        return dl_err_set(e, DL_EINVAL, "the %s kernels do not run here", dl_simd_name(v));
    return f->evaluate(net, d, cost, threads, confusion, correct, cost_sum, e);
}

/* p * (1/255) for every byte p, folded by the compiler in float
 * arithmetic, which rounds as dl_dataset_image's multiply does (the unit
 * tests compare the two). */
#define PX(p) (float)(p) * (1.0f / 255.0f)
#define PX4(p) PX(p), PX(p + 1), PX(p + 2), PX(p + 3)
#define PX16(p) PX4(p), PX4(p + 4), PX4(p + 8), PX4(p + 12)
#define PX64(p) PX16(p), PX16(p + 16), PX16(p + 32), PX16(p + 48)
const float dl_fast_pixel_table[256] = {PX64(0), PX64(64), PX64(128), PX64(192)};

/* All lanes of a 16-lane mask, in a file of its own so the variants'
 * compiler cannot fold it (train_fast_simd.h, vf_load_r). */
const unsigned dl_fast_keep16 = 0xFFFFu;

size_t dl_fast_ld(int n_hidden) { return ((size_t)n_hidden + 15) / 16 * 16; }

/* The variant dl_simd_choose picks, or the best the CPU runs. */
static const dl_fast_variant *chosen(void)
{
    dl_simd v;
    if (dl_simd_choose(&v, NULL) != DL_OK) v = dl_simd_best();
    return dl_fast_variant_of(v);
}

void dl_fast_transpose_in(const dl_net *net, float *wt, size_t ld) { chosen()->transpose_in(net, wt, ld); }

dl_status dl_fast_first_forward(const float *wt, size_t ld, const float *bias, int nh,
                                const uint8_t *const *px, size_t npix, int n, float *a, size_t lda)
{
    return chosen()->first_forward(wt, ld, bias, nh, px, npix, n, a, lda);
}
