/*
 * cmd_templates.c — `digitlens templates`: for each output class, what it
 * responds to in input space (the linearised template), and with --data the
 * mean input × gradient over that class's test images.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/viz.h"

static int write_row(const float *maps, int K, const dl_model *m, const char *caption, const char *path,
                     const dl_viz_style *st, dl_err *e)
{
    char names[256][16];
    const char *titles[256];
    for (int k = 0; k < K; k++) {
        snprintf(names[k], sizeof names[k], "%d", m->classes[k]);
        titles[k] = names[k];
    }
    dl_canvas *c = dl_viz_map_row(maps, K, m->cols, m->rows, titles, caption, st, e);
    dl_status s = c ? dl_png_write(path, c, e) : DL_ENOMEM;
    dl_canvas_free(c);
    return s == DL_OK ? EXIT_OK : cli_fail_err(e);
}

int cmd_templates(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *dir = NULL, *images = NULL, *labels = NULL;
    int scale = 4;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "directory for the PNGs (required; created if missing)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "also average input × gradient over this directory's test set (default: no average)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "labelled images for the average (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "their labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each pixel to KxK", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "templates", "",
        "For each output class, what it responds to in input space: the linearised template\n"
        "Σⱼ W2[c,j]·W1[j,:] (templates.png), and with --data the mean input × gradient of\n"
        "output c over the test images of class c (saliency.png).",
        "  digitlens templates --model mnist.dlm --out templates/ --data data/mnist", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_data_pair(&cmd, opts, "images", "labels"))) return rc;
    if ((rc = cli_out_dir(&cmd, "out", out))) return rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;

    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    dl_font *font = NULL;
    float *maps = NULL, *x = NULL, *g = NULL;
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    int K = m->nclasses, np = m->net->sizes[0];
    maps = calloc((size_t)K * np, sizeof(float));
    x = malloc((size_t)np * sizeof(float));
    g = malloc((size_t)np * sizeof(float));
    if (!maps || !x || !g) {
        dl_err_set(&e, DL_ENOMEM, "out of memory");
        goto fail;
    }
    if (dl_mkdir_p(out, &e) != DL_OK) goto fail;
    font = cli_font();
    dl_viz_style st = {font, scale};
    for (int k = 0; k < K; k++)
        if (dl_viz_template_map(m->net, k, maps + (size_t)k * np, &e) != DL_OK) goto fail;
    char path[4096];
    cli_path(path, sizeof path, out, "templates.png");
    const char *what = dl_net_all_sigmoid(m->net) ? "linearised template of each output (sigmoids ignored)"
                                                  : "linearised template of each output (activations ignored)";
    if ((code = write_row(maps, K, m, what, path, &st, &e)))
        goto done;
    printf("wrote %s\n", path);
    if (dir || images) {
        char b1[4096], b2[4096];
        const char *ti = cli_data_file(dir ? dir : "data/mnist", "t10k-images-idx3-ubyte", images, b1, sizeof b1);
        const char *tl = cli_data_file(dir ? dir : "data/mnist", "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
        if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
        memset(maps, 0, (size_t)K * np * sizeof(float));
        size_t count[256] = {0};
        for (size_t i = 0; i < d->n; i++) {
            int k = d->labels[i];
            dl_dataset_image(d, i, x);
            if (dl_viz_input_x_gradient(m->net, k, x, g, &e) != DL_OK) goto fail;
            for (int p = 0; p < np; p++) maps[(size_t)k * np + p] += g[p];
            count[k]++;
        }
        for (int k = 0; k < K; k++)
            for (int p = 0; p < np && count[k]; p++) maps[(size_t)k * np + p] /= (float)count[k];
        cli_path(path, sizeof path, out, "saliency.png");
        if ((code = write_row(maps, K, m, "mean input × gradient of each output over its test images", path, &st, &e)))
            goto done;
        printf("wrote %s (%zu image%s)\n", path, d->n, cli_s((long long)d->n));
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    free(maps);
    free(x);
    free(g);
    dl_font_free(font);
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
