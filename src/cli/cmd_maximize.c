/*
 * cmd_maximize.c — `digitlens maximize`: the input that drives one hidden
 * neuron or one output highest (activation maximisation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/explain.h"
#include "digitlens/png.h"
#include "digitlens/viz_explain.h"

int cmd_maximize(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    int neuron = -1, cls = -1, layer = 1, steps = 200, scale = 8, json = 0;
    double l2 = 0.01, blur = 0.0, lr = 0.05, start = 0.0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"neuron", OPT_INT, &neuron, -1, DL_MAX_WIDTH, "N", "maximise this hidden neuron of --layer (required unless --class)", 0},
        {"layer", OPT_INT, &layer, 1, DL_MAX_LAYERS - 2, "L", "with --neuron: its hidden layer", 0},
        {"class", OPT_INT, &cls, -1, 255, "C", "instead of --neuron: maximise the output of digit C (default: use --neuron)", 0},
        {"steps", OPT_INT, &steps, 0, 1000000, "N", "gradient-ascent steps", 0},
        {"lr", OPT_FLOAT, &lr, 1e-6, 10, "R", "step size (Adam; roughly how far a pixel moves per step)", 0},
        {"l2", OPT_FLOAT, &l2, 0, 1e6, "L", "penalty L * sum of squared pixels (keeps the ink to what matters)", 0},
        {"blur", OPT_FLOAT, &blur, 0, 100, "S", "blur with a Gaussian of sigma S pixels after each step (0 = off)", 0},
        {"start", OPT_FLOAT, &start, 0, 1, "V", "start from a uniform picture of this pixel value", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL, "print the result as JSON (numbers and pixels) instead of the summary", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "maximize", "",
        "The input that drives a hidden neuron or an output highest: gradient ascent on the pixels,\n"
        "each kept in [0, 1], of z - L * sum(x^2), where z is the neuron's weighted input (sigmoid,\n"
        "tanh and ReLU are monotone, so this maximises the activation too without its vanishing\n"
        "gradient; of a softmax output, z is the class's logit).  Reports the activation reached.\n"
        "Note: for a first-hidden-layer neuron z = w.x + b is linear in the pixels, so with pixels\n"
        "boxed to [0, 1] the answer is known in advance: full ink where the weight is positive, none\n"
        "where it is negative (the L2 penalty only trims pixels with small weights).  It is the\n"
        "weight map's sign, nothing more.  The method becomes informative for outputs (--class)\n"
        "and deeper layers, where the activations in between make the problem non-linear; try\n"
        "--l2 0.05 --blur 0.5 there for smoother, more digit-like pictures.",
        "  digitlens maximize --model mnist.dlm --class 3 --out max-3.png\n"
        "  digitlens maximize --model mnist.dlm --class 3 --l2 0.05 --blur 0.5 --out max-3-smooth.png\n"
        "  digitlens maximize --model mnist.dlm --neuron 42 --l2 0 --out max-n42.png",
        0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    if ((neuron >= 0) == (cls >= 0)) return cli_fail(EXIT_USAGE, "maximize: give either --neuron N or --class C");

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *c = NULL; dl_font *font = NULL; /* cli_done frees them */
    float *x = NULL;
    dl_trace *t = NULL;
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    const dl_net *n = m->net;
    int unit = neuron;
    if (cls >= 0) {
        layer = n->nlayers - 1;
        if ((code = cli_class_output(m, "maximize", "class", cls, &unit)) != EXIT_OK) goto done;
    } else if ((code = cli_hidden_layer(m, "maximize", layer, " (use --class)")) != EXIT_OK ||
               (code = cli_layer_neuron(m, "maximize", "neuron", NULL, layer, neuron)) != EXIT_OK) {
        goto done;
    }
    int np = n->sizes[0];
    if (!(x = malloc((size_t)np * sizeof(float)))) {
        dl_err_set(&e, DL_ENOMEM, "out of memory");
        goto fail;
    }
    dl_maximize_opts o = dl_maximize_opts_defaults(m->rows, m->cols);
    o.steps = steps;
    o.lr = (float)lr;
    o.l2 = (float)l2;
    o.blur = (float)blur;
    o.start = (float)start;
    dl_maximize_info info;
    if (dl_explain_maximize(n, layer, unit, &o, x, &info, &e) != DL_OK) goto fail;
    if (!(t = dl_trace_new(n, &e))) goto fail;
    const float *y = dl_net_forward(n, x, t);
    int win = dl_argmax(y, m->nclasses);
    double ink = 0.0;
    for (int i = 0; i < np; i++) ink += x[i];

    char what[96], title[256], sub[256];
    if (cls >= 0)
        snprintf(what, sizeof what, "output %d", cls);
    else
        snprintf(what, sizeof what, "layer %d, neuron %d", layer, neuron);
    snprintf(title, sizeof title, "input that maximises %s: activation %.4f", what, (double)info.activation);
    snprintf(sub, sizeof sub, "z = %.2f after %d steps (l2 %g, blur %g); network says %d (%.3f)", (double)info.z,
             steps, l2, blur, m->classes[win], (double)y[win]);
    font = cli_font();
    dl_viz_style st = {font, scale};
    if (!(c = dl_viz_maximize_picture(x, m->rows, m->cols, title, sub, &st, &e)) || dl_png_write(out, c, &e) != DL_OK)
        goto fail;
    if (json) {
        printf("{\"target\":");
        cli_json_string(what);
        printf(",\"layer\":%d,\"unit\":%d,\"activation\":%.6g,\"z\":%.6g,\"start_activation\":%.6g,\"steps\":%d,"
               "\"l2\":%g,\"blur\":%g,\"lr\":%g,\"classified_as\":%d,\"rows\":%d,\"cols\":%d,\"input\":",
               layer, unit, (double)info.activation, (double)info.z, (double)info.start_activation, steps, l2, blur, lr,
               m->classes[win], m->rows, m->cols);
        cli_json_floats(x, np);
        printf("}\n");
        goto done;
    }
    printf("%s: activation %.4f -> %.4f (z = %.3f) after %d steps, l2 %g, blur %g, lr %g\n", what,
           (double)info.start_activation, (double)info.activation, (double)info.z, steps, l2, blur, lr);
    printf("  ink %.1f of %d pixels; the network classifies the result as %d (%.3f)\n", ink, np, m->classes[win],
           (double)y[win]);
    printf("wrote %s\n", out);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_trace_free(t);
    free(x);
    return cli_done(code, m, c, font);
}
