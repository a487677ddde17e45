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
 * Only then is the model allocated and filled from the plan.  The readers
 * of tensors and attributes are in onnx_read.c.
 */
#include "digitlens/onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "contract.h"
#include "onnx_pb.h"

#define NL (DL_MAX_LAYERS - 1)
#define OPSET_MIN 7  /* the oldest torch.onnx.export writes */
#define OPSET_MAX 21 /* Gemm, MatMul, Add, Flatten, Reshape and the activations mean the same through 21 */

typedef enum {
    OP_GEMM,
    OP_MATMUL,
    OP_ADD,
    OP_SIGMOID,
    OP_TANH,
    OP_RELU,
    OP_SOFTMAX,
    OP_FLATTEN,
    OP_RESHAPE,
    OP_IDENTITY,
    OP_CONSTANT,
    OP_COUNT
} op_kind;

static const struct {
    const char *name;
    int min_in, max_in;
} OPS[OP_COUNT] = {
    {"Gemm", 2, 3},    {"MatMul", 2, 2},  {"Add", 2, 2},     {"Sigmoid", 1, 1},  {"Tanh", 1, 1},     {"Relu", 1, 1},
    {"Softmax", 1, 1}, {"Flatten", 1, 1}, {"Reshape", 2, 2}, {"Identity", 1, 1}, {"Constant", 0, 0},
};

/* One layer as the file gives it: y = act(alpha·x·W' + beta·c). */
typedef struct {
    const Onnx__TensorProto *w, *b; /* b NULL: no bias */
    size_t nbias;                   /* b's values: 1 (broadcast) or out */
    int transposed;                 /* w is [in, out] (MatMul, Gemm transB 0), not [out, in] */
    float alpha, beta;
    int in, out;
    int act;                      /* a dl_act, or -1 while none has been seen */
    const Onnx__NodeProto *dense; /* the Gemm or MatMul */
} plan_layer;

typedef struct {
    const char *name;
    dl_err *e;
    const Onnx__GraphProto *g;
    int opset;
    op_kind kind[DL_ONNX_MAX_NODES];
    unsigned char used[DL_ONNX_MAX_NODES];
    const char *input;       /* the graph's data input */
    int in_rank, in_dims[4]; /* its shape; in_dims[0] is the batch and not read */
    const char *cur;         /* the tensor the walk has reached */
    int rank, width;         /* its rank, and its width once [N, width] */
    plan_layer layer[NL];
    int nlayers; /* dense layers found */
} importer;

#define BAD(...) dl_err_set(im->e, DL_EFORMAT, __VA_ARGS__)

/* ---- constants: initialisers and Constant nodes ------------------------ */

static const Onnx__TensorProto *initializer(const importer *im, const char *name)
{
    for (size_t i = 0; i < im->g->n_initializer; i++)
        if (dl_onnx_same(im->g->initializer[i]->name, name)) return im->g->initializer[i];
    return NULL;
}

/* The node that writes tensor name, or -1. */
static int producer(const importer *im, const char *name)
{
    for (size_t i = 0; i < im->g->n_node; i++)
        for (size_t k = 0; k < im->g->node[i]->n_output; k++)
            if (dl_onnx_same(im->g->node[i]->output[k], name)) return (int)i;
    return -1;
}

/* The tensor a Constant node holds (its "value" attribute), or NULL. */
static const Onnx__TensorProto *constant_value(const Onnx__NodeProto *n)
{
    const Onnx__AttributeProto *a = dl_onnx_attribute(n, "value");
    return a ? a->t : NULL;
}

/* The constant tensor named name (an initialiser, or a Constant node's
 * value, which is then marked as used); NULL with *e naming what it is
 * instead.  role says what the node wants it for. */
static const Onnx__TensorProto *constant(importer *im, const Onnx__NodeProto *n, const char *name, const char *role)
{
    const Onnx__TensorProto *t = initializer(im, name);
    if (t) return t;
    int p = producer(im, name);
    if (p >= 0 && im->kind[p] == OP_CONSTANT && (t = constant_value(im->g->node[p]))) {
        im->used[p] = 1;
        return t;
    }
    dl_onnx_shown nd = dl_onnx_node(n), tn = dl_onnx_show(name);
    if (p >= 0)
        BAD("%s: node %s takes its %s '%s' from node %s, not from a constant (%s)", im->name, nd.s, role, tn.s,
            dl_onnx_node(im->g->node[p]).s,
            strcmp(role, "shape") ? "a layer's parameters are initialisers"
                                  : "export with nn.Flatten or x.view(-1, 784) rather than a computed shape");
    else
        BAD("%s: node %s takes its %s '%s' from the graph's input, not from an initialiser", im->name, nd.s, role,
            tn.s);
    return NULL;
}

/* ---- pass 1: ops and names -------------------------------------------- */

static int is_default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

static dl_status check_nodes(importer *im)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        int k = 0;
        while (k < OP_COUNT && !dl_onnx_same(n->op_type, OPS[k].name)) k++;
        if (k == OP_COUNT || !is_default_domain(n->domain))
            return BAD("%s: node %s is not an op digitlens reads (it reads MLPs: Gemm, or MatMul and Add; Sigmoid, "
                       "Tanh, Relu, a final Softmax; Flatten or Reshape at the input; Identity)",
                       im->name, dl_onnx_node(n).s);
        im->kind[i] = (op_kind)k;
        if ((int)n->n_input < OPS[k].min_in || (int)n->n_input > OPS[k].max_in || n->n_output != 1)
            return BAD("%s: node %s has %zu inputs and %zu outputs (%s takes %d%s%d and gives 1)", im->name,
                       dl_onnx_node(n).s, n->n_input, n->n_output, OPS[k].name, OPS[k].min_in,
                       OPS[k].max_in > OPS[k].min_in ? " to " : " and ", OPS[k].max_in);
        if (k == OP_CONSTANT && !constant_value(n))
            return BAD("%s: node %s holds no tensor 'value'", im->name, dl_onnx_node(n).s);
    }
    return DL_OK;
}

/* Is name an initialiser, a graph input or a node output? */
static int defined(const importer *im, const char *name)
{
    if (initializer(im, name) || producer(im, name) >= 0) return 1;
    for (size_t i = 0; i < im->g->n_input; i++)
        if (dl_onnx_same(im->g->input[i]->name, name)) return 1;
    return 0;
}

/* Each name produced once; each name read is defined.  Lists are at most
 * DL_ONNX_MAX_NODES long and nodes have at most 3 inputs, so the
 * quadratic scans stay small. */
static dl_status check_names(importer *im)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const char *o = g->node[i]->output[0];
        if (!o || !*o) return BAD("%s: node %s has an unnamed output", im->name, dl_onnx_node(g->node[i]).s);
        if (producer(im, o) != (int)i || initializer(im, o))
            return BAD("%s: tensor '%s' is produced twice (ONNX names each value once)", im->name, dl_onnx_show(o).s);
        for (size_t k = 0; k < g->n_input; k++)
            if (dl_onnx_same(g->input[k]->name, o))
                return BAD("%s: node %s writes '%s', which is also a graph input", im->name, dl_onnx_node(g->node[i]).s,
                           dl_onnx_show(o).s);
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        const char *nm = g->initializer[i]->name;
        if (!nm || !*nm) return BAD("%s: initialiser %zu has no name", im->name, i);
        if (initializer(im, nm) != g->initializer[i])
            return BAD("%s: two initialisers are named '%s'", im->name, dl_onnx_show(nm).s);
    }
    for (size_t i = 0; i < g->n_input; i++)
        for (size_t k = 0; k < i; k++)
            if (dl_onnx_same(g->input[i]->name, g->input[k]->name))
                return BAD("%s: two graph inputs are named '%s'", im->name, dl_onnx_show(g->input[i]->name).s);
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++) {
            const char *in = g->node[i]->input[k];
            if (!in || !*in) {
                if (im->kind[i] == OP_GEMM && k == 2) continue; /* an optional input left out */
                return BAD("%s: node %s has an unnamed input", im->name, dl_onnx_node(g->node[i]).s);
            }
            if (!defined(im, in))
                return BAD("%s: node %s reads '%s', which no initialiser, graph input or node provides", im->name,
                           dl_onnx_node(g->node[i]).s, dl_onnx_show(in).s);
        }
    return DL_OK;
}

/* ---- the graph's data input ------------------------------------------- */

static dl_status check_input(importer *im)
{
    const Onnx__GraphProto *g = im->g;
    const Onnx__ValueInfoProto *x = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        if (initializer(im, g->input[i]->name)) continue; /* a constant listed as an input (older exporters) */
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

/* ---- pass 2: the walk ------------------------------------------------- */

/* The one node reading tensor name: its index, -1 for none, -2 (with *e)
 * for several. */
static int consumer(importer *im, const char *name)
{
    int found = -1;
    for (size_t i = 0; i < im->g->n_node; i++)
        for (size_t k = 0; k < im->g->node[i]->n_input; k++)
            if (dl_onnx_same(im->g->node[i]->input[k], name)) {
                if (found >= 0 && found != (int)i) {
                    BAD("%s: tensor '%s' feeds both node %s and node %s (digitlens reads a chain of layers)", im->name,
                        dl_onnx_show(name).s, dl_onnx_node(im->g->node[found]).s, dl_onnx_node(im->g->node[i]).s);
                    return -2;
                }
                found = (int)i;
            }
    return found;
}

static plan_layer *last_layer(importer *im)
{
    return im->nlayers ? &im->layer[im->nlayers - 1] : NULL;
}

/* Flatten (axis 1) or Reshape to [-1 or 0, width]: [N, ...] -> [N, width]. */
static dl_status step_flatten(importer *im, const Onnx__NodeProto *n, op_kind k)
{
    if (im->nlayers)
        return BAD("%s: node %s comes after the first layer (digitlens flattens at the input only)", im->name,
                   dl_onnx_node(n).s);
    if (k == OP_FLATTEN) {
        static const char *const known[] = {"axis", NULL};
        int64_t axis;
        dl_status st = dl_onnx_only_attrs(im->name, n, known, im->e);
        if (st == DL_OK) st = dl_onnx_int_attr(im->name, n, "axis", 1, &axis, im->e);
        if (st != DL_OK) return st;
        if (axis < 0) axis += im->rank;
        if (axis != 1)
            return BAD("%s: node %s flattens from axis %lld; digitlens keeps the batch (axis 1)", im->name,
                       dl_onnx_node(n).s, (long long)axis);
    } else {
        static const char *const known[] = {"allowzero", NULL};
        int64_t allowzero;
        dl_status st = dl_onnx_only_attrs(im->name, n, known, im->e);
        if (st == DL_OK) st = dl_onnx_int_attr(im->name, n, "allowzero", 0, &allowzero, im->e);
        if (st != DL_OK) return st;
        const Onnx__TensorProto *t = constant(im, n, n->input[1], "shape");
        if (!t) return im->e->code;
        size_t count = dl_onnx_tensor_count(im->name, t, im->e);
        if (!count ||
            (st = dl_onnx_tensor_data(im->name, t, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, count, im->e)) != DL_OK)
            return count ? st : im->e->code;
        int64_t a = count == 2 ? dl_onnx_int64_at(t, 0) : 0, b = count == 2 ? dl_onnx_int64_at(t, 1) : 0;
        int batch = a == -1 || (a == 0 && !allowzero);
        if (count != 2 || !batch || (b != -1 && b != im->width))
            return BAD("%s: node %s reshapes to %s%lld, %lld%s, not to [-1, %d] (the batch, then each example "
                       "flat)",
                       im->name, dl_onnx_node(n).s, count == 2 ? "[" : "a shape of ", (long long)a, (long long)b,
                       count == 2 ? "]" : " ...", im->width);
    }
    im->rank = 2;
    return DL_OK;
}

/* Gemm or MatMul: a new layer from the width reached to B's other side. */
static dl_status step_dense(importer *im, const Onnx__NodeProto *n, op_kind k)
{
    plan_layer *prev = last_layer(im);
    if (prev && prev->act < 0)
        return BAD("%s: node %s follows layer %d, which has no activation (digitlens's hidden layers apply "
                   "sigmoid, tanh or ReLU)",
                   im->name, dl_onnx_node(n).s, im->nlayers);
    if (prev && prev->act == DL_ACT_SOFTMAX)
        return BAD("%s: node %s follows a Softmax (digitlens reads softmax on the last layer only)", im->name,
                   dl_onnx_node(n).s);
    if (im->nlayers == NL)
        return BAD("%s: more than %d layers (digitlens's networks have at most %d)", im->name, NL, NL);
    if (im->rank != 2)
        return BAD("%s: node %s gets a rank-%d tensor (flatten the input to [N, %d] first: nn.Flatten)", im->name,
                   dl_onnx_node(n).s, im->rank, im->width);
    if (!dl_onnx_same(n->input[0], im->cur))
        return BAD("%s: node %s takes the layer's input as its B (digitlens reads x·W, the input first)", im->name,
                   dl_onnx_node(n).s);
    plan_layer *L = &im->layer[im->nlayers];
    *L = (plan_layer){.alpha = 1.0f, .beta = 1.0f, .act = -1, .dense = n, .transposed = 1};
    dl_status st;
    if (k == OP_GEMM) {
        static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
        int64_t ta, tb;
        if ((st = dl_onnx_only_attrs(im->name, n, known, im->e)) != DL_OK ||
            (st = dl_onnx_float_attr(im->name, n, "alpha", &L->alpha, im->e)) != DL_OK ||
            (st = dl_onnx_float_attr(im->name, n, "beta", &L->beta, im->e)) != DL_OK ||
            (st = dl_onnx_int_attr(im->name, n, "transA", 0, &ta, im->e)) != DL_OK ||
            (st = dl_onnx_int_attr(im->name, n, "transB", 0, &tb, im->e)) != DL_OK)
            return st;
        if (ta != 0)
            return BAD("%s: node %s has transA = %lld (the batch would become the features)", im->name,
                       dl_onnx_node(n).s, (long long)ta);
        if (tb != 0 && tb != 1)
            return BAD("%s: node %s has transB = %lld, not 0 or 1", im->name, dl_onnx_node(n).s, (long long)tb);
        L->transposed = tb == 0;
    } else if ((st = dl_onnx_only_attrs(im->name, n, (const char *const[]){NULL}, im->e)) != DL_OK) {
        return st;
    }
    if (!(L->w = constant(im, n, n->input[1], "weight"))) return im->e->code;
    size_t count = dl_onnx_tensor_count(im->name, L->w, im->e);
    if (!count) return im->e->code;
    if (L->w->n_dims != 2)
        return BAD("%s: node %s's weight '%s' has %zu dimensions, not 2", im->name, dl_onnx_node(n).s,
                   dl_onnx_show(L->w->name).s, L->w->n_dims);
    int rows = (int)L->w->dims[0], cols = (int)L->w->dims[1];
    L->in = L->transposed ? rows : cols;
    L->out = L->transposed ? cols : rows;
    if (L->in != im->width)
        return BAD("%s: node %s's weight '%s' is [%d, %d]: it takes %d inputs, but the layer before gives %d", im->name,
                   dl_onnx_node(n).s, dl_onnx_show(L->w->name).s, rows, cols, L->in, im->width);
    if ((st = dl_onnx_tensor_data(im->name, L->w, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, count, im->e)) != DL_OK)
        return st;
    if (k == OP_GEMM && n->n_input == 3 && n->input[2] && *n->input[2]) {
        if (!(L->b = constant(im, n, n->input[2], "bias"))) return im->e->code;
    }
    im->nlayers++;
    im->width = L->out;
    return DL_OK;
}

/* A bias for the layer just read: Add(mm, b) after a MatMul, either way round. */
static dl_status step_add(importer *im, const Onnx__NodeProto *n)
{
    plan_layer *L = last_layer(im);
    if (!L || L->b || L->act >= 0)
        return BAD("%s: node %s adds to something other than a MatMul's result (digitlens reads Add as a "
                   "layer's bias)",
                   im->name, dl_onnx_node(n).s);
    dl_status st = dl_onnx_only_attrs(im->name, n, (const char *const[]){NULL}, im->e);
    if (st != DL_OK) return st;
    const char *other = dl_onnx_same(n->input[0], im->cur) ? n->input[1] : n->input[0];
    if (!(L->b = constant(im, n, other, "bias"))) return im->e->code;
    return DL_OK;
}

static dl_status step_act(importer *im, const Onnx__NodeProto *n, op_kind k)
{
    plan_layer *L = last_layer(im);
    if (!L) return BAD("%s: node %s comes before any layer", im->name, dl_onnx_node(n).s);
    if (L->act >= 0)
        return BAD("%s: node %s is a second activation on layer %d", im->name, dl_onnx_node(n).s, im->nlayers);
    dl_status st;
    if (k == OP_SOFTMAX) {
        static const char *const known[] = {"axis", NULL};
        int64_t axis;
        if ((st = dl_onnx_only_attrs(im->name, n, known, im->e)) != DL_OK ||
            (st = dl_onnx_int_attr(im->name, n, "axis", im->opset < 13 ? 1 : -1, &axis, im->e)) != DL_OK)
            return st;
        if (axis != 1 && axis != -1)
            return BAD("%s: node %s is a softmax over axis %lld, not over each example's classes (axis 1)", im->name,
                       dl_onnx_node(n).s, (long long)axis);
    } else if ((st = dl_onnx_only_attrs(im->name, n, (const char *const[]){NULL}, im->e)) != DL_OK) {
        return st;
    }
    L->act = k == OP_SIGMOID ? DL_ACT_SIGMOID
             : k == OP_TANH  ? DL_ACT_TANH
             : k == OP_RELU  ? DL_ACT_RELU
                             : DL_ACT_SOFTMAX;
    return DL_OK;
}

static dl_status walk(importer *im)
{
    const char *out = im->g->output[0]->name;
    for (;;) {
        int c = consumer(im, im->cur);
        if (c == -2) return im->e->code;
        if (c < 0) break;
        const Onnx__NodeProto *n = im->g->node[c];
        if (dl_onnx_same(im->cur, out))
            return BAD("%s: the output '%s' also feeds node %s", im->name, dl_onnx_show(out).s, dl_onnx_node(n).s);
        if (im->used[c]) return BAD("%s: node %s is reached twice: the graph has a cycle", im->name, dl_onnx_node(n).s);
        im->used[c] = 1;
        op_kind k = im->kind[c];
        dl_status st = DL_OK;
        switch (k) {
        case OP_GEMM:
        case OP_MATMUL:
            st = step_dense(im, n, k);
            break;
        case OP_ADD:
            st = step_add(im, n);
            break;
        case OP_SIGMOID:
        case OP_TANH:
        case OP_RELU:
        case OP_SOFTMAX:
            st = step_act(im, n, k);
            break;
        case OP_FLATTEN:
        case OP_RESHAPE:
            if (!dl_onnx_same(n->input[0], im->cur))
                return BAD("%s: node %s takes the data as its shape", im->name, dl_onnx_node(n).s);
            st = step_flatten(im, n, k);
            break;
        case OP_IDENTITY:
            st = dl_onnx_only_attrs(im->name, n, (const char *const[]){NULL}, im->e);
            break;
        case OP_CONSTANT:
        case OP_COUNT:
            DL_ASSERT(0); /* a Constant has no inputs, so it consumes nothing */
        }
        if (st != DL_OK) return st;
        im->cur = n->output[0];
    }
    if (!dl_onnx_same(im->cur, out))
        return BAD("%s: the chain from input '%s' ends at '%s', which is not the graph's output '%s'", im->name,
                   dl_onnx_show(im->input).s, dl_onnx_show(im->cur).s, dl_onnx_show(out).s);
    if (!im->nlayers) return BAD("%s: the graph has no Gemm or MatMul layer", im->name);
    return DL_OK;
}

/* ---- pass 3 and the plan's last checks --------------------------------- */

static dl_status check_plan(importer *im, dl_onnx_info *info)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++)
        if (!im->used[i] && im->kind[i] != OP_CONSTANT)
            return BAD("%s: node %s is not on the path from input '%s' to output '%s'", im->name,
                       dl_onnx_node(g->node[i]).s, dl_onnx_show(im->input).s, dl_onnx_show(g->output[0]->name).s);
    for (int l = 0; l < im->nlayers; l++) {
        plan_layer *L = &im->layer[l];
        dl_onnx_shown nd = dl_onnx_node(L->dense);
        if (L->act < 0 && l + 1 < im->nlayers)
            return BAD("%s: layer %d (node %s) has no activation", im->name, l + 1, nd.s);
        if (L->act < 0) { /* logits: CrossEntropyLoss's softmax is implied */
            L->act = DL_ACT_SOFTMAX;
            info->logits = 1;
        }
        if (L->act == DL_ACT_SOFTMAX && l + 1 < im->nlayers)
            return BAD("%s: layer %d (node %s) is a softmax on a hidden layer (digitlens reads it on the last "
                       "layer only)",
                       im->name, l + 1, nd.s);
        if (L->b) {
            size_t count = dl_onnx_tensor_count(im->name, L->b, im->e);
            if (!count) return im->e->code;
            int shape_ok = count == 1 || (count == (size_t)L->out &&
                                          (L->b->n_dims == 1 || (L->b->n_dims == 2 && L->b->dims[0] == 1)));
            if (!shape_ok)
                return BAD("%s: layer %d's bias '%s' has %zu values where %d (one per neuron) are expected", im->name,
                           l + 1, dl_onnx_show(L->b->name).s, count, L->out);
            L->nbias = count;
            dl_status st = dl_onnx_tensor_data(im->name, L->b, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, count, im->e);
            if (st != DL_OK) return st;
            for (size_t i = 0; i < count; i++)
                if (!isfinite(L->beta * dl_onnx_float_at(L->b, i)))
                    return BAD("%s: layer %d's bias '%s' holds a non-finite value at %zu", im->name, l + 1,
                               dl_onnx_show(L->b->name).s, i);
        }
        size_t nw = (size_t)L->in * L->out;
        for (size_t i = 0; i < nw; i++)
            if (!isfinite(L->alpha * dl_onnx_float_at(L->w, i)))
                return BAD("%s: layer %d's weight '%s' holds a non-finite value at %zu", im->name, l + 1,
                           dl_onnx_show(L->w->name).s, i);
    }
    const Onnx__ValueInfoProto *y = g->output[0];
    if (y->type && y->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && y->type->tensor_type) {
        const Onnx__TypeProto__Tensor *t = y->type->tensor_type;
        if (t->has_elem_type && t->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
            return BAD("%s: output '%s' is not float32", im->name, dl_onnx_show(y->name).s);
        if (t->shape && t->shape->n_dim == 2 &&
            t->shape->dim[1]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            t->shape->dim[1]->dim_value != im->width)
            return BAD("%s: output '%s' says %lld classes but the last layer has %d neurons", im->name,
                       dl_onnx_show(y->name).s, (long long)t->shape->dim[1]->dim_value, im->width);
    }
    return DL_OK;
}

/* ---- metadata digitlens writes ---------------------------------------- */

static const char *metadata(const Onnx__ModelProto *m, const char *key)
{
    for (size_t i = 0; i < m->n_metadata_props; i++)
        if (dl_onnx_same(m->metadata_props[i]->key, key)) return m->metadata_props[i]->value;
    return NULL;
}

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

static dl_status check_model(importer *im, const Onnx__ModelProto *mp, dl_onnx_info *info)
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
    if ((st = check_nodes(im)) != DL_OK || (st = check_names(im)) != DL_OK || (st = check_input(im)) != DL_OK ||
        (st = walk(im)) != DL_OK || (st = check_plan(im, info)) != DL_OK)
        return st;
    snprintf(info->producer, sizeof info->producer, "%s %s", dl_onnx_show(mp->producer_name).s,
             dl_onnx_show(mp->producer_version).s);
    info->opset = im->opset;
    return DL_OK;
}

/* W[l] and b[l] from the plan (alpha and beta folded in; a [in, out]
 * weight transposed into net.h's [out, in]). */
static void fill(const importer *im, dl_net *net)
{
    for (int l = 0; l < im->nlayers; l++) {
        const plan_layer *L = &im->layer[l];
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
static dl_status image_shape(importer *im, const Onnx__ModelProto *mp, int width, int *rows, int *cols)
{
    if (*rows > 0 && *cols > 0) {
        if ((long)*rows * *cols == width) return DL_OK;
        return dl_err_set(im->e, DL_EINVAL,
                          "%s: the input layer has %d neurons, not %dx%d = %ld (give the image "
                          "shape as rows x cols with that product)",
                          im->name, width, *rows, *cols, (long)*rows * *cols);
    }
    const char *m = metadata(mp, "digitlens.input_shape");
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
static dl_status cost_of(importer *im, const Onnx__ModelProto *mp, const dl_net *net, dl_cost *c)
{
    const char *m = metadata(mp, "digitlens.cost");
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
    importer *im = calloc(1, sizeof *im);
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
    const char *classes = metadata(mp, "digitlens.classes");
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
