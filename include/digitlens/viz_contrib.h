/*
 * viz_contrib.h — the picture of one decision's hidden votes: which
 * hidden neurons made the network answer C for this input.  The numbers
 * come from contrib.h; this file only lays them out (viz.h's neuron grid
 * and weight / input×weight maps, canvas.h's bar chart and colour bars).
 * Knows nothing of the command line.
 */
#ifndef DIGITLENS_VIZ_CONTRIB_H
#define DIGITLENS_VIZ_CONTRIB_H

#include "digitlens/canvas.h"
#include "digitlens/contrib.h"
#include "digitlens/err.h"
#include "digitlens/model.h"
#include "digitlens/viz.h"

/* The contributions picture of c (dl_contrib_compute on input x [rows x
 * cols] for m's network), caption (may be NULL) across the top:
 *   - the input;
 *   - for a deeper network, each earlier hidden layer's conductance as a
 *     neuron grid with its completeness gap (when c has it);
 *   - the last hidden layer's votes as a neuron grid in the activation
 *     picture's layout (row-major, indices written in; red for, blue
 *     against, one symmetric scale ±max|vote|);
 *   - a bar chart of the largest votes for and against, the rest of the
 *     votes together and the bias: the bars add up to z;
 *   - the `top` neurons that voted most for C (1..64), one row each: its
 *     incoming weight map, its input (or the layer below's activations) ×
 *     those weights, and a_j, its weight into C and its vote; each map
 *     column shares one colour scale, shown under the rows.
 * st->scale sizes the maps. */
dl_canvas *dl_viz_contrib_picture(const dl_model *m, const float *x, const dl_contrib *c, int top,
                                  const char *caption, const dl_viz_style *st, dl_err *e);

#endif
