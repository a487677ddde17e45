/*
 * report_embed.c — the report's "What the hidden layer does to the data"
 * (report_jobs.h): the first opts.maps test images mapped to 2-D in pixel
 * space and in each hidden layer's space, PCA and t-SNE (embed_net.h, the
 * same computation as `digitlens embed`), drawn as img/embed.png with
 * img/embed.svg beside it, and the numbers that make the point in a table.
 *
 * t-SNE runs with perplexity 30, or (n − 1) / 3 when fewer images are
 * mapped; fewer than 21 images get PCA alone (trustworthiness at k = 10
 * needs 2k + 1).  Files go through the report's write queue like every
 * other picture.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/embed_net.h"
#include "digitlens/png.h"
#include "digitlens/viz_embed.h"

#include "html.h"
#include "report_jobs.h"

static void pct(dl_buf *b, double v) { dl_buf_appendf(b, "<td>%.1f%%</td>", 100.0 * v); }

static void numbers_table(dl_buf *b, const dl_embed_map *mp)
{
    dl_buf_puts(b, "<table class=\"num\"><tr><th>space</th><th>1-NN</th><th>class mean</th>");
    if (mp->pca) dl_buf_puts(b, "<th>PCA: PC1 + PC2</th><th>PCA trust</th>");
    if (mp->tsne) dl_buf_puts(b, "<th>t-SNE trust</th><th>t-SNE KL</th>");
    dl_buf_puts(b, "</tr>\n");
    for (int s = 0; s < mp->nspaces; s++) {
        const dl_embed_space *sp = &mp->sp[s];
        dl_buf_puts(b, "<tr><td>");
        dl_html_text(b, sp->label);
        dl_buf_puts(b, "</td>");
        pct(b, sp->nn_accuracy);
        pct(b, sp->mean_accuracy);
        if (mp->pca) {
            pct(b, sp->var[0] + sp->var[1]);
            dl_buf_appendf(b, "<td>%.3f</td>", sp->pca_trust);
        }
        if (mp->tsne) dl_buf_appendf(b, "<td>%.3f</td><td>%.3f</td>", sp->tsne_trust, sp->kl);
        dl_buf_puts(b, "</tr>\n");
    }
    dl_buf_puts(b, "</table>\n");
}

/* The pictures, queued on the report's writers: img/embed.png, img/embed.svg. */
static dl_status pictures(report_ctx *r, const dl_embed_map *mp, int *w, int *h, dl_err *e)
{
    const dl_model *m = r->m;
    char names[256][8];
    const char *cn[256];
    for (int k = 0; k < m->nclasses && k < 256; k++) {
        snprintf(names[k], sizeof names[k], "%d", m->classes[k]);
        cn[k] = names[k];
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/img", r->dir);
    dl_scatter_layout *l = dl_embed_map_layout(mp, m->nclasses, cn, NULL, 0, 0, NULL, 440, 1, r->o->font, e);
    dl_canvas *c = l ? dl_scatter_render(l, r->o->font, e) : NULL;
    unsigned char *png = NULL;
    size_t plen = 0, slen = 0;
    char *svg = NULL;
    dl_status st = c ? dl_png_encode(c, &png, &plen, e) : (e ? e->code : DL_ENOMEM);
    if (st == DL_OK && !(svg = dl_scatter_svg(l, &slen, e))) st = e ? e->code : DL_ENOMEM;
    if (st == DL_OK) {
        *w = l->width;
        *h = l->height;
        st = dl_writeq_put(r->writers, dir, "embed.png", png, plen, e);
        png = NULL;
        if (st == DL_OK) st = dl_writeq_put(r->writers, dir, "embed.svg", svg, slen, e);
        else free(svg);
        svg = NULL;
    }
    free(png);
    free(svg);
    dl_canvas_free(c);
    dl_scatter_layout_free(l);
    return st;
}

dl_status dl_report_embed_section(report_ctx *r, dl_buf *b, dl_err *e)
{
    const dl_dataset *d = r->o->test;
    if (!d || r->o->maps == 0) return DL_OK;
    size_t n = r->o->maps < d->n ? r->o->maps : d->n;
    dl_buf_appendf(b, "<section id=\"embedding\"><h2>What the hidden layer does to the data</h2>\n");
    dl_embed_map_opts mo = dl_embed_map_defaults();
    mo.threads = r->o->threads;
    if ((double)(n - 1) / 3.0 < mo.tsne_opts.perplexity) mo.tsne_opts.perplexity = (double)(n - 1) / 3.0;
    mo.tsne = mo.tsne_opts.perplexity >= 2.0;
    if (!mo.tsne) mo.tsne_opts.perplexity = 30.0;
    if (n < dl_embed_map_min_points(&mo)) {
        dl_buf_appendf(b, "<p class=\"note\">%zu test images are too few to map (at least %zu are needed).</p>"
                          "</section>\n", n, dl_embed_map_min_points(&mo));
        return DL_OK;
    }
    dl_dataset *sub = dl_dataset_slice(d, 0, n, e);
    if (!sub) return e ? e->code : DL_ENOMEM;
    dl_embed_map mp;
    int w = 0, h = 0;
    dl_status st = dl_embed_map_run(r->m->net, sub, &mo, &mp, e);
    if (st == DL_OK) st = pictures(r, &mp, &w, &h, e);
    if (st == DL_OK) {
        const dl_embed_space *px = &mp.sp[0], *last = &mp.sp[mp.nspaces - 1];
        dl_buf_appendf(b, "<p class=\"note\">The first %zu test images as points: in the space of their %d pixels "
                          "(left) and in the space of the activations they cause in each hidden layer, each space "
                          "flattened to 2-D by PCA (the two directions of greatest variance: linear, faithful to "
                          "distances)%s. One dot per image, coloured by its true label; the %zu the network gets "
                          "wrong are ringed. Where the classes come apart, the layer has made them easy to tell "
                          "apart. <a href=\"img/embed.svg\">The same picture as SVG</a>; "
                          "<code>digitlens embed</code> maps all the images and writes their coordinates.</p>\n",
                       n, px->d,
                       mp.tsne ? " and by t-SNE (a map that keeps each image's nearest neighbours together; read "
                                 "its clusters, not the distances between them)"
                               : "",
                       n - mp.correct);
        dl_buf_appendf(b, "<img class=\"wide\" src=\"img/embed.png\" width=\"%d\" height=\"%d\" alt=\"the test images "
                          "mapped to 2-D in pixel space and in each hidden layer's space\">\n", w, h);
        dl_buf_appendf(b, "<p class=\"note\">Each image given the label of the nearest class mean (leaving it out of "
                          "its own class's mean) is right %.1f%% of the time in pixel space and %.1f%% in the space "
                          "of ",
                       100.0 * px->mean_accuracy, 100.0 * last->mean_accuracy);
        dl_html_text(b, last->label);
        dl_buf_appendf(b, "; the nearest other image has the same label %.1f%% and %.1f%% of the time "
                          "(leave-one-out 1-NN). Trustworthiness (k = 10) says how far to trust a map: 1 when no "
                          "image's ten nearest neighbours on the map were far away in the space.</p>\n",
                       100.0 * px->nn_accuracy, 100.0 * last->nn_accuracy);
        numbers_table(b, &mp);
        dl_buf_puts(b, "</section>\n");
    }
    dl_embed_map_free(&mp);
    dl_dataset_free(sub);
    return st;
}
