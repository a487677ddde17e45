#!/usr/bin/env bash
# bench-report.sh — the report part of `make bench`: how long `digitlens
# report` takes to write the report of a 784-100-10 model on the 10,000
# test images, and how long its pages take to load in headless Chromium.
# (tests/cli/test_report.sh checks the same report for correctness, with no
# time limit: speed is measured here, never asserted there.)
#
# Data: MNIST (data/mnist or ../shared/data/mnist), else Fashion-MNIST's
# test set; with neither the part says so and ends.  The model is trained
# here (2 epochs); the time hardly depends on its accuracy, since the
# mistakes section explains the first 24 misclassified images whatever it
# is.  BENCH_REPORT_RUNS (default 5) runs each of `report --maps 0` and
# `report` with its default maps (PCA and t-SNE of 2,000 images in pixel
# and hidden-layer space), taking turns so both see the same machine, each
# into an empty folder, BENCH_REPORT_THREADS threads (default 2): medians
# of the whole process's wall and CPU time.  Then, where node and Chromium
# are installed, tests/browser/check-report.js --time-loads opens the
# default report's index.html and neurons.html that many times each in
# new tabs with the cache off: the median time from navigation to the end
# of the load event, every image decoded.
#
# Environment: BENCH_REPORT=0 skips this part (scripts/bench.sh),
# BENCH_REPORT_RUNS, BENCH_REPORT_THREADS, CHROMIUM (another browser).
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench-report.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
. scripts/bench-lib.sh   # timed, median, spread, machine
RUNS=${BENCH_REPORT_RUNS:-5}
T=${BENCH_REPORT_THREADS:-2}

echo
DATA="" KIND=""
for d in data/mnist ../shared/data/mnist /usr/share/datasets/fashion-mnist data/fashion; do
    if [ -z "$DATA" ] && [ -e "$d/t10k-images-idx3-ubyte.gz" ] && [ -e "$d/train-images-idx3-ubyte.gz" ]; then
        DATA=$d KIND=MNIST
        case $d in *fashion*) KIND=Fashion-MNIST ;; esac
    fi
done
if [ -z "$DATA" ]; then
    echo "report: skipped: no MNIST or Fashion-MNIST test set here (make data)"
    exit 0
fi
[ "$KIND" = MNIST ] || echo "report: real MNIST not found (make data): timing on $KIND instead"

make -s digitlens
./digitlens train --data "$DATA" --epochs 2 --threads "$T" --quiet --out "$TMP/m.dlm"
acc=$(./digitlens test --model "$TMP/m.dlm" --data "$DATA" --json |
      sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p' | awk '{ printf "%.2f%%", 100 * $1 }')
echo "report of a 784-100-10 model (2 epochs, test accuracy $acc) on the $KIND test images in $DATA,"
echo "  $T threads, $RUNS runs each, taking turns; wall and CPU seconds of the whole process"
echo "machine: $(machine)"

REPORT=(./digitlens report --model "$TMP/m.dlm" --data "$DATA" --threads "$T" --quiet)
w0=() c0=() wm=() cm=()
for _ in $(seq "$RUNS"); do
    rm -rf "$TMP/r0" "$TMP/rm"
    read -r w c < <(timed "${REPORT[@]}" --maps 0 --out "$TMP/r0"); w0+=("$w"); c0+=("$c")
    read -r w c < <(timed "${REPORT[@]}" --out "$TMP/rm"); wm+=("$w"); cm+=("$c")
    [ -s "$TMP/r0/index.html" ] && [ -s "$TMP/rm/index.html" ] || { echo "digitlens: bench: report wrote no index.html" >&2; exit 1; }
done
files=$(find "$TMP/rm" -type f | wc -l)
mb=$(du -sm "$TMP/rm" | cut -f1)
printf '  digitlens report --maps 0: wall %s s median (%s), CPU %.2f s median\n' \
    "$(median "${w0[@]}")" "$(spread "${w0[@]}")" "$(median "${c0[@]}")"
printf '  digitlens report (maps of 2,000 images, the default; %s files, %s MB): wall %s s median (%s), CPU %.2f s median\n' \
    "$files" "$mb" "$(median "${wm[@]}")" "$(spread "${wm[@]}")" "$(median "${cm[@]}")"
echo "  load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# The pages' load times, in the browser the tests use.
if ! command -v node >/dev/null; then
    echo "  page loads: skipped: node is not installed (apt-get install nodejs)"
    exit 0
fi
exe=""
for p in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
    if [ -z "$exe" ] && [ -n "$p" ] && [ -x "$p" ]; then exe=$p; fi
done
if [ -z "$exe" ]; then
    echo "  page loads: skipped: chromium is not installed (apt-get install chromium)"
    exit 0
fi
rc=0
CHROMIUM=$exe node tests/browser/check-report.js "$TMP/rm" --time-loads "$RUNS" >"$TMP/browser.out" 2>&1 || rc=$?
if [ "$rc" != 0 ] || ! grep -q '^# load-ms ' "$TMP/browser.out"; then
    echo "  page loads: the browser check did not finish cleanly (exit $rc): $(grep -m3 -E '^not ok|Error' "$TMP/browser.out" | tr '\n' ' ')"
    exit 0
fi
version=$("$exe" --version 2>/dev/null | head -1 | sed 's/ built on.*//')
echo "  pages of the default report in headless ${version:-$exe}, each opened $RUNS times in a new tab, cache off:"
images=$(sed -n 's/^# index.html: \([0-9]*\) images.*/\1/p' "$TMP/browser.out")
cards=$(sed -n 's/^# neurons.html: \([0-9]*\) card images.*/\1/p' "$TMP/browser.out")
for page in index.html neurons.html; do
    read -r -a ms <<<"$(sed -n "s/^# load-ms $page: //p" "$TMP/browser.out")"
    what="$images images"
    [ "$page" = neurons.html ] && what="$cards card images"
    printf '    %-12s (%s): %s ms median from navigation to the end of the load event (%s; %d loads)\n' \
        "$page" "$what" "$(median "${ms[@]}")" "$(spread "${ms[@]}")" "${#ms[@]}"
done
echo "  load average after the loads: $(cut -d' ' -f1-3 /proc/loadavg)"
