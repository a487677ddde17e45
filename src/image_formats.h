/*
 * image_formats.h — private to image.c: the parts of reading pictures that
 * stb_image does not do for us.
 *
 * stb_image reads past the end of a file as zeros: a BMP or GIF cut short
 * decodes to a picture with a blank (or, for a binary PGM, uninitialised)
 * part instead of failing, and a JPEG cut short is filled with grey.  So
 * every picture is checked to be whole before stb_image sees it.  Netpbm
 * (P1-P6) is decoded here entirely: stb_image does not read the ASCII
 * formats or PBM, ignores maxval for 8-bit files, accepts maxval 0 and
 * leaves a truncated raster uninitialised.
 */
#ifndef DIGITLENS_IMAGE_FORMATS_H
#define DIGITLENS_IMAGE_FORMATS_H

#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/image.h"

/* "<nm>: picture is W x H pixels, beyond the limit ..." unless both sides
 * and the product are within image.h's limits (image.c). */
dl_status dl_image_check_size(const char *nm, unsigned long w, unsigned long h, dl_err *e);

/* 1 when d starts like a netpbm file: 'P', '1'..'6', then whitespace. */
int dl_pnm_claims(const unsigned char *d, size_t n);

/* Decodes a netpbm picture: P1 (plain PBM), P2 (plain PGM), P3 (plain PPM),
 * P4 (PBM), P5 (PGM), P6 (PPM); maxval 1..65535 (two bytes per sample, big
 * endian, above 255), comments (#...) in the header and, for the plain
 * formats, between samples.  Samples scale by maxval; PBM's 1 is black.
 * Only the first image of a multi-image file is read.  A raster shorter
 * than the header's size is DL_EFORMAT naming what is missing. */
dl_status dl_pnm_decode(const unsigned char *d, size_t n, const char *nm, dl_gray **out, dl_err *e);

/* DL_OK when a JPEG, BMP or GIF holds all the data its headers promise
 * (other formats pass through): JPEG segments fit the file and an end of
 * image follows the scan data; a BMP's rows fit the file; a GIF's first
 * image's data blocks end with their terminator.  Otherwise DL_EFORMAT,
 * "<nm>: truncated <format> (...)". */
dl_status dl_picture_check_whole(const unsigned char *d, size_t n, const char *nm, dl_err *e);

/* Palette PNGs: stb_image expands each index through a 256-entry stack
 * array of which only the PLTE chunk's entries are set, so a pixel with an
 * index beyond them becomes uninitialised memory (MemorySanitizer found it;
 * ASan cannot).  png_check (image.c) inflates the image data anyway; this
 * walks the inflated rows, undoes the PNG filters and checks every index.
 * Memory: two rows. */
typedef struct dl_png_index {
    unsigned long w, h;
    unsigned depth, npal;
    int interlace, pass, done;
    unsigned long row, rows, width; /* in the current pass */
    size_t rowbytes, got;           /* bytes of the row (filter byte excluded) and how many arrived + 1 */
    unsigned filter;
    unsigned char *prev, *cur;
} dl_png_index;

dl_status dl_png_index_init(dl_png_index *c, unsigned long w, unsigned long h, unsigned depth, int interlace,
                            unsigned npal, const char *nm, dl_err *e);
/* Feeds n inflated bytes; DL_EFORMAT naming the first index beyond the
 * palette.  Bytes after the last row, or after an unknown filter type
 * (stb_image refuses that itself), are ignored. */
dl_status dl_png_index_feed(dl_png_index *c, const unsigned char *p, size_t n, const char *nm, dl_err *e);
void dl_png_index_free(dl_png_index *c);

#endif
