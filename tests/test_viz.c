/* test_viz.c — the pictures' numbers and pixels on hand-built models. */
#include <criterion/criterion.h>
#include <math.h>
#include <stb_image.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/png.h"
#include "digitlens/viz.h"

TestSuite(viz);

/* 4x4 inputs, 3 hidden, 2 outputs.  Hidden neuron 0: +1 on the left half,
 * −1 on the right half, 0 on the top row. */
static dl_model *hand_model(void)
{
    int sizes[] = {16, 3, 2};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 4, 4, &e);
    cr_assert_not_null(m);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) m->net->w[0][y * 4 + x] = y == 0 ? 0.0f : (x < 2 ? 1.0f : -1.0f);
    for (int i = 16; i < 48; i++) m->net->w[0][i] = 0.01f * (float)(i % 7) - 0.03f;
    m->net->b[0][0] = 0.5f;
    float w2[6] = {0.5f, 2.0f, -1.0f, -0.25f, 0.75f, 3.0f};
    memcpy(m->net->w[1], w2, sizeof w2);
    return m;
}

static unsigned char *decode(const dl_canvas *c, int *w, int *h)
{
    unsigned char *png;
    size_t n;
    dl_err e;
    cr_assert_eq(dl_png_encode(c, &png, &n, &e), DL_OK);
    int ch;
    unsigned char *px = stbi_load_from_memory(png, (int)n, w, h, &ch, 3);
    free(png);
    cr_assert_not_null(px);
    return px;
}

Test(viz, weight_picture_is_red_left_blue_right_white_for_zero)
{
    dl_model *m = hand_model();
    dl_viz_style st = {NULL, 8};
    dl_err e;
    dl_canvas *c = dl_viz_weight_picture(m, 1, 0, 0, 0.0f, &st, &e);
    cr_assert_not_null(c, "%s", e.msg);
    int w, h;
    unsigned char *px = decode(c, &w, &h);
    cr_assert_eq(w, c->w);
    cr_assert(w >= 32 && h > 32);
    /* Pixel (x, y) of the map lives in the 8x8 block at (8x, 8y). */
#define AT(X, Y, K) px[((size_t)(Y) * w + (X)) * 3 + (K)]
    int lx = 8 * 0 + 4, rx = 8 * 3 + 4, ry = 8 * 2 + 4, ty = 4;
    cr_assert(AT(lx, ry, 0) > AT(lx, ry, 1) + 60 && AT(lx, ry, 0) > AT(lx, ry, 2) + 60, "left is not red: %d,%d,%d",
              AT(lx, ry, 0), AT(lx, ry, 1), AT(lx, ry, 2));
    cr_assert(AT(rx, ry, 2) > AT(rx, ry, 1) + 40 && AT(rx, ry, 2) > AT(rx, ry, 0) + 60, "right is not blue: %d,%d,%d",
              AT(rx, ry, 0), AT(rx, ry, 1), AT(rx, ry, 2));
    cr_assert(AT(lx, ty, 0) == 255 && AT(lx, ty, 1) == 255 && AT(lx, ty, 2) == 255, "zero weight not white");
    /* Same bytes twice. */
    unsigned char *a, *b;
    size_t na, nb;
    dl_png_encode(c, &a, &na, &e);
    dl_canvas *c2 = dl_viz_weight_picture(m, 1, 0, 0, 0.0f, &st, &e);
    dl_png_encode(c2, &b, &nb, &e);
    cr_assert(na == nb && memcmp(a, b, na) == 0);
    free(a);
    free(b);
    stbi_image_free(px);
    dl_canvas_free(c);
    dl_canvas_free(c2);
    dl_model_free(m);
#undef AT
}

Test(viz, contribution_map_is_input_times_weights_and_sums_to_z)
{
    dl_model *m = hand_model();
    float x[16], out[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i / 15.0f;
    for (int j = 0; j < 3; j++) {
        dl_viz_contribution_map(m->net, j, x, out);
        double s = m->net->b[0][j];
        for (int i = 0; i < 16; i++) {
            cr_assert_eq(out[i], x[i] * m->net->w[0][j * 16 + i]);
            s += out[i];
        }
        dl_err e;
        dl_trace *t = dl_trace_new(m->net, &e);
        dl_net_forward(m->net, x, t);
        cr_assert_float_eq(t->z[1][j], (float)s, 1e-5);
        dl_trace_free(t);
    }
    dl_model_free(m);
}

Test(viz, template_is_the_product_of_the_weight_matrices)
{
    dl_model *m = hand_model();
    float tmpl[16];
    dl_err e;
    for (int c = 0; c < 2; c++) {
        cr_assert_eq(dl_viz_template_map(m->net, c, tmpl, &e), DL_OK);
        for (int i = 0; i < 16; i++) {
            float want = 0;
            for (int j = 0; j < 3; j++) want += m->net->w[1][c * 3 + j] * m->net->w[0][j * 16 + i];
            cr_assert_float_eq(tmpl[i], want, 1e-6);
        }
    }
    dl_model_free(m);
}

Test(viz, input_x_gradient_matches_finite_differences)
{
    dl_model *m = hand_model();
    float x[16], g[16];
    for (int i = 0; i < 16; i++) x[i] = 0.1f + 0.05f * (float)i;
    dl_err e;
    cr_assert_eq(dl_viz_input_x_gradient(m->net, 1, x, g, &e), DL_OK);
    dl_trace *t = dl_trace_new(m->net, &e);
    for (int i = 0; i < 16; i++) {
        float keep = x[i], h = 1e-2f;
        x[i] = keep + h;
        double up = dl_net_forward(m->net, x, t)[1];
        x[i] = keep - h;
        double dn = dl_net_forward(m->net, x, t)[1];
        x[i] = keep;
        double fd = (up - dn) / (2 * h);
        cr_assert(fabs(g[i] - keep * fd) < 1e-4, "pixel %d: %g vs %g", i, g[i], keep * fd);
    }
    dl_trace_free(t);
    dl_model_free(m);
}

Test(viz, top_hidden_for_class_ranks_the_outgoing_weights)
{
    dl_model *m = hand_model();
    /* Output 0: weights 0.5, 2.0, −1.0 → order 1, 0, 2.  Output 1: −0.25, 0.75, 3.0 → 2, 1, 0. */
    cr_assert_eq(dl_viz_top_hidden_for_class(m->net, 0, 1), 1);
    cr_assert_eq(dl_viz_top_hidden_for_class(m->net, 0, 2), 0);
    cr_assert_eq(dl_viz_top_hidden_for_class(m->net, 0, 3), 2);
    cr_assert_eq(dl_viz_top_hidden_for_class(m->net, 1, 1), 2);
    cr_assert_eq(dl_viz_top_hidden_for_class(m->net, 1, 3), 0);
    dl_model_free(m);
}

Test(viz, delta_maps_show_trained_minus_initial_and_deep_layers_pad_with_nan)
{
    dl_model *m = hand_model();
    for (size_t i = 0; i < m->net->nparams; i++) m->init_params[i] = m->net->params[i] - 0.5f;
    float map[16];
    dl_viz_weight_map(m, 1, 0, 1, map);
    for (int i = 0; i < 16; i++) cr_assert_float_eq(map[i], 0.5f, 1e-6);
    int mw, mh;
    dl_viz_weight_shape(m, 2, &mw, &mh); /* 3 hidden neurons → a 2x2 grid */
    cr_assert_eq(mw * mh, 4);
    dl_viz_weight_map(m, 2, 1, 0, map);
    cr_assert_eq(map[2], 3.0f);
    cr_assert(isnan(map[3]));
    dl_model_free(m);
}

Test(viz, heatmap_and_activation_pictures_have_their_panels)
{
    dl_model *m = hand_model();
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (i % 4) < 2 ? 1.0f : 0.0f;
    dl_viz_style st = {NULL, 8};
    dl_err e;
    dl_canvas *h3 = dl_viz_heatmap_picture(m, 0, -1, x, &st, &e);
    dl_canvas *h4 = dl_viz_heatmap_picture(m, 0, 1, x, &st, &e);
    dl_canvas *a = dl_viz_activation_picture(m, x, &st, &e);
    cr_assert(h3 && h4 && a, "%s", e.msg);
    cr_assert_gt(h4->w, h3->w); /* the gradient panel is a fourth column */
    /* The product panel: third panel, left half ink × +1 weights → red. */
    int px = 8 + 2 * (32 + 24) + 4, py = 8 + 15 + 4 + 2 * 8 + 4;
    dl_rgb c = dl_canvas_get(h3, px, py);
    cr_assert(c.r > c.b + 60, "product panel not red at the left: %d,%d,%d", c.r, c.g, c.b);
    dl_canvas_free(h3);
    dl_canvas_free(h4);
    dl_canvas_free(a);
    dl_model_free(m);
}

Test(viz, activation_scale_follows_the_activation_range)
{
    float a[4] = {0.0f, 2.5f, 0.5f, INFINITY};
    dl_colorscale s = dl_viz_activation_scale(DL_ACT_SIGMOID, a, 4);
    cr_assert(s.kind == DL_CMAP_VIRIDIS && s.lo == 0.0f && s.hi == 1.0f);
    s = dl_viz_activation_scale(DL_ACT_TANH, a, 4);
    cr_assert(s.kind == DL_CMAP_DIVERGING && s.lo == -1.0f && s.hi == 1.0f);
    s = dl_viz_activation_scale(DL_ACT_RELU, a, 4); /* the largest finite output */
    cr_assert(s.kind == DL_CMAP_VIRIDIS && s.lo == 0.0f && s.hi == 2.5f);
    float dead[3] = {0.0f, 0.0f, 0.0f};
    s = dl_viz_activation_scale(DL_ACT_RELU, dead, 3);
    cr_assert(s.lo == 0.0f && s.hi == 1.0f);
}

Test(viz, activation_picture_of_a_tanh_layer_shows_negative_outputs_blue)
{
    dl_model *m = hand_model();
    m->net->act[0] = DL_ACT_TANH;
    for (int i = 0; i < 48; i++) m->net->w[0][i] = 0.0f;
    for (int j = 0; j < 3; j++) m->net->b[0][j] = -3.0f; /* tanh(−3) ≈ −0.995 */
    float x[16] = {0};
    dl_viz_style st = {NULL, 8};
    dl_err e;
    dl_canvas *a = dl_viz_activation_picture(m, x, &st, &e);
    cr_assert_not_null(a, "%s", e.msg);
    /* The hidden grid holds cells of tanh(−3)'s colour on the diverging
     * scale −1..1 (dark blue); viridis 0..1 would clamp them to its purple. */
    dl_rgb want = dl_cmap_diverging(tanhf(-3.0f), 1.0f);
    int blue = 0;
    for (int y = 0; y < a->h; y++)
        for (int x2 = 0; x2 < a->w; x2++) {
            dl_rgb c = dl_canvas_get(a, x2, y);
            blue += c.r == want.r && c.g == want.g && c.b == want.b;
        }
    cr_assert_geq(blue, 3 * 8 * 8, "%d pixels of tanh(-3)'s blue", blue);
    dl_canvas_free(a);
    dl_model_free(m);
}
