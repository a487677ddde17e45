/*
 * network2.h — a network to and from the JSON that Nielsen's network2.py
 * saves.
 *
 * network2.py's Network.save writes
 *     {"sizes": [784, 30, 10], "weights": [[[w, ...], ...], ...],
 *      "biases": [[[b], [b], ...], ...], "cost": "CrossEntropyCost"}
 * (weights[l] is a list of sizes[l+1] rows of sizes[l] numbers; biases[l]
 * a list of sizes[l+1] one-element lists; cost "CrossEntropyCost" or
 * "QuadraticCost").  dl_nielsen_decode reads exactly that through a small
 * strict JSON parser (src/json.c; RFC 8259: objects, arrays, strings with escapes,
 * numbers, true/false/null) with limits on size, nesting and counts, and
 * refuses anything malformed or inconsistent with one sentence naming the
 * place ("line 3, column 17" or "weights[1][4]").  Keys other than the
 * four are ignored; a key given twice is an error.
 *
 * Knows nothing of the command line; every writer is atomic (fileio).
 */
#ifndef DIGITLENS_NETWORK2_H
#define DIGITLENS_NETWORK2_H

#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/model.h"

/* Limits, bounded by what the format can hold, so that a small gzip'd file
 * cannot make the parse take much more than the text itself: the text
 * (192 MiB: network2.py writes about 20 bytes a parameter, so some 9 M
 * parameters), nodes (a network of 8 layers of 65,536 neurons has 917,504
 * rows and bias lists), numbers (every parameter and the sizes) and the
 * bytes of all strings together (the format has a handful of short ones).
 * Worst case about 400 MB: the text, 134 MB of numbers, 59 MB of nodes. */
#define DL_JSON_MAX_BYTES ((size_t)192 << 20)             /* the text of one file */
#define DL_JSON_MAX_DEPTH 64                              /* nested arrays and objects */
#define DL_JSON_MAX_NODES ((size_t)1 << 20)               /* values other than numbers inside number lists */
#define DL_JSON_MAX_NUMBERS ((size_t)DL_MAX_PARAMS + 64)  /* parameters and sizes */
#define DL_JSON_MAX_STRINGS ((size_t)1 << 20)             /* bytes of every key and string together */

/* A model from the text of a network2.py file.  rows x cols is the input
 * image shape; 0 x 0 chooses 28x28 for 784 inputs and 1 x n otherwise.
 * The model has no history and no training state; its initial parameters
 * are set equal to the trained ones (the JSON does not keep them), so
 * "change since init" pictures are blank.  name is used in messages. */
dl_status dl_nielsen_decode(const char *text, size_t len, const char *name, int rows, int cols,
                            dl_model **out, dl_err *e);

/* dl_nielsen_decode on a file (at most DL_JSON_MAX_BYTES; gzip is fine).
 * The text is freed once parsed, before the model is built. */
dl_status dl_nielsen_load(const char *path, int rows, int cols, dl_model **out, dl_err *e);

/* The model in network2.py's format (numbers with 9 significant digits, so
 * float32 values come back exactly) as a new NUL-terminated string. */
dl_status dl_nielsen_encode(const dl_model *m, char **out, size_t *len, dl_err *e);

/* dl_nielsen_encode written to path atomically. */
dl_status dl_nielsen_save(const dl_model *m, const char *path, dl_err *e);

#endif
