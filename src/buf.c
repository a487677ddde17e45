/*
 * buf.c — the growable buffer (see buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract.h"

/* Room for `more` bytes and the terminating NUL; 0 (and b->oom) when none. */
static int reserve(dl_buf *b, size_t more)
{
    if (b->oom) return 0;
    if (more > (size_t)-1 / 2 - b->n) {
        b->oom = 1;
        return 0;
    }
    size_t need = b->n + more + 1;
    if (need <= b->cap) return 1;
    size_t c = b->cap ? b->cap : 4096;
    while (c < need) c *= 2;
    char *q = realloc(b->p, c);
    if (!q) {
        b->oom = 1;
        return 0;
    }
    b->p = q;
    b->cap = c;
    return 1;
}

void dl_buf_append(dl_buf *b, const void *s, size_t n)
{
    if (n == 0 || !reserve(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    DL_ASSERT(b->n < b->cap); /* room for the NUL: reserve's promise */
    b->p[b->n] = '\0';
}

void dl_buf_puts(dl_buf *b, const char *s)
{
    dl_buf_append(b, s, strlen(s));
}

void dl_buf_appendf(dl_buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    /* Try in place; if the text does not fit, make room and print again. */
    size_t room = b->cap > b->n ? b->cap - b->n : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->p + b->n : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= room) {
        if (!reserve(b, (size_t)n)) return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->n += (size_t)n;
    DL_ASSERT(b->n < b->cap && b->p[b->n] == '\0');
}

char *dl_buf_take(dl_buf *b, size_t *len)
{
    if (!b->oom && !b->p) reserve(b, 0); /* nothing appended: an empty string */
    char *p = b->oom ? NULL : b->p;
    if (b->oom) free(b->p);
    if (len) *len = p ? b->n : 0;
    memset(b, 0, sizeof *b);
    return p;
}

void dl_buf_free(dl_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
