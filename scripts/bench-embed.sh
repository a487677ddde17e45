#!/usr/bin/env bash
# bench-embed.sh — the embed part of `make bench`: digitlens's t-SNE and PCA
# next to scikit-learn's TSNE on the same vectors, in one run.
#
# Vectors: the 10,000 MNIST test images as pixels (784-d, 0..1) and as the
# activations of the hidden layer of a 784-100-10 model trained here
# (`digitlens train`, BENCH_EMBED_EPOCHS epochs, default 30).  MNIST from
# data/mnist or ../shared/data/mnist, else Fashion-MNIST's test set; with
# neither, the part is skipped with a message.
#
# For each space: scikit-learn's TSNE (Barnes-Hut, angle 0.5, perplexity 30,
# 1000 iterations, PCA start, learning rate "auto", n_jobs and
# OMP_NUM_THREADS = 2), then digitlens's (the same settings, 2 threads);
# both maps' trustworthiness (k = 10) is measured by digitlens's function
# (tests/cli/test_embed.sh checks it against scikit-learn's); then the
# median PCA time of 5 fits.  Without scikit-learn only digitlens runs.
#
# Environment: BENCH_EMBED=0 skips this part; BENCH_EMBED_LIMIT=N maps the
# first N images only; BENCH_EMBED_THREADS (default 2); BENCH_EMBED_EPOCHS.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BENCH_EMBED:-1}" = 0 ]; then echo "embed: skipped (BENCH_EMBED=0)"; exit 0; fi
CC=${CC:-cc}
ARCH="-march=native"
[ "${PORTABLE:-0}" = 1 ] && ARCH=""
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
T=${BENCH_EMBED_THREADS:-2}
LIMIT=${BENCH_EMBED_LIMIT:-0}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench-embed.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

DATA="" KIND=""
for d in data/mnist ../shared/data/mnist; do
    if [ -z "$DATA" ] && [ -e "$d/t10k-images-idx3-ubyte.gz" ] && [ -e "$d/train-images-idx3-ubyte.gz" ]; then
        DATA=$d KIND="MNIST"
    fi
done
for d in /usr/share/datasets/fashion-mnist data/fashion; do
    if [ -z "$DATA" ] && [ -e "$d/t10k-images-idx3-ubyte.gz" ] && [ -e "$d/train-images-idx3-ubyte.gz" ]; then
        DATA=$d KIND="Fashion-MNIST"
    fi
done
if [ -z "$DATA" ]; then
    echo "embed: skipped: no MNIST or Fashion-MNIST test set here (make data)"
    exit 0
fi

make -s build/libdigitlens.a digitlens
# shellcheck disable=SC2086
$CC -Iinclude -D_POSIX_C_SOURCE=200809L -O3 $ARCH -g -std=c11 $WARN -fno-math-errno \
    bench/bench_embed.c build/libdigitlens.a -lstb -lz -lm -lpthread -ldl -o build/bench_embed

SK=""
for p in /usr/bin/python3 python3; do
    if [ -z "$SK" ] && command -v "$p" >/dev/null && "$p" -c "import sklearn.manifold" 2>/dev/null; then SK=$p; fi
done

echo
echo "t-SNE and PCA of the $KIND test images ($DATA), perplexity 30, 1000 iterations, $T threads"
./digitlens train --data "$DATA" --epochs "${BENCH_EMBED_EPOCHS:-30}" --threads "$T" --quiet --out "$TMP/m.dlm"
acc=$(./digitlens test --model "$TMP/m.dlm" --data "$DATA" --json | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p')
build/bench_embed dump "$DATA/t10k-images-idx3-ubyte.gz" "$TMP/m.dlm" "$TMP" "$LIMIT" >"$TMP/shapes"
n=$(head -1 "$TMP/shapes" | cut -d' ' -f2)
echo "vectors: $n images as pixels (784-d) and as the hidden layer (100-d) of a 784-100-10 model"
echo "         trained here (${BENCH_EMBED_EPOCHS:-30} epochs, test accuracy $acc)"
if [ -n "$SK" ]; then
    echo "scikit-learn: $("$SK" -c 'import sklearn; print(sklearn.__version__)') ($SK), TSNE(method='barnes_hut', angle=0.5, init='pca', learning_rate='auto', n_jobs=$T), OMP_NUM_THREADS=$T"
else
    echo "scikit-learn: not installed (apt-get install python3-sklearn): digitlens alone"
fi
echo

val() { sed -n "s/^$1 //p" "$2"; }
printf '  %-8s %5s %12s %11s %8s %13s %11s %11s %9s\n' space dims "sklearn (s)" "digitlens" "speed-up" "trust sklearn" "trust ours" "KL sk/ours" "PCA (s)"
while read -r name _ dims; do
    vec=$TMP/$name.f32
    sk_s="-" sk_kl="-" other=()
    if [ -n "$SK" ]; then
        "$SK" bench/tsne_sklearn.py "$vec" "$dims" "$TMP/$name.sk.f32" --threads "$T" >"$TMP/$name.sk"
        sk_s=$(val sklearn_seconds "$TMP/$name.sk")
        sk_kl=$(val sklearn_kl "$TMP/$name.sk")
        other=(--other "$TMP/$name.sk.f32")
    fi
    build/bench_embed run "$vec" "$dims" --threads "$T" "${other[@]}" >"$TMP/$name.dl"
    dl_s=$(val tsne_seconds "$TMP/$name.dl")
    ratio="-" tsk="-"
    if [ -n "$SK" ]; then
        ratio=$(awk -v a="$sk_s" -v b="$dl_s" 'BEGIN { printf "%.1fx", a / b }')
        tsk=$(val trust_other "$TMP/$name.dl")
    fi
    printf '  %-8s %5s %12s %11s %8s %13s %11s %11s %9s\n' "$name" "$dims" "$sk_s" "$dl_s" "$ratio" "$tsk" \
        "$(val trust "$TMP/$name.dl")" "$sk_kl/$(val tsne_kl "$TMP/$name.dl")" "$(val pca_seconds "$TMP/$name.dl")"
    echo "           digitlens: neighbours $(val tsne_knn_seconds "$TMP/$name.dl") s, affinities $(val tsne_affinity_seconds "$TMP/$name.dl") s, optimisation $(val tsne_optimise_seconds "$TMP/$name.dl") s"
done < <(tac "$TMP/shapes")
echo "  (seconds: wall time of one fit each, neighbour search included; trust: trustworthiness at k = 10,"
echo "   both maps measured by digitlens; PCA: median of 5 fits of 2 components, covariance + LAPACK dsyevr)"
