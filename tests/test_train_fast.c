/*
 * test_train_fast.c — the fast training kernel does the reference
 * kernel's arithmetic, only faster; evaluation agrees with dl_net_forward.
 *
 * "The same" is checked two ways:
 *   - against the reference kernel (one thread): after the same training
 *     run, every parameter agrees within TOL_W (absolute, 1e-4) and every
 *     per-epoch score and every prediction on a held-out set is identical.
 *     The kernels differ only in float rounding (fused multiply-adds,
 *     8-lane partial sums, a polynomial exp within 2 ulp of expf), so the
 *     observed gap after an epoch is about 1e-6; TOL_W leaves room for the
 *     chaotic growth of such differences over a few hundred SGD steps.
 *   - against itself: the same run with 1, 2 or 3 threads, or twice, gives
 *     bit-identical parameters (the kernel splits work so that no sum
 *     depends on the thread count).
 *
 * Data are synthetic and sparse like MNIST: on a 28 x 28 canvas each class
 * draws its own pair of strokes with random jitter and ink, so about a
 * quarter of the pixels are non-zero and some are 255.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/train_fast_pool.h"
#include "../src/train_kernels.h"
#include "digitlens/net.h"
#include "digitlens/train.h"

TestSuite(train_fast);

#define TOL_W 1e-4
#define TF_PI 3.14159265358979323846

/* ---- fixtures ----------------------------------------------------------- */

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
static dl_dataset *tf_data(size_t n, int rows, int cols, int classes, uint64_t seed)
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

static dl_net *tf_net(int nl, const int *sizes, uint64_t seed)
{
    dl_err e;
    dl_net *n = dl_net_new(nl, sizes, &e);
    cr_assert_not_null(n, "%s", e.msg);
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_net_init(n, DL_INIT_SCALED, &r);
    return n;
}

typedef struct tf_run {
    int epochs, batch, threads;
    float eta, lambda;
    dl_cost cost;
    dl_kernel kernel;
} tf_run;

/* Trains net in place with a fixed shuffle seed; fills hist[epochs]. */
static void tf_train(dl_net *net, const dl_dataset *d, const dl_dataset *ev, tf_run o,
                     dl_epoch_stat *hist)
{
    dl_rng r;
    dl_rng_seed(&r, 99);
    dl_train_state s;
    dl_err e;
    cr_assert_eq(dl_train_state_init(&s, (uint32_t)d->n, &r, &e), DL_OK);
    dl_train_opts to = {.epochs = o.epochs, .batch = o.batch, .eta = o.eta, .lambda = o.lambda,
                       .cost = o.cost, .threads = o.threads, .kernel = o.kernel, .stop = NULL};
    cr_assert_eq(dl_train(net, d, ev, &to, &s, hist, NULL, NULL, &e), DL_OK, "%s", e.msg);
    dl_train_state_free(&s);
}

static double tf_maxdiff(const dl_net *a, const dl_net *b)
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

/* Trains copies of one net with both kernels and checks they agree. */
static void tf_compare(int nl, const int *sizes, int rows, int cols, size_t n, tf_run o)
{
    int K = sizes[nl - 1];
    dl_dataset *d = tf_data(n, rows, cols, K, 7), *ev = tf_data(200, rows, cols, K, 8);
    dl_net *ref = tf_net(nl, sizes, 3), *fast = tf_net(nl, sizes, 3);
    dl_epoch_stat hr[8], hf[8];
    o.kernel = DL_KERNEL_REFERENCE;
    tf_train(ref, d, ev, o, hr);
    o.kernel = DL_KERNEL_FAST;
    tf_train(fast, d, ev, o, hf);
    double md = tf_maxdiff(ref, fast);
    cr_log_info("max |w_fast - w_ref| = %.3g", md);
    cr_expect(md < TOL_W, "parameters differ by %g (tolerance %g)", md, TOL_W);
    for (int k = 0; k < o.epochs; k++) {
        cr_expect_eq(hf[k].correct, hr[k].correct, "epoch %d: %u vs %u correct", k + 1,
                     hf[k].correct, hr[k].correct);
        cr_expect(fabs(hf[k].cost - hr[k].cost) < 1e-4, "epoch %d cost %g vs %g", k + 1,
                  hf[k].cost, hr[k].cost);
    }
    int *pr = tf_predict(ref, ev), *pf = tf_predict(fast, ev);
    size_t diff = 0;
    for (size_t i = 0; i < ev->n; i++) diff += pr[i] != pf[i];
    cr_expect_eq(diff, 0, "%zu of %zu predictions differ", diff, ev->n);
    free(pr);
    free(pf);
    dl_net_free(ref);
    dl_net_free(fast);
    dl_dataset_free(d);
    dl_dataset_free(ev);
}

/* ---- the same arithmetic as the reference ------------------------------- */

static const int NET_100[] = {784, 100, 10};

Test(train_fast, matches_the_reference_quadratic)
{
    tf_compare(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
}

Test(train_fast, matches_the_reference_cross_entropy)
{
    tf_compare(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.5f, 0.0f, DL_COST_CROSS_ENTROPY, 0});
}

Test(train_fast, matches_the_reference_with_l2_decay)
{
    tf_compare(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.5f, 5.0f, DL_COST_CROSS_ENTROPY, 0});
    tf_compare(3, NET_100, 28, 28, 300, (tf_run){1, 10, 1, 3.0f, 1.0f, DL_COST_QUADRATIC, 0});
}

Test(train_fast, matches_the_reference_on_a_deeper_net)
{
    static const int deep[] = {784, 30, 20, 10};
    tf_compare(4, deep, 28, 28, 300, (tf_run){2, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
    static const int deeper[] = {784, 40, 24, 17, 10};
    tf_compare(5, deeper, 28, 28, 300, (tf_run){1, 10, 1, 0.5f, 2.0f, DL_COST_CROSS_ENTROPY, 0});
}

Test(train_fast, matches_the_reference_without_a_hidden_layer)
{
    static const int flat[] = {784, 10};
    tf_compare(2, flat, 28, 28, 300, (tf_run){2, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
    tf_compare(2, flat, 28, 28, 300, (tf_run){1, 10, 1, 0.5f, 3.0f, DL_COST_CROSS_ENTROPY, 0});
}

Test(train_fast, matches_the_reference_on_odd_shapes)
{
    /* 5 x 7 = 35 inputs (not a whole vector or mask word), 13 hidden units
     * (a partial last block), 3 outputs. */
    static const int odd[] = {35, 13, 3};
    tf_compare(3, odd, 5, 7, 240, (tf_run){3, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
    /* 2 x 70 = 140 inputs: two full mask words and a partial one; 1 hidden unit. */
    static const int thin[] = {140, 1, 2};
    tf_compare(3, thin, 2, 70, 200, (tf_run){2, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
}

Test(train_fast, matches_the_reference_when_the_last_batch_is_short)
{
    /* 205 examples in batches of 10: the last batch of each epoch has 5. */
    tf_compare(3, NET_100, 28, 28, 205, (tf_run){2, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
    /* Batch 1 (plain SGD) and batch 7 (205 = 29*7 + 2). */
    tf_compare(3, NET_100, 28, 28, 205, (tf_run){1, 1, 1, 0.5f, 0.0f, DL_COST_QUADRATIC, 0});
    tf_compare(3, NET_100, 28, 28, 205, (tf_run){1, 7, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
}

Test(train_fast, matches_the_reference_with_batches_longer_than_a_chunk)
{
    /* Batches above 64 examples are processed in pieces with carried
     * partial sums; 100 and 150 (the last batch of 400 is 100) with L2. */
    tf_compare(3, NET_100, 28, 28, 400, (tf_run){2, 100, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, 0});
    tf_compare(3, NET_100, 28, 28, 400, (tf_run){2, 150, 1, 3.0f, 2.0f, DL_COST_CROSS_ENTROPY, 0});
}

/* After every single step, not just at the end of an epoch, the net holds
 * the weights the reference holds (the caller may save or score between
 * steps). */
Test(train_fast, the_net_is_exact_after_every_step)
{
    dl_dataset *d = tf_data(120, 28, 28, 10, 11);
    dl_net *ref = tf_net(3, NET_100, 5), *fast = tf_net(3, NET_100, 5);
    const dl_kernel_ops *R = dl_kernel_reference(), *F = dl_kernel_fast();
    dl_err e;
    dl_sgd sgd = {DL_COST_QUADRATIC, 0.0f, NULL, 0.0f};
    void *kr = R->create(ref, &sgd, 1, &e), *kf = F->create(fast, &sgd, 2, &e);
    cr_assert(kr && kf);
    uint32_t idx[120];
    for (uint32_t i = 0; i < 120; i++) idx[i] = (i * 37) % 120;
    for (int s = 0; s < 12; s++) {
        dl_step st = {3.0f, s % 3 == 2 ? 0.999f : 1.0f, 0.0f, 0, 0};
        double cr = R->step(kr, ref, d, idx + s * 10, 10, &st);
        double cf = F->step(kf, fast, d, idx + s * 10, 10, &st);
        cr_expect(fabs(cr - cf) < 1e-4 * (1 + fabs(cr)), "step %d: cost %g vs %g", s, cr, cf);
        double md = tf_maxdiff(ref, fast);
        cr_expect(md < 1e-5, "step %d: parameters differ by %g", s, md);
    }
    R->destroy(kr);
    F->destroy(kf);
    dl_net_free(ref);
    dl_net_free(fast);
    dl_dataset_free(d);
}

/* A step given another net (here a copy made after some training) works
 * on that net's weights, not the kernel's mirror of the first. */
Test(train_fast, a_step_on_another_net_reads_that_net)
{
    dl_dataset *d = tf_data(60, 28, 28, 10, 12);
    dl_net *a = tf_net(3, NET_100, 5), *b = tf_net(3, NET_100, 6);
    dl_err e;
    dl_net *b2 = dl_net_copy(b, &e);
    const dl_kernel_ops *F = dl_kernel_fast();
    dl_sgd sgd = {DL_COST_QUADRATIC, 0.0f, NULL, 0.0f};
    void *k1 = F->create(a, &sgd, 1, &e), *k2 = F->create(b2, &sgd, 1, &e);
    uint32_t idx[60];
    for (uint32_t i = 0; i < 60; i++) idx[i] = i;
    dl_step st = {3.0f, 1.0f, 0.0f, 0, 0};
    F->step(k1, a, d, idx, 10, &st);
    F->step(k1, b, d, idx + 10, 10, &st);  /* k1 switches to b */
    F->step(k2, b2, d, idx + 10, 10, &st); /* a fresh kernel on the same weights */
    cr_expect_eq(memcmp(b->params, b2->params, b->nparams * sizeof(float)), 0);
    F->destroy(k1);
    F->destroy(k2);
    dl_net_free(a);
    dl_net_free(b);
    dl_net_free(b2);
    dl_dataset_free(d);
}

/* ---- deterministic, whatever the thread count ---------------------------- */

static dl_net *tf_trained(int threads, dl_cost cost, float lambda, int nl, const int *sizes)
{
    dl_dataset *d = tf_data(250, 28, 28, 10, 21);
    dl_net *n = tf_net(nl, sizes, 4);
    dl_epoch_stat h[2];
    tf_train(n, d, NULL, (tf_run){2, 10, threads, 3.0f, lambda, cost, DL_KERNEL_FAST}, h);
    dl_dataset_free(d);
    return n;
}

Test(train_fast, threads_give_bit_identical_weights)
{
    static const int deep[] = {784, 30, 20, 10};
    struct {
        int nl;
        const int *sizes;
        dl_cost cost;
        float lambda;
    } cases[] = {{3, NET_100, DL_COST_QUADRATIC, 0.0f},
                 {3, NET_100, DL_COST_CROSS_ENTROPY, 2.0f},
                 {4, deep, DL_COST_QUADRATIC, 0.0f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dl_net *one = tf_trained(1, cases[c].cost, cases[c].lambda, cases[c].nl, cases[c].sizes);
        for (int t = 2; t <= 3; t++) {
            dl_net *many = tf_trained(t, cases[c].cost, cases[c].lambda, cases[c].nl, cases[c].sizes);
            cr_expect_eq(memcmp(one->params, many->params, one->nparams * sizeof(float)), 0,
                         "case %zu: %d threads differ from 1 (by up to %g)", c, t,
                         tf_maxdiff(one, many));
            dl_net_free(many);
        }
        dl_net_free(one);
    }
}

Test(train_fast, the_same_run_twice_gives_bit_identical_weights)
{
    dl_net *a = tf_trained(2, DL_COST_QUADRATIC, 0.0f, 3, NET_100);
    dl_net *b = tf_trained(2, DL_COST_QUADRATIC, 0.0f, 3, NET_100);
    cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0);
    dl_net_free(a);
    dl_net_free(b);
}

Test(train_fast, more_threads_than_hidden_blocks_still_work)
{
    /* 13 hidden units are 2 blocks of 8: 16 threads are capped, not stuck. */
    static const int small[] = {784, 13, 10};
    dl_net *one = tf_trained(1, DL_COST_QUADRATIC, 0.0f, 3, small);
    dl_net *many = tf_trained(16, DL_COST_QUADRATIC, 0.0f, 3, small);
    cr_expect_eq(memcmp(one->params, many->params, one->nparams * sizeof(float)), 0);
    dl_net_free(one);
    dl_net_free(many);
}

/* ---- edge inputs ----------------------------------------------------------- */

Test(train_fast, blank_and_fully_lit_images_match_the_reference)
{
    dl_dataset *d = tf_data(100, 28, 28, 10, 31);
    for (size_t i = 0; i < d->n; i += 3) memset(d->pixels + i * d->npix, 0, d->npix);
    for (size_t i = 1; i < d->n; i += 3) memset(d->pixels + i * d->npix, 200, d->npix);
    dl_net *ref = tf_net(3, NET_100, 8), *fast = tf_net(3, NET_100, 8);
    dl_epoch_stat h[2];
    tf_train(ref, d, NULL, (tf_run){2, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_REFERENCE}, h);
    tf_train(fast, d, NULL, (tf_run){2, 10, 2, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_FAST}, h);
    double md = tf_maxdiff(ref, fast);
    cr_expect(md < TOL_W, "parameters differ by %g", md);
    dl_net_free(ref);
    dl_net_free(fast);
    dl_dataset_free(d);
}

/* ---- evaluation ------------------------------------------------------------- */

/* dl_evaluate against a plain loop over dl_net_forward. */
static void tf_check_eval(const dl_net *net, const dl_dataset *d, dl_cost cost)
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
    dl_eval first;
    for (int threads = 1; threads <= 4; threads++) {
        dl_eval ev;
        cr_assert_eq(dl_evaluate(net, d, cost, threads, &ev, &e), DL_OK, "%s", e.msg);
        cr_expect_eq(ev.total, d->n);
        cr_expect_eq(ev.nclasses, K);
        cr_expect_eq(ev.correct, correct, "%d threads: %zu vs %zu correct", threads, ev.correct, correct);
        cr_expect_eq(memcmp(ev.confusion, conf, (size_t)K * K * sizeof(uint32_t)), 0);
        cr_expect(fabs(ev.cost - c / (double)d->n) < 1e-5, "cost %g vs %g", ev.cost, c / (double)d->n);
        if (threads == 1) {
            first = ev;
        } else {
            cr_expect_eq(ev.cost, first.cost, "%d threads: cost not bit-identical", threads);
            dl_eval_free(&ev);
        }
    }
    dl_eval_free(&first);
    dl_trace_free(t);
    free(x);
    free(y);
    free(conf);
}

Test(train_fast, evaluation_agrees_with_the_reference_forward_pass)
{
    dl_dataset *d = tf_data(1000, 28, 28, 10, 41);
    dl_net *n = tf_net(3, NET_100, 9);
    dl_epoch_stat h[1];
    tf_train(n, d, NULL, (tf_run){1, 10, 2, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_FAST}, h);
    tf_check_eval(n, d, DL_COST_QUADRATIC);
    tf_check_eval(n, d, DL_COST_CROSS_ENTROPY);
    static const int deep[] = {784, 30, 20, 10}, flat[] = {784, 10};
    dl_net *n2 = tf_net(4, deep, 10), *n3 = tf_net(2, flat, 11);
    tf_check_eval(n2, d, DL_COST_QUADRATIC);
    tf_check_eval(n3, d, DL_COST_CROSS_ENTROPY);
    dl_net_free(n);
    dl_net_free(n2);
    dl_net_free(n3);
    dl_dataset_free(d);
}

Test(train_fast, evaluation_of_an_empty_set_is_zero)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(0, 28, 28, &e);
    dl_net *n = tf_net(3, NET_100, 1);
    dl_eval ev;
    cr_assert_eq(dl_evaluate(n, d, DL_COST_QUADRATIC, 2, &ev, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(ev.total, 0);
    cr_expect_eq(ev.correct, 0);
    cr_expect_eq(ev.cost, 0.0);
    dl_eval_free(&ev);
    dl_net_free(n);
    dl_dataset_free(d);
}

/* ---- the thread pool ---------------------------------------------------------- */

typedef struct tf_job {
    dl_work work;
    int *hits;     /* [n] how often each unit ran in this run */
    int *owner;    /* [n] which thread ran it */
    long spin;     /* busy work per unit, to let helpers join mid-run */
    int owned, T;  /* units with owners (dl_work_claim_own) among T threads */
} tf_job;

static void tf_unit(void *arg, int t)
{
    tf_job *j = arg;
    int u;
    while ((u = j->owned ? dl_work_claim_own(&j->work, t, j->T) : dl_work_claim(&j->work)) >= 0) {
        j->hits[u]++;
        j->owner[u] = t;
        volatile long x = 0;
        for (long q = 0; q < j->spin; q++) x += q;
        dl_work_finish(&j->work);
    }
    dl_work_wait(&j->work);
}

/* Every unit of every run is done exactly once, whoever joins, and the run
 * does not return before all of them are; helpers do take part.  Units
 * handed out in order and units with owners alike. */
Test(train_fast, the_pool_runs_every_unit_exactly_once)
{
    dl_err e;
    for (int threads = 1; threads <= 4; threads++) {
        dl_pool *p = dl_pool_new(threads, &e);
        cr_assert_not_null(p, "%s", e.msg);
        cr_expect(dl_pool_threads(p) >= 1 && dl_pool_threads(p) <= threads);
        int hits[64], owner[64], helped = 0;
        atomic_uchar taken[64];
        for (int run = 0; run < 2000; run++) {
            int n = 1 + run % 64;
            memset(hits, 0, sizeof hits);
            tf_job j = {.hits = hits, .owner = owner, .spin = run % 7 == 0 ? 2000 : 0,
                        .owned = run % 2, .T = dl_pool_threads(p)};
            dl_work_reset(&j.work, n, j.owned ? taken : NULL);
            dl_pool_run(p, tf_unit, &j);
            for (int u = 0; u < n; u++) {
                cr_assert_eq(hits[u], 1, "%d threads, run %d: unit %d ran %d times", threads, run, u,
                             hits[u]);
                helped |= owner[u] != 0;
            }
        }
        if (dl_pool_threads(p) > 1) cr_log_info("%d threads: helpers took part: %d", threads, helped);
        dl_pool_free(p);
    }
}
