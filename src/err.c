/* err.c — filling and naming dl_err values (see err.h). */
#include "digitlens/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "contract.h"

dl_status dl_err_set(dl_err *e, dl_status code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void dl_err_clear(dl_err *e)
{
    if (e) {
        e->code = DL_OK;
        e->msg[0] = '\0';
    }
}

const char *dl_status_name(dl_status code)
{
    switch (code) {
    case DL_OK: return "ok";
    case DL_EIO: return "I/O error";
    case DL_EFORMAT: return "bad format";
    case DL_ENOMEM: return "out of memory";
    case DL_EINVAL: return "invalid argument";
    case DL_ELIMIT: return "beyond limit";
    case DL_EINTR: return "interrupted";
    case DL_ENUMERIC: return "not finite";
    }
    return "unknown error";
}

const char *dl_err_shown(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    for (; k + 1 < cap && k < n && s[k]; k++) {
        unsigned char c = (unsigned char)s[k];
        buf[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (cap) buf[k] = '\0';
    return buf;
}

_Noreturn void dl_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "digitlens: internal error: %s:%d: %s (a bug in digitlens: please report it)\n", file, line,
            cond);
    fflush(stderr);
    abort();
}
