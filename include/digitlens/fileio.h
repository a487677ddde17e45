/*
 * fileio.h — reading files whole or as a stream (raw or gzip, one code
 * path through zlib), and writing files atomically.
 *
 * Knows nothing of formats.  Writers create "<path>.tmp-XXXXXX" in the
 * target's directory (with the name shortened when it would exceed the
 * directory's NAME_MAX), and only dl_writer_commit (fsync + rename) makes
 * the data visible under <path>: an error, a crash or a signal never leaves
 * a half-written file where a good one was.  Only a regular file is ever
 * replaced: a path naming a directory, a device, a FIFO or a socket is
 * refused (renaming over a device node deletes it), and a symbolic link is
 * followed to the regular file it names, which is replaced in its own
 * directory (the link stays); a link to anything else, or to nothing, is
 * refused.
 *
 * While a writer is open, SIGINT, SIGTERM, SIGHUP and SIGQUIT are held back
 * in the calling thread and delivered once it is committed or aborted, so an
 * interrupt does not leave the temporary file behind either (a crash or
 * SIGKILL still can: such a leftover "*.tmp-XXXXXX" is harmless and may be
 * deleted).  Threads that write are started with the signals held
 * (dl_signals_hold), so no other thread takes them meanwhile.
 *
 * Readers open without blocking and read regular files and pipes only: a
 * device or socket is refused, and a FIFO nothing writes to is an error at
 * once instead of a wait forever.
 */
#ifndef DIGITLENS_FILEIO_H
#define DIGITLENS_FILEIO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"

/* A sequential reader over a raw or gzip-compressed file. */
typedef struct dl_reader dl_reader;

/* Opens path for reading; NULL (with *e filled) when it is missing, a
 * directory or unreadable. */
dl_reader *dl_reader_open(const char *path, dl_err *e);

/* Reads up to n bytes into buf; *got receives how many arrived (fewer only
 * at the end of the data).  A corrupt or truncated gzip stream is an error. */
dl_status dl_reader_read(dl_reader *r, void *buf, size_t n, size_t *got, dl_err *e);

/* 1 when the stream has no more bytes after what was read, 0 when it has,
 * negative on a read error (a corrupt gzip tail).  Used to refuse trailing
 * garbage. */
int dl_reader_at_end(dl_reader *r);

/* The data's length as the file itself states it, without reading the
 * data: a raw file's size, or a gzip file's trailer (ISIZE, the length mod
 * 2^32 of its last member: a damaged, cut or hand-made file may state it
 * wrongly, so this is a hint, never a check).  Both modulo 2^32.  Call
 * after a first read; 1 and *size when known, 0 when not. */
int dl_reader_stated_size(dl_reader *r, uint32_t *size);

/* Tells r, before its first read, that only the start of the file will be
 * read (the first few images: classify --index): a gzip stream is then
 * inflated in small steps (8 KB), where its first read would otherwise
 * inflate a 256 KB buffer, built for whole files (about 1 ms). */
void dl_reader_small(dl_reader *r);

/* The path the reader was opened with (borrowed). */
const char *dl_reader_path(const dl_reader *r);

void dl_reader_close(dl_reader *r);

/* Reads a whole file (decompressing gzip) into a new malloc'd buffer; a file
 * whose data is longer than max_bytes is refused without reading the rest.
 * The caller frees *out. */
dl_status dl_file_read_all(const char *path, size_t max_bytes,
                           unsigned char **out, size_t *len, dl_err *e);

/* An atomic writer: data goes to a temporary file until commit. */
typedef struct dl_writer dl_writer;

dl_writer *dl_writer_open(const char *path, dl_err *e);
dl_status dl_writer_write(dl_writer *w, const void *data, size_t n, dl_err *e);
/* Flushes, fsyncs, closes and renames onto the final path; frees w in every
 * case (on failure the temporary file is removed). */
dl_status dl_writer_commit(dl_writer *w, dl_err *e);
/* Discards everything written; removes the temporary file; frees w. */
void dl_writer_abort(dl_writer *w);

/* Writes n bytes to path atomically (open + write + commit). */
dl_status dl_file_write_atomic(const char *path, const void *data, size_t n, dl_err *e);

/* The signals a writer holds back (SIGINT, SIGTERM, SIGHUP, SIGQUIT),
 * blocked in the calling thread; *held receives those that were not
 * blocked before, for dl_signals_release.  A signal goes to one thread
 * that does not block it, so code that starts threads which write holds
 * them before creating the threads (which inherit the mask) and releases
 * them after joining: then no thread takes the signal while any of them
 * has a temporary file, and it arrives once all are done. */
void dl_signals_hold(sigset_t *held);
void dl_signals_release(const sigset_t *held);

/* dl_file_write_atomic, then free(data) whatever happened: for the buffer
 * an encoder just made (model, .npy, JSON). */
dl_status dl_file_write_atomic_free(const char *path, void *data, size_t n, dl_err *e);


/* Creates a directory and its parents (like mkdir -p); fine if it exists. */
dl_status dl_mkdir_p(const char *path, dl_err *e);

/* 1 if path names an existing regular file, else 0. */
int dl_file_exists(const char *path);

#endif
