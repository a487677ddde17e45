/* test_explain.c — each attribution method's defining property, the
 * maximiser's known answers, neuron statistics on a hand-built model, and
 * the explanation pictures' colour scales. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/explain.h"
#include "digitlens/viz_explain.h"
#include "support/support.h"

TestSuite(explain);

/* Output c of the network computed in double from the float parameters:
 * the reference the finite differences are taken on. */
static double output_double(const dl_net *n, const double *x, int c)
{
    double a[2][256];
    int cur = 0;
    memcpy(a[0], x, sizeof(double) * (size_t)n->sizes[0]);
    for (int l = 0; l + 1 < n->nlayers; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        for (int j = 0; j < out; j++) {
            double z = n->b[l][j];
            for (int k = 0; k < in; k++) z += (double)n->w[l][j * in + k] * a[cur][k];
            a[1 - cur][j] = 1.0 / (1.0 + exp(-z));
        }
        cur = 1 - cur;
    }
    return a[cur][c];
}

static float output_float(const dl_net *n, const float *x, int c)
{
    dl_err e;
    dl_trace *t = dl_trace_new(n, &e);
    float y = dl_net_forward(n, x, t)[c];
    dl_trace_free(t);
    return y;
}

Test(explain, method_names_round_trip)
{
    for (int m = 0; m < DL_ATTR_NMETHODS; m++)
        cr_assert_eq(dl_attr_method_parse(dl_attr_method_name((dl_attr_method)m)), m);
    cr_assert_eq(dl_attr_method_parse("all"), -1);
    cr_assert_eq(dl_attr_method_parse("Gradient"), -1);
    cr_assert_null(dl_attr_method_name(DL_ATTR_NMETHODS));
}

Test(explain, gradient_matches_finite_differences)
{
    int sizes[] = {20, 7, 5, 3};
    dl_net *n = ts_random_net(4, sizes, DL_INIT_NORMAL, 11);
    float x[20], g[20];
    ts_random_input(x, 20, 12);
    dl_attr_opts o = dl_attr_opts_defaults(4, 5);
    dl_err e;
    double xd[20], h = 1e-5;
    for (int c = 0; c < 3; c++) {
        cr_assert_eq(dl_explain_attribution(n, DL_ATTR_GRADIENT, c, x, &o, g, NULL, &e), DL_OK, "%s", e.msg);
        for (int i = 0; i < 20; i++) {
            for (int k = 0; k < 20; k++) xd[k] = x[k];
            xd[i] = x[i] + h;
            double up = output_double(n, xd, c);
            xd[i] = x[i] - h;
            double fd = (up - output_double(n, xd, c)) / (2 * h);
            cr_assert(fabs(g[i] - fd) <= 1e-5 + 1e-3 * fabs(fd), "output %d pixel %d: gradient %g, finite difference %g", c, i,
                      (double)g[i], fd);
        }
    }
    dl_net_free(n);
}

Test(explain, input_x_gradient_of_a_one_layer_model_is_the_closed_form)
{
    /* 784 → 3 with a sigmoid output: y_c = σ(w_c·x + b_c), so
     * x ⊙ ∂y_c/∂x = x ⊙ w_c · σ'(z_c) exactly. */
    int sizes[] = {784, 3};
    dl_net *n = ts_random_net(2, sizes, DL_INIT_SCALED, 21);
    float x[784], a[784];
    ts_random_input(x, 784, 22);
    dl_attr_opts o = dl_attr_opts_defaults(28, 28);
    dl_err e;
    for (int c = 0; c < 3; c++) {
        cr_assert_eq(dl_explain_attribution(n, DL_ATTR_INPUT_X_GRADIENT, c, x, &o, a, NULL, &e), DL_OK, "%s", e.msg);
        double z = n->b[0][c];
        for (int i = 0; i < 784; i++) z += (double)n->w[0][c * 784 + i] * x[i];
        double s = 1.0 / (1.0 + exp(-z)), ds = s * (1.0 - s);
        for (int i = 0; i < 784; i++) {
            double want = x[i] * n->w[0][c * 784 + i] * ds;
            cr_assert(fabs(a[i] - want) <= 1e-7 + 1e-4 * fabs(want), "output %d pixel %d: %g, closed form %g", c, i,
                      (double)a[i], want);
        }
    }
    dl_net_free(n);
}

static void check_completeness(const dl_net *n, const float *x, const float *x0, int c, int steps, double tol)
{
    int np = n->sizes[0];
    float *a = malloc((size_t)np * sizeof(float));
    dl_attr_opts o = dl_attr_opts_defaults(1, np);
    o.steps = steps;
    o.baseline = x0;
    dl_attr_info info;
    dl_err e;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_INTEGRATED_GRADIENTS, c, x, &o, a, &info, &e), DL_OK, "%s", e.msg);
    double diff = (double)output_float(n, x, c) - (x0 ? output_float(n, x0, c) : info.baseline_output);
    cr_assert(fabs(diff) > 0.05, "test set-up: output %d barely changes from the baseline (%g)", c, diff);
    double sum = 0.0;
    for (int i = 0; i < np; i++) sum += a[i];
    cr_assert(fabs(sum - info.sum) < 1e-9 + 1e-6 * fabs(sum));
    cr_assert(fabs(info.completeness_gap - (sum - diff)) < 1e-6, "reported gap %g, recomputed %g", info.completeness_gap,
              sum - diff);
    cr_assert(fabs(sum - diff) <= tol * fabs(diff), "output %d: Σ attr %g vs f(x) − f(x₀) %g (gap %.3g%%, allowed %g%%)",
              c, sum, diff, 100.0 * fabs(sum - diff) / fabs(diff), 100 * tol);
    free(a);
}

Test(explain, integrated_gradients_are_complete_within_1_percent_at_256_steps)
{
    int sizes[] = {64, 12, 4};
    dl_net *n = ts_random_net(3, sizes, DL_INIT_NORMAL, 31);
    float x[64], x0[64];
    ts_random_input(x, 64, 32);
    for (int c = 0; c < 4; c++) {
        float y1 = output_float(n, x, c);
        float zero[64] = {0};
        if (fabsf(y1 - output_float(n, zero, c)) > 0.05f) check_completeness(n, x, NULL, c, 256, 0.01);
    }
    /* A non-black baseline: half the picture. */
    for (int i = 0; i < 64; i++) x0[i] = 0.5f * x[(i * 7) % 64];
    for (int c = 0; c < 4; c++)
        if (fabsf(output_float(n, x, c) - output_float(n, x0, c)) > 0.05f) check_completeness(n, x, x0, c, 256, 0.01);
    /* A deeper net: the property does not depend on the depth. */
    int deep[] = {64, 16, 8, 3};
    dl_net *d = ts_random_net(4, deep, DL_INIT_NORMAL, 33);
    int checked = 0;
    for (int c = 0; c < 3; c++) {
        float zero[64] = {0};
        if (fabsf(output_float(d, x, c) - output_float(d, zero, c)) > 0.05f) {
            check_completeness(d, x, NULL, c, 256, 0.01);
            checked++;
        }
    }
    cr_assert(checked > 0, "test set-up: no output of the deep net changes");
    dl_net_free(d);
    dl_net_free(n);
}

Test(explain, integrated_gradients_from_the_input_itself_are_zero)
{
    int sizes[] = {16, 4, 2};
    dl_net *n = ts_random_net(3, sizes, DL_INIT_NORMAL, 41);
    float x[16], a[16];
    ts_random_input(x, 16, 42);
    dl_attr_opts o = dl_attr_opts_defaults(4, 4);
    o.baseline = x;
    dl_attr_info info;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_INTEGRATED_GRADIENTS, 1, x, &o, a, &info, NULL), DL_OK);
    for (int i = 0; i < 16; i++) cr_assert_eq(a[i], 0.0f);
    cr_assert_eq(info.completeness_gap, 0.0);
    dl_net_free(n);
}

Test(explain, lrp_conserves_relevance)
{
    int sizes[] = {49, 10, 6, 3};
    dl_net *n = ts_random_net(4, sizes, DL_INIT_SCALED, 51);
    float x[49], a[49];
    ts_random_input(x, 49, 52);
    dl_attr_opts o = dl_attr_opts_defaults(7, 7);
    dl_attr_info info;
    dl_err e;
    for (int c = 0; c < 3; c++) {
        /* The bookkeeping is exact for any ε: input + biases + ε-absorbed = y_c. */
        o.epsilon = 0.5f;
        cr_assert_eq(dl_explain_attribution(n, DL_ATTR_LRP, c, x, &o, a, &info, &e), DL_OK, "%s", e.msg);
        double total = info.sum + info.bias_relevance + info.eps_relevance;
        cr_assert(fabs(total - info.output) < 1e-5, "output %d: %g + %g + %g = %g, not y = %g", c, info.sum,
                  info.bias_relevance, info.eps_relevance, total, (double)info.output);
        cr_assert(fabs(info.eps_relevance) > 1e-4, "a large ε should absorb something");
        /* With ε small the absorbed part vanishes: input + biases ≈ y_c. */
        o.epsilon = 1e-7f;
        cr_assert_eq(dl_explain_attribution(n, DL_ATTR_LRP, c, x, &o, a, &info, &e), DL_OK, "%s", e.msg);
        double rel = info.sum + info.bias_relevance;
        cr_assert(fabs(rel - info.output) <= 1e-3 * info.output, "output %d: Σ input %g + bias %g = %g vs y %g", c,
                  info.sum, info.bias_relevance, rel, (double)info.output);
        cr_assert(fabs(info.eps_relevance) < 1e-3 * info.output);
    }
    dl_net_free(n);
}

Test(explain, lrp_without_biases_puts_all_relevance_on_the_input)
{
    int sizes[] = {16, 5, 2};
    dl_net *n = ts_random_net(3, sizes, DL_INIT_NORMAL, 61);
    for (int l = 0; l < 2; l++)
        for (int j = 0; j < sizes[l + 1]; j++) n->b[l][j] = 0.0f;
    float x[16], a[16];
    ts_random_input(x, 16, 62);
    dl_attr_opts o = dl_attr_opts_defaults(4, 4);
    o.epsilon = 1e-7f;
    dl_attr_info info;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_LRP, 0, x, &o, a, &info, NULL), DL_OK);
    cr_assert_eq(info.bias_relevance, 0.0);
    cr_assert(fabs(info.sum - info.output) < 1e-4 * info.output, "Σ %g vs y %g", info.sum, (double)info.output);
    dl_net_free(n);
}

/* A 4x4-input model whose single output depends only on pixel (1, 1):
 * y = σ(3·x₁₁ − 1). */
static dl_net *one_pixel_net(void)
{
    int sizes[] = {16, 1};
    dl_err e;
    dl_net *n = dl_net_new(2, sizes, &e);
    cr_assert_not_null(n);
    n->w[0][1 * 4 + 1] = 3.0f;
    n->b[0][0] = -1.0f;
    return n;
}

Test(explain, occlusion_of_a_one_pixel_model_has_the_known_answer)
{
    dl_net *n = one_pixel_net();
    float x[16], a[16];
    for (int i = 0; i < 16; i++) x[i] = 0.5f;
    double d = 1.0 / (1.0 + exp(-0.5)) - 1.0 / (1.0 + exp(1.0)); /* σ(3·0.5 − 1) − σ(−1) */
    dl_attr_opts o = dl_attr_opts_defaults(4, 4);
    dl_err e;
    /* 1x1 patches: only the pixel itself. */
    o.patch = 1, o.stride = 1;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_OCCLUSION, 0, x, &o, a, NULL, &e), DL_OK, "%s", e.msg);
    for (int i = 0; i < 16; i++) cr_assert_float_eq(a[i], i == 5 ? d : 0.0, 1e-6, "pixel %d: %g", i, (double)a[i]);
    /* 2x2 tiles without overlap: the whole top-left tile. */
    o.patch = 2, o.stride = 2;
    dl_explain_attribution(n, DL_ATTR_OCCLUSION, 0, x, &o, a, NULL, &e);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            cr_assert_float_eq(a[r * 4 + c], r < 2 && c < 2 ? d : 0.0, 1e-6, "(%d,%d): %g", r, c, (double)a[r * 4 + c]);
    /* 2x2 patches, stride 1 (3x3 positions): a pixel's value is d times the
     * share of the patches over it that also cover (1,1). */
    o.patch = 2, o.stride = 1;
    dl_explain_attribution(n, DL_ATTR_OCCLUSION, 0, x, &o, a, NULL, &e);
    double want[16] = {
        1, 1, 0.5, 0, /* (0,2): patches (0,1),(0,2); only (0,1) covers (1,1) */
        1, 1, 0.5, 0, /* (1,2): 4 patches (0,1),(0,2),(1,1),(1,2): 2 cover (1,1) */
        0.5, 0.5, 0.25, 0, 0, 0, 0, 0,
    };
    for (int i = 0; i < 16; i++) cr_assert_float_eq(a[i], want[i] * d, 1e-6, "pixel %d: %g", i, (double)a[i]);
    dl_net_free(n);
}

Test(explain, occlusion_covers_the_edge_the_stride_skips)
{
    /* 5x5, patch 2, stride 2: positions 0, 2 and then 3, so the last row and
     * column are covered too. */
    int sizes[] = {25, 1};
    dl_net *n = dl_net_new(2, sizes, NULL);
    n->w[0][24] = 2.0f;
    float x[25], a[25];
    for (int i = 0; i < 25; i++) x[i] = 1.0f;
    dl_attr_opts o = dl_attr_opts_defaults(5, 5);
    o.patch = 2, o.stride = 2;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_OCCLUSION, 0, x, &o, a, NULL, NULL), DL_OK);
    cr_assert(a[24] > 0.3f, "the corner pixel got %g", (double)a[24]);
    cr_assert_eq(a[0], 0.0f);
    dl_net_free(n);
}

Test(explain, attribution_refuses_bad_arguments)
{
    dl_net *n = one_pixel_net();
    float x[16] = {0}, a[16];
    dl_attr_opts o = dl_attr_opts_defaults(4, 4);
    dl_err e;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_GRADIENT, 1, x, &o, a, NULL, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "output 1 is out of range") != NULL, "%s", e.msg);
    o.rows = 3;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_OCCLUSION, 0, x, &o, a, NULL, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "3x4") != NULL, "%s", e.msg);
    o = dl_attr_opts_defaults(4, 4);
    o.epsilon = 0.0f;
    cr_assert_eq(dl_explain_attribution(n, DL_ATTR_LRP, 0, x, &o, a, NULL, &e), DL_EINVAL);
    dl_net_free(n);
}

Test(explain, maximizing_a_first_layer_neuron_inks_where_its_weight_is_positive)
{
    int sizes[] = {64, 5, 3};
    dl_net *n = ts_random_net(3, sizes, DL_INIT_SCALED, 71);
    float x[64];
    dl_maximize_opts o = dl_maximize_opts_defaults(8, 8);
    o.l2 = 0.0f;
    dl_maximize_info info;
    dl_err e;
    for (int j = 0; j < 5; j++) {
        cr_assert_eq(dl_explain_maximize(n, 1, j, &o, x, &info, &e), DL_OK, "%s", e.msg);
        const float *w = n->w[0] + j * 64;
        double best = n->b[0][j];
        for (int i = 0; i < 64; i++) {
            if (w[i] > 0) best += w[i];
            cr_assert(w[i] > 0 ? x[i] > 0.99f : x[i] < 0.01f, "neuron %d pixel %d: weight %g, pixel %g", j, i,
                      (double)w[i], (double)x[i]);
        }
        cr_assert(fabs(info.z - best) < 1e-2 * (1 + fabs(best)), "z %g, optimum %g", (double)info.z, best);
        cr_assert(info.activation >= info.start_activation);
    }
    dl_net_free(n);
}

Test(explain, maximizing_with_l2_gives_the_clipped_ratio_for_a_linear_unit)
{
    /* z − λΣx² is separable for a first-layer neuron: each pixel's optimum
     * is clamp(wᵢ / 2λ, 0, 1). */
    int sizes[] = {36, 2, 2};
    dl_net *n = ts_random_net(3, sizes, DL_INIT_NORMAL, 81);
    float x[36];
    dl_maximize_opts o = dl_maximize_opts_defaults(6, 6);
    o.l2 = 0.5f;
    o.steps = 2000;
    o.lr = 0.01f;
    cr_assert_eq(dl_explain_maximize(n, 1, 0, &o, x, NULL, NULL), DL_OK);
    int inside = 0;
    for (int i = 0; i < 36; i++) {
        float w = n->w[0][i], want = fminf(1.0f, fmaxf(0.0f, w / (2 * o.l2)));
        inside += want > 0.0f && want < 1.0f;
        cr_assert(fabsf(x[i] - want) < 0.02f, "pixel %d: weight %g, got %g, optimum %g", i, (double)w, (double)x[i],
                  (double)want);
    }
    cr_assert(inside > 3, "test set-up: too few pixels with an interior optimum (%d)", inside);
    dl_net_free(n);
}

Test(explain, maximizing_an_output_raises_it_and_blur_keeps_pixels_in_range)
{
    int sizes[] = {64, 8, 3};
    dl_net *n = ts_random_net(3, sizes, DL_INIT_NORMAL, 91);
    float x[64];
    dl_maximize_opts o = dl_maximize_opts_defaults(8, 8);
    o.blur = 0.7f;
    o.start = 0.5f;
    dl_maximize_info info;
    cr_assert_eq(dl_explain_maximize(n, 2, 1, &o, x, &info, NULL), DL_OK);
    cr_assert(info.activation > info.start_activation, "%g → %g", (double)info.start_activation,
              (double)info.activation);
    for (int i = 0; i < 64; i++) cr_assert(x[i] >= 0.0f && x[i] <= 1.0f);
    cr_assert_float_eq(info.activation, output_float(n, x, 1), 1e-6);
    dl_err e;
    cr_assert_eq(dl_explain_maximize(n, 3, 0, &o, x, &info, &e), DL_EINVAL);
    cr_assert_eq(dl_explain_maximize(n, 1, 8, &o, x, &info, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "neuron 8 is out of range") != NULL, "%s", e.msg);
    dl_net_free(n);
}

/* 2x2 images; hidden neuron 0 = σ(20·x₀ − 10) decides everything:
 * output 0 = σ(10·a₀ − 5), output 1 = σ(5 − 10·a₀); hidden neuron 1 is
 * constant.  Six examples with pixel 0 = 1, 0, 1, 0.6, 0, 1 and labels
 * 0, 1, 0, 0, 1, 0: all classified right. */
static dl_net *decider_net(void)
{
    int sizes[] = {4, 2, 2};
    dl_net *n = dl_net_new(3, sizes, NULL);
    n->w[0][0] = 20.0f;
    n->b[0][0] = -10.0f;
    n->w[1][0] = 10.0f;
    n->b[1][0] = -5.0f;
    n->w[1][2] = -10.0f;
    n->b[1][1] = 5.0f;
    return n;
}

static dl_dataset *decider_data(void)
{
    dl_dataset *d = dl_dataset_new(6, 2, 2, NULL);
    const uint8_t p0[6] = {255, 0, 255, 153, 0, 255}, lab[6] = {0, 1, 0, 0, 1, 0};
    for (int i = 0; i < 6; i++) {
        d->pixels[i * 4] = p0[i];
        d->pixels[i * 4 + 1] = (uint8_t)(40 * i); /* ignored by the net */
        d->labels[i] = lab[i];
    }
    return d;
}

static double sig(double z) { return 1.0 / (1.0 + exp(-z)); }

Test(explain, neuron_stats_of_a_hand_built_model)
{
    dl_net *n = decider_net();
    dl_dataset *d = decider_data();
    dl_neuron_stats s;
    dl_err e;
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 0, 3, &s, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(s.n, 6);
    cr_assert_eq(s.k, 3);
    /* Equal activations rank by index. */
    size_t top[3] = {0, 2, 5}, bottom[3] = {1, 4, 3};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(s.top[i], top[i], "top[%d] = %zu", i, s.top[i]);
        cr_assert_eq(s.bottom[i], bottom[i], "bottom[%d] = %zu", i, s.bottom[i]);
    }
    double a1 = sig(10), a0 = sig(-10), am = sig(20 * (153 / 255.0) - 10);
    cr_assert_float_eq(s.top_act[0], a1, 1e-6);
    cr_assert_float_eq(s.bottom_act[2], am, 1e-5);
    cr_assert_float_eq(s.class_mean[0], (3 * a1 + am) / 4, 1e-5);
    cr_assert_float_eq(s.class_mean[1], a0, 1e-6);
    cr_assert_eq(s.class_count[0], 4);
    cr_assert_eq(s.class_count[1], 2);
    cr_assert_float_eq(s.mean, (3 * a1 + am + 2 * a0) / 6, 1e-5);
    cr_assert_float_eq(s.saturated, 5 / 6.0, 1e-6);
    cr_assert_float_eq(s.saturated_high, 3 / 6.0, 1e-6);
    cr_assert_float_eq(s.saturated_low, 2 / 6.0, 1e-6);
    cr_assert_eq(s.nout, 2);
    cr_assert_eq(s.out_weights[0], 10.0f);
    cr_assert_eq(s.out_weights[1], -10.0f);
    /* Intact: all right.  Zeroed: everything becomes class 1 (2 of 6 right).
     * Held at its mean (≈0.65 > 0.5): everything becomes class 0 (4 of 6). */
    cr_assert_float_eq(s.accuracy, 1.0, 1e-12);
    cr_assert_float_eq(s.ablated_accuracy, 2 / 6.0, 1e-12);
    cr_assert_float_eq(s.ablation_drop, 4 / 6.0, 1e-12);
    cr_assert_float_eq(s.mean_ablated_accuracy, 4 / 6.0, 1e-12);
    cr_assert_float_eq(s.mean_ablation_drop, 2 / 6.0, 1e-12);
    dl_neuron_stats_free(&s);
    /* A constant neuron: removing it changes nothing here. */
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 1, 100, &s, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(s.k, 6, "k is clamped to the data set");
    cr_assert_float_eq(s.mean, 0.5, 1e-7);
    cr_assert_eq(s.saturated, 0.0f);
    cr_assert_float_eq(s.ablation_drop, 0.0, 1e-12);
    dl_neuron_stats_free(&s);
    dl_dataset_free(d);
    dl_net_free(n);
}

Test(explain, neuron_stats_refuse_what_does_not_fit)
{
    dl_net *n = decider_net();
    dl_dataset *d = decider_data();
    dl_neuron_stats s;
    dl_err e;
    cr_assert_eq(dl_neuron_stats_compute(n, d, 2, 0, 3, &s, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "not a hidden layer") != NULL, "%s", e.msg);
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 2, 3, &s, &e), DL_EINVAL);
    d->labels[3] = 7;
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 0, 3, &s, &e), DL_EFORMAT);
    cr_assert(strstr(e.msg, "label 7 at example 3") != NULL, "%s", e.msg);
    dl_neuron_stats_free(&s); /* safe on the empty result */
    dl_dataset_free(d);
    dl_net_free(n);
}

/* ---- pictures ------------------------------------------------------------ */

static int count_color(const dl_canvas *c, dl_rgb col)
{
    int n = 0;
    for (size_t i = 0; i < (size_t)c->w * c->h; i++)
        n += c->px[3 * i] == col.r && c->px[3 * i + 1] == col.g && c->px[3 * i + 2] == col.b;
    return n;
}

Test(explain, attribution_panels_each_get_their_own_colour_scale)
{
    /* Two maps of the same shape, 1000 times apart: with a scale per panel
     * both reach the darkest red and the darkest blue, so the row of both
     * has exactly twice the saturated pixels of the row of one. */
    float big[16], small[16];
    for (int i = 0; i < 16; i++) {
        big[i] = (float)(i - 6) * 100.0f;
        small[i] = big[i] / 1000.0f;
    }
    dl_viz_style st = {NULL, 4};
    dl_viz_attr_panel one[1] = {{big, "big", NULL}}, two[2] = {{big, "big", "note"}, {small, "small", NULL}};
    dl_err e;
    dl_canvas *c1 = dl_viz_attribution_row(NULL, 4, 4, one, 1, NULL, &st, &e);
    cr_assert_not_null(c1, "%s", e.msg);
    dl_canvas *c2 = dl_viz_attribution_row(NULL, 4, 4, two, 2, "caption", &st, &e);
    cr_assert_not_null(c2, "%s", e.msg);
    dl_rgb red = dl_cmap_diverging(1.0f, 1.0f), blue = dl_cmap_diverging(-1.0f, 1.0f);
    int r1 = count_color(c1, red), r2 = count_color(c2, red);
    cr_assert(r1 >= 16, "the largest value is not darkest red (%d pixels)", r1);
    cr_assert_eq(r2, 2 * r1, "red: one panel %d, two panels %d", r1, r2);
    cr_assert_eq(count_color(c2, blue), 2 * count_color(c1, blue));
    dl_canvas_free(c1);
    dl_canvas_free(c2);
    /* With the input first, and the built-in font. */
    float x[16] = {0};
    x[5] = 1.0f;
    dl_canvas *c3 = dl_viz_attribution_row(x, 4, 4, two, 2, NULL, &st, &e);
    cr_assert_not_null(c3, "%s", e.msg);
    cr_assert(c3->w > 3 * 16);
    dl_canvas_free(c3);
}

Test(explain, neuron_card_and_maximize_picture_draw)
{
    int sizes[] = {4, 2, 2};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 2, 2, &e);
    cr_assert_not_null(m, "%s", e.msg);
    dl_net *n = decider_net();
    memcpy(m->net->params, n->params, n->nparams * sizeof(float));
    dl_dataset *d = decider_data();
    dl_neuron_stats s;
    cr_assert_eq(dl_neuron_stats_compute(m->net, d, 1, 0, 4, &s, &e), DL_OK, "%s", e.msg);
    dl_viz_style st = {NULL, 8};
    dl_canvas *c = dl_viz_neuron_card(m, d, &s, &st, &e);
    cr_assert_not_null(c, "%s", e.msg);
    cr_assert(c->w >= 600 && c->h >= 200, "%dx%d", c->w, c->h);
    dl_canvas_free(c);
    float x[4] = {0, 0.5f, 1, 0};
    c = dl_viz_maximize_picture(x, 2, 2, "title", NULL, &st, &e);
    cr_assert_not_null(c, "%s", e.msg);
    dl_canvas_free(c);
    dl_neuron_stats_free(&s);
    dl_dataset_free(d);
    dl_net_free(n);
    dl_model_free(m);
}
