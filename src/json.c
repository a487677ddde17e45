/*
 * json.c — the strict recursive-descent JSON parser (see json.h).
 */
#include "json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJ_MAX_KEYS 4096
#define NUM_MAX_CHARS 128

static dl_status jfail(dl_json_doc *d, size_t pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static dl_status jfail(dl_json_doc *d, size_t pos, const char *fmt, ...)
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

static dl_status joom(dl_json_doc *d)
{
    if (!d->failed) dl_err_set(d->e, DL_ENOMEM, "%s: out of memory parsing JSON", d->name);
    d->failed = 1;
    return DL_ENOMEM;
}

/* Room for need elements, doubling but never past max (the limit that was
 * checked: doubling from 2^24 numbers to 2^25 would allocate twice what
 * the limit allows). */
static int grow(void **p, size_t *cap, size_t need, size_t max, size_t elem)
{
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    if (c > max) c = max > need ? max : need;
    void *q = realloc(*p, c * elem);
    if (!q) return 0;
    *p = q;
    *cap = c;
    return 1;
}

static size_t new_node(dl_json_doc *d, int type, size_t pos)
{
    if (d->nn >= DL_JSON_MAX_NODES) {
        jfail(d, pos, "more than %zu values (beyond digitlens's limit)", (size_t)DL_JSON_MAX_NODES);
        return 0;
    }
    if (!grow((void **)&d->nodes, &d->ncap, d->nn + 1, DL_JSON_MAX_NODES, sizeof(dl_json_node))) {
        joom(d);
        return 0;
    }
    dl_json_node *n = &d->nodes[d->nn];
    memset(n, 0, sizeof *n);
    n->type = (unsigned char)type;
    n->pos = pos;
    return d->nn++;
}

static int push_num(dl_json_doc *d, double v, size_t pos)
{
    if (d->nnum >= DL_JSON_MAX_NUMBERS) {
        jfail(d, pos, "more than %zu numbers (beyond digitlens's limit)", (size_t)DL_JSON_MAX_NUMBERS);
        return 0;
    }
    if (!grow((void **)&d->nums, &d->numcap, d->nnum + 1, DL_JSON_MAX_NUMBERS, sizeof(double))) {
        joom(d);
        return 0;
    }
    d->nums[d->nnum++] = v;
    return 1;
}

static int push_str(dl_json_doc *d, const char *b, size_t n)
{
    /* Strings are copied out of the text: one of 512 MiB would double the
     * memory a file costs, and nothing network2.py writes is long. */
    if (d->nstr + n + 1 > DL_JSON_MAX_STRINGS) {
        jfail(d, d->i, "more than %zu bytes of strings (network2.py's format has a few short ones)",
              (size_t)DL_JSON_MAX_STRINGS);
        return 0;
    }
    if (!grow((void **)&d->strs, &d->strcap, d->nstr + n + 1, DL_JSON_MAX_STRINGS, 1)) {
        joom(d);
        return 0;
    }
    memcpy(d->strs + d->nstr, b, n);
    d->nstr += n;
    return 1;
}

static void skip_ws(dl_json_doc *d)
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
static int parse_number(dl_json_doc *d, double *v)
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
static int parse_string(dl_json_doc *d, size_t *off, size_t *n)
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

static size_t parse_value(dl_json_doc *d, int depth);

static int link_child(dl_json_doc *d, size_t parent, size_t *last, size_t child)
{
    if (*last) d->nodes[*last].next = child;
    else d->nodes[parent].a = child;
    *last = child;
    return 1;
}

static size_t parse_array(dl_json_doc *d, int depth)
{
    size_t me = new_node(d, DL_JSON_ARR, d->i);
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
                    size_t num = new_node(d, DL_JSON_NUM, d->nodes[me].pos);
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
    dl_json_node *nd = &d->nodes[me];
    nd->n = n;
    nd->packed = (unsigned char)packed;
    if (packed) nd->a = base;
    return me;
}

static size_t parse_object(dl_json_doc *d, int depth)
{
    size_t me = new_node(d, DL_JSON_OBJ, d->i);
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
                char shown_key[61];
                jfail(d, kpos, "the key \"%s\" appears twice", dl_err_shown(d->strs + koff, klen, shown_key, sizeof shown_key));
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

static size_t parse_literal(dl_json_doc *d, const char *word, int type)
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

static size_t parse_value(dl_json_doc *d, int depth)
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
        size_t me = new_node(d, DL_JSON_STR, d->i), off, n;
        if (!me || !parse_string(d, &off, &n)) return 0;
        d->nodes[me].a = off;
        d->nodes[me].n = n;
        return me;
    }
    case 't': return parse_literal(d, "true", DL_JSON_TRUE);
    case 'f': return parse_literal(d, "false", DL_JSON_FALSE);
    case 'n': return parse_literal(d, "null", DL_JSON_NULL);
    case 'N':
    case 'I':
        jfail(d, d->i, "Infinity and NaN are not JSON numbers (the network holds non-finite parameters: retrain it)");
        return 0;
    default:
        if (c == '-' || is_digit(c)) {
            size_t pos = d->i, me;
            double v;
            if (!parse_number(d, &v) || !(me = new_node(d, DL_JSON_NUM, pos))) return 0;
            d->nodes[me].a = d->nnum;
            return push_num(d, v, pos) ? me : 0;
        }
        char sb[16];
        jfail(d, d->i, "expected a value, found %s", shown(c, sb, sizeof sb));
        return 0;
    }
}

void dl_json_free(dl_json_doc *d)
{
    free(d->nodes);
    free(d->nums);
    free(d->strs);
}

/* Parses the whole text; the root is node 1. */
dl_status dl_json_parse(dl_json_doc *d, const char *text, size_t len, const char *name, dl_err *e)
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
    new_node(d, DL_JSON_NULL, 0); /* node 0 stands for "none" in the lists */
    if (d->failed) return e ? e->code : DL_ENOMEM;
    skip_ws(d);
    if (d->i >= len) return dl_err_set(e, DL_EFORMAT, "%s: empty file (expected a JSON object)", name);
    if (!parse_value(d, 1)) return e ? e->code : DL_EFORMAT;
    skip_ws(d);
    if (d->i < len) return jfail(d, d->i, "text after the end of the JSON value");
    return DL_OK;
}

const char *dl_json_type_name(const dl_json_node *n)
{
    switch (n->type) {
    case DL_JSON_NULL: return "null";
    case DL_JSON_FALSE: return "false";
    case DL_JSON_TRUE: return "true";
    case DL_JSON_NUM: return "a number";
    case DL_JSON_STR: return "a string";
    case DL_JSON_ARR: return n->packed && n->n ? "a list of numbers" : n->n ? "a list" : "an empty list";
    default: return "an object";
    }
}

const dl_json_node *dl_json_member(const dl_json_doc *d, const dl_json_node *obj, const char *key)
{
    size_t k = strlen(key);
    for (size_t m = obj->a; m; m = d->nodes[m].next)
        if (d->nodes[m].keylen == k && memcmp(d->strs + d->nodes[m].key, key, k) == 0) return &d->nodes[m];
    return NULL;
}
