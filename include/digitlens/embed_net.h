/*
 * embed_net.h — a labelled data set seen through a network, whole: the
 * images as points in pixel space and in each hidden layer's activation
 * space, each space mapped to 2-D (PCA, t-SNE) and measured (leave-one-out
 * 1-NN and nearest-class-mean accuracy, the trustworthiness of every map).
 *
 * The one place that turns a network and its data into embed.h's plain
 * matrices: `digitlens embed` and the report's "What the hidden layer does
 * to the data" both call dl_embed_map_run, so they cannot disagree.  One
 * forward pass per image (dl_net_forward).  Knows nothing of drawing, files
 * or the command line (viz_embed.h draws a dl_embed_map).
 */
#ifndef DIGITLENS_EMBED_NET_H
#define DIGITLENS_EMBED_NET_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/dataset.h"
#include "digitlens/embed.h"
#include "digitlens/err.h"
#include "digitlens/net.h"

#define DL_EMBED_MAX_SPACES 8 /* the pixels and up to 7 hidden layers */

/* One space the images are seen in, and its maps. */
typedef struct dl_embed_space {
    char name[16];         /* "pixels", "hidden1", ...: file column names use it */
    char label[64];        /* "pixels (784 dims)", "hidden layer 1 (100 units)" */
    int layer;             /* 0: the pixels, else the hidden layer */
    int d;
    float *X;              /* [n x d] the points */
    double nn_accuracy;    /* leave-one-out 1-NN */
    double mean_accuracy;  /* leave-one-out nearest class mean */
    float *pca;            /* [n x 2] or NULL */
    double var[2];         /* fraction of the variance along PC1, PC2 */
    double pca_trust, pca_seconds;
    float *tsne;           /* [n x 2] or NULL */
    double kl, tsne_trust, tsne_seconds; /* t-SNE's seconds include the neighbour search */
} dl_embed_space;

typedef struct dl_embed_map {
    size_t n;
    int nspaces;
    dl_embed_space sp[DL_EMBED_MAX_SPACES];
    const uint8_t *labels;  /* [n] borrowed from the data set: output indices */
    uint8_t *pred;          /* [n] the network's answer (argmax of its output) */
    size_t correct;
    int pca, tsne;          /* which methods ran */
    int trust_k;
} dl_embed_map;

typedef struct dl_embed_map_opts {
    int pca, tsne;          /* the methods: at least one */
    int layer;              /* 0: every hidden layer; L: hidden layer L only (1 = the first) */
    dl_tsne_opts tsne_opts; /* perplexity, iterations, init, seed, threads, stop; its
                               progress/ctx are replaced by the two below */
    void (*progress)(const char *space, const dl_tsne_progress *p, void *ctx); /* may be NULL */
    void *ctx;
    int threads;            /* 1..64; the results do not depend on it */
    int trust_k;            /* trustworthiness's k: 10 */
} dl_embed_map_opts;

/* Both methods, every hidden layer, dl_tsne_defaults(), 1 thread, k 10. */
dl_embed_map_opts dl_embed_map_defaults(void);

/* The points needed: 3·perplexity + 1 for t-SNE, 2·trust_k + 1 always. */
size_t dl_embed_map_min_points(const dl_embed_map_opts *o);

/* Maps the data set d (labels = output indices, as dl_model_fit_data leaves
 * them; nclasses = the network's outputs) through net.  On failure (or an
 * interrupt through tsne_opts.stop: DL_EINTR) *out is left empty.  Free
 * with dl_embed_map_free. */
dl_status dl_embed_map_run(const dl_net *net, const dl_dataset *d, const dl_embed_map_opts *o, dl_embed_map *out,
                           dl_err *e);
void dl_embed_map_free(dl_embed_map *m);

#endif
