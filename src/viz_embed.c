/*
 * viz_embed.c — maps of a data set as pictures (viz_embed.h): the layout
 * (frames, captions, marks in pixel coordinates), its rasterisation, the
 * class palette and the Embedding Projector's sprite.
 *
 * The layout is computed whole before anything is drawn, and sized from
 * the spec alone, so a picture is either made whole or not at all.  Dots
 * and rings are drawn with antialiased coverage (distance from the centre)
 * blended over what is there; the canvas has no circles of its own.
 */
#include "digitlens/viz_embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/embed_net.h"
#include "digitlens/rng.h"

enum { PAD = 16, GAP = 28, TITLE_PX = 18, HEAD_PX = 14, NOTE_PX = 12, LEGEND_PX = 13, LINE = 4 };

static const dl_rgb FRAME = {190, 190, 190};
static const dl_rgb RING = {30, 30, 30};
static const dl_rgb NOTE = {90, 90, 90};

dl_rgb dl_class_color(int k)
{
    /* Tableau 10, the 2016 revision. */
    static const unsigned char T10[10][3] = {
        {78, 121, 167}, {242, 142, 43}, {225, 87, 89},  {118, 183, 178}, {89, 161, 79},
        {237, 201, 72}, {176, 122, 161}, {255, 157, 167}, {156, 117, 95}, {186, 176, 172},
    };
    if (k >= 0 && k < 10) return DL_RGB(T10[k][0], T10[k][1], T10[k][2]);
    /* Beyond ten: hues a golden angle apart, mid lightness and saturation. */
    double h = fmod((double)(k < 0 ? 0 : k) * 137.508, 360.0) / 60.0, s = 0.55, v = 0.80;
    double c = v * s, x = c * (1.0 - fabs(fmod(h, 2.0) - 1.0)), m = v - c, r = 0, g = 0, b = 0;
    switch ((int)h) {
    case 0: r = c; g = x; break;
    case 1: r = x; g = c; break;
    case 2: g = c; b = x; break;
    case 3: g = x; b = c; break;
    case 4: r = x; b = c; break;
    default: r = c; b = x; break;
    }
    return DL_RGB(lround(255 * (r + m)), lround(255 * (g + m)), lround(255 * (b + m)));
}

/* ---- the layout -------------------------------------------------------------- */

typedef struct builder {
    dl_scatter_layout *l;
    char *pool, *pool_end;
    size_t cap_marks, cap_texts, cap_rects;
} builder;

static void add_text(builder *b, int x, int y, int px, dl_align al, dl_rgb col, const char *s)
{
    if (!s || !*s || b->l->ntexts >= b->cap_texts) return;
    size_t len = strlen(s);
    if ((size_t)(b->pool_end - b->pool) < len + 1) return; /* sized in advance: cannot happen */
    memcpy(b->pool, s, len + 1);
    b->l->texts[b->l->ntexts++] = (dl_scene_text){x, y, px, al, col, b->pool};
    b->pool += len + 1;
}

static void add_mark(builder *b, float x, float y, float r, dl_rgb col, dl_mark_kind kind, int alpha, uint32_t point)
{
    if (b->l->nmarks >= b->cap_marks) return;
    b->l->marks[b->l->nmarks++] = (dl_scene_mark){x, y, r, col, (uint8_t)kind, (uint8_t)alpha, point};
}

static void add_rect(builder *b, int x, int y, int w, int h, dl_rgb col, int filled)
{
    if (b->l->nrects >= b->cap_rects) return;
    b->l->rects[b->l->nrects++] = (dl_scene_rect){x, y, w, h, col, filled};
}

static int text_w(const dl_font *f, const char *s, int px) { return s ? dl_canvas_text_width(f, s, px) : 0; }

/* Splits a note into lines no wider than w at its " · " separators (a
 * piece wider than w stays whole); writes them NUL-separated into out
 * (cap bytes, at least strlen(note) + 1) and returns how many. */
static int wrap_note(const dl_font *f, const char *note, int w, char *out, size_t cap)
{
    static const char SEP[] = " · ";
    size_t len = strlen(note), sl = strlen(SEP), o = 0, line = 0;
    int lines = 1;
    if (cap < len + 1) return 0;
    for (size_t i = 0; i < len;) {
        const char *next = strstr(note + i, SEP);
        size_t piece = next ? (size_t)(next - note) - i : len - i, at = o;
        /* Append " · piece" to the line, measure, and move the piece to a
         * line of its own when the line got too wide.  (The output is never
         * longer than the note: a separator becomes one NUL or stays.) */
        if (o > line) {
            memcpy(out + o, SEP, sl);
            o += sl;
        }
        memcpy(out + o, note + i, piece);
        o += piece;
        out[o] = '\0';
        if (at > line && text_w(f, out + line, NOTE_PX) > w) {
            out[at] = '\0';
            line = at + 1;
            memmove(out + line, note + i, piece);
            o = line + piece;
            out[o] = '\0';
            lines++;
        }
        i += piece + (next ? sl : 0);
    }
    out[o] = '\0';
    return lines;
}

/* The legend's items, measured the same way whether placing or sizing. */
typedef struct legend_item {
    char label[48];
    int w;
} legend_item;

static int legend_rows(const dl_scatter_spec *s, const dl_font *f, int width, legend_item *it, size_t nwrong)
{
    int K = s->nclasses, rows = 1, x = 0, dot = LEGEND_PX;
    for (int k = 0; k <= K; k++) {
        if (k < K) {
            if (s->class_names && s->class_names[k])
                snprintf(it[k].label, sizeof it[k].label, "%s", s->class_names[k]);
            else
                snprintf(it[k].label, sizeof it[k].label, "%d", k);
        } else {
            snprintf(it[k].label, sizeof it[k].label, "misclassified (%zu)", nwrong);
        }
        it[k].w = dot + 4 + text_w(f, it[k].label, LEGEND_PX) + 14;
        if (x > 0 && x + it[k].w > width) {
            rows++;
            x = 0;
        }
        x += it[k].w;
    }
    return rows;
}

/* Maps [lo, hi] of both axes into a square of side `inner` at (x0, y0) with
 * one scale, centred; y grows upwards in the map, downwards on the page. */
typedef struct fit {
    double x0, y0, scale, cx, cy, mx, my;
} panel_fit;

static panel_fit fit_points(const float *xy, size_t n, double x0, double y0, double inner)
{
    double lx = INFINITY, hx = -INFINITY, ly = INFINITY, hy = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        lx = fmin(lx, x);
        hx = fmax(hx, x);
        ly = fmin(ly, y);
        hy = fmax(hy, y);
    }
    panel_fit F = {x0, y0, 1.0, x0 + inner / 2, y0 + inner / 2, 0, 0};
    if (!(hx >= lx)) return F;
    double span = fmax(hx - lx, hy - ly);
    F.scale = span > 0 ? inner / span : 1.0;
    F.mx = 0.5 * (lx + hx);
    F.my = 0.5 * (ly + hy);
    return F;
}

dl_scatter_layout *dl_scatter_layout_new(const dl_scatter_spec *s, const dl_font *f, dl_err *e)
{
    if (!s || s->n < 1 || !s->cls || s->nclasses < 1 || s->nclasses > 256 || s->rows < 1 || s->cols < 1 ||
        s->rows * s->cols > 64 || !s->panels || s->panel_px < 120 || s->panel_px > 4000 ||
        (s->glyphs && (s->gw < 1 || s->gh < 1 || s->gw > 256 || s->gh > 256))) {
        dl_err_set(e, DL_EINVAL, "scatter layout: nothing to draw or a bad shape");
        return NULL;
    }
    size_t n = s->n, nwrong = 0;
    for (size_t i = 0; i < n; i++) {
        if (s->cls[i] >= s->nclasses) {
            dl_err_set(e, DL_EINVAL, "scatter layout: class %d of point %zu is not below %d", s->cls[i], i, s->nclasses);
            return NULL;
        }
        nwrong += s->wrong && s->wrong[i];
    }
    int P = s->rows * s->cols, K = s->nclasses, side = s->panel_px;
    int width = PAD + s->cols * side + (s->cols - 1) * GAP + PAD;
    legend_item *items = malloc((size_t)(K + 1) * sizeof(legend_item));
    if (!items) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    int lrows = legend_rows(s, f, width - 2 * PAD, items, nwrong);
    /* A panel's title and its note above the frame, the note wrapped to the
     * frame's width; every panel gets the height of the tallest. */
    int note_lines = 1;
    for (int p = 0; p < P; p++)
        if (s->panels[p].note) {
            char tmp[1024];
            int nl = strlen(s->panels[p].note) < sizeof tmp ? wrap_note(f, s->panels[p].note, side, tmp, sizeof tmp) : 1;
            note_lines = nl > note_lines ? nl : note_lines;
        }
    int head = HEAD_PX + LINE + note_lines * (NOTE_PX + 3) + 5;
    int top = PAD + (s->title ? TITLE_PX + 10 : 0);
    int height = top + s->rows * (head + side) + (s->rows - 1) * GAP + 14 + lrows * (LEGEND_PX + 8) + PAD;
    if ((long long)width * height * 3 > (long long)DL_CANVAS_MAX_BYTES || width > DL_CANVAS_MAX_SIDE ||
        height > DL_CANVAS_MAX_SIDE) {
        free(items);
        dl_err_set(e, DL_ELIMIT, "scatter layout: %d x %d pixels is larger than a picture may be", width, height);
        return NULL;
    }
    /* Counts are bounded in advance: per panel a dot, a glyph, a ring and a
     * frame per point at most; the legend's marks; titles, notes, labels. */
    size_t cap_marks = (size_t)P * (4 * n) + (size_t)K + 2, cap_texts = 1 + (size_t)P * (1 + (size_t)note_lines) + (size_t)K + 1,
           cap_rects = (size_t)P;
    size_t pool = 64 + (s->title ? strlen(s->title) + 1 : 0);
    for (int p = 0; p < P; p++) {
        pool += (s->panels[p].title ? strlen(s->panels[p].title) + 1 : 0);
        pool += (s->panels[p].note ? strlen(s->panels[p].note) + 1 + (size_t)note_lines : 0);
    }
    pool += (size_t)(K + 1) * sizeof items[0].label;
    size_t bytes = sizeof(dl_scatter_layout) + cap_marks * sizeof(dl_scene_mark) + cap_texts * sizeof(dl_scene_text) +
                   cap_rects * sizeof(dl_scene_rect) + pool;
    dl_scatter_layout *l = calloc(1, bytes);
    int *cell = s->glyphs ? malloc((size_t)(side / s->gw + 2) * (size_t)(side / s->gw + 2) * sizeof(int)) : NULL;
    uint32_t *order = malloc(n * sizeof(uint32_t));
    uint8_t *glyphed = s->glyphs ? malloc(n) : NULL;
    if (!l || !order || (s->glyphs && (!cell || !glyphed))) {
        free(l);
        free(cell);
        free(order);
        free(glyphed);
        free(items);
        dl_err_set(e, DL_ENOMEM, "out of memory for a picture of %zu points", n);
        return NULL;
    }
    l->width = width;
    l->height = height;
    l->marks = (dl_scene_mark *)(l + 1);
    l->texts = (dl_scene_text *)(l->marks + cap_marks);
    l->rects = (dl_scene_rect *)(l->texts + cap_texts);
    l->glyphs = s->glyphs;
    l->gw = s->gw;
    l->gh = s->gh;
    builder b = {l, (char *)(l->rects + cap_rects), (char *)l + bytes, cap_marks, cap_texts, cap_rects};

    /* One drawing order for every panel, shuffled so no class is always on top. */
    dl_rng rng;
    dl_rng_seed(&rng, s->seed);
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    dl_rng_shuffle(&rng, order, n);

    if (s->title) add_text(&b, PAD, PAD, TITLE_PX, DL_ALIGN_LEFT, DL_RGB_TEXT, s->title);
    double r = fmin(5.0, fmax(1.5, 0.25 * side / sqrt((double)n)));
    int G = s->glyphs ? s->gw : 0;
    for (int p = 0; p < P; p++) {
        const dl_scatter_panel *pn = &s->panels[p];
        int px = PAD + (p % s->cols) * (side + GAP), py = top + (p / s->cols) * (head + side + GAP);
        if (!pn->xy) continue;
        add_text(&b, px, py, HEAD_PX, DL_ALIGN_LEFT, DL_RGB_TEXT, pn->title);
        if (pn->note) {
            char tmp[1024];
            if (strlen(pn->note) < sizeof tmp) {
                int nl = wrap_note(f, pn->note, side, tmp, sizeof tmp);
                const char *ln = tmp;
                for (int k = 0; k < nl; k++, ln += strlen(ln) + 1)
                    add_text(&b, px, py + HEAD_PX + LINE + k * (NOTE_PX + 3), NOTE_PX, DL_ALIGN_LEFT, NOTE, ln);
            } else {
                add_text(&b, px, py + HEAD_PX + LINE, NOTE_PX, DL_ALIGN_LEFT, NOTE, pn->note);
            }
        }
        int fy = py + head;
        add_rect(&b, px, fy, side, side, FRAME, 0);
        double margin = G ? G / 2.0 + 3 : r + 6;
        panel_fit F = fit_points(pn->xy, n, px + margin, fy + margin, side - 2 * margin);
        size_t first = l->nmarks;
        for (size_t q = 0; q < n; q++) {
            uint32_t i = order[q];
            double x = pn->xy[2 * i], y = pn->xy[2 * i + 1];
            if (!isfinite(x) || !isfinite(y)) continue;
            float sx = (float)(F.cx + (x - F.mx) * F.scale), sy = (float)(F.cy - (y - F.my) * F.scale);
            add_mark(&b, sx, sy, G ? 1.2f : (float)r, dl_class_color(s->cls[i]), DL_MARK_DOT, G ? 150 : 225, i);
        }
        size_t last = l->nmarks;
        if (G) {
            /* As many thumbnails as fit without overlapping, in the drawing
             * order: one per grid cell of the thumbnail's side at most. */
            int gc = side / G + 2;
            for (int c = 0; c < gc * gc; c++) cell[c] = -1;
            memset(glyphed, 0, n);
            for (size_t m = first; m < last; m++) {
                const dl_scene_mark *d = &l->marks[m];
                int cx = (int)((d->x - px) / G), cy = (int)((d->y - fy) / G), clash = 0;
                if (cx < 0 || cy < 0 || cx >= gc || cy >= gc) continue;
                for (int yy = cy - 1; yy <= cy + 1 && !clash; yy++)
                    for (int xx = cx - 1; xx <= cx + 1 && !clash; xx++) {
                        if (xx < 0 || yy < 0 || xx >= gc || yy >= gc || cell[yy * gc + xx] < 0) continue;
                        const dl_scene_mark *o = &l->marks[cell[yy * gc + xx]];
                        clash = fabsf(o->x - d->x) < G && fabsf(o->y - d->y) < G;
                    }
                if (clash) continue;
                cell[cy * gc + cx] = (int)l->nmarks;
                glyphed[d->point] = 1;
                add_mark(&b, d->x, d->y, G / 2.0f, dl_rgb_lerp(d->color, DL_RGB(0, 0, 0), 0.25f), DL_MARK_GLYPH, 255,
                         d->point);
            }
        }
        /* Rings last, so every mistake shows above the crowd; a thumbnail
         * of a mistake gets a frame instead. */
        if (s->wrong) {
            size_t end = l->nmarks;
            for (size_t m = first; m < end; m++) {
                const dl_scene_mark *d = &l->marks[m];
                if (!s->wrong[d->point] || (d->kind == DL_MARK_DOT && glyphed && glyphed[d->point])) continue;
                if (d->kind == DL_MARK_GLYPH)
                    add_mark(&b, d->x, d->y, d->r + 1.0f, RING, DL_MARK_FRAME, 255, d->point);
                else
                    add_mark(&b, d->x, d->y, d->r + 2.0f, RING, DL_MARK_RING, 220, d->point);
            }
        }
    }
    /* The legend: a dot and a label per class, then the ring. */
    int lx = PAD, ly = height - PAD - lrows * (LEGEND_PX + 8) + 4;
    for (int k = 0; k <= K; k++) {
        if (k == K && !s->wrong) break;
        if (lx > PAD && lx + items[k].w > width - PAD) {
            lx = PAD;
            ly += LEGEND_PX + 8;
        }
        float cx = lx + LEGEND_PX / 2.0f, cy = ly + LEGEND_PX / 2.0f + 1;
        if (k < K)
            add_mark(&b, cx, cy, LEGEND_PX / 2.0f - 1, dl_class_color(k), DL_MARK_DOT, 255, 0);
        else
            add_mark(&b, cx, cy, LEGEND_PX / 2.0f - 2, RING, DL_MARK_RING, 255, 0);
        add_text(&b, lx + LEGEND_PX + 4, ly, LEGEND_PX, DL_ALIGN_LEFT, DL_RGB_TEXT, items[k].label);
        lx += items[k].w;
    }
    free(glyphed);
    free(cell);
    free(order);
    free(items);
    return l;
}

void dl_scatter_layout_free(dl_scatter_layout *l) { free(l); }

/* ---- rasterising -------------------------------------------------------------- */

static void blend(dl_canvas *c, int x, int y, dl_rgb col, float a)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || a <= 0.0f) return;
    unsigned char *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    if (a > 1.0f) a = 1.0f;
    p[0] = (unsigned char)lrintf(p[0] + (col.r - p[0]) * a);
    p[1] = (unsigned char)lrintf(p[1] + (col.g - p[1]) * a);
    p[2] = (unsigned char)lrintf(p[2] + (col.b - p[2]) * a);
}

/* A disc (ring == 0) or a ring of width `ring` centred at (x, y): coverage
 * from each pixel centre's distance to the edge, one pixel of falloff. */
static void draw_circle(dl_canvas *c, float x, float y, float r, float ring, dl_rgb col, float alpha)
{
    float ext = r + ring + 1.0f;
    int x0 = (int)floorf(x - ext), x1 = (int)ceilf(x + ext), y0 = (int)floorf(y - ext), y1 = (int)ceilf(y + ext);
    for (int py = y0; py <= y1; py++)
        for (int px = x0; px <= x1; px++) {
            float dx = px + 0.5f - x, dy = py + 0.5f - y, d = sqrtf(dx * dx + dy * dy), cov;
            if (ring > 0.0f)
                cov = 0.5f * ring + 0.5f - fabsf(d - r);
            else
                cov = r + 0.5f - d;
            if (cov > 0.0f) blend(c, px, py, col, (cov > 1.0f ? 1.0f : cov) * alpha);
        }
}

/* Image `point`, inked in col over what is there, side x side centred. */
static void draw_glyph(dl_canvas *c, const dl_scatter_layout *l, const dl_scene_mark *m)
{
    int side = (int)lrintf(2.0f * m->r), x0 = (int)lrintf(m->x - m->r), y0 = (int)lrintf(m->y - m->r);
    const float *img = l->glyphs + (size_t)m->point * (size_t)l->gw * (size_t)l->gh;
    /* A white backing so the thumbnail reads over the dots beneath. */
    dl_canvas_fill_rect(c, x0, y0, side, side, DL_RGB(255, 255, 255));
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            float v = img[(size_t)(y * l->gh / side) * (size_t)l->gw + (size_t)(x * l->gw / side)];
            if (v > 0.0f) blend(c, x0 + x, y0 + y, m->color, v);
        }
}

dl_canvas *dl_scatter_render(const dl_scatter_layout *l, const dl_font *f, dl_err *e)
{
    dl_canvas *c = dl_canvas_new(l->width, l->height, DL_RGB(255, 255, 255), e);
    if (!c) return NULL;
    for (size_t i = 0; i < l->nrects; i++) {
        const dl_scene_rect *r = &l->rects[i];
        if (r->filled)
            dl_canvas_fill_rect(c, r->x, r->y, r->w, r->h, r->color);
        else
            dl_canvas_rect_outline(c, r->x, r->y, r->w, r->h, 1, r->color);
    }
    for (size_t i = 0; i < l->nmarks; i++) {
        const dl_scene_mark *m = &l->marks[i];
        if (m->kind == DL_MARK_DOT)
            draw_circle(c, m->x, m->y, m->r, 0.0f, m->color, m->alpha / 255.0f);
        else if (m->kind == DL_MARK_RING)
            draw_circle(c, m->x, m->y, m->r, 1.3f, m->color, m->alpha / 255.0f);
        else if (m->kind == DL_MARK_FRAME)
            dl_canvas_rect_outline(c, (int)lrintf(m->x - m->r), (int)lrintf(m->y - m->r), (int)lrintf(2 * m->r),
                                   (int)lrintf(2 * m->r), 1, m->color);
        else if (l->glyphs)
            draw_glyph(c, l, m);
    }
    for (size_t i = 0; i < l->ntexts; i++) {
        const dl_scene_text *t = &l->texts[i];
        dl_status st = dl_canvas_text_aligned(c, f, t->x, t->y, t->s, t->px, t->color, t->align);
        if (st != DL_OK) {
            dl_err_set(e, st, "out of memory while writing text");
            dl_canvas_free(c);
            return NULL;
        }
    }
    return c;
}

/* ---- the picture of a data set's map ------------------------------------------- */

dl_scatter_layout *dl_embed_map_layout(const dl_embed_map *r, int nclasses, const char *const *class_names,
                                       const float *glyphs, int gw, int gh, const char *title, int panel_px,
                                       uint64_t seed, const dl_font *f, dl_err *e)
{
    int rows = (r->pca != 0) + (r->tsne != 0), cols = r->nspaces, P = rows * cols;
    if (P < 1 || P > 16) {
        dl_err_set(e, DL_EINVAL, "embed picture: %d panels (1..16)", P);
        return NULL;
    }
    dl_scatter_panel panels[16];
    char titles[16][96], notes[16][160];
    uint8_t *wrong = malloc(r->n ? r->n : 1);
    if (!wrong) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) wrong[i] = r->pred[i] != r->labels[i];
    for (int p = 0; p < P; p++) {
        const dl_embed_space *sp = &r->sp[p % cols];
        int tsne = r->tsne && (!r->pca || p >= cols);
        snprintf(titles[p], sizeof titles[p], "%s · %s", tsne ? "t-SNE" : "PCA", sp->label);
        if (tsne)
            snprintf(notes[p], sizeof notes[p], "1-NN %.1f%% · class mean %.1f%% · trustworthiness %.3f · KL %.2f",
                     100 * sp->nn_accuracy, 100 * sp->mean_accuracy, sp->tsne_trust, sp->kl);
        else
            snprintf(notes[p], sizeof notes[p], "1-NN %.1f%% · class mean %.1f%% · trustworthiness %.3f · PC1+2 %.1f%%",
                     100 * sp->nn_accuracy, 100 * sp->mean_accuracy, sp->pca_trust, 100 * (sp->var[0] + sp->var[1]));
        panels[p] = (dl_scatter_panel){tsne ? sp->tsne : sp->pca, titles[p], notes[p]};
    }
    dl_scatter_spec s = {r->n, r->labels, wrong, nclasses, class_names, glyphs, gw, gh, rows, cols, panels, title,
                         panel_px, seed};
    dl_scatter_layout *l = dl_scatter_layout_new(&s, f, e);
    free(wrong);
    return l;
}

/* ---- the sprite ------------------------------------------------------------------ */

int dl_sprite_side(size_t n, int w)
{
    size_t cols = (size_t)ceil(sqrt((double)(n ? n : 1)));
    size_t fit = 8192 / cols;
    return fit < 1 ? 0 : fit < (size_t)w ? (int)fit : w;
}

dl_canvas *dl_sprite_new(const float *images, size_t n, int w, int h, int side, dl_err *e)
{
    if (!images || n < 1 || w < 1 || h < 1 || side < 1) {
        dl_err_set(e, DL_EINVAL, "sprite: no images");
        return NULL;
    }
    size_t cols = (size_t)ceil(sqrt((double)n));
    while (cols * cols < n) cols++;
    if (cols * (size_t)side > DL_CANVAS_MAX_SIDE) {
        dl_err_set(e, DL_ELIMIT, "sprite: %zu images of %d pixels do not fit in one picture", n, side);
        return NULL;
    }
    int W = (int)(cols * (size_t)side);
    dl_canvas *c = dl_canvas_new(W, W, DL_RGB(255, 255, 255), e);
    if (!c) return NULL;
    for (size_t i = 0; i < n; i++) {
        const float *img = images + i * (size_t)w * (size_t)h;
        int x0 = (int)(i % cols) * side, y0 = (int)(i / cols) * side;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                float v = img[(size_t)(y * h / side) * (size_t)w + (size_t)(x * w / side)];
                v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
                dl_canvas_put(c, x0 + x, y0 + y, dl_cmap_ink(v));
            }
    }
    return c;
}
