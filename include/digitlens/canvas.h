/*
 * canvas.h — an 8-bit RGB raster and the primitives every picture in
 * digitlens is drawn with: rectangles, lines, blits, float maps through a
 * colour scale, antialiased text, colour bars, montages and bar charts.
 *
 * Knows nothing of networks: callers hand it plain float maps and numbers.
 * Every primitive clips to the canvas, so callers may draw partly or wholly
 * off the edge (coordinates anywhere in int range) without checks of their
 * own.  Nothing here prints, exits or keeps global state; fonts are values
 * the caller loads once and passes in (NULL means the built-in fallback).
 *
 * Coordinates: x grows rightwards, y downwards, (0, 0) is the top-left pixel.
 */
#ifndef DIGITLENS_CANVAS_H
#define DIGITLENS_CANVAS_H

#include <stddef.h>

#include "digitlens/colormap.h"
#include "digitlens/err.h"

/* ---- the canvas -------------------------------------------------------- */

/* h rows of w RGB triples, row-major, no padding: pixel (x, y) starts at
 * px[3 * ((size_t)y * w + x)].  Fields are public so that fast loops and
 * tests can read pixels; change w and h only through dl_canvas_new. */
typedef struct dl_canvas {
    int w, h;
    unsigned char *px;
} dl_canvas;

#define DL_CANVAS_MAX_SIDE 16384
#define DL_CANVAS_MAX_BYTES ((size_t)256 << 20) /* 256 MiB of pixels */

/* A w×h canvas filled with bg.  Sizes must be 1..DL_CANVAS_MAX_SIDE and
 * w·h·3 at most DL_CANVAS_MAX_BYTES (DL_ELIMIT otherwise, DL_EINVAL for
 * sizes < 1).  One allocation: dl_canvas_free releases everything. */
dl_canvas *dl_canvas_new(int w, int h, dl_rgb bg, dl_err *e);
void dl_canvas_free(dl_canvas *c);

void dl_canvas_clear(dl_canvas *c, dl_rgb color);
/* The pixel at (x, y); black outside the canvas. */
dl_rgb dl_canvas_get(const dl_canvas *c, int x, int y);
void dl_canvas_put(dl_canvas *c, int x, int y, dl_rgb color);

/* Filled w×h rectangle with its top-left corner at (x, y). */
void dl_canvas_fill_rect(dl_canvas *c, int x, int y, int w, int h, dl_rgb color);
/* The border of that rectangle, thickness pixels wide, drawn inside it. */
void dl_canvas_rect_outline(dl_canvas *c, int x, int y, int w, int h, int thickness,
                            dl_rgb color);
/* len pixels from (x, y) rightwards / downwards. */
void dl_canvas_hline(dl_canvas *c, int x, int y, int len, dl_rgb color);
void dl_canvas_vline(dl_canvas *c, int x, int y, int len, dl_rgb color);
/* A one-pixel line from (x0, y0) to (x1, y1), both ends included
 * (Bresenham: no antialiasing, so charts stay crisp and exact). */
void dl_canvas_line(dl_canvas *c, int x0, int y0, int x1, int y1, dl_rgb color);

/* Copies src with its top-left corner at (x, y) of dst; src may be larger
 * than dst or hang off any edge.  scale >= 1 enlarges each source pixel to a
 * scale×scale block (nearest neighbour).  src and dst must differ. */
void dl_canvas_blit(dl_canvas *dst, int x, int y, const dl_canvas *src);
void dl_canvas_blit_scaled(dl_canvas *dst, int x, int y, const dl_canvas *src, int scale);

/* Paints map (mh rows of mw floats, row-major) with its top-left at (x, y),
 * each value a scale×scale block (nearest neighbour, so a 28×28 map at
 * scale 4 covers exactly 112×112 pixels) coloured by cs.  Does nothing when
 * a size is < 1 or map is NULL. */
void dl_canvas_draw_map(dl_canvas *c, int x, int y, const float *map, int mw, int mh,
                        int scale, dl_colorscale cs);

/* ---- fonts and text ---------------------------------------------------- */

typedef struct dl_font dl_font;

#define DL_FONT_DEFAULT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

/* Loads a TrueType font (up to 64 MiB; the first face of a collection).
 * stb_truetype trusts its input, so load fonts you trust: the command line
 * takes the path from DIGITLENS_FONT or uses the default. */
dl_font *dl_font_load(const char *path, dl_err *e);
/* dl_font_load(DL_FONT_DEFAULT_PATH), with a hint to install
 * fonts-dejavu-core when it is missing. */
dl_font *dl_font_default(dl_err *e);
void dl_font_free(dl_font *f);

/* Text is UTF-8.  With a font, every glyph the font has is drawn
 * antialiased (DejaVu Sans covers × ± − Σ → and far more); a malformed
 * byte shows as U+FFFD, and a character the font lacks as '?'.  With font == NULL, stb_easy_font's
 * pixel font draws printable ASCII, and a few symbols are spelled out
 * (× as x, ± as +-, − as -, Σ as Sum, → as ->).  Control characters are
 * skipped.  px_height is the line height in pixels (1..1024): the text's
 * ascenders and descenders fit in y .. y + px_height (the fallback font's
 * strokes are whole pixels, so it never draws smaller than 10 px, and grows
 * in steps of 11 px).  A loaded font is read-only while drawing, so
 * threads may share one. */
int dl_canvas_text_width(const dl_font *f, const char *s, int px_height);

/* Draws s with the top of its line box at y and its left edge at x.
 * DL_EINVAL for px_height outside 1..1024, DL_ENOMEM if glyph scratch space
 * cannot be had (then part of the text may be drawn). */
dl_status dl_canvas_text(dl_canvas *c, const dl_font *f, int x, int y, const char *s,
                         int px_height, dl_rgb color);

typedef enum dl_align { DL_ALIGN_LEFT, DL_ALIGN_CENTER, DL_ALIGN_RIGHT } dl_align;

/* As dl_canvas_text, but x is where the left edge, the centre or the right
 * edge of the text goes. */
dl_status dl_canvas_text_aligned(dl_canvas *c, const dl_font *f, int x, int y, const char *s,
                                 int px_height, dl_rgb color, dl_align align);

/* Writes v compactly ("%.3g", with "−" for minus and no "-0") into buf. */
void dl_format_number(char *buf, size_t n, double v);

/* ---- legends ----------------------------------------------------------- */

/* The text colour legends and charts use: near-black, softer than pure black
 * next to saturated colours. */
#define DL_RGB_TEXT DL_RGB(34, 34, 34)

/* A horizontal colour bar for scale s filling the box (x, y, w, h): the
 * caption label (may be NULL) centred on top, the gradient from s.lo (left)
 * to s.hi (right) in a thin frame, and tick marks labelled s.lo, 0 (when
 * strictly inside and clear of the end labels) and s.hi underneath.  Text is
 * text_px high; the box needs w >= 8 and h >= 2·text_px + 13 with a caption,
 * text_px + 9 without (DL_EINVAL otherwise). */
dl_status dl_canvas_colorbar(dl_canvas *c, const dl_font *f, int x, int y, int w, int h,
                             dl_colorscale s, const char *label, int text_px, dl_err *e);

/* The same as a vertical bar: caption on top (left-aligned, may run wider
 * than the box), gradient with s.hi at the top, tick labels to its right.
 * The bar takes the width the labels leave (DL_EINVAL under 4 pixels) and
 * needs at least 2·text_px pixels of height below the caption. */
dl_status dl_canvas_colorbar_vertical(dl_canvas *c, const dl_font *f, int x, int y, int w,
                                      int h, dl_colorscale s, const char *label, int text_px,
                                      dl_err *e);

/* ---- montages ---------------------------------------------------------- */

/* The near-square grid for n tiles: cols = ceil(sqrt(n)), rows =
 * ceil(n / cols); so 100 → 10×10, 7 → 3×3, 10 → 3 rows × 4 cols, 12 →
 * 3×4, 2 → 1×2.  n <= 0 gives 0×0. */
void dl_grid_shape(int n, int *rows, int *cols);

/* The size of a montage of n tiles of tw×th pixels in cols columns (cols
 * <= 0: dl_grid_shape's choice), with sep-pixel separators between the
 * tiles and around the outside.  DL_ELIMIT when it would exceed the canvas
 * limits, DL_EINVAL for n, tw or th < 1 or sep < 0. */
dl_status dl_montage_size(int n, int cols, int tw, int th, int sep, int *w, int *h,
                          dl_err *e);

/* Draws the tiles row by row into dst with the montage's top-left at (x, y),
 * filling separators (and the empty cells of an unfilled last row) with
 * sep_color.  Tiles must all be the size of tiles[0]; DL_EINVAL otherwise. */
dl_status dl_canvas_montage(dl_canvas *dst, int x, int y, const dl_canvas *const *tiles,
                            int n, int cols, int sep, dl_rgb sep_color, dl_err *e);

/* A new canvas holding the montage of the tiles in a near-square grid. */
dl_canvas *dl_montage_new(const dl_canvas *const *tiles, int n, int sep, dl_rgb sep_color,
                          dl_err *e);

/* A new canvas holding n float maps of mw×mh, stored back to back
 * (maps[i·mw·mh ..]: the rows of a [n x mw·mh] weight matrix work as they
 * are), each drawn at scale through the shared scale cs, in a near-square
 * grid.  One shared scale keeps the tiles comparable. */
dl_canvas *dl_montage_maps(const float *maps, int n, int mw, int mh, int scale, int sep,
                           dl_rgb sep_color, dl_colorscale cs, dl_err *e);

/* ---- bar charts -------------------------------------------------------- */

typedef struct dl_barchart {
    const float *values;       /* n values to draw */
    const char *const *labels; /* n labels, or NULL for "0", "1", ... */
    int n;
    int highlight;             /* index drawn in highlight_color, or -1 */
    int vertical;              /* 0: a row per value, bars grow rightwards;
                                  1: a column per value, bars grow upwards */
    float lo, hi;              /* value axis; lo >= hi: fitted to the data and 0 */
    int show_values;           /* print each value beside its bar (vertical
                                  charts shrink or drop values that would
                                  not fit their columns) */
    int text_px;               /* label height in pixels */
    const char *title;         /* optional caption above the chart */
    dl_rgb bar, highlight_color, text, axis;
    const dl_rgb *colors;      /* n bar colours (signed votes: red for, blue
                                  against), or NULL for bar / highlight_color */
} dl_barchart;

/* Defaults: horizontal, no highlight, fitted axis, values shown, 12 px
 * text, grey-blue bars, an orange highlight, DL_RGB_TEXT text, grey axis. */
dl_barchart dl_barchart_defaults(const float *values, int n);

/* Draws the chart inside the box (x, y, w, h).  Bars start at the zero line
 * (negative values grow the other way), NaN values get no bar.  DL_EINVAL
 * when values is NULL, n < 1 or the box is too small for n bars. */
dl_status dl_canvas_barchart(dl_canvas *c, const dl_font *f, int x, int y, int w, int h,
                             const dl_barchart *bc, dl_err *e);

#endif
