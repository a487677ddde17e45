/* test_viz_embed.c — the pictures of maps: the class palette, the layout
 * (every point placed inside its own panel, mistakes ringed, thumbnails
 * never overlapping), its rasterisation, and the projector's sprite. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/rng.h"
#include "digitlens/viz_embed.h"

TestSuite(viz_embed);

static int color_dist(dl_rgb a, dl_rgb b) { return abs(a.r - b.r) + abs(a.g - b.g) + abs(a.b - b.b); }

Test(viz_embed, class_colors_are_tableau_10_then_distinct_hues)
{
    dl_rgb c0 = dl_class_color(0), c9 = dl_class_color(9);
    cr_assert(c0.r == 0x4e && c0.g == 0x79 && c0.b == 0xa7, "class 0 is Tableau blue #4e79a7");
    cr_assert(c9.r == 0xba && c9.g == 0xb0 && c9.b == 0xac, "class 9 is Tableau grey #bab0ac");
    for (int a = 0; a < 40; a++)
        for (int b = a + 1; b < 40; b++)
            cr_assert(color_dist(dl_class_color(a), dl_class_color(b)) > 12, "classes %d and %d look alike", a, b);
}

typedef struct fixture {
    size_t n;
    float *xy[2], *glyphs;
    uint8_t *cls, *wrong;
} fixture;

static fixture make_fixture(size_t n)
{
    fixture f = {n, {malloc(2 * n * sizeof(float)), malloc(2 * n * sizeof(float))}, malloc(n * 64 * sizeof(float)),
                 malloc(n), malloc(n)};
    dl_rng r;
    dl_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++) {
        f.cls[i] = (uint8_t)(i % 10);
        f.wrong[i] = i % 7 == 0;
        f.xy[0][2 * i] = (float)(100 * dl_rng_normal(&r)); /* far from the unit square: must be fitted */
        f.xy[0][2 * i + 1] = (float)(3 * dl_rng_normal(&r) - 50);
        f.xy[1][2 * i] = (float)dl_rng_uniform(&r);
        f.xy[1][2 * i + 1] = (float)dl_rng_uniform(&r);
        for (int p = 0; p < 64; p++) f.glyphs[i * 64 + (size_t)p] = (float)(p % 9 == 0);
    }
    return f;
}

static void free_fixture(fixture *f)
{
    free(f->xy[0]);
    free(f->xy[1]);
    free(f->glyphs);
    free(f->cls);
    free(f->wrong);
}

static dl_scatter_spec spec_for(const fixture *f, const dl_scatter_panel *panels, int glyphs)
{
    dl_scatter_spec s = {f->n, f->cls, f->wrong, 10, NULL, glyphs ? f->glyphs : NULL, 8, 8, 1, 2, panels,
                         "a test", 300, 1};
    return s;
}

Test(viz_embed, every_point_is_placed_inside_its_own_panel_and_mistakes_are_ringed)
{
    fixture f = make_fixture(500);
    dl_scatter_panel panels[2] = {{f.xy[0], "left", "note"}, {f.xy[1], "right", NULL}};
    dl_scatter_spec s = spec_for(&f, panels, 0);
    dl_err e;
    dl_scatter_layout *l = dl_scatter_layout_new(&s, NULL, &e);
    cr_assert_not_null(l, "%s", e.msg);
    cr_assert_eq(l->nrects, 2);
    size_t dots[2] = {0, 0}, rings = 0, nwrong = 0;
    for (size_t i = 0; i < f.n; i++) nwrong += f.wrong[i];
    for (size_t m = 0; m < l->nmarks; m++) {
        const dl_scene_mark *k = &l->marks[m];
        int p = k->x >= l->rects[1].x; /* which frame */
        const dl_scene_rect *fr = &l->rects[p];
        if (k->x > fr->x + fr->w || k->y > fr->y + fr->h || k->y < fr->y) continue; /* the legend */
        cr_assert(k->x - k->r >= fr->x && k->x + k->r <= fr->x + fr->w, "mark %zu sticks out of frame %d", m, p);
        cr_assert(k->y - k->r >= fr->y && k->y + k->r <= fr->y + fr->h, "mark %zu sticks out of frame %d", m, p);
        if (k->kind == DL_MARK_DOT) {
            dots[p]++;
            cr_assert_eq(color_dist(k->color, dl_class_color(f.cls[k->point])), 0);
        }
        if (k->kind == DL_MARK_RING) {
            rings++;
            cr_assert(f.wrong[k->point], "point %u ringed but right", k->point);
        }
    }
    cr_assert_eq(dots[0], f.n);
    cr_assert_eq(dots[1], f.n);
    cr_assert_eq(rings, 2 * nwrong);
    /* The fit spans the frame: some point lies near each side of the wider axis. */
    float lo = 1e9f, hi = -1e9f;
    for (size_t m = 0; m < l->nmarks; m++)
        if (l->marks[m].kind == DL_MARK_DOT && l->marks[m].x < l->rects[1].x) {
            lo = fminf(lo, l->marks[m].x);
            hi = fmaxf(hi, l->marks[m].x);
        }
    cr_assert(hi - lo > 0.9f * (float)(l->rects[0].w - 20), "points span %g of %d pixels", hi - lo, l->rects[0].w);
    dl_scatter_layout_free(l);
    free_fixture(&f);
}

Test(viz_embed, thumbnails_never_overlap)
{
    fixture f = make_fixture(2000);
    dl_scatter_panel panels[2] = {{f.xy[1], "left", NULL}, {NULL, NULL, NULL}};
    dl_scatter_spec s = spec_for(&f, panels, 1);
    dl_err e;
    dl_scatter_layout *l = dl_scatter_layout_new(&s, NULL, &e);
    cr_assert_not_null(l, "%s", e.msg);
    size_t ng = 0;
    for (size_t a = 0; a < l->nmarks; a++) {
        if (l->marks[a].kind != DL_MARK_GLYPH) continue;
        ng++;
        for (size_t b = a + 1; b < l->nmarks; b++)
            if (l->marks[b].kind == DL_MARK_GLYPH)
                cr_assert(fabsf(l->marks[a].x - l->marks[b].x) >= 8 || fabsf(l->marks[a].y - l->marks[b].y) >= 8,
                          "glyphs %zu and %zu overlap", a, b);
    }
    /* 2000 points spread over a 300-pixel frame leave room for many 8-pixel thumbnails. */
    cr_assert(ng > 300, "only %zu thumbnails", ng);
    dl_scatter_layout_free(l);
    free_fixture(&f);
}

Test(viz_embed, rendering_is_deterministic_and_draws_the_class_colours)
{
    fixture f = make_fixture(300);
    dl_scatter_panel panels[2] = {{f.xy[0], "left", "n"}, {f.xy[1], "right", "n"}};
    dl_scatter_spec s = spec_for(&f, panels, 0);
    s.wrong = NULL; /* no rings over the dots */
    dl_err e;
    dl_scatter_layout *l = dl_scatter_layout_new(&s, NULL, &e);
    cr_assert_not_null(l, "%s", e.msg);
    dl_canvas *a = dl_scatter_render(l, NULL, &e), *b = dl_scatter_render(l, NULL, &e);
    cr_assert_not_null(a, "%s", e.msg);
    cr_assert_eq(a->w, l->width);
    cr_assert_eq(memcmp(a->px, b->px, (size_t)a->w * a->h * 3), 0);
    /* The last dot drawn in a frame shows its colour at its centre: at
     * opacity 225/255 each channel is within 30 of it, whatever lies below. */
    for (size_t m = l->nmarks; m-- > 0;) {
        const dl_scene_mark *k = &l->marks[m];
        if (k->kind != DL_MARK_DOT || k->y > l->rects[0].y + l->rects[0].h) continue;
        dl_rgb got = dl_canvas_get(a, (int)floorf(k->x), (int)floorf(k->y)), want = k->color;
        cr_assert(abs(got.r - want.r) <= 30 && abs(got.g - want.g) <= 30 && abs(got.b - want.b) <= 30,
                  "dot colour (%d,%d,%d), expected about (%d,%d,%d)", got.r, got.g, got.b, want.r, want.g, want.b);
        break;
    }
    dl_canvas_free(a);
    dl_canvas_free(b);
    dl_scatter_layout_free(l);
    free_fixture(&f);
}

Test(viz_embed, layout_refuses_bad_specs)
{
    fixture f = make_fixture(10);
    dl_scatter_panel panels[2] = {{f.xy[0], "a", NULL}, {f.xy[1], "b", NULL}};
    dl_scatter_spec s = spec_for(&f, panels, 0);
    dl_err e;
    s.nclasses = 5; /* labels go up to 9 */
    cr_assert_null(dl_scatter_layout_new(&s, NULL, &e));
    cr_assert(strstr(e.msg, "class") != NULL, "%s", e.msg);
    s = spec_for(&f, panels, 0);
    s.panel_px = 50;
    cr_assert_null(dl_scatter_layout_new(&s, NULL, &e));
    free_fixture(&f);
}

Test(viz_embed, sprite_is_a_square_grid_in_row_major_order)
{
    size_t n = 10;
    float *img = calloc(n * 16, sizeof(float));
    for (size_t i = 0; i < n; i++) img[i * 16 + (i % 16)] = 1.0f; /* image i: one ink pixel at (i%4, i/4 % 4) */
    dl_err e;
    cr_assert_eq(dl_sprite_side(n, 4), 4);
    cr_assert_eq(dl_sprite_side(100000, 28), 25, "8192 / 317 columns");
    dl_canvas *c = dl_sprite_new(img, n, 4, 4, 4, &e);
    cr_assert_not_null(c, "%s", e.msg);
    cr_assert_eq(c->w, 16, "4 columns of 4 pixels for 10 images");
    cr_assert_eq(c->h, 16);
    for (size_t i = 0; i < n; i++) {
        int x0 = (int)(i % 4) * 4, y0 = (int)(i / 4) * 4, px = (int)(i % 16) % 4, py = (int)(i % 16) / 4;
        cr_assert_eq(dl_canvas_get(c, x0 + px, y0 + py).r, 0, "ink of image %zu is dark", i);
        cr_assert_eq(dl_canvas_get(c, x0 + (px + 1) % 4, y0 + py).r, 255, "paper of image %zu is white", i);
    }
    cr_assert_eq(dl_canvas_get(c, 15, 15).r, 255, "the unused cells stay white");
    dl_canvas_free(c);
    free(img);
}
