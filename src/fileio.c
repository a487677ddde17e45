/*
 * fileio.c — gzip-or-raw reading through zlib and atomic writing through a
 * temporary file, fsync and rename (see fileio.h).
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* realpath */
#include "digitlens/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct dl_reader {
    gzFile gz;
    char *path;
    int fifo;       /* a named pipe: reading nothing at all means nobody writes to it */
    size_t total;   /* bytes read so far */
};

/* What a file that is not a regular one is, for messages. */
static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISFIFO(m) ? "a named pipe (FIFO)" : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symbolic link"
         : "not a regular file";
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

dl_reader *dl_reader_open(const char *path, dl_err *e)
{
    /* Opened without blocking: opening a FIFO nobody writes to would wait
     * forever, and a device can wait too.  What it is then decides. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        dl_err_set(e, DL_EIO, "%s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        dl_err_set(e, DL_EIO, "%s: is a directory (give a file)", path);
        return NULL;
    }
    /* A pipe is fine (process substitution, /dev/stdin); devices and
     * sockets are not files to read a data set from. */
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        close(fd);
        dl_err_set(e, DL_EIO, "%s: is %s, not a file (give a regular file)", path, kind_of(st.st_mode));
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    dl_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = dup_str(path))) {
        free(r);
        close(fd);
        dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    r->fifo = S_ISFIFO(st.st_mode);
    errno = 0;
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
        dl_err_set(e, DL_EIO, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        close(fd);
        free(r->path);
        free(r);
        return NULL;
    }
    /* A larger buffer makes inflating big IDX files noticeably faster. */
    gzbuffer(r->gz, 1 << 17);
    return r;
}

void dl_reader_small(dl_reader *r)
{
    /* zlib takes a new size until the first read allocates the buffers. */
    gzbuffer(r->gz, 1 << 12);
}

static dl_status gz_failure(dl_reader *r, dl_err *e)
{
    int zerr = 0;
    const char *m = gzerror(r->gz, &zerr);
    if (zerr == Z_ERRNO)
        return dl_err_set(e, DL_EIO, "%s: %s", r->path, strerror(errno));
    /* zlib's message starts with "<fd:N>: " (the stream was opened with
     * gzdopen); ours starts with the path already. */
    if (m && strncmp(m, "<fd:", 4) == 0) {
        const char *q = strstr(m, ">: ");
        if (q) m = q + 3;
    }
    return dl_err_set(e, DL_EFORMAT, "%s: corrupt gzip data (%s)", r->path,
                      m && *m ? m : "unreadable stream");
}

dl_status dl_reader_read(dl_reader *r, void *buf, size_t n, size_t *got, dl_err *e)
{
    unsigned char *p = buf;
    size_t total = 0;
    while (total < n) {
        size_t want = n - total;
        if (want > (1u << 30)) want = 1u << 30; /* gzread takes an unsigned int */
        int k = gzread(r->gz, p + total, (unsigned)want);
        if (k < 0) {
            *got = total;
            return gz_failure(r, e);
        }
        if (k == 0) {
            /* gzread reports a stream cut short as an error only via gzerror. */
            int zerr = 0;
            gzerror(r->gz, &zerr);
            if (zerr != Z_OK && zerr != Z_BUF_ERROR) {
                *got = total;
                return gz_failure(r, e);
            }
            if (zerr == Z_BUF_ERROR) {
                *got = total;
                return dl_err_set(e, DL_EFORMAT, "%s: truncated gzip stream (the file was cut short)",
                                  r->path);
            }
            break;
        }
        total += (size_t)k;
    }
    *got = total;
    r->total += total;
    /* Opened without blocking, a pipe with no writer reads as empty at once. */
    if (r->fifo && r->total == 0 && n > 0)
        return dl_err_set(e, DL_EIO, "%s: a named pipe (FIFO) that nothing writes to (give a file, or start the "
                          "writer first)", r->path);
    return DL_OK;
}

int dl_reader_at_end(dl_reader *r)
{
    unsigned char c;
    int k = gzread(r->gz, &c, 1);
    if (k < 0) return -1;
    if (k == 0) {
        int zerr = 0;
        gzerror(r->gz, &zerr);
        return (zerr == Z_OK) ? 1 : -1;
    }
    return 0;
}

int dl_reader_stated_size(dl_reader *r, uint32_t *size)
{
    if (gzdirect(r->gz)) {
        struct stat st;
        if (stat(r->path, &st) != 0) return 0;
        *size = (uint32_t)st.st_size;
        return 1;
    }
    /* A gzip member ends with CRC-32 and ISIZE, little-endian. */
    FILE *f = fopen(r->path, "rb");
    unsigned char t[4];
    int ok = f && fseek(f, -4, SEEK_END) == 0 && fread(t, 1, 4, f) == 4;
    if (f) fclose(f);
    if (ok) *size = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    return ok;
}

const char *dl_reader_path(const dl_reader *r) { return r->path; }

void dl_reader_close(dl_reader *r)
{
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    free(r->path);
    free(r);
}

dl_status dl_file_read_all(const char *path, size_t max_bytes,
                           unsigned char **out, size_t *len, dl_err *e)
{
    *out = NULL;
    *len = 0;
    dl_reader *r = dl_reader_open(path, e);
    if (!r) return e ? e->code : DL_EIO;
    size_t cap = 0, n = 0;
    unsigned char *buf = NULL;
    dl_status st = DL_OK;
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                /* One more byte tells "exactly max" from "too long". */
                unsigned char c;
                size_t g = 0;
                st = dl_reader_read(r, &c, 1, &g, e);
                if (st == DL_OK && g == 1)
                    st = dl_err_set(e, DL_ELIMIT, "%s: larger than %zu bytes (not a file digitlens reads)",
                                    path, max_bytes);
                break;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > max_bytes) ncap = max_bytes;
            unsigned char *nb = realloc(buf, ncap ? ncap : 1);
            if (!nb) {
                st = dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - n, got = 0;
        st = dl_reader_read(r, buf + n, want, &got, e);
        n += got;
        if (st != DL_OK || got < want) break; /* error, or end of data */
    }
    dl_reader_close(r);
    if (st != DL_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return DL_OK;
}

struct dl_writer {
    FILE *f;
    char *path;     /* as the caller named it, for messages */
    char *target;   /* what is renamed over: path, or the file a symbolic link names */
    char *tmp;
    sigset_t held; /* the signals this writer blocked, to unblock when it is done */
};

/* While a temporary file exists, the signals that would kill the process
 * (Ctrl-C, kill, a closed terminal) are held back in the calling thread;
 * one that arrives meanwhile is delivered when the writer is done, after
 * the rename or the unlink, so it can never leave "<path>.tmp-XXXXXX"
 * behind.  Writing takes milliseconds: nobody notices the delay.  Only the
 * signals that were not blocked already are released afterwards, so a
 * caller's own mask survives, and holds may nest (fileio.h). */
void dl_signals_hold(sigset_t *held)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    sigset_t want, old;
    sigemptyset(held);
    sigemptyset(&want);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&want, sigs[i]);
    if (pthread_sigmask(SIG_BLOCK, &want, &old) != 0) return;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (!sigismember(&old, sigs[i])) sigaddset(held, sigs[i]);
}

void dl_signals_release(const sigset_t *held)
{
    pthread_sigmask(SIG_UNBLOCK, held, NULL);
}

/* Where a new version of path may go: path itself when nothing is there or
 * a regular file is (renaming over it replaces it), the file a symbolic
 * link names (so the link survives), and nothing else: renaming over a
 * device, a FIFO or a socket would destroy it (as root, `--out /dev/full`
 * would delete the device node), and over a directory fails.  Returns a new
 * string, or NULL with *e filled. */
static char *write_target(const char *path, dl_err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return dup_str(path);
        dl_err_set(e, DL_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &st) != 0) {
            dl_err_set(e, DL_EIO, "%s: is a symbolic link to %s (not replaced)", path,
                       errno == ENOENT ? "nothing" : strerror(errno));
            return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
            dl_err_set(e, DL_EIO, "%s: is a symbolic link to %s, not to a file (not replaced)", path,
                       kind_of(st.st_mode));
            return NULL;
        }
        char *t = realpath(path, NULL);
        if (!t) dl_err_set(e, DL_EIO, "%s: %s", path, strerror(errno));
        return t;
    }
    if (!S_ISREG(st.st_mode)) {
        dl_err_set(e, DL_EIO, "%s: is %s, not a file (digitlens replaces only regular files; give a file name)",
                   path, kind_of(st.st_mode));
        return NULL;
    }
    return dup_str(path);
}

/* "<target>.tmp-XXXXXX" in the target's directory; when that name would be
 * longer than the directory allows (NAME_MAX, 255 bytes on most systems),
 * the target's name is shortened in the temporary one, so a name of 245 to
 * 255 bytes can still be written. */
static char *temp_name(const char *target)
{
    static const char suffix[] = ".tmp-XXXXXX";
    const size_t ns = sizeof suffix - 1, n = strlen(target);
    const char *slash = strrchr(target, '/');
    size_t base = slash ? (size_t)(slash + 1 - target) : 0, blen = n - base;
    long max = 255;
    if (base > 0) {
        char *dir = malloc(base + 1);
        if (!dir) return NULL;
        memcpy(dir, target, base);
        dir[base] = '\0';
        long m = pathconf(dir, _PC_NAME_MAX);
        if (m > (long)ns) max = m;
        free(dir);
    } else {
        long m = pathconf(".", _PC_NAME_MAX);
        if (m > (long)ns) max = m;
    }
    if (blen + ns > (size_t)max) blen = (size_t)max - ns;
    char *t = malloc(base + blen + ns + 1);
    if (!t) return NULL;
    memcpy(t, target, base + blen);
    memcpy(t + base + blen, suffix, ns + 1);
    return t;
}

dl_writer *dl_writer_open(const char *path, dl_err *e)
{
    dl_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = dup_str(path))) {
        if (w) free(w->path);
        free(w);
        dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (!(w->target = write_target(path, e))) {
        free(w->path);
        free(w);
        return NULL;
    }
    if (!(w->tmp = temp_name(w->target))) {
        free(w->target);
        free(w->path);
        free(w);
        dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    dl_signals_hold(&w->held);
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        int err = errno;
        dl_signals_release(&w->held);
        /* Name the file the user asked for; the temporary name means nothing to them. */
        dl_err_set(e, DL_EIO, "%s: cannot create (%s)", path, strerror(err));
        free(w->tmp);
        free(w->target);
        free(w->path);
        free(w);
        return NULL;
    }
    /* mkstemp makes 0600; outputs are ordinary user files. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        dl_err_set(e, DL_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(w->tmp);
        dl_signals_release(&w->held);
        free(w->tmp);
        free(w->target);
        free(w->path);
        free(w);
        return NULL;
    }
    return w;
}

dl_status dl_writer_write(dl_writer *w, const void *data, size_t n, dl_err *e)
{
    if (n && fwrite(data, 1, n, w->f) != n)
        return dl_err_set(e, DL_EIO, "%s: write failed (%s)", w->path, strerror(errno));
    return DL_OK;
}

/* Frees w and only then lets held signals through. */
static void writer_free(dl_writer *w)
{
    sigset_t held = w->held;
    free(w->tmp);
    free(w->target);
    free(w->path);
    free(w);
    dl_signals_release(&held);
}

dl_status dl_writer_commit(dl_writer *w, dl_err *e)
{
    dl_status st = DL_OK;
    if (fflush(w->f) != 0 || ferror(w->f))
        st = dl_err_set(e, DL_EIO, "%s: write failed (%s)", w->path, strerror(errno));
    else if (fsync(fileno(w->f)) != 0 && errno != EINVAL)
        st = dl_err_set(e, DL_EIO, "%s: fsync failed (%s)", w->path, strerror(errno));
    if (fclose(w->f) != 0 && st == DL_OK)
        st = dl_err_set(e, DL_EIO, "%s: write failed (%s)", w->path, strerror(errno));
    if (st == DL_OK && rename(w->tmp, w->target) != 0)
        st = dl_err_set(e, DL_EIO, "%s: cannot replace (%s)", w->path, strerror(errno));
    if (st != DL_OK) unlink(w->tmp);
    writer_free(w);
    return st;
}

void dl_writer_abort(dl_writer *w)
{
    if (!w) return;
    fclose(w->f);
    unlink(w->tmp);
    writer_free(w);
}

dl_status dl_file_write_atomic(const char *path, const void *data, size_t n, dl_err *e)
{
    dl_writer *w = dl_writer_open(path, e);
    if (!w) return e ? e->code : DL_EIO;
    dl_status st = dl_writer_write(w, data, n, e);
    if (st != DL_OK) {
        dl_writer_abort(w);
        return st;
    }
    return dl_writer_commit(w, e);
}

dl_status dl_mkdir_p(const char *path, dl_err *e)
{
    size_t n = strlen(path);
    if (n == 0) return dl_err_set(e, DL_EINVAL, "empty directory name");
    char *p = dup_str(path);
    if (!p) return dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            dl_status st = dl_err_set(e, DL_EIO, "%s: cannot create directory (%s)", p, strerror(errno));
            free(p);
            return st;
        }
        p[i] = c;
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dl_err_set(e, DL_EIO, "%s: not a directory", path);
    return DL_OK;
}

int dl_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

dl_status dl_file_write_atomic_free(const char *path, void *data, size_t n, dl_err *e)
{
    dl_status st = dl_file_write_atomic(path, data, n, e);
    free(data);
    return st;
}
