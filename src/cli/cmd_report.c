/*
 * cmd_report.c — `digitlens report`: the HTML report of a model (see
 * report.h) in a folder that opens in any browser, offline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "digitlens/canvas.h"
#include "digitlens/evolve.h"
#include "digitlens/fileio.h"
#include "digitlens/report.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_report(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *dir = "data/mnist", *images = NULL, *labels = NULL, *title = NULL;
    const char *method_s = "integrated-gradients", *snaps = NULL;
    int per_map = 0, no_data = 0, mistakes = 24, top = 8, threads = cli_ncores(), quiet = 0, maps = 2000;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model to report on (required)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "folder for index.html, neurons.html and img/ (required; created if missing)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "directory holding t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "test images (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "test labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"no-data", OPT_FLAG, &no_data, 0, 0, NULL, "report on the model alone: no confusion matrix, statistics or mistakes", 0},
        {"mistakes", OPT_INT, &mistakes, 0, 1000, "N", "show the first N misclassified test images", 0},
        {"top", OPT_INT, &top, 1, 64, "K", "examples per end on each neuron card", 0},
        {"maps", OPT_INT, &maps, 0, 1000000, "N",
         "test images mapped to 2-D (PCA, t-SNE) in \"What the hidden layer does to the data\"; 0 leaves it out", 0},
        {"method", OPT_STR, &method_s, 0, 0, "NAME",
         "attribution for the mistakes: gradient, input-x-gradient, integrated-gradients, lrp, occlusion", 0},
        {"snapshots", OPT_STR, &snaps, 0, 0, "FILE", "snapshots for the Training section's films (default: MODEL.snapshots, when it is there)", 0},
        {"title", OPT_STR, &title, 0, 0, "TEXT", "heading of the pages (default: the model's file name)", 0},
        {"per-map-scale", OPT_FLAG, &per_map, 0, 0, NULL,
         "each mistake's two maps on its own colour scale (default: one scale, so colours compare)", 0},
        {"threads", OPT_INT, &threads, 1, 64, "N", "worker threads (default: the number of cores here)", 0},
        {"quiet", OPT_FLAG, &quiet, 0, 0, NULL, "print nothing but errors", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "report", "",
        "Write an HTML report of a model into a folder you open in a browser (no network needed):\n"
        "summary, training history, the Training section (films of the weights and histograms over\n"
        "time from MODEL.snapshots; dead and duplicate neurons, marked on the grid, and the pruning\n"
        "curve), confusion matrix, every hidden neuron (click one for its card), class templates,\n"
        "maximising inputs, and the misclassified test images explained.",
        "  digitlens report --model mnist.dlm --data data/mnist --out report/\n"
        "  digitlens report --model imported.dlm --no-data --out report/", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_data_pair(&cmd, opts, "images", "labels"))) return rc;
    if ((rc = cli_out_dir(&cmd, "out", out))) return rc;
    threads = cli_threads("report", threads, quiet);
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    int method = dl_attr_method_parse(method_s);
    if (method < 0)
        return cli_fail(EXIT_USAGE, "report: --method '%s' is not known (gradient, input-x-gradient, "
                        "integrated-gradients, lrp or occlusion)", method_s);
    int data_given = 0;
    for (const cli_opt *o = opts; o->name; o++) data_given |= strcmp(o->name, "data") == 0 && o->seen;
    if (no_data && (data_given || images || labels))
        return cli_fail(EXIT_USAGE, "report: --no-data cannot be combined with --data, --images or --labels");

    double t0 = now_seconds();
    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    dl_font *font = NULL;
    dl_snapshots *sn = NULL;
    int code = EXIT_OK;
    char b1[4096], b2[4096];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", images, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (!no_data) {
        if (dl_idx_load(ti, tl, &d, &e) != DL_OK) {
            /* Say how to go on without data as well as what is missing. */
            code = cli_fail(EXIT_DATA, "%s (give --data DIR, or --no-data for a report of the model alone)", e.msg);
            goto done;
        }
        if (dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
    }
    char spath[4096];
    if (!snaps && dl_snapshot_path(model, spath, sizeof spath, &e) == DL_OK && dl_file_exists(spath)) snaps = spath;
    if (snaps) {
        if (dl_snapshots_load(snaps, &sn, &e) != DL_OK) goto fail;
        if (!dl_snapshots_of(sn, m)) {
            code = cli_fail(EXIT_DATA, "%s: the snapshots are of another training run than %s (give --snapshots FILE, "
                            "or move it away)", snaps, model);
            goto done;
        }
    }
    font = cli_font();
    const char *base = strrchr(model, '/');
    dl_report_opts o = dl_report_opts_defaults();
    o.title = title ? title : base ? base + 1 : model;
    o.test = d;
    o.font = font;
    o.threads = threads;
    o.misclassified = mistakes;
    o.top_k = top;
    o.maps = (size_t)maps;
    o.method = (dl_attr_method)method;
    o.snapshots = sn;
    o.per_map_scale = per_map;
    dl_report_summary s;
    if (dl_report_write(m, out, &o, &s, &e) != DL_OK) goto fail;
    if (!quiet) {
        char index[4200];
        cli_path(index, sizeof index, out, "index.html");
        printf("wrote %s and neurons.html: %d neuron card%s", index, s.cards, cli_s(s.cards));
        if (d)
            printf(", %d misclassified image%s explained, test accuracy %.2f%%", s.gallery, cli_s(s.gallery),
                   100.0 * s.accuracy);
        printf(" (%d files, %.1f MB) in %.2f s\n", s.files, s.bytes / 1e6, now_seconds() - t0);
        if (d && s.stats_n < s.test_n)
            printf("neuron statistics use the first %zu of %zu test images (memory limit)\n", s.stats_n, s.test_n);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_snapshots_free(sn);
    dl_font_free(font);
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
