/*
 * contract.h — DL_ASSERT, for the invariants the code relies on and its
 * comments promise ("the caller has checked", "never off the edge", "at
 * most 64 threads").  Private to src/.
 *
 * A failed DL_ASSERT is a bug in digitlens, never a user's mistake: bad
 * input is refused through dl_err long before.  So it does not return an
 * error; it prints "digitlens: internal error: FILE:LINE: CONDITION" with a
 * request to report it, and aborts (the one place the library prints).
 * The checks are cheap and stay on in every build, as genann's do: a
 * wrong picture or model written quietly would cost more than they do.
 */
#ifndef DIGITLENS_CONTRACT_H
#define DIGITLENS_CONTRACT_H

/* Prints the failed condition and aborts; defined in err.c. */
_Noreturn void dl_assert_fail(const char *cond, const char *file, int line);

#define DL_ASSERT(cond) ((cond) ? (void)0 : dl_assert_fail(#cond, __FILE__, __LINE__))

#endif
