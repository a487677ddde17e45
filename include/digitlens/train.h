/*
 * train.h — mini-batch stochastic gradient descent (Nielsen ch. 1 and 3),
 * evaluation, and the progress callback through which training reports.
 *
 * One epoch: shuffle the training indices with the caller's RNG, then for
 * each mini-batch of m examples
 *     w ← (1 − ηλ/n)·w − (η/m)·Σ ∂C/∂w,   b ← b − (η/m)·Σ ∂C/∂b
 * (λ = 0 unless L2 is asked for; n = training-set size).  The last batch of
 * an epoch may be shorter, as in network.py.  With momentum μ > 0
 * (classical momentum, chapter 3), every parameter p has a velocity v:
 *     v ← μ·v − (η/m)·Σ ∂C/∂p − (ηλ/n)·p   (the L2 term on weights only)
 *     p ← p + v
 * which is the update above when μ = 0.  Dropout p > 0 drops each hidden
 * unit of each example with probability p (inverted dropout: kept units are
 * scaled by 1/(1−p) while training, so evaluation uses the net as it is);
 * the masks are a function of the epoch's dropout seed (drawn from the
 * training RNG after the shuffle), the example's position in the epoch, the
 * layer and the unit, so both kernels and a resumed run use the same ones.
 * Early stopping and the η schedule watch the evaluation set's accuracy
 * after each epoch: an epoch improves when it gets strictly more right than
 * every epoch before it.  Knows nothing of printing:
 * the caller's callback sees progress; a flag the caller sets (from a signal
 * handler) stops training after the current mini-batch.
 */
#ifndef DIGITLENS_TRAIN_H
#define DIGITLENS_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/dataset.h"
#include "digitlens/net.h"
#include "digitlens/rng.h"
#include "digitlens/train_state.h"

typedef enum dl_kernel {
    DL_KERNEL_FAST = 0,      /* the default: sparse-aware, threaded */
    DL_KERNEL_REFERENCE = 1  /* plain loops over dl_net_backprop, one thread */
} dl_kernel;

typedef struct dl_train_opts {
    int epochs;        /* epochs to reach in total (counting ones already done) */
    int batch;         /* mini-batch size m */
    float eta;         /* learning rate η */
    float lambda;      /* L2 strength λ (0 = none) */
    dl_cost cost;
    int threads;       /* 1 = single-threaded; results deterministic per count */
    dl_kernel kernel;
    volatile sig_atomic_t *stop; /* optional: non-zero stops after the current mini-batch */
    /* Chapter 3's extras; 0 = off. */
    float momentum;    /* μ of classical momentum, 0 <= μ < 1 */
    float dropout;     /* p, the probability a hidden unit is dropped, 0 <= p < 1 */
    int early_stop;    /* N: stop when the evaluation accuracy has not improved for N epochs, and end
                          with the best epoch's parameters (needs eval) */
    int halve_after;   /* N: halve η after N epochs without improvement (counting from the last
                          halving); stop when η reaches η/128 (network2.py's schedule; needs eval) */
} dl_train_opts;

typedef struct dl_progress {
    int epoch;                   /* 1-based epoch being trained */
    int epochs;
    size_t done, total;          /* examples done in this epoch */
    double seconds;              /* since this epoch started */
    const dl_epoch_stat *stat;   /* non-NULL once, when the epoch has finished and been evaluated */
} dl_progress;

/* Called after mini-batches (at most every ~50 ms of work) and at each
 * epoch end.  ctx is the caller's. */
typedef void (*dl_progress_fn)(const dl_progress *p, void *ctx);

/* Trains net in place from state s until opts->epochs are done or stopped.
 * eval (may be NULL) is scored after each epoch.  Each finished epoch's
 * figures are appended to hist (capacity opts->epochs, indexed by epoch).
 * Returns DL_EINTR when *opts->stop ended it early (state s then says where).
 * Early stopping or the schedule may end it before opts->epochs: DL_OK
 * with s->stopped set.  With early stopping, the net returns holding the
 * best epoch's parameters and s->kept the last epoch's (kept_is_last); a
 * later call swaps them back first, so training in several calls (legs
 * between checkpoints, a resumed file) computes what one call would.
 * Returns DL_ENUMERIC when an epoch leaves a parameter, momentum's velocity
 * or the cost not finite (the learning rate or L2 strength is too large):
 * net and s (velocity included; early stopping's kept parameters and
 * counters are untouched until an epoch has been checked) are then put back
 * as they were when that epoch began, the last finite model (this keeps one
 * copy of the parameters, and one of the velocity).  A decay factor
 * 1 − ηλ/n <= 0 (every step would flip the weights' signs or zero them) is
 * DL_EINVAL. */
dl_status dl_train(dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                   const dl_train_opts *opts, dl_train_state *s, dl_epoch_stat *hist,
                   dl_progress_fn progress, void *ctx, dl_err *e);

/* A hook into training: fn(net, state, sc, ctx) after every mini-batch that
 * completes a multiple of `every` mini-batches counted from the start of
 * training (epoch · ⌈n / batch⌉ + the batches of this epoch), with the
 * network exact and the state as it stands (pos = n at an epoch's end,
 * before its evaluation).  An error fn returns stops training and is
 * returned.  When `spent` is non-NULL, the seconds each call took are
 * added to it, with the kernel's write-back of the network that the call
 * needs (what the hook costs training).  sc scores the network
 * (dl_scorer_evaluate, below).  Snapshots (train --snapshot-every) use it. */
typedef struct dl_scorer dl_scorer;
typedef dl_status (*dl_step_fn)(const dl_net *net, const dl_train_state *s, const dl_scorer *sc,
                                void *ctx, dl_err *e);
typedef struct dl_step_hook {
    dl_step_fn fn;
    void *ctx;
    uint64_t every;    /* >= 1 */
    double *spent;     /* or NULL */
} dl_step_hook;

/* dl_train with a step hook (NULL: none, which is dl_train). */
dl_status dl_train_hooked(dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                          const dl_train_opts *opts, const dl_step_hook *hook, dl_train_state *s,
                          dl_epoch_stat *hist, dl_progress_fn progress, void *ctx, dl_err *e);

/* Classification results on a dataset. */
typedef struct dl_eval {
    int nclasses;          /* the network's outputs */
    size_t correct, total;
    double cost;           /* mean cost per example */
    uint32_t *confusion;   /* [nclasses x nclasses]: row = true label, column = predicted */
} dl_eval;

/* Runs the whole dataset through net.  Labels must be < the output count. */
dl_status dl_evaluate(const dl_net *net, const dl_dataset *d, dl_cost cost, int threads,
                      dl_eval *out, dl_err *e);
void dl_eval_free(dl_eval *ev);

/* Work to do beside a scoring: fn(ctx). */
typedef struct dl_job {
    void (*fn)(void *ctx);
    void *ctx;
} dl_job;

/* For a step hook: dl_evaluate's result on the network exactly, from the
 * training kernel's own layout of it where the kernel has one (the fast
 * kernel's transposed first layer), which saves laying the network out
 * again for every evaluation.  The jobs beside[0..nbeside) run once each
 * meanwhile, in any order and on any of training's threads (which are
 * otherwise idle during the hook: each thread takes one as it starts, then
 * scores, then takes what is left), and have all returned when this does.
 * Valid during the hook's call. */
dl_status dl_scorer_evaluate(const dl_scorer *sc, const dl_dataset *d, dl_cost cost, const dl_job *beside,
                             int nbeside, dl_eval *out, dl_err *e);

/* Runs jobs[0..n) in order on this thread. */
void dl_jobs_run(const dl_job *jobs, int n);

#endif
