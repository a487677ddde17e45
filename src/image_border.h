/*
 * image_border.h — the border of a grayscale picture and the median of a
 * few of its values: what decoding (image.c: the background behind
 * transparency) and digit finding (digit.c: the paper's shade) both
 * measure.  Private to src/.
 */
#ifndef DIGITLENS_IMAGE_BORDER_H
#define DIGITLENS_IMAGE_BORDER_H

#include <stddef.h>
#include <stdlib.h>

/* The border is every pixel in the outermost rows and columns, each once.
 * For pictures 2 or fewer pixels thick every pixel is on it. */
static inline size_t dl_border_count(int w, int h)
{
    if (w <= 2 || h <= 2) return (size_t)w * (size_t)h;
    return 2 * (size_t)w + 2 * (size_t)(h - 2);
}

/* Index into px[] of the k-th border pixel, 0 <= k < dl_border_count(w, h). */
static inline size_t dl_border_index(int w, int h, size_t k)
{
    if (w <= 2 || h <= 2) return k;
    size_t uw = (size_t)w;
    if (k < uw) return k;                              /* top row */
    if (k < 2 * uw) return (size_t)(h - 1) * uw + (k - uw); /* bottom row */
    size_t r = k - 2 * uw;                             /* left, right columns */
    size_t y = 1 + r / 2;
    return y * uw + ((r & 1) ? uw - 1 : 0);
}

static inline int dl_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), n >= 1; sorts v. */
static inline float dl_median(float *v, size_t n)
{
    qsort(v, n, sizeof *v, dl_cmp_float);
    if (n & 1) return v[n / 2];
    return 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

#endif
