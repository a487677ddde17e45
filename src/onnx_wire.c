/*
 * onnx_wire.c — protobuf-c's unpack of an ONNX file, made safe to call on
 * a hostile one (the bounds of onnx.h).
 *
 * protobuf-c 1.4.1 (Debian's) parses well-formed and malformed input
 * correctly, but two shapes of input make it misbehave: nested messages
 * recurse without a limit (ModelProto.graph.node.attribute.g.node... costs
 * three bytes a level, so a 4 MB file overflows an 8 MB stack), and a
 * non-repeated message field given again is merged into the earlier one,
 * which copies every repeated field gathered so far (200,000 copies of
 * "graph { node {} }", 800 kB, take minutes).  Neither appears in any
 * file an ONNX writer makes.  So before protobuf-c sees the bytes, one
 * walk over the tags and lengths, steered by the descriptors protoc-c
 * generated, refuses nesting beyond DL_ONNX_MAX_DEPTH and a singular
 * message field given twice.  The walk decodes no values: it only skips
 * fields by their lengths and recurses into the message-typed ones, so
 * there is one protobuf decoder, protobuf-c's.  Memory is then bounded by
 * the counting allocator protobuf-c unpacks through.
 */
#include "onnx_pb.h"

#include <stdint.h>
#include <stdlib.h>

#include "digitlens/onnx.h"

#include "contract.h"

/* ---- the counting allocator ------------------------------------------- */

/* Each block starts with its size, padded to max_align_t's 16 bytes so the
 * structures after it stay aligned. */
#define HEADER 16

static void *pool_alloc(void *data, size_t n)
{
    dl_onnx_pool *p = data;
    if (n > p->limit - p->used || HEADER > p->limit - p->used - n) {
        p->refused = 1;
        return NULL;
    }
    unsigned char *b = malloc(n + HEADER);
    if (!b) return NULL;
    *(size_t *)(void *)b = n;
    p->used += n + HEADER;
    return b + HEADER;
}

static void pool_free(void *data, void *ptr)
{
    if (!ptr) return;
    dl_onnx_pool *p = data;
    unsigned char *b = (unsigned char *)ptr - HEADER;
    size_t n = *(size_t *)(void *)b;
    DL_ASSERT(n + HEADER <= p->used);
    p->used -= n + HEADER;
    free(b);
}

/* ---- the walk over tags and lengths ------------------------------------- */

/* Reads a base-128 varint from p[0..n); returns its length (1..10), or 0
 * when it runs past n or beyond ten bytes. */
static size_t varint(const unsigned char *p, size_t n, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) return i + 1;
    }
    return 0;
}

/* The message d encoded in p[0..n), which starts at byte base of the file. */
static dl_status walk(const unsigned char *p, size_t n, size_t base, const ProtobufCMessageDescriptor *d, int depth,
                      const char *name, dl_err *e)
{
    if (depth > DL_ONNX_MAX_DEPTH)
        return dl_err_set(e, DL_ELIMIT, "%s: messages nested more than %d deep at byte %zu (an ONNX model needs 7)",
                          name, DL_ONNX_MAX_DEPTH, base);
    unsigned char seen[64] = {0}; /* singular message fields met, by descriptor index */
    DL_ASSERT(d->n_fields <= sizeof seen);
    size_t at = 0;
    while (at < n) {
        size_t start = at;
        uint64_t key, len = 0;
        size_t k = varint(p + at, n - at, &key);
        if (!k) goto broken;
        at += k;
        switch (key & 7) {
        case 0: /* varint */
            if (!(k = varint(p + at, n - at, &len))) goto broken;
            at += k;
            break;
        case 1: /* 64-bit */
            if (n - at < 8) goto broken;
            at += 8;
            break;
        case 5: /* 32-bit */
            if (n - at < 4) goto broken;
            at += 4;
            break;
        case 2: { /* length-delimited: bytes, string, packed numbers or a message */
            if (!(k = varint(p + at, n - at, &len)) || len > n - at - k) goto broken;
            at += k;
            uint64_t tag = key >> 3;
            const ProtobufCFieldDescriptor *f =
                tag <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)tag) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (f->label != PROTOBUF_C_LABEL_REPEATED && seen[f - d->fields]++)
                    return dl_err_set(e, DL_EFORMAT,
                                      "%s: %s.%s is given twice (byte %zu); an ONNX writer gives it once", name,
                                      d->short_name, f->name, base + start);
                dl_status st = walk(p + at, (size_t)len, base + at, f->descriptor, depth + 1, name, e);
                if (st != DL_OK) return st;
            }
            at += (size_t)len;
            break;
        }
        default: /* 3 and 4 are proto2 groups, which ONNX does not use; 6 and 7 do not exist */
            goto broken;
        }
        continue;
    broken:
        return dl_err_set(e, DL_EFORMAT,
                          "%s: not an ONNX model, or truncated (the protobuf field at byte %zu is broken or runs past "
                          "the end)",
                          name, base + start);
    }
    return DL_OK;
}

Onnx__ModelProto *dl_onnx_unpack(const unsigned char *buf, size_t len, const char *name, dl_onnx_pool *pool, dl_err *e)
{
    *pool = (dl_onnx_pool){{pool_alloc, pool_free, pool}, 0, 0, 0};
    if (len > DL_ONNX_MAX_BYTES) {
        dl_err_set(e, DL_ELIMIT, "%s: %zu bytes is beyond digitlens's limit of %zu MiB for an ONNX model", name, len,
                   DL_ONNX_MAX_BYTES >> 20);
        return NULL;
    }
    if (walk(buf, len, 0, &onnx__model_proto__descriptor, 0, name, e) != DL_OK) return NULL;
    pool->limit = 2 * len + ((size_t)16 << 20);
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pool->a, len, buf);
    if (!m) {
        if (pool->refused)
            dl_err_set(e, DL_ELIMIT,
                       "%s: holds more small records than its size explains (unpacking would take over "
                       "%zu MiB; digitlens allows twice the file's size + 16 MiB)",
                       name, pool->limit >> 20);
        else
            dl_err_set(e, DL_EFORMAT,
                       "%s: not an ONNX model (protobuf-c cannot read it as an onnx.ModelProto: "
                       "a field has the wrong type, or the file is damaged)",
                       name);
        return NULL;
    }
    return m;
}

void dl_onnx_pb_free(Onnx__ModelProto *m, dl_onnx_pool *pool)
{
    if (m) onnx__model_proto__free_unpacked(m, &pool->a);
}
