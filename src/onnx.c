/*
 * onnx.c — a digitlens model as an ONNX file (the graph of onnx.h), built
 * as protobuf-c structures on the stack and packed by protobuf-c; and the
 * file-level load (the reading half is onnx_import.c).
 *
 * Every structure points at storage that lives until the pack is done:
 * the names in a small table, the parameters in one little-endian copy of
 * the parameter buffer (W[l] and b[l] are consecutive slices of it, so
 * each initialiser's raw_data is a view, as the net's are).
 */
#include "digitlens/onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

#include "bytes.h"
#include "contract.h"
#include "onnx_pb.h"

#define NL (DL_MAX_LAYERS - 1)

static const char *const OP[DL_ACT_COUNT] = {"Sigmoid", "Tanh", "Relu", "Softmax"};

/* Everything one export points into. */
typedef struct {
    char names[NL][6][24]; /* per layer: W, b, z, a, gemm node, act node */
    int64_t wdims[NL][2], bdims[NL][1];
    Onnx__TensorProto tensor[2 * NL], *tensors[2 * NL];
    Onnx__AttributeProto attr[NL][4], *attrs[NL][4];
    Onnx__NodeProto node[2 * NL], *nodes[2 * NL];
    char *gemm_in[NL][3], *act_in[NL], *gemm_out[NL], *act_out[NL];
    /* graph input x and output y: [N, width] */
    Onnx__TensorShapeProto__Dimension dim[2][2], *dims[2][2];
    Onnx__TensorShapeProto shape[2];
    Onnx__TypeProto__Tensor ttype[2];
    Onnx__TypeProto type[2];
    Onnx__ValueInfoProto io[2], *in[1], *out[1];
    Onnx__StringStringEntryProto meta[3], *metas[3];
    char cost[32], input_shape[32], classes[256 * 4], doc[256];
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__GraphProto graph;
    Onnx__ModelProto model;
} export_state;

static void float_attr(Onnx__AttributeProto *a, const char *name, float v)
{
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1, a->f = v;
}

static void int_attr(Onnx__AttributeProto *a, const char *name, int64_t v)
{
    *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = (char *)name;
    a->has_type = 1, a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1, a->i = v;
}

/* x or y: float32 [N, width] with a symbolic batch N. */
static void value_info(export_state *s, int k, const char *name, int width)
{
    s->dim[k][0] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    s->dim[k][0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    s->dim[k][0].dim_param = "N";
    s->dim[k][1] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    s->dim[k][1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    s->dim[k][1].dim_value = width;
    s->dims[k][0] = &s->dim[k][0], s->dims[k][1] = &s->dim[k][1];
    s->shape[k] = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    s->shape[k].n_dim = 2, s->shape[k].dim = s->dims[k];
    s->ttype[k] = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    s->ttype[k].has_elem_type = 1, s->ttype[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    s->ttype[k].shape = &s->shape[k];
    s->type[k] = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    s->type[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, s->type[k].tensor_type = &s->ttype[k];
    s->io[k] = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    s->io[k].name = (char *)name, s->io[k].type = &s->type[k];
}

static void tensor(Onnx__TensorProto *t, char *name, int64_t *dims, size_t ndims, unsigned char *raw, size_t n)
{
    *t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    t->name = name;
    t->n_dims = ndims, t->dims = dims;
    t->has_data_type = 1, t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_raw_data = 1, t->raw_data.len = n * 4, t->raw_data.data = raw;
}

static void meta(export_state *s, size_t k, const char *key, char *value)
{
    s->meta[k] = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    s->meta[k].key = (char *)key, s->meta[k].value = value;
    s->metas[k] = &s->meta[k];
}

/* Layer l: Gemm(prev, W<l>, b<l>) -> z<l+1>, then its activation -> a<l+1>
 * (or y for the last layer). */
static void layer(export_state *s, const dl_net *n, int l, unsigned char *raw)
{
    char(*nm)[24] = s->names[l];
    int last = l == n->nlayers - 2;
    snprintf(nm[0], 24, "W%d", l);
    snprintf(nm[1], 24, "b%d", l);
    snprintf(nm[2], 24, "z%d", l + 1);
    snprintf(nm[3], 24, last ? "y" : "a%d", l + 1);
    snprintf(nm[4], 24, "gemm%d", l);
    snprintf(nm[5], 24, "%s%d", dl_act_name(n->act[l]), l);
    s->wdims[l][0] = n->sizes[l + 1], s->wdims[l][1] = n->sizes[l];
    s->bdims[l][0] = n->sizes[l + 1];
    tensor(&s->tensor[2 * l], nm[0], s->wdims[l], 2, raw + 4 * dl_net_woff(n, l),
           (size_t)n->sizes[l + 1] * n->sizes[l]);
    tensor(&s->tensor[2 * l + 1], nm[1], s->bdims[l], 1, raw + 4 * dl_net_boff(n, l), (size_t)n->sizes[l + 1]);
    s->tensors[2 * l] = &s->tensor[2 * l], s->tensors[2 * l + 1] = &s->tensor[2 * l + 1];

    /* Gemm: Y = alpha·A·Bᵀ + beta·C with B = W [out x in] as nn.Linear keeps it. */
    float_attr(&s->attr[l][0], "alpha", 1.0f);
    float_attr(&s->attr[l][1], "beta", 1.0f);
    int_attr(&s->attr[l][2], "transB", 1);
    int_attr(&s->attr[l][3], "axis", 1); /* Softmax over each row's classes */
    for (int k = 0; k < 4; k++) s->attrs[l][k] = &s->attr[l][k];
    s->gemm_in[l][0] = l ? s->names[l - 1][3] : "x";
    s->gemm_in[l][1] = nm[0], s->gemm_in[l][2] = nm[1];
    s->gemm_out[l] = nm[2];
    Onnx__NodeProto *g = &s->node[2 * l], *a = &s->node[2 * l + 1];
    *g = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    g->name = nm[4], g->op_type = "Gemm";
    g->n_input = 3, g->input = s->gemm_in[l];
    g->n_output = 1, g->output = &s->gemm_out[l];
    g->n_attribute = 3, g->attribute = s->attrs[l];
    s->act_in[l] = nm[2], s->act_out[l] = nm[3];
    *a = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    a->name = nm[5], a->op_type = (char *)OP[n->act[l]];
    a->n_input = 1, a->input = &s->act_in[l];
    a->n_output = 1, a->output = &s->act_out[l];
    if (n->act[l] == DL_ACT_SOFTMAX) a->n_attribute = 1, a->attribute = &s->attrs[l][3];
    s->nodes[2 * l] = g, s->nodes[2 * l + 1] = a;
}

dl_status dl_onnx_encode(const dl_model *m, const char *producer, unsigned char **out, size_t *len, dl_err *e)
{
    *out = NULL;
    *len = 0;
    const dl_net *n = m->net;
    dl_status st = dl_net_check_acts(n, e);
    if (st != DL_OK) return st;
    for (size_t i = 0; i < n->nparams; i++)
        if (!isfinite(n->params[i]))
            return dl_err_set(e, DL_EINVAL, "the model holds a non-finite parameter (at %zu; its training diverged), "
                              "which no tool could use", i);
    export_state *s = calloc(1, sizeof *s);
    unsigned char *raw = malloc(n->nparams * 4);
    if (!s || !raw) {
        free(s);
        free(raw);
        return dl_err_set(e, DL_ENOMEM, "out of memory writing ONNX");
    }
    /* ONNX's raw_data is little-endian whatever the machine. */
    for (size_t i = 0; i < n->nparams; i++) {
        uint32_t u;
        memcpy(&u, &n->params[i], 4);
        dl_put_le32(raw + 4 * i, u);
    }
    int L = n->nlayers;
    for (int l = 0; l + 1 < L; l++) layer(s, n, l, raw);
    value_info(s, 0, "x", n->sizes[0]);
    value_info(s, 1, "y", n->sizes[L - 1]);
    s->in[0] = &s->io[0], s->out[0] = &s->io[1];

    /* What ONNX has no field for, so that an import gives back the model. */
    size_t nmeta = 0;
    snprintf(s->cost, sizeof s->cost, "%s", dl_cost_name(m->cost) ? dl_cost_name(m->cost) : "quadratic");
    meta(s, nmeta++, "digitlens.cost", s->cost);
    snprintf(s->input_shape, sizeof s->input_shape, "%dx%d", m->rows, m->cols);
    meta(s, nmeta++, "digitlens.input_shape", s->input_shape);
    int identity = !(m->flags & DL_MODEL_SUBSET);
    for (int k = 0; k < m->nclasses; k++) identity &= m->classes[k] == k;
    if (!identity) {
        size_t at = 0;
        for (int k = 0; k < m->nclasses; k++)
            at += (size_t)snprintf(s->classes + at, sizeof s->classes - at, "%s%d", k ? "," : "", m->classes[k]);
        meta(s, nmeta++, "digitlens.classes", s->classes);
    }
    size_t at = (size_t)snprintf(s->doc, sizeof s->doc, "digitlens MLP ");
    for (int l = 0; l < L; l++)
        at += (size_t)snprintf(s->doc + at, sizeof s->doc - at, "%s%d", l ? "-" : "", n->sizes[l]);
    for (int l = 0; l + 1 < L; l++)
        at += (size_t)snprintf(s->doc + at, sizeof s->doc - at, "%s%s", l ? "/" : ", ", dl_act_name(n->act[l]));
    DL_ASSERT(at < sizeof s->doc);

    s->graph = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    s->graph.name = "digitlens";
    s->graph.doc_string = s->doc;
    s->graph.n_node = (size_t)(2 * (L - 1)), s->graph.node = s->nodes;
    s->graph.n_initializer = (size_t)(2 * (L - 1)), s->graph.initializer = s->tensors;
    s->graph.n_input = 1, s->graph.input = s->in;
    s->graph.n_output = 1, s->graph.output = s->out;
    s->opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    s->opset.domain = "", s->opset.has_version = 1, s->opset.version = DL_ONNX_OPSET;
    s->opsets[0] = &s->opset;
    s->model = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    s->model.has_ir_version = 1, s->model.ir_version = DL_ONNX_IR_VERSION;
    s->model.n_opset_import = 1, s->model.opset_import = s->opsets;
    s->model.producer_name = "digitlens";
    s->model.producer_version = (char *)(producer ? producer : "");
    s->model.doc_string = s->doc;
    s->model.graph = &s->graph;
    s->model.n_metadata_props = nmeta, s->model.metadata_props = s->metas;

    size_t size = onnx__model_proto__get_packed_size(&s->model);
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory for %zu bytes of ONNX", size);
    } else {
        size_t wrote = onnx__model_proto__pack(&s->model, buf);
        DL_ASSERT(wrote == size);
        *out = buf;
        *len = size;
    }
    free(raw);
    free(s);
    return st;
}

dl_status dl_onnx_save(const dl_model *m, const char *producer, const char *path, dl_err *e)
{
    unsigned char *p = NULL;
    size_t n = 0;
    dl_status st = dl_onnx_encode(m, producer, &p, &n, e);
    return st != DL_OK ? st : dl_file_write_atomic_free(path, p, n, e);
}

dl_status dl_onnx_load(const char *path, int rows, int cols, dl_model **out, dl_onnx_info *info, dl_err *e)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_status st = dl_file_read_all(path, DL_ONNX_MAX_BYTES, &buf, &len, e);
    if (st != DL_OK) return st;
    st = dl_onnx_decode(buf, len, path, rows, cols, out, info, e);
    free(buf);
    return st;
}
