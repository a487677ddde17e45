/*
 * net.h — a fully connected sigmoid network (Nielsen, chapters 1 and 3):
 * sizes, one parameter buffer with named views, forward pass, backprop.
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

typedef enum dl_cost { DL_COST_QUADRATIC = 0, DL_COST_CROSS_ENTROPY = 1 } dl_cost;
typedef enum dl_init { DL_INIT_SCALED = 0, DL_INIT_NORMAL = 1 } dl_init;

typedef struct dl_net {
    int nlayers;                 /* layers including the input layer */
    int sizes[DL_MAX_LAYERS];
    size_t nparams;
    float *params;               /* [nparams], owned */
    float *w[DL_MAX_LAYERS - 1]; /* views into params */
    float *b[DL_MAX_LAYERS - 1];
} dl_net;

/* Checks a layer list (2..DL_MAX_LAYERS layers, each 1..DL_MAX_WIDTH,
 * parameter count within DL_MAX_PARAMS); fills *e naming the problem. */
dl_status dl_net_check_sizes(int nlayers, const int *sizes, dl_err *e);

/* A network with all parameters zero; NULL with *e on bad sizes or no memory. */
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
 *     a[l+1][j] = σ(z[l+1][j])
 * Returns t->a[nlayers-1]. */
const float *dl_net_forward_from(const dl_net *n, dl_trace *t, int from);

/* Backprop after dl_net_forward on the same t: adds dC/dparams for one
 * example to grad [nparams] (same layout as params).  target [sizes[L-1]]. */
void dl_net_backprop(const dl_net *n, dl_trace *t, const float *target, dl_cost cost,
                     float *grad);

/* Gradient of output neuron `out` of layer `layer` (1..nlayers-1) with
 * respect to the input, after dl_net_forward on the same t: gx[sizes[0]] =
 * ∂a[layer][out]/∂x.  Uses t->delta as scratch. */
void dl_net_input_gradient(const dl_net *n, dl_trace *t, int layer, int out, float *gx);

/* The same backward pass started from `seed` at that neuron instead of
 * σ'(z): seed 1 gives ∂z/∂x, which stays informative when σ saturates.
 * On return t->delta[l] (0 < l < layer) holds seed·∂z/∂z[l], the same
 * derivative at every hidden unit below (contrib's conductance reads it). */
void dl_net_input_gradient_seeded(const dl_net *n, dl_trace *t, int layer, int out, float seed, float *gx);

/* Cost of one example: quadratic 0.5*||a-y||^2 or cross-entropy
 * sum(-y ln a - (1-y) ln(1-a)), with a clamped away from 0 and 1. */
double dl_cost_value(dl_cost cost, const float *a, const float *y, int n);

/* Index of the largest of v[0..n); the first on ties. */
int dl_argmax(const float *v, int n);

const char *dl_cost_name(dl_cost c);
const char *dl_init_name(dl_init i);

/* The logistic function; saturates cleanly (expf overflow gives 0, not NaN). */
static inline float dl_sigmoid(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

#endif
