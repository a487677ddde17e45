/*
 * onnx_read.c — reading the pieces of an unpacked ONNX graph: names fit
 * for messages, tensors (their counts, where their data is, their values
 * in either of the two places ONNX keeps floats and int64s) and node
 * attributes (with ONNX's defaults, refusing the wrong type).  Every
 * refusal is one sentence starting with the file's name.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "digitlens/net.h"

#include "bytes.h"
#include "onnx_pb.h"

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
        dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' has %zu dimensions (a layer's parameters have at most 2)", file,
                   dl_onnx_show(t->name).s, t->n_dims);
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
            dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' has over %u elements, beyond digitlens's limit", file,
                       dl_onnx_show(t->name).s, DL_MAX_PARAMS);
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
        return dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' has data type %d, not %s (%d)", file, tn.s,
                          t->has_data_type ? t->data_type : 0,
                          type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? "float32" : "int64", type);
    if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) || t->n_external_data)
        return dl_err_set(e, DL_EFORMAT,
                          "%s: tensor '%s' keeps its data in an external file (save the model with its data inside: "
                          "onnx.save(model, path, save_as_external_data=False))",
                          file, tn.s);
    if (t->segment)
        return dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' is split into segments, which digitlens does not read", file,
                          tn.s);
    size_t elt = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;
    size_t typed = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? t->n_float_data : t->n_int64_data;
    if (t->has_raw_data && t->raw_data.len) {
        if (typed) return dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' holds both raw_data and typed values", file, tn.s);
        if (t->raw_data.len != count * elt)
            return dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' has %zu bytes of raw_data where its shape needs %zu",
                              file, tn.s, t->raw_data.len, count * elt);
    } else if (typed != count) {
        return dl_err_set(e, DL_EFORMAT, "%s: tensor '%s' holds %zu values where its shape needs %zu", file, tn.s,
                          typed, count);
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
        return dl_err_set(e, DL_EFORMAT, "%s: node %s has a %s attribute that is not an integer", file,
                          dl_onnx_node(n).s, name);
    *v = a->i;
    return DL_OK;
}

dl_status dl_onnx_float_attr(const char *file, const Onnx__NodeProto *n, const char *name, float *v, dl_err *e)
{
    const Onnx__AttributeProto *a = dl_onnx_attribute(n, name);
    *v = 1.0f;
    if (!a) return DL_OK;
    if (!a->has_f || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) || !isfinite(a->f))
        return dl_err_set(e, DL_EFORMAT, "%s: node %s has a %s attribute that is not a finite float", file,
                          dl_onnx_node(n).s, name);
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
            return dl_err_set(e, DL_EFORMAT, "%s: node %s has an attribute '%s' digitlens does not read", file,
                              dl_onnx_node(n).s, dl_onnx_show(n->attribute[a]->name).s);
    }
    return DL_OK;
}
