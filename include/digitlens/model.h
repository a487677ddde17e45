/*
 * model.h — the .dlm model file: a trained network with everything needed
 * to explain it (initial parameters, history) and to resume training.
 *
 * Format (version 2), all integers little-endian, floats IEEE-754 binary32;
 * [v2] marks what version 1 files lack (they still load: sigmoid layers,
 * no momentum, dropout, early stopping or schedule, η constant):
 *   "DLMODEL\0" magic (8 bytes), u32 version, u32 flags (bit 0: partial, bit 1: class subset)
 *   u32 nlayers, u32 sizes[nlayers], u32 rows, u32 cols (input image shape)
 *   u32 cost, u32 init, f32 eta, f32 lambda, u32 batch, u64 seed,
 *   u32 epochs_planned, u32 nclasses, u8 classes[nclasses],
 *   u32 data_fingerprint, u32 ntrain
 *   [v2] u32 act[nlayers-1] (dl_act of W[l]'s outputs), f32 momentum, f32 dropout,
 *        u32 early_stop, u32 halve_after
 *   u32 nhistory, then per epoch: u32 correct, u32 total, f32 cost, [v2] f32 eta
 *   (no timings: the same seed and options must give the same bytes)
 *   training state: u32 epoch, u32 pos, f64 cost_sum, u32 norder, u32 order[norder],
 *                   u64 rng[4], f64 rng_spare, u32 rng_has_spare
 *   [v2] f32 eta_now, u32 best_epoch, u32 best_correct, u32 stale, u32 stopped,
 *        u64 dropout_seed, u32 kept_is_last,
 *        u32 nvelocity (0 or P), f32 velocity[nvelocity], u32 nkept (0 or P), f32 kept[nkept]
 *   f32 params[P], f32 init_params[P]   (P from the sizes; layout of net.h)
 *   u32 CRC-32 (zlib) of every byte before it
 * Written atomically (fileio).  Loading checks magic, version, every size
 * against the limits and the file length before allocating, then the CRC,
 * then every field against the others: activations and a cost that fit
 * the output; hyper-parameters in range (momentum, dropout, patience and
 * schedule too, none in an imported model); the training state (epochs
 * done = history length <= epochs planned; a mid-epoch position inside a
 * shuffle that is a permutation of the ntrain images; finite, non-negative
 * η, λ and summed cost; a live RNG state; the schedule's η, the best epoch
 * and the stop against the history and options; a finite velocity and
 * kept parameters only where momentum and early stopping could have made
 * them), so resuming can index with them.
 */
#ifndef DIGITLENS_MODEL_H
#define DIGITLENS_MODEL_H

#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/dataset.h"
#include "digitlens/net.h"
#include "digitlens/train_state.h"

#define DL_MODEL_VERSION 2u
#define DL_MODEL_PARTIAL 1u   /* flags: training was interrupted */
#define DL_MODEL_SUBSET 2u    /* flags: trained on chosen classes (--digits); other labels are skipped */
#define DL_MODEL_MAX_BYTES (256u * 1024 * 1024)
#define DL_MODEL_MAX_EPOCHS 1000000u  /* epochs done or planned */
#define DL_MODEL_MAX_BATCH 1000000u   /* mini-batch size */

typedef struct dl_model {
    dl_net *net;                 /* owned */
    float *init_params;          /* [net->nparams], owned: the parameters before training */
    int rows, cols;              /* input image shape (rows*cols = sizes[0]) */
    dl_cost cost;
    dl_init init;
    float eta, lambda;           /* eta: the initial learning rate (the state holds the current one) */
    float momentum, dropout;     /* 0 = off */
    uint32_t early_stop;         /* patience N of early stopping, 0 = off */
    uint32_t halve_after;        /* --eta-schedule halve:N, 0 = off */
    uint32_t batch;
    uint64_t seed;
    uint32_t epochs_planned;
    uint32_t flags;
    int nclasses;                /* = output count */
    uint8_t classes[256];        /* output k stands for original label classes[k] */
    uint32_t data_fingerprint;   /* dl_dataset_fingerprint of the training data */
    uint32_t ntrain;
    uint32_t nhistory;
    dl_epoch_stat *history;      /* [max(nhistory, epochs_planned)], owned */
    dl_train_state state;        /* owned order[] */
} dl_model;

/* A model around a new zeroed network; classes default to 0..K-1. */
dl_model *dl_model_new(int nlayers, const int *sizes, int rows, int cols, dl_err *e);
void dl_model_free(dl_model *m);

/* Prepares a new model to train on data: draws the initial parameters from
 * seed (keeping a copy in init_params), records the data's fingerprint and
 * size, and seeds the training state with the generator that drew them. */
dl_status dl_model_start(dl_model *m, dl_init init, uint64_t seed, const dl_dataset *train,
                         dl_err *e);

/* Makes room for n epochs of history (keeps what is there). */
dl_status dl_model_reserve_history(dl_model *m, uint32_t n, dl_err *e);

/* Finishes a model read from another tool's file (network2.py's JSON,
 * ONNX), whose parameters the caller has filled: such files keep no
 * initial parameters, so they are set equal to the trained ones ("change
 * since init" pictures are blank), and no history; training stands at
 * rest.  Every command then treats it as it treats any model. */
dl_status dl_model_finish_import(dl_model *m, dl_err *e);

dl_status dl_model_save(const dl_model *m, const char *path, dl_err *e);
dl_status dl_model_load(const char *path, dl_model **out, dl_err *e);

/* Serialises to / parses from memory (the file functions use these; the
 * fuzz harness calls parse directly). */
dl_status dl_model_encode(const dl_model *m, unsigned char **out, size_t *len, dl_err *e);
/* The same in format `version` (1 or DL_MODEL_VERSION), for a reader that
 * predates version 2; DL_EINVAL when the model uses what that version
 * cannot hold (an activation other than sigmoid, the log-likelihood cost,
 * momentum, dropout, early stopping, the schedule). */
dl_status dl_model_encode_version(const dl_model *m, uint32_t version, unsigned char **out, size_t *len,
                                  dl_err *e);
dl_status dl_model_decode(const unsigned char *buf, size_t len, const char *name,
                          dl_model **out, dl_err *e);

/* 1 when the model knows its parameters before training (init_params
 * differs from params); 0 for an imported model, whose file has only the
 * trained ones (init_params then holds a copy, and a "change since
 * initialisation" would be zero everywhere). */
int dl_model_has_init(const dl_model *m);

/* Makes a labelled data set fit model m, so that its labels are the
 * model's output indices: the same image shape (rows x cols), and for a
 * model over labels 0..K-1 every label below K (a larger one is a data
 * error: DL_EFORMAT naming the labels file and the model); a class-subset
 * model (--digits) keeps only its classes' examples, relabelled 0..K-1 in
 * its order, in a new data set that replaces *d (the old one is freed).
 * model, images and labels name the files in messages.  The one place
 * digitlens decides whether data fits a model: every command that reads a
 * labelled set with a model calls it before anything else sees the data. */
dl_status dl_model_fit_data(const dl_model *m, const char *model, const char *images, const char *labels,
                            dl_dataset **d, dl_err *e);

/* The epoch (1-based; 0 = none) whose parameters the model holds: the
 * last finished one, or with early stopping the best one. */
uint32_t dl_model_params_epoch(const dl_model *m);

/* The evaluation accuracy of dl_model_params_epoch, or -1 when there is
 * none. */
double dl_model_last_accuracy(const dl_model *m);

#endif
