#!/usr/bin/env bash
# bench.sh — `make bench`: how fast digitlens trains and classifies here.
#
# Prints, for the reference and the fast kernel with 1 and 2 threads, the
# seconds per 60,000-image epoch of 784-100-10 SGD (batch 10): median, min
# and max over several epochs (the reference, being slow, runs once), images
# per second and effective GFLOP/s; then evaluation of the 10,000 test
# images, the peak memory of a real `digitlens train` run, and the latency
# of one `digitlens classify` process.
#
# Data, in order of preference: Fashion-MNIST (/usr/share/datasets/
# fashion-mnist or data/fashion), MNIST (data/mnist or ../shared/data/mnist;
# a 10,000-image training set is scaled to per-60,000 figures and the
# output says so), else synthetic images of the same shape and sparsity.
#
# Environment: BENCH_EPOCHS (fast-kernel epochs per configuration, default
# 7), BENCH_REF_EPOCHS (default 1; 0 skips the reference), CC, PORTABLE.
# The bench program is built here with the Makefile's flags; the Makefile
# itself has built ./digitlens and build/libdigitlens.a (`make bench`
# depends on `all`).
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${CC:-cc}
ARCH="-march=native"
[ "${PORTABLE:-0}" = 1 ] && ARCH=""
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
EPOCHS=${BENCH_EPOCHS:-7}
REF_EPOCHS=${BENCH_REF_EPOCHS:-1}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

make -s build/libdigitlens.a
# shellcheck disable=SC2086
$CC -Iinclude -D_POSIX_C_SOURCE=200809L -O3 $ARCH -g -std=c11 $WARN -fno-math-errno \
    bench/bench.c build/libdigitlens.a -lstb -lz -lm -lpthread -o build/bench

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
flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f' | tr '\n' ' ')
echo "digitlens benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $cpu (${flags% }), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build:   $($CC --version | head -1), -O3 ${ARCH:-(portable)}"
echo "data:    $KIND in $DATA"
echo

build/bench "$DATA" --epochs "$EPOCHS" --ref-epochs "$REF_EPOCHS"

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

# Latency of classifying one image: the whole process (load model and the
# test file, preprocess, forward pass, print), median of 15 runs.
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
[ -e "$IMAGES" ] || IMAGES=$DATA/t10k-images-idx3-ubyte
ts=()
for _ in $(seq 15); do
    t0=$(date +%s%N)
    ./digitlens classify --model "$MODEL" --images "$IMAGES" --index 0 > /dev/null
    t1=$(date +%s%N)
    ts+=($(( (t1 - t0) / 1000 )))
done
printf '%s\n' "${ts[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    printf "  digitlens classify --index 0 (whole process): %.1f ms median (min %.1f, max %.1f; %d runs)\n",
        v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, NR }'

# What snapshots cost training (scripts/bench-snapshots.sh; BENCH_SNAPSHOTS=0 skips it).
[ "${BENCH_SNAPSHOTS:-1}" = 0 ] || scripts/bench-snapshots.sh "$DATA"

# t-SNE and PCA next to scikit-learn's (scripts/bench-embed.sh; BENCH_EMBED=0 skips it).
scripts/bench-embed.sh
