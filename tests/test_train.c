/* test_train.c — SGD on small problems, determinism, interrupt and resume,
 * and the real-data acceptance figures (skipped when MNIST is absent). */
#include <math.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/idx.h"
#include "digitlens/model.h"
#include "digitlens/train.h"
#include "support/support.h"

TestSuite(train);

/* 4x4 images: class 0 has ink on the left half, class 1 on the right. */
static dl_dataset *separable(size_t n, uint64_t seed)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, 4, 4, &e);
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 2);
        d->labels[i] = (uint8_t)c;
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                int on = (x < 2) == (c == 0);
                d->pixels[i * 16 + y * 4 + x] = (uint8_t)(on ? 150 + dl_rng_below(&r, 100) : dl_rng_below(&r, 40));
            }
    }
    return d;
}

static dl_model *fresh(const dl_dataset *d, int hidden, uint64_t seed)
{
    int sizes[] = {16, hidden, 2};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 4, 4, &e);
    cr_assert_eq(dl_model_start(m, DL_INIT_SCALED, seed, d, &e), DL_OK);
    /* Settings as train records them (a model file's state is checked against them). */
    m->epochs_planned = 50;
    m->batch = 10;
    m->eta = 3.0f;
    dl_model_reserve_history(m, 50, &e);
    return m;
}

static void run(dl_model *m, const dl_dataset *d, const dl_dataset *ev, int epochs, dl_kernel k,
                volatile sig_atomic_t *stop, dl_status want)
{
    dl_train_opts o = {.epochs = epochs, .batch = 10, .eta = 3.0f, .lambda = 0.0f,
                       .cost = DL_COST_QUADRATIC, .threads = 1, .kernel = k, .stop = stop};
    dl_err e;
    dl_status st = dl_train(m->net, d, ev, &o, &m->state, m->history, NULL, NULL, &e);
    cr_assert_eq(st, want, "%s", e.msg);
    m->nhistory = m->state.epoch;
}

Test(train, a_tiny_separable_problem_is_learned)
{
    dl_dataset *d = separable(200, 1), *t = separable(100, 2);
    for (int k = 0; k < 2; k++) {
        dl_model *m = fresh(d, 3, 5);
        run(m, d, t, 5, (dl_kernel)k, NULL, DL_OK);
        cr_assert_eq(m->nhistory, 5);
        cr_expect_eq(m->history[4].correct, 100, "kernel %d: %u/100", k, m->history[4].correct);
        cr_expect(m->history[4].cost < m->history[0].cost, "cost did not fall");
        dl_model_free(m);
    }
    dl_dataset_free(d);
    dl_dataset_free(t);
}

Test(train, the_same_seed_gives_identical_model_bytes)
{
    dl_dataset *d = separable(97, 1);
    unsigned char *bytes[2];
    size_t len[2];
    dl_err e;
    for (int i = 0; i < 2; i++) {
        dl_model *m = fresh(d, 5, 11);
        run(m, d, d, 3, DL_KERNEL_FAST, NULL, DL_OK);
        cr_assert_eq(dl_model_encode(m, &bytes[i], &len[i], &e), DL_OK);
        dl_model_free(m);
    }
    cr_assert_eq(len[0], len[1]);
    cr_assert(memcmp(bytes[0], bytes[1], len[0]) == 0);
    dl_model *other = fresh(d, 5, 12);
    run(other, d, d, 3, DL_KERNEL_FAST, NULL, DL_OK);
    unsigned char *b3;
    size_t l3;
    dl_model_encode(other, &b3, &l3, &e);
    cr_assert(l3 != len[0] || memcmp(b3, bytes[0], l3) != 0, "a different seed gave the same model");
    free(b3);
    free(bytes[0]);
    free(bytes[1]);
    dl_model_free(other);
    dl_dataset_free(d);
}

/* Stop after the first mini-batch, save, load, continue: the same model as an
 * uninterrupted run, byte for byte (apart from the partial flag). */
Test(train, an_interrupted_run_resumed_from_its_file_ends_identically)
{
    dl_dataset *d = separable(95, 3);
    dl_err e;
    dl_model *straight = fresh(d, 4, 21);
    run(straight, d, d, 3, DL_KERNEL_FAST, NULL, DL_OK);

    dl_model *m = fresh(d, 4, 21);
    volatile sig_atomic_t stop = 0;
    run(m, d, d, 1, DL_KERNEL_FAST, NULL, DL_OK);      /* one whole epoch */
    stop = 1;
    run(m, d, d, 3, DL_KERNEL_FAST, &stop, DL_EINTR);  /* then one batch of epoch 2 */
    cr_assert_eq(m->state.epoch, 1);
    cr_assert_eq(m->state.pos, 10);
    unsigned char *buf;
    size_t n;
    cr_assert_eq(dl_model_encode(m, &buf, &n, &e), DL_OK);
    dl_model *l = NULL;
    cr_assert_eq(dl_model_decode(buf, n, "mem", &l, &e), DL_OK, "%s", e.msg);
    dl_model_reserve_history(l, 50, &e);
    stop = 0;
    run(l, d, d, 3, DL_KERNEL_FAST, &stop, DL_OK);
    cr_assert(memcmp(l->net->params, straight->net->params, straight->net->nparams * sizeof(float)) == 0,
              "resumed parameters differ");
    cr_assert_eq(l->history[2].correct, straight->history[2].correct);
    /* The whole file matches once the partial flag is cleared as the CLI does. */
    unsigned char *b1, *b2;
    size_t n1, n2;
    l->flags = straight->flags;
    dl_model_encode(l, &b1, &n1, &e);
    dl_model_encode(straight, &b2, &n2, &e);
    cr_assert(n1 == n2 && memcmp(b1, b2, n1) == 0, "resumed model file differs");
    free(b1);
    free(b2);
    free(buf);
    dl_model_free(l);
    dl_model_free(m);
    dl_model_free(straight);
    dl_dataset_free(d);
}

Test(train, labels_beyond_the_outputs_are_refused_before_training)
{
    dl_dataset *d = separable(20, 1);
    d->labels[7] = 5;
    dl_model *m = fresh(d, 3, 1);
    dl_train_opts o = {.epochs = 1, .batch = 10, .eta = 3.0f, .lambda = 0.0f,
                       .cost = DL_COST_QUADRATIC, .threads = 1, .kernel = DL_KERNEL_FAST, .stop = NULL};
    dl_err e;
    cr_assert_eq(dl_train(m->net, d, NULL, &o, &m->state, m->history, NULL, NULL, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "label 5 at example 7"), "%s", e.msg);
    dl_model_free(m);
    dl_dataset_free(d);
}

Test(train, evaluation_fills_a_consistent_confusion_matrix)
{
    dl_dataset *d = separable(50, 4);
    dl_model *m = fresh(d, 3, 2);
    dl_eval ev;
    dl_err e;
    cr_assert_eq(dl_evaluate(m->net, d, DL_COST_QUADRATIC, 1, &ev, &e), DL_OK);
    uint32_t sum = 0, diag = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            sum += ev.confusion[i * 2 + j];
            if (i == j) diag += ev.confusion[i * 2 + j];
        }
    cr_assert_eq(sum, 50);
    cr_assert_eq(diag, ev.correct);
    dl_eval_free(&ev);
    dl_model_free(m);
    dl_dataset_free(d);
}

static dl_dataset *mnist(const char *which, const char *kind)
{
    const char *dir = ts_mnist_dir();
    char img[4096], lab[4096];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, which);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, which);
    dl_dataset *d = NULL;
    dl_err e;
    cr_assert_eq(dl_idx_load(img, lab, &d, &e), DL_OK, "%s: %s", kind, e.msg);
    return d;
}

Test(train, real_mnist_784_100_10_reaches_92_percent_in_3_epochs, .timeout = 300)
{
    if (!ts_mnist_dir()) cr_skip_test("real MNIST not found (../shared/data/mnist): skipped");
    if (ts_skip_slow()) cr_skip_test("slow real-data test skipped in the sanitizer build");
    dl_dataset *tr = mnist("train", "training"), *te = mnist("t10k", "test");
    int sizes[] = {784, 100, 10};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 28, 28, &e);
    dl_model_start(m, DL_INIT_SCALED, 1, tr, &e);
    dl_model_reserve_history(m, 3, &e);
    dl_train_opts o = {.epochs = 3, .batch = 10, .eta = 3.0f, .lambda = 0.0f,
                       .cost = DL_COST_QUADRATIC, .threads = 2, .kernel = DL_KERNEL_FAST, .stop = NULL};
    cr_assert_eq(dl_train(m->net, tr, te, &o, &m->state, m->history, NULL, NULL, &e), DL_OK, "%s", e.msg);
    double acc = (double)m->history[2].correct / m->history[2].total;
    cr_log_info("784-100-10, 3 epochs: %.2f%% on the real test set", 100 * acc);
    cr_expect(acc >= 0.92, "accuracy %.4f below 0.92", acc);
    dl_model_free(m);
    dl_dataset_free(tr);
    dl_dataset_free(te);
}

Test(train, real_mnist_784_1_2_separates_zeros_from_ones, .timeout = 300)
{
    if (!ts_mnist_dir()) cr_skip_test("real MNIST not found (../shared/data/mnist): skipped");
    if (ts_skip_slow()) cr_skip_test("slow real-data test skipped in the sanitizer build");
    dl_dataset *tr0 = mnist("train", "training"), *te0 = mnist("t10k", "test");
    int classes[] = {0, 1};
    dl_err e;
    dl_dataset *tr = dl_dataset_select(tr0, classes, 2, &e), *te = dl_dataset_select(te0, classes, 2, &e);
    int sizes[] = {784, 1, 2};
    dl_model *m = dl_model_new(3, sizes, 28, 28, &e);
    dl_model_start(m, DL_INIT_SCALED, 1, tr, &e);
    dl_model_reserve_history(m, 3, &e);
    dl_train_opts o = {.epochs = 3, .batch = 10, .eta = 3.0f, .lambda = 0.0f,
                       .cost = DL_COST_QUADRATIC, .threads = 1, .kernel = DL_KERNEL_FAST, .stop = NULL};
    cr_assert_eq(dl_train(m->net, tr, te, &o, &m->state, m->history, NULL, NULL, &e), DL_OK, "%s", e.msg);
    double acc = (double)m->history[2].correct / m->history[2].total;
    cr_log_info("784-1-2 on 0 vs 1: %.2f%% of %u", 100 * acc, m->history[2].total);
    cr_expect(acc >= 0.99, "accuracy %.4f below 0.99", acc);
    dl_model_free(m);
    dl_dataset_free(tr0);
    dl_dataset_free(te0);
    dl_dataset_free(tr);
    dl_dataset_free(te);
}

/* A ReLU hidden layer under a softmax output with the log-likelihood cost
 * learns the toy problem, with either kernel; a cost that means nothing on
 * a softmax is refused. */
Test(train, a_relu_softmax_net_learns_with_either_kernel)
{
    dl_dataset *d = separable(200, 1), *t = separable(100, 2);
    dl_model *m = fresh(d, 4, 5), *f = fresh(d, 4, 5);
    m->net->act[0] = f->net->act[0] = DL_ACT_RELU;
    m->net->act[1] = f->net->act[1] = DL_ACT_SOFTMAX;
    dl_train_opts o = {.epochs = 5, .batch = 10, .eta = 0.1f, .lambda = 0.0f,
                       .cost = DL_COST_LOG_LIKELIHOOD, .threads = 1, .kernel = DL_KERNEL_FAST, .stop = NULL};
    dl_err e;
    cr_assert_eq(dl_train(f->net, d, t, &o, &f->state, f->history, NULL, NULL, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(f->history[4].correct, 100, "fast: %u/100", f->history[4].correct);
    o.kernel = DL_KERNEL_REFERENCE;
    cr_assert_eq(dl_train(m->net, d, t, &o, &m->state, m->history, NULL, NULL, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(m->history[4].correct, 100, "%u/100", m->history[4].correct);
    dl_model_free(f);
    o.cost = DL_COST_CROSS_ENTROPY; /* meaningless on a softmax */
    o.epochs = 6;
    cr_expect_eq(dl_train(m->net, d, t, &o, &m->state, m->history, NULL, NULL, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "log-likelihood"), "%s", e.msg);
    dl_model_free(m);
    dl_dataset_free(d);
    dl_dataset_free(t);
}

/* A 1-1-2 network built to overflow, and its two images: the hidden
 * neuron is saturated at 1, output 0's weight -3.4e38 and bias +3.4e38 put
 * its activation at 0.5 for a label 0, so with eta 1e38 the first step
 * pushes the bias past FLT_MAX, as a run whose learning rate is far too
 * large does. */
static dl_model *overflow_trap(dl_dataset **d)
{
    int sizes[] = {1, 1, 2};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 1, 1, &e);
    *d = dl_dataset_new(2, 1, 1, &e);
    cr_assert(m && *d);
    (*d)->pixels[0] = (*d)->pixels[1] = 255;
    (*d)->labels[0] = (*d)->labels[1] = 0;
    cr_assert_eq(dl_model_start(m, DL_INIT_SCALED, 1, *d, &e), DL_OK);
    dl_net *n = m->net;
    n->w[0][0] = 3e38f;
    n->b[0][0] = 0.0f;
    n->w[1][0] = -3.4e38f;
    n->b[1][0] = 3.4e38f;
    n->w[1][1] = 0.0f;
    n->b[1][1] = 0.0f;
    return m;
}

Test(train, a_diverging_epoch_goes_back_to_the_last_finite_model)
{
    dl_err e;
    dl_dataset *d;
    dl_model *m = overflow_trap(&d);
    dl_net *n = m->net;
    size_t bytes = n->nparams * sizeof(float);
    float *before = malloc(bytes);
    memcpy(before, n->params, bytes);
    dl_rng rng = m->state.rng;
    dl_epoch_stat hist[3];
    for (int k = 0; k < 2; k++) {
        dl_kernel kern = k ? DL_KERNEL_REFERENCE : DL_KERNEL_FAST;
        dl_train_opts o = {.epochs = 3, .batch = 1, .eta = 1e38f, .cost = DL_COST_QUADRATIC, .threads = 1, .kernel = kern};
        cr_assert_eq(dl_train(n, d, d, &o, &m->state, hist, NULL, NULL, &e), DL_ENUMERIC, "kernel %d", k);
        cr_expect(strstr(e.msg, "training diverged in epoch 1: the parameters stopped being finite"), "%s", e.msg);
        cr_assert(memcmp(n->params, before, bytes) == 0, "kernel %d: not the parameters the epoch began with", k);
        cr_assert_eq(m->state.epoch, 0);
        cr_assert_eq(m->state.pos, 0);
        cr_assert(memcmp(&m->state.rng, &rng, sizeof rng) == 0, "kernel %d: the generator moved on", k);
    }
    free(before);
    dl_model_free(m);
    dl_dataset_free(d);
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

Test(train, a_diverging_epoch_with_momentum_and_early_stopping_goes_back_to_a_finite_model)
{
    /* The trap above, after one finite epoch at a tiny eta that leaves
     * momentum's velocity non-zero and early stopping's best epoch set: the
     * next epoch at eta 1e38 overflows, velocity first (it would be inf,
     * then NaN).  Everything must be back as epoch 2 began, and training
     * can go on (a new kernel, with the restored velocity). */
    dl_err e;
    for (int k = 0; k < 2; k++) {
        dl_kernel kern = k ? DL_KERNEL_REFERENCE : DL_KERNEL_FAST;
        dl_dataset *d;
        dl_model *m = overflow_trap(&d);
        dl_net *n = m->net;
        dl_epoch_stat hist[4];
        dl_train_opts o = {.epochs = 1, .batch = 1, .eta = 1e-30f, .cost = DL_COST_QUADRATIC, .threads = 1,
                           .kernel = kern, .momentum = 0.5f, .early_stop = 1};
        cr_assert_eq(dl_train(n, d, d, &o, &m->state, hist, NULL, NULL, &e), DL_OK, "kernel %d: %s", k, e.msg);
        dl_train_state *s = &m->state;
        cr_assert(s->velocity && s->kept);
        size_t P = n->nparams, bytes = P * sizeof(float);
        int moving = 0;
        for (size_t i = 0; i < P; i++) moving |= s->velocity[i] != 0.0f;
        cr_assert(moving, "kernel %d: the first epoch left no velocity to restore", k);
        float *params = malloc(bytes), *vel = malloc(bytes), *kept = malloc(bytes);
        memcpy(params, n->params, bytes);
        memcpy(vel, s->velocity, bytes);
        memcpy(kept, s->kept, bytes);
        dl_rng rng = s->rng;
        o.epochs = 3;
        o.eta = 1e38f;
        cr_assert_eq(dl_train(n, d, d, &o, s, hist, NULL, NULL, &e), DL_ENUMERIC, "kernel %d", k);
        cr_expect(strstr(e.msg, "training diverged in epoch 2"), "%s", e.msg);
        cr_assert(all_finite(n->params, P) && all_finite(s->velocity, P) && all_finite(s->kept, P),
                  "kernel %d: a value stayed not finite", k);
        cr_assert(memcmp(n->params, params, bytes) == 0, "kernel %d: not the parameters epoch 2 began with", k);
        cr_assert(memcmp(s->velocity, vel, bytes) == 0, "kernel %d: not the velocity epoch 2 began with", k);
        cr_assert(memcmp(s->kept, kept, bytes) == 0, "kernel %d: early stopping's best parameters moved", k);
        cr_assert_eq(s->epoch, 1);
        cr_assert_eq(s->pos, 0);
        cr_assert_eq(s->best_epoch, 1);
        cr_assert_eq(s->kept_is_last, 0);
        cr_assert_eq(s->stopped, 0);
        cr_assert(memcmp(&s->rng, &rng, sizeof rng) == 0, "kernel %d: the generator moved on", k);
        /* Training on from there at a sane rate stays finite. */
        o.eta = 1e-30f;
        o.epochs = 2;
        cr_assert_eq(dl_train(n, d, d, &o, s, hist, NULL, NULL, &e), DL_OK, "kernel %d: %s", k, e.msg);
        cr_assert(all_finite(n->params, P) && all_finite(s->velocity, P), "kernel %d", k);
        cr_assert_eq(s->epoch, 2);
        free(params);
        free(vel);
        free(kept);
        dl_model_free(m);
        dl_dataset_free(d);
    }
}

Test(train, an_l2_decay_factor_at_or_below_zero_is_refused)
{
    dl_dataset *d = separable(40, 5);
    dl_model *m = fresh(d, 4, 3);
    /* 1 - 100*0.4/40 = 0 */
    dl_train_opts o = {.epochs = 1, .batch = 10, .eta = 100.0f, .lambda = 0.4f, .cost = DL_COST_QUADRATIC, .threads = 1,
                       .kernel = DL_KERNEL_FAST};
    dl_err e;
    cr_assert_eq(dl_train(m->net, d, NULL, &o, &m->state, m->history, NULL, NULL, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "L2 decay factor"), "%s", e.msg);
    cr_assert_eq(m->state.epoch, 0);
    dl_model_free(m);
    dl_dataset_free(d);
}
