/*
 * report.c — the HTML report (see report.h).
 *
 * Three stages.  (1) One forward pass over the test set, split between the
 * threads, stores every example's weighted inputs z for every layer; each
 * layer's weights are transposed first so a pass is a run of axpys over
 * the input's non-zero entries (the same floats added in the same order as
 * dl_net_forward, so the activations are bit-identical, and ~5x less work
 * on MNIST's mostly-black images).  (2) A job queue, drained by the same
 * threads, draws the pictures: one card per hidden neuron (its statistics
 * read off the stored pass), the misclassified gallery, the maximising
 * input of each class and the templates; each job encodes its PNG and
 * writes it atomically.  (3) The main thread writes the two HTML pages,
 * with the neurons' small weight maps inlined as data: URIs (a hundred
 * tiny files would each cost an fsync and a request).
 *
 * Does not print, exit, or keep anything between calls.
 */
#include "digitlens/report.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/train.h"
#include "digitlens/utf8.h"
#include "digitlens/viz.h"
#include "digitlens/viz_explain.h"

/* The stored pass may use at most this much memory; a larger test set is
 * sampled by its first examples for the statistics (never for accuracy). */
#define STORE_MAX_BYTES ((size_t)768 << 20)
#define TILE_SCALE 1 /* tiles are drawn 1:1 and enlarged by CSS (pixelated) */

dl_report_opts dl_report_opts_defaults(void)
{
    dl_report_opts o = {NULL, NULL, NULL, 1, 24, 8, DL_ATTR_INTEGRATED_GRADIENTS};
    return o;
}

/* ===================================================================== */
/* Stage 1: the stored forward pass                                      */
/* ===================================================================== */

typedef struct fwd_store {
    const dl_net *net;
    const dl_dataset *d;
    size_t n;                       /* examples stored: the first n of d */
    size_t width;                   /* floats per example: Σ sizes[1..L] */
    size_t off[DL_MAX_LAYERS];      /* layer l's z at z[i*width + off[l]] (l >= 1) */
    float *z;                       /* [n x width] */
    int *pred;                      /* [n] argmax of the output activations */
    float *wt[DL_MAX_LAYERS - 1];   /* W[l] transposed: [sizes[l] x sizes[l+1]] */
    int maxw;
} fwd_store;

static void store_free(fwd_store *s)
{
    free(s->z);
    free(s->pred);
    for (int l = 0; l < DL_MAX_LAYERS - 1; l++) free(s->wt[l]);
    memset(s, 0, sizeof *s);
}

/* Examples [lo, hi): z for every layer, then the prediction. */
static void forward_range(const fwd_store *s, size_t lo, size_t hi, float *x, float *a)
{
    const dl_net *n = s->net;
    int L = n->nlayers - 1;
    for (size_t i = lo; i < hi; i++) {
        dl_dataset_image(s->d, i, x);
        float *zi = s->z + i * s->width;
        const float *in = x;
        for (int l = 0; l < L; l++) {
            int ni = n->sizes[l], no = n->sizes[l + 1];
            float *z = zi + s->off[l + 1];
            memcpy(z, n->b[l], (size_t)no * sizeof(float));
            /* z[j] = b[j] + Σ_k W[j][k]·in[k] in increasing k, as
             * dl_net_forward adds them; a term with in[k] == 0 adds ±0,
             * which leaves every sum unchanged, so it is skipped. */
            for (int k = 0; k < ni; k++) {
                float ak = in[k];
                if (ak == 0.0f) continue;
                const float *w = s->wt[l] + (size_t)k * no;
                for (int j = 0; j < no; j++) z[j] += w[j] * ak;
            }
            for (int j = 0; j < no; j++) a[j] = dl_sigmoid(z[j]);
            if (l + 1 < L) {
                /* a becomes the next layer's input: copy it aside. */
                memcpy(x, a, (size_t)no * sizeof(float));
                in = x;
            }
        }
        s->pred[i] = dl_argmax(a, n->sizes[L]);
    }
}

typedef struct fwd_part {
    const fwd_store *s;
    size_t lo, hi;
    int oom;
} fwd_part;

static void *forward_thread(void *arg)
{
    fwd_part *p = arg;
    const fwd_store *s = p->s;
    size_t cap = (size_t)(s->maxw > (int)s->d->npix ? s->maxw : (int)s->d->npix);
    float *x = malloc(cap * sizeof(float)), *a = malloc(cap * sizeof(float));
    if (!x || !a) p->oom = 1;
    else forward_range(s, p->lo, p->hi, x, a);
    free(x);
    free(a);
    return NULL;
}

/* Runs the first n examples of d through net with up to `threads` threads. */
static dl_status store_forward(const dl_net *net, const dl_dataset *d, size_t n, int threads, fwd_store *s,
                               dl_err *e)
{
    memset(s, 0, sizeof *s);
    s->net = net;
    s->d = d;
    s->n = n;
    int L = net->nlayers - 1;
    for (int l = 0; l <= L; l++)
        if (net->sizes[l] > s->maxw) s->maxw = net->sizes[l];
    for (int l = 1; l <= L; l++) {
        s->off[l] = s->width;
        s->width += (size_t)net->sizes[l];
    }
    if (n > STORE_MAX_BYTES / sizeof(float) / s->width) {
        store_free(s);
        return dl_err_set(e, DL_ELIMIT, "%zu examples of %zu values each exceed the %zu MiB the statistics may use",
                          n, s->width, STORE_MAX_BYTES >> 20);
    }
    s->z = malloc((n ? n : 1) * s->width * sizeof(float));
    s->pred = malloc((n ? n : 1) * sizeof(int));
    int ok = s->z && s->pred;
    for (int l = 0; l < L && ok; l++) {
        int ni = net->sizes[l], no = net->sizes[l + 1];
        s->wt[l] = malloc((size_t)ni * no * sizeof(float));
        if (!s->wt[l]) {
            ok = 0;
            break;
        }
        for (int j = 0; j < no; j++)
            for (int k = 0; k < ni; k++) s->wt[l][(size_t)k * no + j] = net->w[l][(size_t)j * ni + k];
    }
    if (!ok) {
        store_free(s);
        return dl_err_set(e, DL_ENOMEM, "out of memory for the forward pass over %zu examples", n);
    }
    if (threads < 1) threads = 1;
    if ((size_t)threads > n / 256 + 1) threads = (int)(n / 256 + 1);
    if (threads > 64) threads = 64;
    fwd_part parts[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (int t = 0; t < threads; t++)
        parts[t] = (fwd_part){s, n * (size_t)t / (size_t)threads, n * (size_t)(t + 1) / (size_t)threads, 0};
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, forward_thread, &parts[t]) == 0;
    forward_thread(&parts[0]);
    int oom = parts[0].oom;
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else forward_thread(&parts[t]); /* no thread: do its share here */
        oom |= parts[t].oom;
    }
    if (oom) {
        store_free(s);
        return dl_err_set(e, DL_ENOMEM, "out of memory in the forward pass");
    }
    return DL_OK;
}

/* ---- one neuron's statistics from the stored pass --------------------- */

void dl_report_stats_free(dl_neuron_stats *s, int count)
{
    for (int i = 0; s && i < count; i++) dl_neuron_stats_free(&s[i]);
}

/* The prediction for example i when neuron j of `layer` outputs v instead
 * of a: the layer above's z moves by W[layer][:, j]·(v − a) (in double),
 * and the layers above that are recomputed.  up, up2: scratch [maxw]. */
static int predict_ablated(const fwd_store *s, size_t i, int layer, int j, float a, float v, double *up,
                           float *act, float *act2)
{
    const dl_net *n = s->net;
    int L = n->nlayers - 1, no = n->sizes[layer + 1], ni = n->sizes[layer];
    const float *z = s->z + i * s->width + s->off[layer + 1];
    double dv = (double)v - (double)a;
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
    for (int c = 0; c < no; c++) {
        up[c] = (double)z[c] + (double)n->w[layer][(size_t)c * ni + j] * dv;
        act[c] = dl_sigmoid((float)up[c]);
    }
    for (int l = layer + 1; l < L; l++) {
        int li = n->sizes[l], lo = n->sizes[l + 1];
        for (int c = 0; c < lo; c++) {
            const float *row = n->w[l] + (size_t)c * li;
            float t = n->b[l][c];
            for (int k = 0; k < li; k++) t += row[k] * act[k];
            act2[c] = dl_sigmoid(t);
        }
        memcpy(act, act2, (size_t)lo * sizeof(float));
    }
    return dl_argmax(act, n->sizes[L]);
}

/* Statistics of neurons j0 .. j1-1 of `layer` into out[0 .. j1-j0), in two
 * sweeps over the stored examples (the second needs the means), each
 * example's weighted inputs read once for all the neurons. */
static dl_status stats_range(const fwd_store *st, int layer, int j0, int j1, int k, dl_neuron_stats *out)
{
    const dl_net *n = st->net;
    const dl_dataset *d = st->d;
    int L = n->nlayers - 1, K = n->sizes[L], H = j1 - j0, nout = n->sizes[layer + 1];
    if ((size_t)k > st->n) k = (int)st->n;
    memset(out, 0, (size_t)H * sizeof *out);
    size_t hk = (size_t)H * (size_t)k;
    dl_ranked *hi = malloc(hk * sizeof(dl_ranked)), *lo = malloc(hk * sizeof(dl_ranked));
    int *nhi = calloc((size_t)H, sizeof(int)), *nlo = calloc((size_t)H, sizeof(int));
    double *csum = calloc((size_t)H * K, sizeof(double)), *sum = calloc((size_t)H, sizeof(double));
    size_t *cnt = calloc((size_t)H * 4, sizeof(size_t)); /* sat_hi, sat_lo, correct at 0, correct at mean */
    uint32_t *ccount = calloc((size_t)K, sizeof(uint32_t));
    double *up = malloc((size_t)st->maxw * sizeof(double));
    float *act = malloc((size_t)st->maxw * sizeof(float)), *act2 = malloc((size_t)st->maxw * sizeof(float));
    int ok = hi && lo && nhi && nlo && csum && sum && cnt && ccount && up && act && act2;
    for (int jj = 0; jj < H && ok; jj++) {
        dl_neuron_stats *s = &out[jj];
        s->top = malloc((size_t)k * sizeof(size_t));
        s->bottom = malloc((size_t)k * sizeof(size_t));
        s->top_act = malloc((size_t)k * sizeof(float));
        s->bottom_act = malloc((size_t)k * sizeof(float));
        s->class_mean = malloc((size_t)K * sizeof(float));
        s->class_count = malloc((size_t)K * sizeof(uint32_t));
        s->out_weights = malloc((size_t)nout * sizeof(float));
        ok = s->top && s->bottom && s->top_act && s->bottom_act && s->class_mean && s->class_count && s->out_weights;
    }
    if (ok) {
        size_t correct = 0, za = st->off[layer] + (size_t)j0;
        for (size_t i = 0; i < st->n; i++) {
            const float *z = st->z + i * st->width + za;
            int lab = d->labels[i];
            correct += st->pred[i] == lab;
            ccount[lab]++;
            for (int jj = 0; jj < H; jj++) {
                float a = dl_sigmoid(z[jj]);
                dl_ranked r = {a, i};
                dl_rank_offer(hi + (size_t)jj * k, &nhi[jj], k, r, 1);
                dl_rank_offer(lo + (size_t)jj * k, &nlo[jj], k, r, 0);
                csum[(size_t)jj * K + lab] += a;
                sum[jj] += a;
                cnt[4 * jj] += a > 0.99f;
                cnt[4 * jj + 1] += a < 0.01f;
                cnt[4 * jj + 2] += predict_ablated(st, i, layer, j0 + jj, a, 0.0f, up, act, act2) == lab;
            }
        }
        double nn = (double)st->n;
        for (int jj = 0; jj < H; jj++) out[jj].mean = (float)(sum[jj] / nn);
        for (size_t i = 0; i < st->n; i++) {
            const float *z = st->z + i * st->width + za;
            int lab = d->labels[i];
            for (int jj = 0; jj < H; jj++)
                cnt[4 * jj + 3] +=
                    predict_ablated(st, i, layer, j0 + jj, dl_sigmoid(z[jj]), out[jj].mean, up, act, act2) == lab;
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
            s->saturated_high = (float)(cnt[4 * jj] / nn);
            s->saturated_low = (float)(cnt[4 * jj + 1] / nn);
            s->saturated = (float)((cnt[4 * jj] + cnt[4 * jj + 1]) / nn);
            s->accuracy = correct / nn;
            s->ablated_accuracy = cnt[4 * jj + 2] / nn;
            s->ablation_drop = s->accuracy - s->ablated_accuracy;
            s->mean_ablated_accuracy = cnt[4 * jj + 3] / nn;
            s->mean_ablation_drop = s->accuracy - s->mean_ablated_accuracy;
        }
    } else {
        dl_report_stats_free(out, H);
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
    free(act);
    free(act2);
    return ok ? DL_OK : DL_ENOMEM;
}

typedef struct stats_part {
    const fwd_store *st;
    int layer, j0, j1, k;
    dl_neuron_stats *out;
    dl_status rc;
} stats_part;

static void *stats_thread(void *arg)
{
    stats_part *p = arg;
    p->rc = stats_range(p->st, p->layer, p->j0, p->j1, p->k, p->out + p->j0);
    return NULL;
}

/* Every neuron of `layer`, the neurons split between up to `threads` threads. */
static dl_status layer_stats(const fwd_store *st, int layer, int k, int threads, dl_neuron_stats *out, dl_err *e)
{
    int H = st->net->sizes[layer];
    if (threads > H) threads = H;
    if (threads > 64) threads = 64;
    if (threads < 1) threads = 1;
    stats_part parts[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (int t = 0; t < threads; t++)
        parts[t] = (stats_part){st, layer, H * t / threads, H * (t + 1) / threads, k, out, DL_OK};
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, stats_thread, &parts[t]) == 0;
    stats_thread(&parts[0]);
    dl_status rc = parts[0].rc;
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else stats_thread(&parts[t]);
        if (parts[t].rc != DL_OK) rc = parts[t].rc;
    }
    if (rc != DL_OK) {
        dl_report_stats_free(out, H);
        return dl_err_set(e, rc, "out of memory for the statistics of layer %d's %d neurons", layer, H);
    }
    return DL_OK;
}

/* The data fits the network: pixels, at least one example, labels < K. */
static dl_status check_data(const dl_net *n, const dl_dataset *d, dl_err *e)
{
    int K = n->sizes[n->nlayers - 1];
    if (d->npix != (size_t)n->sizes[0])
        return dl_err_set(e, DL_EINVAL, "report: the data's images have %zu pixels but the network takes %d", d->npix,
                          n->sizes[0]);
    if (d->n == 0) return dl_err_set(e, DL_EINVAL, "report: the data set is empty (give it some images)");
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] >= K)
            return dl_err_set(e, DL_EINVAL, "report: example %zu has label %d but the network has only %d outputs", i,
                              d->labels[i], K);
    return DL_OK;
}

static dl_status check_stats_args(const dl_net *n, const dl_dataset *d, int layer, int k, dl_err *e)
{
    int L = n->nlayers - 1;
    if (layer < 1 || layer >= L)
        return dl_err_set(e, DL_EINVAL, "report: layer %d is not a hidden layer (this network has hidden layers 1..%d)",
                          layer, L - 1);
    if (k < 1 || k > DL_NEURON_MAX_TOP)
        return dl_err_set(e, DL_EINVAL, "report: top-k of %d is out of range (1..%d)", k, DL_NEURON_MAX_TOP);
    return check_data(n, d, e);
}

dl_status dl_report_layer_stats(const dl_net *n, const dl_dataset *d, int layer, int k, int threads,
                                dl_neuron_stats *out, dl_err *e)
{
    dl_status rc = check_stats_args(n, d, layer, k, e);
    if (rc != DL_OK) return rc;
    int H = n->sizes[layer];
    memset(out, 0, (size_t)H * sizeof *out);
    fwd_store st;
    if ((rc = store_forward(n, d, d->n, threads, &st, e)) != DL_OK) return rc;
    rc = layer_stats(&st, layer, k, threads, out, e);
    store_free(&st);
    return rc;
}

/* ===================================================================== */
/* Stage 2: pictures, drawn by a pool of threads                          */
/* ===================================================================== */

typedef enum { JOB_CARD, JOB_MISTAKE, JOB_MAXIMIZE, JOB_TEMPLATES } job_kind;

typedef struct job {
    job_kind kind;
    int layer, index;   /* card: layer and neuron; mistake: gallery slot; maximize: output */
} job;

/* What a card job learned, for the HTML. */
typedef struct neuron_info {
    float mean;              /* mean activation */
    double ablation_drop;    /* accuracy lost without it */
    int best_class;          /* output whose examples drive it most (class_mean), -1 none */
    float best_mean;
    int w, h;                /* its card's pixel size */
} neuron_info;

typedef struct mistake {
    size_t index;            /* in the test set */
    int truth, pred;         /* output indices */
    float p_pred, p_true;    /* their output activations */
    int w, h;
} mistake;

typedef struct maxinfo {
    float activation, z;
} maxinfo;

/* Files waiting to be written.  Writing is mostly waiting for fsync, so a
 * few threads that only write let the drawing threads keep the cores busy. */
typedef struct wfile {
    char *path;
    void *data;
    size_t len;
    struct wfile *next;
} wfile;

#define WRITERS 4

typedef struct writer_pool {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    wfile *head, *tail;
    int closing, failed, nthreads;
    dl_err err;
    int files;
    size_t bytes;
    pthread_t tid[WRITERS];
} writer_pool;

static void *writer_thread(void *arg)
{
    writer_pool *w = arg;
    dl_err e;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->closing) pthread_cond_wait(&w->cv, &w->lock);
        wfile *f = w->head;
        if (f) {
            w->head = f->next;
            if (!w->head) w->tail = NULL;
        }
        int skip = w->failed;
        pthread_mutex_unlock(&w->lock);
        if (!f) break; /* closing and nothing left */
        dl_status st = skip ? DL_OK : dl_file_write_atomic(f->path, f->data, f->len, &e);
        pthread_mutex_lock(&w->lock);
        if (st != DL_OK && !w->failed) {
            w->failed = 1;
            w->err = e;
        } else if (st == DL_OK && !skip) {
            w->files++;
            w->bytes += f->len;
        }
        pthread_mutex_unlock(&w->lock);
        free(f->path);
        free(f->data);
        free(f);
    }
    return NULL;
}

static void writers_start(writer_pool *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cv, NULL);
    for (int t = 0; t < WRITERS; t++)
        if (pthread_create(&w->tid[w->nthreads], NULL, writer_thread, w) == 0) w->nthreads++;
}

/* Queues data (malloc'd; the pool frees it) for dir/name.  Without a
 * writer thread, writes at once. */
static dl_status writers_put(writer_pool *w, const char *dir, const char *name, void *data, size_t len, dl_err *e)
{
    wfile *f = malloc(sizeof *f);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!f || !path) {
        free(f);
        free(path);
        free(data);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    snprintf(path, n, "%s/%s", dir, name);
    *f = (wfile){path, data, len, NULL};
    pthread_mutex_lock(&w->lock);
    if (w->nthreads) {
        if (w->tail) w->tail->next = f;
        else w->head = f;
        w->tail = f;
        pthread_cond_signal(&w->cv);
        f = NULL;
    }
    int failed = w->failed;
    dl_err err = w->err;
    pthread_mutex_unlock(&w->lock);
    if (f) {
        dl_status st = dl_file_write_atomic(f->path, f->data, f->len, e);
        pthread_mutex_lock(&w->lock);
        if (st == DL_OK) {
            w->files++;
            w->bytes += f->len;
        }
        pthread_mutex_unlock(&w->lock);
        free(f->path);
        free(f->data);
        free(f);
        return st;
    }
    if (failed) {
        if (e) *e = err;
        return err.code;
    }
    return DL_OK;
}

/* Waits for every queued file; the first write error, if any. */
static dl_status writers_finish(writer_pool *w, dl_err *e)
{
    pthread_mutex_lock(&w->lock);
    w->closing = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->lock);
    for (int t = 0; t < w->nthreads; t++) pthread_join(w->tid[t], NULL);
    w->nthreads = 0;
    for (wfile *f = w->head, *next; f; f = next) { /* only when a thread could not be joined */
        next = f->next;
        free(f->path);
        free(f->data);
        free(f);
    }
    w->head = w->tail = NULL;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->lock);
    if (w->failed) {
        if (e) *e = w->err;
        return w->err.code;
    }
    return DL_OK;
}

typedef struct report_ctx {
    const dl_model *m;
    const dl_report_opts *o;
    const char *dir;
    const fwd_store *st;      /* NULL without a test set */
    dl_viz_style card_style, row_style, gallery_style;
    /* jobs */
    job *jobs;
    int njobs, next;
    int failed;
    dl_err err;
    pthread_mutex_t lock;
    /* results */
    neuron_info *neurons;     /* indexed like the card jobs: Σ hidden sizes */
    dl_neuron_stats *stats;   /* the same, with a test set */
    int hidden_base[DL_MAX_LAYERS];
    mistake *mistakes;
    int nmistakes;
    maxinfo *maxes;
    float *maxmaps;           /* [K x sizes[0]] the maximising inputs */
    int tmpl_w, tmpl_h, max_w, max_h;
    writer_pool *writers;
} report_ctx;

/* Encodes c as PNG and hands it to the writers for dir/name. */
static dl_status save_png(report_ctx *r, const char *name, const dl_canvas *c, dl_err *e)
{
    unsigned char *png = NULL;
    size_t len = 0;
    dl_status st = dl_png_encode(c, &png, &len, e);
    if (st != DL_OK) return st;
    return writers_put(r->writers, r->dir, name, png, len, e);
}

static void card_name(char *buf, size_t cap, int layer, int neuron)
{
    snprintf(buf, cap, "img/neuron-l%d-%03d.png", layer, neuron);
}

static dl_status job_card(report_ctx *r, const job *jb, dl_err *e)
{
    const dl_model *m = r->m;
    neuron_info *ni = &r->neurons[r->hidden_base[jb->layer] + jb->index];
    ni->best_class = -1;
    char name[64];
    card_name(name, sizeof name, jb->layer, jb->index);
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
        dl_report_stats_free(s, 1); /* each job owns its neuron's statistics */
        if (!c) return e->code ? e->code : DL_ENOMEM;
    }
    ni->w = c->w;
    ni->h = c->h;
    st = save_png(r, name, c, e);
    dl_canvas_free(c);
    return st;
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
    char t1[96], t2[96], n1[64], n2[64];
    snprintf(t1, sizeof t1, "for %d (predicted)", m->classes[mk->pred]);
    snprintf(t2, sizeof t2, "for %d (true)", m->classes[mk->truth]);
    snprintf(n1, sizeof n1, "output %.3f", (double)ip.output);
    snprintf(n2, sizeof n2, "output %.3f", (double)it.output);
    dl_viz_attr_panel panels[2] = {{ap, t1, n1}, {at, t2, n2}};
    /* No caption in the PNG: the page's figcaption says which image it is. */
    c = dl_viz_attribution_row(x, m->rows, m->cols, panels, 2, NULL, &r->gallery_style, e);
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
static dl_status maximize_row(report_ctx *r, dl_err *e)
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
                                      "linearised template of each output: row c of W2 W1 (sigmoids ignored)",
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

static void *worker(void *arg)
{
    report_ctx *r = arg;
    dl_err e;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int i = r->failed ? r->njobs : r->next++;
        pthread_mutex_unlock(&r->lock);
        if (i >= r->njobs) break;
        const job *jb = &r->jobs[i];
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
    return NULL;
}

static dl_status run_jobs(report_ctx *r, int threads, dl_err *e)
{
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t tid[64];
    int started[64] = {0};
    for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, worker, r) == 0;
    worker(r); /* the calling thread works too */
    for (int t = 1; t < threads; t++)
        if (started[t]) pthread_join(tid[t], NULL);
    if (r->failed) {
        if (e) *e = r->err;
        return r->err.code;
    }
    return DL_OK;
}

/* ===================================================================== */
/* Stage 3: the HTML                                                      */
/* ===================================================================== */

typedef struct hbuf {
    char *p;
    size_t n, cap;
    int oom;
} hbuf;

static void hb_put(hbuf *b, const char *s, size_t n)
{
    if (b->oom || n == 0) return;
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 65536;
        while (c < b->n + n + 1) c *= 2;
        char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void hb_printf(hbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void hb_printf(hbuf *b, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        hb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    hb_put(b, big, (size_t)n);
    free(big);
}

/* Text with &, <, >, " escaped; bytes that are not UTF-8 (a file name's)
 * and control characters become U+FFFD, so the page stays UTF-8. */
static void hb_text(hbuf *b, const char *s)
{
    size_t n = strlen(s);
    while (*s) {
        int k = dl_utf8_seq((const unsigned char *)s, n);
        switch (*s) {
        case '&': hb_put(b, "&amp;", 5); break;
        case '<': hb_put(b, "&lt;", 4); break;
        case '>': hb_put(b, "&gt;", 4); break;
        case '"': hb_put(b, "&quot;", 6); break;
        default:
            if (k > 0 && ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n') && *s != 0x7f) hb_put(b, s, (size_t)k);
            else hb_put(b, "&#xFFFD;", 8);
        }
        k = k > 0 ? k : 1;
        s += k;
        n -= (size_t)k;
    }
}

static void hb_base64(hbuf *b, const unsigned char *p, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        q[0] = A[v >> 18 & 63];
        q[1] = A[v >> 12 & 63];
        q[2] = i + 1 < n ? A[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? A[v & 63] : '=';
        hb_put(b, q, 4);
    }
}

static const char CSS[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#222;background:#f6f7f9}"
    "header{background:#1f2933;color:#f5f7fa;padding:18px 28px 12px}"
    "header h1{margin:0;font-size:22px;font-weight:600}"
    "header p{margin:4px 0 10px;color:#cbd2d9}"
    "nav a{color:#9fd3ff;margin-right:16px;text-decoration:none;font-size:14px}"
    "nav a:hover{text-decoration:underline}"
    "main{max-width:1400px;margin:0 auto;padding:8px 24px 40px}"
    "section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 22px;margin:18px 0}"
    "h2{font-size:18px;margin:0 0 10px}"
    "h3{font-size:15px;margin:14px 0 6px}"
    "p.note{color:#52606d;font-size:13.5px;margin:4px 0 10px}"
    "table.kv td{padding:3px 18px 3px 0;vertical-align:top}"
    "table.kv td:first-child{color:#52606d;white-space:nowrap}"
    ".charts{display:flex;flex-wrap:wrap;gap:18px}"
    ".charts svg{background:#fff;border:1px solid #eef0f2;border-radius:6px}"
    "table.cm{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}"
    "table.cm th,table.cm td{width:52px;height:30px;text-align:center;border:1px solid #fff}"
    "table.cm th{color:#52606d;font-weight:600;background:#fff}"
    "table.cm th.corner{width:auto;white-space:nowrap;font-weight:400;font-size:12px;padding:0 6px}"
    "table.cm td.acc{color:#222;background:#f1f3f5;width:64px}"
    ".axis{color:#52606d;font-size:12.5px}"
    ".grid{display:grid;gap:4px;margin:8px 0}"
    ".grid a{display:block;position:relative;line-height:0;border:1px solid #d9dde2;border-radius:3px;"
    "overflow:hidden;background:#fff}"
    ".grid a:hover{outline:2px solid #f08c00;z-index:1}"
    ".grid img{width:100%;height:auto;image-rendering:pixelated;image-rendering:crisp-edges}"
    ".grid span{position:absolute;left:2px;top:2px;font:10px/1 monospace;color:#333;"
    "background:rgba(255,255,255,.75);padding:1px 2px;border-radius:2px}"
    ".row{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}"
    ".row img,.wide{max-width:100%;height:auto}"
    ".gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(416px,1fr));gap:12px}"
    "figure{margin:0;border:1px solid #e1e4e8;border-radius:6px;padding:6px;background:#fff}"
    "figure img{max-width:100%;height:auto;display:block}"
    "figcaption{font-size:13px;color:#52606d;margin-top:4px}"
    ".card{scroll-margin-top:12px}"
    ".card nav a{color:#0b69c7}"
    ".card:target{outline:3px solid #f08c00}"
    "footer{color:#7b8794;font-size:12.5px;text-align:center;padding:18px}";

static void page_head(hbuf *b, const char *title, const char *subtitle)
{
    hb_put(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", 60);
    hb_printf(b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    hb_text(b, title);
    hb_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><h1>", CSS);
    hb_text(b, title);
    hb_printf(b, "</h1><p>");
    hb_text(b, subtitle);
    hb_printf(b, "</p>\n");
}

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

static void summary_section(hbuf *b, const report_ctx *r, const dl_eval *ev)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    char t[256];
    hb_printf(b, "<section id=\"summary\"><h2>Model</h2><table class=\"kv\">\n");
    layers_text(n, t, sizeof t);
    hb_printf(b, "<tr><td>layers</td><td>%s &nbsp;(input %d×%d, %zu parameters)</td></tr>\n", t, m->rows, m->cols,
              n->nparams);
    int imported = m->batch == 0 && m->eta == 0.0f;
    hb_printf(b, "<tr><td>cost</td><td>%s</td></tr>\n", dl_cost_name(m->cost));
    if (imported) {
        hb_printf(b, "<tr><td>training</td><td>unknown (imported model: no initial weights, options or history)"
                     "</td></tr>\n");
    } else {
        hb_printf(b, "<tr><td>initialisation</td><td>%s, seed %llu</td></tr>\n", dl_init_name(m->init),
                  (unsigned long long)m->seed);
        hb_printf(b, "<tr><td>learning rate η</td><td>%g</td></tr>\n", (double)m->eta);
        if (m->lambda > 0.0f) hb_printf(b, "<tr><td>L2 λ</td><td>%g</td></tr>\n", (double)m->lambda);
        hb_printf(b, "<tr><td>mini-batch</td><td>%u</td></tr>\n", m->batch);
        hb_printf(b, "<tr><td>epochs</td><td>%u of %u%s</td></tr>\n", m->nhistory, m->epochs_planned,
                  (m->flags & DL_MODEL_PARTIAL) ? " (training was interrupted)" : "");
        hb_printf(b, "<tr><td>training images</td><td>%u</td></tr>\n", m->ntrain);
    }
    int identity = 1;
    for (int k = 0; k < m->nclasses; k++) identity &= m->classes[k] == k;
    if (!identity) {
        hb_printf(b, "<tr><td>classes</td><td>");
        for (int k = 0; k < m->nclasses; k++) hb_printf(b, "%s%d", k ? ", " : "", m->classes[k]);
        hb_printf(b, " (outputs 0..%d)</td></tr>\n", m->nclasses - 1);
    }
    double last = dl_model_last_accuracy(m);
    if (last >= 0) {
        const dl_epoch_stat *s = &m->history[m->nhistory - 1];
        fmt_pct(t, sizeof t, last);
        hb_printf(b, "<tr><td>final accuracy</td><td><b>%s</b> (%u of %u, evaluated after epoch %u)</td></tr>\n", t,
                  s->correct, s->total, m->nhistory);
    }
    if (ev) {
        fmt_pct(t, sizeof t, (double)ev->correct / (double)ev->total);
        hb_printf(b, "<tr><td>test set (now)</td><td><b>%s</b> (%zu of %zu), mean %s cost %.4f</td></tr>\n", t,
                  ev->correct, ev->total, dl_cost_name(m->cost), ev->cost);
    }
    hb_printf(b, "</table></section>\n");
}

/* A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about
 * five intervals over span, and the decimals its labels need. */
static double nice_step(double span, int *decimals)
{
    if (!(span > 0)) span = 1.0;
    double raw = span / 5.0, p = pow(10.0, floor(log10(raw))), f = raw / p;
    double m = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 2.5 ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
    double step = m * p;
    int d = (int)-floor(log10(step) + 1e-9);
    if (m == 2.5) d++;
    *decimals = d > 0 ? d : 0;
    return step;
}

/* One line chart as inline SVG: y[i] at epoch i+1, y axis from the nice
 * ticks around [ymin, ymax] (never above cap). */
static void svg_chart(hbuf *b, const char *title, const double *y, int n, double ymin, double ymax, double cap,
                      const char *color)
{
    const int W = 520, H = 270, ml = 56, mr = 16, mt = 30, mb = 40;
    double pw = W - ml - mr, ph = H - mt - mb;
    int dec;
    double step = nice_step(ymax - ymin, &dec);
    double lo = floor(ymin / step + 1e-9) * step, hi = ceil(ymax / step - 1e-9) * step;
    if (hi > cap) hi = cap;
    if (!(hi > lo)) hi = lo + step;
    hb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "role=\"img\" aria-label=\"", W, H, W, H);
    hb_text(b, title);
    hb_printf(b, "\" font-family=\"system-ui,sans-serif\" font-size=\"12\">\n");
    hb_printf(b, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"600\" fill=\"#222\">", ml);
    hb_text(b, title);
    hb_printf(b, "</text>\n");
    for (int g = 0; lo + g * step <= hi + step * 1e-6 && g < 50; g++) {
        double v = lo + g * step, yy = mt + ph - ph * (v - lo) / (hi - lo);
        hb_printf(b, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", ml, ml + pw, yy, yy,
                  g ? "#eceff1" : "#9aa5b1");
        hb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#52606d\">%.*f</text>\n", ml - 6, yy + 4,
                  dec, v);
    }
    /* x ticks: at most ~10 labels */
    int xstep = n <= 10 ? 1 : (n + 9) / 10;
    double dx = n > 1 ? pw / (n - 1) : 0.0;
    for (int i = 0; i < n; i += xstep) {
        double xx = ml + (n > 1 ? dx * i : pw / 2);
        hb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\"/>", xx, xx, mt + ph,
                  mt + ph + 4);
        hb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#52606d\">%d</text>\n", xx,
                  mt + ph + 17, i + 1);
    }
    hb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#52606d\">epoch</text>\n", ml + pw / 2,
              H - 4);
    hb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    for (int i = 0; i < n; i++) {
        double xx = ml + (n > 1 ? dx * i : pw / 2), yy = mt + ph - ph * (y[i] - lo) / (hi - lo);
        hb_printf(b, "%s%.1f,%.1f", i ? " " : "", xx, yy);
    }
    hb_printf(b, "\"/>\n");
    for (int i = 0; i < n; i++) {
        double xx = ml + (n > 1 ? dx * i : pw / 2), yy = mt + ph - ph * (y[i] - lo) / (hi - lo);
        hb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>epoch %d: %.*f</title></circle>\n",
                  xx, yy, color, i + 1, dec + 2, y[i]);
    }
    hb_printf(b, "</svg>\n");
}

static void history_section(hbuf *b, const dl_model *m)
{
    hb_printf(b, "<section id=\"history\"><h2>Training history</h2>\n");
    int n = (int)m->nhistory;
    if (n == 0) {
        hb_printf(b, "<p class=\"note\">No training history: the model was imported or has not finished an epoch."
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
    hb_printf(b, "<p class=\"note\">Accuracy on the evaluation set after each epoch, and the mean training "
                 "cost measured while the epoch trained. Hover a point for its value.</p>\n<div class=\"charts\">\n");
    if (have_acc) svg_chart(b, "accuracy (%)", acc, n, alo, ahi, 100.0, "#0b69c7");
    svg_chart(b, "training cost (mean per example)", cost, n, clo > 0 ? 0.0 : clo, chi, INFINITY, "#c2410c");
    hb_printf(b, "</div>\n");
    if (!have_acc) hb_printf(b, "<p class=\"note\">Training ran without an evaluation set, so there is no accuracy "
                                "curve.</p>\n");
    hb_printf(b, "</section>\n");
    free(acc);
    free(cost);
}

static void confusion_section(hbuf *b, const dl_model *m, const dl_eval *ev)
{
    int K = ev->nclasses;
    uint32_t maxoff = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            if (i != j && ev->confusion[i * K + j] > maxoff) maxoff = ev->confusion[i * K + j];
    hb_printf(b, "<section id=\"confusion\"><h2>Confusion matrix</h2>\n<p class=\"note\">%zu test images. Rows: the "
                 "true digit; columns: what the network answered. Green: the share of the row answered correctly; "
                 "red: mistakes, darker for more (the largest is %u). Hover a cell for its numbers.</p>\n",
              ev->total, maxoff);
    hb_printf(b, "<table class=\"cm\"><tr><th class=\"corner\">true ↓ said →</th>");
    for (int j = 0; j < K; j++) hb_printf(b, "<th>%d</th>", m->classes[j]);
    hb_printf(b, "<th>correct</th></tr>\n");
    for (int i = 0; i < K; i++) {
        uint32_t row = 0;
        for (int j = 0; j < K; j++) row += ev->confusion[i * K + j];
        hb_printf(b, "<tr><th>%d</th>", m->classes[i]);
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
            hb_printf(b, "<td style=\"background:%s;color:%s\" title=\"true %d, said %d: %u of %u (%.1f%%)\">%u</td>", bg,
                      fg, m->classes[i], m->classes[j], c, row, 100.0 * share, c);
        }
        hb_printf(b, "<td class=\"acc\">%.1f%%</td></tr>\n", row ? 100.0 * ev->confusion[i * K + i] / row : 0.0);
    }
    hb_printf(b, "</table></section>\n");
}

/* A neuron's weight map, each scaled to its own ±max|w|, as a PNG data: URI. */
static dl_status tile_uri(hbuf *b, const dl_model *m, int layer, int neuron, float *map, dl_err *e)
{
    int mw, mh;
    dl_viz_weight_shape(m, layer, &mw, &mh);
    dl_viz_weight_map(m, layer, neuron, 0, map);
    float lim = 0.0f;
    for (int i = 0; i < mw * mh; i++)
        if (isfinite(map[i]) && fabsf(map[i]) > lim) lim = fabsf(map[i]);
    dl_canvas *c = dl_canvas_new(mw * TILE_SCALE, mh * TILE_SCALE, DL_RGB(255, 255, 255), e);
    if (!c) return e ? e->code : DL_ENOMEM;
    dl_canvas_draw_map(c, 0, 0, map, mw, mh, TILE_SCALE, dl_scale_diverging(lim > 0 ? lim : 1.0f));
    unsigned char *png = NULL;
    size_t len = 0;
    dl_status st = dl_png_encode(c, &png, &len, e);
    dl_canvas_free(c);
    if (st != DL_OK) return st;
    hb_put(b, "data:image/png;base64,", 22);
    hb_base64(b, png, len);
    free(png);
    return DL_OK;
}

static dl_status neurons_section(hbuf *b, const report_ctx *r, dl_err *e)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    int L = n->nlayers - 1;
    hb_printf(b, "<section id=\"neurons\"><h2>Hidden neurons</h2>\n<p class=\"note\">Each tile is one neuron's "
                 "incoming weights drawn as a picture: red where a bright pixel raises its input, blue where it "
                 "lowers it, white for no effect; every tile is scaled to its own largest weight. Click a tile for "
                 "the neuron's card%s.</p>\n",
              r->st ? " (what drives it, what it does for each class, what happens without it)" : "");
    int maxw = 0;
    for (int l = 0; l <= L; l++)
        if (n->sizes[l] > maxw) maxw = n->sizes[l];
    if (L < 2)
        hb_printf(b, "<p class=\"note\">This network has no hidden layer: its outputs read the pixels directly "
                     "(see the templates below).</p>\n");
    float *map = malloc(((size_t)maxw + 64) * 2 * sizeof(float));
    if (!map) return dl_err_set(e, DL_ENOMEM, "out of memory");
    dl_status st = DL_OK;
    for (int l = 1; l < L && st == DL_OK; l++) {
        int H = n->sizes[l], rows, cols, mw, mh;
        dl_grid_shape(H, &rows, &cols);
        dl_viz_weight_shape(m, l, &mw, &mh);
        if (L > 2) hb_printf(b, "<h3>Layer %d: %d neurons</h3>\n", l, H);
        /* Tiles about 3x their map, but at least 48 px wide. */
        int px = mw * 3 < 48 ? 48 : mw * 3;
        hb_printf(b, "<div class=\"grid\" style=\"grid-template-columns:repeat(%d,%dpx)\">\n", cols, px);
        for (int j = 0; j < H && st == DL_OK; j++) {
            const neuron_info *ni = &r->neurons[r->hidden_base[l] + j];
            hb_printf(b, "<a href=\"neurons.html#l%dn%d\" title=\"layer %d, neuron %d", l, j, l, j);
            if (r->st) {
                hb_printf(b, ": mean activation %.2f", (double)ni->mean);
                if (ni->best_class >= 0)
                    hb_printf(b, ", most active for %d (%.2f)", m->classes[ni->best_class], (double)ni->best_mean);
                hb_printf(b, ", accuracy without it %+.2f pp", -100.0 * ni->ablation_drop);
            }
            hb_printf(b, "\"><img alt=\"neuron %d\" width=\"%d\" height=\"%d\" src=\"", j, px, px * mh / mw);
            st = tile_uri(b, m, l, j, map, e);
            hb_printf(b, "\"><span>%d</span></a>\n", j);
        }
        hb_printf(b, "</div>\n");
    }
    free(map);
    hb_printf(b, "</section>\n");
    return st;
}

static void classes_section(hbuf *b, const report_ctx *r)
{
    hb_printf(b, "<section id=\"classes\"><h2>What each class looks for</h2>\n<p class=\"note\">The linearised "
                 "template of each output: multiply the weight matrices and ignore the sigmoids, and each output "
                 "becomes a single weighted sum of the pixels. Red pixels vote for the class, blue against it."
                 "</p>\n<img class=\"wide\" src=\"img/templates.png\" width=\"%d\" height=\"%d\" alt=\"templates\">\n",
              r->tmpl_w, r->tmpl_h);
    hb_printf(b, "<h3>Maximising inputs</h3>\n<p class=\"note\">For each output, the image in [0, 1] that drives "
                 "it highest, found by gradient ascent from a blank image (200 Adam steps on z − 0.05·Σx², blurred "
                 "by σ = 0.5 px after each step). They only roughly look like digits: the network responds to ink "
                 "in the right places, not to shapes."
                 "</p>\n<div class=\"row\">\n");
    hb_printf(b, "<img class=\"wide\" src=\"img/maximize.png\" width=\"%d\" height=\"%d\" "
                 "alt=\"maximising inputs\">\n</div></section>\n", r->max_w, r->max_h);
}

static void gallery_section(hbuf *b, const report_ctx *r, size_t wrong)
{
    const dl_model *m = r->m;
    hb_printf(b, "<section id=\"mistakes\"><h2>Misclassified test images</h2>\n");
    if (r->o->misclassified == 0) {
        hb_printf(b, "<p class=\"note\">%zu of the %zu test images looked at are misclassified (the gallery was "
                     "turned off).</p></section>\n", wrong, r->st->n);
        return;
    }
    if (r->nmistakes == 0) {
        hb_printf(b, "<p class=\"note\">The network classifies every one of the %zu test images looked at "
                     "correctly.</p></section>\n", r->st->n);
        return;
    }
    char method[64];
    snprintf(method, sizeof method, "%s", dl_attr_method_name(r->o->method));
    for (char *c = method; *c; c++)
        if (*c == '-') *c = ' '; /* "integrated gradients", "input x gradient" */
    hb_printf(b, "<p class=\"note\">The first %d of %zu mistakes in test-set order. Each shows the input and, for "
                 "the answer given and for the true digit, which pixels pushed that output up (red) or down (blue) "
                 "according to %s.</p>\n<div class=\"gallery\">\n",
              r->nmistakes, wrong, method);
    for (int i = 0; i < r->nmistakes; i++) {
        const mistake *mk = &r->mistakes[i];
        hb_printf(b, "<figure><img src=\"img/mistake-%05zu.png\" width=\"%d\" height=\"%d\" alt=\"test image %zu\">"
                     "<figcaption>#%zu: a <b>%d</b> read as <b>%d</b> (output %.2f vs %.2f)</figcaption></figure>\n",
                  mk->index, mk->w, mk->h, mk->index, mk->index, m->classes[mk->truth], m->classes[mk->pred],
                  (double)mk->p_pred, (double)mk->p_true);
    }
    hb_printf(b, "</div></section>\n");
}

/* Hands the page to the writers (they free it); b is left empty. */
static dl_status write_page(report_ctx *r, const char *name, hbuf *b, dl_err *e)
{
    if (b->oom) {
        free(b->p);
        memset(b, 0, sizeof *b);
        return dl_err_set(e, DL_ENOMEM, "out of memory writing %s", name);
    }
    void *p = b->p;
    size_t n = b->n;
    memset(b, 0, sizeof *b);
    return writers_put(r->writers, r->dir, name, p, n, e);
}

static dl_status cards_page(report_ctx *r, const char *title, dl_err *e)
{
    const dl_model *m = r->m;
    const dl_net *n = m->net;
    int L = n->nlayers - 1, total = r->hidden_base[L];
    hbuf b = {0};
    char sub[300];
    snprintf(sub, sizeof sub, "neuron cards: %d hidden neuron%s", total, total == 1 ? "" : "s");
    page_head(&b, title, sub);
    hb_printf(&b, "<nav><a href=\"index.html\">← report</a><a href=\"index.html#neurons\">neuron grid</a></nav>"
                  "</header>\n<main>\n");
    if (r->st)
        hb_printf(&b, "<p class=\"note\">Statistics over the first %zu test images. <b>Ablation</b>: test accuracy "
                      "with the neuron's output set to 0 (or held at its mean) instead of computed.</p>\n",
                  r->st->n);
    for (int l = 1; l < L; l++)
        for (int j = 0; j < n->sizes[l]; j++) {
            const neuron_info *ni = &r->neurons[r->hidden_base[l] + j];
            char img[64];
            card_name(img, sizeof img, l, j);
            hb_printf(&b, "<section class=\"card\" id=\"l%dn%d\"><h2>Layer %d, neuron %d</h2>\n", l, j, l, j);
            hb_printf(&b, "<img class=\"wide\" src=\"%s\" width=\"%d\" height=\"%d\" alt=\"card of neuron %d\">\n",
                      img, ni->w, ni->h, j);
            hb_printf(&b, "<nav>");
            if (j > 0) hb_printf(&b, "<a href=\"#l%dn%d\">← neuron %d</a>", l, j - 1, j - 1);
            if (j + 1 < n->sizes[l]) hb_printf(&b, "<a href=\"#l%dn%d\">neuron %d →</a>", l, j + 1, j + 1);
            hb_printf(&b, "<a href=\"index.html#neurons\">back to the grid</a></nav></section>\n");
        }
    hb_printf(&b, "</main>\n<footer>written by digitlens</footer>\n</body>\n</html>\n");
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
    fwd_store st;
    memset(&st, 0, sizeof st);
    dl_eval ev;
    memset(&ev, 0, sizeof ev);
    int have_ev = 0;
    size_t wrong = 0;
    hbuf b = {0};
    dl_status rc;
    writer_pool wp;
    char path[4096];
    snprintf(path, sizeof path, "%s/img", dir);
    if ((rc = dl_mkdir_p(path, e)) != DL_OK) goto out;
    writers_start(&wp);
    r.writers = &wp;

    const dl_dataset *d = o->test;
    if (d) {
        if ((rc = check_data(n, d, e)) != DL_OK) goto out;
        if ((rc = dl_evaluate(n, d, m->cost, o->threads, &ev, e)) != DL_OK) goto out;
        have_ev = 1;
        size_t width = 0;
        for (int l = 1; l <= L; l++) width += (size_t)n->sizes[l];
        size_t cap = STORE_MAX_BYTES / sizeof(float) / width;
        if ((rc = store_forward(n, d, d->n < cap ? d->n : cap, o->threads, &st, e)) != DL_OK) goto out;
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
        if ((rc = layer_stats(&st, l, o->top_k, o->threads, r.stats + r.hidden_base[l], e)) != DL_OK) goto out;
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
    if ((rc = run_jobs(&r, o->threads, e)) != DL_OK) goto out;
    if ((rc = maximize_row(&r, e)) != DL_OK) goto out;

    /* index.html */
    const char *title = o->title ? o->title : "digitlens report";
    char sub[400], lt[200], acc[32] = "";
    layers_text(n, lt, sizeof lt);
    if (have_ev) fmt_pct(acc, sizeof acc, (double)ev.correct / (double)ev.total);
    snprintf(sub, sizeof sub, "a %s network%s%s", lt, have_ev ? " · test accuracy " : "", acc);
    page_head(&b, title, sub);
    hb_printf(&b, "<nav><a href=\"#summary\">model</a><a href=\"#history\">history</a>%s"
                  "<a href=\"#neurons\">neurons</a><a href=\"#classes\">classes</a>%s"
                  "<a href=\"neurons.html\">neuron cards</a></nav></header>\n<main>\n",
              have_ev ? "<a href=\"#confusion\">confusion</a>" : "", d ? "<a href=\"#mistakes\">mistakes</a>" : "");
    summary_section(&b, &r, have_ev ? &ev : NULL);
    history_section(&b, m);
    if (have_ev) confusion_section(&b, m, &ev);
    if ((rc = neurons_section(&b, &r, e)) != DL_OK) goto out;
    classes_section(&b, &r);
    if (d) gallery_section(&b, &r, wrong);
    else
        hb_printf(&b, "<section><h2>Test images</h2><p class=\"note\">This report was made without a test set, so it "
                      "has no confusion matrix, no neuron statistics and no gallery of mistakes (give the command "
                      "--data DIR).</p></section>\n");
    hb_printf(&b, "</main>\n<footer>written by digitlens · open neurons.html for every neuron's card</footer>\n"
                  "</body>\n</html>\n");
    if ((rc = write_page(&r, "index.html", &b, e)) != DL_OK) goto out;
    if ((rc = cards_page(&r, title, e)) != DL_OK) goto out;
out:
    if (r.writers) {
        /* Always wait for the writers; report their error if nothing failed first. */
        dl_status wr = writers_finish(&wp, rc == DL_OK ? e : NULL);
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
    free(b.p);
    free(r.jobs);
    free(r.neurons);
    free(r.mistakes);
    free(r.maxes);
    free(r.maxmaps);
    if (r.stats) dl_report_stats_free(r.stats, r.hidden_base[L]);
    free(r.stats);
    if (have_ev) dl_eval_free(&ev);
    store_free(&st);
    pthread_mutex_destroy(&r.lock);
    return rc;
}
