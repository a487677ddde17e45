# lib.sh — helpers for the command-line tests: each check prints one line,
# "PASS name", "FAIL name: why" or "SKIP name: why".
# Expects DIGITLENS (the binary) and MKFIXTURE in the environment.
set -u
DL=${DIGITLENS:-./digitlens}
FAILS=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
skip() { echo "SKIP $1: $2"; }

# run CMD...: runs it, keeping stdout in $OUT, stderr in $ERR, status in $RC.
run() {
  "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

# expect_fail NAME STATUS PATTERN CMD...: exits STATUS with one stderr line
# starting "digitlens:" that matches PATTERN (grep -E).
expect_fail() {
  local name=$1 want=$2 pat=$3
  shift 3
  run "$@"
  local lines
  lines=$(printf '%s' "$ERR" | grep -c '' || true)
  if [ "$RC" != "$want" ]; then fail "$name" "exit $RC, expected $want (stderr: $ERR)"
  elif [ "$lines" != 1 ]; then fail "$name" "expected one stderr line, got $lines: $ERR"
  elif [[ "$ERR" != digitlens:* ]]; then fail "$name" "message lacks the digitlens: prefix: $ERR"
  elif ! grep -qE -- "$pat" <<<"$ERR"; then fail "$name" "message '$ERR' does not match /$pat/"
  else pass "$name"; fi
}

have_browser() { command -v node >/dev/null && { [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ]; }; }

# browser_results NAME FILE: the "# ..." notes of a browser check's output
# FILE, and a PASS/FAIL line per "ok ..."/"not ok ..." line.
browser_results() {
  local name=$1 out=$2
  grep '^# ' "$out"
  while IFS= read -r line; do
    case $line in
      "ok "*) pass "${name}_${line#ok }" ;;
      "not ok "*)
        line=${line#not ok }
        fail "${name}_${line%%:*}" "${line#*: }" ;;
    esac
  done <"$out"
  grep -q '^ok ' "$out" || fail "${name}_in_browser" "no result: $(tail -3 "$out" | tr '\n' ' ')"
}

# small_model: 400 fixture images of 28x28 in $FIX (= $TMP/fix) and a
# 784-12-2 model trained on them, $TMP/m.dlm (the report and explorer tests).
small_model() {
  FIX=$TMP/fix
  mkdir -p "$FIX"
  "${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
  "$DL" train --data "$FIX" --layers 784,12,2 --epochs 2 --quiet --out "$TMP/m.dlm" || { fail train "no model"; finish; }
}

finish() { exit $((FAILS > 0)); }
