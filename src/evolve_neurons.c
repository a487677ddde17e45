/*
 * evolve_neurons.c — hidden neurons that do nothing or the same thing
 * (see evolve.h, part 3): dead neurons, duplicate pairs, the pruning curve
 * and the clustering order of a layer.
 *
 * All of it starts from one stored pass over the data: for every example
 * the activations a of the layer, A [count x n] (neuron-major, so a
 * neuron's activations are contiguous for correlations), and the weighted
 * inputs z of the layer above, Z [n x up].  Removing neuron j changes z of
 * the layer above by −W[layer][:, j]·a_j exactly (its only effect
 * downstream), so a pruned network is scored from Z without running the
 * layers below again.
 */
#include "digitlens/evolve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pass {
    const dl_net *net;
    const dl_dataset *d;
    int layer, count, up;  /* neurons of the layer and of the one above */
    size_t n;
    float *A;              /* [count x n] */
    float *Z;              /* [n x up] */
    dl_trace *t;           /* scratch for the layers above */
} pass;

static void pass_free(pass *p)
{
    free(p->A);
    free(p->Z);
    dl_trace_free(p->t);
}

static dl_status pass_run(const dl_net *net, const dl_dataset *d, int layer, pass *p, dl_err *e)
{
    memset(p, 0, sizeof *p);
    if (layer < 1 || layer > net->nlayers - 2)
        return dl_err_set(e, DL_EINVAL, "layer %d is not a hidden layer (this network has hidden layers 1..%d)",
                          layer, net->nlayers - 2);
    dl_status st = dl_dataset_check(d, net->sizes[0], net->sizes[net->nlayers - 1], "the data", NULL, e);
    if (st != DL_OK) return st;
    if (d->n == 0) return dl_err_set(e, DL_EINVAL, "no examples to look at");
    p->net = net;
    p->d = d;
    p->layer = layer;
    p->count = net->sizes[layer];
    p->up = net->sizes[layer + 1];
    p->n = d->n;
    p->A = malloc((size_t)p->count * d->n * sizeof *p->A);
    p->Z = malloc((size_t)p->up * d->n * sizeof *p->Z);
    p->t = dl_trace_new(net, e);
    float *x = malloc(d->npix * sizeof *x);
    if (!p->A || !p->Z || !p->t || !x) {
        free(x);
        pass_free(p);
        return dl_err_set(e, DL_ENOMEM, "out of memory for %zu examples", d->n);
    }
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        dl_net_forward(net, x, p->t);
        for (int j = 0; j < p->count; j++) p->A[(size_t)j * d->n + i] = p->t->a[layer][j];
        memcpy(p->Z + i * (size_t)p->up, p->t->z[layer + 1], (size_t)p->up * sizeof(float));
    }
    free(x);
    return DL_OK;
}

/* The prediction for example i when the layer above has weighted inputs z. */
static int predict(pass *p, const float *z)
{
    const dl_net *n = p->net;
    int L = n->nlayers - 1, from = p->layer + 1;
    for (int k = 0; k < p->up; k++) p->t->a[from][k] = dl_sigmoid(z[k]);
    const float *out = from == L ? p->t->a[L] : dl_net_forward_from(n, p->t, from);
    return dl_argmax(out, n->sizes[L]);
}

/* Accuracy with the neurons marked in removed[] (or, when extra >= 0,
 * also neuron extra) taken out; zbuf [up] scratch.  Z holds the intact
 * weighted inputs, so each example subtracts what the removed ones gave. */
static double accuracy_without(pass *p, const unsigned char *removed, int extra, float *zbuf)
{
    const float *W = p->net->w[p->layer]; /* [up x count] */
    size_t correct = 0;
    for (size_t i = 0; i < p->n; i++) {
        memcpy(zbuf, p->Z + i * (size_t)p->up, (size_t)p->up * sizeof *zbuf);
        for (int j = 0; j < p->count; j++) {
            if (!(removed && removed[j]) && j != extra) continue;
            float a = p->A[(size_t)j * p->n + i];
            for (int k = 0; k < p->up; k++) zbuf[k] -= W[(size_t)k * p->count + j] * a;
        }
        if (predict(p, zbuf) == p->d->labels[i]) correct++;
    }
    return (double)correct / (double)p->n;
}

/* Pearson correlations of the layer's activations: r[count x count];
 * NaN where a neuron does not vary.  mean/var [count] out. */
static dl_status correlations(const pass *p, float *mean, float *var, float *r, dl_err *e)
{
    size_t n = p->n;
    int H = p->count;
    float *zs = malloc((size_t)H * n * sizeof *zs);
    if (!zs) return dl_err_set(e, DL_ENOMEM, "out of memory");
    for (int j = 0; j < H; j++) {
        const float *a = p->A + (size_t)j * n;
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) s += a[i];
        double m = s / (double)n;
        for (size_t i = 0; i < n; i++) ss += (a[i] - m) * (a[i] - m);
        double v = ss / (double)n, sd = sqrt(v);
        mean[j] = (float)m;
        var[j] = (float)v;
        for (size_t i = 0; i < n; i++) zs[(size_t)j * n + i] = sd > 1e-9 ? (float)((a[i] - m) / sd) : 0.0f;
    }
    for (int i = 0; i < H; i++) {
        r[(size_t)i * H + i] = 1.0f;
        for (int j = i + 1; j < H; j++) {
            double dot = 0;
            const float *x = zs + (size_t)i * n, *y = zs + (size_t)j * n;
            for (size_t k = 0; k < n; k++) dot += (double)x[k] * y[k];
            float v = (var[i] > 1e-18f && var[j] > 1e-18f) ? (float)(dot / (double)n) : NAN;
            r[(size_t)i * H + j] = r[(size_t)j * H + i] = v;
        }
    }
    free(zs);
    return DL_OK;
}

dl_health_opts dl_health_defaults(void)
{
    dl_health_opts o = {1e-4f, 0.99f, 0.95f};
    return o;
}

void dl_neuron_health_free(dl_neuron_health *h)
{
    if (!h) return;
    free(h->mean);
    free(h->variance);
    free(h->saturated);
    free(h->dead);
    free(h->dups);
    free(h->order);
    free(h->pruning);
    memset(h, 0, sizeof *h);
}

static float cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < n; k++) {
        ab += (double)a[k] * b[k];
        aa += (double)a[k] * a[k];
        bb += (double)b[k] * b[k];
    }
    return aa > 0 && bb > 0 ? (float)(ab / sqrt(aa * bb)) : 0.0f;
}

typedef struct ranked {
    double drop;
    int j;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->drop != y->drop) return x->drop < y->drop ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

dl_status dl_neuron_health_compute(const dl_net *net, const dl_dataset *d, int layer, const dl_health_opts *o,
                                   dl_neuron_health *h, dl_err *e)
{
    memset(h, 0, sizeof *h);
    pass p;
    dl_status st = pass_run(net, d, layer, &p, e);
    if (st != DL_OK) return st;
    int H = p.count, in = net->sizes[layer - 1];
    h->layer = layer;
    h->count = H;
    h->n = p.n;
    h->mean = malloc((size_t)H * sizeof *h->mean);
    h->variance = malloc((size_t)H * sizeof *h->variance);
    h->saturated = malloc((size_t)H * sizeof *h->saturated);
    h->dead = malloc((size_t)H * sizeof *h->dead);
    h->order = malloc((size_t)H * sizeof *h->order);
    h->pruning = malloc((size_t)(H + 1) * sizeof *h->pruning);
    float *r = malloc((size_t)H * H * sizeof *r), *zbuf = malloc((size_t)p.up * sizeof *zbuf);
    ranked *rank = malloc((size_t)H * sizeof *rank);
    unsigned char *removed = calloc((size_t)H, 1);
    if (!h->mean || !h->variance || !h->saturated || !h->dead || !h->order || !h->pruning || !r || !zbuf || !rank ||
        !removed) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    if ((st = correlations(&p, h->mean, h->variance, r, e)) != DL_OK) goto out;
    for (int j = 0; j < H; j++) {
        size_t sat = 0;
        const float *a = p.A + (size_t)j * p.n;
        for (size_t i = 0; i < p.n; i++) sat += a[i] * (1.0f - a[i]) < DL_SATURATED_SLOPE;
        h->saturated[j] = (float)sat / (float)p.n;
        if (h->variance[j] < o->dead_variance || h->saturated[j] >= o->dead_saturated) h->dead[h->ndead++] = j;
    }
    int cap = 0;
    for (int i = 0; i < H; i++)
        for (int j = i + 1; j < H; j++) {
            float v = r[(size_t)i * H + j];
            if (!(v > o->duplicate_r)) continue;
            if (h->ndups == cap) {
                cap = cap ? 2 * cap : 16;
                dl_dup_pair *g = realloc(h->dups, (size_t)cap * sizeof *g);
                if (!g) {
                    st = dl_err_set(e, DL_ENOMEM, "out of memory");
                    goto out;
                }
                h->dups = g;
            }
            const float *wi = net->w[layer - 1] + (size_t)i * in, *wj = net->w[layer - 1] + (size_t)j * in;
            h->dups[h->ndups++] = (dl_dup_pair){i, j, v, cosine(wi, wj, in)};
        }
    h->accuracy = accuracy_without(&p, NULL, -1, zbuf);
    for (int j = 0; j < H; j++) rank[j] = (ranked){h->accuracy - accuracy_without(&p, NULL, j, zbuf), j};
    qsort(rank, (size_t)H, sizeof *rank, cmp_ranked);
    h->pruning[0] = h->accuracy;
    for (int k = 0; k < H; k++) {
        h->order[k] = rank[k].j;
        removed[rank[k].j] = 1;
        h->pruning[k + 1] = accuracy_without(&p, removed, -1, zbuf);
    }
out:
    free(r);
    free(zbuf);
    free(rank);
    free(removed);
    pass_free(&p);
    if (st != DL_OK) dl_neuron_health_free(h);
    return st;
}

dl_status dl_neuron_cluster_order(const dl_net *net, const dl_dataset *d, int layer, int *order, dl_err *e)
{
    pass p;
    dl_status st = pass_run(net, d, layer, &p, e);
    if (st != DL_OK) return st;
    int H = p.count;
    float *mean = malloc((size_t)H * sizeof *mean), *var = malloc((size_t)H * sizeof *var);
    float *r = malloc((size_t)H * H * sizeof *r);
    double *dist = malloc((size_t)H * H * sizeof *dist);
    int *size = malloc((size_t)H * sizeof *size), *next = malloc((size_t)H * sizeof *next),
        *tail = malloc((size_t)H * sizeof *tail), *alive = malloc((size_t)H * sizeof *alive);
    if (!mean || !var || !r || !dist || !size || !next || !tail || !alive) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory");
        goto out;
    }
    if ((st = correlations(&p, mean, var, r, e)) != DL_OK) goto out;
    /* Average linkage, naively (O(H^3): a hidden layer is small).  Each
     * cluster is a linked list of its neurons; merging a with b appends b's
     * list to a's, so the final list is the dendrogram's leaf order. */
    for (int i = 0; i < H; i++) {
        size[i] = 1;
        next[i] = -1;
        tail[i] = i;
        alive[i] = 1;
        for (int j = 0; j < H; j++) {
            float v = r[(size_t)i * H + j];
            dist[(size_t)i * H + j] = i == j ? 0.0 : isnan(v) ? 1.0 : 1.0 - v;
        }
    }
    for (int merges = 0; merges + 1 < H; merges++) {
        int bi = -1, bj = -1;
        double best = INFINITY;
        for (int i = 0; i < H; i++) {
            if (!alive[i]) continue;
            for (int j = i + 1; j < H; j++)
                if (alive[j] && dist[(size_t)i * H + j] < best) {
                    best = dist[(size_t)i * H + j];
                    bi = i;
                    bj = j;
                }
        }
        for (int k = 0; k < H; k++) {
            if (!alive[k] || k == bi || k == bj) continue;
            double v = (dist[(size_t)bi * H + k] * size[bi] + dist[(size_t)bj * H + k] * size[bj]) / (size[bi] + size[bj]);
            dist[(size_t)bi * H + k] = dist[(size_t)k * H + bi] = v;
        }
        next[tail[bi]] = bj;
        tail[bi] = tail[bj];
        size[bi] += size[bj];
        alive[bj] = 0;
    }
    int head = 0;
    while (head < H && !alive[head]) head++;
    for (int k = 0, j = head; k < H && j >= 0; k++, j = next[j]) order[k] = j;
out:
    free(mean);
    free(var);
    free(r);
    free(dist);
    free(size);
    free(next);
    free(tail);
    free(alive);
    pass_free(&p);
    return st;
}

/* ---- the pruning chart ----------------------------------------------------- */

enum { PAD = 10, TEXT = 13, TITLE = 15 };

dl_canvas *dl_pruning_picture(const dl_neuron_health *h, const dl_font *font, dl_err *e)
{
    int pw = 520, ph = 260, left = 56, top = PAD + TITLE + PAD + TEXT + PAD;
    dl_canvas *c = dl_canvas_new(left + pw + 3 * PAD, top + ph + 3 * TEXT + 2 * PAD, DL_RGB(255, 255, 255), e);
    if (!c) return NULL;
    char buf[200];
    snprintf(buf, sizeof buf, "Pruning layer %d: accuracy as the least useful neurons are removed", h->layer);
    dl_canvas_text(c, font, PAD, PAD, buf, TITLE, DL_RGB_TEXT);
    int keep1 = 0;
    while (keep1 < h->count && h->pruning[keep1 + 1] >= h->accuracy - 0.01) keep1++;
    snprintf(buf, sizeof buf, "%d of %d neurons go for less than 1 point (%.2f%% -> %.2f%%) on %zu examples", keep1,
             h->count, 100 * h->accuracy, 100 * h->pruning[keep1], h->n);
    dl_canvas_text(c, font, PAD, PAD + TITLE + PAD, buf, TEXT, DL_RGB_TEXT);
    dl_rgb axis = DL_RGB(150, 150, 150), grid = DL_RGB(232, 232, 232), line = DL_RGB(33, 102, 172);
    for (int t = 0; t <= 10; t++) {
        int y = top + ph - t * ph / 10;
        dl_canvas_hline(c, left, y, pw, t == 0 ? axis : grid);
        if (t % 2 == 0) {
            snprintf(buf, sizeof buf, "%d%%", t * 10);
            dl_canvas_text_aligned(c, font, left - 6, y - TEXT / 2, buf, TEXT - 2, DL_RGB_TEXT, DL_ALIGN_RIGHT);
        }
    }
    dl_canvas_vline(c, left, top, ph + 1, axis);
    int steps = h->count < 10 ? h->count : 10;
    for (int t = 0; t <= steps; t++) {
        int k = steps ? t * h->count / steps : 0, x = left + (h->count ? k * pw / h->count : 0);
        dl_canvas_vline(c, x, top + ph, 4, axis);
        snprintf(buf, sizeof buf, "%d", k);
        dl_canvas_text_aligned(c, font, x, top + ph + 6, buf, TEXT - 2, DL_RGB_TEXT, DL_ALIGN_CENTER);
    }
    dl_canvas_text_aligned(c, font, left + pw / 2, top + ph + 6 + TEXT + 2, "neurons removed", TEXT, DL_RGB_TEXT,
                           DL_ALIGN_CENTER);
    int px = 0, py = 0;
    for (int k = 0; k <= h->count; k++) {
        int x = left + (h->count ? k * pw / h->count : 0), y = top + ph - (int)(h->pruning[k] * ph + 0.5);
        if (k) {
            dl_canvas_line(c, px, py, x, y, line);
            dl_canvas_line(c, px, py - 1, x, y - 1, line);
        }
        px = x;
        py = y;
    }
    int kx = left + (h->count ? keep1 * pw / h->count : 0);
    for (int y = top; y < top + ph; y += 6) dl_canvas_vline(c, kx, y, 3, DL_RGB(214, 96, 77));
    return c;
}
