/*
 * train_fast_layers.h — the forward-pass pieces shared by the fast
 * training kernel (train_fast.c) and threaded evaluation (train_fast_eval.c).
 *
 * The first layer is where the work is (784 x 100 of the 79,510 weights
 * of a 784-100-10 net) and where the inputs are mostly zero, so it is kept
 * transposed, pixel-major:
 *     WT  [n_in x ld] row-major, WT[k*ld + j] = W[0][j*n_in + k],
 *         ld = n_hidden rounded up to 8; columns j >= n_hidden are zero.
 * For a pixel k that is non-zero, its contribution to every hidden unit is
 * one contiguous axpy, z[0..ld) += x_k * WT[k, 0..ld); zero pixels are
 * skipped, which gives exactly the dense sum (adding x_k*w = 0 changes
 * nothing).  Hidden units are processed in blocks of 8 (one vector), so a
 * caller can split them between threads without changing any unit's
 * arithmetic.
 */
#ifndef DIGITLENS_TRAIN_FAST_LAYERS_H
#define DIGITLENS_TRAIN_FAST_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/net.h"

/* tab[p] = p * (1/255): the exact floats dl_dataset_image produces. */
void dl_fast_xtable(float tab[256]);

/* WT [n_in x ld] from W[0] [n_hidden x n_in] (see above); pads with zeros. */
void dl_fast_transpose_in(const dl_net *net, float *wt, size_t ld);

/* mask[w] bit b set when px[64w + b] != 0; nwords = ceil(npix / 64). */
void dl_fast_nzmask(const uint8_t *px, size_t npix, uint64_t *mask);

/* First layer for n examples, hidden blocks [0, nb):
 *     a_i[j] = σ(b[j] + Σ_{k: px_i[k] != 0} tab[px_i[k]] * WT[k*ld + j]),  j < 8*nb
 * with each sum taken in increasing k, as dl_net_forward does; mask holds
 * n rows of nwords words (dl_fast_nzmask), a n rows of lda floats.  bias
 * has nh entries; lanes j >= nh get σ(0) (the padding columns of WT are
 * zero) and must be ignored.  A caller may pass a tile of a wider layer:
 * its own WT columns, bias + j0 and nh - j0. */
void dl_fast_first_forward(const float *wt, size_t ld, const float *bias, int nh,
                           const float *tab, const uint8_t *const *px, const uint64_t *mask,
                           int nwords, int n, int nb, float *a, size_t lda);

/* A dense sigmoid layer for one example: a_out[o] = σ(b[o] + W[o,:]·a_in),
 * W [nout x nin] row-major (the net's layout).  The dot product runs in 8
 * strided partial sums, combined pairwise. */
void dl_fast_dense_forward(const float *w, const float *b, int nin, int nout, const float *a_in,
                           float *a_out);

/* Runs x through the rest of the net after the first layer (layers 1..L-1),
 * from a1 [ld] to the output, using scratch buffers bufa/bufb each of at
 * least max(sizes[2..L]) floats; returns the output (one of the buffers, or
 * a1 itself for a 2-layer net). */
const float *dl_fast_forward_rest(const dl_net *net, const float *a1, float *bufa, float *bufb);

#endif
