/*
 * interop.h — a trained network to and from the Python world of the book:
 * NumPy .npy arrays, and the JSON that Nielsen's network2.py saves.
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
 * network2.py's Network.save writes
 *     {"sizes": [784, 30, 10], "weights": [[[w, ...], ...], ...],
 *      "biases": [[[b], [b], ...], ...], "cost": "CrossEntropyCost"}
 * (weights[l] is a list of sizes[l+1] rows of sizes[l] numbers; biases[l]
 * a list of sizes[l+1] one-element lists; cost "CrossEntropyCost" or
 * "QuadraticCost").  dl_nielsen_decode reads exactly that through a small
 * strict JSON parser (RFC 8259: objects, arrays, strings with escapes,
 * numbers, true/false/null) with limits on size, nesting and counts, and
 * refuses anything malformed or inconsistent with one sentence naming the
 * place ("line 3, column 17" or "weights[1][4]").  Keys other than the
 * four are ignored; a key given twice is an error.
 *
 * Knows nothing of the command line; every writer is atomic (fileio).
 */
#ifndef DIGITLENS_INTEROP_H
#define DIGITLENS_INTEROP_H

#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/model.h"

/* ---- NumPy .npy ------------------------------------------------------- */

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

/* ---- network2.py JSON ------------------------------------------------- */

#define DL_JSON_MAX_BYTES ((size_t)512 << 20) /* the text of one file */
#define DL_JSON_MAX_DEPTH 64                  /* nested arrays and objects */
#define DL_JSON_MAX_NODES ((size_t)1 << 22)   /* values other than numbers inside number lists */
#define DL_JSON_MAX_NUMBERS ((size_t)DL_MAX_PARAMS + ((size_t)1 << 20))

/* A model from the text of a network2.py file.  rows x cols is the input
 * image shape; 0 x 0 chooses 28x28 for 784 inputs and 1 x n otherwise.
 * The model has no history and no training state; its initial parameters
 * are set equal to the trained ones (the JSON does not keep them), so
 * "change since init" pictures are blank.  name is used in messages. */
dl_status dl_nielsen_decode(const char *text, size_t len, const char *name, int rows, int cols,
                            dl_model **out, dl_err *e);

/* dl_nielsen_decode on a file (at most DL_JSON_MAX_BYTES; gzip is fine). */
dl_status dl_nielsen_load(const char *path, int rows, int cols, dl_model **out, dl_err *e);

/* The model in network2.py's format (numbers with 9 significant digits, so
 * float32 values come back exactly) as a new NUL-terminated string. */
dl_status dl_nielsen_encode(const dl_model *m, char **out, size_t *len, dl_err *e);

/* dl_nielsen_encode written to path atomically. */
dl_status dl_nielsen_save(const dl_model *m, const char *path, dl_err *e);

#endif
