/*
 * cmd_activations.c — `digitlens activations`: the hidden layer's outputs
 * for one input as a grid, beside the input and the output bar chart.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "digitlens/png.h"
#include "digitlens/viz.h"

int cmd_activations(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *out = NULL;
    int index = 0, scale = 8;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "take the input from this IDX file (default: the IMAGE given)", 0},
        {"index", OPT_INT, &index, 0, 10000000, "N", "which image of --images", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each input pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required)", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "activations", "[IMAGE]",
        "Show the first hidden layer's outputs for one input as a grid (10x10 for 100 neurons),\n"
        "next to the input and the network's outputs.",
        "  digitlens activations --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --out a.png", 1};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    if ((npos == 1) == (images != NULL))
        return cli_fail(EXIT_USAGE, "activations: give either an IMAGE file or --images FILE --index N");

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *c = NULL; dl_font *font = NULL; /* cli_done frees them */
    float *x = NULL;
    int code = EXIT_OK;
    char desc[4200];
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (cli_load_input(m, npos ? pos[0] : NULL, images, index, &x, desc, sizeof desc, &e) != DL_OK) goto fail;
    font = cli_font();
    dl_viz_style st = {font, scale};
    c = dl_viz_activation_picture(m, x, &st, &e);
    if (!c || dl_png_write(out, c, &e) != DL_OK) goto fail;
    printf("wrote %s\n", out);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    free(x);
    return cli_done(code, m, c, font);
}
