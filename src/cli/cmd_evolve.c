/*
 * cmd_evolve.c — `digitlens evolve`: films and plots of how a model
 * learned, from the snapshots `train --snapshot-every` wrote beside it:
 * weights.gif, weights-delta.gif, filmstrip.png, histograms.png and .svg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/evolve.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"

/* The first n images of the test set, fitted to the model (NULL: none found). */
static dl_status eval_subset(const dl_model *m, const char *model, const char *dir, size_t n, dl_dataset **out,
                             dl_err *e)
{
    *out = NULL;
    char b1[4096], b2[4096];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", NULL, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", NULL, b2, sizeof b2);
    dl_dataset *d = NULL;
    if (dl_idx_load(ti, tl, &d, e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, e) != DL_OK) {
        dl_dataset_free(d);
        return e->code;
    }
    if (n && n < d->n) {
        dl_dataset *s = dl_dataset_slice(d, 0, n, e);
        dl_dataset_free(d);
        if (!s) return e->code;
        d = s;
    }
    *out = d;
    return DL_OK;
}

int cmd_evolve(int argc, char **argv)
{
    const char *model = NULL, *snaps = NULL, *out = NULL, *neurons_s = NULL, *dir = "data/mnist";
    int layer = 1, fps = 8, frames = 120, scale = 8, rows = 12, strip = 6, no_data = 0, eframes = 24;
    int threads = cli_ncores();
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the trained model (required)", 0},
        {"snapshots", OPT_STR, &snaps, 0, 0, "FILE", "its snapshots (default: MODEL.snapshots beside it)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "directory for the films and plots (required; created)", 0},
        {"layer", OPT_INT, &layer, 1, DL_MAX_LAYERS - 1, "L", "layer whose incoming weights the films show", 0},
        {"neurons", OPT_LIST, &neurons_s, 0, 0, "N,N,...", "show these neurons large instead of the whole layer (default: the whole layer)", 0},
        {"fps", OPT_INT, &fps, 1, 50, "N", "frames per second of the GIFs", 0},
        {"frames", OPT_INT, &frames, 2, 2000, "N", "at most this many frames, evenly spread over the run", 0},
        {"scale", OPT_INT, &scale, 1, 32, "K", "pixels per weight of a neuron drawn large (--neurons)", 0},
        {"rows", OPT_INT, &rows, 2, 64, "N", "snapshots in the histograms' ridge plot", 0},
        {"strip", OPT_INT, &strip, 2, 16, "N", "frames in filmstrip.png", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "test set for the activation histograms (its first images, as many as training scored)", 0},
        {"embedding-frames", OPT_INT, &eframes, 0, 500, "N", "frames of embedding.gif, the t-SNE map of hidden layer 1 over training (0: none)", 0},
        {"threads", OPT_INT, &threads, 1, 64, "N", "threads for the t-SNE maps (default: the number of cores here)", 0},
        {"no-data", OPT_FLAG, &no_data, 0, 0, NULL, "plot the weights only, without activations", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "evolve", "",
        "Films and plots of how a model learned, from the snapshots 'train --snapshot-every'\n"
        "wrote beside it: weights.gif (the layer's weights over training, one colour scale for\n"
        "the whole film), weights-delta.gif (trained minus initial), filmstrip.png (a few\n"
        "frames side by side), histograms.png and histograms.svg (per layer over time: the\n"
        "weights, the activations on the evaluation subset, and the saturated fraction, sigma' < 0.01),\n"
        "and with data embedding.gif (the t-SNE map of hidden layer 1 on the evaluation subset, each\n"
        "frame started from the one before, so points move smoothly).",
        "  digitlens train --snapshot-every 100 --epochs 5 --out mnist.dlm\n"
        "  digitlens evolve --model mnist.dlm --out films/\n"
        "  digitlens evolve --model mnist.dlm --out films/ --neurons 3,42 --fps 12", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!model || !out) return cli_fail(EXIT_USAGE, "evolve: --model FILE and --out DIR are required");
    int neurons[64], nn = 0;
    if (neurons_s && cli_parse_int_list("neurons", neurons_s, neurons, 64, &nn, 0, DL_MAX_WIDTH)) return EXIT_USAGE;

    dl_err e = {0};
    dl_model *m = NULL;
    dl_snapshots *s = NULL;
    dl_dataset *eval = NULL;
    dl_font *font = NULL;
    dl_canvas *c = NULL;
    dl_film film;
    memset(&film, 0, sizeof film);
    dl_histograms h;
    memset(&h, 0, sizeof h);
    size_t *idx = NULL;
    int code = EXIT_OK;
    char spath[4096];
    if (!snaps) {
        if (dl_snapshot_path(model, spath, sizeof spath, &e) != DL_OK) goto fail;
        snaps = spath;
    }
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (!dl_file_exists(snaps)) {
        code = cli_fail(EXIT_DATA, "%s: no snapshots (train with --snapshot-every K to record them, e.g. "
                        "--snapshot-every 100)", snaps);
        goto done;
    }
    if (dl_snapshots_load(snaps, &s, &e) != DL_OK) goto fail;
    if (!dl_snapshots_of(s, m)) {
        code = cli_fail(EXIT_DATA, "%s: the snapshots are of another training run than %s (other layers, seed "
                        "or data)", snaps, model);
        goto done;
    }
    /* The snapshots are of m (same layer sizes), so m's layers are theirs. */
    if ((code = cli_weight_layer(m, "evolve", layer)) != EXIT_OK) goto done;
    for (int k = 0; k < nn; k++)
        if ((code = cli_layer_neuron(m, "evolve", "neurons", nn > 1 ? neurons_s : NULL, layer, neurons[k])) != EXIT_OK) goto done;
    if (s->torn)
        fprintf(stderr, "digitlens: note: %s ends in a torn snapshot (training was cut off while writing it); "
                "using the %zu complete ones\n", snaps, s->count);
    if (!no_data && eval_subset(m, model, dir, s->h.eval_n, &eval, &e) != DL_OK) {
        /* The weights need no data: say what is missing and carry on. */
        fprintf(stderr, "digitlens: note: no activation histograms (%s; --no-data silences this)\n", e.msg);
        eval = NULL;
    }
    if (dl_mkdir_p(out, &e) != DL_OK) goto fail;
    font = cli_font();
    idx = malloc((s->count + (size_t)frames + 16) * sizeof *idx);
    if (!idx) {
        dl_err_set(&e, DL_ENOMEM, "out of memory");
        goto fail;
    }
    dl_film_opts fo = {layer, 0, nn ? neurons : NULL, nn, scale, font};
    size_t nf = dl_film_pick(s, (size_t)frames, idx);
    char path[4200];
    for (int delta = 0; delta < 2; delta++) {
        fo.delta = delta;
        if (dl_film_init(&film, s, &fo, idx, nf, &e) != DL_OK) goto fail;
        snprintf(path, sizeof path, "%s/%s", out, delta ? "weights-delta.gif" : "weights.gif");
        unsigned char *gif = NULL;
        size_t glen = 0;
        if (dl_film_gif(&film, fps, &gif, &glen, &e) != DL_OK || dl_file_write_atomic_free(path, gif, glen, &e) != DL_OK)
            goto fail;
        printf("wrote %s: %zu frames of %zu snapshots, colour scale ±%.3g\n", path, nf, s->count, (double)film.limit);
        dl_film_free(&film);
    }
    fo.delta = 0;
    size_t ns = dl_film_pick(s, (size_t)strip, idx);
    if (!(c = dl_film_strip(s, &fo, idx, ns, &e))) goto fail;
    snprintf(path, sizeof path, "%s/filmstrip.png", out);
    if (dl_png_write(path, c, &e) != DL_OK) goto fail;
    printf("wrote %s: %zu frames\n", path, ns);
    dl_canvas_free(c);
    c = NULL;

    size_t nr = dl_film_pick(s, (size_t)rows, idx);
    if (dl_histograms_compute(s, idx, nr, eval, 64, &h, &e) != DL_OK) goto fail;
    if (!(c = dl_histograms_picture(&h, font, &e))) goto fail;
    snprintf(path, sizeof path, "%s/histograms.png", out);
    if (dl_png_write(path, c, &e) != DL_OK) goto fail;
    size_t len = 0;
    char *svg = dl_histograms_svg(&h, &len, &e);
    snprintf(path, sizeof path, "%s/histograms.svg", out);
    if (!svg || dl_file_write_atomic_free(path, svg, len, &e) != DL_OK) goto fail;
    printf("wrote %s/histograms.png and .svg: %zu snapshots", out, nr);
    if (h.has_act) {
        printf("; hidden units saturated (sigma' < 0.01) on %zu images: %.1f%% at the start, %.1f%% at the end",
               h.nexamples, 100.0 * h.saturated[0], 100.0 * h.saturated[nr - 1]);
    }
    printf("\n");
    if (eval && eframes > 0 && s->h.nlayers > 2) {
        if (eval->n < 100) {
            fprintf(stderr, "digitlens: note: no embedding.gif (the evaluation subset has %zu images; t-SNE needs 100)\n",
                    eval->n);
            goto done;
        }
        const char *names[256];
        char nbuf[256][4];
        for (int k = 0; k < m->nclasses; k++) {
            snprintf(nbuf[k], sizeof nbuf[k], "%d", m->classes[k]);
            names[k] = nbuf[k];
        }
        dl_embed_film_opts eo = dl_embed_film_defaults();
        eo.threads = threads;
        eo.font = font;
        eo.class_names = names;
        size_t ne = dl_film_pick(s, (size_t)eframes, idx);
        unsigned char *gif = NULL;
        size_t glen = 0;
        snprintf(path, sizeof path, "%s/embedding.gif", out);
        if (dl_embed_film(s, idx, ne, eval, &eo, fps, &gif, &glen, &e) != DL_OK ||
            dl_file_write_atomic_free(path, gif, glen, &e) != DL_OK)
            goto fail;
        printf("wrote %s: %zu frames, t-SNE of hidden layer 1 on %zu test images\n", path, ne, eval->n);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_film_free(&film);
    dl_histograms_free(&h);
    free(idx);
    dl_snapshots_free(s);
    dl_dataset_free(eval);
    return cli_done(code, m, c, font);
}
