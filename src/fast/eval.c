/*
 * fast/eval.c — dl_fast_evaluate (train_fast_eval.h) in one SIMD variant:
 * the first layer transposed and sparse in the inputs (fast/layers.c),
 * examples split between threads in fixed chunks.  Compiled once per
 * variant (train_fast_variants.h).
 *
 * Determinism: examples are handed out in groups of FWD_GROUP to whichever
 * threads are running (small groups, so that even a few hundred examples
 * keep two threads busy); each example's cost goes to its own slot, and
 * the slots are added at the end in a fixed order (within chunks of
 * EVAL_CHUNK, then the chunks' sums), so the total is the same whichever
 * thread ran which group.  Confusion counts are integers.
 */
#include <stdlib.h>
#include <string.h>

#include "../train_fast_pool.h"

#define EVAL_CHUNK 128

typedef struct eval_job {
    const dl_net *net;
    const dl_dataset *d;
    dl_cost cost;
    int T, K, nwords, maxw;
    size_t ld;
    const float *wt[2];    /* [nin x ld] rows of WT, by mask word parity (first_layer) */
    const float *bias;     /* [ld] b[0], zero-padded */
    double *ex_cost;       /* [n] each example's cost */
    uint32_t *conf;        /* [T x confn] per-thread confusion [K x K] */
    size_t confn;
    size_t *correct;       /* [T] */
    float *scratch;        /* [T x per_thread] */
    size_t per_thread;
    dl_work work;          /* groups of FWD_GROUP examples */
    const dl_job *beside;  /* [nbeside] jobs to run meanwhile (train.h) */
    int nbeside;
    atomic_int beside_next; /* the next job to hand out */
} eval_job;

static void eval_thread(void *arg, int t)
{
    eval_job *j = arg;
    const dl_net *net = j->net;
    const dl_dataset *d = j->d;
    float *s = j->scratch + (size_t)t * j->per_thread;
    float *a1 = s, *bufa = a1 + FWD_GROUP * j->ld;
    float *bufb = bufa + dl_vround((size_t)j->maxw), *y = bufb + dl_vround((size_t)j->maxw);
    uint64_t *mask = (uint64_t *)(void *)(y + dl_vround((size_t)j->K));
    uint32_t *conf = j->conf + (size_t)t * j->confn;
    size_t correct = 0;
    memset(y, 0, (size_t)j->K * sizeof(float));
    /* One job beside for each thread as it comes in, then the scoring,
     * then whatever jobs are left: with two threads and two jobs, each
     * does one and both score. */
    int u = atomic_fetch_add(&j->beside_next, 1);
    if (u < j->nbeside) j->beside[u].fn(j->beside[u].ctx);
    while ((u = dl_work_claim(&j->work)) >= 0) {
        size_t g = (size_t)u * FWD_GROUP;
        int n = d->n - g < FWD_GROUP ? (int)(d->n - g) : FWD_GROUP;
        const uint8_t *px[FWD_GROUP];
        for (int q = 0; q < n; q++) {
            px[q] = d->pixels + (g + (size_t)q) * d->npix;
            lit_mask(px[q], d->npix, j->nwords, 3, mask + (size_t)q * j->nwords);
        }
        first_layer(j->wt, j->ld, net->sizes[1], j->bias, px, mask, j->nwords, n, net->act[0], a1, j->ld);
        for (int q = 0; q < n; q++) {
            if (net->act[0] == DL_ACT_SOFTMAX) /* a 2-layer net's output */
                dl_act_apply(DL_ACT_SOFTMAX, a1 + (size_t)q * j->ld, a1 + (size_t)q * j->ld, net->sizes[1]);
            const float *a = forward_rest(net, net->w, net->b, a1 + (size_t)q * j->ld, bufa, bufb);
            int lab = d->labels[g + (size_t)q], pred = dl_argmax(a, j->K);
            y[lab] = 1.0f;
            j->ex_cost[g + (size_t)q] = dl_cost_value(j->cost, a, y, j->K);
            y[lab] = 0.0f;
            conf[(size_t)lab * j->K + pred]++;
            correct += pred == lab;
        }
        dl_work_finish(&j->work);
    }
    while ((u = atomic_fetch_add(&j->beside_next, 1)) < j->nbeside) j->beside[u].fn(j->beside[u].ctx);
    j->correct[t] += correct;
}

/* Every example of d through net on the threads of pool that join (NULL:
 * on the calling thread alone), the
 * first layer from wt (rows of WT by word parity, [nin x ld] each, as
 * first_layer reads them) and bias [ld] (b[0] padded with zeros), the
 * layers after it from net: dl_fast_evaluate's contract, with the jobs
 * beside[0..nbeside) run meanwhile (kernel_ops.evaluate). */
static dl_status eval_rows(const dl_net *net, const float *const wt[2], const float *bias, size_t ld,
                           dl_pool *pool, const dl_job *beside, int nbeside, const dl_dataset *d,
                           dl_cost cost, uint32_t *confusion, size_t *correct, double *cost_sum, dl_err *e)
{
    eval_job j;
    memset(&j, 0, sizeof j);
    j.net = net;
    j.d = d;
    j.cost = cost;
    j.K = net->sizes[net->nlayers - 1];
    j.ld = ld;
    j.nwords = (int)((d->npix + 63) / 64);
    j.maxw = 1;
    for (int l = 2; l < net->nlayers; l++)
        if (net->sizes[l] > j.maxw) j.maxw = net->sizes[l];
    j.wt[0] = wt[0];
    j.wt[1] = wt[1];
    j.bias = bias;
    j.beside = beside;
    j.nbeside = nbeside;
    atomic_init(&j.beside_next, 0);
    *correct = 0;
    *cost_sum = 0.0;
    if (d->n == 0) {
        dl_jobs_run(beside, nbeside);
        return DL_OK;
    }
    j.T = pool ? dl_pool_threads(pool) : 1;
    /* Per thread: a1 [GROUP x ld], two layer buffers, the target, then the
     * pixel masks [GROUP x nwords]. */
    j.per_thread = FWD_GROUP * j.ld + 2 * dl_vround((size_t)j.maxw) +
                   dl_vround((size_t)j.K) + 2 * FWD_GROUP * (size_t)j.nwords + DL_VW;
    /* Whole cache lines plus a spare one per thread: threads write these
     * for every example, and must not share a line. */
    j.per_thread = (j.per_thread + 31) / 16 * 16;
    j.confn = ((size_t)j.K * j.K + 31) / 16 * 16;
    j.ex_cost = malloc(d->n * sizeof(double));
    j.conf = calloc((size_t)j.T * j.confn, sizeof(uint32_t));
    j.correct = calloc((size_t)j.T, sizeof(size_t));
    j.scratch = calloc((size_t)j.T * j.per_thread, sizeof(float));
    dl_status st = DL_OK;
    if (!j.ex_cost || !j.conf || !j.correct || !j.scratch) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory for evaluation");
        dl_jobs_run(beside, nbeside);
    } else {
        dl_work_reset(&j.work, (int)((d->n + FWD_GROUP - 1) / FWD_GROUP), NULL);
        if (pool) dl_pool_run(pool, eval_thread, &j);
        else eval_thread(&j, 0);
        for (size_t i0 = 0; i0 < d->n; i0 += EVAL_CHUNK) {
            double cs = 0.0;
            for (size_t i = i0; i < d->n && i < i0 + EVAL_CHUNK; i++) cs += j.ex_cost[i];
            *cost_sum += cs;
        }
        for (int t = 0; t < j.T; t++) {
            *correct += j.correct[t];
            for (size_t q = 0; q < (size_t)j.K * j.K; q++) confusion[q] += j.conf[(size_t)t * j.confn + q];
        }
    }
    free(j.ex_cost);
    free(j.conf);
    free(j.correct);
    free(j.scratch);
    return st;
}

/* eval_rows over a transposed copy of net's first layer, on pool (NULL:
 * the calling thread): dl_fast_evaluate's contract, with the jobs beside. */
static dl_status eval_net(const dl_net *net, dl_pool *pool, const dl_job *beside, int nbeside,
                          const dl_dataset *d, dl_cost cost, uint32_t *confusion, size_t *correct,
                          double *cost_sum, dl_err *e)
{
    size_t ld = dl_fast_ld(net->sizes[1]);
    /* Rows on cache lines (ld is a multiple of 16 floats): no load splits
     * one.  The padded bias is the last row. */
    float *wt = aligned_alloc(64, ((size_t)net->sizes[0] + 1) * ld * sizeof(float));
    if (!wt) {
        dl_jobs_run(beside, nbeside);
        return dl_err_set(e, DL_ENOMEM, "out of memory for evaluation");
    }
    transpose_in(net, wt, ld);
    float *bias = wt + (size_t)net->sizes[0] * ld;
    pad_row(net->b[0], net->sizes[1], ld, bias);
    const float *const rows[2] = {wt, wt};
    dl_status st = eval_rows(net, rows, bias, ld, pool, beside, nbeside, d, cost, confusion, correct, cost_sum, e);
    free(wt);
    return st;
}

static dl_status fast_evaluate(const dl_net *net, const dl_dataset *d, dl_cost cost, int threads,
                               uint32_t *confusion, size_t *correct, double *cost_sum, dl_err *e)
{
    *correct = 0;
    *cost_sum = 0.0;
    if (d->n == 0) return DL_OK;
    /* No more threads than chunks of EVAL_CHUNK examples: a thread costs
     * more to start than a few groups take. */
    size_t nchunks = (d->n + EVAL_CHUNK - 1) / EVAL_CHUNK;
    int want = threads < 1 ? 1 : threads;
    if ((size_t)want > nchunks) want = (int)nchunks;
    dl_pool *pool = dl_pool_new(want, e);
    if (!pool) return e ? e->code : DL_ENOMEM;
    dl_status st = eval_net(net, pool, NULL, 0, d, cost, confusion, correct, cost_sum, e);
    dl_pool_free(pool);
    return st;
}
