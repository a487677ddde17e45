/*
 * embed_cli.h — what `digitlens embed` (cmd_embed.c) hands its file
 * writers (embed_files.c): the map of the data set and its options.
 * Private to src/cli/.
 */
#ifndef DIGITLENS_EMBED_CLI_H
#define DIGITLENS_EMBED_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/dataset.h"
#include "digitlens/embed_net.h"
#include "digitlens/model.h"

/* What the command mapped (embed_net.h) and with which options. */
typedef struct embed_result {
    const dl_model *m;
    const dl_dataset *d;     /* the images mapped (labels are model outputs) */
    const char *model, *images;
    const dl_embed_map *map;
    double perplexity;
    int iterations;
    unsigned long long seed;
    const char *init;
} embed_result;

/* The files for other tools, each written atomically into dir:
 * points.tsv, vectors.tsv (the last mapped hidden layer, else the pixels),
 * metadata.tsv, sprite.png and projector_config.json. */
dl_status embed_write_files(const embed_result *r, const char *dir, dl_err *e);

/* The numbers: one JSON object on stdout, or a table. */
void embed_print_json(const embed_result *r, const char *png);
void embed_print_text(const embed_result *r, const char *dir, const char *png);

#endif
