/*
 * onnx.h — a network to and from ONNX, the exchange format of PyTorch,
 * onnxruntime and Netron.
 *
 * The bytes are read and written by protobuf-c through code generated at
 * build time from Debian's ONNX schema (libonnx-dev's onnx.proto): there is
 * no hand-written protobuf encoder or decoder in digitlens.
 *
 * Export writes an MLP as ONNX expects it (IR version 7, opset 13, the
 * default domain): input "x" float32 [N, sizes[0]] with a symbolic batch N,
 * then per layer l a Gemm (x·W[l]ᵀ + b[l], transB = 1, the layout of
 * net.h and of torch's nn.Linear) named "gemm<l>" over the float32
 * initialisers "W<l>" [sizes[l+1], sizes[l]] and "b<l>" [sizes[l+1]],
 * followed by its activation (Sigmoid, Tanh, Relu or Softmax on axis 1);
 * the last one writes the output "y" [N, K].  Metadata keys
 * "digitlens.cost", "digitlens.input_shape" ("28x28") and, for a model over
 * chosen digits, "digitlens.classes" ("3,8") let an import restore what
 * ONNX has no place for.  A model with a non-finite parameter is refused.
 *
 * Import reads the MLPs torch.onnx.export writes for nn.Sequential of
 * Linear and ReLU/Sigmoid/Tanh with an optional final Softmax, and what
 * digitlens writes: a chain from the one graph input to the one output of
 *     [Flatten(axis 1) | Reshape to [batch, W]]  at the input,
 *     Gemm (transA 0, transB 0 or 1, alpha and beta folded into the
 *           parameters, bias optional) | MatMul [+ Add of a bias],
 *     Sigmoid | Tanh | Relu | Softmax (axis 1 or -1, last layer only),
 *     Identity anywhere,
 * with float32 initialisers (raw_data or float_data; a graph input that is
 * also an initialiser is a constant), and Reshape's shape an int64
 * initialiser or Constant, or the Shape/Gather/Unsqueeze/Concat of the
 * input's shape torch writes for x.view(x.size(0), -1).  The image shape
 * comes from an [N, 1, R, C] or [N, R, C] input.  A last layer without an
 * activation gives logits (torch's CrossEntropyLoss nets): it is read as
 * softmax, whose argmax is the same.  Anything else is refused with one sentence naming
 * the node and its op.  Everything is checked before the model is
 * allocated: opset (7..21 of the default domain), names (each produced
 * once, none dangling, no cycle, no node off the chain), shapes chained
 * layer to layer, every size within net.h's limits.
 *
 * Bounds against hostile files: at most DL_ONNX_MAX_BYTES; before
 * protobuf-c sees the bytes, a walk over the tags and lengths (driven by
 * the generated descriptors; it decodes no values) refuses nesting deeper
 * than DL_ONNX_MAX_DEPTH and a non-repeated message field given twice
 * (protobuf-c 1.4's unpack recurses without a limit — a 4 MB file of
 * nested graphs overflows the stack — and merges repeated singular fields
 * in quadratic time); protobuf-c then allocates through a counting
 * allocator that refuses to hold more than 2 x the file's size + 16 MiB.
 *
 * Knows nothing of the command line; the writer is atomic (fileio).
 */
#ifndef DIGITLENS_ONNX_H
#define DIGITLENS_ONNX_H

#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/model.h"

/* The largest network digitlens holds (DL_MAX_PARAMS floats, 64 MiB) and
 * 4 MiB for the graph around it. */
#define DL_ONNX_MAX_BYTES (((size_t)DL_MAX_PARAMS * 4) + ((size_t)4 << 20))
#define DL_ONNX_MAX_DEPTH 16    /* nested messages; a model needs 7 */
#define DL_ONNX_MAX_NODES 256   /* nodes, initialisers, inputs of one graph */
#define DL_ONNX_OPSET 13        /* the opset export writes */
#define DL_ONNX_IR_VERSION 7

/* The model as ONNX bytes (a new buffer the caller frees).  producer is the
 * version written as producer_version (producer_name is "digitlens"). */
dl_status dl_onnx_encode(const dl_model *m, const char *producer, unsigned char **out, size_t *len, dl_err *e);

/* dl_onnx_encode written to path atomically. */
dl_status dl_onnx_save(const dl_model *m, const char *producer, const char *path, dl_err *e);

/* What an import found beyond the parameters, for the caller to report. */
typedef struct dl_onnx_info {
    char producer[100];     /* producer_name and producer_version, e.g. "pytorch 1.13.0" */
    int opset;              /* the default domain's opset */
    int logits;             /* the last layer had no activation and is read as softmax */
} dl_onnx_info;

/* A model from ONNX bytes.  rows x cols is the input image shape: 0 x 0
 * takes it from the file (metadata, or a [N, 1, R, C] / [N, R, C] input),
 * else 28x28 for 784 inputs and 1 x n otherwise.  The model has no history
 * and no training state, and its initial parameters equal the trained ones
 * (ONNX keeps none), as for an import from network2.py.  info may be NULL;
 * name is used in messages. */
dl_status dl_onnx_decode(const unsigned char *buf, size_t len, const char *name, int rows, int cols,
                         dl_model **out, dl_onnx_info *info, dl_err *e);

/* dl_onnx_decode on a file (at most DL_ONNX_MAX_BYTES). */
dl_status dl_onnx_load(const char *path, int rows, int cols, dl_model **out, dl_onnx_info *info, dl_err *e);

#endif
