/*
 * canvas_text.c — fonts and text on a canvas (see canvas.h): stb_truetype
 * for a TrueType font, stb_easy_font when no font is given.  Text is
 * rendered one glyph at a time into a small scratch buffer and
 * alpha-blended, so the cost is proportional to the glyphs that land on
 * the canvas.
 */
#include "digitlens/canvas.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

#include "canvas_clip.h"

/* Debian's libstb already holds stb_truetype's implementation: header only. */
#include <stb_truetype.h>

/* stb_easy_font is header-only with static functions, some of which we do
 * not call, and an initializer gcc's -Wall dislikes; its one piece of
 * global state (the spacing) we never change. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#endif
#include <stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* ---- fonts ------------------------------------------------------------- */

struct dl_font {
    stbtt_fontinfo info; /* points into data */
    unsigned char *data;
    int qmark;           /* glyph drawn for characters the font lacks */
};

#define FONT_MAX_BYTES ((size_t)64 << 20)

dl_font *dl_font_load(const char *path, dl_err *e)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (dl_file_read_all(path, FONT_MAX_BYTES, &data, &len, e) != DL_OK) return NULL;
    dl_font *f = calloc(1, sizeof *f);
    if (!f) {
        free(data);
        dl_err_set(e, DL_ENOMEM, "%s: out of memory loading the font", path);
        return NULL;
    }
    f->data = data;
    /* stbtt reads header fields without bounds checks, so refuse anything
     * too short to hold an sfnt header and table directory. */
    int off = len >= 12 ? stbtt_GetFontOffsetForIndex(data, 0) : -1;
    if (off < 0 || (size_t)off + 12 > len || !stbtt_InitFont(&f->info, data, off)) {
        dl_font_free(f);
        dl_err_set(e, DL_EFORMAT, "%s: not a TrueType font (give a .ttf file, e.g. %s)", path,
                   DL_FONT_DEFAULT_PATH);
        return NULL;
    }
    if (stbtt_FindGlyphIndex(&f->info, 'A') == 0 || stbtt_FindGlyphIndex(&f->info, '0') == 0) {
        dl_font_free(f);
        dl_err_set(e, DL_EFORMAT, "%s: font has no Latin letters or digits (use e.g. %s)", path,
                   DL_FONT_DEFAULT_PATH);
        return NULL;
    }
    f->qmark = stbtt_FindGlyphIndex(&f->info, '?');
    return f;
}

dl_font *dl_font_default(dl_err *e)
{
    if (!dl_file_exists(DL_FONT_DEFAULT_PATH)) {
        dl_err_set(e, DL_EIO,
                   "%s: font not found (install fonts-dejavu-core or set DIGITLENS_FONT)",
                   DL_FONT_DEFAULT_PATH);
        return NULL;
    }
    return dl_font_load(DL_FONT_DEFAULT_PATH, e);
}

void dl_font_free(dl_font *f)
{
    if (!f) return;
    free(f->data);
    free(f);
}

/* ---- UTF-8 --------------------------------------------------------------- */

/* Decodes one code point at *p and advances past it; 0 at the end of the
 * string.  Malformed, overlong or surrogate sequences give U+FFFD and
 * advance one byte, so bad input shows as a replacement mark instead of
 * swallowing the text after it. */
static uint32_t utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    if (c == 0) return 0;
    int n;
    uint32_t min;
    if (c < 0x80) {
        *p = s + 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3, min = 0x10000, c &= 0x07;
    } else {
        *p = s + 1;
        return 0xFFFD;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *p = s + 1;
            return 0xFFFD;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *p = s + 1;
        return 0xFFFD;
    }
    *p = s + n + 1;
    return c;
}

/* ---- text through stb_easy_font (no font given) ------------------------ */

/* ASCII stand-ins for the symbols digitlens labels use. */
static const char *ascii_for(uint32_t cp)
{
    switch (cp) {
    case 0x00D7: return "x";   /* × */
    case 0x00B1: return "+-";  /* ± */
    case 0x2212: return "-";   /* − */
    case 0x2013: return "-";   /* – */
    case 0x2014: return "--";  /* — */
    case 0x03A3: return "Sum"; /* Σ */
    case 0x2211: return "Sum"; /* ∑ */
    case 0x2192: return "->";  /* → */
    case 0x2190: return "<-";  /* ← */
    case 0x00B7: return ".";   /* · */
    case 0x2026: return "..."; /* … */
    case 0x00B0: return "o";   /* ° */
    case 0x00B5: return "u";   /* µ */
    case 0x03BC: return "u";   /* μ */
    case 0x2264: return "<=";  /* ≤ */
    case 0x2265: return ">=";  /* ≥ */
    case 0x2248: return "~";   /* ≈ */
    }
    return "?";
}

/* stb_easy_font draws on a grid whose capitals are 7 units tall and whose
 * lines are 12 apart; integer scaling keeps its strokes crisp. */
static int easy_scale(int px) { return px < 17 ? 1 : (px + 5) / 11; }

/* Walks the text, calling draw (when non-NULL) for each printable ASCII
 * character at pen position pen; returns the total advance in grid units. */
typedef void (*easy_draw_fn)(void *ctx, char ch, long long pen_units);

static long long easy_walk(const char *s, easy_draw_fn draw, void *ctx)
{
    const unsigned char *p = (const unsigned char *)s;
    long long pen = 0;
    uint32_t cp;
    while ((cp = utf8_next(&p)) != 0) {
        if (cp < 0x20 || cp == 0x7F) continue;
        char one[2] = { (char)cp, 0 };
        const char *rep = cp < 0x7F ? one : ascii_for(cp);
        for (const char *r = rep; *r; r++) {
            /* Only 32..126 are safe to index stb_easy_font's tables with. */
            char ch[2] = { *r, 0 };
            if (draw) draw(ctx, *r, pen);
            pen += stb_easy_font_width(ch);
        }
    }
    return pen;
}

typedef struct easy_ctx {
    dl_canvas *c;
    long long x, y;
    int s;
    dl_rgb color;
    unsigned char *vbuf; /* malloc'd, so stb's float stores are well-defined */
    int vbuf_size;
} easy_ctx;

static void easy_draw_char(void *vctx, char ch, long long pen)
{
    easy_ctx *k = vctx;
    long long gx = k->x + pen * k->s;
    if (gx >= k->c->w || gx + 8LL * k->s < 0) return; /* wholly off the canvas */
    char one[2] = { ch, 0 };
    int quads = stb_easy_font_print(0.0f, 0.0f, one, NULL, k->vbuf, k->vbuf_size);
    for (int q = 0; q < quads; q++) {
        /* Each quad is 4 vertices of {x, y, z: float; rgba: 4 bytes};
         * vertices 0 and 2 are opposite corners. */
        float v0[2], v2[2];
        memcpy(v0, k->vbuf + (size_t)q * 64, sizeof v0);
        memcpy(v2, k->vbuf + (size_t)q * 64 + 32, sizeof v2);
        long long rx = gx + (long long)v0[0] * k->s, ry = k->y + (long long)v0[1] * k->s;
        long long rw = (long long)(v2[0] - v0[0]) * k->s, rh = (long long)(v2[1] - v0[1]) * k->s;
        int xa, ya, xb, yb;
        if (!dl_clip_rect(k->c, rx, ry, rw, rh, &xa, &ya, &xb, &yb)) continue;
        dl_canvas_fill_rect(k->c, xa, ya, xb - xa, yb - ya, k->color);
    }
}

/* ---- text through stb_truetype ------------------------------------------ */

static void blend_mask(dl_canvas *c, long long x, long long y, const unsigned char *mask, int mw,
                       int mh, dl_rgb col)
{
    int xa, ya, xb, yb;
    if (!dl_clip_rect(c, x, y, mw, mh, &xa, &ya, &xb, &yb)) return;
    for (int yy = ya; yy < yb; yy++) {
        const unsigned char *m = mask + (size_t)(yy - y) * (size_t)mw + (size_t)(xa - x);
        unsigned char *d = dl_pix(c, xa, yy);
        for (int xx = xa; xx < xb; xx++, m++, d += 3) {
            unsigned a = *m;
            if (a == 0) continue;
            unsigned na = 255 - a;
            d[0] = (unsigned char)((d[0] * na + col.r * a + 127) / 255);
            d[1] = (unsigned char)((d[1] * na + col.g * a + 127) / 255);
            d[2] = (unsigned char)((d[2] * na + col.b * a + 127) / 255);
        }
    }
}

/* Lays out s with font f at px_height; when c is non-NULL also draws it with
 * the line box's top-left at (x, y).  Returns the advance width in pixels
 * through *width. */
static dl_status tt_run(const dl_font *f, dl_canvas *c, long long x, long long y, const char *s,
                        int px, dl_rgb col, double *width)
{
    const stbtt_fontinfo *info = &f->info;
    float scale = stbtt_ScaleForPixelHeight(info, (float)px);
    int asc, desc, gap;
    stbtt_GetFontVMetrics(info, &asc, &desc, &gap);
    long long baseline = y + lrintf((float)asc * scale);
    unsigned char *scratch = NULL;
    size_t scratch_cap = 0;
    dl_status st = DL_OK;
    const unsigned char *p = (const unsigned char *)s;
    double pen = 0.0;
    int prev = 0;
    uint32_t cp;
    while ((cp = utf8_next(&p)) != 0) {
        if (cp < 0x20 || cp == 0x7F) continue;
        int g = stbtt_FindGlyphIndex(info, (int)cp);
        if (g == 0) g = f->qmark;
        if (prev) pen += scale * (float)stbtt_GetGlyphKernAdvance(info, prev, g);
        int adv, lsb;
        stbtt_GetGlyphHMetrics(info, g, &adv, &lsb);
        double gx = (double)x + pen;
        if (c && gx < (double)c->w + 1.0 && gx > -(double)(8 * px + 64)) {
            /* Render only glyphs that can touch the canvas; the bounds above
             * also keep every conversion to int in range. */
            double ix = floor(gx);
            float shift = (float)(gx - ix);
            int bx0, by0, bx1, by1;
            stbtt_GetGlyphBitmapBoxSubpixel(info, g, scale, scale, shift, 0.0f, &bx0, &by0, &bx1,
                                            &by1);
            int gw = bx1 - bx0, gh = by1 - by0;
            long long top = baseline + by0;
            if (gw > 0 && gh > 0 && top < c->h && top + gh > 0) {
                size_t need = (size_t)gw * (size_t)gh;
                if (need > scratch_cap) {
                    unsigned char *ns = realloc(scratch, need);
                    if (!ns) {
                        st = DL_ENOMEM;
                        break;
                    }
                    scratch = ns;
                    scratch_cap = need;
                }
                stbtt_MakeGlyphBitmapSubpixel(info, scratch, gw, gh, gw, scale, scale, shift, 0.0f,
                                              g);
                blend_mask(c, (long long)ix + bx0, top, scratch, gw, gh, col);
            }
        }
        pen += scale * (float)adv;
        prev = g;
    }
    free(scratch);
    if (width) *width = pen;
    return st;
}


int dl_canvas_text_width(const dl_font *f, const char *s, int px_height)
{
    if (!s || px_height < 1 || px_height > DL_CANVAS_TEXT_MAX_PX) return 0;
    if (!f) {
        long long w = easy_walk(s, NULL, NULL) * easy_scale(px_height);
        return w > INT32_MAX ? INT32_MAX : (int)w;
    }
    double w = 0.0;
    tt_run(f, NULL, 0, 0, s, px_height, DL_RGB(0, 0, 0), &w);
    w = ceil(w);
    return w > (double)INT32_MAX ? INT32_MAX : w < 0.0 ? 0 : (int)w;
}

dl_status dl_canvas_text(dl_canvas *c, const dl_font *f, int x, int y, const char *s,
                         int px_height, dl_rgb color)
{
    if (px_height < 1 || px_height > DL_CANVAS_TEXT_MAX_PX) return DL_EINVAL;
    if (!s || !*s) return DL_OK;
    if ((long long)y >= c->h || (long long)y + px_height <= 0 || x >= c->w) return DL_OK;
    if (f) return tt_run(f, c, x, y, s, px_height, color, NULL);

    int sc = easy_scale(px_height);
    easy_ctx k;
    k.c = c;
    k.x = x;
    /* Centre the 10-unit body (capitals plus descenders) in the line box. */
    k.y = (long long)y + (px_height - 10LL * sc) / 2;
    k.s = sc;
    k.color = color;
    k.vbuf_size = 64 * 64; /* room for 64 quads; a character needs at most ~20 */
    k.vbuf = malloc((size_t)k.vbuf_size);
    if (!k.vbuf) return DL_ENOMEM;
    easy_walk(s, easy_draw_char, &k);
    free(k.vbuf);
    return DL_OK;
}

dl_status dl_canvas_text_aligned(dl_canvas *c, const dl_font *f, int x, int y, const char *s,
                                 int px_height, dl_rgb color, dl_align align)
{
    if (align == DL_ALIGN_LEFT) return dl_canvas_text(c, f, x, y, s, px_height, color);
    long long w = dl_canvas_text_width(f, s, px_height);
    long long left = align == DL_ALIGN_CENTER ? (long long)x - w / 2 : (long long)x - w;
    if (left < INT32_MIN) return DL_OK; /* entirely off the left edge */
    return dl_canvas_text(c, f, (int)left, y, s, px_height, color);
}

void dl_format_number(char *buf, size_t n, double v)
{
    if (!buf || n == 0) return;
    char tmp[32]; /* "%.3g" needs at most 10 */
    snprintf(tmp, sizeof tmp, "%.3g", v);
    if (strcmp(tmp, "-0") == 0) strcpy(tmp, "0");
    if (tmp[0] == '-')
        snprintf(buf, n, "\xE2\x88\x92%s", tmp + 1); /* U+2212 MINUS SIGN */
    else
        snprintf(buf, n, "%s", tmp);
}
