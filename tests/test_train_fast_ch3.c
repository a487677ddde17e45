/*
 * test_train_fast_ch3.c — the fast kernel does chapter 3 and after as the
 * reference does, in every SIMD variant this CPU runs: tanh and ReLU
 * hidden layers, a softmax output with log-likelihood (and quadratic),
 * classical momentum (with and without L2), dropout (seeded by the
 * example's place in the epoch, so the same in either kernel and any
 * thread count), and all of it together; evaluation of such nets agrees
 * with dl_net_forward.  The tolerances are test_train_fast.c's (TOL_W).
 *
 * Learning rates are small enough for softmax and ReLU (0.1..0.5), so a
 * run does not leave the region where float rounding grows slowly.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/train_kernels.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"
#include "digitlens/train.h"
#include "support/train_fixture.h"

TestSuite(train_fast_ch3);

static const int NET_100[] = {784, 100, 10};
static const int DEEP[] = {784, 40, 24, 10};

/* ---- the same arithmetic as the reference ------------------------------- */

Test(train_fast_ch3, each_hidden_activation_matches_the_reference)
{
    static const dl_act acts[] = {DL_ACT_SIGMOID, DL_ACT_TANH, DL_ACT_RELU};
    for (int a = 0; a < 3; a++) {
        cr_log_info("hidden %s", dl_act_name(acts[a]));
        tf_ch3 sig = {acts[a], DL_ACT_SIGMOID, 0.0f, 0.0f};
        tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.5f, 0.0f, DL_COST_CROSS_ENTROPY, 0}, &sig);
        tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.5f, 0.0f, DL_COST_QUADRATIC, 0}, &sig);
        tf_ch3 soft = {acts[a], DL_ACT_SOFTMAX, 0.0f, 0.0f};
        tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.1f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &soft);
        tf_compare_x(4, DEEP, 28, 28, 300, (tf_run){2, 10, 1, 0.1f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &soft);
    }
}

Test(train_fast_ch3, a_softmax_output_matches_the_reference_with_every_cost_it_takes)
{
    tf_ch3 x = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.0f, 0.0f}, s = {DL_ACT_SIGMOID, DL_ACT_SOFTMAX, 0.0f, 0.0f};
    /* Quadratic through softmax's Jacobian; odd shapes; no hidden layer. */
    tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.5f, 0.0f, DL_COST_QUADRATIC, 0}, &s);
    tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.2f, 0.0f, DL_COST_QUADRATIC, 0}, &x);
    static const int odd[] = {35, 13, 3}, flat[] = {784, 10};
    tf_compare_x(3, odd, 5, 7, 240, (tf_run){2, 7, 1, 0.1f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &x);
    tf_compare_x(2, flat, 28, 28, 300, (tf_run){2, 10, 1, 0.1f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &x);
}

Test(train_fast_ch3, momentum_matches_the_reference)
{
    tf_ch3 sig = {DL_ACT_SIGMOID, DL_ACT_SIGMOID, 0.9f, 0.0f};
    tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.3f, 0.0f, DL_COST_QUADRATIC, 0}, &sig);
    /* With L2 every weight moves through its velocity. */
    tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.1f, 5.0f, DL_COST_CROSS_ENTROPY, 0}, &sig);
    tf_ch3 relu = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.5f, 0.0f};
    tf_compare_x(4, DEEP, 28, 28, 300, (tf_run){2, 10, 1, 0.05f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &relu);
    /* Batches longer than a chunk carry partial gradients before the step. */
    tf_compare_x(3, NET_100, 28, 28, 400, (tf_run){2, 150, 1, 0.5f, 1.0f, DL_COST_LOG_LIKELIHOOD, 0}, &relu);
}

Test(train_fast_ch3, dropout_matches_the_reference)
{
    tf_ch3 relu = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.0f, 0.5f};
    tf_compare_x(3, NET_100, 28, 28, 300, (tf_run){2, 10, 1, 0.1f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &relu);
    tf_ch3 sig = {DL_ACT_SIGMOID, DL_ACT_SIGMOID, 0.0f, 0.2f};
    tf_compare_x(4, DEEP, 28, 28, 300, (tf_run){2, 10, 1, 0.5f, 0.0f, DL_COST_CROSS_ENTROPY, 0}, &sig);
    tf_ch3 tanh_ = {DL_ACT_TANH, DL_ACT_SOFTMAX, 0.0f, 0.3f};
    tf_compare_x(4, DEEP, 28, 28, 205, (tf_run){2, 7, 1, 0.1f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &tanh_);
}

Test(train_fast_ch3, everything_at_once_matches_the_reference)
{
    tf_ch3 x = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.9f, 0.5f};
    tf_compare_x(4, DEEP, 28, 28, 300, (tf_run){2, 10, 2, 0.02f, 2.0f, DL_COST_LOG_LIKELIHOOD, 0}, &x);
    tf_compare_x(3, NET_100, 28, 28, 400, (tf_run){2, 100, 2, 0.05f, 0.0f, DL_COST_LOG_LIKELIHOOD, 0}, &x);
}

/* ---- the kernel's own state ----------------------------------------------- */

/* The kernel keeps W[0]'s velocity in its own layout and writes it back in
 * sync(), with W[0]: after every call the net and the velocity are the
 * reference's, and a long call equals many short ones. */
Test(train_fast_ch3, velocity_and_net_are_exact_after_every_call)
{
    dl_dataset *d = tf_data(120, 28, 28, 10, 11);
    uint32_t idx[120];
    for (uint32_t i = 0; i < 120; i++) idx[i] = (i * 37) % 120;
    tf_ch3 x = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.9f, 0.25f};
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        const char *name = dl_simd_name(vs[q]);
        dl_net *ref = tf_net(3, NET_100, 5), *fast = tf_net(3, NET_100, 5);
        tf_set_acts(ref, &x);
        tf_set_acts(fast, &x);
        float *vr = calloc(ref->nparams, sizeof(float)), *vf = calloc(ref->nparams, sizeof(float));
        const dl_kernel_ops *R = dl_kernel_reference(), *F = dl_kernel_fast(vs[q]);
        dl_err e;
        dl_sgd sr = {DL_COST_LOG_LIKELIHOOD, x.momentum, vr, x.dropout}, sf = sr;
        sf.velocity = vf;
        void *kr = R->create(ref, &sr, 1, &e), *kf = F->create(fast, &sf, 2, &e);
        cr_assert(kr && kf);
        for (int s = 0; s < 12; s++) {
            dl_step st = {0.1f, 1.0f, s % 3 == 2 ? 1e-4f : 0.0f, 77, (uint32_t)s * 10};
            double cr = 0.0, cf = 0.0;
            cr_expect_eq(R->train(kr, d, idx + s * 10, 10, 10, &st, NULL, &cr), 10);
            cr_expect_eq(F->train(kf, d, idx + s * 10, 10, 10, &st, NULL, &cf), 10);
            F->sync(kf);
            cr_expect(fabs(cr - cf) < 1e-4 * (1 + fabs(cr)), "%s, step %d: cost %g vs %g", name, s, cr, cf);
            double md = tf_maxdiff(ref, fast), mv = 0.0;
            for (size_t i = 0; i < ref->nparams; i++)
                if (!(fabs((double)vr[i] - vf[i]) <= mv)) mv = fabs((double)vr[i] - vf[i]);
            cr_expect(md < 1e-5 && mv < 1e-5, "%s, step %d: parameters differ by %g, velocities by %g", name, s,
                      md, mv);
        }
        R->destroy(kr);
        F->destroy(kf);
        /* A fresh kernel starts from the velocity it is given (a resumed run). */
        void *k2 = F->create(fast, &sf, 1, &e);
        cr_assert_not_null(k2);
        F->sync(k2);
        F->destroy(k2);
        cr_expect(tf_maxdiff(ref, fast) < 1e-5, "%s: a new kernel's sync changed the net", name);
        free(vr);
        free(vf);
        dl_net_free(ref);
        dl_net_free(fast);
    }
    dl_dataset_free(d);
}

/* Dropout's masks come from the example's position in the epoch: a run in
 * spans of any length, or on any number of threads, computes the same bits. */
Test(train_fast_ch3, dropout_and_momentum_do_not_depend_on_spans_or_threads)
{
    dl_dataset *d = tf_data(300, 28, 28, 10, 12);
    uint32_t idx[300];
    for (uint32_t i = 0; i < 300; i++) idx[i] = (i * 101) % 300;
    tf_ch3 x = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.9f, 0.5f};
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        const dl_kernel_ops *F = dl_kernel_fast(vs[q]);
        dl_net *a = tf_net(4, DEEP, 5), *b = tf_net(4, DEEP, 5);
        tf_set_acts(a, &x);
        tf_set_acts(b, &x);
        float *va = calloc(a->nparams, sizeof(float)), *vb = calloc(a->nparams, sizeof(float));
        dl_sgd sa = {DL_COST_LOG_LIKELIHOOD, x.momentum, va, x.dropout}, sb = sa;
        sb.velocity = vb;
        dl_err e;
        void *ka = F->create(a, &sa, 1, &e), *kb = F->create(b, &sb, 3, &e);
        cr_assert(ka && kb);
        double ca = 0.0, cb = 0.0;
        dl_step st = {0.05f, 1.0f, 0.0f, 1234, 0};
        cr_expect_eq(F->train(ka, d, idx, 300, 10, &st, NULL, &ca), 300);
        for (uint32_t p = 0; p < 300; p += 30) {
            st.pos = p;
            cr_expect_eq(F->train(kb, d, idx + p, 30, 10, &st, NULL, &cb), 30);
            if (p % 60 == 0) F->sync(kb);
        }
        F->sync(ka);
        F->sync(kb);
        cr_expect_eq(ca, cb, "%s: costs %g vs %g", dl_simd_name(vs[q]), ca, cb);
        cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0, "%s: differ by %g",
                     dl_simd_name(vs[q]), tf_maxdiff(a, b));
        cr_expect_eq(memcmp(va, vb, a->nparams * sizeof(float)), 0, "%s: velocities differ", dl_simd_name(vs[q]));
        F->destroy(ka);
        F->destroy(kb);
        free(va);
        free(vb);
        dl_net_free(a);
        dl_net_free(b);
    }
    dl_dataset_free(d);
}

/* ---- across variants ----------------------------------------------------------- */

static dl_net *trained_net(dl_simd v, int threads, const tf_ch3 *x, float lambda, int nl, const int *sizes)
{
    dl_dataset *d = tf_data(250, 28, 28, 10, 21);
    dl_net *n = tf_net(nl, sizes, 4);
    dl_epoch_stat h[2];
    dl_cost c = x->output == DL_ACT_SOFTMAX ? DL_COST_LOG_LIKELIHOOD : DL_COST_QUADRATIC;
    tf_train_x(v, n, d, NULL, (tf_run){2, 10, threads, 0.1f, lambda, c, DL_KERNEL_FAST}, x, h);
    dl_dataset_free(d);
    return n;
}

static dl_net *trained(dl_simd v, int threads, const tf_ch3 *x, float lambda)
{
    return trained_net(v, threads, x, lambda, 4, DEEP);
}

/* AVX-512 and AVX2 spell tanh, ReLU and the momentum update with the same
 * operations lane by lane, and softmax is the one scalar dl_act_apply: the
 * same bytes in both. */
Test(train_fast_ch3, avx512_and_avx2_give_bit_identical_weights)
{
    if (!dl_simd_supported(DL_SIMD_AVX512) || !dl_simd_supported(DL_SIMD_AVX2))
        cr_skip_test("this CPU does not run both avx512 and avx2");
    static const tf_ch3 cases[] = {{DL_ACT_TANH, DL_ACT_SOFTMAX, 0.0f, 0.0f},
                                   {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.9f, 0.5f},
                                   {DL_ACT_SIGMOID, DL_ACT_SIGMOID, 0.5f, 0.2f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dl_net *a = trained(DL_SIMD_AVX512, 2, &cases[c], c == 1 ? 2.0f : 0.0f);
        dl_net *b = trained(DL_SIMD_AVX2, 1, &cases[c], c == 1 ? 2.0f : 0.0f);
        dl_net *g = trained(DL_SIMD_GENERIC, 3, &cases[c], c == 1 ? 2.0f : 0.0f);
        cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0,
                     "case %zu: avx512 and avx2 differ by %g", c, tf_maxdiff(a, b));
        cr_expect(tf_maxdiff(a, g) < TOL_W, "case %zu: generic differs by %g", c, tf_maxdiff(a, g));
        dl_net_free(a);
        dl_net_free(b);
        dl_net_free(g);
    }
}

/* The same with the momentum update and dropout in AVX-512's every form:
 * its pixels in groups of 2 and of 4 (DIGITLENS_UPDATE_GROUP), and 40
 * hidden units, whose third vector runs as a half (train_fast_simd.h). */
Test(train_fast_ch3, avx512_update_groups_and_half_vectors_give_avx2s_bytes)
{
    if (!dl_simd_supported(DL_SIMD_AVX512) || !dl_simd_supported(DL_SIMD_AVX2))
        cr_skip_test("this CPU does not run both avx512 and avx2");
    static const int half[] = {784, 40, 10};
    static const tf_ch3 cases[] = {{DL_ACT_SIGMOID, DL_ACT_SIGMOID, 0.5f, 0.2f},
                                   {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.9f, 0.0f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int sz = 0; sz < 2; sz++) {
            int nl = sz ? 3 : 4;
            const int *sizes = sz ? half : DEEP;
            float lambda = c == 0 ? 2.0f : 0.0f;
            dl_net *b = trained_net(DL_SIMD_AVX2, 1, &cases[c], lambda, nl, sizes);
            for (int g = 2; g <= 4; g += 2) {
                setenv("DIGITLENS_UPDATE_GROUP", g == 2 ? "2" : "4", 1);
                dl_net *a = trained_net(DL_SIMD_AVX512, 3, &cases[c], lambda, nl, sizes);
                cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0,
                             "case %zu, %d hidden, groups of %d: avx512 and avx2 differ by %g", c, sizes[1], g,
                             tf_maxdiff(a, b));
                dl_net_free(a);
            }
            unsetenv("DIGITLENS_UPDATE_GROUP");
            dl_net_free(b);
        }
}

/* AVX-512 runs the output layer of a one-hidden-layer net with sigmoid
 * outputs with the chunk's examples in its lanes (fast/lanes.c, chunks of
 * up to 16), AVX2 example by example: the same weights and the same
 * per-epoch cost, to the bit, for each cost that path takes, each hidden
 * activation, 1 to 16 outputs, batches of 16 and of 17 (one over: the
 * example-by-example path on both, but for the last, short batch), a
 * short last batch of 5 (250 = 35 x 7 + 5) and 1 to 3 threads.  (Checked
 * to fail when the lanes' partial sums are combined in another order.) */
Test(train_fast_ch3, the_output_layer_in_lanes_gives_avx2s_bytes_and_costs)
{
    if (!dl_simd_supported(DL_SIMD_AVX512) || !dl_simd_supported(DL_SIMD_AVX2))
        cr_skip_test("this CPU does not run both avx512 and avx2");
    static const int s100[] = {784, 100, 10}, s1[] = {784, 1, 2}, s16[] = {784, 30, 16};
    struct {
        const int *sizes;
        dl_cost cost;
        dl_act hidden;
        int batch, threads;
        float lambda, momentum;
    } cases[] = {{s100, DL_COST_QUADRATIC, DL_ACT_SIGMOID, 10, 2, 0.0f, 0.0f},
                 {s100, DL_COST_CROSS_ENTROPY, DL_ACT_SIGMOID, 10, 1, 1.0f, 0.0f},
                 {s100, DL_COST_QUADRATIC, DL_ACT_TANH, 16, 3, 0.0f, 0.5f},
                 {s100, DL_COST_CROSS_ENTROPY, DL_ACT_RELU, 17, 2, 0.0f, 0.0f},
                 {s100, DL_COST_QUADRATIC, DL_ACT_SIGMOID, 7, 1, 0.0f, 0.0f},
                 {s1, DL_COST_QUADRATIC, DL_ACT_SIGMOID, 10, 2, 0.0f, 0.0f},
                 {s16, DL_COST_CROSS_ENTROPY, DL_ACT_SIGMOID, 10, 3, 0.0f, 0.9f}};
    dl_dataset *d = tf_data(250, 28, 28, 2, 33);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tf_ch3 x = {cases[c].hidden, DL_ACT_SIGMOID, cases[c].momentum, 0.0f};
        tf_run o = {3, cases[c].batch, cases[c].threads, 0.5f, cases[c].lambda, cases[c].cost, DL_KERNEL_FAST};
        dl_net *n[2];
        dl_epoch_stat h[2][3];
        for (int v = 0; v < 2; v++) {
            n[v] = tf_net(3, cases[c].sizes, 5);
            tf_train_x(v ? DL_SIMD_AVX2 : DL_SIMD_AVX512, n[v], d, NULL, o, &x, h[v]);
        }
        cr_expect_eq(memcmp(n[0]->params, n[1]->params, n[0]->nparams * sizeof(float)), 0,
                     "case %zu: avx512 and avx2 differ by %g", c, tf_maxdiff(n[0], n[1]));
        for (int e = 0; e < 3; e++)
            cr_expect_eq(memcmp(&h[0][e].cost, &h[1][e].cost, sizeof(float)), 0,
                         "case %zu, epoch %d: cost %.9g vs %.9g", c, e, h[0][e].cost, h[1][e].cost);
        dl_net_free(n[0]);
        dl_net_free(n[1]);
    }
    dl_dataset_free(d);
}

Test(train_fast_ch3, threads_give_bit_identical_weights)
{
    tf_ch3 x = {DL_ACT_RELU, DL_ACT_SOFTMAX, 0.9f, 0.5f};
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        dl_net *one = trained(vs[q], 1, &x, 1.0f);
        for (int t = 2; t <= 4; t++) {
            dl_net *many = trained(vs[q], t, &x, 1.0f);
            cr_expect_eq(memcmp(one->params, many->params, one->nparams * sizeof(float)), 0,
                         "%s: %d threads differ from 1 (by up to %g)", dl_simd_name(vs[q]), t, tf_maxdiff(one, many));
            dl_net_free(many);
        }
        dl_net_free(one);
    }
}

/* ---- evaluation ------------------------------------------------------------- */

Test(train_fast_ch3, evaluation_of_every_activation_agrees_with_the_reference_forward_pass)
{
    dl_dataset *d = tf_data(600, 28, 28, 10, 41);
    static const int flat[] = {784, 10};
    static const tf_ch3 cases[] = {{DL_ACT_TANH, DL_ACT_SOFTMAX, 0, 0}, {DL_ACT_RELU, DL_ACT_SOFTMAX, 0, 0},
                                   {DL_ACT_RELU, DL_ACT_SIGMOID, 0, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dl_net *n = tf_net(3, NET_100, 9), *deep = tf_net(4, DEEP, 10);
        dl_epoch_stat h[1];
        dl_cost cost = cases[c].output == DL_ACT_SOFTMAX ? DL_COST_LOG_LIKELIHOOD : DL_COST_QUADRATIC;
        tf_train_x(dl_simd_best(), n, d, NULL, (tf_run){1, 10, 2, 0.1f, 0.0f, cost, DL_KERNEL_FAST}, &cases[c], h);
        tf_set_acts(deep, &cases[c]);
        tf_check_eval(n, d, cost);
        tf_check_eval(deep, d, cost);
        dl_net_free(n);
        dl_net_free(deep);
    }
    dl_net *f = tf_net(2, flat, 11);
    f->act[0] = DL_ACT_SOFTMAX;
    tf_check_eval(f, d, DL_COST_LOG_LIKELIHOOD);
    dl_net_free(f);
    dl_dataset_free(d);
}
