/*
 * digit_parts.h — the connected pieces of ink in a picture, and which of
 * them are the digit (digit_parts.c), for digit.c's steps.  Private to src/.
 * Pieces are found by union-find over horizontal runs of pixels: no
 * recursion, memory bounded by the picture's size.
 */
#ifndef DIGITLENS_DIGIT_PARTS_H
#define DIGITLENS_DIGIT_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"

/* Tuning constants, all fractions unless marked (see digit.c). */
#define STROKE_CORE 0.40f     /* of the digit's strongest ink: what certainly is a stroke */
#define SPECK_MASS 0.03       /* of the digit's main part: smaller parts are specks */
#define NEAR_GAP 0.50         /* of the main part's longer side: farther parts are strays */
#define EDGE_CONTACT 0.25     /* of a side: ink running this far along it is a table edge */
#define THIN_RATIO 5          /* a line is this many times longer than it is thick */
#define RULE_COVER 0.75       /* of a row or column: ink this long is a straight line */
#define RULE_END (1.0 / 32)   /* of a row or column: such a line reaches this close to both ends */
#define RULE_MIN_LENGTH 16    /* px: shorter rows and columns hold no lines */

/* A horizontal run of ink pixels [x0, x1) on row y.  While labelling,
 * parent is a union-find link that never points to a later run; then it
 * becomes -(part number + 1); dl_image_to_mnist_ex finally stores there
 * whether the part was kept. */
typedef struct ink_run {
    int32_t x0, x1, y, parent;
} ink_run;

/* What one connected part of the ink looks like.  Small on purpose: a
 * picture of pure noise has a part per four pixels.  Sides are at most
 * DL_IMAGE_MAX_SIDE (2^14), so coordinates fit 16 bits. */
typedef struct ink_part {
    float mass;             /* sum of the ink */
    float peak;             /* its strongest pixel */
    int16_t x0, y0, x1, y1; /* bounding box, inclusive */
    uint16_t side[4];       /* pixels on the left, right, top, bottom border */
    int32_t keep;
} ink_part;

/* The part a labelled run belongs to. */
static inline int32_t run_part(const ink_run *r)
{
    return -r->parent - 1;
}

/* The strong parts of d [h x w] (at or above t), measured: *parts_out gets
 * a new array (the caller frees it) and *n its length; *runs_out and
 * *first_out the runs they are made of (row y's runs are
 * runs[first[y]] .. runs[first[y + 1] - 1]). */
dl_status dl_digit_label_parts(const float *d, int w, int h, float t, ink_run **runs_out, uint32_t **first_out,
                               ink_part **parts_out, int32_t *n, dl_err *e);

/* Ink along a border, or a long thin stroke from edge to edge. */
int dl_digit_part_is_clutter(const ink_part *p, int w, int h);

/* Marks in keep the parts that make the digit (see digit_parts.c). */
void dl_digit_choose_parts(ink_part *p, int32_t n, int w, int h, int clean);

/* Erases straight lines of ink from edge to edge (see digit_parts.c). */
void dl_digit_erase_rules(float *d, int w, int h, float t, const ink_run *digit, size_t n, int *cnt, int *lo,
                          int *hi, unsigned char *rule);

#endif
