/* test_train_ch3.c — chapter 3's extras in the SGD loop: momentum's update
 * rule, dropout's masks, early stopping and the η schedule; and that a run
 * trained in pieces (checkpoint legs, an interruption mid-epoch, a saved
 * and reloaded file) equals the run trained in one go, byte for byte. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../src/train_kernels.h"
#include "digitlens/model.h"
#include "digitlens/train.h"

TestSuite(train_ch3);

/* 4x4 images of 3 classes (ink in the left, middle or right columns) with
 * noisy ink and every 7th label wrong, so accuracy levels off below 100%
 * and early stopping and the schedule have something to wait for. */
static dl_dataset *noisy(size_t n, uint64_t seed)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, 4, 4, &e);
    cr_assert_not_null(d);
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)dl_rng_below(&r, 3);
        d->labels[i] = (uint8_t)(i % 7 == 3 ? (c + 1) % 3 : c);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                int on = c == 0 ? x == 0 : c == 1 ? (x == 1 || x == 2) : x == 3;
                d->pixels[i * 16 + y * 4 + x] = (uint8_t)(on ? 90 + dl_rng_below(&r, 160) : dl_rng_below(&r, 110));
            }
    }
    return d;
}

static dl_model *model_for(const dl_dataset *d, dl_act hidden, dl_act output, uint64_t seed)
{
    int sizes[] = {16, 6, 3};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 4, 4, &e);
    cr_assert_not_null(m);
    cr_assert_eq(dl_model_start(m, DL_INIT_SCALED, seed, d, &e), DL_OK);
    m->net->act[0] = hidden;
    m->net->act[1] = output;
    cr_assert_eq(dl_model_reserve_history(m, 200, &e), DL_OK);
    return m;
}

static dl_train_opts opts_ch3(int epochs, dl_cost cost, float eta)
{
    dl_train_opts o = {.epochs = epochs, .batch = 10, .eta = eta, .cost = cost, .threads = 1,
                       .kernel = DL_KERNEL_REFERENCE};
    return o;
}

static dl_status train_to(dl_model *m, const dl_dataset *d, const dl_dataset *ev, dl_train_opts o, int epochs,
                          volatile sig_atomic_t *stop)
{
    dl_err e;
    o.epochs = epochs;
    o.stop = stop;
    dl_status st = dl_train(m->net, d, ev, &o, &m->state, m->history, NULL, NULL, &e);
    m->nhistory = m->state.epoch;
    return st;
}

/* The model's options as the CLI records them, so its file is complete. */
static void record(dl_model *m, const dl_train_opts *o)
{
    m->cost = o->cost;
    m->eta = o->eta;
    m->lambda = o->lambda;
    m->batch = (uint32_t)o->batch;
    m->momentum = o->momentum;
    m->dropout = o->dropout;
    m->early_stop = (uint32_t)o->early_stop;
    m->halve_after = (uint32_t)o->halve_after;
    m->epochs_planned = (uint32_t)o->epochs;
}

static dl_model *reload(const dl_model *m)
{
    unsigned char *buf;
    size_t n;
    dl_err e;
    cr_assert_eq(dl_model_encode(m, &buf, &n, &e), DL_OK, "%s", e.msg);
    dl_model *l = NULL;
    cr_assert_eq(dl_model_decode(buf, n, "mem", &l, &e), DL_OK, "%s", e.msg);
    free(buf);
    cr_assert_eq(dl_model_reserve_history(l, 200, &e), DL_OK);
    return l;
}

static void assert_same_file(const dl_model *a, const dl_model *b, const char *what)
{
    unsigned char *p, *q;
    size_t n, k;
    dl_err e;
    cr_assert_eq(dl_model_encode(a, &p, &n, &e), DL_OK);
    cr_assert_eq(dl_model_encode(b, &q, &k, &e), DL_OK);
    cr_assert(n == k && memcmp(p, q, n) == 0, "%s: the model files differ", what);
    free(p);
    free(q);
}

/* ---- momentum ------------------------------------------------------------ */

/* Two reference steps by hand: v ← μv − (η/m)Σ∇ − (ηλ/n)w on weights (no
 * decay on biases), p ← p + v. */
Test(train_ch3, momentum_follows_its_update_rule)
{
    dl_dataset *d = noisy(20, 1);
    dl_model *m = model_for(d, DL_ACT_TANH, DL_ACT_SIGMOID, 3);
    dl_net *hand = dl_net_copy(m->net, NULL);
    dl_train_opts o = opts_ch3(1, DL_COST_QUADRATIC, 0.5f);
    o.momentum = 0.75f;
    o.lambda = 2.0f;
    o.batch = 10;
    /* The loop's shuffle, replayed. */
    dl_rng rng = m->state.rng;
    uint32_t order[20];
    for (uint32_t i = 0; i < 20; i++) order[i] = i;
    dl_rng_shuffle(&rng, order, 20);
    cr_assert_eq(train_to(m, d, NULL, o, 1, NULL), DL_OK);

    size_t P = hand->nparams;
    float *v = calloc(P, sizeof(float)), *g = malloc(P * sizeof(float)), x[16], y[3];
    dl_trace *t = dl_trace_new(hand, NULL);
    float r = 0.5f / 10.0f, l2 = 0.5f * 2.0f / 20.0f;
    for (int step = 0; step < 2; step++) {
        memset(g, 0, P * sizeof(float));
        for (int i = 0; i < 10; i++) {
            uint32_t ix = order[step * 10 + i];
            dl_dataset_image(d, ix, x);
            for (int j = 0; j < 3; j++) y[j] = j == d->labels[ix];
            dl_net_forward(hand, x, t);
            dl_net_backprop(hand, t, y, DL_COST_QUADRATIC, g);
        }
        for (int l = 0; l < 2; l++) {
            size_t w0 = dl_net_woff(hand, l), b0 = dl_net_boff(hand, l), b1 = b0 + (size_t)hand->sizes[l + 1];
            for (size_t i = w0; i < b1; i++) {
                float decay = i < b0 ? l2 * hand->params[i] : 0.0f;
                v[i] = 0.75f * v[i] - r * g[i] - decay;
                hand->params[i] += v[i];
            }
        }
    }
    for (size_t i = 0; i < P; i++) {
        cr_assert_float_eq(m->net->params[i], hand->params[i], 1e-6, "parameter %zu", i);
        cr_assert_float_eq(m->state.velocity[i], v[i], 1e-6, "velocity %zu", i);
    }
    free(v);
    free(g);
    dl_trace_free(t);
    dl_net_free(hand);
    dl_model_free(m);
    dl_dataset_free(d);
}

/* With μ = 0 the loop keeps no velocity and computes exactly plain SGD. */
Test(train_ch3, zero_momentum_is_plain_sgd_and_keeps_no_velocity)
{
    dl_dataset *d = noisy(50, 2);
    dl_model *a = model_for(d, DL_ACT_SIGMOID, DL_ACT_SIGMOID, 4);
    dl_train_opts o = opts_ch3(2, DL_COST_CROSS_ENTROPY, 1.0f);
    cr_assert_eq(train_to(a, d, d, o, 2, NULL), DL_OK);
    cr_expect_null(a->state.velocity);
    cr_expect_null(a->state.kept);
    dl_model_free(a);
    dl_dataset_free(d);
}

/* ---- dropout ------------------------------------------------------------- */

Test(train_ch3, dropout_masks_depend_on_seed_position_layer_and_unit_only)
{
    float a[1000], b[1000];
    dl_dropout_mask(77, 5, 1, 0.3f, 1000, a);
    dl_dropout_mask(77, 5, 1, 0.3f, 1000, b);
    cr_assert(memcmp(a, b, sizeof a) == 0);
    int dropped = 0;
    double sum = 0;
    for (int j = 0; j < 1000; j++) {
        cr_assert(a[j] == 0.0f || a[j] == 1.0f / 0.7f, "unit %d: %g", j, a[j]);
        dropped += a[j] == 0.0f;
        sum += a[j];
    }
    cr_expect(dropped > 250 && dropped < 350, "%d of 1000 dropped at p = 0.3", dropped);
    cr_expect(fabs(sum / 1000 - 1.0) < 0.07, "inverted dropout keeps the mean: %g", sum / 1000);
    /* Another position, layer or seed: another mask. */
    dl_dropout_mask(77, 6, 1, 0.3f, 1000, b);
    cr_expect(memcmp(a, b, sizeof a) != 0);
    dl_dropout_mask(77, 5, 2, 0.3f, 1000, b);
    cr_expect(memcmp(a, b, sizeof a) != 0);
    dl_dropout_mask(78, 5, 1, 0.3f, 1000, b);
    cr_expect(memcmp(a, b, sizeof a) != 0);
    /* The first 10 units of a 1000-unit mask are the 10-unit mask. */
    dl_dropout_mask(77, 5, 1, 0.3f, 10, b);
    cr_expect(memcmp(a, b, 10 * sizeof(float)) == 0);
}

/* Dropout changes training (it is not a no-op) and the same seed gives the
 * same run; the dropout stream is drawn only when dropout is on. */
Test(train_ch3, dropout_is_reproducible_and_changes_the_run)
{
    dl_dataset *d = noisy(60, 3);
    dl_model *a = model_for(d, DL_ACT_RELU, DL_ACT_SOFTMAX, 5), *b = model_for(d, DL_ACT_RELU, DL_ACT_SOFTMAX, 5);
    dl_model *c = model_for(d, DL_ACT_RELU, DL_ACT_SOFTMAX, 5);
    dl_train_opts o = opts_ch3(3, DL_COST_LOG_LIKELIHOOD, 0.2f);
    cr_assert_eq(train_to(c, d, d, o, 3, NULL), DL_OK);
    o.dropout = 0.5f;
    cr_assert_eq(train_to(a, d, d, o, 3, NULL), DL_OK);
    cr_assert_eq(train_to(b, d, d, o, 3, NULL), DL_OK);
    cr_expect(memcmp(a->net->params, b->net->params, a->net->nparams * sizeof(float)) == 0);
    cr_expect(memcmp(a->net->params, c->net->params, a->net->nparams * sizeof(float)) != 0);
    cr_expect_neq(a->state.dropout_seed, 0);
    cr_expect_eq(c->state.dropout_seed, 0);
    dl_model_free(a);
    dl_model_free(b);
    dl_model_free(c);
    dl_dataset_free(d);
}

/* ---- early stopping and the schedule ----------------------------------- */

/* Early stopping ends N epochs after the best one and leaves the net with
 * the best epoch's parameters: exactly those of a run that stopped there. */
Test(train_ch3, early_stopping_keeps_the_best_epochs_parameters)
{
    dl_dataset *d = noisy(150, 4), *ev = noisy(60, 5);
    dl_model *m = model_for(d, DL_ACT_SIGMOID, DL_ACT_SIGMOID, 6);
    dl_train_opts o = opts_ch3(200, DL_COST_CROSS_ENTROPY, 4.0f);
    o.early_stop = 3;
    cr_assert_eq(train_to(m, d, ev, o, 200, NULL), DL_OK);
    const dl_train_state *s = &m->state;
    cr_assert_eq(s->stopped, DL_STOP_EARLY, "200 epochs without early stopping");
    cr_assert_eq(s->epoch - s->best_epoch, 3);
    cr_assert(s->kept_is_last);
    uint32_t best = 0;
    for (uint32_t i = 0; i < s->epoch; i++) {
        if (i + 1 < s->best_epoch) cr_expect(m->history[i].correct <= s->best_correct);
        if (i + 1 > s->best_epoch) cr_expect(m->history[i].correct <= s->best_correct);
        if (m->history[i].correct > m->history[best].correct) best = i;
    }
    cr_expect_eq(best + 1, s->best_epoch, "the first epoch with the most right");
    cr_expect_eq(dl_model_params_epoch(m), s->best_epoch);

    dl_model *straight = model_for(d, DL_ACT_SIGMOID, DL_ACT_SIGMOID, 6);
    o.early_stop = 0;
    cr_assert_eq(train_to(straight, d, ev, o, (int)s->best_epoch, NULL), DL_OK);
    cr_assert(memcmp(m->net->params, straight->net->params, m->net->nparams * sizeof(float)) == 0,
              "the kept parameters are not epoch %u's", s->best_epoch);
    dl_model_free(straight);
    dl_model_free(m);
    dl_dataset_free(d);
    dl_dataset_free(ev);
}

/* halve:N: η halves after N epochs without improvement (counted afresh
 * after each halving) and training stops when it reaches η/128. */
Test(train_ch3, the_schedule_halves_eta_and_stops_at_one_128th)
{
    dl_dataset *d = noisy(120, 6), *ev = noisy(40, 7);
    dl_model *m = model_for(d, DL_ACT_TANH, DL_ACT_SOFTMAX, 8);
    dl_train_opts o = opts_ch3(500, DL_COST_LOG_LIKELIHOOD, 0.8f);
    o.halve_after = 2;
    cr_assert_eq(train_to(m, d, ev, o, 500, NULL), DL_OK);
    cr_assert_eq(m->state.stopped, DL_STOP_SCHEDULE);
    cr_expect_eq(m->state.eta, 0.8f / 128.0f);
    /* Replay the rule on the history. */
    float eta = 0.8f;
    uint32_t best = 0, stale = 0, halvings = 0;
    for (uint32_t i = 0; i < m->nhistory; i++) {
        cr_expect_eq(m->history[i].eta, eta, "epoch %u trained at %g, not %g", i + 1, m->history[i].eta, eta);
        if (i == 0 || m->history[i].correct > best) {
            best = m->history[i].correct;
            stale = 0;
        } else if (++stale == 2) {
            eta *= 0.5f;
            stale = 0;
            halvings++;
        }
    }
    cr_expect_eq(halvings, 7);
    cr_expect_eq(eta, 0.8f / 128.0f);
    dl_model_free(m);
    dl_dataset_free(d);
    dl_dataset_free(ev);
}

Test(train_ch3, early_stopping_and_the_schedule_need_an_evaluation_set)
{
    dl_dataset *d = noisy(30, 8);
    dl_model *m = model_for(d, DL_ACT_SIGMOID, DL_ACT_SIGMOID, 9);
    dl_train_opts o = opts_ch3(3, DL_COST_QUADRATIC, 1.0f);
    dl_err e;
    o.early_stop = 2;
    cr_expect_eq(dl_train(m->net, d, NULL, &o, &m->state, m->history, NULL, NULL, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "evaluation set"), "%s", e.msg);
    o.early_stop = 0;
    o.halve_after = 2;
    cr_expect_eq(dl_train(m->net, d, NULL, &o, &m->state, m->history, NULL, NULL, &e), DL_EINVAL);
    o.halve_after = 0;
    o.momentum = 1.0f;
    cr_expect_eq(dl_train(m->net, d, NULL, &o, &m->state, m->history, NULL, NULL, &e), DL_EINVAL);
    o.momentum = 0.0f;
    o.dropout = 1.0f;
    cr_expect_eq(dl_train(m->net, d, NULL, &o, &m->state, m->history, NULL, NULL, &e), DL_EINVAL);
    cr_expect_eq(m->state.epoch, 0, "nothing was trained");
    dl_model_free(m);
    dl_dataset_free(d);
}

/* ---- a run in pieces equals a run in one go ------------------------------ */

/* Every extra at once, for `epochs`: straight through; in legs of 2 epochs
 * through the file (as --checkpoint-every 2 and --resume do); and stopped
 * mid-epoch, saved, reloaded and continued. */
static uint32_t pieces_equal_whole(dl_act hidden, dl_act output, dl_train_opts o, int epochs)
{
    dl_dataset *d = noisy(95, 10), *ev = noisy(40, 11);
    dl_model *whole = model_for(d, hidden, output, 12);
    record(whole, &o);
    cr_assert_eq(train_to(whole, d, ev, o, epochs, NULL), DL_OK);

    dl_model *legs = model_for(d, hidden, output, 12);
    record(legs, &o);
    for (int upto = 2; legs->state.epoch < (uint32_t)epochs && !legs->state.stopped; upto += 2) {
        cr_assert_eq(train_to(legs, d, ev, o, upto < epochs ? upto : epochs, NULL), DL_OK);
        dl_model *l = reload(legs);
        dl_model_free(legs);
        legs = l;
        if (legs->state.pos == 0 && !legs->state.stopped) {
            dl_err e;
            cr_assert_eq(dl_train_state_set_n(&legs->state, (uint32_t)d->n, &e), DL_OK);
        }
    }
    assert_same_file(whole, legs, "in legs of two epochs");

    dl_model *cut = model_for(d, hidden, output, 12);
    record(cut, &o);
    volatile sig_atomic_t stop = 0;
    cr_assert_eq(train_to(cut, d, ev, o, 1, NULL), DL_OK);
    stop = 1;
    cr_assert_eq(train_to(cut, d, ev, o, epochs, &stop), DL_EINTR);
    cr_assert_eq(cut->state.pos, 10);
    dl_model *l = reload(cut);
    stop = 0;
    cr_assert_eq(train_to(l, d, ev, o, epochs, &stop), DL_OK);
    assert_same_file(whole, l, "stopped mid-epoch and resumed from its file");
    uint32_t stopped = whole->state.stopped;
    dl_model_free(l);
    dl_model_free(cut);
    dl_model_free(legs);
    dl_model_free(whole);
    dl_dataset_free(d);
    dl_dataset_free(ev);
    return stopped;
}

Test(train_ch3, a_resumed_run_with_momentum_and_dropout_equals_an_uninterrupted_one)
{
    dl_train_opts o = opts_ch3(5, DL_COST_LOG_LIKELIHOOD, 0.1f);
    o.momentum = 0.9f;
    o.dropout = 0.3f;
    o.lambda = 1.0f;
    cr_expect_eq(pieces_equal_whole(DL_ACT_RELU, DL_ACT_SOFTMAX, o, 5), DL_STOP_NONE);
}

Test(train_ch3, a_resumed_run_with_early_stopping_and_the_schedule_equals_an_uninterrupted_one)
{
    dl_train_opts o = opts_ch3(40, DL_COST_CROSS_ENTROPY, 3.0f);
    o.early_stop = 6;
    o.halve_after = 2;
    o.momentum = 0.5f;
    o.dropout = 0.2f;
    /* It must stop early, within the 40 epochs, for the test to mean anything. */
    cr_expect_eq(pieces_equal_whole(DL_ACT_TANH, DL_ACT_SIGMOID, o, 40), DL_STOP_EARLY);
}
