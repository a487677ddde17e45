/*
 * cmd_heatmap.c — `digitlens heatmap`: input, a hidden neuron's weights and
 * their element-wise product (each pixel's share of the neuron's z); with
 * --class, whether that neuron voted for the class on this input at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/contrib.h"
#include "digitlens/png.h"
#include "digitlens/viz.h"

/* What --class says about the chosen neuron on this input, on stdout and
 * under the picture: its vote, whether it is silent, and which neuron
 * voted most for the class.  lines gets up to 2 picture notes. */
static int class_notes(const dl_model *m, const dl_contrib *v, int neuron, int by_vote, int rank, char lines[2][300])
{
    int C = m->classes[v->out], H = v->width, best = -1, place = 1, nl = 0;
    dl_contrib_rank(v->vote, H, 1, 1, &best);
    for (int j = 0; j < H; j++) place += v->vote[j] > v->vote[neuron];
    float a = v->activation[neuron], w = v->weight[neuron];
    int top_w = dl_viz_top_hidden_for_class(m->net, v->out, 1);
    /* "the largest", "the 2nd largest", "the 3rd largest", ... */
    char nth[32] = "";
    if (rank > 1) {
        int t = rank % 100, u = rank % 10;
        const char *suf = (t >= 11 && t <= 13) ? "th" : u == 1 ? "st" : u == 2 ? "nd" : u == 3 ? "rd" : "th";
        snprintf(nth, sizeof nth, "%d%s ", rank, suf);
    }
    if (by_vote)
        printf("class %d: hidden neuron %d cast the %slargest vote for it on this input: %.4f x %.3f = %+.4f "
               "(the largest weight into %d is neuron %d's, %.3f)\n",
               C, neuron, nth, (double)a, (double)w, (double)v->vote[neuron], C, top_w, (double)v->weight[top_w]);
    else
        printf("class %d: hidden neuron %d has the %slargest weight into it (%.3f)\n", C, neuron, nth, (double)w);
    snprintf(lines[nl++], sizeof lines[0], "neuron %d's vote for %d on this input: a × w = %.4f × %.3f = %+.3f (#%d of %d)",
             neuron, C, (double)a, (double)w, (double)v->vote[neuron], place, H);
    if (dl_contrib_silent(a)) {
        printf("  neuron %d is silent on this input (activation %.2g, below %g): it contributed nothing to %d\n", neuron,
               (double)a, (double)DL_SILENT_ACTIVATION, C);
        snprintf(lines[nl++], sizeof lines[0], "Neuron %d is silent on this input (activation %.2g < %g): it "
                 "contributed nothing. Neuron %d voted most for %d (%+.3f; --by contribution draws it).",
                 neuron, (double)a, (double)DL_SILENT_ACTIVATION, best, C, (double)v->vote[best]);
    } else if (best != neuron) {
        snprintf(lines[nl++], sizeof lines[0], "Neuron %d voted most for %d on this input (%+.3f; --by contribution draws it).",
                 best, C, (double)v->vote[best]);
    }
    if (best != neuron)
        printf("  neuron %d voted most for %d on this input: %.4f x %.3f = %+.4f%s\n", best, C,
               (double)v->activation[best], (double)v->weight[best], (double)v->vote[best],
               by_vote ? "" : " (--by contribution draws it)");
    return nl;
}

int cmd_heatmap(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *out = NULL, *by = "weight";
    int index = 0, neuron = -1, cls = -1, rank = 1, scale = 8;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "take the input from this IDX file (default: the IMAGE given)", 0},
        {"index", OPT_INT, &index, 0, 10000000, "N", "which image of --images", 0},
        {"neuron", OPT_INT, &neuron, -1, DL_MAX_WIDTH, "N", "first-hidden-layer neuron to explain (required unless --class)", 0},
        {"class", OPT_INT, &cls, -1, 255, "C", "instead of --neuron: the neuron with the largest weight into output C (default: use --neuron)", 0},
        {"by", OPT_STR, &by, 0, 0, "HOW",
         "with --class: weight (the largest weight into C) or contribution (the largest vote W2[C,j]*a_j on this input)", 0},
        {"rank", OPT_INT, &rank, 1, DL_MAX_WIDTH, "K", "with --class: take the K-th largest weight (or vote)", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required)", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "heatmap", "[IMAGE]",
        "Show what one hidden neuron sees in an input: input, weights, and input × weights\n"
        "(each pixel's contribution to z = Σ wᵢxᵢ + b), with z and σ(z).  With --class C, the\n"
        "neuron with the largest weight into output C (or, --by contribution, the one whose vote\n"
        "W2[C,j]·a_j for C was largest on this input), plus input × gradient of output C; a\n"
        "neuron silent on this input (activation below 0.01) is flagged on the picture and stdout.",
        "  digitlens heatmap --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --neuron 42 --out h.png\n"
        "  digitlens heatmap --model mnist.dlm my-three.png --class 3 --by contribution --out h3.png", 1};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    if ((npos == 1) == (images != NULL))
        return cli_fail(EXIT_USAGE, "heatmap: give either an IMAGE file or --images FILE --index N");
    if ((neuron >= 0) == (cls >= 0)) return cli_fail(EXIT_USAGE, "heatmap: give either --neuron N or --class C");
    int by_vote = strcmp(by, "contribution") == 0;
    if (!by_vote && strcmp(by, "weight") != 0)
        return cli_fail(EXIT_USAGE, "heatmap: --by '%s' is not one of weight, contribution", by);
    if (cls < 0 && (cli_seen(opts, &by) || cli_seen(opts, &rank)))
        return cli_fail(EXIT_USAGE, "heatmap: --%s goes with --class C", cli_seen(opts, &by) ? "by" : "rank");

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *c = NULL; dl_font *font = NULL; /* cli_done frees them */
    dl_canvas *noted = NULL;
    dl_contrib *v = NULL;
    float *x = NULL;
    int code = EXIT_OK, out_idx = -1;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    int H = m->net->sizes[1];
    if (cls >= 0) {
        if ((code = cli_class_output(m, "heatmap", "class", cls, &out_idx)) != EXIT_OK) goto done;
        if (m->net->nlayers != 3) {
            code = cli_fail(EXIT_USAGE, "heatmap: --class needs a network with one hidden layer (use --neuron)");
            goto done;
        }
        if (rank > H) {
            code = cli_fail(EXIT_USAGE, "heatmap: --rank %d is out of range (1..%d)", rank, H);
            goto done;
        }
    } else if ((code = cli_layer_neuron(m, "heatmap", "neuron", NULL, 1, neuron)) != EXIT_OK) {
        goto done;
    }
    char desc[4200];
    if (cli_load_input(m, npos ? pos[0] : NULL, images, index, &x, desc, sizeof desc, &e) != DL_OK) goto fail;
    char lines[2][300];
    int nl = 0;
    if (cls >= 0) {
        dl_contrib_opts co = {-1, 0, NULL};
        if (!(v = dl_contrib_compute(m->net, out_idx, x, &co, &e))) goto fail;
        if (by_vote) {
            int idx[DL_CONTRIB_MAX_RANK];
            if (rank > DL_CONTRIB_MAX_RANK) {
                code = cli_fail(EXIT_USAGE, "heatmap: --by contribution takes --rank up to %d", DL_CONTRIB_MAX_RANK);
                goto done;
            }
            dl_contrib_rank(v->vote, H, rank, 1, idx);
            neuron = idx[rank - 1];
        } else {
            neuron = dl_viz_top_hidden_for_class(m->net, out_idx, rank);
        }
    }
    font = cli_font();
    dl_viz_style st = {font, scale};
    c = dl_viz_heatmap_picture(m, neuron, out_idx, x, &st, &e);
    if (!c) goto fail;
    if (v) nl = class_notes(m, v, neuron, by_vote, rank, lines);
    if (nl) {
        const char *lp[2] = {lines[0], lines[1]};
        if (!(noted = dl_viz_add_notes(c, lp, nl, &st, &e))) goto fail;
    }
    if (dl_png_write(out, noted ? noted : c, &e) != DL_OK) goto fail;
    if (cls >= 0)
        printf("wrote %s\n", out);
    else
        printf("neuron %d on %s; wrote %s\n", neuron, desc, out);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    free(x);
    dl_contrib_free(v);
    dl_canvas_free(noted);
    return cli_done(code, m, c, font);
}
