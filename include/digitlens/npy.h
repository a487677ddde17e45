/*
 * npy.h — a trained network's arrays as NumPy .npy files, the way the
 * book's network.py keeps them.
 *
 * NumPy (.npy format version 1.0): a 10-byte preamble ("\x93NUMPY", major
 * 1, minor 0, u16 little-endian header length), then a Python dict literal
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (100, 784), }
 * padded with spaces and a final '\n' so the data starts at a multiple of
 * 64 bytes, then the float32 values little-endian in C (row-major) order.
 * dl_model_export_npy writes weights<l>.npy with shape (sizes[l+1],
 * sizes[l]) and biases<l>.npy with shape (sizes[l+1], 1): exactly the
 * arrays network.py keeps in self.weights[l] and self.biases[l], so
 *     w = [np.load(f"DIR/weights{l}.npy") for l in range(len(sizes) - 1)]
 * indexes as the book's code does (w[0][j][k]: input k to hidden neuron j).
 *
 * Knows nothing of the command line; every writer is atomic (fileio).
 */
#ifndef DIGITLENS_NPY_H
#define DIGITLENS_NPY_H

#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/model.h"

#define DL_NPY_MAX_DIMS 8
#define DL_NPY_MAX_BYTES ((size_t)1 << 30)

/* What an .npy header says. */
typedef struct dl_npy_info {
    int major, minor;           /* format version (1.0, 2.0 or 3.0) */
    char descr[16];             /* dtype, e.g. "<f4" */
    int fortran_order;
    int ndim;
    size_t shape[DL_NPY_MAX_DIMS];
    size_t count;               /* product of shape (1 for a 0-d array) */
    size_t data_offset;         /* where the values start: a multiple of 16 (64 for ours) */
} dl_npy_info;

/* An .npy file of float32 data with the given shape (ndim 0..DL_NPY_MAX_DIMS,
 * count = product of shape) in a new buffer; the caller frees *out. */
dl_status dl_npy_encode(const float *data, int ndim, const size_t *shape, unsigned char **out,
                        size_t *len, dl_err *e);

/* dl_npy_encode written to path atomically. */
dl_status dl_npy_write(const char *path, const float *data, int ndim, const size_t *shape,
                       dl_err *e);

/* Parses and checks an .npy header (any of versions 1.0 to 3.0, the keys in
 * any order) and that the buffer holds exactly the data it promises for a
 * dtype of 1, 2, 4 or 8 bytes.  name is used in messages. */
dl_status dl_npy_parse_header(const unsigned char *buf, size_t len, const char *name,
                              dl_npy_info *info, dl_err *e);

/* Reads a little-endian float32 ('<f4'), C-order .npy file: *data is a new
 * array of info->count floats the caller frees. */
dl_status dl_npy_read(const char *path, dl_npy_info *info, float **data, dl_err *e);

/* Writes weights<l>.npy and biases<l>.npy for l = 0 .. nlayers-2 into dir
 * (which must exist); *nfiles (may be NULL) receives how many were written. */
dl_status dl_model_export_npy(const dl_model *m, const char *dir, int *nfiles, dl_err *e);

#endif
