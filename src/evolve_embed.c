/*
 * evolve_embed.c — the embedding film (see evolve.h): the t-SNE map of a
 * hidden layer's activations on the evaluation subset at each chosen
 * snapshot, drawn with viz_embed's scatter layout.  The first frame's map
 * is a full t-SNE run (PCA start, early exaggeration); each later frame
 * starts from the map before it and runs a short optimisation without
 * exaggeration, so a point moves only as far as its neighbourhood changed
 * and the film reads as motion rather than as unrelated maps.
 */
#include "digitlens/evolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/embed.h"
#include "digitlens/gif.h"
#include "digitlens/viz_embed.h"

dl_embed_film_opts dl_embed_film_defaults(void)
{
    dl_embed_film_opts o = {1, 150, 1, 360, NULL, NULL};
    return o;
}

/* The layer's activations for d's examples: X [n x H]; pred [n]. */
static dl_status activations(const dl_net *n, const dl_dataset *d, int layer, float *X, uint8_t *pred, dl_err *e)
{
    dl_trace *t = dl_trace_new(n, e);
    float *x = malloc(d->npix * sizeof *x);
    if (!t || !x) {
        dl_trace_free(t);
        free(x);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    int H = n->sizes[layer], L = n->nlayers - 1;
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        const float *out = dl_net_forward(n, x, t);
        memcpy(X + i * (size_t)H, t->a[layer], (size_t)H * sizeof *X);
        pred[i] = (uint8_t)dl_argmax(out, n->sizes[L]);
    }
    free(x);
    dl_trace_free(t);
    return DL_OK;
}

/* Draws the map Y as one frame of size (w, h) (0: its own size). */
static dl_canvas *frame(const dl_snapshots *s, size_t i, const dl_dataset *d, const float *Y, const uint8_t *wrong,
                        const dl_embed_film_opts *o, int w, int h, dl_err *e)
{
    char title[96], note[160];
    snprintf(title, sizeof title, "t-SNE of hidden layer %d (%d units), %zu test images", o->layer,
             s->h.sizes[o->layer], d->n);
    dl_film_label(s, i, note, sizeof note);
    dl_scatter_panel p = {Y, title, note};
    dl_scatter_spec sp = {d->n, d->labels, wrong, s->h.sizes[s->h.nlayers - 1], o->class_names, NULL, 0, 0, 1, 1, &p,
                          "The hidden layer over training", o->panel_px, 1};
    dl_scatter_layout *l = dl_scatter_layout_new(&sp, o->font, e);
    if (!l) return NULL;
    dl_canvas *c = dl_scatter_render(l, o->font, e);
    dl_scatter_layout_free(l);
    if (!c || w == 0 || (c->w == w && c->h == h)) return c;
    /* A frame of another size (a longer caption): onto the film's canvas. */
    dl_canvas *f = dl_canvas_new(w, h, DL_RGB(255, 255, 255), e);
    if (f) dl_canvas_blit(f, 0, 0, c);
    dl_canvas_free(c);
    return f;
}

dl_status dl_embed_film(const dl_snapshots *s, const size_t *idx, size_t nframes, const dl_dataset *d,
                        const dl_embed_film_opts *o, int fps, unsigned char **gif, size_t *len, dl_err *e)
{
    *gif = NULL;
    *len = 0;
    if (o->layer < 1 || o->layer > s->h.nlayers - 2)
        return dl_err_set(e, DL_EINVAL, "the embedding needs a hidden layer (this network's are 1..%d)", s->h.nlayers - 2);
    if (!d || d->n < 100) return dl_err_set(e, DL_EINVAL, "the embedding needs at least 100 test images");
    if (fps < 1 || fps > 100) return dl_err_set(e, DL_EINVAL, "GIF: %d frames a second is out of range (1..100)", fps);
    int H = s->h.sizes[o->layer];
    size_t n = d->n;
    dl_net *net = dl_net_new(s->h.nlayers, s->h.sizes, e);
    float *X = malloc(n * (size_t)H * sizeof *X), *Y = malloc(2 * n * sizeof *Y);
    uint8_t *pred = malloc(n), *wrong = malloc(n);
    dl_status st = DL_OK;
    dl_gif *g = NULL;
    int w = 0, h = 0;
    if (!net || !X || !Y || !pred || !wrong) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory for the embedding film");
        goto out;
    }
    dl_rgb pal[256];
    int npal = dl_gif_palette_pictures(pal);
    for (size_t k = 0; k < nframes && st == DL_OK; k++) {
        dl_snapshots_params(s, idx[k], net->params);
        if ((st = activations(net, d, o->layer, X, pred, e)) != DL_OK) break;
        for (size_t i = 0; i < n; i++) wrong[i] = pred[i] != d->labels[i];
        dl_tsne_opts to = dl_tsne_defaults();
        to.threads = o->threads;
        if (k > 0) {
            to.init = DL_TSNE_INIT_GIVEN;
            to.start = Y;
            to.exaggeration_iters = 0;
            to.iterations = o->iterations;
        }
        dl_tsne_result r;
        memset(&r, 0, sizeof r);
        if ((st = dl_tsne(X, n, H, &to, &r, e)) != DL_OK) break;
        memcpy(Y, r.Y, 2 * n * sizeof *Y);
        dl_tsne_result_free(&r);
        dl_canvas *c = frame(s, idx[k], d, Y, wrong, o, w, h, e);
        if (!c) {
            st = e ? e->code : DL_ENOMEM;
            break;
        }
        if (!g) {
            w = c->w;
            h = c->h;
            if (!(g = dl_gif_new(w, h, pal, npal, (100 + fps / 2) / fps, e))) st = e ? e->code : DL_ENOMEM;
        }
        int delay = (100 + fps / 2) / fps;
        if (st == DL_OK) st = dl_gif_add_for(g, c, k + 1 == nframes ? delay + 100 : delay, e); /* the end stays longer */
        dl_canvas_free(c);
    }
    if (st == DL_OK) {
        st = dl_gif_take(g, gif, len, e);
        g = NULL;
    }
out:
    dl_gif_free(g);
    dl_net_free(net);
    free(X);
    free(Y);
    free(pred);
    free(wrong);
    return st;
}
