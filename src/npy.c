/*
 * npy.c — NumPy .npy arrays (see npy.h): version 1.0 headers written here,
 * headers of versions 1 to 3 parsed back (the tests and dl_npy_read use it).
 */
#include "digitlens/npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

#include "bytes.h"

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static int shape_count(int ndim, const size_t *shape, size_t *count)
{
    size_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && c > SIZE_MAX / shape[i]) return 0;
        c *= shape[i];
    }
    *count = c;
    return 1;
}

dl_status dl_npy_encode(const float *data, int ndim, const size_t *shape, unsigned char **out,
                        size_t *len, dl_err *e)
{
    size_t count;
    if (ndim < 0 || ndim > DL_NPY_MAX_DIMS)
        return dl_err_set(e, DL_EINVAL, "an .npy array has 0..%d dimensions, not %d", DL_NPY_MAX_DIMS, ndim);
    if (!shape_count(ndim, shape, &count) || count > (DL_NPY_MAX_BYTES - 4096) / 4)
        return dl_err_set(e, DL_ELIMIT, "array too large for an .npy file (at most %zu bytes)",
                          (size_t)DL_NPY_MAX_BYTES);
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%zu", i ? ", " : "", shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
    /* Preamble (10) + dict + spaces + '\n' is a multiple of 64, as NumPy writes it. */
    size_t head = 10 + (size_t)n + 1;
    head = (head + 63) / 64 * 64;
    size_t total = head + 4 * count;
    unsigned char *p = malloc(total);
    if (!p) return dl_err_set(e, DL_ENOMEM, "out of memory for a %zu-byte .npy file", total);
    memcpy(p, NPY_MAGIC, 6);
    p[6] = 1;
    p[7] = 0;
    size_t hlen = head - 10;
    p[8] = (unsigned char)(hlen & 0xff);
    p[9] = (unsigned char)(hlen >> 8);
    memcpy(p + 10, dict, (size_t)n);
    memset(p + 10 + n, ' ', head - 10 - (size_t)n - 1);
    p[head - 1] = '\n';
    unsigned char *q = p + head;
    for (size_t i = 0; i < count; i++, q += 4) {
        uint32_t v;
        memcpy(&v, &data[i], 4);
        dl_put_le32(q, v);
    }
    *out = p;
    *len = total;
    return DL_OK;
}

dl_status dl_npy_write(const char *path, const float *data, int ndim, const size_t *shape, dl_err *e)
{
    unsigned char *p = NULL;
    size_t n = 0;
    dl_status st = dl_npy_encode(data, ndim, shape, &p, &n, e);
    return st != DL_OK ? st : dl_file_write_atomic_free(path, p, n, e);
}

/* A cursor over the header's Python literal. */
typedef struct pycur {
    const char *s;
    size_t n, i;
} pycur;

static void py_ws(pycur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n')) c->i++;
}

static int py_eat(pycur *c, char ch)
{
    py_ws(c);
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return 1;
    }
    return 0;
}

/* A quoted string ('..' or ".."; no escapes, which dtype names never need). */
static int py_string(pycur *c, char *buf, size_t cap)
{
    py_ws(c);
    if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"')) return 0;
    char q = c->s[c->i++];
    size_t k = 0;
    while (c->i < c->n && c->s[c->i] != q) {
        if (c->s[c->i] == '\\' || k + 1 >= cap) return 0;
        buf[k++] = c->s[c->i++];
    }
    if (c->i >= c->n) return 0;
    c->i++;
    buf[k] = '\0';
    return 1;
}

static int py_word(pycur *c, const char *w)
{
    py_ws(c);
    size_t k = strlen(w);
    if (c->n - c->i >= k && memcmp(c->s + c->i, w, k) == 0) {
        c->i += k;
        return 1;
    }
    return 0;
}

static int py_size(pycur *c, size_t *v)
{
    py_ws(c);
    size_t x = 0, digits = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        unsigned d = (unsigned)(c->s[c->i++] - '0');
        if (x > (SIZE_MAX - d) / 10) return 0;
        x = x * 10 + d;
        digits++;
    }
    if (c->i < c->n && c->s[c->i] == 'L') c->i++; /* Python 2 longs */
    *v = x;
    return digits > 0;
}

#define NPY_BAD(what) dl_err_set(e, DL_EFORMAT, "%s: %s (not an .npy file NumPy would read)", name, what)

dl_status dl_npy_parse_header(const unsigned char *buf, size_t len, const char *name, dl_npy_info *info,
                              dl_err *e)
{
    memset(info, 0, sizeof *info);
    if (len < 10 || memcmp(buf, NPY_MAGIC, 6) != 0) return NPY_BAD("bad magic (expected \\x93NUMPY)");
    info->major = buf[6];
    info->minor = buf[7];
    size_t hlen, start;
    if (info->major == 1) {
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
        start = 10;
    } else if (info->major == 2 || info->major == 3) {
        if (len < 12) return NPY_BAD("truncated header");
        hlen = dl_get_le32(buf + 8);
        start = 12;
    } else {
        return dl_err_set(e, DL_EFORMAT, "%s: .npy format version %d.%d is not one digitlens reads (1.0 to 3.0)",
                          name, info->major, info->minor);
    }
    if (info->minor != 0)
        return dl_err_set(e, DL_EFORMAT, "%s: .npy format version %d.%d is not one digitlens reads (1.0 to 3.0)",
                          name, info->major, info->minor);
    if (hlen > len - start) return NPY_BAD("truncated header");
    if (hlen == 0 || buf[start + hlen - 1] != '\n') return NPY_BAD("header does not end with a newline");
    pycur c = {(const char *)buf + start, hlen, 0};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!py_eat(&c, '{')) return NPY_BAD("header is not a dict");
    while (!py_eat(&c, '}')) {
        char key[32];
        if (!py_string(&c, key, sizeof key) || !py_eat(&c, ':')) return NPY_BAD("malformed header dict");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (!py_string(&c, info->descr, sizeof info->descr)) return NPY_BAD("'descr' is not a dtype string");
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (py_word(&c, "True")) info->fortran_order = 1;
            else if (py_word(&c, "False")) info->fortran_order = 0;
            else return NPY_BAD("'fortran_order' is neither True nor False");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (!py_eat(&c, '(')) return NPY_BAD("'shape' is not a tuple");
            while (!py_eat(&c, ')')) {
                if (info->ndim >= DL_NPY_MAX_DIMS)
                    return dl_err_set(e, DL_ELIMIT, "%s: more than %d dimensions", name, DL_NPY_MAX_DIMS);
                if (!py_size(&c, &info->shape[info->ndim])) return NPY_BAD("'shape' holds something other than sizes");
                info->ndim++;
                if (!py_eat(&c, ',')) {
                    if (!py_eat(&c, ')')) return NPY_BAD("malformed 'shape' tuple");
                    break;
                }
            }
            have_shape = 1;
        } else {
            return dl_err_set(e, DL_EFORMAT, "%s: unexpected or repeated key '%s' in the .npy header", name, key);
        }
        if (!py_eat(&c, ',')) {
            if (!py_eat(&c, '}')) return NPY_BAD("malformed header dict");
            break;
        }
    }
    py_ws(&c);
    if (c.i != c.n) return NPY_BAD("text after the header dict");
    if (!have_descr || !have_order || !have_shape)
        return NPY_BAD("header lacks one of 'descr', 'fortran_order' and 'shape'");
    /* dtype "<f4": byte order, kind, item size in bytes. */
    const char *d = info->descr;
    size_t item = 0;
    if (strlen(d) == 3 && strchr("<>|=", d[0]) && strchr("fiub", d[1]) && strchr("1248", d[2]))
        item = (size_t)(d[2] - '0');
    if (!item)
        return dl_err_set(e, DL_EFORMAT, "%s: dtype '%s' is not a plain number type (expected e.g. '<f4')", name, d);
    if (!shape_count(info->ndim, info->shape, &info->count) || info->count > SIZE_MAX / item)
        return dl_err_set(e, DL_ELIMIT, "%s: the shape's element count overflows", name);
    info->data_offset = start + hlen;
    size_t have = len - info->data_offset, want = info->count * item;
    if (have != want)
        return dl_err_set(e, DL_EFORMAT, "%s: the header promises %zu bytes of data but the file holds %zu (%s)", name,
                          want, have, have < want ? "truncated" : "trailing bytes");
    return DL_OK;
}

dl_status dl_npy_read(const char *path, dl_npy_info *info, float **data, dl_err *e)
{
    *data = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_status st = dl_file_read_all(path, DL_NPY_MAX_BYTES, &buf, &len, e);
    if (st != DL_OK) return st;
    st = dl_npy_parse_header(buf, len, path, info, e);
    if (st == DL_OK && (strcmp(info->descr, "<f4") != 0 || info->fortran_order))
        st = dl_err_set(e, DL_EFORMAT, "%s: dtype '%s'%s is not supported (digitlens reads float32 in C order: "
                        "save np.ascontiguousarray(a, dtype='<f4'))", path, info->descr,
                        info->fortran_order ? " in Fortran order" : "");
    if (st == DL_OK) {
        float *f = malloc((info->count ? info->count : 1) * sizeof(float));
        if (!f) {
            st = dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
        } else {
            const unsigned char *q = buf + info->data_offset;
            for (size_t i = 0; i < info->count; i++, q += 4) {
                uint32_t v = dl_get_le32(q);
                memcpy(&f[i], &v, 4);
            }
            *data = f;
        }
    }
    free(buf);
    return st;
}

dl_status dl_model_export_npy(const dl_model *m, const char *dir, int *nfiles, dl_err *e)
{
    const dl_net *n = m->net;
    int written = 0;
    dl_status st = DL_OK;
    char path[4096];
    for (int l = 0; l + 1 < n->nlayers && st == DL_OK; l++) {
        size_t ws[2] = {(size_t)n->sizes[l + 1], (size_t)n->sizes[l]}, bs[2] = {(size_t)n->sizes[l + 1], 1};
        snprintf(path, sizeof path, "%s/weights%d.npy", dir, l);
        st = dl_npy_write(path, n->w[l], 2, ws, e);
        if (st != DL_OK) break;
        written++;
        snprintf(path, sizeof path, "%s/biases%d.npy", dir, l);
        st = dl_npy_write(path, n->b[l], 2, bs, e);
        if (st == DL_OK) written++;
    }
    if (nfiles) *nfiles = written;
    return st;
}
