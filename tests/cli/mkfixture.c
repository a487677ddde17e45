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
 */
#include <stdio.h>
#include <stdlib.h>

#include "digitlens/idx.h"
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

int main(int argc, char **argv)
{
    if (argc == 5 && argv[1][0] == '-') return write_pngs(argv[2], argv[3], (size_t)strtoul(argv[4], NULL, 10));
    if (argc < 3) return fprintf(stderr, "usage: mkfixture DIR N [SIDE]\n"), 2;
    size_t n = (size_t)strtoul(argv[2], NULL, 10);
    int side = argc > 3 ? atoi(argv[3]) : 4;
    if (n < 2 || side < 2) return fprintf(stderr, "mkfixture: N >= 2 and SIDE >= 2\n"), 2;
    return write_set(argv[1], "train", n, side, 1) || write_set(argv[1], "t10k", n / 2, side, 2);
}
