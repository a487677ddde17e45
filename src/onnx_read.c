/*
 * onnx_read.c — reading the pieces of an unpacked ONNX graph: names fit
 * for messages, tensors (their counts, where their data is, their values
 * in either of the two places ONNX keeps floats and int64s) and node
 * attributes (with ONNX's defaults, refusing the wrong type), names in a
 * graph (who produces a tensor, whether every name is produced once and
 * defined before it is read) and metadata.  Every refusal is one sentence
 * starting with the file's name.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "digitlens/net.h"

#include "bytes.h"
#include "onnx_pb.h"

#define BAD(...) dl_err_set(e, DL_EFORMAT, __VA_ARGS__)

/* ---- names in messages ------------------------------------------------ */

dl_onnx_shown dl_onnx_show(const char *s)
{
    dl_onnx_shown r;
    dl_err_shown(s ? s : "", 40, r.s, sizeof r.s);
    if (s && strlen(s) > 40) strcpy(r.s + 40, "...");
    return r;
}

dl_onnx_shown dl_onnx_node(const Onnx__NodeProto *n)
{
    const char *nm = n->name && *n->name ? n->name : n->n_output && n->output[0] ? n->output[0] : "";
    dl_onnx_shown a = dl_onnx_show(nm), b = dl_onnx_show(n->op_type), r;
    snprintf(r.s, sizeof r.s, "'%.20s' (%.20s)", a.s, b.s);
    return r;
}

/* Elements of t when its dims are each 1..DL_MAX_WIDTH and their product
 * at most DL_MAX_PARAMS; 0 (with *e) otherwise. */
size_t dl_onnx_tensor_count(const char *file, const Onnx__TensorProto *t, dl_err *e)
{
    size_t count = 1;
    if (t->n_dims > 4) {
        BAD("%s: tensor '%s' has %zu dimensions (a layer's parameters have at most 2)", file, dl_onnx_show(t->name).s,
            t->n_dims);
        return 0;
    }
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 1 || t->dims[d] > DL_MAX_WIDTH) {
            dl_err_set(e, DL_EFORMAT,
                       "%s: tensor '%s' has dimension %zu of %lld (digitlens's layers have 1..%d neurons)", file,
                       dl_onnx_show(t->name).s, d, (long long)t->dims[d], DL_MAX_WIDTH);
            return 0;
        }
        count *= (size_t)t->dims[d];
        if (count > DL_MAX_PARAMS) {
            BAD("%s: tensor '%s' has over %u elements, beyond digitlens's limit", file, dl_onnx_show(t->name).s,
                DL_MAX_PARAMS);
            return 0;
        }
    }
    return count;
}

/* Checks that t holds count values of data type `type` in the file itself
 * (raw_data, or the typed field given): no external data, no segments. */
dl_status dl_onnx_tensor_data(const char *file, const Onnx__TensorProto *t, int type, size_t count, dl_err *e)
{
    dl_onnx_shown tn = dl_onnx_show(t->name);
    if (!t->has_data_type || t->data_type != type)
        return BAD("%s: tensor '%s' has data type %d, not %s (%d)", file, tn.s, t->has_data_type ? t->data_type : 0,
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? "float32" : "int64", type);
    if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) || t->n_external_data)
        return dl_err_set(e, DL_EFORMAT,
                          "%s: tensor '%s' keeps its data in an external file (save the model with its data inside: "
                          "onnx.save(model, path, save_as_external_data=False))",
                          file, tn.s);
    if (t->segment) return BAD("%s: tensor '%s' is split into segments, which digitlens does not read", file, tn.s);
    size_t elt = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;
    size_t typed = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? t->n_float_data : t->n_int64_data;
    if (t->has_raw_data && t->raw_data.len) {
        if (typed) return BAD("%s: tensor '%s' holds both raw_data and typed values", file, tn.s);
        if (t->raw_data.len != count * elt)
            return BAD("%s: tensor '%s' has %zu bytes of raw_data where its shape needs %zu", file, tn.s,
                       t->raw_data.len, count * elt);
    } else if (typed != count) {
        return BAD("%s: tensor '%s' holds %zu values where its shape needs %zu", file, tn.s, typed, count);
    }
    return DL_OK;
}

float dl_onnx_float_at(const Onnx__TensorProto *t, size_t i)
{
    if (t->n_float_data) return t->float_data[i];
    uint32_t u = dl_get_le32(t->raw_data.data + 4 * i);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int64_t dl_onnx_int64_at(const Onnx__TensorProto *t, size_t i)
{
    if (t->n_int64_data) return t->int64_data[i];
    const unsigned char *p = t->raw_data.data + 8 * i;
    return (int64_t)((uint64_t)dl_get_le32(p) | (uint64_t)dl_get_le32(p + 4) << 32);
}

/* ---- attributes ------------------------------------------------------- */

/* The attribute named name of n, or NULL. */
const Onnx__AttributeProto *dl_onnx_attribute(const Onnx__NodeProto *n, const char *name)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (dl_onnx_same(n->attribute[a]->name, name)) return n->attribute[a];
    return NULL;
}

/* An integer attribute (def when absent); refuses one of another type. */
dl_status dl_onnx_int_attr(const char *file, const Onnx__NodeProto *n, const char *name, int64_t def, int64_t *v,
                           dl_err *e)
{
    const Onnx__AttributeProto *a = dl_onnx_attribute(n, name);
    *v = def;
    if (!a) return DL_OK;
    if (!a->has_i || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
        return BAD("%s: node %s has a %s attribute that is not an integer", file, dl_onnx_node(n).s, name);
    *v = a->i;
    return DL_OK;
}

dl_status dl_onnx_float_attr(const char *file, const Onnx__NodeProto *n, const char *name, float *v, dl_err *e)
{
    const Onnx__AttributeProto *a = dl_onnx_attribute(n, name);
    *v = 1.0f;
    if (!a) return DL_OK;
    if (!a->has_f || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) || !isfinite(a->f))
        return BAD("%s: node %s has a %s attribute that is not a finite float", file, dl_onnx_node(n).s, name);
    *v = a->f;
    return DL_OK;
}

/* Refuses an attribute not in the NULL-terminated list known. */
dl_status dl_onnx_only_attrs(const char *file, const Onnx__NodeProto *n, const char *const *known, dl_err *e)
{
    for (size_t a = 0; a < n->n_attribute; a++) {
        int ok = 0;
        for (const char *const *k = known; *k; k++) ok |= dl_onnx_same(n->attribute[a]->name, *k);
        if (!ok)
            return BAD("%s: node %s has an attribute '%s' digitlens does not read", file, dl_onnx_node(n).s,
                       dl_onnx_show(n->attribute[a]->name).s);
    }
    return DL_OK;
}

/* ---- names in a graph --------------------------------------------------- */

const Onnx__TensorProto *dl_onnx_initializer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (dl_onnx_same(g->initializer[i]->name, name)) return g->initializer[i];
    return NULL;
}

int dl_onnx_producer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_output; k++)
            if (dl_onnx_same(g->node[i]->output[k], name)) return (int)i;
    return -1;
}

const Onnx__TensorProto *dl_onnx_constant_value(const Onnx__NodeProto *n)
{
    const Onnx__AttributeProto *a = dl_onnx_attribute(n, "value");
    return a ? a->t : NULL;
}

/* Is name an initialiser, a graph input or a node output? */
static int defined(const Onnx__GraphProto *g, const char *name)
{
    if (dl_onnx_initializer(g, name) || dl_onnx_producer(g, name) >= 0) return 1;
    for (size_t i = 0; i < g->n_input; i++)
        if (dl_onnx_same(g->input[i]->name, name)) return 1;
    return 0;
}

/* The lists are at most DL_ONNX_MAX_NODES long and the nodes digitlens
 * reads have a few inputs each, so the quadratic scans stay small. */
dl_status dl_onnx_check_names(const char *file, const Onnx__GraphProto *g, dl_err *e)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t o = 0; o < n->n_output; o++) {
            const char *out = n->output[o];
            if (!out || !*out) return BAD("%s: node %s has an unnamed output", file, dl_onnx_node(n).s);
            if (dl_onnx_producer(g, out) != (int)i || dl_onnx_initializer(g, out))
                return BAD("%s: tensor '%s' is produced twice (ONNX names each value once)", file, dl_onnx_show(out).s);
            for (size_t k = 0; k < g->n_input; k++)
                if (dl_onnx_same(g->input[k]->name, out))
                    return BAD("%s: node %s writes '%s', which is also a graph input", file, dl_onnx_node(n).s,
                               dl_onnx_show(out).s);
        }
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        const char *nm = g->initializer[i]->name;
        if (!nm || !*nm) return BAD("%s: initialiser %zu has no name", file, i);
        if (dl_onnx_initializer(g, nm) != g->initializer[i])
            return BAD("%s: two initialisers are named '%s'", file, dl_onnx_show(nm).s);
    }
    for (size_t i = 0; i < g->n_input; i++)
        for (size_t k = 0; k < i; k++)
            if (dl_onnx_same(g->input[i]->name, g->input[k]->name))
                return BAD("%s: two graph inputs are named '%s'", file, dl_onnx_show(g->input[i]->name).s);
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t k = 0; k < n->n_input; k++) {
            const char *in = n->input[k];
            if (!in || !*in) {
                if (dl_onnx_same(n->op_type, "Gemm") && k == 2) continue; /* its optional C left out */
                return BAD("%s: node %s has an unnamed input", file, dl_onnx_node(n).s);
            }
            if (!defined(g, in))
                return BAD("%s: node %s reads '%s', which no initialiser, graph input or node provides", file,
                           dl_onnx_node(n).s, dl_onnx_show(in).s);
        }
    }
    return DL_OK;
}

const char *dl_onnx_metadata(const Onnx__ModelProto *m, const char *key)
{
    for (size_t i = 0; i < m->n_metadata_props; i++)
        if (dl_onnx_same(m->metadata_props[i]->key, key)) return m->metadata_props[i]->value;
    return NULL;
}
