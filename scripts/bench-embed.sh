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
# repeated BENCH_EMBED_REPEATS times, interleaved, and the medians compared;
# both first maps' trustworthiness (k = 10) is measured by digitlens's
# function (tests/cli/test_embed.sh checks it against scikit-learn's); and
# PCA: the median of 5 fits each, sklearn's exact PCA and digitlens's.
# Without scikit-learn only digitlens runs.
#
# Environment: BENCH_EMBED=0 skips this part; BENCH_EMBED_LIMIT=N maps the
# first N images only; BENCH_EMBED_THREADS (default 2); BENCH_EMBED_EPOCHS;
# BENCH_EMBED_REPEATS (t-SNE fits per library and space, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${BENCH_EMBED:-1}" = 0 ]; then echo "embed: skipped (BENCH_EMBED=0)"; exit 0; fi
CC=${CC:-cc}
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
T=${BENCH_EMBED_THREADS:-2}
LIMIT=${BENCH_EMBED_LIMIT:-0}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-bench-embed.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
. scripts/bench-lib.sh   # machine

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
$CC -Iinclude -D_POSIX_C_SOURCE=200809L -O3 -g -std=c11 $WARN -fno-math-errno \
    bench/bench_embed.c build/libdigitlens.a -lstb -lz -lm -lpthread -ldl -o build/bench_embed

SK=""
for p in /usr/bin/python3 python3; do
    if [ -z "$SK" ] && command -v "$p" >/dev/null && "$p" -c "import sklearn.manifold" 2>/dev/null; then SK=$p; fi
done

kunit=$(build/bench_embed vector-unit)
echo
echo "t-SNE and PCA of the $KIND test images ($DATA), perplexity 30, 1000 iterations, $T threads"
./digitlens train --data "$DATA" --epochs "${BENCH_EMBED_EPOCHS:-30}" --threads "$T" --quiet --out "$TMP/m.dlm"
acc=$(./digitlens test --model "$TMP/m.dlm" --data "$DATA" --json | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p')
build/bench_embed dump "$DATA/t10k-images-idx3-ubyte.gz" "$TMP/m.dlm" "$TMP" "$LIMIT" >"$TMP/shapes"
n=$(head -1 "$TMP/shapes" | cut -d' ' -f2)
echo "machine: $(machine)"
echo "build:   $($CC --version | head -1), the library as make built it; embed kernels: $kunit"
echo "vectors: $n images as pixels (784-d) and as the hidden layer (100-d) of a 784-100-10 model"
echo "         trained here (${BENCH_EMBED_EPOCHS:-30} epochs, test accuracy $acc)"
if [ -n "$SK" ]; then
    echo "scikit-learn: $("$SK" -c 'import sklearn; print(sklearn.__version__)') ($SK), TSNE(method='barnes_hut', angle=0.5, init='pca', learning_rate='auto', n_jobs=$T), OMP_NUM_THREADS=$T, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}"
else
    echo "scikit-learn: not installed (apt-get install python3-sklearn): digitlens alone"
fi
echo

val() { sed -n "s/^$1 //p" "$2"; }
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
R=${BENCH_EMBED_REPEATS:-3}
printf '  %-8s %5s %13s %13s %8s %13s %11s %13s\n' space dims "sklearn (s)" "digitlens (s)" "speed-up" "trust sklearn" "trust ours" "KL sk / ours"
pca_lines=()
while read -r name _ dims; do
    vec=$TMP/$name.f32
    sk=() dl=()
    # Interleaved, so both see the same machine load: sklearn, digitlens, sklearn, ...
    for rep in $(seq "$R"); do
        first=$([ "$rep" = 1 ] && echo 1 || echo 0)
        if [ -n "$SK" ]; then
            "$SK" bench/tsne_sklearn.py "$vec" "$dims" "$TMP/$name.sk.f32" --threads "$T" \
                --pca-runs $((first * 5)) >"$TMP/$name.sk.$rep"
            sk+=("$(val sklearn_seconds "$TMP/$name.sk.$rep")")
        fi
        other=()
        [ -n "$SK" ] && [ "$first" = 1 ] && other=(--other "$TMP/$name.sk.f32")
        build/bench_embed run "$vec" "$dims" --threads "$T" --trust "$first" --pca-runs $((first * 4 + 1)) \
            "${other[@]}" >"$TMP/$name.dl.$rep"
        dl+=("$(val tsne_seconds "$TMP/$name.dl.$rep")")
    done
    d1=$TMP/$name.dl.1 s1=$TMP/$name.sk.1
    dl_s=$(printf '%s\n' "${dl[@]}" | med)
    sk_s="-" sp="-" tsk="-" sk_kl="-"
    if [ -n "$SK" ]; then
        sk_s=$(printf '%s\n' "${sk[@]}" | med)
        sp=$(ratio "$sk_s" "$dl_s")
        tsk=$(val trust_other "$d1")
        sk_kl=$(val sklearn_kl "$s1")
    fi
    printf '  %-8s %5s %13s %13s %8s %13s %11s %13s\n' "$name" "$dims" "$sk_s" "$dl_s" "$sp" "$tsk" \
        "$(val trust "$d1")" "$sk_kl / $(val tsne_kl "$d1")"
    echo "           each run (s): sklearn ${sk[*]:-none}; digitlens ${dl[*]} (first: neighbours $(val tsne_knn_seconds "$d1"), affinities $(val tsne_affinity_seconds "$d1"), optimisation $(val tsne_optimise_seconds "$d1"))"
    dp=$(val pca_seconds "$d1")
    if [ -n "$SK" ]; then
        spca=$(val sklearn_pca_seconds "$s1")
        pca_lines+=("$(printf '  %-8s %5s %13s %13s %8s   explained PC1, PC2: sklearn %s, digitlens %s' "$name" "$dims" \
            "$spca" "$dp" "$(ratio "$spca" "$dp")" "$(val sklearn_pca_explained "$s1" | tr ' ' /)" \
            "$(val pca_explained "$d1" | tr ' ' /)")")
    else
        pca_lines+=("$(printf '  %-8s %5s %13s %13s %8s   explained PC1, PC2: digitlens %s' "$name" "$dims" - "$dp" - \
            "$(val pca_explained "$d1" | tr ' ' /)")")
    fi
done < <(tac "$TMP/shapes")
echo "  (t-SNE seconds: median of $R fits each, interleaved, neighbour search included; trust: trustworthiness"
echo "   at k = 10 of the first fits' maps, both measured by digitlens; KL: each library's own final KL(P || Q))"
echo
printf '  %-8s %5s %13s %13s %8s\n' "PCA" dims "sklearn (s)" "digitlens (s)" "speed-up"
printf '%s\n' "${pca_lines[@]}"
echo "  (PCA seconds: median of 5 fits of 2 components; sklearn: PCA(svd_solver='full'), an exact SVD;"
echo "   digitlens: covariance by its kernel + LAPACK dsyevr)"
