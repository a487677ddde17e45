/*
 * test_train_fast_fpmode.c — the fast kernel trains with subnormal floats
 * flushed to zero (src/fpmode.h says why) and leaves the caller's
 * floating-point mode as it found it.
 *
 * The flush shows in the weights only where a weight is itself as small as
 * a subnormal, so the test builds one: hidden unit 0 sees no pixel (its
 * row of W[0] is 0) and has bias -87.8, so its activation sigma(-87.8) =
 * 7e-39 is subnormal, and its weights into the output layer start at 0.
 * The reference kernel, plain IEEE arithmetic, moves them by subnormal
 * amounts; the fast kernel, in every variant and thread count, leaves them
 * at 0.  The rest of the network agrees with the reference within TOL_W.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "../src/fpmode.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"
#include "digitlens/train.h"

TestSuite(train_fast_fpmode);

#include "support/train_fixture.h"

#if defined(__x86_64__) || defined(__i386__)

static const int NET_100[] = {784, 100, 10};

/* tf_net's 784-100-10 net with hidden unit 0 made as above. */
static dl_net *saturated_net(void)
{
    dl_net *n = tf_net(3, NET_100, 5);
    float *w0 = n->params + dl_net_woff(n, 0), *b0 = n->params + dl_net_boff(n, 0);
    float *w1 = n->params + dl_net_woff(n, 1);
    memset(w0, 0, 784 * sizeof(float)); /* row 0: unit 0's weights from the pixels */
    b0[0] = -87.8f;
    for (int o = 0; o < 10; o++) w1[(size_t)o * 100] = 0.0f; /* column 0 */
    return n;
}

/* How many of unit 0's weights into the outputs are not 0, and whether
 * every one of them is below FLT_MIN in magnitude (subnormal). */
static int moved(const dl_net *n, int *all_subnormal)
{
    const float *w1 = n->params + dl_net_woff(n, 1);
    int k = 0;
    *all_subnormal = 1;
    for (int o = 0; o < 10; o++) {
        float v = w1[(size_t)o * 100];
        if (v != 0.0f) k++;
        if (v != 0.0f && fabsf(v) >= FLT_MIN) *all_subnormal = 0;
    }
    return k;
}

Test(train_fast_fpmode, subnormals_are_flushed_where_the_reference_keeps_them)
{
    dl_dataset *d = tf_data(60, 28, 28, 10, 17);
    dl_epoch_stat h[1];
    dl_net *ref = saturated_net();
    tf_train(ref, d, NULL, (tf_run){1, 10, 1, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_REFERENCE}, h);
    int sub = 0, kr = moved(ref, &sub);
    /* Otherwise the case would not test anything. */
    cr_assert(kr > 0 && sub, "the reference moved %d of unit 0's output weights (all subnormal: %d)", kr, sub);

    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++)
        for (int T = 1; T <= 2; T++) {
            dl_net *fast = saturated_net();
            tf_train_v(vs[q], fast, d, NULL, (tf_run){1, 10, T, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_FAST}, h);
            int kf = moved(fast, &sub);
            cr_expect_eq(kf, 0, "%s, %d threads: %d of unit 0's output weights moved by subnormal amounts",
                         dl_simd_name(vs[q]), T, kf);
            double md = tf_maxdiff(ref, fast);
            cr_expect(md < TOL_W, "%s, %d threads: parameters differ by %g", dl_simd_name(vs[q]), T, md);
            dl_net_free(fast);
        }
    dl_net_free(ref);
    dl_dataset_free(d);
}

Test(train_fast_fpmode, training_leaves_the_callers_mode_as_it_was)
{
    dl_dataset *d = tf_data(60, 28, 28, 10, 18);
    dl_epoch_stat h[1];
    /* MXCSR's control bits (its low 6 are sticky exception flags). */
    unsigned before = _mm_getcsr() & ~0x3fu;
    dl_simd vs[DL_SIMD_COUNT];
    for (int q = 0, nv = tf_variants(vs); q < nv; q++)
        for (int T = 1; T <= 2; T++) {
            dl_net *n = saturated_net();
            tf_train_v(vs[q], n, d, NULL, (tf_run){1, 10, T, 3.0f, 0.0f, DL_COST_QUADRATIC, DL_KERNEL_FAST}, h);
            unsigned after = _mm_getcsr() & ~0x3fu;
            cr_expect_eq(after, before, "%s, %d threads: MXCSR's controls %#x after training, %#x before",
                         dl_simd_name(vs[q]), T, after, before);
            dl_net_free(n);
        }
    /* A subnormal product still comes out subnormal here. */
    volatile float tiny = 1e-30f, scale = 1e-10f;
    cr_expect(tiny * scale != 0.0f);
    dl_dataset_free(d);
}

Test(train_fast_fpmode, flush_and_restore)
{
    volatile float tiny = 1e-30f, scale = 1e-10f, sub = 5e-39f, one = 1.0f;
    dl_fpmode m = dl_fpmode_flush();
    float flushed = tiny * scale, read = sub * one;
    dl_fpmode_restore(m);
    float kept = tiny * scale;
    cr_expect_eq(flushed, 0.0f, "a subnormal result (FTZ) is 0 while flushed");
    cr_expect_eq(read, 0.0f, "a subnormal operand (DAZ) reads as 0 while flushed");
    cr_expect(kept != 0.0f, "and subnormal again after the restore");
}

#else

Test(train_fast_fpmode, not_on_this_cpu)
{
    cr_skip_test("subnormals are flushed only on x86 (src/fpmode.h)");
}

#endif
