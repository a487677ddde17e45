/*
 * digit.h — one digit found in a grayscale picture and normalised the way
 * MNIST's were: a picture (image.h) to a network input (28 x 28 floats).
 *
 * dl_image_to_mnist prepares a picture the way the MNIST digits were
 * prepared: background to 0, ink to 1, cropped to the ink, scaled (aspect
 * kept, area-averaged) to fit a 20 x 20 box, and pasted into 28 x 28 so
 * that the ink's centre of mass sits at the centre.  Before that it finds
 * the digit in a photographed page: paper under uneven light, ruled lines,
 * a table edge or shadow in the frame, specks.  See that function.
 *
 * Knows nothing of networks.  Never prints; uses no global state.
 */
#ifndef DIGITLENS_DIGIT_H
#define DIGITLENS_DIGIT_H

#include "digitlens/err.h"
#include "digitlens/image.h"

/* Preprocessing constants (fractions of the full black-to-white range). */
#define DL_IMAGE_MIN_CONTRAST  0.10f  /* ink must differ from the paper around it this much */
#define DL_IMAGE_INK_THRESHOLD 0.15f  /* after stretching, weaker ink is noise */

/* What dl_image_to_mnist found and did, for explaining it to a person. */
typedef struct dl_mnist_prep {
    float background;        /* paper level in the input behind the digit, 0..1 */
    float ink;               /* strongest ink level of the digit, 0..1 */
    int inverted;            /* 1: dark ink on light paper was turned around */
    int box_x, box_y;        /* the ink's bounding box in the input, after */
    int box_w, box_h;        /*   noise, lines and clutter were dropped */
    int scaled_w, scaled_h;  /* its size after scaling (= box if not resampled) */
    int off_x, off_y;        /* where it was pasted in the output */
    int parts;               /* connected pieces of stroke kept as the digit */
    int dropped;             /* pieces left out: specks, strays, clutter along the border */
} dl_mnist_prep;

/* MNIST preprocessing of a borrowed picture into out[rows * cols], row-major,
 * ink intensity in [0, 1] (0 = background, 1 = full ink), like an MNIST
 * digit / 255:
 *   1. the paper, locally: on a grid of blocks about 1/16 of the longer side
 *      (at least 4 px), each block's paper is its quartile on the paper's
 *      side; blocks that ink mostly fills are replaced by their neighbours
 *      (an opening of the grid over 5 x 5 blocks, which keeps any lighting
 *      gradient), and the grid is interpolated bilinearly.  Which side is
 *      the ink: the one where the darkest or lightest 0.5% of the picture
 *      lie clearly farther from the typical paper; if neither does, light
 *      paper means dark ink (inverted, as MNIST is light ink on black);
 *   2. ink = distance from the local paper; dark ink as a fraction of the
 *      paper's brightness there, since light multiplies (a digit in the
 *      shade measures as in the light), light ink as a plain difference;
 *      stretched so the digit's strongest ink is 1 (grey paper and faint
 *      pencil stretch to the full range);
 *   3. finding the digit: straight lines of ink from edge to edge (at least
 *      3/4 of a row or column: ruled and margin lines, the rim of a table
 *      edge or a shadow) are erased; the cores of strokes (at least 0.4 of
 *      the strongest ink) form connected pieces; pieces along a border
 *      (touching a quarter of a side, or thin from edge to edge) are
 *      clutter; the digit is the heaviest other piece plus the pieces near
 *      it (within half its size) that are not specks (under 3% of its ink),
 *      or all the clutter when there is nothing else.  Fainter ink, down to
 *      DL_IMAGE_INK_THRESHOLD, counts within the box of those cores plus a
 *      2% margin (the soft rim of the strokes).  A noise-free picture (most
 *      pixels exactly the border's shade: drawn, or MNIST's own) keeps its
 *      specks and faint pieces too, as MNIST has them;
 *   4. crop to the ink's bounding box, scale it (aspect kept; area average
 *      when shrinking, bilinear when growing) so its longer side fills a
 *      box of round(20/28 * rows) x round(20/28 * cols); ink already within
 *      one pixel of that size is not resampled (which would only blur it),
 *      so an MNIST digit comes back as it was;
 *   5. paste it so that the ink's centre of mass lands within half a
 *      pixel of (rows / 2.0, cols / 2.0) in pixel indices, i.e. pixel
 *      (14, 14) of 28 x 28, where MNIST's own digits have it on average;
 *      the shift is whole pixels (no second blur), and never off the edge.
 * A picture without ink (all one shade, or less contrast than
 * DL_IMAGE_MIN_CONTRAST against its local paper, including any 1 x 1
 * picture) is DL_EFORMAT.  rows and cols must be 1..DL_IMAGE_MAX_SIDE.
 * The digit needs a margin of paper around it: a digit touching the border
 * along much of a side, or a stroke spanning most of the picture from edge
 * to edge, is taken for clutter.  Time is linear in the pixels; memory is
 * a float per pixel plus the runs and pieces of ink found: a little for a
 * photo, at worst (noise in every other pixel) about 16 bytes per pixel. */
dl_status dl_image_to_mnist(const dl_gray *in, int rows, int cols, float *out, dl_err *e);

/* The same, also filling *prep (when non-NULL) with what was done. */
dl_status dl_image_to_mnist_ex(const dl_gray *in, int rows, int cols, float *out,
                               dl_mnist_prep *prep, dl_err *e);

/* dl_image_load followed by dl_image_to_mnist: a picture file straight to a
 * network input out[rows * cols]. */
dl_status dl_image_load_mnist(const char *path, int rows, int cols, float *out, dl_err *e);

#endif
