/*
 * explain.c — attributions and maximisation (see explain.h for what each
 * computes and the definitions chosen; neuron statistics are in
 * explain_stats.c).
 *
 * Everything here is plain reference arithmetic on one example at a time
 * through dl_net_forward and a backward pass written out below; nothing is
 * threaded or cached, because explanations run on one input or one data
 * set at a time and must be easy to check against their equations.  Sums
 * that a property test compares (completeness, conservation) are kept in
 * double so that the property, not float rounding, decides the test.
 */
#include "digitlens/explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const METHOD_NAMES[DL_ATTR_NMETHODS] = {
    "gradient", "input-x-gradient", "integrated-gradients", "lrp", "occlusion",
};

const char *dl_attr_method_name(dl_attr_method m)
{
    return (int)m >= 0 && m < DL_ATTR_NMETHODS ? METHOD_NAMES[m] : NULL;
}

int dl_attr_method_parse(const char *s)
{
    for (int m = 0; s && m < DL_ATTR_NMETHODS; m++)
        if (strcmp(s, METHOD_NAMES[m]) == 0) return m;
    return -1;
}

dl_attr_opts dl_attr_opts_defaults(int rows, int cols)
{
    dl_attr_opts o = {rows, cols, 64, NULL, 0.01f, 4, 2};
    return o;
}

dl_maximize_opts dl_maximize_opts_defaults(int rows, int cols)
{
    dl_maximize_opts o = {rows, cols, 200, 0.05f, 0.01f, 0.0f, 0.0f};
    return o;
}

/* ---- 1. attributions ---------------------------------------------------- */

static dl_status check_attr(const dl_net *n, dl_attr_method m, int out, const dl_attr_opts *o, dl_err *e)
{
    int L = n->nlayers - 1;
    if ((int)m < 0 || m >= DL_ATTR_NMETHODS)
        return dl_err_set(e, DL_EINVAL, "explain: unknown attribution method %d (use one of dl_attr_method)", (int)m);
    if (out < 0 || out >= n->sizes[L])
        return dl_err_set(e, DL_EINVAL, "explain: output %d is out of range (the network has outputs 0..%d)", out,
                          n->sizes[L] - 1);
    if (!o) return DL_OK;
    if (o->rows < 1 || o->cols < 1 || (long long)o->rows * o->cols != n->sizes[0])
        return dl_err_set(e, DL_EINVAL, "explain: input shape %dx%d does not match the network's %d inputs", o->rows,
                          o->cols, n->sizes[0]);
    if (m == DL_ATTR_INTEGRATED_GRADIENTS && (o->steps < 1 || o->steps > 1000000))
        return dl_err_set(e, DL_EINVAL, "explain: integrated gradients needs 1..1000000 steps, not %d", o->steps);
    dl_status st = dl_net_check_acts(n, e);
    if (st != DL_OK) return st;
    if (m == DL_ATTR_LRP && !(o->epsilon > 0.0f))
        return dl_err_set(e, DL_EINVAL, "explain: the LRP epsilon must be positive, not %g", (double)o->epsilon);
    if (m == DL_ATTR_OCCLUSION && (o->patch < 1 || o->stride < 1))
        return dl_err_set(e, DL_EINVAL, "explain: occlusion needs a patch and stride of at least 1 pixel (got %d, %d)",
                          o->patch, o->stride);
    return DL_OK;
}

/* Integrated gradients by the midpoint rule: α_s = (s + ½)/S. */
static void integrated_gradients(const dl_net *n, dl_trace *t, int out, const float *x, const float *x0,
                                 int steps, float *xs, float *g, double *acc, float *attr)
{
    int np = n->sizes[0], L = n->nlayers - 1;
    for (int i = 0; i < np; i++) acc[i] = 0.0;
    for (int s = 0; s < steps; s++) {
        float alpha = (float)((s + 0.5) / steps);
        for (int i = 0; i < np; i++) {
            float b = x0 ? x0[i] : 0.0f;
            xs[i] = b + alpha * (x[i] - b);
        }
        dl_net_forward(n, xs, t);
        dl_net_input_gradient(n, t, L, out, g);
        for (int i = 0; i < np; i++) acc[i] += g[i];
    }
    for (int i = 0; i < np; i++) attr[i] = (float)((x[i] - (x0 ? x0[i] : 0.0f)) * (acc[i] / steps));
}

/* The ε-rule backwards through every linear step (see explain.h).  R and
 * Rn are scratch vectors as wide as the widest layer. */
static void lrp(const dl_net *n, dl_trace *t, int out, float eps, double *R, double *Rn, float *attr,
                double *bias_rel, double *eps_rel)
{
    int L = n->nlayers - 1;
    double rb = 0.0, re = 0.0;
    const float *start = n->act[L - 1] == DL_ACT_SOFTMAX ? t->z[L] : t->a[L];
    for (int j = 0; j < n->sizes[L]; j++) R[j] = j == out ? start[j] : 0.0;
    for (int l = L - 1; l >= 0; l--) {
        int in = n->sizes[l], o = n->sizes[l + 1];
        const float *a = t->a[l];
        for (int k = 0; k < in; k++) Rn[k] = 0.0;
        for (int j = 0; j < o; j++) {
            if (R[j] == 0.0) continue;
            double z = t->z[l + 1][j], se = z >= 0.0 ? eps : -eps;
            double f = R[j] / (z + se); /* relevance per unit of z_j */
            const float *row = n->w[l] + (size_t)j * in;
            for (int k = 0; k < in; k++) Rn[k] += (double)a[k] * row[k] * f;
            rb += n->b[l][j] * f;
            re += se * f;
        }
        /* The activation below passes R(z) on as R(a) unchanged. */
        memcpy(R, Rn, (size_t)in * sizeof(double));
    }
    for (int i = 0; i < n->sizes[0]; i++) attr[i] = (float)R[i];
    *bias_rel = rb;
    *eps_rel = re;
}

/* Patch positions along one axis: 0, stride, 2·stride, ... and, when the
 * stride does not land on it, the last position side − patch, so every
 * pixel is covered by at least one patch.  Returns the count. */
static int patch_positions(int side, int patch, int stride, int *pos)
{
    int n = 0, last = side - patch;
    for (int p = 0; p <= last; p += stride) pos[n++] = p;
    if (pos[n - 1] != last) pos[n++] = last;
    return n;
}

static dl_status occlusion(const dl_net *n, dl_trace *t, int out, const float *x, const dl_attr_opts *o,
                           float y0, float *attr, dl_err *e)
{
    int R = o->rows, C = o->cols, np = n->sizes[0];
    int ph = o->patch < R ? o->patch : R, pw = o->patch < C ? o->patch : C;
    int *py = malloc(((size_t)R + 1) * sizeof(int)), *px = malloc(((size_t)C + 1) * sizeof(int));
    float *xo = malloc((size_t)np * sizeof(float));
    double *sum = calloc((size_t)np, sizeof(double));
    int *count = calloc((size_t)np, sizeof(int));
    if (!py || !px || !xo || !sum || !count) {
        free(py), free(px), free(xo), free(sum), free(count);
        return dl_err_set(e, DL_ENOMEM, "explain: out of memory for occlusion");
    }
    int ny = patch_positions(R, ph, o->stride, py), nx = patch_positions(C, pw, o->stride, px);
    memcpy(xo, x, (size_t)np * sizeof(float));
    for (int a = 0; a < ny; a++)
        for (int b = 0; b < nx; b++) {
            for (int r = py[a]; r < py[a] + ph; r++)
                for (int c = px[b]; c < px[b] + pw; c++) xo[r * C + c] = 0.0f;
            float drop = y0 - dl_net_forward(n, xo, t)[out];
            for (int r = py[a]; r < py[a] + ph; r++)
                for (int c = px[b]; c < px[b] + pw; c++) {
                    sum[r * C + c] += drop;
                    count[r * C + c]++;
                    xo[r * C + c] = x[r * C + c];
                }
        }
    for (int i = 0; i < np; i++) attr[i] = count[i] ? (float)(sum[i] / count[i]) : 0.0f;
    free(py), free(px), free(xo), free(sum), free(count);
    return DL_OK;
}

dl_status dl_explain_attribution(const dl_net *n, dl_attr_method m, int out, const float *x,
                                 const dl_attr_opts *o, float *attr, dl_attr_info *info, dl_err *e)
{
    dl_attr_opts def;
    if (!o) {
        /* Without a shape, occlusion takes the input as one row. */
        def = dl_attr_opts_defaults(1, n->sizes[0]);
        o = &def;
    }
    if (check_attr(n, m, out, o, e) != DL_OK) return e ? e->code : DL_EINVAL;
    int L = n->nlayers - 1, np = n->sizes[0], maxw = 0;
    for (int l = 0; l <= L; l++)
        if (n->sizes[l] > maxw) maxw = n->sizes[l];
    dl_trace *t = dl_trace_new(n, e);
    float *xs = malloc((size_t)np * sizeof(float)), *g = malloc((size_t)np * sizeof(float));
    double *d1 = malloc((size_t)maxw * sizeof(double)), *d2 = malloc((size_t)maxw * sizeof(double));
    dl_status st = DL_OK;
    if (!t || !xs || !g || !d1 || !d2) {
        st = dl_err_set(e, DL_ENOMEM, "explain: out of memory");
        goto out;
    }
    dl_attr_info inf;
    memset(&inf, 0, sizeof inf);
    inf.method = m;
    inf.out = out;
    inf.output = dl_net_forward(n, x, t)[out];
    switch (m) {
    case DL_ATTR_GRADIENT:
    case DL_ATTR_INPUT_X_GRADIENT:
        dl_net_input_gradient(n, t, L, out, attr);
        if (m == DL_ATTR_INPUT_X_GRADIENT)
            for (int i = 0; i < np; i++) attr[i] *= x[i];
        break;
    case DL_ATTR_INTEGRATED_GRADIENTS:
        if (o->baseline) {
            memcpy(xs, o->baseline, (size_t)np * sizeof(float));
        } else {
            for (int i = 0; i < np; i++) xs[i] = 0.0f;
        }
        inf.baseline_output = dl_net_forward(n, xs, t)[out];
        integrated_gradients(n, t, out, x, o->baseline, o->steps, xs, g, d1, attr);
        break;
    case DL_ATTR_LRP:
        inf.lrp_start = n->act[L - 1] == DL_ACT_SOFTMAX ? t->z[L][out] : inf.output;
        lrp(n, t, out, o->epsilon, d1, d2, attr, &inf.bias_relevance, &inf.eps_relevance);
        break;
    case DL_ATTR_OCCLUSION:
        st = occlusion(n, t, out, x, o, inf.output, attr, e);
        break;
    case DL_ATTR_NMETHODS: break;
    }
    double sum = 0.0;
    for (int i = 0; i < np; i++) sum += attr[i];
    inf.sum = sum;
    if (m == DL_ATTR_INTEGRATED_GRADIENTS) inf.completeness_gap = sum - ((double)inf.output - inf.baseline_output);
    if (info && st == DL_OK) *info = inf;
out:
    dl_trace_free(t);
    free(xs);
    free(g);
    free(d1);
    free(d2);
    return st;
}

/* ---- 2. maximisation ---------------------------------------------------- */

/* In-place separable Gaussian blur of x [rows x cols] with σ pixels; the
 * kernel is cut at 3σ and renormalised at the borders, so a constant
 * picture stays constant (no dark frame from zero padding). */
static void blur(float *x, float *tmp, float *k, int rows, int cols, float sigma)
{
    int r = (int)ceilf(3.0f * sigma);
    if (r < 1) r = 1;
    for (int i = -r; i <= r; i++) k[i + r] = expf(-(float)(i * i) / (2.0f * sigma * sigma));
    for (int y = 0; y < rows; y++)
        for (int c = 0; c < cols; c++) {
            float s = 0.0f, wsum = 0.0f;
            for (int i = -r; i <= r; i++)
                if (c + i >= 0 && c + i < cols) s += k[i + r] * x[y * cols + c + i], wsum += k[i + r];
            tmp[y * cols + c] = s / wsum;
        }
    for (int y = 0; y < rows; y++)
        for (int c = 0; c < cols; c++) {
            float s = 0.0f, wsum = 0.0f;
            for (int i = -r; i <= r; i++)
                if (y + i >= 0 && y + i < rows) s += k[i + r] * tmp[(y + i) * cols + c], wsum += k[i + r];
            x[y * cols + c] = s / wsum;
        }
}

static float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

dl_status dl_explain_maximize(const dl_net *n, int layer, int neuron, const dl_maximize_opts *o, float *x,
                              dl_maximize_info *info, dl_err *e)
{
    int L = n->nlayers - 1, np = n->sizes[0];
    dl_maximize_opts def;
    if (!o) {
        def = dl_maximize_opts_defaults(1, np);
        o = &def;
    }
    if (layer < 1 || layer > L)
        return dl_err_set(e, DL_EINVAL, "maximize: layer %d is out of range (1..%d)", layer, L);
    if (neuron < 0 || neuron >= n->sizes[layer])
        return dl_err_set(e, DL_EINVAL, "maximize: neuron %d is out of range (layer %d has neurons 0..%d)", neuron,
                          layer, n->sizes[layer] - 1);
    if (o->rows < 1 || o->cols < 1 || (long long)o->rows * o->cols != np)
        return dl_err_set(e, DL_EINVAL, "maximize: input shape %dx%d does not match the network's %d inputs", o->rows,
                          o->cols, np);
    if (o->steps < 0 || !(o->lr > 0.0f) || !(o->l2 >= 0.0f) || !(o->blur >= 0.0f) || o->blur > 100.0f ||
        !(o->start >= 0.0f && o->start <= 1.0f))
        return dl_err_set(e, DL_EINVAL, "maximize: bad options (need steps >= 0, lr > 0, l2 >= 0, blur 0..100, "
                                        "start 0..1)");
    int kr = (int)ceilf(3.0f * o->blur);
    dl_trace *t = dl_trace_new(n, e);
    float *g = malloc((size_t)np * sizeof(float)), *m1 = calloc((size_t)np, sizeof(float));
    float *m2 = calloc((size_t)np, sizeof(float)), *tmp = malloc((size_t)np * sizeof(float));
    float *k = malloc(((size_t)2 * (kr > 1 ? kr : 1) + 1) * sizeof(float));
    dl_status st = DL_OK;
    if (!t || !g || !m1 || !m2 || !tmp || !k) {
        st = dl_err_set(e, DL_ENOMEM, "maximize: out of memory");
        goto out;
    }
    for (int i = 0; i < np; i++) x[i] = o->start;
    dl_net_forward(n, x, t);
    float start_act = t->a[layer][neuron];
    /* Adam (Kingma & Ba) on the objective, ascending; its per-pixel step
     * size ~lr lets pixels with small gradients reach the box edges as
     * fast as those with large ones, which plain gradient steps do not. */
    const float b1 = 0.9f, b2 = 0.999f;
    float p1 = 1.0f, p2 = 1.0f;
    for (int s = 0; s < o->steps; s++) {
        dl_net_forward(n, x, t);
        dl_net_input_gradient_seeded(n, t, layer, neuron, 1.0f, g); /* ∂z/∂x: alive when σ saturates */
        p1 *= b1;
        p2 *= b2;
        for (int i = 0; i < np; i++) {
            float gi = g[i] - 2.0f * o->l2 * x[i];
            m1[i] = b1 * m1[i] + (1.0f - b1) * gi;
            m2[i] = b2 * m2[i] + (1.0f - b2) * gi * gi;
            float mh = m1[i] / (1.0f - p1), vh = m2[i] / (1.0f - p2);
            x[i] = clamp01(x[i] + o->lr * mh / (sqrtf(vh) + 1e-8f));
        }
        if (o->blur > 0.0f) blur(x, tmp, k, o->rows, o->cols, o->blur);
    }
    dl_net_forward(n, x, t);
    if (info) {
        double sq = 0.0;
        for (int i = 0; i < np; i++) sq += (double)x[i] * x[i];
        info->activation = t->a[layer][neuron];
        info->z = t->z[layer][neuron];
        info->objective = (float)(info->z - o->l2 * sq);
        info->start_activation = start_act;
    }
out:
    dl_trace_free(t);
    free(g);
    free(m1);
    free(m2);
    free(tmp);
    free(k);
    return st;
}

