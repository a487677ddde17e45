/* test_net.c — forward pass, backprop against finite differences, init, RNG. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/net.h"
#include "digitlens/rng.h"

TestSuite(net);

/* act[l] applied in double: the finite differences' own forward pass. */
static void act_double(dl_act f, double *z, int n)
{
    if (f == DL_ACT_SOFTMAX) {
        double mx = z[0], sum = 0;
        for (int j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
        for (int j = 0; j < n; j++) sum += z[j] = exp(z[j] - mx);
        for (int j = 0; j < n; j++) z[j] /= sum;
        return;
    }
    for (int j = 0; j < n; j++)
        z[j] = f == DL_ACT_TANH ? tanh(z[j]) : f == DL_ACT_RELU ? (z[j] > 0 ? z[j] : 0) : 1.0 / (1.0 + exp(-z[j]));
}

/* The output a [sizes[L]] of x, entirely in double from the params p. */
static void forward_double(const dl_net *n, const double *p, const double *x, double *out)
{
    double a[2][64];
    int cur = 0;
    memcpy(a[0], x, sizeof(double) * (size_t)n->sizes[0]);
    size_t off = 0;
    for (int l = 0; l + 1 < n->nlayers; l++) {
        int in = n->sizes[l], o = n->sizes[l + 1];
        const double *w = p + off, *b = p + off + (size_t)in * o;
        for (int j = 0; j < o; j++) {
            double z = b[j];
            for (int k = 0; k < in; k++) z += w[j * in + k] * a[cur][k];
            a[1 - cur][j] = z;
        }
        act_double(n->act[l], a[1 - cur], o);
        off += (size_t)in * o + o;
        cur = 1 - cur;
    }
    memcpy(out, a[cur], sizeof(double) * (size_t)n->sizes[n->nlayers - 1]);
}

/* The cost of one example computed entirely in double from the params. */
static double cost_double(const dl_net *n, const double *p, const double *x, const double *y, dl_cost c)
{
    double a[64];
    forward_double(n, p, x, a);
    int K = n->sizes[n->nlayers - 1];
    double s = 0;
    for (int j = 0; j < K; j++) {
        double v = a[j];
        if (c == DL_COST_QUADRATIC) s += 0.5 * (v - y[j]) * (v - y[j]);
        else if (c == DL_COST_LOG_LIKELIHOOD) s += -y[j] * log(v);
        else s += -y[j] * log(v) - (1 - y[j]) * log(1 - v);
    }
    return s;
}

/* A seeded network of these sizes whose hidden layers apply `hidden` and
 * whose output applies `output`. */
static dl_net *net_with(int nl, const int *sizes, dl_act hidden, dl_act output, uint64_t seed, dl_rng *r)
{
    dl_err e;
    dl_net *n = dl_net_new(nl, sizes, &e);
    cr_assert_not_null(n);
    dl_rng_seed(r, seed);
    dl_net_init(n, DL_INIT_SCALED, r);
    for (int l = 0; l + 2 < nl; l++) n->act[l] = hidden;
    n->act[nl - 2] = output;
    cr_assert_eq(dl_net_check_acts(n, &e), DL_OK, "%s", e.msg);
    return n;
}

static void gradient_check_acts(dl_cost cost, int nl, const int *sizes, dl_act hidden, dl_act output,
                                uint64_t seed)
{
    dl_err e;
    dl_rng r;
    dl_net *n = net_with(nl, sizes, hidden, output, seed, &r);
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
            cr_expect(fabs(g[i] - fd) / fabs(fd) < 1e-3, "%s/%s/%s param %zu: backprop %g vs finite difference %g",
                      dl_act_name(hidden), dl_act_name(output), dl_cost_name(cost), i, g[i], fd);
    }
    cr_expect(den > 0, "the check must see a gradient");
    cr_expect(sqrt(num) / (sqrt(den) + 1e-12) < 1e-3, "%s/%s/%s: relative error %g", dl_act_name(hidden),
              dl_act_name(output), dl_cost_name(cost), sqrt(num) / sqrt(den));
    free(p);
    free(g);
    dl_trace_free(t);
    dl_net_free(n);
}

static void gradient_check(dl_cost cost, int nl, const int *sizes, uint64_t seed)
{
    gradient_check_acts(cost, nl, sizes, DL_ACT_SIGMOID, DL_ACT_SIGMOID, seed);
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

/* Every hidden activation under every output and every cost that means
 * something on it (dl_net_check_cost), one and two hidden layers. */
Test(net, gradient_matches_finite_difference_for_every_activation_and_cost)
{
    const dl_act hidden[] = {DL_ACT_SIGMOID, DL_ACT_TANH, DL_ACT_RELU};
    const dl_act output[] = {DL_ACT_SIGMOID, DL_ACT_SOFTMAX, DL_ACT_TANH, DL_ACT_RELU};
    int s1[] = {6, 5, 4};
    int s2[] = {7, 6, 5, 3};
    int checked = 0;
    for (int h = 0; h < 3; h++)
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < DL_COST_COUNT; c++) {
                dl_rng r;
                dl_net *n = net_with(3, s1, hidden[h], output[o], 1, &r);
                int ok = dl_net_check_cost(n, (dl_cost)c, NULL) == DL_OK;
                dl_net_free(n);
                if (!ok) continue;
                for (uint64_t seed = 1; seed <= 3; seed++) {
                    gradient_check_acts((dl_cost)c, 3, s1, hidden[h], output[o], seed);
                    gradient_check_acts((dl_cost)c, 4, s2, hidden[h], output[o], seed);
                }
                checked++;
            }
    /* 3 hidden x (sigmoid: 2 costs, softmax: 2, tanh: 1, relu: 1) */
    cr_expect_eq(checked, 18);
}

/* ∂a[L][c]/∂x (the attributions' gradient) and the seeded ∂z/∂x, against
 * finite differences, for every activation (a softmax output through its
 * Jacobian). */
Test(net, input_gradient_matches_finite_difference_for_every_activation)
{
    const dl_act hidden[] = {DL_ACT_SIGMOID, DL_ACT_TANH, DL_ACT_RELU};
    const dl_act output[] = {DL_ACT_SIGMOID, DL_ACT_SOFTMAX, DL_ACT_TANH, DL_ACT_RELU};
    int sizes[] = {6, 5, 4, 3};
    for (int h = 0; h < 3; h++)
        for (int o = 0; o < 4; o++) {
            dl_rng r;
            dl_net *n = net_with(4, sizes, hidden[h], output[o], 5 + (uint64_t)h, &r);
            double p[200], xd[6], a1[3], a2[3];
            for (size_t i = 0; i < n->nparams; i++) p[i] = n->params[i];
            float x[6], gx[6];
            for (int k = 0; k < 6; k++) xd[k] = x[k] = (float)dl_rng_uniform(&r);
            dl_trace *t = dl_trace_new(n, NULL);
            for (int c = 0; c < 3; c++) {
                dl_net_forward(n, x, t);
                dl_net_input_gradient(n, t, 3, c, gx);
                for (int k = 0; k < 6; k++) {
                    double keep = xd[k], hh = 1e-5;
                    xd[k] = keep + hh;
                    forward_double(n, p, xd, a1);
                    xd[k] = keep - hh;
                    forward_double(n, p, xd, a2);
                    xd[k] = keep;
                    double fd = (a1[c] - a2[c]) / (2 * hh);
                    cr_expect(fabs(gx[k] - fd) < 1e-4 + 1e-3 * fabs(fd), "%s/%s output %d pixel %d: %g vs %g",
                              dl_act_name(hidden[h]), dl_act_name(output[o]), c, k, gx[k], fd);
                }
            }
            dl_trace_free(t);
            dl_net_free(n);
        }
}

Test(net, activations_have_names_that_parse_back)
{
    for (int a = 0; a < DL_ACT_COUNT; a++) {
        dl_act got = DL_ACT_COUNT;
        cr_assert_not_null(dl_act_name((dl_act)a));
        cr_assert_eq(dl_act_parse(dl_act_name((dl_act)a), &got), 0);
        cr_assert_eq(got, (dl_act)a);
    }
    dl_act keep = DL_ACT_TANH;
    cr_expect_eq(dl_act_parse("Sigmoid", &keep), -1);
    cr_expect_eq(dl_act_parse("", &keep), -1);
    cr_expect_eq(keep, DL_ACT_TANH, "a failed parse leaves *out alone");
    cr_expect_null(dl_act_name((dl_act)4));
    cr_expect_str_eq(dl_act_name(DL_ACT_RELU), "relu");
    for (int c = 0; c < DL_COST_COUNT; c++) {
        dl_cost got;
        cr_assert_eq(dl_cost_parse(dl_cost_name((dl_cost)c), &got), 0);
        cr_assert_eq(got, (dl_cost)c);
    }
    cr_expect_str_eq(dl_cost_name(DL_COST_LOG_LIKELIHOOD), "log-likelihood");
}

Test(net, activations_compute_their_definitions)
{
    float z[4] = {-2.0f, 0.0f, 0.5f, 3.0f}, a[4];
    dl_act_apply(DL_ACT_RELU, z, a, 4);
    cr_expect(a[0] == 0.0f && a[1] == 0.0f && a[2] == 0.5f && a[3] == 3.0f);
    dl_act_apply(DL_ACT_TANH, z, a, 4);
    for (int j = 0; j < 4; j++) cr_expect_float_eq(a[j], tanhf(z[j]), 1e-7);
    dl_act_apply(DL_ACT_SIGMOID, z, a, 4);
    for (int j = 0; j < 4; j++) cr_expect(a[j] == dl_sigmoid(z[j]), "sigmoid is dl_sigmoid, bit for bit");
    dl_act_apply(DL_ACT_SOFTMAX, z, a, 4);
    double sum = 0, den = exp(-2.0) + 1 + exp(0.5) + exp(3.0);
    for (int j = 0; j < 4; j++) {
        sum += a[j];
        cr_expect_float_eq(a[j], exp(z[j]) / den, 1e-6);
    }
    cr_expect_float_eq(sum, 1.0, 1e-6);
    /* Huge weighted inputs: e^1000 would overflow, e^(z − max) does not. */
    float big[3] = {1000.0f, 1001.0f, -1000.0f};
    dl_act_apply(DL_ACT_SOFTMAX, big, big, 3);
    cr_expect_float_eq(big[1], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    cr_expect(big[2] == 0.0f && isfinite(big[0]));
    /* ReLU keeps a NaN a NaN: a broken network must not look healthy. */
    float nan_in = NAN, out;
    dl_act_apply(DL_ACT_RELU, &nan_in, &out, 1);
    cr_expect(isnan(out));
}

Test(net, softmax_belongs_to_the_output_layer_only)
{
    int sizes[] = {4, 3, 2};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    for (int l = 0; l < DL_MAX_LAYERS - 1; l++) cr_expect_eq(n->act[l], DL_ACT_SIGMOID);
    cr_expect(dl_net_all_sigmoid(n));
    n->act[1] = DL_ACT_SOFTMAX;
    cr_expect_eq(dl_net_check_acts(n, &e), DL_OK);
    n->act[0] = DL_ACT_SOFTMAX;
    cr_expect_eq(dl_net_check_acts(n, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "layer 1 is a hidden layer"), "%s", e.msg);
    n->act[0] = (dl_act)7;
    cr_expect_eq(dl_net_check_acts(n, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "unknown activation"), "%s", e.msg);
    dl_net_free(n);
}

Test(net, costs_that_mean_nothing_on_the_output_are_refused_saying_why)
{
    int sizes[] = {4, 3, 2};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    cr_expect_eq(dl_net_check_cost(n, DL_COST_QUADRATIC, &e), DL_OK);
    cr_expect_eq(dl_net_check_cost(n, DL_COST_CROSS_ENTROPY, &e), DL_OK);
    cr_expect_eq(dl_net_check_cost(n, DL_COST_LOG_LIKELIHOOD, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "needs a softmax output"), "%s", e.msg);
    n->act[1] = DL_ACT_SOFTMAX;
    cr_expect_eq(dl_net_check_cost(n, DL_COST_LOG_LIKELIHOOD, &e), DL_OK);
    cr_expect_eq(dl_net_check_cost(n, DL_COST_QUADRATIC, &e), DL_OK);
    cr_expect_eq(dl_net_check_cost(n, DL_COST_CROSS_ENTROPY, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "use log-likelihood"), "%s", e.msg);
    dl_net_free(n);
}

Test(net, copy_keeps_the_activations)
{
    int sizes[] = {4, 3, 3, 2};
    dl_err e;
    dl_net *n = dl_net_new(4, sizes, &e);
    n->act[0] = DL_ACT_RELU;
    n->act[1] = DL_ACT_TANH;
    n->act[2] = DL_ACT_SOFTMAX;
    n->params[5] = 0.25f;
    dl_net *c = dl_net_copy(n, &e);
    cr_assert_not_null(c);
    cr_expect(memcmp(c->act, n->act, sizeof n->act) == 0);
    cr_expect(!dl_net_all_sigmoid(c));
    cr_expect_eq(c->params[5], 0.25f);
    dl_net_free(c);
    dl_net_free(n);
}

/* The one forward pass applies each layer's own activation. */
Test(net, forward_applies_each_layers_activation)
{
    int sizes[] = {2, 2, 2};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    float w0[] = {1, -1, -2, 1}, w1[] = {1, 1, -1, 2};
    memcpy(n->w[0], w0, sizeof w0);
    memcpy(n->w[1], w1, sizeof w1);
    n->act[0] = DL_ACT_RELU;
    n->act[1] = DL_ACT_SOFTMAX;
    dl_trace *t = dl_trace_new(n, &e);
    float x[2] = {2.0f, 0.5f};
    const float *a = dl_net_forward(n, x, t);
    /* hidden z = (1.5, -3.5) -> relu (1.5, 0); output z = (1.5, -1.5) */
    cr_expect(t->a[1][0] == 1.5f && t->a[1][1] == 0.0f);
    cr_expect_float_eq(t->z[2][1], -1.5f, 1e-6);
    cr_expect_float_eq(a[0], 1.0 / (1.0 + exp(-3.0)), 1e-6);
    cr_expect_float_eq(a[0] + a[1], 1.0f, 1e-6);
    n->act[0] = DL_ACT_TANH;
    dl_net_forward(n, x, t);
    cr_expect(t->a[1][0] == tanhf(1.5f) && t->a[1][1] == tanhf(-3.5f));
    dl_trace_free(t);
    dl_net_free(n);
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
