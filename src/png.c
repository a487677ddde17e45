/*
 * png.c — PNG encoding with zlib, and atomic writing through fileio (see
 * png.h).
 *
 * A PNG of ours is the smallest valid one: the signature, IHDR (8-bit RGB),
 * one IDAT holding the zlib stream of the filtered rows, IEND; each chunk's
 * CRC-32 is zlib's (dl_crc32, crc32.h).  Every row uses the "Up" filter
 * (each byte minus the one above it; the first row, having none above,
 * keeps its bytes): our pictures are upscaled maps whose rows repeat, so
 * most filtered rows are zeros, and trying all five filters per row cost
 * most of `digitlens weights`' run time.  zlib's level 3 is within 2% of
 * level 6's size at a third of its time.  The bytes depend only on the
 * pixels.
 */
#include "digitlens/png.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "contract.h"
#include "crc32.h"
#include "digitlens/fileio.h"

#define PNG_ZLIB_LEVEL 3
#define PNG_FILTER_UP 2

static unsigned char *put32(unsigned char *o, uint32_t v)
{
    o[0] = (unsigned char)(v >> 24);
    o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8);
    o[3] = (unsigned char)v;
    return o + 4;
}

/* One chunk at o: length, tag, the n bytes already at o + 8, CRC-32 of
 * tag and data.  Returns the end of the chunk. */
static unsigned char *chunk(unsigned char *o, const char *tag, size_t n)
{
    put32(o, (uint32_t)n);
    memcpy(o + 4, tag, 4);
    return put32(o + 8 + n, dl_crc32(0, o + 4, n + 4));
}

dl_status dl_png_encode(const dl_canvas *c, unsigned char **out, size_t *len, dl_err *e)
{
    *out = NULL;
    *len = 0;
    if (!c || c->w < 1 || c->h < 1)
        return dl_err_set(e, DL_EINVAL, "png: no picture to encode (the canvas is empty)");
    /* zlib counts a buffer in uInt: a canvas is at most DL_CANVAS_MAX_SIDE
     * a side, which keeps the filtered rows far below that. */
    size_t row = (size_t)c->w * 3, raw = (size_t)c->h * (row + 1);
    if (raw > (size_t)UINT32_MAX / 2)
        return dl_err_set(e, DL_ELIMIT, "png: a %d×%d picture is too large to encode", c->w, c->h);
    /* The filtered rows: [h x (1 + 3w)], each a filter byte and the row. */
    unsigned char *filt = malloc(raw);
    uLongf zlen = compressBound((uLong)raw);
    unsigned char *png = malloc(8 + 25 + 12 + zlen + 12);
    if (!filt || !png) {
        free(filt);
        free(png);
        return dl_err_set(e, DL_ENOMEM, "png: out of memory encoding a %d×%d picture", c->w, c->h);
    }
    for (int y = 0; y < c->h; y++) {
        const unsigned char *cur = c->px + (size_t)y * row, *up = cur - row;
        unsigned char *f = filt + (size_t)y * (row + 1);
        f[0] = PNG_FILTER_UP;
        if (y == 0) memcpy(f + 1, cur, row);
        else
            for (size_t i = 0; i < row; i++) f[1 + i] = (unsigned char)(cur[i] - up[i]);
    }
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    unsigned char *o = png;
    memcpy(o, sig, 8);
    o += 8;
    unsigned char *d = put32(put32(o + 8, (uint32_t)c->w), (uint32_t)c->h);
    memcpy(d, "\x08\x02\x00\x00\x00", 5); /* 8 bits, RGB, deflate, no filter set, no interlace */
    o = chunk(o, "IHDR", 13);
    int zst = compress2(o + 8, &zlen, filt, (uLong)raw, PNG_ZLIB_LEVEL);
    free(filt);
    if (zst != Z_OK) {
        free(png);
        return dl_err_set(e, DL_ENOMEM, "png: out of memory encoding a %d×%d picture", c->w, c->h);
    }
    o = chunk(o, "IDAT", zlen);
    o = chunk(o, "IEND", 0);
    *out = png;
    *len = (size_t)(o - png);
    DL_ASSERT(*len == 8 + 25 + 12 + zlen + 12);
    return DL_OK;
}

dl_status dl_png_write(const char *path, const dl_canvas *c, dl_err *e)
{
    unsigned char *buf;
    size_t len;
    dl_status st = dl_png_encode(c, &buf, &len, e);
    if (st != DL_OK) {
        /* Name the file: the message is about what could not be written. */
        if (e) {
            dl_err tmp = *e;
            dl_err_set(e, st, "%s: %s", path, tmp.msg);
        }
        return st;
    }
    st = dl_file_write_atomic(path, buf, len, e);
    free(buf);
    return st;
}

dl_status dl_png_write_gray(const char *path, const float *px, int w, int h, int scale,
                            dl_err *e)
{
    if (!px || w < 1 || h < 1 || scale < 1)
        return dl_err_set(e, DL_EINVAL,
                          "%s: cannot write a %d×%d image at scale %d (sizes and scale must be "
                          "at least 1)",
                          path, w, h, scale);
    if ((long long)w * scale > DL_CANVAS_MAX_SIDE || (long long)h * scale > DL_CANVAS_MAX_SIDE)
        return dl_err_set(e, DL_ELIMIT,
                          "%s: a %d×%d image at scale %d is too large (at most %d pixels a side)",
                          path, w, h, scale, DL_CANVAS_MAX_SIDE);
    dl_canvas *c = dl_canvas_new(w * scale, h * scale, DL_RGB(0, 0, 0), e);
    if (!c) return e ? e->code : DL_ENOMEM;
    dl_canvas_draw_map(c, 0, 0, px, w, h, scale, dl_scale_sequential(DL_CMAP_GRAY, 0.0f, 1.0f));
    dl_status st = dl_png_write(path, c, e);
    dl_canvas_free(c);
    return st;
}
