/*
 * dataset.h — a labelled data set in memory: uint8 pixels, one image after
 * another (row-major, rows x cols each), and a label per image; subsets,
 * slices, a fingerprint, and the check that it fits a network's shape.
 * Users scale pixels to [0,1] when they need floats (dl_dataset_image).
 * Files are idx.h's; knows nothing of networks beyond two numbers.
 */
#ifndef DIGITLENS_DATASET_H
#define DIGITLENS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"

#define DL_DATASET_MAX_ITEMS 10000000u            /* images per data set */
#define DL_DATASET_MAX_DIM   4096u                /* rows or columns per image */
#define DL_DATASET_MAX_BYTES (512u * 1024 * 1024) /* pixel bytes in all */

typedef struct dl_dataset {
    size_t n;          /* number of examples */
    int rows, cols;    /* image shape */
    size_t npix;       /* rows * cols */
    uint8_t *pixels;   /* [n x npix], owned */
    uint8_t *labels;   /* [n], owned */
} dl_dataset;

/* A data set around pixels [n x rows*cols] and labels [n], both malloc'd:
 * it owns them from now on (also on failure, when they are freed). */
dl_dataset *dl_dataset_wrap(size_t n, int rows, int cols, uint8_t *pixels, uint8_t *labels, dl_err *e);

/* A new dataset of the same shape holding n examples (zeroed). */
dl_dataset *dl_dataset_new(size_t n, int rows, int cols, dl_err *e);
void dl_dataset_free(dl_dataset *d);

/* Copies examples [first, first + count). */
dl_dataset *dl_dataset_slice(const dl_dataset *d, size_t first, size_t count, dl_err *e);

/* Keeps only the first n examples (n <= d->n), in place: nothing is copied,
 * and the memory of the rest is given back. */
void dl_dataset_truncate(dl_dataset *d, size_t n);

/* Splits d in two without copying it whole: d keeps examples [0, keep) and
 * the new dataset returned holds [keep, d->n).  Only the smaller part is
 * copied (a 511 MiB training set with --validation 1000 costs 784 kB
 * more, not another 511 MiB).  NULL (d unchanged) when out of memory or
 * keep > d->n. */
dl_dataset *dl_dataset_split(dl_dataset *d, size_t keep, dl_err *e);

/* Keeps the examples whose label is one of classes[0..k) and relabels them
 * 0..k-1 in that order (the 0-vs-1 experiment).  Labels not listed are dropped. */
dl_dataset *dl_dataset_select(const dl_dataset *d, const int *classes, int k, dl_err *e);

/* The largest label + 1 (at least 1). */
int dl_dataset_nclasses(const dl_dataset *d);

/* Example i as floats in [0, 1]: out[npix]. */
void dl_dataset_image(const dl_dataset *d, size_t i, float *out);

/* CRC-32 of shape, labels and pixels: identifies the training data in a model. */
uint32_t dl_dataset_fingerprint(const dl_dataset *d);

/* Does d fit a network with npix inputs and nclasses outputs?  DL_EFORMAT
 * naming the first misfit, what (e.g. "training data", a file) first and
 * hint (may be NULL) in parentheses after a label that is too large. */
dl_status dl_dataset_check(const dl_dataset *d, int npix, int nclasses, const char *what, const char *hint,
                           dl_err *e);

#endif
