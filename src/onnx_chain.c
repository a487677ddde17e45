/*
 * onnx_chain.c — passes 2 and 3 of an ONNX import (see onnx_import.c):
 * the walk along the one consumer of each tensor from the data input to
 * the output, one step per node (Flatten and Reshape at the input, with
 * the shape arithmetic torch writes for x.view(x.size(0), -1) followed
 * back to the input's shape; Gemm or MatMul starting a layer; Add as its
 * bias; an activation ending it; Identity), each shape checked against the
 * width reached so far; then the checks of the whole plan.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "contract.h"
#include "onnx_import.h"

/* ---- constants: initialisers and Constant nodes ------------------------ */

/* The constant tensor named name (an initialiser, or a Constant node's
 * value, which is then marked as used); NULL with *e naming what it is
 * instead.  role says what the node wants it for. */
static const Onnx__TensorProto *constant(dl_onnx_importer *im, const Onnx__NodeProto *n, const char *name,
                                         const char *role)
{
    const Onnx__TensorProto *t = dl_onnx_initializer(im->g, name);
    if (t) return t;
    int p = dl_onnx_producer(im->g, name);
    if (p >= 0 && im->kind[p] == OP_CONSTANT && (t = dl_onnx_constant_value(im->g->node[p]))) {
        im->used[p] = 1;
        return t;
    }
    dl_onnx_shown nd = dl_onnx_node(n), tn = dl_onnx_show(name);
    if (p >= 0)
        BAD("%s: node %s takes its %s '%s' from node %s, not from an initialiser or Constant", im->name, nd.s, role,
            tn.s, dl_onnx_node(im->g->node[p]).s);
    else
        BAD("%s: node %s takes its %s '%s' from the graph's input, not from an initialiser", im->name, nd.s, role,
            tn.s);
    return NULL;
}

/* ---- pass 2: the walk ------------------------------------------------- */

/* The one node reading tensor name: its index, -1 for none, -2 (with *e)
 * for several. */
static int consumer(dl_onnx_importer *im, const char *name)
{
    int found = -1;
    for (size_t i = 0; i < im->g->n_node; i++)
        for (size_t k = 0; k < im->g->node[i]->n_input && im->kind[i] != OP_SHAPE; k++)
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

static dl_onnx_layer *last_layer(dl_onnx_importer *im)
{
    return im->nlayers ? &im->layer[im->nlayers - 1] : NULL;
}

/* A shape as a Reshape reads it: at most 8 values, BATCH standing for
 * the input's first dimension, whatever it is when the model runs. */
#define BATCH INT64_MIN
#define SHAPE_MAX 8
typedef struct {
    int n;
    int64_t v[SHAPE_MAX];
} shape_vec;

/* The value of tensor name, read by node user as a shape: an int64
 * constant, or what torch writes for x.view(x.size(0), -1): Shape of the
 * graph's input, Gather of constant indices, Unsqueeze, Concat on axis 0.
 * Marks the nodes it follows as used (pass 3 then knows them). */
static dl_status shape_of(dl_onnx_importer *im, const Onnx__NodeProto *user, const char *name, shape_vec *out,
                          int depth)
{
    out->n = 0;
    const Onnx__TensorProto *t = dl_onnx_initializer(im->g, name);
    int p = dl_onnx_producer(im->g, name);
    if (!t && p >= 0 && im->kind[p] == OP_CONSTANT) t = dl_onnx_constant_value(im->g->node[p]);
    if (p >= 0) im->used[p] = 1;
    if (t) {
        size_t count = dl_onnx_tensor_count(im->name, t, im->e);
        dl_status st;
        if (!count) return im->e->code;
        if ((st = dl_onnx_tensor_data(im->name, t, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, count, im->e)) != DL_OK)
            return st;
        if (count > SHAPE_MAX)
            return BAD("%s: node %s reads a shape of %zu values", im->name, dl_onnx_node(user).s, count);
        for (size_t i = 0; i < count; i++) out->v[out->n++] = dl_onnx_int64_at(t, i);
        return DL_OK;
    }
    if (p < 0)
        return BAD("%s: node %s takes its shape '%s' from a graph input", im->name, dl_onnx_node(user).s,
                   dl_onnx_show(name).s);
    const Onnx__NodeProto *n = im->g->node[p];
    dl_onnx_op k = im->kind[p];
    if (depth > SHAPE_MAX || k < OP_SHAPE)
        return BAD("%s: node %s computes the shape node %s reads, in a way digitlens does not follow (export with "
                   "nn.Flatten or x.view(-1, 784))",
                   im->name, dl_onnx_node(n).s, dl_onnx_node(user).s);
    static const char *const axis_only[] = {"axis", NULL}, *const axes_only[] = {"axes", NULL}, *const none[] = {NULL};
    int64_t axis = 0;
    dl_status st = dl_onnx_only_attrs(im->name, n,
                                      k == OP_UNSQUEEZE ? axes_only
                                      : k == OP_SHAPE   ? none
                                                        : axis_only,
                                      im->e);
    if (st == DL_OK && k != OP_UNSQUEEZE) st = dl_onnx_int_attr(im->name, n, "axis", 0, &axis, im->e);
    if (st != DL_OK) return st;
    if (axis != 0)
        return BAD("%s: node %s works on axis %lld of a shape", im->name, dl_onnx_node(n).s, (long long)axis);
    switch (k) {
    case OP_SHAPE: /* [batch, the input's other dimensions] */
        if (!dl_onnx_same(n->input[0], im->input))
            return BAD("%s: node %s takes the shape of '%s', not of the input", im->name, dl_onnx_node(n).s,
                       dl_onnx_show(n->input[0]).s);
        out->v[out->n++] = BATCH;
        for (int d = 1; d < im->in_rank; d++) out->v[out->n++] = im->in_dims[d];
        return DL_OK;
    case OP_GATHER: {
        shape_vec data, idx;
        if ((st = shape_of(im, n, n->input[0], &data, depth + 1)) != DL_OK ||
            (st = shape_of(im, n, n->input[1], &idx, depth + 1)) != DL_OK)
            return st;
        for (int i = 0; i < idx.n; i++) {
            int64_t j = idx.v[i] < 0 && idx.v[i] != BATCH ? idx.v[i] + data.n : idx.v[i];
            if (j < 0 || j >= data.n)
                return BAD("%s: node %s gathers index %lld of a shape of %d", im->name, dl_onnx_node(n).s,
                           (long long)idx.v[i], data.n);
            out->v[out->n++] = data.v[j];
        }
        return DL_OK;
    }
    case OP_UNSQUEEZE: /* a scalar becomes a one-element list: the same values */
        if (n->n_input == 2) {
            shape_vec axes;
            if ((st = shape_of(im, n, n->input[1], &axes, depth + 1)) != DL_OK) return st;
        }
        return shape_of(im, n, n->input[0], out, depth + 1);
    default: /* Concat */
        for (size_t i = 0; i < n->n_input; i++) {
            shape_vec part;
            if ((st = shape_of(im, n, n->input[i], &part, depth + 1)) != DL_OK) return st;
            if (out->n + part.n > SHAPE_MAX)
                return BAD("%s: node %s makes a shape of over %d values", im->name, dl_onnx_node(n).s, SHAPE_MAX);
            memcpy(out->v + out->n, part.v, (size_t)part.n * sizeof *part.v);
            out->n += part.n;
        }
        return DL_OK;
    }
}

/* Flatten (axis 1) or Reshape to [-1 or 0, width]: [N, ...] -> [N, width]. */
static dl_status step_flatten(dl_onnx_importer *im, const Onnx__NodeProto *n, dl_onnx_op k)
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
        shape_vec v;
        if ((st = shape_of(im, n, n->input[1], &v, 0)) != DL_OK) return st;
        int64_t b0 = v.n == 2 ? v.v[0] : 0; /* the batch: symbolic, inferred, copied, or the input's fixed size */
        int batch = b0 == BATCH || b0 == -1 || (b0 == 0 && !allowzero) || (b0 > 0 && b0 == im->in_dims[0]);
        if (!batch || (v.v[1] != -1 && v.v[1] != im->width)) {
            char shown[96];
            size_t at = 0;
            for (int i = 0; i < v.n && at < 64; i++)
                at += (size_t)snprintf(shown + at, sizeof shown - at, i ? ", %lld" : "%lld", (long long)v.v[i]);
            return BAD("%s: node %s reshapes to [%s], not to [batch or -1, %d or -1] (the batch, then each "
                       "example flat)",
                       im->name, dl_onnx_node(n).s, shown, im->width);
        }
    }
    im->rank = 2;
    return DL_OK;
}

/* Gemm or MatMul: a new layer from the width reached to B's other side. */
static dl_status step_dense(dl_onnx_importer *im, const Onnx__NodeProto *n, dl_onnx_op k)
{
    dl_onnx_layer *prev = last_layer(im);
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
    dl_onnx_layer *L = &im->layer[im->nlayers];
    *L = (dl_onnx_layer){.alpha = 1.0f, .beta = 1.0f, .act = -1, .dense = n, .transposed = 1};
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
static dl_status step_add(dl_onnx_importer *im, const Onnx__NodeProto *n)
{
    dl_onnx_layer *L = last_layer(im);
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

static dl_status step_act(dl_onnx_importer *im, const Onnx__NodeProto *n, dl_onnx_op k)
{
    dl_onnx_layer *L = last_layer(im);
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

dl_status dl_onnx_walk(dl_onnx_importer *im)
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
        dl_onnx_op k = im->kind[c];
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
        case OP_GATHER:
        case OP_UNSQUEEZE:
        case OP_CONCAT:
            return BAD("%s: node %s is in the data's path (digitlens follows %s only into a Reshape's shape)", im->name,
                       dl_onnx_node(n).s, DL_ONNX_OPS[k].name);
        case OP_SHAPE:    /* consumer() passes over Shape: it reads the shape, not the data */
        case OP_CONSTANT: /* a Constant has no inputs */
        case OP_COUNT:
            DL_ASSERT(0);
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

dl_status dl_onnx_check_plan(dl_onnx_importer *im, dl_onnx_info *info)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++)
        if (!im->used[i] && im->kind[i] != OP_CONSTANT)
            return BAD("%s: node %s is not on the path from input '%s' to output '%s'", im->name,
                       dl_onnx_node(g->node[i]).s, dl_onnx_show(im->input).s, dl_onnx_show(g->output[0]->name).s);
    for (int l = 0; l < im->nlayers; l++) {
        dl_onnx_layer *L = &im->layer[l];
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
