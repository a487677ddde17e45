/*
 * embed_tsne.c — t-SNE's affinities and its optimisation (embed.h): the
 * perplexity calibration, the symmetric sparse P, the initial map, and
 * gradient descent with early exaggeration, momentum and gains, the way
 * van der Maaten's 2014 paper and scikit-learn's TSNE (1.2) run it.  The
 * gradient itself is embed_bh.c's.
 *
 * What follows scikit-learn on purpose, so that maps and timings can be
 * compared side by side (make bench): the learning rate "auto" (n / 12 / 4,
 * at least 50; Belkina et al. 2019), the PCA initialisation scaled to a
 * standard deviation of 1e-4, squared Euclidean distances in the Gaussian
 * kernel, the normalisation P / ΣP, and computing KL every 50 iterations.
 * What differs: the neighbour count is the paper's ⌊3·perplexity⌋
 * (scikit-learn takes one more), and the optimisation never stops early.
 */
#include "embed_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/rng.h"

dl_tsne_opts dl_tsne_defaults(void)
{
    dl_tsne_opts o;
    memset(&o, 0, sizeof o);
    o.perplexity = 30.0;
    o.iterations = 1000;
    o.theta = 0.5;
    o.exaggeration = 12.0;
    o.exaggeration_iters = 250;
    o.learning_rate = 0.0;
    o.init = DL_TSNE_INIT_PCA;
    o.seed = 1;
    o.threads = 1;
    o.kl_every = 50;
    return o;
}

void dl_tsne_result_free(dl_tsne_result *r)
{
    if (!r) return;
    free(r->Y);
    free(r->kl_iteration);
    free(r->kl_history);
    memset(r, 0, sizeof *r);
}

void dl_sparse_free(dl_sparse *s) { free(s); }

/* ---- perplexity calibration --------------------------------------------------- */

/* Row i: β by bisection so that H(p(·|i)) = ln(perplexity).  The distances
 * are shifted by the smallest one first: p is unchanged (the shift cancels
 * in the normalisation) and the largest term is exp(0) = 1, so the sum can
 * neither underflow nor overflow whatever the data's scale. */
static double calibrate_row(const float *d2, int k, double target, float *p, double *prow)
{
    double dmin = d2[0];
    for (int j = 1; j < k; j++)
        if (d2[j] < dmin) dmin = d2[j];
    double beta = 1.0, lo = 0.0, hi = INFINITY;
    /* A first guess on the data's own scale: β = 1 / mean shifted distance. */
    double mean = 0.0;
    for (int j = 0; j < k; j++) mean += d2[j] - dmin;
    mean /= k;
    if (mean > 0.0) beta = 1.0 / mean;
    for (int step = 0; step < 200; step++) {
        double sum = 0.0, dsum = 0.0;
        for (int j = 0; j < k; j++) {
            double dj = d2[j] - dmin;
            prow[j] = exp(-beta * dj);
            sum += prow[j];
            dsum += dj * prow[j];
        }
        double H = log(sum) + beta * dsum / sum;
        if (fabs(H - target) < 1e-5) break;
        if (H > target) { /* too flat: sharpen */
            lo = beta;
            beta = isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
    double sum = 0.0;
    for (int j = 0; j < k; j++) {
        prow[j] = exp(-beta * (d2[j] - dmin));
        sum += prow[j];
    }
    for (int j = 0; j < k; j++) p[j] = (float)(prow[j] / sum);
    return beta;
}

typedef struct aff_job {
    const float *dist2;
    size_t n;
    int k;
    double target;
    float *p;
    double *beta;
    double **scratch;
    _Atomic size_t next;
} aff_job;

static void aff_task(void *v, int tid, int nthreads)
{
    (void)nthreads;
    aff_job *J = v;
    for (;;) {
        size_t i0 = J->next++ * 64;
        if (i0 >= J->n) break;
        size_t i1 = i0 + 64 < J->n ? i0 + 64 : J->n;
        for (size_t i = i0; i < i1; i++) {
            size_t o = i * (size_t)J->k;
            double b = calibrate_row(J->dist2 + o, J->k, J->target, J->p + o, J->scratch[tid]);
            if (J->beta) J->beta[i] = b;
        }
    }
}

dl_status dl_tsne_affinities(const float *dist2, size_t n, int k, double perplexity, int threads, float *p,
                             double *beta, dl_err *e)
{
    if (!dist2 || !p || n < 1 || k < 2) return dl_err_set(e, DL_EINVAL, "t-SNE affinities: no data");
    if (!(perplexity >= 1.0) || perplexity >= k)
        return dl_err_set(e, DL_EINVAL, "t-SNE affinities: perplexity %g is outside 1..%d (the neighbours per point)",
                          perplexity, k);
    for (size_t i = 0; i < n * (size_t)k; i++)
        if (!(dist2[i] >= 0.0f) || isinf(dist2[i]))
            return dl_err_set(e, DL_EINVAL, "t-SNE affinities: distance %zu of point %zu is not a finite value >= 0",
                              i % (size_t)k, i / (size_t)k);
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    double *scratch[64] = {0};
    dl_status st = DL_OK;
    for (int t = 0; t < threads; t++)
        if (!(scratch[t] = malloc((size_t)k * sizeof(double)))) st = dl_err_set(e, DL_ENOMEM, "out of memory");
    if (st == DL_OK) {
        aff_job J = {.dist2 = dist2, .n = n, .k = k, .target = log(perplexity), .p = p, .beta = beta,
                     .scratch = scratch};
        J.next = 0;
        dl_parallel_run(threads, aff_task, &J);
    }
    for (int t = 0; t < threads; t++) free(scratch[t]);
    return st;
}

/* ---- the symmetric P ------------------------------------------------------------ */

dl_sparse *dl_tsne_joint(const uint32_t *idx, const float *p, size_t n, int k, dl_err *e)
{
    size_t m = n * (size_t)k;
    for (size_t q = 0; q < m; q++)
        if (idx[q] >= n || idx[q] == q / (size_t)k) {
            dl_err_set(e, DL_EINVAL, "t-SNE: neighbour %zu of point %zu is %u (not another point)", q % (size_t)k,
                       q / (size_t)k, idx[q]);
            return NULL;
        }
    /* The transpose of the conditional matrix by counting sort: row j of it
     * lists (i, p(j|i)) for every i that has j as a neighbour, i ascending. */
    size_t *tptr = calloc(n + 1, sizeof(size_t));
    uint32_t *tcol = malloc(m * sizeof(uint32_t));
    float *tval = malloc(m * sizeof(float));
    uint32_t *order = malloc((size_t)k * sizeof(uint32_t));
    /* Worst case every entry is unmatched: 2m non-zeros. */
    dl_sparse *P = NULL;
    size_t bytes = sizeof(dl_sparse) + (n + 1) * sizeof(size_t) + 2 * m * (sizeof(uint32_t) + sizeof(float));
    if (tptr && tcol && tval && order) P = malloc(bytes);
    if (!P) {
        dl_err_set(e, DL_ENOMEM, "t-SNE: out of memory for the affinities of %zu points", n);
        goto done;
    }
    for (size_t q = 0; q < m; q++) tptr[idx[q] + 1]++;
    for (size_t j = 0; j < n; j++) tptr[j + 1] += tptr[j];
    for (size_t i = 0; i < n; i++)
        for (int a = 0; a < k; a++) {
            size_t q = i * (size_t)k + (size_t)a, at = tptr[idx[q]]++;
            tcol[at] = (uint32_t)i;
            tval[at] = p[q];
        }
    for (size_t j = n; j > 0; j--) tptr[j] = tptr[j - 1];
    tptr[0] = 0;

    P->n = n;
    P->rowptr = (size_t *)(P + 1);
    P->col = (uint32_t *)(P->rowptr + n + 1);
    P->val = (float *)(P->col + 2 * m);
    size_t nz = 0;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        P->rowptr[i] = nz;
        /* Row i's own neighbours in column order (insertion sort of k). */
        const uint32_t *ix = idx + i * (size_t)k;
        for (int a = 0; a < k; a++) {
            int b = a;
            for (; b > 0 && ix[order[b - 1]] > ix[a]; b--) order[b] = order[b - 1];
            order[b] = (uint32_t)a;
        }
        /* Merge with row i of the transpose: both ascending. */
        size_t t = tptr[i], te = tptr[i + 1];
        int a = 0;
        while (a < k || t < te) {
            uint32_t ca = a < k ? ix[order[a]] : UINT32_MAX, ct = t < te ? tcol[t] : UINT32_MAX;
            double v = 0.0;
            uint32_t c = ca < ct ? ca : ct;
            if (ca == c) v += p[i * (size_t)k + order[a++]];
            if (ct == c) v += tval[t++];
            P->col[nz] = c;
            P->val[nz] = (float)v;
            total += v;
            nz++;
        }
    }
    P->rowptr[n] = nz;
    P->nnz = nz;
    float inv = (float)(1.0 / (total > 0.0 ? total : 1.0));
    for (size_t q = 0; q < nz; q++) P->val[q] *= inv;
done:
    free(order);
    free(tval);
    free(tcol);
    free(tptr);
    return P;
}

/* ---- the optimisation -------------------------------------------------------------- */

static dl_status check_opts(const dl_tsne_opts *o, size_t n, dl_err *e)
{
    if (!(o->perplexity >= 1.0) || o->perplexity > 1e5)
        return dl_err_set(e, DL_EINVAL, "t-SNE: perplexity %g is outside 1..100000", o->perplexity);
    if ((double)n < 3.0 * o->perplexity + 1.0)
        return dl_err_set(e, DL_EINVAL, "t-SNE: perplexity %g needs at least %.0f points (have %zu)", o->perplexity,
                          floor(3.0 * o->perplexity) + 1.0, n);
    if (o->iterations < 1 || o->iterations > 1000000)
        return dl_err_set(e, DL_EINVAL, "t-SNE: %d iterations is outside 1..1000000", o->iterations);
    if (!(o->theta >= 0.0) || o->theta > 1.0) return dl_err_set(e, DL_EINVAL, "t-SNE: theta %g is outside 0..1", o->theta);
    if (!(o->exaggeration >= 1.0) || o->exaggeration > 1000.0 || o->exaggeration_iters < 0)
        return dl_err_set(e, DL_EINVAL, "t-SNE: exaggeration %g for %d iterations is not allowed", o->exaggeration,
                          o->exaggeration_iters);
    if (!(o->learning_rate >= 0.0) || o->learning_rate > 1e6)
        return dl_err_set(e, DL_EINVAL, "t-SNE: learning rate %g is outside 0 (auto)..1000000", o->learning_rate);
    if (o->threads < 1 || o->threads > 64) return dl_err_set(e, DL_EINVAL, "t-SNE: %d threads is outside 1..64", o->threads);
    if (o->init != DL_TSNE_INIT_PCA && o->init != DL_TSNE_INIT_RANDOM && !(o->init == DL_TSNE_INIT_GIVEN && o->start))
        return dl_err_set(e, DL_EINVAL, "t-SNE: unknown initialisation %d (or no start map)", (int)o->init);
    return DL_OK;
}

/* The starting map: [n x 2] with standard deviation 1e-4 along the first axis. */
static dl_status init_map(const float *X, size_t n, int d, const dl_tsne_opts *o, float *Y, dl_err *e)
{
    if (o->init == DL_TSNE_INIT_GIVEN) {
        memcpy(Y, o->start, 2 * n * sizeof *Y);
        return DL_OK;
    }
    if (o->init == DL_TSNE_INIT_RANDOM) {
        dl_rng r;
        dl_rng_seed(&r, o->seed);
        for (size_t i = 0; i < 2 * n; i++) Y[i] = (float)(1e-4 * dl_rng_normal(&r));
        return DL_OK;
    }
    if (!X) return dl_err_set(e, DL_EINVAL, "t-SNE: the PCA initialisation needs the data");
    dl_pca *p = dl_pca_fit(X, n, d, d >= 2 ? 2 : 1, o->threads, e);
    if (!p) return e ? e->code : DL_ENOMEM;
    if (d >= 2) {
        dl_pca_transform(p, X, n, Y);
    } else { /* one dimension: the data along x, zeros along y */
        dl_pca_transform(p, X, n, Y + n);
        for (size_t i = 0; i < n; i++) {
            Y[2 * i] = Y[n + i];
            Y[2 * i + 1] = 0.0f;
        }
    }
    dl_pca_free(p);
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < n; i++) mean += Y[2 * i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += ((double)Y[2 * i] - mean) * ((double)Y[2 * i] - mean);
    double sd = sqrt(var / (double)n), s = sd > 0.0 ? 1e-4 / sd : 1.0;
    for (size_t i = 0; i < 2 * n; i++) Y[i] = (float)(Y[i] * s);
    return DL_OK;
}

static dl_sparse *sparse_new(size_t n, size_t nnz)
{
    dl_sparse *s = malloc(sizeof(dl_sparse) + (n + 1) * sizeof(size_t) + nnz * (sizeof(uint32_t) + sizeof(float)));
    if (!s) return NULL;
    s->n = n;
    s->nnz = nnz;
    s->rowptr = (size_t *)(s + 1);
    s->col = (uint32_t *)(s->rowptr + n + 1);
    s->val = (float *)(s->col + nnz);
    return s;
}

/* dst = src with its points renumbered: new point q is old point perm[q]
 * (inv is perm's inverse). */
static void sparse_permute(const dl_sparse *src, const uint32_t *perm, const uint32_t *inv, dl_sparse *dst)
{
    size_t nz = 0;
    for (size_t q = 0; q < src->n; q++) {
        dst->rowptr[q] = nz;
        for (size_t t = src->rowptr[perm[q]]; t < src->rowptr[perm[q] + 1]; t++) {
            dst->col[nz] = inv[src->col[t]];
            dst->val[nz++] = src->val[t];
        }
    }
    dst->rowptr[src->n] = nz;
}

/* Renumbers the working arrays (Y, update, gain [n x 2], orig [n]) and P
 * into Morton order of the current map: the point at working position q
 * moves to the position its cell has in the tree, so that the points a walk
 * or a row of P touches together lie together in memory.  The order is a
 * function of the map alone, so results stay independent of threads. */
static void renumber(embed_bh *w, dl_sparse **P, dl_sparse **spare, float *Y, float *upd, float *gain,
                     uint32_t *orig, uint32_t *perm, uint32_t *inv, float *tmp)
{
    size_t n = (*P)->n;
    embed_bh_order(w, Y, perm);
    for (size_t q = 0; q < n; q++) inv[perm[q]] = (uint32_t)q;
    float *arr[3] = {Y, upd, gain};
    for (int a = 0; a < 3; a++) {
        for (size_t q = 0; q < n; q++) {
            tmp[2 * q] = arr[a][2 * perm[q]];
            tmp[2 * q + 1] = arr[a][2 * perm[q] + 1];
        }
        memcpy(arr[a], tmp, 2 * n * sizeof(float));
    }
    uint32_t *o2 = (uint32_t *)(void *)tmp; /* tmp holds 2n floats: room for n indices */
    for (size_t q = 0; q < n; q++) o2[q] = orig[perm[q]];
    memcpy(orig, o2, n * sizeof(uint32_t));
    sparse_permute(*P, perm, inv, *spare);
    dl_sparse *t = *P;
    *P = *spare;
    *spare = t;
}

enum { RENUMBER_EVERY = 25 };

static dl_status optimise(const dl_sparse *P0, const dl_tsne_opts *o, float *Yout, dl_tsne_result *r, dl_err *e)
{
    size_t n = P0->n;
    float *grad = malloc(2 * n * sizeof(float)), *upd = calloc(2 * n, sizeof(float)),
          *gain = malloc(2 * n * sizeof(float)), *Y = malloc(2 * n * sizeof(float)),
          *tmp = malloc(2 * n * sizeof(float));
    uint32_t *orig = malloc(n * sizeof(uint32_t)), *perm = malloc(n * sizeof(uint32_t)),
             *inv = malloc(n * sizeof(uint32_t));
    dl_sparse *P = sparse_new(n, P0->nnz), *spare = sparse_new(n, P0->nnz);
    int cap = o->iterations / (o->kl_every > 0 ? o->kl_every : o->iterations) + 2;
    r->kl_iteration = malloc((size_t)cap * sizeof(int));
    r->kl_history = malloc((size_t)cap * sizeof(double));
    embed_bh *w = embed_bh_new(n, o->threads);
    dl_status st = DL_OK;
    if (!grad || !upd || !gain || !Y || !tmp || !orig || !perm || !inv || !P || !spare || !w || !r->kl_iteration ||
        !r->kl_history) {
        st = dl_err_set(e, DL_ENOMEM, "t-SNE: out of memory for %zu points", n);
        goto done;
    }
    memcpy(P->rowptr, P0->rowptr, (n + 1) * sizeof(size_t));
    memcpy(P->col, P0->col, P0->nnz * sizeof(uint32_t));
    memcpy(P->val, P0->val, P0->nnz * sizeof(float));
    memcpy(Y, Yout, 2 * n * sizeof(float));
    for (size_t i = 0; i < n; i++) orig[i] = (uint32_t)i;
    for (size_t i = 0; i < 2 * n; i++) gain[i] = 1.0f;
    double lr = o->learning_rate > 0.0 ? o->learning_rate : fmax((double)n / o->exaggeration / 4.0, 50.0);
    double plogp = embed_plogp(P), t0 = embed_now();
    float eta = (float)lr;
    for (int it = 0; it < o->iterations; it++) {
        if (o->stop && *o->stop) {
            st = dl_err_set(e, DL_EINTR, "t-SNE: interrupted after %d iterations", it);
            goto done;
        }
        if (it % RENUMBER_EVERY == 0) renumber(w, &P, &spare, Y, upd, gain, orig, perm, inv, tmp);
        int early = it < o->exaggeration_iters;
        int want_kl = it + 1 == o->iterations || (o->kl_every > 0 && (it + 1) % o->kl_every == 0);
        double kl = 0.0;
        embed_bh_gradient(w, P, Y, o->theta, early ? o->exaggeration : 1.0, o->threads, grad, plogp,
                          want_kl ? &kl : NULL);
        float mom = early ? 0.5f : 0.8f;
        for (size_t i = 0; i < 2 * n; i++) {
            float g = grad[i], gn = upd[i] * g < 0.0f ? gain[i] + 0.2f : gain[i] * 0.8f;
            gain[i] = gn < 0.01f ? 0.01f : gn;
            upd[i] = mom * upd[i] - eta * gain[i] * g;
            Y[i] += upd[i];
        }
        if (want_kl) {
            r->kl_iteration[r->nkl] = it + 1;
            r->kl_history[r->nkl++] = kl;
            r->kl = kl;
            if (o->progress) {
                dl_tsne_progress pr = {it + 1, o->iterations, kl, embed_now() - t0};
                o->progress(&pr, o->ctx);
            }
        }
    }
    for (size_t q = 0; q < n; q++) {
        Yout[2 * orig[q]] = Y[2 * q];
        Yout[2 * orig[q] + 1] = Y[2 * q + 1];
    }
    for (size_t i = 0; i < 2 * n; i++)
        if (!isfinite(Yout[i])) {
            st = dl_err_set(e, DL_EINVAL, "t-SNE diverged (learning rate %g too large for these data?)", lr);
            break;
        }
done:
    embed_bh_free(w);
    dl_sparse_free(spare);
    dl_sparse_free(P);
    free(inv);
    free(perm);
    free(orig);
    free(tmp);
    free(Y);
    free(gain);
    free(upd);
    free(grad);
    return st;
}

dl_status dl_tsne_knn(const float *X, size_t n, int d, const uint32_t *idx, const float *dist2, int kk,
                      const dl_tsne_opts *o, dl_tsne_result *out, dl_err *e)
{
    memset(out, 0, sizeof *out);
    dl_status st = check_opts(o, n, e);
    if (st != DL_OK) return st;
    int k = (int)floor(3.0 * o->perplexity);
    if ((size_t)k > n - 1) k = (int)(n - 1);
    if (!idx || !dist2 || kk < k)
        return dl_err_set(e, DL_EINVAL, "t-SNE: %d neighbours per point given, perplexity %g needs %d", kk,
                          o->perplexity, k);
    double t0 = embed_now();
    /* The first k of each row, contiguous. */
    uint32_t *ix = malloc(n * (size_t)k * sizeof(uint32_t));
    float *d2 = malloc(n * (size_t)k * sizeof(float)), *p = malloc(n * (size_t)k * sizeof(float));
    dl_sparse *P = NULL;
    out->n = n;
    out->k = k;
    out->Y = malloc(2 * n * sizeof(float));
    if (!ix || !d2 || !p || !out->Y) {
        st = dl_err_set(e, DL_ENOMEM, "t-SNE: out of memory for %zu points", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(ix + i * (size_t)k, idx + i * (size_t)kk, (size_t)k * sizeof(uint32_t));
        memcpy(d2 + i * (size_t)k, dist2 + i * (size_t)kk, (size_t)k * sizeof(float));
    }
    if ((st = dl_tsne_affinities(d2, n, k, o->perplexity, o->threads, p, NULL, e)) != DL_OK) goto done;
    if (!(P = dl_tsne_joint(ix, p, n, k, e))) {
        st = e ? e->code : DL_ENOMEM;
        goto done;
    }
    if ((st = init_map(X, n, d, o, out->Y, e)) != DL_OK) goto done;
    out->seconds_affinities = embed_now() - t0;
    t0 = embed_now();
    st = optimise(P, o, out->Y, out, e);
    out->seconds_optimise = embed_now() - t0;
done:
    dl_sparse_free(P);
    free(p);
    free(d2);
    free(ix);
    if (st != DL_OK) dl_tsne_result_free(out);
    return st;
}

dl_status dl_tsne(const float *X, size_t n, int d, const dl_tsne_opts *o, dl_tsne_result *out, dl_err *e)
{
    memset(out, 0, sizeof *out);
    dl_status st = embed_check_shape("t-SNE", X, n, d, 2, e);
    if (st != DL_OK || (st = check_opts(o, n, e)) != DL_OK) return st;
    int k = (int)floor(3.0 * o->perplexity);
    if ((size_t)k > n - 1) k = (int)(n - 1);
    uint32_t *idx = malloc(n * (size_t)k * sizeof(uint32_t));
    float *dist2 = malloc(n * (size_t)k * sizeof(float));
    if (!idx || !dist2) {
        st = dl_err_set(e, DL_ENOMEM, "t-SNE: out of memory for the neighbours of %zu points", n);
    } else {
        double t0 = embed_now();
        st = dl_embed_knn(X, n, d, k, o->threads, idx, dist2, e);
        double tk = embed_now() - t0;
        if (st == DL_OK) st = dl_tsne_knn(X, n, d, idx, dist2, k, o, out, e);
        out->seconds_knn = tk;
    }
    free(dist2);
    free(idx);
    return st;
}
