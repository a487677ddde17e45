/*
 * train.c — the SGD loop and evaluation (see train.h).  The per-batch arithmetic is a "kernel": the reference
 * kernel calls dl_net_backprop per example, exactly the textbook algorithm.
 */
#define _POSIX_C_SOURCE 200809L
#include "digitlens/train.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_fast_eval.h"
#include "train_kernels.h"
#include "train_simd.h"

#define FIT_HINT "use --digits to pick classes"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --- the reference kernel ------------------------------------------------ */

typedef struct ref_ctx {
    dl_net *net;
    dl_cost cost;
    dl_trace *trace;
    float *grad;    /* [nparams] Σ over the batch */
    float *x;       /* [sizes[0]] */
    float *y;       /* [outputs] one-hot target */
} ref_ctx;

static void ref_free(void *kv)
{
    ref_ctx *k = kv;
    if (!k) return;
    dl_trace_free(k->trace);
    free(k->grad);
    free(k->x);
    free(k->y);
    free(k);
}

static void *ref_new(dl_net *net, dl_cost cost, int threads, dl_err *e)
{
    (void)threads; /* the reference is single-threaded by design */
    ref_ctx *k = calloc(1, sizeof *k);
    if (!k) goto oom;
    k->net = net;
    k->cost = cost;
    k->trace = dl_trace_new(net, e);
    k->grad = malloc(net->nparams * sizeof(float));
    k->x = malloc((size_t)net->sizes[0] * sizeof(float));
    k->y = malloc((size_t)net->sizes[net->nlayers - 1] * sizeof(float));
    if (!k->trace || !k->grad || !k->x || !k->y) goto oom;
    return k;
oom:
    ref_free(k);
    dl_err_set(e, DL_ENOMEM, "out of memory for training buffers");
    return NULL;
}

/* One mini-batch: Σ gradients with dl_net_backprop, then the SGD update. */
static double ref_step(ref_ctx *k, const dl_dataset *d, const uint32_t *idx, int m, float eta,
                       float decay)
{
    dl_net *net = k->net;
    int K = net->sizes[net->nlayers - 1];
    memset(k->grad, 0, net->nparams * sizeof(float));
    double cost = 0.0;
    for (int i = 0; i < m; i++) {
        dl_dataset_image(d, idx[i], k->x);
        for (int j = 0; j < K; j++) k->y[j] = (j == d->labels[idx[i]]) ? 1.0f : 0.0f;
        const float *a = dl_net_forward(net, k->x, k->trace);
        cost += dl_cost_value(k->cost, a, k->y, K);
        dl_net_backprop(net, k->trace, k->y, k->cost, k->grad);
    }
    float r = eta / (float)m;
    for (int l = 0; l + 1 < net->nlayers; l++) {
        size_t nw = (size_t)net->sizes[l + 1] * net->sizes[l];
        float *w = net->w[l];
        const float *g = k->grad + dl_net_woff(net, l);
        for (size_t i = 0; i < nw; i++) w[i] = decay * w[i] - r * g[i];
        const float *gb = k->grad + dl_net_boff(net, l);
        for (int j = 0; j < net->sizes[l + 1]; j++) net->b[l][j] -= r * gb[j];
    }
    return cost;
}

static uint32_t ref_train(void *kv, const dl_dataset *d, const uint32_t *idx, uint32_t n,
                          int batch, float eta, float decay, volatile sig_atomic_t *stop,
                          double *cost)
{
    uint32_t pos = 0;
    while (pos < n) {
        int m = n - pos < (uint32_t)batch ? (int)(n - pos) : batch;
        *cost += ref_step(kv, d, idx + pos, m, eta, decay);
        pos += (uint32_t)m;
        if (stop && *stop) break;
    }
    return pos;
}

static void ref_sync(void *kv) { (void)kv; /* the net is always exact */ }

static const dl_kernel_ops ref_ops = {ref_new, ref_train, ref_sync, ref_free};

const dl_kernel_ops *dl_kernel_reference(void) { return &ref_ops; }

/* --- divergence ------------------------------------------------------------ */

/* Where an epoch began: the parameters (one copy) and the state's scalars.
 * The shuffle is not copied: at an epoch's start it is drawn from the RNG
 * kept here, and mid-epoch (a resumed run) it does not change. */
typedef struct finite_point {
    float *params;
    dl_train_state at;
} finite_point;

static dl_status finite_point_init(finite_point *f, const dl_net *net, dl_err *e)
{
    f->params = malloc(net->nparams * sizeof(float));
    if (!f->params) return dl_err_set(e, DL_ENOMEM, "out of memory for a copy of %zu parameters", net->nparams);
    return DL_OK;
}

static void finite_point_free(finite_point *f)
{
    free(f->params);
    f->params = NULL;
}

static void finite_point_keep(finite_point *f, const dl_net *net, const dl_train_state *s)
{
    memcpy(f->params, net->params, net->nparams * sizeof(float));
    f->at = *s;
}

/* 1 (and everything put back, *e filled, f freed) when the parameters or
 * the epoch's summed cost stopped being finite; else 0. */
static int finite_point_check(finite_point *f, dl_net *net, dl_train_state *s, const dl_train_opts *o, dl_err *e)
{
    int bad = !isfinite(s->cost_sum);
    for (size_t i = 0; i < net->nparams && !bad; i++) bad = !isfinite(net->params[i]);
    if (!bad) return 0;
    uint32_t epoch = s->epoch + 1;
    memcpy(net->params, f->params, net->nparams * sizeof(float));
    s->epoch = f->at.epoch;
    s->pos = f->at.pos;
    s->cost_sum = f->at.cost_sum;
    s->rng = f->at.rng;
    finite_point_free(f);
    char l2[48] = "";
    if (o->lambda > 0) snprintf(l2, sizeof l2, " with lambda %g", (double)o->lambda);
    dl_err_set(e, DL_ENUMERIC, "training diverged in epoch %u: the parameters stopped being finite (eta %g%s is too "
               "large for this data; try a smaller --eta%s)", epoch, (double)o->eta, l2,
               o->lambda > 0 ? " or --lambda" : "");
    return 1;
}

/* --- the loop ------------------------------------------------------------ */

/* Examples per call into the kernel: progress and Ctrl-C are looked at
 * between calls (the kernel itself stops at the first batch boundary after
 * *stop is set). */
#define SPAN 2048u

dl_status dl_train(dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                   const dl_train_opts *o, dl_train_state *s, dl_epoch_stat *hist,
                   dl_progress_fn progress, void *ctx, dl_err *e)
{
    return dl_train_hooked(net, train, eval, o, NULL, s, hist, progress, ctx, e);
}

static dl_status train_loop(dl_simd v, dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                            const dl_train_opts *o, const dl_step_hook *hook, dl_train_state *s,
                            dl_epoch_stat *hist, dl_progress_fn progress, void *ctx, dl_err *e);

dl_status dl_train_hooked(dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                          const dl_train_opts *o, const dl_step_hook *hook, dl_train_state *s,
                          dl_epoch_stat *hist, dl_progress_fn progress, void *ctx, dl_err *e)
{
    dl_simd v;
    dl_status st = dl_simd_choose(&v, e);
    if (st != DL_OK) return st;
    return train_loop(v, net, train, eval, o, hook, s, hist, progress, ctx, e);
}

dl_status dl_train_simd(dl_simd v, dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                        const dl_train_opts *o, dl_train_state *s, dl_epoch_stat *hist,
                        dl_progress_fn progress, void *ctx, dl_err *e)
{
    return train_loop(v, net, train, eval, o, NULL, s, hist, progress, ctx, e);
}

/* Mini-batches done since training began, for state s. */
static uint64_t steps_done(const dl_train_state *s, int batch)
{
    uint64_t b = (uint64_t)batch;
    return (uint64_t)s->epoch * ((s->n + b - 1) / b) + (s->pos + b - 1) / b;
}

static dl_status train_loop(dl_simd v, dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                            const dl_train_opts *o, const dl_step_hook *hook, dl_train_state *s,
                            dl_epoch_stat *hist, dl_progress_fn progress, void *ctx, dl_err *e)
{
    if (hook && (hook->every == 0 || !hook->fn)) return dl_err_set(e, DL_EINVAL, "a step hook every 0 mini-batches");
    if (o->batch < 1 || o->epochs < 0 || !(o->eta > 0.0f) || o->lambda < 0.0f)
        return dl_err_set(e, DL_EINVAL, "training options out of range");
    if (s->n != train->n)
        return dl_err_set(e, DL_EINVAL, "training state is for %u examples, data has %zu", s->n,
                          train->n);
    if (train->n == 0) return dl_err_set(e, DL_EINVAL, "no training examples");
    /* hist[s->epoch] is written below: an epoch that does not fit an int
     * would index far outside it (model files are checked at load too). */
    if (s->epoch > INT32_MAX || s->pos >= s->n || !s->order)
        return dl_err_set(e, DL_EINVAL, "training state out of range (epoch %u, position %u of %u)",
                          s->epoch, s->pos, s->n);
    dl_status st = dl_dataset_check(train, net->sizes[0], net->sizes[net->nlayers - 1], "training data", FIT_HINT, e);
    if (st == DL_OK && eval) st = dl_dataset_check(eval, net->sizes[0], net->sizes[net->nlayers - 1], "evaluation data", FIT_HINT, e);
    if (st != DL_OK) return st;

    const dl_kernel_ops *ops =
        o->kernel == DL_KERNEL_REFERENCE ? dl_kernel_reference() : dl_kernel_fast(v);
    if (!ops) return dl_err_set(e, DL_EINVAL, "this build has no %s kernels", dl_simd_name(v));
    void *k = ops->create(net, o->cost, o->threads, e);
    if (!k) return e ? e->code : DL_ENOMEM;
    /* L2 as in chapter 3: weight decay factor (1 − ηλ/n) each mini-batch. */
    float decay = 1.0f - o->eta * o->lambda / (float)train->n;
    if (!(decay > 0.0f)) {
        ops->destroy(k);
        return dl_err_set(e, DL_EINVAL, "the L2 decay factor 1 - eta*lambda/n = %g is not above 0 (eta %g, lambda %g, "
                          "%zu examples)", (double)decay, (double)o->eta, (double)o->lambda, train->n);
    }
    /* The last finite model, to go back to when an epoch diverges. */
    finite_point fp;
    if (finite_point_init(&fp, net, e) != DL_OK) {
        ops->destroy(k);
        return e ? e->code : DL_ENOMEM;
    }
    /* Whole batches per call, so a span never splits one. */
    uint32_t span = (SPAN + (uint32_t)o->batch - 1) / (uint32_t)o->batch * (uint32_t)o->batch;

    while ((int)s->epoch < o->epochs) {
        finite_point_keep(&fp, net, s);
        if (s->pos == 0) {
            /* Each epoch's order depends only on the RNG state, so a run
             * resumed from a saved state reproduces it exactly. */
            for (uint32_t i = 0; i < s->n; i++) s->order[i] = i;
            dl_rng_shuffle(&s->rng, s->order, s->n);
        }
        if (s->pos == 0) s->cost_sum = 0.0;
        double t0 = now_seconds(), last = t0;
        while (s->pos < s->n) {
            uint32_t n = s->n - s->pos < span ? s->n - s->pos : span;
            if (hook) {
                /* End the span at the next hooked step, so the hook sees the network there. */
                uint64_t done = steps_done(s, o->batch), room = (hook->every - done % hook->every) * (uint64_t)o->batch;
                if (room < n) n = (uint32_t)room;
            }
            s->pos += ops->train(k, train, s->order + s->pos, n, o->batch, o->eta, decay, o->stop,
                                 &s->cost_sum);
            if (hook && steps_done(s, o->batch) % hook->every == 0) {
                double h0 = hook->spent ? now_seconds() : 0.0;
                ops->sync(k); /* the hook looks at the network */
                st = hook->fn(net, s, hook->ctx, e);
                if (hook->spent) *hook->spent += now_seconds() - h0;
                if (st != DL_OK) {
                    ops->destroy(k);
                    return st;
                }
            }
            double t = now_seconds();
            if (progress && t - last > 0.05) {
                ops->sync(k); /* the callback may look at the network */
                dl_progress p = {(int)s->epoch + 1, o->epochs, s->pos, s->n, t - t0, NULL};
                progress(&p, ctx);
                last = t;
            }
            if (o->stop && *o->stop && s->pos < s->n) {
                ops->sync(k);
                ops->destroy(k);
                if (finite_point_check(&fp, net, s, o, e)) return DL_ENUMERIC;
                finite_point_free(&fp);
                return dl_err_set(e, DL_EINTR, "stopped in epoch %u after %u of %u examples",
                                  s->epoch + 1, s->pos, s->n);
            }
        }
        double secs = now_seconds() - t0;
        ops->sync(k);
        if (finite_point_check(&fp, net, s, o, e)) {
            ops->destroy(k);
            return DL_ENUMERIC;
        }
        dl_epoch_stat stat = {0, 0, (float)(s->cost_sum / (double)s->n), (float)secs};
        if (eval) {
            dl_eval ev;
            st = dl_evaluate_simd(v, net, eval, o->cost, o->threads, &ev, e);
            if (st != DL_OK) {
                ops->destroy(k);
                finite_point_free(&fp);
                return st;
            }
            stat.correct = (uint32_t)ev.correct;
            stat.total = (uint32_t)ev.total;
            dl_eval_free(&ev);
        }
        hist[s->epoch] = stat;
        s->epoch++;
        s->pos = 0;
        s->cost_sum = 0.0;
        if (progress) {
            dl_progress p = {(int)s->epoch, o->epochs, s->n, s->n, secs, &hist[s->epoch - 1]};
            progress(&p, ctx);
        }
        if (o->stop && *o->stop && (int)s->epoch < o->epochs) {
            ops->destroy(k);
            finite_point_free(&fp);
            return dl_err_set(e, DL_EINTR, "stopped after epoch %u", s->epoch);
        }
    }
    ops->destroy(k);
    finite_point_free(&fp);
    return DL_OK;
}

/* --- evaluation ---------------------------------------------------------- */

dl_status dl_evaluate(const dl_net *net, const dl_dataset *d, dl_cost cost, int threads,
                      dl_eval *out, dl_err *e)
{
    memset(out, 0, sizeof *out);
    dl_simd v;
    dl_status st = dl_simd_choose(&v, e);
    return st != DL_OK ? st : dl_evaluate_simd(v, net, d, cost, threads, out, e);
}

dl_status dl_evaluate_simd(dl_simd v, const dl_net *net, const dl_dataset *d, dl_cost cost,
                           int threads, dl_eval *out, dl_err *e)
{
    memset(out, 0, sizeof *out);
    dl_status st = dl_dataset_check(d, net->sizes[0], net->sizes[net->nlayers - 1], "evaluation data", FIT_HINT, e);
    if (st != DL_OK) return st;
    int K = net->sizes[net->nlayers - 1];
    out->nclasses = K;
    out->confusion = calloc((size_t)K * K, sizeof(uint32_t));
    if (!out->confusion) return dl_err_set(e, DL_ENOMEM, "out of memory for evaluation");
    /* The fast kernels' forward pass (sparse first layer, threads); it
     * agrees with dl_net_forward up to float rounding. */
    double c = 0.0;
    st = dl_fast_evaluate(v, net, d, cost, threads, out->confusion, &out->correct, &c, e);
    if (st != DL_OK) {
        dl_eval_free(out);
        return st;
    }
    out->total = d->n;
    out->cost = d->n ? c / (double)d->n : 0.0;
    return DL_OK;
}

void dl_eval_free(dl_eval *ev)
{
    if (!ev) return;
    free(ev->confusion);
    ev->confusion = NULL;
}
