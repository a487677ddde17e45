/*
 * bench.c — training and evaluation speed of digitlens's kernels, side by
 * side with a dense OpenBLAS trainer (run by scripts/bench.sh through
 * `make bench`).
 *
 *   bench DIR             IDX files in DIR (train-*, t10k-*, .gz or raw)
 *   bench --synthetic N   N synthetic training images (and 10,000 test
 *                         images) shaped and as sparse as Fashion-MNIST
 *   bench --write-synthetic DIR   write that synthetic set to DIR and exit
 * Options: --rounds N (epochs per configuration, default 7), --ref-epochs N
 *          (the reference kernel, default 1: it is slow; 0 skips it), --simd V
 *          (digitlens's variant V only, and no L2 configurations: scripts/
 *          bench.sh runs the avx2 variant so against OpenBLAS held to AVX2).
 *
 * Each configuration — the BLAS trainer (bench/blas_trainer.c) with 1 and 2
 * threads, and digitlens's fast kernel in every SIMD variant this CPU runs
 * with 1 and 2 threads (and with L2 in the best one) — trains its own fresh
 * 784-100-10 network (scaled init, seed 1) with batch 10, η 3.0, quadratic
 * cost.  The configurations take turns, one epoch each per round, so a
 * change in the machine's load hits all of them alike; each figure is the
 * median over the rounds of the epoch's training time (evaluation
 * excluded).  Figures are per 60,000-image epoch: when the training set
 * has a different size the time is scaled by 60000/n, and the output says
 * so.  Evaluation of the test set is timed the same way, against one
 * OpenBLAS sgemm of the same first layer.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../src/train_kernels.h"
#include "../src/train_simd.h"
#include "blas_trainer.h"
#include "digitlens/idx.h"
#include "digitlens/net.h"
#include "digitlens/simd.h"
#include "digitlens/train.h"

#define MAX_ROUNDS 64
#define MAX_CFG 16
#define EVAL_RUNS 11

static const int SIZES[] = {784, 100, 10};

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

/* Median of v[0..n) (sorts v). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
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

typedef enum kind { BLAS, FAST, REFERENCE } kind;

/* One configuration: a trainer, its network and where its epochs stand. */
typedef struct config {
    char name[64];
    kind kind;
    dl_simd simd;
    int threads;
    float lambda;
    dl_net *net;
    dl_train_state st;  /* digitlens: shuffles and position */
    dl_rng rng;         /* BLAS: its shuffles */
    uint32_t *order;    /* BLAS: [n] */
    blas_trainer *blas;
    dl_epoch_stat hist[MAX_ROUNDS];
    double sec[MAX_ROUNDS];
    int epochs;
    double med;
} config;

static int config_init(config *c, const dl_dataset *train)
{
    dl_err e;
    c->net = dl_net_new(3, SIZES, &e);
    if (!c->net) return fprintf(stderr, "bench: %s\n", e.msg), 1;
    dl_rng r;
    dl_rng_seed(&r, 1);
    dl_net_init(c->net, DL_INIT_SCALED, &r);
    if (c->kind == BLAS) {
        c->rng = r;
        c->order = malloc(train->n * sizeof(uint32_t));
        c->blas = blas_trainer_new(c->net, 10);
        if (!c->order || !c->blas) return fprintf(stderr, "bench: out of memory\n"), 1;
        return 0;
    }
    if (dl_train_state_init(&c->st, (uint32_t)train->n, &r, &e) != DL_OK)
        return fprintf(stderr, "bench: %s\n", e.msg), 1;
    return 0;
}

/* One more epoch of configuration c; its time into c->sec. */
static int config_epoch(config *c, const dl_dataset *train)
{
    double scale = 60000.0 / (double)train->n;
    if (c->kind == BLAS) {
        for (uint32_t i = 0; i < (uint32_t)train->n; i++) c->order[i] = i;
        dl_rng_shuffle(&c->rng, c->order, (uint32_t)train->n);
        blas_set_threads(c->threads);
        double t0 = now();
        blas_trainer_epoch(c->blas, c->net, train, c->order, 3.0f);
        c->sec[c->epochs++] = (now() - t0) * scale;
        blas_quiet();
        return 0;
    }
    dl_err e;
    dl_train_opts o = {.epochs = c->epochs + 1, .batch = 10, .eta = 3.0f, .lambda = c->lambda,
                       .cost = DL_COST_QUADRATIC, .threads = c->threads,
                       .kernel = c->kind == REFERENCE ? DL_KERNEL_REFERENCE : DL_KERNEL_FAST, .stop = NULL};
    if (dl_train_simd(c->simd, c->net, train, NULL, &o, &c->st, c->hist, NULL, NULL, &e) != DL_OK)
        return fprintf(stderr, "bench: %s\n", e.msg), 1;
    c->sec[c->epochs] = c->hist[c->epochs].seconds * scale;
    c->epochs++;
    return 0;
}

static void config_free(config *c)
{
    dl_net_free(c->net);
    free(c->order);
    blas_trainer_free(c->blas);
    if (c->kind != BLAS) dl_train_state_free(&c->st);
}

static int load(const char *dir, const char *which, dl_dataset **out)
{
    char img[4096], lab[4096];
    dl_err e;
    for (int gz = 1; gz >= 0; gz--) {
        snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte%s", dir, which, gz ? ".gz" : "");
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte%s", dir, which, gz ? ".gz" : "");
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

static int write_synthetic(const char *dir)
{
    dl_err e;
    dl_dataset *sets[2] = {synthetic(60000, 1), synthetic(10000, 2)};
    const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    char p[4096];
    for (int k = 0; k < 2; k++) {
        if (!sets[k]) return fprintf(stderr, "bench: out of memory\n"), 1;
        snprintf(p, sizeof p, "%s/%s", dir, names[2 * k]);
        if (dl_idx_write_images(p, sets[k]->pixels, sets[k]->n, 28, 28, 1, &e) != DL_OK)
            return fprintf(stderr, "bench: %s\n", e.msg), 1;
        snprintf(p, sizeof p, "%s/%s", dir, names[2 * k + 1]);
        if (dl_idx_write_labels(p, sets[k]->labels, sets[k]->n, 1, &e) != DL_OK)
            return fprintf(stderr, "bench: %s\n", e.msg), 1;
        dl_dataset_free(sets[k]);
    }
    return 0;
}

/* "met" or "NOT met" for a speed-up against its goal. */
static const char *verdict(double ratio, double goal) { return ratio >= goal ? "met" : "NOT met"; }

/* Whether the benchmark runs digitlens's variant v: every one this CPU
 * runs, or only the one asked for (only >= 0). */
static int runs_variant(int v, int only) { return dl_simd_supported((dl_simd)v) && (only < 0 || v == only); }

static int train_bench(const dl_dataset *train, const dl_dataset *test, int rounds, int ref_epochs, int only)
{
    config cs[MAX_CFG];
    int nc = 0;
    memset(cs, 0, sizeof cs);
    for (int t = 1; t <= 2; t++) {
        snprintf(cs[nc].name, sizeof cs[nc].name, "BLAS trainer, %d thread%s", t, t > 1 ? "s" : "");
        cs[nc].kind = BLAS;
        cs[nc++].threads = t;
    }
    for (int v = DL_SIMD_COUNT - 1; v >= 0; v--) {
        if (!runs_variant(v, only)) continue;
        for (int t = 1; t <= 2; t++) {
            snprintf(cs[nc].name, sizeof cs[nc].name, "digitlens %s, %d thread%s", dl_simd_name((dl_simd)v),
                     t, t > 1 ? "s" : "");
            cs[nc].kind = FAST;
            cs[nc].simd = (dl_simd)v;
            cs[nc++].threads = t;
        }
    }
    for (int t = 1; t <= 2 && only < 0; t++) {
        snprintf(cs[nc].name, sizeof cs[nc].name, "digitlens %s, %d thread%s, L2 (lambda 5)",
                 dl_simd_name(dl_simd_best()), t, t > 1 ? "s" : "");
        cs[nc].kind = FAST;
        cs[nc].simd = dl_simd_best();
        cs[nc].threads = t;
        cs[nc++].lambda = 5.0f;
    }
    for (int c = 0; c < nc; c++)
        if (config_init(&cs[c], train)) return 1;
    printf("training: %d rounds; in each, every configuration trains one epoch of its own network\n",
           rounds);
    fflush(stdout);
    for (int r = 0; r < rounds; r++)
        for (int c = 0; c < nc; c++)
            if (config_epoch(&cs[c], train)) return 1;

    printf("\n  %-40s %8s  %8s  %8s  %9s  %8s  %7s\n", "configuration", "median s", "min s", "max s",
           "images/s", "vs BLAS", "test acc");
    double blas_best = 0.0;
    for (int c = 0; c < nc; c++) {
        double s[MAX_ROUNDS];
        memcpy(s, cs[c].sec, sizeof s);
        cs[c].med = median(s, cs[c].epochs);
        if (cs[c].kind == BLAS && (blas_best == 0.0 || cs[c].med < blas_best)) blas_best = cs[c].med;
        cs[c].sec[0] = s[0];
        cs[c].sec[1] = s[cs[c].epochs - 1];
    }
    for (int c = 0; c < nc; c++) {
        dl_eval ev;
        dl_err e;
        if (dl_evaluate_simd(dl_simd_best(), cs[c].net, test, DL_COST_QUADRATIC, 2, &ev, &e) != DL_OK)
            return fprintf(stderr, "bench: %s\n", e.msg), 1;
        printf("  %-40s %8.3f  %8.3f  %8.3f  %9.0f  %7.2fx  %6.2f%%\n", cs[c].name, cs[c].med,
               cs[c].sec[0], cs[c].sec[1], 60000.0 / cs[c].med, blas_best / cs[c].med,
               100.0 * (double)ev.correct / (double)ev.total);
        dl_eval_free(&ev);
    }
    printf("  (seconds per 60,000-image epoch over %d epochs; \"vs BLAS\": the BLAS trainer at its best\n"
           "   thread count divided by this; test accuracy after the last epoch)\n",
           rounds);
    if (ref_epochs > 0) {
        config ref;
        memset(&ref, 0, sizeof ref);
        ref.kind = REFERENCE;
        ref.threads = 1;
        if (config_init(&ref, train)) return 1;
        for (int r = 0; r < ref_epochs; r++)
            if (config_epoch(&ref, train)) return 1;
        double m = median(ref.sec, ref.epochs);
        printf("  %-40s %8.3f  (%d epoch%s, not interleaved: it is slow)   %7.2fx\n",
               "reference kernel (dl_net_backprop), 1 thread", m, ref.epochs, ref.epochs > 1 ? "s" : "",
               blas_best / m);
        config_free(&ref);
    }

    printf("\nspeed-up over the BLAS trainer at its best (%.3f s); goals: 1.5x on 1 thread, 2.5x on 2:\n",
           blas_best);
    for (int c = 0; c < nc; c++) {
        if (cs[c].kind != FAST || cs[c].lambda != 0.0f) continue;
        double x = blas_best / cs[c].med, goal = cs[c].threads == 1 ? 1.5 : 2.5;
        printf("  %-40s %5.2fx  (goal %.1fx: %s)\n", cs[c].name, x, goal, verdict(x, goal));
    }
    for (int c = 0; c < nc; c++) config_free(&cs[c]);
    return 0;
}

/* Evaluation of the test set by every variant (1 and 2 threads), and one
 * OpenBLAS sgemm of the same first layer, taking turns. */
static int eval_bench(const dl_dataset *test, int only)
{
    dl_err e;
    dl_net *net = dl_net_new(3, SIZES, &e);
    if (!net) return fprintf(stderr, "bench: %s\n", e.msg), 1;
    dl_rng r;
    dl_rng_seed(&r, 2);
    dl_net_init(net, DL_INIT_SCALED, &r);
    int n = (int)test->n, nin = SIZES[0], nh = SIZES[1];
    float *x = malloc((size_t)n * nin * sizeof(float)), *z = malloc((size_t)n * nh * sizeof(float));
    if (!x || !z) return fprintf(stderr, "bench: out of memory\n"), 1;
    for (int i = 0; i < n; i++) dl_dataset_image(test, (size_t)i, x + (size_t)i * nin);
    enum { MAXE = 2 * DL_SIMD_COUNT + 2 };
    char name[MAXE][64];
    double t[MAXE][EVAL_RUNS];
    int ne = 0, simd[MAXE], threads[MAXE];
    for (int th = 1; th <= 2; th++) {
        snprintf(name[ne], sizeof name[ne], "OpenBLAS sgemm of the first layer, %d thread%s", th,
                 th > 1 ? "s" : "");
        simd[ne] = -1;
        threads[ne++] = th;
    }
    for (int v = DL_SIMD_COUNT - 1; v >= 0; v--)
        for (int th = 1; th <= 2 && runs_variant(v, only); th++) {
            snprintf(name[ne], sizeof name[ne], "digitlens %s, %d thread%s", dl_simd_name((dl_simd)v), th,
                     th > 1 ? "s" : "");
            simd[ne] = v;
            threads[ne++] = th;
        }
    for (int k = 0; k < EVAL_RUNS; k++)
        for (int q = 0; q < ne; q++) {
            /* OpenBLAS's threads started, untimed, before its turn, and
             * ended after it (blas_quiet), so that neither side's turn
             * pays for the other's threads. */
            if (simd[q] < 0) {
                blas_set_threads(threads[q]);
                blas_first_layer(x, n, nin, net->w[0], nh, z);
            }
            double t0 = now();
            if (simd[q] < 0) {
                blas_first_layer(x, n, nin, net->w[0], nh, z);
            } else {
                dl_eval ev;
                if (dl_evaluate_simd((dl_simd)simd[q], net, test, DL_COST_QUADRATIC, threads[q], &ev, &e) != DL_OK)
                    return fprintf(stderr, "bench: %s\n", e.msg), 1;
                dl_eval_free(&ev);
            }
            t[q][k] = now() - t0;
            if (simd[q] < 0) blas_quiet();
        }
    printf("\nevaluation of the %d test images (digitlens: the whole evaluation; OpenBLAS: its first\n"
           "layer alone, pixels already floats), median of %d turns:\n", n, EVAL_RUNS);
    double sg[3] = {0, 0, 0};
    for (int q = 0; q < ne; q++) {
        double m = median(t[q], EVAL_RUNS);
        if (simd[q] < 0) sg[threads[q]] = m;
        printf("  %-48s %7.2f ms", name[q], m * 1e3);
        if (simd[q] >= 0) printf("   %.2fx the sgemm's speed", sg[threads[q]] / m);
        printf("\n");
    }
    free(x);
    free(z);
    dl_net_free(net);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    size_t nsyn = 0;
    int rounds = 7, ref_epochs = 1, only = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--synthetic") && i + 1 < argc) nsyn = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--write-synthetic") && i + 1 < argc) return write_synthetic(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref-epochs") && i + 1 < argc) ref_epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--simd") && i + 1 < argc) {
            const char *want = argv[++i];
            for (int v = 0; v < DL_SIMD_COUNT; v++)
                if (!strcmp(want, dl_simd_name((dl_simd)v))) only = v;
            if (only < 0 || !dl_simd_supported((dl_simd)only)) {
                fprintf(stderr, "bench: --simd %s: not a variant this CPU runs\n", want);
                return 2;
            }
        }
        else if (argv[i][0] != '-') dir = argv[i];
        else {
            fprintf(stderr, "usage: bench DIR | --synthetic N | --write-synthetic DIR "
                            "[--rounds N] [--ref-epochs N] [--simd VARIANT]\n");
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    dl_dataset *train = NULL, *test = NULL;
    if (nsyn) {
        train = synthetic(nsyn, 1);
        test = synthetic(10000, 2);
    } else if (!dir || load(dir, "train", &train) || load(dir, "t10k", &test)) {
        return 1;
    }
    if (!train || !test) return fprintf(stderr, "bench: out of memory\n"), 1;

    size_t lit = 0;
    for (size_t i = 0; i < train->n * train->npix; i++) lit += train->pixels[i] != 0;
    printf("training set: %zu images, %.1f%% of pixels non-zero%s\n", train->n,
           100.0 * (double)lit / (double)(train->n * train->npix),
           train->n == 60000 ? "" : " (times scaled to 60,000 images)");
    printf("network 784-100-10, batch 10, eta 3.0, quadratic cost, seed 1\n");
    printf("digitlens kernels this CPU runs:");
    for (int v = DL_SIMD_COUNT - 1; v >= 0; v--)
        if (dl_simd_supported((dl_simd)v)) printf(" %s (%s)", dl_simd_name((dl_simd)v), dl_simd_needs((dl_simd)v));
    printf("; default %s", dl_simd_name(dl_simd_best()));
    if (only >= 0) printf("; this run: %s only", dl_simd_name((dl_simd)only));
    printf("\n");
    printf("OpenBLAS: %s; kernel %s\n\n", blas_config(), blas_core());
    fflush(stdout);
    if (train_bench(train, test, rounds, ref_epochs, only) || eval_bench(test, only)) return 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\n  peak RSS of this benchmark process: %.1f MB\n", ru.ru_maxrss / 1024.0);
    dl_dataset_free(train);
    dl_dataset_free(test);
    return 0;
}
