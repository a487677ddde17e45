#!/usr/bin/env bash
# bench.sh — `make bench`: how fast digitlens trains and classifies here,
# side by side with a dense OpenBLAS trainer.
#
# Prints the CPU and its vector features, then (bench/bench.c) the seconds
# per 60,000-image epoch of 784-100-10 SGD (batch 10) for the BLAS trainer
# with 1 and 2 threads and digitlens's fast kernel in every SIMD variant
# this CPU runs with 1 and 2 threads, taking turns epoch by epoch (medians,
# min, max, and the speed-ups over the BLAS trainer at its best thread
# count); the reference kernel once; evaluation of the 10,000 test images
# against an OpenBLAS sgemm of the same first layer; on a CPU with
# AVX-512, training and evaluation again with OpenBLAS held to its AVX2
# kernel against digitlens's avx2 variant; then the peak memory
# of a real `digitlens train` run, the wall time of a 30-epoch one, and
# the latency of one `digitlens classify` process; then what snapshots
# cost (scripts/bench-snapshots.sh), the report's writing and page-load
# times (scripts/bench-report.sh), and t-SNE and PCA against scikit-learn
# (scripts/bench-embed.sh).
#
# Data, in order of preference: Fashion-MNIST (/usr/share/datasets/
# fashion-mnist or data/fashion), MNIST (data/mnist or ../shared/data/mnist;
# a 10,000-image training set is scaled to per-60,000 figures and the
# output says so), else synthetic images of the same shape and sparsity.
#
# Environment: BENCH_ROUNDS (epochs per configuration, default 7),
# BENCH_REF_EPOCHS (default 1; 0 skips the reference), BENCH_AVX2 (0 skips
# the AVX2-held comparison), BENCH_LONG (0 skips the 30-epoch run), CC.  The bench program is built here with the
# Makefile's warnings, against
# build/libdigitlens.a (which `make bench` has built) and OpenBLAS (for the
# BLAS trainer only; scripts/deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-cc}
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
ROUNDS=${BENCH_ROUNDS:-7}
REF_EPOCHS=${BENCH_REF_EPOCHS:-1}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if ! BLAS=$(pkg-config --cflags --libs openblas 2>/dev/null); then
  echo "digitlens: bench: OpenBLAS is not installed (sudo make deps, or apt-get install libopenblas-dev)" >&2
  exit 1
fi
make -s build/libdigitlens.a
# shellcheck disable=SC2086
$CC -Iinclude -D_POSIX_C_SOURCE=200809L -O3 -g -std=c11 $WARN -fno-math-errno \
    bench/bench.c bench/blas_trainer.c build/libdigitlens.a $BLAS -lstb -lz -lm -lpthread -o build/bench

have() { [ -e "$1/train-images-idx3-ubyte.gz" ] || [ -e "$1/train-images-idx3-ubyte" ]; }
DATA="" KIND=""
for d in /usr/share/datasets/fashion-mnist data/fashion; do
  if [ -z "$DATA" ] && have "$d"; then DATA=$d KIND="Fashion-MNIST"; fi
done
for d in data/mnist ../shared/data/mnist; do
  if [ -z "$DATA" ] && have "$d"; then DATA=$d KIND="MNIST"; fi
done
if [ -z "$DATA" ]; then
  DATA=$TMP/synthetic KIND="synthetic (no MNIST or Fashion-MNIST found)"
  mkdir -p "$DATA"
  build/bench --write-synthetic "$DATA"
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
        grep -xE 'sse2|avx|avx2|fma|avx512(f|bw|dq|vl|cd|_fp16|_bf16|_vnni)|amx_(tile|bf16|int8)' | tr '\n' ' ')
echo "digitlens benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $cpu"
echo "         vector features: ${flags% }"
echo "         load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build:   $($CC --version | head -1), -O3, portable (kernels chosen at run time)"
version=$(./digitlens --version)
echo "         $(sed -n 's/^kernels: /kernels by default: /p' <<<"$version")"
sed -n 's/^avx512 update: /         avx512 update: /p' <<<"$version"
echo "data:    $KIND in $DATA"
echo

build/bench "$DATA" --rounds "$ROUNDS" --ref-epochs "$REF_EPOCHS"
echo "  load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"

# On a CPU with AVX-512 both sides above use it.  A CPU without it (an
# AMD Zen 3, say) runs digitlens's avx2 variant against OpenBLAS's AVX2
# kernel, so that pairing is measured here too, on these cores:
# OPENBLAS_CORETYPE=Haswell holds OpenBLAS (a DYNAMIC_ARCH build, as
# Debian's) to the kernel it picks for such CPUs.  A stand-in for such a
# machine, not one: its caches and units are not these.  BENCH_AVX2=0
# skips it.
if [ "${BENCH_AVX2:-1}" != 0 ] && grep -qw avx512f /proc/cpuinfo; then
  echo
  echo "held to AVX2 on both sides, as on a CPU without AVX-512: OpenBLAS's Haswell kernel"
  echo "(OPENBLAS_CORETYPE=Haswell) against digitlens's avx2 variant"
  OPENBLAS_CORETYPE=Haswell build/bench "$DATA" --rounds "$ROUNDS" --ref-epochs 0 --simd avx2 > "$TMP/avx2.txt"
  if ! grep -q '; kernel Haswell$' "$TMP/avx2.txt"; then
    echo "  (skipped: this OpenBLAS does not switch kernels: $(sed -n 's/^OpenBLAS: //p' "$TMP/avx2.txt"))"
  else
    # The header lines were printed above; from the table on.
    sed -n '/^training:/,$p' "$TMP/avx2.txt" | grep -v 'peak RSS'
  fi
  echo "  load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

# Peak memory of the real command on the full training set (fast kernel,
# 2 threads, one epoch, test set scored), and the model for classify.
echo
MODEL=$TMP/bench.dlm
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v ./digitlens train --data "$DATA" --epochs 1 --threads 2 --quiet --out "$MODEL" \
    2> "$TMP/time.txt"
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time.txt")
  wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$TMP/time.txt")
  awk -v r="$rss" -v w="$wall" \
    'BEGIN { printf "  digitlens train (1 epoch, 2 threads, whole process): peak RSS %.1f MB, wall %s\n", r / 1024, w }'
else
  ./digitlens train --data "$DATA" --epochs 1 --threads 2 --quiet --out "$MODEL"
  echo "  (/usr/bin/time not installed: no peak RSS for the command)"
fi

# Nielsen's whole run, 30 epochs (the default), 2 threads, whole process:
# a sigmoid net that saturates makes subnormal floats, which cost x86
# cores a microcode assist each unless the kernel flushes them (src/fpmode.h),
# so the last epochs would show it.  BENCH_LONG=0 skips it.
if [ "${BENCH_LONG:-1}" != 0 ]; then
  t0=$(date +%s%N)
  # (train reports each epoch on stderr)
  if ! ./digitlens train --data "$DATA" --epochs 30 --threads 2 --out "$TMP/long.dlm" > "$TMP/long.txt" 2>&1; then
    cat "$TMP/long.txt" >&2
    exit 1
  fi
  t1=$(date +%s%N)
  awk -v ms=$(( (t1 - t0) / 1000000 )) '
    # "epoch N/30 ... 93 ms" or "... 1.3 s": the epoch time in ms
    /^epoch / { e[++n] = $NF == "ms" ? $(NF - 1) : $(NF - 1) * 1000 }
    END {
      if (n < 30) { print "digitlens: bench: the 30-epoch run printed " n " epochs" > "/dev/stderr"; exit 1 }
      m = 0; for (i = 21; i <= 30; i++) m += e[i]
      printf "  digitlens train (30 epochs, 2 threads, whole process): wall %.2f s; epoch 1 %d ms, epochs 21-30 %.0f ms on average\n",
        ms / 1000, e[1], m / 10 }' "$TMP/long.txt"
fi

# Latency of classifying one image of the test file: the whole process
# (load the model, read the file up to that image, preprocess, forward
# pass, print), median of 15 runs; index 0 and the last index.
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
[ -e "$IMAGES" ] || IMAGES=$DATA/t10k-images-idx3-ubyte
for index in 0 9999; do
  ts=()
  for _ in $(seq 15); do
    t0=$(date +%s%N)
    ./digitlens classify --model "$MODEL" --images "$IMAGES" --index $index > /dev/null
    t1=$(date +%s%N)
    ts+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk -v i=$index '{ v[NR] = $1 } END {
    printf "  digitlens classify --index %d (whole process): %.1f ms median (min %.1f, max %.1f; %d runs)\n",
      i, v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, NR }'
done

# What snapshots cost training (scripts/bench-snapshots.sh; BENCH_SNAPSHOTS=0 skips it).
[ "${BENCH_SNAPSHOTS:-1}" = 0 ] || scripts/bench-snapshots.sh "$DATA"

# The report written and its pages loaded (scripts/bench-report.sh; BENCH_REPORT=0 skips it).
[ "${BENCH_REPORT:-1}" = 0 ] || scripts/bench-report.sh

# t-SNE and PCA next to scikit-learn's (scripts/bench-embed.sh; BENCH_EMBED=0 skips it).
scripts/bench-embed.sh
