/* test_contrib.c — hidden votes add up to the output's z, a hand-built
 * model gives its known votes and conductance, --vs is antisymmetric,
 * conductance is complete on deeper nets, and the contributions picture
 * colours each neuron by the sign of its vote. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/contrib.h"
#include "digitlens/viz_contrib.h"
#include "support/support.h"

TestSuite(contrib);

/* The book's N(0, 1) weights: large enough to saturate, so the tests see sigmoids at work. */
static dl_net *random_net(int nl, const int *sizes, uint64_t seed) { return ts_random_net(nl, sizes, DL_INIT_NORMAL, seed); }

static dl_contrib *compute(const dl_net *n, int out, const float *x, int vs, int steps, const float *x0)
{
    dl_contrib_opts o = {vs, steps, x0};
    dl_err e;
    dl_contrib *c = dl_contrib_compute(n, out, x, &o, &e);
    cr_assert_not_null(c, "%s", e.msg);
    return c;
}

/* z of output c in double from the float parameters (an independent pass). */
static double z_double(const dl_net *n, const float *x, int c)
{
    double a[2][256];
    int cur = 0, L = n->nlayers - 1;
    for (int i = 0; i < n->sizes[0]; i++) a[0][i] = x[i];
    double z = 0.0;
    for (int l = 0; l < L; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        for (int j = 0; j < out; j++) {
            double s = n->b[l][j];
            for (int k = 0; k < in; k++) s += (double)n->w[l][j * in + k] * a[cur][k];
            if (l == L - 1 && j == c) z = s;
            a[1 - cur][j] = 1.0 / (1.0 + exp(-s));
        }
        cur = 1 - cur;
    }
    return z;
}

Test(contrib, votes_plus_bias_equal_z_to_float_rounding)
{
    int one[] = {64, 20, 5}, two[] = {64, 16, 12, 5};
    const int *nets[] = {one, two};
    int depth[] = {3, 4};
    float x[64];
    for (int k = 0; k < 2; k++) {
        dl_net *n = random_net(depth[k], nets[k], 40 + (uint64_t)k);
        for (int trial = 0; trial < 5; trial++) {
            ts_random_input(x, 64, 50 + (uint64_t)trial);
            for (int c = 0; c < 5; c++) {
                dl_contrib *r = compute(n, c, x, -1, 0, NULL);
                double abs_sum = fabs(r->bias);
                for (int j = 0; j < r->width; j++) {
                    cr_assert_eq(r->vote[j], r->weight[j] * r->activation[j]);
                    abs_sum += fabs(r->vote[j]);
                }
                /* The forward pass adds width + 1 floats: its rounding is
                 * at most width·ε·Σ|terms|; the votes' rounding adds ε each. */
                double bound = 2.0 * (r->width + 2) * FLT_EPSILON * abs_sum;
                cr_assert(fabs(r->vote_sum - r->z) <= bound, "Σ votes + b = %.9g, z = %.9g (bound %.3g)",
                          r->vote_sum, (double)r->z, bound);
                cr_assert(fabs(r->vote_sum - z_double(n, x, c)) <= bound + 1e-4 * abs_sum,
                          "Σ votes + b = %.9g, z in double %.9g", r->vote_sum, z_double(n, x, c));
                dl_contrib_free(r);
            }
        }
        dl_net_free(n);
    }
}

/* 2 inputs, 3 hidden, 2 outputs; hidden z's chosen so the activations are
 * exact: σ(ln 3) = 3/4, σ(0) = 1/2, σ(−ln 3) = 1/4 on x = (1, 0). */
static dl_net *hand_built(void)
{
    int sizes[] = {2, 3, 2};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    cr_assert_not_null(n);
    float l3 = logf(3.0f);
    float w1[] = {l3, 0, 0, 5, -l3, 0}, w2[] = {2, -4, 8, 1, 1, 1}, b2[] = {0.5f, 0};
    memcpy(n->w[0], w1, sizeof w1);
    memcpy(n->w[1], w2, sizeof w2);
    memcpy(n->b[1], b2, sizeof b2);
    return n;
}

Test(contrib, hand_built_model_has_the_known_votes)
{
    dl_net *n = hand_built();
    float x[] = {1, 0};
    dl_contrib *c = compute(n, 0, x, -1, 0, NULL);
    float want_a[] = {0.75f, 0.5f, 0.25f}, want_v[] = {1.5f, -2.0f, 2.0f};
    for (int j = 0; j < 3; j++) {
        cr_assert_float_eq(c->activation[j], want_a[j], 1e-6);
        cr_assert_float_eq(c->vote[j], want_v[j], 1e-5);
    }
    cr_assert_float_eq(c->bias, 0.5f, 0);
    cr_assert_float_eq(c->z, 2.0f, 1e-5);
    cr_assert_eq(c->layer, 1);
    cr_assert_eq(c->prev_act[0], 1.0f);
    int idx[3];
    cr_assert_eq(dl_contrib_rank(c->vote, 3, 3, 1, idx), 3);
    cr_assert(idx[0] == 2 && idx[1] == 0 && idx[2] == 1, "for: %d %d %d", idx[0], idx[1], idx[2]);
    cr_assert_eq(dl_contrib_rank(c->vote, 3, 1, 0, idx), 1);
    cr_assert_eq(idx[0], 1);
    dl_contrib_free(c);

    /* Why 0 and not 1: weights (1, −5, 7), bias 0.5, margin 2 − 1.5. */
    c = compute(n, 0, x, 1, 0, NULL);
    float want_vs[] = {0.75f, -2.5f, 1.75f};
    for (int j = 0; j < 3; j++) cr_assert_float_eq(c->vote[j], want_vs[j], 1e-5);
    cr_assert_float_eq(c->z, 0.5f, 1e-5);
    cr_assert_float_eq(c->z_class, 2.0f, 1e-5);
    cr_assert_float_eq(c->z_vs, 1.5f, 1e-5);
    dl_contrib_free(c);
    dl_net_free(n);
}

Test(contrib, hand_built_model_has_the_known_conductance)
{
    /* From black, a = (1/2, 1/2, 1/2) → (3/4, 1/2, 1/4): through the one
     * hidden layer the conductance is W2[0,j]·Δa_j = (0.5, 0, −2). */
    dl_net *n = hand_built();
    float x[] = {1, 0};
    dl_contrib *c = compute(n, 0, x, -1, 256, NULL);
    cr_assert_float_eq(c->conductance[1][0], 0.5f, 1e-4);
    cr_assert_eq(c->conductance[1][1], 0.0f, "a unit whose z never moves conducts exactly 0");
    cr_assert_float_eq(c->conductance[1][2], -2.0f, 1e-4);
    cr_assert_float_eq(c->z_baseline, 0.5f + 0.5f * (2 - 4 + 8), 1e-5);
    cr_assert(dl_contrib_relative_gap(c, 1) < 1e-4, "gap %g", c->gap[1]);
    dl_contrib_free(c);
    dl_net_free(n);
}

Test(contrib, vs_is_antisymmetric)
{
    int sizes[] = {64, 20, 6};
    dl_net *n = random_net(3, sizes, 61);
    float x[64];
    ts_random_input(x, 64, 62);
    for (int c = 0; c < 6; c++)
        for (int d = 0; d < 6; d++) {
            if (c == d) continue;
            dl_contrib *cd = compute(n, c, x, d, 0, NULL), *dc = compute(n, d, x, c, 0, NULL);
            dl_contrib *cc = compute(n, c, x, -1, 0, NULL), *dd = compute(n, d, x, -1, 0, NULL);
            /* Exactly: a − b = −(b − a) in IEEE arithmetic, and so is its product with a_j. */
            for (int j = 0; j < cd->width; j++) {
                cr_assert_eq(cd->vote[j], -dc->vote[j], "votes(%d vs %d)[%d]", c, d, j);
                cr_assert_float_eq(cd->vote[j], cc->vote[j] - dd->vote[j], 1e-5);
            }
            cr_assert_eq(cd->bias, -dc->bias);
            cr_assert_eq(cd->z, -dc->z);
            dl_contrib_free(cd), dl_contrib_free(dc), dl_contrib_free(cc), dl_contrib_free(dd);
        }
    dl_net_free(n);
}

static void check_complete(const dl_contrib *c, double tol)
{
    double diff = (double)c->z - c->z_baseline;
    for (int l = 1; l < c->nlayers - 1; l++) {
        cr_assert_float_eq(c->gap[l], c->cond_sum[l] - diff, 1e-9);
        cr_assert(fabs(c->gap[l]) <= tol * fabs(diff), "layer %d: Σ cond %.6g vs F(x) − F(x0) %.6g (%d steps)", l,
                  c->cond_sum[l], diff, c->steps);
    }
}

Test(contrib, conductance_is_complete_within_1_percent_at_256_steps_on_a_deeper_net)
{
    int deep[] = {64, 16, 12, 8, 4};
    dl_net *n = random_net(5, deep, 71);
    float x[64], x0[64];
    ts_random_input(x, 64, 72);
    for (int i = 0; i < 64; i++) x0[i] = 0.5f * x[(i * 7) % 64];
    int checked = 0;
    for (int c = 0; c < 4; c++) {
        dl_contrib *r = compute(n, c, x, -1, 256, NULL);
        if (fabs((double)r->z - r->z_baseline) > 0.05) {
            check_complete(r, 0.01);
            checked++;
        }
        dl_contrib_free(r);
        r = compute(n, c, x, (c + 1) % 4, 256, x0); /* a margin, from another baseline */
        if (fabs((double)r->z - r->z_baseline) > 0.05) {
            check_complete(r, 0.01);
            checked++;
        }
        dl_contrib_free(r);
    }
    cr_assert(checked >= 4, "test set-up: only %d outputs moved", checked);
    dl_net_free(n);
}

/* Every activation: tanh and ReLU hidden layers under a softmax output.
 * The votes split the logit z_C (before the softmax) exactly, and
 * conductance through tanh and ReLU units is complete; a tanh neuron near
 * −1 is not silent. */
Test(contrib, votes_and_conductance_hold_for_tanh_and_relu_under_a_softmax)
{
    int deep[] = {64, 16, 12, 4};
    const dl_act acts[] = {DL_ACT_TANH, DL_ACT_RELU};
    float x[64];
    ts_random_input(x, 64, 91);
    for (int a = 0; a < 2; a++) {
        dl_net *n = random_net(4, deep, 90 + (uint64_t)a);
        n->act[0] = n->act[1] = acts[a];
        n->act[2] = DL_ACT_SOFTMAX;
        int checked = 0;
        for (int c = 0; c < 4; c++) {
            dl_contrib *r = compute(n, c, x, -1, 512, NULL);
            double abs_sum = fabs(r->bias);
            for (int j = 0; j < r->width; j++) abs_sum += fabs(r->vote[j]);
            cr_assert(fabs(r->vote_sum - r->z) <= 2.0 * (r->width + 2) * FLT_EPSILON * abs_sum,
                      "%s: Σ votes + b = %.9g, logit %.9g", dl_act_name(acts[a]), r->vote_sum, (double)r->z);
            if (fabs((double)r->z - r->z_baseline) > 0.05) {
                check_complete(r, 0.02);
                checked++;
            }
            for (int j = 0; j < r->width; j++)
                if (acts[a] == DL_ACT_TANH && r->activation[j] < -0.5f) cr_assert(!dl_contrib_silent(r->activation[j]));
            dl_contrib_free(r);
        }
        cr_assert(checked >= 2, "%s: only %d outputs moved", dl_act_name(acts[a]), checked);
        dl_net_free(n);
    }
}

Test(contrib, conductance_gap_shrinks_with_more_steps)
{
    int deep[] = {64, 16, 12, 4};
    dl_net *n = random_net(4, deep, 81);
    float x[64];
    ts_random_input(x, 64, 82);
    dl_contrib *coarse = compute(n, 0, x, -1, 4, NULL), *fine = compute(n, 0, x, -1, 1024, NULL);
    for (int l = 1; l <= 2; l++)
        cr_assert(fabs(fine->gap[l]) < fabs(coarse->gap[l]) || fabs(fine->gap[l]) < 1e-6,
                  "layer %d: gap %g at 1024 steps, %g at 4", l, fine->gap[l], coarse->gap[l]);
    dl_contrib_free(coarse);
    dl_contrib_free(fine);
    dl_net_free(n);
}

Test(contrib, last_layer_conductance_is_the_change_of_its_votes)
{
    int deep[] = {64, 16, 12, 4};
    dl_net *n = random_net(4, deep, 91);
    float x[64], zero[64] = {0};
    ts_random_input(x, 64, 92);
    dl_contrib *c = compute(n, 2, x, -1, 512, NULL), *b = compute(n, 2, zero, -1, 0, NULL);
    cr_assert_eq(c->layer, 2);
    for (int j = 0; j < c->width; j++)
        cr_assert_float_eq(c->conductance[2][j], c->vote[j] - b->vote[j], 1e-3 * (1 + fabs(c->weight[j])),
                           "unit %d: %g vs %g", j, c->conductance[2][j], c->vote[j] - b->vote[j]);
    cr_assert_float_eq(c->z_baseline, b->z, 1e-6);
    dl_contrib_free(c);
    dl_contrib_free(b);
    dl_net_free(n);
}

Test(contrib, conductance_from_the_input_itself_is_zero)
{
    int deep[] = {16, 8, 6, 3};
    dl_net *n = random_net(4, deep, 93);
    float x[16];
    ts_random_input(x, 16, 94);
    dl_contrib *c = compute(n, 1, x, -1, 16, x);
    for (int l = 1; l <= 2; l++)
        for (int j = 0; j < deep[l]; j++) cr_assert_eq(c->conductance[l][j], 0.0f);
    cr_assert_eq(dl_contrib_relative_gap(c, 1), 0.0);
    dl_contrib_free(c);
    dl_net_free(n);
}

Test(contrib, refuses_what_it_cannot_explain)
{
    dl_err e;
    float x[64] = {0};
    int flat[] = {64, 10}, one[] = {64, 8, 4};
    dl_net *f = random_net(2, flat, 1), *n = random_net(3, one, 2);
    dl_contrib_opts o = dl_contrib_opts_defaults();
    cr_assert_null(dl_contrib_compute(f, 0, x, &o, &e));
    cr_assert_eq(e.code, DL_EINVAL);
    cr_assert(strstr(e.msg, "no hidden layer"), "%s", e.msg);
    cr_assert_null(dl_contrib_compute(n, 4, x, &o, &e));
    cr_assert(strstr(e.msg, "output 4 is out of range (0..3)"), "%s", e.msg);
    o.vs = 2;
    cr_assert_null(dl_contrib_compute(n, 2, x, &o, &e));
    cr_assert(strstr(e.msg, "rival output 2 is the output explained"), "%s", e.msg);
    o.vs = 9;
    cr_assert_null(dl_contrib_compute(n, 2, x, &o, &e));
    cr_assert(strstr(e.msg, "rival output 9 is out of range"), "%s", e.msg);
    o.vs = -1;
    o.steps = -1;
    cr_assert_null(dl_contrib_compute(n, 2, x, &o, &e));
    cr_assert(strstr(e.msg, "steps"), "%s", e.msg);
    dl_net_free(f);
    dl_net_free(n);
}

Test(contrib, rank_breaks_ties_by_the_lower_index)
{
    float v[] = {1, 3, 3, -2, 0, -2};
    int idx[6];
    cr_assert_eq(dl_contrib_rank(v, 6, 3, 1, idx), 3);
    cr_assert(idx[0] == 1 && idx[1] == 2 && idx[2] == 0);
    cr_assert_eq(dl_contrib_rank(v, 6, 10, 0, idx), 6);
    int want[] = {3, 5, 4, 0, 1, 2};
    for (int i = 0; i < 6; i++) cr_assert_eq(idx[i], want[i], "place %d: %d", i, idx[i]);
    cr_assert_eq(dl_contrib_rank(v, 6, 0, 1, idx), 0);
}

/* ---- pictures ------------------------------------------------------------ */

static int count_rgb(const dl_canvas *c, dl_rgb v)
{
    int n = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            dl_rgb p = dl_canvas_get(c, x, y);
            n += p.r == v.r && p.g == v.g && p.b == v.b;
        }
    return n;
}

Test(contrib, neuron_grid_colours_each_cell_by_sign_and_writes_its_index)
{
    dl_font *f = dl_font_default(NULL);
    dl_viz_style st = {f, 4};
    float v[5] = {2, -2, 0, 1, -1}; /* 5 neurons: a 2x3 grid, the last cell unused */
    dl_canvas *c = dl_canvas_new(3 * 30, 2 * 30, DL_RGB(0, 0, 0), NULL);
    dl_viz_neuron_grid(c, 0, 0, v, 5, 30, dl_scale_diverging(2), &st);
    dl_rgb red = dl_canvas_get(c, 2, 2), blue = dl_canvas_get(c, 32, 2), white = dl_canvas_get(c, 62, 2);
    cr_assert(red.r > red.b && blue.b > blue.r, "cell 0 (%d,%d,%d), cell 1 (%d,%d,%d)", red.r, red.g, red.b, blue.r,
              blue.g, blue.b);
    cr_assert(white.r == 255 && white.g == 255 && white.b == 255, "a zero vote is white");
    dl_rgb grey = dl_canvas_get(c, 75, 45);
    cr_assert(grey.r == DL_RGB_NAN.r && grey.g == DL_RGB_NAN.g, "the unused cell is grey");
    /* The index "2" is written in the white cell: some dark pixels at its centre. */
    int dark = 0;
    for (int y = 5; y < 25; y++)
        for (int x = 65; x < 85; x++) dark += dl_canvas_get(c, x, y).r < 128;
    cr_assert(dark > 3, "no index written in the white cell (%d dark pixels)", dark);
    dl_canvas_free(c);
    dl_font_free(f);
}

Test(contrib, contributions_picture_draws_for_one_and_two_hidden_layers)
{
    dl_err e;
    int one[] = {784, 20, 10}, two[] = {784, 16, 12, 10};
    const int *sizes[] = {one, two};
    dl_font *f = dl_font_default(NULL);
    dl_viz_style st = {f, 2};
    float x[784];
    ts_random_input(x, 784, 5);
    int heights[2];
    for (int k = 0; k < 2; k++) {
        dl_model *m = dl_model_new(k + 3, sizes[k], 28, 28, &e);
        cr_assert_not_null(m, "%s", e.msg);
        dl_rng r;
        dl_rng_seed(&r, 9);
        dl_net_init(m->net, DL_INIT_NORMAL, &r);
        memcpy(m->init_params, m->net->params, m->net->nparams * sizeof(float));
        dl_contrib *c = compute(m->net, 3, x, k ? 7 : -1, k ? 32 : 0, NULL);
        dl_canvas *pic = dl_viz_contrib_picture(m, x, c, 4, "caption", &st, &e);
        cr_assert_not_null(pic, "%s", e.msg);
        /* Red (for) and blue (against) bars both appear in the chart. */
        cr_assert(count_rgb(pic, DL_RGB(202, 59, 52)) > 50 && count_rgb(pic, DL_RGB(48, 104, 176)) > 50);
        heights[k] = pic->h;
        dl_canvas_free(pic);
        cr_assert_null(dl_viz_contrib_picture(m, x, c, 0, NULL, &st, &e));
        cr_assert_eq(e.code, DL_EINVAL);
        dl_contrib_free(c);
        dl_model_free(m);
    }
    cr_assert(heights[0] > 300 && heights[1] > 300, "%d %d", heights[0], heights[1]);
    dl_font_free(f);
}

Test(contrib, shaded_activation_picture_and_notes)
{
    dl_err e;
    int sizes[] = {784, 16, 10};
    dl_model *m = dl_model_new(3, sizes, 28, 28, &e);
    cr_assert_not_null(m, "%s", e.msg);
    dl_viz_style st = {NULL, 2};
    float x[784], shade[16];
    ts_random_input(x, 784, 6);
    for (int j = 0; j < 16; j++) shade[j] = j < 8 ? 1.0f : -1.0f;
    dl_canvas *plain = dl_viz_activation_picture(m, x, &st, &e);
    dl_canvas *sh = dl_viz_activation_picture_shaded(m, x, shade, "votes", "vote", &st, &e);
    cr_assert(plain && sh, "%s", e.msg);
    cr_assert_eq(plain->w, sh->w);
    cr_assert(memcmp(plain->px, sh->px, (size_t)plain->w * plain->h * 3) != 0);
    /* All-zero weights give every neuron a = 1/2: viridis, never the diverging red. */
    dl_rgb red = dl_scale_color(dl_scale_diverging(1), 1);
    cr_assert(count_rgb(sh, red) > 100 && count_rgb(plain, red) == 0);
    const char *lines[] = {"one note", "and a much longer second note that is wider than the picture itself, surely"};
    dl_canvas *n = dl_viz_add_notes(plain, lines, 2, &st, &e);
    cr_assert_not_null(n);
    cr_assert(n->h > plain->h && n->w >= plain->w);
    dl_canvas_free(n);
    dl_canvas_free(plain);
    dl_canvas_free(sh);
    dl_model_free(m);
}
