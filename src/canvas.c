/*
 * canvas.c — the RGB raster, its clipped primitives, colour bars,
 * montages and bar charts (see canvas.h; text is canvas_text.c's).
 *
 * Every primitive reduces to "intersect a rectangle with the canvas, then
 * loop", with the intersection done in 64-bit arithmetic so that callers
 * may pass any int coordinates without overflow.
 */
#include "digitlens/canvas.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas_clip.h"


/* ---- the canvas -------------------------------------------------------- */

dl_canvas *dl_canvas_new(int w, int h, dl_rgb bg, dl_err *e)
{
    if (w < 1 || h < 1) {
        dl_err_set(e, DL_EINVAL, "canvas: size %d×%d is empty (width and height must be at least 1)",
                   w, h);
        return NULL;
    }
    if (w > DL_CANVAS_MAX_SIDE || h > DL_CANVAS_MAX_SIDE ||
        (size_t)w * (size_t)h * 3 > DL_CANVAS_MAX_BYTES) {
        dl_err_set(e, DL_ELIMIT,
                   "canvas: size %d×%d is too large (at most %d pixels a side and %zu MiB)", w, h,
                   DL_CANVAS_MAX_SIDE, DL_CANVAS_MAX_BYTES >> 20);
        return NULL;
    }
    /* One block: the struct, then the pixels, so one free releases both. */
    size_t bytes = (size_t)w * (size_t)h * 3;
    dl_canvas *c = malloc(sizeof *c + bytes);
    if (!c) {
        dl_err_set(e, DL_ENOMEM, "canvas: out of memory for %d×%d pixels", w, h);
        return NULL;
    }
    c->w = w;
    c->h = h;
    c->px = (unsigned char *)(c + 1);
    dl_canvas_clear(c, bg);
    return c;
}

void dl_canvas_free(dl_canvas *c) { free(c); }

static void fill_span(unsigned char *p, int n, dl_rgb col)
{
    for (int i = 0; i < n; i++) {
        p[3 * i] = col.r;
        p[3 * i + 1] = col.g;
        p[3 * i + 2] = col.b;
    }
}

void dl_canvas_clear(dl_canvas *c, dl_rgb color)
{
    fill_span(c->px, c->w, color);
    for (int y = 1; y < c->h; y++) memcpy(dl_pix(c, 0, y), c->px, (size_t)c->w * 3);
}

dl_rgb dl_canvas_get(const dl_canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return DL_RGB(0, 0, 0);
    const unsigned char *p = dl_pix(c, x, y);
    return DL_RGB(p[0], p[1], p[2]);
}

void dl_canvas_put(dl_canvas *c, int x, int y, dl_rgb color)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    unsigned char *p = dl_pix(c, x, y);
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
}

void dl_canvas_fill_rect(dl_canvas *c, int x, int y, int w, int h, dl_rgb color)
{
    int xa, ya, xb, yb;
    if (!dl_clip_rect(c, x, y, w, h, &xa, &ya, &xb, &yb)) return;
    for (int yy = ya; yy < yb; yy++) fill_span(dl_pix(c, xa, yy), xb - xa, color);
}

void dl_canvas_hline(dl_canvas *c, int x, int y, int len, dl_rgb color)
{
    dl_canvas_fill_rect(c, x, y, len, 1, color);
}

void dl_canvas_vline(dl_canvas *c, int x, int y, int len, dl_rgb color)
{
    dl_canvas_fill_rect(c, x, y, 1, len, color);
}

void dl_canvas_line(dl_canvas *c, int x0, int y0, int x1, int y1, dl_rgb color)
{
    long long dx = x1 > x0 ? (long long)x1 - x0 : (long long)x0 - x1;
    long long dy = y1 > y0 ? (long long)y0 - y1 : (long long)y1 - y0; /* -|dy| */
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    long long err = dx + dy;
    for (;;) {
        dl_canvas_put(c, x0, y0, color);
        if (x0 == x1 && y0 == y1) break;
        long long e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

void dl_canvas_rect_outline(dl_canvas *c, int x, int y, int w, int h, int thickness,
                            dl_rgb color)
{
    if (w <= 0 || h <= 0 || thickness <= 0) return;
    int t = thickness;
    if (2 * (long long)t >= w || 2 * (long long)t >= h) {
        dl_canvas_fill_rect(c, x, y, w, h, color); /* the border covers it all */
        return;
    }
    dl_canvas_fill_rect(c, x, y, w, t, color);
    dl_canvas_fill_rect(c, x, (int)((long long)y + h - t), w, t, color);
    dl_canvas_fill_rect(c, x, y + t, t, h - 2 * t, color);
    dl_canvas_fill_rect(c, (int)((long long)x + w - t), y + t, t, h - 2 * t, color);
}

void dl_canvas_blit(dl_canvas *dst, int x, int y, const dl_canvas *src)
{
    dl_canvas_blit_scaled(dst, x, y, src, 1);
}

void dl_canvas_blit_scaled(dl_canvas *dst, int x, int y, const dl_canvas *src, int scale)
{
    if (!src || scale < 1) return;
    int xa, ya, xb, yb;
    if (!dl_clip_rect(dst, x, y, (long long)src->w * scale, (long long)src->h * scale, &xa, &ya,
                   &xb, &yb))
        return;
    for (int yy = ya; yy < yb; yy++) {
        int sy = (int)(((long long)yy - y) / scale);
        unsigned char *d = dl_pix(dst, xa, yy);
        if (scale == 1) {
            memcpy(d, dl_pix(src, (int)((long long)xa - x), sy), (size_t)(xb - xa) * 3);
            continue;
        }
        for (int xx = xa; xx < xb; xx++, d += 3) {
            const unsigned char *s = dl_pix(src, (int)(((long long)xx - x) / scale), sy);
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
}

void dl_canvas_draw_map(dl_canvas *c, int x, int y, const float *map, int mw, int mh,
                        int scale, dl_colorscale cs)
{
    if (!map || mw < 1 || mh < 1 || scale < 1) return;
    int xa, ya, xb, yb;
    if (!dl_clip_rect(c, x, y, (long long)mw * scale, (long long)mh * scale, &xa, &ya, &xb, &yb))
        return;
    /* Walk the visible source cells and fill each one's clipped block, so
     * each colour is computed once however large the scale. */
    int ca = (int)(((long long)xa - x) / scale), cb = (int)(((long long)xb - 1 - x) / scale);
    int ra = (int)(((long long)ya - y) / scale), rb = (int)(((long long)yb - 1 - y) / scale);
    for (int r = ra; r <= rb; r++) {
        for (int k = ca; k <= cb; k++) {
            dl_rgb col = dl_scale_color(cs, map[(size_t)r * (size_t)mw + (size_t)k]);
            dl_canvas_fill_rect(c, (int)((long long)x + (long long)k * scale),
                                (int)((long long)y + (long long)r * scale), scale, scale, col);
        }
    }
}

/* ---- legends ----------------------------------------------------------- */

#define FRAME_RGB DL_RGB(120, 120, 120)
#define TICK_LEN 4

static long long span_pos(double v, double lo, double hi, long long a, long long b)
{
    /* Where v falls on the pixel span a..b for the range lo..hi. */
    if (!(hi != lo)) return a;
    double t = (v - lo) / (hi - lo);
    if (!(t > 0.0)) t = 0.0;
    if (t > 1.0) t = 1.0;
    return a + llround(t * (double)(b - a));
}

dl_status dl_canvas_colorbar(dl_canvas *c, const dl_font *f, int x, int y, int w, int h,
                             dl_colorscale s, const char *label, int text_px, dl_err *e)
{
    int has_cap = label && *label;
    if (text_px < 1 || text_px > DL_CANVAS_TEXT_MAX_PX)
        return dl_err_set(e, DL_EINVAL, "colour bar: text size %d px is out of range (1..%d)",
                          text_px, DL_CANVAS_TEXT_MAX_PX);
    long long cap_h = has_cap ? text_px + 4 : 0;
    long long bar_h = (long long)h - cap_h - (TICK_LEN + 1) - text_px;
    if (w < 8 || bar_h < 4)
        return dl_err_set(e, DL_EINVAL,
                          "colour bar: box %d×%d is too small (needs at least 8×%lld for %d px text)",
                          w, h, (long long)h - bar_h + 4, text_px);
    long long bar_y = (long long)y + cap_h;
    if (has_cap) dl_canvas_text_aligned(c, f, (int)((long long)x + w / 2), y, label, text_px,
                                        DL_RGB_TEXT, DL_ALIGN_CENTER);

    /* Gradient inside a 1-pixel frame; each column shows the value at its
     * centre, so both ends sit half a column inside lo and hi. */
    int inner = w - 2;
    for (int i = 0; i < inner; i++) {
        double v = (double)s.lo + ((double)s.hi - (double)s.lo) * ((double)i + 0.5) / inner;
        dl_canvas_vline(c, (int)((long long)x + 1 + i), (int)(bar_y + 1), (int)(bar_h - 2),
                        dl_scale_color(s, (float)v));
    }
    dl_canvas_rect_outline(c, x, (int)bar_y, w, (int)bar_h, 1, FRAME_RGB);

    long long tick_y = bar_y + bar_h, text_y = tick_y + TICK_LEN + 1;
    long long xl = x, xr = (long long)x + w - 1;
    char lo_s[48], hi_s[48], zero_s[8] = "0";
    dl_format_number(lo_s, sizeof lo_s, s.lo);
    dl_format_number(hi_s, sizeof hi_s, s.hi);
    int lw = dl_canvas_text_width(f, lo_s, text_px), hw = dl_canvas_text_width(f, hi_s, text_px);
    dl_canvas_vline(c, (int)xl, (int)tick_y, TICK_LEN, FRAME_RGB);
    dl_canvas_vline(c, (int)xr, (int)tick_y, TICK_LEN, FRAME_RGB);
    dl_canvas_text(c, f, (int)xl, (int)text_y, lo_s, text_px, DL_RGB_TEXT);
    dl_canvas_text_aligned(c, f, (int)(xr + 1), (int)text_y, hi_s, text_px, DL_RGB_TEXT,
                           DL_ALIGN_RIGHT);
    if (s.lo < 0.0f && s.hi > 0.0f) {
        long long zx = span_pos(0.0, s.lo, s.hi, xl, xr);
        int zw = dl_canvas_text_width(f, zero_s, text_px), gap = text_px / 2;
        dl_canvas_vline(c, (int)zx, (int)tick_y, TICK_LEN, FRAME_RGB);
        if (zx - zw / 2 - gap > xl + lw && zx + zw / 2 + gap < xr - hw)
            dl_canvas_text_aligned(c, f, (int)zx, (int)text_y, zero_s, text_px, DL_RGB_TEXT,
                                   DL_ALIGN_CENTER);
    }
    return DL_OK;
}

dl_status dl_canvas_colorbar_vertical(dl_canvas *c, const dl_font *f, int x, int y, int w,
                                      int h, dl_colorscale s, const char *label, int text_px,
                                      dl_err *e)
{
    int has_cap = label && *label;
    if (text_px < 1 || text_px > DL_CANVAS_TEXT_MAX_PX)
        return dl_err_set(e, DL_EINVAL, "colour bar: text size %d px is out of range (1..%d)",
                          text_px, DL_CANVAS_TEXT_MAX_PX);
    char lo_s[48], hi_s[48], zero_s[8] = "0";
    dl_format_number(lo_s, sizeof lo_s, s.lo);
    dl_format_number(hi_s, sizeof hi_s, s.hi);
    int lw = dl_canvas_text_width(f, lo_s, text_px), hw = dl_canvas_text_width(f, hi_s, text_px);
    int tw = lw > hw ? lw : hw;
    long long cap_h = has_cap ? text_px + 4 : 0;
    long long bar_w = (long long)w - tw - TICK_LEN - 3;
    long long bar_h = (long long)h - cap_h;
    if (bar_w < 4 || bar_h < 2LL * text_px)
        return dl_err_set(e, DL_EINVAL,
                          "colour bar: box %d×%d is too small for its labels (make it wider or "
                          "taller, or use smaller text)",
                          w, h);
    if (has_cap) dl_canvas_text(c, f, x, y, label, text_px, DL_RGB_TEXT);
    long long bar_y = (long long)y + cap_h;
    int inner = (int)bar_h - 2;
    for (int i = 0; i < inner; i++) {
        /* Row 0 is the top, which shows hi. */
        double v = (double)s.hi + ((double)s.lo - (double)s.hi) * ((double)i + 0.5) / inner;
        dl_canvas_hline(c, x + 1, (int)(bar_y + 1 + i), (int)bar_w - 2,
                        dl_scale_color(s, (float)v));
    }
    dl_canvas_rect_outline(c, x, (int)bar_y, (int)bar_w, (int)bar_h, 1, FRAME_RGB);

    long long tick_x = (long long)x + bar_w, text_x = tick_x + TICK_LEN + 2;
    long long yt = bar_y, yb = bar_y + bar_h - 1;
    dl_canvas_hline(c, (int)tick_x, (int)yt, TICK_LEN, FRAME_RGB);
    dl_canvas_hline(c, (int)tick_x, (int)yb, TICK_LEN, FRAME_RGB);
    /* End labels sit inside the bar's height so the box bounds everything. */
    dl_canvas_text(c, f, (int)text_x, (int)yt, hi_s, text_px, DL_RGB_TEXT);
    dl_canvas_text(c, f, (int)text_x, (int)(yb + 1 - text_px), lo_s, text_px, DL_RGB_TEXT);
    if (s.lo < 0.0f && s.hi > 0.0f) {
        long long zy = span_pos(0.0, s.hi, s.lo, yt, yb);
        dl_canvas_hline(c, (int)tick_x, (int)zy, TICK_LEN, FRAME_RGB);
        long long top = zy - text_px / 2;
        if (top > yt + text_px && top + text_px < yb + 1 - text_px)
            dl_canvas_text(c, f, (int)text_x, (int)top, zero_s, text_px, DL_RGB_TEXT);
    }
    return DL_OK;
}

/* ---- montages ---------------------------------------------------------- */

void dl_grid_shape(int n, int *rows, int *cols)
{
    if (n <= 0) {
        *rows = *cols = 0;
        return;
    }
    int k = (int)sqrt((double)n);
    while ((long long)k * k < n) k++; /* exact ceil(sqrt(n)) despite rounding */
    while (k > 1 && (long long)(k - 1) * (k - 1) >= n) k--;
    *cols = k;
    *rows = (n + k - 1) / k;
}

static void grid_dims(int n, int cols, int *rows, int *cols_out)
{
    if (cols <= 0) {
        dl_grid_shape(n, rows, cols_out);
        return;
    }
    if (cols > n) cols = n;
    *cols_out = cols;
    *rows = (n + cols - 1) / cols;
}

dl_status dl_montage_size(int n, int cols, int tw, int th, int sep, int *w, int *h, dl_err *e)
{
    if (n < 1 || tw < 1 || th < 1 || sep < 0)
        return dl_err_set(e, DL_EINVAL,
                          "montage: %d tiles of %d×%d with %d px separators is impossible "
                          "(need at least one tile of at least 1×1)",
                          n, tw, th, sep);
    int rows, nc;
    grid_dims(n, cols, &rows, &nc);
    long long W = (long long)nc * tw + (long long)(nc + 1) * sep;
    long long H = (long long)rows * th + (long long)(rows + 1) * sep;
    if (W > DL_CANVAS_MAX_SIDE || H > DL_CANVAS_MAX_SIDE ||
        (unsigned long long)W * (unsigned long long)H * 3 > DL_CANVAS_MAX_BYTES)
        return dl_err_set(e, DL_ELIMIT,
                          "montage: %d tiles of %d×%d would make a %lld×%lld picture (too large; "
                          "use fewer or smaller tiles)",
                          n, tw, th, W, H);
    *w = (int)W;
    *h = (int)H;
    return DL_OK;
}

dl_status dl_canvas_montage(dl_canvas *dst, int x, int y, const dl_canvas *const *tiles,
                            int n, int cols, int sep, dl_rgb sep_color, dl_err *e)
{
    if (!tiles || n < 1 || !tiles[0])
        return dl_err_set(e, DL_EINVAL, "montage: no tiles given (pass at least one)");
    int tw = tiles[0]->w, th = tiles[0]->h;
    for (int i = 1; i < n; i++)
        if (!tiles[i] || tiles[i]->w != tw || tiles[i]->h != th)
            return dl_err_set(e, DL_EINVAL,
                              "montage: tile %d is not %d×%d like tile 0 (tiles must match)", i,
                              tw, th);
    int W = 0, H = 0, rows, nc;
    dl_status st = dl_montage_size(n, cols, tw, th, sep, &W, &H, e);
    if (st != DL_OK) return st;
    grid_dims(n, cols, &rows, &nc);
    dl_canvas_fill_rect(dst, x, y, W, H, sep_color);
    for (int i = 0; i < n; i++) {
        long long tx = x + (long long)sep + (long long)(i % nc) * (tw + sep);
        long long ty = y + (long long)sep + (long long)(i / nc) * (th + sep);
        if (tx >= dst->w || ty >= dst->h || tx + tw <= 0 || ty + th <= 0) continue;
        dl_canvas_blit(dst, (int)tx, (int)ty, tiles[i]);
    }
    return DL_OK;
}

dl_canvas *dl_montage_new(const dl_canvas *const *tiles, int n, int sep, dl_rgb sep_color,
                          dl_err *e)
{
    if (!tiles || n < 1 || !tiles[0]) {
        dl_err_set(e, DL_EINVAL, "montage: no tiles given (pass at least one)");
        return NULL;
    }
    int W = 0, H = 0;
    if (dl_montage_size(n, 0, tiles[0]->w, tiles[0]->h, sep, &W, &H, e) != DL_OK) return NULL;
    dl_canvas *c = dl_canvas_new(W, H, sep_color, e);
    if (!c) return NULL;
    if (dl_canvas_montage(c, 0, 0, tiles, n, 0, sep, sep_color, e) != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}

dl_canvas *dl_montage_maps(const float *maps, int n, int mw, int mh, int scale, int sep,
                           dl_rgb sep_color, dl_colorscale cs, dl_err *e)
{
    if (!maps || mw < 1 || mh < 1 || scale < 1) {
        dl_err_set(e, DL_EINVAL, "montage: maps of %d×%d at scale %d are impossible "
                   "(sizes and scale must be at least 1)", mw, mh, scale);
        return NULL;
    }
    if ((long long)mw * scale > DL_CANVAS_MAX_SIDE || (long long)mh * scale > DL_CANVAS_MAX_SIDE) {
        dl_err_set(e, DL_ELIMIT, "montage: maps of %d×%d at scale %d are too large (at most %d "
                   "pixels a side)", mw, mh, scale, DL_CANVAS_MAX_SIDE);
        return NULL;
    }
    int tw = mw * scale, th = mh * scale, W = 0, H = 0, rows, cols;
    if (dl_montage_size(n, 0, tw, th, sep, &W, &H, e) != DL_OK) return NULL;
    dl_canvas *c = dl_canvas_new(W, H, sep_color, e);
    if (!c) return NULL;
    dl_grid_shape(n, &rows, &cols);
    size_t cell = (size_t)mw * (size_t)mh;
    for (int i = 0; i < n; i++)
        dl_canvas_draw_map(c, sep + (i % cols) * (tw + sep), sep + (i / cols) * (th + sep),
                           maps + (size_t)i * cell, mw, mh, scale, cs);
    return c;
}

/* ---- bar charts -------------------------------------------------------- */

dl_barchart dl_barchart_defaults(const float *values, int n)
{
    dl_barchart b;
    memset(&b, 0, sizeof b);
    b.values = values;
    b.n = n;
    b.highlight = -1;
    b.show_values = 1;
    b.text_px = 12;
    b.bar = DL_RGB(126, 150, 184);
    b.highlight_color = DL_RGB(230, 115, 20);
    b.text = DL_RGB_TEXT;
    b.axis = DL_RGB(100, 100, 100);
    return b;
}

static void bar_label(const dl_barchart *bc, int i, char *buf, size_t n)
{
    if (bc->labels && bc->labels[i])
        snprintf(buf, n, "%s", bc->labels[i]);
    else
        snprintf(buf, n, "%d", i);
}

dl_status dl_canvas_barchart(dl_canvas *c, const dl_font *f, int x, int y, int w, int h,
                             const dl_barchart *bc, dl_err *e)
{
    if (!bc || !bc->values || bc->n < 1)
        return dl_err_set(e, DL_EINVAL, "bar chart: no values given (pass at least one)");
    if (bc->text_px < 1 || bc->text_px > DL_CANVAS_TEXT_MAX_PX)
        return dl_err_set(e, DL_EINVAL, "bar chart: text size %d px is out of range (1..%d)",
                          bc->text_px, DL_CANVAS_TEXT_MAX_PX);
    int n = bc->n, tp = bc->text_px;
    double lo = bc->lo, hi = bc->hi;
    if (!(lo < hi)) {
        /* Fit the data, always including 0 so bar lengths mean something. */
        lo = 0.0;
        hi = 0.0;
        for (int i = 0; i < n; i++) {
            double v = bc->values[i];
            if (!isfinite(v)) continue;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (!(lo < hi)) hi = lo + 1.0;
    }
    long long title_h = bc->title && *bc->title ? tp + 6 : 0;
    if (title_h) dl_canvas_text(c, f, x, y, bc->title, tp, bc->text);
    long long top = (long long)y + title_h, avail_h = (long long)h - title_h;
    char lab[128], val[48];

    if (!bc->vertical) {
        long long row_h = avail_h / n;
        int tpe = row_h < tp ? (int)row_h : tp; /* text never taller than its row */
        if (row_h < 2 || tpe < 1)
            return dl_err_set(e, DL_EINVAL,
                              "bar chart: box %d×%d is too small for %d bars (make it taller)", w,
                              h, n);
        int lab_w = 0, val_w = 0;
        for (int i = 0; i < n; i++) {
            bar_label(bc, i, lab, sizeof lab);
            int tw = dl_canvas_text_width(f, lab, tpe);
            if (tw > lab_w) lab_w = tw;
            if (bc->show_values) {
                dl_format_number(val, sizeof val, bc->values[i]);
                tw = dl_canvas_text_width(f, val, tpe);
                if (tw > val_w) val_w = tw;
            }
        }
        long long gap = tpe / 2 + 2;
        long long bx = (long long)x + lab_w + gap;
        long long bw = (long long)w - lab_w - gap - (bc->show_values ? val_w + gap : 0);
        if (bw < 8)
            return dl_err_set(e, DL_EINVAL,
                              "bar chart: box %d×%d is too narrow for its labels (make it wider)",
                              w, h);
        long long zx = span_pos(0.0, lo, hi, bx, bx + bw - 1);
        long long thick = row_h * 7 / 10 > 0 ? row_h * 7 / 10 : 1;
        for (int i = 0; i < n; i++) {
            long long ry = top + (long long)i * row_h;
            dl_rgb col = i == bc->highlight ? bc->highlight_color : bc->colors ? bc->colors[i] : bc->bar;
            double v = bc->values[i];
            if (!isnan(v)) {
                long long vx = span_pos(v, lo, hi, bx, bx + bw - 1);
                long long xa = vx < zx ? vx : zx, xb = vx < zx ? zx : vx;
                dl_canvas_fill_rect(c, (int)xa, (int)(ry + (row_h - thick) / 2),
                                    (int)(xb - xa + 1), (int)thick, col);
            }
            long long ty = ry + (row_h - tpe) / 2;
            bar_label(bc, i, lab, sizeof lab);
            dl_canvas_text_aligned(c, f, (int)(bx - gap), (int)ty, lab, tpe,
                                   i == bc->highlight ? bc->highlight_color : bc->text,
                                   DL_ALIGN_RIGHT);
            if (bc->show_values) {
                dl_format_number(val, sizeof val, v);
                dl_canvas_text_aligned(c, f, (int)((long long)x + w), (int)ty, val, tpe,
                                       bc->text, DL_ALIGN_RIGHT);
            }
        }
        dl_canvas_vline(c, (int)zx, (int)top, (int)(row_h * n), bc->axis);
        return DL_OK;
    }

    long long col_w = (long long)w / n;
    long long val_h = bc->show_values ? tp + 4 : 0, lab_h = tp + 4;
    long long py = top + val_h, ph = avail_h - val_h - lab_h;
    if (col_w < 3 || ph < 8)
        return dl_err_set(e, DL_EINVAL, "bar chart: box %d×%d is too small for %d bars (make it "
                          "larger or use smaller text)", w, h, n);
    long long zy = span_pos(0.0, hi, lo, py, py + ph - 1);
    long long thick = col_w * 7 / 10 > 0 ? col_w * 7 / 10 : 1;
    /* Values sit in a row above the columns; shrink them (not below 8 px,
     * or the requested size if smaller) until each fits its column, and
     * leave them out when even that fails, rather than let them collide. */
    int vt = 0;
    if (bc->show_values) {
        int floor_px = tp < 8 ? tp : 8;
        for (vt = tp; vt >= floor_px; vt--) {
            int widest = 0;
            for (int i = 0; i < n; i++) {
                dl_format_number(val, sizeof val, bc->values[i]);
                int tw = dl_canvas_text_width(f, val, vt);
                if (tw > widest) widest = tw;
            }
            if (widest <= col_w - 3) break;
        }
        if (vt < floor_px) vt = 0;
    }
    for (int i = 0; i < n; i++) {
        long long cx = (long long)x + (long long)i * col_w;
        long long mid = cx + col_w / 2;
        dl_rgb col = i == bc->highlight ? bc->highlight_color : bc->colors ? bc->colors[i] : bc->bar;
        double v = bc->values[i];
        if (!isnan(v)) {
            long long vy = span_pos(v, hi, lo, py, py + ph - 1);
            long long ya = vy < zy ? vy : zy, yb = vy < zy ? zy : vy;
            dl_canvas_fill_rect(c, (int)(cx + (col_w - thick) / 2), (int)ya, (int)thick,
                                (int)(yb - ya + 1), col);
        }
        bar_label(bc, i, lab, sizeof lab);
        dl_canvas_text_aligned(c, f, (int)mid, (int)(py + ph + 3), lab, tp,
                               i == bc->highlight ? bc->highlight_color : bc->text,
                               DL_ALIGN_CENTER);
        if (vt > 0) {
            dl_format_number(val, sizeof val, v);
            dl_canvas_text_aligned(c, f, (int)mid, (int)(top + tp - vt), val, vt, bc->text,
                                   DL_ALIGN_CENTER);
        }
    }
    dl_canvas_hline(c, x, (int)zy, (int)(col_w * n), bc->axis);
    return DL_OK;
}
