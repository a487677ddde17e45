# test_pictures.sh — the picture commands and image-file classification,
# end to end: files written, names, exit codes, and agreement between
# classifying an IDX entry and the same digit saved as a PNG.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"$DL" train --data "$FIX" --layers 784,6,2 --epochs 2 --quiet --out "$TMP/m.dlm" || { fail train "no model"; finish; }
IMG=$FIX/t10k-images-idx3-ubyte.gz

run "$DL" weights --model "$TMP/m.dlm" --out "$TMP/w"
files=$(cd "$TMP/w" 2>/dev/null && ls | tr '\n' ' ')
[ "$RC" = 0 ] && [ "$files" = "grid.png neuron-000.png neuron-001.png neuron-002.png neuron-003.png neuron-004.png neuron-005.png " ] \
  && pass weights_writes_one_png_per_neuron_and_a_grid || fail weights_writes_one_png_per_neuron_and_a_grid "rc $RC: $files $ERR"
head -c 8 "$TMP/w/grid.png" | od -An -c | grep -q "P   N   G" && pass weights_are_png || fail weights_are_png "not a PNG"
run "$DL" weights --model "$TMP/m.dlm" --out "$TMP/w2" --layer 2 --delta --shared-scale
[ "$RC" = 0 ] && [ -s "$TMP/w2/neuron-001.png" ] && pass weights_of_the_output_layer_with_delta || fail weights_of_the_output_layer_with_delta "$ERR"
expect_fail weights_neuron_out_of_range 2 "^digitlens: weights: --neuron 6 is out of range \(layer 1 has neurons 0..5\)$" \
  "$DL" weights --model "$TMP/m.dlm" --out "$TMP/w3" --neuron 6
expect_fail weights_output_neuron_out_of_range 2 "^digitlens: weights: --neuron 2 is out of range \(layer 2 has neurons 0..1\)$" \
  "$DL" weights --model "$TMP/m.dlm" --out "$TMP/w3" --layer 2 --neuron 2
expect_fail weights_layer_out_of_range 2 "^digitlens: weights: --layer 3 is out of range \(hidden layers are 1..1, the output layer is 2\)$" \
  "$DL" weights --model "$TMP/m.dlm" --out "$TMP/w3" --layer 3
"$DL" train --data "$FIX" --layers 784,2 --epochs 1 --quiet --out "$TMP/flat.dlm"
expect_fail weights_layer_out_of_range_without_hidden_layers 2 \
  "^digitlens: weights: --layer 2 is out of range \(this network has no hidden layer; the output layer is 1\)$" \
  "$DL" weights --model "$TMP/flat.dlm" --out "$TMP/w3" --layer 2
[ ! -e "$TMP/w3" ] && pass a_refused_weights_writes_nothing || fail a_refused_weights_writes_nothing "$(ls "$TMP/w3")"

run "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --index 3 --neuron 2 --out "$TMP/h.png"
[ "$RC" = 0 ] && [ -s "$TMP/h.png" ] && pass heatmap_for_a_neuron || fail heatmap_for_a_neuron "$ERR"
run "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --index 3 --class 1 --rank 2 --out "$TMP/h2.png"
[ "$RC" = 0 ] && grep -q "class 1: hidden neuron" <<<"$OUT" && pass heatmap_for_a_class || fail heatmap_for_a_class "$OUT $ERR"
expect_fail heatmap_needs_one_input 2 "either an IMAGE file or --images" "$DL" heatmap --model "$TMP/m.dlm" --neuron 1 --out "$TMP/x.png"
expect_fail heatmap_needs_neuron_or_class 2 "either --neuron N or --class C" "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --out "$TMP/x.png"
expect_fail heatmap_index_out_of_range 2 "--index 999 is out of range" "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --index 999 --neuron 1 --out "$TMP/x.png"
expect_fail heatmap_neuron_out_of_range 2 "^digitlens: heatmap: --neuron 6 is out of range \(layer 1 has neurons 0..5\)$" \
  "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --index 3 --neuron 6 --out "$TMP/x.png"

run "$DL" activations --model "$TMP/m.dlm" --images "$IMG" --index 0 --out "$TMP/a.png"
[ "$RC" = 0 ] && [ -s "$TMP/a.png" ] && pass activations_picture || fail activations_picture "$ERR"
run "$DL" templates --model "$TMP/m.dlm" --out "$TMP/t" --data "$FIX"
[ "$RC" = 0 ] && [ -s "$TMP/t/templates.png" ] && [ -s "$TMP/t/saliency.png" ] && pass templates_and_saliency || fail templates_and_saliency "$ERR"
[ ! -e "$TMP/x.png" ] && pass failed_pictures_write_nothing || fail failed_pictures_write_nothing "x.png exists"

# --- image files ------------------------------------------------------------
mkdir -p "$TMP/png"
"${MKFIXTURE:-build/mkfixture}" --png "$TMP/png" "$IMG" 20
run "$DL" classify --model "$TMP/m.dlm" --json --save-preprocessed "$TMP/pre" "$TMP"/png/*.png
n=$(grep -c '"file":' <<<"$OUT")
[ "$RC" = 0 ] && [ "$n" = 20 ] && pass classify_image_files_json || fail classify_image_files_json "rc $RC n $n $ERR"
[ -s "$TMP/pre/00000.png.28x28.png" ] && pass save_preprocessed_writes_28x28 || fail save_preprocessed_writes_28x28 "missing"
printf 'P5\n8 8\n255\n' >"$TMP/blank.pgm"; head -c 64 /dev/zero | tr '\0' '\377' >>"$TMP/blank.pgm"
expect_fail blank_image_is_refused 1 "no ink" "$DL" classify --model "$TMP/m.dlm" "$TMP/blank.pgm"
expect_fail missing_image_file 1 "nope.png: No such file" "$DL" classify --model "$TMP/m.dlm" "$TMP/nope.png"

MN=${DIGITLENS_SHARED_MNIST:-$(dirname "$0")/../../../shared/data/mnist}
if [ -f "$MN/t10k-images-idx3-ubyte.gz" ]; then
  "$DL" train --data "$MN" --epochs 2 --quiet --out "$TMP/real.dlm"
  mkdir -p "$TMP/real"
  "${MKFIXTURE:-build/mkfixture}" --png "$TMP/real" "$MN/t10k-images-idx3-ubyte.gz" 1000
  "$DL" classify --model "$TMP/real.dlm" --json "$TMP"/real/*.png | grep -o '"digit":[0-9]' >"$TMP/by_file"
  "$DL" classify --model "$TMP/real.dlm" --json --images "$MN/t10k-images-idx3-ubyte.gz" --index 0-999 | grep -o '"digit":[0-9]' >"$TMP/by_index"
  same=$(paste -d' ' "$TMP/by_file" "$TMP/by_index" | awk '$1 == $2' | wc -l)
  [ "$same" -ge 990 ] && pass "png_and_idx_classification_agree_${same}_of_1000" || fail png_and_idx_classification_agree "$same of 1000"
else
  skip png_and_idx_classification_agree "real MNIST not found at $MN"
fi
finish
