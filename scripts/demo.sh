#!/usr/bin/env bash
# demo.sh — the main job `make demo` runs after building and getting data:
# train the book's 784→100→10 network, test it, and draw what it learned
# into out/.  Uses data/mnist (filled by `make data`).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/mnist}
OUT=${OUT:-out}
EPOCHS=${EPOCHS:-30}
mkdir -p "$OUT"
T10K=$(ls "$DATA"/t10k-images-idx3-ubyte* | head -1)

echo "== train 784-100-10 (quadratic cost, batch 10, eta 3.0, $EPOCHS epochs)"
./digitlens train --data "$DATA" --layers 784,100,10 --epochs "$EPOCHS" --batch 10 --eta 3.0 --seed 1 --out "$OUT/mnist.dlm"
echo "== test"
./digitlens test --model "$OUT/mnist.dlm" --data "$DATA"
echo "== classify the first three test digits"
./digitlens classify --model "$OUT/mnist.dlm" --images "$T10K" --labels "${T10K/images-idx3/labels-idx1}" --index 0-2
echo "== pictures"
./digitlens weights --model "$OUT/mnist.dlm" --out "$OUT/weights"
./digitlens weights --model "$OUT/mnist.dlm" --out "$OUT/weights-delta" --delta
./digitlens heatmap --model "$OUT/mnist.dlm" --images "$T10K" --index 0 --class 7 --out "$OUT/heatmap-7.png"
./digitlens activations --model "$OUT/mnist.dlm" --images "$T10K" --index 0 --out "$OUT/activations.png"
./digitlens templates --model "$OUT/mnist.dlm" --out "$OUT/templates" --data "$DATA"
./digitlens contributions --model "$OUT/mnist.dlm" --images "$T10K" --index 18 --out "$OUT/why-3.png"
echo "== the 0-vs-1 network (784-1-2)"
./digitlens train --data "$DATA" --layers 784,1,2 --digits 0,1 --epochs 3 --quiet --out "$OUT/zero-one.dlm"
./digitlens test --model "$OUT/zero-one.dlm" --data "$DATA" | head -1
./digitlens weights --model "$OUT/zero-one.dlm" --out "$OUT/zero-one"
echo "== done: pictures in $OUT/ (weights/grid.png, heatmap-7.png, activations.png, templates/, why-3.png)"
