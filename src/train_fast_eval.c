/*
 * train_fast_eval.c — evaluation with the fast kernel's forward pass (see
 * train_fast_eval.h): the first layer transposed and sparse in the inputs
 * (train_fast_layers.h), examples split between threads in fixed chunks.
 *
 * Determinism: examples are grouped in chunks of CHUNK, handed out to
 * whichever threads are running; each chunk's cost is summed in example
 * order into its own slot, and the slots are added in chunk order at the
 * end, so the total is the same whichever thread ran which chunk.
 * Confusion counts are integers.
 */
#include "train_fast_eval.h"

#include <stdlib.h>
#include <string.h>

#include "train_fast_layers.h"
#include "train_fast_pool.h"
#include "train_fast_simd.h"

#define CHUNK 128
/* Examples whose first layer is computed together (sharing WT rows in cache). */
#define GROUP 16

typedef struct eval_job {
    const dl_net *net;
    const dl_dataset *d;
    dl_cost cost;
    int T, K, nwords, maxw;
    size_t ld, nchunks;
    const float *wt;       /* [nin x ld] */
    float tab[256];
    double *chunk_cost;    /* [nchunks] */
    uint32_t *conf;        /* [T x confn] per-thread confusion [K x K] */
    size_t confn;
    size_t *correct;       /* [T] */
    float *scratch;        /* [T x per_thread] */
    size_t per_thread;
    dl_work work;          /* chunks of CHUNK examples */
} eval_job;

static void eval_thread(void *arg, int t)
{
    eval_job *j = arg;
    const dl_net *net = j->net;
    const dl_dataset *d = j->d;
    float *s = j->scratch + (size_t)t * j->per_thread;
    float *a1 = s, *bufa = a1 + GROUP * j->ld, *bufb = bufa + j->maxw, *y = bufb + j->maxw;
    uint64_t *mask = (uint64_t *)(void *)(y + dl_vround((size_t)j->K));
    uint32_t *conf = j->conf + (size_t)t * j->confn;
    int nb = (int)(j->ld / DL_VW);
    size_t correct = 0;
    const uint8_t *px[GROUP];
    memset(y, 0, (size_t)j->K * sizeof(float));
    int u;
    while ((u = dl_work_claim(&j->work)) >= 0) {
        size_t c = (size_t)u, i0 = c * CHUNK, i1 = i0 + CHUNK < d->n ? i0 + CHUNK : d->n;
        double cs = 0.0;
        for (size_t g = i0; g < i1; g += GROUP) {
            /* The first layer for GROUP examples at once (train_fast_layers.h). */
            int n = i1 - g < GROUP ? (int)(i1 - g) : GROUP;
            for (int q = 0; q < n; q++) {
                px[q] = d->pixels + (g + (size_t)q) * d->npix;
                dl_fast_nzmask(px[q], d->npix, mask + (size_t)q * j->nwords);
            }
            dl_fast_first_forward(j->wt, j->ld, net->b[0], net->sizes[1], j->tab, px, mask,
                                  j->nwords, n, nb, a1, j->ld);
            for (int q = 0; q < n; q++) {
                const float *a = dl_fast_forward_rest(net, a1 + (size_t)q * j->ld, bufa, bufb);
                int lab = d->labels[g + (size_t)q], pred = dl_argmax(a, j->K);
                y[lab] = 1.0f;
                cs += dl_cost_value(j->cost, a, y, j->K);
                y[lab] = 0.0f;
                conf[(size_t)lab * j->K + pred]++;
                correct += pred == lab;
            }
        }
        j->chunk_cost[c] = cs;
        dl_work_finish(&j->work);
    }
    j->correct[t] += correct;
}

dl_status dl_fast_evaluate(const dl_net *net, const dl_dataset *d, dl_cost cost, int threads,
                           uint32_t *confusion, size_t *correct, double *cost_sum, dl_err *e)
{
    eval_job j;
    memset(&j, 0, sizeof j);
    j.net = net;
    j.d = d;
    j.cost = cost;
    j.K = net->sizes[net->nlayers - 1];
    j.ld = dl_vround((size_t)net->sizes[1]);
    j.nwords = (int)((d->npix + 63) / 64);
    j.nchunks = (d->n + CHUNK - 1) / CHUNK;
    j.maxw = 1;
    for (int l = 2; l < net->nlayers; l++)
        if (net->sizes[l] > j.maxw) j.maxw = net->sizes[l];
    dl_fast_xtable(j.tab);
    *correct = 0;
    *cost_sum = 0.0;
    if (d->n == 0) return DL_OK;

    /* No more threads than chunks of work. */
    int want = threads < 1 ? 1 : threads;
    if ((size_t)want > j.nchunks) want = (int)j.nchunks;
    dl_pool *pool = dl_pool_new(want, e);
    if (!pool) return e ? e->code : DL_ENOMEM;
    j.T = dl_pool_threads(pool);
    /* Per thread: a1 [GROUP x ld], two layer buffers, target, then the
     * pixel masks [GROUP x nwords]. */
    j.per_thread = GROUP * j.ld + 2 * dl_vround((size_t)j.maxw) + dl_vround((size_t)j.K) +
                   2 * GROUP * (size_t)j.nwords + DL_VW;
    /* Whole cache lines plus a spare one per thread: threads write these
     * for every example, and must not share a line. */
    j.per_thread = (j.per_thread + 31) / 16 * 16;
    j.confn = ((size_t)j.K * j.K + 31) / 16 * 16;
    float *wt = malloc((size_t)net->sizes[0] * j.ld * sizeof(float));
    j.chunk_cost = calloc(j.nchunks, sizeof(double));
    j.conf = calloc((size_t)j.T * j.confn, sizeof(uint32_t));
    j.correct = calloc((size_t)j.T, sizeof(size_t));
    j.scratch = calloc((size_t)j.T * j.per_thread, sizeof(float));
    dl_status st = DL_OK;
    if (!wt || !j.chunk_cost || !j.conf || !j.correct || !j.scratch) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory for evaluation");
    } else {
        dl_fast_transpose_in(net, wt, j.ld);
        j.wt = wt;
        dl_work_reset(&j.work, (int)j.nchunks, NULL);
        dl_pool_run(pool, eval_thread, &j);
        for (size_t c = 0; c < j.nchunks; c++) *cost_sum += j.chunk_cost[c];
        for (int t = 0; t < j.T; t++) {
            *correct += j.correct[t];
            for (size_t q = 0; q < (size_t)j.K * j.K; q++) confusion[q] += j.conf[(size_t)t * j.confn + q];
        }
    }
    dl_pool_free(pool);
    free(wt);
    free(j.chunk_cost);
    free(j.conf);
    free(j.correct);
    free(j.scratch);
    return st;
}
