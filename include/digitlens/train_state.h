/*
 * train_state.h — what a model keeps of its training: each finished
 * epoch's figures (the history) and where training stands, enough to
 * resume it exactly.  Shared by train (which fills them) and model (which
 * saves and loads them) so that the model file needs nothing else of
 * training.
 */
#ifndef DIGITLENS_TRAIN_STATE_H
#define DIGITLENS_TRAIN_STATE_H

#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/rng.h"

/* One epoch's figures, as stored in a model's history. */
typedef struct dl_epoch_stat {
    uint32_t correct;  /* on the evaluation set (0 when there is none) */
    uint32_t total;
    float cost;        /* mean training cost over the epoch, measured as it trained */
    float seconds;     /* wall time of the epoch's training (not evaluation) */
    float eta;         /* the learning rate it trained with (--eta-schedule halves it) */
} dl_epoch_stat;

/* Why training ended before its last epoch (dl_train_state.stopped). */
typedef enum dl_stop {
    DL_STOP_NONE = 0,
    DL_STOP_EARLY = 1,    /* early stopping: no better evaluation accuracy for N epochs */
    DL_STOP_SCHEDULE = 2  /* the η schedule halved η down to η/128 */
} dl_stop;

/* Where training stands: enough to continue exactly where it stopped. */
typedef struct dl_train_state {
    uint32_t epoch;     /* epochs fully done */
    uint32_t pos;       /* examples done in the current epoch (0 at a boundary) */
    double cost_sum;    /* Σ cost over those examples, so a resumed epoch reports the same mean */
    uint32_t n;         /* training-set size the order refers to */
    uint32_t *order;    /* [n] this epoch's shuffle, owned; meaningful when pos > 0 */
    dl_rng rng;
    /* Chapter 3's extras (each zero or NULL when unused): */
    float eta;          /* with the η schedule, the learning rate now (the model's η, halved); else 0 */
    uint32_t best_epoch;   /* the epoch (1-based) with the best evaluation accuracy so far; 0 = none yet */
    uint32_t best_correct; /* its correct answers */
    uint32_t stale;     /* epochs since the schedule last saw an improvement or halved η */
    uint32_t stopped;   /* dl_stop: training ended early and is over */
    uint64_t dropout_seed; /* this epoch's dropout masks (drawn from rng after the shuffle) */
    size_t nparams;     /* length of velocity and kept */
    float *velocity;    /* [nparams] momentum's velocity v, owned, or NULL */
    float *kept;        /* [nparams] early stopping's other parameters, owned, or NULL */
    uint32_t kept_is_last; /* 0: kept holds the best epoch's parameters while the net trains on;
                              1: the net holds the best epoch's and kept the last epoch's, which
                              training continues from (dl_train swaps them at its end and start) */
} dl_train_state;

/* Starts a fresh state for n examples from a seeded RNG (copied). */
dl_status dl_train_state_init(dl_train_state *s, uint32_t n, const dl_rng *rng, dl_err *e);
/* At an epoch boundary (pos 0), makes the order room for n examples. */
dl_status dl_train_state_set_n(dl_train_state *s, uint32_t n, dl_err *e);
/* Gives the state a zeroed velocity or kept array of nparams floats
 * (*which is &s->velocity or &s->kept); nothing when it has one. */
dl_status dl_train_state_array(dl_train_state *s, float **which, size_t nparams, dl_err *e);
void dl_train_state_free(dl_train_state *s);

#endif
