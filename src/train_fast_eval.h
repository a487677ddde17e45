/*
 * train_fast_eval.h — threaded, sparse-input evaluation behind dl_evaluate
 * (train.c).  Private to the library.
 */
#ifndef DIGITLENS_TRAIN_FAST_EVAL_H
#define DIGITLENS_TRAIN_FAST_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/idx.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"

/* Runs every example of d through net on up to `threads` threads, with the
 * kernels of variant v (which must be supported).  Adds each (label,
 * prediction) to confusion [K x K] (K = the net's outputs, zeroed by the
 * caller) and returns the number correct in *correct and the summed cost
 * in *cost_sum.  The caller has checked that d fits net.  Results do not
 * depend on the thread count: each example's arithmetic is the same on any
 * thread, and costs are summed in a fixed order. */
dl_status dl_fast_evaluate(dl_simd v, const dl_net *net, const dl_dataset *d, dl_cost cost,
                           int threads, uint32_t *confusion, size_t *correct, double *cost_sum,
                           dl_err *e);

#endif
