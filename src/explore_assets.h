/*
 * explore_assets.h — the explorer page's own style, markup and script as
 * C strings, generated at build time from src/explore.css,
 * src/explore_body.html and src/explore_*.js by scripts/text2c.sh (see the
 * Makefile).  Private to src/; explore.c is the only reader.
 */
#ifndef DIGITLENS_EXPLORE_ASSETS_H
#define DIGITLENS_EXPLORE_ASSETS_H

extern const char dl_explore_css[];
extern const char dl_explore_body[];
extern const char dl_explore_js[]; /* explore_net.js, explore_prep.js, explore_ui.js joined */

#endif
