/*
 * err.h — the error value every fallible digitlens call fills.
 *
 * Library code never prints or exits: a failing call returns a non-zero
 * dl_status and, when given a dl_err, writes one human-readable sentence
 * into it ("<file>: <what is wrong> (<hint>)").  The command line prints
 * that sentence once, prefixed with "digitlens: ".
 */
#ifndef DIGITLENS_ERR_H
#define DIGITLENS_ERR_H

#include <stddef.h>

typedef enum dl_status {
    DL_OK = 0,
    DL_EIO,       /* the operating system refused a read or write */
    DL_EFORMAT,   /* a file's contents are malformed or unsupported */
    DL_ENOMEM,    /* an allocation failed */
    DL_EINVAL,    /* the caller passed something impossible */
    DL_ELIMIT,    /* a size is beyond the documented maximum */
    DL_EINTR,     /* the work was stopped on request (Ctrl-C) */
    DL_ENUMERIC   /* numbers stopped being finite (training diverged) */
} dl_status;

#define DL_ERR_MSG_MAX 512

typedef struct dl_err {
    dl_status code;
    char msg[DL_ERR_MSG_MAX];
} dl_err;

/* Fills *e (when non-NULL) with code and a printf-style message; returns code
 * so a caller can write `return dl_err_set(e, DL_EIO, "...")`. */
dl_status dl_err_set(dl_err *e, dl_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Resets *e to DL_OK with an empty message. */
void dl_err_clear(dl_err *e);

/* A string from a file, fit for a message: at most cap - 1 bytes of
 * s[0..n) (up to a NUL), each control character shown as '?' (bytes from
 * a hostile file must not reach the terminal), NUL-terminated.  Returns buf. */
const char *dl_err_shown(const char *s, size_t n, char *buf, size_t cap);

/* A short fixed name for a status ("I/O error", "bad format", ...). */
const char *dl_status_name(dl_status code);

#endif
