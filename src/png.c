/*
 * png.c — PNG encoding through stb_image_write with zlib as its deflate,
 * and atomic writing through fileio (see png.h).
 *
 * stb_image_write's own deflate is small and slow (8.5 ms for one 224×304
 * neuron picture, 93% of `digitlens weights`' run time when it also tries
 * all five row filters), so it is built here the way it is meant to be
 * specialised: STBIW_ZLIB_COMPRESS plugs in zlib's compress2 (level 3), and
 * zlib's CRC-32 its checksums, and
 * the row filter is fixed to "Up" (stbi_write_force_png_filter = 2; the
 * first row, having no row above, is stored unfiltered): our pictures are
 * upscaled maps whose rows repeat, so most filtered rows are zeros.  The
 * bytes depend only on the pixels, the filter and zlib's level.
 *
 * The implementation is compiled into this file from Debian's header
 * (libstb-dev) with STB_IMAGE_WRITE_STATIC, so nothing of it is visible
 * outside, and libstb's own copy (whose deflate is stb's) is not used.
 * Its one setting, the forced filter, is a variable of this file set once
 * before the first picture (pthread_once): no state changes afterwards.
 */
#include "digitlens/png.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "digitlens/fileio.h"

#define PNG_ZLIB_LEVEL 3 /* measured: level 3 is within 2% of level 6's size at a third of its time */
#define PNG_FILTER_UP 2

/* The compressor stb_image_write calls for the IDAT data: a zlib stream
 * (header, deflate, Adler-32) in a malloc'd buffer, or NULL.  stb's quality
 * argument (its own level scale) is ignored for PNG_ZLIB_LEVEL. */
static unsigned char *zlib_compress(unsigned char *data, int len, int *out_len, int quality)
{
    (void)quality;
    uLongf n = compressBound((uLong)len);
    unsigned char *out = n <= (uLongf)INT_MAX ? malloc(n) : NULL;
    if (!out) return NULL;
    if (compress2(out, &n, data, (uLong)len, PNG_ZLIB_LEVEL) != Z_OK) {
        free(out);
        return NULL;
    }
    *out_len = (int)n;
    return out;
}

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBIW_ZLIB_COMPRESS zlib_compress
#define STBIW_CRC32(buf, len) ((unsigned int)crc32(0L, (buf), (uInt)(len))) /* zlib's, table-sliced: faster */
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
/* For the whole file: the writers we do not call (BMP, TGA, HDR, JPEG)
 * stay unused, and compilers say so at its end. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <stb_image_write.h>
#include "contract.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static pthread_once_t filter_once = PTHREAD_ONCE_INIT;

static void force_up_filter(void)
{
    stbi_write_force_png_filter = PNG_FILTER_UP;
}

dl_status dl_png_encode(const dl_canvas *c, unsigned char **out, size_t *len, dl_err *e)
{
    *out = NULL;
    *len = 0;
    if (!c || c->w < 1 || c->h < 1)
        return dl_err_set(e, DL_EINVAL, "png: no picture to encode (the canvas is empty)");
    /* stb counts bytes in int: a canvas is at most DL_CANVAS_MAX_SIDE a
     * side, which keeps the filtered rows far below INT_MAX. */
    if ((size_t)c->h * ((size_t)c->w * 3 + 1) > (size_t)INT_MAX / 2)
        return dl_err_set(e, DL_ELIMIT, "png: a %d×%d picture is too large to encode", c->w, c->h);
    pthread_once(&filter_once, force_up_filter);
    int n = 0;
    unsigned char *png = stbi_write_png_to_mem(c->px, c->w * 3, c->w, c->h, 3, &n);
    if (!png) return dl_err_set(e, DL_ENOMEM, "png: out of memory encoding a %d×%d picture", c->w, c->h);
    DL_ASSERT(n > 8 + 25 + 12 + 12 && memcmp(png + 1, "PNG", 3) == 0);
    *out = png;
    *len = (size_t)n;
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
