/*
 * layer_pass.c — the stored forward pass (see layer_pass.h).
 */
#include "layer_pass.h"

#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "contract.h"

void dl_layer_pass_free(dl_layer_pass *s)
{
    free(s->z);
    free(s->pred);
    for (int l = 0; l < DL_MAX_LAYERS - 1; l++) free(s->wt[l]);
    memset(s, 0, sizeof *s);
}

size_t dl_layer_pass_cap(const dl_net *net)
{
    size_t width = 0;
    for (int l = 1; l < net->nlayers; l++) width += (size_t)net->sizes[l];
    return DL_LAYER_PASS_MAX_BYTES / sizeof(float) / width;
}

/* Examples [lo, hi): z for every layer, then the prediction.  x, a:
 * scratch of max(maxw, npix) floats. */
static void forward_range(const dl_layer_pass *s, size_t lo, size_t hi, float *x, float *a)
{
    DL_ASSERT(lo <= hi && hi <= s->n);
    const dl_net *n = s->net;
    int L = n->nlayers - 1;
    for (size_t i = lo; i < hi; i++) {
        dl_dataset_image(s->d, i, x);
        float *zi = s->z + i * s->width;
        const float *in = x;
        for (int l = 0; l < L; l++) {
            int ni = n->sizes[l], no = n->sizes[l + 1];
            float *z = zi + s->off[l + 1];
            memcpy(z, n->b[l], (size_t)no * sizeof(float));
            /* z[j] = b[j] + Σ_k W[j][k]·in[k] in increasing k, as
             * dl_net_forward adds them; a term with in[k] == 0 adds ±0,
             * which leaves every sum unchanged, so it is skipped. */
            for (int k = 0; k < ni; k++) {
                float ak = in[k];
                if (ak == 0.0f) continue;
                const float *w = s->wt[l] + (size_t)k * no;
                for (int j = 0; j < no; j++) z[j] += w[j] * ak;
            }
            dl_act_apply(n->act[l], z, a, no);
            if (l + 1 < L) {
                /* a becomes the next layer's input: copy it aside. */
                memcpy(x, a, (size_t)no * sizeof(float));
                in = x;
            }
        }
        s->pred[i] = dl_argmax(a, n->sizes[L]);
    }
}

typedef struct pass_job {
    const dl_layer_pass *s;
    int oom[DL_PARALLEL_MAX];
} pass_job;

static void forward_part(void *ctx, int t, int nt)
{
    pass_job *j = ctx;
    const dl_layer_pass *s = j->s;
    size_t cap = (size_t)(s->maxw > (int)s->d->npix ? s->maxw : (int)s->d->npix);
    float *x = malloc(cap * sizeof(float)), *a = malloc(cap * sizeof(float));
    if (!x || !a) j->oom[t] = 1;
    else forward_range(s, dl_parallel_lo(s->n, t, nt), dl_parallel_hi(s->n, t, nt), x, a);
    free(x);
    free(a);
}

dl_status dl_layer_pass_run(const dl_net *net, const dl_dataset *d, size_t n, int threads, dl_layer_pass *s,
                            dl_err *e)
{
    memset(s, 0, sizeof *s);
    s->net = net;
    s->d = d;
    s->n = n;
    int L = net->nlayers - 1;
    for (int l = 0; l <= L; l++)
        if (net->sizes[l] > s->maxw) s->maxw = net->sizes[l];
    for (int l = 1; l <= L; l++) {
        s->off[l] = s->width;
        s->width += (size_t)net->sizes[l];
    }
    if (n > dl_layer_pass_cap(net)) {
        dl_layer_pass_free(s);
        return dl_err_set(e, DL_ELIMIT, "%zu examples of %zu values each exceed the %zu MiB the statistics may use",
                          n, s->width, DL_LAYER_PASS_MAX_BYTES >> 20);
    }
    s->z = malloc((n ? n : 1) * s->width * sizeof(float));
    s->pred = malloc((n ? n : 1) * sizeof(int));
    int ok = s->z && s->pred;
    for (int l = 0; l < L && ok; l++) {
        int ni = net->sizes[l], no = net->sizes[l + 1];
        s->wt[l] = malloc((size_t)ni * no * sizeof(float));
        if (!s->wt[l]) {
            ok = 0;
            break;
        }
        for (int j = 0; j < no; j++)
            for (int k = 0; k < ni; k++) s->wt[l][(size_t)k * no + j] = net->w[l][(size_t)j * ni + k];
    }
    if (!ok) {
        dl_layer_pass_free(s);
        return dl_err_set(e, DL_ENOMEM, "out of memory for the forward pass over %zu examples", n);
    }
    /* At least 256 examples per thread: fewer are not worth a thread. */
    pass_job job = {s, {0}};
    int nt = dl_parallel_threads(threads, n / 256 + 1);
    dl_parallel_run(nt, forward_part, &job);
    for (int t = 0; t < nt; t++)
        if (job.oom[t]) {
            dl_layer_pass_free(s);
            return dl_err_set(e, DL_ENOMEM, "out of memory in the forward pass");
        }
    return DL_OK;
}
