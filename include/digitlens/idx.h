/*
 * idx.h — IDX image/label files (LeCun's MNIST format) to and from
 * dl_dataset, raw or gzip through one reader (fileio).
 *
 * A dataset keeps pixels as uint8, one image after another (row-major,
 * rows x cols each); users scale to [0,1] when they need floats.  Every
 * header field is checked before anything is allocated, and data is read in
 * chunks, so a header that promises more than the file holds costs no
 * memory beyond what actually arrives.  Knows nothing of networks.
 */
#ifndef DIGITLENS_IDX_H
#define DIGITLENS_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"

#define DL_IDX_MAGIC_LABELS 2049u  /* 0x00000801: ubyte, 1 dimension */
#define DL_IDX_MAGIC_IMAGES 2051u  /* 0x00000803: ubyte, 3 dimensions */
#define DL_IDX_MAX_ITEMS   10000000u           /* images or labels per file */
#define DL_IDX_MAX_DIM     4096u               /* rows or columns per image */
#define DL_IDX_MAX_BYTES   (512u * 1024 * 1024) /* pixel bytes per file */

typedef struct dl_dataset {
    size_t n;          /* number of examples */
    int rows, cols;    /* image shape */
    size_t npix;       /* rows * cols */
    uint8_t *pixels;   /* [n x npix], owned */
    uint8_t *labels;   /* [n], owned */
} dl_dataset;

/* Loads an image file and its label file; checks both headers and that the
 * counts agree.  *out is owned by the caller (dl_dataset_free). */
dl_status dl_idx_load(const char *images_path, const char *labels_path,
                      dl_dataset **out, dl_err *e);

/* Loads only an image file (labels set to 0, no label file needed). */
dl_status dl_idx_load_images(const char *images_path, dl_dataset **out, dl_err *e);

/* Writes IDX files atomically; gzip when gz is non-zero. */
dl_status dl_idx_write_images(const char *path, const uint8_t *pixels, size_t n,
                              int rows, int cols, int gz, dl_err *e);
dl_status dl_idx_write_labels(const char *path, const uint8_t *labels, size_t n,
                              int gz, dl_err *e);

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

#endif
