/*
 * opts.c — the option parser, help pages, error printing and data-file
 * lookup shared by every subcommand (see cli.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "digitlens/fileio.h"
#include "digitlens/utf8.h"

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("digitlens: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_fail_err(const dl_err *e)
{
    int code = e->code == DL_EINTR ? EXIT_INTERRUPTED : e->code == DL_EINVAL ? EXIT_USAGE : EXIT_DATA;
    return cli_fail(code, "%s", e->msg[0] ? e->msg : dl_status_name(e->code));
}

int cli_done(int code, dl_model *m, dl_canvas *c, dl_font *font)
{
    dl_canvas_free(c);
    dl_font_free(font);
    dl_model_free(m);
    return code;
}

static void default_text(const cli_opt *o, char *buf, size_t cap)
{
    switch (o->kind) {
    case OPT_FLAG: snprintf(buf, cap, "off"); break;
    case OPT_INT: snprintf(buf, cap, "%d", *(int *)o->dst); break;
    case OPT_FLOAT: snprintf(buf, cap, "%g", *(double *)o->dst); break;
    case OPT_STR:
    case OPT_LIST: {
        const char *s = *(const char **)o->dst;
        snprintf(buf, cap, "%s", s ? s : "none");
        break;
    }
    }
}

/* An option's help line ends with what it does when not given: either its
 * help says so itself ("(default: the number of cores here)", "(required)")
 * or the printer appends the value it starts with ("(default 30)").  A
 * whole-number option also shows its accepted range, without the sentinel
 * (-1 = "not given") when the help explains the default in words. */
void cli_option_help(const cli_opt *o, char *text, size_t cap)
{
    const size_t hl = strlen(o->help);
    const int words = strstr(o->help, "(default") || strstr(o->help, "(required");
    const int ranged = o->kind == OPT_INT && o->max > o->min;
    if (words) {
        double lo = o->min;
        if (ranged && lo < 0 && *(int *)o->dst == (int)lo) lo += 1; /* the sentinel is the words */
        if (ranged && o->help[hl - 1] == ')')
            snprintf(text, cap, "%.*s; %.0f..%.0f)", (int)(hl - 1), o->help, lo, o->max);
        else if (ranged)
            snprintf(text, cap, "%s (%.0f..%.0f)", o->help, lo, o->max);
        else
            snprintf(text, cap, "%s", o->help);
    } else {
        char def[128];
        default_text(o, def, sizeof def);
        if (ranged)
            snprintf(text, cap, "%s (default %s; %.0f..%.0f)", o->help, def, o->min, o->max);
        else
            snprintf(text, cap, "%s (default %s)", o->help, def);
    }
}

static void help_line(const cli_opt *o)
{
    char left[64], text[512];
    snprintf(left, sizeof left, "--%s %s", o->name, o->metavar ? o->metavar : "X");
    cli_option_help(o, text, sizeof text);
    printf("  %-26s %s\n", left, text);
}

void cli_print_help(const cli_cmd *cmd, const cli_opt *opts)
{
    printf("usage: digitlens %s [options]%s%s\n\n%s\n\noptions:\n", cmd->name,
           cmd->args[0] ? " " : "", cmd->args, cmd->summary);
    for (const cli_opt *o = opts; o->name; o++) {
        if (o->kind == OPT_FLAG) {
            char left[64];
            snprintf(left, sizeof left, "--%s", o->name);
            printf("  %-26s %s\n", left, o->help);
        } else {
            help_line(o);
        }
    }
    printf("  %-26s %s\n\nexample:\n%s\n", "--help", "show this help", cmd->example);
}

int cli_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX || m >= MAX) return 9;
    int d[MAX][MAX];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m] > 9 ? 9 : d[n][m];
}

static int set_value(const cli_cmd *cmd, cli_opt *o, const char *v)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno)
            return cli_fail(EXIT_USAGE, "%s: --%s expects a whole number, not '%s'", cmd->name, o->name, v);
        if (x < o->min || x > o->max)
            return cli_fail(EXIT_USAGE, "%s: --%s %ld is out of range (%.0f..%.0f)", cmd->name, o->name, x,
                            o->min, o->max);
        *(int *)o->dst = (int)x;
        break;
    }
    case OPT_FLOAT: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return cli_fail(EXIT_USAGE, "%s: --%s expects a number, not '%s'", cmd->name, o->name, v);
        if (x < o->min || x > o->max)
            return cli_fail(EXIT_USAGE, "%s: --%s %g is out of range (%g..%g)", cmd->name, o->name, x,
                            o->min, o->max);
        *(double *)o->dst = x;
        break;
    }
    case OPT_STR:
    case OPT_LIST:
        if (!*v) return cli_fail(EXIT_USAGE, "%s: --%s needs a non-empty value", cmd->name, o->name);
        *(const char **)o->dst = v;
        break;
    case OPT_FLAG: break;
    }
    return EXIT_OK;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, char **pos, int *npos)
{
    *npos = 0;
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (*npos >= cmd->max_positional)
                return cli_fail(EXIT_USAGE, "%s: unexpected argument '%s' (see 'digitlens %s --help')",
                                cmd->name, a, cmd->name);
            pos[(*npos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_print_help(cmd, opts);
            return -1;
        }
        /* The same table as a manual page, or as a list for the completion
         * script (scripts/gen-docs.sh). */
        if (strcmp(a, "--help=man") == 0 || strcmp(a, "--help=options") == 0) {
            if (a[7] == 'm') cli_print_man(cmd, opts);
            else cli_print_options(cmd, opts);
            return -1;
        }
        if (a[1] != '-')
            return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (options are spelled --name; see "
                            "'digitlens %s --help')", cmd->name, a, cmd->name);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = opts;
        for (; o->name; o++)
            if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) break;
        if (!o->name) {
            /* The nearest option, if it is near: --epoch -> --epochs. */
            char given[64];
            snprintf(given, sizeof given, "%.*s", (int)(nlen < 63 ? nlen : 63), name);
            const cli_opt *best = NULL;
            int bd = 3;
            for (const cli_opt *c = opts; c->name; c++) {
                int d = cli_distance(given, c->name);
                if (d < bd) bd = d, best = c;
            }
            if (best && bd <= (nlen > 4 ? 2 : 1))
                return cli_fail(EXIT_USAGE, "%s: unknown option '--%.*s' (did you mean --%s? see 'digitlens %s --help')",
                                cmd->name, (int)nlen, name, best->name, cmd->name);
            return cli_fail(EXIT_USAGE, "%s: unknown option '--%.*s' (see 'digitlens %s --help')",
                            cmd->name, (int)nlen, name, cmd->name);
        }
        o->seen = 1;
        if (o->kind == OPT_FLAG) {
            if (eq) return cli_fail(EXIT_USAGE, "%s: --%s takes no value", cmd->name, o->name);
            *(int *)o->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc)
                return cli_fail(EXIT_USAGE, "%s: --%s needs a value (%s)", cmd->name, o->name,
                                o->metavar ? o->metavar : "X");
            v = argv[++i];
        }
        int rc = set_value(cmd, o, v);
        if (rc != EXIT_OK) return rc;
    }
    return EXIT_OK;
}

int cli_require(const cli_cmd *cmd, const cli_opt *opts, const char *names)
{
    const cli_opt *miss[16];
    int k = 0;
    for (const char *p = names; *p && k < 16;) {
        size_t len = strcspn(p, ",");
        for (const cli_opt *o = opts; o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, p, len) == 0 && !o->seen) miss[k++] = o;
        p += len + (p[len] == ',');
    }
    if (k == 0) return 0;
    /* "--a A", "--a A and --b B", "--a A, --b B and --c C" */
    char list[512];
    size_t used = 0;
    for (int i = 0; i < k && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s--%s %s", i == 0 ? "" : i == k - 1 ? " and " : ", ",
                                 miss[i]->name, miss[i]->metavar ? miss[i]->metavar : "X");
    return cli_fail(EXIT_USAGE, "%s: %s %s required", cmd->name, list, k == 1 ? "is" : "are");
}

int cli_out_dir(const cli_cmd *cmd, const char *flag, const char *dir)
{
    static const char *const ext[] = {"png", "jpg", "jpeg", "gif", "bmp", "pgm", "ppm", "svg", "html", "htm",
                                      "json", "npy", "dlm", "txt", NULL};
    struct stat st;
    if (!dir || stat(dir, &st) == 0) return 0; /* an existing one: creating it tells what is wrong */
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return 0;
    for (int i = 0; ext[i]; i++)
        if (strcasecmp(dot + 1, ext[i]) == 0)
            return cli_fail(EXIT_USAGE, "%s: --%s is the directory the files go into, and '%s' looks like a file's "
                            "name (give a directory, e.g. --%s %.*s/)", cmd->name, flag, dir, flag,
                            (int)(dot - dir), dir);
    return 0;
}

int cli_parse_int_list(const char *flag, const char *s, int *out, int max, int *n, int lo, int hi)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        char *end = NULL;
        errno = 0;
        if (*p < '0' || *p > '9')
            return cli_fail(EXIT_USAGE, "--%s '%s': expected comma-separated whole numbers", flag, s);
        long v = strtol(p, &end, 10);
        if (errno || v < lo || v > hi)
            return cli_fail(EXIT_USAGE, "--%s '%s': %.*s is out of range (%d..%d)", flag, s,
                            (int)(end - p), p, lo, hi);
        if (*n >= max) return cli_fail(EXIT_USAGE, "--%s '%s': at most %d values", flag, s, max);
        out[(*n)++] = (int)v;
        if (*end == '\0') return EXIT_OK;
        if (*end != ',')
            return cli_fail(EXIT_USAGE, "--%s '%s': expected comma-separated whole numbers", flag, s);
        p = end + 1;
    }
}

void cli_path(char *buf, size_t cap, const char *dir, const char *fmt, ...)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    int k = snprintf(buf, cap, "%.*s%s", (int)n, dir, dir[n - 1] == '/' ? "" : "/");
    if (k < 0 || (size_t)k >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
}

void cli_python_escape(const char *s, int percent)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '\'') putchar('\\');
        if (*s == '%' && percent) putchar('%');
        if (*s == '\n') fputs("\\n", stdout);
        else putchar(*s);
    }
}

int cli_data_pair(const cli_cmd *cmd, const cli_opt *opts, const char *images, const char *labels)
{
    const cli_opt *oi = NULL, *ol = NULL;
    for (const cli_opt *o = opts; o->name; o++) {
        if (strcmp(o->name, images) == 0) oi = o;
        if (strcmp(o->name, labels) == 0) ol = o;
    }
    if (!oi || !ol || oi->seen == ol->seen) return 0;
    const cli_opt *given = oi->seen ? oi : ol, *missing = oi->seen ? ol : oi;
    return cli_fail(EXIT_USAGE, "%s: --%s was given without --%s (name both files: one named on the command "
                    "line is never paired with --data's)", cmd->name, given->name, missing->name);
}

const char *cli_data_file(const char *dir, const char *name, const char *override, char *buf,
                          size_t cap)
{
    if (override) return override;
    cli_path(buf, cap, dir, "%s", name);
    if (dl_file_exists(buf)) return buf;
    cli_path(buf, cap, dir, "%s.gz", name);
    if (dl_file_exists(buf)) return buf;
    /* Neither exists: name the plain file so the error message is useful. */
    cli_path(buf, cap, dir, "%s[.gz]", name);
    return buf;
}

int cli_class_output(const dl_model *m, const char *cmd, const char *flag, int cls, int *out)
{
    if ((*out = cli_output_of(m, cls)) >= 0) return EXIT_OK;
    char list[1024];
    size_t n = 0;
    for (int k = 0; k < m->nclasses && n + 8 < sizeof list; k++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%d", k ? ", " : "", m->classes[k]);
    return cli_fail(EXIT_USAGE, "%s: --%s %d is not one of this model's classes (%s)", cmd, flag, cls, list);
}

int cli_hidden_layer(const dl_model *m, const char *cmd, int layer, const char *none_hint)
{
    int hidden = m->net->nlayers - 2;
    if (layer >= 1 && layer <= hidden) return EXIT_OK;
    if (hidden < 1) return cli_fail(EXIT_USAGE, "%s: this network has no hidden layer%s", cmd, none_hint ? none_hint : "");
    return cli_fail(EXIT_USAGE, "%s: --layer %d is out of range (hidden layers are 1..%d)", cmd, layer, hidden);
}

int cli_weight_layer(const dl_model *m, const char *cmd, int layer)
{
    int hidden = m->net->nlayers - 2, output = m->net->nlayers - 1;
    if (layer >= 1 && layer <= output) return EXIT_OK;
    if (hidden < 1)
        return cli_fail(EXIT_USAGE, "%s: --layer %d is out of range (this network has no hidden layer; the output "
                        "layer is 1)", cmd, layer);
    return cli_fail(EXIT_USAGE, "%s: --layer %d is out of range (hidden layers are 1..%d, the output layer is %d)", cmd,
                    layer, hidden, output);
}

int cli_layer_neuron(const dl_model *m, const char *cmd, const char *flag, const char *list, int layer, int neuron)
{
    int count = m->net->sizes[layer];
    if (neuron >= 0 && neuron < count) return EXIT_OK;
    /* An entry of a list is named with the list, as cli_parse_int_list does. */
    if (list)
        return cli_fail(EXIT_USAGE, "%s: --%s '%s': %d is out of range (layer %d has neurons 0..%d)", cmd, flag, list,
                        neuron, layer, count - 1);
    return cli_fail(EXIT_USAGE, "%s: --%s %d is out of range (layer %d has neurons 0..%d)", cmd, flag, neuron, layer,
                    count - 1);
}

int cli_ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

int cli_threads(const char *cmd, int threads, int quiet)
{
    int cores = cli_ncores();
    if (threads <= cores) return threads;
    /* Threads beyond the cores take turns on them: each step then waits for
     * a descheduled one (64 on 2 cores trained 2.7 times slower).  Results do
     * not depend on the count, so fewer threads change nothing else. */
    if (!quiet)
        fprintf(stderr, "digitlens: note: %s: --threads %d is more than the %d cores here; using %d\n", cmd, threads,
                cores, cores);
    return cores;
}

void cli_json_floats(const float *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++) printf("%s%.6g", i ? "," : "", v[i]);
    putchar(']');
}

void cli_json_string(const char *s)
{
    putchar('"');
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (*p) {
        int k = dl_utf8_seq(p, n);
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f) printf("\\u%04x", *p);
        else if (k > 0) fwrite(p, 1, (size_t)k, stdout);
        else fputs("\\ufffd", stdout); /* a byte of a name that is not UTF-8: JSON must be */
        k = k > 0 ? k : 1;
        p += k;
        n -= (size_t)k;
    }
    putchar('"');
}

int cli_seen(const cli_opt *opts, const void *dst)
{
    for (const cli_opt *o = opts; o->name; o++)
        if (o->dst == dst) return o->seen;
    return 0;
}
