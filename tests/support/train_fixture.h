/*
 * train_fixture.h — what the fast-kernel tests share: synthetic data
 * sparse like MNIST, seeded networks, a training run in a given kernel
 * variant, and the comparison of the fast kernels with the reference.
 */
#ifndef DIGITLENS_TEST_TRAIN_FIXTURE_H
#define DIGITLENS_TEST_TRAIN_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/dataset.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"
#include "digitlens/train.h"

/* Parameters of fast and reference runs agree within this (absolute);
 * test_train_fast.c says why. */
#define TOL_W 1e-4

/* n examples of `classes` classes on a rows x cols canvas: each class
 * draws its own pair of strokes with random jitter and ink, so about a
 * quarter of the pixels are non-zero and some are 255. */
dl_dataset *tf_data(size_t n, int rows, int cols, int classes, uint64_t seed);

/* A sigmoid net, scaled init from seed. */
dl_net *tf_net(int nl, const int *sizes, uint64_t seed);

typedef struct tf_run {
    int epochs, batch, threads;
    float eta, lambda;
    dl_cost cost;
    dl_kernel kernel;
} tf_run;

/* Chapter 3's extras for a run (NULL everywhere: none, sigmoid layers). */
typedef struct tf_ch3 {
    dl_act hidden, output;
    float momentum, dropout;
} tf_ch3;

/* The variants this CPU runs, best first, into v; returns how many. */
int tf_variants(dl_simd *v);

/* net's activations as x says (x may be NULL: unchanged). */
void tf_set_acts(dl_net *net, const tf_ch3 *x);

/* Trains net in place with a fixed shuffle seed, the fast kernels in
 * variant v (tf_train: the best), x's extras; fills hist[epochs]. */
void tf_train_x(dl_simd v, dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o,
                const tf_ch3 *x, dl_epoch_stat *hist);
void tf_train_v(dl_simd v, dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o,
                dl_epoch_stat *hist);
void tf_train(dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o, dl_epoch_stat *hist);

/* max |a − b| over the parameters (NaN if any is NaN). */
double tf_maxdiff(const dl_net *a, const dl_net *b);

/* Trains copies of one net with the reference kernel and with the fast
 * kernel in every variant, and checks that every parameter agrees within
 * TOL_W and every epoch's score and every held-out prediction is the same. */
void tf_compare_x(int nl, const int *sizes, int rows, int cols, size_t n, tf_run o, const tf_ch3 *x);
void tf_compare(int nl, const int *sizes, int rows, int cols, size_t n, tf_run o);

/* dl_evaluate in every variant and thread count 1..4 against a plain loop
 * over dl_net_forward: the same confusion, the cost within 1e-5. */
void tf_check_eval(const dl_net *net, const dl_dataset *d, dl_cost cost);

#endif
