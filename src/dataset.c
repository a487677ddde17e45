/*
 * dataset.c — a labelled data set in memory (see dataset.h).
 */
#include "digitlens/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crc32.h"

dl_dataset *dl_dataset_wrap(size_t n, int rows, int cols, uint8_t *px, uint8_t *labels, dl_err *e)
{
    dl_dataset *d = calloc(1, sizeof *d);
    if (!d) {
        free(px);
        free(labels);
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    d->n = n;
    d->rows = rows;
    d->cols = cols;
    d->npix = (size_t)rows * (size_t)cols;
    d->pixels = px;
    d->labels = labels;
    return d;
}

dl_dataset *dl_dataset_new(size_t n, int rows, int cols, dl_err *e)
{
    if (rows < 1 || cols < 1 || (unsigned)rows > DL_DATASET_MAX_DIM || (unsigned)cols > DL_DATASET_MAX_DIM ||
        n > DL_DATASET_MAX_ITEMS || (n && (size_t)rows * cols > DL_DATASET_MAX_BYTES / n)) {
        dl_err_set(e, DL_EINVAL, "dataset of %zu images of %dx%d is beyond the limits", n, rows, cols);
        return NULL;
    }
    size_t npix = (size_t)rows * cols;
    uint8_t *px = calloc(n ? n * npix : 1, 1);
    uint8_t *labels = calloc(n ? n : 1, 1);
    if (!px || !labels) {
        free(px);
        free(labels);
        dl_err_set(e, DL_ENOMEM, "out of memory for %zu images", n);
        return NULL;
    }
    return dl_dataset_wrap(n, rows, cols, px, labels, e);
}

void dl_dataset_free(dl_dataset *d)
{
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    free(d);
}

dl_dataset *dl_dataset_slice(const dl_dataset *d, size_t first, size_t count, dl_err *e)
{
    if (first > d->n || count > d->n - first) {
        dl_err_set(e, DL_EINVAL, "slice [%zu, +%zu) is outside a dataset of %zu", first, count, d->n);
        return NULL;
    }
    dl_dataset *s = dl_dataset_new(count, d->rows, d->cols, e);
    if (!s) return NULL;
    memcpy(s->pixels, d->pixels + first * d->npix, count * d->npix);
    memcpy(s->labels, d->labels + first, count);
    return s;
}

void dl_dataset_truncate(dl_dataset *d, size_t n)
{
    if (n >= d->n) return;
    d->n = n;
    /* Shrinking in place; if realloc cannot, the larger blocks still work. */
    uint8_t *p = realloc(d->pixels, n ? n * d->npix : 1), *l = realloc(d->labels, n ? n : 1);
    if (p) d->pixels = p;
    if (l) d->labels = l;
}

dl_dataset *dl_dataset_split(dl_dataset *d, size_t keep, dl_err *e)
{
    if (keep > d->n) {
        dl_err_set(e, DL_EINVAL, "split at %zu is outside a dataset of %zu", keep, d->n);
        return NULL;
    }
    size_t tail = d->n - keep;
    if (tail <= keep) {
        dl_dataset *t = dl_dataset_slice(d, keep, tail, e);
        if (t) dl_dataset_truncate(d, keep);
        return t;
    }
    /* The tail is the larger part: copy the head out, move the tail to the
     * front of d's memory and give that memory to the tail. */
    dl_dataset *h = dl_dataset_slice(d, 0, keep, e);
    if (!h) return NULL;
    memmove(d->pixels, d->pixels + keep * d->npix, tail * d->npix);
    memmove(d->labels, d->labels + keep, tail);
    dl_dataset_truncate(d, tail);
    dl_dataset swap = *d;
    *d = *h;
    *h = swap;
    return h;
}

dl_dataset *dl_dataset_select(const dl_dataset *d, const int *classes, int k, dl_err *e)
{
    int map[256];
    for (int i = 0; i < 256; i++) map[i] = -1;
    for (int i = 0; i < k; i++) {
        if (classes[i] < 0 || classes[i] > 255) {
            dl_err_set(e, DL_EINVAL, "class %d is not a label (0..255)", classes[i]);
            return NULL;
        }
        map[classes[i]] = i;
    }
    size_t count = 0;
    for (size_t i = 0; i < d->n; i++) count += map[d->labels[i]] >= 0;
    dl_dataset *s = dl_dataset_new(count, d->rows, d->cols, e);
    if (!s) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < d->n; i++) {
        int m = map[d->labels[i]];
        if (m < 0) continue;
        memcpy(s->pixels + j * d->npix, d->pixels + i * d->npix, d->npix);
        s->labels[j++] = (uint8_t)m;
    }
    return s;
}

int dl_dataset_nclasses(const dl_dataset *d)
{
    int m = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] > m) m = d->labels[i];
    return m + 1;
}

void dl_dataset_image(const dl_dataset *d, size_t i, float *out)
{
    const uint8_t *p = d->pixels + i * d->npix;
    for (size_t k = 0; k < d->npix; k++) out[k] = p[k] * (1.0f / 255.0f);
}

uint32_t dl_dataset_fingerprint(const dl_dataset *d)
{
    unsigned char h[12];
    dl_put_be32(h, (uint32_t)d->n);
    dl_put_be32(h + 4, (uint32_t)d->rows);
    dl_put_be32(h + 8, (uint32_t)d->cols);
    uint32_t c = dl_crc32(0, h, sizeof h);
    c = dl_crc32(c, d->labels, d->n);
    return dl_crc32(c, d->pixels, d->n * d->npix);
}

dl_status dl_dataset_check(const dl_dataset *d, int npix, int nclasses, const char *what, const char *hint,
                           dl_err *e)
{
    if (d->npix != (size_t)npix)
        return dl_err_set(e, DL_EFORMAT, "%s: images are %dx%d (%zu pixels) but the network's input layer has %d",
                          what, d->rows, d->cols, d->npix, npix);
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] >= nclasses)
            return dl_err_set(e, DL_EFORMAT, "%s: label %d at example %zu, but the network has only %d outputs%s%s%s",
                              what, d->labels[i], i, nclasses, hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
    return DL_OK;
}

