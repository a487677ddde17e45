/*
 * png.h — canvases out as PNG files (8-bit RGB), encoded with zlib.
 *
 * Output is deterministic: the same pixels always give the same bytes, so
 * pictures can be compared and cached by checksum.  Files are written
 * atomically (temporary file, fsync, rename): a failed or interrupted write
 * never leaves a half-written PNG where a good one was.
 */
#ifndef DIGITLENS_PNG_H
#define DIGITLENS_PNG_H

#include <stddef.h>

#include "digitlens/canvas.h"
#include "digitlens/err.h"

/* Encodes c as PNG into a new buffer (*out, *len); the caller frees *out
 * with free(). */
dl_status dl_png_encode(const dl_canvas *c, unsigned char **out, size_t *len, dl_err *e);

/* Writes c to path as PNG, atomically.  DL_EIO names path when its
 * directory is missing or unwritable. */
dl_status dl_png_write(const char *path, const dl_canvas *c, dl_err *e);

/* Writes a grey image of h rows of w floats in 0..1 (MNIST's convention:
 * 0 black background, 1 white ink; values outside are clamped, NaN is
 * mid grey), each pixel enlarged to a scale×scale block. */
dl_status dl_png_write_gray(const char *path, const float *px, int w, int h, int scale,
                            dl_err *e);

#endif
