#!/usr/bin/env bash
# bench-snapshots.sh — what `train --snapshot-every 100` costs: the same
# training run (784-100-10, batch 10, 2 threads) with and without
# snapshots, alternated so that both see the same machine load, PAIRS
# pairs (default 5); prints each side's median wall time of the whole
# process, the ratio, and the size of the snapshot file.  The issue's
# budget is a ratio of at most 1.10.
#     scripts/bench-snapshots.sh DATA_DIR [EPOCHS]
# Called by `make bench` (scripts/bench.sh; BENCH_SNAPSHOTS=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$1
EPOCHS=${2:-2}
PAIRS=${BENCH_SNAPSHOT_PAIRS:-5}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench-snap.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
RUN=(./digitlens train --data "$DATA" --layers 784,100,10 --epochs "$EPOCHS" --threads 2 --quiet)

wall() { # command... : prints its wall time in microseconds
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
}
plain=() snap=()
for _ in $(seq "$PAIRS"); do
    plain+=("$(wall "${RUN[@]}" --out "$TMP/plain.dlm")")
    snap+=("$(wall "${RUN[@]}" --snapshot-every 100 --out "$TMP/snap.dlm")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mp=$(median "${plain[@]}") ms=$(median "${snap[@]}")
bytes=$(stat -c %s "$TMP/snap.snapshots")
n=$(( (bytes - 76) / 318080 ))
cmp -s "$TMP/plain.dlm" "$TMP/snap.dlm" && same="identical" || same="DIFFERENT"
awk -v p="$mp" -v s="$ms" -v b="$bytes" -v n="$n" -v k="$PAIRS" -v e="$EPOCHS" -v same="$same" 'BEGIN {
    printf "  train --snapshot-every 100 (%d epochs, 784-100-10, 2 threads, %d alternating pairs, whole process):\n", e, k
    printf "    without %.2f s, with %.2f s (medians): ratio %.3f (budget 1.10); %d snapshots, %.1f MB; models %s\n",
        p / 1e6, s / 1e6, s / p, n, b / 1e6, same }'
