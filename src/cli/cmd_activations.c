/*
 * cmd_activations.c — `digitlens activations`: the hidden layer's outputs
 * for one input as a grid, beside the input and the output bar chart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/contrib.h"
#include "digitlens/png.h"
#include "digitlens/viz.h"

int cmd_activations(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *out = NULL, *shade = "activation";
    int index = 0, scale = 8;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "take the input from this IDX file (default: the IMAGE given)", 0},
        {"index", OPT_INT, &index, 0, 10000000, "N", "which image of --images", 0},
        {"shade", OPT_STR, &shade, 0, 0, "WHAT",
         "colour the grid's cells by activation, or by votes: each neuron's vote W2[C,j]*a_j for the predicted "
         "digit C (deeper networks: its conductance)", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each input pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required)", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "activations", "[IMAGE]",
        "Show the first hidden layer's outputs for one input as a grid (10x10 for 100 neurons,\n"
        "row-major with each neuron's index written in: the layout has no spatial meaning), next\n"
        "to the input and the network's outputs.  --shade votes colours each cell by the neuron's\n"
        "vote for the predicted digit instead (red for, blue against; see 'digitlens contributions').",
        "  digitlens activations --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --out a.png\n"
        "  digitlens activations --model mnist.dlm my-three.png --shade votes --out votes.png", 1};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    if ((npos == 1) == (images != NULL))
        return cli_fail(EXIT_USAGE, "activations: give either an IMAGE file or --images FILE --index N");
    int votes = strcmp(shade, "votes") == 0;
    if (!votes && strcmp(shade, "activation") != 0)
        return cli_fail(EXIT_USAGE, "activations: --shade '%s' is not one of activation, votes", shade);

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *c = NULL; dl_font *font = NULL; /* cli_done frees them */
    float *x = NULL;
    dl_contrib *v = NULL;
    int code = EXIT_OK;
    char desc[4200];
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (cli_load_input(m, npos ? pos[0] : NULL, images, index, &x, desc, sizeof desc, &e) != DL_OK) goto fail;
    font = cli_font();
    dl_viz_style st = {font, scale};
    char title[160], label[160];
    if (votes) {
        /* The predicted digit's votes: exact for one hidden layer; deeper,
         * layer 1 reaches the output through more sigmoids: conductance. */
        dl_contrib_opts co = {-1, m->net->nlayers > 3 ? 256 : 0, NULL};
        const dl_net *n = m->net;
        if (n->nlayers < 3) {
            code = cli_fail(EXIT_USAGE, "activations: --shade votes needs a hidden layer (%s has none)", model);
            goto done;
        }
        int pred = cli_predict(m, x, &e), digit;
        if (pred < 0) goto fail;
        digit = m->classes[pred];
        if (!(v = dl_contrib_compute(n, pred, x, &co, &e))) goto fail;
        if (n->nlayers == 3) {
            snprintf(title, sizeof title, "layer 1: votes W2[%d,j]·a_j for %d", digit, digit);
            snprintf(label, sizeof label, "vote for %d (red for, blue against)", digit);
        } else {
            snprintf(title, sizeof title, "layer 1: conductance for %d", digit);
            snprintf(label, sizeof label, "conductance of z%d (%d steps from black)", digit, co.steps);
        }
        c = dl_viz_activation_picture_shaded(m, x, n->nlayers == 3 ? v->vote : v->conductance[1], title, label, &st, &e);
    } else {
        c = dl_viz_activation_picture(m, x, &st, &e);
    }
    if (!c || dl_png_write(out, c, &e) != DL_OK) goto fail;
    if (v)
        printf("cells coloured by each layer-1 neuron's %s for the predicted digit %d; wrote %s\n",
               m->net->nlayers == 3 ? "vote" : "conductance", m->classes[v->out], out);
    else
        printf("wrote %s\n", out);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_contrib_free(v);
    free(x);
    return cli_done(code, m, c, font);
}
