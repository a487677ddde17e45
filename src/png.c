/*
 * png.c — PNG encoding through stb_image_write and atomic writing through
 * fileio (see png.h).
 *
 * stbi_write_png_to_mem is not declared in stb_image_write.h's public part,
 * and its buffer must be released with whatever STBIW_FREE the library was
 * built with; stbi_write_png_to_func is public and hands us the finished
 * bytes once, so we copy them into a buffer we own and free with free().
 */
#include "digitlens/png.h"

#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

/* Debian's libstb already holds stb_image_write's implementation: header only. */
#include <stb_image_write.h>

typedef struct png_sink {
    unsigned char *buf;
    size_t len;
    int failed;
} png_sink;

static void sink_write(void *ctx, void *data, int size)
{
    png_sink *s = ctx;
    if (s->failed || size <= 0) return;
    unsigned char *nb = realloc(s->buf, s->len + (size_t)size);
    if (!nb) {
        s->failed = 1;
        return;
    }
    memcpy(nb + s->len, data, (size_t)size);
    s->buf = nb;
    s->len += (size_t)size;
}

dl_status dl_png_encode(const dl_canvas *c, unsigned char **out, size_t *len, dl_err *e)
{
    *out = NULL;
    *len = 0;
    if (!c || c->w < 1 || c->h < 1)
        return dl_err_set(e, DL_EINVAL, "png: no picture to encode (the canvas is empty)");
    png_sink s = { NULL, 0, 0 };
    /* stb reports only "failed": with valid sizes that means out of memory. */
    if (!stbi_write_png_to_func(sink_write, &s, c->w, c->h, 3, c->px, c->w * 3) || s.failed ||
        s.len == 0) {
        free(s.buf);
        return dl_err_set(e, DL_ENOMEM, "png: out of memory encoding a %d×%d picture", c->w, c->h);
    }
    *out = s.buf;
    *len = s.len;
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
