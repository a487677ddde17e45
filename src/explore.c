/*
 * explore.c — the explorer page (see explore.h): the page's frame, the
 * model and the test digits as data, and the script, in one file.
 *
 * What the page is made of: html.c's house head and style, explore's own
 * style and markup and its script (src/explore_*.{css,html,js}, turned
 * into C strings at build time by scripts/text2c.sh: explore_assets.h),
 * and three data blocks the script reads:
 *   <script type="application/json" id="dl-meta">   sizes, classes,
 *        activations, accuracy, colour ramps, the test digits' labels,
 *        indices and the network's answers (numbers only: nothing in it
 *        needs escaping)
 *   <script type="application/octet-stream" id="dl-params">  base64 of
 *        the parameters as little-endian float32, net.h's layout
 *   <script type="application/octet-stream" id="dl-samples"> base64 of
 *        the test digits' bytes, [samples x rows*cols]
 * Data blocks of unknown type are never run by a browser, and base64 has
 * no '<', so no block can close its element early.
 *
 * Does not print, exit, or keep anything between calls.
 */
#include "digitlens/explore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/colormap.h"
#include "digitlens/fileio.h"

#include "buf.h"
#include "bytes.h"
#include "explore_assets.h"
#include "html.h"

dl_explore_opts dl_explore_opts_defaults(void)
{
    dl_explore_opts o = {NULL, NULL, 100, 0};
    return o;
}

/* The test digits the page embeds: indices into the test set, mistakes
 * first (up to half of want, in test-set order), then correct answers in
 * test-set order; *pred[i] the network's answer (an output index) on
 * each.  Returns the count (<= want), -1 when out of memory. */
static int pick_samples(const dl_net *n, const dl_dataset *d, int want, size_t *idx, int *pred, int *nwrong)
{
    dl_err e = {0};
    dl_trace *t = dl_trace_new(n, &e);
    float *x = malloc(d->npix * sizeof *x);
    size_t *right = malloc((size_t)want * sizeof *right);
    int *rpred = malloc((size_t)want * sizeof *rpred);
    int count = -1;
    if (!t || !x || !right || !rpred) goto out;
    const int K = n->sizes[n->nlayers - 1], wrong_cap = want / 2 > 0 ? want / 2 : want;
    int nw = 0, nr = 0;
    /* Enough of both kinds ends the scan: the rest of the set changes nothing. */
    for (size_t i = 0; i < d->n && (nw < wrong_cap || nr < want); i++) {
        dl_dataset_image(d, i, x);
        const int p = dl_argmax(dl_net_forward(n, x, t), K);
        if (p != d->labels[i] && nw < want) {
            idx[nw] = i;
            pred[nw++] = p;
        } else if (p == d->labels[i] && nr < want) {
            right[nr] = i;
            rpred[nr++] = p;
        }
    }
    /* Mistakes beyond half the page only when there are too few right answers. */
    int keep_wrong = nw < wrong_cap ? nw : wrong_cap;
    if (keep_wrong + nr < want) keep_wrong = want - nr < nw ? want - nr : nw;
    count = keep_wrong;
    for (int r = 0; r < nr && count < want; r++, count++) {
        idx[count] = right[r];
        pred[count] = rpred[r];
    }
    *nwrong = keep_wrong;
out:
    dl_trace_free(t);
    free(x);
    free(right);
    free(rpred);
    return count;
}

/* A colour ramp sampled at n points as base64 RGB triples. */
static void ramp(dl_buf *b, const char *name, dl_cmap kind, int n)
{
    unsigned char rgb[3 * 256];
    for (int i = 0; i < n; i++) {
        /* diverging: -1 .. +1 with index n/2 exactly 0 (white); viridis: 0 .. 1 */
        dl_rgb c = kind == DL_CMAP_DIVERGING ? dl_cmap_diverging((float)(i - n / 2) / (float)(n / 2), 1.0f)
                                             : dl_cmap_viridis((float)i / (float)(n - 1));
        rgb[3 * i] = c.r;
        rgb[3 * i + 1] = c.g;
        rgb[3 * i + 2] = c.b;
    }
    dl_buf_appendf(b, "\"%s\":\"", name);
    dl_html_base64(b, rgb, (size_t)(3 * n));
    dl_buf_puts(b, "\"");
}

static void int_array(dl_buf *b, const char *name, const int *v, int n)
{
    dl_buf_appendf(b, ",\"%s\":[", name);
    for (int i = 0; i < n; i++) dl_buf_appendf(b, "%s%d", i ? "," : "", v[i]);
    dl_buf_puts(b, "]");
}

/* The dl-meta block. */
static void meta_block(dl_buf *b, const dl_model *m, const dl_explore_opts *o, const int *labels,
                       const size_t *idx, const int *pred, int ns, int nwrong)
{
    const dl_net *n = m->net;
    int classes[256];
    for (int k = 0; k < m->nclasses; k++) classes[k] = m->classes[k];
    dl_buf_puts(b, "<script type=\"application/json\" id=\"dl-meta\">{\"version\":1");
    int_array(b, "sizes", n->sizes, n->nlayers);
    dl_buf_appendf(b, ",\"rows\":%d,\"cols\":%d", m->rows, m->cols);
    int_array(b, "classes", classes, m->nclasses);
    /* One activation per weight layer, as dl_net_forward_from applies them. */
    dl_buf_puts(b, ",\"activations\":[");
    for (int l = 0; l + 1 < n->nlayers; l++) dl_buf_appendf(b, "%s\"%s\"", l ? "," : "", dl_act_name(n->act[l]));
    dl_buf_puts(b, "]");
    const double acc = dl_model_last_accuracy(m);
    if (acc >= 0) dl_buf_appendf(b, ",\"trainAccuracy\":%.6g", acc);
    dl_buf_appendf(b, ",\"epochs\":%u,\"report\":%s,\"samples\":%d,\"misclassified\":%d", m->nhistory,
                   o->link_report ? "true" : "false", ns, nwrong);
    if (ns > 0) {
        int_array(b, "labels", labels, ns);
        int_array(b, "predicted", pred, ns);
        dl_buf_puts(b, ",\"index\":[");
        for (int i = 0; i < ns; i++) dl_buf_appendf(b, "%s%zu", i ? "," : "", idx[i]);
        dl_buf_puts(b, "]");
    }
    dl_buf_puts(b, ",\"ramps\":{");
    ramp(b, "diverging", DL_CMAP_DIVERGING, 255);
    dl_buf_puts(b, ",");
    ramp(b, "viridis", DL_CMAP_VIRIDIS, 256);
    dl_buf_puts(b, "}}</script>\n");
}

/* The parameters as little-endian float32 in base64, a chunk at a time. */
static void params_block(dl_buf *b, const dl_net *n)
{
    dl_buf_puts(b, "<script type=\"application/octet-stream\" id=\"dl-params\">");
    /* 3072 bytes hold whole floats (a multiple of 4) and encode without
     * padding (a multiple of 3), so the chunks' base64 joins up. */
    unsigned char chunk[3072];
    size_t used = 0;
    for (size_t i = 0; i < n->nparams; i++) {
        uint32_t u;
        memcpy(&u, &n->params[i], sizeof u);
        dl_put_le32(chunk + used, u);
        if ((used += 4) == sizeof chunk) {
            dl_html_base64(b, chunk, used);
            used = 0;
        }
    }
    dl_html_base64(b, chunk, used);
    dl_buf_puts(b, "</script>\n");
}

static dl_status check_model(const dl_model *m, const dl_explore_opts *o, dl_err *e)
{
    const dl_net *n = m->net;
    if (n->nlayers < 3)
        return dl_err_set(e, DL_EINVAL, "explore: the network has no hidden layer (the page shows hidden neurons; "
                          "its outputs read the pixels directly)");
    if ((size_t)m->rows * (size_t)m->cols != (size_t)n->sizes[0] || m->rows < 2 || m->cols < 2)
        return dl_err_set(e, DL_EINVAL, "explore: the network's %d inputs are not a %d x %d picture", n->sizes[0],
                          m->rows, m->cols);
    if (m->nclasses != n->sizes[n->nlayers - 1])
        return dl_err_set(e, DL_EINVAL, "explore: the model names %d classes for %d outputs", m->nclasses,
                          n->sizes[n->nlayers - 1]);
    if (o->samples < 0 || o->samples > DL_EXPLORE_MAX_SAMPLES)
        return dl_err_set(e, DL_EINVAL, "explore: %d samples is outside 0..%d", o->samples, DL_EXPLORE_MAX_SAMPLES);
    if (o->test && o->test->npix != (size_t)n->sizes[0])
        return dl_err_set(e, DL_EINVAL, "explore: the test images are %d x %d, the network reads %d x %d",
                          o->test->rows, o->test->cols, m->rows, m->cols);
    return DL_OK;
}

dl_status dl_explore_page(const dl_model *m, const dl_explore_opts *o, char **html, size_t *len,
                          dl_explore_summary *sum, dl_err *e)
{
    dl_explore_opts def = dl_explore_opts_defaults();
    if (!o) o = &def;
    dl_status rc = check_model(m, o, e);
    if (rc != DL_OK) return rc;
    const dl_net *n = m->net;
    const dl_dataset *d = o->samples > 0 ? o->test : NULL;
    int want = d ? (d->n < (size_t)o->samples ? (int)d->n : o->samples) : 0;
    size_t *idx = malloc((size_t)(want + 1) * sizeof *idx);
    int *pred = malloc((size_t)(want + 1) * sizeof *pred), *labels = malloc((size_t)(want + 1) * sizeof *labels);
    unsigned char *px = malloc((size_t)want * (d ? d->npix : 0) + 1);
    dl_buf b = {0};
    int ns = 0, nwrong = 0;
    if (!idx || !pred || !labels || !px || (want > 0 && (ns = pick_samples(n, d, want, idx, pred, &nwrong)) < 0)) {
        rc = dl_err_set(e, DL_ENOMEM, "explore: out of memory");
        goto out;
    }
    for (int i = 0; i < ns; i++) {
        labels[i] = d->labels[idx[i]];
        memcpy(px + (size_t)i * d->npix, d->pixels + idx[i] * d->npix, d->npix);
    }

    char sub[300], lt[160] = "";
    for (int l = 0, k = 0; l < n->nlayers && k < (int)sizeof lt - 16; l++)
        k += snprintf(lt + k, sizeof lt - (size_t)k, "%s%d", l ? "-" : "", n->sizes[l]);
    /* "sigmoid", or the hidden layers' and the output's ("relu hidden, softmax output"). */
    char acts[64];
    dl_act hid = n->act[0], outa = n->act[n->nlayers - 2];
    if (dl_net_all_sigmoid(n)) snprintf(acts, sizeof acts, "sigmoid");
    else if (n->nlayers == 2) snprintf(acts, sizeof acts, "%s-output", dl_act_name(outa));
    else snprintf(acts, sizeof acts, "%s-hidden, %s-output", dl_act_name(hid), dl_act_name(outa));
    snprintf(sub, sizeof sub, "a %s %s network: draw a digit and watch every neuron respond", lt, acts);
    dl_html_head_css(&b, o->title ? o->title : "digitlens explorer", sub, dl_explore_css);
    dl_buf_puts(&b, "<nav><a href=\"#pad-panel\">draw</a><a href=\"#neuron-panel\">neuron</a>");
    if (ns > 0) dl_buf_puts(&b, "<a href=\"#samples-panel\">test digits</a>");
    if (o->link_report) dl_buf_puts(&b, "<a href=\"index.html\">the report</a>");
    dl_buf_puts(&b, "</nav></header>\n");
    dl_buf_puts(&b, dl_explore_body);
    meta_block(&b, m, o, labels, idx, pred, ns, nwrong);
    params_block(&b, n);
    dl_buf_puts(&b, "<script type=\"application/octet-stream\" id=\"dl-samples\">");
    if (ns > 0) dl_html_base64(&b, px, (size_t)ns * d->npix);
    dl_buf_puts(&b, "</script>\n<script>\n'use strict';\n");
    dl_buf_puts(&b, dl_explore_js);
    dl_buf_puts(&b, "</script>\n</body>\n</html>\n");
    if (b.oom) {
        rc = dl_err_set(e, DL_ENOMEM, "explore: out of memory building the page");
        goto out;
    }
    *html = dl_buf_take(&b, len);
    if (sum) {
        sum->bytes = *len;
        sum->samples = ns;
        sum->misclassified = nwrong;
        sum->report = o->link_report;
    }
out:
    dl_buf_free(&b);
    free(idx);
    free(pred);
    free(labels);
    free(px);
    return rc;
}

/* The report in dir, when there is one with a slot for the link: its
 * text in *html (the caller frees it) and where the slot is. */
static const char *report_slot(const char *dir, char **html, size_t *len)
{
    char path[4200];
    dl_err ignored = {0};
    *html = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, DL_EXPLORE_REPORT);
    unsigned char *p = NULL;
    if (!dl_file_exists(path) || dl_file_read_all(path, (size_t)64 << 20, &p, len, &ignored) != DL_OK) return NULL;
    char *t = realloc(p, *len + 1);
    if (!t) {
        free(p);
        return NULL;
    }
    t[*len] = '\0';
    *html = t;
    return strlen(t) == *len ? strstr(t, DL_EXPLORE_SLOT) : NULL;
}

dl_status dl_explore_write(const dl_model *m, const char *dir, const dl_explore_opts *o,
                           dl_explore_summary *sum, dl_err *e)
{
    char path[4096], rpath[4200];
    if (snprintf(path, sizeof path, "%s/%s", dir, DL_EXPLORE_FILE) >= (int)sizeof path)
        return dl_err_set(e, DL_EINVAL, "explore: the folder name is too long");
    snprintf(rpath, sizeof rpath, "%s/%s", dir, DL_EXPLORE_REPORT);
    dl_explore_opts oo = o ? *o : dl_explore_opts_defaults();
    char *report = NULL, *html = NULL;
    size_t rlen = 0, len = 0;
    const char *slot = report_slot(dir, &report, &rlen);
    const int linked = report && (slot || strstr(report, DL_EXPLORE_LINK));
    oo.link_report = linked;
    dl_status rc = dl_explore_page(m, &oo, &html, &len, sum, e);
    if (rc == DL_OK) rc = dl_mkdir_p(dir, e);
    if (rc == DL_OK) {
        rc = dl_file_write_atomic_free(path, html, len, e);
        html = NULL;
    }
    if (rc == DL_OK && slot) {
        /* The report's text with the slot replaced by the link. */
        dl_buf b = {0};
        const size_t at = (size_t)(slot - report), cut = strlen(DL_EXPLORE_SLOT);
        dl_buf_append(&b, report, at);
        dl_buf_puts(&b, DL_EXPLORE_LINK);
        dl_buf_append(&b, report + at + cut, rlen - at - cut);
        size_t n = 0;
        char *text = dl_buf_take(&b, &n);
        rc = text ? dl_file_write_atomic_free(rpath, text, n, e)
                  : dl_err_set(e, DL_ENOMEM, "explore: out of memory linking the report");
    }
    free(html);
    free(report);
    return rc;
}
