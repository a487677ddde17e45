/*
 * embed_net.c — a labelled data set seen through a network (embed_net.h):
 * the images and every chosen hidden layer's activations as matrices (one
 * forward pass per image), then for each space its maps and numbers from
 * embed.h.  One neighbour search per space serves both t-SNE and the 1-NN
 * accuracy.
 */
#include "digitlens/embed_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed_internal.h"

dl_embed_map_opts dl_embed_map_defaults(void)
{
    dl_embed_map_opts o;
    memset(&o, 0, sizeof o);
    o.pca = o.tsne = 1;
    o.tsne_opts = dl_tsne_defaults();
    o.threads = 1;
    o.trust_k = 10;
    return o;
}

size_t dl_embed_map_min_points(const dl_embed_map_opts *o)
{
    size_t need = 2 * (size_t)o->trust_k + 1;
    size_t t = (size_t)(3.0 * o->tsne_opts.perplexity) + 1;
    return o->tsne && t > need ? t : need;
}

void dl_embed_map_free(dl_embed_map *m)
{
    if (!m) return;
    for (int s = 0; s < m->nspaces; s++) {
        free(m->sp[s].X);
        free(m->sp[s].pca);
        free(m->sp[s].tsne);
    }
    free(m->pred);
    memset(m, 0, sizeof *m);
}

/* The activations of every chosen hidden layer and the predictions. */
static dl_status forward_all(const dl_net *net, dl_embed_map *r, dl_err *e)
{
    dl_trace *t = dl_trace_new(net, e);
    if (!t) return e ? e->code : DL_ENOMEM;
    const float *x = r->sp[0].X;
    int L = net->nlayers;
    for (size_t i = 0; i < r->n; i++) {
        const float *out = dl_net_forward(net, x + i * (size_t)net->sizes[0], t);
        r->pred[i] = (uint8_t)dl_argmax(out, net->sizes[L - 1]);
        r->correct += r->pred[i] == r->labels[i];
        for (int s = 1; s < r->nspaces; s++) {
            int l = r->sp[s].layer, d = net->sizes[l];
            memcpy(r->sp[s].X + i * (size_t)d, t->a[l], (size_t)d * sizeof(float));
        }
    }
    dl_trace_free(t);
    return DL_OK;
}

typedef struct progress_relay {
    const dl_embed_map_opts *o;
    const char *space;
} progress_relay;

static void relay(const dl_tsne_progress *p, void *v)
{
    const progress_relay *pr = v;
    pr->o->progress(pr->space, p, pr->o->ctx);
}

static dl_status pca_map(dl_embed_space *sp, size_t n, int threads, dl_err *e)
{
    double t0 = embed_now();
    sp->pca = malloc(2 * n * sizeof(float));
    if (!sp->pca) return dl_err_set(e, DL_ENOMEM, "out of memory for the PCA map of %zu images", n);
    dl_pca *p = dl_pca_fit(sp->X, n, sp->d, sp->d >= 2 ? 2 : 1, threads, e);
    if (!p) return e ? e->code : DL_ENOMEM;
    if (sp->d >= 2) {
        dl_pca_transform(p, sp->X, n, sp->pca);
    } else { /* one dimension: the map is a line, y = 0 */
        dl_pca_transform(p, sp->X, n, sp->pca + n);
        for (size_t i = 0; i < n; i++) {
            sp->pca[2 * i] = sp->pca[n + i];
            sp->pca[2 * i + 1] = 0.0f;
        }
    }
    sp->var[0] = dl_pca_explained(p, 0);
    sp->var[1] = p->ncomp > 1 ? dl_pca_explained(p, 1) : 0.0;
    dl_pca_free(p);
    sp->pca_seconds = embed_now() - t0;
    return DL_OK;
}

static dl_status tsne_map(dl_embed_space *sp, const uint8_t *lab, size_t n, const dl_embed_map_opts *o, dl_err *e)
{
    dl_tsne_opts to = o->tsne_opts;
    to.threads = o->threads;
    progress_relay pr = {o, sp->name};
    to.progress = o->progress ? relay : NULL;
    to.ctx = &pr;
    int k = (int)(3.0 * to.perplexity);
    uint32_t *idx = malloc(n * (size_t)k * sizeof(uint32_t));
    float *d2 = malloc(n * (size_t)k * sizeof(float));
    dl_tsne_result res;
    memset(&res, 0, sizeof res);
    double t0 = embed_now();
    dl_status st;
    if (!idx || !d2)
        st = dl_err_set(e, DL_ENOMEM, "out of memory for the neighbours of %zu images", n);
    else if ((st = dl_embed_knn(sp->X, n, sp->d, k, o->threads, idx, d2, e)) == DL_OK) {
        sp->nn_accuracy = dl_embed_nn_accuracy_knn(idx, k, lab, n);
        st = dl_tsne_knn(sp->X, n, sp->d, idx, d2, k, &to, &res, e);
    }
    free(idx);
    free(d2);
    if (st != DL_OK) return st;
    sp->tsne = res.Y;
    res.Y = NULL;
    sp->kl = res.kl;
    sp->tsne_seconds = embed_now() - t0;
    dl_tsne_result_free(&res);
    return DL_OK;
}

/* One space: its maps and numbers. */
static dl_status map_space(dl_embed_map *r, dl_embed_space *sp, int nclasses, const dl_embed_map_opts *o, dl_err *e)
{
    size_t n = r->n;
    dl_status st = dl_embed_class_mean_accuracy(sp->X, n, sp->d, r->labels, nclasses, &sp->mean_accuracy, e);
    if (st != DL_OK) return st;
    if (r->pca && (st = pca_map(sp, n, o->threads, e)) != DL_OK) return st;
    if (r->tsne) st = tsne_map(sp, r->labels, n, o, e);
    else st = dl_embed_nn_accuracy(sp->X, n, sp->d, r->labels, o->threads, &sp->nn_accuracy, e);
    if (st != DL_OK) return st;
    const float *maps[2];
    double t[2];
    int nm = 0;
    if (sp->pca) maps[nm++] = sp->pca;
    if (sp->tsne) maps[nm++] = sp->tsne;
    if ((st = dl_embed_trustworthiness(sp->X, n, sp->d, maps, nm, 2, r->trust_k, o->threads, t, e)) != DL_OK)
        return st;
    nm = 0;
    if (sp->pca) sp->pca_trust = t[nm++];
    if (sp->tsne) sp->tsne_trust = t[nm++];
    return DL_OK;
}

dl_status dl_embed_map_run(const dl_net *net, const dl_dataset *d, const dl_embed_map_opts *o, dl_embed_map *out,
                           dl_err *e)
{
    memset(out, 0, sizeof *out);
    int L = net->nlayers, hidden = L - 2, K = net->sizes[L - 1];
    if (!o->pca && !o->tsne) return dl_err_set(e, DL_EINVAL, "embed: no method asked for (PCA, t-SNE)");
    if (o->layer < 0 || o->layer > hidden || hidden + 1 > DL_EMBED_MAX_SPACES)
        return dl_err_set(e, DL_EINVAL, "embed: hidden layer %d is not one of 1..%d", o->layer, hidden);
    dl_status st = dl_dataset_check(d, net->sizes[0], K, "embed: the images", "labels must be output indices", e);
    if (st != DL_OK) return st;
    if (d->n < dl_embed_map_min_points(o))
        return dl_err_set(e, DL_EINVAL, "embed: %zu images are too few (at least %zu needed)", d->n,
                          dl_embed_map_min_points(o));
    dl_embed_map *r = out;
    r->n = d->n;
    r->labels = d->labels;
    r->pca = o->pca;
    r->tsne = o->tsne;
    r->trust_k = o->trust_k;
    r->nspaces = 1;
    for (int l = 1; l <= hidden; l++)
        if (!o->layer || l == o->layer) r->sp[r->nspaces++].layer = l;
    r->pred = malloc(r->n);
    int ok = r->pred != NULL;
    for (int s = 0; s < r->nspaces && ok; s++) {
        dl_embed_space *sp = &r->sp[s];
        sp->d = net->sizes[sp->layer];
        if (s == 0) {
            snprintf(sp->name, sizeof sp->name, "pixels");
            snprintf(sp->label, sizeof sp->label, "pixels (%d dims)", sp->d);
        } else {
            snprintf(sp->name, sizeof sp->name, "hidden%d", sp->layer);
            snprintf(sp->label, sizeof sp->label, "hidden layer %d (%d units)", sp->layer, sp->d);
        }
        ok = (sp->X = malloc(r->n * (size_t)sp->d * sizeof(float))) != NULL;
    }
    if (!ok) st = dl_err_set(e, DL_ENOMEM, "embed: out of memory for %zu images", r->n);
    else {
        for (size_t i = 0; i < r->n; i++) dl_dataset_image(d, i, r->sp[0].X + i * d->npix);
        st = forward_all(net, r, e);
    }
    for (int s = 0; s < r->nspaces && st == DL_OK; s++) st = map_space(r, &r->sp[s], K, o, e);
    if (st != DL_OK) dl_embed_map_free(r);
    return st;
}
