/*
 * explore.h — the explorer: one self-contained HTML page where a learner
 * draws a digit and watches the network think, live, offline.
 *
 *   DIR/explore.html   the page: a drawing pad, the 28 x 28 the network
 *                      sees, every hidden layer as a grid, the outputs as
 *                      bars, the hidden votes and input x gradient of the
 *                      winning (or clicked) output, a neuron inspector
 *                      with a lesion switch, embedded test digits
 *
 * The page is plain HTML, CSS and JavaScript written by digitlens
 * (src/explore_*.js, compiled into the library as text): no framework, no
 * build step, nothing fetched from the network, so it opens from file://
 * in any current browser.  The model's parameters are embedded as
 * little-endian float32 in base64 (net.h's layout: W[0], b[0], W[1], ...),
 * and the page's forward pass adds the same floats in the same order as
 * dl_net_forward_from (in float32, through Math.fround), so its outputs
 * agree with `digitlens classify` to float rounding.  The page's drawing
 * preprocessing is digit.h's MNIST recipe for a clean (noise-free)
 * drawing: crop to the ink, longer side to 20 px by area averaging,
 * centre of mass to the centre; its pixels are then stored as bytes
 * (k / 255), as MNIST's are.
 *
 * Test digits: with a test set, up to samples images are embedded as
 * bytes with their labels, test-set indices and the network's answers:
 * the misclassified ones first (up to half of samples, in test-set
 * order), then correctly classified ones in test-set order.
 *
 * Knows nothing of the command line; never prints.  The page is written
 * atomically (fileio).
 */
#ifndef DIGITLENS_EXPLORE_H
#define DIGITLENS_EXPLORE_H

#include <stddef.h>

#include "digitlens/dataset.h"
#include "digitlens/err.h"
#include "digitlens/model.h"

#define DL_EXPLORE_MAX_SAMPLES 10000
#define DL_EXPLORE_FILE "explore.html"

/* How a report and the explorer in one folder find each other, whichever
 * is written first: the report's navigation holds DL_EXPLORE_LINK when
 * explore.html is already there, else the DL_EXPLORE_SLOT comment, which
 * dl_explore_write replaces by the link. */
#define DL_EXPLORE_LINK "<a href=\"" DL_EXPLORE_FILE "\">draw a digit (explorer)</a>"
#define DL_EXPLORE_SLOT "<!--digitlens:explorer-link-->"
#define DL_EXPLORE_REPORT "index.html"

typedef struct dl_explore_opts {
    const char *title;        /* the page's heading; NULL: "digitlens explorer" */
    const dl_dataset *test;   /* labelled test images, labels = output indices (dl_model_fit_data); may be NULL */
    int samples;              /* test images to embed (0..DL_EXPLORE_MAX_SAMPLES) */
    int link_report;          /* dl_explore_page: 1 links to index.html beside the page (a report) */
} dl_explore_opts;

/* title NULL, no test set, 100 samples, no report link. */
dl_explore_opts dl_explore_opts_defaults(void);

typedef struct dl_explore_summary {
    size_t bytes;             /* the page's size */
    int samples;              /* test images embedded */
    int misclassified;        /* of which the network gets wrong */
    int report;               /* dl_explore_write: 1 when a report beside the page is linked both ways */
} dl_explore_summary;

/* The page for m as a new NUL-terminated string (*html, *len; the caller
 * frees it).  DL_EINVAL for a network the page cannot show (no hidden
 * layer, an input that is not rows x cols, more than 256 outputs) or bad
 * options; DL_ENOMEM. */
dl_status dl_explore_page(const dl_model *m, const dl_explore_opts *o, char **html, size_t *len,
                          dl_explore_summary *sum, dl_err *e);

/* dl_explore_page written atomically to dir/explore.html (dir is created
 * when missing).  When dir holds a report (index.html with the
 * DL_EXPLORE_SLOT), the page links to it and the report gets its link to
 * the page (rewritten atomically; o->link_report is then ignored).  sum
 * may be NULL. */
dl_status dl_explore_write(const dl_model *m, const char *dir, const dl_explore_opts *o,
                           dl_explore_summary *sum, dl_err *e);

#endif
