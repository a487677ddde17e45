/*
 * viz_embed_svg.c — a scatter layout (viz_embed.h) as SVG: the same frames,
 * captions and marks the PNG rasteriser draws, as vectors a user can zoom
 * into, restyle or edit.  Coordinates are the layout's pixels (1 SVG unit =
 * 1 pixel of the PNG), so the two pictures match point for point.
 *
 * Text: the canvas places a line of height px with its top at y and sizes
 * the font so that DejaVu Sans's ascent + descent (0.928 + 0.236 em) fill
 * px; the SVG asks for the same font at px / 1.164 with the baseline
 * 0.928 em below the top.  A thumbnail (DL_MARK_GLYPH) is a small PNG
 * inlined as a data: URI, inked in its class colour on white like the
 * PNG's.
 */
#include "digitlens/viz_embed.h"

#include <math.h>
#include <stdlib.h>

#include "digitlens/png.h"

#include "buf.h"
#include "html.h"

static void color(dl_buf *b, const char *attr, dl_rgb c)
{
    dl_buf_appendf(b, " %s=\"#%02x%02x%02x\"", attr, c.r, c.g, c.b);
}

/* The thumbnail of one mark, gw x gh, as a PNG data: URI into b. */
static dl_status glyph_uri(dl_buf *b, const dl_scatter_layout *l, const dl_scene_mark *m, dl_err *e)
{
    dl_canvas *c = dl_canvas_new(l->gw, l->gh, DL_RGB(255, 255, 255), e);
    if (!c) return e ? e->code : DL_ENOMEM;
    const float *img = l->glyphs + (size_t)m->point * (size_t)l->gw * (size_t)l->gh;
    for (int i = 0; i < l->gw * l->gh; i++) {
        float v = img[i] < 0.0f ? 0.0f : img[i] > 1.0f ? 1.0f : img[i];
        unsigned char *p = c->px + 3 * (size_t)i;
        p[0] = (unsigned char)lrintf(255.0f + (m->color.r - 255.0f) * v);
        p[1] = (unsigned char)lrintf(255.0f + (m->color.g - 255.0f) * v);
        p[2] = (unsigned char)lrintf(255.0f + (m->color.b - 255.0f) * v);
    }
    unsigned char *png = NULL;
    size_t len = 0;
    dl_status st = dl_png_encode(c, &png, &len, e);
    dl_canvas_free(c);
    if (st != DL_OK) return st;
    dl_buf_puts(b, "data:image/png;base64,");
    dl_html_base64(b, png, len);
    free(png);
    return DL_OK;
}

char *dl_scatter_svg(const dl_scatter_layout *l, size_t *len, dl_err *e)
{
    dl_buf b = {0};
    dl_buf_appendf(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                   "font-family=\"DejaVu Sans, Verdana, sans-serif\">\n"
                   "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
                   l->width, l->height, l->width, l->height);
    for (size_t i = 0; i < l->nrects; i++) {
        const dl_scene_rect *r = &l->rects[i];
        if (r->filled) {
            dl_buf_appendf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"", r->x, r->y, r->w, r->h);
            color(&b, "fill", r->color);
        } else { /* a 1-pixel outline on the pixel centres, as the canvas draws it */
            dl_buf_appendf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\"", r->x + 0.5,
                           r->y + 0.5, r->w - 1, r->h - 1);
            color(&b, "stroke", r->color);
        }
        dl_buf_puts(&b, "/>\n");
    }
    dl_buf_puts(&b, "<g>\n");
    for (size_t i = 0; i < l->nmarks; i++) {
        const dl_scene_mark *m = &l->marks[i];
        switch ((dl_mark_kind)m->kind) {
        case DL_MARK_DOT:
            dl_buf_appendf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.2f\"", m->x, m->y, m->r);
            color(&b, "fill", m->color);
            if (m->alpha < 255) dl_buf_appendf(&b, " fill-opacity=\"%.2f\"", m->alpha / 255.0);
            dl_buf_puts(&b, "/>\n");
            break;
        case DL_MARK_RING:
            dl_buf_appendf(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.2f\" fill=\"none\" stroke-width=\"1.3\"", m->x,
                           m->y, m->r);
            color(&b, "stroke", m->color);
            if (m->alpha < 255) dl_buf_appendf(&b, " stroke-opacity=\"%.2f\"", m->alpha / 255.0);
            dl_buf_puts(&b, "/>\n");
            break;
        case DL_MARK_FRAME:
            dl_buf_appendf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\"",
                           m->x - m->r + 0.5, m->y - m->r + 0.5, 2 * m->r - 1, 2 * m->r - 1);
            color(&b, "stroke", m->color);
            dl_buf_puts(&b, "/>\n");
            break;
        case DL_MARK_GLYPH:
            if (!l->glyphs) break;
            dl_buf_appendf(&b, "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                               "style=\"image-rendering:pixelated\" href=\"",
                           m->x - m->r, m->y - m->r, 2 * m->r, 2 * m->r);
            if (glyph_uri(&b, l, m, e) != DL_OK) {
                dl_buf_free(&b);
                return NULL;
            }
            dl_buf_puts(&b, "\"/>\n");
            break;
        }
    }
    dl_buf_puts(&b, "</g>\n");
    static const char *const anchor[] = {"start", "middle", "end"};
    for (size_t i = 0; i < l->ntexts; i++) {
        const dl_scene_text *t = &l->texts[i];
        double em = t->px / 1.164;
        dl_buf_appendf(&b, "<text x=\"%d\" y=\"%.1f\" font-size=\"%.2f\" text-anchor=\"%s\"", t->x,
                       t->y + 0.928 * em, em, anchor[t->align <= DL_ALIGN_RIGHT ? t->align : 0]);
        color(&b, "fill", t->color);
        dl_buf_puts(&b, ">");
        dl_html_text(&b, t->s);
        dl_buf_puts(&b, "</text>\n");
    }
    dl_buf_puts(&b, "</svg>\n");
    if (b.oom) {
        dl_buf_free(&b);
        dl_err_set(e, DL_ENOMEM, "out of memory for the SVG picture");
        return NULL;
    }
    return dl_buf_take(&b, len);
}
