/*
 * evolve.h — how a network learned, from its snapshots (snapshot.h), and
 * which of its hidden neurons do nothing or the same thing.
 *
 *   1. Films: one frame per chosen snapshot of a layer's incoming weights
 *      (or of their change since the initial parameters), all frames the
 *      same size and drawn through ONE colour scale fixed for the whole
 *      film, each labelled with step, epoch and accuracy; a filmstrip of a
 *      few frames side by side.
 *   2. Histograms over time: per weight layer, the distribution of its
 *      weights at each chosen snapshot, of the activations it produces on
 *      the evaluation subset, and the saturated fraction (σ'(z) < 0.01,
 *      i.e. a < 0.0101 or a > 0.9899), drawn as a ridge plot (PNG and SVG).
 *   3. Neuron health (evolve_neurons.c): dead neurons, duplicate pairs, a
 *      pruning curve, and an order of the neurons by clustering their
 *      activations.
 *
 * Layers are numbered as in net.h's sizes (1 = first hidden).  Everything
 * borrows its inputs; pictures are new canvases the caller frees.
 */
#ifndef DIGITLENS_EVOLVE_H
#define DIGITLENS_EVOLVE_H

#include <stddef.h>

#include "digitlens/canvas.h"
#include "digitlens/dataset.h"
#include "digitlens/err.h"
#include "digitlens/model.h"
#include "digitlens/snapshot.h"

/* σ'(z) = a(1 − a) below this counts as saturated. */
#define DL_SATURATED_SLOPE 0.01f

/* 1 when the snapshots s were recorded by the run that trained m (same
 * layers, seed and training data), else 0. */
int dl_snapshots_of(const dl_snapshots *s, const dl_model *m);

/* ---- 1. films ------------------------------------------------------------ */

/* Chooses up to max (>= 2) snapshots of s evenly spread over the run, the
 * first and the last always among them, into idx (ascending); returns how
 * many. */
size_t dl_film_pick(const dl_snapshots *s, size_t max, size_t *idx);

typedef struct dl_film_opts {
    int layer;           /* 1..nlayers-1: the layer whose incoming weights are drawn */
    int delta;           /* draw w − w(initial) instead of w */
    const int *neurons;  /* NULL: the whole layer as a grid; else these neurons large */
    int nneurons;
    int scale;           /* pixels per weight of a large neuron (grid tiles choose their own) */
    const dl_font *font;
} dl_film_opts;

/* A film: the snapshots it shows and the one colour limit every frame
 * uses, the 99.5th percentile of |w| (or |Δw|) of the layer over those
 * snapshots (beyond it colours saturate; a few outliers would otherwise
 * wash every frame out). */
typedef struct dl_film {
    const dl_snapshots *s;  /* borrowed */
    dl_film_opts o;
    size_t nframes;
    size_t *idx;            /* [nframes] snapshot indices */
    float limit;
    dl_model *m;            /* scratch: a model around the snapshot's parameters */
} dl_film;

/* Checks o against s (layer and neuron indices; DL_EINVAL naming them) and
 * prepares the film over the frames idx[0..n). */
dl_status dl_film_init(dl_film *f, const dl_snapshots *s, const dl_film_opts *o, const size_t *idx,
                       size_t n, dl_err *e);
void dl_film_free(dl_film *f);

/* Frame k (0..nframes-1) as a new canvas; every frame of a film has the
 * same size.  tile_scale > 0 overrides the grid tiles' scale (filmstrips
 * draw small). */
dl_canvas *dl_film_frame(dl_film *f, size_t k, int tile_scale, dl_err *e);

/* The whole film as an animated GIF in memory (*data, *len; free() them):
 * fps frames a second (1..100), the last frame held for a second, over
 * gif.h's palette of the pictures. */
dl_status dl_film_gif(dl_film *f, int fps, unsigned char **data, size_t *len, dl_err *e);

/* The frames idx[0..n) of both the weights and their change, two rows of
 * small frames side by side: a still of the film for papers and READMEs. */
dl_canvas *dl_film_strip(const dl_snapshots *s, const dl_film_opts *o, const size_t *idx, size_t n,
                         dl_err *e);

/* The label of snapshot i: "step 1200 · epoch 1.20 · 91.3% of 1000". */
void dl_film_label(const dl_snapshots *s, size_t i, char *buf, size_t cap);

/* The embedding film (evolve_embed.c): the t-SNE map (embed.h) of hidden
 * layer `layer`'s activations on the evaluation images at each chosen
 * snapshot; the first frame a full t-SNE run, each later one started from
 * the map before it (`iterations` more, no exaggeration), so points move
 * smoothly; dots coloured by class, misclassified ones ringed. */
typedef struct dl_embed_film_opts {
    int layer;              /* hidden layer, default 1 */
    int iterations;         /* t-SNE iterations of each frame after the first, default 150 */
    int threads;            /* default 1 */
    int panel_px;           /* side of the map, default 360 */
    const dl_font *font;
    const char *const *class_names; /* [outputs] legend labels; NULL: 0, 1, ... */
} dl_embed_film_opts;

dl_embed_film_opts dl_embed_film_defaults(void);

/* The film of the snapshots idx[0..n) on d (>= 100 labelled images, labels
 * = output indices) as a GIF in memory (*gif, *len; free() them). */
dl_status dl_embed_film(const dl_snapshots *s, const size_t *idx, size_t n, const dl_dataset *d,
                        const dl_embed_film_opts *o, int fps, unsigned char **gif, size_t *len, dl_err *e);

/* ---- 2. histograms over time ---------------------------------------------- */

typedef struct dl_histograms {
    int nlayers;            /* weight layers: sizes count − 1 */
    int bins;
    size_t nrows;           /* snapshots shown */
    size_t *idx;            /* [nrows] their indices */
    float *wlim;            /* [nlayers] weight axis ±wlim per layer */
    float *w;               /* [nlayers][nrows][bins] weight counts, each row / its total */
    int has_act;            /* activations were measured (an evaluation set was given) */
    size_t nexamples;
    float *act;             /* [nlayers][nrows][bins] activation counts on [0,1], normalised */
    float *saturated;       /* [nlayers][nrows] fraction of (example, neuron) pairs with σ' < 0.01 */
    char **labels;          /* [nrows] "step 1200 (epoch 1.2)" */
} dl_histograms;

/* The histograms of the snapshots idx[0..n) with `bins` (4..512) bins;
 * eval (may be NULL) gives the activations. */
dl_status dl_histograms_compute(const dl_snapshots *s, const size_t *idx, size_t n, const dl_dataset *eval,
                                int bins, dl_histograms *h, dl_err *e);
void dl_histograms_free(dl_histograms *h);

/* The ridge plot: one column of ridges per panel (weights of each layer;
 * activations of each layer with the saturated fraction at the right of
 * each ridge), the first snapshot at the top. */
dl_canvas *dl_histograms_picture(const dl_histograms *h, const dl_font *font, dl_err *e);

/* The same plot as a standalone SVG document (a new NUL-terminated string). */
char *dl_histograms_svg(const dl_histograms *h, size_t *len, dl_err *e);

/* ---- 3. neuron health (evolve_neurons.c) --------------------------------- */

typedef struct dl_dup_pair {
    int i, j;               /* i < j */
    float r;                /* correlation of their activations over the data */
    float cosine;           /* cosine similarity of their incoming weight vectors */
} dl_dup_pair;

typedef struct dl_health_opts {
    float dead_variance;    /* activation variance below this: dead (default 1e-4) */
    float dead_saturated;   /* saturated (σ' < 0.01) on at least this fraction: dead (0.99) */
    float duplicate_r;      /* correlation above this: a duplicate pair (0.95) */
} dl_health_opts;

dl_health_opts dl_health_defaults(void);

typedef struct dl_neuron_health {
    int layer, count;       /* hidden layer and its neurons */
    size_t n;               /* examples */
    float *mean, *variance, *saturated; /* [count] */
    int ndead;
    int *dead;              /* [ndead] ascending */
    int ndups;
    dl_dup_pair *dups;      /* [ndups] by i, then j */
    double accuracy;        /* of the intact network */
    int *order;             /* [count] removal order, least useful first */
    double *pruning;        /* [count + 1] accuracy with the first k of order removed */
} dl_neuron_health;

/* Runs d (labels = output indices) through n and fills *h for hidden layer
 * `layer` (1..nlayers-2).  Pruning removes a neuron by zeroing its
 * outgoing weights; the order is by the accuracy lost when each neuron
 * alone is removed (least first, ties to the lower index), and the curve
 * removes them cumulatively in that order. */
dl_status dl_neuron_health_compute(const dl_net *n, const dl_dataset *d, int layer, const dl_health_opts *o,
                                   dl_neuron_health *h, dl_err *e);
void dl_neuron_health_free(dl_neuron_health *h);

/* An order of the neurons of hidden layer `layer` (1..nlayers-2) in which
 * neurons that respond alike sit together: the leaf order of an
 * average-linkage clustering of their activations on d, with distance
 * 1 − correlation (dead neurons, whose correlation is undefined, are at
 * distance 1 from all).  order[sizes[layer]]. */
dl_status dl_neuron_cluster_order(const dl_net *n, const dl_dataset *d, int layer, int *order, dl_err *e);

/* The pruning curve as a chart: accuracy against neurons removed. */
dl_canvas *dl_pruning_picture(const dl_neuron_health *h, const dl_font *font, dl_err *e);

#endif
