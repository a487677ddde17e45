/*
 * net.h — a fully connected network (Nielsen, chapters 1 and 3): sizes,
 * one parameter buffer with named views, each layer's activation (sigmoid,
 * the book's, unless told otherwise), forward pass, backprop.
 *
 * Layout of the parameter buffer (and of every buffer shaped like it:
 * gradients, initial parameters), for l = 0 .. nlayers-2 in order:
 *     W[l]  [sizes[l+1] x sizes[l]] row-major: W[l][j*sizes[l] + k] is the
 *           weight from neuron k of layer l to neuron j of layer l+1
 *           (network.py's weights[l][j][k])
 *     b[l]  [sizes[l+1]]
 * Knows nothing of files or threads.
 */
#ifndef DIGITLENS_NET_H
#define DIGITLENS_NET_H

#include <math.h>
#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/rng.h"

#define DL_MAX_LAYERS 8            /* input + hidden + output */
#define DL_MAX_WIDTH 65536         /* neurons in one layer */
#define DL_MAX_PARAMS (16u << 20)  /* 16 Mi floats = 64 MiB */

/* Costs of one example with one-hot target y (dl_cost_value). */
typedef enum dl_cost {
    DL_COST_QUADRATIC = 0,      /* ½‖a − y‖²: chapter 1 */
    DL_COST_CROSS_ENTROPY = 1,  /* Σ −y ln a − (1−y) ln(1−a): chapter 3, for sigmoid outputs */
    DL_COST_LOG_LIKELIHOOD = 2  /* −ln a_y: chapter 3, for a softmax output */
} dl_cost;
#define DL_COST_COUNT 3
typedef enum dl_init { DL_INIT_SCALED = 0, DL_INIT_NORMAL = 1 } dl_init;

/* The function a layer applies to its weighted inputs z. */
typedef enum dl_act {
    DL_ACT_SIGMOID = 0,  /* 1/(1+e^-z): the book's, and the default everywhere */
    DL_ACT_TANH = 1,
    DL_ACT_RELU = 2,
    DL_ACT_SOFTMAX = 3   /* output layer only: e^z_j / Σ_k e^z_k */
} dl_act;
#define DL_ACT_COUNT 4

typedef struct dl_net {
    int nlayers;                 /* layers including the input layer */
    int sizes[DL_MAX_LAYERS];
    size_t nparams;
    float *params;               /* [nparams], owned */
    float *w[DL_MAX_LAYERS - 1]; /* views into params */
    float *b[DL_MAX_LAYERS - 1];
    dl_act act[DL_MAX_LAYERS - 1]; /* act[l]: applied to the weighted inputs of layer l+1
                                      (the outputs of W[l]); all DL_ACT_SIGMOID after dl_net_new */
} dl_net;

/* "sigmoid", "tanh", "relu", "softmax"; NULL for anything else. */
const char *dl_act_name(dl_act a);
/* The activation named s (as above) into *out; 0 on success, -1 otherwise. */
int dl_act_parse(const char *s, dl_act *out);
/* out[0..n) = act(z[0..n)); softmax over the whole vector (max subtracted
 * first, so no e^z overflows).  out may be z. */
void dl_act_apply(dl_act a, const float *z, float *out, int n);
/* Refuses an activation that is not one of dl_act, and softmax on a hidden
 * layer (it couples a layer's neurons; digitlens's pictures and kernels
 * treat hidden neurons one at a time). */
dl_status dl_net_check_acts(const dl_net *n, dl_err *e);
/* Refuses a cost that means nothing on n's output activation, saying why:
 * cross-entropy wants sigmoid outputs (each in (0,1), each its own yes/no),
 * log-likelihood a softmax (outputs that sum to 1). */
dl_status dl_net_check_cost(const dl_net *n, dl_cost c, dl_err *e);
/* 1 when every layer is sigmoid: the book's network. */
int dl_net_all_sigmoid(const dl_net *n);

/* Checks a layer list (2..DL_MAX_LAYERS layers, each 1..DL_MAX_WIDTH,
 * parameter count within DL_MAX_PARAMS); fills *e naming the problem. */
dl_status dl_net_check_sizes(int nlayers, const int *sizes, dl_err *e);

/* A network with all parameters zero and every layer sigmoid; NULL with *e
 * on bad sizes or no memory.  dl_net_copy copies parameters and act[]. */
dl_net *dl_net_new(int nlayers, const int *sizes, dl_err *e);
dl_net *dl_net_copy(const dl_net *n, dl_err *e);
void dl_net_free(dl_net *n);

/* Offsets of W[l] and b[l] inside any buffer with the parameter layout. */
size_t dl_net_woff(const dl_net *n, int l);
size_t dl_net_boff(const dl_net *n, int l);

/* Draws parameters: DL_INIT_NORMAL is network.py (weights and biases N(0,1));
 * DL_INIT_SCALED is chapter 3 (weights N(0, 1/n_in), biases N(0,1)).
 * Draw order: for each l, W[l] row by row, then b[l]. */
void dl_net_init(dl_net *n, dl_init init, dl_rng *rng);

/* Activations of one forward pass.  a[0] is the input, a[nlayers-1] the
 * output; z[l] (l >= 1) the weighted inputs; delta[l] scratch for backprop. */
typedef struct dl_trace {
    int nlayers;
    int sizes[DL_MAX_LAYERS];
    float *a[DL_MAX_LAYERS];
    float *z[DL_MAX_LAYERS];
    float *delta[DL_MAX_LAYERS];
    float *buf;
} dl_trace;

dl_trace *dl_trace_new(const dl_net *n, dl_err *e);
void dl_trace_free(dl_trace *t);

/* Forward pass of x [sizes[0]]; returns t->a[nlayers-1] (borrowed). */
const float *dl_net_forward(const dl_net *n, const float *x, dl_trace *t);

/* The same pass from layer `from` (0..nlayers-1) upwards, taking t->a[from]
 * as given (possibly edited by the caller: an ablated neuron, say); rewrites
 * z and a of the layers above.  dl_net_forward is this from 0, so every
 * forward pass in digitlens adds the same floats in the same order:
 *     z[l+1][j] = b[l][j] + Σ_k W[l][j][k]·a[l][k]   (k increasing, in float)
 *     a[l+1]    = act[l](z[l+1])                     (dl_act_apply)
 * Returns t->a[nlayers-1]. */
const float *dl_net_forward_from(const dl_net *n, dl_trace *t, int from);

/* Backprop after dl_net_forward on the same t: adds dC/dparams for one
 * example to grad [nparams] (same layout as params).  target [sizes[L-1]].
 * Any activations dl_net_check_acts accepts; the output layer's δ is
 * ∂C/∂a through act'(z) (through softmax's Jacobian for a softmax output),
 * except where the book cancels it: cross-entropy on sigmoid outputs gives
 * δ = a − y. */
void dl_net_backprop(const dl_net *n, dl_trace *t, const float *target, dl_cost cost,
                     float *grad);

/* The output layer's δ = ∂C/∂z for one example, as dl_net_backprop
 * computes it: a [K] the outputs of activation f, target [K], into d [K]
 * (the training kernels share it). */
void dl_net_output_delta(dl_act f, dl_cost cost, const float *a, const float *target, int K, float *d);

/* Dropout's forward and backward passes (the training kernels' reference):
 * keep[l] (1 <= l < nlayers-1; NULL, or keep[l] NULL, for none) is layer
 * l's mask [sizes[l]], each 0 (dropped) or 1/(1−p) (kept; inverted
 * dropout, so nothing changes at test time).  The forward pass is
 * dl_net_forward with a[l] ⊙= keep[l] after each hidden layer; backprop is
 * dl_net_backprop with δ[l] ⊙= keep[l] (a[l] is then f(z)·keep, and the
 * slope f'(z) comes from f(z) recomputed).  dl_net_backprop is this with
 * keep NULL. */
const float *dl_net_forward_dropout(const dl_net *n, const float *x, const float *const *keep, dl_trace *t);
void dl_net_backprop_dropout(const dl_net *n, dl_trace *t, const float *target, dl_cost cost,
                             const float *const *keep, float *grad);

/* Gradient of output neuron `out` of layer `layer` (1..nlayers-1) with
 * respect to the input, after dl_net_forward on the same t: gx[sizes[0]] =
 * ∂a[layer][out]/∂x (through softmax's Jacobian when that layer is a
 * softmax: ∂a_c/∂z_j = a_c(1[c=j] − a_j)).  Uses t->delta as scratch. */
void dl_net_input_gradient(const dl_net *n, dl_trace *t, int layer, int out, float *gx);

/* The same backward pass started from `seed` at that neuron instead of
 * act'(z): seed 1 gives ∂z/∂x, which stays informative when σ saturates.
 * On return t->delta[l] (0 < l < layer) holds seed·∂z/∂z[l], the same
 * derivative at every hidden unit below (contrib's conductance reads it). */
void dl_net_input_gradient_seeded(const dl_net *n, dl_trace *t, int layer, int out, float seed, float *gx);

/* Cost of one example: quadratic 0.5*||a-y||^2, cross-entropy
 * sum(-y ln a - (1-y) ln(1-a)) or log-likelihood -sum(y ln a), with a
 * clamped away from 0 and 1. */
double dl_cost_value(dl_cost cost, const float *a, const float *y, int n);

/* Index of the largest of v[0..n); the first on ties. */
int dl_argmax(const float *v, int n);

/* "quadratic", "cross-entropy", "log-likelihood"; NULL for anything else. */
const char *dl_cost_name(dl_cost c);
/* The cost named s into *out; 0 on success, -1 otherwise. */
int dl_cost_parse(const char *s, dl_cost *out);
const char *dl_init_name(dl_init i);

/* The logistic function; saturates cleanly (expf overflow gives 0, not NaN). */
static inline float dl_sigmoid(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

/* act'(z) of an elementwise activation, from its output a = act(z): σ:
 * a(1−a); tanh: 1−a²; ReLU: 1 where a > 0, else 0 (0 at z = 0, as
 * PyTorch).  Not for softmax, whose derivative is a Jacobian. */
static inline float dl_act_slope(dl_act act, float a)
{
    switch (act) {
    case DL_ACT_TANH: return 1.0f - a * a;
    case DL_ACT_RELU: return a > 0.0f ? 1.0f : 0.0f;
    default: return a * (1.0f - a);
    }
}

#endif
