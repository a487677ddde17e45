/*
 * test_draw.c — properties of the drawing layer: colour ramps, canvas
 * primitives and clipping, text, legends, montages and PNG output.
 *
 * Pictures are checked by their properties (white at zero, exact
 * nearest-neighbour blocks, ink inside the reported width, PNGs that decode
 * back to the same pixels) rather than against stored images, so the tests
 * survive cosmetic changes to layout and fonts.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Debian's libstb holds the implementation: header only. */
#include <stb_image.h>
#include <zlib.h>

#include "digitlens/canvas.h"
#include "digitlens/colormap.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"

#define WHITE DL_RGB(255, 255, 255)

static int draw_rgb_eq(dl_rgb a, dl_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

static int draw_near(dl_rgb a, int r, int g, int b, int tol)
{
    return abs(a.r - r) <= tol && abs(a.g - g) <= tol && abs(a.b - b) <= tol;
}

/* CIE L* of an sRGB colour: perceived lightness, 0 black .. 100 white. */
static double draw_lightness(dl_rgb c)
{
    double ch[3] = { c.r / 255.0, c.g / 255.0, c.b / 255.0 };
    for (int i = 0; i < 3; i++)
        ch[i] = ch[i] <= 0.04045 ? ch[i] / 12.92 : pow((ch[i] + 0.055) / 1.055, 2.4);
    double y = 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
    double fy = y > 216.0 / 24389.0 ? cbrt(y) : (24389.0 / 27.0 * y + 16.0) / 116.0;
    return 116.0 * fy - 16.0;
}

/* ---- colour ramps ------------------------------------------------------ */

Test(draw_colormap, diverging_is_white_at_zero)
{
    cr_assert(draw_rgb_eq(dl_cmap_diverging(0.0f, 1.0f), WHITE));
    cr_assert(draw_rgb_eq(dl_cmap_diverging(-0.0f, 3.0f), WHITE));
    /* A non-positive limit has no range to show: everything is white. */
    cr_assert(draw_rgb_eq(dl_cmap_diverging(0.7f, 0.0f), WHITE));
    cr_assert(draw_rgb_eq(dl_cmap_diverging(-0.7f, -1.0f), WHITE));
}

Test(draw_colormap, diverging_hue_follows_the_sign_however_small)
{
    const float tiny[] = { 1e-30f, 1e-7f, 1e-4f, 0.003f };
    for (size_t i = 0; i < sizeof tiny / sizeof *tiny; i++) {
        dl_rgb p = dl_cmap_diverging(tiny[i], 1.0f), n = dl_cmap_diverging(-tiny[i], 1.0f);
        cr_assert(p.r > p.g && p.r > p.b, "v=%g gives %d,%d,%d", tiny[i], p.r, p.g, p.b);
        cr_assert(n.b > n.r && n.b > n.g, "v=-%g gives %d,%d,%d", tiny[i], n.r, n.g, n.b);
    }
    for (int i = 1; i <= 2000; i++) {
        float v = 1.5f * (float)i / 2000.0f; /* runs past the limit too */
        dl_rgb p = dl_cmap_diverging(v, 1.0f), n = dl_cmap_diverging(-v, 1.0f);
        cr_assert(p.r > p.g && p.r > p.b, "v=%g gives %d,%d,%d", v, p.r, p.g, p.b);
        cr_assert(n.b > n.r && n.b > n.g, "v=-%g gives %d,%d,%d", v, n.r, n.g, n.b);
    }
}

Test(draw_colormap, diverging_darkens_monotonically_away_from_zero)
{
    dl_rgb pp = WHITE, pn = WHITE;
    for (int i = 1; i <= 1000; i++) {
        float v = 2.0f * (float)i / 1000.0f;
        dl_rgb p = dl_cmap_diverging(v, 2.0f), n = dl_cmap_diverging(-v, 2.0f);
        cr_assert(p.r <= pp.r && p.g <= pp.g && p.b <= pp.b, "red side brightens at v=%g", v);
        cr_assert(n.r <= pn.r && n.g <= pn.g && n.b <= pn.b, "blue side brightens at v=-%g", v);
        pp = p;
        pn = n;
    }
}

Test(draw_colormap, diverging_is_symmetric_and_saturates)
{
    for (int i = 0; i <= 100; i++) {
        float v = (float)i / 100.0f;
        double lp = draw_lightness(dl_cmap_diverging(v, 1.0f));
        double ln = draw_lightness(dl_cmap_diverging(-v, 1.0f));
        cr_assert(fabs(lp - ln) <= 5.0, "L* %.1f at +%g but %.1f at -%g", lp, v, ln, v);
    }
    cr_assert(draw_rgb_eq(dl_cmap_diverging(2.0f, 1.0f), dl_cmap_diverging(1.0f, 1.0f)));
    cr_assert(draw_rgb_eq(dl_cmap_diverging(-7.0f, 1.0f), dl_cmap_diverging(-1.0f, 1.0f)));
    cr_assert(draw_rgb_eq(dl_cmap_diverging(INFINITY, 1.0f), dl_cmap_diverging(1.0f, 1.0f)));
    /* The ends are dark: ColorBrewer RdBu's #67001f and #053061. */
    cr_assert(draw_near(dl_cmap_diverging(1.0f, 1.0f), 0x67, 0x00, 0x1f, 0));
    cr_assert(draw_near(dl_cmap_diverging(-1.0f, 1.0f), 0x05, 0x30, 0x61, 0));
}

Test(draw_colormap, nan_is_a_fixed_grey)
{
    cr_assert(draw_rgb_eq(dl_cmap_diverging(NAN, 1.0f), DL_RGB_NAN));
    cr_assert(draw_rgb_eq(dl_cmap_viridis(NAN), DL_RGB_NAN));
    cr_assert(draw_rgb_eq(dl_scale_color(dl_scale_sequential(DL_CMAP_GRAY, 0, 1), NAN),
                          DL_RGB_NAN));
}

Test(draw_colormap, viridis_matches_matplotlib)
{
    cr_assert(draw_near(dl_cmap_viridis(0.0f), 0x44, 0x01, 0x54, 2));
    cr_assert(draw_near(dl_cmap_viridis(1.0f), 0xfd, 0xe7, 0x25, 2));
    /* Rows of matplotlib's 256-entry table that are not anchors here. */
    cr_assert(draw_near(dl_cmap_viridis(8.0f / 255), 71, 13, 96, 2));
    cr_assert(draw_near(dl_cmap_viridis(100.0f / 255), 42, 118, 142, 2));
    cr_assert(draw_near(dl_cmap_viridis(200.0f / 255), 112, 207, 87, 2));
    cr_assert(draw_near(dl_cmap_viridis(236.0f / 255), 205, 225, 29, 2));
    cr_assert(draw_near(dl_cmap_viridis(242.0f / 255), 221, 227, 24, 2));
    cr_assert(draw_near(dl_cmap_viridis(250.0f / 255), 241, 229, 29, 2));
    cr_assert(draw_rgb_eq(dl_cmap_viridis(-3.0f), dl_cmap_viridis(0.0f)));
    cr_assert(draw_rgb_eq(dl_cmap_viridis(9.0f), dl_cmap_viridis(1.0f)));
}

Test(draw_colormap, viridis_lightness_rises)
{
    double prev = -1.0;
    for (int i = 0; i <= 50; i++) {
        double l = draw_lightness(dl_cmap_viridis((float)i / 50.0f));
        cr_assert(l > prev, "L* falls at t=%g", i / 50.0);
        prev = l;
    }
}

Test(draw_colormap, gray_and_ink_are_opposites)
{
    cr_assert(draw_rgb_eq(dl_cmap_gray(0.0f), DL_RGB(0, 0, 0)));
    cr_assert(draw_rgb_eq(dl_cmap_gray(1.0f), WHITE));
    cr_assert(draw_rgb_eq(dl_cmap_ink(0.0f), WHITE));
    cr_assert(draw_rgb_eq(dl_cmap_ink(1.0f), DL_RGB(0, 0, 0)));
    cr_assert(draw_rgb_eq(dl_cmap_gray(0.5f), DL_RGB(128, 128, 128)));
    cr_assert(draw_rgb_eq(dl_cmap_gray(4.0f), WHITE));
}

Test(draw_colormap, scale_fit_spans_the_finite_data)
{
    float v[] = { 0.5f, -2.0f, NAN, 1.25f, INFINITY, -INFINITY };
    dl_colorscale d = dl_scale_fit(DL_CMAP_DIVERGING, v, 6);
    cr_assert_float_eq(d.lo, -2.0f, 1e-6);
    cr_assert_float_eq(d.hi, 2.0f, 1e-6);
    dl_colorscale s = dl_scale_fit(DL_CMAP_VIRIDIS, v, 6);
    cr_assert_float_eq(s.lo, -2.0f, 1e-6);
    cr_assert_float_eq(s.hi, 1.25f, 1e-6);
    float zeros[3] = { 0, 0, 0 };
    d = dl_scale_fit(DL_CMAP_DIVERGING, zeros, 3);
    cr_assert(d.lo == -1.0f && d.hi == 1.0f);
    float same[2] = { 3, 3 };
    s = dl_scale_fit(DL_CMAP_VIRIDIS, same, 2);
    cr_assert(s.lo == 3.0f && s.hi == 4.0f);
    s = dl_scale_fit(DL_CMAP_GRAY, NULL, 0);
    cr_assert(s.lo == 0.0f && s.hi == 1.0f);
}

Test(draw_colormap, scale_color_keeps_zero_white_for_lopsided_ranges)
{
    dl_colorscale s = dl_scale_sequential(DL_CMAP_DIVERGING, -0.5f, 2.0f);
    cr_assert(draw_rgb_eq(dl_scale_color(s, 0.0f), WHITE));
    cr_assert(draw_rgb_eq(dl_scale_color(s, 2.0f), dl_cmap_diverging(1.0f, 1.0f)));
    cr_assert(draw_rgb_eq(dl_scale_color(s, -0.5f), dl_cmap_diverging(-0.25f, 1.0f)));
    dl_colorscale g = dl_scale_sequential(DL_CMAP_VIRIDIS, 10.0f, 20.0f);
    cr_assert(draw_rgb_eq(dl_scale_color(g, 15.0f), dl_cmap_viridis(0.5f)));
}

/* ---- canvas ------------------------------------------------------------ */

Test(draw_canvas, new_validates_sizes)
{
    dl_err e;
    dl_err_clear(&e);
    cr_assert_null(dl_canvas_new(0, 5, WHITE, &e));
    cr_assert_eq(e.code, DL_EINVAL);
    cr_assert_null(dl_canvas_new(5, -1, WHITE, &e));
    cr_assert_eq(e.code, DL_EINVAL);
    cr_assert_null(dl_canvas_new(DL_CANVAS_MAX_SIDE + 1, 1, WHITE, &e));
    cr_assert_eq(e.code, DL_ELIMIT);
    /* Each side is allowed, but the pixels would exceed 256 MiB. */
    cr_assert_null(dl_canvas_new(DL_CANVAS_MAX_SIDE, DL_CANVAS_MAX_SIDE, WHITE, &e));
    cr_assert_eq(e.code, DL_ELIMIT);
    cr_assert(strstr(e.msg, "canvas") != NULL, "message: %s", e.msg);
    dl_canvas *c = dl_canvas_new(3, 2, DL_RGB(1, 2, 3), &e);
    cr_assert_not_null(c);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) cr_assert(draw_rgb_eq(dl_canvas_get(c, x, y), DL_RGB(1, 2, 3)));
    dl_canvas_free(c);
    dl_canvas_free(NULL);
}

static int draw_count(const dl_canvas *c, dl_rgb col)
{
    int n = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) n += draw_rgb_eq(dl_canvas_get(c, x, y), col);
    return n;
}

Test(draw_canvas, rectangles_and_lines_clip_to_the_canvas)
{
    dl_canvas *c = dl_canvas_new(10, 8, WHITE, NULL);
    dl_rgb red = DL_RGB(255, 0, 0);
    dl_canvas_fill_rect(c, -3, -2, 5, 4, red); /* covers x 0..1, y 0..1 */
    cr_assert_eq(draw_count(c, red), 4);
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 1, 1), red));
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 2, 1), WHITE));
    dl_canvas_clear(c, WHITE);
    dl_canvas_fill_rect(c, INT_MIN, INT_MIN, INT_MAX, INT_MAX, red);
    dl_canvas_fill_rect(c, INT_MAX, 0, INT_MAX, 5, red);
    dl_canvas_hline(c, INT_MAX - 1, 3, INT_MAX, red);
    dl_canvas_vline(c, 3, INT_MIN, INT_MAX, red);
    cr_assert_eq(draw_count(c, red), 0);
    dl_canvas_hline(c, 8, 3, 100, red); /* x 8..9 */
    dl_canvas_vline(c, 0, 6, 100, red); /* y 6..7 */
    cr_assert_eq(draw_count(c, red), 4);
    dl_canvas_clear(c, WHITE);
    dl_canvas_rect_outline(c, 1, 1, 5, 4, 1, red);
    cr_assert_eq(draw_count(c, red), 14); /* 5 + 5 + 2 + 2 */
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 2, 2), WHITE));
    dl_canvas_put(c, -1, 0, red);
    dl_canvas_put(c, 0, 100, red);
    cr_assert_eq(draw_count(c, red), 14);
    dl_canvas_free(c);
}

Test(draw_canvas, blit_copies_and_clips)
{
    dl_canvas *dst = dl_canvas_new(6, 6, WHITE, NULL);
    dl_canvas *src = dl_canvas_new(2, 2, DL_RGB(0, 0, 0), NULL);
    dl_canvas_put(src, 1, 1, DL_RGB(9, 9, 9));
    dl_canvas_blit(dst, 5, 5, src); /* only src (0,0) lands, at (5,5) */
    cr_assert(draw_rgb_eq(dl_canvas_get(dst, 5, 5), DL_RGB(0, 0, 0)));
    cr_assert_eq(draw_count(dst, WHITE), 35);
    dl_canvas_clear(dst, WHITE);
    dl_canvas_blit_scaled(dst, -1, 0, src, 3); /* columns -1..4, rows 0..5 */
    cr_assert(draw_rgb_eq(dl_canvas_get(dst, 1, 2), DL_RGB(0, 0, 0)));
    cr_assert(draw_rgb_eq(dl_canvas_get(dst, 2, 3), DL_RGB(9, 9, 9)));
    cr_assert(draw_rgb_eq(dl_canvas_get(dst, 4, 5), DL_RGB(9, 9, 9)));
    cr_assert(draw_rgb_eq(dl_canvas_get(dst, 5, 5), WHITE));
    dl_canvas_blit(dst, INT_MIN, INT_MAX, src);
    dl_canvas_free(src);
    dl_canvas_free(dst);
}

Test(draw_canvas, draw_map_upscales_by_exact_nearest_neighbour)
{
    const float map[2 * 3] = { -1.0f, 0.0f, 0.5f, 1.0f, -0.25f, NAN };
    dl_colorscale cs = dl_scale_diverging(1.0f);
    dl_canvas *c = dl_canvas_new(30, 20, DL_RGB(7, 7, 7), NULL);
    const int ox = 5, oy = 4, s = 4;
    dl_canvas_draw_map(c, ox, oy, map, 3, 2, s, cs);
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            dl_rgb got = dl_canvas_get(c, x, y);
            int inside = x >= ox && x < ox + 3 * s && y >= oy && y < oy + 2 * s;
            dl_rgb want = inside ? dl_scale_color(cs, map[((y - oy) / s) * 3 + (x - ox) / s])
                                 : DL_RGB(7, 7, 7);
            cr_assert(draw_rgb_eq(got, want), "pixel (%d,%d)", x, y);
        }
    /* Hanging off the top-left corner shows the same blocks, shifted. */
    dl_canvas_clear(c, DL_RGB(7, 7, 7));
    dl_canvas_draw_map(c, -6, -2, map, 3, 2, s, cs);
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 0, 0), dl_scale_color(cs, map[1])));  /* col 1, row 0 */
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 2, 0), dl_scale_color(cs, map[2])));  /* col 2 */
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 5, 3), dl_scale_color(cs, map[5])));  /* row 1 */
    cr_assert(draw_rgb_eq(dl_canvas_get(c, 6, 0), DL_RGB(7, 7, 7)));
    dl_canvas_draw_map(c, INT_MAX - 2, INT_MAX - 2, map, 3, 2, 1000, cs);
    dl_canvas_draw_map(c, INT_MIN, INT_MIN, map, 3, 2, 1000, cs);
    dl_canvas_free(c);
}

/* ---- grids and montages ------------------------------------------------ */

Test(draw_grid, grid_shape_is_near_square)
{
    int r, k;
    dl_grid_shape(100, &r, &k);
    cr_assert(r == 10 && k == 10);
    dl_grid_shape(7, &r, &k);
    cr_assert(r == 3 && k == 3);
    dl_grid_shape(10, &r, &k);
    cr_assert(r == 3 && k == 4);
    dl_grid_shape(2, &r, &k);
    cr_assert(r == 1 && k == 2);
    dl_grid_shape(1, &r, &k);
    cr_assert(r == 1 && k == 1);
    dl_grid_shape(0, &r, &k);
    cr_assert(r == 0 && k == 0);
    for (int n = 1; n <= 5000; n++) {
        dl_grid_shape(n, &r, &k);
        cr_assert((k - 1) * (k - 1) < n && k * k >= n, "cols %d is not ceil(sqrt(%d))", k, n);
        cr_assert(r * k >= n && (r - 1) * k < n && r <= k, "n=%d gives %d×%d", n, r, k);
    }
}

Test(draw_grid, montage_places_tiles_row_by_row_with_separators)
{
    dl_canvas *t[3];
    for (int i = 0; i < 3; i++) t[i] = dl_canvas_new(2, 3, DL_RGB(10 * (i + 1), 0, 0), NULL);
    dl_err e;
    dl_canvas *m = dl_montage_new((const dl_canvas *const *)t, 3, 1, WHITE, &e);
    cr_assert_not_null(m, "%s", e.msg);
    cr_assert(m->w == 2 * 2 + 3 && m->h == 2 * 3 + 3); /* 2×2 grid, 1 px separators */
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 0, 0), WHITE));
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 1, 1), DL_RGB(10, 0, 0)));
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 3, 1), WHITE));
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 4, 3), DL_RGB(20, 0, 0)));
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 1, 5), DL_RGB(30, 0, 0)));
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 5, 6), WHITE)); /* the empty fourth cell */
    cr_assert_eq(draw_count(m, DL_RGB(20, 0, 0)), 6);
    dl_canvas_free(m);
    dl_canvas_free(t[2]);
    t[2] = dl_canvas_new(3, 3, WHITE, NULL);
    cr_assert_null(dl_montage_new((const dl_canvas *const *)t, 3, 1, WHITE, &e));
    cr_assert_eq(e.code, DL_EINVAL);
    for (int i = 0; i < 3; i++) dl_canvas_free(t[i]);
}

Test(draw_grid, montage_of_maps_matches_draw_map)
{
    float maps[4 * 6];
    for (int i = 0; i < 24; i++) maps[i] = (float)i / 23.0f;
    dl_colorscale cs = dl_scale_sequential(DL_CMAP_VIRIDIS, 0.0f, 1.0f);
    dl_err e;
    dl_canvas *m = dl_montage_maps(maps, 4, 3, 2, 2, 1, WHITE, cs, &e);
    cr_assert_not_null(m, "%s", e.msg);
    cr_assert(m->w == 2 * 6 + 3 && m->h == 2 * 4 + 3);
    /* Map 3 (second row, second column), value (x=2, y=1) at scale 2. */
    cr_assert(draw_rgb_eq(dl_canvas_get(m, 1 + 6 + 1 + 2 * 2, 1 + 4 + 1 + 2 * 1),
                          dl_scale_color(cs, maps[3 * 6 + 1 * 3 + 2])));
    dl_canvas_free(m);
    int w, h;
    cr_assert_eq(dl_montage_size(1000000, 0, 28, 28, 1, &w, &h, &e), DL_ELIMIT);
    cr_assert_eq(dl_montage_size(0, 0, 28, 28, 1, &w, &h, &e), DL_EINVAL);
    cr_assert_eq(dl_montage_size(10, 10, 28, 28, 2, &w, &h, &e), DL_OK);
    cr_assert(w == 10 * 28 + 11 * 2 && h == 28 + 2 * 2);
}

/* ---- text -------------------------------------------------------------- */

static dl_font *draw_font(void)
{
    dl_err e;
    dl_font *f = dl_font_default(&e);
    if (!f) cr_skip_test("no DejaVu Sans: %s", e.msg);
    return f;
}

/* Draws s at (x0, y0) on a white canvas and checks that ink appears, all of
 * it inside the line box [x0, x0 + width] × [y0, y0 + px). */
static void draw_check_text_box(const dl_font *f, const char *s, int px)
{
    dl_canvas *c = dl_canvas_new(400, 80, WHITE, NULL);
    const int x0 = 20, y0 = 15;
    int w = dl_canvas_text_width(f, s, px);
    cr_assert(w > 0);
    cr_assert_eq(dl_canvas_text(c, f, x0, y0, s, px, DL_RGB(0, 0, 0)), DL_OK);
    int ink = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            if (draw_rgb_eq(dl_canvas_get(c, x, y), WHITE)) continue;
            ink++;
            cr_assert(x >= x0 - 1 && x <= x0 + w && y >= y0 && y < y0 + px,
                      "'%s' at %d px inks (%d,%d) outside %d..%d × %d..%d", s, px, x, y, x0,
                      x0 + w, y0, y0 + px - 1);
        }
    cr_assert(ink > 10, "'%s' at %d px drew %d pixels", s, px, ink);
    dl_canvas_free(c);
}

Test(draw_text, truetype_text_stays_inside_its_box)
{
    dl_font *f = draw_font();
    int sizes[] = { 10, 14, 20, 33 };
    for (int i = 0; i < 4; i++) {
        draw_check_text_box(f, "Hello, gjpqy 0123456789", sizes[i]);
        draw_check_text_box(f, "\xCE\xA3 x\xC3\x97w \xE2\x86\x92 \xC2\xB1\xE2\x88\x92" "1", sizes[i]);
    }
    dl_font_free(f);
}

Test(draw_text, fallback_text_stays_inside_its_box)
{
    int sizes[] = { 10, 14, 20, 33 };
    for (int i = 0; i < 4; i++) {
        draw_check_text_box(NULL, "Hello, gjpqy 0123456789", sizes[i]);
        draw_check_text_box(NULL, "\xCE\xA3 x\xC3\x97w \xE2\x86\x92 \xC2\xB1\xE2\x88\x92" "1",
                            sizes[i]);
    }
}

Test(draw_text, text_off_every_edge_is_clipped)
{
    dl_font *f = draw_font();
    const dl_font *fonts[2] = { f, NULL };
    const char *s = "Off the edge: the quick brown fox \xE2\x86\x92 jumps";
    for (int k = 0; k < 2; k++) {
        dl_canvas *c = dl_canvas_new(40, 20, WHITE, NULL);
        const int xs[] = { -5, -100, 30, 39, INT_MIN, INT_MAX, -2000000000 };
        const int ys[] = { -5, 15, 19, 0, INT_MIN, INT_MAX - 5 };
        for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
            for (size_t j = 0; j < sizeof ys / sizeof *ys; j++)
                cr_assert_eq(dl_canvas_text(c, fonts[k], xs[i], ys[j], s, 20, DL_RGB(0, 0, 0)),
                             DL_OK);
        cr_assert(draw_count(c, WHITE) < 40 * 20, "nothing was drawn on-canvas");
        dl_canvas_free(c);
    }
    dl_font_free(f);
}

Test(draw_text, width_counts_decoded_characters)
{
    dl_font *f = draw_font();
    cr_assert_eq(dl_canvas_text_width(f, "", 14), 0);
    cr_assert_eq(dl_canvas_text_width(NULL, "", 14), 0);
    cr_assert(dl_canvas_text_width(f, "\xC3\x97", 14) > 0);
    /* Malformed UTF-8 shows as U+FFFD (DejaVu has it; the fallback draws
     * '?'), one per bad byte, overlong forms included. */
    const char *rep = "\xEF\xBF\xBD";
    char two[16];
    snprintf(two, sizeof two, "a%s%s", rep, rep);
    cr_assert_eq(dl_canvas_text_width(f, "\xFF", 14), dl_canvas_text_width(f, rep, 14));
    cr_assert_eq(dl_canvas_text_width(f, "a\xE2\x88", 14), dl_canvas_text_width(f, two, 14));
    cr_assert_eq(dl_canvas_text_width(f, "\xC0\xAF", 14), dl_canvas_text_width(f, two + 1, 14));
    cr_assert_eq(dl_canvas_text_width(NULL, "a\xED\xA0\x80", 14),
                 dl_canvas_text_width(NULL, "a???", 14)); /* a surrogate */
    /* The fallback spells symbols out. */
    cr_assert_eq(dl_canvas_text_width(NULL, "\xCE\xA3", 14), dl_canvas_text_width(NULL, "Sum", 14));
    cr_assert_eq(dl_canvas_text_width(NULL, "\xE2\x86\x92", 14), dl_canvas_text_width(NULL, "->", 14));
    /* Wider at larger sizes. */
    cr_assert(dl_canvas_text_width(f, "width", 20) > dl_canvas_text_width(f, "width", 10));
    cr_assert(dl_canvas_text_width(NULL, "width", 24) > dl_canvas_text_width(NULL, "width", 10));
    dl_canvas *c = dl_canvas_new(10, 10, WHITE, NULL);
    cr_assert_eq(dl_canvas_text(c, f, 0, 0, "x", 0, WHITE), DL_EINVAL);
    cr_assert_eq(dl_canvas_text(c, NULL, 0, 0, "x", 5000, WHITE), DL_EINVAL);
    dl_canvas_free(c);
    dl_font_free(f);
}

Test(draw_text, aligned_text_ends_where_asked)
{
    dl_font *f = draw_font();
    dl_canvas *c = dl_canvas_new(200, 30, WHITE, NULL);
    dl_canvas_text_aligned(c, f, 150, 5, "right", 16, DL_RGB(0, 0, 0), DL_ALIGN_RIGHT);
    int maxx = -1, minx = 1000;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++)
            if (!draw_rgb_eq(dl_canvas_get(c, x, y), WHITE)) {
                if (x > maxx) maxx = x;
                if (x < minx) minx = x;
            }
    cr_assert(maxx <= 150 && maxx >= 145, "right edge at %d", maxx);
    cr_assert(minx >= 150 - dl_canvas_text_width(f, "right", 16) - 1);
    dl_canvas_free(c);
    dl_font_free(f);
}

Test(draw_text, font_load_refuses_non_fonts)
{
    char dir[] = "/tmp/dl-test-font-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/fake.ttf", dir);
    cr_assert_eq(dl_file_write_atomic(path, "not a font at all, no", 21, NULL), DL_OK);
    dl_err e;
    cr_assert_null(dl_font_load(path, &e));
    cr_assert_eq(e.code, DL_EFORMAT);
    cr_assert(strstr(e.msg, path) != NULL, "message: %s", e.msg);
    unlink(path);
    snprintf(path, sizeof path, "%s/missing.ttf", dir);
    cr_assert_null(dl_font_load(path, &e));
    cr_assert_eq(e.code, DL_EIO);
    rmdir(dir);
}

Test(draw_text, numbers_format_compactly)
{
    char b[48];
    dl_format_number(b, sizeof b, 0.482);
    cr_assert_str_eq(b, "0.482");
    dl_format_number(b, sizeof b, -0.4821);
    cr_assert_str_eq(b, "\xE2\x88\x92" "0.482");
    dl_format_number(b, sizeof b, -0.0);
    cr_assert_str_eq(b, "0");
    dl_format_number(b, sizeof b, 1234567.0);
    cr_assert_str_eq(b, "1.23e+06");
    dl_format_number(b, sizeof b, 10.0);
    cr_assert_str_eq(b, "10");
}

/* ---- legends and charts ------------------------------------------------ */

Test(draw_legend, colorbar_runs_from_lo_to_hi)
{
    dl_font *f = draw_font();
    dl_canvas *c = dl_canvas_new(220, 60, WHITE, NULL);
    dl_err e;
    dl_colorscale s = dl_scale_diverging(2.0f);
    cr_assert_eq(dl_canvas_colorbar(c, f, 10, 5, 200, 50, s, "weight", 12, &e), DL_OK, "%s",
                 e.msg);
    /* Caption 16 px, then the bar: sample its middle row. */
    int row = 5 + 16 + 4;
    dl_rgb left = dl_canvas_get(c, 12, row), mid = dl_canvas_get(c, 110, row),
           right = dl_canvas_get(c, 207, row);
    cr_assert(left.b > left.r + 50, "left end %d,%d,%d", left.r, left.g, left.b);
    cr_assert(right.r > right.b + 50, "right end %d,%d,%d", right.r, right.g, right.b);
    cr_assert(mid.r > 240 && mid.g > 240 && mid.b > 240, "middle %d,%d,%d", mid.r, mid.g, mid.b);
    cr_assert_eq(dl_canvas_colorbar(c, f, 0, 0, 100, 20, s, "x", 12, &e), DL_EINVAL);
    cr_assert_eq(dl_canvas_colorbar_vertical(c, f, 0, 0, 70, 58, s, "w", 12, &e), DL_OK, "%s",
                 e.msg);
    cr_assert_eq(dl_canvas_colorbar_vertical(c, f, 0, 0, 20, 58, s, "w", 12, &e), DL_EINVAL);
    /* Fallback font and a legend hanging off the canvas. */
    cr_assert_eq(dl_canvas_colorbar(c, NULL, 150, 40, 200, 50, s, "weight", 12, &e), DL_OK);
    dl_canvas_free(c);
    dl_font_free(f);
}

Test(draw_legend, barchart_marks_the_winner)
{
    dl_font *f = draw_font();
    const float v[4] = { 0.1f, 0.7f, 0.15f, 0.05f };
    dl_barchart bc = dl_barchart_defaults(v, 4);
    bc.highlight = 1;
    dl_err e;
    for (int vertical = 0; vertical <= 1; vertical++) {
        bc.vertical = vertical;
        dl_canvas *c = dl_canvas_new(200, 120, WHITE, NULL);
        cr_assert_eq(dl_canvas_barchart(c, f, 0, 0, 200, 120, &bc, &e), DL_OK, "%s", e.msg);
        cr_assert(draw_count(c, bc.highlight_color) > 50);
        cr_assert(draw_count(c, bc.bar) > 50);
        dl_canvas_free(c);
    }
    /* Longest bar is the largest value: count bar pixels per row. */
    bc.vertical = 0;
    bc.highlight = -1;
    bc.show_values = 0;
    dl_canvas *c = dl_canvas_new(200, 80, WHITE, NULL);
    cr_assert_eq(dl_canvas_barchart(c, f, 0, 0, 200, 80, &bc, &e), DL_OK);
    int len[4];
    for (int i = 0; i < 4; i++) {
        len[i] = 0;
        for (int x = 0; x < c->w; x++) len[i] += draw_rgb_eq(dl_canvas_get(c, x, i * 20 + 10), bc.bar);
    }
    cr_assert(len[1] > len[2] && len[2] > len[0] && len[0] > len[3], "%d %d %d %d", len[0],
              len[1], len[2], len[3]);
    cr_assert_eq(dl_canvas_barchart(c, f, 0, 0, 200, 4, &bc, &e), DL_EINVAL);
    bc.n = 0;
    cr_assert_eq(dl_canvas_barchart(c, f, 0, 0, 200, 80, &bc, &e), DL_EINVAL);
    dl_canvas_free(c);
    dl_font_free(f);
}

/* ---- PNG --------------------------------------------------------------- */

static void draw_rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *ent;
    char p[512];
    while ((ent = readdir(d)) != NULL) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, ent->d_name);
        if (rmdir(p) != 0) unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int draw_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d)) != NULL)
        n += strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..");
    if (d) closedir(d);
    return n;
}

static dl_canvas *draw_pattern(int w, int h)
{
    dl_canvas *c = dl_canvas_new(w, h, WHITE, NULL);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            dl_canvas_put(c, x, y, DL_RGB(x * 7 + y, y * 13, (x ^ y) * 5));
    return c;
}

Test(draw_png, encoded_png_decodes_to_the_same_pixels)
{
    dl_canvas *c = draw_pattern(37, 23);
    unsigned char *buf;
    size_t len;
    dl_err e;
    cr_assert_eq(dl_png_encode(c, &buf, &len, &e), DL_OK, "%s", e.msg);
    int w, h, n;
    unsigned char *px = stbi_load_from_memory(buf, (int)len, &w, &h, &n, 3);
    cr_assert_not_null(px);
    cr_assert(w == 37 && h == 23 && n == 3);
    cr_assert(memcmp(px, c->px, (size_t)w * h * 3) == 0);
    stbi_image_free(px);
    free(buf);
    dl_canvas_free(c);
}

/* The encoder's contract (png.c): one IDAT of zlib data whose rows are
 * filtered "Up" (the first row, with nothing above, stored as it is), so a
 * picture whose rows repeat compresses to almost nothing. */
Test(draw_png, rows_are_filtered_up_in_one_zlib_stream)
{
    dl_canvas *c = draw_pattern(29, 11);
    unsigned char *buf;
    size_t len;
    dl_err e;
    cr_assert_eq(dl_png_encode(c, &buf, &len, &e), DL_OK, "%s", e.msg);
    cr_assert(len > 8 + 25 + 12 + 12);
    cr_assert(memcmp(buf + 12, "IHDR", 4) == 0 && memcmp(buf + 37, "IDAT", 4) == 0);
    size_t zlen = (size_t)buf[33] << 24 | (size_t)buf[34] << 16 | (size_t)buf[35] << 8 | buf[36];
    cr_assert_eq(len, 8 + 25 + 12 + zlen + 12, "exactly one IDAT, then IEND");
    cr_assert(memcmp(buf + len - 8, "IEND", 4) == 0);
    size_t stride = 29 * 3 + 1;
    unsigned char raw[11 * (29 * 3 + 1)];
    uLongf rl = sizeof raw;
    cr_assert_eq(uncompress(raw, &rl, buf + 41, (uLong)zlen), Z_OK);
    cr_assert_eq(rl, sizeof raw);
    for (int y = 0; y < 11; y++) {
        const unsigned char *row = raw + (size_t)y * stride, *px = c->px + (size_t)y * 29 * 3;
        cr_assert(row[0] == 0 || row[0] == 2, "row %d: filter %d", y, row[0]);
        for (int i = 0; i < 29 * 3; i++) {
            unsigned char want = y ? (unsigned char)(px[i] - px[i - 29 * 3]) : px[i];
            cr_assert_eq(row[1 + i], want, "row %d byte %d", y, i);
        }
        if (y) cr_assert_eq(row[0], 2, "row %d is not filtered Up", y);
    }
    free(buf);
    dl_canvas_free(c);
}

Test(draw_png, writing_twice_gives_identical_bytes)
{
    char dir[] = "/tmp/dl-test-png-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char a[256], b[256];
    snprintf(a, sizeof a, "%s/a.png", dir);
    snprintf(b, sizeof b, "%s/b.png", dir);
    dl_canvas *c = draw_pattern(64, 40);
    dl_err e;
    cr_assert_eq(dl_png_write(a, c, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_png_write(b, c, &e), DL_OK, "%s", e.msg);
    unsigned char *da, *db;
    size_t la, lb;
    cr_assert_eq(dl_file_read_all(a, 1 << 20, &da, &la, &e), DL_OK);
    cr_assert_eq(dl_file_read_all(b, 1 << 20, &db, &lb, &e), DL_OK);
    cr_assert(la == lb && la > 8 && memcmp(da, db, la) == 0);
    cr_assert(memcmp(da, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(da);
    free(db);
    dl_canvas_free(c);
    draw_rm_rf(dir);
}

Test(draw_png, unwritable_target_fails_naming_it_and_leaves_nothing)
{
    char dir[] = "/tmp/dl-test-png-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/no/such/dir/out.png", dir);
    dl_canvas *c = draw_pattern(8, 8);
    dl_err e;
    dl_err_clear(&e);
    cr_assert_eq(dl_png_write(path, c, &e), DL_EIO);
    cr_assert(strstr(e.msg, path) != NULL, "message: %s", e.msg);
    cr_assert_eq(draw_entries(dir), 0);
    /* The target is a directory: the temporary file is made, then the
     * rename fails, and the temporary file must go. */
    snprintf(path, sizeof path, "%s/taken", dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    cr_assert_eq(dl_png_write(path, c, &e), DL_EIO);
    cr_assert(strstr(e.msg, path) != NULL, "message: %s", e.msg);
    cr_assert_eq(draw_entries(dir), 1, "a temporary file was left in %s", dir);
    dl_canvas_free(c);
    draw_rm_rf(dir);
}

Test(draw_png, gray_image_is_white_ink_on_black_scaled_up)
{
    float img[28 * 28];
    for (int i = 0; i < 28 * 28; i++) img[i] = (float)(i % 28) / 27.0f;
    img[0] = 2.0f;  /* clamped to white */
    img[1] = -1.0f; /* clamped to black */
    char dir[] = "/tmp/dl-test-png-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/digit.png", dir);
    dl_err e;
    cr_assert_eq(dl_png_write_gray(path, img, 28, 28, 3, &e), DL_OK, "%s", e.msg);
    int w, h, n;
    unsigned char *px = stbi_load(path, &w, &h, &n, 3);
    cr_assert_not_null(px);
    cr_assert(w == 84 && h == 84);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = img[(y / 3) * 28 + x / 3];
            int want = v <= 0 ? 0 : v >= 1 ? 255 : (int)lrintf(v * 255.0f);
            const unsigned char *p = px + 3 * (y * w + x);
            cr_assert(p[0] == want && p[1] == want && p[2] == want, "pixel (%d,%d)", x, y);
        }
    stbi_image_free(px);
    cr_assert_eq(dl_png_write_gray(path, img, 28, 28, 0, &e), DL_EINVAL);
    cr_assert_eq(dl_png_write_gray(path, img, 28, 28, 1000, &e), DL_ELIMIT);
    draw_rm_rf(dir);
}
