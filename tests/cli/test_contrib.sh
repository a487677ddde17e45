# test_contrib.sh — contributions, heatmap --class/--by and activations
# --shade end to end: files written, the JSON's shape and sums, --vs
# antisymmetry, conductance on a deeper net, a hand-built model (imported
# from network2.py JSON) whose votes are known, and every bad input: one
# "digitlens:" line, exit 1 (data) or 2 (usage), no output file left.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"$DL" train --data "$FIX" --layers 784,6,2 --epochs 3 --quiet --out "$TMP/m.dlm" || { fail train "no model"; finish; }
"$DL" train --data "$FIX" --layers 784,8,5,2 --epochs 3 --quiet --out "$TMP/deep.dlm" || { fail train "no deep model"; finish; }
IMG=$FIX/t10k-images-idx3-ubyte.gz
M=$TMP/m.dlm
JQ=1
command -v jq >/dev/null || JQ=0

# --- the picture and the summary ----------------------------------------------
run "$DL" contributions --model "$M" --images "$IMG" --index 0 --out "$TMP/c.png"
[ "$RC" = 0 ] && grep -q "voted most for" <<<"$OUT" && grep -q "= votes .* + bias " <<<"$OUT" && grep -q "wrote $TMP/c.png" <<<"$OUT" \
  && head -c 8 "$TMP/c.png" | od -An -c | grep -q "P   N   G" \
  && pass contributions_writes_a_png_and_a_summary || fail contributions_writes_a_png_and_a_summary "rc $RC: $OUT $ERR"
run "$DL" contributions --model "$M" --images "$IMG" --index 0 --top 2 --out "$TMP/c2.png"
rows=$(sed -n '/voted most for/,/voted most against/p' <<<"$OUT" | grep -cE '^ +[0-9]+ ')
[ "$RC" = 0 ] && [ "$rows" = 2 ] && pass contributions_top_k_lines || fail contributions_top_k_lines "$rows rows: $OUT"

mkdir -p "$TMP/png"
"${MKFIXTURE:-build/mkfixture}" --png "$TMP/png" "$IMG" 2
run "$DL" contributions --model "$M" "$TMP/png/00001.png" --class 1 --vs 0 --out "$TMP/cf.png"
[ "$RC" = 0 ] && grep -q "votes for 1 against 0" <<<"$OUT" && [ -s "$TMP/cf.png" ] \
  && pass contributions_of_an_image_file_vs_a_rival || fail contributions_of_an_image_file_vs_a_rival "$OUT $ERR"

if [ "$JQ" = 1 ]; then
  # --- JSON: shape and the equation z = Σ votes + bias ----------------------
  run "$DL" contributions --model "$M" --images "$IMG" --index 3 --json
  shape=$(jq -c '[(.class|type), (.z|type), (.bias|type), (.activations|length), (.weights|length), (.votes|length), (.top|length), .vs]' <<<"$OUT")
  [ "$RC" = 0 ] && [ "$shape" = '["number","number","number",6,6,6,6,null]' ] && [ "$(grep -c '' <<<"$OUT")" = 1 ] \
    && pass contributions_json_is_one_object_with_per_neuron_arrays || fail contributions_json_is_one_object_with_per_neuron_arrays "$shape"
  ok=$(jq '((([.votes[]] | add) + .bias - .z) | fabs) <= 1e-4 * (1 + ([.votes[] | fabs] | add))' <<<"$OUT")
  [ "$ok" = true ] && pass json_votes_plus_bias_equal_z || fail json_votes_plus_bias_equal_z "$(jq -c '{z,bias,votes}' <<<"$OUT")"
  ok=$(jq '[range(0; .votes|length) as $j | ((.votes[$j] - .activations[$j] * .weights[$j]) | fabs) <= 1e-5 * (1 + (.votes[$j]|fabs))] | all' <<<"$OUT")
  [ "$ok" = true ] && pass json_vote_is_activation_times_weight || fail json_vote_is_activation_times_weight "$OUT"
  ok=$(jq '.top[0] as $t | .votes[$t] == ([.votes[]] | max)' <<<"$OUT")
  [ "$ok" = true ] && pass json_top_starts_with_the_largest_vote || fail json_top_starts_with_the_largest_vote "$OUT"
  pred=$(jq .predicted <<<"$OUT"); cls=$(jq .class <<<"$OUT")
  [ "$pred" = "$cls" ] && pass json_class_defaults_to_the_prediction || fail json_class_defaults_to_the_prediction "$pred vs $cls"

  # --- --vs: votes(C vs D) = −votes(D vs C) ---------------------------------
  a=$("$DL" contributions --model "$M" --images "$IMG" --index 3 --class 0 --vs 1 --json)
  b=$("$DL" contributions --model "$M" --images "$IMG" --index 3 --class 1 --vs 0 --json)
  ok=$(jq -n --argjson a "$a" --argjson b "$b" \
    '([range(0; 6) as $j | $a.votes[$j] == -$b.votes[$j]] | all) and $a.z == -$b.z and $a.bias == -$b.bias and $a.vs == 1 and $b.vs == 0')
  [ "$ok" = true ] && pass vs_votes_are_antisymmetric || fail vs_votes_are_antisymmetric "$a / $b"
  ok=$(jq '((.z - (.z_class - .z_vs)) | fabs) < 1e-4' <<<"$a")
  [ "$ok" = true ] && pass vs_z_is_the_margin || fail vs_z_is_the_margin "$a"

  # --- a deeper net: conductance and its completeness gap -------------------
  run "$DL" contributions --model "$TMP/deep.dlm" --images "$IMG" --index 2 --json
  ok=$(jq '.layer == 2 and (.votes|length) == 5 and .conductance.steps == 256 and (.conductance.layers|length) == 2
           and (.conductance.layers[0].values|length) == 8 and .conductance.baseline == "black"' <<<"$OUT")
  [ "$RC" = 0 ] && [ "$ok" = true ] && pass deep_json_has_conductance_per_hidden_layer || fail deep_json_has_conductance_per_hidden_layer "$OUT $ERR"
  ok=$(jq '[.conductance.layers[] | (.gap | fabs) <= 0.01 * ((.sum - .gap) | fabs)] | all' <<<"$OUT")
  [ "$ok" = true ] && pass deep_conductance_complete_within_1_percent_at_256_steps \
    || fail deep_conductance_complete_within_1_percent_at_256_steps "$(jq -c '.conductance.layers[] | {sum,gap}' <<<"$OUT")"
  ok=$(jq '((.conductance.layers[0].sum - .conductance.layers[0].gap) - (.z - .conductance.z_baseline) | fabs) < 1e-4' <<<"$OUT")
  [ "$ok" = true ] && pass deep_gap_is_against_z_x_minus_z_baseline || fail deep_gap_is_against_z_x_minus_z_baseline "$OUT"
else
  skip contributions_json "jq is not installed"
fi
run "$DL" contributions --model "$TMP/deep.dlm" --images "$IMG" --index 2 --steps 64 --baseline "$TMP/png/00000.png" --out "$TMP/d.png"
[ "$RC" = 0 ] && grep -q "layer 1 conductance (z through each unit, 64 steps from the baseline)" <<<"$OUT" \
  && grep -q "completeness gap" <<<"$OUT" && [ -s "$TMP/d.png" ] \
  && pass deep_summary_prints_the_completeness_gap || fail deep_summary_prints_the_completeness_gap "$OUT $ERR"

# --- a hand-built model with a known answer -----------------------------------
# 16 inputs (4x4), 3 hidden, 2 outputs.  Hidden 0: no weights, bias -20
# (silent, a = 2e-9) but the largest weight into output 0 (5); hidden 1:
# +0.5 on the left half, -0.5 on the right; hidden 2: nothing (a = 1/2
# exactly).  Output 0: weights (5, 1, 2), bias -1; so hidden 2's vote for
# 0 is exactly 1 and beats hidden 1's (a1 < 1).
SMALL=$TMP/small
mkdir -p "$SMALL"
"${MKFIXTURE:-build/mkfixture}" "$SMALL" 20 4 >/dev/null
row1='[0.5,0.5,-0.5,-0.5,0.5,0.5,-0.5,-0.5,0.5,0.5,-0.5,-0.5,0.5,0.5,-0.5,-0.5]'
zero='[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'
printf '{"sizes":[16,3,2],"weights":[[%s,%s,%s],[[5,1,2],[0,-1,1]]],"biases":[[[-20],[0],[0]],[[-1],[0]]],"cost":"QuadraticCost"}\n' \
  "$zero" "$row1" "$zero" >"$TMP/hand.json"
"$DL" import --nielsen "$TMP/hand.json" --shape 4x4 --quiet --out "$TMP/hand.dlm" || fail hand_model "import failed"
SIMG=$SMALL/t10k-images-idx3-ubyte.gz
if [ "$JQ" = 1 ]; then
  run "$DL" contributions --model "$TMP/hand.dlm" --images "$SIMG" --index 0 --class 0 --json
  ok=$(jq '.weights == [5,1,2] and .bias == -1 and .activations[2] == 0.5 and .votes[2] == 1 and .votes[0] < 1e-7
           and .activations[0] < 0.01 and .top[0] == 2 and .top[1] == 1 and .top[2] == 0' <<<"$OUT")
  [ "$RC" = 0 ] && [ "$ok" = true ] && pass hand_built_model_has_the_known_votes || fail hand_built_model_has_the_known_votes "$OUT $ERR"
  run "$DL" contributions --model "$TMP/hand.dlm" --images "$SIMG" --index 0 --class 0 --vs 1 --json
  ok=$(jq '.weights == [5,2,1] and .bias == -1 and .votes[2] == 0.5' <<<"$OUT")
  [ "$ok" = true ] && pass hand_built_model_vs_weights_are_the_differences || fail hand_built_model_vs_weights_are_the_differences "$OUT"
fi
run "$DL" heatmap --model "$TMP/hand.dlm" --images "$SIMG" --index 0 --class 0 --out "$TMP/hh.png"
[ "$RC" = 0 ] && grep -q "hidden neuron 0 has the largest weight into it (5.000)" <<<"$OUT" \
  && grep -q "neuron 0 is silent on this input (activation 2.1e-09, below 0.01)" <<<"$OUT" \
  && grep -q "neuron 2 voted most for 0 on this input: 0.5000 x 2.000 = +1.0000 (--by contribution draws it)" <<<"$OUT" \
  && pass heatmap_class_says_when_its_neuron_is_silent || fail heatmap_class_says_when_its_neuron_is_silent "$OUT $ERR"
run "$DL" heatmap --model "$TMP/hand.dlm" --images "$SIMG" --index 0 --class 0 --by contribution --out "$TMP/hc.png"
[ "$RC" = 0 ] && grep -q "hidden neuron 2 cast the largest vote for it on this input" <<<"$OUT" && ! grep -q silent <<<"$OUT" \
  && pass heatmap_by_contribution_picks_the_top_voter || fail heatmap_by_contribution_picks_the_top_voter "$OUT $ERR"
run "$DL" heatmap --model "$TMP/hand.dlm" --images "$SIMG" --index 0 --class 0 --by contribution --rank 2 --out "$TMP/hc2.png"
[ "$RC" = 0 ] && grep -q "hidden neuron 1 cast the 2nd largest vote for it on this input: 0.0477 x 1.000" <<<"$OUT" \
  && pass heatmap_by_contribution_rank_2 || fail heatmap_by_contribution_rank_2 "$OUT $ERR"
# The silent neuron's picture is taller than the plain one by its two notes.
h_noted=$(od -An -tu1 -j20 -N4 "$TMP/hh.png" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
h_plain=$("$DL" heatmap --model "$TMP/hand.dlm" --images "$SIMG" --index 0 --neuron 0 --out "$TMP/hn.png" >/dev/null &&
  od -An -tu1 -j20 -N4 "$TMP/hn.png" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
[ -n "$h_noted" ] && [ -n "$h_plain" ] && [ "$h_noted" -gt "$h_plain" ] \
  && pass heatmap_class_notes_are_on_the_picture || fail heatmap_class_notes_are_on_the_picture "heights $h_noted vs $h_plain"

# --- activations --shade -------------------------------------------------------
run "$DL" activations --model "$M" --images "$IMG" --index 0 --shade votes --out "$TMP/av.png"
[ "$RC" = 0 ] && grep -q "coloured by each layer-1 neuron's vote for the predicted digit" <<<"$OUT" && [ -s "$TMP/av.png" ] \
  && pass activations_shade_votes || fail activations_shade_votes "$OUT $ERR"
run "$DL" activations --model "$TMP/deep.dlm" --images "$IMG" --index 0 --shade votes --out "$TMP/avd.png"
[ "$RC" = 0 ] && grep -q "conductance for the predicted digit" <<<"$OUT" \
  && pass activations_shade_votes_deep_is_conductance || fail activations_shade_votes_deep_is_conductance "$OUT $ERR"
if cmp -s "$TMP/av.png" <("$DL" activations --model "$M" --images "$IMG" --index 0 --out /dev/stdout 2>/dev/null); then
  fail activations_shade_changes_the_picture "same bytes as --shade activation"
else pass activations_shade_changes_the_picture; fi

# --- bad inputs: one line, the right status, nothing written --------------------
X=$TMP/x.png
expect_fail contributions_missing_model 1 "nope.dlm: No such file" "$DL" contributions --model "$TMP/nope.dlm" --images "$IMG" --out "$X"
expect_fail contributions_missing_images 1 "nope.idx: No such file" "$DL" contributions --model "$M" --images "$TMP/nope.idx" --out "$X"
expect_fail contributions_missing_image_file 1 "nope.png: No such file" "$DL" contributions --model "$M" "$TMP/nope.png" --out "$X"
head -c 100 "$M" >"$TMP/short.dlm"
expect_fail contributions_truncated_model 1 "short.dlm: truncated" "$DL" contributions --model "$TMP/short.dlm" --images "$IMG" --out "$X"
expect_fail contributions_class_not_in_model 2 "--class 7 is not one of this model's classes" \
  "$DL" contributions --model "$M" --images "$IMG" --class 7 --out "$X"
expect_fail contributions_vs_not_in_model 2 "--vs 9 is not one of this model's classes" \
  "$DL" contributions --model "$M" --images "$IMG" --class 0 --vs 9 --out "$X"
expect_fail contributions_vs_equals_class 2 "--vs 1 is the class being explained" \
  "$DL" contributions --model "$M" --images "$IMG" --class 1 --vs 1 --out "$X"
pred=$("$DL" classify --model "$M" --images "$IMG" --index 0 | sed -nE 's/.*digit ([0-9]+).*/\1/p')
expect_fail contributions_vs_equals_the_prediction 2 "--vs $pred is the predicted digit" \
  "$DL" contributions --model "$M" --images "$IMG" --index 0 --vs "$pred" --out "$X"
expect_fail contributions_top_zero 2 "--top 0 is out of range \(1..64\)" "$DL" contributions --model "$M" --images "$IMG" --top 0 --out "$X"
expect_fail contributions_top_not_a_number 2 "--top expects a whole number, not 'six'" \
  "$DL" contributions --model "$M" --images "$IMG" --top six --out "$X"
expect_fail contributions_top_beyond_the_layer 2 "--top 7 is more than the 6 neurons of hidden layer 1" \
  "$DL" contributions --model "$M" --images "$IMG" --top 7 --out "$X"
expect_fail contributions_steps_zero 2 "--steps 0 is out of range" "$DL" contributions --model "$TMP/deep.dlm" --images "$IMG" --steps 0 --out "$X"
expect_fail contributions_index_out_of_range 2 "--index 999 is out of range" \
  "$DL" contributions --model "$M" --images "$IMG" --index 999 --out "$X"
expect_fail contributions_needs_out_or_json 2 "give --out FILE.png \(or --json" "$DL" contributions --model "$M" --images "$IMG"
expect_fail contributions_needs_one_input 2 "either an IMAGE file or --images" "$DL" contributions --model "$M" --out "$X"
"$DL" train --data "$FIX" --layers 784,2 --epochs 1 --quiet --out "$TMP/flat.dlm"
expect_fail contributions_no_hidden_layer 2 "flat.dlm has no hidden layer" \
  "$DL" contributions --model "$TMP/flat.dlm" --images "$IMG" --out "$X"
expect_fail contributions_unwritable_out 1 "cannot create" \
  "$DL" contributions --model "$M" --images "$IMG" --out "$TMP/no/such/dir/c.png"
[ ! -e "$X" ] && pass contributions_failures_write_nothing || fail contributions_failures_write_nothing "x.png exists"
# An existing picture is never half-overwritten by a failing run.
cp "$TMP/c.png" "$TMP/keep.png"
run "$DL" contributions --model "$M" --images "$IMG" --class 7 --out "$TMP/keep.png"
cmp -s "$TMP/c.png" "$TMP/keep.png" && pass contributions_failure_keeps_an_existing_output \
  || fail contributions_failure_keeps_an_existing_output "keep.png changed"
expect_fail heatmap_by_unknown 2 "--by 'size' is not one of weight, contribution" \
  "$DL" heatmap --model "$M" --images "$IMG" --class 0 --by size --out "$X"
expect_fail heatmap_by_needs_class 2 "--by goes with --class C" \
  "$DL" heatmap --model "$M" --images "$IMG" --neuron 0 --by contribution --out "$X"
expect_fail activations_shade_unknown 2 "--shade 'weights' is not one of activation, votes" \
  "$DL" activations --model "$M" --images "$IMG" --shade weights --out "$X"
[ ! -e "$X" ] && pass heatmap_and_activations_failures_write_nothing || fail heatmap_and_activations_failures_write_nothing "x.png exists"

run "$DL" contributions --help
[ "$RC" = 0 ] && grep -q -- "--top K .*(default 6" <<<"$OUT" && grep -q -- "--steps N .*(default 256" <<<"$OUT" \
  && grep -q "^example:" <<<"$OUT" && pass contributions_help_lists_defaults || fail contributions_help_lists_defaults "$OUT"
run "$DL" help
grep -qE "^  contributions " <<<"$OUT" && pass help_lists_contributions || fail help_lists_contributions "$OUT"
finish
