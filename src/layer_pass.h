/*
 * layer_pass.h — one stored forward pass over a data set: every example's
 * weighted inputs z in every layer, and its prediction.  Private to src/;
 * the report reads predictions off it, and whole-layer neuron statistics
 * (explain_stats.c) read activations and ablations off it, so a report
 * passes over the test set once however many neurons it describes.
 *
 * Each layer's weights are transposed first, so a pass is a run of axpys
 * over the input's non-zero entries: the same floats added in the same
 * order as dl_net_forward (a term with input 0 adds ±0, which leaves every
 * sum unchanged), so the activations are bit-identical to it, for ~5x less
 * work on MNIST's mostly black images.
 */
#ifndef DIGITLENS_LAYER_PASS_H
#define DIGITLENS_LAYER_PASS_H

#include <stddef.h>

#include "digitlens/dataset.h"
#include "digitlens/err.h"
#include "digitlens/explain.h"
#include "digitlens/net.h"

/* The stored pass may use at most this much memory (see dl_layer_pass_cap). */
#define DL_LAYER_PASS_MAX_BYTES ((size_t)768 << 20)

typedef struct dl_layer_pass {
    const dl_net *net;              /* borrowed */
    const dl_dataset *d;            /* borrowed */
    size_t n;                       /* examples stored: the first n of d */
    size_t width;                   /* floats per example: Σ sizes[1..L] */
    size_t off[DL_MAX_LAYERS];      /* layer l's z at z[i*width + off[l]] (l >= 1) */
    float *z;                       /* [n x width] */
    int *pred;                      /* [n] argmax of the output activations */
    float *wt[DL_MAX_LAYERS - 1];   /* W[l] transposed: [sizes[l] x sizes[l+1]] */
    int maxw;                       /* the widest layer */
} dl_layer_pass;

/* How many examples of net's width fit in DL_LAYER_PASS_MAX_BYTES. */
size_t dl_layer_pass_cap(const dl_net *net);

/* Runs the first n examples of d through net on up to `threads` threads;
 * DL_ELIMIT when n exceeds dl_layer_pass_cap.  Free with dl_layer_pass_free
 * (also after a failure). */
dl_status dl_layer_pass_run(const dl_net *net, const dl_dataset *d, size_t n, int threads, dl_layer_pass *s,
                            dl_err *e);
void dl_layer_pass_free(dl_layer_pass *s);

/* The statistics of every neuron of hidden layer `layer` from a stored
 * pass, as dl_neuron_stats_layer defines them (explain.h); the neurons are
 * split between up to `threads` threads.  Implemented in explain_stats.c. */
dl_status dl_layer_pass_stats(const dl_layer_pass *s, int layer, int k, int threads, dl_neuron_stats *out,
                              dl_err *e);

#endif
