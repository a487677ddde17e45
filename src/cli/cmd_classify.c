/*
 * cmd_classify.c — `digitlens classify`: the predicted digit, its
 * confidence (the winning output's activation) and every output, for
 * images picked from an IDX file by index.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/fileio.h"
#include "digitlens/digit.h"
#include "digitlens/image.h"
#include "digitlens/png.h"

/* Parses "3", "0,5,7" or "10-19" into a list of indices below n; with out
 * NULL only checks the syntax and gives the largest index in *last. */
static int parse_indices(const char *s, size_t n, size_t **out, size_t *count, size_t *last)
{
    size_t cap = 16, k = 0;
    size_t *v = out ? malloc(cap * sizeof *v) : NULL;
    if (out && !v) return cli_fail(EXIT_DATA, "out of memory");
    const char *p = s;
    *last = 0;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9') goto bad;
        unsigned long long a = strtoull(p, &end, 10), b = a;
        if (*end == '-') {
            const char *q = end + 1;
            if (*q < '0' || *q > '9') goto bad;
            b = strtoull(q, &end, 10);
        }
        if (b < a) goto bad;
        if (b > *last) *last = b > SIZE_MAX ? SIZE_MAX : (size_t)b;
        if (out && b >= n) {
            free(v);
            return cli_fail(EXIT_USAGE, "classify: --index %llu is out of range (the file has %zu images: 0..%zu)",
                            b, n, n ? n - 1 : 0);
        }
        for (unsigned long long i = a; out && i <= b; i++) {
            if (k == cap) {
                size_t *nv = realloc(v, (cap *= 2) * sizeof *v);
                if (!nv) {
                    free(v);
                    return cli_fail(EXIT_DATA, "out of memory");
                }
                v = nv;
            }
            v[k++] = (size_t)i;
        }
        if (*end == ',') end++;
        else if (*end) goto bad;
        p = end;
        k += !out; /* counts entries when only checking */
    }
    if (k == 0) goto bad;
    if (out) {
        *out = v;
        *count = k;
    }
    return EXIT_OK;
bad:
    free(v);
    return cli_fail(EXIT_USAGE, "classify: --index '%s': expected N, N,M,... or A-B", s);
}

static void print_result(const dl_model *m, const float *a, int json, const char *file, long index,
                         int label)
{
    int K = m->net->sizes[m->net->nlayers - 1], best = dl_argmax(a, K);
    if (json) {
        putchar('{');
        if (file) {
            printf("\"file\":");
            cli_json_string(file);
        } else {
            printf("\"index\":%ld", index);
        }
        if (label >= 0) printf(",\"label\":%d", label);
        printf(",\"digit\":%d,\"confidence\":%.6g,\"outputs\":", m->classes[best], a[best]);
        cli_json_floats(a, K);
        printf("}\n");
        return;
    }
    if (file) printf("%s: ", file);
    else printf("index %ld: ", index);
    printf("digit %d (confidence %.3f)", m->classes[best], a[best]);
    if (label >= 0) {
        /* A --digits model cannot get a label it has no output for wrong. */
        int known = 0;
        for (int k = 0; k < K; k++) known |= m->classes[k] == label;
        printf(", label %d%s", label, !known ? " (not a class of this model)"
                                      : label == m->classes[best] ? "" : "  MISCLASSIFIED");
    }
    printf("\n  outputs:");
    for (int k = 0; k < K; k++) printf(" %d:%.3f", m->classes[k], a[k]);
    putchar('\n');
}

int cmd_classify(int argc, char **argv)
{
    const char *model = NULL, *images = NULL, *labels = NULL, *index_s = "0", *save = NULL;
    int json = 0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model to use (required)", 0},
        {"images", OPT_STR, &images, 0, 0, "FILE", "an IDX image file (.gz or raw) (default: classify the IMAGE files given)", 0},
        {"labels", OPT_STR, &labels, 0, 0, "FILE", "its labels, to show next to each prediction (default: none shown)", 0},
        {"index", OPT_LIST, &index_s, 0, 0, "N|N,M|A-B", "which images of --images", 0},
        {"save-preprocessed", OPT_STR, &save, 0, 0, "DIR", "write the 28x28 each IMAGE became, as PNG (default: not written)", 0},
        {"json", OPT_FLAG, &json, 0, 0, NULL, "one JSON object per image per line", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "classify", "[IMAGE...]",
        "Classify digits with a trained model: image files (PNG, JPEG, BMP, GIF, PGM/PPM; any size,\n"
        "dark-on-light or light-on-dark; preprocessed like MNIST), or entries of an IDX file.",
        "  digitlens classify --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0\n"
        "  digitlens classify --model mnist.dlm --images t10k-images-idx3-ubyte.gz --index 0-9 --json\n"
        "  digitlens classify --model mnist.dlm my-seven.png photo-of-a-3.jpg", 1 << 20};
    char **pos = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *pos);
    if (!pos) return cli_fail(EXIT_DATA, "out of memory");
    int npos = 0;
    int rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc || !model || (!images) == (npos == 0)) {
        free(pos);
        if (rc) return rc < 0 ? EXIT_OK : rc;
        if (!model) return cli_fail(EXIT_USAGE, "classify: --model FILE is required");
        return cli_fail(EXIT_USAGE, "classify: give IMAGE files, or --images FILE (an IDX file) with --index N");
    }
    if ((rc = cli_out_dir(&cmd, "save-preprocessed", save))) {
        free(pos);
        return rc;
    }

    dl_err e = {0};
    dl_model *m = NULL;
    dl_dataset *d = NULL;
    dl_trace *t = NULL;
    float *x = NULL;
    size_t *idx = NULL, count = 0;
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    if (npos > 0) {
        if (!(x = malloc((size_t)m->net->sizes[0] * sizeof(float))) || !(t = dl_trace_new(m->net, &e))) {
            dl_err_set(&e, DL_ENOMEM, "out of memory");
            goto fail;
        }
        if (save && dl_mkdir_p(save, &e) != DL_OK) goto fail;
        for (int i = 0; i < npos; i++) {
            /* Each file on its own: one bad picture does not hide the others' answers. */
            if (dl_image_load_mnist(pos[i], m->rows, m->cols, x, &e) != DL_OK) {
                code = cli_fail_err(&e);
                continue;
            }
            print_result(m, dl_net_forward(m->net, x, t), json, pos[i], -1, -1);
            if (save) {
                const char *base = strrchr(pos[i], '/');
                char path[4096];
                cli_path(path, sizeof path, save, "%s.28x28.png", base ? base + 1 : pos[i]);
                if (dl_png_write_gray(path, x, m->cols, m->rows, 1, &e) != DL_OK) code = cli_fail_err(&e);
            }
        }
        goto done;
    }
    /* The file is read (and inflated) only as far as the last image asked
     * for: index 0 of a 10,000-image file costs one image, not 7.8 MB. */
    size_t last = 0, total = 0;
    if ((code = parse_indices(index_s, 0, NULL, NULL, &last)) != EXIT_OK) goto done;
    if (dl_idx_load_head(images, labels, last < SIZE_MAX ? last + 1 : last, &d, &total, &e) != DL_OK)
        goto fail;
    if (d->npix != (size_t)m->net->sizes[0]) {
        code = cli_fail(EXIT_DATA, "%s: images are %dx%d but %s expects %dx%d", images, d->rows, d->cols,
                        model, m->rows, m->cols);
        goto done;
    }
    if ((code = parse_indices(index_s, total, &idx, &count, &last)) != EXIT_OK) goto done;
    t = dl_trace_new(m->net, &e);
    x = malloc(d->npix * sizeof(float));
    if (!t || !x) {
        dl_err_set(&e, DL_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        dl_dataset_image(d, idx[i], x);
        const float *a = dl_net_forward(m->net, x, t);
        print_result(m, a, json, NULL, (long)idx[i], labels ? d->labels[idx[i]] : -1);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    free(pos);
    free(idx);
    free(x);
    dl_trace_free(t);
    dl_dataset_free(d);
    dl_model_free(m);
    return code;
}
