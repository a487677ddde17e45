/*
 * canvas_clip.h — the two steps every canvas primitive starts with:
 * intersect a rectangle with the canvas (in 64-bit arithmetic, so callers
 * may pass any int coordinates), and find a pixel.  Private to canvas.c
 * and canvas_text.c.
 */
#ifndef DIGITLENS_CANVAS_CLIP_H
#define DIGITLENS_CANVAS_CLIP_H

#include <stddef.h>

#include "digitlens/canvas.h"

/* The tallest line of text (px): canvas.h's 1..1024. */
#define DL_CANVAS_TEXT_MAX_PX 1024

/* Intersects [x, x+w) × [y, y+h) with the canvas; 0 when nothing is left. */
static inline int dl_clip_rect(const dl_canvas *c, long long x, long long y, long long w, long long h,
                                int *xa, int *ya, int *xb, int *yb)
{
    if (w <= 0 || h <= 0) return 0;
    long long x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    long long x1 = x + w > c->w ? c->w : x + w;
    long long y1 = y + h > c->h ? c->h : y + h;
    if (x0 >= x1 || y0 >= y1) return 0;
    *xa = (int)x0;
    *ya = (int)y0;
    *xb = (int)x1;
    *yb = (int)y1;
    return 1;
}

static inline unsigned char *dl_pix(const dl_canvas *c, int x, int y)
{
    return c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
}

#endif
