/*
 * bench.c — training and evaluation speed of digitlens's kernels (run by
 * scripts/bench.sh through `make bench`).
 *
 *   bench DIR             IDX files in DIR (train-*, t10k-*, .gz or raw)
 *   bench --synthetic N   N synthetic training images (and 10,000 test
 *                         images) shaped and as sparse as Fashion-MNIST
 *   bench --write-synthetic DIR   write that synthetic set to DIR and exit
 * Options: --epochs N (fast-kernel epochs per configuration, default 7),
 *          --ref-epochs N (reference kernel, default 1: it is slow).
 *
 * For each configuration, a fresh 784-100-10 network (scaled init, seed 1)
 * trains with batch 10, η 3.0, quadratic cost; every epoch is one timed run
 * (the training time dl_train reports, evaluation excluded).  Figures are
 * per 60,000-image epoch: when the training set has a different size the
 * time is scaled by 60000/n, and the output says so.  "GFLOP/s" counts the
 * work of the dense algorithm (what the reference does), so a kernel that
 * skips zeros scores above the machine's real arithmetic rate.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "digitlens/idx.h"
#include "digitlens/net.h"
#include "digitlens/train.h"

#define EVAL_RUNS 11

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Dense-algorithm floating-point operations per training example, batch m:
 * forward 2W, weight gradients 2W, deltas through the layers after the
 * first 2·Σ n_l n_(l+1), and the update 2W per batch (W = weights). */
static double flops_per_example(const int *sizes, int nl, int m)
{
    double w = 0.0, back = 0.0;
    for (int l = 0; l + 1 < nl; l++) {
        w += (double)sizes[l] * sizes[l + 1];
        if (l > 0) back += 2.0 * sizes[l] * sizes[l + 1];
    }
    return 4.0 * w + back + 2.0 * w / m;
}

/* A class-shaped blob on a 28 x 28 canvas, about half the pixels lit
 * (Fashion-MNIST has 49.8%). */
static dl_dataset *synthetic(size_t n, uint64_t seed)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, 28, 28, &e);
    if (!d) return NULL;
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)dl_rng_below(&r, 10);
        d->labels[i] = (uint8_t)c;
        uint8_t *img = d->pixels + i * 784;
        /* A class-shaped blob: an ellipse whose size and ink depend on the class. */
        double cx = 14 + dl_rng_uniform(&r) * 2 - 1, cy = 14 + dl_rng_uniform(&r) * 2 - 1;
        double rx = 8.5 + c * 0.4 + dl_rng_uniform(&r), ry = 12.5 - c * 0.2 + dl_rng_uniform(&r);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                double q = ((x - cx) / rx) * ((x - cx) / rx) + ((y - cy) / ry) * ((y - cy) / ry);
                if (q < 1.0) img[y * 28 + x] = (uint8_t)(40 + 215 * (1.0 - q) * (0.5 + 0.05 * c));
            }
    }
    return d;
}

typedef struct config {
    const char *name;
    dl_kernel kernel;
    int threads;
    float lambda;
    int epochs;
} config;

static int run_config(const config *c, const dl_dataset *train, double fl)
{
    static const int sizes[] = {784, 100, 10};
    dl_err e;
    dl_net *net = dl_net_new(3, sizes, &e);
    if (!net) return fprintf(stderr, "bench: %s\n", e.msg), 1;
    dl_rng r;
    dl_rng_seed(&r, 1);
    dl_net_init(net, DL_INIT_SCALED, &r);
    dl_train_state s;
    if (dl_train_state_init(&s, (uint32_t)train->n, &r, &e) != DL_OK) return 1;
    dl_epoch_stat *hist = calloc((size_t)c->epochs, sizeof *hist);
    double *sec = calloc((size_t)c->epochs, sizeof *sec);
    double scale = 60000.0 / (double)train->n;
    for (int ep = 1; ep <= c->epochs; ep++) {
        dl_train_opts o = {.epochs = ep, .batch = 10, .eta = 3.0f, .lambda = c->lambda,
                           .cost = DL_COST_QUADRATIC, .threads = c->threads, .kernel = c->kernel, .stop = NULL};
        if (dl_train(net, train, NULL, &o, &s, hist, NULL, NULL, &e) != DL_OK)
            return fprintf(stderr, "bench: %s\n", e.msg), 1;
        sec[ep - 1] = hist[ep - 1].seconds * scale;
    }
    double med = median(sec, c->epochs);
    printf("  %-34s %2d  %8.3f  %8.3f  %8.3f  %10.0f  %7.1f\n", c->name, c->epochs, med, sec[0],
           sec[c->epochs - 1], 60000.0 / med, 60000.0 * fl / med * 1e-9);
    fflush(stdout);
    free(hist);
    free(sec);
    dl_train_state_free(&s);
    dl_net_free(net);
    return 0;
}

static int eval_bench(const dl_dataset *test, int threads)
{
    static const int sizes[] = {784, 100, 10};
    dl_err e;
    dl_net *net = dl_net_new(3, sizes, &e);
    dl_rng r;
    dl_rng_seed(&r, 2);
    dl_net_init(net, DL_INIT_SCALED, &r);
    double t[EVAL_RUNS];
    for (int k = 0; k < EVAL_RUNS; k++) {
        dl_eval ev;
        double t0 = now();
        if (dl_evaluate(net, test, DL_COST_QUADRATIC, threads, &ev, &e) != DL_OK)
            return fprintf(stderr, "bench: %s\n", e.msg), 1;
        t[k] = now() - t0;
        dl_eval_free(&ev);
    }
    double med = median(t, EVAL_RUNS);
    printf("  evaluate %zu test images, %d thread%s: %6.2f ms  (min %.2f, max %.2f; %d runs)\n",
           test->n, threads, threads == 1 ? " " : "s", med * 1e3, t[0] * 1e3, t[EVAL_RUNS - 1] * 1e3,
           EVAL_RUNS);
    dl_net_free(net);
    return 0;
}

static int load(const char *dir, const char *which, dl_dataset **out)
{
    char img[4096], lab[4096];
    dl_err e;
    for (int gz = 1; gz >= 0; gz--) {
        snprintf(img, sizeof img, "%s/%s-images-idx%d-ubyte%s", dir, which, 3, gz ? ".gz" : "");
        snprintf(lab, sizeof lab, "%s/%s-labels-idx%d-ubyte%s", dir, which, 1, gz ? ".gz" : "");
        FILE *f = fopen(img, "rb");
        if (!f) continue;
        fclose(f);
        if (dl_idx_load(img, lab, out, &e) == DL_OK) return 0;
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "bench: no %s images in %s\n", which, dir);
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *write_dir = NULL;
    size_t nsyn = 0;
    int epochs = 7, ref_epochs = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--synthetic") && i + 1 < argc) nsyn = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--write-synthetic") && i + 1 < argc) write_dir = argv[++i];
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref-epochs") && i + 1 < argc) ref_epochs = atoi(argv[++i]);
        else if (argv[i][0] != '-') dir = argv[i];
        else {
            fprintf(stderr, "usage: bench DIR | --synthetic N | --write-synthetic DIR "
                            "[--epochs N] [--ref-epochs N]\n");
            return 2;
        }
    }
    if (epochs < 1) epochs = 1;
    dl_err e;
    dl_dataset *train = NULL, *test = NULL;
    if (write_dir) {
        train = synthetic(60000, 1);
        test = synthetic(10000, 2);
        char p[4096];
        const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
        const dl_dataset *sets[2] = {train, test};
        for (int k = 0; k < 2; k++) {
            snprintf(p, sizeof p, "%s/%s", write_dir, names[2 * k]);
            if (dl_idx_write_images(p, sets[k]->pixels, sets[k]->n, 28, 28, 1, &e) != DL_OK)
                return fprintf(stderr, "bench: %s\n", e.msg), 1;
            snprintf(p, sizeof p, "%s/%s", write_dir, names[2 * k + 1]);
            if (dl_idx_write_labels(p, sets[k]->labels, sets[k]->n, 1, &e) != DL_OK)
                return fprintf(stderr, "bench: %s\n", e.msg), 1;
        }
        return 0;
    }
    if (nsyn) {
        train = synthetic(nsyn, 1);
        test = synthetic(10000, 2);
    } else if (!dir || load(dir, "train", &train) || load(dir, "t10k", &test)) {
        return 1;
    }
    if (!train || !test) return fprintf(stderr, "bench: out of memory\n"), 1;

    static const int sizes[] = {784, 100, 10};
    double fl = flops_per_example(sizes, 3, 10);
    size_t lit = 0;
    for (size_t i = 0; i < train->n * train->npix; i++) lit += train->pixels[i] != 0;
    printf("training set: %zu images, %.1f%% of pixels non-zero%s\n", train->n,
           100.0 * (double)lit / (double)(train->n * train->npix),
           train->n == 60000 ? "" : " (times scaled to 60,000 images)");
    printf("network 784-100-10, batch 10, eta 3.0, quadratic; dense work %.3f MFLOP/image\n\n",
           fl * 1e-6);
    printf("  %-34s %2s  %8s  %8s  %8s  %10s  %7s\n", "kernel", "n", "median s", "min s",
           "max s", "images/s", "GFLOP/s");
    config cs[] = {
        {"reference (1 thread by design)", DL_KERNEL_REFERENCE, 1, 0.0f, ref_epochs},
        {"fast, 1 thread", DL_KERNEL_FAST, 1, 0.0f, epochs},
        {"fast, 2 threads", DL_KERNEL_FAST, 2, 0.0f, epochs},
        {"fast, 1 thread, L2 (lambda 5)", DL_KERNEL_FAST, 1, 5.0f, epochs},
        {"fast, 2 threads, L2 (lambda 5)", DL_KERNEL_FAST, 2, 5.0f, epochs},
    };
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++)
        if (cs[k].epochs > 0 && run_config(&cs[k], train, fl)) return 1;
    printf("  (n = epochs timed, each one run; median, min and max are seconds per 60,000 images)\n\n");
    if (eval_bench(test, 1) || eval_bench(test, 2)) return 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  peak RSS of this benchmark process: %.1f MB\n", ru.ru_maxrss / 1024.0);
    dl_dataset_free(train);
    dl_dataset_free(test);
    return 0;
}
