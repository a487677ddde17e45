/*
 * viz_explain.h — pictures of explanations: a row of attribution panels,
 * a neuron's card, a maximised input.  The numbers come from explain.h;
 * this file only lays them out on canvases (canvas.h, colormap.h) with
 * legends.  Knows nothing of the command line.
 */
#ifndef DIGITLENS_VIZ_EXPLAIN_H
#define DIGITLENS_VIZ_EXPLAIN_H

#include "digitlens/canvas.h"
#include "digitlens/err.h"
#include "digitlens/explain.h"
#include "digitlens/dataset.h"
#include "digitlens/model.h"
#include "digitlens/viz.h"

/* One attribution map with its labels. */
typedef struct dl_viz_attr_panel {
    const float *map;   /* [rows x cols], borrowed */
    const char *title;  /* above the map, e.g. "integrated gradients" */
    const char *note;   /* a second line under the title (may be NULL), e.g. "gap 0.2%" */
} dl_viz_attr_panel;

/* A row: the input x [rows x cols] (dark ink on white; omitted when x is
 * NULL), then the n panels, each map drawn at st->scale through its OWN
 * symmetric diverging scale ±max|map| (white = 0) with its own colour bar
 * underneath, since methods differ in units and size.  caption (may be
 * NULL) is written across the top.  The caller frees the canvas. */
dl_canvas *dl_viz_attribution_row(const float *x, int rows, int cols, const dl_viz_attr_panel *panels,
                                  int n, const char *caption, const dl_viz_style *st, dl_err *e);

/* The same with every panel on one scale ±limit (limit > 0), for maps that
 * are compared with each other (one method for two outputs: one colour then
 * means one value); limit <= 0 is dl_viz_attribution_row. */
dl_canvas *dl_viz_attribution_row_scaled(const float *x, int rows, int cols, const dl_viz_attr_panel *panels,
                                         int n, const char *caption, float limit, const dl_viz_style *st,
                                         dl_err *e);

/* A neuron's card from its statistics s (computed on d, whose images the
 * top / bottom grids show): title with the headline numbers; its incoming
 * weight map and trained − initial map (each with a colour bar); the s->k
 * examples that drive it highest and lowest as image grids with their
 * activations; its mean activation per class and its weights into each
 * output (bar charts, labelled with m->classes); saturation and ablation
 * figures.  st->scale sizes the weight maps (the example grids use half). */
dl_canvas *dl_viz_neuron_card(const dl_model *m, const dl_dataset *d, const dl_neuron_stats *s,
                              const dl_viz_style *st, dl_err *e);

/* The card's saturation line in the neuron's activation's terms: "saturated
 * on 12.30% of inputs" (sigmoid, tanh), "off (0) on 40.00% of inputs" or
 * "dead: never positive on these inputs" (ReLU); detail gets the split
 * ("above 0.99: 1.00%,  below 0.01: 11.30%") or "" for a ReLU. */
void dl_viz_saturation_text(const dl_neuron_stats *s, char *line, size_t cap, char *detail, size_t dcap);

/* A maximised input x [rows x cols] (0..1, viridis) with a colour bar and
 * title (e.g. "output 3: activation 0.999 after 200 steps"). */
dl_canvas *dl_viz_maximize_picture(const float *x, int rows, int cols, const char *title,
                                   const char *subtitle, const dl_viz_style *st, dl_err *e);

#endif
