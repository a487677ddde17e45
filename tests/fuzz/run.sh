#!/usr/bin/env bash
# run.sh — runs each libFuzzer harness for SECONDS and prints one line per
# harness: "PASS fuzz_NAME: E execs in S s (R/s), corpus C, peak RSS M MB"
# or "FAIL fuzz_NAME: <what libFuzzer reported>, input saved in <file>".
#     tests/fuzz/run.sh [SECONDS [NAME...]]     (default 60; every harness)
# Expects `make fuzz-build` to have run (make fuzz does both).
#
# Each harness keeps its corpus in build/fuzz/corpus/NAME (grown across
# runs) and starts from the generated seeds in build/fuzz/seeds/NAME (when
# mkseeds makes any for it).  Every tests/fuzz/fuzz_NAME.c is a harness;
# one also built with MemorySanitizer (build/fuzz/msan/fuzz_NAME, see the
# Makefile's FUZZ_MSAN) runs as NAME-msan, on the same corpus.
# Limits: an input that takes over 10 s is a hang; one allocation over
# 768 MB or a process over 1.5 GB (sanitizer bookkeeping included) is an
# out-of-memory finding.  Exit status: 0 when every harness ran clean.
set -u
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
names=("$@")
dir=build/fuzz
if [ ${#names[@]} = 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do
    n=$(basename "$src" .c)
    n=${n#fuzz_}
    names+=("$n")
    [ -x "$dir/msan/fuzz_$n" ] && names+=("$n-msan")
  done
fi
rm -rf "$dir/seeds"
build/mkseeds "$dir/seeds" || { echo "FAIL fuzz_seeds: mkseeds failed"; exit 1; }
mkdir -p "$dir/crashes"
bad=0
for n in "${names[@]}"; do
  base=${n%-msan}
  bin=$dir/fuzz_$base
  [ "$n" != "$base" ] && bin=$dir/msan/fuzz_$base
  if [ ! -x "$bin" ]; then
    echo "FAIL fuzz_$n: $bin is not built (run make fuzz-build)"
    bad=1
    continue
  fi
  mkdir -p "$dir/corpus/$base"
  dirs=("$dir/corpus/$base")
  [ -d "$dir/seeds/$base" ] && dirs+=("$dir/seeds/$base")
  log=$dir/$n.log
  # MemorySanitizer's shadow memory counts in the RSS; its allocations do not grow.
  rss_limit=1536
  [ "$n" != "$base" ] && rss_limit=2560
  "$bin" -max_total_time="$secs" -timeout=10 -malloc_limit_mb=768 -rss_limit_mb=$rss_limit \
    -print_final_stats=1 -artifact_prefix="$dir/crashes/$n-" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  execs=$(grep -a "stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
  rss=$(grep -a "stat::peak_rss_mb" "$log" | awk '{print $2}' | tail -1)
  corpus=$(ls "$dir/corpus/$base" | wc -l)
  if [ "$rc" = 0 ] && ! grep -aq "ERROR: \|runtime error\|==ERROR" "$log"; then
    rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
    echo "PASS fuzz_$n: ${execs:-?} execs in $secs s (${rate}/s), corpus $corpus, peak RSS ${rss:-?} MB"
  else
    what=$(grep -aE "ERROR: |runtime error|SUMMARY:" "$log" | head -2 | tr '\n' ' ')
    art=$(grep -ao "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
    echo "FAIL fuzz_$n: ${what:-exit $rc} input saved in ${art:-?} (log $log)"
    bad=1
  fi
done
exit $bad
