/*
 * onnx_import.c — an MLP from an ONNX file (what onnx.h lists), checked
 * whole before the model is allocated.
 *
 * After protobuf-c has unpacked the bytes (onnx_wire.c), reading is three
 * passes over the graph, each refusing with one sentence that names the
 * node and its op:
 *   1. every node's op is one digitlens knows, with the number of inputs
 *      and outputs it takes; every name is produced once (ONNX's SSA rule)
 *      and none is read before something provides it;
 *   2. a walk from the graph's one data input along the one consumer of
 *      each tensor to its one output, gathering a plan per layer (weight
 *      and bias initialisers, layout, alpha/beta, activation) and checking
 *      each shape against the width reached so far;
 *   3. every node other than a Constant was on that walk.
 * Only then is the model allocated and filled from the plan.  Passes 2
 * and 3 are in onnx_chain.c, the readers of tensors, attributes and names
 * in onnx_read.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"

#define OPSET_MIN 7  /* the oldest torch.onnx.export writes */
#define OPSET_MAX 21 /* Gemm, MatMul, Add, Flatten, Reshape and the activations mean the same through 21 */

const dl_onnx_op_info DL_ONNX_OPS[OP_COUNT] = {
    {"Gemm", 2, 3},     {"MatMul", 2, 2},  {"Add", 2, 2},     {"Sigmoid", 1, 1},   {"Tanh", 1, 1},
    {"Relu", 1, 1},     {"Softmax", 1, 1}, {"Flatten", 1, 1}, {"Reshape", 2, 2},   {"Identity", 1, 1},
    {"Constant", 0, 0}, {"Shape", 1, 1},   {"Gather", 2, 2},  {"Unsqueeze", 1, 2}, {"Concat", 1, 8},
};

/* ---- pass 1: ops and names -------------------------------------------- */

static int is_default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

static dl_status check_nodes(dl_onnx_importer *im)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        int k = 0;
        while (k < OP_COUNT && !dl_onnx_same(n->op_type, DL_ONNX_OPS[k].name)) k++;
        if (k == OP_COUNT || !is_default_domain(n->domain))
            return BAD("%s: node %s is not an op digitlens reads (it reads MLPs: Gemm, or MatMul and Add; Sigmoid, "
                       "Tanh, Relu, a final Softmax; Flatten or Reshape at the input; Identity)",
                       im->name, dl_onnx_node(n).s);
        im->kind[i] = (dl_onnx_op)k;
        if ((int)n->n_input < DL_ONNX_OPS[k].min_in || (int)n->n_input > DL_ONNX_OPS[k].max_in || n->n_output != 1)
            return BAD("%s: node %s has %zu inputs and %zu outputs (%s takes %d%s%d and gives 1)", im->name,
                       dl_onnx_node(n).s, n->n_input, n->n_output, DL_ONNX_OPS[k].name, DL_ONNX_OPS[k].min_in,
                       DL_ONNX_OPS[k].max_in > DL_ONNX_OPS[k].min_in ? " to " : " and ", DL_ONNX_OPS[k].max_in);
        if (k == OP_CONSTANT && !dl_onnx_constant_value(n))
            return BAD("%s: node %s holds no tensor 'value'", im->name, dl_onnx_node(n).s);
    }
    return DL_OK;
}

/* ---- the graph's data input ------------------------------------------- */

static dl_status check_input(dl_onnx_importer *im)
{
    const Onnx__GraphProto *g = im->g;
    const Onnx__ValueInfoProto *x = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        if (dl_onnx_initializer(im->g, g->input[i]->name))
            continue; /* a constant listed as an input (older exporters) */
        if (x)
            return BAD("%s: the graph has two data inputs, '%s' and '%s' (an MLP takes one)", im->name,
                       dl_onnx_show(x->name).s, dl_onnx_show(g->input[i]->name).s);
        x = g->input[i];
    }
    if (!x) return BAD("%s: the graph has no data input", im->name);
    dl_onnx_shown xn = dl_onnx_show(x->name);
    const Onnx__TypeProto *t = x->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
        t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return BAD("%s: input '%s' is not a float32 tensor", im->name, xn.s);
    const Onnx__TensorShapeProto *s = t->tensor_type->shape;
    if (!s || s->n_dim < 2 || s->n_dim > 4)
        return BAD("%s: input '%s' has %s (digitlens reads [N, width], [N, rows, cols] or [N, 1, rows, cols])",
                   im->name, xn.s, s ? "a rank other than 2 to 4" : "no shape");
    size_t width = 1;
    const Onnx__TensorShapeProto__Dimension *batch = s->dim[0];
    im->in_dims[0] = batch->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                             batch->dim_value > 0 && batch->dim_value <= INT32_MAX
                         ? (int)batch->dim_value
                         : -1;
    for (size_t d = 1; d < s->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = s->dim[d];
        if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dim->dim_value < 1 ||
            dim->dim_value > DL_MAX_WIDTH)
            return BAD("%s: input '%s' has dimension %zu %s (only the batch, the first, may be symbolic; the "
                       "others are 1..%d)",
                       im->name, xn.s, d,
                       dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? "out of range"
                                                                                               : "not fixed",
                       DL_MAX_WIDTH);
        im->in_dims[d] = (int)dim->dim_value;
        width *= (size_t)dim->dim_value;
        if (width > DL_MAX_WIDTH)
            return BAD("%s: input '%s' has over %d values per example", im->name, xn.s, DL_MAX_WIDTH);
    }
    im->input = x->name;
    im->in_rank = (int)s->n_dim;
    im->cur = x->name;
    im->rank = im->in_rank;
    im->width = (int)width;
    return DL_OK;
}

/* ---- metadata digitlens writes ---------------------------------------- */

/* "3,8" into classes[0..k): exactly k distinct labels 0..255. */
static int parse_classes(const char *s, int k, uint8_t *classes)
{
    int n = 0, seen[256] = {0};
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 255 || seen[v] || n == k) return 0;
        seen[v] = 1;
        classes[n++] = (uint8_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return n == k;
}

/* ---- the whole -------------------------------------------------------- */

static dl_status check_model(dl_onnx_importer *im, const Onnx__ModelProto *mp, dl_onnx_info *info)
{
    im->opset = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (is_default_domain(mp->opset_import[i]->domain) && mp->opset_import[i]->has_version)
            im->opset = (int)(mp->opset_import[i]->version < 0 || mp->opset_import[i]->version > 1000
                                  ? 1000
                                  : mp->opset_import[i]->version);
    if (!mp->graph) return BAD("%s: not an ONNX model (no graph)", im->name);
    if (!im->opset) return BAD("%s: the model names no opset of the default ONNX domain", im->name);
    if (im->opset < OPSET_MIN || im->opset > OPSET_MAX)
        return BAD("%s: opset %d is not one digitlens reads (%d to %d; torch.onnx.export(..., opset_version=13))",
                   im->name, im->opset, OPSET_MIN, OPSET_MAX);
    const Onnx__GraphProto *g = im->g = mp->graph;
    if (g->n_node > DL_ONNX_MAX_NODES || g->n_initializer > DL_ONNX_MAX_NODES || g->n_input > DL_ONNX_MAX_NODES)
        return BAD("%s: %zu nodes, %zu initialisers and %zu inputs: more than the %d an MLP needs at most", im->name,
                   g->n_node, g->n_initializer, g->n_input, DL_ONNX_MAX_NODES);
    if (g->n_sparse_initializer)
        return BAD("%s: the graph has sparse initialisers, which digitlens does not read", im->name);
    if (g->n_output != 1) return BAD("%s: the graph has %zu outputs (an MLP gives one)", im->name, g->n_output);
    if (!g->output[0]->name || !*g->output[0]->name) return BAD("%s: the graph's output has no name", im->name);
    dl_status st;
    if ((st = check_nodes(im)) != DL_OK || (st = dl_onnx_check_names(im->name, im->g, im->e)) != DL_OK ||
        (st = check_input(im)) != DL_OK || (st = dl_onnx_walk(im)) != DL_OK ||
        (st = dl_onnx_check_plan(im, info)) != DL_OK)
        return st;
    snprintf(info->producer, sizeof info->producer, "%s %s", dl_onnx_show(mp->producer_name).s,
             dl_onnx_show(mp->producer_version).s);
    info->opset = im->opset;
    return DL_OK;
}

/* W[l] and b[l] from the plan (alpha and beta folded in; a [in, out]
 * weight transposed into net.h's [out, in]). */
static void fill(const dl_onnx_importer *im, dl_net *net)
{
    for (int l = 0; l < im->nlayers; l++) {
        const dl_onnx_layer *L = &im->layer[l];
        for (int j = 0; j < L->out; j++)
            for (int k = 0; k < L->in; k++) {
                size_t src = L->transposed ? (size_t)k * L->out + j : (size_t)j * L->in + k;
                net->w[l][(size_t)j * L->in + k] = L->alpha * dl_onnx_float_at(L->w, src);
            }
        for (int j = 0; j < L->out; j++)
            net->b[l][j] = L->b ? L->beta * dl_onnx_float_at(L->b, L->nbias == 1 ? 0 : (size_t)j) : 0.0f;
        net->act[l] = (dl_act)L->act;
    }
}

/* The image shape: the caller's, else the metadata's, else the input's
 * [N, rows, cols] or [N, 1, rows, cols], else 28x28 for 784 and 1 x n. */
static dl_status image_shape(dl_onnx_importer *im, const Onnx__ModelProto *mp, int width, int *rows, int *cols)
{
    if (*rows > 0 && *cols > 0) {
        if ((long)*rows * *cols == width) return DL_OK;
        return dl_err_set(im->e, DL_EINVAL,
                          "%s: the input layer has %d neurons, not %dx%d = %ld (give the image "
                          "shape as rows x cols with that product)",
                          im->name, width, *rows, *cols, (long)*rows * *cols);
    }
    const char *m = dl_onnx_metadata(mp, "digitlens.input_shape");
    if (m) {
        int r = 0, c = 0, used = 0;
        if (sscanf(m, "%dx%d%n", &r, &c, &used) != 2 || m[used] || r < 1 || c < 1 || (long)r * c != width)
            return BAD("%s: metadata digitlens.input_shape '%s' is not ROWSxCOLS with %d pixels", im->name,
                       dl_onnx_show(m).s, width);
        *rows = r, *cols = c;
    } else if (im->in_rank == 3 || (im->in_rank == 4 && im->in_dims[1] == 1)) {
        *rows = im->in_dims[im->in_rank - 2], *cols = im->in_dims[im->in_rank - 1];
    } else {
        *rows = width == 784 ? 28 : 1;
        *cols = width == 784 ? 28 : width;
    }
    return DL_OK;
}

/* The cost: the metadata's, else the one that goes with the output. */
static dl_status cost_of(dl_onnx_importer *im, const Onnx__ModelProto *mp, const dl_net *net, dl_cost *c)
{
    const char *m = dl_onnx_metadata(mp, "digitlens.cost");
    dl_act out = net->act[net->nlayers - 2];
    *c = out == DL_ACT_SOFTMAX   ? DL_COST_LOG_LIKELIHOOD
         : out == DL_ACT_SIGMOID ? DL_COST_CROSS_ENTROPY
                                 : DL_COST_QUADRATIC;
    if (!m) return DL_OK;
    dl_err sub;
    if (dl_cost_parse(m, c) != 0)
        return BAD("%s: metadata digitlens.cost '%s' is not a cost digitlens knows", im->name, dl_onnx_show(m).s);
    if (dl_net_check_cost(net, *c, &sub) != DL_OK)
        return BAD("%s: metadata digitlens.cost '%s' does not fit the network (%s)", im->name, dl_onnx_show(m).s,
                   sub.msg);
    return DL_OK;
}

dl_status dl_onnx_decode(const unsigned char *buf, size_t len, const char *name, int rows, int cols, dl_model **out,
                         dl_onnx_info *info, dl_err *e)
{
    *out = NULL;
    dl_onnx_info scratch;
    if (!info) info = &scratch;
    memset(info, 0, sizeof *info);
    dl_onnx_pool pool;
    Onnx__ModelProto *mp = dl_onnx_unpack(buf, len, name, &pool, e);
    if (!mp) return e ? e->code : DL_EFORMAT;
    dl_err local;
    dl_onnx_importer *im = calloc(1, sizeof *im);
    dl_model *m = NULL;
    dl_status st = DL_OK;
    if (!im) {
        st = dl_err_set(e, DL_ENOMEM, "out of memory reading %s", name);
        goto done;
    }
    im->name = name;
    im->e = e ? e : &local;
    if ((st = check_model(im, mp, info)) != DL_OK) goto done;
    int L = im->nlayers + 1, sizes[DL_MAX_LAYERS];
    sizes[0] = im->layer[0].in;
    for (int l = 0; l < im->nlayers; l++) sizes[l + 1] = im->layer[l].out;
    dl_err sub;
    if (dl_net_check_sizes(L, sizes, &sub) != DL_OK) {
        st = dl_err_set(e, sub.code, "%s: the layers are impossible for digitlens (%s)", name, sub.msg);
        goto done;
    }
    if (sizes[L - 1] > 256) {
        st = BAD("%s: %d outputs (digitlens models have at most 256 classes)", name, sizes[L - 1]);
        goto done;
    }
    if ((st = image_shape(im, mp, sizes[0], &rows, &cols)) != DL_OK) goto done;
    const char *classes = dl_onnx_metadata(mp, "digitlens.classes");
    uint8_t cls[256];
    if (classes && !parse_classes(classes, sizes[L - 1], cls)) {
        st = BAD("%s: metadata digitlens.classes '%s' is not %d distinct labels 0..255", name, dl_onnx_show(classes).s,
                 sizes[L - 1]);
        goto done;
    }
    /* Everything is checked: now the model. */
    if (!(m = dl_model_new(L, sizes, rows, cols, e))) {
        st = e ? e->code : DL_ENOMEM;
        goto done;
    }
    fill(im, m->net);
    if ((st = dl_net_check_acts(m->net, e)) != DL_OK || (st = cost_of(im, mp, m->net, &m->cost)) != DL_OK) goto done;
    if (classes) {
        memcpy(m->classes, cls, (size_t)sizes[L - 1]);
        m->flags |= DL_MODEL_SUBSET;
    }
    m->init = DL_INIT_SCALED;
    st = dl_model_finish_import(m, e);
done:
    free(im);
    dl_onnx_pb_free(mp, &pool);
    if (st != DL_OK) {
        dl_model_free(m);
        return st;
    }
    *out = m;
    return DL_OK;
}
