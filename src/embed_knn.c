/*
 * embed_knn.c — exact k nearest neighbours (embed.h): every row's squared
 * distances to all points from the blocked kernel, the k smallest kept by a
 * bounded heap, then their distances recomputed directly (Σ (x − y)², no
 * cancellation) because t-SNE's affinities are made from them.
 *
 * Why exact rather than a vantage-point tree: for the sizes this tool maps
 * (the 10,000 test digits, d = 784 pixels or a hidden layer's 30..1000
 * units) a metric tree prunes little in so many dimensions, while the
 * blocked kernel runs near the machine's multiply-add rate; n²·d work is a
 * second or two at n = 10,000, d = 784 on two cores (see make bench).
 */
#include "embed_internal.h"

#include <stdlib.h>

typedef struct knn_job {
    const float *X;
    size_t n;
    int d, k;
    uint32_t *idx;
    float *dist2;
} knn_job;

static void knn_rows(void *p, int tid, size_t row0, size_t nrows, const float *D)
{
    (void)tid;
    knn_job *J = p;
    for (size_t r = 0; r < nrows; r++) {
        size_t i = row0 + r;
        uint32_t *ix = J->idx + i * (size_t)J->k;
        float *dv = J->dist2 + i * (size_t)J->k;
        embed_select_k(D + r * J->n, J->n, i, J->k, ix, dv);
        const float *xi = J->X + i * (size_t)J->d;
        for (int m = 0; m < J->k; m++) dv[m] = embed_dist2(xi, J->X + (size_t)ix[m] * (size_t)J->d, (size_t)J->d);
        /* The direct sums may reorder near-ties: sort again (insertion
         * sort, the row is already almost in order). */
        for (int m = 1; m < J->k; m++) {
            float v = dv[m];
            uint32_t j = ix[m];
            int q = m;
            for (; q > 0 && (dv[q - 1] > v || (dv[q - 1] == v && ix[q - 1] > j)); q--) {
                dv[q] = dv[q - 1];
                ix[q] = ix[q - 1];
            }
            dv[q] = v;
            ix[q] = j;
        }
    }
}

dl_status dl_embed_knn(const float *X, size_t n, int d, int k, int threads, uint32_t *idx,
                       float *dist2, dl_err *e)
{
    dl_status st = embed_check_shape("nearest neighbours", X, n, d, 2, e);
    if (st != DL_OK) return st;
    if (k < 1 || (size_t)k > n - 1)
        return dl_err_set(e, DL_EINVAL, "nearest neighbours: k = %d is outside 1..%zu", k, n - 1);
    if (!idx || !dist2) return dl_err_set(e, DL_EINVAL, "nearest neighbours: no output arrays");
    knn_job J = {X, n, d, k, idx, dist2};
    return embed_distance_rows(X, n, d, threads, knn_rows, &J, e);
}
