/*
 * net.c — the network: parameter buffer, activations, forward pass,
 * backprop (see net.h for the layout).
 *
 * This is the plain reference arithmetic, written to be read against
 * Nielsen's equations (BP1–BP4), with f = act[l] the layer's activation:
 *     z[l+1] = W[l] a[l] + b[l],   a[l+1] = f(z[l+1])
 *     δ[L]   = ∂C/∂a ⊙ f'(z[L])          (quadratic: (a−y) ⊙ f'(z))
 *                                         (cross-entropy on σ: a − y)
 *     δ[l]   = (W[l]ᵀ δ[l+1]) ⊙ f'(z[l])
 *     ∂C/∂b[l] = δ[l+1],  ∂C/∂W[l] = δ[l+1] a[l]ᵀ
 * A softmax output replaces ⊙ f'(z) by its Jacobian (output_delta).
 * The fast training kernels live in train_fast*.c and are tested against this.
 */
#include "digitlens/net.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "contract.h"

dl_status dl_net_check_sizes(int nlayers, const int *sizes, dl_err *e)
{
    if (nlayers < 2 || nlayers > DL_MAX_LAYERS)
        return dl_err_set(e, DL_EINVAL, "a network needs 2 to %d layers, not %d", DL_MAX_LAYERS,
                          nlayers);
    size_t total = 0;
    for (int l = 0; l < nlayers; l++) {
        if (sizes[l] < 1 || sizes[l] > DL_MAX_WIDTH)
            return dl_err_set(e, DL_EINVAL, "layer %d has %d neurons (allowed 1..%d)", l, sizes[l],
                              DL_MAX_WIDTH);
        if (l > 0) {
            /* Each term is below 2^32 + 2^16, and at most 7 of them are added. */
            total += (size_t)sizes[l] * (size_t)sizes[l - 1] + (size_t)sizes[l];
            if (total > DL_MAX_PARAMS)
                return dl_err_set(e, DL_ELIMIT, "the network would have more than %u parameters",
                                  (unsigned)DL_MAX_PARAMS);
        }
    }
    return DL_OK;
}

/* With params NULL only counts: arithmetic on a null pointer, even + 0, is
 * undefined (clang's UBSan reports it). */
static void set_views(dl_net *n)
{
    size_t off = 0;
    for (int l = 0; l + 1 < n->nlayers; l++) {
        n->w[l] = n->params ? n->params + off : NULL;
        off += (size_t)n->sizes[l + 1] * n->sizes[l];
        n->b[l] = n->params ? n->params + off : NULL;
        off += (size_t)n->sizes[l + 1];
    }
    n->nparams = off;
}

dl_net *dl_net_new(int nlayers, const int *sizes, dl_err *e)
{
    if (dl_net_check_sizes(nlayers, sizes, e) != DL_OK) return NULL;
    dl_net *n = calloc(1, sizeof *n);
    if (!n) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    n->nlayers = nlayers;
    memcpy(n->sizes, sizes, sizeof(int) * (size_t)nlayers);
    n->params = NULL;
    set_views(n); /* with params NULL: only counts */
    n->params = calloc(n->nparams, sizeof(float));
    if (!n->params) {
        dl_err_set(e, DL_ENOMEM, "out of memory for %zu parameters", n->nparams);
        free(n);
        return NULL;
    }
    set_views(n);
    for (int l = 0; l < DL_MAX_LAYERS - 1; l++) n->act[l] = DL_ACT_SIGMOID;
    return n;
}

dl_net *dl_net_copy(const dl_net *src, dl_err *e)
{
    dl_net *n = dl_net_new(src->nlayers, src->sizes, e);
    if (n) {
        memcpy(n->params, src->params, n->nparams * sizeof(float));
        memcpy(n->act, src->act, sizeof n->act);
    }
    return n;
}

/* ---- activations -------------------------------------------------------- */

static const char *const ACT_NAMES[DL_ACT_COUNT] = {"sigmoid", "tanh", "relu", "softmax"};

const char *dl_act_name(dl_act a) { return (int)a >= 0 && a < DL_ACT_COUNT ? ACT_NAMES[a] : NULL; }

int dl_act_parse(const char *s, dl_act *out)
{
    for (int a = 0; s && a < DL_ACT_COUNT; a++)
        if (strcmp(s, ACT_NAMES[a]) == 0) {
            *out = (dl_act)a;
            return 0;
        }
    return -1;
}

void dl_act_apply(dl_act a, const float *z, float *out, int n)
{
    switch (a) {
    case DL_ACT_TANH:
        for (int j = 0; j < n; j++) out[j] = tanhf(z[j]);
        break;
    case DL_ACT_RELU:
        /* z > 0 ? z : 0, so a NaN stays NaN rather than becoming 0. */
        for (int j = 0; j < n; j++) out[j] = z[j] > 0.0f ? z[j] : (z[j] <= 0.0f ? 0.0f : z[j]);
        break;
    case DL_ACT_SOFTMAX: {
        /* e^(z_j − max) / Σ_k e^(z_k − max): the same quotient, and the
         * largest exponent is 0, so nothing overflows. */
        float mx = z[0], sum = 0.0f;
        for (int j = 1; j < n; j++)
            if (z[j] > mx) mx = z[j];
        for (int j = 0; j < n; j++) {
            out[j] = expf(z[j] - mx);
            sum += out[j];
        }
        for (int j = 0; j < n; j++) out[j] /= sum;
        break;
    }
    default:
        for (int j = 0; j < n; j++) out[j] = dl_sigmoid(z[j]);
        break;
    }
}

dl_status dl_net_check_acts(const dl_net *n, dl_err *e)
{
    for (int l = 0; l + 1 < n->nlayers; l++) {
        if ((int)n->act[l] < 0 || n->act[l] >= DL_ACT_COUNT)
            return dl_err_set(e, DL_EINVAL, "layer %d has an unknown activation (%d)", l + 1, (int)n->act[l]);
        if (n->act[l] == DL_ACT_SOFTMAX && l + 2 < n->nlayers)
            return dl_err_set(e, DL_EINVAL, "layer %d is a hidden layer and cannot be a softmax (only the output can)",
                              l + 1);
    }
    return DL_OK;
}

dl_status dl_net_check_cost(const dl_net *n, dl_cost c, dl_err *e)
{
    dl_act f = n->act[n->nlayers - 2];
    if ((int)c < 0 || c >= DL_COST_COUNT) return dl_err_set(e, DL_EINVAL, "unknown cost (%d)", (int)c);
    if (c == DL_COST_LOG_LIKELIHOOD && f != DL_ACT_SOFTMAX)
        return dl_err_set(e, DL_EINVAL, "the log-likelihood cost (-ln a_y) needs a softmax output, whose outputs sum "
                          "to 1 (this output is %s)", dl_act_name(f));
    if (c == DL_COST_CROSS_ENTROPY && f != DL_ACT_SIGMOID)
        return dl_err_set(e, DL_EINVAL, "the cross-entropy cost treats each output as a probability of its own and "
                          "wants sigmoid outputs (this output is %s%s)", dl_act_name(f),
                          f == DL_ACT_SOFTMAX ? "; use log-likelihood, its softmax form" : "");
    return DL_OK;
}

int dl_net_all_sigmoid(const dl_net *n)
{
    for (int l = 0; l + 1 < n->nlayers; l++)
        if (n->act[l] != DL_ACT_SIGMOID) return 0;
    return 1;
}

void dl_net_free(dl_net *n)
{
    if (!n) return;
    free(n->params);
    free(n);
}

size_t dl_net_woff(const dl_net *n, int l) { return (size_t)(n->w[l] - n->params); }
size_t dl_net_boff(const dl_net *n, int l) { return (size_t)(n->b[l] - n->params); }

void dl_net_init(dl_net *n, dl_init init, dl_rng *rng)
{
    for (int l = 0; l + 1 < n->nlayers; l++) {
        size_t nw = (size_t)n->sizes[l + 1] * n->sizes[l];
        double sd = init == DL_INIT_SCALED ? 1.0 / sqrt((double)n->sizes[l]) : 1.0;
        for (size_t i = 0; i < nw; i++) n->w[l][i] = (float)(dl_rng_normal(rng) * sd);
        for (int j = 0; j < n->sizes[l + 1]; j++) n->b[l][j] = (float)dl_rng_normal(rng);
    }
}

dl_trace *dl_trace_new(const dl_net *n, dl_err *e)
{
    dl_trace *t = calloc(1, sizeof *t);
    size_t total = 0;
    for (int l = 0; l < n->nlayers; l++) total += 3 * (size_t)n->sizes[l];
    float *buf = t ? calloc(total, sizeof(float)) : NULL;
    if (!buf) {
        free(t);
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    t->buf = buf;
    t->nlayers = n->nlayers;
    for (int l = 0; l < n->nlayers; l++) {
        t->sizes[l] = n->sizes[l];
        t->a[l] = buf;
        t->z[l] = buf + n->sizes[l];
        t->delta[l] = buf + 2 * (size_t)n->sizes[l];
        buf += 3 * (size_t)n->sizes[l];
    }
    return t;
}

void dl_trace_free(dl_trace *t)
{
    if (!t) return;
    free(t->buf);
    free(t);
}

const float *dl_net_forward(const dl_net *n, const float *x, dl_trace *t)
{
    memcpy(t->a[0], x, sizeof(float) * (size_t)n->sizes[0]);
    return dl_net_forward_from(n, t, 0);
}

/* Layer l+1 from layer l: the one place digitlens computes a layer. */
static void layer_forward(const dl_net *n, dl_trace *t, int l)
{
    int in = n->sizes[l], out = n->sizes[l + 1];
    const float *a = t->a[l];
    for (int j = 0; j < out; j++) {
        const float *row = n->w[l] + (size_t)j * in;
        float s = n->b[l][j];
        for (int k = 0; k < in; k++) s += row[k] * a[k];
        t->z[l + 1][j] = s;
    }
    dl_act_apply(n->act[l], t->z[l + 1], t->a[l + 1], out);
}

const float *dl_net_forward_from(const dl_net *n, dl_trace *t, int from)
{
    DL_ASSERT(from >= 0 && from < n->nlayers && t->nlayers == n->nlayers);
    for (int l = from; l + 1 < n->nlayers; l++) layer_forward(n, t, l);
    return t->a[n->nlayers - 1];
}

const float *dl_net_forward_dropout(const dl_net *n, const float *x, const float *const *keep, dl_trace *t)
{
    DL_ASSERT(t->nlayers == n->nlayers);
    memcpy(t->a[0], x, sizeof(float) * (size_t)n->sizes[0]);
    for (int l = 0; l + 1 < n->nlayers; l++) {
        layer_forward(n, t, l);
        if (l + 2 < n->nlayers && keep && keep[l + 1])
            for (int j = 0; j < n->sizes[l + 1]; j++) t->a[l + 1][j] *= keep[l + 1][j];
    }
    return t->a[n->nlayers - 1];
}

/* In place, g = ∂C/∂a of a softmax layer a becomes δ = J_softmaxᵀ g:
 * ∂a_i/∂z_j = a_i(1[i=j] − a_j), so δ_j = a_j (g_j − Σ_i g_i a_i). */
static void softmax_delta(const float *a, float *g, int n)
{
    double dot = 0.0;
    for (int i = 0; i < n; i++) dot += (double)g[i] * a[i];
    for (int j = 0; j < n; j++) g[j] = a[j] * (float)((double)g[j] - dot);
}

/* δ[L] for one example: ∂C/∂z of the output layer. */
static void output_delta(const dl_net *n, dl_trace *t, const float *target, dl_cost cost)
{
    int L = n->nlayers - 1;
    dl_net_output_delta(n->act[L - 1], cost, t->a[L], target, n->sizes[L], t->delta[L]);
}

void dl_net_output_delta(dl_act f, dl_cost cost, const float *a, const float *target, int K, float *d)
{
    /* The pairs whose ∂C/∂a cancels f'(z) exactly (chapter 3): cross-entropy
     * on sigmoid outputs, log-likelihood on a softmax.  Both give a − y. */
    if ((cost == DL_COST_CROSS_ENTROPY && f == DL_ACT_SIGMOID) ||
        (cost == DL_COST_LOG_LIKELIHOOD && f == DL_ACT_SOFTMAX)) {
        for (int j = 0; j < K; j++) d[j] = a[j] - target[j];
        return;
    }
    /* ∂C/∂a, then through f. */
    for (int j = 0; j < K; j++) {
        if (cost == DL_COST_QUADRATIC) {
            d[j] = a[j] - target[j];
            continue;
        }
        /* The clamps of dl_cost_value, so the gradient is finite where the cost is. */
        double aj = a[j] < 1e-12f ? 1e-12 : a[j], yj = target[j];
        if (cost == DL_COST_CROSS_ENTROPY) {
            if (aj > 1.0 - 1e-12) aj = 1.0 - 1e-12;
            d[j] = (float)(-yj / aj + (1.0 - yj) / (1.0 - aj));
        } else {
            d[j] = (float)(-yj / aj);
        }
    }
    if (f == DL_ACT_SOFTMAX) {
        softmax_delta(a, d, K);
    } else if (f == DL_ACT_SIGMOID) {
        /* (a−y)·a·(1−a) in this order: the book's network, bit for bit as
         * digitlens always computed it (and as the fast kernel does). */
        for (int j = 0; j < K; j++) d[j] = d[j] * a[j] * (1.0f - a[j]);
    } else {
        for (int j = 0; j < K; j++) d[j] *= dl_act_slope(f, a[j]);
    }
}

void dl_net_backprop(const dl_net *n, dl_trace *t, const float *target, dl_cost cost,
                     float *grad)
{
    dl_net_backprop_dropout(n, t, target, cost, NULL, grad);
}

void dl_net_backprop_dropout(const dl_net *n, dl_trace *t, const float *target, dl_cost cost,
                             const float *const *keep, float *grad)
{
    int L = n->nlayers - 1;
    output_delta(n, t, target, cost);
    for (int l = L - 1; l >= 0; l--) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        const float *d = t->delta[l + 1], *a = t->a[l];
        float *gw = grad + dl_net_woff(n, l), *gb = grad + dl_net_boff(n, l);
        for (int j = 0; j < out; j++) {
            gb[j] += d[j];
            float *g = gw + (size_t)j * in;
            for (int k = 0; k < in; k++) g[k] += d[j] * a[k];
        }
        if (l == 0) break; /* no δ for the input layer */
        for (int k = 0; k < in; k++) t->delta[l][k] = 0.0f;
        for (int j = 0; j < out; j++) {
            const float *row = n->w[l] + (size_t)j * in;
            for (int k = 0; k < in; k++) t->delta[l][k] += row[k] * d[j];
        }
        dl_act f = n->act[l - 1];
        const float *kp = keep ? keep[l] : NULL;
        if (!kp) {
            for (int k = 0; k < in; k++) t->delta[l][k] *= dl_act_slope(f, a[k]);
            continue;
        }
        /* a[l] holds f(z)·keep; the slope wants f(z) itself, recomputed
         * from z (the same function, so the same bits as the forward pass),
         * and a dropped unit passes nothing back. */
        for (int k = 0; k < in; k++) {
            float fz;
            dl_act_apply(f, &t->z[l][k], &fz, 1);
            t->delta[l][k] *= dl_act_slope(f, fz) * kp[k];
        }
    }
}

/* The backward recursion from t->delta[layer] (∂y/∂z of that layer, for
 * whatever y) down to gx = ∂y/∂x. */
static void backward_to_input(const dl_net *n, dl_trace *t, int layer, float *gx)
{
    for (int l = layer - 1; l >= 0; l--) {
        int in = n->sizes[l], o = n->sizes[l + 1];
        float *dst = l == 0 ? gx : t->delta[l];
        for (int k = 0; k < in; k++) dst[k] = 0.0f;
        for (int j = 0; j < o; j++) {
            float d = t->delta[l + 1][j];
            if (d == 0.0f) continue;
            const float *row = n->w[l] + (size_t)j * in;
            for (int k = 0; k < in; k++) dst[k] += row[k] * d;
        }
        if (l > 0)
            for (int k = 0; k < in; k++) dst[k] *= dl_act_slope(n->act[l - 1], t->a[l][k]);
    }
}

void dl_net_input_gradient(const dl_net *n, dl_trace *t, int layer, int out, float *gx)
{
    DL_ASSERT(layer >= 1 && layer < n->nlayers && out >= 0 && out < n->sizes[layer]);
    dl_act f = n->act[layer - 1];
    const float *a = t->a[layer];
    if (f != DL_ACT_SOFTMAX) {
        dl_net_input_gradient_seeded(n, t, layer, out, dl_act_slope(f, a[out]), gx);
        return;
    }
    /* A softmax couples the layer: ∂a_c/∂z_j = a_c(1[c=j] − a_j). */
    for (int j = 0; j < n->sizes[layer]; j++) t->delta[layer][j] = a[out] * ((j == out) - a[j]);
    backward_to_input(n, t, layer, gx);
}

void dl_net_input_gradient_seeded(const dl_net *n, dl_trace *t, int layer, int out, float seed, float *gx)
{
    DL_ASSERT(layer >= 1 && layer < n->nlayers && out >= 0 && out < n->sizes[layer]);
    /* δ at the chosen neuron is the seed; everything else in that layer is
     * 0.  Then the usual backward recursion, ending one step further, at x. */
    for (int j = 0; j < n->sizes[layer]; j++) t->delta[layer][j] = 0.0f;
    t->delta[layer][out] = seed;
    backward_to_input(n, t, layer, gx);
}

double dl_cost_value(dl_cost cost, const float *a, const float *y, int n)
{
    double c = 0.0;
    for (int j = 0; j < n; j++) {
        double aj = a[j], yj = y[j];
        if (cost == DL_COST_QUADRATIC) {
            c += 0.5 * (aj - yj) * (aj - yj);
        } else if (cost == DL_COST_LOG_LIKELIHOOD) {
            /* −ln a_y for a one-hot y: −Σ y ln a, clamped like cross-entropy. */
            if (yj != 0.0) c += -yj * log(aj < 1e-12 ? 1e-12 : aj);
        } else {
            /* Clamp so a saturated neuron costs a large finite amount, not inf/NaN. */
            if (aj < 1e-12) aj = 1e-12;
            if (aj > 1.0 - 1e-12) aj = 1.0 - 1e-12;
            c += -yj * log(aj) - (1.0 - yj) * log(1.0 - aj);
        }
    }
    return c;
}

int dl_argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static const char *const COST_NAMES[DL_COST_COUNT] = {"quadratic", "cross-entropy", "log-likelihood"};

const char *dl_cost_name(dl_cost c) { return (int)c >= 0 && c < DL_COST_COUNT ? COST_NAMES[c] : NULL; }

int dl_cost_parse(const char *s, dl_cost *out)
{
    for (int c = 0; s && c < DL_COST_COUNT; c++)
        if (strcmp(s, COST_NAMES[c]) == 0) {
            *out = (dl_cost)c;
            return 0;
        }
    return -1;
}
const char *dl_init_name(dl_init i) { return i == DL_INIT_NORMAL ? "normal" : "scaled"; }
