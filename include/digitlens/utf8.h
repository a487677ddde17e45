/*
 * utf8.h — telling well-formed UTF-8 from bytes that are not, for text
 * digitlens writes into JSON and HTML.  File names are bytes on Unix; a
 * name that is not UTF-8 must not make an output that is not UTF-8 (JSON
 * and HTML must be), so writers replace each bad byte with U+FFFD.
 */
#ifndef DIGITLENS_UTF8_H
#define DIGITLENS_UTF8_H

#include <stddef.h>

/* The length (1..4) of the well-formed UTF-8 sequence that starts at
 * s[0] (n bytes available), or 0 when the bytes there are not one: a
 * stray continuation byte, an overlong form, a surrogate (U+D800..DFFF),
 * a code point beyond U+10FFFF, or a sequence cut short.  ASCII is 1. */
int dl_utf8_seq(const unsigned char *s, size_t n);

#endif
