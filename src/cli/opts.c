/*
 * opts.c — the option parser, help pages, error printing and data-file
 * lookup shared by every subcommand (see cli.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "digitlens/fileio.h"

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
static void help_line(const cli_opt *o)
{
    char left[64], text[512];
    snprintf(left, sizeof left, "--%s %s", o->name, o->metavar ? o->metavar : "X");
    const size_t hl = strlen(o->help);
    const int words = strstr(o->help, "(default") || strstr(o->help, "(required");
    const int ranged = o->kind == OPT_INT && o->max > o->min;
    if (words) {
        double lo = o->min;
        if (ranged && lo < 0 && *(int *)o->dst == (int)lo) lo += 1; /* the sentinel is the words */
        if (ranged && o->help[hl - 1] == ')')
            snprintf(text, sizeof text, "%.*s; %.0f..%.0f)", (int)(hl - 1), o->help, lo, o->max);
        else if (ranged)
            snprintf(text, sizeof text, "%s (%.0f..%.0f)", o->help, lo, o->max);
        else
            snprintf(text, sizeof text, "%s", o->help);
    } else {
        char def[128];
        default_text(o, def, sizeof def);
        if (ranged)
            snprintf(text, sizeof text, "%s (default %s; %.0f..%.0f)", o->help, def, o->min, o->max);
        else
            snprintf(text, sizeof text, "%s (default %s)", o->help, def);
    }
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
        if (a[1] != '-')
            return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (options are spelled --name; see "
                            "'digitlens %s --help')", cmd->name, a, cmd->name);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        cli_opt *o = opts;
        for (; o->name; o++)
            if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) break;
        if (!o->name)
            return cli_fail(EXIT_USAGE, "%s: unknown option '--%.*s' (see 'digitlens %s --help')",
                            cmd->name, (int)nlen, name, cmd->name);
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

const char *cli_data_file(const char *dir, const char *name, const char *override, char *buf,
                          size_t cap)
{
    if (override) return override;
    snprintf(buf, cap, "%s/%s", dir, name);
    if (dl_file_exists(buf)) return buf;
    snprintf(buf, cap, "%s/%s.gz", dir, name);
    if (dl_file_exists(buf)) return buf;
    /* Neither exists: name the plain file so the error message is useful. */
    snprintf(buf, cap, "%s/%s[.gz]", dir, name);
    return buf;
}

int cli_ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
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
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

int cli_seen(const cli_opt *opts, const void *dst)
{
    for (const cli_opt *o = opts; o->name; o++)
        if (o->dst == dst) return o->seen;
    return 0;
}
