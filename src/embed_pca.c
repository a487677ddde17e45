/*
 * embed_pca.c — principal components (embed.h) from the covariance matrix:
 * X centred and transposed, C = Xcᵀ·Xc / (n − 1) by the blocked kernel
 * (upper triangle only, mirrored), then LAPACK's dsyevr for just the ncomp
 * largest eigenpairs.  Forming C costs n·d²/2 multiply-adds and is the
 * bulk of the work (10,000 x 784: about 3·10⁹); the eigensolver's
 * tridiagonal reduction of the d x d matrix is the rest.  The eigenvalues
 * are the variances along the components, and C's trace is the total, so
 * explained variance needs no other eigenvalues.
 *
 * LAPACKE is loaded on first use (dlopen), with every signal blocked in the
 * calling thread meanwhile, rather than linked: Debian's LAPACK may be
 * OpenBLAS, which starts threads of its own when it is loaded, and a thread
 * that does not block SIGINT/SIGTERM can take a Ctrl-C meant for digitlens
 * and kill it in the middle of an atomic write (fileio holds signals back
 * only in the writing thread).  Threads started while the signals are
 * blocked inherit the block, so OpenBLAS's never see one; and commands that
 * make no PCA never load LAPACK at all.
 */
#include "embed_internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* ---- LAPACKE, loaded once ---------------------------------------------------- */

typedef __typeof__(LAPACKE_dsyevr) dsyevr_fn;

/* Written once under pthread_once, read-only afterwards. */
static dsyevr_fn *g_dsyevr;
static char g_dlerr[256];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load_lapacke(void)
{
    static const char *const names[] = {"liblapacke.so.3", "liblapacke.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !g_dsyevr; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *m = dlerror();
            snprintf(g_dlerr, sizeof g_dlerr, "%s", m ? m : names[i]);
            continue;
        }
        g_dsyevr = (dsyevr_fn *)dlsym(h, "LAPACKE_dsyevr"); /* the library stays loaded */
        /* OpenBLAS's threads cost more than they give on a d x d matrix of a
         * few hundred (784: 0.15 s alone, 0.45 s on two cores measured here,
         * its waiting threads spinning), and nothing else uses BLAS. */
        void (*one_thread)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
        if (one_thread) one_thread(1);
    }
}

/* Runs with every signal blocked in this thread (see the top of the file). */
static dsyevr_fn *lapacke(dl_err *e)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_once(&g_once, load_lapacke);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!g_dsyevr)
        dl_err_set(e, DL_EIO, "PCA needs LAPACKE, which could not be loaded (%s; apt-get install liblapacke)",
                   g_dlerr[0] ? g_dlerr : "no LAPACKE_dsyevr");
    return g_dsyevr;
}

typedef struct cov_job {
    const float *XT;   /* [d x n] centred, transposed */
    const float *Bp;   /* XT packed */
    size_t n, d;
    float *C;          /* [d x d], upper triangle filled */
    float **scratch;   /* per thread */
    _Atomic size_t next;
} cov_job;

static void cov_task(void *p, int tid, int nthreads)
{
    (void)nthreads;
    cov_job *J = p;
    for (;;) {
        size_t i0 = J->next++ * EMBED_ABLOCK;
        if (i0 >= J->d) break;
        size_t m = J->d - i0 < EMBED_ABLOCK ? J->d - i0 : EMBED_ABLOCK;
        /* Columns from the panel holding the block's first row onwards:
         * every entry on or above the diagonal, a few below it. */
        size_t j0 = i0 / EMBED_NR * EMBED_NR;
        embed_gram(J->XT + i0 * J->n, m, J->n, J->Bp, J->d, J->n, j0, J->d, J->C + i0 * J->d, J->d,
                   J->scratch[tid], NULL, NULL);
    }
}

dl_pca *dl_pca_fit(const float *X, size_t n, int d, int ncomp, int threads, dl_err *e)
{
    if (embed_check_shape("PCA", X, n, d, 2, e) != DL_OK) return NULL;
    if (ncomp < 1 || ncomp > d) {
        dl_err_set(e, DL_EINVAL, "PCA: %d components asked of %d dimensions", ncomp, d);
        return NULL;
    }
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    size_t D = (size_t)d, K = (size_t)ncomp;
    /* One allocation for the result: struct, variances, mean, components. */
    size_t bytes = sizeof(dl_pca) + K * sizeof(double) + (D + K * D) * sizeof(float);
    dl_pca *p = calloc(1, bytes);
    double *mean = calloc(D, sizeof(double));
    float *XT = malloc(D * n * sizeof(float));
    float *C = malloc(D * D * sizeof(float));
    double *A = malloc(D * D * sizeof(double));
    double *w = malloc(D * sizeof(double));
    double *z = malloc(D * K * sizeof(double));
    lapack_int *isuppz = malloc(2 * K * sizeof(lapack_int));
    float *scratch[64] = {0};
    float *Bp = NULL;
    int ok = p && mean && XT && C && A && w && z && isuppz;
    for (int t = 0; t < threads && ok; t++) ok = (scratch[t] = malloc(EMBED_SCRATCH * sizeof(float))) != NULL;
    if (ok) {
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < D; c++) mean[c] += X[i * D + c];
        for (size_t c = 0; c < D; c++) mean[c] /= (double)n;
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < D; c++) XT[c * n + i] = (float)(X[i * D + c] - mean[c]);
        ok = (Bp = embed_pack_rows(XT, D, n, n)) != NULL;
    }
    if (!ok) {
        dl_err_set(e, DL_ENOMEM, "PCA: out of memory for %zu points in %d dimensions", n, d);
        goto fail;
    }
    dsyevr_fn *dsyevr = lapacke(e);
    if (!dsyevr) goto fail;
    cov_job J = {.XT = XT, .Bp = Bp, .n = n, .d = D, .C = C, .scratch = scratch};
    J.next = 0;
    dl_parallel_run(threads, cov_task, &J);
    double total = 0.0;
    for (size_t i = 0; i < D; i++) {
        for (size_t j = i; j < D; j++) A[i * D + j] = A[j * D + i] = (double)C[i * D + j] / (double)(n - 1);
        total += A[i * D + i];
    }
    /* Signals blocked here too, in case the library starts its threads
     * only when first asked to work. */
    lapack_int m = 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    lapack_int info = dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', (lapack_int)d, A, (lapack_int)d, 0.0, 0.0,
                             (lapack_int)(d - ncomp + 1), (lapack_int)d, 0.0, &m, w, z, (lapack_int)ncomp, isuppz);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (info != 0 || m != ncomp) {
        dl_err_set(e, DL_EFORMAT, "PCA: LAPACK dsyevr failed (info %d, %d of %d eigenvalues)", (int)info, (int)m,
                   ncomp);
        goto fail;
    }
    p->d = d;
    p->ncomp = ncomp;
    p->variance = (double *)(p + 1);
    p->mean = (float *)(p->variance + K);
    p->components = p->mean + D;
    p->total_variance = total;
    for (size_t c = 0; c < D; c++) p->mean[c] = (float)mean[c];
    /* dsyevr returns ascending eigenvalues: component 0 is the last column. */
    for (size_t c = 0; c < K; c++) {
        size_t col = K - 1 - c;
        double big = 0.0;
        for (size_t r = 0; r < D; r++)
            if (fabs(z[r * K + col]) > fabs(big)) big = z[r * K + col];
        double sgn = big < 0 ? -1.0 : 1.0;
        for (size_t r = 0; r < D; r++) p->components[c * D + r] = (float)(sgn * z[r * K + col]);
        p->variance[c] = w[col] > 0.0 ? w[col] : 0.0;
    }
    goto done;
fail:
    free(p);
    p = NULL;
done:
    for (int t = 0; t < 64; t++) free(scratch[t]);
    free(Bp);
    free(isuppz);
    free(z);
    free(w);
    free(A);
    free(C);
    free(XT);
    free(mean);
    return p;
}

void dl_pca_free(dl_pca *p) { free(p); }

void dl_pca_transform(const dl_pca *p, const float *X, size_t n, float *Y)
{
    size_t D = (size_t)p->d, K = (size_t)p->ncomp;
    /* (x − mean)·v = x·v − mean·v: no centred copy of x needed. */
    for (size_t k = 0; k < K; k++) {
        const float *v = p->components + k * D;
        float mv = embed_dot(p->mean, v, D);
        for (size_t i = 0; i < n; i++) Y[i * K + k] = embed_dot(X + i * D, v, D) - mv;
    }
}

double dl_pca_explained(const dl_pca *p, int c)
{
    if (c < 0 || c >= p->ncomp || !(p->total_variance > 0.0)) return 0.0;
    return p->variance[c] / p->total_variance;
}
