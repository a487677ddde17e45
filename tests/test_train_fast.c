/*
 * test_train_fast.c — the fast training kernel does the reference
 * kernel's arithmetic, only faster, in every SIMD variant this CPU runs
 * (simd.h); evaluation agrees with dl_net_forward.
 *
 * "The same" is checked three ways, for each variant:
 *   - against the reference kernel: after the same training run, every
 *     parameter agrees within TOL_W (absolute, 1e-4) and every per-epoch
 *     score and every prediction on a held-out set is identical.  The
 *     kernels differ only in float rounding (fused multiply-adds, the first
 *     layer's sums in two parts, 8-lane partial sums, a polynomial exp
 *     within 2 ulp of expf), so the observed gap after an epoch is about
 *     1e-6; TOL_W leaves room for the chaotic growth of such differences
 *     over a few hundred SGD steps.
 *   - against itself: the same run with 1, 2 or 3 threads, or twice, gives
 *     bit-identical parameters (the kernel splits work so that no sum
 *     depends on the thread count).
 *   - across variants: avx512 and avx2 round alike, lane by lane, so they
 *     give bit-identical parameters; generic stays within TOL_W.
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

#include "../src/train_fast_eval.h"
#include "../src/train_fast_layers.h"
#include "../src/train_fast_pool.h"
#include "../src/train_kernels.h"
#include "../src/train_simd.h"
#include "digitlens/net.h"
#include "digitlens/rng.h"
#include "digitlens/simd.h"
#include "digitlens/train.h"
#include "digitlens/train_state.h"

TestSuite(train_fast);

#include "support/train_fixture.h"

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
 * the weights the reference holds once the kernel has synced (the caller
 * may save or score between steps), in every variant. */
Test(train_fast, the_net_is_exact_after_every_step)
{
    dl_dataset *d = tf_data(120, 28, 28, 10, 11);
    uint32_t idx[120];
    for (uint32_t i = 0; i < 120; i++) idx[i] = (i * 37) % 120;
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        dl_net *ref = tf_net(3, NET_100, 5), *fast = tf_net(3, NET_100, 5);
        const dl_kernel_ops *R = dl_kernel_reference(), *F = dl_kernel_fast(vs[q]);
        dl_err e;
        dl_sgd sgd = {DL_COST_QUADRATIC, 0.0f, NULL, 0.0f};
        void *kr = R->create(ref, &sgd, 1, &e), *kf = F->create(fast, &sgd, 2, &e);
        cr_assert(kr && kf);
        for (int s = 0; s < 12; s++) {
            dl_step st = {3.0f, s % 3 == 2 ? 0.999f : 1.0f, 0.0f, 0, (uint32_t)s * 10};
            double cr = 0.0, cf = 0.0;
            cr_expect_eq(R->train(kr, d, idx + s * 10, 10, 10, &st, NULL, &cr), 10);
            cr_expect_eq(F->train(kf, d, idx + s * 10, 10, 10, &st, NULL, &cf), 10);
            F->sync(kf);
            cr_expect(fabs(cr - cf) < 1e-4 * (1 + fabs(cr)), "%s, step %d: cost %g vs %g",
                      dl_simd_name(vs[q]), s, cr, cf);
            double md = tf_maxdiff(ref, fast);
            cr_expect(md < 1e-5, "%s, step %d: parameters differ by %g", dl_simd_name(vs[q]), s, md);
        }
        R->destroy(kr);
        F->destroy(kf);
        dl_net_free(ref);
        dl_net_free(fast);
    }
    dl_dataset_free(d);
}

/* The kernel writes the first layer back to the net only in sync(); how
 * often it is asked (never, after every step, mid-epoch) changes nothing
 * it computes, and a long call equals many short ones. */
Test(train_fast, syncing_changes_nothing_the_kernel_computes)
{
    dl_dataset *d = tf_data(300, 28, 28, 10, 12);
    uint32_t idx[300];
    for (uint32_t i = 0; i < 300; i++) idx[i] = (i * 101) % 300;
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        const dl_kernel_ops *F = dl_kernel_fast(vs[q]);
        dl_net *a = tf_net(3, NET_100, 5), *b = tf_net(3, NET_100, 5);
        dl_err e;
        dl_sgd sgd = {DL_COST_QUADRATIC, 0.0f, NULL, 0.0f};
        void *ka = F->create(a, &sgd, 2, &e), *kb = F->create(b, &sgd, 1, &e);
        cr_assert(ka && kb);
        double ca = 0.0, cb = 0.0;
        dl_step st = {3.0f, 1.0f, 0.0f, 0, 0};
        cr_expect_eq(F->train(ka, d, idx, 300, 10, &st, NULL, &ca), 300);
        for (uint32_t p = 0; p < 300; p += 30) {
            st.pos = p;
            cr_expect_eq(F->train(kb, d, idx + p, 30, 10, &st, NULL, &cb), 30);
            F->sync(kb);
        }
        F->sync(ka);
        cr_expect_eq(ca, cb, "%s: costs %g vs %g", dl_simd_name(vs[q]), ca, cb);
        cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0, "%s: differ by %g",
                     dl_simd_name(vs[q]), tf_maxdiff(a, b));
        F->destroy(ka);
        F->destroy(kb);
        dl_net_free(a);
        dl_net_free(b);
    }
    dl_dataset_free(d);
}

/* A stop request ends a call after a whole batch, and what was done is
 * exactly what an unstopped call would have done up to there. */
Test(train_fast, a_stop_ends_the_call_after_a_whole_batch)
{
    dl_dataset *d = tf_data(200, 28, 28, 10, 13);
    uint32_t idx[200];
    for (uint32_t i = 0; i < 200; i++) idx[i] = i;
    const dl_kernel_ops *F = dl_kernel_fast(dl_simd_best());
    dl_net *a = tf_net(3, NET_100, 5), *b = tf_net(3, NET_100, 5);
    dl_err e;
    dl_sgd sgd = {DL_COST_QUADRATIC, 0.0f, NULL, 0.0f};
    void *ka = F->create(a, &sgd, 2, &e), *kb = F->create(b, &sgd, 2, &e);
    volatile sig_atomic_t stop = 1;
    double ca = 0.0, cb = 0.0;
    dl_step st = {3.0f, 1.0f, 0.0f, 0, 0};
    uint32_t done = F->train(ka, d, idx, 200, 7, &st, &stop, &ca);
    cr_expect(done > 0 && done < 200 && done % 7 == 0, "stopped after %u examples", done);
    cr_expect_eq(F->train(kb, d, idx, done, 7, &st, NULL, &cb), done);
    F->sync(ka);
    F->sync(kb);
    cr_expect_eq(ca, cb);
    cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0);
    F->destroy(ka);
    F->destroy(kb);
    dl_net_free(a);
    dl_net_free(b);
    dl_dataset_free(d);
}

/* ---- deterministic, whatever the thread count ---------------------------- */

static dl_net *tf_trained(dl_simd v, int threads, dl_cost cost, float lambda, int nl, const int *sizes)
{
    dl_dataset *d = tf_data(250, 28, 28, 10, 21);
    dl_net *n = tf_net(nl, sizes, 4);
    dl_epoch_stat h[2];
    tf_train_v(v, n, d, NULL, (tf_run){2, 10, threads, 3.0f, lambda, cost, DL_KERNEL_FAST}, h);
    dl_dataset_free(d);
    return n;
}

Test(train_fast, threads_give_bit_identical_weights)
{
    static const int deep[] = {784, 30, 20, 10}, wide[] = {784, 300, 10};
    struct {
        int nl;
        const int *sizes;
        dl_cost cost;
        float lambda;
    } cases[] = {{3, NET_100, DL_COST_QUADRATIC, 0.0f},
                 {3, NET_100, DL_COST_CROSS_ENTROPY, 2.0f},
                 {4, deep, DL_COST_QUADRATIC, 0.0f},
                 {3, wide, DL_COST_QUADRATIC, 0.0f}};
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            dl_net *one = tf_trained(vs[q], 1, cases[c].cost, cases[c].lambda, cases[c].nl, cases[c].sizes);
            for (int t = 2; t <= 5; t++) {
                dl_net *many = tf_trained(vs[q], t, cases[c].cost, cases[c].lambda, cases[c].nl, cases[c].sizes);
                cr_expect_eq(memcmp(one->params, many->params, one->nparams * sizeof(float)), 0,
                             "%s, case %zu: %d threads differ from 1 (by up to %g)",
                             dl_simd_name(vs[q]), c, t, tf_maxdiff(one, many));
                dl_net_free(many);
            }
            dl_net_free(one);
        }
}

Test(train_fast, the_same_run_twice_gives_bit_identical_weights)
{
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        dl_net *a = tf_trained(vs[q], 2, DL_COST_QUADRATIC, 0.0f, 3, NET_100);
        dl_net *b = tf_trained(vs[q], 2, DL_COST_QUADRATIC, 0.0f, 3, NET_100);
        cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0, "%s",
                     dl_simd_name(vs[q]));
        dl_net_free(a);
        dl_net_free(b);
    }
}

Test(train_fast, more_threads_than_hidden_blocks_still_work)
{
    /* 13 hidden units are 1 or 2 vectors: 16 threads are capped, not stuck. */
    static const int small[] = {784, 13, 10};
    dl_net *one = tf_trained(dl_simd_best(), 1, DL_COST_QUADRATIC, 0.0f, 3, small);
    dl_net *many = tf_trained(dl_simd_best(), 16, DL_COST_QUADRATIC, 0.0f, 3, small);
    cr_expect_eq(memcmp(one->params, many->params, one->nparams * sizeof(float)), 0);
    dl_net_free(one);
    dl_net_free(many);
}

/* ---- across variants ----------------------------------------------------------- */

/* AVX-512 and AVX2 do the same operations lane by lane (simd.h), so the
 * same run gives the same bytes in both; generic rounds its own way and
 * stays within the tolerance.  Runs where the CPU has both. */
Test(train_fast, avx512_and_avx2_give_bit_identical_weights)
{
    if (!dl_simd_supported(DL_SIMD_AVX512) || !dl_simd_supported(DL_SIMD_AVX2))
        cr_skip_test("this CPU does not run both avx512 and avx2");
    static const int deep[] = {784, 30, 20, 10};
    struct {
        int nl;
        const int *sizes;
        float lambda;
    } cases[] = {{3, NET_100, 0.0f}, {3, NET_100, 2.0f}, {4, deep, 0.0f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dl_net *a = tf_trained(DL_SIMD_AVX512, 2, DL_COST_QUADRATIC, cases[c].lambda, cases[c].nl, cases[c].sizes);
        dl_net *b = tf_trained(DL_SIMD_AVX2, 1, DL_COST_QUADRATIC, cases[c].lambda, cases[c].nl, cases[c].sizes);
        dl_net *g = tf_trained(DL_SIMD_GENERIC, 1, DL_COST_QUADRATIC, cases[c].lambda, cases[c].nl, cases[c].sizes);
        cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0,
                     "case %zu: avx512 and avx2 differ by %g", c, tf_maxdiff(a, b));
        cr_expect(tf_maxdiff(a, g) < TOL_W, "case %zu: generic differs by %g", c, tf_maxdiff(a, g));
        cr_log_info("case %zu: generic differs from avx512 by %.3g", c, tf_maxdiff(a, g));
        dl_net_free(a);
        dl_net_free(b);
        dl_net_free(g);
    }
}

/* AVX-512's every form gives AVX2's bytes: its update takes pixels in
 * groups of 2 or of 4 (DIGITLENS_UPDATE_GROUP; the CPU picks one), and a
 * tile's last vector runs as a half where its upper 8 lanes are padding
 * (100 and 40 hidden units: a half; 30: a whole vector of 14; 8: one half
 * vector alone), with 1 thread and with 3 (whose hidden units are split in
 * ranges, each with a last vector of its own). */
Test(train_fast, avx512_update_groups_and_half_vectors_give_avx2s_bytes)
{
    if (!dl_simd_supported(DL_SIMD_AVX512) || !dl_simd_supported(DL_SIMD_AVX2))
        cr_skip_test("this CPU does not run both avx512 and avx2");
    static const int hidden[] = {100, 40, 30, 8};
    for (size_t h = 0; h < sizeof hidden / sizeof hidden[0]; h++)
        for (int l2 = 0; l2 < 2; l2++) {
            const int sizes[] = {784, hidden[h], 10};
            float lambda = l2 ? 2.0f : 0.0f;
            dl_net *b = tf_trained(DL_SIMD_AVX2, 1, DL_COST_QUADRATIC, lambda, 3, sizes);
            for (int g = 2; g <= 4; g += 2)
                for (int t = 1; t <= 3; t += 2) {
                    setenv("DIGITLENS_UPDATE_GROUP", g == 2 ? "2" : "4", 1);
                    dl_net *a = tf_trained(DL_SIMD_AVX512, t, DL_COST_QUADRATIC, lambda, 3, sizes);
                    cr_expect_eq(memcmp(a->params, b->params, a->nparams * sizeof(float)), 0,
                                 "%d hidden, lambda %g, groups of %d, %d threads: avx512 and avx2 differ by %g",
                                 hidden[h], lambda, g, t, tf_maxdiff(a, b));
                    dl_net_free(a);
                }
            unsetenv("DIGITLENS_UPDATE_GROUP");
            dl_net_free(b);
        }
}

/* A value DIGITLENS_UPDATE_GROUP does not take is refused with a message
 * naming the variable, before any training. */
Test(train_fast, a_bad_update_group_is_refused)
{
    dl_dataset *d = tf_data(50, 28, 28, 10, 3);
    dl_net *n = tf_net(3, NET_100, 4);
    dl_train_state s;
    dl_err e;
    dl_rng r;
    dl_rng_seed(&r, 1);
    cr_assert_eq(dl_train_state_init(&s, (uint32_t)d->n, &r, &e), DL_OK);
    dl_train_opts o = {.epochs = 1, .batch = 10, .eta = 3.0f, .cost = DL_COST_QUADRATIC, .threads = 1,
                       .kernel = DL_KERNEL_FAST};
    dl_epoch_stat h[1];
    setenv("DIGITLENS_UPDATE_GROUP", "3", 1);
    cr_expect_eq(dl_train_simd(dl_simd_best(), n, d, NULL, &o, &s, h, NULL, NULL, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "DIGITLENS_UPDATE_GROUP=3") != NULL, "message: %s", e.msg);
    unsetenv("DIGITLENS_UPDATE_GROUP");
    dl_train_state_free(&s);
    dl_net_free(n);
    dl_dataset_free(d);
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
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        tf_train_v(vs[q], fast, d, NULL, (tf_run){2, 10, 2, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_FAST}, h);
        double md = tf_maxdiff(ref, fast);
        cr_expect(md < TOL_W, "%s: parameters differ by %g", dl_simd_name(vs[q]), md);
        dl_net_free(fast);
        fast = tf_net(3, NET_100, 8);
    }
    dl_net_free(ref);
    dl_net_free(fast);
    dl_dataset_free(d);
}

/* ---- evaluation ------------------------------------------------------------- */

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

/* A job beside a kernel's evaluation: counts its runs. */
static void count_beside(void *ctx) { (*(int *)ctx)++; }

/* The kernel scores the network from its own layout, without a sync, with
 * exactly dl_fast_evaluate's result after one (the same sums in the same
 * order): in every variant, for 1, 2 and 3 threads (3 splits the hidden
 * units, which takes the sync-and-transpose way), and for sets shorter
 * and longer than an evaluation chunk; each job beside runs exactly once. */
Test(train_fast, the_kernel_scores_as_dl_evaluate_does)
{
    dl_dataset *d = tf_data(300, 28, 28, 10, 21), *held = tf_data(300, 28, 28, 10, 22);
    dl_err e;
    dl_dataset *few = dl_dataset_slice(held, 0, 37, &e), *none = dl_dataset_slice(held, 0, 0, &e);
    cr_assert(few && none);
    const dl_dataset *sets[] = {held, few, none};
    static const int deep[] = {784, 30, 20, 10};
    uint32_t idx[300];
    for (uint32_t i = 0; i < 300; i++) idx[i] = (i * 53) % 300;
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++) {
        const dl_kernel_ops *F = dl_kernel_fast(vs[q]);
        cr_assert(F && F->evaluate);
        for (int shape = 0; shape < 2; shape++) {
            for (int T = 1; T <= 3; T++) {
                dl_net *n = shape ? tf_net(4, deep, 3) : tf_net(3, NET_100, 3);
                dl_sgd sgd = {DL_COST_QUADRATIC, 0.0f, NULL, 0.0f};
                void *k = F->create(n, &sgd, T, &e);
                cr_assert(k);
                dl_step st = {3.0f, 1.0f, 0.0f, 0, 0};
                double c = 0.0;
                cr_assert_eq(F->train(k, d, idx, 300, 10, &st, NULL, &c), 300);
                for (int si = 0; si < 3; si++) {
                    const dl_dataset *h = sets[si];
                    uint32_t got[100] = {0}, want[100] = {0};
                    size_t gc = 0, wc = 0;
                    double gs = 0.0, ws = 0.0;
                    int ran = 0, ran2 = 0;
                    const dl_job jobs[2] = {{count_beside, &ran}, {count_beside, &ran2}};
                    /* Scored before the sync: the net's W[0] is stale until then. */
                    cr_assert_eq(F->evaluate(k, h, DL_COST_QUADRATIC, jobs, 2, got, &gc, &gs, &e), DL_OK);
                    F->sync(k);
                    cr_assert_eq(dl_fast_evaluate(vs[q], n, h, DL_COST_QUADRATIC, 1, want, &wc, &ws, &e), DL_OK);
                    cr_expect(ran == 1 && ran2 == 1, "%s, %d threads: the jobs beside ran %d and %d times",
                              dl_simd_name(vs[q]), T, ran, ran2);
                    cr_expect_eq(gc, wc, "%s, %d threads, %zu images: %zu correct vs %zu", dl_simd_name(vs[q]), T,
                                 h->n, gc, wc);
                    cr_expect_eq(gs, ws, "%s, %d threads, %zu images: cost %.17g vs %.17g", dl_simd_name(vs[q]), T,
                                 h->n, gs, ws);
                    cr_expect_eq(memcmp(got, want, sizeof got), 0, "%s, %d threads: confusion differs",
                                 dl_simd_name(vs[q]), T);
                    /* Train on, so the next set is scored from rows the sync did not write. */
                    st.pos = 0;
                    cr_assert_eq(F->train(k, d, idx, 50, 10, &st, NULL, &c), 50);
                }
                F->destroy(k);
                dl_net_free(n);
            }
        }
    }
    dl_dataset_free(none);
    dl_dataset_free(few);
    dl_dataset_free(held);
    dl_dataset_free(d);
}

/* What a step hook sees: the scorer's result is dl_evaluate's on the
 * synced network, with either kernel, and its job beside runs once a call. */
typedef struct hook_check {
    const dl_dataset *held;
    int calls, besides, mismatches;
} hook_check;

static dl_status check_hook(const dl_net *net, const dl_train_state *s, const dl_scorer *sc, void *ctx, dl_err *e)
{
    (void)s;
    hook_check *h = ctx;
    dl_eval a, b;
    int before = h->besides;
    const dl_job job = {count_beside, &h->besides};
    if (dl_scorer_evaluate(sc, h->held, DL_COST_QUADRATIC, &job, 1, &a, e) != DL_OK) return e->code;
    if (dl_evaluate(net, h->held, DL_COST_QUADRATIC, 1, &b, e) != DL_OK) {
        dl_eval_free(&a);
        return e->code;
    }
    h->calls++;
    h->mismatches += a.correct != b.correct || a.total != b.total || a.cost != b.cost || h->besides != before + 1 ||
                     memcmp(a.confusion, b.confusion, 100 * sizeof(uint32_t)) != 0;
    dl_eval_free(&a);
    dl_eval_free(&b);
    return DL_OK;
}

Test(train_fast, a_step_hook_scores_as_dl_evaluate_does)
{
    dl_dataset *d = tf_data(200, 28, 28, 10, 31), *held = tf_data(150, 28, 28, 10, 32);
    for (int kind = 0; kind < 2; kind++) {
        for (int T = 1; T <= 2; T++) {
            dl_net *n = tf_net(3, NET_100, 4);
            dl_rng r;
            dl_rng_seed(&r, 5);
            dl_train_state s;
            dl_err e;
            cr_assert_eq(dl_train_state_init(&s, (uint32_t)d->n, &r, &e), DL_OK);
            dl_train_opts o = {.epochs = 2, .batch = 10, .eta = 3.0f, .cost = DL_COST_QUADRATIC, .threads = T,
                               .kernel = kind ? DL_KERNEL_REFERENCE : DL_KERNEL_FAST};
            hook_check h = {held, 0, 0, 0};
            dl_step_hook hook = {check_hook, &h, 7, NULL};
            dl_epoch_stat hist[2];
            cr_assert_eq(dl_train_hooked(n, d, NULL, &o, &hook, &s, hist, NULL, NULL, &e), DL_OK, "%s", e.msg);
            cr_expect_eq(h.calls, 40 / 7, "%d calls", h.calls);
            cr_expect_eq(h.besides, h.calls);
            cr_expect_eq(h.mismatches, 0, "%s kernel, %d threads: %d calls differ", kind ? "reference" : "fast", T,
                         h.mismatches);
            dl_train_state_free(&s);
            dl_net_free(n);
        }
    }
    dl_dataset_free(held);
    dl_dataset_free(d);
}

/* The batched first layer other modules reuse: the activations
 * dl_net_forward computes, to float rounding, for every example. */
Test(train_fast, the_batched_first_layer_matches_dl_net_forward)
{
    static const int shapes[][3] = {{784, 100, 10}, {35, 13, 3}, {140, 1, 2}};
    for (size_t c = 0; c < 3; c++) {
        int nin = shapes[c][0], nh = shapes[c][1];
        dl_dataset *d = tf_data(37, nin == 784 ? 28 : nin == 35 ? 5 : 2, nin == 784 ? 28 : nin == 35 ? 7 : 70,
                                shapes[c][2], 51);
        dl_net *n = tf_net(3, shapes[c], 12);
        dl_err e;
        dl_trace *t = dl_trace_new(n, &e);
        size_t ld = dl_fast_ld(nh), lda = ld + 16;
        float *wt = malloc((size_t)nin * ld * sizeof(float)), *a = malloc(d->n * lda * sizeof(float));
        float *x = malloc(d->npix * sizeof(float));
        const uint8_t **px = malloc(d->n * sizeof *px);
        for (size_t i = 0; i < d->n; i++) px[i] = d->pixels + i * d->npix;
        dl_fast_transpose_in(n, wt, ld);
        /* An exact transpose (8 x 8 blocks and the edges around them), zero-padded. */
        for (int k = 0; k < nin; k++)
            for (size_t j = 0; j < ld; j++)
                cr_assert(wt[(size_t)k * ld + j] == ((int)j < nh ? n->w[0][j * (size_t)nin + (size_t)k] : 0.0f),
                          "shape %zu: WT[%d][%zu]", c, k, j);
        cr_assert_eq(dl_fast_first_forward(wt, ld, n->b[0], nh, px, d->npix, (int)d->n, a, lda), DL_OK);
        double md = 0.0;
        for (size_t i = 0; i < d->n; i++) {
            dl_dataset_image(d, i, x);
            dl_net_forward(n, x, t);
            for (int j = 0; j < nh; j++) {
                double diff = fabs((double)a[i * lda + (size_t)j] - t->a[1][j]);
                if (!(diff <= md)) md = diff;
            }
        }
        cr_expect(md < 1e-5, "shape %zu: activations differ by %g", c, md);
        free(wt);
        free(a);
        free(x);
        free(px);
        dl_trace_free(t);
        dl_net_free(n);
        dl_dataset_free(d);
    }
}

/* ---- choosing the variant ------------------------------------------------------ */

Test(train_fast, digitlens_simd_picks_or_refuses_a_variant)
{
    dl_simd v;
    dl_err e;
    unsetenv("DIGITLENS_SIMD");
    cr_expect_eq(dl_simd_choose(&v, &e), DL_OK);
    cr_expect_eq(v, dl_simd_best());
    cr_expect(dl_simd_supported(v));
    setenv("DIGITLENS_SIMD", "generic", 1);
    cr_expect_eq(dl_simd_choose(&v, &e), DL_OK);
    cr_expect_eq(v, DL_SIMD_GENERIC);
    setenv("DIGITLENS_SIMD", "auto", 1);
    cr_expect_eq(dl_simd_choose(&v, &e), DL_OK);
    cr_expect_eq(v, dl_simd_best());
    setenv("DIGITLENS_SIMD", "sse9", 1);
    cr_expect_eq(dl_simd_choose(&v, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "DIGITLENS_SIMD=sse9") && strstr(e.msg, "avx512, avx2, generic"), "%s", e.msg);
    for (int q = 0; q < DL_SIMD_COUNT; q++) {
        setenv("DIGITLENS_SIMD", dl_simd_name((dl_simd)q), 1);
        dl_status st = dl_simd_choose(&v, &e);
        if (dl_simd_supported((dl_simd)q)) {
            cr_expect_eq(st, DL_OK);
            cr_expect_eq(v, (dl_simd)q);
        } else {
            cr_expect_eq(st, DL_EINVAL);
            cr_expect(strstr(e.msg, "cannot run"), "%s", e.msg);
        }
    }
    /* The public entry points refuse it too, before doing anything. */
    setenv("DIGITLENS_SIMD", "sse9", 1);
    dl_net *n = tf_net(3, NET_100, 1);
    dl_dataset *d = tf_data(10, 28, 28, 10, 1);
    dl_eval ev;
    cr_expect_eq(dl_evaluate(n, d, DL_COST_QUADRATIC, 1, &ev, &e), DL_EINVAL);
    unsetenv("DIGITLENS_SIMD");
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
        (void)x;
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
