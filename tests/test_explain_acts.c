/* test_explain_acts.c — explanations of networks that are not all sigmoid:
 * tanh and ReLU hidden layers, softmax outputs.  Each attribution keeps its
 * defining property (gradient = finite differences, integrated gradients'
 * completeness, LRP's conservation, of the logit for a softmax); neuron
 * statistics say "saturated" in each activation's terms (a ReLU is off, or
 * dead); a whole layer's statistics agree with one neuron's. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/explain.h"
#include "digitlens/model.h"
#include "digitlens/viz_explain.h"
#include "support/train_fixture.h"

TestSuite(explain_acts);

static dl_net *act_net(int nl, const int *sizes, dl_act hidden, dl_act output, uint64_t seed)
{
    dl_net *n = tf_net(nl, sizes, seed);
    tf_set_acts(n, &(tf_ch3){hidden, output, 0.0f, 0.0f});
    return n;
}

static void uniform(float *x, int n, uint64_t seed)
{
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) x[i] = (float)dl_rng_uniform(&r);
}

static float y_of(const dl_net *n, const float *x, int c)
{
    dl_trace *t = dl_trace_new(n, NULL);
    float y = dl_net_forward(n, x, t)[c];
    dl_trace_free(t);
    return y;
}

static const dl_act HIDDEN[] = {DL_ACT_SIGMOID, DL_ACT_TANH, DL_ACT_RELU};
static const dl_act OUTPUT[] = {DL_ACT_SIGMOID, DL_ACT_SOFTMAX};

/* The gradient method is ∂y_c/∂x, through a softmax's Jacobian too:
 * central differences of the float forward pass agree. */
Test(explain_acts, the_gradient_is_the_derivative_of_the_output_for_every_activation)
{
    int sizes[] = {12, 8, 4};
    for (int h = 0; h < 3; h++)
        for (int o = 0; o < 2; o++) {
            dl_net *n = act_net(3, sizes, HIDDEN[h], OUTPUT[o], 3 + (uint64_t)h);
            float x[12], g[12];
            uniform(x, 12, 9);
            dl_attr_opts opt = dl_attr_opts_defaults(3, 4);
            for (int c = 0; c < 4; c++) {
                cr_assert_eq(dl_explain_attribution(n, DL_ATTR_GRADIENT, c, x, &opt, g, NULL, NULL), DL_OK);
                for (int i = 0; i < 12; i++) {
                    float keep = x[i], hh = 1e-2f;
                    x[i] = keep + hh;
                    double up = y_of(n, x, c);
                    x[i] = keep - hh;
                    double dn = y_of(n, x, c);
                    x[i] = keep;
                    double fd = (up - dn) / (2.0 * hh);
                    cr_expect(fabs(g[i] - fd) < 2e-3 + 2e-2 * fabs(fd), "%s/%s output %d pixel %d: %g vs %g",
                              dl_act_name(HIDDEN[h]), dl_act_name(OUTPUT[o]), c, i, g[i], fd);
                }
            }
            dl_net_free(n);
        }
}

/* Completeness: Σ attributions = y_c(x) − y_c(0) within 2% at 512 steps
 * (a ReLU's kinks make the path's integrand only piecewise smooth). */
Test(explain_acts, integrated_gradients_are_complete_for_every_activation)
{
    int sizes[] = {36, 10, 5};
    int checked = 0;
    for (int h = 0; h < 3; h++)
        for (int o = 0; o < 2; o++) {
            dl_net *n = act_net(3, sizes, HIDDEN[h], OUTPUT[o], 20 + (uint64_t)(3 * h + o));
            float x[36], a[36];
            uniform(x, 36, 21);
            dl_attr_opts opt = dl_attr_opts_defaults(6, 6);
            opt.steps = 512;
            for (int c = 0; c < 5; c++) {
                dl_attr_info info;
                cr_assert_eq(dl_explain_attribution(n, DL_ATTR_INTEGRATED_GRADIENTS, c, x, &opt, a, &info, NULL),
                             DL_OK);
                double diff = (double)info.output - info.baseline_output;
                if (fabs(diff) < 0.02) continue;
                checked++;
                cr_expect(fabs(info.completeness_gap) <= 0.02 * fabs(diff), "%s/%s output %d: gap %g of %g",
                          dl_act_name(HIDDEN[h]), dl_act_name(OUTPUT[o]), c, info.completeness_gap, diff);
            }
            dl_net_free(n);
        }
    cr_assert(checked >= 10, "only %d outputs moved enough to check", checked);
}

/* LRP conserves what it starts from: y_c, or for a softmax output the
 * logit z_c; with no biases and ε → 0 all of it reaches the input. */
Test(explain_acts, lrp_conserves_the_output_or_the_softmax_logit)
{
    int sizes[] = {25, 9, 6, 4};
    for (int h = 0; h < 3; h++)
        for (int o = 0; o < 2; o++) {
            dl_net *n = act_net(4, sizes, HIDDEN[h], OUTPUT[o], 40 + (uint64_t)(3 * h + o));
            float x[25], a[25];
            uniform(x, 25, 41);
            dl_attr_opts opt = dl_attr_opts_defaults(5, 5);
            opt.epsilon = 0.3f;
            dl_trace *t = dl_trace_new(n, NULL);
            dl_net_forward(n, x, t);
            for (int c = 0; c < 4; c++) {
                dl_attr_info info;
                dl_err e;
                cr_assert_eq(dl_explain_attribution(n, DL_ATTR_LRP, c, x, &opt, a, &info, &e), DL_OK, "%s", e.msg);
                float want = OUTPUT[o] == DL_ACT_SOFTMAX ? t->z[3][c] : t->a[3][c];
                cr_expect_eq(info.lrp_start, want, "%s/%s: LRP starts from %g", dl_act_name(HIDDEN[h]),
                             dl_act_name(OUTPUT[o]), info.lrp_start);
                double total = info.sum + info.bias_relevance + info.eps_relevance;
                cr_expect(fabs(total - want) < 1e-5 * (1 + fabs(want)), "%s/%s output %d: %g, not %g",
                          dl_act_name(HIDDEN[h]), dl_act_name(OUTPUT[o]), c, total, (double)want);
            }
            /* No biases, ε tiny: the input gets everything.  (The output
             * whose z is furthest from 0: z comes from the float pass and
             * the shares are summed in double, so a z near 0 would magnify
             * float rounding, not test the rule.) */
            for (int l = 0; l < 3; l++) memset(n->b[l], 0, (size_t)sizes[l + 1] * sizeof(float));
            opt.epsilon = 1e-7f;
            dl_net_forward(n, x, t);
            int far = 0;
            for (int c = 1; c < 4; c++)
                if (fabsf(t->z[3][c]) > fabsf(t->z[3][far])) far = c;
            dl_trace_free(t);
            dl_attr_info info;
            cr_assert_eq(dl_explain_attribution(n, DL_ATTR_LRP, far, x, &opt, a, &info, NULL), DL_OK);
            cr_expect(fabs(info.sum - info.lrp_start) <= 1e-3 * fabs(info.lrp_start) + 1e-6, "%s/%s: %g of %g",
                      dl_act_name(HIDDEN[h]), dl_act_name(OUTPUT[o]), info.sum, (double)info.lrp_start);
            dl_net_free(n);
        }
}

/* Maximising a softmax class raises its logit (and its probability) from
 * the blank start, through ReLU and tanh layers alike. */
Test(explain_acts, maximizing_a_softmax_class_raises_its_logit)
{
    int sizes[] = {16, 8, 3};
    for (int h = 1; h < 3; h++) {
        dl_net *n = act_net(3, sizes, HIDDEN[h], DL_ACT_SOFTMAX, 60 + (uint64_t)h);
        float x[16], blank[16] = {0};
        dl_maximize_opts mo = dl_maximize_opts_defaults(4, 4);
        mo.l2 = 0.0f;
        dl_maximize_info info;
        cr_assert_eq(dl_explain_maximize(n, 2, 1, &mo, x, &info, NULL), DL_OK);
        dl_trace *t = dl_trace_new(n, NULL);
        dl_net_forward(n, blank, t);
        float z0 = t->z[2][1];
        cr_expect(info.z > z0, "%s: logit %g, from %g", dl_act_name(HIDDEN[h]), info.z, z0);
        cr_expect(info.activation >= info.start_activation);
        for (int i = 0; i < 16; i++) cr_expect(x[i] >= 0.0f && x[i] <= 1.0f);
        dl_trace_free(t);
        dl_net_free(n);
    }
}

/* ---- neuron statistics ----------------------------------------------------- */

/* 2 hidden units over one pixel: unit 0 = act(20·x − 10) swings across its
 * range, unit 1 = act(−1) is constant (a dead ReLU: never positive). */
static dl_net *two_units(dl_act hidden)
{
    int sizes[] = {1, 2, 2};
    dl_net *n = dl_net_new(3, sizes, NULL);
    n->w[0][0] = 20.0f;
    n->b[0][0] = -10.0f;
    n->w[0][1] = 0.0f;
    n->b[0][1] = -1.0f;
    n->w[1][0] = 1.0f;
    n->w[1][1] = 0.5f;
    n->w[1][2] = -1.0f;
    n->w[1][3] = 0.5f;
    n->b[1][0] = 0.0f;
    n->b[1][1] = 0.0f;
    n->act[0] = hidden;
    n->act[1] = DL_ACT_SOFTMAX;
    return n;
}

/* Pixels 0, 255, 255, 0, 128, 255 (x = 0, 1, 1, 0, 0.502, 1). */
static dl_dataset *six(void)
{
    dl_dataset *d = dl_dataset_new(6, 1, 1, NULL);
    const uint8_t px[6] = {0, 255, 255, 0, 128, 255}, lab[6] = {1, 0, 0, 1, 0, 0};
    memcpy(d->pixels, px, 6);
    memcpy(d->labels, lab, 6);
    return d;
}

Test(explain_acts, a_relu_is_off_or_dead_rather_than_saturated)
{
    dl_net *n = two_units(DL_ACT_RELU);
    dl_dataset *d = six();
    dl_neuron_stats s;
    dl_err e;
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 0, 3, &s, &e), DL_OK, "%s", e.msg);
    /* z = −10 at x = 0 (off), +10 at 1, ≈0.04 at 128/255 (on, barely). */
    cr_expect_eq(s.act, DL_ACT_RELU);
    cr_expect_float_eq(s.saturated_low, 2 / 6.0, 1e-6);
    cr_expect_eq(s.saturated_high, 0.0f, "a ReLU does not saturate above");
    cr_expect_eq(s.dead, 0);
    cr_expect_float_eq(s.top_act[0], 10.0, 1e-5);
    char line[96], detail[96];
    dl_viz_saturation_text(&s, line, sizeof line, detail, sizeof detail);
    cr_expect_str_eq(line, "off (0) on 33.33% of inputs");
    cr_expect_str_eq(detail, "");
    dl_neuron_stats_free(&s);
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 1, 3, &s, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(s.dead, 1, "never positive");
    cr_expect_eq(s.saturated_low, 1.0f);
    cr_expect_eq(s.mean, 0.0f);
    cr_expect_float_eq(s.ablation_drop, 0.0, 1e-12, "a dead unit passes nothing on");
    dl_viz_saturation_text(&s, line, sizeof line, detail, sizeof detail);
    cr_expect_str_eq(line, "dead: never positive on these inputs");
    dl_neuron_stats_free(&s);
    dl_dataset_free(d);
    dl_net_free(n);
}

Test(explain_acts, a_tanh_saturates_below_minus_0_99)
{
    dl_net *n = two_units(DL_ACT_TANH);
    dl_dataset *d = six();
    dl_neuron_stats s;
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 0, 3, &s, NULL), DL_OK);
    /* tanh(±10) = ±1: 3 above 0.99, 2 below −0.99, tanh(0.04) neither. */
    cr_expect_float_eq(s.saturated_high, 3 / 6.0, 1e-6);
    cr_expect_float_eq(s.saturated_low, 2 / 6.0, 1e-6);
    cr_expect_eq(s.dead, 0);
    char line[96], detail[96];
    dl_viz_saturation_text(&s, line, sizeof line, detail, sizeof detail);
    cr_expect_str_eq(line, "saturated on 83.33% of inputs");
    cr_expect_str_eq(detail, "above 0.99: 50.00%,  below -0.99: 33.33%");
    dl_neuron_stats_free(&s);
    /* tanh(−1) ≈ −0.76: not saturated. */
    cr_assert_eq(dl_neuron_stats_compute(n, d, 1, 1, 3, &s, NULL), DL_OK);
    cr_expect_eq(s.saturated, 0.0f);
    dl_neuron_stats_free(&s);
    dl_dataset_free(d);
    dl_net_free(n);
}

/* The whole layer from the stored pass agrees with one neuron at a time,
 * for each hidden activation under a softmax. */
Test(explain_acts, layer_statistics_agree_with_one_neuron_for_every_activation)
{
    int sizes[] = {16, 7, 5, 3};
    dl_dataset *d = dl_dataset_new(300, 4, 4, NULL);
    dl_rng r;
    dl_rng_seed(&r, 77);
    for (size_t i = 0; i < d->n * 16; i++) d->pixels[i] = dl_rng_uniform(&r) < 0.6 ? 0 : (uint8_t)dl_rng_below(&r, 256);
    for (size_t i = 0; i < d->n; i++) d->labels[i] = (uint8_t)dl_rng_below(&r, 3);
    for (int h = 0; h < 3; h++) {
        dl_net *n = act_net(4, sizes, HIDDEN[h], DL_ACT_SOFTMAX, 80 + (uint64_t)h);
        for (int layer = 1; layer <= 2; layer++) {
            int H = sizes[layer];
            dl_neuron_stats all[7];
            dl_err e;
            cr_assert_eq(dl_neuron_stats_layer(n, d, layer, 5, 2, all, &e), DL_OK, "%s", e.msg);
            for (int j = 0; j < H; j++) {
                dl_neuron_stats one;
                cr_assert_eq(dl_neuron_stats_compute(n, d, layer, j, 5, &one, &e), DL_OK, "%s", e.msg);
                cr_expect(all[j].mean == one.mean && all[j].saturated_low == one.saturated_low &&
                              all[j].saturated_high == one.saturated_high && all[j].dead == one.dead &&
                              all[j].act == one.act && all[j].accuracy == one.accuracy,
                          "%s layer %d neuron %d", dl_act_name(HIDDEN[h]), layer, j);
                for (int t = 0; t < 5; t++) cr_expect_eq(all[j].top[t], one.top[t]);
                cr_expect(fabs(all[j].ablated_accuracy - one.ablated_accuracy) <= 2.0 / 300);
                dl_neuron_stats_free(&one);
                dl_neuron_stats_free(&all[j]);
            }
        }
        dl_net_free(n);
    }
    dl_dataset_free(d);
}

/* A ReLU/softmax model's neuron card draws and names the activation. */
Test(explain_acts, a_relu_neuron_card_draws)
{
    int sizes[] = {16, 6, 3};
    dl_model *m = dl_model_new(3, sizes, 4, 4, NULL);
    dl_rng r;
    dl_rng_seed(&r, 5);
    dl_net_init(m->net, DL_INIT_SCALED, &r);
    m->net->act[0] = DL_ACT_RELU;
    m->net->act[1] = DL_ACT_SOFTMAX;
    dl_dataset *d = dl_dataset_new(40, 4, 4, NULL);
    for (size_t i = 0; i < 40 * 16; i++) d->pixels[i] = (uint8_t)(i * 37 % 256);
    for (size_t i = 0; i < 40; i++) d->labels[i] = (uint8_t)(i % 3);
    dl_neuron_stats s;
    cr_assert_eq(dl_neuron_stats_compute(m->net, d, 1, 2, 4, &s, NULL), DL_OK);
    dl_viz_style st = {NULL, 4};
    dl_err e;
    dl_canvas *c = dl_viz_neuron_card(m, d, &s, &st, &e);
    cr_assert_not_null(c, "%s", e.msg);
    dl_canvas_free(c);
    dl_neuron_stats_free(&s);
    dl_dataset_free(d);
    dl_model_free(m);
}
