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
#include "digitlens/train.h"

/* What every update of one training run does (fixed for a kernel's life). */
typedef struct dl_sgd {
    dl_cost cost;
    float momentum;     /* μ; 0 = plain SGD */
    float *velocity;    /* [nparams] v, borrowed from the training state; NULL when μ = 0 */
    float dropout;      /* p of the hidden units dropped; 0 = none */
} dl_sgd;

/* What may change from one call of train() to the next (train.h gives
 * the update). */
typedef struct dl_step {
    float eta;          /* η now (the schedule halves it) */
    float decay;        /* 1 − ηλ/n: L2's factor on the weights when μ = 0 */
    float l2;           /* ηλ/n: the same as a rate, for the velocity when μ > 0 */
    uint64_t dropout_seed; /* this epoch's */
    uint32_t pos;       /* position in the epoch of idx[0] (dropout's masks depend on it) */
} dl_step;

/* Each kernel keeps its own private context type behind void *. */
typedef struct dl_kernel_ops {
    void *(*create)(dl_net *net, const dl_sgd *sgd, int threads, dl_err *e);
    /* Mini-batches of `batch` examples (the last one of the span may be
     * shorter) over idx[0..n): one SGD update each (train.h: plain,
     *     w ← decay·w − (η/m) Σ ∂C/∂w,  b ← b − (η/m) Σ ∂C/∂b,
     * or with momentum v ← μv − (η/m) Σ ∂C/∂w − l2·w, w ← w + v), through
     * dropout's masks when p > 0.  Adds the examples' costs (from each
     * step's forward pass) to *cost and returns how many examples it did:
     * n, or fewer (a whole number of batches) when *stop (may be NULL)
     * became non-zero. */
    uint32_t (*train)(void *k, const dl_dataset *d, const uint32_t *idx, uint32_t n, int batch,
                      const dl_step *s, volatile sig_atomic_t *stop, double *cost);
    /* Makes the network, and the velocity when μ > 0, exact. */
    void (*sync)(void *k);
    void (*destroy)(void *k);
    /* The network as it stands, on d (which fits it), without a sync:
     * dl_fast_evaluate's contract and its results exactly (train_fast_eval.h),
     * from the kernel's own layout; the jobs beside[0..nbeside) run once
     * each meanwhile on the kernel's threads, and have returned when this
     * does (dl_scorer_evaluate).  NULL: sync, then dl_evaluate. */
    dl_status (*evaluate)(void *k, const dl_dataset *d, dl_cost cost, const dl_job *beside, int nbeside,
                          uint32_t *confusion, size_t *correct, double *cost_sum, dl_err *e);
} dl_kernel_ops;

/* Dropout's mask for hidden layer `layer` (1..nlayers-2) of the example at
 * position pos of the epoch: keep[j] (j < n) is 0 with probability p and
 * 1/(1−p) otherwise, from dl_rng_at(seed, (pos·DL_MAX_LAYERS + layer)·
 * DL_MAX_WIDTH + j): the same in every kernel, thread and resumed run. */
void dl_dropout_mask(uint64_t seed, uint32_t pos, int layer, float p, int n, float *keep);

const dl_kernel_ops *dl_kernel_reference(void);

/* The fast kernel in variant v; NULL when this build lacks it (whether
 * the CPU runs it is dl_simd_supported's answer). */
const dl_kernel_ops *dl_kernel_fast(dl_simd v);

#endif
