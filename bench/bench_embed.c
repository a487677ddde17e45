/*
 * bench_embed.c — the embed room's side of `make bench` (scripts/
 * bench-embed.sh runs it next to scikit-learn's TSNE):
 *
 *   bench_embed dump IMAGES MODEL OUTDIR [LIMIT]
 *       writes OUTDIR/pixels.f32 (the images as floats in 0..1) and
 *       OUTDIR/hidden.f32 (MODEL's last hidden layer on them), raw
 *       little-endian float32, row-major; prints "pixels N D" and
 *       "hidden N D" lines.
 *   bench_embed run VECTORS.f32 D [--threads T] [--perplexity P]
 *                   [--iterations I] [--other MAP.f32] [--out MAP.f32]
 *       times PCA (median of 5 fits of 2 components) and one t-SNE of the
 *       vectors, and prints the trustworthiness (k = 10) of its map and,
 *       with --other, of another map of the same points (scikit-learn's),
 *       both measured by the same function.  Output: "key value" lines.
 *   bench_embed vector-unit
 *       prints the vector unit the library's embed kernels were built for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digitlens/embed.h"
#include "digitlens/fileio.h"
#include "digitlens/idx.h"
#include "digitlens/model.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_f32(const char *path, const float *v, size_t n)
{
    dl_err e;
    if (dl_file_write_atomic(path, v, n * sizeof(float), &e) != DL_OK) {
        fprintf(stderr, "bench_embed: %s\n", e.msg);
        return 1;
    }
    return 0;
}

/* A raw float32 file as a malloc'd array of *count floats (NULL on error). */
static float *read_f32(const char *path, size_t *count)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_err e;
    if (dl_file_read_all(path, (size_t)1 << 31, &buf, &len, &e) != DL_OK) {
        fprintf(stderr, "bench_embed: %s\n", e.msg);
        return NULL;
    }
    *count = len / sizeof(float);
    return (float *)(void *)buf;
}

static int dump(const char *images, const char *model, const char *out, size_t limit)
{
    dl_err e;
    dl_dataset *d = NULL;
    dl_model *m = NULL;
    if (dl_idx_load_images(images, &d, &e) != DL_OK || dl_model_load(model, &m, &e) != DL_OK) {
        fprintf(stderr, "bench_embed: %s\n", e.msg);
        return 1;
    }
    size_t n = limit && limit < d->n ? limit : d->n, P = d->npix;
    int L = m->net->nlayers, H = L >= 3 ? m->net->sizes[L - 2] : 0;
    float *px = malloc(n * P * sizeof(float)), *hid = H ? malloc(n * (size_t)H * sizeof(float)) : NULL;
    dl_trace *t = dl_trace_new(m->net, &e);
    int rc = !px || (H && !hid) || !t;
    for (size_t i = 0; i < n && !rc; i++) {
        dl_dataset_image(d, i, px + i * P);
        if (H) {
            dl_net_forward(m->net, px + i * P, t);
            memcpy(hid + i * (size_t)H, t->a[L - 2], (size_t)H * sizeof(float));
        }
    }
    char path[4096];
    if (!rc) {
        snprintf(path, sizeof path, "%s/pixels.f32", out);
        rc = write_f32(path, px, n * P);
        printf("pixels %zu %zu\n", n, P);
    }
    if (!rc && H) {
        snprintf(path, sizeof path, "%s/hidden.f32", out);
        rc = write_f32(path, hid, n * (size_t)H);
        printf("hidden %zu %d\n", n, H);
    }
    dl_trace_free(t);
    free(hid);
    free(px);
    dl_model_free(m);
    dl_dataset_free(d);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(int argc, char **argv)
{
    const char *vec = argv[2], *other = NULL, *out = NULL;
    int pca_runs = 5, trust = 1;
    int D = atoi(argv[3]);
    dl_tsne_opts o = dl_tsne_defaults();
    o.threads = 2;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) o.threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--perplexity")) o.perplexity = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--iterations")) o.iterations = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--other")) other = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else if (!strcmp(argv[i], "--pca-runs")) pca_runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--trust")) trust = atoi(argv[i + 1]);
        else return fprintf(stderr, "bench_embed: unknown option %s\n", argv[i]), 2;
    }
    size_t cnt = 0;
    float *X = read_f32(vec, &cnt);
    if (!X || D < 1 || cnt % (size_t)D) return fprintf(stderr, "bench_embed: cannot read %s as rows of %d\n", vec, D), 1;
    size_t n = cnt / (size_t)D;
    dl_err e;
    double tp[64];
    if (pca_runs < 1 || pca_runs > 64) pca_runs = 1;
    for (int r = 0; r < pca_runs; r++) {
        double t0 = now();
        dl_pca *p = dl_pca_fit(X, n, D, 2, o.threads, &e);
        tp[r] = now() - t0;
        if (!p) return fprintf(stderr, "bench_embed: %s\n", e.msg), 1;
        if (r == 0) printf("pca_explained %.4f %.4f\n", dl_pca_explained(p, 0), dl_pca_explained(p, 1));
        dl_pca_free(p);
    }
    qsort(tp, (size_t)pca_runs, sizeof tp[0], cmp_double);
    printf("pca_seconds %.4f\n", tp[pca_runs / 2]);
    dl_tsne_result res;
    double t0 = now(), c0 = (double)clock() / CLOCKS_PER_SEC;
    if (dl_tsne(X, n, D, &o, &res, &e) != DL_OK) return fprintf(stderr, "bench_embed: %s\n", e.msg), 1;
    printf("tsne_seconds %.3f\n", now() - t0);
    printf("tsne_cpu_seconds %.3f\n", (double)clock() / CLOCKS_PER_SEC - c0);
    printf("tsne_knn_seconds %.3f\ntsne_affinity_seconds %.3f\ntsne_optimise_seconds %.3f\n", res.seconds_knn,
           res.seconds_affinities, res.seconds_optimise);
    printf("tsne_kl %.4f\n", res.kl);
    if (out && write_f32(out, res.Y, 2 * n)) return 1;
    const float *maps[2] = {res.Y, NULL};
    int nm = 1;
    float *Y2 = NULL;
    if (other) {
        size_t c2 = 0;
        Y2 = read_f32(other, &c2);
        if (!Y2 || c2 != 2 * n) return fprintf(stderr, "bench_embed: %s is not a map of %zu points\n", other, n), 1;
        maps[nm++] = Y2;
    }
    if (!trust) return 0;
    double tw[2];
    t0 = now();
    if (dl_embed_trustworthiness(X, n, D, maps, nm, 2, 10, o.threads, tw, &e) != DL_OK)
        return fprintf(stderr, "bench_embed: %s\n", e.msg), 1;
    printf("trust_seconds %.3f\n", now() - t0);
    printf("trust %.4f\n", tw[0]);
    if (other) printf("trust_other %.4f\n", tw[1]);
    free(Y2);
    dl_tsne_result_free(&res);
    free(X);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "vector-unit")) {
        puts(dl_embed_vector_unit());
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "dump")) return dump(argv[2], argv[3], argv[4], argc > 5 ? strtoul(argv[5], NULL, 10) : 0);
    if (argc >= 4 && !strcmp(argv[1], "run")) return run(argc, argv);
    fprintf(stderr, "usage: bench_embed dump IMAGES MODEL OUTDIR [LIMIT] | run VECTORS.f32 D [options]\n");
    return 2;
}
