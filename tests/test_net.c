/* test_net.c — forward pass, backprop against finite differences, init, RNG. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/net.h"
#include "digitlens/rng.h"

TestSuite(net);

/* The cost of one example computed entirely in double from the float params. */
static double cost_double(const dl_net *n, const double *p, const double *x, const double *y, dl_cost c)
{
    double a[2][64];
    int cur = 0;
    memcpy(a[0], x, sizeof(double) * (size_t)n->sizes[0]);
    size_t off = 0;
    for (int l = 0; l + 1 < n->nlayers; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        const double *w = p + off, *b = p + off + (size_t)in * out;
        for (int j = 0; j < out; j++) {
            double z = b[j];
            for (int k = 0; k < in; k++) z += w[j * in + k] * a[cur][k];
            a[1 - cur][j] = 1.0 / (1.0 + exp(-z));
        }
        off += (size_t)in * out + out;
        cur = 1 - cur;
    }
    int K = n->sizes[n->nlayers - 1];
    double s = 0;
    for (int j = 0; j < K; j++) {
        double v = a[cur][j];
        s += c == DL_COST_QUADRATIC ? 0.5 * (v - y[j]) * (v - y[j]) : -y[j] * log(v) - (1 - y[j]) * log(1 - v);
    }
    return s;
}

static void gradient_check(dl_cost cost, int nl, const int *sizes, uint64_t seed)
{
    dl_err e;
    dl_net *n = dl_net_new(nl, sizes, &e);
    cr_assert_not_null(n);
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_net_init(n, DL_INIT_SCALED, &r);
    int in = sizes[0], K = sizes[nl - 1];
    float x[64], y[64];
    double xd[64], yd[64];
    for (int k = 0; k < in; k++) xd[k] = x[k] = (float)dl_rng_uniform(&r);
    for (int j = 0; j < K; j++) yd[j] = y[j] = j == 1 ? 1.0f : 0.0f;
    float *g = calloc(n->nparams, sizeof(float));
    dl_trace *t = dl_trace_new(n, &e);
    dl_net_forward(n, x, t);
    dl_net_backprop(n, t, y, cost, g);
    double *p = malloc(n->nparams * sizeof(double));
    for (size_t i = 0; i < n->nparams; i++) p[i] = n->params[i];
    double h = 1e-5, num = 0, den = 0;
    for (size_t i = 0; i < n->nparams; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double cp = cost_double(n, p, xd, yd, cost);
        p[i] = keep - h;
        double cm = cost_double(n, p, xd, yd, cost);
        p[i] = keep;
        double fd = (cp - cm) / (2 * h);
        num += (g[i] - fd) * (g[i] - fd);
        den += fd * fd;
        if (fabs(fd) > 1e-3)
            cr_expect(fabs(g[i] - fd) / fabs(fd) < 1e-3, "param %zu: backprop %g vs finite difference %g", i,
                      g[i], fd);
    }
    cr_expect(sqrt(num) / (sqrt(den) + 1e-12) < 1e-3, "relative error %g", sqrt(num) / sqrt(den));
    free(p);
    free(g);
    dl_trace_free(t);
    dl_net_free(n);
}

Test(net, gradient_matches_finite_difference_for_quadratic_cost)
{
    int s1[] = {5, 4, 3};
    int s2[] = {6, 5, 4, 3};
    for (uint64_t seed = 1; seed <= 4; seed++) {
        gradient_check(DL_COST_QUADRATIC, 3, s1, seed);
        gradient_check(DL_COST_QUADRATIC, 4, s2, seed);
    }
}

Test(net, gradient_matches_finite_difference_for_cross_entropy_cost)
{
    int s1[] = {5, 4, 3};
    int s2[] = {7, 2, 3, 2};
    for (uint64_t seed = 1; seed <= 4; seed++) {
        gradient_check(DL_COST_CROSS_ENTROPY, 3, s1, seed);
        gradient_check(DL_COST_CROSS_ENTROPY, 4, s2, seed);
    }
}

Test(net, forward_matches_a_hand_computed_example)
{
    int sizes[] = {2, 1};
    dl_err e;
    dl_net *n = dl_net_new(2, sizes, &e);
    n->w[0][0] = 2.0f;
    n->w[0][1] = -1.0f;
    n->b[0][0] = 0.5f;
    dl_trace *t = dl_trace_new(n, &e);
    float x[2] = {1.0f, 3.0f};
    const float *a = dl_net_forward(n, x, t);
    /* z = 2*1 - 1*3 + 0.5 = -0.5 */
    cr_assert_float_eq(t->z[1][0], -0.5f, 1e-6);
    cr_assert_float_eq(a[0], 1.0f / (1.0f + expf(0.5f)), 1e-6);
    dl_trace_free(t);
    dl_net_free(n);
}

Test(net, parameter_views_follow_the_documented_layout)
{
    int sizes[] = {784, 100, 10};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    cr_assert_eq(n->nparams, 784 * 100 + 100 + 100 * 10 + 10);
    cr_assert_eq(dl_net_woff(n, 0), 0);
    cr_assert_eq(dl_net_boff(n, 0), 78400);
    cr_assert_eq(dl_net_woff(n, 1), 78500);
    cr_assert_eq(dl_net_boff(n, 1), 79500);
    dl_net_free(n);
}

Test(net, impossible_sizes_are_refused_with_a_message)
{
    dl_err e;
    int zero[] = {784, 0, 10};
    cr_assert_null(dl_net_new(3, zero, &e));
    cr_expect(strstr(e.msg, "layer 1 has 0 neurons"), "%s", e.msg);
    int one[] = {784};
    cr_assert_null(dl_net_new(1, one, &e));
    int huge[] = {65536, 65536, 10};
    cr_assert_null(dl_net_new(3, huge, &e));
    cr_expect_eq(e.code, DL_ELIMIT);
}

Test(net, scaled_init_has_standard_deviation_one_over_sqrt_fan_in)
{
    int sizes[] = {400, 100, 10};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    for (int mode = 0; mode < 2; mode++) {
        dl_rng r;
        dl_rng_seed(&r, 7);
        dl_net_init(n, mode ? DL_INIT_NORMAL : DL_INIT_SCALED, &r);
        double s = 0, s2 = 0;
        size_t cnt = 40000;
        for (size_t i = 0; i < cnt; i++) {
            s += n->w[0][i];
            s2 += (double)n->w[0][i] * n->w[0][i];
        }
        double sd = sqrt(s2 / cnt - (s / cnt) * (s / cnt));
        double want = mode ? 1.0 : 1.0 / 20.0;
        cr_expect(fabs(sd - want) < 0.03 * want, "init %d: sd %g, expected %g", mode, sd, want);
    }
    dl_net_free(n);
}

Test(net, the_same_seed_gives_the_same_stream_and_shuffle)
{
    dl_rng a, b;
    dl_rng_seed(&a, 42);
    dl_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) cr_assert_eq(dl_rng_u64(&a), dl_rng_u64(&b));
    uint32_t p[50], q[50];
    for (uint32_t i = 0; i < 50; i++) p[i] = q[i] = i;
    dl_rng_shuffle(&a, p, 50);
    dl_rng_shuffle(&b, q, 50);
    cr_assert(memcmp(p, q, sizeof p) == 0);
    /* It is a permutation. */
    int seen[50] = {0};
    for (int i = 0; i < 50; i++) seen[p[i]]++;
    for (int i = 0; i < 50; i++) cr_assert_eq(seen[i], 1);
    dl_rng_seed(&b, 43);
    cr_assert_neq(dl_rng_u64(&a), dl_rng_u64(&b));
}

Test(net, normal_deviates_have_mean_zero_and_variance_one)
{
    dl_rng r;
    dl_rng_seed(&r, 3);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double v = dl_rng_normal(&r);
        s += v;
        s2 += v * v;
    }
    cr_expect(fabs(s / n) < 0.01, "mean %g", s / n);
    cr_expect(fabs(s2 / n - 1.0) < 0.01, "variance %g", s2 / n);
}

/* The one forward pass: from layer l on an edited trace it recomputes
 * exactly what a whole pass with that edit would, and dl_net_forward is
 * the same pass from 0. */
Test(net, forward_from_a_layer_is_the_whole_pass_above_it)
{
    int sizes[] = {5, 4, 3, 2};
    dl_err e;
    dl_net *n = dl_net_new(4, sizes, &e);
    dl_rng rng;
    dl_rng_seed(&rng, 11);
    dl_net_init(n, DL_INIT_NORMAL, &rng);
    float x[5] = {0.1f, 0.9f, 0.0f, 0.4f, 1.0f};
    dl_trace *t = dl_trace_new(n, &e), *u = dl_trace_new(n, &e);
    dl_net_forward(n, x, t);
    dl_net_forward(n, x, u);
    t->a[1][2] = 0.0f; /* ablate a neuron of layer 1 */
    const float *y = dl_net_forward_from(n, t, 1);
    u->a[1][2] = 0.0f;
    for (int l = 1; l < 3; l++)
        for (int j = 0; j < sizes[l + 1]; j++) {
            float s = n->b[l][j];
            for (int k = 0; k < sizes[l]; k++) s += n->w[l][j * sizes[l] + k] * u->a[l][k];
            u->z[l + 1][j] = s;
            u->a[l + 1][j] = dl_sigmoid(s);
        }
    cr_assert(memcmp(y, u->a[3], 2 * sizeof(float)) == 0, "not bit-identical to the pass written out");
    cr_assert(memcmp(t->z[2], u->z[2], 3 * sizeof(float)) == 0);
    dl_trace_free(t);
    dl_trace_free(u);
    dl_net_free(n);
}

/* DL_ASSERT (src/contract.h): a broken invariant stops the program with a
 * message instead of writing a wrong picture or model. */
Test(net, forward_from_outside_the_network_is_a_caught_bug, .signal = SIGABRT)
{
    int sizes[] = {3, 2};
    dl_net *n = dl_net_new(2, sizes, NULL);
    dl_trace *t = dl_trace_new(n, NULL);
    dl_net_forward_from(n, t, 7);
}
