/*
 * cmd_neurons.c — `digitlens neurons`: the hidden neurons of a layer that
 * do nothing (dead) or the same thing (duplicate pairs), and a pruning
 * curve; as text, as one JSON object (--json), and as pruning.png plus
 * neurons.json (--out).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/evolve.h"
#include "digitlens/fileio.h"
#include "digitlens/png.h"

/* The whole result as one JSON object into f. */
static void print_json(FILE *f, const char *model, const char *images, const dl_neuron_health *h,
                       const dl_health_opts *o)
{
    fprintf(f, "{\"model\":");
    for (int pass = 0; pass < 2; pass++) {
        const char *s = pass ? images : model;
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
            else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
        fputc('"', f);
        if (!pass) fprintf(f, ",\"images\":");
    }
    fprintf(f, ",\"layer\":%d,\"neurons\":%d,\"examples\":%zu,\"accuracy\":%.6g", h->layer, h->count, h->n,
            h->accuracy);
    fprintf(f, ",\"thresholds\":{\"dead_variance\":%g,\"dead_saturated\":%g,\"duplicate_r\":%g}",
            (double)o->dead_variance, (double)o->dead_saturated, (double)o->duplicate_r);
    fprintf(f, ",\"dead\":[");
    for (int k = 0; k < h->ndead; k++) fprintf(f, "%s%d", k ? "," : "", h->dead[k]);
    fprintf(f, "],\"duplicates\":[");
    for (int k = 0; k < h->ndups; k++)
        fprintf(f, "%s[%d,%d,%.6g]", k ? "," : "", h->dups[k].i, h->dups[k].j, (double)h->dups[k].r);
    fprintf(f, "],\"duplicate_weight_cosine\":[");
    for (int k = 0; k < h->ndups; k++) fprintf(f, "%s%.6g", k ? "," : "", (double)h->dups[k].cosine);
    fprintf(f, "],\"pruning\":[");
    for (int k = 0; k <= h->count; k++) fprintf(f, "%s[%d,%.6g]", k ? "," : "", k, h->pruning[k]);
    fprintf(f, "],\"pruning_order\":[");
    for (int k = 0; k < h->count; k++) fprintf(f, "%s%d", k ? "," : "", h->order[k]);
    const float *cols[3] = {h->mean, h->variance, h->saturated};
    const char *names[3] = {"mean", "variance", "saturated"};
    for (int c = 0; c < 3; c++) {
        fprintf(f, "],\"%s\":[", names[c]);
        for (int k = 0; k < h->count; k++) fprintf(f, "%s%.6g", k ? "," : "", (double)cols[c][k]);
    }
    fprintf(f, "]}\n");
}

static dl_status write_json(const char *path, const char *model, const char *images, const dl_neuron_health *h,
                            const dl_health_opts *o, dl_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return dl_err_set(e, DL_ENOMEM, "out of memory");
    print_json(f, model, images, h, o);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    return dl_file_write_atomic_free(path, buf, len, e);
}

int cmd_neurons(int argc, char **argv)
{
    const char *model = NULL, *dir = "data/mnist", *images = NULL, *labels = NULL, *out = NULL;
    int layer = 1, json = 0;
    double dead_var = 1e-4, dead_sat = 0.99, dup_r = 0.95;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model (required)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "directory with the test set (t10k-images/labels-idx*-ubyte[.gz])", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "labelled images to use (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "their labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"layer", OPT_INT, &layer, 1, DL_MAX_LAYERS - 2, "L", "the hidden layer (1 = the first)", 0},
        {"dead-variance", OPT_FLOAT, &dead_var, 0, 1, "X", "a neuron whose activation varies less than this is dead", 0},
        {"dead-saturated", OPT_FLOAT, &dead_sat, 0, 1, "F", "so is one saturated (sigma' < 0.01) on at least this fraction of inputs", 0},
        {"duplicate-r", OPT_FLOAT, &dup_r, -1, 1, "R", "two neurons whose activations correlate above this are duplicates", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "also write DIR/pruning.png and DIR/neurons.json (default: print only)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL, "print one JSON object instead of text", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "neurons", "",
        "Hidden neurons that do nothing or the same thing, over a labelled data set (the test\n"
        "images): dead neurons (activation variance below --dead-variance, or saturated on at\n"
        "least --dead-saturated of the inputs), duplicate pairs (activations correlated above\n"
        "--duplicate-r, with the cosine similarity of their incoming weights), and a pruning\n"
        "curve: the accuracy as the least useful neurons (by the accuracy lost when each alone\n"
        "is removed) are removed one by one.  --json prints {\"dead\": [...], \"duplicates\":\n"
        "[[i, j, r], ...], \"pruning\": [[removed, accuracy], ...], ...}.",
        "  digitlens neurons --model mnist.dlm --data data/mnist\n"
        "  digitlens neurons --model mnist.dlm --json --out neurons/", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if (!model) return cli_fail(EXIT_USAGE, "neurons: --model FILE is required");

    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    dl_font *font = NULL;
    dl_canvas *c = NULL;
    dl_neuron_health h;
    memset(&h, 0, sizeof h);
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if ((code = cli_hidden_layer(m, "neurons", layer, NULL)) != EXIT_OK) goto done;
    char b1[4096], b2[4096];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", images, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
    if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
    dl_health_opts o = {(float)dead_var, (float)dead_sat, (float)dup_r};
    if (dl_neuron_health_compute(m->net, d, layer, &o, &h, &e) != DL_OK) goto fail;
    if (out) {
        char png[4200], js[4200];
        snprintf(png, sizeof png, "%s/pruning.png", out);
        snprintf(js, sizeof js, "%s/neurons.json", out);
        font = cli_font();
        if (dl_mkdir_p(out, &e) != DL_OK || !(c = dl_pruning_picture(&h, font, &e)) ||
            dl_png_write(png, c, &e) != DL_OK || write_json(js, model, ti, &h, &o, &e) != DL_OK)
            goto fail;
        if (!json) printf("wrote %s and %s\n", png, js);
    }
    if (json) {
        print_json(stdout, model, ti, &h, &o);
        goto done;
    }
    printf("layer %d: %d neurons over %zu images of %s (accuracy %.2f%%)\n", layer, h.count, h.n, ti,
           100.0 * h.accuracy);
    printf("  dead (variance < %g or saturated on >= %g%% of inputs): %d", dead_var, 100.0 * dead_sat, h.ndead);
    for (int k = 0; k < h.ndead; k++) printf("%s%d", k ? ", " : ": ", h.dead[k]);
    printf("\n  duplicate pairs (activation correlation > %g): %d\n", dup_r, h.ndups);
    for (int k = 0; k < h.ndups && k < 20; k++)
        printf("    %d and %d: r = %.3f, incoming weights' cosine %.3f\n", h.dups[k].i, h.dups[k].j,
               (double)h.dups[k].r, (double)h.dups[k].cosine);
    if (h.ndups > 20) printf("    ... and %d more (--json lists them all)\n", h.ndups - 20);
    int k1 = 0, half = 0;
    while (k1 < h.count && h.pruning[k1 + 1] >= h.accuracy - 0.01) k1++;
    while (half < h.count && h.pruning[half + 1] >= h.accuracy / 2) half++;
    printf("  pruning, least useful first: %d neurons can go for less than 1 point (%.2f%%); "
           "accuracy stays above half with %d removed; all removed: %.2f%%\n",
           k1, 100.0 * h.pruning[k1], half, 100.0 * h.pruning[h.count]);
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_neuron_health_free(&h);
    dl_dataset_free(d);
    return cli_done(code, m, c, font);
}
