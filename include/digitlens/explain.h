/*
 * explain.h — why a network answers what it answers, as float maps and
 * numbers (no drawing: viz_explain.h draws them).
 *
 * Three questions, three groups of functions:
 *   1. Attributions: how much each input pixel contributed to one output
 *      y_c = a[L][c] for one input x (for a softmax output a probability,
 *      whose gradient passes through the softmax's Jacobian).  Five
 *      methods, each with its defining property (tests/test_explain.c
 *      checks each one):
 *        gradient              ∂y_c/∂x                     (= finite differences)
 *        input-x-gradient      x ⊙ ∂y_c/∂x                 (one linearisation)
 *        integrated-gradients  (x − x₀) ⊙ ∫₀¹ ∂y_c/∂x(x₀ + α(x − x₀)) dα
 *                              (Σ attr ≈ y_c(x) − y_c(x₀): "completeness")
 *        lrp                   layer-wise relevance, ε-rule (Σ relevance
 *                              in + to biases + absorbed by ε = y_c)
 *        occlusion             mean drop of y_c when a patch covering the
 *                              pixel is set to 0
 *   2. Maximisation: the input in [0,1]^n that drives one neuron (or output)
 *      highest, by projected gradient ascent.
 *   3. Neuron statistics: what a hidden neuron responds to over a data set
 *      (top / bottom examples, mean per class, outgoing weights,
 *      saturation, ablation).
 *
 * Layers are numbered as in net.h's sizes: 0 the input, 1 the first hidden
 * layer, nlayers−1 the output.  Output indices are the network's (0..K−1);
 * map digit labels through dl_model's classes[] before calling.  Every
 * function borrows the network and allocates only scratch it frees.
 */
#ifndef DIGITLENS_EXPLAIN_H
#define DIGITLENS_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/dataset.h"
#include "digitlens/net.h"

/* ---- 1. attributions --------------------------------------------------- */

typedef enum dl_attr_method {
    DL_ATTR_GRADIENT = 0,
    DL_ATTR_INPUT_X_GRADIENT,
    DL_ATTR_INTEGRATED_GRADIENTS,
    DL_ATTR_LRP,
    DL_ATTR_OCCLUSION,
    DL_ATTR_NMETHODS
} dl_attr_method;

/* "gradient", "input-x-gradient", "integrated-gradients", "lrp",
 * "occlusion"; NULL for anything else. */
const char *dl_attr_method_name(dl_attr_method m);

/* The method named s (as above); -1 when s names none. */
int dl_attr_method_parse(const char *s);

typedef struct dl_attr_opts {
    int rows, cols;          /* image shape of the input (rows·cols = sizes[0]); occlusion needs it */
    int steps;               /* integrated gradients: Riemann steps (midpoint rule), >= 1; default 64 */
    const float *baseline;   /* integrated gradients: x₀ [sizes[0]], borrowed; NULL = all 0 (black) */
    float epsilon;           /* lrp: ε > 0 of the ε-rule; default 0.01 */
    int patch, stride;       /* occlusion: square patch side and step in pixels; default 4 and 2 */
} dl_attr_opts;

/* The defaults above for a rows x cols input. */
dl_attr_opts dl_attr_opts_defaults(int rows, int cols);

/* What a method found besides the map. */
typedef struct dl_attr_info {
    dl_attr_method method;
    int out;                 /* the output explained */
    float output;            /* y_c(x) */
    double sum;              /* Σ attribution over the input */
    /* integrated gradients */
    float baseline_output;   /* y_c(x₀) */
    double completeness_gap; /* Σ attr − (y_c(x) − y_c(x₀)); → 0 as steps grow */
    /* lrp */
    double bias_relevance;   /* relevance the ε-rule gives to the biases, all layers */
    double eps_relevance;    /* relevance absorbed by the ε terms, all layers:
                                sum + bias_relevance + eps_relevance = lrp_start (up to rounding) */
    float lrp_start;         /* what LRP distributes: y_c, or the logit z_c for a softmax output */
} dl_attr_info;

/* The attribution of output `out` (0..sizes[L]−1) for input x [sizes[0]]
 * into attr [sizes[0]] by method m; info (may be NULL) gets the numbers;
 * o NULL means the defaults with the input taken as one row.
 * DL_EINVAL for a bad output index, shape or option (message names it).
 *
 * LRP (our definition, after Bach et al. 2015 and Montavon et al. 2019):
 * the relevance of the output is its activation, R[L] = y_c on neuron c and
 * 0 elsewhere; for a softmax output it is the logit, R[L] = z_c (a
 * probability is a comparison of every class, not a score of one that the
 * layers below could share out).  Each activation passes relevance through
 * unchanged, R(z_j) = R(a_j): for ReLU this is LRP-ε as Montavon et al.
 * define it (an inactive unit has a_j = 0 and so receives nothing from
 * above), and for sigmoid and tanh, both monotone, it is the usual
 * treatment.  Each linear step z_j = Σ_k w_jk a_k + b_j splits R_j by the
 * ε-rule
 *     R_k   = Σ_j  a_k w_jk / (z_j + ε·sign z_j) · R_j
 *     R_b,j =      b_j     / (z_j + ε·sign z_j) · R_j   (to the bias)
 *     R_ε,j =      ε·sign z_j / (z_j + ε·sign z_j) · R_j (absorbed)
 * (sign 0 = +1), so relevance is conserved layer by layer once the bias and
 * ε shares are counted.  attr is R at the input. */
dl_status dl_explain_attribution(const dl_net *n, dl_attr_method m, int out, const float *x,
                                 const dl_attr_opts *o, float *attr, dl_attr_info *info,
                                 dl_err *e);

/* ---- 2. maximisation ---------------------------------------------------- */

typedef struct dl_maximize_opts {
    int rows, cols;   /* image shape (blur needs it) */
    int steps;        /* gradient-ascent steps; default 200 */
    float lr;         /* Adam step size (pixels per step); default 0.05 */
    float l2;         /* penalty λ·Σx²  (λ >= 0); default 0.01 */
    float blur;       /* Gaussian blur σ in pixels after each step; 0 = off (default) */
    float start;      /* every pixel starts at this value in [0,1]; default 0 */
} dl_maximize_opts;

dl_maximize_opts dl_maximize_opts_defaults(int rows, int cols);

typedef struct dl_maximize_info {
    float activation;    /* a[layer][neuron] at the result */
    float z;             /* its weighted input */
    float objective;     /* z − λ·Σx² at the result */
    float start_activation;
} dl_maximize_info;

/* The input x [sizes[0]], each pixel kept in [0,1], that maximises neuron
 * `neuron` of `layer` (1..nlayers−1; the output layer for a class) by
 * projected gradient ascent (Adam) on  z − λ·Σᵢ xᵢ²,  where z is the
 * neuron's weighted input: sigmoid, tanh and ReLU are monotone, so the
 * maximiser is the same as for the activation, and the gradient does not
 * vanish as σ saturates or a ReLU is off.  For a softmax output z is the
 * class's logit (its probability also depends on the other classes').
 * For a first-layer neuron z = w·x + b is linear, so with λ = 0 the answer
 * is known: xᵢ = 1 where wᵢ > 0 and 0 where wᵢ < 0 ("ink where the weight
 * is positive"); the method becomes informative for outputs and deeper
 * layers, where the sigmoids in between make it non-linear.  o NULL: the
 * defaults, with the input taken as one row (matters only for blur). */
dl_status dl_explain_maximize(const dl_net *n, int layer, int neuron, const dl_maximize_opts *o,
                              float *x, dl_maximize_info *info, dl_err *e);

/* ---- 3. neuron statistics ----------------------------------------------- */

#define DL_NEURON_MAX_TOP 1024

typedef struct dl_neuron_stats {
    int layer, neuron;       /* a hidden neuron: 1 <= layer < nlayers−1 */
    size_t n;                /* examples looked at (the whole data set) */
    int k;                   /* length of top / bottom: min(requested k, n) */
    size_t *top;             /* [k] data-set indices, highest activation first */
    float *top_act;          /* [k] their activations */
    size_t *bottom;          /* [k] lowest activation first */
    float *bottom_act;       /* [k] */
    int nclasses;            /* the network's outputs K (labels are output indices) */
    float *class_mean;       /* [K] mean activation over the examples labelled k (NaN: none) */
    uint32_t *class_count;   /* [K] how many there were */
    int nout;                /* sizes[layer+1] */
    float *out_weights;      /* [nout] W[layer][j][neuron]: its weight into each neuron above */
    float mean;              /* mean activation over all examples */
    dl_act act;              /* its activation, which decides what "saturated" means: */
    float saturated;         /* saturated_high + saturated_low */
    float saturated_high;    /* fraction with a > 0.99 (sigmoid, tanh; a ReLU never saturates above) */
    float saturated_low;     /* fraction with a < 0.01 (sigmoid), a < −0.99 (tanh), a = 0 (ReLU: off,
                                where its slope is 0) */
    int dead;                /* a ReLU that is never positive on the data set: it passes nothing on
                                and learns nothing (no gradient reaches its weights) */
    double accuracy;         /* of the intact network on the data set */
    double ablated_accuracy; /* with the neuron removed: its outgoing weights set to 0 */
    double ablation_drop;    /* accuracy − ablated_accuracy (percentage points / 100) */
    double mean_ablated_accuracy; /* with its activation fixed at its mean instead */
    double mean_ablation_drop;    /* accuracy − mean_ablated_accuracy */
} dl_neuron_stats;

/* Is activation a of an `act` neuron saturated above (high) or below (the
 * definitions of dl_neuron_stats)?  words, when not NULL, gets the rule as
 * a phrase for a label: "above 0.99", "below 0.01", "below -0.99", "at 0
 * (off)", or "never" for a ReLU above. */
int dl_act_saturated(dl_act act, float a, int high, const char **words);

/* Top-k selection shared by the neuron statistics and the report: an
 * activation and its example index.  dl_rank_offer keeps the k best seen
 * so far in a heap (top: highest first, else lowest; equal activations by
 * lower index, so results are deterministic); dl_rank_sorted turns the heap
 * into a list, best first. */
typedef struct dl_ranked {
    float a;
    size_t i;
} dl_ranked;
void dl_rank_offer(dl_ranked *h, int *len, int k, dl_ranked v, int top);
void dl_rank_sorted(dl_ranked *h, int len, int top);

/* Runs every example of d through n and fills *s for neuron `neuron` of
 * hidden layer `layer`; k (1..DL_NEURON_MAX_TOP) examples each end.
 * Labels of d must be output indices (< K; dl_model_fit_data maps digits).
 * Removing a neuron by zeroing its outgoing weights and by zeroing its
 * activation are the same operation in a fully connected network (its only
 * effect downstream is W[:,j]·a_j); both differ from holding it at its
 * mean, which leaves the biases above the input they were trained with, so
 * both drops are reported.  Ties in the ranking go to the lower index.
 * On failure *s is left empty (safe to free). */
dl_status dl_neuron_stats_compute(const dl_net *n, const dl_dataset *d, int layer, int neuron, int k,
                                  dl_neuron_stats *s, dl_err *e);

/* The statistics of every neuron of hidden layer `layer` on d, in one
 * pass: out[j] (j < sizes[layer]) as dl_neuron_stats_compute(n, d, layer,
 * j, k, &out[j]) fills it, with the same definitions and tie-breaking.
 * Activations, rankings, class means, saturation and accuracy are
 * bit-identical to it (the stored pass skips exact zeros, which adds the
 * same floats in the same order); the two ablated accuracies come from the
 * stored weighted inputs of the layer above, moved by the neuron's change
 * (in double), so an example whose top two outputs are within rounding of
 * each other may count differently.  The neurons are split between
 * `threads` (>= 1) threads.  Free each out[j] with dl_neuron_stats_free.
 * On failure out[] is left empty. */
dl_status dl_neuron_stats_layer(const dl_net *n, const dl_dataset *d, int layer, int k, int threads,
                                dl_neuron_stats *out, dl_err *e);

/* Releases what either function filled in *s (one block); *s is left
 * empty, and an empty one is safe to free. */
void dl_neuron_stats_free(dl_neuron_stats *s);

#endif
