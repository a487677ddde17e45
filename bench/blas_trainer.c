/*
 * blas_trainer.c — the benchmark's yardstick: mini-batch SGD for a
 * 784-100-10 sigmoid network written the way a C programmer would write it
 * with BLAS, dense, one cblas_sgemm per matrix product.  It serves `make
 * bench` only (OpenBLAS is never linked into digitlens).
 *
 * One mini-batch of m examples, X [m x 784] (pixels / 255), row-major:
 *     Z1 = X W1ᵀ + b1,  A1 = σ(Z1)            sgemm  m x 100 x 784
 *     Z2 = A1 W2ᵀ + b2, A2 = σ(Z2)            sgemm  m x 10 x 100
 *     D2 = (A2 − Y) ⊙ A2 ⊙ (1 − A2)           quadratic cost
 *     D1 = (D2 W2) ⊙ A1 ⊙ (1 − A1)            sgemm  m x 100 x 10
 *     W2 += −(η/m) D2ᵀ A1,  W1 += −(η/m) D1ᵀ X  sgemm with β = 1 (accumulate into W)
 *     b  −= (η/m) Σ_i D
 * D1 is computed before W2 changes, as backpropagation requires.  The
 * network, its initialisation and each epoch's shuffle come from
 * digitlens's own types (dl_net, dl_rng) so both trainers start alike;
 * every multiply-add of training is OpenBLAS's.  The caller shuffles (an
 * epoch's timing is the training alone, as dl_train reports it).
 */
#include "blas_trainer.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct blas_trainer {
    int m;                       /* batch size */
    int nin, nh, nout;
    float *x, *z1, *z2, *d1, *d2; /* [m x nin], [m x nh], [m x nout], [m x nh], [m x nout] */
};

blas_trainer *blas_trainer_new(const dl_net *net, int batch)
{
    if (net->nlayers != 3) return NULL;
    blas_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->m = batch;
    t->nin = net->sizes[0];
    t->nh = net->sizes[1];
    t->nout = net->sizes[2];
    size_t m = (size_t)batch;
    t->x = malloc(m * (size_t)t->nin * sizeof(float));
    t->z1 = malloc(m * (size_t)t->nh * sizeof(float));
    t->d1 = malloc(m * (size_t)t->nh * sizeof(float));
    t->z2 = malloc(m * (size_t)t->nout * sizeof(float));
    t->d2 = malloc(m * (size_t)t->nout * sizeof(float));
    if (!t->x || !t->z1 || !t->d1 || !t->z2 || !t->d2) {
        blas_trainer_free(t);
        return NULL;
    }
    return t;
}

void blas_trainer_free(blas_trainer *t)
{
    if (!t) return;
    free(t->x);
    free(t->z1);
    free(t->d1);
    free(t->z2);
    free(t->d2);
    free(t);
}

void blas_set_threads(int threads) { openblas_set_num_threads(threads); }

/* OpenBLAS's own (exported by its pthread builds, not declared in cblas.h). */
int blas_thread_shutdown_(void);

void blas_quiet(void) { blas_thread_shutdown_(); }

const char *blas_config(void) { return openblas_get_config(); }

const char *blas_core(void) { return openblas_get_corename(); }

void blas_first_layer(const float *x, int n, int nin, const float *w, int nh, float *z)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nh, nin, 1.0f, x, nin, w, nin, 0.0f, z, nh);
}

static float sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

/* A = σ(Z + b) in place, Z [m x n]. */
static void bias_sigmoid(float *z, const float *b, int m, int n)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) z[(size_t)i * n + j] = sigmoid(z[(size_t)i * n + j] + b[j]);
}

/* One SGD step on examples idx[0..m); returns the batch's summed cost. */
static double step(blas_trainer *t, dl_net *net, const dl_dataset *d, const uint32_t *idx, int m,
                   float eta)
{
    int nin = t->nin, nh = t->nh, no = t->nout;
    float *W1 = net->w[0], *W2 = net->w[1], *b1 = net->b[0], *b2 = net->b[1];
    for (int i = 0; i < m; i++) dl_dataset_image(d, idx[i], t->x + (size_t)i * nin);

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nh, nin, 1.0f, t->x, nin, W1, nin, 0.0f,
                t->z1, nh);
    bias_sigmoid(t->z1, b1, m, nh);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, no, nh, 1.0f, t->z1, nh, W2, nh, 0.0f,
                t->z2, no);
    bias_sigmoid(t->z2, b2, m, no);

    double cost = 0.0;
    for (int i = 0; i < m; i++) {
        int lab = d->labels[idx[i]];
        for (int j = 0; j < no; j++) {
            float a = t->z2[(size_t)i * no + j], e = a - (j == lab ? 1.0f : 0.0f);
            cost += 0.5 * (double)e * e;
            t->d2[(size_t)i * no + j] = e * a * (1.0f - a);
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nh, no, 1.0f, t->d2, no, W2, nh, 0.0f,
                t->d1, nh);
    for (size_t q = 0; q < (size_t)m * nh; q++) t->d1[q] *= t->z1[q] * (1.0f - t->z1[q]);

    float r = eta / (float)m;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, nh, m, -r, t->d2, no, t->z1, nh, 1.0f, W2,
                nh);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nh, nin, m, -r, t->d1, nh, t->x, nin, 1.0f, W1,
                nin);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < no; j++) b2[j] -= r * t->d2[(size_t)i * no + j];
        for (int j = 0; j < nh; j++) b1[j] -= r * t->d1[(size_t)i * nh + j];
    }
    return cost;
}

double blas_trainer_epoch(blas_trainer *t, dl_net *net, const dl_dataset *d, const uint32_t *order,
                          float eta)
{
    uint32_t n = (uint32_t)d->n;
    double cost = 0.0;
    for (uint32_t p = 0; p < n; p += (uint32_t)t->m) {
        int m = n - p < (uint32_t)t->m ? (int)(n - p) : t->m;
        cost += step(t, net, d, order + p, m, eta);
    }
    return cost / n;
}
