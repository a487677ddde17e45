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
} dl_epoch_stat;

/* Where training stands: enough to continue exactly where it stopped. */
typedef struct dl_train_state {
    uint32_t epoch;     /* epochs fully done */
    uint32_t pos;       /* examples done in the current epoch (0 at a boundary) */
    double cost_sum;    /* Σ cost over those examples, so a resumed epoch reports the same mean */
    uint32_t n;         /* training-set size the order refers to */
    uint32_t *order;    /* [n] this epoch's shuffle, owned; meaningful when pos > 0 */
    dl_rng rng;
} dl_train_state;

/* Starts a fresh state for n examples from a seeded RNG (copied). */
dl_status dl_train_state_init(dl_train_state *s, uint32_t n, const dl_rng *rng, dl_err *e);
void dl_train_state_free(dl_train_state *s);

#endif
