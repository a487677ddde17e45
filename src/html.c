/*
 * html.c — the pieces every digitlens page is built from (see html.h):
 * escaping, base64 for data: URIs, the page head with the house style, and
 * a line chart as inline SVG.
 */
#include "html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "digitlens/utf8.h"

/* Text with &, <, >, " escaped; bytes that are not UTF-8 (a file name's)
 * and control characters become U+FFFD, so the page stays UTF-8. */
void dl_html_text(dl_buf *b, const char *s)
{
    size_t n = strlen(s);
    while (*s) {
        int k = dl_utf8_seq((const unsigned char *)s, n);
        switch (*s) {
        case '&': dl_buf_append(b, "&amp;", 5); break;
        case '<': dl_buf_append(b, "&lt;", 4); break;
        case '>': dl_buf_append(b, "&gt;", 4); break;
        case '"': dl_buf_append(b, "&quot;", 6); break;
        default:
            if (k > 0 && ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n') && *s != 0x7f)
                dl_buf_append(b, s, (size_t)k);
            else
                dl_buf_append(b, "&#xFFFD;", 8);
        }
        k = k > 0 ? k : 1;
        s += k;
        n -= (size_t)k;
    }
}

void dl_html_base64(dl_buf *b, const unsigned char *p, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        q[0] = A[v >> 18 & 63];
        q[1] = A[v >> 12 & 63];
        q[2] = i + 1 < n ? A[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? A[v & 63] : '=';
        dl_buf_append(b, q, 4);
    }
}

static const char CSS[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#222;background:#f6f7f9}"
    "header{background:#1f2933;color:#f5f7fa;padding:18px 28px 12px}"
    "header h1{margin:0;font-size:22px;font-weight:600}"
    "header p{margin:4px 0 10px;color:#cbd2d9}"
    "nav a{color:#9fd3ff;margin-right:16px;text-decoration:none;font-size:14px}"
    "nav a:hover{text-decoration:underline}"
    "main{max-width:1400px;margin:0 auto;padding:8px 24px 40px}"
    "section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 22px;margin:18px 0}"
    "h2{font-size:18px;margin:0 0 10px}"
    "h3{font-size:15px;margin:14px 0 6px}"
    "p.note{color:#52606d;font-size:13.5px;margin:4px 0 10px}"
    "table.kv td{padding:3px 18px 3px 0;vertical-align:top}"
    "table.kv td:first-child{color:#52606d;white-space:nowrap}"
    ".charts{display:flex;flex-wrap:wrap;gap:18px}"
    ".charts svg{background:#fff;border:1px solid #eef0f2;border-radius:6px}"
    "table.cm{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}"
    "table.cm th,table.cm td{width:52px;height:30px;text-align:center;border:1px solid #fff}"
    "table.cm th{color:#52606d;font-weight:600;background:#fff}"
    "table.cm th.corner{width:auto;white-space:nowrap;font-weight:400;font-size:12px;padding:0 6px}"
    "table.cm td.acc{color:#222;background:#f1f3f5;width:64px}"
    ".axis{color:#52606d;font-size:12.5px}"
    "table.num{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13.5px;margin:6px 0}"
    "table.num th,table.num td{padding:3px 0 3px 22px;text-align:right;border-bottom:1px solid #eef0f2}"
    "table.num th:first-child,table.num td:first-child{padding-left:0;text-align:left}"
    "table.num th{color:#52606d;font-weight:600}"
    ".grid{display:grid;gap:4px;margin:8px 0}"
    ".grid a{display:block;position:relative;line-height:0;border:1px solid #d9dde2;border-radius:3px;"
    "overflow:hidden;background:#fff}"
    ".grid a:hover{outline:2px solid #f08c00;z-index:1}"
    ".grid a.dead{opacity:.35;border:2px dashed #52606d}"
    ".grid a.dup{border:2px solid #d6604d}"
    ".grid img{width:100%;height:auto;image-rendering:pixelated;image-rendering:crisp-edges}"
    ".grid span{position:absolute;left:2px;top:2px;font:10px/1 monospace;color:#333;"
    "background:rgba(255,255,255,.75);padding:1px 2px;border-radius:2px}"
    ".row{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}"
    ".row img,.wide{max-width:100%;height:auto}"
    ".gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(416px,1fr));gap:12px}"
    "figure{margin:0;border:1px solid #e1e4e8;border-radius:6px;padding:6px;background:#fff}"
    "figure img{max-width:100%;height:auto;display:block}"
    "figcaption{font-size:13px;color:#52606d;margin-top:4px}"
    "figcaption .votes{font-size:12.5px;font-variant-numeric:tabular-nums}"
    "figcaption .votes a{color:#0b69c7;text-decoration:none}"
    ".card{scroll-margin-top:12px}"
    ".card nav a{color:#0b69c7}"
    ".card:target{outline:3px solid #f08c00}"
    "footer{color:#7b8794;font-size:12.5px;text-align:center;padding:18px}";

void dl_html_head(dl_buf *b, const char *title, const char *subtitle)
{
    dl_html_head_css(b, title, subtitle, NULL);
}

void dl_html_head_css(dl_buf *b, const char *title, const char *subtitle, const char *css)
{
    dl_buf_puts(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    dl_buf_appendf(b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    dl_html_text(b, title);
    dl_buf_appendf(b, "</title>\n<style>%s%s</style>\n</head>\n<body>\n<header><h1>", CSS, css ? css : "");
    dl_html_text(b, title);
    dl_buf_appendf(b, "</h1><p>");
    dl_html_text(b, subtitle);
    dl_buf_appendf(b, "</p>\n");
}

/* A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving about
 * five intervals over span, and the decimals its labels need. */
static double nice_step(double span, int *decimals)
{
    if (!(span > 0)) span = 1.0;
    double raw = span / 5.0, p = pow(10.0, floor(log10(raw))), f = raw / p;
    double m = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 2.5 ? 2.5 : f <= 5.0 ? 5.0 : 10.0;
    double step = m * p;
    int d = (int)-floor(log10(step) + 1e-9);
    if (m == 2.5) d++;
    *decimals = d > 0 ? d : 0;
    return step;
}

/* One line chart as inline SVG: y[i] at epoch i+1, y axis from the nice
 * ticks around [ymin, ymax] (never above cap). */
void dl_html_line_chart(dl_buf *b, const char *title, const double *y, int n, double ymin, double ymax, double cap,
                      const char *color)
{
    const int W = 520, H = 270, ml = 56, mr = 16, mt = 30, mb = 40;
    double pw = W - ml - mr, ph = H - mt - mb;
    int dec;
    double step = nice_step(ymax - ymin, &dec);
    double lo = floor(ymin / step + 1e-9) * step, hi = ceil(ymax / step - 1e-9) * step;
    if (hi > cap) hi = cap;
    if (!(hi > lo)) hi = lo + step;
    dl_buf_appendf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "role=\"img\" aria-label=\"", W, H, W, H);
    dl_html_text(b, title);
    dl_buf_appendf(b, "\" font-family=\"system-ui,sans-serif\" font-size=\"12\">\n");
    dl_buf_appendf(b, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"600\" fill=\"#222\">", ml);
    dl_html_text(b, title);
    dl_buf_appendf(b, "</text>\n");
    for (int g = 0; lo + g * step <= hi + step * 1e-6 && g < 50; g++) {
        double v = lo + g * step, yy = mt + ph - ph * (v - lo) / (hi - lo);
        dl_buf_appendf(b, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", ml, ml + pw, yy, yy,
                  g ? "#eceff1" : "#9aa5b1");
        dl_buf_appendf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#52606d\">%.*f</text>\n", ml - 6, yy + 4,
                  dec, v);
    }
    /* x ticks: at most ~10 labels */
    int xstep = n <= 10 ? 1 : (n + 9) / 10;
    double dx = n > 1 ? pw / (n - 1) : 0.0;
    for (int i = 0; i < n; i += xstep) {
        double xx = ml + (n > 1 ? dx * i : pw / 2);
        dl_buf_appendf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\"/>", xx, xx, mt + ph,
                  mt + ph + 4);
        dl_buf_appendf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#52606d\">%d</text>\n", xx,
                  mt + ph + 17, i + 1);
    }
    dl_buf_appendf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#52606d\">epoch</text>\n", ml + pw / 2,
              H - 4);
    dl_buf_appendf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    for (int i = 0; i < n; i++) {
        double xx = ml + (n > 1 ? dx * i : pw / 2), yy = mt + ph - ph * (y[i] - lo) / (hi - lo);
        dl_buf_appendf(b, "%s%.1f,%.1f", i ? " " : "", xx, yy);
    }
    dl_buf_appendf(b, "\"/>\n");
    for (int i = 0; i < n; i++) {
        double xx = ml + (n > 1 ? dx * i : pw / 2), yy = mt + ph - ph * (y[i] - lo) / (hi - lo);
        dl_buf_appendf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>epoch %d: %.*f</title></circle>\n",
                  xx, yy, color, i + 1, dec + 2, y[i]);
    }
    dl_buf_appendf(b, "</svg>\n");
}

