/*
 * train_fast_layers.c — forward-pass pieces of the fast kernels (see
 * train_fast_layers.h for the layouts).
 */
#include "train_fast_layers.h"

#include "train_fast_simd.h"

void dl_fast_xtable(float tab[256])
{
    for (int p = 0; p < 256; p++) tab[p] = p * (1.0f / 255.0f);
}

void dl_fast_transpose_in(const dl_net *net, float *wt, size_t ld)
{
    int nin = net->sizes[0], nh = net->sizes[1];
    const float *w = net->w[0];
    for (int k = 0; k < nin; k++) {
        float *row = wt + (size_t)k * ld;
        for (int j = 0; j < nh; j++) row[j] = w[(size_t)j * nin + k];
        for (size_t j = (size_t)nh; j < ld; j++) row[j] = 0.0f;
    }
}

void dl_fast_nzmask(const uint8_t *px, size_t npix, uint64_t *mask)
{
    size_t w = 0, k = 0;
    for (; k + 64 <= npix; k += 64, w++)
        mask[w] = (uint64_t)dl_nz32(px + k) | (uint64_t)dl_nz32(px + k + 32) << 32;
    if (k < npix) {
        uint64_t m = 0;
        for (size_t b = 0; k + b < npix; b++) m |= (uint64_t)(px[k + b] != 0) << b;
        mask[w] = m;
    }
}

/* One tile of nv vectors of hidden units (from block b) for n examples.
 * z starts as the bias; then pixels are visited 64 at a time (one mask
 * word) and, within a word, example by example, so the rows of WT for
 * those 64 pixels come into the L1 cache once for all n examples instead of
 * once per example (a third less time than example by example).  Each
 * example's sum still runs over its lit pixels in increasing k.  z lives
 * in a[i] between words; a = σ(z) at the end. */
DL_INLINE void fwd_tile(const int nv, const float *wt, size_t ld, const float *bias, int nh,
                        const float *tab, const uint8_t *const *px, const uint64_t *mask, int nwords,
                        int n, int b, float *a, size_t lda)
{
    for (int i = 0; i < n; i++) {
        float *z = a + (size_t)i * lda + (size_t)b * DL_VW;
        for (int c = 0; c < nv; c++) {
            int j = (b + c) * DL_VW, m = nh - j;
            vf_store(z + DL_VW * c, m >= DL_VW ? vf_load(bias + j) : vf_load_n(bias + j, m > 0 ? m : 0));
        }
    }
    const float *w0 = wt + (size_t)b * DL_VW;
    for (int w = 0; w < nwords; w++) {
        for (int i = 0; i < n; i++) {
            uint64_t bits = mask[(size_t)i * nwords + w];
            if (!bits) continue;
            float *z = a + (size_t)i * lda + (size_t)b * DL_VW;
            const uint8_t *p = px[i];
#define LOAD(c) dl_vf s##c = c < nv ? vf_load(z + DL_VW * c) : vf_zero();
            DL_REP13(LOAD)
#undef LOAD
            while (bits) {
                size_t k = (size_t)w * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                dl_vf x = vf_bcast(tab + p[k]);
                const float *row = w0 + k * ld;
#define FMA(c) \
    if (c < nv) s##c = vf_fmadd(x, vf_load(row + DL_VW * c), s##c);
                DL_REP13(FMA)
#undef FMA
            }
#define STORE(c) \
    if (c < nv) vf_store(z + DL_VW * c, s##c);
            DL_REP13(STORE)
#undef STORE
        }
    }
    for (int i = 0; i < n; i++) {
        float *z = a + (size_t)i * lda + (size_t)b * DL_VW;
        for (int c = 0; c < nv; c++) vf_store(z + DL_VW * c, vf_sigmoid(vf_load(z + DL_VW * c)));
    }
}

void dl_fast_first_forward(const float *wt, size_t ld, const float *bias, int nh,
                           const float *tab, const uint8_t *const *px, const uint64_t *mask,
                           int nwords, int n, int nb, float *a, size_t lda)
{
    if (nb <= 0 || n <= 0) return;
    int ntiles = (nb + DL_TILE_MAX - 1) / DL_TILE_MAX;
    for (int t = 0; t < ntiles; t++) {
        /* Balanced tiles: an unrolled tile is cheapest per vector when full. */
        int s = nb * t / ntiles, nv = nb * (t + 1) / ntiles - s;
        switch (nv) {
#define CASE(N)                                                                          \
    case N:                                                                              \
        fwd_tile(N, wt, ld, bias, nh, tab, px, mask, nwords, n, s, a, lda);             \
        break;
            CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
            CASE(8) CASE(9) CASE(10) CASE(11) CASE(12) CASE(13)
#undef CASE
        default: break;
        }
    }
}

void dl_fast_dense_forward(const float *w, const float *b, int nin, int nout, const float *a_in,
                           float *a_out)
{
    int full = nin / DL_VW * DL_VW, tail = nin - full;
    int o = 0;
    /* Four rows at a time share the loads of a_in and hide FMA latency. */
    for (; o + 4 <= nout; o += 4) {
        const float *r0 = w + (size_t)o * nin, *r1 = r0 + nin, *r2 = r1 + nin, *r3 = r2 + nin;
        dl_vf s0 = vf_zero(), s1 = vf_zero(), s2 = vf_zero(), s3 = vf_zero();
        for (int k = 0; k < full; k += DL_VW) {
            dl_vf x = vf_load(a_in + k);
            s0 = vf_fmadd(vf_load(r0 + k), x, s0);
            s1 = vf_fmadd(vf_load(r1 + k), x, s1);
            s2 = vf_fmadd(vf_load(r2 + k), x, s2);
            s3 = vf_fmadd(vf_load(r3 + k), x, s3);
        }
        if (tail) {
            dl_vf x = vf_load_n(a_in + full, tail);
            s0 = vf_fmadd(vf_load_n(r0 + full, tail), x, s0);
            s1 = vf_fmadd(vf_load_n(r1 + full, tail), x, s1);
            s2 = vf_fmadd(vf_load_n(r2 + full, tail), x, s2);
            s3 = vf_fmadd(vf_load_n(r3 + full, tail), x, s3);
        }
        a_out[o] = dl_sigmoid(b[o] + vf_hsum(s0));
        a_out[o + 1] = dl_sigmoid(b[o + 1] + vf_hsum(s1));
        a_out[o + 2] = dl_sigmoid(b[o + 2] + vf_hsum(s2));
        a_out[o + 3] = dl_sigmoid(b[o + 3] + vf_hsum(s3));
    }
    for (; o < nout; o++) {
        const float *r = w + (size_t)o * nin;
        dl_vf s = vf_zero();
        for (int k = 0; k < full; k += DL_VW) s = vf_fmadd(vf_load(r + k), vf_load(a_in + k), s);
        if (tail) s = vf_fmadd(vf_load_n(r + full, tail), vf_load_n(a_in + full, tail), s);
        a_out[o] = dl_sigmoid(b[o] + vf_hsum(s));
    }
}

const float *dl_fast_forward_rest(const dl_net *net, const float *a1, float *bufa, float *bufb)
{
    const float *in = a1;
    for (int l = 1; l + 1 < net->nlayers; l++) {
        float *out = (l & 1) ? bufa : bufb;
        dl_fast_dense_forward(net->w[l], net->b[l], net->sizes[l], net->sizes[l + 1], in, out);
        in = out;
    }
    return in;
}
