/*
 * train.c — the SGD loop and evaluation (see train.h).  The per-batch
 * arithmetic is a "kernel": the reference kernel calls dl_net_backprop per
 * example, exactly the textbook algorithm.  The loop owns what lasts
 * between steps: the learning rate the schedule sets, the dropout seed,
 * the best epoch early stopping keeps.
 */
#define _POSIX_C_SOURCE 200809L
#include "digitlens/train.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digitlens/rng.h"

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

/* --- dropout masks and the update, shared by the kernels ----------------- */

void dl_dropout_mask(uint64_t seed, uint32_t pos, int layer, float p, int n, float *keep)
{
    /* keep when the top 32 bits are at least p·2^32 (p < 1, so this fits). */
    uint32_t thr = (uint32_t)((double)p * 4294967296.0);
    float scale = 1.0f / (1.0f - p);
    uint64_t base = ((uint64_t)pos * DL_MAX_LAYERS + (uint64_t)layer) * DL_MAX_WIDTH;
    for (int j = 0; j < n; j++) keep[j] = (uint32_t)(dl_rng_at(seed, base + (uint64_t)j) >> 32) >= thr ? scale : 0.0f;
}

/* --- the reference kernel ------------------------------------------------ */

typedef struct ref_ctx {
    dl_net *net;
    dl_sgd sgd;
    dl_trace *trace;
    float *grad;    /* [nparams] Σ over the batch */
    float *x;       /* [sizes[0]] */
    float *y;       /* [outputs] one-hot target */
    float *keep[DL_MAX_LAYERS]; /* dropout masks of the hidden layers (views into keepbuf), or NULL */
    float *keepbuf;
} ref_ctx;

static void ref_free(void *kv)
{
    ref_ctx *k = kv;
    if (!k) return;
    dl_trace_free(k->trace);
    free(k->grad);
    free(k->x);
    free(k->y);
    free(k->keepbuf);
    free(k);
}

static void *ref_new(dl_net *net, const dl_sgd *sgd, int threads, dl_err *e)
{
    (void)threads; /* the reference is single-threaded by design */
    ref_ctx *k = calloc(1, sizeof *k);
    if (!k) goto oom;
    k->net = net;
    k->sgd = *sgd;
    k->trace = dl_trace_new(net, e);
    k->grad = malloc(net->nparams * sizeof(float));
    k->x = malloc((size_t)net->sizes[0] * sizeof(float));
    k->y = malloc((size_t)net->sizes[net->nlayers - 1] * sizeof(float));
    if (!k->trace || !k->grad || !k->x || !k->y) goto oom;
    if (sgd->dropout > 0.0f && net->nlayers > 2) {
        size_t total = 0;
        for (int l = 1; l + 1 < net->nlayers; l++) total += (size_t)net->sizes[l];
        if (!(k->keepbuf = malloc(total * sizeof(float)))) goto oom;
        float *p = k->keepbuf;
        for (int l = 1; l + 1 < net->nlayers; l++) {
            k->keep[l] = p;
            p += net->sizes[l];
        }
    }
    return k;
oom:
    ref_free(k);
    dl_err_set(e, DL_ENOMEM, "out of memory for training buffers");
    return NULL;
}

/* One mini-batch: Σ gradients with dl_net_backprop (through this step's
 * dropout masks; the batch starts at position pos of the epoch), then the
 * SGD update of train.h. */
static double ref_step(ref_ctx *k, const dl_dataset *d, const uint32_t *idx, int m, const dl_step *st,
                       uint32_t pos)
{
    dl_net *net = k->net;
    int K = net->sizes[net->nlayers - 1];
    memset(k->grad, 0, net->nparams * sizeof(float));
    double cost = 0.0;
    for (int i = 0; i < m; i++) {
        dl_dataset_image(d, idx[i], k->x);
        for (int j = 0; j < K; j++) k->y[j] = (j == d->labels[idx[i]]) ? 1.0f : 0.0f;
        const float *a;
        if (k->keepbuf) {
            for (int l = 1; l + 1 < net->nlayers; l++)
                dl_dropout_mask(st->dropout_seed, pos + (uint32_t)i, l, k->sgd.dropout, net->sizes[l], k->keep[l]);
            a = dl_net_forward_dropout(net, k->x, (const float *const *)k->keep, k->trace);
        } else {
            a = dl_net_forward(net, k->x, k->trace);
        }
        cost += dl_cost_value(k->sgd.cost, a, k->y, K);
        dl_net_backprop_dropout(net, k->trace, k->y, k->sgd.cost, k->keepbuf ? (const float *const *)k->keep : NULL,
                                k->grad);
    }
    float r = st->eta / (float)m, mu = k->sgd.momentum;
    for (int l = 0; l + 1 < net->nlayers; l++) {
        size_t nw = (size_t)net->sizes[l + 1] * net->sizes[l];
        int nb = net->sizes[l + 1];
        float *w = net->w[l], *b = net->b[l];
        const float *g = k->grad + dl_net_woff(net, l), *gb = k->grad + dl_net_boff(net, l);
        if (mu == 0.0f) {
            for (size_t i = 0; i < nw; i++) w[i] = st->decay * w[i] - r * g[i];
            for (int j = 0; j < nb; j++) b[j] -= r * gb[j];
            continue;
        }
        float *vw = k->sgd.velocity + dl_net_woff(net, l), *vb = k->sgd.velocity + dl_net_boff(net, l);
        for (size_t i = 0; i < nw; i++) {
            vw[i] = mu * vw[i] - r * g[i] - st->l2 * w[i];
            w[i] += vw[i];
        }
        for (int j = 0; j < nb; j++) {
            vb[j] = mu * vb[j] - r * gb[j];
            b[j] += vb[j];
        }
    }
    return cost;
}

static uint32_t ref_train(void *kv, const dl_dataset *d, const uint32_t *idx, uint32_t n,
                          int batch, const dl_step *st, volatile sig_atomic_t *stop, double *cost)
{
    uint32_t pos = 0;
    while (pos < n) {
        int m = n - pos < (uint32_t)batch ? (int)(n - pos) : batch;
        *cost += ref_step(kv, d, idx + pos, m, st, st->pos + pos);
        pos += (uint32_t)m;
        if (stop && *stop) break;
    }
    return pos;
}

static void ref_sync(void *kv) { (void)kv; /* the net is always exact */ }

static const dl_kernel_ops ref_ops = {ref_new, ref_train, ref_sync, ref_free, NULL};

const dl_kernel_ops *dl_kernel_reference(void) { return &ref_ops; }

/* --- divergence ------------------------------------------------------------ */

/* Where an epoch began: the parameters and momentum's velocity (one copy
 * each) and the whole state's scalars.  The arrays the state points at
 * need no copy: the shuffle, at an epoch's start, is drawn from the RNG
 * kept here (and mid-epoch, in a resumed run, it does not change), and
 * early stopping's kept parameters, like its counters and the schedule's
 * η, change only after an epoch has been checked (judge_epoch). */
typedef struct finite_point {
    float *params;
    float *velocity; /* NULL without momentum */
    dl_train_state at;
} finite_point;

static void finite_point_free(finite_point *f)
{
    free(f->params);
    free(f->velocity);
    f->params = f->velocity = NULL;
}

static dl_status finite_point_init(finite_point *f, const dl_net *net, const dl_train_state *s, dl_err *e)
{
    f->params = malloc(net->nparams * sizeof(float));
    f->velocity = s->velocity ? malloc(net->nparams * sizeof(float)) : NULL;
    if (!f->params || (s->velocity && !f->velocity)) {
        finite_point_free(f);
        return dl_err_set(e, DL_ENOMEM, "out of memory for a copy of %zu parameters", net->nparams);
    }
    return DL_OK;
}

/* At an epoch's start, when the net and the velocity are exact (synced). */
static void finite_point_keep(finite_point *f, const dl_net *net, const dl_train_state *s)
{
    memcpy(f->params, net->params, net->nparams * sizeof(float));
    if (f->velocity) memcpy(f->velocity, s->velocity, net->nparams * sizeof(float));
    f->at = *s;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* 0 when the parameters, the velocity or the epoch's summed cost stopped
 * being finite (read after sync). */
static int finite_point_ok(const dl_net *net, const dl_train_state *s)
{
    return isfinite(s->cost_sum) && all_finite(net->params, net->nparams) &&
           (!s->velocity || all_finite(s->velocity, net->nparams));
}

/* Puts the net, the velocity and the state back as the epoch began, frees
 * f, and returns DL_ENUMERIC with *e filled.  The kernel must be destroyed
 * first: the fast one keeps its own copy of W[0] and of its velocity, so
 * a kernel that outlived the restore would train on the diverged values
 * (training again means a new dl_train call, which makes a new kernel). */
static dl_status finite_point_restore(finite_point *f, dl_net *net, dl_train_state *s, const dl_train_opts *o,
                                      dl_err *e)
{
    uint32_t epoch = s->epoch + 1;
    memcpy(net->params, f->params, net->nparams * sizeof(float));
    if (f->velocity) memcpy(s->velocity, f->velocity, net->nparams * sizeof(float));
    /* The same arrays (order, velocity, kept): only the scalars differ. */
    *s = f->at;
    finite_point_free(f);
    char l2[48] = "";
    if (o->lambda > 0) snprintf(l2, sizeof l2, " with lambda %g", (double)o->lambda);
    return dl_err_set(e, DL_ENUMERIC, "training diverged in epoch %u: the parameters stopped being finite (eta %g%s "
                      "is too large for this data; try a smaller --eta%s)", epoch, (double)o->eta, l2,
                      o->lambda > 0 ? " or --lambda" : "");
}

/* --- the loop ------------------------------------------------------------ */

static void swap_params(dl_net *net, float *kept)
{
    for (size_t i = 0; i < net->nparams; i++) {
        float t = net->params[i];
        net->params[i] = kept[i];
        kept[i] = t;
    }
}

static dl_status check_opts(const dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                            const dl_train_opts *o, const dl_train_state *s, dl_err *e)
{
    if (o->batch < 1 || o->epochs < 0 || !(o->eta > 0.0f) || !(o->lambda >= 0.0f) ||
        !(o->momentum >= 0.0f && o->momentum < 1.0f) || !(o->dropout >= 0.0f && o->dropout < 1.0f) ||
        o->early_stop < 0 || o->halve_after < 0)
        return dl_err_set(e, DL_EINVAL, "training options out of range");
    if ((o->early_stop || o->halve_after) && !eval)
        return dl_err_set(e, DL_EINVAL, "early stopping and the eta schedule judge epochs by an evaluation set, "
                          "and there is none");
    if (s->n != train->n)
        return dl_err_set(e, DL_EINVAL, "training state is for %u examples, data has %zu", s->n,
                          train->n);
    if (train->n == 0) return dl_err_set(e, DL_EINVAL, "no training examples");
    /* hist[s->epoch] is written below: an epoch that does not fit an int
     * would index far outside it (model files are checked at load too). */
    if (s->epoch > INT32_MAX || s->pos >= s->n || !s->order)
        return dl_err_set(e, DL_EINVAL, "training state out of range (epoch %u, position %u of %u)",
                          s->epoch, s->pos, s->n);
    /* L2 as in chapter 3: weight decay factor (1 − ηλ/n) each mini-batch
     * (the schedule only lowers η, so the options' η is the worst case). */
    float decay = 1.0f - o->eta * o->lambda / (float)train->n;
    if (!(decay > 0.0f))
        return dl_err_set(e, DL_EINVAL, "the L2 decay factor 1 - eta*lambda/n = %g is not above 0 (eta %g, lambda %g, "
                          "%zu examples)", (double)decay, (double)o->eta, (double)o->lambda, train->n);
    if ((s->velocity || s->kept) && s->nparams != net->nparams)
        return dl_err_set(e, DL_EINVAL, "training state is for %zu parameters, the network has %zu", s->nparams,
                          net->nparams);
    if (s->kept_is_last && !s->kept) return dl_err_set(e, DL_EINVAL, "training state is inconsistent");
    dl_status st = dl_dataset_check(train, net->sizes[0], net->sizes[net->nlayers - 1], "training data", FIT_HINT, e);
    if (st == DL_OK && eval) st = dl_dataset_check(eval, net->sizes[0], net->sizes[net->nlayers - 1], "evaluation data", FIT_HINT, e);
    if (st == DL_OK) st = dl_net_check_acts(net, e);
    if (st == DL_OK) st = dl_net_check_cost(net, o->cost, e);
    return st;
}

/* After an evaluated epoch: is it the best so far, and what do early
 * stopping and the schedule make of it? */
static void judge_epoch(dl_net *net, const dl_train_opts *o, dl_train_state *s, uint32_t correct)
{
    if (s->best_epoch == 0 || correct > s->best_correct) {
        s->best_epoch = s->epoch;
        s->best_correct = correct;
        s->stale = 0;
        if (s->kept) memcpy(s->kept, net->params, net->nparams * sizeof(float));
    } else {
        s->stale++;
    }
    if (o->early_stop && s->epoch - s->best_epoch >= (uint32_t)o->early_stop) s->stopped = DL_STOP_EARLY;
    if (o->halve_after && s->stale >= (uint32_t)o->halve_after) {
        /* Halving a float is exact, so η reaches η/128 exactly. */
        s->eta *= 0.5f;
        s->stale = 0;
        if (s->eta <= o->eta / 128.0f && !s->stopped) s->stopped = DL_STOP_SCHEDULE;
    }
}

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

/* What a step hook scores the network with (train.h). */
struct dl_scorer {
    dl_simd v;
    const dl_kernel_ops *ops;
    void *k;
    const dl_net *net;
    int threads;
};

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
    dl_status st = check_opts(net, train, eval, o, s, e);
    if (st != DL_OK) return st;
    if (o->momentum > 0.0f && (st = dl_train_state_array(s, &s->velocity, net->nparams, e)) != DL_OK) return st;
    if (o->early_stop > 0 && (st = dl_train_state_array(s, &s->kept, net->nparams, e)) != DL_OK) return st;
    /* Only the schedule moves η away from the options' value. */
    if (o->halve_after && s->eta == 0.0f) s->eta = o->eta;

    const dl_kernel_ops *ops =
        o->kernel == DL_KERNEL_REFERENCE ? dl_kernel_reference() : dl_kernel_fast(v);
    if (!ops) return dl_err_set(e, DL_EINVAL, "this build has no %s kernels", dl_simd_name(v));
    /* The last call ended with the best epoch's parameters in the net:
     * training goes on from the last epoch's (before the kernel, which
     * copies parts of the net when it is made, reads them). */
    if (s->kept_is_last) {
        swap_params(net, s->kept);
        s->kept_is_last = 0;
    }
    dl_sgd sgd = {o->cost, o->momentum, o->momentum > 0.0f ? s->velocity : NULL, o->dropout};
    void *k = ops->create(net, &sgd, o->threads, e);
    if (!k) return e ? e->code : DL_ENOMEM;
    /* The last finite model, to go back to when an epoch diverges. */
    finite_point fp;
    if (finite_point_init(&fp, net, s, e) != DL_OK) {
        ops->destroy(k);
        return e ? e->code : DL_ENOMEM;
    }
    /* Whole batches per call, so a span never splits one. */
    uint32_t span = (SPAN + (uint32_t)o->batch - 1) / (uint32_t)o->batch * (uint32_t)o->batch;

    while ((int)s->epoch < o->epochs && !s->stopped) {
        finite_point_keep(&fp, net, s);
        if (s->pos == 0) {
            /* Each epoch's order depends only on the RNG state, so a run
             * resumed from a saved state reproduces it exactly. */
            for (uint32_t i = 0; i < s->n; i++) s->order[i] = i;
            dl_rng_shuffle(&s->rng, s->order, s->n);
            /* Drawn only with dropout, so runs without it keep their streams. */
            if (o->dropout > 0.0f) s->dropout_seed = dl_rng_u64(&s->rng);
        }
        if (s->pos == 0) s->cost_sum = 0.0;
        /* L2 as in chapter 3: weight decay factor (1 − ηλ/n) each mini-batch. */
        float eta = o->halve_after ? s->eta : o->eta;
        dl_step step = {eta, 1.0f - eta * o->lambda / (float)train->n, eta * o->lambda / (float)train->n,
                        s->dropout_seed, 0};
        double t0 = now_seconds(), last = t0;
        while (s->pos < s->n) {
            uint32_t n = s->n - s->pos < span ? s->n - s->pos : span;
            if (hook) {
                /* End the span at the next hooked step, so the hook sees the network there. */
                uint64_t done = steps_done(s, o->batch), room = (hook->every - done % hook->every) * (uint64_t)o->batch;
                if (room < n) n = (uint32_t)room;
            }
            step.pos = s->pos;
            s->pos += ops->train(k, train, s->order + s->pos, n, o->batch, &step, o->stop, &s->cost_sum);
            if (hook && steps_done(s, o->batch) % hook->every == 0) {
                double h0 = hook->spent ? now_seconds() : 0.0;
                ops->sync(k); /* the hook looks at the network */
                dl_scorer sc = {v, ops, k, net, o->threads};
                st = hook->fn(net, s, &sc, hook->ctx, e);
                if (hook->spent) *hook->spent += now_seconds() - h0;
                if (st != DL_OK) {
                    ops->destroy(k);
                    finite_point_free(&fp);
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
                if (!finite_point_ok(net, s)) return finite_point_restore(&fp, net, s, o, e);
                finite_point_free(&fp);
                return dl_err_set(e, DL_EINTR, "stopped in epoch %u after %u of %u examples",
                                  s->epoch + 1, s->pos, s->n);
            }
        }
        double secs = now_seconds() - t0;
        ops->sync(k);
        if (!finite_point_ok(net, s)) {
            ops->destroy(k);
            return finite_point_restore(&fp, net, s, o, e);
        }
        dl_epoch_stat stat = {0, 0, (float)(s->cost_sum / (double)s->n), (float)secs, eta};
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
        if (o->early_stop || o->halve_after) judge_epoch(net, o, s, stat.correct);
        if (progress) {
            dl_progress p = {(int)s->epoch, o->epochs, s->n, s->n, secs, &hist[s->epoch - 1]};
            progress(&p, ctx);
        }
        if (o->stop && *o->stop && (int)s->epoch < o->epochs && !s->stopped) {
            ops->destroy(k);
            finite_point_free(&fp);
            return dl_err_set(e, DL_EINTR, "stopped after epoch %u", s->epoch);
        }
    }
    ops->destroy(k);
    finite_point_free(&fp);
    if (s->kept && s->best_epoch > 0) {
        swap_params(net, s->kept);
        s->kept_is_last = 1;
    }
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

/* *out for d through net: checked and its confusion matrix allocated
 * before an evaluation (eval_end after it). */
static dl_status eval_begin(const dl_net *net, const dl_dataset *d, dl_eval *out, dl_err *e)
{
    memset(out, 0, sizeof *out);
    dl_status st = dl_dataset_check(d, net->sizes[0], net->sizes[net->nlayers - 1], "evaluation data", FIT_HINT, e);
    if (st != DL_OK) return st;
    int K = net->sizes[net->nlayers - 1];
    out->nclasses = K;
    out->confusion = calloc((size_t)K * K, sizeof(uint32_t));
    if (!out->confusion) return dl_err_set(e, DL_ENOMEM, "out of memory for evaluation");
    return DL_OK;
}

/* The evaluation's status st and summed cost c into *out. */
static dl_status eval_end(dl_status st, const dl_dataset *d, double c, dl_eval *out)
{
    if (st != DL_OK) {
        dl_eval_free(out);
        return st;
    }
    out->total = d->n;
    out->cost = d->n ? c / (double)d->n : 0.0;
    return DL_OK;
}

dl_status dl_evaluate_simd(dl_simd v, const dl_net *net, const dl_dataset *d, dl_cost cost,
                           int threads, dl_eval *out, dl_err *e)
{
    dl_status st = eval_begin(net, d, out, e);
    if (st != DL_OK) return st;
    /* The fast kernels' forward pass (sparse first layer, threads); it
     * agrees with dl_net_forward up to float rounding. */
    double c = 0.0;
    st = dl_fast_evaluate(v, net, d, cost, threads, out->confusion, &out->correct, &c, e);
    return eval_end(st, d, c, out);
}

void dl_jobs_run(const dl_job *jobs, int n)
{
    for (int i = 0; i < n; i++) jobs[i].fn(jobs[i].ctx);
}

dl_status dl_scorer_evaluate(const dl_scorer *sc, const dl_dataset *d, dl_cost cost, const dl_job *beside,
                             int nbeside, dl_eval *out, dl_err *e)
{
    dl_status st;
    if (!sc->ops->evaluate) {
        st = dl_evaluate_simd(sc->v, sc->net, d, cost, sc->threads, out, e);
        dl_jobs_run(beside, nbeside);
        return st;
    }
    if ((st = eval_begin(sc->net, d, out, e)) != DL_OK) {
        dl_jobs_run(beside, nbeside);
        return st;
    }
    double c = 0.0;
    st = sc->ops->evaluate(sc->k, d, cost, beside, nbeside, out->confusion, &out->correct, &c, e);
    return eval_end(st, d, c, out);
}

void dl_eval_free(dl_eval *ev)
{
    if (!ev) return;
    free(ev->confusion);
    ev->confusion = NULL;
}
