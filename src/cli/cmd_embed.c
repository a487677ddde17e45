/*
 * cmd_embed.c — `digitlens embed`: what the hidden layer does to the data
 * as a whole.  The test images are seen in pixel space and in each hidden
 * layer's activation space; each space is mapped to 2-D (PCA, t-SNE) and
 * measured (1-NN and class-mean accuracy, trustworthiness of every map),
 * then drawn side by side and written out for other tools (embed_files.c).
 *
 * Everything is computed before anything is written, so a bad input or an
 * interrupt leaves the output directory as it was.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "digitlens/embed.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/viz_embed.h"
#include "embed_cli.h"

enum { TRUST_K = 10 };

static volatile sig_atomic_t g_stop; /* set only by the handler */

static void on_signal(int sig)
{
    g_stop = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

static void on_progress(const char *space, const dl_tsne_progress *p, void *v)
{
    (void)v;
    fprintf(stderr, "\r\033[Kt-SNE of %s: iteration %d/%d, KL %.3f, %.1f s", space, p->iteration, p->iterations,
            p->kl, p->seconds);
    if (p->iteration == p->iterations) fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* The pictures: embed.png, and embed.svg from the same layout. */
static dl_status draw(const embed_result *r, const char *dir, const char *png, int glyphs, int panel, dl_err *e)
{
    const dl_embed_map *map = r->map;
    char names[256][8], title[256], svg[4200];
    const char *cn[256];
    for (int k = 0; k < r->m->nclasses; k++) {
        snprintf(names[k], sizeof names[k], "%d", r->m->classes[k]);
        cn[k] = names[k];
    }
    snprintf(title, sizeof title, "%zu images seen through %s: %.2f%% correct, colour = true label", map->n,
             r->model, map->n ? 100.0 * map->correct / map->n : 0.0);
    dl_font *font = cli_font();
    dl_scatter_layout *l = dl_embed_map_layout(map, r->m->nclasses, cn, glyphs ? map->sp[0].X : NULL, r->d->cols,
                                               r->d->rows, title, panel, r->seed, font, e);
    dl_canvas *c = l ? dl_scatter_render(l, font, e) : NULL;
    size_t len = 0;
    char *doc = c ? dl_scatter_svg(l, &len, e) : NULL;
    dl_status st = doc ? dl_png_write(png, c, e) : (e ? e->code : DL_ENOMEM);
    snprintf(svg, sizeof svg, "%s/embed.svg", dir);
    if (st == DL_OK) st = dl_file_write_atomic_free(svg, doc, len, e);
    else free(doc);
    dl_canvas_free(c);
    dl_scatter_layout_free(l);
    dl_font_free(font);
    return st;
}

int cmd_embed(int argc, char **argv)
{
    const char *model = NULL, *dir = "data/mnist", *images = NULL, *labels = NULL, *out = NULL;
    const char *method = "both", *layer_s = "all", *init = "pca";
    int limit = 0, iterations = 1000, seed = 1, glyphs = 0, json = 0, threads = cli_ncores(), panel = 0;
    double perplexity = 30.0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "directory with t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "labelled images to map (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "their labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "directory for embed.png, embed.svg, points.tsv and the projector files (required; created)", 0},
        {"method", OPT_STR, &method, 0, 0, "NAME", "pca, tsne or both", 0},
        {"layer", OPT_STR, &layer_s, 0, 0, "L", "the hidden layer to map besides the pixels (1 = the first), or all", 0},
        {"limit", OPT_INT, &limit, 0, 1000000, "N", "map only the first N images (default: all of them)", 0},
        {"perplexity", OPT_FLOAT, &perplexity, 2, 1000, "P", "t-SNE's perplexity: about how many neighbours each image keeps", 0},
        {"iterations", OPT_INT, &iterations, 1, 100000, "N", "t-SNE's gradient steps (the first 250 exaggerated)", 0},
        {"init", OPT_STR, &init, 0, 0, "NAME", "t-SNE's starting map: pca (the first two components) or random", 0},
        {"seed", OPT_INT, &seed, 0, 2147483647, "S", "seed of a random start and of the order dots are drawn in", 0},
        {"glyphs", OPT_FLAG, &glyphs, 0, 0, NULL, "draw digit thumbnails (as many as fit) instead of dots only", 0},
        {"panel", OPT_INT, &panel, 0, 2000, "PX", "side of each map in the picture, in pixels (default: 440, or 640 with --glyphs)", 0},
        {"threads", OPT_INT, &threads, 1, 64, "N", "worker threads; the results do not depend on it (default: the number of cores here)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL, "print the numbers as one JSON object", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "embed", "",
        "What the hidden layer does to the data: the images mapped to 2-D in pixel space and in\n"
        "each hidden layer's activation space, side by side (PCA and t-SNE), one dot per image\n"
        "coloured by its true label, misclassified images ringed.  Prints how well each space\n"
        "separates the classes (leave-one-out 1-nearest-neighbour and nearest-class-mean accuracy)\n"
        "and how faithful each map is (trustworthiness, k = 10; t-SNE's KL divergence).  Writes\n"
        "DIR/embed.png and DIR/embed.svg (the same picture as vectors), DIR/points.tsv (every\n"
        "map's coordinates), and vectors.tsv, metadata.tsv, sprite.png and projector_config.json\n"
        "for TensorFlow's Embedding Projector.",
        "  digitlens embed --model mnist.dlm --data data/mnist --out embed/\n"
        "  digitlens embed --model mnist.dlm --method pca --limit 2000 --glyphs --out embed-pca/", 0};
    char *pos[1];
    int npos = 0;
    int rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_out_dir(&cmd, "out", out))) return rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    int do_pca = !strcmp(method, "pca") || !strcmp(method, "both"), do_tsne = !strcmp(method, "tsne") || !strcmp(method, "both");
    if (!do_pca && !do_tsne) return cli_fail(EXIT_USAGE, "embed: --method '%s' is not one of pca, tsne, both", method);
    if (strcmp(init, "pca") && strcmp(init, "random"))
        return cli_fail(EXIT_USAGE, "embed: --init '%s' is not one of pca, random", init);
    if (panel == 0) panel = glyphs ? 640 : 440;
    if (panel < 200) return cli_fail(EXIT_USAGE, "embed: --panel %d is too small (200..2000, or 0)", panel);
    int layer = 0; /* 0: all */
    if (strcmp(layer_s, "all")) {
        char *end = NULL;
        long v = strtol(layer_s, &end, 10);
        if (!*layer_s || *end || v < 1 || v > DL_MAX_LAYERS - 2)
            return cli_fail(EXIT_USAGE, "embed: --layer '%s' is not a hidden layer number (1..%d) or all", layer_s,
                            DL_MAX_LAYERS - 2);
        layer = (int)v;
    }

    dl_err e;
    dl_err_clear(&e);
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    embed_result r;
    memset(&r, 0, sizeof r);
    dl_embed_map map;
    memset(&map, 0, sizeof map);
    int code = EXIT_OK;
    char b1[4096], b2[4096], png[4200];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", images, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (layer && (code = cli_hidden_layer(m, "embed", layer, " (leave out --layer to map the pixels alone)")) != EXIT_OK)
        goto done;
    if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
    if (limit > 0 && (size_t)limit < d->n) {
        dl_dataset *s = dl_dataset_slice(d, 0, (size_t)limit, &e);
        if (!s) goto fail;
        dl_dataset_free(d);
        d = s;
    }
    dl_embed_map_opts mo = dl_embed_map_defaults();
    mo.pca = do_pca;
    mo.tsne = do_tsne;
    mo.layer = layer;
    mo.tsne_opts.perplexity = perplexity;
    mo.tsne_opts.iterations = iterations;
    mo.tsne_opts.init = strcmp(init, "random") ? DL_TSNE_INIT_PCA : DL_TSNE_INIT_RANDOM;
    mo.tsne_opts.seed = (uint64_t)seed;
    mo.tsne_opts.stop = &g_stop;
    mo.progress = isatty(STDERR_FILENO) ? on_progress : NULL;
    mo.threads = threads;
    mo.trust_k = TRUST_K;
    size_t need = dl_embed_map_min_points(&mo);
    if (d->n < need) {
        code = do_tsne ? cli_fail(EXIT_USAGE, "embed: %zu images are too few for --perplexity %g (at least %zu needed)",
                                  d->n, perplexity, need)
                       : cli_fail(EXIT_DATA, "embed: %s: %zu images are too few to map (at least %zu needed)", ti, d->n,
                                  need);
        goto done;
    }
    if (dl_mkdir_p(out, &e) != DL_OK) goto fail;

    r.m = m;
    r.d = d;
    r.model = model;
    r.images = ti;
    r.map = &map;
    r.perplexity = perplexity;
    r.iterations = iterations;
    r.seed = (unsigned long long)seed;
    r.init = init;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    dl_status st = dl_embed_map_run(m->net, d, &mo, &map, &e);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (st == DL_EINTR || g_stop) {
        code = cli_fail(EXIT_INTERRUPTED, "embed: interrupted; nothing written to %s", out);
        goto done;
    }
    if (st != DL_OK) goto fail;
    snprintf(png, sizeof png, "%s/embed.png", out);
    if (draw(&r, out, png, glyphs, panel, &e) != DL_OK || embed_write_files(&r, out, &e) != DL_OK) goto fail;
    if (json)
        embed_print_json(&r, png);
    else
        embed_print_text(&r, out, png);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_embed_map_free(&map);
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
