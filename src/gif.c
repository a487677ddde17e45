/*
 * gif.c — animated GIFs through giflib (see gif.h).  giflib writes through
 * an output callback into a growable buffer, so the file appears only
 * whole, through fileio's atomic write.  Colours are looked up in an
 * open-addressed table (a film has few distinct colours: the palette's and
 * their antialiased blends), so each distinct colour is matched once.
 */
#include "digitlens/gif.h"

#include <gif_lib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

#include "buf.h"

enum { TABLE = 1 << 16 }; /* slots of the colour table: more than a film's distinct colours */

struct dl_gif {
    int w, h, delay, frames, npal;
    GifFileType *gif;
    dl_buf out;
    dl_rgb pal[256];
    uint32_t *key;        /* [TABLE] rgb + 1 (0: empty) */
    unsigned char *val;   /* [TABLE] palette index */
    int full;             /* the table filled up: match without it */
    GifPixelType *line;   /* [w] */
};

int dl_gif_palette_pictures(dl_rgb pal[256])
{
    int n = 0;
    pal[n++] = DL_RGB(255, 255, 255);
    pal[n++] = DL_RGB(0, 0, 0);
    /* Greys for text, its antialiasing and separators, DL_RGB_TEXT among them. */
    for (int i = 0; i < 20; i++) {
        int v = 34 + i * 11;
        pal[n++] = DL_RGB(v, v, v);
    }
    for (int i = 0; i <= 200; i++) pal[n++] = dl_cmap_diverging((float)(i - 100) / 100.0f, 1.0f);
    for (int i = 0; i < 32 && n < 256; i++) pal[n++] = dl_cmap_viridis((float)i / 31.0f);
    return n;
}

static int gif_output(GifFileType *g, const GifByteType *data, int n)
{
    dl_buf *b = g->UserData;
    dl_buf_append(b, data, (size_t)n);
    return b->oom ? 0 : n;
}

static dl_status gif_error(dl_gif *g, const char *what, dl_err *e)
{
    return dl_err_set(e, g->out.oom ? DL_ENOMEM : DL_EIO, "GIF encoder: %s failed (%s)", what,
                      GifErrorString(g->gif ? g->gif->Error : 0));
}

void dl_gif_free(dl_gif *g)
{
    if (!g) return;
    if (g->gif) EGifCloseFile(g->gif, NULL);
    dl_buf_free(&g->out);
    free(g->key);
    free(g->val);
    free(g->line);
    free(g);
}

dl_gif *dl_gif_new(int w, int h, const dl_rgb *pal, int npal, int delay_cs, dl_err *e)
{
    if (w < 1 || h < 1 || w > 65535 || h > 65535 || npal < 1 || npal > 256 || delay_cs < 0 || delay_cs > 65535) {
        dl_err_set(e, DL_EINVAL, "GIF: %dx%d frames, %d colours, delay %d are out of range", w, h, npal, delay_cs);
        return NULL;
    }
    dl_gif *g = calloc(1, sizeof *g);
    if (!g || !(g->key = calloc(TABLE, sizeof *g->key)) || !(g->val = malloc(TABLE)) ||
        !(g->line = malloc((size_t)w * sizeof *g->line))) {
        dl_gif_free(g);
        dl_err_set(e, DL_ENOMEM, "out of memory for a GIF");
        return NULL;
    }
    g->w = w;
    g->h = h;
    g->delay = delay_cs;
    g->npal = npal;
    memcpy(g->pal, pal, (size_t)npal * sizeof *pal);
    int err = 0;
    g->gif = EGifOpen(&g->out, gif_output, &err);
    if (!g->gif) {
        dl_err_set(e, DL_ENOMEM, "GIF encoder: %s", GifErrorString(err));
        dl_gif_free(g);
        return NULL;
    }
    /* giflib wants a power-of-two colour count; unused entries stay black. */
    GifColorType colors[256];
    memset(colors, 0, sizeof colors);
    for (int i = 0; i < npal; i++) colors[i] = (GifColorType){pal[i].r, pal[i].g, pal[i].b};
    int size = 2;
    while (size < npal) size *= 2;
    ColorMapObject *map = GifMakeMapObject(size, colors);
    if (!map) {
        dl_err_set(e, DL_ENOMEM, "out of memory for a GIF palette");
        dl_gif_free(g);
        return NULL;
    }
    EGifSetGifVersion(g->gif, true);
    int ok = EGifPutScreenDesc(g->gif, w, h, 8, 0, map) == GIF_OK;
    GifFreeMapObject(map);
    /* NETSCAPE2.0 with a loop count of 0: play forever. */
    static const GifByteType loop[3] = {1, 0, 0};
    ok = ok && EGifPutExtensionLeader(g->gif, APPLICATION_EXT_FUNC_CODE) == GIF_OK &&
         EGifPutExtensionBlock(g->gif, 11, "NETSCAPE2.0") == GIF_OK &&
         EGifPutExtensionBlock(g->gif, 3, loop) == GIF_OK && EGifPutExtensionTrailer(g->gif) == GIF_OK;
    if (!ok) {
        gif_error(g, "the header", e);
        dl_gif_free(g);
        return NULL;
    }
    return g;
}

static unsigned char nearest(const dl_gif *g, dl_rgb c)
{
    int best = 0;
    long bd = -1;
    for (int i = 0; i < g->npal; i++) {
        long dr = c.r - g->pal[i].r, dg = c.g - g->pal[i].g, db = c.b - g->pal[i].b;
        long d = dr * dr + dg * dg + db * db;
        if (bd < 0 || d < bd) {
            bd = d;
            best = i;
        }
    }
    return (unsigned char)best;
}

static unsigned char lookup(dl_gif *g, dl_rgb c)
{
    uint32_t k = ((uint32_t)c.r << 16 | (uint32_t)c.g << 8 | c.b) + 1;
    if (g->full) return nearest(g, c);
    uint32_t s = (k * 2654435761u) >> 16;
    for (int probe = 0; probe < TABLE; probe++, s = (s + 1) & (TABLE - 1)) {
        if (g->key[s] == k) return g->val[s];
        if (g->key[s] == 0) {
            g->key[s] = k;
            g->val[s] = nearest(g, c);
            return g->val[s];
        }
    }
    g->full = 1;
    return nearest(g, c);
}

dl_status dl_gif_add(dl_gif *g, const dl_canvas *c, dl_err *e)
{
    return dl_gif_add_for(g, c, g->delay, e);
}

dl_status dl_gif_add_for(dl_gif *g, const dl_canvas *c, int delay_cs, dl_err *e)
{
    if (delay_cs < 0 || delay_cs > 65535) return dl_err_set(e, DL_EINVAL, "GIF: a delay of %d is out of range", delay_cs);
    if (c->w != g->w || c->h != g->h)
        return dl_err_set(e, DL_EINVAL, "GIF: a %dx%d frame in a %dx%d film", c->w, c->h, g->w, g->h);
    if (g->frames >= DL_GIF_MAX_FRAMES)
        return dl_err_set(e, DL_ELIMIT, "GIF: more than %d frames", DL_GIF_MAX_FRAMES);
    GraphicsControlBlock gcb = {DISPOSE_DO_NOT, false, delay_cs, NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(g->gif, GRAPHICS_EXT_FUNC_CODE, 4, ext) != GIF_OK ||
        EGifPutImageDesc(g->gif, 0, 0, g->w, g->h, false, NULL) != GIF_OK)
        return gif_error(g, "a frame header", e);
    for (int y = 0; y < g->h; y++) {
        const unsigned char *px = c->px + 3 * (size_t)y * g->w;
        for (int x = 0; x < g->w; x++) g->line[x] = lookup(g, DL_RGB(px[3 * x], px[3 * x + 1], px[3 * x + 2]));
        if (EGifPutLine(g->gif, g->line, g->w) != GIF_OK) return gif_error(g, "a frame", e);
    }
    g->frames++;
    return DL_OK;
}

int dl_gif_frames(const dl_gif *g) { return g->frames; }

dl_status dl_gif_take(dl_gif *g, unsigned char **data, size_t *len, dl_err *e)
{
    *data = NULL;
    *len = 0;
    int err = 0;
    int ok = EGifCloseFile(g->gif, &err) == GIF_OK;
    g->gif = NULL;
    dl_status st = DL_OK;
    if (!ok || g->out.oom)
        st = dl_err_set(e, g->out.oom ? DL_ENOMEM : DL_EIO, "GIF encoder failed (%s)", GifErrorString(err));
    else if (!(*data = (unsigned char *)dl_buf_take(&g->out, len)))
        st = dl_err_set(e, DL_ENOMEM, "out of memory for a GIF");
    dl_gif_free(g);
    return st;
}

dl_status dl_gif_finish(dl_gif *g, const char *path, dl_err *e)
{
    unsigned char *data = NULL;
    size_t len = 0;
    dl_status st = dl_gif_take(g, &data, &len, e);
    return st != DL_OK ? st : dl_file_write_atomic_free(path, data, len, e);
}
