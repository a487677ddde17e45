/*
 * json.h — a small strict JSON parser (RFC 8259: objects, arrays, strings
 * with escapes, numbers, true/false/null) into a flat node array, for the
 * doors to other tools (network2.c).  Private to src/.
 *
 * Arrays made only of numbers (every row of a weight matrix) are kept
 * "packed" as a run of doubles in one pool instead of a node per number,
 * so a 784-100-10 network costs a few hundred nodes.  Limits (size,
 * nesting, values, numbers) are checked as the parse grows, so a hostile
 * file costs at most its own size in memory; every refusal is one sentence
 * naming the place ("name: line 3, column 17: ...").  A key given twice in
 * an object is an error.  tests/fuzz/fuzz_json.c fuzzes it.
 */
#ifndef DIGITLENS_JSON_H
#define DIGITLENS_JSON_H

#include <stddef.h>

#include "digitlens/err.h"
#include "digitlens/network2.h" /* the DL_JSON_MAX_* limits, public with the loader */

enum { DL_JSON_NULL, DL_JSON_FALSE, DL_JSON_TRUE, DL_JSON_NUM, DL_JSON_STR, DL_JSON_ARR, DL_JSON_OBJ };

typedef struct dl_json_node {
    unsigned char type;
    unsigned char packed; /* DL_JSON_ARR: the elements are nums[a .. a+n) */
    size_t pos;           /* byte offset of the value */
    size_t n;             /* DL_JSON_ARR/DL_JSON_OBJ: elements; DL_JSON_STR: bytes */
    size_t a;             /* first child (0: none), or nums index (packed DL_JSON_ARR, DL_JSON_NUM), or strs offset (DL_JSON_STR) */
    size_t next;          /* next sibling; 0 ends the list (node 0 is a placeholder) */
    size_t key, keylen;   /* object members: the key in strs */
} dl_json_node;

typedef struct dl_json_doc {
    const char *s;
    size_t len, i;
    const char *name;
    dl_json_node *nodes;
    size_t nn, ncap;
    double *nums;
    size_t nnum, numcap;
    char *strs;
    size_t nstr, strcap;
    dl_err *e;
    int failed;
} dl_json_doc;

/* Parses the whole text; the root is d->nodes[1].  name labels messages.
 * Free d with dl_json_free, also after a failure. */
dl_status dl_json_parse(dl_json_doc *d, const char *text, size_t len, const char *name, dl_err *e);
void dl_json_free(dl_json_doc *d);

/* "null", "a number", "a list of numbers", "an object", ...: for messages. */
const char *dl_json_type_name(const dl_json_node *n);

/* The member of object obj named key, or NULL. */
const dl_json_node *dl_json_member(const dl_json_doc *d, const dl_json_node *obj, const char *key);

#endif
