/*
 * viz_embed.h — pictures of 2-D maps of a data set (embed.h makes the
 * maps): panels of points side by side, one dot per point coloured by its
 * class, misclassified points ringed, or small digit thumbnails; a legend;
 * and the sprite sheet TensorFlow's Embedding Projector shows.
 *
 * Drawing happens in two steps so that other writers can share the first:
 * dl_scatter_layout places everything (frames, texts, marks) in pixel
 * coordinates and knows nothing of pixels; dl_scatter_render rasterises a
 * layout onto a canvas; dl_scatter_svg writes the same layout as SVG.
 * Knows nothing of networks or the command line.
 */
#ifndef DIGITLENS_VIZ_EMBED_H
#define DIGITLENS_VIZ_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/canvas.h"
#include "digitlens/colormap.h"
#include "digitlens/err.h"

/* The colour of class k: Tableau 10 (2016; chosen to stay apart under the
 * common colour-vision deficiencies and in print) for k < 10, then hues
 * spaced by the golden angle. */
dl_rgb dl_class_color(int k);

/* One panel: a map of the spec's n points and its captions. */
typedef struct dl_scatter_panel {
    const float *xy;     /* [n x 2], borrowed; NULL leaves the cell empty */
    const char *title;   /* above the frame, e.g. "t-SNE of hidden layer 1 (100 units)" */
    const char *note;    /* a second line (may be NULL), e.g. "trustworthiness 0.99" */
} dl_scatter_panel;

typedef struct dl_scatter_spec {
    size_t n;                       /* points per map */
    const uint8_t *cls;             /* [n] class of each point (colour), < nclasses */
    const uint8_t *wrong;           /* [n] non-zero: ringed (misclassified); may be NULL */
    int nclasses;                   /* 1..256 */
    const char *const *class_names; /* [nclasses] legend labels; NULL: "0", "1", ... */
    const float *glyphs;            /* [n x gh x gw] images in 0..1 (1 = ink) for thumbnails; NULL: dots */
    int gw, gh;
    int rows, cols;                 /* the grid of panels */
    const dl_scatter_panel *panels; /* [rows x cols], row-major */
    const char *title;              /* across the top (may be NULL) */
    int panel_px;                   /* side of each square frame: 120..4000 */
    uint64_t seed;                  /* the drawing order of the points (so no class always lies on top) */
} dl_scatter_spec;

typedef enum dl_mark_kind {
    DL_MARK_DOT,    /* filled disc of radius r */
    DL_MARK_RING,   /* circle of radius r, about 1.5 px wide */
    DL_MARK_GLYPH,  /* point `point`'s image, side 2r, centred, inked in color on white */
    DL_MARK_FRAME   /* a 1-pixel square outline of side 2r */
} dl_mark_kind;

typedef struct dl_scene_mark {
    float x, y, r;
    dl_rgb color;
    uint8_t kind;       /* dl_mark_kind */
    uint8_t alpha;      /* 0..255: opacity of a dot */
    uint32_t point;     /* the data point it stands for */
} dl_scene_mark;

typedef struct dl_scene_text {
    int x, y, px;       /* anchor (top of the line box), line height */
    dl_align align;
    dl_rgb color;
    const char *s;      /* points into the layout's own storage */
} dl_scene_text;

typedef struct dl_scene_rect {
    int x, y, w, h;
    dl_rgb color;
    int filled;         /* 0: a 1-pixel outline */
} dl_scene_rect;

/* Everything placed; one allocation (dl_scatter_layout_free). */
typedef struct dl_scatter_layout {
    int width, height;
    size_t nmarks, ntexts, nrects;
    dl_scene_mark *marks;   /* in drawing order */
    dl_scene_text *texts;
    dl_scene_rect *rects;
    const float *glyphs;    /* borrowed from the spec, for DL_MARK_GLYPH */
    int gw, gh;
} dl_scatter_layout;

/* Places the panels (each map scaled into its frame with equal x and y
 * scales, so distances keep their proportions), their titles, the dots
 * and rings (or, with glyphs, as many non-overlapping thumbnails as fit,
 * over small dots for every point), the title and the legend.  f measures
 * text (NULL: the built-in font). */
dl_scatter_layout *dl_scatter_layout_new(const dl_scatter_spec *s, const dl_font *f, dl_err *e);
void dl_scatter_layout_free(dl_scatter_layout *l);

/* The layout on a new white canvas (antialiased dots and rings). */
dl_canvas *dl_scatter_render(const dl_scatter_layout *l, const dl_font *f, dl_err *e);

/* The same layout as an SVG document (1 unit = 1 pixel of the PNG; text in
 * DejaVu Sans; thumbnails as inlined PNGs): a malloc'd, NUL-terminated
 * string of *len bytes, or NULL (out of memory). */
char *dl_scatter_svg(const dl_scatter_layout *l, size_t *len, dl_err *e);

/* The picture of a data set's map (embed_net.h): a column per space (the
 * pixels, then each hidden layer), a row per method (PCA above t-SNE),
 * each panel captioned with its numbers; dots coloured by the true label,
 * mistakes ringed.  class_names [nclasses] label the legend (NULL: "0",
 * "1", ...); glyphs [n x gh x gw] (may be NULL) draws thumbnails; title
 * may be NULL.  panel_px and seed as in dl_scatter_spec. */
struct dl_embed_map;
dl_scatter_layout *dl_embed_map_layout(const struct dl_embed_map *m, int nclasses, const char *const *class_names,
                                       const float *glyphs, int gw, int gh, const char *title, int panel_px,
                                       uint64_t seed, const dl_font *f, dl_err *e);

/* The Embedding Projector's sprite: n images of w x h (0..1, 1 = ink)
 * drawn dark on white as side x side thumbnails (nearest neighbour),
 * row-major in a square grid of ⌈√n⌉ x ⌈√n⌉ cells (the projector wants a
 * square sprite, at most 8192 pixels a side: dl_sprite_side picks the
 * largest thumbnail up to w that fits). */
int dl_sprite_side(size_t n, int w);
dl_canvas *dl_sprite_new(const float *images, size_t n, int w, int h, int side, dl_err *e);

#endif
