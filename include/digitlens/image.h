/*
 * image.h — picture files (PNG, JPEG, BMP, GIF, netpbm PBM/PGM/PPM) to
 * grayscale.
 *
 * Decoding goes through stb_image from memory: the file is read whole
 * (dl_file_read_all, so a gzip-compressed picture reads too), its header is
 * checked with stbi_info_from_memory against the limits below, and only then
 * is it decoded.  A picture that declares 60000 x 60000 pixels is refused
 * without allocating anything for its pixels.  A picture cut short is
 * refused too, in every format (stb_image would read the missing bytes as
 * zeros, or a JPEG's as grey): src/image_formats.c checks that the data
 * every header promises is in the file.
 *
 * Formats: PNG (1-16 bits, palette, interlaced), JPEG (baseline and
 * progressive; not arithmetic-coded or 12-bit), BMP (not RLE-compressed),
 * GIF (the first frame), all through stb_image; and netpbm, decoded by
 * image_formats.c: P1 and P4 (PBM, 1 is black), P2 and P5 (PGM), P3 and P6
 * (PPM), maxval 1..65535, samples scaled by maxval.  A plain (ASCII) file
 * cut inside its last number cannot be told from a whole one.  PAM (P7),
 * WebP, TIFF, HEIC and SVG are not read; other formats stb_image happens
 * to know (TGA, PSD, HDR) are refused before it sees them.
 *
 * digit.h turns a decoded picture into a network's input (finding and
 * normalising the digit in it).
 *
 * Knows nothing of networks.  Never prints; uses no global state (stb's
 * process-wide "flip on load" switch is never touched and must stay off).
 */
#ifndef DIGITLENS_IMAGE_H
#define DIGITLENS_IMAGE_H

#include <stddef.h>

#include "digitlens/err.h"

/* Limits, checked before anything is decoded.  With 2^24 pixels the worst
 * case (a 16-bit RGBA PNG) needs about 400 MB inside stb_image plus 64 MB
 * for our float copy, well under 1 GB.  16 Mpx is a 4096 x 4096 picture or
 * a 12-16 Mpx phone photo. */
#define DL_IMAGE_MAX_BYTES  ((size_t)64 << 20)  /* file size, after gunzip */
#define DL_IMAGE_MAX_SIDE   16384               /* width or height */
#define DL_IMAGE_MAX_PIXELS ((size_t)1 << 24)   /* width * height */

/* A grayscale picture: px[y * w + x], 0 = black .. 1 = white, owned. */
typedef struct dl_gray {
    int w, h;
    float *px;
} dl_gray;

/* A new w x h picture, all black; NULL (with *e filled) for a size outside
 * 1..DL_IMAGE_MAX_SIDE per side or above DL_IMAGE_MAX_PIXELS, or when out of
 * memory.  One allocation: dl_gray_free releases it. */
dl_gray *dl_gray_new(int w, int h, dl_err *e);
void dl_gray_free(dl_gray *g);

/* Reads and decodes the picture file at path (see dl_image_decode).  A file
 * over DL_IMAGE_MAX_BYTES is refused with DL_ELIMIT, a missing or
 * unreadable one with DL_EIO.  *out is the caller's (dl_gray_free). */
dl_status dl_image_load(const char *path, dl_gray **out, dl_err *e);

/* Decodes n bytes of an image file to grayscale.  name (may be NULL) only
 * labels error messages.  Colour becomes luminance (Rec. 601: 0.299 R +
 * 0.587 G + 0.114 B).  Transparency is flattened onto the picture's own
 * background: the median of the opaque border pixels, or, when the border
 * is transparent, the colour opposite to the ink's (white behind dark ink,
 * black behind light ink), so black strokes on a transparent sheet stay
 * visible.  A JPEG's EXIF Orientation tag is applied (stb_image ignores
 * it; a phone photo would otherwise lie on its side).  Errors: DL_ELIMIT
 * for sizes over the limits, DL_EFORMAT for anything that is not a picture
 * in a supported format or cannot be decoded (a truncated PNG; stb_image
 * fills a JPEG cut short with grey instead of failing). */
dl_status dl_image_decode(const unsigned char *data, size_t n, const char *name,
                          dl_gray **out, dl_err *e);

#endif
