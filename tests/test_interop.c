/* test_interop.c — .npy files NumPy would read, and network2.py's JSON in
 * and out: known answers, exact round trips, and every way a file can be
 * broken being refused with a message that says where. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/network2.h"
#include "digitlens/npy.h"
#include "support/support.h"

TestSuite(interop);

/* A model with distinct, recognisable parameters: W[l][j][k] = l + j/10 + k/1000. */
static dl_model *numbered_model(int nl, const int *sizes, int rows, int cols)
{
    dl_err e;
    dl_model *m = dl_model_new(nl, sizes, rows, cols, &e);
    cr_assert_not_null(m, "%s", e.msg);
    for (int l = 0; l + 1 < nl; l++) {
        for (int j = 0; j < sizes[l + 1]; j++) {
            for (int k = 0; k < sizes[l]; k++)
                m->net->w[l][(size_t)j * sizes[l] + k] = (float)l + 0.1f * (float)j + 0.001f * (float)k;
            m->net->b[l][j] = -(float)l - 0.5f * (float)j;
        }
    }
    return m;
}

/* ---- .npy ------------------------------------------------------------- */

Test(interop, npy_header_is_version_1_float32_c_order_and_64_byte_aligned)
{
    float v[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {2, 3};
    unsigned char *p;
    size_t n;
    dl_err e;
    cr_assert_eq(dl_npy_encode(v, 2, shape, &p, &n, &e), DL_OK, "%s", e.msg);
    cr_assert(memcmp(p, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = p[8] | (size_t)p[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0, "data starts at %zu", 10 + hlen);
    cr_assert_eq(n, 10 + hlen + 24);
    cr_assert_eq(p[10 + hlen - 1], '\n');
    char dict[256];
    memcpy(dict, p + 10, 60);
    dict[60] = '\0';
    cr_assert(strstr(dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") == dict, "%s", dict);
    /* Little-endian float32: 1.0f is 00 00 80 3f. */
    cr_assert(memcmp(p + 10 + hlen, "\x00\x00\x80\x3f", 4) == 0);
    free(p);
}

Test(interop, npy_one_dimensional_shape_is_a_python_one_tuple)
{
    float v[3] = {0};
    size_t shape[1] = {3};
    unsigned char *p;
    size_t n;
    cr_assert_eq(dl_npy_encode(v, 1, shape, &p, &n, NULL), DL_OK);
    int found = 0;
    for (size_t i = 0; i + 16 <= n && !found; i++) found = memcmp(p + i, "'shape': (3,), }", 16) == 0;
    cr_assert(found);
    free(p);
}

Test(interop, npy_parse_reads_back_what_encode_wrote)
{
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i * 0.25f - 3.0f;
    size_t shape[3] = {2, 3, 4};
    unsigned char *p;
    size_t n;
    dl_err e;
    cr_assert_eq(dl_npy_encode(v, 3, shape, &p, &n, &e), DL_OK);
    dl_npy_info info;
    cr_assert_eq(dl_npy_parse_header(p, n, "x.npy", &info, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(info.major, 1);
    cr_assert_str_eq(info.descr, "<f4");
    cr_assert_eq(info.fortran_order, 0);
    cr_assert_eq(info.ndim, 3);
    cr_assert(info.shape[0] == 2 && info.shape[1] == 3 && info.shape[2] == 4);
    cr_assert_eq(info.count, 24);
    cr_assert_eq(info.data_offset % 64, 0);
    free(p);
}

Test(interop, npy_parse_accepts_numpy_variants_and_refuses_damage)
{
    /* As NumPy 1.x writes a 2-D float64 array, keys in its order, padded to 16. */
    char h[128];
    const char *dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 1), }";
    size_t hl = strlen(dict) + 1, pad = (16 - (10 + hl) % 16) % 16;
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (char)(hl + pad);
    h[9] = 0;
    memcpy(h + 10, dict, strlen(dict));
    memset(h + 10 + strlen(dict), ' ', pad);
    h[10 + hl + pad - 1] = '\n';
    size_t n = 10 + hl + pad + 16;
    unsigned char *buf = calloc(1, n);
    memcpy(buf, h, n - 16);
    dl_npy_info info;
    dl_err e;
    cr_assert_eq(dl_npy_parse_header(buf, n, "a.npy", &info, &e), DL_OK, "%s", e.msg);
    cr_assert_str_eq(info.descr, "<f8");
    cr_assert_eq(info.fortran_order, 1);
    cr_assert_eq(info.count, 2);
    /* One byte short of the data it promises. */
    cr_assert_eq(dl_npy_parse_header(buf, n - 1, "a.npy", &info, &e), DL_EFORMAT);
    cr_assert(strstr(e.msg, "a.npy: the header promises 16 bytes") == e.msg, "%s", e.msg);
    buf[1] = 'X';
    cr_assert_eq(dl_npy_parse_header(buf, n, "a.npy", &info, &e), DL_EFORMAT);
    cr_assert(strstr(e.msg, "bad magic"), "%s", e.msg);
    free(buf);
}

Test(interop, export_npy_gives_weights_out_by_in_and_biases_as_columns)
{
    int sizes[] = {6, 4, 3};
    dl_model *m = numbered_model(3, sizes, 2, 3);
    char *dir = ts_tempdir();
    int files = 0;
    dl_err e;
    cr_assert_eq(dl_model_export_npy(m, dir, &files, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(files, 4);
    for (int l = 0; l < 2; l++) {
        char name[32];
        snprintf(name, sizeof name, "weights%d.npy", l);
        char *path = ts_path(dir, name);
        dl_npy_info info;
        float *w;
        cr_assert_eq(dl_npy_read(path, &info, &w, &e), DL_OK, "%s", e.msg);
        cr_assert_eq(info.ndim, 2);
        cr_assert_eq(info.shape[0], (size_t)sizes[l + 1], "weights%d rows", l);
        cr_assert_eq(info.shape[1], (size_t)sizes[l], "weights%d columns", l);
        /* weights[l][j][k]: input k to neuron j, as network.py indexes it. */
        for (int j = 0; j < sizes[l + 1]; j++)
            for (int k = 0; k < sizes[l]; k++)
                cr_assert_eq(w[(size_t)j * sizes[l] + k], (float)l + 0.1f * (float)j + 0.001f * (float)k);
        free(w);
        free(path);
        snprintf(name, sizeof name, "biases%d.npy", l);
        path = ts_path(dir, name);
        cr_assert_eq(dl_npy_read(path, &info, &w, &e), DL_OK, "%s", e.msg);
        cr_assert(info.ndim == 2 && info.shape[0] == (size_t)sizes[l + 1] && info.shape[1] == 1);
        for (int j = 0; j < sizes[l + 1]; j++) cr_assert_eq(w[j], -(float)l - 0.5f * (float)j);
        free(w);
        free(path);
    }
    free(dir);
    dl_model_free(m);
}

/* ---- network2.py JSON ------------------------------------------------- */

/* Exactly what network2.py's save() writes for sizes [4, 3, 2] (json.dump's
 * separators, Python's float repr). */
static const char NET2[] =
    "{\"sizes\": [4, 3, 2], \"weights\": [[[0.1, -0.2, 0.30000000000000004, 1e-05], "
    "[-1.5, 2.25, 0.0, -0.0], [3.0, -3.0, 0.5, -0.5]], [[1.0, 2.0, 3.0], [-1.0, -2.0, -3.5]]], "
    "\"biases\": [[[0.5], [-0.25], [1.75]], [[-1.0], [2.0]]], \"cost\": \"CrossEntropyCost\"}";

static dl_status decode(const char *text, int rows, int cols, dl_model **m, dl_err *e)
{
    return dl_nielsen_decode(text, strlen(text), "net.json", rows, cols, m, e);
}

Test(interop, nielsen_reads_what_network2_saves)
{
    dl_model *m;
    dl_err e;
    cr_assert_eq(decode(NET2, 0, 0, &m, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(m->net->nlayers, 3);
    cr_assert(m->net->sizes[0] == 4 && m->net->sizes[1] == 3 && m->net->sizes[2] == 2);
    cr_assert(m->rows == 1 && m->cols == 4, "default shape 1 x n, got %dx%d", m->rows, m->cols);
    cr_assert_eq(m->cost, DL_COST_CROSS_ENTROPY);
    cr_assert_eq(m->net->w[0][2], 0.3f);
    cr_assert_eq(m->net->w[0][3], 1e-5f);
    cr_assert_eq(m->net->w[0][1 * 4 + 1], 2.25f);
    cr_assert_eq(m->net->w[1][1 * 3 + 2], -3.5f);
    cr_assert_eq(m->net->b[0][2], 1.75f);
    cr_assert_eq(m->net->b[1][1], 2.0f);
    cr_assert_eq(m->nhistory, 0);
    cr_assert_eq(memcmp(m->init_params, m->net->params, m->net->nparams * sizeof(float)), 0);
    dl_model_free(m);
    cr_assert_eq(decode(NET2, 2, 2, &m, &e), DL_OK, "%s", e.msg);
    cr_assert(m->rows == 2 && m->cols == 2);
    dl_model_free(m);
    cr_assert_eq(decode(NET2, 3, 2, &m, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "the input layer has 4 neurons, not 3x2"), "%s", e.msg);
}

Test(interop, nielsen_imported_model_survives_save_and_load)
{
    dl_model *m, *back;
    dl_err e;
    cr_assert_eq(decode(NET2, 2, 2, &m, &e), DL_OK, "%s", e.msg);
    char *dir = ts_tempdir(), *path = ts_path(dir, "net.dlm");
    cr_assert_eq(dl_model_save(m, path, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_model_load(path, &back, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(memcmp(back->net->params, m->net->params, m->net->nparams * sizeof(float)), 0);
    cr_assert_eq(back->cost, DL_COST_CROSS_ENTROPY);
    dl_model_free(back);
    dl_model_free(m);
    free(path);
    free(dir);
}

Test(interop, nielsen_784_inputs_are_a_28x28_image)
{
    int sizes[] = {784, 2, 2};
    dl_model *m = numbered_model(3, sizes, 28, 28);
    char *text;
    size_t len;
    dl_err e;
    cr_assert_eq(dl_nielsen_encode(m, &text, &len, &e), DL_OK);
    dl_model *back;
    cr_assert_eq(dl_nielsen_decode(text, len, "x.json", 0, 0, &back, &e), DL_OK, "%s", e.msg);
    cr_assert(back->rows == 28 && back->cols == 28);
    dl_model_free(back);
    dl_model_free(m);
    free(text);
}

Test(interop, nielsen_encode_then_decode_is_exact)
{
    int sizes[] = {5, 7, 4, 3};
    dl_model *m = numbered_model(4, sizes, 1, 5);
    dl_rng r;
    dl_rng_seed(&r, 7);
    for (size_t i = 0; i < m->net->nparams; i++) /* awkward floats: tiny, huge, negative zero */
        m->net->params[i] = (float)(dl_rng_normal(&r) * pow(10.0, (double)(i % 13) - 6.0));
    m->net->params[3] = -0.0f;
    m->cost = DL_COST_QUADRATIC;
    char *text;
    size_t len;
    dl_err e;
    cr_assert_eq(dl_nielsen_encode(m, &text, &len, &e), DL_OK);
    cr_assert(strstr(text, "{\"sizes\": [5, 7, 4, 3], \"weights\": [[[") == text);
    cr_assert(strstr(text, "\"cost\": \"QuadraticCost\"}"));
    dl_model *back;
    cr_assert_eq(dl_nielsen_decode(text, len, "x.json", 0, 0, &back, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(memcmp(back->net->params, m->net->params, m->net->nparams * sizeof(float)), 0,
                 "parameters changed in the round trip");
    cr_assert_eq(back->cost, DL_COST_QUADRATIC);
    dl_model_free(back);
    dl_model_free(m);
    free(text);
}

Test(interop, nielsen_tolerates_whitespace_escapes_bom_and_extra_keys)
{
    const char *text =
        "\xEF\xBB\xBF\r\n{ \"eta\" : 0.5 ,\"comment\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\n\", \"extra\": [true, "
        "false, null, {}, []],\n\t\"sizes\":[2,1],\"weights\":[[[ 1E2 , -2.5e-1 ]]],\"biases\":[[[0]]],"
        "\"cost\":\"\\u0051uadraticCost\"}\n";
    dl_model *m;
    dl_err e;
    cr_assert_eq(decode(text, 0, 0, &m, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(m->net->w[0][0], 100.0f);
    cr_assert_eq(m->net->w[0][1], -0.25f);
    cr_assert_eq(m->cost, DL_COST_QUADRATIC, "the escaped Q was not decoded");
    dl_model_free(m);
}

/* Each broken variant is refused with DL_EFORMAT (or DL_ELIMIT) and a
 * message naming the file and containing want. */
static void refused(const char *text, const char *want)
{
    dl_model *m = NULL;
    dl_err e;
    dl_err_clear(&e);
    dl_status st = decode(text, 0, 0, &m, &e);
    cr_assert(st == DL_EFORMAT || st == DL_ELIMIT, "accepted (%d): %s", st, text);
    cr_assert_null(m);
    cr_assert(strncmp(e.msg, "net.json: ", 10) == 0, "message lacks the file name: %s", e.msg);
    cr_assert(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg, want);
}

#define W_OK "\"weights\": [[[1, 2]]]"
#define B_OK "\"biases\": [[[0.5]]]"
#define C_OK "\"cost\": \"QuadraticCost\""
#define S_OK "\"sizes\": [2, 1]"

Test(interop, nielsen_refuses_missing_keys)
{
    refused("{" W_OK ", " B_OK ", " C_OK "}", "no \"sizes\" key");
    refused("{" S_OK ", " B_OK ", " C_OK "}", "no \"weights\" key");
    refused("{" S_OK ", " W_OK ", " C_OK "}", "no \"biases\" key");
    refused("{" S_OK ", " W_OK ", " B_OK "}", "no \"cost\" key");
    refused("[1, 2]", "holds a list of numbers, not an object");
    refused("", "empty file");
    refused("  \n ", "empty file");
}

Test(interop, nielsen_refuses_ragged_and_wrongly_sized_arrays)
{
    /* ragged: the second row is short */
    refused("{\"sizes\": [2, 2, 1], \"weights\": [[[1, 2], [3]], [[1, 2]]], \"biases\": [[[0], [0]], [[0]]], " C_OK
            "}",
            "weights[0][1] has 1 numbers where 2 are expected");
    refused("{\"sizes\": [2, 2, 1], \"weights\": [[[1, 2]], [[1, 2]]], \"biases\": [[[0], [0]], [[0]]], " C_OK "}",
            "weights[0] has 1 entries but sizes[1] is 2");
    refused("{\"sizes\": [2, 2, 1], \"weights\": [[[1, 2], [3, 4]]], \"biases\": [[[0], [0]], [[0]]], " C_OK "}",
            "\"weights\" holds 1 layers but \"sizes\" has 3 layers, so 2 are expected");
    refused("{" S_OK ", " W_OK ", \"biases\": [[0.5]], " C_OK "}", "biases[0] is a list of numbers, not a list of lists");
    refused("{" S_OK ", " W_OK ", \"biases\": [[[0.5, 1]]], " C_OK "}", "biases[0][0] has 2 numbers where 1 are expected");
    refused("{" S_OK ", \"weights\": [[1, 2]], " B_OK ", " C_OK "}", "weights[0] is a list of numbers, not a list of lists");
    refused("{\"sizes\": [2], " W_OK ", " B_OK ", " C_OK "}", "\"sizes\" is a list of numbers that is too short");
    refused("{\"sizes\": [2, 0], " W_OK ", " B_OK ", " C_OK "}", "sizes[1] = 0 is not a layer size");
    refused("{\"sizes\": [2, 1.5], " W_OK ", " B_OK ", " C_OK "}", "sizes[1] = 1.5 is not a layer size");
    refused("{\"sizes\": [2, 300], " W_OK ", " B_OK ", " C_OK "}", "300 outputs");
    refused("{\"sizes\": [2, 1], \"weights\": [[[1e39, 2]]], " B_OK ", " C_OK "}", "does not fit a float32");
}

Test(interop, nielsen_refuses_non_numbers_where_numbers_belong)
{
    refused("{" S_OK ", \"weights\": [[[1, \"2\"]]], " B_OK ", " C_OK "}", "weights[0][0][1] is a string, not a number");
    refused("{" S_OK ", \"weights\": [[[null, 2]]], " B_OK ", " C_OK "}", "weights[0][0][0] is null, not a number");
    refused("{" S_OK ", \"weights\": [[[1, true]]], " B_OK ", " C_OK "}", "weights[0][0][1] is true, not a number");
    refused("{" S_OK ", \"weights\": [[[1, [2]]]], " B_OK ", " C_OK "}", "weights[0][0][1] is a list");
    refused("{" S_OK ", \"weights\": [[[1, NaN]]], " B_OK ", " C_OK "}", "Infinity and NaN are not JSON numbers");
    refused("{" S_OK ", \"weights\": [[[1, -Infinity]]], " B_OK ", " C_OK "}", "Infinity and NaN");
    refused("{" S_OK ", " W_OK ", " B_OK ", \"cost\": \"LogLikelihood\"}", "cost \"LogLikelihood\" is not one digitlens knows");
    refused("{" S_OK ", " W_OK ", " B_OK ", \"cost\": 3}", "\"cost\" is a number, not a string");
    refused("{\"sizes\": \"784\", " W_OK ", " B_OK ", " C_OK "}", "\"sizes\" is a string");
}

Test(interop, nielsen_refuses_malformed_json_with_line_and_column)
{
    refused("{\"sizes\": [2, 1],\n \"weights\": [[[1 2]]]}", "line 2, column 18: expected ',' or ']'");
    refused("{\"sizes\": [2, 1,]}", "expected a value, found ']'");
    refused("{\"sizes\": [01]}", "expected ',' or ']'");
    refused("{\"sizes\": [.5]}", "expected a value, found '.'");
    refused("{\"sizes\": [1.]}", "a number needs a digit after its '.'");
    refused("{\"sizes\": [+1]}", "expected a value, found '+'");
    refused("{'sizes': [1]}", "expected a key in double quotes, found '''");
    refused("{\"sizes\" [1]}", "expected ':' after the key");
    refused("{\"a\": 1, \"a\": 2}", "the key \"a\" appears twice");
    refused("{\"a\": \"x\\qy\"}", "unknown escape '\\q'");
    refused("{\"a\": \"\\ud83d\"}", "without its low half");
    refused("{\"a\": \"tab\there\"}", "a raw control character");
    refused("{\"a\": tru}", "unexpected word");
    refused("{} {}", "text after the end of the JSON value");
    refused("{\"a\": 1e999}", "out of range");
    refused("{\"a\": \xff}", "found byte 0xff");
}

/* Found by fuzz_json: an escaped tab in a string reached the message. */
Test(interop, nielsen_messages_show_control_characters_from_the_file_as_question_marks)
{
    refused("{\"sizes\": [1, 1], \"weights\": [[[1]]], \"biases\": [[[0]]], \"cost\": \"Cross\\tEntropy\\u0007\"}",
            "cost \"Cross?Entropy?\" is not one digitlens knows");
    refused("{\"a\\n\": 1, \"a\\n\": 2}", "the key \"a?\" appears twice");
}

Test(interop, nielsen_refuses_nesting_beyond_the_limit)
{
    size_t depth = DL_JSON_MAX_DEPTH + 5;
    char *t = malloc(2 * depth + 32);
    size_t n = 0;
    n += (size_t)sprintf(t, "{\"a\": ");
    for (size_t i = 0; i < depth; i++) t[n++] = '[';
    for (size_t i = 0; i < depth; i++) t[n++] = ']';
    t[n++] = '}';
    t[n] = '\0';
    refused(t, "nested deeper than 64 levels");
    free(t);
}

Test(interop, every_truncation_of_a_valid_file_is_refused_as_truncated)
{
    size_t len = strlen(NET2);
    for (size_t cut = 0; cut < len; cut++) {
        dl_model *m = NULL;
        dl_err e;
        dl_err_clear(&e);
        dl_status st = dl_nielsen_decode(NET2, cut, "net.json", 0, 0, &m, &e);
        cr_assert_neq(st, DL_OK, "a prefix of %zu bytes was accepted", cut);
        cr_assert(strstr(e.msg, "truncated") || strstr(e.msg, "empty file"), "prefix of %zu bytes: %s", cut, e.msg);
    }
}

Test(interop, nielsen_load_reads_a_file_and_names_it)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "n.json");
    ts_write(path, NET2, strlen(NET2), 1); /* gzip is fine too */
    dl_model *m;
    dl_err e;
    cr_assert_eq(dl_nielsen_load(path, 0, 0, &m, &e), DL_OK, "%s", e.msg);
    dl_model_free(m);
    ts_write(path, "{\"sizes\": [", 11, 0);
    cr_assert_eq(dl_nielsen_load(path, 0, 0, &m, &e), DL_EFORMAT);
    cr_assert(strncmp(e.msg, path, strlen(path)) == 0, "%s", e.msg);
    free(path);
    free(dir);
}
