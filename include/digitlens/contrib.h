/*
 * contrib.h — which hidden neurons made one decision, as numbers (no
 * drawing: viz_contrib.h draws them).
 *
 * Votes (exact).  Write L = nlayers − 1 for the output layer and h = L − 1
 * for the last hidden layer.  Output C's weighted input is linear in h's
 * activations:
 *     z_C(x) = Σ_j W[h][C][j]·a_j(x) + b[h][C]          (j = 0 .. sizes[h]−1)
 * so each neuron j of layer h casts the vote  v_j = W[h][C][j]·a_j(x)  for
 * C on this input, and Σ_j v_j + b_C = z_C, up to float rounding.  Asked
 * "why C and not D", the margin z_C − z_D splits the same way, with
 * weights W[h][C][j] − W[h][D][j] and bias b_C − b_D, so votes(C vs D) =
 * −votes(D vs C).  A vote is in units of z (the output's weighted input,
 * before its sigmoid or softmax: the logit): votes add, output activations
 * do not.  The split holds for any hidden activation.
 *
 * Conductance (earlier hidden layers).  A unit of layer l < h reaches z_C
 * only through the activations above it, so no exact split exists.  Its
 * conductance (Dhamdhere, Yan and Sundararajan 2018, "How important is a
 * neuron?") is the part of F's change along the straight path
 * x(α) = x₀ + α(x − x₀) from a baseline x₀ (default black) to x that flows
 * through that unit:
 *     cond_j = ∫₀¹ ∂F/∂a_j(x(α)) · d a_j(x(α))/dα dα,     F = z_C (or z_C − z_D)
 * Because the network is fully connected, F depends on x only through
 * layer l, so Σ_j cond_j is the line integral of ∇F along the path's image
 * in layer l: F(x) − F(x₀) exactly ("completeness").  We state the gap
 * against z, not against the output activation: gap = Σ_j cond_j −
 * (F(x) − F(x₀)), which only the discretisation leaves.
 *
 * How it is computed: a_j is a function of its own weighted input z_j
 * alone, so the same integral is ∫ ∂F/∂z_j · dz_j/dα dα, and ∂F/∂z_j is
 * what the library's backward pass leaves in t->delta (net.h,
 * dl_net_input_gradient_seeded with seed 1).  The integral is taken by the
 * trapezoid rule over steps + 1 points α_s = s/steps, with the change of
 * z_j between neighbouring points (so a unit whose z does not move gets
 * exactly 0).  The last hidden layer gets the same treatment for
 * comparison: there cond_j → v_j(x) − v_j(x₀) as steps grow.
 *
 * Every function borrows the network and the input; the result is one
 * allocation, released by dl_contrib_free.  Knows nothing of drawing,
 * files or the command line.
 */
#ifndef DIGITLENS_CONTRIB_H
#define DIGITLENS_CONTRIB_H

#include <math.h>
#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/net.h"

/* A hidden neuron with an activation below this in magnitude is "silent"
 * on an input: its vote is under 1% of its weight.  (The same 0.01 the
 * neuron statistics count as saturated low.)  In magnitude, because a tanh
 * neuron at −0.9 votes as loudly as one at 0.9. */
#define DL_SILENT_ACTIVATION 0.01f

static inline int dl_contrib_silent(float a) { return fabsf(a) < DL_SILENT_ACTIVATION; }

#define DL_CONTRIB_MAX_STEPS 1000000
#define DL_CONTRIB_MAX_RANK 256

typedef struct dl_contrib_opts {
    int vs;                 /* the rival output D (0..sizes[L]−1, not the class), or −1 */
    int steps;              /* conductance: trapezoid steps (1..DL_CONTRIB_MAX_STEPS); 0: none */
    const float *baseline;  /* conductance: x₀ [sizes[0]], borrowed; NULL: all 0 (black) */
} dl_contrib_opts;

/* vs −1, 256 steps (completeness within 1% on trained MNIST networks), black baseline. */
dl_contrib_opts dl_contrib_opts_defaults(void);

typedef struct dl_contrib {
    int out, vs;             /* output C explained, and D or −1 */
    int layer;               /* h = nlayers − 2, the layer whose votes are exact */
    int width;               /* sizes[h] */
    int nlayers;             /* the network's */
    int predicted;           /* argmax of the outputs on x */
    float output;            /* a[L][C]: output C's activation on x */
    float z;                 /* F(x): z_C (− z_D), as the forward pass added it */
    float z_class, z_vs;     /* z_C and z_D (z_vs 0 without a rival) */
    float bias;              /* b_C (− b_D) */
    double vote_sum;         /* Σ_j v_j + bias, in double: z up to float rounding */
    float *prev_act;         /* [sizes[h−1]] the activations layer h reads (the input for h = 1) */
    float *activation;       /* [width] a_j(x) */
    float *weight;           /* [width] W[h][C][j] (− W[h][D][j]) */
    float *vote;             /* [width] weight·activation */
    /* conductance, when steps > 0 */
    int steps;
    float z_baseline;                  /* F(x₀) */
    float *conductance[DL_MAX_LAYERS]; /* [sizes[l]] for hidden l = 1..h; NULL elsewhere */
    double cond_sum[DL_MAX_LAYERS];    /* Σ_j conductance[l][j] (in double) */
    double gap[DL_MAX_LAYERS];         /* cond_sum[l] − (z − z_baseline) */
} dl_contrib;

/* The votes of the last hidden layer for output `out` on input x
 * [sizes[0]], and with o->steps > 0 every hidden layer's conductance; o
 * NULL: the defaults.  NULL with *e (DL_EINVAL naming the problem) for a
 * network without a hidden layer, an output or rival out of range, a rival
 * equal to the class, or bad steps; DL_ENOMEM. */
dl_contrib *dl_contrib_compute(const dl_net *n, int out, const float *x, const dl_contrib_opts *o,
                               dl_err *e);
void dl_contrib_free(dl_contrib *c);

/* The |relative| completeness gap of layer l: |gap| / |z − z_baseline|
 * (0 when both are 0; infinity when only the gap is not). */
double dl_contrib_relative_gap(const dl_contrib *c, int l);

/* The indices of the k largest (top = 1) or smallest (top = 0) of v[0..n)
 * into idx [k], best first, equal values by lower index (explain.h's one
 * top-k ranking); k is clipped to n and to DL_CONTRIB_MAX_RANK (a
 * picture's worth), and the count written is returned. */
int dl_contrib_rank(const float *v, int n, int k, int top, int *idx);

#endif
