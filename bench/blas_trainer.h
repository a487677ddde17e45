/*
 * blas_trainer.h — the dense OpenBLAS SGD trainer `make bench` compares
 * digitlens with (see blas_trainer.c).  Benchmark only.
 */
#ifndef DIGITLENS_BLAS_TRAINER_H
#define DIGITLENS_BLAS_TRAINER_H

#include <stdint.h>

#include "digitlens/idx.h"
#include "digitlens/net.h"
#include "digitlens/rng.h"

typedef struct blas_trainer blas_trainer;

/* Scratch for batches of up to `batch` examples of a 3-layer net (input,
 * hidden, output); NULL for other depths or when out of memory. */
blas_trainer *blas_trainer_new(const dl_net *net, int batch);
void blas_trainer_free(blas_trainer *t);

/* One epoch of SGD (quadratic cost, rate eta) over d in the order
 * order[0..d->n); returns the mean training cost. */
double blas_trainer_epoch(blas_trainer *t, dl_net *net, const dl_dataset *d, const uint32_t *order,
                          float eta);

/* z [n x nh] = x [n x nin] · wᵀ (w [nh x nin]): one sgemm, a first layer's
 * weighted inputs for n examples at once. */
void blas_first_layer(const float *x, int n, int nin, const float *w, int nh, float *z);

/* OpenBLAS's thread count, its build description and the CPU kernel it chose. */
void blas_set_threads(int threads);
/* Ends OpenBLAS's helper threads, which spin for a while after each call
 * (more than 100 ms here), taking a core the next configuration timed
 * may want; the next call starts them again. */
void blas_quiet(void);
const char *blas_config(void);
const char *blas_core(void);

#endif
