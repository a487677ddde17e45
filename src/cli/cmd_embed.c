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

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile sig_atomic_t g_stop; /* set only by the handler */

static void on_signal(int sig)
{
    g_stop = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

typedef struct progress_ctx {
    int tty;
    const char *what;
} progress_ctx;

static void on_progress(const dl_tsne_progress *p, void *v)
{
    const progress_ctx *c = v;
    if (!c->tty) return;
    fprintf(stderr, "\r\033[Kt-SNE of %s: iteration %d/%d, KL %.3f, %.1f s", c->what, p->iteration, p->iterations,
            p->kl, p->seconds);
    if (p->iteration == p->iterations) fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* The activations of every hidden layer and the predictions, one forward
 * pass per image (dl_net_forward, the network's one forward pass). */
static dl_status forward_all(embed_result *r, const int *layers, int nl, dl_err *e)
{
    const dl_net *net = r->m->net;
    size_t n = r->n;
    dl_trace *t = dl_trace_new(net, e);
    if (!t) return e ? e->code : DL_ENOMEM;
    float *x = r->sp[0].X;
    int L = net->nlayers;
    for (size_t i = 0; i < n; i++) {
        const float *out = dl_net_forward(net, x + i * (size_t)net->sizes[0], t);
        r->pred[i] = (uint8_t)dl_argmax(out, net->sizes[L - 1]);
        r->correct += r->pred[i] == r->d->labels[i];
        for (int s = 0; s < nl; s++) {
            int l = layers[s], d = net->sizes[l];
            memcpy(r->sp[s + 1].X + i * (size_t)d, t->a[l], (size_t)d * sizeof(float));
        }
    }
    dl_trace_free(t);
    return DL_OK;
}

/* One space: its maps and numbers. */
static dl_status map_space(embed_result *r, embed_space *sp, const dl_tsne_opts *to, int threads, int quiet_tty,
                           dl_err *e)
{
    size_t n = r->n;
    const uint8_t *lab = r->d->labels;
    dl_status st = dl_embed_class_mean_accuracy(sp->X, n, sp->d, lab, r->m->nclasses, &sp->mean_accuracy, e);
    if (st != DL_OK) return st;
    if (r->pca) {
        double t0 = now();
        sp->pca = malloc(2 * n * sizeof(float));
        dl_pca *p = sp->pca ? dl_pca_fit(sp->X, n, sp->d, sp->d >= 2 ? 2 : 1, threads, e) : NULL;
        if (!p) return sp->pca ? (e ? e->code : DL_ENOMEM) : dl_err_set(e, DL_ENOMEM, "out of memory");
        if (sp->d >= 2) {
            dl_pca_transform(p, sp->X, n, sp->pca);
        } else {
            dl_pca_transform(p, sp->X, n, sp->pca + n);
            for (size_t i = 0; i < n; i++) {
                sp->pca[2 * i] = sp->pca[n + i];
                sp->pca[2 * i + 1] = 0.0f;
            }
        }
        sp->var[0] = dl_pca_explained(p, 0);
        sp->var[1] = p->ncomp > 1 ? dl_pca_explained(p, 1) : 0.0;
        dl_pca_free(p);
        sp->pca_seconds = now() - t0;
    }
    if (r->tsne) {
        /* One neighbour search serves t-SNE and the 1-NN accuracy. */
        int k = (int)(3.0 * to->perplexity);
        uint32_t *idx = malloc(n * (size_t)k * sizeof(uint32_t));
        float *d2 = malloc(n * (size_t)k * sizeof(float));
        dl_tsne_result res;
        memset(&res, 0, sizeof res);
        progress_ctx pc = {quiet_tty, sp->name};
        dl_tsne_opts o = *to;
        o.ctx = &pc;
        double t0 = now();
        if (!idx || !d2)
            st = dl_err_set(e, DL_ENOMEM, "out of memory for the neighbours of %zu images", n);
        else if ((st = dl_embed_knn(sp->X, n, sp->d, k, threads, idx, d2, e)) == DL_OK) {
            sp->nn_accuracy = dl_embed_nn_accuracy_knn(idx, k, lab, n);
            st = dl_tsne_knn(sp->X, n, sp->d, idx, d2, k, &o, &res, e);
        }
        free(idx);
        free(d2);
        if (st != DL_OK) return st;
        sp->tsne = res.Y;
        res.Y = NULL;
        sp->kl = res.kl;
        sp->tsne_seconds = now() - t0; /* neighbours included */
        dl_tsne_result_free(&res);
    } else if ((st = dl_embed_nn_accuracy(sp->X, n, sp->d, lab, threads, &sp->nn_accuracy, e)) != DL_OK) {
        return st;
    }
    const float *maps[2];
    double t[2];
    int nm = 0;
    if (sp->pca) maps[nm++] = sp->pca;
    if (sp->tsne) maps[nm++] = sp->tsne;
    if ((st = dl_embed_trustworthiness(sp->X, n, sp->d, maps, nm, 2, TRUST_K, threads, t, e)) != DL_OK) return st;
    nm = 0;
    if (sp->pca) sp->pca_trust = t[nm++];
    if (sp->tsne) sp->tsne_trust = t[nm++];
    return DL_OK;
}

/* The picture: a column per space, a row per method. */
static dl_status draw(const embed_result *r, const char *path, int glyphs, int panel, dl_err *e)
{
    int rows = (r->pca != 0) + (r->tsne != 0), cols = r->nspaces, P = rows * cols;
    dl_scatter_panel panels[16];
    char titles[16][96], notes[16][160], names[256][8], title[256];
    const char *cn[256];
    uint8_t *wrong = malloc(r->n);
    if (!wrong) return dl_err_set(e, DL_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n; i++) wrong[i] = r->pred[i] != r->d->labels[i];
    for (int k = 0; k < r->m->nclasses; k++) {
        snprintf(names[k], sizeof names[k], "%d", r->m->classes[k]);
        cn[k] = names[k];
    }
    for (int p = 0; p < P; p++) {
        const embed_space *sp = &r->sp[p % cols];
        int tsne = r->tsne && (!r->pca || p >= cols);
        snprintf(titles[p], sizeof titles[p], "%s · %s", tsne ? "t-SNE" : "PCA", sp->label);
        if (tsne)
            snprintf(notes[p], sizeof notes[p], "1-NN %.1f%% · class mean %.1f%% · trustworthiness %.3f · KL %.2f",
                     100 * sp->nn_accuracy, 100 * sp->mean_accuracy, sp->tsne_trust, sp->kl);
        else
            snprintf(notes[p], sizeof notes[p], "1-NN %.1f%% · class mean %.1f%% · trustworthiness %.3f · PC1+2 %.1f%%",
                     100 * sp->nn_accuracy, 100 * sp->mean_accuracy, sp->pca_trust, 100 * (sp->var[0] + sp->var[1]));
        panels[p] = (dl_scatter_panel){tsne ? sp->tsne : sp->pca, titles[p], notes[p]};
    }
    snprintf(title, sizeof title, "%zu images seen through %s: %.2f%% correct, colour = true label", r->n, r->model,
             r->n ? 100.0 * r->correct / r->n : 0.0);
    dl_scatter_spec s = {r->n, r->d->labels, wrong, r->m->nclasses, cn, glyphs ? r->sp[0].X : NULL,
                         r->d->cols, r->d->rows, rows, cols, panels, title, panel, r->seed};
    dl_font *font = cli_font();
    dl_scatter_layout *l = dl_scatter_layout_new(&s, font, e);
    dl_canvas *c = l ? dl_scatter_render(l, font, e) : NULL;
    dl_status st = c ? dl_png_write(path, c, e) : (e ? e->code : DL_ENOMEM);
    dl_canvas_free(c);
    dl_scatter_layout_free(l);
    dl_font_free(font);
    free(wrong);
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
        {"out", OPT_STR, &out, 0, 0, "DIR", "directory for embed.png, points.tsv and the projector files (required; created)", 0},
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
        "DIR/embed.png, DIR/points.tsv (every map's coordinates), and vectors.tsv, metadata.tsv,\n"
        "sprite.png and projector_config.json for TensorFlow's Embedding Projector.",
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
    int code = EXIT_OK;
    char b1[4096], b2[4096], png[4200];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", images, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    int hidden = m->net->nlayers - 2, layers[DL_MAX_LAYERS], nl = 0;
    if (layer > hidden) {
        code = hidden < 1 ? cli_fail(EXIT_USAGE, "embed: %s has no hidden layer (--layer %d)", model, layer)
                          : cli_fail(EXIT_USAGE, "embed: --layer %d is out of range (%s has hidden layers 1..%d)", layer,
                                     model, hidden);
        goto done;
    }
    for (int l = 1; l <= hidden; l++)
        if (!layer || l == layer) layers[nl++] = l;
    if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
    if (limit > 0 && (size_t)limit < d->n) {
        dl_dataset *s = dl_dataset_slice(d, 0, (size_t)limit, &e);
        if (!s) goto fail;
        dl_dataset_free(d);
        d = s;
    }
    size_t need = do_tsne ? (size_t)(3.0 * perplexity) + 1 : 2 * TRUST_K + 1;
    if (need < 2 * TRUST_K + 1) need = 2 * TRUST_K + 1;
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
    r.n = d->n;
    r.pca = do_pca;
    r.tsne = do_tsne;
    r.perplexity = perplexity;
    r.iterations = iterations;
    r.seed = (unsigned long long)seed;
    r.init = init;
    r.trust_k = TRUST_K;
    r.nspaces = 1 + nl;
    r.pred = malloc(r.n);
    for (int s = 0; s < r.nspaces; s++) {
        embed_space *sp = &r.sp[s];
        sp->d = s ? m->net->sizes[layers[s - 1]] : m->net->sizes[0];
        if (s == 0) {
            snprintf(sp->name, sizeof sp->name, "pixels");
            snprintf(sp->label, sizeof sp->label, "pixels (%d dims)", sp->d);
        } else {
            snprintf(sp->name, sizeof sp->name, "hidden%d", layers[s - 1]);
            snprintf(sp->label, sizeof sp->label, "hidden layer %d (%d units)", layers[s - 1], sp->d);
        }
        sp->X = malloc(r.n * (size_t)sp->d * sizeof(float));
        if (!sp->X || !r.pred) {
            dl_err_set(&e, DL_ENOMEM, "out of memory for %zu images", r.n);
            goto fail;
        }
    }
    for (size_t i = 0; i < r.n; i++) dl_dataset_image(d, i, r.sp[0].X + i * d->npix);
    if (forward_all(&r, layers, nl, &e) != DL_OK) goto fail;

    dl_tsne_opts to = dl_tsne_defaults();
    to.perplexity = perplexity;
    to.iterations = iterations;
    to.init = strcmp(init, "random") ? DL_TSNE_INIT_PCA : DL_TSNE_INIT_RANDOM;
    to.seed = (uint64_t)seed;
    to.threads = threads;
    to.progress = on_progress;
    to.stop = &g_stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(STDERR_FILENO);
    dl_status st = DL_OK;
    for (int s = 0; s < r.nspaces && st == DL_OK; s++) st = map_space(&r, &r.sp[s], &to, threads, tty, &e);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (st == DL_EINTR || g_stop) {
        code = cli_fail(EXIT_INTERRUPTED, "embed: interrupted; nothing written to %s", out);
        goto done;
    }
    if (st != DL_OK) goto fail;
    snprintf(png, sizeof png, "%s/embed.png", out);
    if (draw(&r, png, glyphs, panel, &e) != DL_OK || embed_write_files(&r, out, &e) != DL_OK) goto fail;
    if (json)
        embed_print_json(&r, png);
    else
        embed_print_text(&r, out, png);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    for (int s = 0; s < r.nspaces; s++) {
        free(r.sp[s].X);
        free(r.sp[s].pca);
        free(r.sp[s].tsne);
    }
    free(r.pred);
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
