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
 *     transposed, pixel-major (train_fast_layers.h), so a non-zero pixel k
 *     costs one contiguous axpy over the hidden units in the forward pass,
 *         z_i += x_ik · WT[k, :],
 *     and one in the update, WT[k, :] ← decay·WT[k, :] − (η/m) Σ_i x_ik δ_i,
 *     where the sum runs only over the examples of the batch in which pixel
 *     k is lit (a zero pixel adds nothing to either).  Lit pixels come from
 *     64-bit masks built with byte compares each step, so nothing is cached
 *     per dataset; x_ik comes from a 256-entry table, bit-identical to
 *     dl_dataset_image.  The forward pass takes all the batch's examples
 *     64 pixels at a time, so each row of WT is read into L1 once per batch
 *     rather than once per example; the update visits each touched row once.
 *   - The network's own W[0] (row-major, in net->params) must hold the exact
 *     weights after every step, because the caller may evaluate or save
 *     between steps.  So each step writes back the 8-pixel column blocks it
 *     changed, with 8x8 register transposes, right after updating them while
 *     they are in cache.  With decay ≠ 1 (L2) every weight changes, so every
 *     block is updated and written back: exact, and slower.
 *   - Threads split the hidden units into tiles, and each tile has arrays of
 *     its own (its columns of WT, its slices of the activations and deltas),
 *     owned by one thread from step to step (dl_work_claim_own) and written
 *     back to that tile's rows of W[0].  Separate arrays, not column ranges
 *     of shared rows: two cores writing the two halves of the same rows
 *     ran slower together than one core alone (adjacent cache lines
 *     bounced between them).  Per step: the first layer forward, tile by
 *     tile; then every thread runs the small later layers for every example
 *     (the same numbers everywhere: cheaper than another hand-off),
 *     backpropagates to its tiles and updates them; thread 0 finally updates
 *     the later layers and adds the costs.  No tile's arithmetic depends on
 *     who runs it, so the result does not depend on the thread count: 1, 2
 *     or 13 threads give bit-identical weights.
 *   - When the machine has more busy threads than cores, a helper that is
 *     descheduled mid-tile stalls a whole run; thread 0 measures, and works
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
#include <stdatomic.h>
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
/* Runs timed as a team and alone before choosing (run_chunk). */
#define PROBE 64

/* A tile: hidden units [j0, j0 + width), and everything of the first layer
 * that only they touch.  Each array is its own allocation. */
typedef struct tile {
    int j0, width;       /* first hidden unit, units (a multiple of 8) */
    int nvalid;          /* units that exist: min(width, nh - j0) */
    size_t ld;           /* row length of the arrays: width rounded up to 16 (a cache line) */
    float *wt;           /* [nin x ld] WT[k][j - j0] = W[0][j][k] */
    float *g;            /* [nin x ld] partial first-layer gradient of a long batch */
    float *gb;           /* [ld] partial bias gradient */
    float *a1, *d1;      /* [CHUNK x ld] activations and deltas of these units */
} tile;

typedef struct fast_ctx {
    dl_cost cost_kind;
    int L;               /* layers, input included */
    int nin, nh, nout;   /* sizes[0], sizes[1], sizes[L-1] */
    size_t lda;          /* row length of a gathered a1: nh rounded up to 8 */
    int nwords;          /* 64-bit mask words per example */
    int T;               /* threads */
    int active;          /* threads taking part in this run: T, or 1 alone */
    int ntiles;
    tile *tiles;         /* [ntiles]; tile u belongs to thread u % T */
    atomic_uchar *taken; /* [2 x ntiles] claim flags of fwd and upd */
    dl_pool *pool;
    /* The forward pass and the update, tile by tile: written by every
     * thread during a run, so on cache lines of their own, away from the
     * fields the inner loops read. */
    _Alignas(64) dl_work fwd;
    _Alignas(64) dl_work upd;
    _Alignas(64) long waited; /* ns thread 0 spent waiting for others in this run */
    long sched;          /* runs into the current probe/exploit cycle (run_chunk) */
    double probe[2][PROBE]; /* ns per example of the probe runs: [0] team, [1] alone */
    int solo_wins;       /* the last probe found working alone faster */
    const float *params; /* the net->params the tiles mirror */
    _Alignas(64) float tab[256]; /* pixel byte -> input value */
    uint64_t *pend;      /* [nwords] pixels with a partial sum in g from earlier chunks */

    /* Per thread t, each block a whole number of cache lines:
     *   mask + t*maskn: [CHUNK x nwords] lit pixels of each example;
     *   lit + t*litn:   pixels lit in any example of the chunk;
     *   pm + t*pmn:     bit i of pm[q*nin + k] set when example 8q+i lights pixel k;
     *   a1 + t*a1n:     [CHUNK x lda] a1 gathered from the tiles;
     *   deep + t*deepn: a[l], d[l] for l = 2..L-1, each [CHUNK x sizes[l]];
     *   y + t*yn:       a target vector (for the costs, which thread 0 adds). */
    uint64_t *mask, *lit;
    uint8_t *pm;
    float *a1, *deep, *y;
    size_t maskn, litn, pmn, a1n, deepn, yn;
    size_t deep_off[DL_MAX_LAYERS]; /* offset of a[l] in a thread's deep; d[l] follows it */
    float *grest;        /* gradient of layers >= 1, laid out like params from W[1] on */

    /* The current chunk (set by thread 0 before each pool run). */
    dl_net *net;
    const uint8_t *px[CHUNK];
    uint8_t lab[CHUNK];
    int cm;              /* examples in this chunk */
    int first, last;     /* first / last chunk of the batch */
    float r, decay;      /* η/m, weight decay factor */
    double step_cost;    /* the batch's summed cost so far (thread 0) */
} fast_ctx;

static void fast_free(void *kv)
{
    fast_ctx *k = kv;
    if (!k) return;
    dl_pool_free(k->pool);
    for (int u = 0; k->tiles && u < k->ntiles; u++) {
        free(k->tiles[u].wt);
        free(k->tiles[u].g);
        free(k->tiles[u].gb);
        free(k->tiles[u].a1);
        free(k->tiles[u].d1);
    }
    free(k->tiles);
    free(k->taken);
    free(k->pend);
    free(k->mask);
    free(k->lit);
    free(k->pm);
    free(k->a1);
    free(k->deep);
    free(k->y);
    free(k->grest);
    free(k);
}

/* Zeroed, 64-byte aligned, with a spare line at the end so that no two
 * arrays share a cache line or its prefetch pair. */
static void *alloc_zero(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64 + 128;
    void *p = aligned_alloc(64, n);
    if (p) memset(p, 0, n);
    return p;
}

/* Copies W[0] into the tiles' transposed arrays (padding columns zero). */
static void load_tiles(fast_ctx *k, const dl_net *net)
{
    for (int u = 0; u < k->ntiles; u++) {
        tile *tl = &k->tiles[u];
        for (int p = 0; p < k->nin; p++) {
            float *row = tl->wt + (size_t)p * tl->ld;
            for (int j = 0; j < tl->nvalid; j++) row[j] = net->w[0][(size_t)(tl->j0 + j) * k->nin + p];
            for (size_t j = (size_t)tl->nvalid; j < tl->ld; j++) row[j] = 0.0f;
        }
    }
}

static void *fast_new(const dl_net *net, const dl_sgd *sgd, int threads, dl_err *e)
{
    /* Its arithmetic is σ's, the two chapter-1/3 costs and plain SGD only. */
    if (!dl_net_all_sigmoid(net) || sgd->cost == DL_COST_LOG_LIKELIHOOD || sgd->momentum > 0.0f ||
        sgd->dropout > 0.0f) {
        dl_err_set(e, DL_EINVAL, "the fast kernel trains sigmoid networks with the quadratic or cross-entropy "
                   "cost, without momentum or dropout, only (use the reference kernel)");
        return NULL;
    }
    fast_ctx *k = alloc_zero(sizeof *k);
    if (!k) goto oom;
    k->cost_kind = sgd->cost;
    k->L = net->nlayers;
    k->nin = net->sizes[0];
    k->nh = net->sizes[1];
    k->nout = net->sizes[net->nlayers - 1];
    k->lda = dl_vround((size_t)k->nh);
    k->nwords = (k->nin + 63) / 64;
    dl_fast_xtable(k->tab);

    /* One tile per thread, none wider than a register tile; more threads
     * than blocks of 8 hidden units would have nothing to do. */
    int nb = (k->nh + DL_VW - 1) / DL_VW;
    int want = threads < 1 ? 1 : threads;
    if (want > nb) want = nb;
    if (want > MAX_T) want = MAX_T;
    k->pool = dl_pool_new(want, e);
    if (!k->pool) goto fail;
    k->T = dl_pool_threads(k->pool);
    k->ntiles = k->T;
    while ((nb + k->ntiles - 1) / k->ntiles > DL_TILE_MAX) k->ntiles++;
    k->tiles = alloc_zero((size_t)k->ntiles * sizeof *k->tiles);
    k->taken = alloc_zero(2 * (size_t)k->ntiles * sizeof(atomic_uchar));
    if (!k->tiles || !k->taken) goto oom;
    for (int u = 0; u < k->ntiles; u++) {
        tile *tl = &k->tiles[u];
        int b0 = (int)((int64_t)nb * u / k->ntiles), b1 = (int)((int64_t)nb * (u + 1) / k->ntiles);
        tl->j0 = b0 * DL_VW;
        tl->width = (b1 - b0) * DL_VW;
        tl->nvalid = k->nh - tl->j0 < tl->width ? k->nh - tl->j0 : tl->width;
        tl->ld = ((size_t)tl->width + 15) / 16 * 16;
        tl->wt = alloc_zero((size_t)k->nin * tl->ld * sizeof(float));
        tl->g = alloc_zero((size_t)k->nin * tl->ld * sizeof(float));
        tl->gb = alloc_zero(tl->ld * sizeof(float));
        tl->a1 = alloc_zero(CHUNK * tl->ld * sizeof(float));
        tl->d1 = alloc_zero(CHUNK * tl->ld * sizeof(float));
        if (!tl->wt || !tl->g || !tl->gb || !tl->a1 || !tl->d1) goto oom;
    }

    k->pend = alloc_zero((size_t)k->nwords * sizeof(uint64_t));
    /* Per-thread blocks: whole cache lines plus one spare (no sharing). */
    k->maskn = ((size_t)CHUNK * k->nwords + 15) / 8 * 8;
    k->litn = ((size_t)k->nwords + 15) / 8 * 8;
    k->pmn = ((size_t)(CHUNK / 8) * (size_t)k->nin + 127) / 64 * 64;
    k->a1n = (CHUNK * k->lda + 31) / 16 * 16;
    k->yn = (dl_vround((size_t)k->nout) + 31) / 16 * 16;
    size_t deep = 0;
    for (int l = 2; l < k->L; l++) {
        k->deep_off[l] = deep;
        deep += 2 * (size_t)CHUNK * net->sizes[l];
    }
    k->deepn = (deep + 31) / 16 * 16;
    size_t T = (size_t)k->T;
    k->mask = alloc_zero(T * k->maskn * sizeof(uint64_t));
    k->lit = alloc_zero(T * k->litn * sizeof(uint64_t));
    k->pm = alloc_zero(T * k->pmn);
    k->a1 = alloc_zero(T * k->a1n * sizeof(float));
    k->deep = alloc_zero(T * k->deepn * sizeof(float));
    k->y = alloc_zero(T * k->yn * sizeof(float));
    size_t rest = net->nlayers > 2 ? net->nparams - dl_net_woff(net, 1) : 0;
    k->grest = alloc_zero(rest * sizeof(float));
    if (!k->pend || !k->mask || !k->lit || !k->pm || !k->a1 || !k->deep || !k->y || !k->grest)
        goto oom;

    load_tiles(k, net);
    k->params = net->params;
    return k;
oom:
    dl_err_set(e, DL_ENOMEM, "out of memory for training buffers");
fail:
    fast_free(k);
    return NULL;
}

/* ---- deltas ------------------------------------------------------------------ */

/* Output-layer delta for one example: ∂C/∂z = (a − y)·σ'(z) (quadratic) or
 * a − y (cross-entropy), as dl_net_backprop computes it; units [0, n) of
 * a and d, the label counted from unit `first`. */
static void output_delta(dl_cost cost, const float *a, int label, int first, int n, float *d)
{
    for (int j = 0; j < n; j++) {
        float aj = a[j], dj = aj - (j + first == label ? 1.0f : 0.0f);
        d[j] = cost == DL_COST_CROSS_ENTROPY ? dj : dj * aj * (1.0f - aj);
    }
}

/* Deltas of `width` hidden units for one example:
 *     d[j] = (Σ_o W[o][c + j] d_out[o]) · a[j](1 − a[j]),   0 <= j < width,
 * with W [nout x nin] row-major, c the first unit's column, nvalid units
 * existing (the rest, padding, get 0).  Sums over the outputs in order, as
 * dl_net_backprop does. */
static void hidden_delta(const float *w, int nin, int nout, int c, int nvalid, int width,
                         const float *d_out, const float *a, float *d)
{
    for (int j0 = 0; j0 < width; j0 += 4 * DL_VW) {
        dl_vf s[4] = {vf_zero(), vf_zero(), vf_zero(), vf_zero()};
        int nv = (width - j0 + DL_VW - 1) / DL_VW;
        if (nv > 4) nv = 4;
        for (int o = 0; o < nout; o++) {
            dl_vf dv = vf_bcast(d_out + o);
            const float *row = w + (size_t)o * nin + c;
            for (int v = 0; v < nv; v++) {
                int j = j0 + v * DL_VW, n = nvalid - j;
                dl_vf wv = n >= DL_VW ? vf_load(row + j) : vf_load_n(row + j, n > 0 ? n : 0);
                s[v] = vf_fmadd(wv, dv, s[v]);
            }
        }
        for (int v = 0; v < nv; v++) {
            int j = j0 + v * DL_VW, n = nvalid - j;
            dl_vf av = vf_load(a + j);
            dl_vf dv = vf_mul(s[v], vf_mul(av, vf_sub(vf_set1(1.0f), av)));
            if (n < DL_VW) dv = vf_keep_n(dv, n > 0 ? n : 0);
            vf_store(d + j, dv);
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

/* Thread t's activations and deltas of layer l >= 2 for example i. */
static float *deep_a(const fast_ctx *k, int t, int l, int i, const dl_net *net)
{
    return k->deep + (size_t)t * k->deepn + k->deep_off[l] + (size_t)i * net->sizes[l];
}

static float *deep_d(const fast_ctx *k, int t, int l, int i, const dl_net *net)
{
    return k->deep + (size_t)t * k->deepn + k->deep_off[l] + (size_t)(CHUNK + i) * net->sizes[l];
}

/* ---- the first layer, one tile at a time ------------------------------------ */

/* Pixel `pix`'s update on the tile's nv vectors of hidden units:
 *     acc = (carried G) + Σ_{i lights pix} x_i,pix δ_i   (examples in order),
 * then WT ← decay·WT − r·acc on the last chunk, else G ← acc. */
DL_INLINE void pixel_tile(const int nv, const fast_ctx *k, const tile *tl, const uint8_t *pm,
                          size_t pix, int carried)
{
    size_t off = pix * tl->ld;
#define DECL(c) dl_vf s##c = vf_zero();
    DL_REP13(DECL)
#undef DECL
#define INIT(c) \
    if (c < nv && carried) s##c = vf_load(tl->g + off + DL_VW * c);
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
        const float *d = tl->d1 + (size_t)i * tl->ld;
#define FMA(c) \
    if (c < nv) s##c = vf_fmadd(x, vf_load(d + DL_VW * c), s##c);
        DL_REP13(FMA)
#undef FMA
    }
    if (k->last) {
        dl_vf r = vf_set1(k->r), dec = vf_set1(k->decay);
        float *w = tl->wt + off;
#define APPLY(c) \
    if (c < nv) vf_store(w + DL_VW * c, vf_fnmadd(r, s##c, vf_mul(dec, vf_load(w + DL_VW * c))));
        DL_REP13(APPLY)
#undef APPLY
    } else {
        float *gw = tl->g + off;
#define KEEP(c) \
    if (c < nv) vf_store(gw + DL_VW * c, s##c);
        DL_REP13(KEEP)
#undef KEEP
    }
}

/* Writes pixel block kb (np pixels) of the tile back to the net:
 * W[0][j0 + j][kb*8 + p] = WT[kb*8 + p][j]. */
static void write_back(const fast_ctx *k, const tile *tl, int kb, int np)
{
    int nin = k->nin;
    const float *src = tl->wt + (size_t)kb * 8 * tl->ld;
    for (int b = 0; b * DL_VW < tl->nvalid; b++) {
        int rows = tl->nvalid - b * DL_VW < DL_VW ? tl->nvalid - b * DL_VW : DL_VW;
        float *dst = k->net->w[0] + (size_t)(tl->j0 + b * DL_VW) * nin + (size_t)kb * 8;
        if (np == 8 && rows == 8) {
            dl_transpose8(src + (size_t)b * DL_VW, tl->ld, dst, (size_t)nin);
        } else {
            for (int r = 0; r < rows; r++)
                for (int p = 0; p < np; p++)
                    dst[(size_t)r * nin + p] = src[(size_t)p * tl->ld + (size_t)b * DL_VW + r];
        }
    }
}

/* The tile's first-layer weights: every touched pixel, block of 8 pixels
 * by block, each block written back to W[0] while it is still in cache. */
DL_INLINE void update_tile(const int nv, fast_ctx *k, const tile *tl, const uint8_t *pm,
                           const uint64_t *litmap)
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
            if (touch >> p & 1) pixel_tile(nv, k, tl, pm, (size_t)kb * 8 + p, (int)(pend >> p & 1));
        if (k->last) write_back(k, tl, kb, np);
    }
}

/* The tile's first-layer weights and biases: accumulate (a long batch's
 * earlier chunks) or apply (its last chunk). */
static void update_first(fast_ctx *k, tile *tl, const uint8_t *pm, const uint64_t *lit)
{
    /* Biases: Σ_i δ_ij in example order, as ref_step sums them. */
    float *b = k->net->b[0] + tl->j0;
    for (int j = 0; j < tl->nvalid; j++) {
        float s = k->first ? 0.0f : tl->gb[j];
        for (int i = 0; i < k->cm; i++) s += tl->d1[(size_t)i * tl->ld + j];
        if (k->last) b[j] -= k->r * s;
        else tl->gb[j] = s;
    }
    switch (tl->width / DL_VW) {
#define CASE(N)                                                                          \
    case N:                                                                              \
        update_tile(N, k, tl, pm, lit);                                                  \
        break;
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7)
        CASE(8) CASE(9) CASE(10) CASE(11) CASE(12) CASE(13)
#undef CASE
    default: break;
    }
}

/* The tile's first-layer forward pass for every example of the chunk (and
 * its deltas when the first layer is the output layer). */
static void forward_tile(fast_ctx *k, tile *tl, const uint64_t *mask)
{
    dl_fast_first_forward(tl->wt, tl->ld, k->net->b[0] + tl->j0, tl->nvalid, k->tab, k->px, mask,
                          k->nwords, k->cm, tl->width / DL_VW, tl->a1, tl->ld);
    for (int i = 0; i < k->cm; i++) {
        float *a = tl->a1 + (size_t)i * tl->ld;
        if (k->L == 2) {
            float *d = tl->d1 + (size_t)i * tl->ld;
            output_delta(k->cost_kind, a, k->lab[i], tl->j0, tl->nvalid, d);
            for (int j = tl->nvalid; j < tl->width; j++) d[j] = 0.0f;
        }
    }
}

/* ---- the later layers -------------------------------------------------------- */

/* Copies the tiles' activations into thread t's contiguous a1 [CHUNK x lda]. */
static float *gather_a1(const fast_ctx *k, int t)
{
    float *a1 = k->a1 + (size_t)t * k->a1n;
    for (int i = 0; i < k->cm; i++)
        for (int u = 0; u < k->ntiles; u++) {
            const tile *tl = &k->tiles[u];
            memcpy(a1 + (size_t)i * k->lda + tl->j0, tl->a1 + (size_t)i * tl->ld,
                   (size_t)tl->width * sizeof(float));
        }
    return a1;
}

/* Forward and back through layers 1..L-1 for every example of the chunk,
 * into thread t's scratch; every thread that does this gets the same
 * numbers.  Deltas stop at layer 2: each tile computes its own slice of
 * the first hidden layer's. */
static void later_layers(fast_ctx *k, int t, const float *a1)
{
    const dl_net *net = k->net;
    for (int i = 0; i < k->cm; i++) {
        const float *a = a1 + (size_t)i * k->lda;
        for (int l = 1; l + 1 < k->L; l++) {
            float *o = deep_a(k, t, l + 1, i, net);
            dl_fast_dense_forward(net->w[l], net->b[l], net->sizes[l], net->sizes[l + 1], a, o);
            a = o;
        }
        output_delta(k->cost_kind, a, k->lab[i], 0, k->nout, deep_d(k, t, k->L - 1, i, net));
        for (int l = k->L - 2; l >= 2; l--)
            hidden_delta_scalar(net->w[l], net->sizes[l], net->sizes[l + 1], deep_d(k, t, l + 1, i, net),
                                deep_a(k, t, l, i, net), deep_d(k, t, l, i, net));
    }
}

/* Adds this chunk's gradients of layers >= 1 to grest, example by example
 * in order (the reference's summation order), from thread 0's scratch. */
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
                    const float *a = l == 1 ? k->a1 + (size_t)i * k->lda : deep_a(k, 0, l, i, net);
                    dl_vf av = n == DL_VW ? vf_load(a + c) : vf_load_n(a + c, n);
                    s = vf_fmadd(vf_bcast(deep_d(k, 0, l + 1, i, net) + o), av, s);
                }
                if (n == DL_VW) vf_store(g + c, s);
                else vf_store_n(g + c, s, n);
            }
            float sb = gb[o];
            for (int i = 0; i < k->cm; i++) sb += deep_d(k, 0, l + 1, i, net)[o];
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

/* ---- one chunk ----------------------------------------------------------------- */

/* Thread t's maps of the chunk's pixels: each example's lit pixels, the
 * union, and which examples light each pixel (one byte per 8 examples). */
static void light_maps(const fast_ctx *k, uint64_t *mask, uint64_t *lit, uint8_t *pm)
{
    for (int i = 0; i < k->cm; i++) dl_fast_nzmask(k->px[i], (size_t)k->nin, mask + (size_t)i * k->nwords);
    for (int w = 0; w < k->nwords; w++) {
        uint64_t u = 0;
        for (int i = 0; i < k->cm; i++) u |= mask[(size_t)i * k->nwords + w];
        lit[w] = u;
    }
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

/* Thread 0's part of a chunk that needs no other thread (after the
 * forward pass): the costs, in example order (as ref_step adds them), and
 * the later layers' gradients.  For a 2-layer net the outputs are the
 * tiles' activations. */
static void finish_chunk(fast_ctx *k)
{
    const dl_net *net = k->net;
    const float *a1 = k->L == 2 ? gather_a1(k, 0) : NULL;
    for (int i = 0; i < k->cm; i++) {
        const float *a = k->L == 2 ? a1 + (size_t)i * k->lda : deep_a(k, 0, k->L - 1, i, net);
        memset(k->y, 0, (size_t)k->nout * sizeof(float));
        k->y[k->lab[i]] = 1.0f;
        k->step_cost += dl_cost_value(k->cost_kind, a, k->y, k->nout);
    }
    if (k->L > 2) accumulate_rest(k, net);
}

/* What every thread of a run does for one chunk (thread 0 alone could do
 * it all: train_fast_pool.h). */
static void chunk_job(void *kv, int t)
{
    fast_ctx *k = kv;
    dl_net *net = k->net;
    uint64_t *mask = k->mask + (size_t)t * k->maskn, *lit = k->lit + (size_t)t * k->litn;
    uint8_t *pm = k->pm + (size_t)t * k->pmn;
    int u, T = k->active;
    light_maps(k, mask, lit, pm);

    /* 1. First layer forward, tile by tile. */
    while ((u = dl_work_claim_own(&k->fwd, t, T)) >= 0) {
        forward_tile(k, &k->tiles[u], mask);
        dl_work_finish(&k->fwd);
    }
    /* 2. The later layers need all of a1. */
    long w = dl_work_wait(&k->fwd);
    if (t == 0) k->waited += w;
    if (k->L > 2) {
        /* Thread 0 needs them for the later layers' update; a helper only
         * if there are tiles left to update. */
        if (t != 0 && atomic_load_explicit(&k->upd.done, memory_order_relaxed) >= k->upd.n) return;
        later_layers(k, t, gather_a1(k, t));
    }
    /* 3. Each tile: its hidden units' deltas, then its weights. */
    while ((u = dl_work_claim_own(&k->upd, t, T)) >= 0) {
        tile *tl = &k->tiles[u];
        if (k->L > 2)
            for (int i = 0; i < k->cm; i++)
                hidden_delta(net->w[1], k->nh, net->sizes[2], tl->j0, tl->nvalid, tl->width,
                             deep_d(k, t, 2, i, net), tl->a1 + (size_t)i * tl->ld,
                             tl->d1 + (size_t)i * tl->ld);
        update_first(k, tl, pm, lit);
        dl_work_finish(&k->upd);
    }
    if (t == 0) {
        /* Thread 0's share of the later layers' update, while the others
         * finish their tiles: it reads only thread 0's own scratch. */
        finish_chunk(k);
        k->waited += dl_work_wait(&k->upd);
    }
}

/* The chunk's examples, and a prefetch of their pixels: they are scattered
 * through the dataset, so ask for all their cache lines at once rather
 * than one miss at a time. */
static void prepare_chunk(fast_ctx *k, const dl_dataset *d, const uint32_t *idx, int cm)
{
    k->cm = cm;
    for (int i = 0; i < cm; i++) {
        k->px[i] = d->pixels + (size_t)idx[i] * d->npix;
        k->lab[i] = d->labels[idx[i]];
        for (size_t o = 0; o < d->npix; o += 64) __builtin_prefetch(k->px[i] + o);
    }
}

/* Working together is not always faster: when the machine has more busy
 * threads than cores, a helper descheduled mid-tile stalls a run for a
 * whole time slice (milliseconds, against tens of microseconds of work).
 * So thread 0 keeps measuring: PROBE runs as a team, PROBE runs alone,
 * then EXPLOIT runs the faster way by the medians (one preempted run must
 * not decide), and again; a stall during a team stretch ends it at once.  Only speed depends on this choice: the tiles'
 * arithmetic is the same either way (train_fast_pool.h). */
#define EXPLOIT 4096
#define STALL_NS 300000L

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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
    k->active = alone ? 1 : k->T;
    dl_work_reset(&k->fwd, k->ntiles, k->taken);
    dl_work_reset(&k->upd, k->ntiles, k->taken + k->ntiles);
    k->waited = 0;
    if (k->T == 1) {
        chunk_job(k, 0);
        return;
    }
    double t0 = now_ns();
    if (alone) chunk_job(k, 0);
    else k->waited += dl_pool_run(k->pool, chunk_job, k);
    double per = (now_ns() - t0) / k->cm;
    if (k->sched < 2 * PROBE) k->probe[k->sched / PROBE][k->sched % PROBE] = per;
    k->sched++;
    if (k->sched == 2 * PROBE) {
        qsort(k->probe[0], PROBE, sizeof(double), cmp_double);
        qsort(k->probe[1], PROBE, sizeof(double), cmp_double);
        k->solo_wins = k->probe[1][PROBE / 2] < k->probe[0][PROBE / 2];
    }
    if (k->sched >= 2 * PROBE + EXPLOIT || (!alone && k->sched > 2 * PROBE && k->waited > STALL_NS))
        k->sched = 0;
}

static double fast_step(void *kv, dl_net *net, const dl_dataset *d, const uint32_t *idx, int m,
                        const dl_step *st)
{
    fast_ctx *k = kv;
    float eta = st->eta, decay = st->decay;
    if (m <= 0) return 0.0;
    if (net->params != k->params) {
        load_tiles(k, net);
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
    k->step_cost = 0.0;
    for (int c0 = 0; c0 < m; c0 += CHUNK) {
        int cm = m - c0 < CHUNK ? m - c0 : CHUNK;
        k->first = c0 == 0;
        k->last = c0 + cm == m;
        prepare_chunk(k, d, idx + c0, cm);
        run_chunk(k);
        for (int w = 0; w < k->nwords; w++) k->pend[w] |= k->lit[w]; /* thread 0's union */
    }
    /* Not inside a run: a helper still computing the later layers may
     * be reading these weights until the run ends. */
    if (k->L > 2) apply_rest(k, net, k->r, decay);
    return k->step_cost;
}

static const dl_kernel_ops fast_ops = {fast_new, fast_step, fast_free};

const dl_kernel_ops *dl_kernel_fast(void) { return &fast_ops; }
