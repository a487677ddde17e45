/*
 * cmd_weights.c — `digitlens weights`: one PNG per neuron of a layer (its
 * incoming weights as a picture) plus grid.png with all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/evolve.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/viz.h"

int cmd_weights(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *order_s = "index", *dir = "data/mnist";
    int layer = 1, neuron = -1, scale = 8, delta = 0, shared = 0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model to draw (required)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "directory for the PNGs (required; created if missing)", 0},
        {"layer", OPT_INT, &layer, 1, DL_MAX_LAYERS - 1, "L", "layer whose incoming weights to draw (1 = first hidden; layer L is network.py's weights[L-1])", 0},
        {"neuron", OPT_INT, &neuron, -1, DL_MAX_WIDTH, "N", "draw only this neuron (default: all, plus grid.png)", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each weight to KxK pixels", 0},
        {"delta", OPT_FLAG, &delta, 0, 0, NULL, "draw trained minus initial weights (what the neuron learned)", 0},
        {"shared-scale", OPT_FLAG, &shared, 0, 0, NULL, "one colour limit for all neurons instead of each its own", 0},
        {"order", OPT_STR, &order_s, 0, 0, "NAME", "grid order: index, or cluster (neurons whose activations on the test set correlate sit together)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "test set for --order cluster (t10k-images/labels-idx*-ubyte[.gz])", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "weights", "", "Draw each neuron's incoming weights as a picture: red positive, white zero, blue negative.",
        "  digitlens weights --model mnist.dlm --out weights/\n"
        "  digitlens weights --model mnist.dlm --out weights/ --delta --neuron 42\n"
        "  digitlens weights --model mnist.dlm --out weights/ --order cluster --data data/mnist", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_out_dir(&cmd, "out", out))) return rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    int cluster = strcmp(order_s, "cluster") == 0;
    if (!cluster && strcmp(order_s, "index") != 0)
        return cli_fail(EXIT_USAGE, "weights: --order '%s' is not known (index, cluster)", order_s);

    dl_err e = {0};
    dl_model *m = NULL;
    dl_canvas *c = NULL;
    dl_font *font = NULL;
    dl_dataset *d = NULL;
    int *order = NULL;
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if ((code = cli_weight_layer(m, "weights", layer)) != EXIT_OK) goto done;
    if (delta && !dl_model_has_init(m)) {
        code = cli_fail(EXIT_DATA, "weights: %s has no initial weights to subtract (an imported model keeps only "
                        "its trained ones); drop --delta", model);
        goto done;
    }
    int count = m->net->sizes[layer];
    if (neuron >= 0 && (code = cli_layer_neuron(m, "weights", "neuron", NULL, layer, neuron)) != EXIT_OK) goto done;
    if (cluster) {
        /* Only --order cluster needs a hidden layer: weights draws the output layer too. */
        int hidden = m->net->nlayers - 2;
        if (layer > hidden) {
            code = hidden < 1 ? cli_fail(EXIT_USAGE, "weights: --order cluster needs a hidden layer (this network has "
                                         "none)")
                              : cli_fail(EXIT_USAGE, "weights: --order cluster needs a hidden layer (--layer %d is the "
                                         "output layer; hidden layers are 1..%d)", layer, hidden);
            goto done;
        }
        char b1[4096], b2[4096];
        const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", NULL, b1, sizeof b1);
        const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", NULL, b2, sizeof b2);
        if (!(order = malloc((size_t)count * sizeof *order))) {
            dl_err_set(&e, DL_ENOMEM, "out of memory");
            goto fail;
        }
        if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK ||
            dl_neuron_cluster_order(m->net, d, layer, order, &e) != DL_OK)
            goto fail;
    }
    if (dl_mkdir_p(out, &e) != DL_OK) goto fail;
    font = cli_font();
    dl_viz_style st = {font, scale};
    float limit = shared ? dl_viz_layer_limit(m, layer, delta) : 0.0f;
    /* Zero-padded to the layer's width so names sort naturally. */
    int digits = count > 999 ? 5 : 3;
    char path[4096];
    for (int j = neuron < 0 ? 0 : neuron; j < (neuron < 0 ? count : neuron + 1); j++) {
        c = dl_viz_weight_picture(m, layer, j, delta, limit, &st, &e);
        if (!c) goto fail;
        cli_path(path, sizeof path, out, "neuron-%0*d.png", digits, j);
        if (dl_png_write(path, c, &e) != DL_OK) goto fail;
        dl_canvas_free(c);
        c = NULL;
    }
    if (neuron < 0) {
        c = dl_viz_weight_grid_ordered(m, layer, delta, shared, order, &st, &e);
        if (!c) goto fail;
        cli_path(path, sizeof path, out, "grid.png");
        if (dl_png_write(path, c, &e) != DL_OK) goto fail;
        printf("wrote %d neuron picture%s and %s\n", count, cli_s(count), path);
        if (order) {
            printf("grid order (clustered by activation):");
            for (int k = 0; k < count; k++) printf(" %d", order[k]);
            printf("\n");
        }
    } else {
        cli_path(path, sizeof path, out, "neuron-%0*d.png", digits, neuron);
        printf("wrote %s\n", path);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    free(order);
    dl_dataset_free(d);
    dl_canvas_free(c);
    dl_font_free(font);
    dl_model_free(m);
    return code;
}
