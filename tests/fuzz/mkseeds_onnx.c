/*
 * mkseeds_onnx.c — the ONNX part of mkseeds (DIR/onnx, for fuzz_onnx;
 * each file starts with the harness's shape byte): digitlens's own exports
 * of small networks (every activation, metadata with an image shape and
 * chosen classes), and small graphs in the shapes torch.onnx.export
 * writes, built with the structures protoc-c generated from onnx.proto
 * and packed by protobuf-c: MatMul + Add, Flatten, Reshape of a Constant
 * and of Shape/Gather/Unsqueeze/Concat, Gemm with transB 0, alpha and
 * beta, no bias or a [1, out] bias, Identity, float_data, initialisers
 * also listed as inputs, older and newer opsets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/onnx.h"

#include "mkseeds.h"
#include "onnx.pb-c.h"

/* Everything a seed points to lives in one arena, dropped after packing. */
static unsigned char g_arena[1 << 18];
static size_t g_used;

static void *grab(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > sizeof g_arena - g_used) die("mkseeds_onnx: arena full");
    void *p = g_arena + g_used;
    g_used += n;
    memset(p, 0, n);
    return p;
}

static char *str(const char *s)
{
    return strcpy(grab(strlen(s) + 1), s);
}

/* A float tensor [r, c] (c = 0: [r]) of values that differ, as raw_data or float_data. */
static Onnx__TensorProto *ftensor(const char *name, int r, int c, int as_floats)
{
    Onnx__TensorProto *t = grab(sizeof *t);
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    t->name = str(name);
    t->n_dims = c ? 2 : 1;
    t->dims = grab(2 * sizeof *t->dims);
    t->dims[0] = r, t->dims[1] = c;
    t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    size_t n = (size_t)r * (size_t)(c ? c : 1);
    float *v = grab(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (float)sin(1.0 + (double)i * 0.7);
    if (as_floats) {
        t->n_float_data = n, t->float_data = v;
    } else {
        t->has_raw_data = 1, t->raw_data.len = n * 4, t->raw_data.data = (uint8_t *)v; /* little-endian here */
    }
    return t;
}

static Onnx__TensorProto *itensor(const char *name, int n, const int64_t *v)
{
    Onnx__TensorProto *t = grab(sizeof *t);
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    t->name = str(name);
    t->n_dims = 1;
    t->dims = grab(sizeof *t->dims);
    t->dims[0] = n;
    t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->n_int64_data = (size_t)n;
    t->int64_data = grab((size_t)n * sizeof *v);
    memcpy(t->int64_data, v, (size_t)n * sizeof *v);
    return t;
}

/* A node of op with comma-separated inputs and one output. */
static Onnx__NodeProto *node(const char *op, const char *inputs, const char *output)
{
    Onnx__NodeProto *n = grab(sizeof *n);
    *n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    n->op_type = str(op);
    n->name = str(output);
    n->input = grab(8 * sizeof *n->input);
    for (const char *p = inputs; *p && n->n_input < 8;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        n->input[n->n_input] = grab(len + 1);
        memcpy(n->input[n->n_input++], p, len);
        p += len + (end != NULL);
    }
    n->n_output = 1;
    n->output = grab(sizeof *n->output);
    n->output[0] = str(output);
    n->attribute = grab(4 * sizeof *n->attribute);
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = grab(sizeof *a);
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = str(name);
    a->has_type = 1, a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static Onnx__NodeProto *attr_i(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1, a->i = v;
    return n;
}

static Onnx__NodeProto *attr_f(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1, a->f = v;
    return n;
}

static Onnx__NodeProto *constant(const char *output, int count, const int64_t *v)
{
    Onnx__NodeProto *n = node("Constant", "", output);
    attr(n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = itensor(output, count, v);
    return n;
}

/* A float tensor's name and shape; a dim of -1 is the symbolic batch "N". */
static Onnx__ValueInfoProto *vinfo(const char *name, int rank, const int64_t *dims)
{
    Onnx__TensorShapeProto *s = grab(sizeof *s);
    *s = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    s->n_dim = (size_t)rank;
    s->dim = grab((size_t)rank * sizeof *s->dim);
    for (int d = 0; d < rank; d++) {
        Onnx__TensorShapeProto__Dimension *x = grab(sizeof *x);
        *x = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (dims[d] < 0) {
            x->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, x->dim_param = str("N");
        } else {
            x->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, x->dim_value = dims[d];
        }
        s->dim[d] = x;
    }
    Onnx__TypeProto__Tensor *tt = grab(sizeof *tt);
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, tt->shape = s;
    Onnx__TypeProto *t = grab(sizeof *t);
    *t = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tt;
    Onnx__ValueInfoProto *v = grab(sizeof *v);
    *v = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    v->name = str(name), v->type = t;
    return v;
}

/* One graph being built. */
typedef struct {
    Onnx__NodeProto *node[24];
    Onnx__TensorProto *init[12];
    Onnx__ValueInfoProto *input[12], *output[1];
    size_t nn, ni, nin;
} graph;

static void save_model(const char *name, graph *g, int opset)
{
    Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
    gp.name = "seed";
    gp.n_node = g->nn, gp.node = g->node;
    gp.n_initializer = g->ni, gp.initializer = g->init;
    gp.n_input = g->nin, gp.input = g->input;
    gp.n_output = 1, gp.output = g->output;
    Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT, *oss[1] = {&os};
    os.domain = "", os.has_version = 1, os.version = opset;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1, m.ir_version = 7;
    m.producer_name = "pytorch", m.producer_version = "1.13.0";
    m.n_opset_import = 1, m.opset_import = oss;
    m.graph = &gp;
    size_t n = onnx__model_proto__get_packed_size(&m);
    unsigned char *buf = malloc(n + 1);
    if (!buf) die("out of memory");
    buf[0] = 0; /* the harness's shape byte: the file's own */
    onnx__model_proto__pack(&m, buf + 1);
    save("onnx", name, buf, n + 1);
    free(buf);
    g_used = 0;
}

#define NODE(g, n) ((g)->node[(g)->nn++] = (n))
#define INIT(g, t) ((g)->init[(g)->ni++] = (t))

static const int64_t X2[] = {-1, 4}, X4[] = {-1, 1, 2, 2}, Y[] = {-1, 2};

static void torch_like_seeds(void)
{
    graph g;
    /* nn.Sequential(Linear(4,3), ReLU(), Linear(3,2), Softmax(dim=1)), biases as [1, out] */
    g = (graph){0};
    g.input[g.nin++] = vinfo("x", 2, X2);
    NODE(&g, attr_i(node("Gemm", "x,0.weight,0.bias", "/0/Gemm"), "transB", 1));
    NODE(&g, node("Relu", "/0/Gemm", "/1/Relu"));
    NODE(&g, attr_i(node("Gemm", "/1/Relu,2.weight,2.bias", "/2/Gemm"), "transB", 1));
    NODE(&g, attr_i(node("Softmax", "/2/Gemm", "y"), "axis", 1));
    INIT(&g, ftensor("0.weight", 3, 4, 0)), INIT(&g, ftensor("0.bias", 3, 0, 0));
    INIT(&g, ftensor("2.weight", 2, 3, 0)), INIT(&g, ftensor("2.bias", 1, 2, 0));
    g.output[0] = vinfo("y", 2, Y);
    save_model("gemm-relu-softmax.onnx", &g, 14);

    /* x @ W + b: MatMul and Add (the bias first in the second), logits out */
    g = (graph){0};
    g.input[g.nin++] = vinfo("x", 2, X2);
    NODE(&g, node("MatMul", "x,W", "m1"));
    NODE(&g, node("Add", "m1,b", "s1"));
    NODE(&g, node("Sigmoid", "s1", "a1"));
    NODE(&g, node("MatMul", "a1,W2", "m2"));
    NODE(&g, node("Add", "b2,m2", "y"));
    INIT(&g, ftensor("W", 4, 3, 0)), INIT(&g, ftensor("b", 3, 0, 0));
    INIT(&g, ftensor("W2", 3, 2, 1)), INIT(&g, ftensor("b2", 2, 0, 1));
    g.output[0] = vinfo("y", 2, Y);
    save_model("matmul-add-logits.onnx", &g, 13);

    /* Flatten of [N, 1, 2, 2]; Gemm with transB 0, alpha, beta; a bias-less Gemm */
    g = (graph){0};
    g.input[g.nin++] = vinfo("x", 4, X4);
    NODE(&g, attr_i(node("Flatten", "x", "f"), "axis", 1));
    NODE(&g, attr_f(attr_f(node("Gemm", "f,W0,b0", "z1"), "alpha", 0.5f), "beta", 2.0f));
    NODE(&g, node("Tanh", "z1", "a1"));
    NODE(&g, attr_i(node("Gemm", "a1,W1", "z2"), "transB", 1));
    NODE(&g, node("Sigmoid", "z2", "y"));
    INIT(&g, ftensor("W0", 4, 3, 0)), INIT(&g, ftensor("b0", 3, 0, 0)), INIT(&g, ftensor("W1", 2, 3, 0));
    g.output[0] = vinfo("y", 2, Y);
    save_model("flatten-tanh-sigmoid.onnx", &g, 11);

    /* x.view(-1, 4): Reshape to a Constant; Identity; initialisers listed as inputs */
    static const int64_t shape[] = {-1, 4};
    g = (graph){0};
    g.input[g.nin++] = vinfo("x", 4, X4);
    NODE(&g, constant("shape", 2, shape));
    NODE(&g, node("Reshape", "x,shape", "r"));
    NODE(&g, attr_i(node("Gemm", "r,W0,b0", "z1"), "transB", 1));
    NODE(&g, node("Relu", "z1", "a1"));
    NODE(&g, node("Identity", "a1", "i1"));
    NODE(&g, attr_i(node("Gemm", "i1,W1,b1", "z2"), "transB", 1));
    NODE(&g, attr_i(node("Softmax", "z2", "y"), "axis", -1));
    INIT(&g, ftensor("W0", 3, 4, 0)), INIT(&g, ftensor("b0", 3, 0, 0));
    INIT(&g, ftensor("W1", 2, 3, 0)), INIT(&g, ftensor("b1", 2, 0, 0));
    static const int64_t w0[] = {3, 4}, b0[] = {3};
    g.input[g.nin++] = vinfo("W0", 2, w0);
    g.input[g.nin++] = vinfo("b0", 1, b0);
    g.output[0] = vinfo("y", 2, Y);
    save_model("reshape-identity-inputs.onnx", &g, 9);

    /* x.view(x.size(0), -1): Shape, Gather, Unsqueeze, Concat, Reshape */
    static const int64_t zero[] = {0}, minus1[] = {-1};
    g = (graph){0};
    g.input[g.nin++] = vinfo("x", 4, X4);
    NODE(&g, node("Shape", "x", "shape"));
    NODE(&g, constant("zero", 1, zero));
    NODE(&g, attr_i(node("Gather", "shape,zero", "batch"), "axis", 0));
    NODE(&g, constant("axes", 1, zero));
    NODE(&g, node("Unsqueeze", "batch,axes", "b1"));
    NODE(&g, constant("rest", 1, minus1));
    NODE(&g, attr_i(node("Concat", "b1,rest", "target"), "axis", 0));
    NODE(&g, node("Reshape", "x,target", "r"));
    NODE(&g, attr_i(node("Gemm", "r,W0,b0", "z1"), "transB", 1));
    NODE(&g, node("Relu", "z1", "y"));
    INIT(&g, ftensor("W0", 2, 4, 0)), INIT(&g, ftensor("b0", 2, 0, 0));
    g.output[0] = vinfo("y", 2, Y);
    save_model("view-size-relu.onnx", &g, 14);
}

/* digitlens's own exports: every activation, an odd image shape, chosen classes. */
static void export_seeds(void)
{
    static const int a[] = {4, 3, 2}, b[] = {6, 5, 4, 3}, c[] = {9, 4, 2};
    static const dl_act acts[3][3] = {{DL_ACT_SIGMOID, DL_ACT_SIGMOID},
                                      {DL_ACT_TANH, DL_ACT_RELU, DL_ACT_SOFTMAX},
                                      {DL_ACT_RELU, DL_ACT_SOFTMAX}};
    static const dl_cost costs[] = {DL_COST_CROSS_ENTROPY, DL_COST_LOG_LIKELIHOOD, DL_COST_QUADRATIC};
    const int *sizes[] = {a, b, c}, nl[] = {3, 4, 3}, rows[] = {2, 2, 3};
    for (int i = 0; i < 3; i++) {
        dl_err e;
        dl_model *m = dl_model_new(nl[i], sizes[i], rows[i], sizes[i][0] / rows[i], &e);
        if (!m) die(e.msg);
        dl_rng r;
        dl_rng_seed(&r, (uint64_t)i + 1);
        dl_net_init(m->net, DL_INIT_SCALED, &r);
        for (int l = 0; l + 1 < nl[i]; l++) m->net->act[l] = acts[i][l];
        m->cost = costs[i];
        if (i == 2) m->classes[0] = 3, m->classes[1] = 8, m->flags |= DL_MODEL_SUBSET;
        unsigned char *p = NULL;
        size_t n = 0;
        if (dl_onnx_encode(m, "seed", &p, &n, &e) != DL_OK) die(e.msg);
        unsigned char *q = malloc(n + 1);
        if (!q) die("out of memory");
        q[0] = (unsigned char)i; /* shape byte: the file's, 1 x n, an impossible one */
        memcpy(q + 1, p, n);
        char name[32];
        snprintf(name, sizeof name, "digitlens-%d.onnx", i);
        save("onnx", name, q, n + 1);
        free(q);
        free(p);
        dl_model_free(m);
    }
}

void onnx_seeds(void)
{
    export_seeds();
    torch_like_seeds();
}
