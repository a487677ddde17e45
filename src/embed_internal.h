/*
 * embed_internal.h — what the embed room's files share (private to
 * src/embed*.c): the blocked dot-product kernel, and the
 * row-block walk over all pairwise squared distances that the exact
 * nearest neighbours, trustworthiness and 1-NN accuracy are built on.
 */
#ifndef DIGITLENS_EMBED_INTERNAL_H
#define DIGITLENS_EMBED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/embed.h"
#include "parallel.h"

/* Threads: dl_parallel_run (parallel.h).  Every task here takes its work
 * from an atomic counter, never by thread number, and keeps its results
 * per point; the thread number only picks the scratch buffers. */

/* The kernel's tile: EMBED_MR rows of A by EMBED_NR rows of B, two vectors
 * of the widest unit the build targets (AVX-512: 16 floats, AVX: 8, else
 * 4) per row of the tile.  EMBED_ABLOCK rows of A and EMBED_KC of the
 * common length are packed at a time (a block stays in L2, a panel's slice
 * in L1). */
#if defined(__AVX512F__)
#define EMBED_VW 16
#elif defined(__AVX__)
#define EMBED_VW 8
#else
#define EMBED_VW 4
#endif
enum { EMBED_MR = 6, EMBED_NR = 2 * EMBED_VW, EMBED_ABLOCK = 96, EMBED_KC = 512 };
#define EMBED_SCRATCH ((size_t)EMBED_ABLOCK * EMBED_KC + (size_t)(EMBED_ABLOCK / EMBED_MR) * 64 * EMBED_MR * EMBED_NR)

/* Rows of B packed for the kernel: panels of EMBED_NR rows, each stored
 * k-major ([len][EMBED_NR], rows past rb zero).  Free with free(). */
float *embed_pack_rows(const float *B, size_t rb, size_t ldb, size_t len);

/* out[i*ldo + j] = Σ_k A[i*lda + k] · B[j][k] for i < ra, j in [j0, j1),
 * where B is packed by embed_pack_rows (rb rows, len columns) and j0 is a
 * multiple of EMBED_NR.  scratch holds EMBED_SCRATCH floats (A is packed
 * there a block at a time, and partial sums are kept).  The sums run over the length in blocks
 * of EMBED_KC, in order: the result depends on the shapes only.  With na
 * and nb (squared norms of A's rows from i = 0, of B's rows), out holds
 * max(0, na[i] + nb[j] − 2·dot) instead: squared distances. */
void embed_gram(const float *A, size_t ra, size_t lda, const float *Bp, size_t rb, size_t len,
                size_t j0, size_t j1, float *out, size_t ldo, float *scratch, const float *na, const float *nb);

/* A walk over every row's squared distances to all n points: the rows are
 * cut into blocks, each thread takes the next block, fills
 * D [nrows x n] (D[r*n + j] = |x_{row0+r} − x_j|², ≥ 0; the diagonal is
 * whatever rounding leaves, callers skip j == i) and calls
 *     visit(ctx, tid, row0, nrows, D).
 * visit may write only what belongs to its rows (or to its tid). */
typedef void (*embed_rows_fn)(void *ctx, int tid, size_t row0, size_t nrows, const float *D);
dl_status embed_distance_rows(const float *X, size_t n, int d, int threads, embed_rows_fn visit,
                              void *ctx, dl_err *e);

/* Σ (a_k − b_k)² and Σ a_k·b_k over len floats, in a fixed order. */
float embed_dist2(const float *a, const float *b, size_t len);
float embed_dot(const float *a, const float *b, size_t len);

/* Seconds on a monotonic clock. */
double embed_now(void);

/* Checks X's shape against the limits; names `what` in the message. */
dl_status embed_check_shape(const char *what, const float *X, size_t n, int d, size_t min_n, dl_err *e);

/* The k smallest (value, index) pairs of v[0..n) except index `skip`
 * (k <= n − 1), smallest first, ties to the lower index: idx[k], val[k]
 * (used as the heap while selecting). */
void embed_select_k(const float *v, size_t n, size_t skip, int k, uint32_t *idx, float *val);

/* Barnes–Hut scratch for n points and up to `threads` threads (embed_bh.c),
 * reused across iterations. */
typedef struct embed_bh embed_bh;
embed_bh *embed_bh_new(size_t n, int threads);
void embed_bh_free(embed_bh *w);
/* grad [n x 2] = 4·(exaggeration·F_attr − F_rep / Z) at Y; returns Z.  With
 * kl non-NULL, *kl = KL(P || Q) using plogp = Σ P ln P (embed_plogp). */
double embed_bh_gradient(embed_bh *w, const dl_sparse *P, const float *Y, double theta, double exaggeration,
                         int threads, float *grad, double plogp, double *kl);
double embed_plogp(const dl_sparse *P);
/* perm [n]: the points of Y in Morton (Z-curve) order, the order the tree
 * stores them in: perm[q] is the point at position q. */
void embed_bh_order(embed_bh *w, const float *Y, uint32_t *perm);

#endif
