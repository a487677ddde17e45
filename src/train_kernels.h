/*
 * train_kernels.h — private interface between the SGD loop (train.c) and
 * the kernels that do the arithmetic of mini-batches.
 *
 * A kernel is bound to the network it was created for and owns its
 * scratch buffers and threads.  train() runs whole mini-batches over a
 * span of the epoch's order; between calls the kernel may keep parts of
 * the network in a layout of its own (the fast kernel keeps the first
 * layer's weights transposed and writes them back only when asked), so:
 *   - sync() makes the network exact; call it before anyone reads the
 *     network (evaluation, a progress callback, saving, returning);
 *   - nobody but the kernel changes the network until it is destroyed.
 * Neither sync() nor its absence changes what later steps compute.
 */
#ifndef DIGITLENS_TRAIN_KERNELS_H
#define DIGITLENS_TRAIN_KERNELS_H

#include <signal.h>
#include <stdint.h>

#include "digitlens/dataset.h"
#include "digitlens/err.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"

/* Each kernel keeps its own private context type behind void *. */
typedef struct dl_kernel_ops {
    void *(*create)(dl_net *net, dl_cost cost, int threads, dl_err *e);
    /* Mini-batches of `batch` examples (the last one of the span may be
     * shorter) over idx[0..n): one SGD update each,
     *     w ← decay·w − (η/m) Σ ∂C/∂w,  b ← b − (η/m) Σ ∂C/∂b.
     * Adds the examples' costs (from each step's forward pass) to *cost
     * and returns how many examples it did: n, or fewer (a whole number of
     * batches) when *stop (may be NULL) became non-zero. */
    uint32_t (*train)(void *k, const dl_dataset *d, const uint32_t *idx, uint32_t n, int batch,
                      float eta, float decay, volatile sig_atomic_t *stop, double *cost);
    void (*sync)(void *k);
    void (*destroy)(void *k);
} dl_kernel_ops;

const dl_kernel_ops *dl_kernel_reference(void);

/* The fast kernel in variant v; NULL when this build lacks it (whether
 * the CPU runs it is dl_simd_supported's answer). */
const dl_kernel_ops *dl_kernel_fast(dl_simd v);

#endif
