/*
 * net.c — sigmoid network: parameter buffer, forward pass, backprop
 * (see net.h for the layout).
 *
 * This is the plain reference arithmetic, written to be read against
 * Nielsen's equations (BP1–BP4):
 *     z[l+1] = W[l] a[l] + b[l],   a[l+1] = σ(z[l+1])
 *     δ[L]   = ∂C/∂a ⊙ σ'(z[L])          (quadratic: (a−y) ⊙ σ'(z))
 *                                         (cross-entropy: a − y)
 *     δ[l]   = (W[l]ᵀ δ[l+1]) ⊙ σ'(z[l])
 *     ∂C/∂b[l] = δ[l+1],  ∂C/∂W[l] = δ[l+1] a[l]ᵀ
 * The fast training kernels live in train.c and are tested against this.
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
    return n;
}

dl_net *dl_net_copy(const dl_net *src, dl_err *e)
{
    dl_net *n = dl_net_new(src->nlayers, src->sizes, e);
    if (n) memcpy(n->params, src->params, n->nparams * sizeof(float));
    return n;
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

const float *dl_net_forward_from(const dl_net *n, dl_trace *t, int from)
{
    DL_ASSERT(from >= 0 && from < n->nlayers && t->nlayers == n->nlayers);
    for (int l = from; l + 1 < n->nlayers; l++) {
        int in = n->sizes[l], out = n->sizes[l + 1];
        const float *a = t->a[l];
        for (int j = 0; j < out; j++) {
            const float *row = n->w[l] + (size_t)j * in;
            float s = n->b[l][j];
            for (int k = 0; k < in; k++) s += row[k] * a[k];
            t->z[l + 1][j] = s;
            t->a[l + 1][j] = dl_sigmoid(s);
        }
    }
    return t->a[n->nlayers - 1];
}

void dl_net_backprop(const dl_net *n, dl_trace *t, const float *target, dl_cost cost,
                     float *grad)
{
    int L = n->nlayers - 1;
    for (int j = 0; j < n->sizes[L]; j++) {
        float a = t->a[L][j];
        float d = a - target[j];
        /* Cross-entropy cancels σ'(z): the reason chapter 3 prefers it. */
        t->delta[L][j] = cost == DL_COST_CROSS_ENTROPY ? d : d * a * (1.0f - a);
    }
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
        for (int k = 0; k < in; k++) t->delta[l][k] *= a[k] * (1.0f - a[k]);
    }
}

void dl_net_input_gradient(const dl_net *n, dl_trace *t, int layer, int out, float *gx)
{
    float a = t->a[layer][out];
    dl_net_input_gradient_seeded(n, t, layer, out, a * (1.0f - a), gx);
}

void dl_net_input_gradient_seeded(const dl_net *n, dl_trace *t, int layer, int out, float seed, float *gx)
{
    DL_ASSERT(layer >= 1 && layer < n->nlayers && out >= 0 && out < n->sizes[layer]);
    /* δ at the chosen neuron is the seed; everything else in that layer is
     * 0.  Then the usual backward recursion, ending one step further, at x. */
    for (int j = 0; j < n->sizes[layer]; j++) t->delta[layer][j] = 0.0f;
    t->delta[layer][out] = seed;
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
            for (int k = 0; k < in; k++) dst[k] *= t->a[l][k] * (1.0f - t->a[l][k]);
    }
}

double dl_cost_value(dl_cost cost, const float *a, const float *y, int n)
{
    double c = 0.0;
    for (int j = 0; j < n; j++) {
        double aj = a[j], yj = y[j];
        if (cost == DL_COST_QUADRATIC) {
            c += 0.5 * (aj - yj) * (aj - yj);
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

const char *dl_cost_name(dl_cost c) { return c == DL_COST_CROSS_ENTROPY ? "cross-entropy" : "quadratic"; }
const char *dl_init_name(dl_init i) { return i == DL_INIT_NORMAL ? "normal" : "scaled"; }
