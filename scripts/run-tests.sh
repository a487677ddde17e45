#!/usr/bin/env bash
# run-tests.sh — everything `make test` runs, ending with one summary line:
#   1. the unit tests (Criterion), optimised build
#   2. the same unit tests built with -fsanitize=address,undefined
#   3. a warning-free build with clang (-Werror), training the same bytes as gcc's
#   4. the command-line tests (tests/cli/test_*.sh: PASS/FAIL/SKIP lines, and
#      the "# ..." notes of what they measured: load times, update times)
#   5. each libFuzzer harness for FUZZ_TEST_SECONDS (default 20) seconds
#   6. a training + pictures run under valgrind (tests/valgrind/pipeline.sh),
#      which first checks that the kernels picked a variant valgrind runs
# and finally "N passed, M failed, K skipped".
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
JOBS=${JOBS:-2}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

note() { printf '\n== %s\n' "$*"; }

# Adds a Criterion run's counts: "Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C".
count_criterion() {
  local out=$1 line p f c s
  line=$(grep -a "Synthesis:" "$out" | tail -1)
  if [ -z "$line" ]; then
    echo "   (no Criterion summary: the test binary did not finish)"
    failed=$((failed + 1))
    return
  fi
  p=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
  f=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$line")
  c=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$line")
  s=$(grep -ac "\[SKIP\]" "$out" || true)
  passed=$((passed + p))
  failed=$((failed + f + c))
  skipped=$((skipped + s))
}

run_unit() { # name builddir [env...]
  local name=$1 dir=$2
  shift 2
  note "unit tests ($name)"
  env "$@" "$dir/unit-tests" --verbose=1 >"$log/$name.out" 2>&1
  grep -aE "\[SKIP\]|\[FAIL\]|FAIL|Synthesis|Assertion|error|ERROR|runtime error" "$log/$name.out" | grep -av "^\[----\].*Passing" | head -60
  count_criterion "$log/$name.out"
}

note "build (gcc, -O3)"
if make -s -j"$JOBS" unit-tests >"$log/build.out" 2>&1; then
  passed=$((passed + 1)); echo "PASS build"
  run_unit plain build
else
  cat "$log/build.out"; failed=$((failed + 1)); echo "FAIL build"
fi

note "build (-fsanitize=address,undefined)"
if make -s -j"$JOBS" BUILD=build/asan SAN=1 OPT="-O1" unit-tests >"$log/asan.out" 2>&1; then
  passed=$((passed + 1)); echo "PASS sanitizer build"
  run_unit sanitized build/asan DIGITLENS_FAST_TESTS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  cat "$log/asan.out"; failed=$((failed + 1)); echo "FAIL sanitizer build"
fi

note "build (clang, -Werror)"
if command -v clang >/dev/null; then
  if make -s -j"$JOBS" BUILD=build/clang CC=clang all >"$log/clang.out" 2>&1; then
    passed=$((passed + 1)); echo "PASS clang build"
    # Both compilers build the same numbers (-ffp-contract=off), so the same
    # run gives the same model bytes, in every kernel variant this CPU runs.
    make -s build/mkfixture >/dev/null 2>&1 && mkdir -p "$log/fx" && build/mkfixture "$log/fx" 300 28 >/dev/null
    same=1
    for v in $(./digitlens --version | sed -n 's/^this CPU runs: //p'); do
      for cc in gcc clang; do
        bin=./digitlens; [ $cc = clang ] && bin=build/clang/digitlens
        DIGITLENS_SIMD=$v $bin train --data "$log/fx" --layers 784,20,2 --epochs 2 --quiet --out "$log/$cc-$v.dlm" || same=0
      done
      cmp -s "$log/gcc-$v.dlm" "$log/clang-$v.dlm" || { same=0; echo "   $v: gcc and clang models differ"; }
    done
    if [ $same = 1 ]; then passed=$((passed + 1)); echo "PASS gcc_and_clang_train_the_same_bytes"
    else failed=$((failed + 1)); echo "FAIL gcc_and_clang_train_the_same_bytes"; fi
  else
    cat "$log/clang.out"; failed=$((failed + 1)); echo "FAIL clang build"
  fi
else
  skipped=$((skipped + 1)); echo "SKIP clang build: clang is not installed"
fi

for t in tests/cli/test_*.sh; do
  note "command line: $t"
  DIGITLENS="$PWD/digitlens" MKFIXTURE="$PWD/build/mkfixture" bash "$t" >"$log/cli.out" 2>&1
  rc=$?
  cat "$log/cli.out" | grep -aE "^(PASS|FAIL|SKIP|# )" | sed 's/^/   /'
  p=$(grep -ac "^PASS" "$log/cli.out" || true)
  f=$(grep -ac "^FAIL" "$log/cli.out" || true)
  s=$(grep -ac "^SKIP" "$log/cli.out" || true)
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    echo "   $t exited $rc without a FAIL line:"; tail -5 "$log/cli.out" | sed 's/^/   /'
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done

# Adds the PASS/FAIL/SKIP lines of a step's output file to the counts.
count_lines() {
  local out=$1 p f s
  grep -aE "^(PASS|FAIL|SKIP)" "$out" | sed 's/^/   /'
  p=$(grep -ac "^PASS" "$out" || true)
  f=$(grep -ac "^FAIL" "$out" || true)
  s=$(grep -ac "^SKIP" "$out" || true)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

# 5. Each libFuzzer harness (tests/fuzz/) for a short fixed budget, from the
# generated seeds plus the corpus earlier runs grew; a crash, hang, leak,
# sanitizer report or runaway allocation is one FAIL per harness.
FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-20}
note "fuzzing (libFuzzer, $FUZZ_TEST_SECONDS s per harness)"
if ! command -v clang >/dev/null ||
   ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
     clang -fsanitize=fuzzer -x c - -o "$log/fuzzprobe" >/dev/null 2>&1; then
  skipped=$((skipped + 1)); echo "SKIP fuzzing: clang with libFuzzer is not installed (libclang-rt-14-dev)"
elif make -s -j"$JOBS" fuzz-build >"$log/fuzzbuild.out" 2>&1; then
  passed=$((passed + 1)); echo "PASS fuzz build"
  tests/fuzz/run.sh "$FUZZ_TEST_SECONDS" >"$log/fuzz.out" 2>&1
  count_lines "$log/fuzz.out"
else
  tail -20 "$log/fuzzbuild.out"; failed=$((failed + 1)); echo "FAIL fuzz build"
fi

# 6. One training + pictures pipeline under valgrind's memcheck, with the
# binary users get: valgrind hides AVX-512 from the program, so the kernels'
# dispatch picks a variant valgrind can execute (the pipeline checks that it
# does first).
note "valgrind: train, test, pictures, classify, embed"
DIGITLENS="$PWD/digitlens" MKFIXTURE="$PWD/build/mkfixture" bash tests/valgrind/pipeline.sh >"$log/vg.out" 2>&1
rc=$?
count_lines "$log/vg.out"
if [ "$rc" != 0 ] && ! grep -aq "^FAIL" "$log/vg.out"; then
  echo "   valgrind pipeline exited $rc without a FAIL line"; failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
