/* test_embed.c — the embed room's properties and known answers: exact
 * neighbours, PCA on a hand-built matrix, the perplexity calibration, the
 * symmetric P, the Barnes–Hut gradient against the exact one, t-SNE's
 * behaviour (KL falls, clusters stay apart, the same seed gives the same
 * map for any thread count), trustworthiness against a direct
 * implementation, and 1-NN / class-mean accuracy on hand-built data. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/embed.h"
#include "digitlens/rng.h"

TestSuite(embed);

static float *random_points(size_t n, int d, uint64_t seed, double scale)
{
    float *X = malloc(n * (size_t)d * sizeof(float));
    cr_assert_not_null(X);
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n * (size_t)d; i++) X[i] = (float)(scale * dl_rng_normal(&r));
    return X;
}

/* c clusters of n/c points in d dimensions, centres `sep` apart on the
 * axes, unit spread; labels[i] = cluster. */
static float *clusters(size_t n, int d, int c, double sep, uint64_t seed, uint8_t *labels)
{
    float *X = random_points(n, d, seed, 1.0);
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % (size_t)c);
        labels[i] = (uint8_t)k;
        X[i * (size_t)d + (size_t)(k % d)] += (float)(sep * (1 + k / d));
    }
    return X;
}

static double d2_double(const float *X, int d, size_t i, size_t j)
{
    double s = 0.0;
    for (int c = 0; c < d; c++) {
        double t = (double)X[i * (size_t)d + (size_t)c] - X[j * (size_t)d + (size_t)c];
        s += t * t;
    }
    return s;
}

/* ---- nearest neighbours ------------------------------------------------------ */

Test(embed, knn_matches_brute_force_with_ties_to_the_lower_index)
{
    /* Small integer coordinates: every distance is exact in float, and
     * there are many ties, so the order is fully determined. */
    size_t n = 150;
    int d = 19, k = 9;
    float *X = malloc(n * (size_t)d * sizeof(float));
    dl_rng r;
    dl_rng_seed(&r, 5);
    for (size_t i = 0; i < n * (size_t)d; i++) X[i] = (float)dl_rng_below(&r, 3);
    uint32_t *idx = malloc(n * (size_t)k * sizeof(uint32_t));
    float *d2 = malloc(n * (size_t)k * sizeof(float));
    dl_err e;
    cr_assert_eq(dl_embed_knn(X, n, d, k, 2, idx, d2, &e), DL_OK, "%s", e.msg);
    for (size_t i = 0; i < n; i++) {
        /* The reference: all others sorted by (distance, index). */
        uint32_t prev = UINT32_MAX;
        double prevd = -1.0;
        for (int a = 0; a < k; a++) {
            uint32_t j = idx[i * (size_t)k + (size_t)a];
            double dj = d2_double(X, d, i, j);
            cr_assert_neq(j, (uint32_t)i);
            cr_assert_float_eq(d2[i * (size_t)k + (size_t)a], dj, 1e-6);
            cr_assert(dj > prevd || (dj == prevd && j > prev), "row %zu not ordered at %d", i, a);
            /* Nothing left out orders before the last one kept. */
            prev = j;
            prevd = dj;
        }
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            double dj = d2_double(X, d, i, j);
            int kept = 0;
            for (int a = 0; a < k; a++) kept |= idx[i * (size_t)k + (size_t)a] == j;
            if (!kept) cr_assert(dj > prevd || (dj == prevd && j > prev), "row %zu misses %zu", i, j);
        }
    }
    free(d2);
    free(idx);
    free(X);
}

Test(embed, knn_is_the_same_for_any_thread_count)
{
    size_t n = 300;
    int d = 33, k = 12;
    float *X = random_points(n, d, 9, 1.0);
    uint32_t *a = malloc(n * (size_t)k * sizeof(uint32_t)), *b = malloc(n * (size_t)k * sizeof(uint32_t));
    float *da = malloc(n * (size_t)k * sizeof(float)), *db = malloc(n * (size_t)k * sizeof(float));
    dl_err e;
    cr_assert_eq(dl_embed_knn(X, n, d, k, 1, a, da, &e), DL_OK);
    cr_assert_eq(dl_embed_knn(X, n, d, k, 3, b, db, &e), DL_OK);
    cr_assert_eq(memcmp(a, b, n * (size_t)k * sizeof(uint32_t)), 0);
    cr_assert_eq(memcmp(da, db, n * (size_t)k * sizeof(float)), 0);
    free(a);
    free(b);
    free(da);
    free(db);
    free(X);
}

Test(embed, knn_refuses_bad_arguments_with_a_message)
{
    float X[6] = {0, 1, 2, 3, 4, 5};
    uint32_t idx[6];
    float d2[6];
    dl_err e;
    cr_assert_eq(dl_embed_knn(X, 3, 2, 3, 1, idx, d2, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "k = 3") != NULL, "%s", e.msg);
    X[3] = NAN;
    cr_assert_eq(dl_embed_knn(X, 3, 2, 1, 1, idx, d2, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "point 1") != NULL, "%s", e.msg);
}

/* ---- PCA ----------------------------------------------------------------------- */

Test(embed, pca_of_a_hand_built_matrix_has_the_known_answer)
{
    /* x = mean + a·u + b·v with a in -3..3, b = ±1 (14 points): the
     * variances along u and v are Σa²/13 = 56/13 and 14/13, so PC1 = u
     * explains 0.8 of the total, PC2 = v 0.2, and the coordinates are (a, b). */
    const float u[4] = {0.6f, 0.8f, 0.0f, 0.0f}, v[4] = {0.8f, -0.6f, 0.0f, 0.0f}, mean[4] = {5, -3, 2, 7};
    float X[14 * 4];
    int a[14], b[14];
    for (int i = 0; i < 14; i++) {
        a[i] = i / 2 - 3;
        b[i] = i % 2 ? 1 : -1;
        for (int c = 0; c < 4; c++) X[i * 4 + c] = mean[c] + a[i] * u[c] + b[i] * v[c];
    }
    dl_err e;
    dl_pca *p = dl_pca_fit(X, 14, 4, 2, 1, &e);
    cr_assert_not_null(p, "%s", e.msg);
    cr_assert_float_eq(p->variance[0], 56.0 / 13, 1e-5);
    cr_assert_float_eq(p->variance[1], 14.0 / 13, 1e-5);
    cr_assert_float_eq(p->total_variance, 70.0 / 13, 1e-5);
    cr_assert_float_eq(dl_pca_explained(p, 0), 0.8, 1e-6);
    cr_assert_float_eq(dl_pca_explained(p, 1), 0.2, 1e-6);
    for (int c = 0; c < 4; c++) {
        cr_assert_float_eq(p->mean[c], mean[c], 1e-5);
        cr_assert_float_eq(p->components[c], u[c], 1e-5); /* the sign rule: largest coordinate positive */
        cr_assert_float_eq(p->components[4 + c], v[c], 1e-5);
    }
    float Y[28];
    dl_pca_transform(p, X, 14, Y);
    for (int i = 0; i < 14; i++) {
        cr_assert_float_eq(Y[2 * i], a[i], 1e-4);
        cr_assert_float_eq(Y[2 * i + 1], b[i], 1e-4);
    }
    dl_pca_free(p);
}

Test(embed, pca_components_are_orthonormal_and_variances_ordered)
{
    size_t n = 500;
    int d = 37;
    float *X = random_points(n, d, 3, 1.0);
    for (size_t i = 0; i < n; i++) /* stretch some axes so the spectrum is not flat */
        for (int c = 0; c < 5; c++) X[i * (size_t)d + (size_t)c] *= (float)(6 - c);
    dl_err e;
    dl_pca *p = dl_pca_fit(X, n, d, 5, 2, &e);
    cr_assert_not_null(p, "%s", e.msg);
    for (int a = 0; a < 5; a++) {
        if (a) cr_assert(p->variance[a] <= p->variance[a - 1]);
        for (int b = 0; b < 5; b++) {
            double s = 0.0;
            for (int c = 0; c < d; c++) s += (double)p->components[a * d + c] * p->components[b * d + c];
            cr_assert_float_eq(s, a == b ? 1.0 : 0.0, 1e-5);
        }
    }
    /* The trace equals the sum of the per-coordinate sample variances. */
    double tr = 0.0;
    for (int c = 0; c < d; c++) {
        double m = 0.0, v = 0.0;
        for (size_t i = 0; i < n; i++) m += X[i * (size_t)d + (size_t)c];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) v += (X[i * (size_t)d + (size_t)c] - m) * (X[i * (size_t)d + (size_t)c] - m);
        tr += v / (double)(n - 1);
    }
    cr_assert_float_eq(p->total_variance, tr, 1e-3 * tr);
    dl_pca_free(p);
    free(X);
}

/* ---- affinities ------------------------------------------------------------------ */

Test(embed, perplexity_calibration_reaches_its_target_entropy)
{
    size_t n = 400;
    int k = 45;
    double perp = 15.0;
    float *d2 = malloc(n * (size_t)k * sizeof(float)), *p = malloc(n * (size_t)k * sizeof(float));
    double *beta = malloc(n * sizeof(double));
    dl_rng r;
    dl_rng_seed(&r, 11);
    /* Sorted distances on wildly different scales per point. */
    for (size_t i = 0; i < n; i++) {
        double scale = pow(10.0, 4.0 * dl_rng_uniform(&r) - 2.0), acc = 0.0;
        for (int j = 0; j < k; j++) d2[i * (size_t)k + (size_t)j] = (float)(scale * (acc += dl_rng_uniform(&r)));
    }
    dl_err e;
    cr_assert_eq(dl_tsne_affinities(d2, n, k, perp, 2, p, beta, &e), DL_OK, "%s", e.msg);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0, H = 0.0;
        for (int j = 0; j < k; j++) {
            double q = p[i * (size_t)k + (size_t)j];
            s += q;
            if (q > 0) H -= q * log(q);
        }
        cr_assert_float_eq(s, 1.0, 1e-5, "row %zu sums to %g", i, s);
        cr_assert_float_eq(H, log(perp), 1e-4, "row %zu: entropy %g, target %g", i, H, log(perp));
        cr_assert(beta[i] > 0);
    }
    free(beta);
    free(p);
    free(d2);
}

Test(embed, affinities_do_not_depend_on_the_distance_scale)
{
    int k = 20;
    float d2[20], big[20], p1[20], p2[20];
    for (int j = 0; j < k; j++) {
        d2[j] = 0.5f + 0.25f * j;
        big[j] = d2[j] * 1000.0f;
    }
    double b1, b2;
    dl_err e;
    cr_assert_eq(dl_tsne_affinities(d2, 1, k, 6.0, 1, p1, &b1, &e), DL_OK);
    cr_assert_eq(dl_tsne_affinities(big, 1, k, 6.0, 1, p2, &b2, &e), DL_OK);
    cr_assert_float_eq(b1 / b2, 1000.0, 1e-2);
    for (int j = 0; j < k; j++) cr_assert_float_eq(p1[j], p2[j], 1e-5);
    cr_assert_eq(dl_tsne_affinities(d2, 1, k, 20.0, 1, p1, &b1, &e), DL_EINVAL, "perplexity = k cannot be reached");
}

Test(embed, joint_affinities_are_symmetric_and_sum_to_one)
{
    size_t n = 200;
    int d = 6, k = 15;
    float *X = random_points(n, d, 21, 1.0);
    uint32_t *idx = malloc(n * (size_t)k * sizeof(uint32_t));
    float *d2 = malloc(n * (size_t)k * sizeof(float)), *p = malloc(n * (size_t)k * sizeof(float));
    dl_err e;
    cr_assert_eq(dl_embed_knn(X, n, d, k, 1, idx, d2, &e), DL_OK);
    cr_assert_eq(dl_tsne_affinities(d2, n, k, 5.0, 1, p, NULL, &e), DL_OK);
    dl_sparse *P = dl_tsne_joint(idx, p, n, k, &e);
    cr_assert_not_null(P, "%s", e.msg);
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t q = P->rowptr[i]; q < P->rowptr[i + 1]; q++) {
            uint32_t j = P->col[q];
            cr_assert_neq(j, (uint32_t)i);
            if (q > P->rowptr[i]) cr_assert(P->col[q - 1] < j, "columns ascending");
            total += P->val[q];
            /* P_ji exists and is equal, and equals (p(j|i) + p(i|j)) / 2n. */
            size_t t = P->rowptr[j];
            while (t < P->rowptr[j + 1] && P->col[t] != i) t++;
            cr_assert(t < P->rowptr[j + 1]);
            cr_assert_float_eq(P->val[t], P->val[q], 1e-9);
            double pji = 0.0, pij = 0.0;
            for (int a = 0; a < k; a++) {
                if (idx[i * (size_t)k + (size_t)a] == j) pij = p[i * (size_t)k + (size_t)a];
                if (idx[(size_t)j * (size_t)k + (size_t)a] == i) pji = p[(size_t)j * (size_t)k + (size_t)a];
            }
            cr_assert_float_eq(P->val[q], (pij + pji) / (2.0 * n), 1e-7);
        }
    cr_assert_float_eq(total, 1.0, 1e-5);
    dl_sparse_free(P);
    free(p);
    free(d2);
    free(idx);
    free(X);
}

/* ---- the gradient --------------------------------------------------------------- */

/* ∂KL/∂y and KL computed directly in double, O(n²). */
static void exact_gradient(const dl_sparse *P, const float *Y, double ex, double *g, double *kl)
{
    size_t n = P->n;
    double Z = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j) {
                double dx = (double)Y[2 * i] - Y[2 * j], dy = (double)Y[2 * i + 1] - Y[2 * j + 1];
                Z += 1.0 / (1.0 + dx * dx + dy * dy);
            }
    *kl = 0.0;
    for (size_t i = 0; i < n; i++) {
        double gx = 0.0, gy = 0.0;
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            double dx = (double)Y[2 * i] - Y[2 * j], dy = (double)Y[2 * i + 1] - Y[2 * j + 1];
            double w = 1.0 / (1.0 + dx * dx + dy * dy), pij = 0.0;
            for (size_t q = P->rowptr[i]; q < P->rowptr[i + 1]; q++)
                if (P->col[q] == j) pij = P->val[q];
            double f = 4.0 * (ex * pij - w / Z) * w;
            gx += f * dx;
            gy += f * dy;
            if (pij > 0) *kl += pij * log(pij / (w / Z));
        }
        g[2 * i] = gx;
        g[2 * i + 1] = gy;
    }
}

static dl_sparse *toy_P(size_t n, int d, double perp, uint64_t seed, float **Xout)
{
    int k = (int)(3 * perp);
    float *X = random_points(n, d, seed, 1.0);
    uint32_t *idx = malloc(n * (size_t)k * sizeof(uint32_t));
    float *d2 = malloc(n * (size_t)k * sizeof(float)), *p = malloc(n * (size_t)k * sizeof(float));
    dl_err e;
    cr_assert_eq(dl_embed_knn(X, n, d, k, 1, idx, d2, &e), DL_OK);
    cr_assert_eq(dl_tsne_affinities(d2, n, k, perp, 1, p, NULL, &e), DL_OK);
    dl_sparse *P = dl_tsne_joint(idx, p, n, k, &e);
    cr_assert_not_null(P);
    free(p);
    free(d2);
    free(idx);
    if (Xout) *Xout = X;
    else free(X);
    return P;
}

Test(embed, barnes_hut_gradient_matches_the_exact_one)
{
    size_t n = 240;
    dl_sparse *P = toy_P(n, 5, 8.0, 31, NULL);
    float *Y = random_points(n, 2, 32, 4.0), *g0 = malloc(2 * n * sizeof(float)), *g5 = malloc(2 * n * sizeof(float));
    double *ref = malloc(2 * n * sizeof(double)), klref, kl0, kl5;
    exact_gradient(P, Y, 3.0, ref, &klref);
    dl_err e;
    cr_assert_eq(dl_tsne_gradient(P, Y, 0.0, 3.0, 2, g0, &kl0, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_tsne_gradient(P, Y, 0.5, 3.0, 2, g5, &kl5, &e), DL_OK, "%s", e.msg);
    double norm = 0.0, err0 = 0.0, err5 = 0.0;
    for (size_t i = 0; i < 2 * n; i++) {
        norm += ref[i] * ref[i];
        err0 += (g0[i] - ref[i]) * (g0[i] - ref[i]);
        err5 += (g5[i] - ref[i]) * (g5[i] - ref[i]);
    }
    cr_assert(sqrt(err0 / norm) < 1e-4, "theta 0: relative error %g", sqrt(err0 / norm));
    cr_assert(sqrt(err5 / norm) < 2e-2, "theta 0.5: relative error %g", sqrt(err5 / norm));
    cr_assert_float_eq(kl0, klref, 1e-4 * fabs(klref));
    cr_assert_float_eq(kl5, klref, 1e-2 * fabs(klref));
    free(ref);
    free(g5);
    free(g0);
    free(Y);
    dl_sparse_free(P);
}

/* ---- t-SNE ------------------------------------------------------------------------ */

Test(embed, kl_divergence_falls_over_the_iterations)
{
    size_t n = 400;
    uint8_t lab[400];
    float *X = clusters(n, 8, 4, 3.0, 41, lab);
    dl_tsne_opts o = dl_tsne_defaults();
    o.perplexity = 10;
    o.iterations = 500;
    o.kl_every = 25;
    o.init = DL_TSNE_INIT_RANDOM;
    dl_tsne_result r;
    dl_err e;
    cr_assert_eq(dl_tsne(X, n, 8, &o, &r, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(r.nkl, 20);
    cr_assert_eq(r.kl_iteration[r.nkl - 1], 500);
    /* From the random start to the end, and through the second stage
     * (after exaggeration) each measurement is at most a hair above the last. */
    cr_assert(r.kl_history[r.nkl - 1] < 0.5 * r.kl_history[0], "KL %g -> %g", r.kl_history[0], r.kl_history[r.nkl - 1]);
    for (int i = 1; i < r.nkl; i++)
        if (r.kl_iteration[i - 1] >= 275)
            cr_assert(r.kl_history[i] <= r.kl_history[i - 1] * 1.001, "KL rose at %d: %g -> %g", r.kl_iteration[i],
                      r.kl_history[i - 1], r.kl_history[i]);
    cr_assert_float_eq(r.kl, r.kl_history[r.nkl - 1], 1e-12);
    dl_tsne_result_free(&r);
    free(X);
}

Test(embed, well_separated_clusters_come_out_separated)
{
    size_t n = 600;
    int d = 10;
    uint8_t lab[600];
    float *X = clusters(n, d, 5, 12.0, 51, lab);
    dl_tsne_opts o = dl_tsne_defaults();
    o.perplexity = 20;
    o.iterations = 400;
    o.threads = 2;
    dl_tsne_result r;
    dl_err e;
    cr_assert_eq(dl_tsne(X, n, d, &o, &r, &e), DL_OK, "%s", e.msg);
    double acc, t;
    cr_assert_eq(dl_embed_nn_accuracy(r.Y, n, 2, lab, 1, &acc, &e), DL_OK);
    cr_assert_float_eq(acc, 1.0, 1e-12, "1-NN accuracy on the map %g", acc);
    const float *maps[1] = {r.Y};
    cr_assert_eq(dl_embed_trustworthiness(X, n, d, maps, 1, 2, 10, 2, &t, &e), DL_OK);
    cr_assert(t > 0.9, "trustworthiness %g", t);
    /* Every cluster's points are nearer their own centre than any other's. */
    double cx[5] = {0}, cy[5] = {0};
    for (size_t i = 0; i < n; i++) {
        cx[lab[i]] += r.Y[2 * i] / (n / 5.0);
        cy[lab[i]] += r.Y[2 * i + 1] / (n / 5.0);
    }
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int c = 0; c < 5; c++) {
            double dd = pow(r.Y[2 * i] - cx[c], 2) + pow(r.Y[2 * i + 1] - cy[c], 2);
            if (dd < bd) {
                bd = dd;
                best = c;
            }
        }
        cr_assert_eq(best, lab[i], "point %zu lies nearer cluster %d than its own %d", i, best, lab[i]);
    }
    dl_tsne_result_free(&r);
    free(X);
}

Test(embed, same_seed_gives_the_same_map_for_any_thread_count)
{
    size_t n = 500;
    uint8_t lab[500];
    float *X = clusters(n, 7, 3, 4.0, 61, lab);
    dl_tsne_opts o = dl_tsne_defaults();
    o.perplexity = 12;
    o.iterations = 300;
    o.init = DL_TSNE_INIT_RANDOM;
    o.seed = 7;
    dl_tsne_result a, b, c, d;
    dl_err e;
    o.threads = 1;
    cr_assert_eq(dl_tsne(X, n, 7, &o, &a, &e), DL_OK);
    cr_assert_eq(dl_tsne(X, n, 7, &o, &b, &e), DL_OK);
    o.threads = 2;
    cr_assert_eq(dl_tsne(X, n, 7, &o, &c, &e), DL_OK);
    o.seed = 8;
    cr_assert_eq(dl_tsne(X, n, 7, &o, &d, &e), DL_OK);
    cr_assert_eq(memcmp(a.Y, b.Y, 2 * n * sizeof(float)), 0, "same seed, same threads");
    cr_assert_eq(memcmp(a.Y, c.Y, 2 * n * sizeof(float)), 0, "1 thread and 2 threads differ");
    cr_assert_eq(a.kl, c.kl);
    cr_assert_neq(memcmp(a.Y, d.Y, 2 * n * sizeof(float)), 0, "another seed should give another map");
    dl_tsne_result_free(&a);
    dl_tsne_result_free(&b);
    dl_tsne_result_free(&c);
    dl_tsne_result_free(&d);
    free(X);
}

Test(embed, pca_start_has_sd_1e4_along_pc1_and_is_reproducible)
{
    size_t n = 200;
    uint8_t lab[200];
    float *X = clusters(n, 5, 2, 6.0, 71, lab);
    dl_tsne_opts o = dl_tsne_defaults();
    o.perplexity = 8;
    o.iterations = 1;
    o.learning_rate = 1e-12; /* one negligible step: the map is the start */
    dl_tsne_result r, r2;
    dl_err e;
    cr_assert_eq(dl_tsne(X, n, 5, &o, &r, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_tsne(X, n, 5, &o, &r2, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(memcmp(r.Y, r2.Y, 2 * n * sizeof(float)), 0);
    double m[2] = {0, 0}, v[2] = {0, 0};
    for (size_t i = 0; i < 2 * n; i++) m[i % 2] += r.Y[i] / n;
    for (size_t i = 0; i < 2 * n; i++) v[i % 2] += (r.Y[i] - m[i % 2]) * (r.Y[i] - m[i % 2]) / n;
    cr_assert_float_eq(sqrt(v[0]), 1e-4, 1e-8, "sd of the first axis %g", sqrt(v[0]));
    cr_assert(v[1] < v[0], "PC2 spreads less than PC1");
    /* The two clusters lie apart along PC1. */
    double c0 = 0.0, c1 = 0.0;
    for (size_t i = 0; i < n; i++) *(lab[i] ? &c1 : &c0) += r.Y[2 * i] / (n / 2.0);
    cr_assert(fabs(c0 - c1) > 1.5e-4, "cluster centres %g and %g", c0, c1);
    dl_tsne_result_free(&r);
    dl_tsne_result_free(&r2);
    free(X);
}

Test(embed, tsne_refuses_too_few_points_for_the_perplexity)
{
    float X[40];
    for (int i = 0; i < 40; i++) X[i] = (float)i;
    dl_tsne_opts o = dl_tsne_defaults(); /* perplexity 30 needs 91 points */
    dl_tsne_result r;
    dl_err e;
    cr_assert_eq(dl_tsne(X, 20, 2, &o, &r, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "perplexity 30 needs at least 91 points") != NULL, "%s", e.msg);
    cr_assert_null(r.Y);
}

/* ---- trustworthiness, 1-NN, class means --------------------------------------------- */

/* Venna & Kaski's formula with full rankings, O(n² log n): the reference. */
static int g_i;
static const double *g_row;
static int by_dist(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (g_row[x] != g_row[y]) return g_row[x] < g_row[y] ? -1 : 1;
    return x - y;
}

static double trust_reference(const float *X, int d, const float *Y, size_t n, int k)
{
    double pen = 0.0, *dx = malloc(n * sizeof(double)), *dy = malloc(n * sizeof(double));
    int *ox = malloc(n * sizeof(int)), *oy = malloc(n * sizeof(int)), *rank = malloc(n * sizeof(int));
    for (size_t i = 0; i < n; i++) {
        g_i = (int)i;
        for (size_t j = 0; j < n; j++) {
            /* The library computes X's distances in float through the dot
             * product; with integer data both agree exactly. */
            dx[j] = d2_double(X, d, i, j);
            dy[j] = pow((double)Y[2 * i] - Y[2 * j], 2) + pow((double)Y[2 * i + 1] - Y[2 * j + 1], 2);
        }
        int m = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i) ox[m] = oy[m] = (int)j, m++;
        g_row = dx;
        qsort(ox, (size_t)m, sizeof(int), by_dist);
        g_row = dy;
        qsort(oy, (size_t)m, sizeof(int), by_dist);
        for (int r = 0; r < m; r++) rank[ox[r]] = r + 1;
        for (int a = 0; a < k; a++)
            if (rank[oy[a]] > k) pen += rank[oy[a]] - k;
    }
    free(dx);
    free(dy);
    free(ox);
    free(oy);
    free(rank);
    return 1.0 - 2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0)) * pen;
}

Test(embed, trustworthiness_matches_a_direct_implementation)
{
    size_t n = 120;
    int d = 6, k = 7;
    float *X = malloc(n * (size_t)d * sizeof(float)), *Y = random_points(n, 2, 82, 1.0);
    dl_rng r;
    dl_rng_seed(&r, 81);
    for (size_t i = 0; i < n * (size_t)d; i++) X[i] = (float)dl_rng_below(&r, 5);
    /* A map that keeps some of X's structure: its first two coordinates, jittered. */
    for (size_t i = 0; i < n; i++) {
        Y[2 * i] = X[i * (size_t)d] + 0.3f * Y[2 * i];
        Y[2 * i + 1] = X[i * (size_t)d + 1] + 0.3f * Y[2 * i + 1];
    }
    const float *maps[1] = {Y};
    double t;
    dl_err e;
    cr_assert_eq(dl_embed_trustworthiness(X, n, d, maps, 1, 2, k, 2, &t, &e), DL_OK, "%s", e.msg);
    double ref = trust_reference(X, d, Y, n, k);
    cr_assert_float_eq(t, ref, 1e-12, "trustworthiness %.12f, reference %.12f", t, ref);
    cr_assert(t > 0.5 && t < 1.0);
    free(Y);
    free(X);
}

Test(embed, trustworthiness_is_one_for_an_isometry_and_low_for_a_shuffle)
{
    /* Integer coordinates and a quarter turn: every distance is exact in
     * both spaces, so the neighbour orders agree to the last tie. */
    size_t n = 300;
    float *X = malloc(2 * n * sizeof(float)), *Y = malloc(2 * n * sizeof(float)), *S = malloc(2 * n * sizeof(float));
    dl_rng r;
    dl_rng_seed(&r, 91);
    for (size_t i = 0; i < 2 * n; i++) X[i] = (float)dl_rng_below(&r, 1000);
    for (size_t i = 0; i < n; i++) {
        Y[2 * i] = -X[2 * i + 1];
        Y[2 * i + 1] = X[2 * i];
    }
    uint32_t *perm = malloc(n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    dl_rng_shuffle(&r, perm, n);
    for (size_t i = 0; i < n; i++) {
        S[2 * i] = X[2 * perm[i]];
        S[2 * i + 1] = X[2 * perm[i] + 1];
    }
    const float *maps[2] = {Y, S};
    double t[2];
    dl_err e;
    cr_assert_eq(dl_embed_trustworthiness(X, n, 2, maps, 2, 2, 10, 1, t, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(t[0], 1.0, "isometric map: %.17g", t[0]);
    cr_assert(t[1] < 0.6, "shuffled map: %g", t[1]);
    free(perm);
    free(S);
    free(Y);
    free(X);
}

Test(embed, nearest_neighbour_accuracy_on_hand_built_points)
{
    /* On a line: 0, 1, 2 | 10, 11, 12 with labels 0 0 1 | 1 1 0.
     * Nearest others: 0→1 (0, right), 1→0 (tie with 2: the lower index;
     * right), 2→1 (wrong), 10→11 (right), 11→10 (tie; right), 12→11 (wrong). */
    float X[6] = {0, 1, 2, 10, 11, 12};
    uint8_t lab[6] = {0, 0, 1, 1, 1, 0};
    double acc;
    dl_err e;
    cr_assert_eq(dl_embed_nn_accuracy(X, 6, 1, lab, 2, &acc, &e), DL_OK, "%s", e.msg);
    cr_assert_float_eq(acc, 4.0 / 6.0, 1e-12);
}

Test(embed, class_mean_accuracy_leaves_each_point_out)
{
    /* Class 0 at 0, 1, 2 and 9; class 1 at 10, 11.  Without itself, the
     * point at 9 sees class 0's mean at 1 and class 1's at 10.5: wrong.
     * Point 2: class 0's mean without it is (0+1+9)/3 = 3.33, class 1's 10.5: right.
     * The others are right too: 5 of 6. */
    float X[6] = {0, 1, 2, 9, 10, 11};
    uint8_t lab[6] = {0, 0, 0, 0, 1, 1};
    double acc;
    dl_err e;
    cr_assert_eq(dl_embed_class_mean_accuracy(X, 6, 1, lab, 2, &acc, &e), DL_OK, "%s", e.msg);
    cr_assert_float_eq(acc, 5.0 / 6.0, 1e-12);
    /* A class with a single member has no mean without it: that point is
     * compared with the others only, so it is wrong. */
    uint8_t lab2[6] = {0, 0, 0, 0, 1, 2};
    cr_assert_eq(dl_embed_class_mean_accuracy(X, 6, 1, lab2, 3, &acc, &e), DL_OK);
    /* 9 → class 0 without it is at 1, class 1 at 10, class 2 at 11: 1, wrong;
     * 10 → 0 at 3, 2 at 11: 2, wrong; 11 → 1 at 10: wrong; 0, 1, 2 right. */
    cr_assert_float_eq(acc, 3.0 / 6.0, 1e-12);
    cr_assert_eq(dl_embed_class_mean_accuracy(X, 6, 1, lab2, 2, &acc, &e), DL_EINVAL, "label 2 with 2 classes");
}
