/*
 * contrib.c — hidden votes and conductance for one input (see contrib.h
 * for the definitions and why they add up).
 *
 * Everything runs through net.h: dl_net_forward for the activations and
 * weighted inputs, dl_net_input_gradient_seeded (seed 1 at the output's z)
 * for ∂z_C/∂z of every hidden unit, left in t->delta.  Sums that a test
 * compares with z (the votes, the conductance) are kept in double, so the
 * property and not float rounding decides the test.
 */
#include "digitlens/contrib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/explain.h"

#include "contract.h"

dl_contrib_opts dl_contrib_opts_defaults(void)
{
    dl_contrib_opts o = {-1, 256, NULL};
    return o;
}

void dl_contrib_free(dl_contrib *c) { free(c); }

static dl_status check(const dl_net *n, int out, const dl_contrib_opts *o, dl_err *e)
{
    int L = n->nlayers - 1, K = n->sizes[L];
    if (L < 2)
        return dl_err_set(e, DL_EINVAL, "contributions: the network has no hidden layer (its outputs read the "
                          "input directly; explain the pixels instead)");
    if (out < 0 || out >= K)
        return dl_err_set(e, DL_EINVAL, "contributions: output %d is out of range (0..%d)", out, K - 1);
    if (o->vs != -1 && (o->vs < 0 || o->vs >= K))
        return dl_err_set(e, DL_EINVAL, "contributions: rival output %d is out of range (0..%d)", o->vs, K - 1);
    if (o->vs == out)
        return dl_err_set(e, DL_EINVAL, "contributions: the rival output %d is the output explained (give another)",
                          out);
    if (o->steps < 0 || o->steps > DL_CONTRIB_MAX_STEPS)
        return dl_err_set(e, DL_EINVAL, "contributions: %d conductance steps is out of range (0..%d)", o->steps,
                          DL_CONTRIB_MAX_STEPS);
    return DL_OK;
}

/* One block: the struct, then prev_act, activation, weight, vote, then the
 * conductance of each hidden layer (floats after a struct whose size is a
 * multiple of its alignment are aligned). */
static dl_contrib *alloc_result(const dl_net *n, int steps, dl_err *e)
{
    int h = n->nlayers - 2;
    size_t nf = (size_t)n->sizes[h - 1] + 3 * (size_t)n->sizes[h];
    if (steps > 0)
        for (int l = 1; l <= h; l++) nf += (size_t)n->sizes[l];
    dl_contrib *c = calloc(1, sizeof *c + nf * sizeof(float));
    if (!c) {
        dl_err_set(e, DL_ENOMEM, "contributions: out of memory");
        return NULL;
    }
    float *f = (float *)(void *)(c + 1);
    c->prev_act = f;
    f += n->sizes[h - 1];
    c->activation = f;
    c->weight = f + n->sizes[h];
    c->vote = f + 2 * (size_t)n->sizes[h];
    f += 3 * (size_t)n->sizes[h];
    for (int l = 1; steps > 0 && l <= h; l++) {
        c->conductance[l] = f;
        f += n->sizes[l];
    }
    DL_ASSERT(f == (float *)(void *)(c + 1) + nf); /* every array inside the one block */
    return c;
}

/* F = z_C (− z_D) of the last forward pass in t. */
static float objective(const dl_net *n, const dl_trace *t, int out, int vs)
{
    int L = n->nlayers - 1;
    return vs >= 0 ? t->z[L][out] - t->z[L][vs] : t->z[L][out];
}

/* After a forward pass in t: g [Σ hidden] = ∂F/∂z of every hidden unit
 * (layers 1..h back to back) and u the units' z.  gx is scratch [sizes[0]]. */
static void grad_and_z(const dl_net *n, dl_trace *t, int out, int vs, float *g, float *u, float *gx)
{
    int L = n->nlayers - 1;
    dl_net_input_gradient_seeded(n, t, L, out, 1.0f, gx);
    size_t k = 0;
    for (int l = 1; l < L; l++)
        for (int j = 0; j < n->sizes[l]; j++, k++) {
            g[k] = t->delta[l][j];
            u[k] = t->z[l][j];
        }
    DL_ASSERT(k > 0 && t->nlayers == n->nlayers);
    if (vs < 0) return;
    dl_net_input_gradient_seeded(n, t, L, vs, 1.0f, gx);
    k = 0;
    for (int l = 1; l < L; l++)
        for (int j = 0; j < n->sizes[l]; j++, k++) g[k] -= t->delta[l][j];
}

/* The trapezoid rule for every hidden unit at once (see contrib.h). */
static dl_status conductance(const dl_net *n, int out, int vs, const float *x, const float *x0, int steps,
                             dl_contrib *c, dl_err *e)
{
    int L = n->nlayers - 1, np = n->sizes[0];
    size_t T = 0;
    for (int l = 1; l < L; l++) T += (size_t)n->sizes[l];
    dl_trace *t = dl_trace_new(n, e);
    float *xs = malloc((size_t)np * sizeof(float)), *gx = malloc((size_t)np * sizeof(float));
    float *g = malloc(4 * T * sizeof(float));
    double *acc = calloc(T, sizeof(double));
    dl_status st = DL_OK;
    if (!t || !xs || !gx || !g || !acc) {
        st = dl_err_set(e, DL_ENOMEM, "contributions: out of memory");
        goto out;
    }
    float *g0 = g, *u0 = g + T, *g1 = g + 2 * T, *u1 = g + 3 * T;
    for (int s = 0; s <= steps; s++) {
        /* The path's end is x itself, not x₀ + 1·(x − x₀) rounded. */
        const float *p = x;
        if (s < steps) {
            float alpha = (float)s / (float)steps;
            for (int i = 0; i < np; i++) {
                float b = x0 ? x0[i] : 0.0f;
                xs[i] = b + alpha * (x[i] - b);
            }
            p = xs;
        }
        dl_net_forward(n, p, t);
        if (s == 0) c->z_baseline = objective(n, t, out, vs);
        grad_and_z(n, t, out, vs, g1, u1, gx);
        if (s > 0)
            for (size_t k = 0; k < T; k++) acc[k] += 0.5 * ((double)g0[k] + g1[k]) * ((double)u1[k] - u0[k]);
        float *tmp = g0;
        g0 = g1, g1 = tmp;
        tmp = u0, u0 = u1, u1 = tmp;
    }
    size_t k = 0;
    for (int l = 1; l < L; l++) {
        double sum = 0.0;
        for (int j = 0; j < n->sizes[l]; j++, k++) {
            c->conductance[l][j] = (float)acc[k];
            sum += acc[k];
        }
        c->cond_sum[l] = sum;
        c->gap[l] = sum - ((double)c->z - c->z_baseline);
    }
    c->steps = steps;
out:
    dl_trace_free(t);
    free(xs);
    free(gx);
    free(g);
    free(acc);
    return st;
}

dl_contrib *dl_contrib_compute(const dl_net *n, int out, const float *x, const dl_contrib_opts *o, dl_err *e)
{
    dl_contrib_opts def = dl_contrib_opts_defaults();
    if (!o) o = &def;
    if (check(n, out, o, e) != DL_OK) return NULL;
    int L = n->nlayers - 1, h = L - 1, H = n->sizes[h], vs = o->vs;
    dl_trace *t = dl_trace_new(n, e);
    if (!t) return NULL;
    dl_contrib *c = alloc_result(n, o->steps, e);
    if (!c) {
        dl_trace_free(t);
        return NULL;
    }
    const float *y = dl_net_forward(n, x, t);
    c->out = out;
    c->vs = vs;
    c->layer = h;
    c->width = H;
    c->nlayers = n->nlayers;
    c->predicted = dl_argmax(y, n->sizes[L]);
    c->output = y[out];
    c->z_class = t->z[L][out];
    c->z_vs = vs >= 0 ? t->z[L][vs] : 0.0f;
    c->z = objective(n, t, out, vs);
    const float *wc = n->w[h] + (size_t)out * H, *wd = vs >= 0 ? n->w[h] + (size_t)vs * H : NULL;
    c->bias = vs >= 0 ? n->b[h][out] - n->b[h][vs] : n->b[h][out];
    memcpy(c->prev_act, t->a[h - 1], (size_t)n->sizes[h - 1] * sizeof(float));
    double sum = c->bias;
    for (int j = 0; j < H; j++) {
        c->activation[j] = t->a[h][j];
        c->weight[j] = wd ? wc[j] - wd[j] : wc[j];
        c->vote[j] = c->weight[j] * c->activation[j];
        sum += c->vote[j];
    }
    c->vote_sum = sum;
    dl_trace_free(t);
    if (o->steps > 0 && conductance(n, out, vs, x, o->baseline, o->steps, c, e) != DL_OK) {
        free(c);
        return NULL;
    }
    return c;
}

double dl_contrib_relative_gap(const dl_contrib *c, int l)
{
    double diff = fabs((double)c->z - c->z_baseline), g = fabs(c->gap[l]);
    if (diff > 0.0) return g / diff;
    return g > 0.0 ? INFINITY : 0.0;
}

int dl_contrib_rank(const float *v, int n, int k, int top, int *idx)
{
    dl_ranked heap[DL_CONTRIB_MAX_RANK];
    if (k > n) k = n;
    if (k > DL_CONTRIB_MAX_RANK) k = DL_CONTRIB_MAX_RANK;
    int len = 0;
    for (int j = 0; j < n && k > 0; j++) dl_rank_offer(heap, &len, k, (dl_ranked){v[j], (size_t)j}, top);
    dl_rank_sorted(heap, len, top);
    for (int r = 0; r < len; r++) idx[r] = (int)heap[r].i;
    return len;
}
