/*
 * evolve.c — films of the weights over training and histograms over time,
 * from a snapshot file (see evolve.h).  A frame is drawn from a scratch
 * model holding the snapshot's parameters, so the weight maps come from
 * viz's dl_viz_weight_map, the same maps `digitlens weights` draws.
 */
#include "digitlens/evolve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/gif.h"
#include "digitlens/viz.h"

#include "buf.h"

enum { PAD = 8, TEXT = 13, TITLE = 15, BAR_H = 2 * TEXT + 15, TIMELINE = 4 };

static const dl_rgb WHITE = {255, 255, 255};
static const dl_rgb SEP = {200, 200, 200};
static const dl_rgb TRACK = {225, 225, 225};
static const dl_rgb PROGRESS = {90, 90, 90};

int dl_snapshots_of(const dl_snapshots *s, const dl_model *m)
{
    int same = s->h.nlayers == m->net->nlayers && s->h.seed == m->seed && s->h.data_fingerprint == m->data_fingerprint;
    for (int l = 0; same && l < s->h.nlayers; l++) same = s->h.sizes[l] == m->net->sizes[l];
    return same;
}

size_t dl_film_pick(const dl_snapshots *s, size_t max, size_t *idx)
{
    size_t n = s->count;
    if (max < 2) max = 2;
    if (n <= max) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return n;
    }
    /* Evenly spaced in snapshot order, rounded; the ends are 0 and n − 1. */
    for (size_t k = 0; k < max; k++) idx[k] = (size_t)((double)k * (double)(n - 1) / (double)(max - 1) + 0.5);
    return max;
}

void dl_film_label(const dl_snapshots *s, size_t i, char *buf, size_t cap)
{
    const dl_snapshot_meta *m = &s->meta[i];
    double spe = (double)dl_snapshot_steps_per_epoch(&s->h);
    int n = snprintf(buf, cap, "step %llu · epoch %.2f", (unsigned long long)m->step, spe > 0 ? m->step / spe : 0.0);
    if (n > 0 && (size_t)n < cap && m->total)
        snprintf(buf + n, cap - (size_t)n, " · %.1f%% of %u test images", 100.0 * m->correct / m->total, m->total);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of |w| (or |w − w0|) of weight layer l over the
 * snapshots idx[0..n), from an evenly strided sample of at most ~1M values. */
static float layer_quantile(const dl_snapshots *s, int l, int delta, const size_t *idx, size_t n, double q,
                            float *params, const float *init, dl_err *e)
{
    size_t P = s->nparams, off = 0;
    for (int k = 0; k < l; k++) off += (size_t)s->h.sizes[k + 1] * s->h.sizes[k] + (size_t)s->h.sizes[k + 1];
    size_t cnt = (size_t)s->h.sizes[l + 1] * s->h.sizes[l], total = cnt * n, stride = total / (1u << 20) + 1;
    float *v = malloc((total / stride + n + 1) * sizeof *v);
    if (!v) return dl_err_set(e, DL_ENOMEM, "out of memory"), -1.0f;
    size_t m = 0, t = 0;
    for (size_t f = 0; f < n; f++) {
        dl_snapshots_params(s, idx[f], params);
        for (size_t i = 0; i < cnt; i++, t++)
            if (t % stride == 0) {
                float w = params[off + i] - (delta ? init[off + i] : 0.0f);
                if (isfinite(w)) v[m++] = fabsf(w);
            }
    }
    (void)P;
    float r = 0.0f;
    if (m) {
        qsort(v, m, sizeof *v, cmp_float);
        r = v[(size_t)(q * (double)(m - 1))];
    }
    free(v);
    return r > 0.0f ? r : 1.0f;
}

void dl_film_free(dl_film *f)
{
    if (!f) return;
    free(f->idx);
    dl_model_free(f->m);
    memset(f, 0, sizeof *f);
}

dl_status dl_film_init(dl_film *f, const dl_snapshots *s, const dl_film_opts *o, const size_t *idx, size_t n,
                       dl_err *e)
{
    memset(f, 0, sizeof *f);
    const dl_snapshot_header *h = &s->h;
    if (o->layer < 1 || o->layer >= h->nlayers)
        return dl_err_set(e, DL_EINVAL, "--layer %d is out of range (this network has layers 1..%d)", o->layer,
                          h->nlayers - 1);
    for (int k = 0; k < o->nneurons; k++)
        if (o->neurons[k] < 0 || o->neurons[k] >= h->sizes[o->layer])
            return dl_err_set(e, DL_EINVAL, "--neurons %d is out of range (layer %d has neurons 0..%d)",
                              o->neurons[k], o->layer, h->sizes[o->layer] - 1);
    if (n == 0) return dl_err_set(e, DL_EINVAL, "a film needs at least one frame");
    f->s = s;
    f->o = *o;
    f->nframes = n;
    f->idx = malloc(n * sizeof *f->idx);
    f->m = dl_model_new(h->nlayers, h->sizes, h->rows, h->cols, e);
    if (!f->idx || !f->m) {
        dl_film_free(f);
        return dl_err_set(e, DL_ENOMEM, "out of memory for a film");
    }
    memcpy(f->idx, idx, n * sizeof *idx);
    dl_snapshots_params(s, 0, f->m->init_params);
    f->limit = layer_quantile(s, o->layer - 1, o->delta, idx, n, 0.995, f->m->net->params, f->m->init_params, e);
    if (f->limit < 0) {
        dl_film_free(f);
        return DL_ENOMEM;
    }
    return DL_OK;
}

static void text(dl_canvas *c, const dl_font *font, int x, int y, const char *s, int px)
{
    dl_canvas_text(c, font, x, y, s, px, DL_RGB_TEXT);
}

/* The maps of the frame's neurons, back to back ([count x mw*mh]). */
static float *frame_maps(dl_film *f, int count, int mw, int mh, dl_err *e)
{
    size_t cell = (size_t)mw * mh;
    float *maps = malloc((size_t)count * cell * sizeof *maps);
    if (!maps) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    for (int k = 0; k < count; k++) {
        int j = f->o.neurons ? f->o.neurons[k] : k;
        dl_viz_weight_map(f->m, f->o.layer, j, f->o.delta, maps + (size_t)k * cell);
    }
    return maps;
}

/* The neurons drawn large in a row, each with its name above. */
static dl_canvas *neuron_row(dl_film *f, const float *maps, int mw, int mh, dl_colorscale cs, dl_err *e)
{
    int sc = f->o.scale > 0 ? f->o.scale : 8, n = f->o.nneurons, tw = mw * sc;
    dl_canvas *c = dl_canvas_new(n * tw + (n - 1) * PAD, TEXT + 4 + mh * sc, WHITE, e);
    if (!c) return NULL;
    for (int k = 0; k < n; k++) {
        char name[32];
        snprintf(name, sizeof name, "neuron %d", f->o.neurons[k]);
        int x = k * (tw + PAD);
        text(c, f->o.font, x, 0, name, TEXT);
        dl_canvas_draw_map(c, x, TEXT + 4, maps + (size_t)k * mw * mh, mw, mh, sc, cs);
    }
    return c;
}

dl_canvas *dl_film_frame(dl_film *f, size_t k, int tile_scale, dl_err *e)
{
    const dl_snapshots *s = f->s;
    size_t i = f->idx[k];
    dl_snapshots_params(s, i, f->m->net->params);
    int mw, mh, layer = f->o.layer, count = f->o.neurons ? f->o.nneurons : s->h.sizes[layer];
    dl_viz_weight_shape(f->m, layer, &mw, &mh);
    float *maps = frame_maps(f, count, mw, mh, e);
    if (!maps) return NULL;
    dl_colorscale cs = dl_scale_diverging(f->limit);
    dl_canvas *body;
    if (f->o.neurons) {
        body = neuron_row(f, maps, mw, mh, cs, e);
    } else {
        int ts = tile_scale > 0 ? tile_scale : (mw >= 20 ? 2 : (20 + mw - 1) / mw);
        body = dl_montage_maps(maps, count, mw, mh, ts, 2, SEP, cs, e);
    }
    free(maps);
    if (!body) return NULL;
    char title[128], label[160];
    snprintf(title, sizeof title, "layer %d %s", layer, f->o.delta ? "weights: change since init" : "weights");
    dl_film_label(s, i, label, sizeof label);
    int w = body->w + 2 * PAD;
    if (w < 300) w = 300;
    int y_body = PAD + TITLE + 4 + TEXT + 6 + TIMELINE + PAD;
    dl_canvas *c = dl_canvas_new(w, y_body + body->h + PAD + BAR_H + PAD, WHITE, e);
    if (!c) {
        dl_canvas_free(body);
        return NULL;
    }
    text(c, f->o.font, PAD, PAD, title, TITLE);
    text(c, f->o.font, PAD, PAD + TITLE + 4, label, TEXT);
    /* Where in the run this frame is: a track filled up to its step. */
    int ty = PAD + TITLE + 4 + TEXT + 6, tw = w - 2 * PAD;
    uint64_t last = s->meta[s->count - 1].step;
    dl_canvas_fill_rect(c, PAD, ty, tw, TIMELINE, TRACK);
    dl_canvas_fill_rect(c, PAD, ty, last ? (int)((double)tw * s->meta[i].step / (double)last + 0.5) : tw, TIMELINE,
                        PROGRESS);
    dl_canvas_blit(c, (w - body->w) / 2, y_body, body);
    int by = y_body + body->h + PAD, bw = w - 2 * PAD > 320 ? 320 : w - 2 * PAD;
    dl_status st = dl_canvas_colorbar(c, f->o.font, (w - bw) / 2, by, bw, BAR_H, cs,
                                      f->o.delta ? "weight change (one scale for the film)"
                                                 : "weight (one scale for the film)",
                                      TEXT, e);
    dl_canvas_free(body);
    if (st != DL_OK) {
        dl_canvas_free(c);
        return NULL;
    }
    return c;
}

dl_status dl_film_gif(dl_film *f, int fps, unsigned char **data, size_t *len, dl_err *e)
{
    *data = NULL;
    *len = 0;
    if (fps < 1 || fps > 100) return dl_err_set(e, DL_EINVAL, "GIF: %d frames a second is out of range (1..100)", fps);
    dl_rgb pal[256];
    int npal = dl_gif_palette_pictures(pal);
    dl_gif *g = NULL;
    for (size_t k = 0; k < f->nframes; k++) {
        dl_canvas *c = dl_film_frame(f, k, 0, e);
        if (!c || (!g && !(g = dl_gif_new(c->w, c->h, pal, npal, (100 + fps / 2) / fps, e)))) {
            dl_canvas_free(c);
            dl_gif_free(g);
            return e ? e->code : DL_ENOMEM;
        }
        /* The last frame stays a second longer: the trained network is what the film ends on. */
        int delay = (100 + fps / 2) / fps;
        dl_status st = dl_gif_add_for(g, c, k + 1 == f->nframes ? delay + 100 : delay, e);
        dl_canvas_free(c);
        if (st != DL_OK) {
            dl_gif_free(g);
            return st;
        }
    }
    return dl_gif_take(g, data, len, e);
}

dl_canvas *dl_film_strip(const dl_snapshots *s, const dl_film_opts *o, const size_t *idx, size_t n, dl_err *e)
{
    dl_canvas *out = NULL;
    for (int row = 0; row < 2; row++) {
        dl_film_opts fo = *o;
        fo.delta = row;
        if (fo.neurons) fo.scale = fo.scale > 4 ? fo.scale / 2 : fo.scale;
        dl_film f;
        if (dl_film_init(&f, s, &fo, idx, n, e) != DL_OK) {
            dl_canvas_free(out);
            return NULL;
        }
        for (size_t k = 0; k < n; k++) {
            dl_canvas *fr = dl_film_frame(&f, k, 1, e);
            if (!fr) {
                dl_film_free(&f);
                dl_canvas_free(out);
                return NULL;
            }
            if (!out && !(out = dl_canvas_new((int)n * fr->w, 2 * fr->h, WHITE, e))) {
                dl_canvas_free(fr);
                dl_film_free(&f);
                return NULL;
            }
            dl_canvas_blit(out, (int)k * fr->w, row * fr->h, fr);
            dl_canvas_free(fr);
        }
        dl_film_free(&f);
    }
    return out;
}

/* ---- histograms over time ------------------------------------------------ */

void dl_histograms_free(dl_histograms *h)
{
    if (!h) return;
    if (h->labels)
        for (size_t r = 0; r < h->nrows; r++) free(h->labels[r]);
    free(h->labels);
    free(h->idx);
    free(h->wlim);
    free(h->w);
    free(h->act);
    free(h->saturated);
    memset(h, 0, sizeof *h);
}

/* The bin of v on lo..hi (clamped; in double, so that a huge or infinite
 * value or range cannot overflow the conversion; NaN goes to bin 0). */
static int bin_of(float v, float lo, float hi, int bins)
{
    double t = ((double)v - lo) / ((double)hi - lo);
    if (!(t > 0.0)) return 0;
    if (t >= 1.0) return bins - 1;
    return (int)(t * bins);
}

/* Activations of every layer on eval for the parameters in n: histogram
 * rows act[l][row] and saturated[l][row]. */
static dl_status measure_acts(const dl_net *n, const dl_dataset *eval, dl_histograms *h, size_t row, dl_err *e)
{
    dl_trace *t = dl_trace_new(n, e);
    float *x = malloc(eval->npix * sizeof *x);
    if (!t || !x) {
        dl_trace_free(t);
        free(x);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    size_t L = (size_t)h->nlayers, B = (size_t)h->bins;
    double *sat = calloc(L, sizeof *sat);
    if (!sat) {
        dl_trace_free(t);
        free(x);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < eval->n; i++) {
        dl_dataset_image(eval, i, x);
        dl_net_forward(n, x, t);
        for (size_t l = 0; l < L; l++) {
            float *hist = h->act + (l * h->nrows + row) * B;
            for (int j = 0; j < n->sizes[l + 1]; j++) {
                float a = t->a[l + 1][j];
                hist[bin_of(a, 0.0f, 1.0f, h->bins)] += 1.0f;
                if (a * (1.0f - a) < DL_SATURATED_SLOPE) sat[l] += 1.0;
            }
        }
    }
    for (size_t l = 0; l < L; l++) {
        double total = (double)eval->n * n->sizes[l + 1];
        float *hist = h->act + (l * h->nrows + row) * B;
        for (size_t b = 0; b < B; b++) hist[b] = (float)(hist[b] / total);
        h->saturated[l * h->nrows + row] = (float)(sat[l] / total);
    }
    free(sat);
    free(x);
    dl_trace_free(t);
    return DL_OK;
}

dl_status dl_histograms_compute(const dl_snapshots *s, const size_t *idx, size_t n, const dl_dataset *eval,
                                int bins, dl_histograms *h, dl_err *e)
{
    memset(h, 0, sizeof *h);
    if (bins < 4 || bins > 512 || n == 0) return dl_err_set(e, DL_EINVAL, "histograms: %d bins, %zu rows", bins, n);
    if (eval && eval->npix != (size_t)s->h.sizes[0])
        return dl_err_set(e, DL_EINVAL, "histograms: the images have %zu pixels, the network %d inputs", eval->npix,
                          s->h.sizes[0]);
    size_t L = (size_t)s->h.nlayers - 1, B = (size_t)bins;
    h->nlayers = (int)L;
    h->bins = bins;
    h->nrows = n;
    h->has_act = eval != NULL && eval->n > 0;
    h->nexamples = eval ? eval->n : 0;
    h->idx = malloc(n * sizeof *h->idx);
    h->wlim = calloc(L, sizeof *h->wlim);
    h->w = calloc(L * n * B, sizeof *h->w);
    h->act = calloc(L * n * B, sizeof *h->act);
    h->saturated = calloc(L * n, sizeof *h->saturated);
    h->labels = calloc(n, sizeof *h->labels);
    dl_net *net = dl_net_new(s->h.nlayers, s->h.sizes, e);
    float *init = malloc(s->nparams * sizeof *init);
    dl_status st = DL_OK;
    if (!h->idx || !h->wlim || !h->w || !h->act || !h->saturated || !h->labels || !net || !init) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory for histograms");
        goto out;
    }
    memcpy(h->idx, idx, n * sizeof *idx);
    dl_snapshots_params(s, 0, init);
    for (size_t l = 0; l < L; l++) {
        /* ±the largest |w| seen (99.9th percentile: one wild weight must not squash the plot). */
        h->wlim[l] = layer_quantile(s, (int)l, 0, idx, n, 0.999, net->params, init, e);
        if (h->wlim[l] < 0) {
            st = DL_ENOMEM;
            goto out;
        }
    }
    for (size_t r = 0; r < n; r++) {
        char label[96];
        const dl_snapshot_meta *m = &s->meta[idx[r]];
        double spe = (double)dl_snapshot_steps_per_epoch(&s->h);
        snprintf(label, sizeof label, "step %llu (epoch %.2f)", (unsigned long long)m->step, m->step / spe);
        size_t ln = strlen(label) + 1;
        if (!(h->labels[r] = malloc(ln))) {
            st = dl_err_set(e, DL_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(h->labels[r], label, ln);
        dl_snapshots_params(s, idx[r], net->params);
        for (size_t l = 0; l < L; l++) {
            float *hist = h->w + (l * n + r) * B;
            size_t cnt = (size_t)net->sizes[l + 1] * net->sizes[l];
            for (size_t i = 0; i < cnt; i++)
                if (isfinite(net->w[l][i])) hist[bin_of(net->w[l][i], -h->wlim[l], h->wlim[l], bins)] += 1.0f;
            for (size_t b = 0; b < B; b++) hist[b] /= (float)cnt;
        }
        if (h->has_act && (st = measure_acts(net, eval, h, r, e)) != DL_OK) goto out;
    }
out:
    dl_net_free(net);
    free(init);
    if (st != DL_OK) dl_histograms_free(h);
    return st;
}

/* The ridge layout both renderers share: panels side by side, rows down. */
typedef struct ridge_layout {
    int label_w, panel_w, sat_w, row_h, ridge_h, top, w, h, npanels;
} ridge_layout;

static ridge_layout layout(const dl_histograms *h, int label_w)
{
    ridge_layout r;
    r.label_w = label_w;
    r.panel_w = 260;
    r.sat_w = h->has_act ? 70 : 0;
    r.row_h = 22;
    r.ridge_h = 48; /* ridges overlap the rows above them */
    r.top = PAD + TITLE + PAD + TEXT + 4 + r.ridge_h - r.row_h;
    r.npanels = h->nlayers * (h->has_act ? 2 : 1);
    r.w = PAD + label_w + r.npanels * (r.panel_w + PAD) + (h->has_act ? h->nlayers * r.sat_w : 0) + PAD;
    r.h = r.top + (int)h->nrows * r.row_h + PAD + TEXT + 2 * PAD;
    return r;
}

/* Panel p: which histogram it draws, its x, title and axis ends. */
static void panel_info(const dl_histograms *h, const ridge_layout *r, int p, const float **data, float *peak,
                       int *x, char *title, size_t cap, float *lo, float *hi)
{
    int per = h->has_act ? 2 : 1, l = p / per, act = p % per;
    size_t B = (size_t)h->bins, n = h->nrows;
    *data = (act ? h->act : h->w) + (size_t)l * n * B;
    *peak = 0.0f;
    for (size_t i = 0; i < n * B; i++)
        if ((*data)[i] > *peak) *peak = (*data)[i];
    if (!(*peak > 0.0f)) *peak = 1.0f;
    *x = PAD + r->label_w;
    for (int q = 0; q < p; q++) *x += r->panel_w + PAD + ((q % per) == 1 ? r->sat_w : 0);
    if (act) snprintf(title, cap, "layer %d activations", l + 1);
    else snprintf(title, cap, "W%d: weights into layer %d", l + 1, l + 1);
    *lo = act ? 0.0f : -h->wlim[l];
    *hi = act ? 1.0f : h->wlim[l];
}

/* Ridge colour: early rows light, late rows dark, so time reads as shade. */
static dl_rgb ridge_color(size_t r, size_t n)
{
    return dl_cmap_viridis(n > 1 ? 0.15f + 0.7f * (float)r / (float)(n - 1) : 0.5f);
}

dl_canvas *dl_histograms_picture(const dl_histograms *h, const dl_font *font, dl_err *e)
{
    int lw = 0;
    for (size_t r = 0; r < h->nrows; r++) {
        int tw = dl_canvas_text_width(font, h->labels[r], TEXT);
        if (tw > lw) lw = tw;
    }
    ridge_layout L = layout(h, lw + PAD);
    dl_canvas *c = dl_canvas_new(L.w, L.h, WHITE, e);
    if (!c) return NULL;
    char head[160];
    snprintf(head, sizeof head, "Distributions over training (height ∝ √share)%s",
             h->has_act ? "; activations on the evaluation subset; saturated: σ′ < 0.01" : "");
    text(c, font, PAD, PAD, head, TITLE);
    int B = h->bins;
    for (int p = 0; p < L.npanels; p++) {
        const float *data;
        float peak, lo, hi;
        int x;
        char title[96];
        panel_info(h, &L, p, &data, &peak, &x, title, sizeof title, &lo, &hi);
        text(c, font, x, PAD + TITLE + PAD, title, TEXT);
        int is_act = h->has_act && p % 2 == 1;
        if (is_act) text(c, font, x + L.panel_w + PAD, PAD + TITLE + PAD, "saturated", TEXT);
        for (size_t r = 0; r < h->nrows; r++) {
            int base = L.top + (int)(r + 1) * L.row_h;
            const float *hist = data + r * (size_t)B;
            dl_rgb col = ridge_color(r, h->nrows);
            /* A pale fill hides the ridges behind (above) it; the outline
             * joins each column's top to the next one's. */
            dl_rgb fill = dl_rgb_lerp(col, WHITE, 0.8f);
            int prev = -1;
            for (int px = 0; px < L.panel_w; px++) {
                int b = px * B / L.panel_w;
                int ht = (int)((float)L.ridge_h * sqrtf(hist[b] / peak) + 0.5f);
                dl_canvas_vline(c, x + px, base - ht, ht, fill);
                int top = base - ht, y0 = prev < 0 || top < prev ? top : prev, y1 = prev < 0 || top > prev ? top : prev;
                dl_canvas_vline(c, x + px, y0, y1 - y0 + 1, col);
                prev = top;
            }
            dl_canvas_hline(c, x, base, L.panel_w, SEP);
            if (p == 0) text(c, font, PAD, base - TEXT, h->labels[r], TEXT);
            if (is_act) {
                char sat[32];
                float f = h->saturated[(size_t)(p / 2) * h->nrows + r];
                snprintf(sat, sizeof sat, "%.1f%%", 100.0 * f);
                int bw = (int)(f * (float)(L.sat_w - 8) + 0.5f);
                dl_canvas_fill_rect(c, x + L.panel_w + PAD, base - 6, bw, 5, DL_RGB(214, 96, 77));
                text(c, font, x + L.panel_w + PAD, base - TEXT - 6, sat, TEXT - 2);
            }
        }
        char a[32], b[32], mid[32];
        dl_format_number(a, sizeof a, lo);
        dl_format_number(b, sizeof b, hi);
        dl_format_number(mid, sizeof mid, 0.5 * (lo + hi));
        int ay = L.top + (int)h->nrows * L.row_h + 4;
        dl_canvas_text_aligned(c, font, x, ay, a, TEXT, DL_RGB_TEXT, DL_ALIGN_LEFT);
        dl_canvas_text_aligned(c, font, x + L.panel_w / 2, ay, mid, TEXT, DL_RGB_TEXT, DL_ALIGN_CENTER);
        dl_canvas_text_aligned(c, font, x + L.panel_w, ay, b, TEXT, DL_RGB_TEXT, DL_ALIGN_RIGHT);
    }
    return c;
}

char *dl_histograms_svg(const dl_histograms *h, size_t *len, dl_err *e)
{
    int lw = 0;
    for (size_t r = 0; r < h->nrows; r++) {
        int tw = (int)strlen(h->labels[r]) * 7;
        if (tw > lw) lw = tw;
    }
    ridge_layout L = layout(h, lw + PAD);
    dl_buf b = {0};
    dl_buf_appendf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                   "font-family=\"DejaVu Sans, sans-serif\" font-size=\"%d\">\n", L.w, L.h, L.w, L.h, TEXT - 2);
    dl_buf_appendf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    dl_buf_appendf(&b, "<text x=\"%d\" y=\"%d\" font-size=\"%d\">Distributions over training (height ∝ √share)%s</text>\n", PAD,
                   PAD + TITLE - 3, TITLE - 2,
                   h->has_act ? "; activations on the evaluation subset, saturated = σ′ &lt; 0.01" : "");
    int B = h->bins;
    for (int p = 0; p < L.npanels; p++) {
        const float *data;
        float peak, lo, hi;
        int x;
        char title[96];
        panel_info(h, &L, p, &data, &peak, &x, title, sizeof title, &lo, &hi);
        int is_act = h->has_act && p % 2 == 1;
        dl_buf_appendf(&b, "<text x=\"%d\" y=\"%d\">%s</text>\n", x, PAD + TITLE + PAD + TEXT - 3, title);
        if (is_act) dl_buf_appendf(&b, "<text x=\"%d\" y=\"%d\">saturated</text>\n", x + L.panel_w + PAD, PAD + TITLE + PAD + TEXT - 3);
        for (size_t r = 0; r < h->nrows; r++) {
            int base = L.top + (int)(r + 1) * L.row_h;
            const float *hist = data + r * (size_t)B;
            dl_rgb col = ridge_color(r, h->nrows);
            dl_rgb fill = dl_rgb_lerp(col, WHITE, 0.8f);
            dl_buf_appendf(&b, "<path fill=\"#%02x%02x%02x\" stroke=\"#%02x%02x%02x\" stroke-width=\"1.5\" d=\"M%d %d", fill.r, fill.g,
                           fill.b, col.r, col.g, col.b, x, base);
            for (int k = 0; k < B; k++) {
                float ht = (float)L.ridge_h * sqrtf(hist[k] / peak);
                dl_buf_appendf(&b, " L%.1f %.1f L%.1f %.1f", x + (double)k * L.panel_w / B, base - ht,
                               x + (double)(k + 1) * L.panel_w / B, base - ht);
            }
            dl_buf_appendf(&b, " L%d %d Z\"><title>%s</title></path>\n", x + L.panel_w, base, h->labels[r]);
            if (p == 0) dl_buf_appendf(&b, "<text x=\"%d\" y=\"%d\">%s</text>\n", PAD, base - 3, h->labels[r]);
            if (is_act) {
                float f = h->saturated[(size_t)(p / 2) * h->nrows + r];
                dl_buf_appendf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"5\" fill=\"#d6604d\"/>"
                               "<text x=\"%d\" y=\"%d\">%.1f%%</text>\n", x + L.panel_w + PAD, base - 6,
                               f * (float)(L.sat_w - 8), x + L.panel_w + PAD, base - 9, 100.0 * f);
            }
        }
        int ay = L.top + (int)h->nrows * L.row_h + TEXT + 2;
        dl_buf_appendf(&b, "<text x=\"%d\" y=\"%d\">%.3g</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.3g</text>"
                       "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3g</text>\n", x, ay, lo, x + L.panel_w / 2, ay,
                       0.5 * (lo + hi), x + L.panel_w, ay, hi);
    }
    dl_buf_puts(&b, "</svg>\n");
    char *out = dl_buf_take(&b, len);
    if (!out) dl_err_set(e, DL_ENOMEM, "out of memory for the SVG");
    return out;
}
