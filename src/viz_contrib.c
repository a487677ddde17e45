/*
 * viz_contrib.c — the contributions picture (see viz_contrib.h).
 *
 * Two bands.  The top band answers "who voted": the input, the vote grid
 * (and, for deeper networks, the conductance grids of the layers below)
 * and the bar chart whose bars add up to z.  The bottom band answers
 * "what did the strongest voters see": one row per neuron with its weight
 * map and input × weights, the maps viz.h computes for the heatmap.  All
 * positions are computed up front so the canvas is allocated once.
 */
#include "digitlens/viz_contrib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAD = 8, TEXT = 13, TITLE = 15, BAR_H = 2 * TEXT + 15, GAP = 3 * PAD, CHART_W = 330, MAX_BARS = 8 };

static const dl_rgb WHITE = {255, 255, 255};
static const dl_rgb SEP = {200, 200, 200};
static const dl_rgb FOR = {202, 59, 52}, AGAINST = {48, 104, 176}, OTHER = {150, 150, 150};

static void text(dl_canvas *c, const dl_viz_style *st, int x, int y, const char *s, int px)
{
    dl_canvas_text(c, st->font, x, y, s, px, DL_RGB_TEXT);
}

static float max_abs(const float *v, size_t n)
{
    float m = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabsf(v[i]) > m) m = fabsf(v[i]);
    return m > 0.0f ? m : 1.0f;
}

/* The names a label uses for the weights into the output: W2[3,j] for one
 * hidden layer (Nielsen's numbering), with "− W2[5,j]" against a rival. */
static void weight_name(char *buf, size_t cap, const dl_model *m, const dl_contrib *c, const char *j, int fancy)
{
    int wl = c->layer + 1, C = m->classes[c->out];
    if (c->vs >= 0)
        snprintf(buf, cap, fancy ? "W%d[%d,%s] − W%d[%d,%s]" : "W%d[%d,%s] - W%d[%d,%s]", wl, C, j, wl,
                 m->classes[c->vs], j);
    else
        snprintf(buf, cap, "W%d[%d,%s]", wl, C, j);
}

/* Neuron j's weighted-input share map: what it reads (the input, or the
 * layer below's activations in that layer's grid) × its weights. */
static void share_map(const dl_model *m, const dl_contrib *c, int j, float *map)
{
    const dl_net *n = m->net;
    int h = c->layer;
    if (h == 1) {
        dl_viz_contribution_map(n, j, c->prev_act, map);
        return;
    }
    int in = n->sizes[h - 1], mw, mh;
    dl_viz_weight_shape(m, h, &mw, &mh);
    const float *w = n->w[h - 1] + (size_t)j * in;
    for (int k = 0; k < mw * mh; k++) map[k] = k < in ? c->prev_act[k] * w[k] : NAN;
}

/* The chart: up to MAX_BARS largest votes for, up to MAX_BARS against
 * (least negative first), the rest summed, the bias. */
typedef struct chart {
    int n;
    float v[2 * MAX_BARS + 2];
    char lab[2 * MAX_BARS + 2][32];
    const char *lp[2 * MAX_BARS + 2];
    dl_rgb col[2 * MAX_BARS + 2];
} chart;

static void make_chart(const dl_contrib *c, chart *ch)
{
    int fi[MAX_BARS], ai[MAX_BARS];
    int nf = dl_contrib_rank(c->vote, c->width, MAX_BARS, 1, fi);
    int na = dl_contrib_rank(c->vote, c->width, MAX_BARS, 0, ai);
    while (nf > 0 && !(c->vote[fi[nf - 1]] > 0.0f)) nf--;
    while (na > 0 && !(c->vote[ai[na - 1]] < 0.0f)) na--;
    double rest = 0.0;
    for (int j = 0; j < c->width; j++) rest += c->vote[j];
    ch->n = 0;
    for (int i = 0; i < nf; i++) {
        int k = ch->n++;
        ch->v[k] = c->vote[fi[i]];
        snprintf(ch->lab[k], sizeof ch->lab[k], "#%d", fi[i]);
        ch->col[k] = FOR;
        rest -= ch->v[k];
    }
    for (int i = na - 1; i >= 0; i--) {
        int k = ch->n++;
        ch->v[k] = c->vote[ai[i]];
        snprintf(ch->lab[k], sizeof ch->lab[k], "#%d", ai[i]);
        ch->col[k] = AGAINST;
        rest -= ch->v[k];
    }
    int others = c->width - nf - na, k = ch->n++;
    ch->v[k] = (float)rest;
    snprintf(ch->lab[k], sizeof ch->lab[k], "%d others", others);
    ch->col[k] = OTHER;
    k = ch->n++;
    ch->v[k] = c->bias;
    snprintf(ch->lab[k], sizeof ch->lab[k], "bias");
    ch->col[k] = OTHER;
    for (int i = 0; i < ch->n; i++) ch->lp[i] = ch->lab[i];
}

/* One layer's neuron grid with title, colour bar and an optional note. */
static dl_status grid_block(dl_canvas *cv, const dl_viz_style *st, int x, int y, int cell, const float *v, int n,
                            const char *title, const char *bar, const char *note, dl_err *e)
{
    int rows, cols;
    dl_grid_shape(n, &rows, &cols);
    dl_colorscale cs = dl_scale_diverging(max_abs(v, (size_t)n));
    text(cv, st, x, y, title, TITLE);
    dl_viz_neuron_grid(cv, x, y + TITLE + 4, v, n, cell, cs, st);
    int gy = y + TITLE + 4 + rows * cell + PAD;
    if (note) text(cv, st, x, gy + BAR_H + 2, note, TEXT);
    return dl_canvas_colorbar(cv, st->font, x, gy, cols * cell, BAR_H, cs, bar, TEXT, e);
}

static int grid_width(int n, int cell)
{
    int rows, cols;
    dl_grid_shape(n, &rows, &cols);
    return cols * cell;
}

static int grid_height(int n, int cell)
{
    int rows, cols;
    dl_grid_shape(n, &rows, &cols);
    return rows * cell;
}

static int max_i(int a, int b) { return a > b ? a : b; }

dl_canvas *dl_viz_contrib_picture(const dl_model *m, const float *x, const dl_contrib *c, int top,
                                  const char *caption, const dl_viz_style *st, dl_err *e)
{
    const dl_net *n = m->net;
    if (top < 1 || top > 64) {
        dl_err_set(e, DL_EINVAL, "contributions picture: %d rows is out of range (1..64)", top);
        return NULL;
    }
    int fancy = st->font != NULL, sc = st->scale, h = c->layer, C = m->classes[c->out];
    int ti[64];
    int nt = dl_contrib_rank(c->vote, c->width, top, 1, ti);
    int mw, mh;
    dl_viz_weight_shape(m, h, &mw, &mh);
    size_t cellsz = (size_t)mw * mh;
    float *maps = malloc(2 * (size_t)nt * cellsz * sizeof(float));
    if (!maps) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    for (int r = 0; r < nt; r++) {
        dl_viz_weight_map(m, h, ti[r], 0, maps + (2 * (size_t)r) * cellsz);
        share_map(m, c, ti[r], maps + (2 * (size_t)r + 1) * cellsz);
    }
    float wlim = 0.0f, plim = 0.0f;
    for (int r = 0; r < nt; r++) {
        float a = max_abs(maps + 2 * (size_t)r * cellsz, cellsz), b = max_abs(maps + (2 * (size_t)r + 1) * cellsz, cellsz);
        if (a > wlim) wlim = a;
        if (b > plim) plim = b;
    }

    /* ---- geometry ---- */
    int cell = 6 * sc < 20 ? 20 : 6 * sc;
    /* Small inputs are drawn as large as MNIST's 28x28 would be, and maps
     * over a hidden layer's grid are enlarged to about the input's size. */
    int side = max_i(m->cols, m->rows), isc = side < 28 ? 28 * sc / side : sc;
    int iw = m->cols * isc, ih = m->rows * isc;
    int rsc = mw * isc < iw ? iw / mw : isc;
    int ngrids = c->steps > 0 ? h : 1; /* conductance grids for 1..h−1, then the votes */
    char gt[DL_MAX_LAYERS][128], gn[DL_MAX_LAYERS][128];
    int gl[DL_MAX_LAYERS], gw[DL_MAX_LAYERS];
    int band_h = ih, x_chart = PAD + iw + GAP;
    for (int g = 0; g < ngrids; g++) {
        int l = gl[g] = ngrids == 1 ? h : g + 1;
        if (l < h) {
            snprintf(gt[g], sizeof gt[g], "layer %d: conductance", l);
            snprintf(gn[g], sizeof gn[g], fancy ? "Σ %.3g, gap %.2g%% of Δz" : "sum %.3g, gap %.2g%% of dz",
                     c->cond_sum[l], 100.0 * dl_contrib_relative_gap(c, l));
        } else {
            if (c->vs >= 0) snprintf(gt[g], sizeof gt[g], "layer %d: votes for %d, not %d", h, C, m->classes[c->vs]);
            else snprintf(gt[g], sizeof gt[g], "layer %d: votes for %d", h, C);
            snprintf(gn[g], sizeof gn[g], "red for, blue against");
        }
        gw[g] = max_i(grid_width(n->sizes[l], cell), dl_canvas_text_width(st->font, gt[g], TITLE));
        gw[g] = max_i(gw[g], dl_canvas_text_width(st->font, gn[g], TEXT));
        band_h = max_i(band_h, grid_height(n->sizes[l], cell) + PAD + BAR_H + TEXT + 4);
        x_chart += gw[g] + GAP;
    }
    chart ch;
    make_chart(c, &ch);
    int chart_h = max_i(band_h + TITLE + 4, (ch.n + 1) * 17);
    int top_h = PAD + TITLE + PAD + max_i(TITLE + 4 + band_h, chart_h);
    int rw = mw * rsc, rh = mh * rsc, line = TEXT + 5;
    int row_h = max_i(rh, TITLE + 4 + 3 * line) + PAD;
    int rows_y = top_h + PAD, text_x = PAD + 2 * rw + 2 * GAP;
    int W = max_i(x_chart + CHART_W + PAD, text_x + 260);
    if (caption) W = max_i(W, dl_canvas_text_width(st->font, caption, TITLE) + 2 * PAD);
    int H = rows_y + TITLE + PAD + TEXT + 4 + nt * row_h + PAD + BAR_H + PAD;
    dl_canvas *cv = dl_canvas_new(W, H, WHITE, e);
    if (!cv) {
        free(maps);
        return NULL;
    }

    /* ---- top band ---- */
    char t[256];
    dl_status s = DL_OK;
    if (caption) text(cv, st, PAD, PAD, caption, TITLE);
    int y0 = PAD + TITLE + PAD, xx = PAD;
    text(cv, st, xx, y0, "input", TITLE);
    dl_canvas_draw_map(cv, xx, y0 + TITLE + 4, x, m->cols, m->rows, isc, dl_scale_sequential(DL_CMAP_INK, 0, 1));
    dl_canvas_rect_outline(cv, xx - 1, y0 + TITLE + 3, iw + 2, ih + 2, 1, SEP);
    xx += iw + GAP;
    for (int g = 0; g < ngrids && s == DL_OK; g++) {
        int l = gl[g];
        s = grid_block(cv, st, xx, y0, cell, l < h ? c->conductance[l] : c->vote, n->sizes[l], gt[g],
                       l < h ? "conductance" : "vote", gn[g], e);
        xx += gw[g] + GAP;
    }
    if (s == DL_OK) {
        dl_barchart bc = dl_barchart_defaults(ch.v, ch.n);
        bc.labels = ch.lp;
        bc.colors = ch.col;
        bc.text_px = TEXT - 1;
        if (c->vs >= 0)
            snprintf(t, sizeof t, fancy ? "z%d − z%d = %.3f = these bars added up" : "z%d - z%d = %.3f = these bars added up",
                     C, m->classes[c->vs], (double)c->z);
        else
            snprintf(t, sizeof t, "z%d = %.3f = these bars added up", C, (double)c->z);
        bc.title = t;
        s = dl_canvas_barchart(cv, st->font, x_chart, y0, CHART_W, chart_h, &bc, e);
    }

    /* ---- the top voters, one row each ---- */
    int y = rows_y;
    if (c->vs >= 0)
        snprintf(t, sizeof t, "the %d neuron%s that voted most for %d over %d", nt, nt == 1 ? "" : "s", C,
                 m->classes[c->vs]);
    else
        snprintf(t, sizeof t, "the %d neuron%s that voted most for %d", nt, nt == 1 ? "" : "s", C);
    text(cv, st, PAD, y, t, TITLE);
    y += TITLE + PAD;
    snprintf(t, sizeof t, h == 1 ? "incoming weights" : "weights from layer %d", h - 1);
    text(cv, st, PAD, y, t, TEXT);
    snprintf(t, sizeof t, h == 1 ? (fancy ? "input × weights" : "input x weights")
                                 : (fancy ? "layer %d × weights" : "layer %d x weights"), h - 1);
    text(cv, st, PAD + rw + GAP, y, t, TEXT);
    y += TEXT + 4;
    dl_colorscale wcs = dl_scale_diverging(wlim), pcs = dl_scale_diverging(plim);
    for (int r = 0; r < nt && s == DL_OK; r++, y += row_h) {
        int j = ti[r];
        dl_canvas_draw_map(cv, PAD, y, maps + 2 * (size_t)r * cellsz, mw, mh, rsc, wcs);
        dl_canvas_rect_outline(cv, PAD - 1, y - 1, rw + 2, rh + 2, 1, SEP);
        dl_canvas_draw_map(cv, PAD + rw + GAP, y, maps + (2 * (size_t)r + 1) * cellsz, mw, mh, rsc, pcs);
        dl_canvas_rect_outline(cv, PAD + rw + GAP - 1, y - 1, rw + 2, rh + 2, 1, SEP);
        if (c->vs >= 0) snprintf(t, sizeof t, "neuron %d  (#%d for %d over %d)", j, r + 1, C, m->classes[c->vs]);
        else snprintf(t, sizeof t, "neuron %d  (#%d for %d)", j, r + 1, C);
        text(cv, st, text_x, y, t, TITLE);
        snprintf(t, sizeof t, "activation a = %.4f%s", (double)c->activation[j],
                 dl_contrib_silent(c->activation[j]) ? " (silent)" : "");
        text(cv, st, text_x, y + TITLE + 4, t, TEXT);
        char wn[96], jn[16];
        snprintf(jn, sizeof jn, "%d", j);
        weight_name(wn, sizeof wn, m, c, jn, fancy);
        snprintf(t, sizeof t, "weight %s = %+.3f", wn, (double)c->weight[j]);
        text(cv, st, text_x, y + TITLE + 4 + line, t, TEXT);
        snprintf(t, sizeof t, fancy ? "vote a × w = %+.3f" : "vote a x w = %+.3f", (double)c->vote[j]);
        text(cv, st, text_x, y + TITLE + 4 + 2 * line, t, TEXT);
    }
    if (s == DL_OK) s = dl_canvas_colorbar(cv, st->font, PAD, y, rw, BAR_H, wcs, "weight", TEXT, e);
    if (s == DL_OK)
        s = dl_canvas_colorbar(cv, st->font, PAD + rw + GAP, y, rw, BAR_H, pcs, "share of the neuron's z", TEXT, e);
    free(maps);
    if (s != DL_OK) {
        dl_canvas_free(cv);
        return NULL;
    }
    return cv;
}
