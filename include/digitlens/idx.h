/*
 * idx.h — IDX image/label files (LeCun's MNIST format) to and from
 * dl_dataset, raw or gzip through one reader (fileio).
 *
 * The data set itself (dataset.h) keeps pixels as uint8.  Every
 * header field is checked before anything is allocated, and data is read in
 * chunks, so a header that promises more than the file holds costs no
 * memory beyond what actually arrives.  Knows nothing of networks.
 */
#ifndef DIGITLENS_IDX_H
#define DIGITLENS_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/dataset.h"
#include "digitlens/err.h"

#define DL_IDX_MAGIC_LABELS 2049u  /* 0x00000801: ubyte, 1 dimension */
#define DL_IDX_MAGIC_IMAGES 2051u  /* 0x00000803: ubyte, 3 dimensions */
#define DL_IDX_MAX_ITEMS   DL_DATASET_MAX_ITEMS /* images or labels per file */
#define DL_IDX_MAX_DIM     DL_DATASET_MAX_DIM   /* rows or columns per image */
#define DL_IDX_MAX_BYTES   DL_DATASET_MAX_BYTES /* pixel bytes per file */

/* Loads an image file and its label file; checks both headers and that the
 * counts agree.  *out is owned by the caller (dl_dataset_free). */
dl_status dl_idx_load(const char *images_path, const char *labels_path,
                      dl_dataset **out, dl_err *e);

/* Loads only an image file (labels set to 0, no label file needed). */
dl_status dl_idx_load_images(const char *images_path, dl_dataset **out, dl_err *e);

/* dl_idx_load (labels_path non-NULL) or dl_idx_load_images (NULL) reading
 * only the first `count` images when the file holds more: the headers are
 * checked alike (and the labels loaded whole), but the image data is read,
 * and a gzip file inflated, only as far as image count-1, so the rest of
 * the file is not looked at.  *total (may be NULL) receives the header's
 * image count; with count >= it, this is dl_idx_load(_images) exactly. */
dl_status dl_idx_load_head(const char *images_path, const char *labels_path, size_t count,
                           dl_dataset **out, size_t *total, dl_err *e);

/* Writes IDX files atomically; gzip when gz is non-zero. */
dl_status dl_idx_write_images(const char *path, const uint8_t *pixels, size_t n,
                              int rows, int cols, int gz, dl_err *e);
dl_status dl_idx_write_labels(const char *path, const uint8_t *labels, size_t n,
                              int gz, dl_err *e);

#endif
