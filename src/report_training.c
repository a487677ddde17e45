/*
 * report_training.c — the report's Training section (see report_jobs.h):
 * how the network learned (films and histograms from its snapshots) and
 * which hidden neurons do nothing or the same thing (on the test set).
 * The films are evolve.h's, encoded here and queued on the report's
 * writers like every other file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/evolve.h"
#include "digitlens/png.h"

#include "report_jobs.h"

#define FILM_FRAMES 24 /* a report's films stay a few MB */
#define FILM_FPS 8

void dl_report_health_free(report_ctx *r)
{
    int L = r->m->net->nlayers - 1;
    for (int l = 1; r->health && l < L; l++) dl_neuron_health_free(&r->health[l]);
    free(r->health);
    free(r->marks);
    r->health = NULL;
    r->marks = NULL;
}

dl_status dl_report_health(report_ctx *r, dl_err *e)
{
    const dl_net *n = r->m->net;
    int L = n->nlayers - 1;
    if (L < 2) return DL_OK;
    r->health = calloc((size_t)L, sizeof *r->health);
    r->marks = calloc((size_t)r->hidden_base[L] + 1, 1);
    if (!r->health || !r->marks) return dl_err_set(e, DL_ENOMEM, "out of memory");
    dl_health_opts ho = dl_health_defaults();
    for (int l = 1; l < L; l++) {
        dl_neuron_health *h = &r->health[l];
        dl_status st = dl_neuron_health_compute(n, r->o->test, l, &ho, h, e);
        if (st != DL_OK) return st;
        unsigned char *mk = r->marks + r->hidden_base[l];
        for (int k = 0; k < h->ndead; k++) mk[h->dead[k]] |= MARK_DEAD;
        for (int k = 0; k < h->ndups; k++) {
            mk[h->dups[k].i] |= MARK_DUP;
            mk[h->dups[k].j] |= MARK_DUP;
        }
    }
    return DL_OK;
}

/* Queues the film of layer 1 (delta or not) as img/NAME. */
static dl_status film(report_ctx *r, const size_t *idx, size_t n, int delta, const char *name, float *limit,
                      dl_err *e)
{
    dl_film_opts fo = {1, delta, NULL, 0, 8, r->o->font};
    dl_film f;
    dl_status st = dl_film_init(&f, r->o->snapshots, &fo, idx, n, e);
    if (st != DL_OK) return st;
    unsigned char *gif = NULL;
    size_t len = 0;
    st = dl_film_gif(&f, FILM_FPS, &gif, &len, e);
    *limit = f.limit;
    dl_film_free(&f);
    if (st != DL_OK) return st;
    char rel[64];
    snprintf(rel, sizeof rel, "img/%s", name);
    return dl_writeq_put(r->writers, r->dir, rel, gif, len, e);
}

static dl_status films(dl_buf *b, report_ctx *r, dl_err *e)
{
    const dl_snapshots *s = r->o->snapshots;
    size_t *idx = malloc((s->count + FILM_FRAMES) * sizeof *idx);
    if (!idx) return dl_err_set(e, DL_ENOMEM, "out of memory");
    size_t n = dl_film_pick(s, FILM_FRAMES, idx);
    float lw = 0, ld = 0;
    dl_status st = film(r, idx, n, 0, "weights.gif", &lw, e);
    if (st == DL_OK) st = film(r, idx, n, 1, "weights-delta.gif", &ld, e);
    dl_histograms h;
    memset(&h, 0, sizeof h);
    /* Activations on the subset training scored its snapshots on: the first eval_n test images. */
    dl_dataset *sub = NULL;
    const dl_dataset *d = r->o->test;
    size_t ne = d ? (s->h.eval_n && s->h.eval_n < d->n ? s->h.eval_n : d->n) : 0;
    if (st == DL_OK && d && !(sub = dl_dataset_slice(d, 0, ne, e))) st = e->code;
    size_t nr = dl_film_pick(s, 12, idx);
    if (st == DL_OK) st = dl_histograms_compute(s, idx, nr, sub, 64, &h, e);
    char *svg = NULL;
    size_t len = 0;
    if (st == DL_OK && !(svg = dl_histograms_svg(&h, &len, e))) st = DL_ENOMEM;
    if (st == DL_OK) st = dl_writeq_put(r->writers, r->dir, "img/histograms.svg", svg, len, e);
    if (st == DL_OK) {
        const dl_snapshot_meta *last = &s->meta[s->count - 1];
        dl_buf_appendf(b, "<p class=\"note\">%zu snapshots, every %u %s, from step 0 to step %llu; the films show %zu "
                       "of them, each frame with one colour scale for the whole film (weights ±%.3g, change ±%.3g; "
                       "beyond that the colours saturate).</p>\n<div class=\"row\">\n",
                       s->count, s->h.every, s->h.unit == DL_SNAP_EPOCHS ? "epochs" : "mini-batches",
                       (unsigned long long)last->step, n, (double)lw, (double)ld);
        dl_buf_appendf(b, "<figure><img src=\"img/weights.gif\" alt=\"the weights over training\"><figcaption>Layer 1's "
                       "weights over training.</figcaption></figure>\n<figure><img src=\"img/weights-delta.gif\" "
                       "alt=\"the change of the weights\"><figcaption>What training changed: weights minus their "
                       "initial values.</figcaption></figure>\n</div>\n");
        dl_buf_appendf(b, "<figure><img class=\"wide\" src=\"img/histograms.svg\" alt=\"histograms over time\">"
                       "<figcaption>Each layer's weights%s over training, the first snapshot on top.</figcaption>"
                       "</figure>\n", h.has_act ? ", activations on the evaluation subset and the fraction of "
                                                 "saturated units (σ′ &lt; 0.01)" : "");
        if (h.has_act)
            dl_buf_appendf(b, "<p class=\"note\">Saturated hidden units (σ′ &lt; 0.01): %.1f%% at the start, %.1f%% at "
                           "the end.</p>\n", 100.0 * h.saturated[0], 100.0 * h.saturated[h.nrows - 1]);
    }
    dl_histograms_free(&h);
    dl_dataset_free(sub);
    free(idx);
    return st;
}

static dl_status health(dl_buf *b, report_ctx *r, dl_err *e)
{
    int L = r->m->net->nlayers - 1;
    dl_status st = DL_OK;
    for (int l = 1; l < L && st == DL_OK; l++) {
        const dl_neuron_health *h = &r->health[l];
        int k1 = 0;
        while (k1 < h->count && h->pruning[k1 + 1] >= h->accuracy - 0.01) k1++;
        dl_buf_appendf(b, "<h3>Layer %d: neurons that do nothing, or the same thing</h3>\n<p class=\"note\">On %zu test "
                       "images: %d dead (activation variance below 1e-4 or saturated on at least 99%% of inputs; faded "
                       "and dashed on the grid below)", l, h->n, h->ndead);
        for (int k = 0; k < h->ndead && k < 40; k++) dl_buf_appendf(b, "%s%d", k ? ", " : ": ", h->dead[k]);
        dl_buf_appendf(b, "; %d duplicate pairs (activations correlated above 0.95; red border)", h->ndups);
        for (int k = 0; k < h->ndups && k < 20; k++)
            dl_buf_appendf(b, "%s%d and %d (r %.3f, weights' cosine %.2f)", k ? ", " : ": ", h->dups[k].i, h->dups[k].j,
                           (double)h->dups[k].r, (double)h->dups[k].cosine);
        dl_buf_appendf(b, ". Removing the least useful neurons one by one, %d of %d go for less than one point of "
                       "accuracy.</p>\n", k1, h->count);
        dl_canvas *c = dl_pruning_picture(h, r->o->font, e);
        if (!c) return e->code;
        unsigned char *png = NULL;
        size_t len = 0;
        st = dl_png_encode(c, &png, &len, e);
        int w = c->w, hh = c->h;
        dl_canvas_free(c);
        char rel[64];
        snprintf(rel, sizeof rel, "img/pruning-l%d.png", l);
        if (st == DL_OK) st = dl_writeq_put(r->writers, r->dir, rel, png, len, e);
        dl_buf_appendf(b, "<figure><img src=\"%s\" width=\"%d\" height=\"%d\" alt=\"pruning curve\"></figure>\n", rel, w,
                       hh);
    }
    return st;
}

dl_status dl_report_training(dl_buf *b, report_ctx *r, dl_err *e)
{
    dl_buf_appendf(b, "<section id=\"training\"><h2>Training</h2>\n");
    dl_status st = DL_OK;
    if (r->o->snapshots) st = films(b, r, e);
    else
        dl_buf_appendf(b, "<p class=\"note\">No snapshots of this model's training: train it with "
                       "<code>--snapshot-every 100</code> to see films of its weights and histograms over time "
                       "here.</p>\n");
    if (st == DL_OK && r->health) st = health(b, r, e);
    dl_buf_appendf(b, "</section>\n");
    return st;
}
