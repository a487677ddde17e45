/*
 * interop.c — NumPy .npy arrays and network2.py JSON (see interop.h).
 *
 * The .npy side writes version 1.0 headers itself and parses headers of
 * versions 1 to 3 back (the tests and dl_npy_read use it).  The JSON side
 * is a strict recursive-descent parser into a flat node array: arrays made
 * only of numbers (every row of a weight matrix) are kept "packed" as a run
 * of doubles in one pool instead of a node per number, so a 784-100-10
 * network costs a few hundred nodes.  Limits are checked as the parse
 * grows, so a hostile file costs at most its own size in memory.  The
 * schema check then walks the nodes and names the first problem by path.
 */
#include "digitlens/interop.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

/* ===================================================================== */
/* NumPy .npy                                                             */
/* ===================================================================== */

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
        q[0] = (unsigned char)v;
        q[1] = (unsigned char)(v >> 8);
        q[2] = (unsigned char)(v >> 16);
        q[3] = (unsigned char)(v >> 24);
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
    if (st != DL_OK) return st;
    st = dl_file_write_atomic(path, p, n, e);
    free(p);
    return st;
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
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
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
                uint32_t v = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) | ((uint32_t)q[3] << 24);
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

/* ===================================================================== */
/* JSON                                                                   */
/* ===================================================================== */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jnode {
    unsigned char type;
    unsigned char packed; /* J_ARR: the elements are nums[a .. a+n) */
    size_t pos;           /* byte offset of the value */
    size_t n;             /* J_ARR/J_OBJ: elements; J_STR: bytes */
    size_t a;             /* first child (0: none), or nums index (packed J_ARR, J_NUM), or strs offset (J_STR) */
    size_t next;          /* next sibling; 0 ends the list (node 0 is a placeholder) */
    size_t key, keylen;   /* object members: the key in strs */
} jnode;

typedef struct jdoc {
    const char *s;
    size_t len, i;
    const char *name;
    jnode *nodes;
    size_t nn, ncap;
    double *nums;
    size_t nnum, numcap;
    char *strs;
    size_t nstr, strcap;
    dl_err *e;
    int failed;
} jdoc;

#define OBJ_MAX_KEYS 4096
#define NUM_MAX_CHARS 128

static dl_status jfail(jdoc *d, size_t pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static dl_status jfail(jdoc *d, size_t pos, const char *fmt, ...)
{
    if (d->failed) return DL_EFORMAT;
    d->failed = 1;
    size_t line = 1, col = 1;
    for (size_t k = 0; k < pos && k < d->len; k++) {
        if (d->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* A message that brings its own hint, "... (hint)", keeps it; the rest
     * get the general one. */
    size_t n = strlen(what);
    int hinted = n > 0 && what[n - 1] == ')' && strstr(what, " (");
    return dl_err_set(d->e, DL_EFORMAT, "%s: line %zu, column %zu: %s%s", d->name, line, col, what,
                      hinted ? "" : " (the file is not valid JSON)");
}

static dl_status joom(jdoc *d)
{
    if (!d->failed) dl_err_set(d->e, DL_ENOMEM, "%s: out of memory parsing JSON", d->name);
    d->failed = 1;
    return DL_ENOMEM;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

static size_t new_node(jdoc *d, int type, size_t pos)
{
    if (d->nn >= DL_JSON_MAX_NODES) {
        jfail(d, pos, "more than %zu values (beyond digitlens's limit)", (size_t)DL_JSON_MAX_NODES);
        return 0;
    }
    if (!grow((void **)&d->nodes, &d->ncap, d->nn + 1, sizeof(jnode))) {
        joom(d);
        return 0;
    }
    jnode *n = &d->nodes[d->nn];
    memset(n, 0, sizeof *n);
    n->type = (unsigned char)type;
    n->pos = pos;
    return d->nn++;
}

static int push_num(jdoc *d, double v, size_t pos)
{
    if (d->nnum >= DL_JSON_MAX_NUMBERS) {
        jfail(d, pos, "more than %zu numbers (beyond digitlens's limit)", (size_t)DL_JSON_MAX_NUMBERS);
        return 0;
    }
    if (!grow((void **)&d->nums, &d->numcap, d->nnum + 1, sizeof(double))) {
        joom(d);
        return 0;
    }
    d->nums[d->nnum++] = v;
    return 1;
}

static int push_str(jdoc *d, const char *b, size_t n)
{
    if (!grow((void **)&d->strs, &d->strcap, d->nstr + n + 1, 1)) {
        joom(d);
        return 0;
    }
    memcpy(d->strs + d->nstr, b, n);
    d->nstr += n;
    return 1;
}

static void skip_ws(jdoc *d)
{
    while (d->i < d->len) {
        char c = d->s[d->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        d->i++;
    }
}

static const char *shown(char c, char *buf, size_t cap)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f) snprintf(buf, cap, "'%c'", c);
    else snprintf(buf, cap, "byte 0x%02x", u);
    return buf;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A number per RFC 8259's grammar; *v gets its value. */
static int parse_number(jdoc *d, double *v)
{
    size_t start = d->i, k = d->i;
    const char *s = d->s;
    if (k < d->len && s[k] == '-') k++;
    if (k < d->len && (s[k] == 'I' || s[k] == 'N')) {
        jfail(d, start, "Infinity and NaN are not JSON numbers (the network holds non-finite parameters: retrain it)");
        return 0;
    }
    if (k >= d->len) {
        jfail(d, k, "the file ends inside a number (the file is truncated)");
        return 0;
    }
    if (s[k] == '0') {
        k++;
    } else if (is_digit(s[k])) {
        while (k < d->len && is_digit(s[k])) k++;
    } else {
        jfail(d, k, "a number needs a digit here");
        return 0;
    }
    if (k < d->len && s[k] == '.') {
        k++;
        if (k >= d->len) {
            jfail(d, start, "the file ends inside a number (the file is truncated)");
            return 0;
        }
        if (!is_digit(s[k])) {
            jfail(d, k, "a number needs a digit after its '.'");
            return 0;
        }
        while (k < d->len && is_digit(s[k])) k++;
    }
    if (k < d->len && (s[k] == 'e' || s[k] == 'E')) {
        k++;
        if (k < d->len && (s[k] == '+' || s[k] == '-')) k++;
        if (k >= d->len) {
            jfail(d, start, "the file ends inside a number (the file is truncated)");
            return 0;
        }
        if (!is_digit(s[k])) {
            jfail(d, k, "a number needs digits in its exponent");
            return 0;
        }
        while (k < d->len && is_digit(s[k])) k++;
    }
    if (k - start >= NUM_MAX_CHARS) {
        jfail(d, start, "a number longer than %d characters", NUM_MAX_CHARS - 1);
        return 0;
    }
    char buf[NUM_MAX_CHARS];
    memcpy(buf, s + start, k - start);
    buf[k - start] = '\0';
    *v = strtod(buf, NULL);
    if (!isfinite(*v)) {
        jfail(d, start, "the number %s is out of range", buf);
        return 0;
    }
    d->i = k;
    return 1;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* A string starting at the opening quote; its bytes go to strs. */
static int parse_string(jdoc *d, size_t *off, size_t *n)
{
    size_t start = d->i++;
    *off = d->nstr;
    for (;;) {
        if (d->i >= d->len) {
            jfail(d, start, "the file ends inside the string that starts here (the file is truncated)");
            return 0;
        }
        unsigned char c = (unsigned char)d->s[d->i];
        if (c == '"') {
            d->i++;
            break;
        }
        if (c < 0x20) {
            jfail(d, d->i, "a raw control character inside a string (write it as an escape)");
            return 0;
        }
        if (c != '\\') {
            /* Copy a run of plain bytes at once. */
            size_t k = d->i;
            while (k < d->len && d->s[k] != '"' && d->s[k] != '\\' && (unsigned char)d->s[k] >= 0x20) k++;
            if (!push_str(d, d->s + d->i, k - d->i)) return 0;
            d->i = k;
            continue;
        }
        if (d->i + 1 >= d->len) {
            jfail(d, start, "the file ends inside the string that starts here (the file is truncated)");
            return 0;
        }
        char x = d->s[d->i + 1], ch;
        switch (x) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': ch = 0; break;
        default:
            if (x > 0x20 && x < 0x7f) jfail(d, d->i, "unknown escape '\\%c' in a string", x);
            else jfail(d, d->i, "unknown escape in a string");
            return 0;
        }
        if (x != 'u') {
            if (!push_str(d, &ch, 1)) return 0;
            d->i += 2;
            continue;
        }
        unsigned cp;
        if (d->len - d->i < 6 || !hex4(d->s + d->i + 2, &cp)) {
            jfail(d, d->i, "\\u needs four hex digits");
            return 0;
        }
        size_t esc = d->i;
        d->i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            jfail(d, esc, "a lone low surrogate \\u%04X", cp);
            return 0;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (d->len - d->i < 6 || d->s[d->i] != '\\' || d->s[d->i + 1] != 'u' || !hex4(d->s + d->i + 2, &lo) ||
                lo < 0xDC00 || lo > 0xDFFF) {
                jfail(d, esc, "a high surrogate \\u%04X without its low half", cp);
                return 0;
            }
            d->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        char u[4];
        size_t k = 0;
        if (cp < 0x80) {
            u[k++] = (char)cp;
        } else if (cp < 0x800) {
            u[k++] = (char)(0xC0 | (cp >> 6));
            u[k++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            u[k++] = (char)(0xE0 | (cp >> 12));
            u[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[k++] = (char)(0x80 | (cp & 0x3F));
        } else {
            u[k++] = (char)(0xF0 | (cp >> 18));
            u[k++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            u[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[k++] = (char)(0x80 | (cp & 0x3F));
        }
        if (!push_str(d, u, k)) return 0;
    }
    *n = d->nstr - *off;
    /* A NUL after each string (not counted in *n) so messages can print it. */
    return push_str(d, "", 1);
}

static size_t parse_value(jdoc *d, int depth);

static int link_child(jdoc *d, size_t parent, size_t *last, size_t child)
{
    if (*last) d->nodes[*last].next = child;
    else d->nodes[parent].a = child;
    *last = child;
    return 1;
}

static size_t parse_array(jdoc *d, int depth)
{
    size_t me = new_node(d, J_ARR, d->i);
    if (!me) return 0;
    d->i++;
    size_t n = 0, last = 0, base = d->nnum;
    int packed = 1;
    skip_ws(d);
    if (d->i < d->len && d->s[d->i] == ']') {
        d->i++;
        d->nodes[me].packed = 1;
        d->nodes[me].a = base;
        return me;
    }
    for (;;) {
        skip_ws(d);
        char c = d->i < d->len ? d->s[d->i] : 0;
        if (packed && (c == '-' || is_digit(c))) {
            double v;
            size_t pos = d->i;
            if (!parse_number(d, &v) || !push_num(d, v, pos)) return 0;
        } else {
            if (packed) {
                /* Not a list of numbers after all: give each number so far a node. */
                packed = 0;
                for (size_t k = 0; k < n; k++) {
                    size_t num = new_node(d, J_NUM, d->nodes[me].pos);
                    if (!num) return 0;
                    d->nodes[num].a = base + k;
                    link_child(d, me, &last, num);
                }
            }
            size_t child = parse_value(d, depth + 1);
            if (!child) return 0;
            link_child(d, me, &last, child);
        }
        n++;
        skip_ws(d);
        if (d->i >= d->len) {
            jfail(d, d->nodes[me].pos, "the file ends inside the list that starts here (the file is truncated)");
            return 0;
        }
        c = d->s[d->i];
        if (c == ',') {
            d->i++;
            continue;
        }
        if (c == ']') {
            d->i++;
            break;
        }
        char sb[16];
        jfail(d, d->i, "expected ',' or ']' after a list element, found %s", shown(c, sb, sizeof sb));
        return 0;
    }
    jnode *nd = &d->nodes[me];
    nd->n = n;
    nd->packed = (unsigned char)packed;
    if (packed) nd->a = base;
    return me;
}

static size_t parse_object(jdoc *d, int depth)
{
    size_t me = new_node(d, J_OBJ, d->i);
    if (!me) return 0;
    d->i++;
    size_t n = 0, last = 0;
    skip_ws(d);
    if (d->i < d->len && d->s[d->i] == '}') {
        d->i++;
        return me;
    }
    for (;;) {
        skip_ws(d);
        if (d->i >= d->len) {
            jfail(d, d->nodes[me].pos, "the file ends inside the object that starts here (the file is truncated)");
            return 0;
        }
        if (d->s[d->i] != '"') {
            char sb[16];
            jfail(d, d->i, "expected a key in double quotes, found %s", shown(d->s[d->i], sb, sizeof sb));
            return 0;
        }
        size_t kpos = d->i, koff, klen;
        if (!parse_string(d, &koff, &klen)) return 0;
        for (size_t m = d->nodes[me].a; m; m = d->nodes[m].next)
            if (d->nodes[m].keylen == klen && memcmp(d->strs + d->nodes[m].key, d->strs + koff, klen) == 0) {
                jfail(d, kpos, "the key \"%.60s\" appears twice", d->strs + koff);
                return 0;
            }
        if (n >= OBJ_MAX_KEYS) {
            jfail(d, kpos, "more than %d keys in one object", OBJ_MAX_KEYS);
            return 0;
        }
        skip_ws(d);
        if (d->i >= d->len) {
            jfail(d, d->nodes[me].pos, "the file ends inside the object that starts here (the file is truncated)");
            return 0;
        }
        if (d->s[d->i] != ':') {
            char sb[16];
            jfail(d, d->i, "expected ':' after the key, found %s", shown(d->s[d->i], sb, sizeof sb));
            return 0;
        }
        d->i++;
        size_t child = parse_value(d, depth + 1);
        if (!child) return 0;
        d->nodes[child].key = koff;
        d->nodes[child].keylen = klen;
        link_child(d, me, &last, child);
        n++;
        skip_ws(d);
        if (d->i >= d->len) {
            jfail(d, d->nodes[me].pos, "the file ends inside the object that starts here (the file is truncated)");
            return 0;
        }
        char c = d->s[d->i];
        if (c == ',') {
            d->i++;
            continue;
        }
        if (c == '}') {
            d->i++;
            break;
        }
        char sb[16];
        jfail(d, d->i, "expected ',' or '}' after an object member, found %s", shown(c, sb, sizeof sb));
        return 0;
    }
    d->nodes[me].n = n;
    return me;
}

static size_t parse_literal(jdoc *d, const char *word, int type)
{
    size_t k = strlen(word);
    if (d->len - d->i < k || memcmp(d->s + d->i, word, k) != 0) {
        if (d->len - d->i < k && memcmp(d->s + d->i, word, d->len - d->i) == 0)
            jfail(d, d->i, "the file ends inside '%s' (the file is truncated)", word);
        else
            jfail(d, d->i, "unexpected word (JSON knows true, false and null)");
        return 0;
    }
    size_t me = new_node(d, type, d->i);
    d->i += k;
    return me;
}

static size_t parse_value(jdoc *d, int depth)
{
    skip_ws(d);
    if (d->i >= d->len) {
        jfail(d, d->i, "the file ends where a value should be (the file is truncated)");
        return 0;
    }
    char c = d->s[d->i];
    if ((c == '[' || c == '{') && depth > DL_JSON_MAX_DEPTH) {
        jfail(d, d->i, "lists and objects nested deeper than %d levels", DL_JSON_MAX_DEPTH);
        return 0;
    }
    switch (c) {
    case '[': return parse_array(d, depth);
    case '{': return parse_object(d, depth);
    case '"': {
        size_t me = new_node(d, J_STR, d->i), off, n;
        if (!me || !parse_string(d, &off, &n)) return 0;
        d->nodes[me].a = off;
        d->nodes[me].n = n;
        return me;
    }
    case 't': return parse_literal(d, "true", J_TRUE);
    case 'f': return parse_literal(d, "false", J_FALSE);
    case 'n': return parse_literal(d, "null", J_NULL);
    case 'N':
    case 'I':
        jfail(d, d->i, "Infinity and NaN are not JSON numbers (the network holds non-finite parameters: retrain it)");
        return 0;
    default:
        if (c == '-' || is_digit(c)) {
            size_t pos = d->i, me;
            double v;
            if (!parse_number(d, &v) || !(me = new_node(d, J_NUM, pos))) return 0;
            d->nodes[me].a = d->nnum;
            return push_num(d, v, pos) ? me : 0;
        }
        char sb[16];
        jfail(d, d->i, "expected a value, found %s", shown(c, sb, sizeof sb));
        return 0;
    }
}

static void jdoc_free(jdoc *d)
{
    free(d->nodes);
    free(d->nums);
    free(d->strs);
}

/* Parses the whole text; the root is node 1. */
static dl_status jparse(jdoc *d, const char *text, size_t len, const char *name, dl_err *e)
{
    memset(d, 0, sizeof *d);
    d->s = text;
    d->len = len;
    d->name = name;
    d->e = e;
    if (len > DL_JSON_MAX_BYTES)
        return dl_err_set(e, DL_ELIMIT, "%s: %zu bytes is more JSON than digitlens reads (at most %zu)", name, len,
                          (size_t)DL_JSON_MAX_BYTES);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) d->i = 3; /* a UTF-8 byte order mark */
    new_node(d, J_NULL, 0); /* node 0 stands for "none" in the lists */
    if (d->failed) return e ? e->code : DL_ENOMEM;
    skip_ws(d);
    if (d->i >= len) return dl_err_set(e, DL_EFORMAT, "%s: empty file (expected a JSON object)", name);
    if (!parse_value(d, 1)) return e ? e->code : DL_EFORMAT;
    skip_ws(d);
    if (d->i < len) return jfail(d, d->i, "text after the end of the JSON value");
    return DL_OK;
}

/* ---- network2.py's schema ------------------------------------------- */

static const char *type_name(const jnode *n)
{
    switch (n->type) {
    case J_NULL: return "null";
    case J_FALSE: return "false";
    case J_TRUE: return "true";
    case J_NUM: return "a number";
    case J_STR: return "a string";
    case J_ARR: return n->packed && n->n ? "a list of numbers" : n->n ? "a list" : "an empty list";
    default: return "an object";
    }
}

static const jnode *member(const jdoc *d, const jnode *obj, const char *key)
{
    size_t k = strlen(key);
    for (size_t m = obj->a; m; m = d->nodes[m].next)
        if (d->nodes[m].keylen == k && memcmp(d->strs + d->nodes[m].key, key, k) == 0) return &d->nodes[m];
    return NULL;
}

#define SCHEMA(...) dl_err_set(e, DL_EFORMAT, __VA_ARGS__)

/* The first element of a list that is not a number, as "a string" etc. */
static const char *first_non_number(const jdoc *d, const jnode *arr, size_t *index)
{
    size_t k = 0;
    for (size_t c = arr->a; c; c = d->nodes[c].next, k++)
        if (d->nodes[c].type != J_NUM) {
            *index = k;
            return type_name(&d->nodes[c]);
        }
    *index = 0;
    return "something else";
}

/* A list of exactly want numbers that fit float32: the values in *v. */
static dl_status number_list(const jdoc *d, const jnode *arr, size_t want, const char *name, const char *path,
                             const char *hint, const double **v, dl_err *e)
{
    if (arr->type != J_ARR) return SCHEMA("%s: %s is %s, not a list of numbers (%s)", name, path, type_name(arr), hint);
    if (!arr->packed) {
        size_t k;
        const char *what = first_non_number(d, arr, &k);
        return SCHEMA("%s: %s[%zu] is %s, not a number (%s)", name, path, k, what, hint);
    }
    if (arr->n != want)
        return SCHEMA("%s: %s has %zu numbers where %zu are expected (%s)", name, path, arr->n, want, hint);
    *v = d->nums + arr->a;
    for (size_t k = 0; k < want; k++)
        if (fabs((*v)[k]) > FLT_MAX)
            return SCHEMA("%s: %s[%zu] = %g does not fit a float32", name, path, k, (*v)[k]);
    return DL_OK;
}

/* weights or biases: L-1 lists of sizes[l+1] entries, each a list of
 * sizes[l] (weights) or 1 (biases) numbers, copied into the net. */
static dl_status layer_lists(const jdoc *d, const jnode *top, const char *key, const int *sizes, int L, dl_net *net,
                             const char *name, dl_err *e)
{
    int is_w = key[0] == 'w';
    const char *hint = is_w ? "weights[l] is sizes[l+1] rows of sizes[l] numbers, as network2.py saves it"
                            : "biases[l] is sizes[l+1] one-element lists like [0.5], as network2.py saves it";
    if (top->type != J_ARR || (top->packed && top->n))
        return SCHEMA("%s: \"%s\" is %s, not a list of %s (%s)", name, key, type_name(top),
                      is_w ? "matrices" : "columns", hint);
    if (top->n != (size_t)(L - 1))
        return SCHEMA("%s: \"%s\" holds %zu layers but \"sizes\" has %d layers, so %d are expected", name, key, top->n,
                      L, L - 1);
    int l = 0;
    for (size_t c = top->a; c; c = d->nodes[c].next, l++) {
        const jnode *mat = &d->nodes[c];
        int rows = sizes[l + 1];
        if (mat->type != J_ARR || (mat->packed && mat->n))
            return SCHEMA("%s: %s[%d] is %s, not a list of lists (%s)", name, key, l, type_name(mat), hint);
        if (mat->n != (size_t)rows)
            return SCHEMA("%s: %s[%d] has %zu entries but sizes[%d] is %d (%s)", name, key, l, mat->n, l + 1, rows,
                          hint);
        float *dst = is_w ? net->w[l] : net->b[l];
        size_t width = is_w ? (size_t)sizes[l] : 1, j = 0;
        for (size_t r = mat->a; r; r = d->nodes[r].next, j++) {
            char path[64];
            snprintf(path, sizeof path, "%s[%d][%zu]", key, l, j);
            const double *v = NULL;
            dl_status st = number_list(d, &d->nodes[r], width, name, path, hint, &v, e);
            if (st != DL_OK) return st;
            for (size_t k = 0; k < width; k++) dst[j * width + k] = (float)v[k];
        }
    }
    return DL_OK;
}

dl_status dl_nielsen_decode(const char *text, size_t len, const char *name, int rows, int cols, dl_model **out,
                            dl_err *e)
{
    *out = NULL;
    jdoc d;
    dl_status st = jparse(&d, text, len, name, e);
    dl_model *m = NULL;
    if (st != DL_OK) goto done;
    const jnode *root = &d.nodes[1];
    if (root->type != J_OBJ) {
        st = SCHEMA("%s: the file holds %s, not an object (network2.py saves {\"sizes\": ..., \"weights\": ..., "
                    "\"biases\": ..., \"cost\": ...})", name, type_name(root));
        goto done;
    }
    static const char *const KEYS[] = {"sizes", "weights", "biases", "cost"};
    const jnode *k[4];
    for (int i = 0; i < 4; i++)
        if (!(k[i] = member(&d, root, KEYS[i]))) {
            st = SCHEMA("%s: no \"%s\" key (network2.py saves sizes, weights, biases and cost)", name, KEYS[i]);
            goto done;
        }
    /* sizes */
    const jnode *sz = k[0];
    if (sz->type != J_ARR || !sz->packed || sz->n < 2 || sz->n > DL_MAX_LAYERS) {
        st = SCHEMA("%s: \"sizes\" is %s%s, not a list of 2..%d layer sizes", name, type_name(sz),
                    sz->type == J_ARR && sz->packed ? (sz->n < 2 ? " that is too short" : " that is too long") : "",
                    DL_MAX_LAYERS);
        goto done;
    }
    int L = (int)sz->n, sizes[DL_MAX_LAYERS];
    for (int l = 0; l < L; l++) {
        double v = d.nums[sz->a + (size_t)l];
        if (v != floor(v) || v < 1 || v > DL_MAX_WIDTH) {
            st = SCHEMA("%s: sizes[%d] = %g is not a layer size (a whole number 1..%d)", name, l, v, DL_MAX_WIDTH);
            goto done;
        }
        sizes[l] = (int)v;
    }
    if (sizes[L - 1] > 256) {
        st = SCHEMA("%s: %d outputs (digitlens models have at most 256 classes)", name, sizes[L - 1]);
        goto done;
    }
    dl_err sub;
    if (dl_net_check_sizes(L, sizes, &sub) != DL_OK) {
        st = dl_err_set(e, sub.code, "%s: \"sizes\" is impossible (%s)", name, sub.msg);
        goto done;
    }
    /* cost */
    dl_cost cost;
    const jnode *cn = k[3];
    if (cn->type == J_STR && cn->n == 16 && memcmp(d.strs + cn->a, "CrossEntropyCost", 16) == 0) {
        cost = DL_COST_CROSS_ENTROPY;
    } else if (cn->type == J_STR && cn->n == 13 && memcmp(d.strs + cn->a, "QuadraticCost", 13) == 0) {
        cost = DL_COST_QUADRATIC;
    } else if (cn->type == J_STR) {
        st = SCHEMA("%s: cost \"%.40s\" is not one digitlens knows (CrossEntropyCost or QuadraticCost)", name,
                    d.strs + cn->a);
        goto done;
    } else {
        st = SCHEMA("%s: \"cost\" is %s, not a string (CrossEntropyCost or QuadraticCost)", name, type_name(cn));
        goto done;
    }
    /* image shape */
    if (rows <= 0 || cols <= 0) {
        rows = sizes[0] == 784 ? 28 : 1;
        cols = sizes[0] == 784 ? 28 : sizes[0];
    } else if ((long)rows * cols != sizes[0]) {
        st = dl_err_set(e, DL_EINVAL, "%s: the input layer has %d neurons, not %dx%d = %ld (give the image shape "
                        "as rows x cols with that product)", name, sizes[0], rows, cols, (long)rows * cols);
        goto done;
    }
    m = dl_model_new(L, sizes, rows, cols, e);
    if (!m) {
        st = e ? e->code : DL_ENOMEM;
        goto done;
    }
    if ((st = layer_lists(&d, k[1], "weights", sizes, L, m->net, name, e)) != DL_OK ||
        (st = layer_lists(&d, k[2], "biases", sizes, L, m->net, name, e)) != DL_OK)
        goto done;
    memcpy(m->init_params, m->net->params, m->net->nparams * sizeof(float));
    m->cost = cost;
    m->init = DL_INIT_SCALED; /* network2.py's default_weight_initializer */
    dl_rng rng;
    dl_rng_seed(&rng, 0);
    if ((st = dl_train_state_init(&m->state, 0, &rng, e)) != DL_OK) goto done;
    if ((st = dl_model_reserve_history(m, 0, e)) != DL_OK) goto done;
done:
    jdoc_free(&d);
    if (st != DL_OK) {
        dl_model_free(m);
        return st;
    }
    *out = m;
    return DL_OK;
}

dl_status dl_nielsen_load(const char *path, int rows, int cols, dl_model **out, dl_err *e)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_status st = dl_file_read_all(path, DL_JSON_MAX_BYTES, &buf, &len, e);
    if (st != DL_OK) return st;
    st = dl_nielsen_decode((const char *)buf, len, path, rows, cols, out, e);
    free(buf);
    return st;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (!grow((void **)&b->p, &b->cap, b->n + n + 1, 1)) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_float(sbuf *b, float v)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%.9g", (double)v);
    sb_put(b, t, (size_t)n);
}

dl_status dl_nielsen_encode(const dl_model *m, char **out, size_t *len, dl_err *e)
{
    const dl_net *n = m->net;
    for (size_t i = 0; i < n->nparams; i++)
        if (!isfinite(n->params[i]))
            return dl_err_set(e, DL_EINVAL, "the model holds a non-finite parameter (JSON has no NaN or infinity)");
    sbuf b = {0};
    char t[32];
    sb_str(&b, "{\"sizes\": [");
    for (int l = 0; l < n->nlayers; l++) {
        snprintf(t, sizeof t, "%s%d", l ? ", " : "", n->sizes[l]);
        sb_str(&b, t);
    }
    sb_str(&b, "], \"weights\": [");
    for (int l = 0; l + 1 < n->nlayers; l++) {
        int in = n->sizes[l], o = n->sizes[l + 1];
        sb_str(&b, l ? ", [" : "[");
        for (int j = 0; j < o; j++) {
            sb_str(&b, j ? ", [" : "[");
            for (int k = 0; k < in; k++) {
                if (k) sb_put(&b, ", ", 2);
                sb_float(&b, n->w[l][(size_t)j * in + k]);
            }
            sb_str(&b, "]");
        }
        sb_str(&b, "]");
    }
    sb_str(&b, "], \"biases\": [");
    for (int l = 0; l + 1 < n->nlayers; l++) {
        sb_str(&b, l ? ", [" : "[");
        for (int j = 0; j < n->sizes[l + 1]; j++) {
            sb_str(&b, j ? ", [" : "[");
            sb_float(&b, n->b[l][j]);
            sb_str(&b, "]");
        }
        sb_str(&b, "]");
    }
    sb_str(&b, "], \"cost\": \"");
    sb_str(&b, m->cost == DL_COST_CROSS_ENTROPY ? "CrossEntropyCost" : "QuadraticCost");
    sb_str(&b, "\"}");
    if (b.oom) {
        free(b.p);
        return dl_err_set(e, DL_ENOMEM, "out of memory writing JSON");
    }
    *out = b.p;
    *len = b.n;
    return DL_OK;
}

dl_status dl_nielsen_save(const dl_model *m, const char *path, dl_err *e)
{
    char *p = NULL;
    size_t n = 0;
    dl_status st = dl_nielsen_encode(m, &p, &n, e);
    if (st != DL_OK) return st;
    st = dl_file_write_atomic(path, p, n, e);
    free(p);
    return st;
}
