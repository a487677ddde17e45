/*
 * train_fast.c — the fast training kernel: the reference mini-batch SGD
 * step (train.c, ref_step) with the work that has no effect left out, and
 * the rest vectorised and split between threads.
 *
 * What it computes is exactly ref_step's update:
 *     W[l] ← decay·W[l] − (η/m)·Σ_i δ[l+1]_i a[l]_iᵀ,   b[l] ← b[l] − (η/m)·Σ_i δ[l+1]_i
 * with the same sums in the same order (over the examples of the batch, in
 * batch order), so the two kernels differ only by float rounding: fused
 * multiply-adds, 8-lane partial sums in the small dense layers, and the
 * vector exponential (train_fast_simd.h).
 *
 * Where the time goes, and what is done about it (784-100-10, batch 10):
 *   - The first layer is 99% of the arithmetic.  Its weights are mirrored
 *     transposed, WT [n_in x ld] (train_fast_layers.h), so a non-zero pixel
 *     k costs one contiguous axpy over the hidden units in the forward pass,
 *         z_i += x_ik · WT[k, :],
 *     and one in the update, WT[k, :] ← decay·WT[k, :] − (η/m) Σ_i x_ik δ_i,
 *     where the sum runs only over the images of the batch in which pixel
 *     k is lit (a zero pixel adds nothing to either).  Non-zero pixels come
 *     from 64-bit masks built with byte compares each step, so nothing is
 *     cached per dataset; x_ik comes from a 256-entry table, bit-identical to
 *     dl_dataset_image.
 *   - The network's own W[0] (row-major, in net->params) must hold the exact
 *     weights after every step, because the caller may evaluate or save
 *     between steps.  So each step writes back the 8-pixel column blocks it
 *     changed, with 8x8 register transposes, right after updating them while
 *     they are in cache.  With decay ≠ 1 (L2) every weight changes, so every
 *     block is updated and written back: exact, and slower.
 *   - Threads share each step in two phases of small units that any
 *     thread may claim (train_fast_pool.h).  Forward: one unit per example
 *     (first layer, later layers, backprop down to the first hidden layer,
 *     cost).  Update: one unit per tile of hidden units (that tile's columns
 *     of WT and rows of W[0]) and one for all later layers (their gradients,
 *     summed over the examples in order, and their update).  No unit's
 *     arithmetic depends on who runs it, so the result does not depend on
 *     the thread count: 1, 2 or 13 threads give bit-identical weights.
 *     Thread 0 alone only points at the batch's examples (prefetching
 *     their pixels) and adds the costs; each example's pixel mask is built
 *     by its forward unit, and each thread taking update units builds its
 *     own map of which examples light which pixel.
 *   - When the machine has more busy threads than cores, a helper that is
 *     descheduled mid-unit stalls a whole run; thread 0 measures, and works
 *     alone while that is faster (run_chunk).  Speed only: the arithmetic
 *     is the same.
 *   - A batch longer than CHUNK examples is processed CHUNK at a time,
 *     carrying partial first-layer gradients in G so the sums keep their
 *     order.
 *
 * Contract (train_kernels.h): between steps the caller may read the
 * network but must not change it; a step given a different net re-reads it.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_fast_layers.h"
#include "train_fast_pool.h"
#include "train_fast_simd.h"
#include "train_kernels.h"

/* Examples per pass through the threads; longer batches take several. */
#define CHUNK 64
#define MAX_T 64

typedef struct fast_ctx {
    dl_cost cost_kind;
    int L;               /* layers, input included */
    int nin, nh, nout;   /* sizes[0], sizes[1], sizes[L-1] */
    size_t ld;           /* nh rounded up to a whole vector: row length of WT and G */
    size_t lda;          /* row stride of a1/d1 (ld rounded to a cache line) */
    int nwords;          /* 64-bit mask words per image */
    int T;               /* threads */
    /* Update units are tiles of hidden blocks: tile u is blocks
     * [tile[u], tile[u+1]).  Two splits, the same arithmetic: one tile per
     * thread when the threads work together, and the fewest, widest tiles
     * when thread 0 works alone (see run_chunk). */
    int ntiles, nteam, nsolo;
    int *tile, *team, *solo; /* tile points to team or solo */
    dl_pool *pool;
    dl_work fwd, upd;    /* forward: one unit per example; update: tiles, then later layers */
    long waited;         /* ns thread 0 spent waiting for others in this run */
    long sched;          /* runs into the current probe/exploit cycle (run_chunk) */
    double t_team, t_solo; /* summed ns per example over the probe runs */
    int solo_wins;       /* the last probe found working alone faster */
    const float *params; /* the net->params WT mirrors */
    float tab[256];      /* pixel byte -> input value */

    float *wt;           /* [nin x ld] first-layer weights, transposed (the mirror) */
    float *g;            /* [nin x ld] partial first-layer gradient of a long batch */
    float *gb0;          /* [ld] partial first-layer bias gradient */
    float *a1, *d1;      /* [CHUNK x lda] first hidden layer: activations, deltas */
    uint64_t *mask;      /* [CHUNK x nwords] lit pixels of each example */
    uint64_t *pend;      /* [nwords] pixels with a partial sum in g from earlier chunks */
    /* Per thread t (built by each thread that takes an update unit):
     * lit + t*nwords: pixels lit in any example of the chunk;
     * pm + t*pmsize:  bit i of pm[q*nin + k] set when example 8q+i lights pixel k. */
    uint64_t *lit;       /* [(T+1) x nwords]; row T is thread 0's after the run */
    uint8_t *pm;
    size_t pmsize;       /* CHUNK/8 x nin */
    float *deep;         /* a[l], d[l] for l = 2..L-1, each [CHUNK x sizes[l]] */
    size_t deep_off[DL_MAX_LAYERS]; /* offset of a[l] in deep; d[l] follows it */
    float *grest;        /* gradient of layers >= 1, laid out like params from W[1] on */
    float *y;            /* [MAX_T x ynext] per-thread target scratch for the cost */
    size_t ynext;
    double cost[CHUNK];  /* each example's cost */

    /* The current chunk (set by thread 0 before each pool run). */
    dl_net *net;
    const uint8_t *px[CHUNK];
    uint8_t lab[CHUNK];
    float *drow[CHUNK];  /* d1 row of each example */
    int cm;              /* examples in this chunk */
    int first, last;     /* first / last chunk of the batch */
    float r, decay;      /* η/m, weight decay factor */
} fast_ctx;

static void fast_free(void *kv)
{
    fast_ctx *k = kv;
    if (!k) return;
    dl_pool_free(k->pool);
    free(k->team);
    free(k->solo);
    free(k->wt);
    free(k->g);
    free(k->gb0);
    free(k->a1);
    free(k->d1);
    free(k->mask);
    free(k->lit);
    free(k->pend);
    free(k->pm);
    free(k->deep);
    free(k->grest);
    free(k->y);
    free(k);
}

/* 64-byte aligned, zeroed; sizes are rounded up to the alignment as
 * aligned_alloc requires. */
static void *alloc_zero(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, n ? n : 64);
    if (p) memset(p, 0, n ? n : 64);
    return p;
}

static void *fast_new(const dl_net *net, dl_cost cost, int threads, dl_err *e)
{
    fast_ctx *k = calloc(1, sizeof *k);
    if (!k) goto oom;
    k->cost_kind = cost;
    k->L = net->nlayers;
    k->nin = net->sizes[0];
    k->nh = net->sizes[1];
    k->nout = net->sizes[net->nlayers - 1];
    k->ld = dl_vround((size_t)k->nh);
    k->lda = (k->ld + 15) / 16 * 16;
    k->nwords = (k->nin + 63) / 64;
    dl_fast_xtable(k->tab);

    /* More threads than hidden blocks would have nothing to do. */
    int nb = (int)(k->ld / DL_VW);
    int want = threads < 1 ? 1 : threads;
    if (want > nb) want = nb;
    if (want > MAX_T) want = MAX_T;
    k->pool = dl_pool_new(want, e);
    if (!k->pool) goto fail;
    k->T = dl_pool_threads(k->pool);
    /* One tile per thread (or more, none wider than a register tile). */
    k->nsolo = (nb + DL_TILE_MAX - 1) / DL_TILE_MAX;
    k->nteam = k->T > k->nsolo ? k->T : k->nsolo;
    k->team = malloc(((size_t)k->nteam + 1) * sizeof(int));
    k->solo = malloc(((size_t)k->nsolo + 1) * sizeof(int));
    if (!k->team || !k->solo) goto oom;
    for (int u = 0; u <= k->nteam; u++) k->team[u] = (int)((int64_t)nb * u / k->nteam);
    for (int u = 0; u <= k->nsolo; u++) k->solo[u] = (int)((int64_t)nb * u / k->nsolo);

    size_t nw = (size_t)k->nin * k->ld;
    k->wt = alloc_zero(nw * sizeof(float));
    k->g = alloc_zero(nw * sizeof(float));
    k->gb0 = alloc_zero(k->ld * sizeof(float));
    k->a1 = alloc_zero(CHUNK * k->lda * sizeof(float));
    k->d1 = alloc_zero(CHUNK * k->lda * sizeof(float));
    k->mask = alloc_zero((size_t)CHUNK * k->nwords * sizeof(uint64_t));
    k->lit = alloc_zero(((size_t)k->T + 1) * k->nwords * sizeof(uint64_t));
    k->pend = alloc_zero((size_t)k->nwords * sizeof(uint64_t));
    k->pmsize = (size_t)(CHUNK / 8) * (size_t)k->nin;
    k->pm = alloc_zero((size_t)k->T * k->pmsize);
    k->ynext = dl_vround((size_t)k->nout) + 16; /* a cache line apart */
    k->y = alloc_zero((size_t)MAX_T * k->ynext * sizeof(float));
    if (!k->wt || !k->g || !k->gb0 || !k->a1 || !k->d1 || !k->mask || !k->lit || !k->pend ||
        !k->pm || !k->y)
        goto oom;
    size_t deep = 0;
    for (int l = 2; l < k->L; l++) {
        k->deep_off[l] = deep;
        deep += 2 * (size_t)CHUNK * net->sizes[l];
    }
    if (!(k->deep = alloc_zero(deep * sizeof(float)))) goto oom;
    size_t rest = net->nlayers > 2 ? net->nparams - dl_net_woff(net, 1) : 0;
    k->grest = alloc_zero(rest * sizeof(float));
    if (!k->grest) goto oom;

    dl_fast_transpose_in(net, k->wt, k->ld);
    k->params = net->params;
    return k;
oom:
    dl_err_set(e, DL_ENOMEM, "out of memory for training buffers");
fail:
    fast_free(k);
    return NULL;
}

/* ---- per-thread phases ------------------------------------------------- */

/* Output-layer delta for one example: ∂C/∂z = (a − y)·σ'(z) (quadratic) or
 * a − y (cross-entropy), as dl_net_backprop computes it. */
static void output_delta(dl_cost cost, const float *a, int label, int j0, int j1, float *d)
{
    for (int j = j0; j < j1; j++) {
        float aj = a[j], dj = aj - (j == label ? 1.0f : 0.0f);
        d[j] = cost == DL_COST_CROSS_ENTROPY ? dj : dj * aj * (1.0f - aj);
    }
}

/* d_in[c0..c1) = (W[:, c]ᵀ d_out) ⊙ a_in(1 − a_in) for one example;
 * W [nout x nin] row-major; c0 a multiple of 8.  Sums over the outputs in
 * order, as dl_net_backprop does; columns >= nin (padding) get zero. */
static void hidden_delta(const float *w, int nin, int nout, const float *d_out, const float *a_in,
                         int c0, int c1, float *d_in)
{
    for (int c = c0; c < c1; c += 4 * DL_VW) {
        dl_vf s[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};
        int nv = (c1 - c + DL_VW - 1) / DL_VW;
        if (nv > 4) nv = 4;
        for (int o = 0; o < nout; o++) {
            dl_vf dv = vf_bcast(d_out + o);
            const float *row = w + (size_t)o * nin;
            for (int v = 0; v < nv; v++) {
                int j = c + v * DL_VW, n = nin - j;
                dl_vf wv = n >= DL_VW ? vf_load(row + j) : vf_load_n(row + j, n > 0 ? n : 0);
                s[v] = vf_fmadd(wv, dv, s[v]);
            }
        }
        for (int v = 0; v < nv; v++) {
            int j = c + v * DL_VW, n = nin - j;
            dl_vf a = vf_load(a_in + j);
            dl_vf sp = vf_mul(a, vf_sub(vf_set1(1.0f), a));
            dl_vf dv = vf_mul(s[v], sp);
            if (n < DL_VW) dv = vf_keep_n(dv, n > 0 ? n : 0);
            if (j + DL_VW <= c1) vf_store(d_in + j, dv);
            else vf_store_n(d_in + j, dv, c1 - j);
        }
    }
}

/* Scalar version for the small dense layers (any widths). */
static void hidden_delta_scalar(const float *w, int nin, int nout, const float *d_out,
                                const float *a_in, float *d_in)
{
    for (int k = 0; k < nin; k++) d_in[k] = 0.0f;
    for (int o = 0; o < nout; o++) {
        const float *row = w + (size_t)o * nin;
        for (int k = 0; k < nin; k++) d_in[k] += row[k] * d_out[o];
    }
    for (int k = 0; k < nin; k++) d_in[k] *= a_in[k] * (1.0f - a_in[k]);
}

/* Example i's activations and deltas of layer l >= 2. */
static float *deep_a(const fast_ctx *k, int l, int i, const dl_net *net)
{
    return k->deep + k->deep_off[l] + (size_t)i * net->sizes[l];
}

static float *deep_d(const fast_ctx *k, int l, int i, const dl_net *net)
{
    return k->deep + k->deep_off[l] + (size_t)(CHUNK + i) * net->sizes[l];
}

/* Pixel `pix`'s first-layer update on nv vectors of hidden units from
 * block s:  acc = (carried G) + Σ_{i lights pix} x_i,pix δ_i  (examples in
 * order), then WT ← decay·WT − r·acc on the last chunk, else G ← acc. */
DL_INLINE void pixel_tile(const int nv, const fast_ctx *k, const uint8_t *pm, size_t pix, int s,
                          int carried)
{
    size_t off = pix * k->ld + (size_t)s * DL_VW;
    const float *g = k->g + off;
#define DECL(c) dl_vf s##c = vf_zero();
    DL_REP13(DECL)
#undef DECL
#define INIT(c) \
    if (c < nv && carried) s##c = vf_load(g + DL_VW * c);
    DL_REP13(INIT)
#undef INIT
    /* One loop over all the examples lighting the pixel: its exit is the
     * one hard-to-predict branch per pixel. */
    uint64_t bits = 0;
    for (int q = 0; q * 8 < k->cm; q++) bits |= (uint64_t)pm[(size_t)q * (size_t)k->nin + pix] << (8 * q);
    while (bits) {
        int i = __builtin_ctzll(bits);
        bits &= bits - 1;
        dl_vf x = vf_bcast(k->tab + k->px[i][pix]);
        const float *d = k->drow[i] + (size_t)s * DL_VW;
#define FMA(c) \
    if (c < nv) s##c = vf_fmadd(x, vf_load(d + DL_VW * c), s##c);
        DL_REP13(FMA)
#undef FMA
    }
    if (k->last) {
        dl_vf r = vf_set1(k->r), dec = vf_set1(k->decay);
        float *w = k->wt + off;
#define APPLY(c) \
    if (c < nv) vf_store(w + DL_VW * c, vf_fnmadd(r, s##c, vf_mul(dec, vf_load(w + DL_VW * c))));
        DL_REP13(APPLY)
#undef APPLY
    } else {
        float *gw = k->g + off;
#define KEEP(c) \
    if (c < nv) vf_store(gw + DL_VW * c, s##c);
        DL_REP13(KEEP)
#undef KEEP
    }
}

/* Writes pixel block kb of WT back to the net for hidden blocks [b0, b1):
 * W[0][j][kb*8 + p] = WT[kb*8 + p][j]; np pixels in the block. */
static void write_back(const fast_ctx *k, float *w0, int kb, int np, int b0, int b1)
{
    int nin = k->nin, nh = k->nh;
    const float *src = k->wt + (size_t)kb * 8 * k->ld;
    for (int b = b0; b < b1; b++) {
        int rows = nh - b * DL_VW < DL_VW ? nh - b * DL_VW : DL_VW;
        float *dst = w0 + (size_t)b * DL_VW * nin + (size_t)kb * 8;
        if (np == 8 && rows == 8) {
            dl_transpose8(src + (size_t)b * DL_VW, k->ld, dst, (size_t)nin);
        } else {
            for (int r = 0; r < rows; r++)
                for (int p = 0; p < np; p++)
                    dst[(size_t)r * nin + p] = src[(size_t)p * k->ld + (size_t)b * DL_VW + r];
        }
    }
}

/* The first-layer weights of one tile (nv vectors of hidden units from
 * block s): every touched pixel, block of 8 pixels by block, each block
 * written back to W[0] while it is still in cache. */
DL_INLINE void update_tile(const int nv, fast_ctx *k, const uint8_t *pm, const uint64_t *litmap,
                           int s)
{
    int nin = k->nin;
    int all = k->last && k->decay != 1.0f; /* L2: every weight moves */
    for (int kb = 0; kb * 8 < nin; kb++) {
        int w = kb / 8, sh = (kb % 8) * 8;
        unsigned lit = (unsigned)(litmap[w] >> sh) & 0xFF, pend = (unsigned)(k->pend[w] >> sh) & 0xFF;
        unsigned touch = all ? 0xFF : (lit | (k->last ? pend : 0));
        if (!touch) continue;
        int np = nin - kb * 8 < 8 ? nin - kb * 8 : 8;
        for (int p = 0; p < np; p++)
            if (touch >> p & 1) pixel_tile(nv, k, pm, (size_t)kb * 8 + p, s, (int)(pend >> p & 1));
        if (k->last) write_back(k, k->net->w[0], kb, np, s, s + nv);
    }
}

/* First-layer weights and biases of hidden blocks [b0, b1), one register
 * tile (b1 - b0 <= DL_TILE_MAX): accumulate (a long batch's earlier
 * chunks) or apply (its last chunk). */
static void update_first(fast_ctx *k, const uint8_t *pm, const uint64_t *lit, int b0, int b1)
{
    dl_net *net = k->net;
    int nh = k->nh;
    int j0 = b0 * DL_VW, j1 = b1 * DL_VW < nh ? b1 * DL_VW : nh;
    /* Biases: Σ_i δ_ij in example order, as ref_step sums them. */
    for (int j = j0; j < j1; j++) {
        float s = k->first ? 0.0f : k->gb0[j];
        for (int i = 0; i < k->cm; i++) s += k->drow[i][j];
        if (k->last) net->b[0][j] -= k->r * s;
        else k->gb0[j] = s;
    }
    switch (b1 - b0) {
#define CASE(N)                                                                          \
    case N:                                                                              \
        update_tile(N, k, pm, lit, b0);                                                  \
        break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
        CASE(8) CASE(9) CASE(10) CASE(11) CASE(12) CASE(13)
#undef CASE
    default: break;
    }
}

/* Update unit for the later layers: adds this chunk's gradients of layers
 * >= 1 to grest, example by example in order (the reference's summation
 * order). */
static void accumulate_rest(fast_ctx *k, const dl_net *net)
{
    size_t base = dl_net_woff(net, 1);
    for (int l = 1; l + 1 < k->L; l++) {
        int nin = net->sizes[l], nout = net->sizes[l + 1];
        float *gw = k->grest + (dl_net_woff(net, l) - base);
        float *gb = k->grest + (dl_net_boff(net, l) - base);
        for (int o = 0; o < nout; o++) {
            float *g = gw + (size_t)o * nin;
            for (int c = 0; c < nin; c += DL_VW) {
                int n = nin - c < DL_VW ? nin - c : DL_VW;
                dl_vf s = n == DL_VW ? vf_load(g + c) : vf_load_n(g + c, n);
                for (int i = 0; i < k->cm; i++) {
                    const float *a = l == 1 ? k->a1 + (size_t)i * k->lda : deep_a(k, l, i, net);
                    dl_vf av = n == DL_VW ? vf_load(a + c) : vf_load_n(a + c, n);
                    s = vf_fmadd(vf_bcast(deep_d(k, l + 1, i, net) + o), av, s);
                }
                if (n == DL_VW) vf_store(g + c, s);
                else vf_store_n(g + c, s, n);
            }
            float sb = gb[o];
            for (int i = 0; i < k->cm; i++) sb += deep_d(k, l + 1, i, net)[o];
            gb[o] = sb;
        }
    }
}

static void apply_rest(fast_ctx *k, dl_net *net, float r, float decay)
{
    size_t base = dl_net_woff(net, 1);
    for (int l = 1; l + 1 < k->L; l++) {
        size_t nw = (size_t)net->sizes[l + 1] * net->sizes[l];
        float *w = net->w[l];
        const float *g = k->grest + (dl_net_woff(net, l) - base);
        for (size_t i = 0; i < nw; i++) w[i] = decay * w[i] - r * g[i];
        const float *gb = k->grest + (dl_net_boff(net, l) - base);
        for (int j = 0; j < net->sizes[l + 1]; j++) net->b[l][j] -= r * gb[j];
    }
}

/* Forward unit: example i through the whole net and back down to the
 * first hidden layer's deltas; its cost.  y is this thread's scratch. */
static void example_unit(fast_ctx *k, int i, float *y)
{
    const dl_net *net = k->net;
    int nb = (int)(k->ld / DL_VW);
    float *a1 = k->a1 + (size_t)i * k->lda, *d1 = k->drow[i];
    uint64_t *mask = k->mask + (size_t)i * k->nwords;
    dl_fast_nzmask(k->px[i], (size_t)k->nin, mask);
    dl_fast_first_forward(k->wt, k->ld, net->b[0], k->nh, k->tab, k->px[i], mask, k->nwords, 0, nb,
                          a1);
    const float *out = a1;
    if (k->L == 2) {
        /* The first layer is the output layer. */
        output_delta(k->cost_kind, a1, k->lab[i], 0, k->nh, d1);
        for (size_t j = (size_t)k->nh; j < k->ld; j++) d1[j] = 0.0f;
    } else {
        for (int l = 1; l + 1 < k->L; l++) {
            float *o = deep_a(k, l + 1, i, net);
            dl_fast_dense_forward(net->w[l], net->b[l], net->sizes[l], net->sizes[l + 1], out, o);
            out = o;
        }
        output_delta(k->cost_kind, out, k->lab[i], 0, k->nout, deep_d(k, k->L - 1, i, net));
        for (int l = k->L - 2; l >= 2; l--)
            hidden_delta_scalar(net->w[l], net->sizes[l], net->sizes[l + 1], deep_d(k, l + 1, i, net),
                                deep_a(k, l, i, net), deep_d(k, l, i, net));
        hidden_delta(net->w[1], k->nh, net->sizes[2], deep_d(k, 2, i, net), a1, 0, (int)k->ld, d1);
    }
    memset(y, 0, (size_t)k->nout * sizeof(float));
    y[k->lab[i]] = 1.0f;
    k->cost[i] = dl_cost_value(k->cost_kind, out, y, k->nout);
}

/* Which pixels the chunk's examples light, for the update: lit (any
 * example) and pm (which examples, one byte per 8 examples per pixel),
 * from the examples' pixel bytes and masks. */
static void light_maps(const fast_ctx *k, uint8_t *pm, uint64_t *lit)
{
    for (int w = 0; w < k->nwords; w++) {
        uint64_t u = 0;
        for (int i = 0; i < k->cm; i++) u |= k->mask[(size_t)i * k->nwords + w];
        lit[w] = u;
    }
    if (!pm) return;
    size_t n32 = (size_t)k->nin / 32 * 32;
    for (int q = 0; q * 8 < k->cm; q++) {
        int n = k->cm - q * 8 < 8 ? k->cm - q * 8 : 8;
        const uint8_t *const *rows = k->px + q * 8;
        uint8_t *out = pm + (size_t)q * k->nin;
        for (size_t p = 0; p < n32; p += 32) dl_lit32(rows, n, p, out + p);
        for (size_t p = n32; p < (size_t)k->nin; p++) {
            unsigned v = 0;
            for (int i = 0; i < n; i++) v |= (unsigned)(rows[i][p] != 0) << i;
            out[p] = (uint8_t)v;
        }
    }
}

/* What every thread of a run does for one chunk (thread 0 alone could do
 * it all: train_fast_pool.h). */
static void chunk_job(void *kv, int t)
{
    fast_ctx *k = kv;
    int u;
    /* 1. Examples, forward and back. */
    while ((u = dl_work_claim(&k->fwd)) >= 0) {
        example_unit(k, u, k->y + (size_t)t * k->ynext);
        dl_work_finish(&k->fwd);
    }
    /* 2. The updates need every example's deltas. */
    long w = dl_work_wait(&k->fwd);
    if (t == 0) k->waited += w;
    /* 3. Tiles of the first layer; the later layers as one last unit (no
     * update unit reads them any more, so they may change now). */
    uint8_t *pm = k->pm + (size_t)t * k->pmsize;
    uint64_t *lit = k->lit + (size_t)t * k->nwords;
    int maps = 0;
    while ((u = dl_work_claim(&k->upd)) >= 0) {
        if (u < k->ntiles) {
            if (!maps) light_maps(k, pm, lit); /* each thread its own: no wait */
            maps = 1;
            update_first(k, pm, lit, k->tile[u], k->tile[u + 1]);
        } else {
            accumulate_rest(k, k->net);
            if (k->last) apply_rest(k, k->net, k->r, k->decay);
        }
        dl_work_finish(&k->upd);
    }
    if (t == 0) k->waited += dl_work_wait(&k->upd);
}

/* ---- thread 0 alone ---------------------------------------------------- */

/* The chunk's examples, and a prefetch of their pixels: they are scattered
 * through the dataset, so ask for all their cache lines at once rather
 * than one miss at a time. */
static void prepare_chunk(fast_ctx *k, const dl_dataset *d, const uint32_t *idx, int cm)
{
    k->cm = cm;
    for (int i = 0; i < cm; i++) {
        k->px[i] = d->pixels + (size_t)idx[i] * d->npix;
        k->lab[i] = d->labels[idx[i]];
        k->drow[i] = k->d1 + (size_t)i * k->lda;
        for (size_t o = 0; o < d->npix; o += 64) __builtin_prefetch(k->px[i] + o);
    }
}

/* Working together is not always faster: when the machine has more busy
 * threads than cores, a helper descheduled mid-unit stalls a run for a
 * whole time slice (milliseconds, against tens of microseconds of work).
 * So thread 0 keeps measuring: PROBE runs as a team, PROBE runs alone,
 * then EXPLOIT runs the faster way, and again; a stall during a team
 * stretch ends it at once.  Only speed depends on this choice: the units'
 * arithmetic is the same either way (train_fast_pool.h). */
#define PROBE 64
#define EXPLOIT 4096
#define STALL_NS 300000L

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void run_chunk(fast_ctx *k)
{
    /* Schedule: runs [0, PROBE) team, [PROBE, 2 PROBE) alone, then exploit. */
    int alone;
    if (k->T == 1) alone = 1;
    else if (k->sched < PROBE) alone = 0;
    else if (k->sched < 2 * PROBE) alone = 1;
    else alone = k->solo_wins;
    k->tile = alone ? k->solo : k->team;
    k->ntiles = alone ? k->nsolo : k->nteam;
    dl_work_reset(&k->fwd, k->cm);
    dl_work_reset(&k->upd, k->ntiles + (k->L > 2));
    k->waited = 0;
    if (k->T == 1) {
        chunk_job(k, 0);
        return;
    }
    double t0 = now_ns();
    if (alone) chunk_job(k, 0);
    else k->waited += dl_pool_run(k->pool, chunk_job, k);
    double per = (now_ns() - t0) / k->cm;
    if (k->sched < PROBE) k->t_team += per;
    else if (k->sched < 2 * PROBE) k->t_solo += per;
    k->sched++;
    if (k->sched == 2 * PROBE) {
        k->solo_wins = k->t_solo < k->t_team;
        k->t_team = k->t_solo = 0.0;
    }
    if (k->sched >= 2 * PROBE + EXPLOIT || (!alone && k->sched > 2 * PROBE && k->waited > STALL_NS))
        k->sched = 0;
}

static double fast_step(void *kv, dl_net *net, const dl_dataset *d, const uint32_t *idx, int m,
                        float eta, float decay)
{
    fast_ctx *k = kv;
    if (m <= 0) return 0.0;
    if (net->params != k->params) {
        dl_fast_transpose_in(net, k->wt, k->ld);
        k->params = net->params;
    }
    k->net = net;
    k->r = eta / (float)m;
    k->decay = decay;
    if (k->L > 2) {
        size_t rest = net->nparams - dl_net_woff(net, 1);
        memset(k->grest, 0, rest * sizeof(float));
    }
    memset(k->pend, 0, (size_t)k->nwords * sizeof(uint64_t));
    double cost = 0.0;
    for (int c0 = 0; c0 < m; c0 += CHUNK) {
        int cm = m - c0 < CHUNK ? m - c0 : CHUNK;
        k->first = c0 == 0;
        k->last = c0 + cm == m;
        prepare_chunk(k, d, idx + c0, cm);
        run_chunk(k);
        for (int i = 0; i < cm; i++) cost += k->cost[i]; /* in order, as ref_step adds them */
        if (!k->last) {
            uint64_t *lit = k->lit + (size_t)k->T * k->nwords;
            light_maps(k, NULL, lit);
            for (int w = 0; w < k->nwords; w++) k->pend[w] |= lit[w];
        }
    }
    return cost;
}

static const dl_kernel_ops fast_ops = {fast_new, fast_step, fast_free};

const dl_kernel_ops *dl_kernel_fast(void) { return &fast_ops; }
