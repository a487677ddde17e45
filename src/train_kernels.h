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

/* Each kernel keeps its own private context type behind void *. */
typedef struct dl_kernel_ops {
    void *(*create)(const dl_net *net, dl_cost cost, int threads, dl_err *e);
    double (*step)(void *k, dl_net *net, const dl_dataset *d, const uint32_t *idx, int m,
                   float eta, float decay);
    void (*destroy)(void *k);
} dl_kernel_ops;

const dl_kernel_ops *dl_kernel_reference(void);
const dl_kernel_ops *dl_kernel_fast(void);

#endif
