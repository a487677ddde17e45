/*
 * explain_stats.c — what hidden neurons respond to over a data set (see
 * explain.h, part 3): one neuron at a time by the textbook passes through
 * dl_net_forward, or a whole layer at once from one stored pass
 * (layer_pass.h) with the same definitions and tie-breaking.
 *
 * A neuron's statistics live in one allocation (dl_neuron_stats_free
 * releases it).  Nothing here draws, prints or keeps state between calls.
 */
#include "digitlens/explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer_pass.h"
#include "parallel.h"
#include "contract.h"

/* Does p rank before q?  top: higher activation first; bottom: lower
 * first; equal activations by lower index, so results are deterministic. */
static int before(dl_ranked p, dl_ranked q, int top)
{
    if (p.a != q.a) return top ? p.a > q.a : p.a < q.a;
    return p.i < q.i;
}

/* A heap of the k best seen so far with the worst at the root: a new item
 * only enters by beating the root.  O(n log k) for n items. */
void dl_rank_offer(dl_ranked *h, int *len, int k, dl_ranked v, int top)
{
    int i;
    if (*len < k) {
        i = (*len)++;
        while (i > 0 && before(h[(i - 1) / 2], v, top)) { /* parent ranks before: sift up */
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = v;
        return;
    }
    if (!before(v, h[0], top)) return;
    i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *len) break;
        if (c + 1 < *len && before(h[c], h[c + 1], top)) c++; /* the worse child */
        if (!before(v, h[c], top)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

/* Heap → sorted best first (insertion sort: k is small). */
void dl_rank_sorted(dl_ranked *h, int len, int top)
{
    for (int i = 1; i < len; i++) {
        dl_ranked v = h[i];
        int j = i;
        for (; j > 0 && before(v, h[j - 1], top); j--) h[j] = h[j - 1];
        h[j] = v;
    }
}

void dl_neuron_stats_free(dl_neuron_stats *s)
{
    if (!s) return;
    free(s->top); /* the start of the one block (stats_alloc) */
    memset(s, 0, sizeof *s);
}

/* One zeroed block for a neuron's arrays: the size_t arrays first, then the
 * 4-byte ones (float and uint32_t), so each is aligned.  0 when out of
 * memory (s untouched). */
static int stats_alloc(dl_neuron_stats *s, int k, int K, int nout)
{
    size_t nf = 2 * (size_t)k + (size_t)K + (size_t)nout;
    size_t bytes = 2 * (size_t)k * sizeof(size_t) + nf * sizeof(float) + (size_t)K * sizeof(uint32_t);
    unsigned char *p = calloc(1, bytes);
    if (!p) return 0;
    s->top = (size_t *)(void *)p;
    s->bottom = s->top + k;
    float *f = (float *)(void *)(s->bottom + k);
    s->top_act = f;
    s->bottom_act = f + k;
    s->class_mean = f + 2 * k;
    s->out_weights = f + 2 * k + K;
    s->class_count = (uint32_t *)(void *)(f + nf);
    DL_ASSERT((unsigned char *)(s->class_count + K) == p + bytes);
    return 1;
}

int dl_act_saturated(dl_act act, float a, int high, const char **words)
{
    const char *w;
    int sat;
    if (act == DL_ACT_RELU) {
        w = high ? "never" : "at 0 (off)";
        sat = !high && a <= 0.0f;
    } else if (high) {
        w = "above 0.99";
        sat = a > 0.99f;
    } else if (act == DL_ACT_TANH) {
        w = "below -0.99";
        sat = a < -0.99f;
    } else {
        w = "below 0.01";
        sat = a < 0.01f;
    }
    if (words) *words = w;
    return sat;
}

/* a = act(z) for one hidden unit: the forward pass's own function. */
static float act1(dl_act f, float z)
{
    float a;
    dl_act_apply(f, &z, &a, 1);
    return a;
}

/* The saturation figures from the counts over n examples. */
static void set_saturation(dl_neuron_stats *s, dl_act f, size_t hi, size_t lo, size_t n)
{
    double nn = (double)n;
    s->act = f;
    s->saturated_high = (float)(hi / nn);
    s->saturated_low = (float)(lo / nn);
    s->saturated = (float)((hi + lo) / nn);
    s->dead = f == DL_ACT_RELU && lo == n;
}

/* What both ways of computing statistics refuse; what names the caller in
 * the message ("neuron", "report"). */
static dl_status check_stats(const dl_net *n, const dl_dataset *d, int layer, int k, const char *what, dl_err *e)
{
    int L = n->nlayers - 1, K = n->sizes[L];
    if (layer < 1 || layer >= L)
        return dl_err_set(e, DL_EINVAL, "%s: layer %d is not a hidden layer (this network has hidden layers 1..%d)",
                          what, layer, L - 1);
    if (k < 1 || k > DL_NEURON_MAX_TOP)
        return dl_err_set(e, DL_EINVAL, "%s: top-k of %d is out of range (1..%d)", what, k, DL_NEURON_MAX_TOP);
    if (d->n == 0) return dl_err_set(e, DL_EINVAL, "%s: the data set is empty (give it some images)", what);
    dl_status st = dl_net_check_acts(n, e);
    if (st != DL_OK) return st;
    return dl_dataset_check(d, n->sizes[0], K, what, "the data's labels must be output indices: dl_model_fit_data", e);
}

/* Predicted output after setting a[layer][j] = v on a trace that holds a
 * full forward pass (the trace's upper layers are overwritten). */
static int predict_with(const dl_net *n, dl_trace *t, int layer, int j, float v)
{
    float keep = t->a[layer][j];
    t->a[layer][j] = v;
    dl_net_forward_from(n, t, layer);
    t->a[layer][j] = keep;
    int L = n->nlayers - 1;
    return dl_argmax(t->a[L], n->sizes[L]);
}

dl_status dl_neuron_stats_compute(const dl_net *n, const dl_dataset *d, int layer, int neuron, int k,
                                  dl_neuron_stats *s, dl_err *e)
{
    memset(s, 0, sizeof *s);
    int L = n->nlayers - 1, K = n->sizes[L], np = n->sizes[0];
    if (layer >= 1 && layer < L && (neuron < 0 || neuron >= n->sizes[layer]))
        return dl_err_set(e, DL_EINVAL, "neuron: neuron %d is out of range (layer %d has neurons 0..%d)", neuron, layer,
                          n->sizes[layer] - 1);
    dl_status rc = check_stats(n, d, layer, k, "neuron", e);
    if (rc != DL_OK) return rc;
    if ((size_t)k > d->n) k = (int)d->n;

    dl_trace *t = dl_trace_new(n, e);
    float *x = malloc((size_t)np * sizeof(float));
    dl_ranked *hi = malloc((size_t)k * sizeof(dl_ranked)), *lo = malloc((size_t)k * sizeof(dl_ranked));
    double *csum = calloc((size_t)K, sizeof(double));
    int have = stats_alloc(s, k, K, n->sizes[layer + 1]);
    dl_status st = DL_OK;
    if (!t || !x || !hi || !lo || !csum || !have) {
        st = dl_err_set(e, DL_ENOMEM, "neuron: out of memory");
        goto out;
    }
    s->layer = layer;
    s->neuron = neuron;
    s->n = d->n;
    s->k = k;
    s->nclasses = K;
    s->nout = n->sizes[layer + 1];
    for (int j = 0; j < s->nout; j++) s->out_weights[j] = n->w[layer][(size_t)j * n->sizes[layer] + neuron];

    /* Pass 1: activations, rankings, class means, saturation, accuracy
     * intact and with the neuron's output zeroed. */
    int nhi = 0, nlo = 0;
    size_t correct = 0, correct0 = 0, sat_hi = 0, sat_lo = 0;
    double sum = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        const float *y = dl_net_forward(n, x, t);
        float a = t->a[layer][neuron];
        int lab = d->labels[i];
        correct += dl_argmax(y, K) == lab;
        dl_ranked r = {a, i};
        dl_rank_offer(hi, &nhi, k, r, 1);
        dl_rank_offer(lo, &nlo, k, r, 0);
        csum[lab] += a;
        s->class_count[lab]++;
        sum += a;
        sat_hi += dl_act_saturated(n->act[layer - 1], a, 1, NULL);
        sat_lo += dl_act_saturated(n->act[layer - 1], a, 0, NULL);
        correct0 += predict_with(n, t, layer, neuron, 0.0f) == lab;
    }
    s->mean = (float)(sum / (double)d->n);
    /* Pass 2: the same with the activation held at its mean. */
    size_t correctm = 0;
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        dl_net_forward(n, x, t);
        correctm += predict_with(n, t, layer, neuron, s->mean) == d->labels[i];
    }
    dl_rank_sorted(hi, nhi, 1);
    dl_rank_sorted(lo, nlo, 0);
    for (int j = 0; j < k; j++) {
        s->top[j] = hi[j].i;
        s->top_act[j] = hi[j].a;
        s->bottom[j] = lo[j].i;
        s->bottom_act[j] = lo[j].a;
    }
    for (int c = 0; c < K; c++) s->class_mean[c] = s->class_count[c] ? (float)(csum[c] / s->class_count[c]) : NAN;
    double nn = (double)d->n;
    set_saturation(s, n->act[layer - 1], sat_hi, sat_lo, d->n);
    s->accuracy = correct / nn;
    s->ablated_accuracy = correct0 / nn;
    s->ablation_drop = s->accuracy - s->ablated_accuracy;
    s->mean_ablated_accuracy = correctm / nn;
    s->mean_ablation_drop = s->accuracy - s->mean_ablated_accuracy;
out:
    dl_trace_free(t);
    free(x);
    free(hi);
    free(lo);
    free(csum);
    if (st != DL_OK) dl_neuron_stats_free(s);
    return st;
}

/* ---- a whole layer from a stored pass ---------------------------------- */

/* The prediction for example i when neuron j of `layer` outputs v instead
 * of a: the layer above's z moves by W[layer][:, j]·(v − a) (in double),
 * and the layers above that are recomputed.  up, up2: scratch [maxw]. */
static int predict_ablated(const dl_layer_pass *s, size_t i, int layer, int j, float a, float v, double *up,
                           dl_trace *t)
{
    const dl_net *n = s->net;
    int L = n->nlayers - 1, no = n->sizes[layer + 1], ni = n->sizes[layer];
    const float *z = s->z + i * s->width + s->off[layer + 1];
    double dv = (double)v - (double)a;
    dl_act f = n->act[layer];
    if (layer + 1 == L && f != DL_ACT_SIGMOID) {
        /* Another output activation: the moved weighted inputs through it. */
        float *zo = t->z[L];
        for (int c = 0; c < no; c++) zo[c] = (float)((double)z[c] + (double)n->w[layer][(size_t)c * ni + j] * dv);
        dl_act_apply(f, zo, t->a[L], no);
        return dl_argmax(t->a[L], no);
    }
    if (layer + 1 == L) {
        /* The output layer: the answer is the first output with the largest
         * σ(z).  σ is monotone, so only outputs whose z is near the largest
         * can tie with it, unless σ has saturated to exactly 0 or 1. */
        int best = 0;
        for (int c = 0; c < no; c++) {
            up[c] = (double)z[c] + (double)n->w[layer][(size_t)c * ni + j] * dv;
            if (up[c] > up[best]) best = c;
        }
        float smax = dl_sigmoid((float)up[best]);
        int flat = smax == 1.0f || smax == 0.0f;
        for (int c = 0; c < best; c++)
            if ((flat || up[c] >= up[best] - 1.0) && dl_sigmoid((float)up[c]) == smax) return c;
        return best;
    }
    /* A deeper layer: the moved layer above, then the one forward pass
     * from there up. */
    for (int c = 0; c < no; c++) {
        up[c] = (double)z[c] + (double)n->w[layer][(size_t)c * ni + j] * dv;
        t->a[layer + 1][c] = act1(f, (float)up[c]);
    }
    return dl_argmax(dl_net_forward_from(n, t, layer + 1), n->sizes[L]);
}

/* Statistics of neurons j0 .. j1-1 of `layer` into out[0 .. j1-j0), in two
 * sweeps over the stored examples (the second needs the means), each
 * example's weighted inputs read once for all the neurons. */
static dl_status stats_range(const dl_layer_pass *st, int layer, int j0, int j1, int k, dl_neuron_stats *out)
{
    const dl_net *n = st->net;
    const dl_dataset *d = st->d;
    int L = n->nlayers - 1, K = n->sizes[L], H = j1 - j0, nout = n->sizes[layer + 1];
    dl_act f = n->act[layer - 1];
    if ((size_t)k > st->n) k = (int)st->n;
    memset(out, 0, (size_t)H * sizeof *out);
    size_t hk = (size_t)H * (size_t)k;
    dl_ranked *hi = malloc(hk * sizeof(dl_ranked)), *lo = malloc(hk * sizeof(dl_ranked));
    int *nhi = calloc((size_t)H, sizeof(int)), *nlo = calloc((size_t)H, sizeof(int));
    double *csum = calloc((size_t)H * K, sizeof(double)), *sum = calloc((size_t)H, sizeof(double));
    size_t *cnt = calloc((size_t)H * 4, sizeof(size_t)); /* sat_hi, sat_lo, correct at 0, correct at mean */
    uint32_t *ccount = calloc((size_t)K, sizeof(uint32_t));
    double *up = malloc((size_t)st->maxw * sizeof(double));
    dl_trace *tr = dl_trace_new(n, NULL);
    int ok = hi && lo && nhi && nlo && csum && sum && cnt && ccount && up && tr;
    for (int jj = 0; jj < H && ok; jj++) ok = stats_alloc(&out[jj], k, K, nout);
    if (ok) {
        size_t correct = 0, za = st->off[layer] + (size_t)j0;
        for (size_t i = 0; i < st->n; i++) {
            const float *z = st->z + i * st->width + za;
            int lab = d->labels[i];
            correct += st->pred[i] == lab;
            ccount[lab]++;
            for (int jj = 0; jj < H; jj++) {
                float a = act1(f, z[jj]);
                dl_ranked r = {a, i};
                dl_rank_offer(hi + (size_t)jj * k, &nhi[jj], k, r, 1);
                dl_rank_offer(lo + (size_t)jj * k, &nlo[jj], k, r, 0);
                csum[(size_t)jj * K + lab] += a;
                sum[jj] += a;
                cnt[4 * jj] += dl_act_saturated(f, a, 1, NULL);
                cnt[4 * jj + 1] += dl_act_saturated(f, a, 0, NULL);
                cnt[4 * jj + 2] += predict_ablated(st, i, layer, j0 + jj, a, 0.0f, up, tr) == lab;
            }
        }
        double nn = (double)st->n;
        for (int jj = 0; jj < H; jj++) out[jj].mean = (float)(sum[jj] / nn);
        for (size_t i = 0; i < st->n; i++) {
            const float *z = st->z + i * st->width + za;
            int lab = d->labels[i];
            for (int jj = 0; jj < H; jj++)
                cnt[4 * jj + 3] +=
                    predict_ablated(st, i, layer, j0 + jj, act1(f, z[jj]), out[jj].mean, up, tr) == lab;
        }
        for (int jj = 0; jj < H; jj++) {
            dl_neuron_stats *s = &out[jj];
            dl_ranked *h = hi + (size_t)jj * k, *l = lo + (size_t)jj * k;
            dl_rank_sorted(h, nhi[jj], 1);
            dl_rank_sorted(l, nlo[jj], 0);
            for (int t = 0; t < k; t++) {
                s->top[t] = h[t].i;
                s->top_act[t] = h[t].a;
                s->bottom[t] = l[t].i;
                s->bottom_act[t] = l[t].a;
            }
            s->layer = layer;
            s->neuron = j0 + jj;
            s->n = st->n;
            s->k = k;
            s->nclasses = K;
            s->nout = nout;
            for (int c = 0; c < nout; c++) s->out_weights[c] = n->w[layer][(size_t)c * n->sizes[layer] + j0 + jj];
            for (int c = 0; c < K; c++) {
                s->class_count[c] = ccount[c];
                s->class_mean[c] = ccount[c] ? (float)(csum[(size_t)jj * K + c] / ccount[c]) : NAN;
            }
            set_saturation(s, f, cnt[4 * jj], cnt[4 * jj + 1], st->n);
            s->accuracy = correct / nn;
            s->ablated_accuracy = cnt[4 * jj + 2] / nn;
            s->ablation_drop = s->accuracy - s->ablated_accuracy;
            s->mean_ablated_accuracy = cnt[4 * jj + 3] / nn;
            s->mean_ablation_drop = s->accuracy - s->mean_ablated_accuracy;
        }
    } else {
        for (int jj = 0; jj < H; jj++) dl_neuron_stats_free(&out[jj]);
    }
    free(hi);
    free(lo);
    free(nhi);
    free(nlo);
    free(csum);
    free(sum);
    free(cnt);
    free(ccount);
    free(up);
    dl_trace_free(tr);
    return ok ? DL_OK : DL_ENOMEM;
}

typedef struct stats_job {
    const dl_layer_pass *st;
    int layer, k;
    dl_neuron_stats *out;
    dl_status rc[DL_PARALLEL_MAX];
} stats_job;

static void stats_part(void *ctx, int t, int nt)
{
    stats_job *j = ctx;
    int H = j->st->net->sizes[j->layer];
    int j0 = (int)dl_parallel_lo((size_t)H, t, nt), j1 = (int)dl_parallel_hi((size_t)H, t, nt);
    j->rc[t] = stats_range(j->st, j->layer, j0, j1, j->k, j->out + j0);
}

dl_status dl_layer_pass_stats(const dl_layer_pass *st, int layer, int k, int threads, dl_neuron_stats *out,
                              dl_err *e)
{
    /* The callers (dl_neuron_stats_layer, the report) checked these. */
    DL_ASSERT(layer >= 1 && layer < st->net->nlayers - 1 && k >= 1 && k <= DL_NEURON_MAX_TOP && st->n >= 1);
    int H = st->net->sizes[layer];
    stats_job job = {st, layer, k, out, {DL_OK}};
    int nt = dl_parallel_threads(threads, (size_t)H);
    dl_parallel_run(nt, stats_part, &job);
    dl_status rc = DL_OK;
    for (int t = 0; t < nt; t++)
        if (job.rc[t] != DL_OK) rc = job.rc[t];
    if (rc != DL_OK) {
        for (int jj = 0; jj < H; jj++) dl_neuron_stats_free(&out[jj]);
        return dl_err_set(e, rc, "out of memory for the statistics of layer %d's %d neurons", layer, H);
    }
    return DL_OK;
}

dl_status dl_neuron_stats_layer(const dl_net *n, const dl_dataset *d, int layer, int k, int threads,
                                dl_neuron_stats *out, dl_err *e)
{
    dl_status rc = check_stats(n, d, layer, k, "neuron", e);
    if (rc != DL_OK) return rc;
    int H = n->sizes[layer];
    memset(out, 0, (size_t)H * sizeof *out);
    dl_layer_pass st;
    if ((rc = dl_layer_pass_run(n, d, d->n, threads, &st, e)) != DL_OK) return rc;
    rc = dl_layer_pass_stats(&st, layer, k, threads, out, e);
    dl_layer_pass_free(&st);
    return rc;
}
