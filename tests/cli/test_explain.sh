# test_explain.sh — explain, neuron and maximize end to end: files written,
# summaries, JSON, exit codes and messages, on a small two-class fixture
# whose answer is known (class 0 has its ink on the left half, class 1 on
# the right half).
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"$DL" train --data "$FIX" --layers 784,6,2 --epochs 3 --quiet --out "$TMP/m.dlm" || { fail train "no model"; finish; }
IMG=$FIX/t10k-images-idx3-ubyte.gz
M=$TMP/m.dlm

# --- explain ---------------------------------------------------------------
run "$DL" explain --model "$M" --images "$IMG" --index 0 --method all --out "$TMP/all.png"
n=$(grep -cE "^  (gradient|input-x-gradient|integrated-gradients|lrp|occlusion) " <<<"$OUT")
[ "$RC" = 0 ] && [ "$n" = 5 ] && [ -s "$TMP/all.png" ] && pass explain_all_writes_a_png_and_five_summaries \
  || fail explain_all_writes_a_png_and_five_summaries "rc $RC n $n: $OUT $ERR"
grep -q "completeness gap" <<<"$OUT" && grep -q "biases" <<<"$OUT" \
  && pass explain_reports_ig_gap_and_lrp_bias_share || fail explain_reports_ig_gap_and_lrp_bias_share "$OUT"
head -c 8 "$TMP/all.png" | od -An -c | grep -q "P   N   G" && pass explain_png_is_png || fail explain_png_is_png "not a PNG"

run "$DL" explain --model "$M" --images "$IMG" --index 0 --method all --json
n=$(grep -c '^{"method":' <<<"$OUT")
[ "$RC" = 0 ] && [ "$n" = 5 ] && pass explain_json_one_object_per_method_per_line \
  || fail explain_json_one_object_per_method_per_line "rc $RC, $n lines: $ERR"
if command -v jq >/dev/null; then
  shape=$(head -1 <<<"$OUT" | jq -c '[(.attribution | length), (.attribution[0] | length)]')
  [ "$shape" = "[28,28]" ] && pass explain_json_attribution_is_28x28 || fail explain_json_attribution_is_28x28 "$shape"
  # The fixture's answer: for an image of class 0 (ink on the left), the
  # integrated gradients of output 0 sit on the left half.
  # (an image the model puts in class 0)
  i0=$("$DL" classify --model "$M" --images "$IMG" --index 0-19 --json | jq -r 'select(.digit == 0) | .index' | head -1)
  if [ -n "$i0" ]; then
    run "$DL" explain --model "$M" --images "$IMG" --index "$i0" --method integrated-gradients --class 0 --steps 256 --json
    ok=$(jq -r '([.attribution[][0:14][]] | add) > 4 * ([.attribution[][14:28][] | fabs] | add)' <<<"$OUT")
    gap=$(jq -r '(.completeness_gap | fabs) <= 0.01 * ((.output - .baseline_output) | fabs)' <<<"$OUT")
    [ "$ok" = true ] && pass ig_of_a_left_ink_image_lies_on_the_left || fail ig_of_a_left_ink_image_lies_on_the_left "$(head -c 300 <<<"$OUT")"
    [ "$gap" = true ] && pass ig_completeness_within_1_percent_at_256_steps || fail ig_completeness_within_1_percent_at_256_steps "$(jq -c '{output,baseline_output,completeness_gap}' <<<"$OUT")"
  else
    fail ig_of_a_left_ink_image_lies_on_the_left "no image classified 0 among the first 20"
  fi
  run "$DL" explain --model "$M" --images "$IMG" --index 0 --method lrp --epsilon 0.000001 --json
  cons=$(jq -r '((.sum + .bias_relevance) - .output | fabs) <= 0.001 * .output' <<<"$OUT")
  [ "$cons" = true ] && pass lrp_json_conserves_relevance || fail lrp_json_conserves_relevance "$(jq -c '{output,sum,bias_relevance,epsilon_relevance}' <<<"$OUT")"
else
  skip explain_json_attribution_is_28x28 "jq is not installed"
fi

run "$DL" explain --model "$M" --images "$IMG" --index 2 --method occlusion --patch 7 --stride 7 --class 1 --out "$TMP/occ.png"
[ "$RC" = 0 ] && grep -q "explaining output 1" <<<"$OUT" && [ -s "$TMP/occ.png" ] \
  && pass explain_one_method_for_a_chosen_class || fail explain_one_method_for_a_chosen_class "$OUT $ERR"

mkdir -p "$TMP/png"
"${MKFIXTURE:-build/mkfixture}" --png "$TMP/png" "$IMG" 3
run "$DL" explain --model "$M" "$TMP/png/00001.png" --method integrated-gradients --baseline "$TMP/png/00002.png" --out "$TMP/ig.png"
[ "$RC" = 0 ] && grep -q "f(x) - f(baseline)" <<<"$OUT" && [ -s "$TMP/ig.png" ] \
  && pass explain_image_file_with_a_baseline_image || fail explain_image_file_with_a_baseline_image "$OUT $ERR"

expect_fail explain_unknown_method 2 "--method 'saliency' is not one of" \
  "$DL" explain --model "$M" --images "$IMG" --method saliency --out "$TMP/x.png"
expect_fail explain_class_not_in_model 2 "--class 7 is not one of this model's classes" \
  "$DL" explain --model "$M" --images "$IMG" --class 7 --out "$TMP/x.png"
expect_fail explain_needs_one_input 2 "either an IMAGE file or --images" "$DL" explain --model "$M" --out "$TMP/x.png"
expect_fail explain_needs_out_or_json 2 "--out FILE.png \(or --json" "$DL" explain --model "$M" --images "$IMG"
expect_fail explain_missing_model 1 "nope.dlm" "$DL" explain --model "$TMP/nope.dlm" --images "$IMG" --out "$TMP/x.png"
expect_fail explain_steps_out_of_range 2 "--steps 0 is out of range" \
  "$DL" explain --model "$M" --images "$IMG" --steps 0 --out "$TMP/x.png"
run "$DL" explain --help
[ "$RC" = 0 ] && grep -q -- "--steps N .*(default 64" <<<"$OUT" && grep -q -- "--epsilon E .*(default 0.01)" <<<"$OUT" \
  && grep -q -- "--patch P .*(default 4" <<<"$OUT" && grep -q -- "--stride S .*(default 2" <<<"$OUT" && grep -q "^example:" <<<"$OUT" \
  && pass explain_help_lists_defaults || fail explain_help_lists_defaults "$OUT"

# --- neuron ----------------------------------------------------------------
run "$DL" neuron --model "$M" --data "$FIX" --neuron 3 --top 4 --out "$TMP/n"
[ "$RC" = 0 ] && [ -s "$TMP/n/neuron-3.png" ] && [ -s "$TMP/n/neuron-3.json" ] \
  && pass neuron_writes_card_and_json || fail neuron_writes_card_and_json "rc $RC: $OUT $ERR"
grep -q "saturated on" <<<"$OUT" && grep -q "removed (outgoing weights 0)" <<<"$OUT" \
  && pass neuron_summary_has_saturation_and_ablation || fail neuron_summary_has_saturation_and_ablation "$OUT"
if command -v jq >/dev/null; then
  chk=$(jq -r '(.top | length) == 4 and (.bottom | length) == 4 and (.top[0].activation >= .top[3].activation)
               and (.bottom[0].activation <= .bottom[3].activation) and (.class_mean_activation | length) == 2
               and (.outgoing_weights | length) == 2 and ((.ablation_drop - (.accuracy - .ablated_accuracy)) | fabs) < 1e-5' "$TMP/n/neuron-3.json" 2>&1)
  [ "$chk" = true ] && pass neuron_json_is_consistent || fail neuron_json_is_consistent "$chk"
fi
expect_fail neuron_out_of_range 2 "^digitlens: neuron: --neuron 6 is out of range \(layer 1 has neurons 0..5\)$" \
  "$DL" neuron --model "$M" --data "$FIX" --neuron 6 --out "$TMP/n2"
expect_fail neuron_layer_must_be_hidden 2 "^digitlens: neuron: --layer 2 is out of range \(hidden layers are 1..1\)$" \
  "$DL" neuron --model "$M" --data "$FIX" --neuron 0 --layer 2 --out "$TMP/n2"
"$DL" train --data "$FIX" --layers 784,2 --epochs 1 --quiet --out "$TMP/flat.dlm"
expect_fail neuron_no_hidden_layer 2 "^digitlens: neuron: this network has no hidden layer$" \
  "$DL" neuron --model "$TMP/flat.dlm" --data "$FIX" --neuron 0 --out "$TMP/n2"
expect_fail neuron_needs_neuron 2 "--neuron N" "$DL" neuron --model "$M" --data "$FIX" --out "$TMP/n2"
expect_fail neuron_missing_data 1 "nodata/t10k-(images|labels)" "$DL" neuron --model "$M" --data "$TMP/nodata" --neuron 0 --out "$TMP/n2"
[ ! -e "$TMP/n2" ] && pass failed_neuron_writes_nothing || fail failed_neuron_writes_nothing "$TMP/n2 exists"

# --- maximize --------------------------------------------------------------
run "$DL" maximize --model "$M" --class 1 --out "$TMP/max1.png"
[ "$RC" = 0 ] && grep -qE "^output 1: activation [0-9.]+ -> [0-9.]+" <<<"$OUT" && [ -s "$TMP/max1.png" ] \
  && pass maximize_class_writes_png_and_reports_activation || fail maximize_class_writes_png_and_reports_activation "$OUT $ERR"
run "$DL" maximize --model "$M" --neuron 2 --l2 0 --blur 0.8 --out "$TMP/maxn.png"
[ "$RC" = 0 ] && grep -q "layer 1, neuron 2" <<<"$OUT" && pass maximize_neuron_with_blur || fail maximize_neuron_with_blur "$OUT $ERR"
if command -v jq >/dev/null; then
  run "$DL" maximize --model "$M" --class 0 --json --out "$TMP/max0.png"
  # Class 0 is ink on the left: the maximiser should put more ink there.
  chk=$(jq -r '([.input as $x | range(0; 784) | select(. % 28 < 14) | $x[.]] | add) >
               ([.input as $x | range(0; 784) | select(. % 28 >= 14) | $x[.]] | add)' <<<"$OUT" 2>&1)
  [ "$chk" = true ] && pass maximize_class_0_inks_the_left_half || fail maximize_class_0_inks_the_left_half "$chk"
fi
expect_fail maximize_needs_one_target 2 "either --neuron N or --class C" "$DL" maximize --model "$M" --out "$TMP/y.png"
expect_fail maximize_not_both_targets 2 "either --neuron N or --class C" \
  "$DL" maximize --model "$M" --neuron 1 --class 1 --out "$TMP/y.png"
expect_fail maximize_layer_must_be_hidden 2 "^digitlens: maximize: --layer 2 is out of range \(hidden layers are 1..1\)$" \
  "$DL" maximize --model "$M" --neuron 0 --layer 2 --out "$TMP/y.png"
expect_fail maximize_no_hidden_layer 2 "^digitlens: maximize: this network has no hidden layer \(use --class\)$" \
  "$DL" maximize --model "$TMP/flat.dlm" --neuron 0 --out "$TMP/y.png"
expect_fail maximize_neuron_out_of_range 2 "^digitlens: maximize: --neuron 6 is out of range \(layer 1 has neurons 0..5\)$" \
  "$DL" maximize --model "$M" --neuron 6 --out "$TMP/y.png"
[ ! -e "$TMP/y.png" ] && pass failed_maximize_writes_nothing || fail failed_maximize_writes_nothing "$TMP/y.png exists"
expect_fail maximize_l2_must_be_a_number 2 "--l2 expects a number" "$DL" maximize --model "$M" --class 1 --l2 x --out "$TMP/y.png"
run "$DL" maximize --help
[ "$RC" = 0 ] && grep -q "ink where the weight is positive" <<<"$OUT" && grep -q -- "--blur S .*(default 0)" <<<"$OUT" \
  && pass maximize_help_explains_the_first_layer_case || fail maximize_help_explains_the_first_layer_case "$OUT"
[ ! -e "$TMP/x.png" ] && [ ! -e "$TMP/y.png" ] && pass failed_explanations_write_nothing || fail failed_explanations_write_nothing "x.png or y.png exists"
finish
