/*
 * cmd_neuron.c — `digitlens neuron`: what one hidden neuron is looking
 * for, over a labelled data set: a card (PNG) and its numbers (JSON).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/explain.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"
#include "digitlens/viz_explain.h"

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f); /* a class with no examples has no mean */
}

static void json_floats(FILE *f, const char *key, const float *v, int n)
{
    fprintf(f, ",\n  \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        json_num(f, v[i]);
    }
    fputc(']', f);
}

static void json_examples(FILE *f, const char *key, const dl_dataset *d, const size_t *idx, const float *act, int k,
                          const dl_model *m)
{
    fprintf(f, ",\n  \"%s\": [", key);
    for (int i = 0; i < k; i++)
        fprintf(f, "%s\n    {\"index\": %zu, \"label\": %d, \"activation\": %.6g}", i ? "," : "", idx[i],
                m->classes[d->labels[idx[i]]], (double)act[i]);
    fprintf(f, "\n  ]");
}

/* The statistics as one JSON object, written atomically to path. */
static dl_status write_json(const char *path, const dl_model *m, const dl_dataset *d, const dl_neuron_stats *s,
                            const char *images, dl_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return dl_err_set(e, DL_ENOMEM, "out of memory");
    fprintf(f, "{\n  \"layer\": %d,\n  \"neuron\": %d,\n  \"examples\": %zu,\n  \"images\": ", s->layer, s->neuron,
            s->n);
    fputc('"', f);
    for (const char *p = images; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', f);
        if ((unsigned char)*p >= 0x20) fputc(*p, f);
    }
    fputc('"', f);
    fprintf(f, ",\n  \"activation\": \"%s\",\n  \"mean_activation\": %.6g", dl_act_name(s->act), (double)s->mean);
    if (s->act == DL_ACT_RELU) {
        /* A ReLU does not saturate: it is off (0, slope 0) or on, and dead when never on. */
        fprintf(f, ",\n  \"off\": %.6g,\n  \"dead\": %s", (double)s->saturated_low, s->dead ? "true" : "false");
    } else {
        fprintf(f, ",\n  \"saturated\": %.6g,\n  \"saturated_above_0.99\": %.6g,\n  \"saturated_below_%s\": %.6g",
                (double)s->saturated, (double)s->saturated_high, s->act == DL_ACT_TANH ? "-0.99" : "0.01",
                (double)s->saturated_low);
    }
    fprintf(f, ",\n  \"accuracy\": %.6g,\n  \"ablation\": \"outgoing weights set to 0 (the same as activation 0)\"",
            s->accuracy);
    fprintf(f, ",\n  \"ablated_accuracy\": %.6g,\n  \"ablation_drop\": %.6g", s->ablated_accuracy, s->ablation_drop);
    fprintf(f, ",\n  \"mean_ablated_accuracy\": %.6g,\n  \"mean_ablation_drop\": %.6g", s->mean_ablated_accuracy,
            s->mean_ablation_drop);
    fprintf(f, ",\n  \"classes\": [");
    for (int k = 0; k < s->nclasses; k++) fprintf(f, "%s%d", k ? "," : "", m->classes[k]);
    fputc(']', f);
    json_floats(f, "class_mean_activation", s->class_mean, s->nclasses);
    fprintf(f, ",\n  \"class_count\": [");
    for (int k = 0; k < s->nclasses; k++) fprintf(f, "%s%u", k ? "," : "", (unsigned)s->class_count[k]);
    fputc(']', f);
    json_floats(f, "outgoing_weights", s->out_weights, s->nout);
    json_examples(f, "top", d, s->top, s->top_act, s->k, m);
    json_examples(f, "bottom", d, s->bottom, s->bottom_act, s->k, m);
    fprintf(f, "\n}\n");
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    dl_status st = dl_file_write_atomic(path, buf, len, e);
    free(buf);
    return st;
}

int cmd_neuron(int argc, char **argv)
{
    const char *model = NULL, *dir = "data/mnist", *images = NULL, *labels = NULL, *out = NULL;
    int neuron = -1, layer = 1, top = 16, scale = 6;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "directory with the test set (t10k-images/labels-idx*-ubyte[.gz])", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "labelled images to use (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "their labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"neuron", OPT_INT, &neuron, 0, DL_MAX_WIDTH, "N", "the hidden neuron (required)", 0},
        {"layer", OPT_INT, &layer, 1, DL_MAX_LAYERS - 2, "L", "its hidden layer (1 = the first)", 0},
        {"top", OPT_INT, &top, 1, 256, "K", "how many most and least activating images to show", 0},
        {"scale", OPT_INT, &scale, 2, 32, "K", "upscale each weight to KxK (the example images use K/2)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "directory for neuron-N.png and neuron-N.json (required; created)", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "neuron", "",
        "What one hidden neuron is looking for, over a labelled data set (the test images):\n"
        "its incoming weights and how training changed them, the K images that drive it\n"
        "highest and lowest, its mean activation per class, its weight into each output,\n"
        "how often it is saturated (sigmoid: activation > 0.99 or < 0.01; tanh: > 0.99 or\n"
        "< -0.99; a ReLU instead: how often it is off, and whether it is dead, never positive),\n"
        "and the drop in accuracy\n"
        "when it is removed.  Removing means setting its outgoing weights to 0, which is the\n"
        "same as forcing its activation to 0; the drop with its activation held at its mean\n"
        "(a gentler removal that leaves the biases above it what they were trained with) is\n"
        "reported too.  Writes DIR/neuron-N.png (the card) and DIR/neuron-N.json (the numbers).",
        "  digitlens neuron --model mnist.dlm --data data/mnist --neuron 42 --out neurons/", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_data_pair(&cmd, opts, "images", "labels"))) return rc;
    if ((rc = cli_out_dir(&cmd, "out", out))) return rc;
    if ((rc = cli_require(&cmd, opts, "model,neuron,out"))) return rc;

    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    dl_font *font = NULL;
    dl_canvas *c = NULL;
    dl_neuron_stats s;
    memset(&s, 0, sizeof s);
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if ((code = cli_hidden_layer(m, "neuron", layer, NULL)) != EXIT_OK) goto done;
    if ((code = cli_layer_neuron(m, "neuron", "neuron", NULL, layer, neuron)) != EXIT_OK) goto done;
    char b1[4096], b2[4096];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", images, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
    if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
    if (dl_neuron_stats_compute(m->net, d, layer, neuron, top, &s, &e) != DL_OK) goto fail;
    if (dl_mkdir_p(out, &e) != DL_OK) goto fail;
    font = cli_font();
    dl_viz_style st = {font, scale};
    if (!(c = dl_viz_neuron_card(m, d, &s, &st, &e))) goto fail;
    char png[4200], js[4200], stem[64];
    if (layer == 1)
        snprintf(stem, sizeof stem, "neuron-%d", neuron);
    else
        snprintf(stem, sizeof stem, "layer%d-neuron-%d", layer, neuron);
    cli_path(png, sizeof png, out, "%s.png", stem);
    cli_path(js, sizeof js, out, "%s.json", stem);
    if (dl_png_write(png, c, &e) != DL_OK || write_json(js, m, d, &s, ti, &e) != DL_OK) goto fail;

    int K = s.nclasses, best = dl_argmax(s.class_mean, K), worst = 0;
    for (int k = 1; k < K; k++)
        if (s.class_mean[k] < s.class_mean[worst]) worst = k;
    int wmax = dl_argmax(s.out_weights, s.nout), wmin = 0;
    for (int j = 1; j < s.nout; j++)
        if (s.out_weights[j] < s.out_weights[wmin]) wmin = j;
    int last = layer + 2 == m->net->nlayers; /* its outgoing weights go to the output layer */
    printf("layer %d, neuron %d over %zu image%s of %s:\n", layer, neuron, s.n, cli_s((long long)s.n), ti);
    printf("  mean activation %.3f; most active on %d (%.3f), least on %d (%.3f)\n", (double)s.mean,
           m->classes[best], (double)s.class_mean[best], m->classes[worst], (double)s.class_mean[worst]);
    char sat[96], satd[96];
    dl_viz_saturation_text(&s, sat, sizeof sat, satd, sizeof satd);
    printf("  %s%s%s%s\n", sat, satd[0] ? " (" : "", satd, satd[0] ? ")" : "");
    printf("  largest weight out: %+.3f to %s %d; most negative: %+.3f to %s %d\n", (double)s.out_weights[wmax],
           last ? "digit" : "neuron", last ? m->classes[wmax] : wmax, (double)s.out_weights[wmin],
           last ? "digit" : "neuron", last ? m->classes[wmin] : wmin);
    printf("  accuracy %.2f%%; removed (outgoing weights 0): %.2f%% (drop %.2f points); "
           "held at its mean: %.2f%% (drop %.2f)\n",
           100.0 * s.accuracy, 100.0 * s.ablated_accuracy, 100.0 * s.ablation_drop, 100.0 * s.mean_ablated_accuracy,
           100.0 * s.mean_ablation_drop);
    printf("wrote %s and %s\n", png, js);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_neuron_stats_free(&s);
    dl_dataset_free(d);
    return cli_done(code, m, c, font);
}
