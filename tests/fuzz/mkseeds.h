/*
 * mkseeds.h — what mkseeds.c shares with the seed writers in files of
 * their own (mkseeds_onnx.c).
 */
#ifndef DIGITLENS_MKSEEDS_H
#define DIGITLENS_MKSEEDS_H

#include <stddef.h>

/* Prints "mkseeds: what" and exits 1. */
void die(const char *what);

/* Writes n bytes to DIR/sub/name. */
void save(const char *sub, const char *name, const void *p, size_t n);

/* DIR/onnx: the seeds of fuzz_onnx (mkseeds_onnx.c). */
void onnx_seeds(void);

#endif
