/*
 * buf.h — a growable byte buffer for building files in memory (HTML, JSON,
 * model files), after SQLite's sqlite3_str: appends never fail on the
 * spot; running out of memory sets a sticky flag, later appends do
 * nothing, and the caller checks once at the end.  Private to src/.
 *
 *     dl_buf b = {0};
 *     dl_buf_appendf(&b, "<p>%d</p>", n);
 *     if (b.oom) ...; else use b.p[0 .. b.n)      (b.p is NUL-terminated)
 *     dl_buf_free(&b);
 */
#ifndef DIGITLENS_BUF_H
#define DIGITLENS_BUF_H

#include <stddef.h>

typedef struct dl_buf {
    char *p;      /* [n + 1] bytes, NUL-terminated once anything was appended; owned */
    size_t n;     /* bytes appended */
    size_t cap;
    int oom;      /* an append ran out of memory: the contents are incomplete */
} dl_buf;

/* Appends n bytes of s. */
void dl_buf_append(dl_buf *b, const void *s, size_t n);

/* Appends a NUL-terminated string. */
void dl_buf_puts(dl_buf *b, const char *s);

/* Appends printf-style text. */
void dl_buf_appendf(dl_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Hands the contents to the caller (free() them) and empties b; NULL when
 * an append ran out of memory (then nothing is left to free). */
char *dl_buf_take(dl_buf *b, size_t *len);

/* Releases the contents; b is empty again. */
void dl_buf_free(dl_buf *b);

#endif
