/*
 * viz.c — weight maps, heatmaps, activation pictures and templates (see
 * viz.h).  Every picture is assembled from canvas primitives with a legend;
 * the numbers drawn come from the *_map functions, which tests check
 * against the equations directly.
 */
#include "digitlens/viz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 8, TEXT = 13, TITLE = 15, BAR_H = 2 * TEXT + 15 };

static const dl_rgb WHITE = {255, 255, 255};
static const dl_rgb SEP = {200, 200, 200};

void dl_viz_weight_shape(const dl_model *m, int layer, int *mw, int *mh)
{
    if (layer <= 1) {
        *mw = m->cols;
        *mh = m->rows;
        return;
    }
    int rows, cols;
    dl_grid_shape(m->net->sizes[layer - 1], &rows, &cols);
    *mw = cols;
    *mh = rows;
}

void dl_viz_weight_map(const dl_model *m, int layer, int neuron, int delta, float *map)
{
    const dl_net *n = m->net;
    int in = n->sizes[layer - 1], mw, mh;
    dl_viz_weight_shape(m, layer, &mw, &mh);
    size_t off = dl_net_woff(n, layer - 1) + (size_t)neuron * in;
    const float *w = n->params + off, *w0 = m->init_params + off;
    for (int i = 0; i < mw * mh; i++)
        map[i] = i < in ? (delta ? w[i] - w0[i] : w[i]) : NAN;
}

void dl_viz_contribution_map(const dl_net *n, int neuron, const float *x, float *out)
{
    const float *w = n->w[0] + (size_t)neuron * n->sizes[0];
    for (int i = 0; i < n->sizes[0]; i++) out[i] = x[i] * w[i];
}

dl_status dl_viz_input_x_gradient(const dl_net *n, int cls, const float *x, float *out, dl_err *e)
{
    dl_trace *t = dl_trace_new(n, e);
    if (!t) return e ? e->code : DL_ENOMEM;
    dl_net_forward(n, x, t);
    dl_net_input_gradient(n, t, n->nlayers - 1, cls, out);
    for (int i = 0; i < n->sizes[0]; i++) out[i] *= x[i];
    dl_trace_free(t);
    return DL_OK;
}

dl_status dl_viz_template_map(const dl_net *n, int cls, float *out, dl_err *e)
{
    /* Walk a row vector backwards: r ← rᵀ W[l], from the output layer down. */
    int maxw = 0;
    for (int l = 0; l < n->nlayers; l++)
        if (n->sizes[l] > maxw) maxw = n->sizes[l];
    float *r = calloc((size_t)maxw, sizeof(float)), *s = calloc((size_t)maxw, sizeof(float));
    if (!r || !s) {
        free(r);
        free(s);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    int L = n->nlayers - 1;
    r[cls] = 1.0f;
    for (int l = L - 1; l >= 0; l--) {
        int in = n->sizes[l], o = n->sizes[l + 1];
        memset(s, 0, (size_t)in * sizeof(float));
        for (int j = 0; j < o; j++) {
            if (r[j] == 0.0f) continue;
            const float *row = n->w[l] + (size_t)j * in;
            for (int k = 0; k < in; k++) s[k] += r[j] * row[k];
        }
        memcpy(r, s, (size_t)in * sizeof(float));
    }
    memcpy(out, r, (size_t)n->sizes[0] * sizeof(float));
    free(r);
    free(s);
    return DL_OK;
}

int dl_viz_top_hidden_for_class(const dl_net *n, int cls, int k)
{
    int H = n->sizes[1];
    const float *w2 = n->w[1] + (size_t)cls * H;
    /* Selection by repeated max keeps ties in index order: deterministic. */
    int best = -1;
    float bound = INFINITY;
    int bound_idx = -1;
    for (int r = 0; r < k; r++) {
        best = -1;
        for (int j = 0; j < H; j++) {
            int below = w2[j] < bound || (w2[j] == bound && j > bound_idx);
            if (below && (best < 0 || w2[j] > w2[best])) best = j;
        }
        if (best < 0) return -1;
        bound = w2[best];
        bound_idx = best;
    }
    return best;
}

/* ±max|v| over the finite values (1 when there are none): a map's own
 * diverging limit. */
static float own_limit(const float *v, size_t n)
{
    return dl_scale_fit(DL_CMAP_DIVERGING, v, n).hi;
}

float dl_viz_layer_limit(const dl_model *m, int layer, int delta)
{
    const dl_net *n = m->net;
    size_t off = dl_net_woff(n, layer - 1), cnt = (size_t)n->sizes[layer] * n->sizes[layer - 1];
    float lim = 0.0f;
    for (size_t i = 0; i < cnt; i++) {
        float v = delta ? n->params[off + i] - m->init_params[off + i] : n->params[off + i];
        if (fabsf(v) > lim) lim = fabsf(v);
    }
    return lim;
}

static void text(dl_canvas *c, const dl_viz_style *st, int x, int y, const char *s, int px)
{
    dl_canvas_text(c, st->font, x, y, s, px, DL_RGB_TEXT);
}

static int fits(const dl_viz_style *st, const char *s, int px) { return dl_canvas_text_width(st->font, s, px); }

static dl_canvas *new_canvas(int w, int h, dl_err *e) { return dl_canvas_new(w, h, WHITE, e); }

/* The last layer's neurons are the outputs: named by the digit they stand
 * for.  Other layers' neurons by their index. */
static void neuron_name(const dl_model *m, int layer, int j, char *buf, size_t cap)
{
    if (layer == m->net->nlayers - 1) snprintf(buf, cap, "output %d (digit %d)", j, m->classes[j]);
    else snprintf(buf, cap, "layer %d, neuron %d", layer, j);
}

/* Writes label at the centre of a cell of side `cell` px whose top-left is
 * (x, y), dark on light colours and white on dark ones. */
static void cell_label(dl_canvas *c, const dl_viz_style *st, int x, int y, int cell, const char *label, dl_rgb bg)
{
    int px = cell / 3 > 12 ? 12 : cell / 3;
    int lum = (299 * bg.r + 587 * bg.g + 114 * bg.b) / 1000;
    dl_canvas_text_aligned(c, st->font, x + cell / 2, y + (cell - px) / 2, label, px, lum < 120 ? WHITE : DL_RGB_TEXT,
                           DL_ALIGN_CENTER);
}

/* Deeper layers' maps are small grids of the previous layer's neurons
 * (10 x 10 for 100): their cells are drawn large enough to carry the index
 * of the neuron each weight comes from. */
enum { CELL_MIN = 24, CELL_MAX = 48, MAP_MIN = 240 };

static int cell_scale(int layer, int mw, int scale)
{
    if (layer <= 1) return scale;
    int sc = (MAP_MIN + mw - 1) / mw;
    if (sc < CELL_MIN) sc = CELL_MIN;
    if (sc > CELL_MAX) sc = CELL_MAX;
    return sc > scale ? sc : scale;
}

dl_canvas *dl_viz_weight_picture(const dl_model *m, int layer, int neuron, int delta, float limit,
                                 const dl_viz_style *st, dl_err *e)
{
    int mw, mh;
    dl_viz_weight_shape(m, layer, &mw, &mh);
    int sc = cell_scale(layer, mw, st->scale), in = m->net->sizes[layer - 1];
    float *map = malloc((size_t)mw * mh * sizeof(float));
    if (!map) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    dl_viz_weight_map(m, layer, neuron, delta, map);
    if (!(limit > 0.0f)) limit = own_limit(map, (size_t)mw * mh);
    char title[200], who[64];
    neuron_name(m, layer, neuron, who, sizeof who);
    if (layer > 1)
        snprintf(title, sizeof title, "%s%s: weights from layer %d's %d neuron%s", who,
                 delta ? ", change since init" : "", layer - 1, in, in == 1 ? "" : "s");
    else
        snprintf(title, sizeof title, "%s%s", who, delta ? ": change since init" : "");
    int w = mw * sc, minw = fits(st, title, TITLE) + 2 * PAD;
    if (w < minw) w = minw;
    if (w < 200) w = 200;
    int y0 = mh * sc;
    dl_canvas *c = new_canvas(w, y0 + PAD + TITLE + PAD + BAR_H + PAD, e);
    if (!c) {
        free(map);
        return NULL;
    }
    dl_canvas_draw_map(c, 0, 0, map, mw, mh, sc, dl_scale_diverging(limit));
    for (int i = 0; layer > 1 && i < in; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        cell_label(c, st, (i % mw) * sc, (i / mw) * sc, sc, num, dl_scale_color(dl_scale_diverging(limit), map[i]));
    }
    text(c, st, PAD, y0 + PAD, title, TITLE);
    dl_status s = dl_canvas_colorbar(c, st->font, PAD, y0 + 2 * PAD + TITLE, w - 2 * PAD, BAR_H,
                                     dl_scale_diverging(limit), delta ? "weight change" : "weight", TEXT, e);
    free(map);
    if (s != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}

dl_canvas *dl_viz_weight_grid(const dl_model *m, int layer, int delta, int shared,
                              const dl_viz_style *st, dl_err *e)
{
    return dl_viz_weight_grid_ordered(m, layer, delta, shared, NULL, st, e);
}

dl_canvas *dl_viz_weight_grid_ordered(const dl_model *m, int layer, int delta, int shared, const int *order,
                                      const dl_viz_style *st, dl_err *e)
{
    int mw, mh, n = m->net->sizes[layer];
    dl_viz_weight_shape(m, layer, &mw, &mh);
    size_t cell = (size_t)mw * mh;
    float *maps = malloc((size_t)n * cell * sizeof(float));
    if (!maps) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    float limit = shared ? dl_viz_layer_limit(m, layer, delta) : 1.0f;
    if (!(limit > 0.0f)) limit = 1.0f;
    for (int j = 0; j < n; j++) {
        float *t = maps + (size_t)j * cell;
        dl_viz_weight_map(m, layer, order ? order[j] : j, delta, t);
        if (!shared) { /* each tile to its own ±1, so weak neurons stay visible */
            float lim = own_limit(t, cell);
            for (size_t i = 0; i < cell; i++) t[i] /= lim;
        }
    }
    int tile_scale = st->scale / 4 > 0 ? st->scale / 4 : 1;
    if (mw * tile_scale < 20) tile_scale = (20 + mw - 1) / mw;
    if (layer > 1 && mw * tile_scale < 60) tile_scale = (60 + mw - 1) / mw; /* room for the digit's name */
    enum { SEPW = 2 };
    dl_canvas *g = dl_montage_maps(maps, n, mw, mh, tile_scale, SEPW, SEP, dl_scale_diverging(limit), e);
    free(maps);
    if (!g) return NULL;
    /* Each tile carries its neuron's number (an output's digit) in a white
     * tab above its top-left corner's pixels, as in the report's grid. */
    int rows, cols, cw = mw * tile_scale, ch = mh * tile_scale;
    dl_grid_shape(n, &rows, &cols);
    for (int j = 0; j < n; j++) {
        char num[16];
        if (layer == m->net->nlayers - 1) snprintf(num, sizeof num, "%d", m->classes[j]);
        else snprintf(num, sizeof num, "%d", j);
        int x = SEPW + (j % cols) * (cw + SEPW), y = SEPW + (j / cols) * (ch + SEPW), px = 10;
        int nw = fits(st, num, px) + 4;
        if (nw > cw || px + 2 > ch) continue;
        dl_canvas_fill_rect(g, x, y, nw, px + 3, WHITE);
        dl_canvas_text(g, st->font, x + 2, y + 1, num, px, DL_RGB_TEXT);
    }
    (void)rows;
    char title[200];
    int outputs = layer == m->net->nlayers - 1;
    snprintf(title, sizeof title, "layer %d: %d %s%s%s, %s%s", layer, n, outputs ? "output" : "neuron", n == 1 ? "" : "s",
             delta ? " (change since init)" : "", shared ? "one colour scale for all" : "each scaled to its own max |w|",
             order ? "; ordered by clustering of activations" : "");
    int w = g->w + 2 * PAD, tw = fits(st, title, TITLE) + 2 * PAD;
    if (w < tw) w = tw;
    if (w < 260) w = 260;
    dl_canvas *c = new_canvas(w, PAD + TITLE + PAD + g->h + PAD + BAR_H + PAD, e);
    if (!c) {
        dl_canvas_free(g);
        return NULL;
    }
    text(c, st, PAD, PAD, title, TITLE);
    int gy = 2 * PAD + TITLE;
    dl_canvas_blit(c, (w - g->w) / 2, gy, g);
    int bw = w - 2 * PAD > 320 ? 320 : w - 2 * PAD;
    dl_status s = dl_canvas_colorbar(c, st->font, (w - bw) / 2, gy + g->h + PAD, bw, BAR_H,
                                     dl_scale_diverging(limit),
                                     shared ? (delta ? "weight change" : "weight") : "relative weight (±max per neuron)",
                                     TEXT, e);
    dl_canvas_free(g);
    if (s != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}

/* A titled map panel with its own colour bar underneath; returns the height used. */
static dl_status panel(dl_canvas *c, const dl_viz_style *st, int x, int y, const char *title,
                       const float *map, int mw, int mh, dl_colorscale cs, const char *barlabel, dl_err *e)
{
    int w = mw * st->scale;
    text(c, st, x, y, title, TITLE);
    dl_canvas_draw_map(c, x, y + TITLE + 4, map, mw, mh, st->scale, cs);
    dl_canvas_rect_outline(c, x - 1, y + TITLE + 3, w + 2, mh * st->scale + 2, 1, SEP);
    return dl_canvas_colorbar(c, st->font, x, y + TITLE + 4 + mh * st->scale + PAD, w, BAR_H, cs, barlabel,
                              TEXT, e);
}

dl_canvas *dl_viz_heatmap_picture(const dl_model *m, int neuron, int cls, const float *x,
                                  const dl_viz_style *st, dl_err *e)
{
    const dl_net *n = m->net;
    int mw = m->cols, mh = m->rows, np = n->sizes[0];
    float *w = malloc((size_t)np * sizeof(float)), *prod = malloc((size_t)np * sizeof(float));
    float *grad = cls >= 0 ? malloc((size_t)np * sizeof(float)) : NULL;
    dl_canvas *c = NULL;
    if (!w || !prod || (cls >= 0 && !grad)) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    dl_viz_weight_map(m, 1, neuron, 0, w);
    dl_viz_contribution_map(n, neuron, x, prod);
    if (cls >= 0 && dl_viz_input_x_gradient(n, cls, x, grad, e) != DL_OK) goto out;
    double sum = 0.0;
    for (int i = 0; i < np; i++) sum += prod[i];
    float b = n->b[0][neuron], z = (float)(sum + b);
    int panels = cls >= 0 ? 4 : 3, pw = mw * st->scale, gap = 3 * PAD;
    int W = PAD + panels * pw + (panels - 1) * gap + PAD;
    int H = PAD + TITLE + 4 + mh * st->scale + PAD + BAR_H + PAD + 2 * (TITLE + 6) + PAD;
    c = new_canvas(W, H, e);
    if (!c) goto out;
    int y = PAD, xx = PAD;
    dl_status s = panel(c, st, xx, y, "input x", x, mw, mh, dl_scale_sequential(DL_CMAP_INK, 0, 1), "pixel value", e);
    char t[200];
    snprintf(t, sizeof t, "weights w of neuron %d", neuron);
    if (s == DL_OK)
        s = panel(c, st, xx += pw + gap, y, t, w, mw, mh, dl_scale_fit(DL_CMAP_DIVERGING, w, (size_t)np), "weight", e);
    if (s == DL_OK)
        s = panel(c, st, xx += pw + gap, y, "input × weights", prod, mw, mh, dl_scale_fit(DL_CMAP_DIVERGING, prod, (size_t)np),
                  "contribution to z", e);
    if (s == DL_OK && cls >= 0) {
        snprintf(t, sizeof t, "input × ∂y%d/∂x (network)", m->classes[cls]);
        s = panel(c, st, xx += pw + gap, y, t, grad, mw, mh, dl_scale_fit(DL_CMAP_DIVERGING, grad, (size_t)np),
                  "linearised contribution", e);
    }
    if (s != DL_OK) {
        dl_canvas_free(c);
        c = NULL;
        goto out;
    }
    int ty = PAD + TITLE + 4 + mh * st->scale + PAD + BAR_H + PAD;
    snprintf(t, sizeof t, "z = Σ wᵢxᵢ + b = %.3f + (%.3f) = %.3f", sum, b, z);
    if (!st->font) snprintf(t, sizeof t, "z = sum(w*x) + b = %.3f + (%.3f) = %.3f", sum, b, z);
    text(c, st, PAD, ty, t, TITLE);
    float a;
    dl_act_apply(n->act[0], &z, &a, 1);
    const char *f = n->act[0] == DL_ACT_SIGMOID ? "σ" : dl_act_name(n->act[0]);
    snprintf(t, sizeof t, "activation %s(z) = %.4f   (red pixels push z up, blue pull it down)", f, a);
    if (!st->font) snprintf(t, sizeof t, "activation %s(z) = %.4f  (red pushes z up, blue down)", dl_act_name(n->act[0]), a);
    text(c, st, PAD, ty + TITLE + 6, t, TITLE);
out:
    free(w);
    free(prod);
    free(grad);
    return c;
}

dl_colorscale dl_viz_activation_scale(dl_act f, const float *a, int n)
{
    if (f == DL_ACT_TANH) return dl_scale_diverging(1.0f);
    if (f != DL_ACT_RELU) return dl_scale_sequential(DL_CMAP_VIRIDIS, 0, 1);
    float hi = 0.0f;
    for (int i = 0; i < n; i++)
        if (a[i] > hi && a[i] < INFINITY) hi = a[i];
    return dl_scale_sequential(DL_CMAP_VIRIDIS, 0, hi > 0.0f ? hi : 1.0f);
}

void dl_viz_neuron_grid(dl_canvas *c, int x, int y, const float *v, int n, int cell, dl_colorscale cs,
                        const dl_viz_style *st)
{
    int rows, cols;
    dl_grid_shape(n, &rows, &cols);
    int px = cell * 9 / 20;
    if (px > TEXT) px = TEXT;
    for (int i = 0; i < rows * cols; i++) {
        int cx = x + (i % cols) * cell, cy = y + (i / cols) * cell;
        dl_rgb col = i < n ? dl_scale_color(cs, v[i]) : DL_RGB_NAN;
        dl_canvas_fill_rect(c, cx, cy, cell, cell, col);
        if (i >= n || px < 1) continue;
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        if (dl_canvas_text_width(st->font, num, px) > cell - 2) continue; /* too small a cell: colour only */
        /* Dark text on light cells, white on dark ones (Rec. 601 luma). */
        int luma = (299 * col.r + 587 * col.g + 114 * col.b) / 1000;
        dl_canvas_text_aligned(c, st->font, cx + cell / 2, cy + (cell - px) / 2, num, px,
                               luma < 110 ? WHITE : DL_RGB_TEXT, DL_ALIGN_CENTER);
    }
}

dl_canvas *dl_viz_add_notes(const dl_canvas *c, const char *const *lines, int n, const dl_viz_style *st,
                            dl_err *e)
{
    int w = c->w;
    for (int i = 0; i < n; i++) {
        int tw = fits(st, lines[i], TITLE) + 2 * PAD;
        if (tw > w) w = tw;
    }
    dl_canvas *out = new_canvas(w, c->h + n * (TITLE + 6) + PAD, e);
    if (!out) return NULL;
    dl_canvas_blit(out, 0, 0, c);
    for (int i = 0; i < n; i++) text(out, st, PAD, c->h + i * (TITLE + 6), lines[i], TITLE);
    return out;
}

dl_canvas *dl_viz_activation_picture(const dl_model *m, const float *x, const dl_viz_style *st, dl_err *e)
{
    return dl_viz_activation_picture_shaded(m, x, NULL, NULL, NULL, st, e);
}

dl_canvas *dl_viz_activation_picture_shaded(const dl_model *m, const float *x, const float *shade,
                                            const char *shade_title, const char *shade_label,
                                            const dl_viz_style *st, dl_err *e)
{
    const dl_net *n = m->net;
    dl_trace *t = dl_trace_new(n, e);
    if (!t) return NULL;
    const float *out = dl_net_forward(n, x, t);
    int L = n->nlayers - 1, K = n->sizes[L], H = n->sizes[1];
    int rows, cols;
    dl_grid_shape(H, &rows, &cols);
    dl_colorscale cs = shade ? dl_scale_fit(DL_CMAP_DIVERGING, shade, (size_t)H)
                             : dl_viz_activation_scale(n->act[0], t->a[1], H);
    int side = m->rows * st->scale, cell = side / (rows > cols ? rows : cols);
    if (cell < 4) cell = 4;
    int gw = cols * cell, gh = rows * cell, chart_w = 300, gap = 3 * PAD;
    int ph = side > gh ? side : gh;
    char title[160], note[200];
    snprintf(note, sizeof note, "Neurons 0..%d in row-major order (neuron 0 top left, %d per row): "
             "the grid's layout has no spatial meaning.", H - 1, cols);
    int W = PAD + m->cols * st->scale + gap + gw + gap + chart_w + PAD, nw = fits(st, note, TEXT) + 2 * PAD;
    if (W < nw) W = nw;
    int Hc = PAD + TITLE + 4 + ph + PAD + BAR_H + PAD + TEXT + PAD;
    dl_canvas *c = new_canvas(W, Hc, e);
    dl_status s = c ? DL_OK : DL_ENOMEM;
    int xx = PAD;
    if (s == DL_OK)
        s = panel(c, st, xx, PAD, "input", x, m->cols, m->rows, dl_scale_sequential(DL_CMAP_INK, 0, 1),
                  "pixel value", e);
    xx += m->cols * st->scale + gap;
    if (s == DL_OK) {
        if (shade_title) snprintf(title, sizeof title, "%s", shade_title);
        else if (n->act[0] == DL_ACT_SIGMOID) snprintf(title, sizeof title, "layer 1: %d hidden outputs (%dx%d)", H, rows, cols);
        else snprintf(title, sizeof title, "layer 1: %d %s outputs (%dx%d)", H, dl_act_name(n->act[0]), rows, cols);
        text(c, st, xx, PAD, title, TITLE);
        const float *v = shade ? shade : t->a[1];
        dl_viz_neuron_grid(c, xx, PAD + TITLE + 4, v, H, cell, cs, st);
        s = dl_canvas_colorbar(c, st->font, xx, PAD + TITLE + 4 + ph + PAD, gw, BAR_H, cs,
                               shade ? (shade_label ? shade_label : "value") : "activation", TEXT, e);
        dl_canvas_text(c, st->font, PAD, Hc - PAD - TEXT, note, TEXT, DL_RGB_TEXT);
    }
    xx += gw + gap;
    if (s == DL_OK) {
        char labels[256][8];
        const char *lp[256];
        for (int k = 0; k < K && k < 256; k++) {
            snprintf(labels[k], sizeof labels[k], "%d", m->classes[k]);
            lp[k] = labels[k];
        }
        dl_barchart bc = dl_barchart_defaults(out, K);
        bc.labels = lp;
        bc.highlight = dl_argmax(out, K);
        bc.lo = 0.0f;
        bc.hi = 1.0f;
        bc.show_values = 1;
        snprintf(title, sizeof title, "outputs: digit %d wins (%.3f)", m->classes[bc.highlight], out[bc.highlight]);
        bc.title = title;
        s = dl_canvas_barchart(c, st->font, xx, PAD, chart_w, ph + TITLE + 4, &bc, e);
    }
    dl_trace_free(t);
    if (s != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}

dl_canvas *dl_viz_map_row(const float *maps, int n, int mw, int mh, const char *const *titles,
                          const char *caption, const dl_viz_style *st, dl_err *e)
{
    float lim = own_limit(maps, (size_t)n * mw * mh);
    int pw = mw * st->scale, gap = PAD;
    int W = PAD + n * pw + (n - 1) * gap + PAD, cw = fits(st, caption, TITLE) + 2 * PAD;
    if (W < cw) W = cw;
    int H = PAD + TITLE + PAD + TITLE + 4 + mh * st->scale + PAD + BAR_H + PAD;
    dl_canvas *c = new_canvas(W, H, e);
    if (!c) return NULL;
    text(c, st, PAD, PAD, caption, TITLE);
    int y = 2 * PAD + TITLE;
    for (int k = 0; k < n; k++) {
        int x = PAD + k * (pw + gap);
        dl_canvas_text_aligned(c, st->font, x + pw / 2, y, titles[k], TITLE, DL_RGB_TEXT, DL_ALIGN_CENTER);
        dl_canvas_draw_map(c, x, y + TITLE + 4, maps + (size_t)k * mw * mh, mw, mh, st->scale, dl_scale_diverging(lim));
    }
    int bw = W - 2 * PAD > 360 ? 360 : W - 2 * PAD;
    if (dl_canvas_colorbar(c, st->font, (W - bw) / 2, y + TITLE + 4 + mh * st->scale + PAD, bw, BAR_H,
                           dl_scale_diverging(lim), "value (one scale for all panels)", TEXT, e) != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}
