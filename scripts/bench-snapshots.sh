#!/usr/bin/env bash
# bench-snapshots.sh — what `train --snapshot-every 100` costs: the same
# training run (784-100-10, batch 10, 2 threads) with and without
# snapshots, alternated so that all see the same machine load, PAIRS
# pairs (default 9: on a noisy machine 5 were too few); prints each
# side's median wall and CPU time of the
# whole process (and of a third run scoring 1,000 images a snapshot;
# on a shared machine the CPU time is the steadier
# figure), the ratios, and the size of the snapshot file.  The issue's
# budget is a ratio of at most 1.10.
#     scripts/bench-snapshots.sh DATA_DIR [EPOCHS]
# Called by `make bench` (scripts/bench.sh; BENCH_SNAPSHOTS=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$1
EPOCHS=${2:-2}
PAIRS=${BENCH_SNAPSHOT_PAIRS:-9}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench-snap.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
LOUD=(./digitlens train --data "$DATA" --layers 784,100,10 --epochs "$EPOCHS" --threads 2)
RUN=("${LOUD[@]}" --quiet)

. scripts/bench-lib.sh   # timed, median
pw=() pc=() sw=() sc=() tw=() tc=()
for _ in $(seq "$PAIRS"); do
    read -r w c < <(timed "${RUN[@]}" --out "$TMP/plain.dlm"); pw+=("$w"); pc+=("$c")
    read -r w c < <(timed "${RUN[@]}" --snapshot-every 100 --out "$TMP/snap.dlm"); sw+=("$w"); sc+=("$c")
    read -r w c < <(timed "${RUN[@]}" --snapshot-every 100 --snapshot-eval 1000 --out "$TMP/t.dlm"); tw+=("$w"); tc+=("$c")
done
# train's own account of the time its step hook took, over PAIRS more runs
inproc=()
for _ in $(seq "$PAIRS"); do
    "${LOUD[@]}" --snapshot-every 100 --out "$TMP/snap.dlm" 2>&1 >/dev/null |
        sed -nE 's/.*\(([0-9.]+)% on top of training alone\).*/\1/p' > "$TMP/p"
    inproc+=("$(cat "$TMP/p")")
done
bytes=$(stat -c %s "$TMP/snap.snapshots")
n=$(( (bytes - 76) / 318080 ))
cmp -s "$TMP/plain.dlm" "$TMP/snap.dlm" && same="identical" || same="DIFFERENT"
awk -v pw="$(median "${pw[@]}")" -v sw="$(median "${sw[@]}")" -v pc="$(median "${pc[@]}")" -v sc="$(median "${sc[@]}")" \
    -v tw="$(median "${tw[@]}")" -v tc="$(median "${tc[@]}")" -v ip="$(median "${inproc[@]}")" -v all="${inproc[*]}" \
    -v b="$bytes" -v n="$n" -v k="$PAIRS" -v e="$EPOCHS" -v same="$same" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    printf "  train --snapshot-every 100 (%d epochs, 784-100-10, 2 threads, %d alternating pairs, whole process, load %s):\n", e, k, load
    printf "    wall: without %.2f s, with %.2f s (medians), ratio %.3f; CPU: %.2f s and %.2f s, ratio %.3f (budget 1.10)\n",
        pw, sw, sw / pw, pc, sc, sc / pc
    printf "    %d snapshots (%d images scored each), %.1f MB; the models are %s\n", n, 100, b / 1e6, same
    printf "    --snapshot-eval 1000: wall %.2f s (ratio %.3f), CPU %.2f s (ratio %.3f)\n", tw, tw / pw, tc, tc / pc
    printf "    train'"'"'s own count of the time in its snapshot hook: %s%% on top of training alone (median of %d; %s)\n", ip, k, all }'
