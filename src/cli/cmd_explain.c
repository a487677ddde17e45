/*
 * cmd_explain.c — `digitlens explain`: which pixels made the network give
 * one output for one input, by one attribution method or all of them
 * (explain.h computes, viz_explain.h draws).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/explain.h"
#include "digitlens/png.h"
#include "digitlens/viz_explain.h"

/* One method's map, summary line and JSON object. */
typedef struct result {
    dl_attr_method method;
    float *map;
    dl_attr_info info;
    char title[64], note[96];
} result;

/* fancy: the label font has ∂, ×, ε (the built-in pixel font does not). */
static void describe(result *r, const dl_attr_opts *o, int digit, int fancy)
{
    const dl_attr_info *in = &r->info;
    switch (r->method) {
    case DL_ATTR_GRADIENT:
        snprintf(r->title, sizeof r->title, fancy ? "gradient ∂y%d/∂x" : "gradient dy%d/dx", digit);
        snprintf(r->note, sizeof r->note, "saliency");
        break;
    case DL_ATTR_INPUT_X_GRADIENT:
        snprintf(r->title, sizeof r->title, fancy ? "input × gradient" : "input x gradient");
        snprintf(r->note, sizeof r->note, fancy ? "Σ = %.3f" : "sum = %.3f", in->sum);
        break;
    case DL_ATTR_INTEGRATED_GRADIENTS: {
        double diff = (double)in->output - in->baseline_output;
        snprintf(r->title, sizeof r->title, "integrated gradients");
        snprintf(r->note, sizeof r->note, "%d steps, gap %.2g (%.2f%%)", o->steps, in->completeness_gap,
                 diff != 0.0 ? 100.0 * fabs(in->completeness_gap / diff) : 0.0);
        break;
    }
    case DL_ATTR_LRP:
        snprintf(r->title, sizeof r->title, fancy ? "LRP (ε = %g)" : "LRP (eps = %g)", (double)o->epsilon);
        snprintf(r->note, sizeof r->note, "to biases: %.0f%% of %s",
                 in->lrp_start != 0.0f ? 100.0 * in->bias_relevance / in->lrp_start : 0.0,
                 in->lrp_start == in->output ? "y" : "the logit z");
        break;
    case DL_ATTR_OCCLUSION:
        snprintf(r->title, sizeof r->title, fancy ? "occlusion %d×%d, stride %d" : "occlusion %dx%d, stride %d", o->patch,
                 o->patch, o->stride);
        snprintf(r->note, sizeof r->note, "mean drop of y%d", digit);
        break;
    case DL_ATTR_NMETHODS: break;
    }
}

static void print_summary(const result *r, const dl_attr_opts *o)
{
    const dl_attr_info *in = &r->info;
    printf("  %-21s sum %+.4f", dl_attr_method_name(r->method), in->sum);
    if (r->method == DL_ATTR_INTEGRATED_GRADIENTS) {
        double diff = (double)in->output - in->baseline_output;
        printf("  f(x) - f(baseline) = %.4f - %.4f = %.4f; completeness gap %+.2e (%.2f%% at %d steps)",
               (double)in->output, (double)in->baseline_output, diff, in->completeness_gap,
               diff != 0.0 ? 100.0 * fabs(in->completeness_gap / diff) : 0.0, o->steps);
    } else if (r->method == DL_ATTR_LRP) {
        printf("  + biases %+.4f (%.1f%% of the %s) + absorbed by eps %+.2e = %.4f",
               in->bias_relevance, in->lrp_start != 0.0f ? 100.0 * in->bias_relevance / in->lrp_start : 0.0,
               in->lrp_start == in->output ? "output" : "softmax's logit z", in->eps_relevance,
               in->sum + in->bias_relevance + in->eps_relevance);
    } else if (r->method == DL_ATTR_OCCLUSION) {
        printf("  (mean drop of the output when a %dx%d patch over the pixel is blacked out)", o->patch, o->patch);
    }
    putchar('\n');
}

static void print_json(const result *r, const dl_attr_opts *o, int digit, const char *desc)
{
    const dl_attr_info *in = &r->info;
    printf("{\"method\":");
    cli_json_string(dl_attr_method_name(r->method));
    printf(",\"class\":%d,\"output_index\":%d,\"output\":%.6g,\"input\":", digit, in->out, (double)in->output);
    cli_json_string(desc);
    printf(",\"sum\":%.6g", in->sum);
    if (r->method == DL_ATTR_INTEGRATED_GRADIENTS)
        printf(",\"steps\":%d,\"baseline_output\":%.6g,\"completeness_gap\":%.6g", o->steps,
               (double)in->baseline_output, in->completeness_gap);
    if (r->method == DL_ATTR_LRP)
        printf(",\"epsilon\":%.6g,\"relevance\":%.6g,\"bias_relevance\":%.6g,\"epsilon_relevance\":%.6g",
               (double)o->epsilon, (double)in->lrp_start, in->bias_relevance, in->eps_relevance);
    if (r->method == DL_ATTR_OCCLUSION) printf(",\"patch\":%d,\"stride\":%d", o->patch, o->stride);
    printf(",\"rows\":%d,\"cols\":%d,\"attribution\":[", o->rows, o->cols);
    for (int y = 0; y < o->rows; y++) {
        if (y) putchar(',');
        cli_json_floats(r->map + (size_t)y * o->cols, o->cols);
    }
    printf("]}\n");
}

int cmd_explain(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *out = NULL, *method = "all", *baseline = NULL;
    int index = 0, cls = -1, steps = 64, patch = 4, stride = 2, scale = 6, json = 0;
    double epsilon = 0.01;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "take the input from this IDX file (default: the IMAGE given)", 0},
        {"index", OPT_INT, &index, 0, 10000000, "N", "which image of --images", 0},
        {"method", OPT_STR, &method, 0, 0, "METHOD",
         "gradient, input-x-gradient, integrated-gradients, lrp, occlusion or all", 0},
        {"class", OPT_INT, &cls, -1, 255, "C", "explain the output of digit C (default: the predicted one)", 0},
        {"steps", OPT_INT, &steps, 1, 100000, "N", "integrated gradients: steps from the baseline to the input", 0},
        {"baseline", OPT_STR, &baseline, 0, 0, "FILE",
         "integrated gradients: start from this image file, preprocessed like the input (default: black)", 0},
        {"epsilon", OPT_FLOAT, &epsilon, 1e-9, 1e3, "E", "lrp: the stabiliser of the epsilon-rule", 0},
        {"patch", OPT_INT, &patch, 1, 4096, "P", "occlusion: side of the square blacked out, in pixels", 0},
        {"stride", OPT_INT, &stride, 1, 4096, "S", "occlusion: step between patches, in pixels", 0},
        {"scale", OPT_INT, &scale, 1, 64, "K", "upscale each pixel to KxK", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "the PNG to write (required unless --json)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL,
         "print the raw attribution (rows x cols) as JSON instead of the summary, one object per method per line", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "explain", "[IMAGE]",
        "Which pixels made the network give an output: attribution maps for one input, for the\n"
        "predicted digit or --class C.  Red pixels raised the output, blue ones lowered it;\n"
        "each map has its own symmetric colour bar.  Methods:\n"
        "  gradient              dy/dx: how sensitive the output is to each pixel (saliency)\n"
        "  input-x-gradient      x * dy/dx: the linearisation's share of each pixel\n"
        "  integrated-gradients  (x - baseline) * the mean gradient on the straight path from the\n"
        "                        baseline; the shares add up to y(x) - y(baseline) (the gap is reported)\n"
        "  lrp                   layer-wise relevance propagation, epsilon-rule: y is split backwards\n"
        "                        through each z = Wa + b in proportion to each term (activations pass\n"
        "                        relevance through; of a softmax output, the logit z is split); the\n"
        "                        part that goes to the biases is reported\n"
        "  occlusion             how much y drops when a patch over the pixel is set to 0 (mean over\n"
        "                        the patches covering it)\n"
        "  all                   every method above in one row",
        "  digitlens explain --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --method all --out e.png\n"
        "  digitlens explain --model mnist.dlm my-three.png --method integrated-gradients --steps 256 --class 3 --out ig.png\n"
        "  digitlens explain --model mnist.dlm my-three.png --method lrp --json > lrp.json",
        1};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!model) return cli_fail(EXIT_USAGE, "explain: --model FILE is required");
    if (!out && !json) return cli_fail(EXIT_USAGE, "explain: give --out FILE.png (or --json for the raw values)");
    if ((npos == 1) == (images != NULL))
        return cli_fail(EXIT_USAGE, "explain: give either an IMAGE file or --images FILE --index N");
    int all = strcmp(method, "all") == 0, only = dl_attr_method_parse(method);
    if (!all && only < 0)
        return cli_fail(EXIT_USAGE, "explain: --method '%s' is not one of gradient, input-x-gradient, "
                        "integrated-gradients, lrp, occlusion, all", method);

    dl_err e = {0};
    dl_model *m = NULL; dl_canvas *c = NULL; dl_font *font = NULL; /* cli_done frees them */
    float *x = NULL, *x0 = NULL;
    result res[DL_ATTR_NMETHODS];
    memset(res, 0, sizeof res);
    int nres = all ? DL_ATTR_NMETHODS : 1, code = EXIT_OK;
    char desc[4200], bdesc[4200];
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    int np = m->net->sizes[0], K = m->nclasses, L = m->net->nlayers - 1;
    if (cli_load_input(m, npos ? pos[0] : NULL, images, index, &x, desc, sizeof desc, &e) != DL_OK) goto fail;
    if (baseline && cli_load_input(m, baseline, NULL, 0, &x0, bdesc, sizeof bdesc, &e) != DL_OK) goto fail;

    /* The output to explain: the predicted one, or the digit asked for. */
    dl_trace *t = dl_trace_new(m->net, &e);
    if (!t) goto fail;
    int pred = dl_argmax(dl_net_forward(m->net, x, t), K), oi = pred;
    float ypred = t->a[L][pred];
    dl_trace_free(t);
    if (cls >= 0 && (code = cli_class_output(m, "explain", "class", cls, &oi)) != EXIT_OK) goto done;
    int digit = m->classes[oi];

    if (out) font = cli_font();
    dl_attr_opts o = dl_attr_opts_defaults(m->rows, m->cols);
    o.steps = steps;
    o.baseline = x0;
    o.epsilon = (float)epsilon;
    o.patch = patch;
    o.stride = stride;
    for (int r = 0; r < nres; r++) {
        res[r].method = all ? (dl_attr_method)r : (dl_attr_method)only;
        if (!(res[r].map = malloc((size_t)np * sizeof(float)))) {
            dl_err_set(&e, DL_ENOMEM, "out of memory");
            goto fail;
        }
        if (dl_explain_attribution(m->net, res[r].method, oi, x, &o, res[r].map, &res[r].info, &e) != DL_OK)
            goto fail;
        describe(&res[r], &o, digit, font != NULL);
    }

    if (out) {
        dl_viz_style st = {font, scale};
        dl_viz_attr_panel panels[DL_ATTR_NMETHODS];
        for (int r = 0; r < nres; r++) panels[r] = (dl_viz_attr_panel){res[r].map, res[r].title, res[r].note};
        char caption[512];
        snprintf(caption, sizeof caption, "why output %d = %.3f for %.150s%s%.150s (predicted: %d, %.3f)", digit,
                 (double)res[0].info.output, cli_base_name(desc), baseline ? "; IG baseline " : "",
                 baseline ? cli_base_name(bdesc) : "", m->classes[pred], (double)ypred);
        c = dl_viz_attribution_row(x, m->rows, m->cols, panels, nres, caption, &st, &e);
        if (!c || dl_png_write(out, c, &e) != DL_OK) goto fail;
    }
    if (json) {
        for (int r = 0; r < nres; r++) print_json(&res[r], &o, digit, desc);
    } else {
        printf("%s: predicted %d (output %.4f); explaining output %d = %.4f\n", desc, m->classes[pred],
               (double)ypred, digit, (double)res[0].info.output);
        for (int r = 0; r < nres; r++) print_summary(&res[r], &o);
        if (out) printf("wrote %s\n", out);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    for (int r = 0; r < DL_ATTR_NMETHODS; r++) free(res[r].map);
    free(x);
    free(x0);
    return cli_done(code, m, c, font);
}
