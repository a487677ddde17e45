#!/usr/bin/env bash
# handwriting-check.sh [options] MODEL DIR — classify every image in DIR with
# MODEL and report how many digitlens got right, using the label in each file
# name: d<digit>-<style>[-<condition>]-<anything>.<ext>
# (as written by scripts/make-handwriting-set.sh, e.g. d7-humor-photo-01.jpg).
#
# Prints: the overall rate; the rate without the "stress" conditions (lined,
# edge) when there are any; the rate per style (font or "pen") and per
# condition; the rate per true digit; a 10x10 confusion matrix and the most
# frequent confusions. Needs bash, awk and a built ./digitlens (no jq).
#
# options:
#   --digitlens PATH         the binary to run (default ./digitlens)
#   --save-preprocessed DIR  passed on to classify: the 28x28 each image became
#   --wrong                  also list every misclassified file
#   --stress LIST            conditions counted as stress (default "lined edge")
set -euo pipefail

DL=./digitlens SAVE='' WRONG=0 STRESS="lined edge"
usage() { echo "usage: $0 [--digitlens PATH] [--save-preprocessed DIR] [--wrong] [--stress LIST] MODEL DIR" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --digitlens) [ $# -ge 2 ] || usage; DL=$2; shift 2 ;;
    --save-preprocessed) [ $# -ge 2 ] || usage; SAVE=$2; shift 2 ;;
    --wrong) WRONG=1; shift ;;
    --stress) [ $# -ge 2 ] || usage; STRESS=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage
MODEL=$1 DIR=$2
[ -x "$DL" ] || { echo "$0: $DL not found or not executable (run make)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "$0: no model file $MODEL" >&2; exit 1; }

shopt -s nullglob
files=()
for f in "$DIR"/d[0-9]-*; do [ -f "$f" ] && files+=("$f"); done
[ ${#files[@]} -gt 0 ] || { echo "$0: no labelled images (d<digit>-...) in $DIR" >&2; exit 1; }

opts=(--model "$MODEL" --json)
[ -n "$SAVE" ] && { mkdir -p "$SAVE"; opts+=(--save-preprocessed "$SAVE"); }
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
# classify may exit non-zero when some file cannot be read; those files are
# counted as wrong below (no JSON line for them), the rest are still scored.
rc=0
"$DL" classify "${opts[@]}" "${files[@]}" >"$out" 2>"$err" || rc=$?
if [ -s "$err" ]; then sed 's/^/classify: /' "$err" | head -n 20 >&2; fi

{ printf '%s\n' "${files[@]}" | sed 's/^/FILE\t/'; cat "$out"; } |
awk -v wrong="$WRONG" -v stress="$STRESS" -v rc="$rc" '
function lab(path,   b, n, p) {
  b = path; sub(/.*\//, "", b); sub(/\.[^.]*$/, "", b)
  n = split(b, p, "-"); LD = substr(p[1], 2) + 0; LS = p[2]; LC = (n >= 4) ? p[3] : "-"
}
function pct(a, b) { return b ? sprintf("%5.1f%%", 100 * a / b) : "    -" }
function add(kind, key, ok) { N[kind, key]++; if (ok) R[kind, key]++; if (!((kind, key) in SEEN)) { SEEN[kind, key] = 1; KEYS[kind] = KEYS[kind] " " key } }
function table(kind, title,   n, k, i, j, t) {
  n = split(KEYS[kind], k, " ")
  for (i = 2; i <= n; i++) for (j = i; j > 1 && k[j - 1] > k[j]; j--) { t = k[j]; k[j] = k[j - 1]; k[j - 1] = t }
  printf "\n%s\n", title
  for (i = 1; i <= n; i++) printf "  %-10s %4d/%-4d %s\n", k[i], R[kind, k[i]] + 0, N[kind, k[i]], pct(R[kind, k[i]], N[kind, k[i]])
}
BEGIN { split(stress, sl, " "); for (i in sl) ISSTRESS[sl[i]] = 1 }
/^FILE\t/ { f = substr($0, 6); ORDER[++NF_] = f; next }
/^\{/ {
  if (!match($0, /"file":"[^"]*"/)) next
  f = substr($0, RSTART + 8, RLENGTH - 9)
  match($0, /"digit":-?[0-9]+/); g = substr($0, RSTART + 8, RLENGTH - 8) + 0
  c = 0; if (match($0, /"confidence":[-0-9.eE+]+/)) c = substr($0, RSTART + 13, RLENGTH - 13) + 0
  GOT[f] = g; CONF[f] = c; next
}
END {
  for (i = 1; i <= NF_; i++) {
    f = ORDER[i]; lab(f)
    have = (f in GOT); g = have ? GOT[f] : -1; ok = have && g == LD
    total++; if (ok) right++
    core = !(LC in ISSTRESS); if (core) { ctot++; if (ok) cright++ }
    add("style", LS, ok); add("cond", LC, ok); add("digit", LD, ok)
    if (core) add("cstyle", LS, ok)
    if (have) { CM[LD, g]++; if (ok) { sc += CONF[f]; nc++ } else { sw += CONF[f]; nw++ } }
    else missing++
    if (!ok) { if (have) PAIR[LD "->" g]++; BAD[++nb] = sprintf("  %-44s true %d  got %s  conf %.3f", f, LD, have ? g : "none", have ? CONF[f] : 0) }
  }
  printf "overall: %d/%d correct = %s\n", right, total, pct(right, total)
  if (ctot > 0 && ctot < total) printf "without stress conditions (%s): %d/%d = %s\n", stress, cright, ctot, pct(cright, ctot)
  if (missing) printf "no answer from classify for %d file(s) (counted wrong; classify exit %d)\n", missing, rc
  if (nc) printf "mean confidence: right %.3f", sc / nc; if (nw) printf ", wrong %.3f", sw / nw; print ""
  table("cond", "by condition:")
  table("style", "by style (all conditions):")
  if (ctot > 0 && ctot < total) table("cstyle", "by style (without stress conditions):")
  table("digit", "by true digit:")
  printf "\nconfusion matrix (rows: true digit, columns: predicted):\n       "
  for (j = 0; j <= 9; j++) printf "%4d", j; print ""
  for (i = 0; i <= 9; i++) { printf "  %d:   ", i; for (j = 0; j <= 9; j++) printf "%4s", CM[i, j] ? CM[i, j] : "."; print "" }
  printf "\nmost frequent confusions (true->predicted):"
  n = 0; for (p in PAIR) { n++; PK[n] = p }
  for (i = 2; i <= n; i++) for (j = i; j > 1 && (PAIR[PK[j - 1]] < PAIR[PK[j]] || (PAIR[PK[j - 1]] == PAIR[PK[j]] && PK[j - 1] > PK[j])); j--) { t = PK[j]; PK[j] = PK[j - 1]; PK[j - 1] = t }
  for (i = 1; i <= n && i <= 10; i++) printf " %s x%d", PK[i], PAIR[PK[i]]
  print (n ? "" : " none")
  if (wrong && nb) { print "\nmisclassified:"; for (i = 1; i <= nb; i++) print BAD[i] }
}'
