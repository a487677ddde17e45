/*
 * embed_cli.h — what `digitlens embed` (cmd_embed.c) hands its file
 * writers (embed_files.c): the spaces it mapped and their numbers.
 * Private to src/cli/.
 */
#ifndef DIGITLENS_EMBED_CLI_H
#define DIGITLENS_EMBED_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/dataset.h"
#include "digitlens/model.h"

/* One space the images are seen in: the pixels, or a hidden layer's
 * activations; and its maps. */
typedef struct embed_space {
    char name[16];         /* "pixels", "hidden1", ...: used in file column names */
    char label[64];        /* "pixels (784 dims)", "hidden layer 1 (100 units)" */
    int d;
    float *X;              /* [n x d], owned */
    double nn_accuracy;    /* leave-one-out 1-NN */
    double mean_accuracy;  /* leave-one-out nearest class mean */
    float *pca;            /* [n x 2] or NULL */
    double var[2];         /* fraction of the variance along PC1, PC2 */
    double pca_trust;
    double pca_seconds;
    float *tsne;           /* [n x 2] or NULL */
    double kl, tsne_trust, tsne_seconds;
} embed_space;

typedef struct embed_result {
    const dl_model *m;
    const dl_dataset *d;   /* the images mapped (labels are model outputs) */
    const char *model, *images;
    size_t n;
    int nspaces;
    embed_space sp[8];
    uint8_t *pred;         /* [n] predicted output */
    size_t correct;
    int tsne, pca;         /* which methods ran */
    double perplexity;
    int iterations;
    unsigned long long seed;
    const char *init;
    int trust_k;
} embed_result;

/* The files for other tools, each written atomically into dir:
 * points.tsv, vectors.tsv (the last mapped hidden layer, else the pixels),
 * metadata.tsv, sprite.png and projector_config.json. */
dl_status embed_write_files(const embed_result *r, const char *dir, dl_err *e);

/* The numbers: one JSON object on stdout, or a table. */
void embed_print_json(const embed_result *r, const char *png);
void embed_print_text(const embed_result *r, const char *dir, const char *png);

#endif
