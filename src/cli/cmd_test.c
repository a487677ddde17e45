/*
 * cmd_test.c — `digitlens test`: accuracy, per-class accuracy and the
 * confusion matrix of a saved model on a labelled data set.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "digitlens/train.h"

int cmd_test(int argc, char **argv)
{
    const char *model = NULL, *dir = "data/mnist", *images = NULL, *labels = NULL;
    int json = 0, threads = cli_ncores();
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model to test (required)", 0},
        {"data", OPT_STR, &dir, 0, 0, "DIR", "directory holding t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "test images (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "test labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"threads", OPT_INT, &threads, 1, 64, "N", "worker threads (default: the number of cores here)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL, "print one JSON object instead of tables", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {"test", "", "Score a model on a labelled test set.",
                                "  digitlens test --model mnist.dlm --data data/mnist\n"
                                "  digitlens test --model mnist.dlm --json", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_data_pair(&cmd, opts, "images", "labels"))) return rc;
    threads = cli_threads("test", threads, 0);
    if (!model) return cli_fail(EXIT_USAGE, "test: --model FILE is required");

    char b1[4096], b2[4096];
    const char *ti = cli_data_file(dir, "t10k-images-idx3-ubyte", images, b1, sizeof b1);
    const char *tl = cli_data_file(dir, "t10k-labels-idx1-ubyte", labels, b2, sizeof b2);
    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    dl_eval ev = {0};
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK || dl_idx_load(ti, tl, &d, &e) != DL_OK ||
        dl_model_fit_data(m, model, ti, tl, &d, &e) != DL_OK || dl_evaluate(m->net, d, m->cost, threads, &ev, &e) != DL_OK) {
        code = cli_fail_err(&e);
        goto done;
    }
    int K = ev.nclasses;
    if (json) {
        printf("{\"model\":");
        cli_json_string(model);
        printf(",\"accuracy\":%.6f,\"correct\":%zu,\"total\":%zu,\"cost\":%.6g,\"classes\":[",
               ev.total ? (double)ev.correct / ev.total : 0.0, ev.correct, ev.total, ev.cost);
        for (int k = 0; k < K; k++) printf("%s%d", k ? "," : "", m->classes[k]);
        printf("],\"per_class\":[");
        for (int k = 0; k < K; k++) {
            size_t row = 0;
            for (int j = 0; j < K; j++) row += ev.confusion[(size_t)k * K + j];
            printf("%s%.6f", k ? "," : "", row ? (double)ev.confusion[(size_t)k * K + k] / row : 0.0);
        }
        printf("],\"confusion\":[");
        for (int k = 0; k < K; k++) {
            printf("%s[", k ? "," : "");
            for (int j = 0; j < K; j++) printf("%s%u", j ? "," : "", ev.confusion[(size_t)k * K + j]);
            putchar(']');
        }
        printf("]}\n");
        goto done;
    }
    printf("%s on %s: %zu/%zu correct (%.2f%%), mean cost on these images %.4f\n\n", model, ti, ev.correct, ev.total,
           ev.total ? 100.0 * ev.correct / ev.total : 0.0, ev.cost);
    printf("per class:\n");
    for (int k = 0; k < K; k++) {
        size_t row = 0;
        for (int j = 0; j < K; j++) row += ev.confusion[(size_t)k * K + j];
        printf("  %3d: %5u/%-5zu %6.2f%%\n", m->classes[k], ev.confusion[(size_t)k * K + k], row,
               row ? 100.0 * ev.confusion[(size_t)k * K + k] / row : 0.0);
    }
    printf("\nconfusion matrix (rows: true label, columns: predicted):\n      ");
    for (int j = 0; j < K; j++) printf("%6d", m->classes[j]);
    putchar('\n');
    for (int k = 0; k < K; k++) {
        printf("  %3d ", m->classes[k]);
        for (int j = 0; j < K; j++) printf("%6u", ev.confusion[(size_t)k * K + j]);
        putchar('\n');
    }
done:
    dl_eval_free(&ev);
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
