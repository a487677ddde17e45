/*
 * fast/layers.c — forward-pass pieces of the fast kernels: the sparse
 * first layer over a transposed weight matrix, and dense layers.
 *
 * Not a translation unit of its own: compiled once per SIMD variant by
 * train_fast_<variant>.c (train_fast_variants.h), in the vectors of
 * train_fast_simd.h.  Layouts are those of train_fast_layers.h:
 *     WT [n_in x ld] row-major, WT[k*ld + j] = W[0][j*n_in + k],
 * so a lit pixel k adds x_k * WT[k, :] to every hidden unit's sum in one
 * contiguous pass; a zero pixel adds nothing and is skipped.
 */
#include "../train_fast_layers.h"
#include "../train_fast_simd.h"

/* dl_fast_transpose_in (train_fast_layers.h) in this variant: 8 x 8
 * blocks through registers, a band of 8 rows of WT at a time, so each of
 * its cache lines is written whole while W[0]'s 8-column strip (3 kB)
 * stays in L1.  Element by element, every load touched a new cache line
 * and page of W[0]. */
static void transpose_in(const dl_net *net, float *wt, size_t ld)
{
    int nin = net->sizes[0], nh = net->sizes[1], h8 = nh / 8 * 8;
    const float *w = net->w[0];
    for (int k = 0; k < nin; k += 8) {
        int kn = nin - k < 8 ? nin - k : 8;
        float *rows = wt + (size_t)k * ld;
        if (kn == 8)
            for (int j = 0; j < h8; j += 8) dl_transpose8_f32(w + (size_t)j * nin + k, (size_t)nin, rows + j, ld);
        for (int b = 0; b < kn; b++) {
            float *row = rows + (size_t)b * ld;
            for (int j = kn == 8 ? h8 : 0; j < nh; j++) row[j] = w[(size_t)j * nin + k + b];
            for (size_t j = (size_t)nh; j < ld; j++) row[j] = 0.0f;
        }
    }
}

/* dst[0..ld) = src[0..n) then zeros: a bias padded to WT's row length. */
static void pad_row(const float *src, int n, size_t ld, float *dst)
{
    for (size_t j = 0; j < ld; j++) dst[j] = (int)j < n ? src[j] : 0.0f;
}

/* Splits nvec vectors into balanced register tiles: tile t is
 * [tile_first(t), tile_first(t + 1)).  The unrolled loops are compiled for
 * tiles of 1..7 and 13 vectors only (a 784-100-10 net needs 7 with
 * AVX-512, 13 with 8 lanes), which keeps the build, sanitizers and fuzzing
 * included, a third smaller; an unrolled tile is cheapest per vector when
 * full.  tile_count makes tiles of 13 vectors each, or of at most 7 each.
 * DL_TILE_WIDTHS(X) is X(N) for each of those widths N: the one list for
 * the switches that turn a run-time width into a constant (fwd_word_n
 * here, hidden_delta_tile_n and word_tile_n in train_step.c). */
#define DL_TILE_WIDTHS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(13)
static int tile_count(int nvec) { return nvec % 13 == 0 ? nvec / 13 : (nvec + 6) / 7; }
static int tile_first(int nvec, int ntiles, int t) { return (int)((int64_t)nvec * t / ntiles); }

/* 1 when the last of nvec vectors, which hold nlive units (the vectors
 * before it full), has no unit from lane DL_VW/2 on: the tile that ends
 * there runs that vector as a half (train_fast_simd.h: vh_*). */
static int half_tail(int nvec, int nlive) { return DL_HALF_TAIL && nlive - (nvec - 1) * DL_VW <= DL_VW / 2; }

/* One register tile, nv vectors of hidden units starting at column col
 * (the last a half vector when ht: half_tail),
 * over the 64 pixels of mask word w, for examples i < n:
 *     S_i[col .. col + nv*VW) (+)= Σ_{bit b of mask_i[w]} x_i[64w + b] · WT[64w + b, col ..]
 * in increasing pixel order, x_ik = tab[px_i[k]].  The sum starts from
 * init[col ..] when init is non-NULL (the bias, or zeros), else from S_i as
 * stored (row i of S, stride ss).  Visiting the pixels of one word for all
 * n examples before the next word keeps the word's 64 rows of WT in the L1
 * cache for all of them.
 *
 * One example at a time, over its own lit pixels.  Two examples sharing
 * each row they load, over the union of their pixels (the pairing this
 * replaced, on AVX-512), did a third more multiply-adds: Fashion-MNIST's
 * pairs light 33% more pixels than each alone.  On the Xeon of README's
 * speed section, which sustains about 2.5 vector loads and multiply-adds
 * together a cycle, the loads saved did not pay for them: training is 7%
 * faster this way, and evaluation 13%. */
DL_INLINE void fwd_word(const int nv, const int ht, const float *wt, size_t ld, size_t col, int w,
                        const uint8_t *const *px, const float *tab, const uint64_t *mask,
                        int nwords, int n, const float *init, float *S, size_t ss)
{
    const float *w0 = wt + (size_t)w * 64 * ld + col;
    for (int i = 0; i < n; i++) {
        uint64_t bits = mask[(size_t)i * nwords + w];
        if (!bits && !init) continue;
        float *zi = S + (size_t)i * ss + col;
        const float *fi = init ? init + col : zi;
        const uint8_t *xi = px[i] + (size_t)w * 64;
#define LOAD(c) dl_vf a##c = c < nv ? vf_load(fi + DL_VW * c) : vf_zero();
        DL_REP13(LOAD)
#undef LOAD
        /* The half vector (ht) in a variable of its own type: as a
         * full vector's low half, the compiler moves it at every step. */
        dl_vh ah = vh_zero();
#define HALF(c) \
    if (c < nv && ht && c == nv - 1) ah = vh_from(a##c);
        DL_REP13(HALF)
#undef HALF
        while (bits) {
            int b = __builtin_ctzll(bits);
            bits &= bits - 1;
            const float *row = w0 + (size_t)b * ld;
            dl_vf xa = vf_bcast(tab + xi[b]);
#define FMA1(c)                                              \
    if (c < nv && ht && c == nv - 1)                         \
        ah = vh_fmadd(xa, vh_load(row + DL_VW * c), ah);     \
    else if (c < nv)                                         \
        a##c = vf_fmadd(xa, vf_load(row + DL_VW * c), a##c);
            DL_REP13(FMA1)
#undef FMA1
        }
#define STORE(c) \
    if (c < nv) vf_store(zi + DL_VW * c, ht && c == nv - 1 ? vh_to(ah) : a##c);
        DL_REP13(STORE)
#undef STORE
    }
}

/* fwd_word for a tile of nv vectors known only at run time (tile_count). */
static void fwd_word_n(int nv, int ht, const float *wt, size_t ld, size_t col, int w,
                       const uint8_t *const *px, const float *tab, const uint64_t *mask, int nwords,
                       int n, const float *init, float *S, size_t ss)
{
    switch (nv) {
#define CASE(N)                                                                               \
    case N:                                                                                   \
        if (DL_HALF_TAIL && ht)                                                               \
            fwd_word(N, 1, wt, ld, col, w, px, tab, mask, nwords, n, init, S, ss);            \
        else                                                                                  \
            fwd_word(N, 0, wt, ld, col, w, px, tab, mask, nwords, n, init, S, ss);            \
        break;
        DL_TILE_WIDTHS(CASE)
#undef CASE
    default: break;
    }
}

/* The first layer for n examples (pixel bytes px[i], mask [n x nwords]
 * their lit pixels), all of WT's ld columns, the rows of mask word w read
 * from wt[w % 2] (the same array twice for one whole WT; the training
 * kernel keeps the two parities apart, fast/train.c):
 *     a_i = f(bias + Σ_k x_ik WT[k, :]),  one sum per unit in increasing k,
 * as dl_net_forward orders it, f elementwise (vf_act); for f softmax
 * (the output of a 2-layer net) the sums themselves, which the caller
 * turns into softmax over the units that exist.  nh units exist; bias is
 * padded to ld (zeros past them); a has n rows of lda floats. */
static void first_layer(const float *const wt[2], size_t ld, int nh, const float *bias,
                        const uint8_t *const *px, const uint64_t *mask, int nwords, int n, dl_act f,
                        float *a, size_t lda)
{
    int nvec = (int)(ld / DL_VW), nt = tile_count(nvec), half = half_tail(nvec, nh);
    for (int t = 0; t < nt; t++) {
        int v0 = tile_first(nvec, nt, t), nv = tile_first(nvec, nt, t + 1) - v0, ht = half && t == nt - 1;
        size_t col = (size_t)v0 * DL_VW;
        for (int w = 0; w < nwords; w++)
            fwd_word_n(nv, ht, wt[w & 1], ld, col, w, px, DL_PIXEL_TABLE, mask, nwords, n,
                       w == 0 ? bias : NULL, a, lda);
    }
    if (f == DL_ACT_SOFTMAX) return;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < ld; j += DL_VW) vf_store(a + (size_t)i * lda + j, vf_act(f, vf_load(a + (size_t)i * lda + j)));
}

/* mask [nwords] of the lit pixels of one image, for the words whose
 * parity (w % 2) has its bit set in `parity` (3: all).  The last, short
 * word (784 pixels: 16) goes 16 bytes at a time while it can: pixel by
 * pixel it cost 0.2-0.4% more of a training epoch, on 1 and 2 threads
 * (six paired runs on an Intel Xeon; the masks are the same bits). */
static void lit_mask(const uint8_t *px, size_t npix, int nwords, unsigned parity, uint64_t *mask)
{
    size_t full = npix / 64;
    for (size_t w = 0; w < full; w++)
        if (parity >> (w & 1) & 1) mask[w] = dl_nz64(px + 64 * w);
    if (full < (size_t)nwords && parity >> (full & 1) & 1) {
        const uint8_t *p = px + 64 * full;
        size_t n = npix - 64 * full, b = 0;
        uint64_t m = 0;
        for (; b + 16 <= n; b += 16) m |= (uint64_t)dl_nz16(p + b) << b;
        for (; b < n; b++) m |= (uint64_t)(p[b] != 0) << b;
        mask[full] = m;
    }
}

/* Examples per group in first_forward: their rows of x and a fit in L1. */
#define FWD_GROUP 16

/* dl_fast_first_forward (train_fast_layers.h). */
static dl_status first_forward(const float *wt, size_t ld, const float *bias, int nh,
                               const uint8_t *const *px, size_t npix, int n, float *a, size_t lda)
{
    int nwords = (int)((npix + 63) / 64);
    float *b = malloc(ld * sizeof(float));
    uint64_t *mask = malloc((size_t)FWD_GROUP * (size_t)nwords * sizeof(uint64_t));
    dl_status st = b && mask ? DL_OK : DL_ENOMEM;
    if (st == DL_OK) {
        const float *const rows[2] = {wt, wt};
        pad_row(bias, nh, ld, b);
        for (int g = 0; g < n; g += FWD_GROUP) {
            int m = n - g < FWD_GROUP ? n - g : FWD_GROUP;
            for (int i = 0; i < m; i++) lit_mask(px[g + i], npix, nwords, 3, mask + (size_t)i * nwords);
            first_layer(rows, ld, nh, b, px + g, mask, nwords, m, DL_ACT_SIGMOID, a + (size_t)g * lda, lda);
        }
    }
    free(b);
    free(mask);
    return st;
}

/* A dense layer for one example: a_out[o] = f(b[o] + W[o,:]·a_in),
 * W [nout x nin] row-major (the net's layout).  The dot products run in 8
 * strided partial sums (dl_v8, in every variant), combined pairwise; an
 * elementwise f is the vector one (vf_act), lane by lane alike in every
 * x86 variant, and softmax is dl_act_apply's (scalar, the same in every
 * variant: an output layer is small). */
static void dense_forward(const float *w, const float *b, int nin, int nout, dl_act f,
                          const float *a_in, float *a_out)
{
    int full = nin / 8 * 8, tail = nin - full;
    int o = 0;
    /* Four rows at a time share the loads of a_in and hide FMA latency. */
    for (; o + 4 <= nout; o += 4) {
        const float *r0 = w + (size_t)o * nin, *r1 = r0 + nin, *r2 = r1 + nin, *r3 = r2 + nin;
        dl_v8 s0 = v8_zero(), s1 = v8_zero(), s2 = v8_zero(), s3 = v8_zero();
        for (int k = 0; k < full; k += 8) {
            dl_v8 x = v8_load(a_in + k);
            s0 = v8_fmadd(v8_load(r0 + k), x, s0);
            s1 = v8_fmadd(v8_load(r1 + k), x, s1);
            s2 = v8_fmadd(v8_load(r2 + k), x, s2);
            s3 = v8_fmadd(v8_load(r3 + k), x, s3);
        }
        if (tail) {
            dl_v8 x = v8_load_n(a_in + full, tail);
            s0 = v8_fmadd(v8_load_n(r0 + full, tail), x, s0);
            s1 = v8_fmadd(v8_load_n(r1 + full, tail), x, s1);
            s2 = v8_fmadd(v8_load_n(r2 + full, tail), x, s2);
            s3 = v8_fmadd(v8_load_n(r3 + full, tail), x, s3);
        }
        a_out[o] = b[o] + v8_hsum(s0);
        a_out[o + 1] = b[o + 1] + v8_hsum(s1);
        a_out[o + 2] = b[o + 2] + v8_hsum(s2);
        a_out[o + 3] = b[o + 3] + v8_hsum(s3);
    }
    for (; o < nout; o++) {
        const float *r = w + (size_t)o * nin;
        dl_v8 s = v8_zero();
        for (int k = 0; k < full; k += 8) s = v8_fmadd(v8_load(r + k), v8_load(a_in + k), s);
        if (tail) s = v8_fmadd(v8_load_n(r + full, tail), v8_load_n(a_in + full, tail), s);
        a_out[o] = b[o] + v8_hsum(s);
    }
    if (f == DL_ACT_SOFTMAX) {
        dl_act_apply(f, a_out, a_out, nout);
        return;
    }
    for (o = 0; o < nout; o += DL_VW) {
        int n = nout - o < DL_VW ? nout - o : DL_VW;
        vf_store_n(a_out + o, vf_act(f, vf_load_n(a_out + o, n)), n);
    }
}

/* Layers 1..L-1 after the first, from a1 to the output, through scratch
 * bufa/bufb (each max(sizes[2..L)) floats); returns the output (a1 itself
 * for a 2-layer net).  w[l], b[l] are the layers' parameters. */
static const float *forward_rest(const dl_net *net, float *const *w, float *const *b,
                                 const float *a1, float *bufa, float *bufb)
{
    const float *in = a1;
    for (int l = 1; l + 1 < net->nlayers; l++) {
        float *out = (l & 1) ? bufa : bufb;
        dense_forward(w[l], b[l], net->sizes[l], net->sizes[l + 1], net->act[l], in, out);
        in = out;
    }
    return in;
}
