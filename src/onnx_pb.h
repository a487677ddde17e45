/*
 * onnx_pb.h — what the files of the ONNX door share: the structures
 * protoc-c generates from Debian's onnx.proto (build/gen/onnx.pb-c.h, made
 * at build time, never committed), the guarded unpack (onnx_wire.c) and
 * the readers of tensors and attributes (onnx_read.c).  Private to src/.
 */
#ifndef DIGITLENS_ONNX_PB_H
#define DIGITLENS_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "digitlens/err.h"

#include "onnx.pb-c.h"

/* A protobuf-c allocator that counts what it holds and refuses to hold
 * more than limit bytes (each block carries its size in a header). */
typedef struct dl_onnx_pool {
    ProtobufCAllocator a;
    size_t used, limit;
    int refused; /* an allocation was refused for the limit */
} dl_onnx_pool;

/* Unpacks an ONNX ModelProto from buf[0..len) under the bounds of onnx.h
 * (size, nesting, singular fields given once, memory through *pool, which
 * this initialises).  NULL with *e filled on any refusal; free the result
 * with dl_onnx_pb_free and the same pool.  name is used in messages. */
Onnx__ModelProto *dl_onnx_unpack(const unsigned char *buf, size_t len, const char *name, dl_onnx_pool *pool, dl_err *e);

void dl_onnx_pb_free(Onnx__ModelProto *m, dl_onnx_pool *pool);

/* ---- onnx_read.c -------------------------------------------------------- */

/* A name from the file, fit for a message: at most 40 bytes of it (then
 * "..."), control characters as '?' (dl_err_shown). */
typedef struct {
    char s[48];
} dl_onnx_shown;

dl_onnx_shown dl_onnx_show(const char *s);
/* "'gemm0' (Gemm)": the node's name (or its first output's) and its op. */
dl_onnx_shown dl_onnx_node(const Onnx__NodeProto *n);

/* Two names from the file are the same (a missing one equals nothing). */
static inline int dl_onnx_same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Elements of t when its dims are each 1..DL_MAX_WIDTH and their product
 * at most DL_MAX_PARAMS; 0 (with *e naming file and tensor) otherwise. */
size_t dl_onnx_tensor_count(const char *file, const Onnx__TensorProto *t, dl_err *e);

/* Checks that t holds count values of data type `type` (float32 or
 * int64) in the file itself: raw_data or the typed field, one of them, of
 * exactly that length; no external data, no segments. */
dl_status dl_onnx_tensor_data(const char *file, const Onnx__TensorProto *t, int type, size_t count, dl_err *e);

/* Value i of a tensor dl_onnx_tensor_data accepted (raw_data is
 * little-endian whatever the machine). */
float dl_onnx_float_at(const Onnx__TensorProto *t, size_t i);
int64_t dl_onnx_int64_at(const Onnx__TensorProto *t, size_t i);

/* The attribute named name of n, or NULL. */
const Onnx__AttributeProto *dl_onnx_attribute(const Onnx__NodeProto *n, const char *name);

/* An integer or float attribute, def (1 for floats) when absent; refuses
 * one of another type (or a non-finite float). */
dl_status dl_onnx_int_attr(const char *file, const Onnx__NodeProto *n, const char *name, int64_t def, int64_t *v,
                           dl_err *e);
dl_status dl_onnx_float_attr(const char *file, const Onnx__NodeProto *n, const char *name, float *v, dl_err *e);

/* Refuses an attribute that is not in the NULL-terminated list known. */
dl_status dl_onnx_only_attrs(const char *file, const Onnx__NodeProto *n, const char *const *known, dl_err *e);

/* The initialiser named name, or NULL; the index of the node that writes
 * tensor name, or -1; the tensor a Constant node holds, or NULL. */
const Onnx__TensorProto *dl_onnx_initializer(const Onnx__GraphProto *g, const char *name);
int dl_onnx_producer(const Onnx__GraphProto *g, const char *name);
const Onnx__TensorProto *dl_onnx_constant_value(const Onnx__NodeProto *n);

/* ONNX's naming rules: every node output named, and written by that node
 * alone (no initialiser or graph input of the same name); initialisers and
 * inputs named once; every name a node reads defined somewhere (Gemm's
 * optional C may be left empty). */
dl_status dl_onnx_check_names(const char *file, const Onnx__GraphProto *g, dl_err *e);

/* The value of metadata_props key, or NULL. */
const char *dl_onnx_metadata(const Onnx__ModelProto *m, const char *key);

#endif
