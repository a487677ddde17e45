/*
 * train_kernels.h — private interface between the SGD loop (train.c) and
 * the per-mini-batch kernels.  A kernel owns its scratch buffers and
 * threads; step() applies one SGD update for the examples idx[0..m) and
 * returns their summed cost (computed on the forward pass of this step).
 */
#ifndef DIGITLENS_TRAIN_KERNELS_H
#define DIGITLENS_TRAIN_KERNELS_H

#include "digitlens/dataset.h"
#include "digitlens/err.h"
#include "digitlens/net.h"

/* What every update of one training run does (fixed for a kernel's life). */
typedef struct dl_sgd {
    dl_cost cost;
    float momentum;     /* μ; 0 = plain SGD */
    float *velocity;    /* [nparams] v, borrowed from the training state; NULL when μ = 0 */
    float dropout;      /* p of the hidden units dropped; 0 = none */
} dl_sgd;

/* What may change from one step to the next (train.h gives the update). */
typedef struct dl_step {
    float eta;          /* η now (the schedule halves it) */
    float decay;        /* 1 − ηλ/n: L2's factor on the weights when μ = 0 */
    float l2;           /* ηλ/n: the same as a rate, for the velocity when μ > 0 */
    uint64_t dropout_seed; /* this epoch's */
    uint32_t pos;       /* position in the epoch of the step's first example */
} dl_step;

/* Each kernel keeps its own private context type behind void *. */
typedef struct dl_kernel_ops {
    void *(*create)(const dl_net *net, const dl_sgd *sgd, int threads, dl_err *e);
    double (*step)(void *k, dl_net *net, const dl_dataset *d, const uint32_t *idx, int m,
                   const dl_step *s);
    void (*destroy)(void *k);
} dl_kernel_ops;

/* Dropout's mask for hidden layer `layer` (1..nlayers-2) of the example at
 * position pos of the epoch: keep[j] (j < n) is 0 with probability p and
 * 1/(1−p) otherwise, from dl_rng_at(seed, (pos·DL_MAX_LAYERS + layer)·
 * DL_MAX_WIDTH + j): the same in every kernel, thread and resumed run. */
void dl_dropout_mask(uint64_t seed, uint32_t pos, int layer, float p, int n, float *keep);

const dl_kernel_ops *dl_kernel_reference(void);
const dl_kernel_ops *dl_kernel_fast(void);

#endif
