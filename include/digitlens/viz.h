/*
 * viz.h — pictures of a trained network: weight maps of every neuron,
 * input×weight heatmaps, hidden-layer activations, class templates.
 *
 * The float maps come first (dl_viz_*_map: plain arrays a test can check
 * against the equations); the dl_viz_*_picture functions draw them with a
 * legend onto a new canvas.  Layers are numbered as in the network's sizes:
 * layer 1 is the first hidden layer, nlayers-1 the output layer; a neuron's
 * incoming weights come from layer-1.  Knows nothing of the command line.
 */
#ifndef DIGITLENS_VIZ_H
#define DIGITLENS_VIZ_H

#include "digitlens/canvas.h"
#include "digitlens/colormap.h"
#include "digitlens/err.h"
#include "digitlens/model.h"

/* The shape a layer's incoming weights are drawn in: the input image
 * (rows x cols) for layer 1, a near-square grid of the previous layer's
 * neurons for deeper layers (10x10 for 100). */
void dl_viz_weight_shape(const dl_model *m, int layer, int *mw, int *mh);

/* Neuron `neuron` of `layer`: its incoming weights (trained − initial when
 * delta) reshaped to mw x mh; grid cells beyond the previous layer are NaN. */
void dl_viz_weight_map(const dl_model *m, int layer, int neuron, int delta, float *map);

/* Each pixel's contribution to a first-layer neuron's weighted input:
 * out[i] = x[i] · W1[neuron][i], so Σ out + b = z. */
void dl_viz_contribution_map(const dl_net *n, int neuron, const float *x, float *out);

/* Input × ∂(output cls)/∂x through the whole network (a linearisation). */
dl_status dl_viz_input_x_gradient(const dl_net *n, int cls, const float *x, float *out, dl_err *e);

/* The linearised template of output cls in input space, ignoring the
 * sigmoids: row cls of W[L-1]·…·W[0]  (Σⱼ W2[c,j]·W1[j,:] for one hidden layer). */
dl_status dl_viz_template_map(const dl_net *n, int cls, float *out, dl_err *e);

/* The hidden neuron of layer 1 with the k-th largest (k = 1: largest)
 * weight into output cls (for 3-layer networks). */
int dl_viz_top_hidden_for_class(const dl_net *n, int cls, int k);

typedef struct dl_viz_style {
    const dl_font *font;  /* NULL: the built-in fallback font */
    int scale;            /* nearest-neighbour upscale of each map pixel */
} dl_viz_style;

/* One neuron's weight map at the top-left corner (exactly mw·scale x
 * mh·scale pixels at (0,0)), with a title and a colour bar below.
 * limit > 0 fixes the colour range to ±limit; otherwise ±max|w|. */
dl_canvas *dl_viz_weight_picture(const dl_model *m, int layer, int neuron, int delta, float limit,
                                 const dl_viz_style *st, dl_err *e);

/* All neurons of a layer in a near-square montage with separators and a
 * colour bar.  shared: one ±max|w| for all; otherwise each tile is scaled
 * to its own ±max|w| (the bar then reads "relative"). */
dl_canvas *dl_viz_weight_grid(const dl_model *m, int layer, int delta, int shared,
                              const dl_viz_style *st, dl_err *e);

/* The same grid with tile k showing neuron order[k] (a permutation of the
 * layer's neurons; NULL: 0, 1, 2, ...), e.g. dl_neuron_cluster_order's. */
dl_canvas *dl_viz_weight_grid_ordered(const dl_model *m, int layer, int delta, int shared, const int *order,
                                      const dl_viz_style *st, dl_err *e);

/* The largest |weight| (or |change|) in a layer: the shared colour limit. */
float dl_viz_layer_limit(const dl_model *m, int layer, int delta);

/* Panels: input, weights, input×weights for first-layer neuron `neuron`,
 * with z and σ(z) written in; when cls >= 0 a fourth panel shows input ×
 * gradient of output cls. */
dl_canvas *dl_viz_heatmap_picture(const dl_model *m, int neuron, int cls, const float *x,
                                  const dl_viz_style *st, dl_err *e);

/* The colour scale for n activations a of a layer of activation f: its
 * range, so pictures of different inputs compare: sigmoid viridis 0..1,
 * tanh diverging −1..1 (0 white), ReLU viridis 0..max(a) (unbounded above;
 * 0..1 when every a is 0). */
dl_colorscale dl_viz_activation_scale(dl_act f, const float *a, int n);

/* Input, hidden-layer outputs as a grid (dl_viz_activation_scale, each
 * cell with its neuron's index, and a note that the row-major layout has
 * no spatial meaning), and the outputs as a bar chart with the winner
 * marked. */
dl_canvas *dl_viz_activation_picture(const dl_model *m, const float *x, const dl_viz_style *st,
                                     dl_err *e);

/* The same with each cell coloured by shade[j] (one value per neuron of
 * layer 1: its vote for the predicted digit, say) through a symmetric
 * diverging scale ±max|shade| instead of its activation; title heads the
 * grid and label captions its colour bar.  shade NULL: the plain picture. */
dl_canvas *dl_viz_activation_picture_shaded(const dl_model *m, const float *x, const float *shade,
                                            const char *title, const char *label,
                                            const dl_viz_style *st, dl_err *e);

/* n values, one per neuron, painted as the cells (cell x cell pixels) of
 * dl_grid_shape(n)'s grid with its top-left at (x, y), row-major, through
 * cs; each cell has its neuron's index written in (dark or white, whichever
 * reads on the cell) when it fits.  Unused cells of the last row are grey. */
void dl_viz_neuron_grid(dl_canvas *c, int x, int y, const float *v, int n, int cell, dl_colorscale cs,
                        const dl_viz_style *st);

/* A new canvas: c with n lines of text written underneath (widened when a
 * line needs it).  c is only read. */
dl_canvas *dl_viz_add_notes(const dl_canvas *c, const char *const *lines, int n, const dl_viz_style *st,
                            dl_err *e);

/* maps[k] (each mw x mh) in a row with a title per map and one shared
 * diverging colour bar: used for templates and saliency per class. */
dl_canvas *dl_viz_map_row(const float *maps, int n, int mw, int mh, const char *const *titles,
                          const char *caption, const dl_viz_style *st, dl_err *e);

#endif
