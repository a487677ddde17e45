/*
 * embed_files.c — what `digitlens embed` writes for other tools and
 * prints (embed_cli.h):
 *   points.tsv            index, label, predicted, then {method}_{space}_x/_y
 *                         of every map (header line; one row per image)
 *   vectors.tsv           TensorFlow Embedding Projector: one row of
 *                         activations per image, tab-separated, no header
 *   metadata.tsv          its labels: "label<TAB>predicted" header, a row per image
 *   sprite.png            the images, 28x28 each, in a square grid
 *   projector_config.json the three tied together for a self-hosted projector
 * Each file is built in memory and written atomically (fileio), so a failed
 * run leaves no half-written file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/viz_embed.h"
#include "embed_cli.h"

/* A text file built with stdio in memory, then written atomically. */
typedef struct memfile {
    char *buf;
    size_t len;
    FILE *f;
} memfile;

static dl_status mem_open(memfile *m, dl_err *e)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f ? DL_OK : dl_err_set(e, DL_ENOMEM, "out of memory");
}

static dl_status mem_commit(memfile *m, const char *dir, const char *name, dl_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fclose(m->f) != 0 || !m->buf) {
        free(m->buf);
        return dl_err_set(e, DL_ENOMEM, "out of memory while writing %s", path);
    }
    dl_status st = dl_file_write_atomic(path, m->buf, m->len, e);
    free(m->buf);
    return st;
}

static int label_of(const embed_result *r, size_t i) { return r->m->classes[r->d->labels[i]]; }
static int pred_of(const embed_result *r, size_t i) { return r->m->classes[r->map->pred[i]]; }

static dl_status write_points(const embed_result *r, const char *dir, dl_err *e)
{
    memfile m;
    if (mem_open(&m, e) != DL_OK) return DL_ENOMEM;
    fputs("index\tlabel\tpredicted", m.f);
    for (int meth = 0; meth < 2; meth++)
        for (int s = 0; s < r->map->nspaces; s++) {
            const dl_embed_space *sp = &r->map->sp[s];
            if (meth == 0 ? sp->pca != NULL : sp->tsne != NULL)
                fprintf(m.f, "\t%s_%s_x\t%s_%s_y", meth ? "tsne" : "pca", sp->name, meth ? "tsne" : "pca", sp->name);
        }
    fputc('\n', m.f);
    for (size_t i = 0; i < r->map->n; i++) {
        fprintf(m.f, "%zu\t%d\t%d", i, label_of(r, i), pred_of(r, i));
        for (int meth = 0; meth < 2; meth++)
            for (int s = 0; s < r->map->nspaces; s++) {
                const float *Y = meth ? r->map->sp[s].tsne : r->map->sp[s].pca;
                if (Y) fprintf(m.f, "\t%.6g\t%.6g", (double)Y[2 * i], (double)Y[2 * i + 1]);
            }
        fputc('\n', m.f);
    }
    return mem_commit(&m, dir, "points.tsv", e);
}

/* The space whose vectors go to the projector: the deepest hidden layer
 * mapped, else the pixels. */
static const dl_embed_space *projector_space(const embed_result *r) { return &r->map->sp[r->map->nspaces - 1]; }

static dl_status write_projector(const embed_result *r, const char *dir, dl_err *e)
{
    const dl_embed_space *sp = projector_space(r);
    memfile m;
    if (mem_open(&m, e) != DL_OK) return DL_ENOMEM;
    for (size_t i = 0; i < r->map->n; i++) {
        const float *x = sp->X + i * (size_t)sp->d;
        for (int c = 0; c < sp->d; c++) fprintf(m.f, c ? "\t%.6g" : "%.6g", (double)x[c]);
        fputc('\n', m.f);
    }
    dl_status st = mem_commit(&m, dir, "vectors.tsv", e);
    if (st != DL_OK || (st = mem_open(&m, e)) != DL_OK) return st;
    fputs("label\tpredicted\n", m.f);
    for (size_t i = 0; i < r->map->n; i++) fprintf(m.f, "%d\t%d\n", label_of(r, i), pred_of(r, i));
    if ((st = mem_commit(&m, dir, "metadata.tsv", e)) != DL_OK) return st;

    int w = r->d->cols, h = r->d->rows, side = dl_sprite_side(r->map->n, w > h ? w : h);
    const dl_embed_space *px = &r->map->sp[0];
    dl_canvas *c = side > 0 ? dl_sprite_new(px->X, r->map->n, w, h, side, e) : NULL;
    if (!c) return side > 0 ? (e ? e->code : DL_ENOMEM) : dl_err_set(e, DL_ELIMIT, "too many images for a sprite");
    char path[4200];
    snprintf(path, sizeof path, "%s/sprite.png", dir);
    st = dl_png_write(path, c, e);
    dl_canvas_free(c);
    if (st != DL_OK || (st = mem_open(&m, e)) != DL_OK) return st;
    fprintf(m.f,
            "{\n  \"embeddings\": [\n    {\n      \"tensorName\": \"digitlens %s\",\n"
            "      \"tensorShape\": [%zu, %d],\n      \"tensorPath\": \"vectors.tsv\",\n"
            "      \"metadataPath\": \"metadata.tsv\",\n"
            "      \"sprite\": {\"imagePath\": \"sprite.png\", \"singleImageDim\": [%d, %d]}\n    }\n  ]\n}\n",
            sp->name, r->map->n, sp->d, side, side);
    return mem_commit(&m, dir, "projector_config.json", e);
}

dl_status embed_write_files(const embed_result *r, const char *dir, dl_err *e)
{
    dl_status st = write_points(r, dir, e);
    return st != DL_OK ? st : write_projector(r, dir, e);
}

/* ---- the numbers ------------------------------------------------------------- */

void embed_print_json(const embed_result *r, const char *png)
{
    printf("{\"model\":");
    cli_json_string(r->model);
    printf(",\"images\":");
    cli_json_string(r->images);
    printf(",\"n\":%zu,\"accuracy\":%.6f,\"trustworthiness_k\":%d", r->map->n, r->map->n ? (double)r->map->correct / r->map->n : 0.0,
           r->map->trust_k);
    if (r->map->tsne)
        printf(",\"tsne_options\":{\"perplexity\":%g,\"iterations\":%d,\"theta\":0.5,\"init\":\"%s\",\"seed\":%llu}",
               r->perplexity, r->iterations, r->init, r->seed);
    printf(",\"spaces\":[");
    for (int s = 0; s < r->map->nspaces; s++) {
        const dl_embed_space *sp = &r->map->sp[s];
        printf("%s{\"name\":\"%s\",\"dims\":%d,\"nn_accuracy\":%.6f,\"class_mean_accuracy\":%.6f", s ? "," : "",
               sp->name, sp->d, sp->nn_accuracy, sp->mean_accuracy);
        if (sp->pca)
            printf(",\"pca\":{\"explained_variance\":[%.6f,%.6f],\"trustworthiness\":%.6f,\"seconds\":%.3f}", sp->var[0],
                   sp->var[1], sp->pca_trust, sp->pca_seconds);
        if (sp->tsne)
            printf(",\"tsne\":{\"kl_divergence\":%.6f,\"trustworthiness\":%.6f,\"seconds\":%.3f}", sp->kl,
                   sp->tsne_trust, sp->tsne_seconds);
        putchar('}');
    }
    printf("],\"picture\":");
    cli_json_string(png);
    printf(",\"files\":[\"embed.png\",\"embed.svg\",\"points.tsv\",\"vectors.tsv\",\"metadata.tsv\",\"sprite.png\",\"projector_config.json\"]}\n");
}

void embed_print_text(const embed_result *r, const char *dir, const char *png)
{
    printf("%zu images of %s through %s: %zu correct (%.2f%%)\n\n", r->map->n, r->images, r->model, r->map->correct,
           r->map->n ? 100.0 * r->map->correct / r->map->n : 0.0);
    printf("%-28s %8s %11s", "space", "1-NN", "class mean");
    if (r->map->pca) printf(" %14s %10s", "PCA variance", "PCA trust");
    if (r->map->tsne) printf(" %11s %8s %8s", "t-SNE trust", "KL", "seconds");
    putchar('\n');
    for (int s = 0; s < r->map->nspaces; s++) {
        const dl_embed_space *sp = &r->map->sp[s];
        printf("%-28s %7.2f%% %10.2f%%", sp->label, 100.0 * sp->nn_accuracy, 100.0 * sp->mean_accuracy);
        if (sp->pca) printf("   %5.1f%%+%4.1f%% %10.3f", 100.0 * sp->var[0], 100.0 * sp->var[1], sp->pca_trust);
        if (sp->tsne) printf(" %11.3f %8.3f %8.1f", sp->tsne_trust, sp->kl, sp->tsne_seconds);
        putchar('\n');
    }
    printf("\n1-NN and class mean: leave-one-out accuracy of the nearest image / nearest class mean in that space;\n"
           "trust: trustworthiness of the 2-D map (k = %d; 1 = no false neighbours); PCA variance: PC1 + PC2.\n",
           r->map->trust_k);
    printf("wrote %s, %s/embed.svg and %s/{points,vectors,metadata}.tsv, sprite.png, projector_config.json\n", png,
           dir, dir);
}
