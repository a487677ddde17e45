/*
 * fuzz_message.h — what every harness checks of a refusal: the status it
 * returned is the one in the message, and the message is one printable
 * line (the command line prints it as it is, and bytes from a hostile file
 * must not reach the terminal).
 */
#ifndef DIGITLENS_FUZZ_MESSAGE_H
#define DIGITLENS_FUZZ_MESSAGE_H

#include "digitlens/err.h"

static inline int bad_message(const dl_err *e, dl_status st)
{
    if (e->code != st || e->msg[0] == '\0') return 1;
    for (const unsigned char *p = (const unsigned char *)e->msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return 1;
    return 0;
}

#endif
