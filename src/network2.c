/*
 * network2.c — the JSON Nielsen's network2.py saves, in and out (see
 * network2.h): the schema check walks the parsed nodes (json.h) and names
 * the first problem by path ("weights[1][4]"); the writer prints numbers
 * with 9 significant digits.
 */
#include "digitlens/network2.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

#include "buf.h"
#include "json.h"

/* ---- network2.py's schema ------------------------------------------- */

#define SCHEMA(...) dl_err_set(e, DL_EFORMAT, __VA_ARGS__)

/* The first element of a list that is not a number, as "a string" etc. */
static const char *first_non_number(const dl_json_doc *d, const dl_json_node *arr, size_t *index)
{
    size_t k = 0;
    for (size_t c = arr->a; c; c = d->nodes[c].next, k++)
        if (d->nodes[c].type != DL_JSON_NUM) {
            *index = k;
            return dl_json_type_name(&d->nodes[c]);
        }
    *index = 0;
    return "something else";
}

/* A list of exactly want numbers that fit float32: the values in *v. */
static dl_status number_list(const dl_json_doc *d, const dl_json_node *arr, size_t want, const char *name, const char *path,
                             const char *hint, const double **v, dl_err *e)
{
    if (arr->type != DL_JSON_ARR) return SCHEMA("%s: %s is %s, not a list of numbers (%s)", name, path, dl_json_type_name(arr), hint);
    if (!arr->packed) {
        size_t k;
        const char *what = first_non_number(d, arr, &k);
        return SCHEMA("%s: %s[%zu] is %s, not a number (%s)", name, path, k, what, hint);
    }
    if (arr->n != want)
        return SCHEMA("%s: %s has %zu numbers where %zu are expected (%s)", name, path, arr->n, want, hint);
    *v = d->nums + arr->a;
    for (size_t k = 0; k < want; k++)
        if (fabs((*v)[k]) > FLT_MAX)
            return SCHEMA("%s: %s[%zu] = %g does not fit a float32", name, path, k, (*v)[k]);
    return DL_OK;
}

/* weights or biases: L-1 lists of sizes[l+1] entries, each a list of
 * sizes[l] (weights) or 1 (biases) numbers, copied into the net. */
static dl_status layer_lists(const dl_json_doc *d, const dl_json_node *top, const char *key, const int *sizes, int L, dl_net *net,
                             const char *name, dl_err *e)
{
    int is_w = key[0] == 'w';
    const char *hint = is_w ? "weights[l] is sizes[l+1] rows of sizes[l] numbers, as network2.py saves it"
                            : "biases[l] is sizes[l+1] one-element lists like [0.5], as network2.py saves it";
    if (top->type != DL_JSON_ARR || (top->packed && top->n))
        return SCHEMA("%s: \"%s\" is %s, not a list of %s (%s)", name, key, dl_json_type_name(top),
                      is_w ? "matrices" : "columns", hint);
    if (top->n != (size_t)(L - 1))
        return SCHEMA("%s: \"%s\" holds %zu layers but \"sizes\" has %d layers, so %d are expected", name, key, top->n,
                      L, L - 1);
    int l = 0;
    for (size_t c = top->a; c; c = d->nodes[c].next, l++) {
        const dl_json_node *mat = &d->nodes[c];
        int rows = sizes[l + 1];
        if (mat->type != DL_JSON_ARR || (mat->packed && mat->n))
            return SCHEMA("%s: %s[%d] is %s, not a list of lists (%s)", name, key, l, dl_json_type_name(mat), hint);
        if (mat->n != (size_t)rows)
            return SCHEMA("%s: %s[%d] has %zu entries but sizes[%d] is %d (%s)", name, key, l, mat->n, l + 1, rows,
                          hint);
        float *dst = is_w ? net->w[l] : net->b[l];
        size_t width = is_w ? (size_t)sizes[l] : 1, j = 0;
        for (size_t r = mat->a; r; r = d->nodes[r].next, j++) {
            char path[64];
            snprintf(path, sizeof path, "%s[%d][%zu]", key, l, j);
            const double *v = NULL;
            dl_status st = number_list(d, &d->nodes[r], width, name, path, hint, &v, e);
            if (st != DL_OK) return st;
            for (size_t k = 0; k < width; k++) dst[j * width + k] = (float)v[k];
        }
    }
    return DL_OK;
}

/* The model from a parsed document (its text is no longer needed). */
static dl_status nielsen_build(const dl_json_doc *dp, const char *name, int rows, int cols, dl_model **out,
                               dl_err *e)
{
    *out = NULL;
    const dl_json_doc d = *dp;
    dl_status st = DL_OK;
    dl_model *m = NULL;
    const dl_json_node *root = &d.nodes[1];
    if (root->type != DL_JSON_OBJ) {
        st = SCHEMA("%s: the file holds %s, not an object (network2.py saves {\"sizes\": ..., \"weights\": ..., "
                    "\"biases\": ..., \"cost\": ...})", name, dl_json_type_name(root));
        goto done;
    }
    static const char *const KEYS[] = {"sizes", "weights", "biases", "cost"};
    const dl_json_node *k[4];
    for (int i = 0; i < 4; i++)
        if (!(k[i] = dl_json_member(&d, root, KEYS[i]))) {
            st = SCHEMA("%s: no \"%s\" key (network2.py saves sizes, weights, biases and cost)", name, KEYS[i]);
            goto done;
        }
    /* sizes */
    const dl_json_node *sz = k[0];
    if (sz->type != DL_JSON_ARR || !sz->packed || sz->n < 2 || sz->n > DL_MAX_LAYERS) {
        st = SCHEMA("%s: \"sizes\" is %s%s, not a list of 2..%d layer sizes", name, dl_json_type_name(sz),
                    sz->type == DL_JSON_ARR && sz->packed ? (sz->n < 2 ? " that is too short" : " that is too long") : "",
                    DL_MAX_LAYERS);
        goto done;
    }
    int L = (int)sz->n, sizes[DL_MAX_LAYERS];
    for (int l = 0; l < L; l++) {
        double v = d.nums[sz->a + (size_t)l];
        if (v != floor(v) || v < 1 || v > DL_MAX_WIDTH) {
            st = SCHEMA("%s: sizes[%d] = %g is not a layer size (a whole number 1..%d)", name, l, v, DL_MAX_WIDTH);
            goto done;
        }
        sizes[l] = (int)v;
    }
    if (sizes[L - 1] > 256) {
        st = SCHEMA("%s: %d outputs (digitlens models have at most 256 classes)", name, sizes[L - 1]);
        goto done;
    }
    dl_err sub;
    if (dl_net_check_sizes(L, sizes, &sub) != DL_OK) {
        st = dl_err_set(e, sub.code, "%s: \"sizes\" is impossible (%s)", name, sub.msg);
        goto done;
    }
    /* cost */
    dl_cost cost;
    const dl_json_node *cn = k[3];
    if (cn->type == DL_JSON_STR && cn->n == 16 && memcmp(d.strs + cn->a, "CrossEntropyCost", 16) == 0) {
        cost = DL_COST_CROSS_ENTROPY;
    } else if (cn->type == DL_JSON_STR && cn->n == 13 && memcmp(d.strs + cn->a, "QuadraticCost", 13) == 0) {
        cost = DL_COST_QUADRATIC;
    } else if (cn->type == DL_JSON_STR) {
        char shown[41];
        st = SCHEMA("%s: cost \"%s\" is not one digitlens knows (CrossEntropyCost or QuadraticCost)", name,
                    dl_err_shown(d.strs + cn->a, cn->n, shown, sizeof shown));
        goto done;
    } else {
        st = SCHEMA("%s: \"cost\" is %s, not a string (CrossEntropyCost or QuadraticCost)", name, dl_json_type_name(cn));
        goto done;
    }
    /* image shape */
    if (rows <= 0 || cols <= 0) {
        rows = sizes[0] == 784 ? 28 : 1;
        cols = sizes[0] == 784 ? 28 : sizes[0];
    } else if ((long)rows * cols != sizes[0]) {
        st = dl_err_set(e, DL_EINVAL, "%s: the input layer has %d neurons, not %dx%d = %ld (give the image shape "
                        "as rows x cols with that product)", name, sizes[0], rows, cols, (long)rows * cols);
        goto done;
    }
    m = dl_model_new(L, sizes, rows, cols, e);
    if (!m) {
        st = e ? e->code : DL_ENOMEM;
        goto done;
    }
    if ((st = layer_lists(&d, k[1], "weights", sizes, L, m->net, name, e)) != DL_OK ||
        (st = layer_lists(&d, k[2], "biases", sizes, L, m->net, name, e)) != DL_OK)
        goto done;
    m->cost = cost;
    m->init = DL_INIT_SCALED; /* network2.py's default_weight_initializer */
    st = dl_model_finish_import(m, e);
done:
    if (st != DL_OK) {
        dl_model_free(m);
        return st;
    }
    *out = m;
    return DL_OK;
}

dl_status dl_nielsen_decode(const char *text, size_t len, const char *name, int rows, int cols, dl_model **out,
                            dl_err *e)
{
    *out = NULL;
    dl_json_doc d;
    dl_status st = dl_json_parse(&d, text, len, name, e);
    if (st == DL_OK) st = nielsen_build(&d, name, rows, cols, out, e);
    dl_json_free(&d);
    return st;
}

dl_status dl_nielsen_load(const char *path, int rows, int cols, dl_model **out, dl_err *e)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_status st = dl_file_read_all(path, DL_JSON_MAX_BYTES, &buf, &len, e);
    if (st != DL_OK) return st;
    /* The text goes before the model comes: the two never share memory. */
    dl_json_doc d;
    st = dl_json_parse(&d, (const char *)buf, len, path, e);
    free(buf);
    d.s = NULL;
    if (st == DL_OK) st = nielsen_build(&d, path, rows, cols, out, e);
    dl_json_free(&d);
    return st;
}

/* ---- writing ------------------------------------------------------------ */

/* 9 significant digits bring a float32 back exactly. */
static void sb_float(dl_buf *b, float v)
{
    dl_buf_appendf(b, "%.9g", (double)v);
}

dl_status dl_nielsen_encode(const dl_model *m, char **out, size_t *len, dl_err *e)
{
    const dl_net *n = m->net;
    if (!dl_net_all_sigmoid(n) || (int)m->cost < 0 || m->cost > DL_COST_CROSS_ENTROPY)
        return dl_err_set(e, DL_EINVAL, "network2.py knows sigmoid layers with the quadratic or cross-entropy cost "
                          "only; this model has %s layers and the %s cost (export it to ONNX or .npy instead)",
                          dl_act_name(n->act[0]), dl_cost_name(m->cost) ? dl_cost_name(m->cost) : "unknown");
    for (size_t i = 0; i < n->nparams; i++)
        if (!isfinite(n->params[i]))
            return dl_err_set(e, DL_EINVAL, "the model holds a non-finite parameter (JSON has no NaN or infinity)");
    dl_buf b = {0};
    char t[32];
    dl_buf_puts(&b, "{\"sizes\": [");
    for (int l = 0; l < n->nlayers; l++) {
        snprintf(t, sizeof t, "%s%d", l ? ", " : "", n->sizes[l]);
        dl_buf_puts(&b, t);
    }
    dl_buf_puts(&b, "], \"weights\": [");
    for (int l = 0; l + 1 < n->nlayers; l++) {
        int in = n->sizes[l], o = n->sizes[l + 1];
        dl_buf_puts(&b, l ? ", [" : "[");
        for (int j = 0; j < o; j++) {
            dl_buf_puts(&b, j ? ", [" : "[");
            for (int k = 0; k < in; k++) {
                if (k) dl_buf_append(&b, ", ", 2);
                sb_float(&b, n->w[l][(size_t)j * in + k]);
            }
            dl_buf_puts(&b, "]");
        }
        dl_buf_puts(&b, "]");
    }
    dl_buf_puts(&b, "], \"biases\": [");
    for (int l = 0; l + 1 < n->nlayers; l++) {
        dl_buf_puts(&b, l ? ", [" : "[");
        for (int j = 0; j < n->sizes[l + 1]; j++) {
            dl_buf_puts(&b, j ? ", [" : "[");
            sb_float(&b, n->b[l][j]);
            dl_buf_puts(&b, "]");
        }
        dl_buf_puts(&b, "]");
    }
    dl_buf_puts(&b, "], \"cost\": \"");
    dl_buf_puts(&b, m->cost == DL_COST_CROSS_ENTROPY ? "CrossEntropyCost" : "QuadraticCost");
    dl_buf_puts(&b, "\"}");
    *out = dl_buf_take(&b, len);
    if (!*out) return dl_err_set(e, DL_ENOMEM, "out of memory writing JSON");
    return DL_OK;
}

dl_status dl_nielsen_save(const dl_model *m, const char *path, dl_err *e)
{
    char *p = NULL;
    size_t n = 0;
    dl_status st = dl_nielsen_encode(m, &p, &n, e);
    return st != DL_OK ? st : dl_file_write_atomic_free(path, p, n, e);
}
