/*
 * cmd_heatmap.c — `digitlens heatmap`: input, a hidden neuron's weights and
 * their element-wise product (each pixel's share of the neuron's z).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "digitlens/png.h"
#include "digitlens/viz.h"

int cmd_heatmap(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *out = NULL;
    int index = 0, neuron = -1, cls = -1, rank = 1, scale = 8;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "take the input from this IDX file (default: the IMAGE given)", 0},
        {"index", OPT_INT, &index, 0, 10000000, "N", "which image of --images", 0},
        {"neuron", OPT_INT, &neuron, -1, DL_MAX_WIDTH, "N", "first-hidden-layer neuron to explain (required unless --class)", 0},
        {"class", OPT_INT, &cls, -1, 255, "C", "instead of --neuron: the neuron with the largest weight into output C (default: use --neuron)", 0},
        {"rank", OPT_INT, &rank, 1, DL_MAX_WIDTH, "K", "with --class: take the K-th largest weight", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required)", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "heatmap", "[IMAGE]",
        "Show what one hidden neuron sees in an input: input, weights, and input × weights\n"
        "(each pixel's contribution to z = Σ wᵢxᵢ + b), with z and σ(z).  With --class C, the\n"
        "neuron with the largest weight into output C, plus input × gradient of output C.",
        "  digitlens heatmap --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --neuron 42 --out h.png\n"
        "  digitlens heatmap --model mnist.dlm my-three.png --class 3 --out h3.png", 1};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    if ((npos == 1) == (images != NULL))
        return cli_fail(EXIT_USAGE, "heatmap: give either an IMAGE file or --images FILE --index N");
    if ((neuron >= 0) == (cls >= 0)) return cli_fail(EXIT_USAGE, "heatmap: give either --neuron N or --class C");

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *c = NULL; dl_font *font = NULL; /* cli_done frees them */
    float *x = NULL;
    int code = EXIT_OK, out_idx = -1;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    int H = m->net->sizes[1];
    if (cls >= 0) {
        if ((code = cli_class_output(m, "heatmap", cls, &out_idx)) != EXIT_OK) goto done;
        if (m->net->nlayers != 3) {
            code = cli_fail(EXIT_USAGE, "heatmap: --class needs a network with one hidden layer (use --neuron)");
            goto done;
        }
        if (rank > H) {
            code = cli_fail(EXIT_USAGE, "heatmap: --rank %d is out of range (1..%d)", rank, H);
            goto done;
        }
        neuron = dl_viz_top_hidden_for_class(m->net, out_idx, rank);
    }
    if (neuron >= H) {
        code = cli_fail(EXIT_USAGE, "heatmap: --neuron %d is out of range (0..%d)", neuron, H - 1);
        goto done;
    }
    char desc[4200];
    if (cli_load_input(m, npos ? pos[0] : NULL, images, index, &x, desc, sizeof desc, &e) != DL_OK) goto fail;
    font = cli_font();
    dl_viz_style st = {font, scale};
    c = dl_viz_heatmap_picture(m, neuron, out_idx, x, &st, &e);
    if (!c || dl_png_write(out, c, &e) != DL_OK) goto fail;
    if (cls >= 0) {
        /* "the largest", "the 2nd largest", "the 3rd largest", ... */
        char nth[32] = "";
        if (rank > 1) {
            int t = rank % 100, u = rank % 10;
            const char *suf = (t >= 11 && t <= 13) ? "th" : u == 1 ? "st" : u == 2 ? "nd" : u == 3 ? "rd" : "th";
            snprintf(nth, sizeof nth, "%d%s ", rank, suf);
        }
        printf("class %d: hidden neuron %d has the %slargest weight into it (%.3f); wrote %s\n", cls, neuron, nth,
               m->net->w[1][(size_t)out_idx * H + neuron], out);
    }
    else
        printf("neuron %d on %s; wrote %s\n", neuron, desc, out);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    free(x);
    return cli_done(code, m, c, font);
}
