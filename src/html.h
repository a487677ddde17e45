/*
 * html.h — building HTML pages and inline SVG into a dl_buf (buf.h):
 * what the report's pages are made of, kept apart from what they say.
 * Private to src/.  Every function appends; running out of memory shows in
 * the buffer's sticky oom flag.
 */
#ifndef DIGITLENS_HTML_H
#define DIGITLENS_HTML_H

#include <stddef.h>

#include "buf.h"

/* Appends s with &, <, > and " escaped. */
void dl_html_text(dl_buf *b, const char *s);

/* Appends p[0..n) in base64 (RFC 4648, padded): the body of a data: URI. */
void dl_html_base64(dl_buf *b, const unsigned char *p, size_t n);

/* "<!doctype html>" up to and including the header's title and subtitle
 * paragraph, with the house style sheet inlined (no external files); the
 * caller closes </header> (after its own <nav>, say). */
void dl_html_head(dl_buf *b, const char *title, const char *subtitle);

/* The same with css (NULL: none) appended to the house style sheet. */
void dl_html_head_css(dl_buf *b, const char *title, const char *subtitle, const char *css);

/* A line chart as inline SVG, 520 x 270: y[i] plotted at epoch i+1, the y
 * axis on "nice" ticks around [ymin, ymax] and never above cap, each point
 * with a hover title. */
void dl_html_line_chart(dl_buf *b, const char *title, const double *y, int n, double ymin, double ymax,
                        double cap, const char *color);

#endif
