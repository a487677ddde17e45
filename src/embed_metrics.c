/*
 * embed_metrics.c — numbers about a space and about a map of it (embed.h):
 * leave-one-out 1-nearest-neighbour and nearest-class-mean accuracy (how
 * well the classes are apart in the space), and trustworthiness (how few
 * points a 2-D map brings close that were not close in the space).
 *
 * Trustworthiness needs, for every point, the input-space rank of each map
 * neighbour that is not an input-space neighbour: one walk over the rows of
 * all pairwise distances (embed_distance_rows) serves every map at once.
 * The ranks come from one pass over the row per point: each other point is
 * placed, by binary search, among the point's sorted intruders, and a
 * running count turns those placements into ranks.  Per-point penalties are
 * stored and summed in point order, so the result does not depend on the
 * threads.
 */
#include "embed_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1-NN and class means ------------------------------------------------------ */

double dl_embed_nn_accuracy_knn(const uint32_t *idx, int k, const uint8_t *labels, size_t n)
{
    if (!n) return 0.0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += labels[idx[i * (size_t)k]] == labels[i];
    return (double)ok / (double)n;
}

dl_status dl_embed_nn_accuracy(const float *X, size_t n, int d, const uint8_t *labels, int threads, double *acc,
                               dl_err *e)
{
    dl_status st = embed_check_shape("1-NN accuracy", X, n, d, 2, e);
    if (st != DL_OK) return st;
    if (!labels || !acc) return dl_err_set(e, DL_EINVAL, "1-NN accuracy: no labels");
    uint32_t *idx = malloc(n * sizeof(uint32_t));
    float *d2 = malloc(n * sizeof(float));
    if (!idx || !d2)
        st = dl_err_set(e, DL_ENOMEM, "out of memory");
    else if ((st = dl_embed_knn(X, n, d, 1, threads, idx, d2, e)) == DL_OK)
        *acc = dl_embed_nn_accuracy_knn(idx, 1, labels, n);
    free(d2);
    free(idx);
    return st;
}

dl_status dl_embed_class_mean_accuracy(const float *X, size_t n, int d, const uint8_t *labels, int nclasses,
                                       double *acc, dl_err *e)
{
    dl_status st = embed_check_shape("class-mean accuracy", X, n, d, 1, e);
    if (st != DL_OK) return st;
    if (!labels || !acc || nclasses < 1 || nclasses > 256)
        return dl_err_set(e, DL_EINVAL, "class-mean accuracy: no labels or %d classes (1..256)", nclasses);
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= nclasses)
            return dl_err_set(e, DL_EINVAL, "class-mean accuracy: label %d of point %zu is not below %d", labels[i], i,
                              nclasses);
    size_t D = (size_t)d, K = (size_t)nclasses;
    double *sum = calloc(K * D, sizeof(double));
    size_t *cnt = calloc(K, sizeof(size_t));
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        cnt[labels[i]]++;
        for (size_t c = 0; c < D; c++) sum[labels[i] * D + c] += X[i * D + c];
    }
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * D;
        int best = -1;
        double bestd = INFINITY;
        for (size_t k = 0; k < K; k++) {
            /* Its own class's mean without it; a class with no other
             * member has no mean to compare with. */
            size_t m = cnt[k] - (k == labels[i]);
            if (m == 0) continue;
            double s = 0.0;
            for (size_t c = 0; c < D; c++) {
                double mu = (sum[k * D + c] - (k == labels[i] ? x[c] : 0.0)) / (double)m;
                s += (x[c] - mu) * (x[c] - mu);
            }
            if (s < bestd) {
                bestd = s;
                best = (int)k;
            }
        }
        ok += best == labels[i];
    }
    free(sum);
    free(cnt);
    *acc = n ? (double)ok / (double)n : 0.0;
    return DL_OK;
}

/* ---- trustworthiness ------------------------------------------------------------- */

enum { MAXMAPS = 64, MAXDY = 16 };

typedef struct trust_job {
    size_t n;
    int nmaps, dy, k;
    const float *const *Y;
    double *penalty;       /* [nmaps x n] Σ (r − k) over point i's intruders */
    /* per thread: map distances [n], input neighbours [k], map neighbours
     * [k] (+ values), intruders [nmaps·k] with distances and counts */
    float **mrow;
    uint32_t **tmp_i;
    float **tmp_v;
} trust_job;

static int before(float v, uint32_t i, float w, uint32_t j) { return v < w || (v == w && i < j); }

static void trust_rows(void *p, int tid, size_t row0, size_t nrows, const float *Dblk)
{
    trust_job *J = p;
    size_t n = J->n;
    int k = J->k, dy = J->dy;
    float *mrow = J->mrow[tid];
    uint32_t *xin = J->tmp_i[tid], *min = xin + k, *intr = min + k;
    float *xv = J->tmp_v[tid], *mv = xv + k, *iv = mv + k;
    uint32_t *icount = intr + k;
    for (size_t r = 0; r < nrows; r++) {
        size_t i = row0 + r;
        const float *D = Dblk + r * n;
        embed_select_k(D, n, i, k, xin, xv);
        float dk = xv[k - 1];
        uint32_t kth = xin[k - 1];
        for (int m = 0; m < J->nmaps; m++) {
            const float *Y = J->Y[m], *yi = Y + i * (size_t)dy;
            for (size_t j = 0; j < n; j++) {
                float s = 0.0f;
                for (int c = 0; c < dy; c++) {
                    float t = yi[c] - Y[j * (size_t)dy + (size_t)c];
                    s += t * t;
                }
                mrow[j] = s;
            }
            embed_select_k(mrow, n, i, k, min, mv);
            /* Intruders: map neighbours ranked after the k-th input
             * neighbour (so not among the first k), sorted by (D, index). */
            int ni = 0;
            for (int a = 0; a < k; a++) {
                uint32_t j = min[a];
                if (!before(dk, kth, D[j], j)) continue;
                int b = ni++;
                for (; b > 0 && before(D[j], j, iv[b - 1], intr[b - 1]); b--) {
                    iv[b] = iv[b - 1];
                    intr[b] = intr[b - 1];
                }
                iv[b] = D[j];
                intr[b] = j;
            }
            double pen = 0.0;
            if (ni > 0) {
                /* icount[s]: points ordered before intruder s but not
                 * before intruder s − 1.  rank(intruder s) = 1 + Σ_{t<=s}. */
                memset(icount, 0, (size_t)ni * sizeof(uint32_t));
                float vmax = iv[ni - 1];
                for (size_t l = 0; l < n; l++) {
                    if (l == i || D[l] > vmax) continue;
                    int lo = 0, hi = ni; /* first intruder that (D[l], l) orders before */
                    while (lo < hi) {
                        int mid = (lo + hi) / 2;
                        if (before(D[l], (uint32_t)l, iv[mid], intr[mid])) hi = mid;
                        else lo = mid + 1;
                    }
                    if (lo < ni) icount[lo]++;
                }
                size_t run = 0;
                for (int s = 0; s < ni; s++) {
                    run += icount[s];
                    pen += (double)(run + 1) - (double)k;
                }
            }
            J->penalty[(size_t)m * n + i] = pen;
        }
    }
}

dl_status dl_embed_trustworthiness(const float *X, size_t n, int d, const float *const *Y, int nmaps, int dy, int k,
                                   int threads, double *t, dl_err *e)
{
    dl_status st = embed_check_shape("trustworthiness", X, n, d, 3, e);
    if (st != DL_OK) return st;
    if (!Y || !t || nmaps < 1 || nmaps > MAXMAPS || dy < 1 || dy > MAXDY)
        return dl_err_set(e, DL_EINVAL, "trustworthiness: %d maps of dimension %d (1..%d maps, 1..%d dimensions)",
                          nmaps, dy, MAXMAPS, MAXDY);
    if (k < 1 || 2 * (size_t)k >= n)
        return dl_err_set(e, DL_EINVAL, "trustworthiness: k = %d needs more than %d points (have %zu)", k, 2 * k, n);
    for (int m = 0; m < nmaps; m++)
        if ((st = embed_check_shape("trustworthiness (map)", Y[m], n, dy, 3, e)) != DL_OK) return st;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    trust_job J = {.n = n, .nmaps = nmaps, .dy = dy, .k = k, .Y = Y};
    float *mrow[64] = {0}, *tv[64] = {0};
    uint32_t *ti[64] = {0};
    J.mrow = mrow;
    J.tmp_i = ti;
    J.tmp_v = tv;
    J.penalty = malloc((size_t)nmaps * n * sizeof(double));
    int ok = J.penalty != NULL;
    size_t nk = 4 * (size_t)k; /* input and map neighbours, intruders, counts */
    for (int th = 0; th < threads && ok; th++)
        ok = (mrow[th] = malloc(n * sizeof(float))) && (ti[th] = malloc(nk * sizeof(uint32_t))) &&
             (tv[th] = malloc(nk * sizeof(float)));
    if (!ok)
        st = dl_err_set(e, DL_ENOMEM, "trustworthiness: out of memory for %zu points", n);
    else
        st = embed_distance_rows(X, n, d, threads, trust_rows, &J, e);
    if (st == DL_OK) {
        double norm = 2.0 / ((double)n * k * (2.0 * (double)n - 3.0 * k - 1.0));
        for (int m = 0; m < nmaps; m++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++) s += J.penalty[(size_t)m * n + i];
            t[m] = 1.0 - norm * s;
        }
    }
    for (int th = 0; th < 64; th++) {
        free(mrow[th]);
        free(ti[th]);
        free(tv[th]);
    }
    free(J.penalty);
    return st;
}
