/*
 * cmd_contributions.c — `digitlens contributions`: which hidden neurons
 * voted for the network's answer on one input, and how much (contrib.h
 * computes, viz_contrib.h draws).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/contrib.h"
#include "digitlens/png.h"
#include "digitlens/viz_contrib.h"

/* "W2[3,j]" or "W2[3,j]-W2[5,j]". */
static void weight_label(char *buf, size_t cap, const dl_model *m, const dl_contrib *c)
{
    int wl = c->layer + 1;
    if (c->vs >= 0)
        snprintf(buf, cap, "W%d[%d,j]-W%d[%d,j]", wl, m->classes[c->out], wl, m->classes[c->vs]);
    else
        snprintf(buf, cap, "W%d[%d,j]", wl, m->classes[c->out]);
}

static void print_rows(const dl_contrib *c, const int *idx, int n)
{
    for (int r = 0; r < n; r++) {
        int j = idx[r];
        printf("    %6d  %10.4f  %+12.4f  %+9.4f%s\n", j, (double)c->activation[j], (double)c->weight[j],
               (double)c->vote[j], dl_contrib_silent(c->activation[j]) ? "  (silent)" : "");
    }
}

static void print_summary(const dl_model *m, const dl_contrib *c, int top, const char *desc, int has_baseline)
{
    int C = m->classes[c->out], h = c->layer;
    char wl[64];
    weight_label(wl, sizeof wl, m, c);
    printf("%s: predicted %d; hidden layer %d's votes for %d", desc, m->classes[c->predicted], h, C);
    if (c->vs >= 0) printf(" against %d", m->classes[c->vs]);
    printf(" (output %.4f)\n", (double)c->output);
    if (c->vs >= 0)
        printf("  z%d - z%d = %.4f - (%.4f) = %.4f = votes %+.4f + bias %+.4f\n", C, m->classes[c->vs],
               (double)c->z_class, (double)c->z_vs, (double)c->z, c->vote_sum - c->bias, (double)c->bias);
    else
        printf("  z%d = %.4f = votes %+.4f + bias %+.4f\n", C, (double)c->z, c->vote_sum - c->bias, (double)c->bias);
    int idx[64];
    int n = dl_contrib_rank(c->vote, c->width, top, 1, idx);
    printf("  voted most for %d:\n    %6s  %10s  %12s  %9s\n", C, "neuron", "activation", wl, "vote");
    print_rows(c, idx, n);
    n = dl_contrib_rank(c->vote, c->width, top < 3 ? top : 3, 0, idx);
    while (n > 0 && !(c->vote[idx[n - 1]] < 0.0f)) n--;
    printf("  voted most against:%s\n", n ? "" : " none (no vote is negative)");
    print_rows(c, idx, n);
    for (int l = 1; c->steps > 0 && l <= h; l++) {
        double diff = (double)c->z - c->z_baseline;
        printf("  layer %d conductance (z through each unit, %d steps from %s): sum %+.4f; "
               "z(x) - z(baseline) = %.4f - %.4f = %.4f; completeness gap %+.2e (%.2f%%)%s\n",
               l, c->steps, has_baseline ? "the baseline" : "black", c->cond_sum[l], (double)c->z,
               (double)c->z_baseline, diff, c->gap[l], 100.0 * dl_contrib_relative_gap(c, l),
               l == h ? " [last layer: votes(x) - votes(baseline)]" : "");
        if (l == h) continue;
        n = dl_contrib_rank(c->conductance[l], m->net->sizes[l], 5, 1, idx);
        printf("    most for %d:", C);
        for (int r = 0; r < n; r++) printf(" %d (%+.3f)", idx[r], (double)c->conductance[l][idx[r]]);
        printf("\n");
    }
}

static void print_json(const dl_model *m, const dl_contrib *c, int top, const char *desc, const char *baseline)
{
    printf("{\"input\":");
    cli_json_string(desc);
    printf(",\"class\":%d,\"output_index\":%d,\"predicted\":%d,\"output\":%.6g", m->classes[c->out], c->out,
           m->classes[c->predicted], (double)c->output);
    if (c->vs >= 0) printf(",\"vs\":%d,\"z_class\":%.6g,\"z_vs\":%.6g", m->classes[c->vs], (double)c->z_class,
                           (double)c->z_vs);
    else printf(",\"vs\":null");
    printf(",\"layer\":%d,\"z\":%.6g,\"bias\":%.6g,\"vote_sum\":%.6g", c->layer, (double)c->z, (double)c->bias,
           c->vote_sum);
    printf(",\"activations\":");
    cli_json_floats(c->activation, c->width);
    printf(",\"weights\":");
    cli_json_floats(c->weight, c->width);
    printf(",\"votes\":");
    cli_json_floats(c->vote, c->width);
    int idx[64];
    int n = dl_contrib_rank(c->vote, c->width, top, 1, idx);
    printf(",\"top\":[");
    for (int r = 0; r < n; r++) printf("%s%d", r ? "," : "", idx[r]);
    printf("]");
    if (c->steps > 0) {
        printf(",\"conductance\":{\"steps\":%d,\"baseline\":", c->steps);
        if (baseline) cli_json_string(baseline);
        else printf("\"black\"");
        printf(",\"z_baseline\":%.6g,\"layers\":[", (double)c->z_baseline);
        for (int l = 1; l <= c->layer; l++) {
            printf("%s{\"layer\":%d,\"sum\":%.6g,\"gap\":%.6g,\"relative_gap\":%.6g,\"values\":", l > 1 ? "," : "", l,
                   c->cond_sum[l], c->gap[l], dl_contrib_relative_gap(c, l));
            cli_json_floats(c->conductance[l], m->net->sizes[l]);
            printf("}");
        }
        printf("]}");
    }
    printf("}\n");
}

int cmd_contributions(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *out = NULL, *baseline = NULL;
    int index = 0, cls = -1, vs = -1, top = 6, steps = 256, scale = 4, json = 0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "take the input from this IDX file (default: the IMAGE given)", 0},
        {"index", OPT_INT, &index, 0, 10000000, "N", "which image of --images", 0},
        {"class", OPT_INT, &cls, -1, 255, "C", "explain the output of digit C (default: the predicted one)", 0},
        {"vs", OPT_INT, &vs, -1, 255, "D", "why C and not D: votes for the margin z_C - z_D (default: no rival, votes for z_C)", 0},
        {"top", OPT_INT, &top, 1, 64, "K", "how many of the strongest voters get a row (and a line)", 0},
        {"steps", OPT_INT, &steps, 1, DL_CONTRIB_MAX_STEPS, "N",
         "deeper networks: integration steps of the conductance of earlier hidden layers", 0},
        {"baseline", OPT_STR, &baseline, 0, 0, "FILE",
         "deeper networks: start the conductance path from this image file (default: black)", 0},
        {"scale", OPT_INT, &scale, 1, 16, "K", "upscale each map pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required unless --json)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL,
         "print one JSON object (class, z, bias, and per hidden neuron activations, weights, votes) instead of the "
         "summary", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "contributions", "[IMAGE]",
        "Which hidden neurons made the network's answer for one input.  With one hidden layer,\n"
        "output C's weighted input is exactly z_C = sum_j W2[C,j]*a_j + b_C: each hidden neuron j\n"
        "casts the vote W2[C,j]*a_j (red for C, blue against), and the votes plus the bias add up\n"
        "to z_C.  The picture shows the votes as a grid (the activation picture's layout), a bar\n"
        "chart of the largest votes for and against with the bias, and the top K voters each as a\n"
        "row: weight map, input x weights, a_j, W2[C,j], vote.  --vs D explains the margin\n"
        "z_C - z_D with the votes (W2[C,j] - W2[D,j])*a_j.  Deeper networks: the last hidden layer's\n"
        "votes are exact; each earlier hidden layer gets its conductance (integrated gradients of\n"
        "z_C through each unit, Dhamdhere et al. 2018) and the completeness gap\n"
        "sum(conductance) - (z_C(x) - z_C(baseline)).",
        "  digitlens contributions --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 18 --out why-3.png\n"
        "  digitlens contributions --model mnist.dlm my-three.png --class 3 --vs 8 --top 4 --out 3-not-8.png\n"
        "  digitlens contributions --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 18 --json",
        1};
    char *pos[1];
    int npos = 0;
    int rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!model) return cli_fail(EXIT_USAGE, "contributions: --model FILE is required");
    if (!out && !json) return cli_fail(EXIT_USAGE, "contributions: give --out FILE.png (or --json for the numbers)");
    if ((npos == 1) == (images != NULL))
        return cli_fail(EXIT_USAGE, "contributions: give either an IMAGE file or --images FILE --index N");
    if (cls >= 0 && vs == cls)
        return cli_fail(EXIT_USAGE, "contributions: --vs %d is the class being explained (give another digit)", vs);

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *pic = NULL; dl_font *font = NULL; /* cli_done frees them */
    dl_contrib *c = NULL;
    float *x = NULL, *x0 = NULL;
    int code = EXIT_OK;
    char desc[4200], bdesc[4200];
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    const dl_net *n = m->net;
    int L = n->nlayers - 1;
    if (L < 2) {
        code = cli_fail(EXIT_USAGE, "contributions: %s has no hidden layer (its outputs read the pixels directly; "
                        "use 'digitlens explain')", model);
        goto done;
    }
    int oi = -1, vi = -1, H = n->sizes[L - 1];
    if ((cls >= 0 && (code = cli_class_output(m, "contributions", "class", cls, &oi)) != EXIT_OK) ||
        (vs >= 0 && (code = cli_class_output(m, "contributions", "vs", vs, &vi)) != EXIT_OK))
        goto done;
    if (top > H && !cli_seen(opts, &top)) top = H; /* the default asks for more rows than a small layer has */
    if (top > H) {
        code = cli_fail(EXIT_USAGE, "contributions: --top %d is more than the %d neurons of hidden layer %d", top, H,
                        L - 1);
        goto done;
    }
    if (cli_load_input(m, npos ? pos[0] : NULL, images, index, &x, desc, sizeof desc, &e) != DL_OK) goto fail;
    if (baseline && cli_load_input(m, baseline, NULL, 0, &x0, bdesc, sizeof bdesc, &e) != DL_OK) goto fail;
    if (oi < 0) { /* the predicted digit */
        if ((oi = cli_predict(m, x, &e)) < 0) goto fail;
        if (oi == vi) {
            code = cli_fail(EXIT_USAGE, "contributions: --vs %d is the predicted digit, the one being explained "
                            "(give another digit, or --class)", vs);
            goto done;
        }
    }
    /* Votes of the last hidden layer are exact; conductance only when there is a layer below it. */
    dl_contrib_opts o = {vi, L > 2 ? steps : 0, x0};
    if (!(c = dl_contrib_compute(n, oi, x, &o, &e))) goto fail;

    if (out) {
        font = cli_font();
        dl_viz_style st = {font, scale};
        char caption[512];
        if (vi >= 0)
            snprintf(caption, sizeof caption, "why %d and not %d? %.200s: the network says %d (%.3f)", m->classes[oi],
                     m->classes[vi], cli_base_name(desc), m->classes[c->predicted], (double)c->output);
        else
            snprintf(caption, sizeof caption, "why %d? %.200s: the network says %d (output %d: %.3f)", m->classes[oi],
                     cli_base_name(desc), m->classes[c->predicted], m->classes[oi], (double)c->output);
        pic = dl_viz_contrib_picture(m, x, c, top, caption, &st, &e);
        if (!pic || dl_png_write(out, pic, &e) != DL_OK) goto fail;
    }
    if (json) {
        print_json(m, c, top, desc, baseline ? bdesc : NULL);
    } else {
        print_summary(m, c, top, desc, baseline != NULL);
        if (out) printf("wrote %s\n", out);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_contrib_free(c);
    free(x);
    free(x0);
    return cli_done(code, m, pic, font);
}
