/*
 * report.c — the HTML report (see report.h).
 *
 * Three stages.  (1) One forward pass over the test set, split between the
 * threads, stores every example's weighted inputs z for every layer
 * (layer_pass.h); the neurons' statistics are read off it
 * (dl_layer_pass_stats).  (2) A job queue, drained by the same
 * threads, draws the pictures: one card per hidden neuron (its statistics
 * read off the stored pass), the misclassified gallery, the maximising
 * input of each class and the templates; each job encodes its PNG and
 * writes it atomically.  (3) The main thread writes the two HTML pages,
 * with the neurons' small weight maps inlined as data: URIs (a hundred
 * tiny files would each cost an fsync and a request); html.c builds the
 * markup, parallel.c runs the threads and the queue of files to write.
 *
 * Does not print, exit, or keep anything between calls.
 */
#include "digitlens/report.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/explore.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/train.h"
#include "digitlens/viz.h"
#include "digitlens/viz_explain.h"

#include "buf.h"
#include "html.h"
#include "layer_pass.h"
#include "parallel.h"
#include "report_jobs.h"

#define TILE_SCALE 1 /* tiles are drawn 1:1 and enlarged by CSS (pixelated) */

/* The data fits the network: at least one example, pixels, labels < K. */
static dl_status check_data(const dl_net *n, const dl_dataset *d, dl_err *e)
{
    if (d->n == 0) return dl_err_set(e, DL_EINVAL, "report: the data set is empty (give it some images)");
    return dl_dataset_check(d, n->sizes[0], n->sizes[n->nlayers - 1], "report: the test set",
                            "the data's labels must be output indices: dl_model_fit_data", e);
}

dl_report_opts dl_report_opts_defaults(void)
{
    dl_report_opts o = {NULL, NULL, NULL, 1, 24, 8, DL_ATTR_INTEGRATED_GRADIENTS, 0, NULL, 2000};
    return o;
}

/* ===================================================================== */
/* The pages (stage 3)                                                   */
/* ===================================================================== */

/* "784 → 100 → 10" */
static void layers_text(const dl_net *n, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int l = 0; l < n->nlayers && k < cap; l++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%d", l ? " → " : "", n->sizes[l]);
}

static void fmt_pct(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.2f%%", 100.0 * v);
}

static void summary_section(dl_buf *b, const report_ctx *r, const dl_eval *ev)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    char t[256];
    dl_buf_appendf(b, "<section id=\"summary\"><h2>Model</h2><table class=\"kv\">\n");
    layers_text(n, t, sizeof t);
    dl_buf_appendf(b, "<tr><td>layers</td><td>%s &nbsp;(input %d×%d, %zu parameters)</td></tr>\n", t, m->rows, m->cols,
              n->nparams);
    int imported = m->batch == 0 && m->eta == 0.0f;
    if (dl_net_all_sigmoid(n))
        dl_buf_appendf(b, "<tr><td>activations</td><td>sigmoid in every layer</td></tr>\n");
    else if (n->nlayers > 2)
        dl_buf_appendf(b, "<tr><td>activations</td><td>%s hidden layers, %s output</td></tr>\n", dl_act_name(n->act[0]),
                       dl_act_name(n->act[n->nlayers - 2]));
    else
        dl_buf_appendf(b, "<tr><td>activations</td><td>%s output</td></tr>\n", dl_act_name(n->act[0]));
    dl_buf_appendf(b, "<tr><td>cost</td><td>%s</td></tr>\n", dl_cost_name(m->cost));
    if (imported) {
        dl_buf_appendf(b, "<tr><td>training</td><td>unknown (imported model: no initial weights, options or history)"
                     "</td></tr>\n");
    } else {
        dl_buf_appendf(b, "<tr><td>initialisation</td><td>%s, seed %llu</td></tr>\n", dl_init_name(m->init),
                  (unsigned long long)m->seed);
        dl_buf_appendf(b, "<tr><td>learning rate η</td><td>%g</td></tr>\n", (double)m->eta);
        if (m->lambda > 0.0f) dl_buf_appendf(b, "<tr><td>L2 λ</td><td>%g</td></tr>\n", (double)m->lambda);
        dl_buf_appendf(b, "<tr><td>mini-batch</td><td>%u</td></tr>\n", m->batch);
        if (m->momentum > 0.0f) dl_buf_appendf(b, "<tr><td>momentum μ</td><td>%g</td></tr>\n", (double)m->momentum);
        if (m->dropout > 0.0f)
            dl_buf_appendf(b, "<tr><td>dropout</td><td>p = %g in the hidden layers</td></tr>\n", (double)m->dropout);
        if (m->early_stop)
            dl_buf_appendf(b, "<tr><td>early stopping</td><td>after %u epochs without a better evaluation accuracy; "
                           "the best epoch's parameters are kept</td></tr>\n", m->early_stop);
        if (m->halve_after)
            dl_buf_appendf(b, "<tr><td>η schedule</td><td>halve after %u epochs without improvement, stop at "
                           "η/128</td></tr>\n", m->halve_after);
        const char *why = (m->flags & DL_MODEL_PARTIAL)          ? " (training was interrupted)"
                          : m->state.stopped == DL_STOP_EARLY    ? " (stopped early: no better accuracy)"
                          : m->state.stopped == DL_STOP_SCHEDULE ? " (stopped: η reached η/128)"
                                                                 : "";
        dl_buf_appendf(b, "<tr><td>epochs</td><td>%u of %u%s</td></tr>\n", m->nhistory, m->epochs_planned, why);
        dl_buf_appendf(b, "<tr><td>training images</td><td>%u</td></tr>\n", m->ntrain);
    }
    int identity = 1;
    for (int k = 0; k < m->nclasses; k++) identity &= m->classes[k] == k;
    if (!identity) {
        dl_buf_appendf(b, "<tr><td>classes</td><td>");
        for (int k = 0; k < m->nclasses; k++) dl_buf_appendf(b, "%s%d", k ? ", " : "", m->classes[k]);
        dl_buf_appendf(b, " (outputs 0..%d)</td></tr>\n", m->nclasses - 1);
    }
    double last = dl_model_last_accuracy(m);
    if (last >= 0) {
        uint32_t ep = dl_model_params_epoch(m);
        const dl_epoch_stat *s = &m->history[ep - 1];
        fmt_pct(t, sizeof t, last);
        dl_buf_appendf(b, "<tr><td>final accuracy</td><td><b>%s</b> (%u of %u, evaluated after epoch %u%s)</td></tr>\n", t,
                  s->correct, s->total, ep, ep != m->nhistory ? ": early stopping kept the best epoch" : "");
    }
    if (ev) {
        fmt_pct(t, sizeof t, (double)ev->correct / (double)ev->total);
        dl_buf_appendf(b, "<tr><td>test set (now)</td><td><b>%s</b> (%zu of %zu), mean %s cost %.4f</td></tr>\n", t,
                  ev->correct, ev->total, dl_cost_name(m->cost), ev->cost);
    }
    dl_buf_appendf(b, "</table></section>\n");
}

static void history_section(dl_buf *b, const dl_model *m)
{
    dl_buf_appendf(b, "<section id=\"history\"><h2>Training history</h2>\n");
    int n = (int)m->nhistory;
    if (n == 0) {
        dl_buf_appendf(b, "<p class=\"note\">No training history: the model was imported or has not finished an epoch."
                     "</p></section>\n");
        return;
    }
    double *acc = calloc((size_t)n, sizeof(double)), *cost = calloc((size_t)n, sizeof(double));
    if (!acc || !cost) {
        free(acc);
        free(cost);
        b->oom = 1;
        return;
    }
    int have_acc = 1;
    double alo = 100.0, ahi = 0.0, clo = INFINITY, chi = 0.0;
    for (int i = 0; i < n; i++) {
        const dl_epoch_stat *s = &m->history[i];
        if (!s->total) have_acc = 0;
        acc[i] = s->total ? 100.0 * s->correct / s->total : 0.0;
        cost[i] = s->cost;
        if (acc[i] < alo) alo = acc[i];
        if (acc[i] > ahi) ahi = acc[i];
        if (cost[i] < clo) clo = cost[i];
        if (cost[i] > chi) chi = cost[i];
    }
    dl_buf_appendf(b, "<p class=\"note\">Accuracy on the evaluation set after each epoch, and the mean training "
                 "cost measured while the epoch trained. Hover a point for its value.</p>\n<div class=\"charts\">\n");
    if (have_acc) dl_html_line_chart(b, "accuracy (%)", acc, n, alo, ahi, 100.0, "#0b69c7");
    dl_html_line_chart(b, "training cost (mean per example)", cost, n, clo > 0 ? 0.0 : clo, chi, INFINITY, "#c2410c");
    dl_buf_appendf(b, "</div>\n");
    if (!have_acc) dl_buf_appendf(b, "<p class=\"note\">Training ran without an evaluation set, so there is no accuracy "
                                "curve.</p>\n");
    dl_buf_appendf(b, "</section>\n");
    free(acc);
    free(cost);
}

static void confusion_section(dl_buf *b, const dl_model *m, const dl_eval *ev)
{
    int K = ev->nclasses;
    uint32_t maxoff = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            if (i != j && ev->confusion[i * K + j] > maxoff) maxoff = ev->confusion[i * K + j];
    dl_buf_appendf(b, "<section id=\"confusion\"><h2>Confusion matrix</h2>\n<p class=\"note\">%zu test images. Rows: the "
                 "true digit; columns: what the network answered. Green: the share of the row answered correctly; "
                 "red: mistakes, darker for more (the largest is %u). Hover a cell for its numbers.</p>\n",
              ev->total, maxoff);
    dl_buf_appendf(b, "<table class=\"cm\"><tr><th class=\"corner\">true ↓ said →</th>");
    for (int j = 0; j < K; j++) dl_buf_appendf(b, "<th>%d</th>", m->classes[j]);
    dl_buf_appendf(b, "<th>correct</th></tr>\n");
    for (int i = 0; i < K; i++) {
        uint32_t row = 0;
        for (int j = 0; j < K; j++) row += ev->confusion[i * K + j];
        dl_buf_appendf(b, "<tr><th>%d</th>", m->classes[i]);
        for (int j = 0; j < K; j++) {
            uint32_t c = ev->confusion[i * K + j];
            double share = row ? (double)c / row : 0.0;
            char bg[64];
            const char *fg = "#222";
            if (i == j) {
                snprintf(bg, sizeof bg, "rgba(22,163,74,%.3f)", 0.15 + 0.75 * share);
                if (share > 0.6) fg = "#fff";
            } else if (c) {
                double t = maxoff ? sqrt((double)c / maxoff) : 0.0;
                snprintf(bg, sizeof bg, "rgba(220,38,38,%.3f)", 0.08 + 0.8 * t);
                if (t > 0.6) fg = "#fff";
            } else {
                snprintf(bg, sizeof bg, "#fafbfc");
                fg = "#c0c6cc";
            }
            dl_buf_appendf(b, "<td style=\"background:%s;color:%s\" title=\"true %d, said %d: %u of %u (%.1f%%)\">%u</td>", bg,
                      fg, m->classes[i], m->classes[j], c, row, 100.0 * share, c);
        }
        dl_buf_appendf(b, "<td class=\"acc\">%.1f%%</td></tr>\n", row ? 100.0 * ev->confusion[i * K + i] / row : 0.0);
    }
    dl_buf_appendf(b, "</table></section>\n");
}

/* A neuron's weight map, each scaled to its own ±max|w|, as a PNG data: URI. */
static dl_status tile_uri(dl_buf *b, const dl_model *m, int layer, int neuron, float *map, dl_err *e)
{
    int mw, mh;
    dl_viz_weight_shape(m, layer, &mw, &mh);
    dl_viz_weight_map(m, layer, neuron, 0, map);
    dl_canvas *c = dl_canvas_new(mw * TILE_SCALE, mh * TILE_SCALE, DL_RGB(255, 255, 255), e);
    if (!c) return e ? e->code : DL_ENOMEM;
    dl_canvas_draw_map(c, 0, 0, map, mw, mh, TILE_SCALE, dl_scale_fit(DL_CMAP_DIVERGING, map, (size_t)mw * mh));
    unsigned char *png = NULL;
    size_t len = 0;
    dl_status st = dl_png_encode(c, &png, &len, e);
    dl_canvas_free(c);
    if (st != DL_OK) return st;
    dl_buf_append(b, "data:image/png;base64,", 22);
    dl_html_base64(b, png, len);
    free(png);
    return DL_OK;
}

static dl_status neurons_section(dl_buf *b, const report_ctx *r, dl_err *e)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    int L = n->nlayers - 1;
    dl_buf_appendf(b, "<section id=\"neurons\"><h2>Hidden neurons</h2>\n<p class=\"note\">Each tile is one neuron's "
                 "incoming weights drawn as a picture: red where a bright pixel raises its input, blue where it "
                 "lowers it, white for no effect; every tile is scaled to its own largest weight. Click a tile for "
                 "the neuron's card%s.%s</p>\n",
              r->st ? " (what drives it, what it does for each class, what happens without it)" : "",
              r->marks ? " A red border marks a neuron with a duplicate, a faded dashed one a dead neuron (see "
                         "<a href=\"#training\">Training</a>)." : "");
    int maxw = 0;
    for (int l = 0; l <= L; l++)
        if (n->sizes[l] > maxw) maxw = n->sizes[l];
    if (L < 2)
        dl_buf_appendf(b, "<p class=\"note\">This network has no hidden layer: its outputs read the pixels directly "
                     "(see the templates below).</p>\n");
    float *map = malloc(((size_t)maxw + 64) * 2 * sizeof(float));
    if (!map) return dl_err_set(e, DL_ENOMEM, "out of memory");
    dl_status st = DL_OK;
    for (int l = 1; l < L && st == DL_OK; l++) {
        int H = n->sizes[l], rows, cols, mw, mh;
        dl_grid_shape(H, &rows, &cols);
        dl_viz_weight_shape(m, l, &mw, &mh);
        if (L > 2) dl_buf_appendf(b, "<h3>Layer %d: %d neurons</h3>\n", l, H);
        /* Tiles about 3x their map, but at least 48 px wide. */
        int px = mw * 3 < 48 ? 48 : mw * 3;
        dl_buf_appendf(b, "<div class=\"grid\" style=\"grid-template-columns:repeat(%d,%dpx)\">\n", cols, px);
        for (int j = 0; j < H && st == DL_OK; j++) {
            const neuron_info *ni = &r->neurons[r->hidden_base[l] + j];
            unsigned char mark = r->marks ? r->marks[r->hidden_base[l] + j] : 0;
            dl_buf_appendf(b, "<a href=\"neurons.html#l%dn%d\"%s title=\"layer %d, neuron %d%s%s", l, j,
                           mark & MARK_DEAD ? " class=\"dead\"" : mark & MARK_DUP ? " class=\"dup\"" : "", l, j,
                           mark & MARK_DEAD ? " (dead)" : "", mark & MARK_DUP ? " (has a duplicate)" : "");
            if (r->st) {
                dl_buf_appendf(b, ": mean activation %.2f", (double)ni->mean);
                if (ni->best_class >= 0)
                    dl_buf_appendf(b, ", most active for %d (%.2f)", m->classes[ni->best_class], (double)ni->best_mean);
                dl_buf_appendf(b, ", accuracy without it %+.2f pp", -100.0 * ni->ablation_drop);
            }
            dl_buf_appendf(b, "\"><img alt=\"neuron %d\" width=\"%d\" height=\"%d\" src=\"", j, px, px * mh / mw);
            st = tile_uri(b, m, l, j, map, e);
            dl_buf_appendf(b, "\"><span>%d</span></a>\n", j);
        }
        dl_buf_appendf(b, "</div>\n");
    }
    free(map);
    dl_buf_appendf(b, "</section>\n");
    return st;
}

static void classes_section(dl_buf *b, const report_ctx *r)
{
    dl_buf_appendf(b, "<section id=\"classes\"><h2>What each class looks for</h2>\n<p class=\"note\">The linearised "
                 "template of each output: multiply the weight matrices and ignore the %s, and each output "
                 "becomes a single weighted sum of the pixels. Red pixels vote for the class, blue against it."
                 "</p>\n<img class=\"wide\" src=\"img/templates.png\" width=\"%d\" height=\"%d\" alt=\"templates\">\n",
              dl_net_all_sigmoid(r->m->net) ? "sigmoids" : "activations", r->tmpl_w, r->tmpl_h);
    dl_buf_appendf(b, "<h3>Maximising inputs</h3>\n<p class=\"note\">For each output, the image in [0, 1] that drives "
                 "it highest, found by gradient ascent from a blank image (200 Adam steps on z − 0.05·Σx², blurred "
                 "by σ = 0.5 px after each step). They only roughly look like digits: the network responds to ink "
                 "in the right places, not to shapes."
                 "</p>\n<div class=\"row\">\n");
    dl_buf_appendf(b, "<img class=\"wide\" src=\"img/maximize.png\" width=\"%d\" height=\"%d\" "
                 "alt=\"maximising inputs\">\n</div></section>\n", r->max_w, r->max_h);
}

/* One side of a mistake's votes: "#12 +1.9, #40 +1.1", each a card link;
 * sign −1 shows the other side's votes as votes for the true digit
 * (votes(t vs p) = −votes(p vs t)). */
static void vote_links(dl_buf *b, int layer, const int *j, const float *v, int n, int sign)
{
    for (int i = 0; i < n; i++)
        dl_buf_appendf(b, "%s<a href=\"neurons.html#l%dn%d\">#%d</a>&nbsp;%+.2f", i ? ", " : " ", layer, j[i], j[i],
                       (double)(sign * v[i]));
}

/* Which hidden neurons carried the mistake: the largest votes for the
 * margin z_pred − z_true each way (contrib.h). */
static void gallery_votes(dl_buf *b, const dl_model *m, const mistake *mk)
{
    if (!mk->vote_layer) return;
    int p = m->classes[mk->pred], t = m->classes[mk->truth];
    dl_buf_appendf(b, "<br><span class=\"votes\" title=\"votes (W[%d,j] − W[%d,j])·a_j of hidden layer %d for the margin "
                   "z%d − z%d = %.2f\">for %d over %d:", p, t, mk->vote_layer, p, t, (double)mk->margin, p, t);
    vote_links(b, mk->vote_layer, mk->for_j, mk->for_v, mk->nfor, 1);
    if (!mk->nfor) dl_buf_appendf(b, " none");
    dl_buf_appendf(b, "<br>for %d over %d:", t, p);
    vote_links(b, mk->vote_layer, mk->against_j, mk->against_v, mk->nagainst, -1);
    if (!mk->nagainst) dl_buf_appendf(b, " none");
    dl_buf_appendf(b, "</span>");
}

static void gallery_section(dl_buf *b, const report_ctx *r, size_t wrong)
{
    const dl_model *m = r->m;
    dl_buf_appendf(b, "<section id=\"mistakes\"><h2>Misclassified test images</h2>\n");
    if (r->o->misclassified == 0) {
        dl_buf_appendf(b, "<p class=\"note\">%zu of the %zu test images looked at are misclassified (the gallery was "
                     "turned off).</p></section>\n", wrong, r->st->n);
        return;
    }
    if (r->nmistakes == 0) {
        dl_buf_appendf(b, "<p class=\"note\">The network classifies every one of the %zu test images looked at "
                     "correctly.</p></section>\n", r->st->n);
        return;
    }
    char method[64];
    snprintf(method, sizeof method, "%s", dl_attr_method_name(r->o->method));
    for (char *c = method; *c; c++)
        if (*c == '-') *c = ' '; /* "integrated gradients", "input x gradient" */
    dl_buf_appendf(b, "<p class=\"note\">The first %d of %zu mistakes in test-set order. Each shows the input and, for "
                 "the answer given and for the true digit, which pixels pushed that output up (red) or down (blue) "
                 "according to %s%s.%s</p>\n<div class=\"gallery\">\n",
              r->nmistakes, wrong, method,
              r->o->per_map_scale ? "; each map has a colour scale of its own"
                                  : "; both maps of an image share one colour scale, so a colour means the same value in "
                                    "each",
              m->net->nlayers < 3 ? "" : " Under each, the hidden neurons that voted most for the wrong answer over the "
              "true one, and most for the true one over the wrong one: a neuron's vote (W[pred,j] − W[true,j])·a_j is its "
              "share of the margin z_pred − z_true (see <code>digitlens contributions --vs</code>); click one for its card.");
    for (int i = 0; i < r->nmistakes; i++) {
        const mistake *mk = &r->mistakes[i];
        dl_buf_appendf(b, "<figure><img src=\"img/mistake-%05zu.png\" width=\"%d\" height=\"%d\" alt=\"test image %zu\">"
                     "<figcaption>#%zu: a <b>%d</b> read as <b>%d</b> (output %.2f vs %.2f)",
                  mk->index, mk->w, mk->h, mk->index, mk->index, m->classes[mk->truth], m->classes[mk->pred],
                  (double)mk->p_pred, (double)mk->p_true);
        gallery_votes(b, m, mk);
        dl_buf_appendf(b, "</figcaption></figure>\n");
    }
    dl_buf_appendf(b, "</div></section>\n");
}

/* Hands the page to the writers (they free it); b is left empty. */
static dl_status write_page(report_ctx *r, const char *name, dl_buf *b, dl_err *e)
{
    size_t n;
    char *p = dl_buf_take(b, &n);
    if (!p) return dl_err_set(e, DL_ENOMEM, "out of memory writing %s", name);
    return dl_writeq_put(r->writers, r->dir, name, p, n, e);
}

static dl_status cards_page(report_ctx *r, const char *title, dl_err *e)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    int L = n->nlayers - 1, total = r->hidden_base[L];
    dl_buf b = {0};
    char sub[300];
    snprintf(sub, sizeof sub, "neuron cards: %d hidden neuron%s", total, total == 1 ? "" : "s");
    dl_html_head(&b, title, sub);
    dl_buf_appendf(&b, "<nav><a href=\"index.html\">← report</a><a href=\"index.html#neurons\">neuron grid</a></nav>"
                  "</header>\n<main>\n");
    if (r->st)
        dl_buf_appendf(&b, "<p class=\"note\">Statistics over the first %zu test images. <b>Ablation</b>: test accuracy "
                      "with the neuron's output set to 0 (or held at its mean) instead of computed.</p>\n",
                  r->st->n);
    for (int l = 1; l < L; l++)
        for (int j = 0; j < n->sizes[l]; j++) {
            const neuron_info *ni = &r->neurons[r->hidden_base[l] + j];
            char img[64];
            dl_report_card_name(img, sizeof img, l, j);
            dl_buf_appendf(&b, "<section class=\"card\" id=\"l%dn%d\"><h2>Layer %d, neuron %d</h2>\n", l, j, l, j);
            dl_buf_appendf(&b, "<img class=\"wide\" src=\"%s\" width=\"%d\" height=\"%d\" alt=\"card of neuron %d\">\n",
                      img, ni->w, ni->h, j);
            dl_buf_appendf(&b, "<nav>");
            if (j > 0) dl_buf_appendf(&b, "<a href=\"#l%dn%d\">← neuron %d</a>", l, j - 1, j - 1);
            if (j + 1 < n->sizes[l]) dl_buf_appendf(&b, "<a href=\"#l%dn%d\">neuron %d →</a>", l, j + 1, j + 1);
            dl_buf_appendf(&b, "<a href=\"index.html#neurons\">back to the grid</a></nav></section>\n");
        }
    dl_buf_appendf(&b, "</main>\n<footer>written by digitlens</footer>\n</body>\n</html>\n");
    return write_page(r, "neurons.html", &b, e);
}

/* ===================================================================== */

dl_status dl_report_write(const dl_model *m, const char *dir, const dl_report_opts *o, dl_report_summary *sum,
                          dl_err *e)
{
    const dl_net *n = m->net;
    int L = n->nlayers - 1, K = n->sizes[L];
    if (sum) memset(sum, 0, sizeof *sum);
    if (o->misclassified < 0 || o->misclassified > 1000)
        return dl_err_set(e, DL_EINVAL, "report: %d misclassified images is out of range (0..1000)", o->misclassified);
    if (o->top_k < 1 || o->top_k > 64)
        return dl_err_set(e, DL_EINVAL, "report: top-k of %d is out of range (1..64)", o->top_k);
    if (!dl_attr_method_name(o->method)) return dl_err_set(e, DL_EINVAL, "report: unknown attribution method");
    if (L < 1) return dl_err_set(e, DL_EINVAL, "report: the network has no layers");

    report_ctx r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.o = o;
    r.dir = dir;
    r.card_style = (dl_viz_style){o->font, 4};
    r.row_style = (dl_viz_style){o->font, 3};     /* rows of 10 maps fit the page at 3 */
    r.gallery_style = (dl_viz_style){o->font, 4}; /* attribution colour bars need 4 for their labels */
    pthread_mutex_init(&r.lock, NULL);
    dl_layer_pass st;
    memset(&st, 0, sizeof st);
    dl_eval ev;
    memset(&ev, 0, sizeof ev);
    int have_ev = 0;
    size_t wrong = 0;
    dl_buf b = {0};
    dl_status rc;
    dl_writeq wp;
    char path[4096];
    snprintf(path, sizeof path, "%s/img", dir);
    if ((rc = dl_mkdir_p(path, e)) != DL_OK) goto out;
    dl_writeq_start(&wp);
    r.writers = &wp;

    const dl_dataset *d = o->test;
    if (d) {
        if ((rc = check_data(n, d, e)) != DL_OK) goto out;
        if ((rc = dl_evaluate(n, d, m->cost, o->threads, &ev, e)) != DL_OK) goto out;
        have_ev = 1;
        size_t cap = dl_layer_pass_cap(n);
        if ((rc = dl_layer_pass_run(n, d, d->n < cap ? d->n : cap, o->threads, &st, e)) != DL_OK) goto out;
        r.st = &st;
        for (size_t i = 0; i < st.n; i++) wrong += st.pred[i] != d->labels[i];
    }

    /* The jobs: cards, mistakes, maximising inputs, templates. */
    int hidden = 0;
    for (int l = 1; l < L; l++) {
        r.hidden_base[l] = hidden;
        hidden += n->sizes[l];
    }
    r.hidden_base[L] = hidden;
    int nm = 0;
    if (d)
        for (size_t i = 0; i < st.n && nm < o->misclassified; i++) nm += st.pred[i] != d->labels[i];
    r.jobs = malloc(((size_t)hidden + (size_t)nm + (size_t)K + 1) * sizeof(job));
    r.neurons = calloc((size_t)hidden + 1, sizeof(neuron_info));
    r.mistakes = calloc((size_t)nm + 1, sizeof(mistake));
    r.maxes = calloc((size_t)K, sizeof(maxinfo));
    r.maxmaps = malloc((size_t)K * n->sizes[0] * sizeof(float));
    r.stats = calloc((size_t)hidden + 1, sizeof(dl_neuron_stats));
    if (!r.jobs || !r.neurons || !r.mistakes || !r.maxes || !r.maxmaps || !r.stats) {
        rc = dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    for (int l = 1; d && l < L; l++)
        if ((rc = dl_layer_pass_stats(&st, l, o->top_k, o->threads, r.stats + r.hidden_base[l], e)) != DL_OK) goto out;
    for (size_t i = 0; d && i < st.n && r.nmistakes < nm; i++)
        if (st.pred[i] != d->labels[i]) {
            mistake *mk = &r.mistakes[r.nmistakes++];
            mk->index = i;
            mk->truth = d->labels[i];
            mk->pred = st.pred[i];
        }
    /* Slow jobs first so the threads finish together. */
    for (int i = 0; i < r.nmistakes; i++) r.jobs[r.njobs++] = (job){JOB_MISTAKE, 0, i};
    for (int k = 0; k < K; k++) r.jobs[r.njobs++] = (job){JOB_MAXIMIZE, 0, k};
    r.jobs[r.njobs++] = (job){JOB_TEMPLATES, 0, 0};
    for (int l = 1; l < L; l++)
        for (int j = 0; j < n->sizes[l]; j++) r.jobs[r.njobs++] = (job){JOB_CARD, l, j};
    if ((rc = dl_report_run_jobs(&r, o->threads, e)) != DL_OK) goto out;
    if ((rc = dl_report_maximize_row(&r, e)) != DL_OK) goto out;
    if (d && (rc = dl_report_health(&r, e)) != DL_OK) goto out;

    /* index.html */
    const char *title = o->title ? o->title : "digitlens report";
    char sub[400], lt[200], acc[32] = "";
    layers_text(n, lt, sizeof lt);
    if (have_ev) fmt_pct(acc, sizeof acc, (double)ev.correct / (double)ev.total);
    snprintf(sub, sizeof sub, "a %s network%s%s", lt, have_ev ? " · test accuracy " : "", acc);
    dl_html_head(&b, title, sub);
    /* `digitlens explore` wrote its page here: link to it (it links back). */
    char xp[4200];
    snprintf(xp, sizeof xp, "%s/%s", dir, DL_EXPLORE_FILE);
    const int explorer = dl_file_exists(xp);
    dl_buf_appendf(&b, "<nav><a href=\"#summary\">model</a><a href=\"#history\">history</a>"
                  "<a href=\"#training\">training</a>%s"
                  "<a href=\"#neurons\">neurons</a><a href=\"#classes\">classes</a>%s%s"
                  "<a href=\"neurons.html\">neuron cards</a>%s</nav></header>\n<main>\n",
              have_ev ? "<a href=\"#confusion\">confusion</a>" : "",
              d && o->maps ? "<a href=\"#embedding\">the data</a>" : "", d ? "<a href=\"#mistakes\">mistakes</a>" : "",
              explorer ? DL_EXPLORE_LINK : DL_EXPLORE_SLOT);
    summary_section(&b, &r, have_ev ? &ev : NULL);
    history_section(&b, m);
    if ((rc = dl_report_training(&b, &r, e)) != DL_OK) goto out;
    if (have_ev) confusion_section(&b, m, &ev);
    if ((rc = neurons_section(&b, &r, e)) != DL_OK) goto out;
    classes_section(&b, &r);
    if ((rc = dl_report_embed_section(&r, &b, e)) != DL_OK) goto out;
    if (d) gallery_section(&b, &r, wrong);
    else
        dl_buf_appendf(&b, "<section><h2>Test images</h2><p class=\"note\">This report was made without a test set, so it "
                      "has no confusion matrix, no neuron statistics and no gallery of mistakes (give the command "
                      "--data DIR).</p></section>\n");
    dl_buf_appendf(&b, "</main>\n<footer>written by digitlens · open neurons.html for every neuron's card</footer>\n"
                  "</body>\n</html>\n");
    if ((rc = write_page(&r, "index.html", &b, e)) != DL_OK) goto out;
    if ((rc = cards_page(&r, title, e)) != DL_OK) goto out;
out:
    if (r.writers) {
        /* Always wait for the writers; report their error if nothing failed first. */
        dl_status wr = dl_writeq_finish(&wp, rc == DL_OK ? e : NULL);
        if (rc == DL_OK) rc = wr;
        if (rc == DL_OK && sum) {
            sum->files = wp.files;
            sum->bytes = wp.bytes;
            sum->cards = r.hidden_base[L];
            sum->gallery = r.nmistakes;
            sum->test_n = have_ev ? ev.total : 0;
            sum->accuracy = have_ev ? (double)ev.correct / (double)ev.total : -1.0;
            sum->stats_n = st.n;
        }
    }
    dl_buf_free(&b);
    free(r.jobs);
    free(r.neurons);
    free(r.mistakes);
    free(r.maxes);
    free(r.maxmaps);
    for (int i = 0; r.stats && i < r.hidden_base[L]; i++) dl_neuron_stats_free(&r.stats[i]);
    free(r.stats);
    dl_report_health_free(&r);
    if (have_ev) dl_eval_free(&ev);
    dl_layer_pass_free(&st);
    pthread_mutex_destroy(&r.lock);
    return rc;
}
