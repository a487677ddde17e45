/*
 * cmd_explore.c — `digitlens explore`: the offline page where you draw a
 * digit and watch the network think (explore.h writes it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/explore.h"

int cmd_explore(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *dir = NULL, *images = NULL, *labels = NULL, *title = NULL;
    int samples = 100, quiet = 0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model to explore (required)", 0},
        {"out", OPT_STR, &out, 0, 0, "DIR", "folder for explore.html (required; created if missing)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR",
         "embed test digits from t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] here "
         "(default: none, only the drawing pad)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "test images to embed (default: the one in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "their labels (default: the one in --data)", 0},
        {"samples", OPT_INT, &samples, 1, DL_EXPLORE_MAX_SAMPLES, "N",
         "test digits to embed, the misclassified ones first (up to half)", 0},
        {"title", OPT_STR, &title, 0, 0, "TEXT", "heading of the page (default: the model's file name)", 0},
        {"quiet", OPT_FLAG, &quiet, 0, 0, NULL, "print nothing but errors", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "explore", "",
        "Write explore.html, one self-contained page (no network, no external files) where you draw\n"
        "a digit and watch the network respond live: the 28x28 it sees, every hidden neuron, the ten\n"
        "outputs, the hidden votes and input x gradient of the answer.  Click a hidden neuron for its\n"
        "weights, input x weights and votes, and lesion it to see what changes.  With --data the page\n"
        "also holds test digits, the misclassified ones first.  A report written into the same\n"
        "folder links to the page, and the page to it.",
        "  digitlens explore --model mnist.dlm --data data/mnist --out report/\n"
        "  digitlens explore --model mnist.dlm --out explorer/ --title 'my network'", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_out_dir(&cmd, "out", out))) return rc;
    if ((rc = cli_require(&cmd, opts, "model,out"))) return rc;
    if (cli_seen(opts, &samples) && !dir && !images)
        return cli_fail(EXIT_USAGE, "explore: --samples needs test digits (give --data DIR or --images FILE)");
    if ((images != NULL) != (labels != NULL) && !dir)
        return cli_fail(EXIT_USAGE, "explore: --images and --labels go together (or give --data DIR)");

    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    int code = EXIT_OK;
    char b1[4096], b2[4096];
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (dir || images) {
        const char *ti = cli_data_file(dir ? dir : ".", "t10k-images-idx3-ubyte", images, b1, sizeof b1);
        const char *tl = cli_data_file(dir ? dir : ".", "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
        if (dl_idx_load(ti, tl, &d, &e) != DL_OK || dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK) goto fail;
    }
    const char *base = strrchr(model, '/');
    dl_explore_opts o = dl_explore_opts_defaults();
    o.title = title ? title : base ? base + 1 : model;
    o.test = d;
    o.samples = d ? samples : 0;
    dl_explore_summary s;
    if (dl_explore_write(m, out, &o, &s, &e) != DL_OK) goto fail;
    if (!quiet) {
        printf("wrote %s/%s (%.2f MB)", out, DL_EXPLORE_FILE, s.bytes / 1e6);
        if (d) printf(" with %d test digits, %d of them misclassified", s.samples, s.misclassified);
        printf("%s\n", s.report ? "; it and the report beside it link to each other" : "");
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
