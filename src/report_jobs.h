/*
 * report_jobs.h — what the report's two halves share (private to
 * report.c and report_jobs.c): the context, the jobs that draw the
 * pictures on a pool of threads, and what those jobs learn for the pages.
 */
#ifndef DIGITLENS_REPORT_JOBS_H
#define DIGITLENS_REPORT_JOBS_H

#include <pthread.h>

#include "digitlens/evolve.h"
#include "digitlens/report.h"
#include "digitlens/viz.h"

#include "buf.h"
#include "layer_pass.h"
#include "parallel.h"

typedef enum { JOB_CARD, JOB_MISTAKE, JOB_MAXIMIZE, JOB_TEMPLATES } job_kind;

typedef struct job {
    job_kind kind;
    int layer, index;   /* card: layer and neuron; mistake: gallery slot; maximize: output */
} job;

/* What a card job learned, for the HTML. */
typedef struct neuron_info {
    float mean;              /* mean activation */
    double ablation_drop;    /* accuracy lost without it */
    int best_class;          /* output whose examples drive it most (class_mean), -1 none */
    float best_mean;
    int w, h;                /* its card's pixel size */
} neuron_info;

#define MISTAKE_VOTES 3

typedef struct mistake {
    size_t index;            /* in the test set */
    int truth, pred;         /* output indices */
    float p_pred, p_true;    /* their output activations */
    int w, h;
    /* The last hidden layer's largest votes for the margin z_pred − z_true
     * (contrib.h): neurons that pushed the wrong answer, then the true one. */
    int vote_layer;          /* 0: the network has no hidden layer */
    float margin;            /* z_pred − z_true */
    int nfor, nagainst;
    int for_j[MISTAKE_VOTES], against_j[MISTAKE_VOTES];
    float for_v[MISTAKE_VOTES], against_v[MISTAKE_VOTES];
} mistake;

typedef struct maxinfo {
    float activation, z;
} maxinfo;

typedef struct report_ctx {
    const dl_model *m;
    const dl_report_opts *o;
    const char *dir;
    const dl_layer_pass *st;  /* NULL without a test set */
    dl_viz_style card_style, row_style, gallery_style;
    /* jobs */
    job *jobs;
    int njobs, next;
    int failed;
    dl_err err;
    pthread_mutex_t lock;
    /* results */
    neuron_info *neurons;     /* indexed like the card jobs: Σ hidden sizes */
    dl_neuron_stats *stats;   /* the same, with a test set */
    int hidden_base[DL_MAX_LAYERS];
    mistake *mistakes;
    int nmistakes;
    maxinfo *maxes;
    float *maxmaps;           /* [K x sizes[0]] the maximising inputs */
    int tmpl_w, tmpl_h, max_w, max_h;
    dl_writeq *writers;
    /* the Training section (report_training.c) */
    dl_neuron_health *health; /* [nlayers], entries 1..L-1 filled, with a test set */
    unsigned char *marks;     /* [Σ hidden sizes] MARK_* per neuron, or NULL */
} report_ctx;

enum { MARK_DEAD = 1, MARK_DUP = 2 };

/* "img/neuron-l<L>-<NNN>.png": the card of a neuron, as the pages link it. */
void dl_report_card_name(char *buf, size_t cap, int layer, int neuron);

/* Runs r->jobs on up to `threads` threads, each picture encoded as PNG and
 * queued on r->writers; the first failure stops the rest. */
dl_status dl_report_run_jobs(report_ctx *r, int threads, dl_err *e);

/* The dead and duplicate neurons of every hidden layer on the test set
 * (evolve.h), into r->health and r->marks. */
dl_status dl_report_health(report_ctx *r, dl_err *e);
void dl_report_health_free(report_ctx *r);

/* The Training section of index.html: films and histograms from the
 * snapshots (queued as img/weights.gif, img/weights-delta.gif,
 * img/histograms.svg), dead and duplicate neurons and the pruning curve
 * (img/pruning-l<L>.png), or a note saying how to get them. */
dl_status dl_report_training(dl_buf *b, report_ctx *r, dl_err *e);

/* "What the hidden layer does to the data" (report_embed.c): the first
 * opts.maps test images mapped (PCA, t-SNE), img/embed.png and .svg queued
 * on r->writers, the section appended to b.  Nothing without a test set or
 * with opts.maps 0. */
dl_status dl_report_embed_section(report_ctx *r, dl_buf *b, dl_err *e);

/* The maximising inputs (after their jobs ran) in one row: img/maximize.png. */
dl_status dl_report_maximize_row(report_ctx *r, dl_err *e);

#endif
