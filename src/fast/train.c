/*
 * fast/train.c — the fast training kernel (train_kernels.h): the reference
 * mini-batch SGD step (train.c, ref_step) with the work that has no effect
 * left out, and the rest vectorised and split between threads.  Compiled
 * once per SIMD variant (train_fast_variants.h).
 *
 * What it computes is exactly ref_step's update:
 *     W[l] ← decay·W[l] − (η/m)·Σ_i δ[l+1]_i a[l]_iᵀ,   b[l] ← b[l] − (η/m)·Σ_i δ[l+1]_i
 * (or with momentum μ, V ← μV − (η/m)·Σ_i δ a ᵀ − l2·W, W ← W + V), with
 * every gradient sum over the batch's examples in batch order, so the two
 * kernels differ only by float rounding: fused multiply-adds, the first
 * layer's sums in two fixed parts (below), dot products in 8 partial sums,
 * and the vector exponential behind σ and tanh (train_fast_simd.h).
 * Every activation, cost and extra of the reference is here: σ, tanh or
 * ReLU hidden layers (vf_act, and the slope from the output, vf_slope), a
 * softmax output through dl_act_apply and the output δ through
 * dl_net_output_delta (the reference's own functions: the output layer is
 * small), dropout's masks from dl_dropout_mask (a function of the
 * example's position in the epoch, so threads and spans do not matter),
 * and the velocity of W[0] kept beside its weights in the units' layout.
 *
 * Where the time goes, and what is done about it (784-100-10, batch 10):
 *   - The first layer is 99% of the arithmetic.  Its weights are kept
 *     transposed, pixel-major (train_fast_layers.h), so a lit pixel k
 *     costs one contiguous axpy over the hidden units in the forward pass,
 *         z_i += x_ik · WT[k, :],
 *     and one per example lighting it in the update,
 *         WT[k, :] ← decay·WT[k, :] − (η/m) Σ_{i lights k} x_ik δ_i;
 *     a zero pixel adds nothing to either.  Lit pixels come from 64-bit
 *     masks built each step, so nothing is cached per dataset.
 *   - The kernel keeps WT as its own copy and writes it back to the
 *     network's W[0] only in sync(): the write-back is a transpose, as
 *     costly as a step, and nobody reads W[0] between steps.  With
 *     momentum W[0]'s velocity is kept the same way (vt), and the update
 *     visits the rows a pixel has ever lit (moving), not all 784: a row
 *     whose velocity and gradient are zero does not move.
 *   - The pixels are split in two classes by the parity of their 64-pixel
 *     mask word (k/64 mod 2; each class holds half the lit pixels of
 *     Fashion-MNIST to 0.3%).  The forward pass sums each class apart from
 *     0, and z = b + (S_0 + S_1).  With two threads each owns one class:
 *     its rows of WT, its half of the forward pass and of the update, its
 *     own arrays (units), so two cores never write the same cache lines.
 *     This split is fixed, whatever the thread count, so the sums and the
 *     weights are bit-identical for 1, 2 or 13 threads; more than two
 *     threads also split the hidden units (which does not change any sum).
 *   - Between the forward pass of a chunk and its update, every thread
 *     runs the small later layers itself (the same numbers on every
 *     thread, from its own copy of the parameters after W[0]), so the
 *     only hand-off per step is "my half of the forward pass is done".
 *   - A step's update of a word's 64 rows is followed at once by the next
 *     step's forward pass over the same rows, while they are in L1.
 *   - When the machine has more busy threads than cores, a helper that is
 *     descheduled stalls the team; thread 0 measures, and works alone while
 *     that is faster (fast_train).  Speed only: the arithmetic is the same.
 *   - A batch longer than CHUNK examples is processed CHUNK at a time,
 *     carrying partial first-layer gradients in g so the sums keep their
 *     order.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../train_fast_pool.h"

/* Examples per pass; longer batches take several. */
#define CHUNK 64
#define MAX_T 64
#define NCLASS 2
#define MAX_UNITS (2 * 64)
/* Chunks per run of the threads (whole batches). */
#define RUN_CHUNKS 64
/* Runs timed as a team and alone before choosing, then runs the faster way. */
#define PROBE 16
#define EXPLOIT 512
/* Team runs in which no thread waited for the others this part of the time
 * are healthy (see run). */
#define HEALTHY 0.2
/* A team run in which a thread waited this long restarts the probing. */
#define STALL_NS 300000L
/* How long thread 0 waits for its helpers to join a team run. */
#define JOIN_NS 50000L
#define ROSTER_CLOSED (1 << 30)

/* Hidden units [j0, j0 + nvec·VW) of the pixels of one class: the rows of
 * WT that only its owner touches.  Each array is its own allocation. */
typedef struct unit {
    int cls;             /* pixels k with (k / 64) % 2 == cls */
    int j0, nvec;        /* first hidden unit, vectors of units */
    int nvalid;          /* units that exist: min(nvec·VW, nh - j0) */
    size_t ld;           /* row length: nvec·VW rounded up to 16 (a cache line) */
    float *wt;           /* [npad x ld] WT[k][j - j0], rows of this class only */
    float *g;            /* [npad x ld] partial gradient of a long batch */
    float *vt;           /* [npad x ld] the velocity of W[0], laid out as wt (momentum only) */
    uint64_t *moving;    /* [nwords] rows whose velocity may be non-zero (momentum only) */
    float *s[2];         /* [CHUNK x ld] partial forward sums, by chunk parity */
    uint64_t *pend;      /* [nwords] rows with a partial sum in g */
} unit;

/* One thread's scratch, by rank in the current run (one allocation). */
typedef struct rank_mem {
    const uint8_t *px[2][CHUNK]; /* the chunk's images, by chunk parity */
    uint8_t lab[2][CHUNK];
    const uint8_t *far[CHUNK]; /* the images of the chunk after next, fetched ahead word by word */
    int nfar;            /* how many */
    uint64_t *mask[2];   /* [CHUNK x nwords] lit pixels */
    uint64_t *lit;       /* [nwords] lit in any example of the chunk */
    uint8_t *xt;         /* [npad x xs] xt[k*xs + i]: pixel k of the chunk's example i */
    size_t xs;           /* the chunk's examples rounded up to 16 */
    uint16_t *who;       /* [npad] bit i: example i lights pixel k (chunks of up to 16) */
    float *a1, *d1;      /* [CHUNK x lda] first layer's activations and deltas */
    float *deep;         /* a[l], d[l] for l = 2..L-1, each [CHUNK x sizes[l]] */
    float *own;          /* [nsmall] its copy of the parameters from b[0] on (ranks >= 1) */
    float *small;        /* those parameters: the net's own (rank 0) or own */
    float *vown;         /* [nsmall] its copy of their velocity (ranks >= 1, momentum) */
    float *vsmall;       /* their velocity: the training state's (rank 0) or vown; NULL without momentum */
    float *f1, *keep1;   /* [lda] one example's f(z) of layer 1 and its dropout mask */
    float *lanes;        /* [16 x lda + 2 x 16 x 16] fast/lanes.c's scratch */
    float *fdeep, *keepd; /* [Σ sizes[2..L-1)] the same for the deeper hidden layers */
    float *gsmall;       /* [nsmall] their gradient sums over the batch */
    float *y;            /* [nout] a target */
    double cost;         /* rank 0: summed cost of the batch's examples so far */
    long waited;         /* ns it waited for the others in this run */
    int owns[NCLASS];    /* owns a unit of class c in this run */
    void *block;
} rank_mem;

typedef struct chunk {
    uint32_t off;        /* first example, in the run's slice of the order */
    int cm;              /* examples */
    int first, last;     /* first / last chunk of its batch */
    float r;             /* η/m of its batch */
} chunk;

typedef struct fast_ctx {
    dl_net *net;
    dl_cost cost_kind;
    float mu;            /* momentum; 0 = plain SGD */
    float *vel;          /* [nparams] the velocity (train_kernels.h: dl_sgd), or NULL */
    float pdrop;         /* dropout's p; 0 = none */
    size_t hid_off[DL_MAX_LAYERS]; /* layer l's offset in fdeep/keepd (2 <= l < L-1) */
    int L, nin, nh, nout;
    int nwords;          /* 64-pixel mask words per image */
    int group;           /* pixels per group of the update, where registers allow (dl_simd_update_group) */
    size_t npad, lda;    /* 64·nwords; dl_fast_ld(nh) */
    size_t small_off, nsmall; /* params from b[0] on: offset, count */
    size_t deep_off[DL_MAX_LAYERS];
    int T, H, nunits;    /* threads; hidden ranges; units = NCLASS·H */
    unit units[MAX_UNITS]; /* unit 2h + c: class c, hidden range h */
    rank_mem *ranks;     /* [T] */
    dl_pool *pool;
    dl_work sync_work;   /* fast_sync's units */
    atomic_uchar sync_taken[MAX_UNITS];
    float *zeros;        /* [lda] */

    /* The current run, set by thread 0 before it starts. */
    const dl_dataset *d;
    const uint32_t *idx;
    uint32_t nrun;       /* examples */
    int batch, cpb, nchunks; /* batch size, chunks per full batch, chunks */
    float eta, decay, l2;
    uint64_t dseed;      /* dropout's seed for this epoch */
    uint32_t run_pos;    /* position in the epoch of the run's first example */
    volatile sig_atomic_t *stop;
    double *cost_out;    /* the caller's cost sum, which rank 0 adds each batch to */
    /* Written by several threads during a run: cache lines of their own. */
    _Alignas(64) atomic_int roster; /* helpers joined | ROSTER_CLOSED */
    _Alignas(64) atomic_int team;   /* threads in the run, once decided (0 before) */
    _Alignas(64) atomic_int run_end; /* chunks the run will do */
    struct {
        _Alignas(64) atomic_int v;  /* chunks whose forward pass this rank has finished */
    } prog[MAX_T];
    long waited;         /* ns the thread that waited most waited for the others, last run */
    long sched;          /* runs into the current probe/exploit cycle */
    double probe[2][PROBE]; /* ns per example of the probe runs: [0] team, [1] alone */
    double probe_wait[PROBE]; /* part of each team probe run that some thread waited */
    int solo_wins;
    int went_alone;      /* the last run was thread 0's alone (run) */
} fast_ctx;

/* ---- setting up --------------------------------------------------------------- */

/* 64-byte aligned, with a spare line at the end so that no two arrays share
 * a cache line or its prefetch pair; zeroed when `zero`. */
static void *alloc_lines(size_t bytes, int zero)
{
    size_t n = (bytes + 63) / 64 * 64 + 128;
    void *p = aligned_alloc(64, n);
    if (p && zero) memset(p, 0, n);
    return p;
}

static void fast_free(void *kv)
{
    fast_ctx *k = kv;
    if (!k) return;
    dl_pool_free(k->pool);
    for (int u = 0; u < k->nunits; u++) {
        free(k->units[u].wt);
        free(k->units[u].g);
        free(k->units[u].vt);
        free(k->units[u].moving);
        free(k->units[u].s[0]);
        free(k->units[u].s[1]);
        free(k->units[u].pend);
    }
    for (int t = 0; k->ranks && t < k->T; t++) free(k->ranks[t].block);
    free(k->ranks);
    free(k->zeros);
    free(k);
}

/* Pixels of mask word w that exist (the last word may be partial). */
static uint64_t word_pixels(const fast_ctx *k, int w)
{
    int n = k->nin - 64 * w;
    return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* Copies src, laid out as W[0] [nh x nin], into unit un's rows of dst
 * (its wt or vt: its layout, padding columns zero), or back (out).
 * Back, a mask word's 64 rows (28 kB at ld 112) stay in L1 while each
 * hidden unit's 64 values are stored contiguously: storing along the rows
 * instead touches a new cache line of src at every store, and took 1.4x as
 * long (784-100-10, the write-back before each snapshot). */
static void unit_copy(fast_ctx *k, unit *un, float *src, int vel, int out)
{
    float *t = vel ? un->vt : un->wt;
    for (int w = un->cls; w < k->nwords; w += NCLASS) {
        int nb = k->nin - 64 * w < 64 ? k->nin - 64 * w : 64;
        float *rows = t + (size_t)(64 * w) * un->ld;
        float *cols = src + (size_t)un->j0 * k->nin + 64 * (size_t)w;
        if (out) {
            for (int j = 0; j < un->nvalid; j++)
                for (int b = 0; b < nb; b++) cols[(size_t)j * k->nin + b] = rows[(size_t)b * un->ld + j];
            continue;
        }
        for (int b = 0; b < nb; b++) {
            float *row = rows + (size_t)b * un->ld;
            for (int j = 0; j < un->nvalid; j++) row[j] = cols[(size_t)j * k->nin + b];
            for (size_t j = (size_t)un->nvalid; j < un->ld; j++) row[j] = 0.0f;
            /* A row whose velocity is zero stays so, and its weights
             * still, until a pixel lights it (or L2 moves every row). */
            if (vel)
                for (int j = 0; j < un->nvalid; j++)
                    if (row[j] != 0.0f) un->moving[w] |= (uint64_t)1 << b;
        }
    }
}

/* W[0] (and its velocity) into the units. */
static void load_units(fast_ctx *k)
{
    for (int u = 0; u < k->nunits; u++) {
        unit_copy(k, &k->units[u], k->net->w[0], 0, 0);
        if (k->vel) unit_copy(k, &k->units[u], k->vel, 1, 0);
    }
}

/* dl_pool_run's job for fast_sync: each unit written back by the thread
 * that owns it where it is there (its rows are in that core's cache; the
 * other core would fetch them line by line), else by whoever is. */
static void sync_job(void *arg, int t)
{
    fast_ctx *k = arg;
    int u;
    while ((u = dl_work_claim_own(&k->sync_work, t, k->T)) >= 0) {
        unit_copy(k, &k->units[u], k->net->w[0], 0, 1);
        if (k->vel) unit_copy(k, &k->units[u], k->vel, 1, 1);
        dl_work_finish(&k->sync_work);
    }
}

/* The pool for work between runs: the kernel's threads, or none (thread 0
 * alone) when training itself goes alone, the machine being too busy for
 * a team: a helper descheduled while it holds a part stalls the caller. */
static dl_pool *between_runs(const fast_ctx *k) { return k->went_alone ? NULL : k->pool; }

/* The network's W[0], and its velocity, from the units (train_kernels.h:
 * sync), on the kernel's threads.  Which thread copies a unit changes
 * nothing in what is copied. */
static void fast_sync(void *kv)
{
    fast_ctx *k = kv;
    dl_work_reset(&k->sync_work, k->nunits, k->sync_taken);
    dl_pool *p = between_runs(k);
    if (p) dl_pool_run(p, sync_job, k);
    else sync_job(k, 0);
}

/* train_kernels.h: evaluate.  With one unit per class (up to two threads)
 * the units' rows are WT itself, split by word parity, so the network is
 * scored from them with dl_fast_evaluate's arithmetic (eval_rows: the same
 * sums in the same order, so the same result as a sync, a transpose and
 * dl_fast_evaluate) at the cost of the forward passes alone, on the
 * kernel's own threads, which are idle meanwhile.  Other splits take that
 * longer way, on the same threads. */
static dl_status fast_evaluate_own(void *kv, const dl_dataset *d, dl_cost cost, const dl_job *beside,
                                   int nbeside, uint32_t *confusion, size_t *correct, double *cost_sum,
                                   dl_err *e)
{
    fast_ctx *k = kv;
    if (k->nunits != NCLASS || k->units[0].j0 != 0 || k->units[0].ld != k->lda || k->units[1].ld != k->lda) {
        fast_sync(k);
        return eval_net(k->net, between_runs(k), beside, nbeside, d, cost, confusion, correct, cost_sum, e);
    }
    float *bias = alloc_lines(k->lda * sizeof(float), 0);
    if (!bias) {
        dl_jobs_run(beside, nbeside);
        return dl_err_set(e, DL_ENOMEM, "out of memory for evaluation");
    }
    pad_row(k->net->b[0], k->nh, k->lda, bias);
    const float *rows[2];
    for (int u = 0; u < NCLASS; u++) rows[k->units[u].cls] = k->units[u].wt;
    dl_status st = eval_rows(k->net, rows, bias, k->lda, between_runs(k), beside, nbeside, d, cost, confusion,
                             correct, cost_sum, e);
    free(bias);
    return st;
}

/* One thread's scratch in one block, each array on whole cache lines. */
static int rank_new(fast_ctx *k, rank_mem *r, int t)
{
    size_t deep = 0, hid = k->hid_off[k->L - 1];
    for (int l = 2; l < k->L; l++) deep += 2 * (size_t)CHUNK * k->net->sizes[l];
    size_t sz[] = {CHUNK * (size_t)k->nwords * 8, CHUNK * (size_t)k->nwords * 8,
                   (size_t)k->nwords * 8, k->npad * CHUNK + k->npad * 2,
                   CHUNK * k->lda * sizeof(float), CHUNK * k->lda * sizeof(float),
                   deep * sizeof(float), t ? k->nsmall * sizeof(float) : 0,
                   k->nsmall * sizeof(float), dl_vround((size_t)k->nout) * sizeof(float),
                   t && k->mu > 0.0f ? k->nsmall * sizeof(float) : 0, 2 * k->lda * sizeof(float),
                   2 * hid * sizeof(float), (16 * k->lda + 512) * sizeof(float)};
    enum { NS = sizeof sz / sizeof sz[0] };
    size_t off[NS], total = 0;
    for (int q = 0; q < NS; q++) {
        off[q] = total;
        total += (sz[q] + 63) / 64 * 64 + 64;
    }
    unsigned char *m = alloc_lines(total, 0);
    if (!m) return 0;
    /* Only the small arrays are cleared; the big ones are written before read. */
    for (int q = 2; q < NS; q++)
        if (q != 4 && q != 5 && q != 6) memset(m + off[q], 0, sz[q]);
    r->block = m;
    r->mask[0] = (uint64_t *)(void *)(m + off[0]);
    r->mask[1] = (uint64_t *)(void *)(m + off[1]);
    r->lit = (uint64_t *)(void *)(m + off[2]);
    r->xt = m + off[3];
    r->who = (uint16_t *)(void *)(m + off[3] + k->npad * CHUNK);
    r->a1 = (float *)(void *)(m + off[4]);
    r->d1 = (float *)(void *)(m + off[5]);
    r->deep = (float *)(void *)(m + off[6]);
    r->own = t ? (float *)(void *)(m + off[7]) : NULL;
    r->gsmall = (float *)(void *)(m + off[8]);
    r->y = (float *)(void *)(m + off[9]);
    r->vown = (float *)(void *)(m + off[10]);
    r->f1 = (float *)(void *)(m + off[11]);
    r->keep1 = r->f1 + k->lda;
    r->fdeep = (float *)(void *)(m + off[12]);
    r->keepd = r->fdeep + hid;
    r->lanes = (float *)(void *)(m + off[13]);
    return 1;
}

static void *fast_new(dl_net *net, const dl_sgd *sgd, int threads, dl_err *e)
{
    fast_ctx *k = alloc_lines(sizeof *k, 1);
    if (!k) goto oom;
    k->net = net;
    if (dl_simd_update_group(&k->group, e) != DL_OK) goto fail;
    k->cost_kind = sgd->cost;
    k->mu = sgd->momentum;
    k->vel = sgd->momentum > 0.0f ? sgd->velocity : NULL;
    k->pdrop = sgd->dropout;
    k->L = net->nlayers;
    k->nin = net->sizes[0];
    k->nh = net->sizes[1];
    k->nout = net->sizes[net->nlayers - 1];
    k->nwords = (k->nin + 63) / 64;
    k->npad = (size_t)k->nwords * 64;
    k->lda = dl_fast_ld(k->nh);
    k->small_off = dl_net_boff(net, 0);
    k->nsmall = net->nparams - k->small_off;
    size_t deep = 0, hid = 0;
    for (int l = 2; l < k->L; l++) {
        k->deep_off[l] = deep;
        deep += 2 * (size_t)CHUNK * net->sizes[l];
        k->hid_off[l] = hid;
        if (l + 1 < k->L) hid += (size_t)net->sizes[l];
    }
    k->hid_off[k->L - 1] = hid;

    /* Units: the two pixel classes, and for more than two threads the
     * hidden units in ranges too (one unit per thread when they divide). */
    int nb = (k->nh + DL_VW - 1) / DL_VW;
    int want = threads < 1 ? 1 : threads > MAX_T ? MAX_T : threads;
    k->H = want <= NCLASS ? 1 : (want + NCLASS - 1) / NCLASS;
    if (k->H > nb) k->H = nb;
    k->nunits = NCLASS * k->H;
    if (want > k->nunits) want = k->nunits;
    for (int u = 0; u < k->nunits; u++) {
        unit *un = &k->units[u];
        int h = u / NCLASS, b0 = (int)((int64_t)nb * h / k->H), b1 = (int)((int64_t)nb * (h + 1) / k->H);
        un->cls = u % NCLASS;
        un->j0 = b0 * DL_VW;
        un->nvec = b1 - b0;
        un->nvalid = k->nh - un->j0 < un->nvec * DL_VW ? k->nh - un->j0 : un->nvec * DL_VW;
        un->ld = ((size_t)un->nvec * DL_VW + 15) / 16 * 16;
        un->wt = alloc_lines(k->npad * un->ld * sizeof(float), 0);
        un->g = alloc_lines(k->npad * un->ld * sizeof(float), 0);
        un->s[0] = alloc_lines(CHUNK * un->ld * sizeof(float), 0);
        un->s[1] = alloc_lines(CHUNK * un->ld * sizeof(float), 0);
        un->pend = alloc_lines((size_t)k->nwords * sizeof(uint64_t), 1);
        if (!un->wt || !un->g || !un->s[0] || !un->s[1] || !un->pend) goto oom;
        if (k->vel) {
            un->vt = alloc_lines(k->npad * un->ld * sizeof(float), 1);
            un->moving = alloc_lines((size_t)k->nwords * sizeof(uint64_t), 1);
            if (!un->vt || !un->moving) goto oom;
        }
    }
    k->zeros = alloc_lines(k->lda * sizeof(float), 1);
    if (!k->zeros) goto oom;
    k->pool = dl_pool_new(want, e);
    if (!k->pool) goto fail;
    k->T = dl_pool_threads(k->pool);
    k->ranks = calloc((size_t)k->T, sizeof *k->ranks);
    if (!k->ranks) goto oom;
    for (int t = 0; t < k->T; t++)
        if (!rank_new(k, &k->ranks[t], t)) goto oom;
    load_units(k);
    return k;
oom:
    dl_err_set(e, DL_ENOMEM, "out of memory for training buffers");
fail:
    fast_free(k);
    return NULL;
}

/* ---- the chunk's pixels ------------------------------------------------------ */

/* Chunk c of the current run: batches of k->batch examples (the last may
 * be shorter), each in chunks of up to CHUNK. */
static chunk chunk_at(const fast_ctx *k, int c)
{
    int bi = c / k->cpb, ci = c % k->cpb;
    uint32_t boff = (uint32_t)bi * (uint32_t)k->batch;
    int m = k->nrun - boff < (uint32_t)k->batch ? (int)(k->nrun - boff) : k->batch;
    chunk ch;
    ch.off = boff + (uint32_t)ci * CHUNK;
    ch.cm = m - ci * CHUNK < CHUNK ? m - ci * CHUNK : CHUNK;
    ch.first = ci == 0;
    ch.last = (ci + 1) * CHUNK >= m;
    ch.r = k->eta / (float)m;
    return ch;
}

/* The chunk's images and their lit masks (the words of the classes this
 * rank owns), into its buffers of parity par.  (GCC 12.2 at -O3 deleted
 * calls to this function, its ipa-modref analysis seeing no effect: the
 * Makefile turns that analysis off.) */
static void prepare(const fast_ctx *k, rank_mem *r, const chunk *ch, int par)
{
    const dl_dataset *d = k->d;
    for (int i = 0; i < ch->cm; i++) {
        uint32_t e = k->idx[ch->off + (uint32_t)i];
        const uint8_t *px = d->pixels + (size_t)e * d->npix;
        r->px[par][i] = px;
        r->lab[par][i] = d->labels[e];
        lit_mask(px, d->npix, k->nwords, (unsigned)(r->owns[0] | r->owns[1] << 1),
                 r->mask[par] + (size_t)i * k->nwords);
    }
}

/* Which pixels the chunk lights (lit), its pixels transposed (xt) and,
 * for a chunk of at most 16 examples, which examples light each (who), for
 * the words of the classes this rank owns. */
static void light_maps(const fast_ctx *k, rank_mem *r, const chunk *ch, int par)
{
    r->xs = ((size_t)ch->cm + 15) / 16 * 16;
    for (int w = 0; w < k->nwords; w++) {
        if (!r->owns[w % NCLASS]) continue;
        uint64_t u = 0;
        for (int i = 0; i < ch->cm; i++) u |= r->mask[par][(size_t)i * k->nwords + w];
        r->lit[w] = u;
        for (int q = 0; q * 16 < ch->cm; q++) {
            int n = ch->cm - q * 16 < 16 ? ch->cm - q * 16 : 16;
            const uint8_t *const *rows = r->px[par] + q * 16;
            int p = 64 * w;
            for (; p < 64 * (w + 1) && p + 16 <= k->nin; p += 16)
                dl_transpose16_u8(rows, n, (size_t)p, r->xt + (size_t)p * r->xs + 16 * q, r->xs);
            for (; p < 64 * (w + 1) && p < k->nin; p++)
                for (int i = 0; i < 16; i++) r->xt[(size_t)p * r->xs + 16 * (size_t)q + (size_t)i] = i < n ? rows[i][p] : 0;
        }
        if (ch->cm <= 16) {
            int np = k->nin - 64 * w < 64 ? k->nin - 64 * w : 64;
            dl_who64(r->mask[par] + w, (size_t)k->nwords, ch->cm, r->xt + (size_t)(64 * w) * 16, np, r->who + 64 * w);
        }
    }
}
