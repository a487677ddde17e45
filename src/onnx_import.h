/*
 * onnx_import.h — what the two halves of the ONNX reader share: the ops
 * it knows, the plan it gathers per layer, and the state of one import.
 * onnx_import.c checks the model and graph as a whole and builds the
 * digitlens model from the plan; onnx_chain.c walks the chain of nodes
 * from input to output and makes the plan.  Private to src/.
 */
#ifndef DIGITLENS_ONNX_IMPORT_H
#define DIGITLENS_ONNX_IMPORT_H

#include "digitlens/onnx.h"

#include "onnx_pb.h"

#define NL (DL_MAX_LAYERS - 1)

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
    OP_SHAPE, /* Shape, Gather, Unsqueeze and Concat: only in a Reshape's shape (shape_of) */
    OP_GATHER,
    OP_UNSQUEEZE,
    OP_CONCAT,
    OP_COUNT
} dl_onnx_op;

/* Each op's name and how many inputs it takes (it gives one output). */
typedef struct {
    const char *name;
    int min_in, max_in;
} dl_onnx_op_info;
extern const dl_onnx_op_info DL_ONNX_OPS[OP_COUNT];

/* One layer as the file gives it: y = act(alpha·x·W' + beta·c). */
typedef struct {
    const Onnx__TensorProto *w, *b; /* b NULL: no bias */
    size_t nbias;                   /* b's values: 1 (broadcast) or out */
    int transposed;                 /* w is [in, out] (MatMul, Gemm transB 0), not [out, in] */
    float alpha, beta;
    int in, out;
    int act;                      /* a dl_act, or -1 while none has been seen */
    const Onnx__NodeProto *dense; /* the Gemm or MatMul */
} dl_onnx_layer;

typedef struct {
    const char *name;
    dl_err *e;
    const Onnx__GraphProto *g;
    int opset;
    dl_onnx_op kind[DL_ONNX_MAX_NODES];
    unsigned char used[DL_ONNX_MAX_NODES];
    const char *input;       /* the graph's data input */
    int in_rank, in_dims[4]; /* its shape; in_dims[0] is the batch: its size, or -1 when symbolic */
    const char *cur;         /* the tensor the walk has reached */
    int rank, width;         /* its rank, and its width once [N, width] */
    dl_onnx_layer layer[NL];
    int nlayers; /* dense layers found */
} dl_onnx_importer;

#define BAD(...) dl_err_set(im->e, DL_EFORMAT, __VA_ARGS__)

/* Pass 2: the walk from the data input to the output, filling im->layer
 * (see onnx_chain.c).  Pass 3: every node was on it, and the plan's
 * activations, biases and values are ones digitlens can hold. */
dl_status dl_onnx_walk(dl_onnx_importer *im);
dl_status dl_onnx_check_plan(dl_onnx_importer *im, dl_onnx_info *info);

#endif
