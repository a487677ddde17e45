/* test_onnx.c — ONNX out and back in: exact round trips for every
 * activation, what the metadata restores, and hostile files (truncated,
 * patched ops and shapes, nesting and repetition that protobuf-c alone
 * cannot survive) refused with one printable line and no model. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/onnx.h"
#include "digitlens/rng.h"
#include "support/support.h"

TestSuite(onnx);

/* A model with random parameters and the given activations. */
static dl_model *model_with(int nl, const int *sizes, int rows, int cols, const dl_act *acts, uint64_t seed)
{
    dl_err e;
    dl_model *m = dl_model_new(nl, sizes, rows, cols, &e);
    cr_assert_not_null(m, "%s", e.msg);
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    dl_net_init(m->net, DL_INIT_NORMAL, &rng);
    for (int l = 0; l + 1 < nl; l++) m->net->act[l] = acts[l];
    return m;
}

static unsigned char *encode(const dl_model *m, size_t *len)
{
    unsigned char *buf = NULL;
    dl_err e;
    cr_assert_eq(dl_onnx_encode(m, "test", &buf, len, &e), DL_OK, "%s", e.msg);
    return buf;
}

static dl_model *decode_ok(const unsigned char *buf, size_t len, dl_onnx_info *info)
{
    dl_model *m = NULL;
    dl_err e;
    cr_assert_eq(dl_onnx_decode(buf, len, "t.onnx", 0, 0, &m, info, &e), DL_OK, "%s", e.msg);
    return m;
}

static void same_model(const dl_model *a, const dl_model *b)
{
    cr_assert_eq(a->net->nlayers, b->net->nlayers);
    for (int l = 0; l < a->net->nlayers; l++) cr_assert_eq(a->net->sizes[l], b->net->sizes[l]);
    for (int l = 0; l + 1 < a->net->nlayers; l++) cr_assert_eq(a->net->act[l], b->net->act[l], "layer %d", l);
    cr_assert_eq(memcmp(a->net->params, b->net->params, a->net->nparams * sizeof(float)), 0, "parameters differ");
    cr_assert_eq(a->rows, b->rows);
    cr_assert_eq(a->cols, b->cols);
    cr_assert_eq(a->cost, b->cost);
}

Test(onnx, export_then_import_gives_identical_parameters_and_activations)
{
    static const int sizes[][5] = {{784, 30, 10}, {12, 7, 5, 3}, {6, 4, 4, 4, 2}};
    static const int nls[] = {3, 4, 5};
    static const dl_act acts[][4] = {
        {DL_ACT_SIGMOID, DL_ACT_SIGMOID},
        {DL_ACT_RELU, DL_ACT_TANH, DL_ACT_SOFTMAX},
        {DL_ACT_TANH, DL_ACT_RELU, DL_ACT_SIGMOID, DL_ACT_SOFTMAX},
    };
    static const dl_cost costs[] = {DL_COST_CROSS_ENTROPY, DL_COST_LOG_LIKELIHOOD, DL_COST_QUADRATIC};
    for (int c = 0; c < 3; c++) {
        int w = sizes[c][0];
        dl_model *m = model_with(nls[c], sizes[c], w == 784 ? 28 : 3, w == 784 ? 28 : w / 3, acts[c], 7 + (uint64_t)c);
        m->cost = costs[c];
        size_t len;
        unsigned char *buf = encode(m, &len);
        dl_onnx_info info;
        dl_model *back = decode_ok(buf, len, &info);
        same_model(m, back);
        cr_assert_eq(info.opset, DL_ONNX_OPSET);
        cr_assert_str_eq(info.producer, "digitlens test");
        cr_assert_eq(info.logits, 0);
        /* an imported model is an imported model: no history, initial = trained */
        cr_assert_eq(back->nhistory, 0);
        cr_assert_eq(memcmp(back->init_params, back->net->params, back->net->nparams * sizeof(float)), 0);
        /* and the same forward pass */
        dl_err e;
        dl_trace *t1 = dl_trace_new(m->net, &e), *t2 = dl_trace_new(back->net, &e);
        float x[784];
        for (int i = 0; i < w; i++) x[i] = (float)((i * 37) % 101) / 100.0f;
        const float *y1 = dl_net_forward(m->net, x, t1), *y2 = dl_net_forward(back->net, x, t2);
        cr_assert_eq(memcmp(y1, y2, (size_t)m->nclasses * sizeof(float)), 0);
        dl_trace_free(t1);
        dl_trace_free(t2);
        free(buf);
        dl_model_free(back);
        dl_model_free(m);
    }
}

Test(onnx, encoding_is_deterministic)
{
    static const int sizes[] = {9, 4, 3};
    static const dl_act acts[] = {DL_ACT_RELU, DL_ACT_SOFTMAX};
    dl_model *m = model_with(3, sizes, 3, 3, acts, 1);
    size_t a, b;
    unsigned char *p = encode(m, &a), *q = encode(m, &b);
    cr_assert_eq(a, b);
    cr_assert_eq(memcmp(p, q, a), 0);
    free(p);
    free(q);
    dl_model_free(m);
}

Test(onnx, metadata_restores_the_image_shape_and_chosen_classes)
{
    static const int sizes[] = {784, 5, 2};
    static const dl_act acts[] = {DL_ACT_SIGMOID, DL_ACT_SIGMOID};
    dl_model *m = model_with(3, sizes, 16, 49, acts, 2);
    m->classes[0] = 3, m->classes[1] = 8;
    m->flags |= DL_MODEL_SUBSET;
    size_t len;
    unsigned char *buf = encode(m, &len);
    dl_model *back = decode_ok(buf, len, NULL);
    cr_assert_eq(back->rows, 16);
    cr_assert_eq(back->cols, 49);
    cr_assert_eq(back->classes[0], 3);
    cr_assert_eq(back->classes[1], 8);
    cr_assert(back->flags & DL_MODEL_SUBSET);
    dl_model_free(back);
    /* the caller's shape wins over the file's */
    dl_err e;
    cr_assert_eq(dl_onnx_decode(buf, len, "t.onnx", 28, 28, &back, NULL, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(back->rows, 28);
    dl_model_free(back);
    cr_assert_eq(dl_onnx_decode(buf, len, "t.onnx", 5, 5, &back, NULL, &e), DL_EINVAL);
    cr_assert_null(back);
    free(buf);
    dl_model_free(m);
}

/* ---- hostile files ---------------------------------------------------- */

/* Decoding must fail with status want (0: any), leave no model, and give
 * one printable line containing needle. */
static void refused(const unsigned char *buf, size_t len, dl_status want, const char *needle)
{
    dl_model *m = (dl_model *)1;
    dl_err e = {0};
    dl_status st = dl_onnx_decode(buf, len, "bad.onnx", 0, 0, &m, NULL, &e);
    cr_assert_neq(st, DL_OK, "accepted (wanted: %s)", needle);
    if (want) cr_assert_eq(st, want, "status %d: %s", st, e.msg);
    cr_assert_null(m);
    cr_assert_eq(e.code, st);
    for (const char *p = e.msg; *p; p++) cr_assert((unsigned char)*p >= 0x20, "control character in: %s", e.msg);
    cr_assert(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
    cr_assert(strncmp(e.msg, "bad.onnx: ", 10) == 0, "message '%s' does not name the file", e.msg);
}

/* A copy of buf with the first occurrence of from (n bytes) replaced by to. */
static unsigned char *patched(const unsigned char *buf, size_t len, const void *from, const void *to, size_t n)
{
    unsigned char *p = malloc(len);
    memcpy(p, buf, len);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, from, n) == 0) {
            memcpy(p + i, to, n);
            return p;
        }
    cr_assert_fail("pattern not found");
    return NULL;
}

/* refused() on a copy of buf with from patched to to. */
static void refused_patched(const unsigned char *buf, size_t len, const void *from, const void *to, size_t n,
                            const char *needle)
{
    unsigned char *p = patched(buf, len, from, to, n);
    refused(p, len, DL_EFORMAT, needle);
    free(p);
}

static unsigned char *small_file(size_t *len)
{
    static const int sizes[] = {784, 30, 10};
    static const dl_act acts[] = {DL_ACT_RELU, DL_ACT_SOFTMAX};
    dl_model *m = model_with(3, sizes, 28, 28, acts, 3);
    unsigned char *buf = encode(m, len);
    dl_model_free(m);
    return buf;
}

Test(onnx, every_truncation_is_refused)
{
    size_t len;
    unsigned char *buf = small_file(&len);
    /* every cut up to the first kilobyte and then a spread of them */
    for (size_t cut = 0; cut < len; cut += cut < 1024 ? 1 : 997) {
        dl_model *m = NULL;
        dl_err e;
        cr_assert_neq(dl_onnx_decode(buf, cut, "cut.onnx", 0, 0, &m, NULL, &e), DL_OK, "cut at %zu accepted", cut);
        cr_assert_null(m);
    }
    refused(buf, len - 1, DL_EFORMAT, "truncated");
    free(buf);
}

Test(onnx, an_op_digitlens_does_not_read_is_refused_by_node_and_op)
{
    size_t len;
    unsigned char *buf = small_file(&len);
    refused_patched(buf, len, "\042\004Gemm", "\042\004Conv", 6, "node 'gemm0' (Conv) is not an op digitlens reads");
    refused_patched(buf, len, "Relu", "Selu", 4, "(Selu) is not an op");
    free(buf);
}

Test(onnx, shapes_that_do_not_chain_are_refused)
{
    size_t len;
    unsigned char *buf = small_file(&len);
    /* W0's dims [30, 784] -> [31, 784]: its data no longer fits */
    refused_patched(buf, len, "\x08\x1e\x08\x90\x06", "\x08\x1f\x08\x90\x06", 5,
                    "bytes of raw_data where its shape needs");
    /* W0 [30, 784] -> [30, 783]: the input has 784 values */
    refused_patched(buf, len, "\x08\x1e\x08\x90\x06", "\x08\x1e\x08\x8f\x06", 5,
                    "takes 783 inputs, but the layer before gives 784");
    /* huge dims: W0 [30, 16383] */
    refused_patched(buf, len, "\x08\x1e\x08\x90\x06", "\x08\x1e\x08\xff\x7f", 5, "takes 16383 inputs");
    /* the input's width: 784 -> 16383 */
    refused_patched(buf, len, "\x0a\x03\x12\x01N\x0a\x03\x08\x90\x06", "\x0a\x03\x12\x01N\x0a\x03\x08\xff\x7f", 10,
                    "takes 784 inputs, but the layer before gives 16383");
    free(buf);
}

Test(onnx, names_that_dangle_or_repeat_are_refused)
{
    size_t len;
    unsigned char *buf = small_file(&len);
    /* the second Gemm reads "a1"; call it "q1" and nothing provides it */
    refused_patched(buf, len, "\012\002a1\012\002W1", "\012\002q1\012\002W1", 8,
                    "reads 'q1', which no initialiser, graph input or node provides");
    /* the first Gemm writes "a1" too: produced twice */
    refused_patched(buf, len, "\022\002z1", "\022\002a1", 4, "produced twice");
    free(buf);
}

Test(onnx, a_non_finite_parameter_is_refused_both_ways)
{
    static const int sizes[] = {9, 4, 3};
    static const dl_act acts[] = {DL_ACT_TANH, DL_ACT_SIGMOID};
    dl_model *m = model_with(3, sizes, 3, 3, acts, 4);
    m->net->w[1][5] = 1234.5f;
    size_t len;
    unsigned char *buf = encode(m, &len);
    float nan = NAN, mark = 1234.5f;
    refused_patched(buf, len, &mark, &nan, 4, "layer 2's weight 'W1' holds a non-finite value at 5");
    m->net->w[1][5] = INFINITY;
    unsigned char *out = NULL;
    dl_err e;
    cr_assert_eq(dl_onnx_encode(m, "test", &out, &len, &e), DL_EINVAL);
    cr_assert_null(out);
    cr_assert(strstr(e.msg, "non-finite"), "%s", e.msg);
    free(buf);
    dl_model_free(m);
}

/* Writes a protobuf varint; returns its length. */
static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

Test(onnx, deep_nesting_is_refused_before_protobuf_c_recurses)
{
    /* ModelProto.graph, then (GraphProto.node, NodeProto.attribute,
     * AttributeProto.g) again and again: 4 MB of it overflows protobuf-c's
     * recursion; the walk stops at DL_ONNX_MAX_DEPTH. */
    enum { LEVELS = 300000 };
    static const unsigned fields[3] = {1, 5, 6};
    size_t nf = 1 + 3 * (size_t)LEVELS;
    uint64_t *sizes = malloc(nf * sizeof *sizes);
    unsigned char *heads = malloc(nf * 12), *buf = malloc(nf * 12);
    size_t *hl = malloc(nf * sizeof *hl);
    uint64_t inner = 0;
    for (size_t i = nf; i-- > 0;) {
        unsigned f = i == 0 ? 7 : fields[(i - 1) % 3];
        sizes[i] = inner;
        hl[i] = put_varint(heads + 12 * i, (uint64_t)f << 3 | 2);
        hl[i] += put_varint(heads + 12 * i + hl[i], inner);
        inner += hl[i];
    }
    size_t len = 0;
    for (size_t i = 0; i < nf; i++) {
        memcpy(buf + len, heads + 12 * i, hl[i]);
        len += hl[i];
    }
    refused(buf, len, DL_ELIMIT, "nested more than 16 deep");
    free(sizes);
    free(heads);
    free(hl);
    free(buf);
}

Test(onnx, a_singular_field_given_again_is_refused_before_protobuf_c_merges_it)
{
    /* 200,000 copies of "graph { node {} }": protobuf-c merges them in
     * quadratic time (minutes); refused at the second. */
    size_t n = 200000, len = 4 * n;
    unsigned char *buf = malloc(len);
    for (size_t i = 0; i < n; i++) memcpy(buf + 4 * i, "\x3a\x02\x0a\x00", 4);
    refused(buf, len, DL_EFORMAT, "ModelProto.graph is given twice");
    free(buf);
}

Test(onnx, many_small_records_are_refused_by_the_memory_bound)
{
    /* One graph of 4 million empty nodes: 8 MB of file that protobuf-c
     * would unpack into ~600 MB of structures; the pool refuses past
     * 2 x 8 MB + 16 MiB. */
    size_t n = 4u << 20, body = 2 * n;
    unsigned char *buf = malloc(body + 16);
    size_t len = 0;
    buf[len++] = 0x3a;
    len += put_varint(buf + len, body);
    for (size_t i = 0; i < n; i++) buf[len++] = 0x0a, buf[len++] = 0x00;
    refused(buf, len, DL_ELIMIT, "more small records than its size explains");
    free(buf);
}

Test(onnx, files_that_are_not_onnx_are_refused)
{
    refused((const unsigned char *)"", 0, DL_EFORMAT, "no graph");
    refused((const unsigned char *)"\x89PNG\r\n\x1a\n", 8, DL_EFORMAT, "not an ONNX model");
    refused((const unsigned char *)"{\"sizes\": [784, 30, 10]}", 24, DL_EFORMAT, "not an ONNX model");
}

Test(onnx, load_refuses_a_file_beyond_the_size_bound_without_reading_it)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "big.onnx");
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, (long)DL_ONNX_MAX_BYTES, SEEK_SET), 0);
    fputc(0, f);
    fclose(f);
    dl_model *m = NULL;
    dl_err e;
    cr_assert_neq(dl_onnx_load(path, 0, 0, &m, NULL, &e), DL_OK);
    cr_assert_null(m);
    cr_assert(strstr(e.msg, "big.onnx"), "%s", e.msg);
    remove(path);
    free(path);
    free(dir);
}
