/*
 * report_jobs.c — the report's pictures (see report.c): a neuron card per
 * hidden neuron, the misclassified gallery, the maximising input of each
 * class and the templates, drawn by a pool of threads that share the jobs
 * through one counter; each PNG is handed to the write queue.
 */
#include "report_jobs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/contrib.h"
#include "digitlens/png.h"
#include "digitlens/viz_explain.h"
#include "contract.h"

/* Encodes c as PNG and hands it to the writers for dir/name. */
static dl_status save_png(report_ctx *r, const char *name, const dl_canvas *c, dl_err *e)
{
    unsigned char *png = NULL;
    size_t len = 0;
    dl_status st = dl_png_encode(c, &png, &len, e);
    if (st != DL_OK) return st;
    return dl_writeq_put(r->writers, r->dir, name, png, len, e);
}

void dl_report_card_name(char *buf, size_t cap, int layer, int neuron)
{
    snprintf(buf, cap, "img/neuron-l%d-%03d.png", layer, neuron);
}

static dl_status job_card(report_ctx *r, const job *jb, dl_err *e)
{
    const dl_model *m = r->m;
    neuron_info *ni = &r->neurons[r->hidden_base[jb->layer] + jb->index];
    ni->best_class = -1;
    char name[64];
    dl_report_card_name(name, sizeof name, jb->layer, jb->index);
    dl_canvas *c = NULL;
    dl_status st;
    if (!r->st) {
        /* No data to compute statistics on: the card is the weight picture. */
        c = dl_viz_weight_picture(m, jb->layer, jb->index, 0, 0.0f, &r->card_style, e);
        if (!c) return e->code ? e->code : DL_ENOMEM;
    } else {
        dl_neuron_stats *s = &r->stats[r->hidden_base[jb->layer] + jb->index];
        ni->mean = s->mean;
        ni->ablation_drop = s->ablation_drop;
        for (int k = 0; k < s->nclasses; k++)
            if (isfinite(s->class_mean[k]) && (ni->best_class < 0 || s->class_mean[k] > ni->best_mean)) {
                ni->best_class = k;
                ni->best_mean = s->class_mean[k];
            }
        c = dl_viz_neuron_card(m, r->st->d, s, &r->card_style, e);
        dl_neuron_stats_free(s); /* each job owns its neuron's statistics */
        if (!c) return e->code ? e->code : DL_ENOMEM;
    }
    ni->w = c->w;
    ni->h = c->h;
    st = save_png(r, name, c, e);
    dl_canvas_free(c);
    return st;
}

/* Why the predicted digit and not the true one: the largest votes each
 * way for the margin z_pred − z_true (none without a hidden layer). */
static dl_status mistake_votes(const dl_net *n, const float *x, mistake *mk, dl_err *e)
{
    mk->vote_layer = 0;
    if (n->nlayers < 3) return DL_OK;
    dl_contrib_opts co = {mk->truth, 0, NULL};
    dl_contrib *c = dl_contrib_compute(n, mk->pred, x, &co, e);
    if (!c) return e && e->code ? e->code : DL_ENOMEM;
    mk->vote_layer = c->layer;
    mk->margin = c->z;
    mk->nfor = dl_contrib_rank(c->vote, c->width, MISTAKE_VOTES, 1, mk->for_j);
    mk->nagainst = dl_contrib_rank(c->vote, c->width, MISTAKE_VOTES, 0, mk->against_j);
    while (mk->nfor > 0 && !(c->vote[mk->for_j[mk->nfor - 1]] > 0.0f)) mk->nfor--;
    while (mk->nagainst > 0 && !(c->vote[mk->against_j[mk->nagainst - 1]] < 0.0f)) mk->nagainst--;
    for (int i = 0; i < mk->nfor; i++) mk->for_v[i] = c->vote[mk->for_j[i]];
    for (int i = 0; i < mk->nagainst; i++) mk->against_v[i] = c->vote[mk->against_j[i]];
    dl_contrib_free(c);
    return DL_OK;
}

static dl_status job_mistake(report_ctx *r, const job *jb, dl_err *e)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    mistake *mk = &r->mistakes[jb->index];
    int np = n->sizes[0];
    float *x = malloc((size_t)np * sizeof(float)), *ap = malloc((size_t)np * sizeof(float)),
          *at = malloc((size_t)np * sizeof(float));
    dl_canvas *c = NULL;
    dl_status st = DL_OK;
    if (!x || !ap || !at) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    dl_dataset_image(r->st->d, mk->index, x);
    dl_attr_opts ao = dl_attr_opts_defaults(m->rows, m->cols);
    dl_attr_info ip, it;
    if ((st = dl_explain_attribution(n, r->o->method, mk->pred, x, &ao, ap, &ip, e)) != DL_OK ||
        (st = dl_explain_attribution(n, r->o->method, mk->truth, x, &ao, at, &it, e)) != DL_OK)
        goto out;
    mk->p_pred = ip.output;
    mk->p_true = it.output;
    if ((st = mistake_votes(n, x, mk, e)) != DL_OK) goto out;
    char t1[96], t2[96], n1[64], n2[64];
    snprintf(t1, sizeof t1, "for %d (predicted)", m->classes[mk->pred]);
    snprintf(t2, sizeof t2, "for %d (true)", m->classes[mk->truth]);
    snprintf(n1, sizeof n1, "output %.3f", (double)ip.output);
    snprintf(n2, sizeof n2, "output %.3f", (double)it.output);
    dl_viz_attr_panel panels[2] = {{ap, t1, n1}, {at, t2, n2}};
    /* The two maps are compared (what speaks for the prediction against what
     * speaks for the truth), so by default one colour means one value in
     * both: ±max over the pair.  No caption in the PNG: the page's
     * figcaption says which image it is. */
    float la = dl_scale_fit(DL_CMAP_DIVERGING, ap, (size_t)np).hi, lt = dl_scale_fit(DL_CMAP_DIVERGING, at, (size_t)np).hi;
    float shared = r->o->per_map_scale ? 0.0f : (la > lt ? la : lt);
    c = dl_viz_attribution_row_scaled(x, m->rows, m->cols, panels, 2, NULL, shared, &r->gallery_style, e);
    if (!c) {
        st = e->code ? e->code : DL_ENOMEM;
        goto out;
    }
    mk->w = c->w;
    mk->h = c->h;
    char name[64];
    snprintf(name, sizeof name, "img/mistake-%05zu.png", mk->index);
    st = save_png(r, name, c, e);
out:
    dl_canvas_free(c);
    free(x);
    free(ap);
    free(at);
    return st;
}

static dl_status job_maximize(report_ctx *r, const job *jb, dl_err *e)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    float *x = r->maxmaps + (size_t)jb->index * n->sizes[0];
    /* A stronger L2 and a slight blur give smoother, more readable pictures
     * than the bare defaults (salt-and-pepper noise that scores as well). */
    dl_maximize_opts mo = dl_maximize_opts_defaults(m->rows, m->cols);
    mo.l2 = 0.05f;
    mo.blur = 0.5f;
    dl_maximize_info info;
    dl_status st = dl_explain_maximize(n, n->nlayers - 1, jb->index, &mo, x, &info, e);
    if (st == DL_OK) {
        r->maxes[jb->index].activation = info.activation;
        r->maxes[jb->index].z = info.z;
    }
    return st;
}

/* The maximising inputs in one row, dark ink on white like the inputs
 * elsewhere, each titled with its digit and weighted input z, with one
 * colour bar: more compact than a picture per class. */
dl_status dl_report_maximize_row(report_ctx *r, dl_err *e)
{
    enum { PAD = 8, TITLE = 15, TEXT = 13, BAR_H = 2 * TEXT + 15 };
    const dl_model *m = r->m;
    int K = m->nclasses, sc = r->row_style.scale, pw = m->cols * sc, ph = m->rows * sc;
    const dl_font *f = r->row_style.font;
    int W = PAD + K * pw + (K - 1) * PAD + PAD;
    const char *caption = "input in [0, 1] that maximises each output (gradient ascent on z - 0.05 sum x^2, blur 0.5)";
    int cw = dl_canvas_text_width(f, caption, TITLE) + 2 * PAD;
    if (W < cw) W = cw;
    int y = PAD + TITLE + PAD, H = y + 2 * (TITLE + 2) + ph + PAD + BAR_H + PAD;
    dl_canvas *c = dl_canvas_new(W, H, DL_RGB(255, 255, 255), e);
    if (!c) return e ? e->code : DL_ENOMEM;
    dl_status st = dl_canvas_text(c, f, PAD, PAD, caption, TITLE, DL_RGB_TEXT);
    dl_colorscale cs = dl_scale_sequential(DL_CMAP_INK, 0.0f, 1.0f);
    for (int k = 0; k < K && st == DL_OK; k++) {
        int x = PAD + k * (pw + PAD);
        char t[32], z[32];
        snprintf(t, sizeof t, "%d", m->classes[k]);
        snprintf(z, sizeof z, "z = %.1f", (double)r->maxes[k].z);
        st = dl_canvas_text_aligned(c, f, x + pw / 2, y, t, TITLE, DL_RGB_TEXT, DL_ALIGN_CENTER);
        if (st == DL_OK)
            st = dl_canvas_text_aligned(c, f, x + pw / 2, y + TITLE + 2, z, TEXT, DL_RGB(82, 96, 109), DL_ALIGN_CENTER);
        int my = y + 2 * (TITLE + 2);
        dl_canvas_draw_map(c, x, my, r->maxmaps + (size_t)k * m->net->sizes[0], m->cols, m->rows, sc, cs);
        dl_canvas_rect_outline(c, x - 1, my - 1, pw + 2, ph + 2, 1, DL_RGB(200, 200, 200));
    }
    int bw = W - 2 * PAD > 300 ? 300 : W - 2 * PAD;
    if (st == DL_OK)
        st = dl_canvas_colorbar(c, f, (W - bw) / 2, y + 2 * (TITLE + 2) + ph + PAD, bw, BAR_H, cs, "pixel value",
                                TEXT, e);
    if (st == DL_OK) {
        r->max_w = c->w;
        r->max_h = c->h;
        st = save_png(r, "img/maximize.png", c, e);
    } else if (e && e->code == DL_OK) {
        st = dl_err_set(e, st, "report: cannot draw the maximising inputs");
    }
    dl_canvas_free(c);
    return st;
}

static dl_status job_templates(report_ctx *r, dl_err *e)
{
    const dl_model *m = r->m;
    int K = m->nclasses, np = m->net->sizes[0];
    float *maps = malloc((size_t)K * np * sizeof(float));
    if (!maps) return dl_err_set(e, DL_ENOMEM, "out of memory");
    char names[256][8];
    const char *titles[256];
    dl_status st = DL_OK;
    for (int k = 0; k < K && st == DL_OK; k++) {
        snprintf(names[k], sizeof names[k], "%d", m->classes[k]);
        titles[k] = names[k];
        st = dl_viz_template_map(m->net, k, maps + (size_t)k * np, e);
    }
    if (st == DL_OK) {
        dl_canvas *c = dl_viz_map_row(maps, K, m->cols, m->rows, titles,
                                      dl_net_all_sigmoid(m->net)
                                          ? "linearised template of each output: row c of W2 W1 (sigmoids ignored)"
                                          : "linearised template of each output: row c of W2 W1 (activations ignored)",
                                      &r->row_style, e);
        if (!c) {
            st = e->code ? e->code : DL_ENOMEM;
        } else {
            r->tmpl_w = c->w;
            r->tmpl_h = c->h;
            st = save_png(r, "img/templates.png", c, e);
            dl_canvas_free(c);
        }
    }
    free(maps);
    return st;
}

static void worker(void *arg, int t, int nt)
{
    (void)t;
    (void)nt;
    report_ctx *r = arg;
    dl_err e;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int i = r->failed ? r->njobs : r->next++;
        pthread_mutex_unlock(&r->lock);
        if (i >= r->njobs) break;
        const job *jb = &r->jobs[i];
        DL_ASSERT(jb->kind != JOB_CARD || (jb->layer >= 1 && jb->index < r->m->net->sizes[jb->layer]));
        dl_err_clear(&e);
        dl_status st;
        switch (jb->kind) {
        case JOB_CARD: st = job_card(r, jb, &e); break;
        case JOB_MISTAKE: st = job_mistake(r, jb, &e); break;
        case JOB_MAXIMIZE: st = job_maximize(r, jb, &e); break;
        default: st = job_templates(r, &e); break;
        }
        if (st != DL_OK) {
            pthread_mutex_lock(&r->lock);
            if (!r->failed) {
                r->failed = 1;
                r->err = e;
                if (r->err.code == DL_OK) r->err.code = st;
            }
            pthread_mutex_unlock(&r->lock);
            break;
        }
    }
}

/* The threads share the jobs through r->next: which thread draws a picture
 * never changes its bytes. */
dl_status dl_report_run_jobs(report_ctx *r, int threads, dl_err *e)
{
    dl_parallel_run(dl_parallel_threads(threads, (size_t)r->njobs), worker, r);
    if (r->failed) {
        if (e) *e = r->err;
        return r->err.code;
    }
    return DL_OK;
}

