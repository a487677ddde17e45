/*
 * embed.h — a data set seen whole: PCA and t-SNE maps of points in any
 * space, and the numbers that say how well a space separates the classes
 * and how faithfully a 2-D map keeps its neighbourhoods.
 *
 * Everything works on plain float matrices X [n x d], row-major (point i is
 * X[i*d .. i*d + d)), owned by the caller and only read.  Knows nothing of
 * networks, drawing, files or the command line: the command feeds it pixels
 * or a hidden layer's activations and draws what comes back.  Errors are
 * values (dl_err); nothing here prints.
 *
 * Threads: every function taking `threads` splits its work into pieces whose
 * results are stored per point and summed in a fixed order afterwards, so
 * the results are bit-identical for any thread count (and for a given seed),
 * on one build.  Builds differ in rounding (fused multiply-adds where the
 * CPU has them), so maps from the default portable build and a NATIVE=1 build
 * are alike but not bit-identical.
 *
 * Distances are Euclidean throughout.  Squared distances between rows are
 * computed as |x|² + |y|² − 2·x·y in float (the dot products are the costly
 * part, done by one blocked kernel); where a distance matters exactly (the
 * k nearest neighbours' distances that t-SNE's affinities are made from) it
 * is recomputed directly as Σ (x_k − y_k)².
 */
#ifndef DIGITLENS_EMBED_H
#define DIGITLENS_EMBED_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"

#define DL_EMBED_MAX_POINTS 1000000u  /* rows of X */
#define DL_EMBED_MAX_DIM 65536        /* columns of X */

/* The vector unit this build's embed kernels were compiled for, e.g.
 * "SSE2 (4 floats per vector)" for the default portable build, "AVX-512
 * (16 floats per vector)" with make NATIVE=1 on such a CPU: for benchmarks. */
const char *dl_embed_vector_unit(void);

/* ---- nearest neighbours ------------------------------------------------ */

/* The k nearest neighbours of every point, exactly (all n·(n−1) distances
 * are computed, in blocks, so the cost is n²·d multiply-adds and the memory
 * O(n·k)): idx [n x k] (row i: the neighbours of i, nearest first, never i
 * itself; ties go to the lower index) and dist2 [n x k] their squared
 * distances, recomputed directly.  1 <= k <= n − 1. */
dl_status dl_embed_knn(const float *X, size_t n, int d, int k, int threads, uint32_t *idx,
                       float *dist2, dl_err *e);

/* ---- PCA --------------------------------------------------------------- */

/* Principal components of X, from the d x d covariance matrix (divided by
 * n − 1) and LAPACK's symmetric eigensolver (dsyevr, only the ncomp largest
 * eigenpairs).  One allocation: dl_pca_free releases everything.  Each
 * component's sign is fixed so that its largest-magnitude coordinate is
 * positive (LAPACK may return either sign). */
typedef struct dl_pca {
    int d, ncomp;
    float *mean;            /* [d] */
    float *components;      /* [ncomp x d], unit vectors, by decreasing variance */
    double *variance;       /* [ncomp] the variance along each component (eigenvalue) */
    double total_variance;  /* the trace of the covariance: Σ over all d directions */
} dl_pca;

/* n >= 2, 1 <= ncomp <= d.  The covariance is formed with `threads`. */
dl_pca *dl_pca_fit(const float *X, size_t n, int d, int ncomp, int threads, dl_err *e);
void dl_pca_free(dl_pca *p);

/* Y [n x p->ncomp]: the coordinates of X's rows (d = p->d) along the components. */
void dl_pca_transform(const dl_pca *p, const float *X, size_t n, float *Y);

/* The fraction of the total variance along component c (0 when the data
 * have no variance at all). */
double dl_pca_explained(const dl_pca *p, int c);

/* ---- t-SNE ------------------------------------------------------------- */

/* t-SNE (van der Maaten & Hinton 2008) the Barnes–Hut way (van der Maaten
 * 2014, "Accelerating t-SNE using tree-based algorithms"):
 *   - each point's Gaussian affinities over its k = min(n − 1, ⌊3·perplexity⌋)
 *     nearest neighbours, its precision β found by bisection so that the
 *     entropy of p(·|i) is ln(perplexity);
 *   - P = (p(j|i) + p(i|j)) / (2n) on the union of the neighbour graphs;
 *   - gradient 4·Σ_j (p_ij − q_ij)·(1 + |y_i − y_j|²)⁻¹·(y_i − y_j): the
 *     attractive part exactly over P's entries, the repulsive part and the
 *     normaliser Z through a quadtree, a cell of width w seen from distance
 *     r taken as one body when w < θ·r;
 *   - gradient descent with momentum 0.5 for the first `exaggeration_iters`
 *     iterations (P multiplied by `exaggeration` meanwhile), then 0.8, and
 *     per-coordinate gains (+0.2 when the gradient's sign flips against the
 *     last step, ×0.8 otherwise, at least 0.01), as in the paper and in
 *     scikit-learn.
 * The map starts from the first two principal components scaled to a
 * standard deviation of 1e-4 (scikit-learn's default since 1.2; it keeps
 * the global layout), from N(0, 1e-4²) drawn with dl_rng from `seed`, or
 * from a map the caller gives (`start`: a film of maps over training
 * starts each frame from the one before, so points move smoothly; such a
 * map is already spread out, so give it exaggeration_iters 0). */
typedef enum dl_tsne_init { DL_TSNE_INIT_PCA = 0, DL_TSNE_INIT_RANDOM = 1, DL_TSNE_INIT_GIVEN = 2 } dl_tsne_init;

typedef struct dl_tsne_progress {
    int iteration;        /* iterations done */
    int iterations;       /* planned */
    double kl;            /* KL(P || Q) now (with the true P, also while exaggerating) */
    double seconds;       /* since the optimisation started */
} dl_tsne_progress;

typedef struct dl_tsne_opts {
    double perplexity;       /* 30; 1 .. (n − 1) / 3 */
    int iterations;          /* 1000 in all, counting the exaggerated ones */
    double theta;            /* 0.5; 0 computes the repulsion exactly (O(n²)) */
    double exaggeration;     /* 12 */
    int exaggeration_iters;  /* 250 */
    double learning_rate;    /* 0: scikit-learn's "auto", max(n / exaggeration / 4, 50) */
    dl_tsne_init init;
    uint64_t seed;           /* for DL_TSNE_INIT_RANDOM */
    const float *start;      /* [n x 2] for DL_TSNE_INIT_GIVEN (borrowed) */
    int threads;             /* 1..64 */
    int kl_every;            /* KL computed (and progress called) every this many iterations: 50 */
    void (*progress)(const dl_tsne_progress *p, void *ctx); /* may be NULL */
    void *ctx;
    volatile sig_atomic_t *stop; /* optional: non-zero stops with DL_EINTR */
} dl_tsne_opts;

dl_tsne_opts dl_tsne_defaults(void);

typedef struct dl_tsne_result {
    size_t n;
    float *Y;               /* [n x 2] the map */
    double kl;              /* KL(P || Q) of the final map */
    int nkl;                /* entries in the history */
    int *kl_iteration;      /* [nkl] iteration after which kl_history[i] was measured */
    double *kl_history;     /* [nkl] KL(P || Q), every kl_every iterations and at the end */
    int k;                  /* neighbours per point */
    double seconds_knn, seconds_affinities, seconds_optimise;
} dl_tsne_result;

void dl_tsne_result_free(dl_tsne_result *r);

/* The map of X [n x d] (n >= 3·perplexity + 1).  The neighbours are found
 * with dl_embed_knn; a caller that has them already (for more numbers of its
 * own) passes them to dl_tsne_knn instead. */
dl_status dl_tsne(const float *X, size_t n, int d, const dl_tsne_opts *o, dl_tsne_result *out,
                  dl_err *e);

/* The same from given neighbours: idx and dist2 [n x kk] as dl_embed_knn
 * fills them (kk >= the k the perplexity asks for; only the first k of each
 * row are used).  X is needed only for DL_TSNE_INIT_PCA (may be NULL
 * otherwise). */
dl_status dl_tsne_knn(const float *X, size_t n, int d, const uint32_t *idx, const float *dist2,
                      int kk, const dl_tsne_opts *o, dl_tsne_result *out, dl_err *e);

/* The pieces, public for tests and for other tools. */

/* Conditional affinities: for each row i of dist2 [n x k] (squared
 * distances to its neighbours), p [n x k] with p(j|i) ∝ exp(−β_i·dist2_ij),
 * rows summing to 1, β_i found by bisection until the row's entropy (in
 * nats) is within 1e-5 of ln(perplexity) or 200 steps are done.  beta
 * [n] (may be NULL) receives β_i.  1 <= perplexity < k. */
dl_status dl_tsne_affinities(const float *dist2, size_t n, int k, double perplexity, int threads,
                             float *p, double *beta, dl_err *e);

/* A sparse symmetric matrix in compressed rows: row i holds val[rowptr[i]
 * .. rowptr[i+1]) at columns col[...] (ascending).  One allocation. */
typedef struct dl_sparse {
    size_t n, nnz;
    size_t *rowptr;   /* [n + 1] */
    uint32_t *col;    /* [nnz] */
    float *val;       /* [nnz] */
} dl_sparse;

void dl_sparse_free(dl_sparse *s);

/* P from the conditional affinities p [n x k] over neighbours idx [n x k]:
 * P_ij = (p(j|i) + p(i|j)) / Σ (every entry, so Σ P = 1). */
dl_sparse *dl_tsne_joint(const uint32_t *idx, const float *p, size_t n, int k, dl_err *e);

/* One evaluation of the gradient at Y [n x 2]: grad [n x 2] =
 * ∂KL(exaggeration·P || Q)/∂Y, Barnes–Hut with theta (0: exact).  *kl (may
 * be NULL) receives KL(P || Q) with the true P. */
dl_status dl_tsne_gradient(const dl_sparse *P, const float *Y, double theta, double exaggeration,
                           int threads, float *grad, double *kl, dl_err *e);

/* ---- how well a space separates, how faithful a map is ----------------- */

/* Leave-one-out 1-nearest-neighbour accuracy: the fraction of points whose
 * nearest other point (ties: the lower index) has the same label. */
dl_status dl_embed_nn_accuracy(const float *X, size_t n, int d, const uint8_t *labels, int threads,
                               double *acc, dl_err *e);

/* The same from neighbours already found (idx [n x k], nearest first). */
double dl_embed_nn_accuracy_knn(const uint32_t *idx, int k, const uint8_t *labels, size_t n);

/* Leave-one-out nearest-class-mean accuracy: each point is given the label
 * of the nearest class mean, its own class's mean taken without it (a
 * point alone in its class is compared with the other means only).
 * Labels must be < nclasses (1..256). */
dl_status dl_embed_class_mean_accuracy(const float *X, size_t n, int d, const uint8_t *labels,
                                       int nclasses, double *acc, dl_err *e);

/* Trustworthiness (Venna & Kaski 2001) of each of nmaps maps Y[m] [n x dy]
 * of X [n x d] at k neighbours:
 *   T(k) = 1 − 2 / (n·k·(2n − 3k − 1)) · Σ_i Σ_{j ∈ U_k(i)} (r(i, j) − k)
 * where U_k(i) are the points among i's k nearest in the map that are not
 * among its k nearest in X, and r(i, j) is j's rank (1 = nearest) among
 * i's neighbours in X (ties: the lower index first, also in the map).  1 means
 * no point is brought close in the map that was not close in X.  One pass
 * over X's distances serves every map.  1 <= k < n / 2 (so the normaliser
 * is positive), dy 1..16, nmaps 1..64. */
dl_status dl_embed_trustworthiness(const float *X, size_t n, int d, const float *const *Y, int nmaps,
                                   int dy, int k, int threads, double *t, dl_err *e);

#endif
