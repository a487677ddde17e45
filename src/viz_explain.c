/*
 * viz_explain.c — attribution rows, neuron cards and maximised inputs (see
 * viz_explain.h).  Layout only: every number drawn comes from explain.c or
 * the caller.  Sizes are computed first and the canvas allocated once, so
 * a picture is either drawn whole or not at all.
 */
#include "digitlens/viz_explain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 8, GAP = 24, TEXT = 13, TITLE = 15, BAR_H = 2 * TEXT + 15, BAR_NOCAP = TEXT + 9 };

static const dl_rgb WHITE = {255, 255, 255};
static const dl_rgb SEP = {200, 200, 200};

static int imax(int a, int b) { return a > b ? a : b; }

static int text_w(const dl_viz_style *st, const char *s, int px) { return s ? dl_canvas_text_width(st->font, s, px) : 0; }

static void text(dl_canvas *c, const dl_viz_style *st, int x, int y, const char *s, int px)
{
    if (s) dl_canvas_text(c, st->font, x, y, s, px, DL_RGB_TEXT);
}

/* "× −" need a real font; the pixel font spells them out itself, but some
 * symbols it cannot (σ, ⊙, ∂), so titles made here pick a plain version. */
static const char *pick(const dl_viz_style *st, const char *fancy, const char *plain)
{
    return st->font ? fancy : plain;
}

/* ---- attribution row ---------------------------------------------------- */

dl_canvas *dl_viz_attribution_row(const float *x, int rows, int cols, const dl_viz_attr_panel *panels, int n,
                                  const char *caption, const dl_viz_style *st, dl_err *e)
{
    return dl_viz_attribution_row_scaled(x, rows, cols, panels, n, caption, 0.0f, st, e);
}

dl_canvas *dl_viz_attribution_row_scaled(const float *x, int rows, int cols, const dl_viz_attr_panel *panels,
                                         int n, const char *caption, float limit, const dl_viz_style *st,
                                         dl_err *e)
{
    if (rows < 1 || cols < 1 || n < 0 || (n == 0 && !x) || (n > 0 && !panels) || st->scale < 1) {
        dl_err_set(e, DL_EINVAL, "attribution row: nothing to draw or a bad shape (%dx%d, %d panels)", rows, cols, n);
        return NULL;
    }
    int pw = cols * st->scale, ph = rows * st->scale, np = n + (x ? 1 : 0);
    /* Each column is as wide as its map or its longest label. */
    int *cw = malloc((size_t)np * sizeof(int));
    if (!cw) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    int W = PAD, has_note = 0;
    for (int k = 0; k < np; k++) {
        const dl_viz_attr_panel *p = x ? (k ? &panels[k - 1] : NULL) : &panels[k];
        const char *t = p ? p->title : "input";
        cw[k] = imax(imax(pw, text_w(st, t, TITLE)), p ? text_w(st, p->note, TEXT) : 0);
        if (p && p->note) has_note = 1;
        W += cw[k] + (k + 1 < np ? GAP : 0);
    }
    W += PAD;
    if (caption) W = imax(W, text_w(st, caption, TITLE) + 2 * PAD);
    int y_title = PAD + (caption ? TITLE + PAD : 0);
    int y_map = y_title + TITLE + 4 + (has_note ? TEXT + 4 : 0);
    int H = y_map + ph + PAD + BAR_NOCAP + PAD;
    dl_canvas *c = dl_canvas_new(W, H, WHITE, e);
    if (!c) {
        free(cw);
        return NULL;
    }
    text(c, st, PAD, PAD, caption, TITLE);
    int cx = PAD;
    dl_status s = DL_OK;
    for (int k = 0; k < np && s == DL_OK; k++) {
        const dl_viz_attr_panel *p = x ? (k ? &panels[k - 1] : NULL) : &panels[k];
        const float *map = p ? p->map : x;
        int mx = cx + (cw[k] - pw) / 2;
        dl_colorscale cs;
        if (p) {
            cs = limit > 0.0f ? dl_scale_diverging(limit) : dl_scale_fit(DL_CMAP_DIVERGING, map, map ? (size_t)rows * cols : 0);
        } else {
            cs = dl_scale_sequential(DL_CMAP_INK, 0.0f, 1.0f);
        }
        dl_canvas_text_aligned(c, st->font, cx + cw[k] / 2, y_title, p ? p->title : "input", TITLE, DL_RGB_TEXT,
                               DL_ALIGN_CENTER);
        if (p && p->note)
            dl_canvas_text_aligned(c, st->font, cx + cw[k] / 2, y_title + TITLE + 4, p->note, TEXT, DL_RGB_TEXT,
                                   DL_ALIGN_CENTER);
        dl_canvas_draw_map(c, mx, y_map, map, cols, rows, st->scale, cs);
        dl_canvas_rect_outline(c, mx - 1, y_map - 1, pw + 2, ph + 2, 1, SEP);
        s = dl_canvas_colorbar(c, st->font, mx, y_map + ph + PAD, pw, BAR_NOCAP, cs, NULL, TEXT, e);
        cx += cw[k] + GAP;
    }
    free(cw);
    if (s != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}

/* ---- neuron card -------------------------------------------------------- */

/* A titled map with a colour bar under it, in a box pw wide. */
static dl_status map_panel(dl_canvas *c, const dl_viz_style *st, int x, int y, const char *title, const float *map,
                           int mw, int mh, dl_colorscale cs, const char *bar, dl_err *e)
{
    int pw = mw * st->scale, ph = mh * st->scale;
    text(c, st, x, y, title, TITLE);
    dl_canvas_draw_map(c, x, y + TITLE + 4, map, mw, mh, st->scale, cs);
    dl_canvas_rect_outline(c, x - 1, y + TITLE + 3, pw + 2, ph + 2, 1, SEP);
    return dl_canvas_colorbar(c, st->font, x, y + TITLE + 4 + ph + PAD, pw, BAR_H, cs, bar, TEXT, e);
}

enum { TILE_TEXT = 11 };

/* A grid of the k examples idx[] of d (dark ink on white), each with its
 * activation written under it, tiles `ts` pixels per image pixel. */
static dl_canvas *example_grid(const dl_dataset *d, const size_t *idx, const float *act, int k, int ts,
                               const dl_viz_style *st, dl_err *e)
{
    int tw = d->cols * ts, th = d->rows * ts + TILE_TEXT + 4;
    dl_canvas **tiles = calloc((size_t)k, sizeof *tiles);
    float *px = malloc(d->npix * sizeof(float));
    dl_canvas *g = NULL;
    if (!tiles || !px) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < k; i++) {
        if (!(tiles[i] = dl_canvas_new(tw, th, WHITE, e))) goto out;
        dl_dataset_image(d, idx[i], px);
        dl_canvas_draw_map(tiles[i], 0, 0, px, d->cols, d->rows, ts, dl_scale_sequential(DL_CMAP_INK, 0.0f, 1.0f));
        char v[32];
        snprintf(v, sizeof v, "%.3f", act[i]);
        dl_canvas_text_aligned(tiles[i], st->font, tw / 2, d->rows * ts + 2, v, TILE_TEXT, DL_RGB_TEXT,
                               DL_ALIGN_CENTER);
    }
    /* Columns that leave no cell empty if a nearby count does (8 as 4 x 2,
     * not 3 x 3 with a hole), else the near-square grid. */
    int rows, cols, W, H;
    dl_grid_shape(k, &rows, &cols);
    for (int c = cols; c <= 2 * cols && (long long)rows * cols != k; c++)
        if (k % c == 0) {
            cols = c;
            rows = k / c;
        }
    if (dl_montage_size(k, cols, tw, th, 2, &W, &H, e) == DL_OK && (g = dl_canvas_new(W, H, SEP, e)) &&
        dl_canvas_montage(g, 0, 0, (const dl_canvas *const *)tiles, k, cols, 2, SEP, e) != DL_OK) {
        dl_canvas_free(g);
        g = NULL;
    }
out:
    for (int i = 0; tiles && i < k; i++) dl_canvas_free(tiles[i]);
    free(tiles);
    free(px);
    return g;
}

static void pct(char *buf, size_t n, double v) { snprintf(buf, n, "%.2f%%", 100.0 * v); }

/* How often the neuron saturates, in its activation's terms: a ReLU is
 * "off" where a sigmoid or tanh is saturated, and dead when always off.
 * detail (may be NULL) gets the split, or "" when there is none. */
void dl_viz_saturation_text(const dl_neuron_stats *s, char *line, size_t cap, char *detail, size_t dcap)
{
    char a[32], b[32];
    const char *hi, *lo;
    dl_act_saturated(s->act, 0.0f, 1, &hi);
    dl_act_saturated(s->act, 0.0f, 0, &lo);
    if (s->act == DL_ACT_RELU) {
        pct(a, sizeof a, s->saturated_low);
        if (s->dead) snprintf(line, cap, "dead: never positive on these inputs");
        else snprintf(line, cap, "off (0) on %s of inputs", a);
        if (detail) snprintf(detail, dcap, "%s", "");
        return;
    }
    pct(a, sizeof a, s->saturated);
    snprintf(line, cap, "saturated on %s of inputs", a);
    pct(a, sizeof a, s->saturated_high);
    pct(b, sizeof b, s->saturated_low);
    if (detail) snprintf(detail, dcap, "%s: %s,  %s: %s", hi, a, lo, b);
}

dl_canvas *dl_viz_neuron_card(const dl_model *m, const dl_dataset *d, const dl_neuron_stats *s,
                              const dl_viz_style *st, dl_err *e)
{
    const dl_net *n = m->net;
    int layer = s->layer, mw, mh;
    if (layer < 1 || layer >= n->nlayers - 1 || s->neuron < 0 || s->neuron >= n->sizes[layer] || s->k < 1 ||
        d->rows * d->cols != n->sizes[0] || st->scale < 1) {
        dl_err_set(e, DL_EINVAL, "neuron card: the statistics do not fit this model and data set");
        return NULL;
    }
    dl_viz_weight_shape(m, layer, &mw, &mh);
    size_t cell = (size_t)mw * mh;
    float *w = malloc(cell * sizeof(float)), *dw = malloc(cell * sizeof(float));
    dl_canvas *c = NULL, *top = NULL, *bot = NULL;
    char line[512], buf[3][32];
    if (!w || !dw) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    dl_viz_weight_map(m, layer, s->neuron, 0, w);
    dl_viz_weight_map(m, layer, s->neuron, 1, dw);
    int ts = st->scale / 2 > 0 ? st->scale / 2 : 1;
    if (!(top = example_grid(d, s->top, s->top_act, s->k, ts, st, e))) goto out;
    if (!(bot = example_grid(d, s->bottom, s->bottom_act, s->k, ts, st, e))) goto out;

    /* Row A: weights, change, two bar charts.  Row B: the two example grids
     * and the figures.  Widths first, then one canvas. */
    /* Maps of deeper layers are small grids (6x5 for 30 neurons): enlarge
     * them to the size a first-layer map would have, and never below what
     * the titles and colour bars need. */
    dl_viz_style ms = *st;
    int side = mw > mh ? mw : mh, want = imax(d->cols * st->scale, 168);
    if (side * ms.scale < want) ms.scale = (want + side - 1) / side;
    int pw = mw * ms.scale, ph = mh * ms.scale, chart_w = 280;
    int rowA_h = TITLE + 4 + ph + PAD + BAR_H;
    int chart_h = rowA_h;
    int figs_w = 360;
    int wA = PAD + pw + GAP + pw + GAP + chart_w + GAP + chart_w + PAD;
    char ttop[96], tbot[96];
    snprintf(ttop, sizeof ttop, "the %d that drive it highest", s->k);
    snprintf(tbot, sizeof tbot, "the %d that drive it lowest", s->k);
    int gw1 = imax(top->w, text_w(st, ttop, TITLE)), gw2 = imax(bot->w, text_w(st, tbot, TITLE));
    int wB = PAD + gw1 + GAP + gw2 + GAP + figs_w + PAD;
    int W = imax(wA, wB);
    int y0 = PAD, yA = y0 + TITLE + 6 + TEXT + PAD + PAD;
    int yB = yA + rowA_h + 2 * PAD;
    int H = yB + TITLE + 4 + imax(top->h, 12 * (TEXT + 6)) + PAD;
    if (!(c = dl_canvas_new(W, H, WHITE, e))) goto out;

    snprintf(line, sizeof line, "layer %d, neuron %d: what it responds to (%zu image%s)", layer, s->neuron, s->n,
             s->n == 1 ? "" : "s");
    dl_canvas_text(c, st->font, PAD, y0, line, TITLE + 2, DL_RGB_TEXT);
    char sat[96], satd[96];
    dl_viz_saturation_text(s, sat, sizeof sat, satd, sizeof satd);
    pct(buf[1], sizeof buf[1], s->accuracy);
    pct(buf[2], sizeof buf[2], s->ablated_accuracy);
    snprintf(line, sizeof line, "mean %s activation %.3f;  %s;  accuracy %s, without it %s", dl_act_name(s->act),
             (double)s->mean, sat, buf[1], buf[2]);
    text(c, st, PAD, y0 + TITLE + 6, line, TEXT);

    int x = PAD;
    char t[160];
    dl_status r = map_panel(c, &ms, x, yA, "incoming weights", w, mw, mh, dl_scale_fit(DL_CMAP_DIVERGING, w, cell), "weight", e);
    x += pw + GAP;
    if (r == DL_OK && dl_model_has_init(m)) {
        r = map_panel(c, &ms, x, yA, pick(st, "trained − initial", "trained - initial"), dw, mw, mh,
                      dl_scale_fit(DL_CMAP_DIVERGING, dw, cell), "weight change", e);
    } else if (r == DL_OK) {
        /* An imported model has no initial weights: say so instead of a
         * blank map with a meaningless colour bar. */
        text(c, st, x, yA, pick(st, "trained − initial", "trained - initial"), TITLE);
        dl_canvas_fill_rect(c, x, yA + TITLE + 4, pw, ph, DL_RGB(238, 238, 238));
        dl_canvas_text_aligned(c, st->font, x + pw / 2, yA + TITLE + 4 + ph / 2 - TEXT, "not available:", TEXT,
                               DL_RGB_TEXT, DL_ALIGN_CENTER);
        dl_canvas_text_aligned(c, st->font, x + pw / 2, yA + TITLE + 4 + ph / 2 + 4, "imported model", TEXT,
                               DL_RGB_TEXT, DL_ALIGN_CENTER);
    }
    x += pw + GAP;
    char labels[256][8];
    const char *lp[256];
    int K = s->nclasses;
    for (int k = 0; k < K && k < 256; k++) {
        snprintf(labels[k], sizeof labels[k], "%d", m->classes[k]);
        lp[k] = labels[k];
    }
    /* Horizontal charts: a row per class leaves room to print every value,
     * which the columns of a vertical chart would have to drop. */
    if (r == DL_OK) {
        dl_barchart bc = dl_barchart_defaults(s->class_mean, K);
        bc.labels = lp;
        bc.text_px = TEXT;
        bc.highlight = dl_argmax(s->class_mean, K);
        text(c, st, x, yA, "mean activation per class", TITLE);
        r = dl_canvas_barchart(c, st->font, x, yA + TITLE + 8, chart_w, chart_h - TITLE - 8, &bc, e);
    }
    x += chart_w + GAP;
    if (r == DL_OK) {
        int last = layer + 1 == n->nlayers - 1;
        dl_barchart bc = dl_barchart_defaults(s->out_weights, s->nout);
        if (last && s->nout == K) bc.labels = lp;
        bc.text_px = s->nout <= 16 ? TEXT : 9;
        bc.highlight = dl_argmax(s->out_weights, s->nout);
        bc.show_values = s->nout <= 32;
        snprintf(t, sizeof t, last ? "its weight into each output" : "its weight into each neuron of layer %d",
                 layer + 1);
        text(c, st, x, yA, t, TITLE);
        r = dl_canvas_barchart(c, st->font, x, yA + TITLE + 8, chart_w, chart_h - TITLE - 8, &bc, e);
    }
    if (r != DL_OK) goto fail;

    x = PAD;
    text(c, st, x, yB, ttop, TITLE);
    dl_canvas_blit(c, x, yB + TITLE + 4, top);
    x += gw1 + GAP;
    text(c, st, x, yB, tbot, TITLE);
    dl_canvas_blit(c, x, yB + TITLE + 4, bot);
    x += gw2 + GAP;

    text(c, st, x, yB, "figures", TITLE);
    int ly = yB + TITLE + 6, step = TEXT + 6;
    snprintf(line, sizeof line, "examples: %zu", s->n);
    text(c, st, x, ly, line, TEXT), ly += step;
    snprintf(line, sizeof line, "mean activation: %.3f", (double)s->mean);
    text(c, st, x, ly, line, TEXT), ly += step;
    text(c, st, x, ly, sat, TEXT), ly += step;
    snprintf(line, sizeof line, "    %s", satd);
    if (satd[0]) text(c, st, x, ly, line, TEXT);
    ly += step + 6;
    pct(buf[0], sizeof buf[0], s->accuracy);
    snprintf(line, sizeof line, "accuracy with it: %s", buf[0]);
    text(c, st, x, ly, line, TEXT), ly += step;
    pct(buf[0], sizeof buf[0], s->ablated_accuracy);
    snprintf(line, sizeof line, "removed (outgoing weights 0): %s", buf[0]);
    text(c, st, x, ly, line, TEXT), ly += step;
    snprintf(line, sizeof line, "    drop: %+.2f points", 100.0 * s->ablation_drop);
    text(c, st, x, ly, line, TEXT), ly += step;
    pct(buf[0], sizeof buf[0], s->mean_ablated_accuracy);
    snprintf(line, sizeof line, "held at its mean %.3f: %s", (double)s->mean, buf[0]);
    text(c, st, x, ly, line, TEXT), ly += step;
    snprintf(line, sizeof line, "    drop: %+.2f points", 100.0 * s->mean_ablation_drop);
    text(c, st, x, ly, line, TEXT), ly += step + 6;
    int best = dl_argmax(s->class_mean, K), worst = 0;
    for (int k = 1; k < K; k++)
        if (s->class_mean[k] < s->class_mean[worst]) worst = k;
    snprintf(line, sizeof line, "most active on %d (%.3f), least on %d (%.3f)", m->classes[best],
             (double)s->class_mean[best], m->classes[worst], (double)s->class_mean[worst]);
    text(c, st, x, ly, line, TEXT);
    goto out;
fail:
    dl_canvas_free(c);
    c = NULL;
out:
    free(w);
    free(dw);
    dl_canvas_free(top);
    dl_canvas_free(bot);
    return c;
}

/* ---- maximised input ---------------------------------------------------- */

dl_canvas *dl_viz_maximize_picture(const float *x, int rows, int cols, const char *title, const char *subtitle,
                                   const dl_viz_style *st, dl_err *e)
{
    if (rows < 1 || cols < 1 || !x || st->scale < 1) {
        dl_err_set(e, DL_EINVAL, "maximize picture: nothing to draw (%dx%d)", rows, cols);
        return NULL;
    }
    int pw = cols * st->scale, ph = rows * st->scale;
    int W = imax(imax(pw, 240), imax(text_w(st, title, TITLE), text_w(st, subtitle, TEXT))) + 2 * PAD;
    int y_sub = PAD + (title ? TITLE + 4 : 0), y_map = y_sub + (subtitle ? TEXT + 4 : 0) + 4;
    int H = y_map + ph + PAD + BAR_H + PAD;
    dl_canvas *c = dl_canvas_new(W, H, WHITE, e);
    if (!c) return NULL;
    text(c, st, PAD, PAD, title, TITLE);
    text(c, st, PAD, y_sub, subtitle, TEXT);
    int mx = (W - pw) / 2;
    dl_colorscale cs = dl_scale_sequential(DL_CMAP_INK, 0.0f, 1.0f);
    dl_canvas_draw_map(c, mx, y_map, x, cols, rows, st->scale, cs);
    dl_canvas_rect_outline(c, mx - 1, y_map - 1, pw + 2, ph + 2, 1, SEP);
    int bw = imax(pw, 200);
    if (dl_canvas_colorbar(c, st->font, (W - bw) / 2, y_map + ph + PAD, bw, BAR_H, cs, "pixel value (ink)", TEXT, e) !=
        DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}
