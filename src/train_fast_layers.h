/*
 * train_fast_layers.h — the fast kernels' first layer, for any caller in
 * the library that runs many examples through a network (the evaluation
 * and the training kernel use the same code, train_fast_variants.h).
 *
 * The first layer is where the work is (784 x 100 of the 79,510 weights
 * of a 784-100-10 net) and where the inputs are mostly zero, so it is kept
 * transposed, pixel-major:
 *     WT  [n_in x ld] row-major, WT[k*ld + j] = W[0][j*n_in + k],
 *         ld = dl_fast_ld(n_hidden); columns j >= n_hidden are zero.
 * For a pixel k that is non-zero, its contribution to every hidden unit is
 * one contiguous axpy, z[0..ld) += x_k * WT[k, 0..ld); zero pixels are
 * skipped, which gives exactly the dense sum (adding x_k*w = 0 changes
 * nothing).
 */
#ifndef DIGITLENS_TRAIN_FAST_LAYERS_H
#define DIGITLENS_TRAIN_FAST_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/net.h"

/* The input value of a pixel byte p: dl_fast_pixel_table[p] = p / 255, the
 * very float dl_dataset_image makes of it. */
extern const float dl_fast_pixel_table[256];

/* Row length of WT for n_hidden units: rounded up to 16 floats, a whole
 * number of every variant's vectors and of 64-byte cache lines. */
size_t dl_fast_ld(int n_hidden);

/* WT [n_in x ld] from W[0] [n_hidden x n_in] (see above); pads with zeros.
 * An exact copy, in the variant dl_simd_choose picks (as below). */
void dl_fast_transpose_in(const dl_net *net, float *wt, size_t ld);

/* First layer for n examples, pixel bytes px[i][0..npix):
 *     a_i[j] = σ(bias[j] + Σ_{k: px_i[k] != 0} (px_i[k]/255) · WT[k*ld + j]),  j < ld
 * each sum taken in increasing k, as dl_net_forward does, with fused
 * multiply-adds; a has n rows of lda >= ld floats.  bias has nh entries;
 * lanes j >= nh get σ(0) and must be ignored.  Runs the variant
 * dl_simd_choose picks (the best the CPU runs when DIGITLENS_SIMD is
 * unusable).  DL_ENOMEM when its scratch (a few kB) cannot be had. */
dl_status dl_fast_first_forward(const float *wt, size_t ld, const float *bias, int nh,
                                const uint8_t *const *px, size_t npix, int n, float *a, size_t lda);

#endif
