# test_robust.sh — the conventions a careful user relies on beyond the
# bad-input table (tests/cli/test_bad_inputs.sh): resumed runs that keep
# their settings, outputs that are never put in the place of something
# that is not a regular file, inputs that cannot block, long and odd file
# names, and the label of every picture.
. "$(dirname "$0")/lib.sh"
MK=${MKFIXTURE:-build/mkfixture}
FIX=$TMP/fix
mkdir -p "$FIX"
"$MK" "$FIX" 400 4 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"$DL" train --data "$FIX" --layers 16,6,2 --epochs 2 --eta 0.5 --seed 3 --quiet --out "$TMP/a.dlm" ||
  { fail fixtures "train"; finish; }

# --- --resume keeps the model's settings (issue 15, defect 6) ----------------
run "$DL" train --data "$FIX" --epochs 3 --resume "$TMP/a.dlm" --out "$TMP/r.dlm"
if [ "$RC" = 0 ] && grep -q "^resuming 16,6,2 on 400 images (quadratic, scaled init, batch 10, eta 0.5), 3 epochs" <<<"$ERR" &&
   grep -q "from $TMP/a.dlm: 2 epochs done" <<<"$ERR"; then pass resume_prints_the_models_own_settings
else fail resume_prints_the_models_own_settings "rc $RC: $ERR"; fi
run "$DL" train --data "$FIX" --epochs 3 --resume "$TMP/a.dlm" --eta 0.5 --seed 3 --batch 10 --layers 16,6,2 \
  --cost quadratic --init scaled --lambda 0 --quiet --out "$TMP/r2.dlm"
[ "$RC" = 0 ] && cmp -s "$TMP/r.dlm" "$TMP/r2.dlm" && pass resume_accepts_the_same_values_again ||
  fail resume_accepts_the_same_values_again "rc $RC: $ERR"
for flag in "--eta 3" "--batch 7" "--cost cross-entropy" "--lambda 1" "--layers 16,5,2" "--init normal" "--seed 9"; do
  name=${flag%% *}
  # shellcheck disable=SC2086
  expect_fail "resume_refuses_a_different_${name#--}" 2 "train: $flag differs from .*a.dlm's" \
    "$DL" train --data "$FIX" --epochs 3 --resume "$TMP/a.dlm" $flag --out "$TMP/x.dlm"
done
[ -e "$TMP/x.dlm" ] && fail resume_refusal_writes_nothing "x.dlm exists" || pass resume_refusal_writes_nothing

# --- netpbm, plain and bitmap (issue 15, defect 11) ----------------------------
FIX28=$TMP/fix28
mkdir -p "$FIX28" "$TMP/pnm"
"$MK" "$FIX28" 60 28 >/dev/null && "$DL" train --data "$FIX28" --layers 784,6,2 --epochs 1 --quiet --out "$TMP/m28.dlm" &&
  "$MK" --pnm "$TMP/pnm" "$FIX28/t10k-images-idx3-ubyte.gz" 1 && "$MK" --png "$TMP/pnm" "$FIX28/t10k-images-idx3-ubyte.gz" 1 ||
  fail fixtures "28x28"
run "$DL" classify --model "$TMP/m28.dlm" "$TMP/pnm/00000.png"
want=$(sed -n 's/^[^:]*: //p' <<<"$OUT" | head -1)
for t in p2.pgm p3.ppm p5.pgm p6.ppm; do
  run "$DL" classify --model "$TMP/m28.dlm" "$TMP/pnm/00000.$t"
  got=$(sed -n 's/^[^:]*: //p' <<<"$OUT" | head -1)
  [ "$RC" = 0 ] && [ "$got" = "$want" ] && pass "netpbm_${t%%.*}_reads_like_the_png" ||
    fail "netpbm_${t%%.*}_reads_like_the_png" "rc $RC '$got' vs '$want' $ERR"
done
for t in p1.pbm p4.pbm; do
  run "$DL" classify --model "$TMP/m28.dlm" "$TMP/pnm/00000.$t"
  [ "$RC" = 0 ] && grep -q "digit [01] (confidence" <<<"$OUT" && pass "netpbm_${t%%.*}_bitmap_is_read" ||
    fail "netpbm_${t%%.*}_bitmap_is_read" "rc $RC $OUT $ERR"
done
cmp -s <("$DL" classify --model "$TMP/m28.dlm" "$TMP/pnm/00000.p1.pbm" | sed 's/^[^:]*://') \
       <("$DL" classify --model "$TMP/m28.dlm" "$TMP/pnm/00000.p4.pbm" | sed 's/^[^:]*://') &&
  pass netpbm_p1_and_p4_agree || fail netpbm_p1_and_p4_agree "different answers"

# --- outputs never replace what is not a regular file (defect 5) -----------------
echo old >"$TMP/real.dlm"
ln -s real.dlm "$TMP/link.dlm"
run "$DL" train --data "$FIX" --layers 16,6,2 --epochs 1 --quiet --out "$TMP/link.dlm"
if [ "$RC" = 0 ] && [ -L "$TMP/link.dlm" ] && [ "$(head -c 7 "$TMP/real.dlm")" = DLMODEL ]; then
  pass out_through_a_symlink_writes_its_file_and_keeps_the_link
else fail out_through_a_symlink_writes_its_file_and_keeps_the_link "rc $RC $ERR: $(ls -l "$TMP"/*.dlm)"; fi
ls "$TMP"/*.tmp-* >/dev/null 2>&1 && fail out_through_a_symlink_leaves_no_temp "$(ls "$TMP")" || pass out_through_a_symlink_leaves_no_temp

# --- names of 245 to 255 bytes, names that are not UTF-8 (defect 9) --------------------
long=$(printf 'n%.0s' $(seq 251)).dlm   # 255 bytes: NAME_MAX
run "$DL" train --data "$FIX" --layers 16,6,2 --epochs 1 --quiet --out "$TMP/$long"
[ "$RC" = 0 ] && [ -s "$TMP/$long" ] && pass a_255_byte_name_is_written || fail a_255_byte_name_is_written "rc $RC $ERR"
long=$(printf 'w%.0s' $(seq 245))
run "$DL" weights --model "$TMP/a.dlm" --out "$TMP/$long"
[ "$RC" = 0 ] && [ -s "$TMP/$long/grid.png" ] && pass a_245_byte_picture_directory_is_written ||
  fail a_245_byte_picture_directory_is_written "rc $RC $ERR"
ls "$TMP" | grep -q tmp- && fail long_names_leave_no_temp "$(ls "$TMP" | grep tmp-)" || pass long_names_leave_no_temp
PY=/usr/bin/python3
bad_name=$'\xff\xfe-caf\xe9.png'
cp "$TMP/pnm/00000.png" "$TMP/$bad_name"
run "$DL" classify --model "$TMP/m28.dlm" --json "$TMP/$bad_name"
if [ -x "$PY" ]; then
  if [ "$RC" = 0 ] && printf '%s' "$OUT" | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.buffer.read().decode("utf-8")); assert d["file"].endswith("\ufffd\ufffd-caf\ufffd.png"), d["file"]'; then
    pass json_of_a_name_that_is_not_utf8_is_valid_utf8
  else fail json_of_a_name_that_is_not_utf8_is_valid_utf8 "rc $RC: $OUT"; fi
else
  skip json_of_a_name_that_is_not_utf8_is_valid_utf8 "/usr/bin/python3 is not installed"
fi
cp "$TMP/m28.dlm" "$TMP/"$'caf\xe9.dlm'
run "$DL" report --model "$TMP/"$'caf\xe9.dlm' --no-data --quiet --out "$TMP/rep"
if [ "$RC" = 0 ] && grep -q '<title>[^<]*caf&#xFFFD;\.dlm</title>' "$TMP/rep/index.html" && iconv -f UTF-8 -t UTF-8 "$TMP/rep/index.html" >/dev/null 2>&1
then pass report_title_of_a_name_that_is_not_utf8_is_valid_utf8
else fail report_title_of_a_name_that_is_not_utf8_is_valid_utf8 "rc $RC $ERR: $(grep -a -m1 '<title>' "$TMP/rep/index.html")"; fi

# --- --threads beyond the cores (defect 9) -------------------------------------------------
cores=$(getconf _NPROCESSORS_ONLN)
run "$DL" train --data "$FIX" --layers 16,6,2 --epochs 1 --threads 64 --out "$TMP/t64.dlm"
run2_err=$ERR
"$DL" train --data "$FIX" --layers 16,6,2 --epochs 1 --threads "$cores" --quiet --out "$TMP/tc.dlm"
if [ "$RC" = 0 ] && grep -q "^digitlens: note: train: --threads 64 is more than the $cores cores here; using $cores$" <<<"$run2_err" &&
   cmp -s "$TMP/t64.dlm" "$TMP/tc.dlm"; then pass threads_beyond_the_cores_are_capped_with_a_note
else fail threads_beyond_the_cores_are_capped_with_a_note "rc $RC: $run2_err"; fi

# --- the learner's paper cuts -------------------------------------------------------
# PNG width from its IHDR (bytes 16..19, big-endian).
png_width() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
"$DL" export --model "$TMP/m28.dlm" --json "$TMP/m28.json" --quiet 2>/dev/null ||
  "$DL" export --model "$TMP/m28.dlm" --json "$TMP/m28.json" >/dev/null
"$DL" import --nielsen "$TMP/m28.json" --out "$TMP/imported.dlm" --quiet
expect_fail weights_delta_of_an_imported_model_is_refused 1 \
  "weights: .*imported.dlm has no initial weights to subtract \(an imported model keeps only its trained ones\); drop --delta" \
  "$DL" weights --model "$TMP/imported.dlm" --delta --out "$TMP/wd"
run "$DL" neuron --model "$TMP/imported.dlm" --data "$FIX28" --neuron 1 --out "$TMP/card"
[ "$RC" = 0 ] && [ -s "$TMP/card/neuron-1.png" ] && pass neuron_card_of_an_imported_model_is_drawn ||
  fail neuron_card_of_an_imported_model_is_drawn "rc $RC $ERR"
grep -q "largest weight out: [-+][0-9.]* to digit [01]; most negative: [-+][0-9.]* to digit [01]" <<<"$OUT" &&
  pass neuron_names_the_largest_and_the_most_negative_weight_out || fail neuron_names_the_largest_and_the_most_negative_weight_out "$OUT"
run "$DL" weights --model "$TMP/m28.dlm" --layer 2 --out "$TMP/wl2/"
w=$(png_width "$TMP/wl2/neuron-001.png")
[ "$RC" = 0 ] && [ "$w" -ge 240 ] && pass output_layer_weight_cells_are_drawn_large || fail output_layer_weight_cells_are_drawn_large "rc $RC, $w px wide"
grep -q "^wrote 2 neuron pictures and $TMP/wl2/grid.png$" <<<"$OUT" && pass a_trailing_slash_is_not_doubled ||
  fail a_trailing_slash_is_not_doubled "$OUT"
run "$DL" heatmap --model "$TMP/m28.dlm" --images "$FIX28/t10k-images-idx3-ubyte.gz" --class 1 --rank 2 --out "$TMP/h2.png"
grep -q "^class 1: hidden neuron [0-9] has the 2nd largest weight into it ([-0-9.]*)$" <<<"$OUT" &&
  pass heatmap_rank_2_says_2nd_largest || fail heatmap_rank_2_says_2nd_largest "$OUT $ERR"
run "$DL" train --data "$FIX" --layers 16,1,2 --epochs 1 --out "$TMP/one.dlm"
grep -q "^training 16,1,2 on 400 images (quadratic, scaled init, batch 10, eta 3), 1 epoch$" <<<"$ERR" &&
  grep -qE "^epoch 1/1  test [0-9]+/200 \([0-9.]+%\)  training cost [0-9.]+  [0-9]+ ms$" <<<"$ERR" &&
  pass one_epoch_is_singular_and_says_training_cost_in_ms || fail one_epoch_is_singular_and_says_training_cost_in_ms "$ERR"
run "$DL" weights --model "$TMP/one.dlm" --out "$TMP/w1"
grep -q "^wrote 1 neuron picture and" <<<"$OUT" && pass one_neuron_picture_is_singular || fail one_neuron_picture_is_singular "$OUT"
run "$DL" test --model "$TMP/a.dlm" --data "$FIX"
grep -q "correct ([0-9.]*%), mean cost on these images [0-9.]*$" <<<"$OUT" && pass test_says_whose_cost_it_is ||
  fail test_says_whose_cost_it_is "$(head -1 <<<"$OUT")"
# A --digits 0,1 model and a label it has no output for.
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x07' >"$TMP/seven-idx1-ubyte"
printf '\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x04\x00\x00\x00\x04' >"$TMP/one-idx3-ubyte"
head -c 16 /dev/zero | tr '\0' '\200' >>"$TMP/one-idx3-ubyte"
"$DL" train --data "$FIX" --layers 16,3,2 --digits 0,1 --epochs 1 --quiet --out "$TMP/d01.dlm"
run "$DL" classify --model "$TMP/d01.dlm" --images "$TMP/one-idx3-ubyte" --labels "$TMP/seven-idx1-ubyte"
grep -q "label 7 (not a class of this model)" <<<"$OUT" && ! grep -q MISCLASSIFIED <<<"$OUT" &&
  pass a_label_the_model_has_no_output_for_is_not_a_mistake || fail a_label_the_model_has_no_output_for_is_not_a_mistake "$OUT $ERR"
mkdir -p "$TMP/q'u\"o{t}e%"
run "$DL" export --model "$TMP/m28.dlm" --npy "$TMP/q'u\"o{t}e%/"
hint=$(sed -n 's/^in Python: //p' <<<"$OUT")
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  shapes=$(cd "$TMP" && /usr/bin/python3 -c "import numpy as np
$hint
print([w.shape for w in weights])" 2>&1)
  [ "$shapes" = "[(6, 784), (2, 6)]" ] && pass export_python_hint_runs_as_printed || fail export_python_hint_runs_as_printed "$hint: $shapes"
else
  skip export_python_hint_runs_as_printed "/usr/bin/python3 with numpy is not installed"
fi
run "$DL" help
grep -q "network.py's weights\[L-1\]" <<<"$OUT" && "$DL" weights --help | grep -q "network.py's weights\[L-1\]" &&
  pass help_says_layer_L_is_network_py_weights_L_minus_1 || fail help_says_layer_L_is_network_py_weights_L_minus_1 "$OUT"

# Every command that writes into a directory refuses an --out named like a
# file, and names only the required options that are missing.
for c in weights templates neuron report embed explore; do
  extra=""; [ "$c" = neuron ] && extra="--neuron 0"
  expect_fail "${c}_out_named_like_a_file_is_refused" 2 "^digitlens: $c: --out is the directory the files go into, and '.*w.png' looks like a file's name" \
    "$DL" $c --model "$TMP/m28.dlm" $extra --out "$TMP/w.png"
  expect_fail "${c}_names_only_the_missing_out" 2 "^digitlens: $c: --out DIR is required$" "$DL" $c --model "$TMP/m28.dlm" $extra
done
[ -e "$TMP/w.png" ] && fail out_named_like_a_file_creates_nothing "w.png exists" || pass out_named_like_a_file_creates_nothing

# --- files given by flag are never paired with the default directory's (defect 4) ----
# A working directory whose data/mnist holds other data (28 x 28, as MNIST).
mkdir -p "$TMP/cwd/data/mnist"
"$MK" "$TMP/cwd/data/mnist" 100 28 >/dev/null
( cd "$TMP/cwd" && "$DL" test --model "$TMP/m28.dlm" --images "$FIX28/t10k-images-idx3-ubyte.gz" ) >"$TMP/o" 2>"$TMP/e"
rc=$?
[ "$rc" = 2 ] && grep -q "test: --images was given without --labels" "$TMP/e" && pass test_images_never_take_data_mnist_labels ||
  fail test_images_never_take_data_mnist_labels "rc $rc: $(cat "$TMP/o" "$TMP/e")"
( cd "$TMP/cwd" && "$DL" train --train-images "$FIX28/train-images-idx3-ubyte.gz" --train-labels "$FIX28/train-labels-idx1-ubyte.gz" \
    --layers 784,4,2 --epochs 1 --out "$TMP/own.dlm" ) >"$TMP/o" 2>"$TMP/e"
rc=$?
if [ "$rc" = 0 ] && grep -q "note: no test set (--train-images names the training data" "$TMP/e" && ! grep -q "test [0-9]*/" "$TMP/e" &&
   grep -q "^saved $TMP/own.dlm ([0-9.]* m\?s training)$" "$TMP/e"; then pass explicit_training_files_borrow_no_default_test_set
else fail explicit_training_files_borrow_no_default_test_set "rc $rc: $(cat "$TMP/e")"; fi
( cd "$TMP/cwd" && "$DL" train --train-images "$FIX28/train-images-idx3-ubyte.gz" --train-labels "$FIX28/train-labels-idx1-ubyte.gz" \
    --test-images "$FIX28/t10k-images-idx3-ubyte.gz" --test-labels "$FIX28/t10k-labels-idx1-ubyte.gz" --layers 784,4,2 --epochs 1 --out "$TMP/own2.dlm" ) >"$TMP/o" 2>"$TMP/e"
rc=$?
[ "$rc" = 0 ] && grep -q "^epoch 1/1  test [0-9]*/30 " "$TMP/e" && pass explicit_test_files_are_scored || fail explicit_test_files_are_scored "rc $rc: $(cat "$TMP/e")"

# The note about the missing test set comes with the start-up line, so a
# refusal of the data is the only line printed.
zcat "$FIX28/train-labels-idx1-ubyte.gz" | head -c 8 >"$TMP/one-class-labels"
head -c "$(( $(zcat "$FIX28/train-labels-idx1-ubyte.gz" | wc -c) - 8 ))" /dev/zero >>"$TMP/one-class-labels"
( cd "$TMP/cwd" && "$DL" train --train-images "$FIX28/train-images-idx3-ubyte.gz" --train-labels "$TMP/one-class-labels" \
    --layers 784,4,2 --epochs 1 --out "$TMP/own3.dlm" ) >"$TMP/o" 2>"$TMP/e"
rc=$?
[ "$rc" = 1 ] && [ "$(grep -c '' "$TMP/e")" = 1 ] && grep -q "one-class-labels: all [0-9]* labels are 0" "$TMP/e" &&
  pass refused_training_labels_are_the_only_line || fail refused_training_labels_are_the_only_line "rc $rc: $(cat "$TMP/e")"

# --- the report's mistakes on one colour scale ------------------------------------------
# A barely trained model, so that there are mistakes to show.
"$DL" train --data "$FIX" --layers 16,6,2 --epochs 1 --eta 0.001 --quiet --out "$TMP/raw.dlm"
run "$DL" report --model "$TMP/raw.dlm" --data "$FIX" --mistakes 2 --quiet --out "$TMP/rs"
grep -q "both maps of an image share one colour scale" "$TMP/rs/index.html" && pass report_mistakes_share_one_scale ||
  fail report_mistakes_share_one_scale "rc $RC $ERR"
run "$DL" report --model "$TMP/raw.dlm" --data "$FIX" --mistakes 2 --per-map-scale --quiet --out "$TMP/rp"
grep -q "each map has a colour scale of its own" "$TMP/rp/index.html" && pass report_per_map_scale_on_request ||
  fail report_per_map_scale_on_request "rc $RC $ERR"

finish
