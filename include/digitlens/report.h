/*
 * report.h — the HTML report: one self-contained folder a user opens in a
 * browser to see what a trained network learned.
 *
 *   DIR/index.html     model summary, training history (inline SVG),
 *                      confusion matrix (table heatmap), every hidden
 *                      neuron's weight map (each a link to its card),
 *                      class templates, maximising inputs per class,
 *                      the test images mapped to 2-D in pixel and hidden-
 *                      layer space (PCA, t-SNE) with separability numbers,
 *                      misclassified test images with their attributions
 *                      and a Training section: films of the weights and
 *                      histograms over time (with snapshots), dead and
 *                      duplicate neurons (marked on the grid) and the
 *                      pruning curve (with a test set)
 *   DIR/neurons.html   one card per hidden neuron (anchor #l<L>n<J>)
 *   DIR/img/...        the PNGs both pages show
 *
 * No scripts, fonts or anything else from the network: plain HTML and CSS,
 * PNGs and inline SVG, so the folder can be zipped, mailed and opened
 * offline.  Every file is written atomically (fileio, png).
 *
 * The pictures come from viz.h and viz_explain.h.  Neuron cards need each
 * hidden neuron's statistics over the test set; computing them one neuron
 * at a time (dl_neuron_stats_compute) costs two passes over the data per
 * neuron, so the report reads them all off one stored pass (explain.h's
 * dl_neuron_stats_layer, same definitions).  Work is spread over
 * opts.threads threads; nothing is global.  Knows nothing of the command
 * line.
 */
#ifndef DIGITLENS_REPORT_H
#define DIGITLENS_REPORT_H

#include <stddef.h>

#include "digitlens/canvas.h"
#include "digitlens/err.h"
#include "digitlens/explain.h"
#include "digitlens/dataset.h"
#include "digitlens/model.h"
#include "digitlens/snapshot.h"

typedef struct dl_report_opts {
    const char *title;        /* shown on top (e.g. the model's file name); NULL: "digitlens report" */
    const dl_dataset *test;   /* labelled test set, labels = output indices (dl_model_fit_data);
                                 NULL: a report of the model alone (no confusion matrix, gallery or
                                 statistics; the neuron links lead to weight pictures) */
    const dl_font *font;      /* labels in the PNGs; NULL: the built-in pixel font */
    int threads;              /* >= 1 */
    int misclassified;        /* gallery size: the first N misclassified test images (0..1000) */
    int top_k;                /* examples per end on each neuron card (1..64) */
    dl_attr_method method;    /* the gallery's attribution method */
    int per_map_scale;        /* 1: each of a mistake's two maps on its own colour scale; 0: one shared */
    const dl_snapshots *snapshots; /* the model's snapshots (evolve.h's dl_snapshots_of), or NULL:
                                 the Training section then shows no films or histograms */
    size_t maps;              /* test images mapped in "What the hidden layer does to the data"
                                 (PCA and t-SNE, embed_net.h); 0 leaves the section out */
} dl_report_opts;

/* title NULL, no test set, no font, 1 thread, 24 misclassified, top 8,
 * integrated gradients, the two maps of a mistake on one scale, no
 * snapshots, 2000 images mapped. */
dl_report_opts dl_report_opts_defaults(void);

typedef struct dl_report_summary {
    int files;                /* files written */
    size_t bytes;             /* their total size */
    int cards;                /* neuron cards */
    int gallery;              /* misclassified images shown */
    size_t test_n;            /* test images evaluated (0 without a test set) */
    double accuracy;          /* on the test set; -1 without one */
    size_t stats_n;           /* images the neuron statistics looked at */
} dl_report_summary;

/* Writes the report for m into dir (created when missing).  sum may be
 * NULL.  On failure some files may already have been written (each one
 * whole); the message names what failed. */
dl_status dl_report_write(const dl_model *m, const char *dir, const dl_report_opts *o,
                          dl_report_summary *sum, dl_err *e);

#endif
