/*
 * mkfixture.c — writes small labelled IDX data sets for the command-line
 * tests, through the library's own IDX writer:
 *     mkfixture DIR N [SIDE]
 * makes DIR/{train,t10k}-{images,labels}-*.gz with N (train) and N/2 (test)
 * SIDE×SIDE images (default 4) of two classes: ink on the left half (0) or
 * the right half (1), with seeded noise, plus a third file set with a label
 * 7 at index 3 (bad-labels-idx1-ubyte.gz) for error tests.
 *     mkfixture --png OUTDIR IDXFILE N
 * writes the first N images of an IDX file as OUTDIR/NNNNN.png (white ink
 * on black, as stored), for the image-file classification tests.
 *     mkfixture --pnm OUTDIR IDXFILE N
 * writes the same first N images as netpbm, OUTDIR/NNNNN.p1.pbm ...
 * NNNNN.p6.ppm (white ink on black; PBM black where the pixel is under 128).
 *     mkfixture --set-state IN.dlm OUT.dlm FIELD=VALUE...
 * rewrites a model with training-state fields (epoch, pos, ntrain, batch,
 * planned, order0, eta; params: every parameter +-VALUE; trap: a 1-1-2
 * network one step from overflow) set to VALUE and the CRC fixed up, as a hostile writer
 * would, for the model-loading tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"
#include "digitlens/idx.h"
#include "digitlens/model.h"
#include "digitlens/png.h"
#include "digitlens/rng.h"

static int write_set(const char *dir, const char *prefix, size_t n, int side, uint64_t seed)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, side, side, &e);
    if (!d) return fprintf(stderr, "mkfixture: %s\n", e.msg), 1;
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(dl_rng_below(&r, 2));
        d->labels[i] = (uint8_t)c;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int on = (x < side / 2) == (c == 0);
                d->pixels[i * d->npix + (size_t)y * side + x] =
                    (uint8_t)(on ? 120 + dl_rng_below(&r, 136) : (dl_rng_below(&r, 4) == 0 ? dl_rng_below(&r, 60) : 0));
            }
    }
    char img[4096], lab[4096];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    int rc = dl_idx_write_images(img, d->pixels, n, side, side, 1, &e) != DL_OK ||
             dl_idx_write_labels(lab, d->labels, n, 1, &e) != DL_OK;
    if (rc) fprintf(stderr, "mkfixture: %s\n", e.msg);
    if (!rc && n > 3 && prefix[1] == 'r') { /* train only */
        d->labels[3] = 7;
        snprintf(lab, sizeof lab, "%s/bad-labels-idx1-ubyte.gz", dir);
        rc = dl_idx_write_labels(lab, d->labels, n, 1, &e) != DL_OK;
    }
    dl_dataset_free(d);
    return rc;
}

static int write_pngs(const char *out, const char *idx, size_t n)
{
    dl_err e;
    dl_dataset *d = NULL;
    if (dl_idx_load_images(idx, &d, &e) != DL_OK) return fprintf(stderr, "mkfixture: %s\n", e.msg), 1;
    float *x = malloc(d->npix * sizeof(float));
    int rc = x == NULL;
    for (size_t i = 0; i < n && i < d->n && !rc; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%05zu.png", out, i);
        dl_dataset_image(d, i, x);
        if (dl_png_write_gray(path, x, d->cols, d->rows, 1, &e) != DL_OK) rc = fprintf(stderr, "mkfixture: %s\n", e.msg);
    }
    free(x);
    dl_dataset_free(d);
    return rc != 0;
}

/* One image as netpbm type t (1..6), written plainly with stdio: these are
 * fixtures for the reader, so they must not come from digitlens's code. */
static int write_pnm(const char *path, const uint8_t *px, int w, int h, int t)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    fprintf(f, "P%d\n%d %d\n", t, w, h);
    if (t != 1 && t != 4) fprintf(f, "255\n");
    for (int y = 0; y < h; y++) {
        unsigned bits = 0;
        for (int x = 0; x < w; x++) {
            unsigned v = px[y * w + x];
            int black = v < 128, c = (t == 3 || t == 6) ? 3 : 1;
            if (t == 1) fprintf(f, "%d%s", black, x + 1 < w ? " " : "\n");
            if (t == 2 || t == 3)
                for (int k = 0; k < c; k++) fprintf(f, "%u%s", v, x + 1 < w || k + 1 < c ? " " : "\n");
            if (t == 5 || t == 6)
                for (int k = 0; k < c; k++) fputc((int)v, f);
            if (t == 4) {
                bits |= (unsigned)black << (7 - x % 8);
                if (x % 8 == 7 || x + 1 == w) {
                    fputc((int)bits, f);
                    bits = 0;
                }
            }
        }
    }
    return fclose(f) != 0;
}

static int write_pnms(const char *out, const char *idx, size_t n)
{
    static const char *const ext[7] = {"", "p1.pbm", "p2.pgm", "p3.ppm", "p4.pbm", "p5.pgm", "p6.ppm"};
    dl_err e;
    dl_dataset *d = NULL;
    if (dl_idx_load_images(idx, &d, &e) != DL_OK) return fprintf(stderr, "mkfixture: %s\n", e.msg), 1;
    int rc = 0;
    for (size_t i = 0; i < n && i < d->n && !rc; i++)
        for (int t = 1; t <= 6 && !rc; t++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%05zu.%s", out, i, ext[t]);
            rc = write_pnm(path, d->pixels + i * d->npix, d->cols, d->rows, t);
            if (rc) fprintf(stderr, "mkfixture: cannot write %s\n", path);
        }
    dl_dataset_free(d);
    return rc;
}

static int set_state(const char *in, const char *out, int n, char **kv)
{
    dl_err e;
    dl_model *m = NULL;
    if (dl_model_load(in, &m, &e) != DL_OK) return fprintf(stderr, "mkfixture: %s\n", e.msg), 1;
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        unsigned long v = eq ? strtoul(eq + 1, NULL, 0) : 0;
        size_t k = eq ? (size_t)(eq - kv[i]) : 0;
        if (k == 5 && !strncmp(kv[i], "epoch", k)) m->state.epoch = (uint32_t)v;
        else if (k == 3 && !strncmp(kv[i], "pos", k)) m->state.pos = (uint32_t)v;
        else if (k == 6 && !strncmp(kv[i], "ntrain", k)) m->ntrain = (uint32_t)v;
        else if (k == 5 && !strncmp(kv[i], "batch", k)) m->batch = (uint32_t)v;
        else if (k == 7 && !strncmp(kv[i], "planned", k)) m->epochs_planned = (uint32_t)v;
        else if (k == 6 && !strncmp(kv[i], "order0", k) && m->state.order) m->state.order[0] = (uint32_t)v;
        else if (k == 6 && !strncmp(kv[i], "params", k)) { /* every parameter +-VALUE, alternating */
            float f = strtof(eq + 1, NULL);
            for (size_t j = 0; j < m->net->nparams; j++) m->net->params[j] = j % 2 ? -f : f;
        } else if (k == 3 && !strncmp(kv[i], "eta", k)) {
            m->eta = strtof(eq + 1, NULL);
        } else if (k == 4 && !strncmp(kv[i], "trap", k) && m->net->nparams == 6) {
            /* A 1-1-2 network one step from overflow (see test_train.c's
             * a_diverging_epoch_goes_back_to_the_last_finite_model). */
            dl_net *net = m->net;
            net->w[0][0] = 3e38f, net->b[0][0] = 0.0f;
            net->w[1][0] = -3.4e38f, net->b[1][0] = 3.4e38f, net->w[1][1] = 0.0f, net->b[1][1] = 0.0f;
        }
        else return fprintf(stderr, "mkfixture: unknown field '%s'\n", kv[i]), 2;
    }
    unsigned char *p = NULL;
    size_t len = 0;
    int rc = dl_model_encode(m, &p, &len, &e) != DL_OK || dl_file_write_atomic(out, p, len, &e) != DL_OK;
    if (rc) fprintf(stderr, "mkfixture: %s\n", e.msg);
    free(p);
    dl_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--set-state") == 0) return set_state(argv[2], argv[3], argc - 4, argv + 4);
    if (argc == 5 && strcmp(argv[1], "--pnm") == 0) return write_pnms(argv[2], argv[3], (size_t)strtoul(argv[4], NULL, 10));
    if (argc == 5 && argv[1][0] == '-') return write_pngs(argv[2], argv[3], (size_t)strtoul(argv[4], NULL, 10));
    if (argc < 3) return fprintf(stderr, "usage: mkfixture DIR N [SIDE]\n"), 2;
    size_t n = (size_t)strtoul(argv[2], NULL, 10);
    int side = argc > 3 ? atoi(argv[3]) : 4;
    if (n < 2 || side < 2) return fprintf(stderr, "mkfixture: N >= 2 and SIDE >= 2\n"), 2;
    return write_set(argv[1], "train", n, side, 1) || write_set(argv[1], "t10k", n / 2, side, 2);
}
