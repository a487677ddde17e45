/*
 * train_fixture.c — the fast-kernel tests' shared fixtures (see
 * train_fixture.h).
 */
#include "train_fixture.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/train_kernels.h"
#include "../src/train_simd.h"
#include "digitlens/rng.h"

#define TF_PI 3.14159265358979323846

/* Lights pixels near the segment (ax,ay)-(bx,by) with ink fading by distance. */
static void tf_stroke(uint8_t *img, int rows, int cols, double ax, double ay, double bx, double by,
                      double width, int ink)
{
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
            double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0.0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = ax + t * dx - x, ey = ay + t * dy - y, dist = sqrt(ex * ex + ey * ey);
            if (dist < width) {
                int v = (int)(ink * (1.0 - dist / width) + 0.5);
                if (v > img[y * cols + x]) img[y * cols + x] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
}

/* n examples of `classes` classes on a rows x cols canvas, sparse like MNIST. */
dl_dataset *tf_data(size_t n, int rows, int cols, int classes, uint64_t seed)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, rows, cols, &e);
    cr_assert_not_null(d, "%s", e.msg);
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)dl_rng_below(&r, (uint64_t)classes);
        d->labels[i] = (uint8_t)c;
        uint8_t *img = d->pixels + i * d->npix;
        double jx = dl_rng_uniform(&r) * 3 - 1.5, jy = dl_rng_uniform(&r) * 3 - 1.5;
        double a = 2 * TF_PI * c / classes;
        double cx = cols / 2.0 + jx, cy = rows / 2.0 + jy, s = rows / 3.0;
        int ink = 180 + (int)dl_rng_below(&r, 120); /* clipped at 255: saturated pixels too */
        tf_stroke(img, rows, cols, cx - s * cos(a), cy - s * sin(a), cx + s * cos(a), cy + s * sin(a),
                  1.5 + dl_rng_uniform(&r), ink);
        tf_stroke(img, rows, cols, cx, cy, cx + s * cos(a * 2 + 1), cy + s * sin(a * 3 + 1), 1.2, ink);
    }
    return d;
}

dl_net *tf_net(int nl, const int *sizes, uint64_t seed)
{
    dl_err e;
    dl_net *n = dl_net_new(nl, sizes, &e);
    cr_assert_not_null(n, "%s", e.msg);
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_net_init(n, DL_INIT_SCALED, &r);
    return n;
}


/* The variants this CPU runs, best first: tests loop over them. */
int tf_variants(dl_simd *v)
{
    int n = 0;
    for (int q = DL_SIMD_COUNT - 1; q >= 0; q--)
        if (dl_simd_supported((dl_simd)q)) v[n++] = (dl_simd)q;
    return n;
}

void tf_set_acts(dl_net *net, const tf_ch3 *x)
{
    if (!x) return;
    for (int l = 0; l + 2 < net->nlayers; l++) net->act[l] = x->hidden;
    net->act[net->nlayers - 2] = x->output;
}

void tf_train_x(dl_simd v, dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o,
                const tf_ch3 *x, dl_epoch_stat *hist)
{
    dl_rng r;
    dl_rng_seed(&r, 99);
    dl_train_state s;
    dl_err e;
    tf_set_acts(net, x);
    cr_assert_eq(dl_train_state_init(&s, (uint32_t)d->n, &r, &e), DL_OK);
    dl_train_opts to = {.epochs = o.epochs, .batch = o.batch, .eta = o.eta, .lambda = o.lambda, .cost = o.cost,
                        .threads = o.threads, .kernel = o.kernel, .stop = NULL,
                        .momentum = x ? x->momentum : 0.0f, .dropout = x ? x->dropout : 0.0f};
    cr_assert_eq(dl_train_simd(v, net, d, ev, &to, &s, hist, NULL, NULL, &e), DL_OK, "%s", e.msg);
    dl_train_state_free(&s);
}

void tf_train_v(dl_simd v, dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o,
                dl_epoch_stat *hist)
{
    tf_train_x(v, net, d, ev, o, NULL, hist);
}

void tf_train(dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o,
                     dl_epoch_stat *hist)
{
    tf_train_v(dl_simd_best(), net, d, ev, o, hist);
}

double tf_maxdiff(const dl_net *a, const dl_net *b)
{
    double m = 0.0;
    for (size_t i = 0; i < a->nparams; i++) {
        double d = fabs((double)a->params[i] - (double)b->params[i]);
        if (!(d <= m)) m = d; /* NaN wins */
    }
    return m;
}

/* Predictions of net on every example of d, with the reference forward pass. */
static int *tf_predict(const dl_net *net, const dl_dataset *d)
{
    dl_err e;
    dl_trace *t = dl_trace_new(net, &e);
    float *x = malloc(d->npix * sizeof(float));
    int *p = malloc(d->n * sizeof(int));
    int K = net->sizes[net->nlayers - 1];
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        p[i] = dl_argmax(dl_net_forward(net, x, t), K);
    }
    dl_trace_free(t);
    free(x);
    return p;
}

void tf_compare_x(int nl, const int *sizes, int rows, int cols, size_t n, tf_run o, const tf_ch3 *x)
{
    int K = sizes[nl - 1];
    dl_dataset *d = tf_data(n, rows, cols, K, 7), *ev = tf_data(200, rows, cols, K, 8);
    dl_net *ref = tf_net(nl, sizes, 3);
    dl_epoch_stat hr[8], hf[8];
    o.kernel = DL_KERNEL_REFERENCE;
    tf_train_x(DL_SIMD_GENERIC, ref, d, ev, o, x, hr);
    int *pr = tf_predict(ref, ev);
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        const char *name = dl_simd_name(vs[q]);
        dl_net *fast = tf_net(nl, sizes, 3);
        o.kernel = DL_KERNEL_FAST;
        tf_train_x(vs[q], fast, d, ev, o, x, hf);
        double md = tf_maxdiff(ref, fast);
        cr_log_info("%s: max |w_fast - w_ref| = %.3g", name, md);
        cr_expect(md < TOL_W, "%s: parameters differ by %g (tolerance %g)", name, md, TOL_W);
        for (int k = 0; k < o.epochs; k++) {
            cr_expect_eq(hf[k].correct, hr[k].correct, "%s, epoch %d: %u vs %u correct", name,
                         k + 1, hf[k].correct, hr[k].correct);
            cr_expect(fabs(hf[k].cost - hr[k].cost) < 1e-4, "%s, epoch %d cost %g vs %g", name,
                      k + 1, hf[k].cost, hr[k].cost);
        }
        int *pf = tf_predict(fast, ev);
        size_t diff = 0;
        for (size_t i = 0; i < ev->n; i++) diff += pr[i] != pf[i];
        cr_expect_eq(diff, 0, "%s: %zu of %zu predictions differ", name, diff, ev->n);
        free(pf);
        dl_net_free(fast);
    }
    free(pr);
    dl_net_free(ref);
    dl_dataset_free(d);
    dl_dataset_free(ev);
}

void tf_compare(int nl, const int *sizes, int rows, int cols, size_t n, tf_run o)
{
    tf_compare_x(nl, sizes, rows, cols, n, o, NULL);
}

void tf_check_eval(const dl_net *net, const dl_dataset *d, dl_cost cost)
{
    int K = net->sizes[net->nlayers - 1];
    dl_err e;
    dl_trace *t = dl_trace_new(net, &e);
    float *x = malloc(d->npix * sizeof(float)), *y = calloc((size_t)K, sizeof(float));
    uint32_t *conf = calloc((size_t)K * K, sizeof(uint32_t));
    size_t correct = 0;
    double c = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        const float *a = dl_net_forward(net, x, t);
        int lab = d->labels[i], p = dl_argmax(a, K);
        y[lab] = 1.0f;
        c += dl_cost_value(cost, a, y, K);
        y[lab] = 0.0f;
        conf[lab * K + p]++;
        correct += p == lab;
    }
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        const char *name = dl_simd_name(vs[q]);
        dl_eval first;
        for (int threads = 1; threads <= 4; threads++) {
            dl_eval ev;
            cr_assert_eq(dl_evaluate_simd(vs[q], net, d, cost, threads, &ev, &e), DL_OK, "%s", e.msg);
            cr_expect_eq(ev.total, d->n);
            cr_expect_eq(ev.nclasses, K);
            cr_expect_eq(ev.correct, correct, "%s, %d threads: %zu vs %zu correct", name, threads,
                         ev.correct, correct);
            cr_expect_eq(memcmp(ev.confusion, conf, (size_t)K * K * sizeof(uint32_t)), 0, "%s", name);
            cr_expect(fabs(ev.cost - c / (double)d->n) < 1e-5, "%s: cost %g vs %g", name, ev.cost,
                      c / (double)d->n);
            if (threads == 1) {
                first = ev;
            } else {
                cr_expect_eq(ev.cost, first.cost, "%s, %d threads: cost not bit-identical", name, threads);
                dl_eval_free(&ev);
            }
        }
        dl_eval_free(&first);
    }
    dl_trace_free(t);
    free(x);
    free(y);
    free(conf);
}

