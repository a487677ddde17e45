# test_cli.sh — whole-command behaviour of train, test and classify:
# exit codes, messages, files left behind, determinism, interrupts.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 4 || { fail fixtures "mkfixture failed"; finish; }
TRAIN=(train --data "$FIX" --layers 16,6,2 --epochs 3 --quiet)

# --- usage ---------------------------------------------------------------
run "$DL" --version
[ "$RC" = 0 ] && [[ "$OUT" == "digitlens "* ]] && pass version || fail version "rc $RC out $OUT"
if grep -qE "^kernels: (avx512|avx2|generic) \(" <<<"$OUT" && grep -qE "^this CPU runs: .*generic$" <<<"$OUT" &&
   [ "$("$DL" -V)" = "$OUT" ]; then pass version_names_the_kernel_variant
else fail version_names_the_kernel_variant "$OUT"; fi
DIGITLENS_SIMD=generic run "$DL" --version
grep -q "^kernels: generic (.*chosen by DIGITLENS_SIMD)" <<<"$OUT" && pass digitlens_simd_forces_a_variant || fail digitlens_simd_forces_a_variant "$OUT"
DIGITLENS_SIMD=sse9 expect_fail digitlens_simd_unknown 2 "DIGITLENS_SIMD=sse9: unknown kernel variant \(use avx512, avx2, generic or auto\)" "$DL" train --help
if ! grep -qw avx512 <<<"$("$DL" --version)"; then
  DIGITLENS_SIMD=avx512 expect_fail digitlens_simd_not_on_this_cpu 2 "DIGITLENS_SIMD=avx512: this CPU cannot run the avx512 kernels" "$DL" --version
fi
for c in train test classify; do
  run "$DL" $c --help
  if [ "$RC" = 0 ] && grep -q "default" <<<"$OUT" && grep -q "example:" <<<"$OUT"; then pass "help_$c"
  else fail "help_$c" "rc $RC"; fi
done
run "$DL" help train
[ "$RC" = 0 ] && grep -q -- "--epochs N" <<<"$OUT" && pass help_command_form || fail help_command_form "rc $RC"
run "$DL" train --help
n_opts=$(grep -c '^  --' <<<"$OUT")
n_defaults=$(grep '^  --' <<<"$OUT" | grep -v -- '--help\|--quiet' | grep -c 'default')
[ "$n_opts" -ge 20 ] && [ "$n_defaults" -eq $((n_opts - 2)) ] && pass help_lists_every_default || fail help_lists_every_default "$n_opts options, $n_defaults with defaults"
# Every option of every command says what it does when not given, in words
# or as a value, never as a sentinel (-1, "none") or twice.
bad_help=""
for c in train test classify weights heatmap activations templates explain neuron maximize report export import contributions embed explore evolve neurons; do
  run "$DL" $c --help
  [ "$RC" = 0 ] || bad_help="$bad_help $c:rc$RC"
  n_opts=$(grep '^  --' <<<"$OUT" | grep -c '^  --[a-z-]* [A-Z]')
  n_said=$(grep '^  --[a-z-]* [A-Z]' <<<"$OUT" | grep -cE '\(default|\(required|required\)')
  [ "$n_opts" = "$n_said" ] || bad_help="$bad_help $c:$n_said/$n_opts-say-their-default"
  s=$(grep -E '\(default -1|default none|\(default[^)]*\) \(default|required[^)]*\) \(default' <<<"$OUT" | head -1)
  [ -z "$s" ] || bad_help="$bad_help $c:'$s'"
done
[ -z "$bad_help" ] && pass help_pages_state_defaults_without_sentinels || fail help_pages_state_defaults_without_sentinels "$bad_help"
run "$DL" neuron --help
grep -q -- '--data DIR .*(default data/mnist)' <<<"$OUT" && pass neuron_help_names_the_data_it_uses \
  || fail neuron_help_names_the_data_it_uses "$(grep -- --data <<<"$OUT")"
for h in "help --help" "help help" "--help" "help"; do
  run "$DL" $h
  [ "$RC" = 0 ] && grep -q "^commands:" <<<"$OUT" || { fail "help_overview_for_'$h'" "rc $RC"; continue; }
  pass "help_overview_for_'$h'"
done
expect_fail help_for_an_unknown_command 2 "help: unknown command 'fly'" "$DL" help fly
expect_fail no_command 2 "no command given" "$DL"
expect_fail unknown_command 2 "unknown command 'fly'" "$DL" fly
expect_fail unknown_flag 2 "unknown option '--epoch'" "$DL" train --epoch 3
expect_fail negative_epochs 2 "--epochs -1 is out of range" "$DL" train --epochs -1
expect_fail eta_not_a_number 2 "--eta expects a number, not 'abc'" "$DL" train --eta abc
expect_fail empty_layer 2 "--layers '784,,10'" "$DL" train --layers 784,,10
expect_fail zero_batch 2 "--batch 0 is out of range" "$DL" train --batch 0
expect_fail missing_value 2 "--out needs a value" "$DL" train --out
expect_fail bad_cost 2 "--cost 'l1' is not known" "$DL" train --cost l1
expect_fail one_digit 2 "--digits needs at least two" "$DL" train --digits 3
expect_fail test_needs_model 2 "--model FILE is required" "$DL" test
expect_fail layers_must_match_pixels 2 "starts with 784 inputs but the images are 4x4" \
  "$DL" train --data "$FIX" --layers 784,10,2 --out "$TMP/x.dlm"
expect_fail layers_must_match_classes 2 "ends with 10 outputs but the data has 2 classes" \
  "$DL" train --data "$FIX" --layers 16,10,10 --out "$TMP/x.dlm"

# --- data errors -----------------------------------------------------------
expect_fail missing_data_dir 1 "nowhere/train-labels-idx1-ubyte\[.gz\]: No such file" \
  "$DL" train --data "$TMP/nowhere" --out "$TMP/x.dlm"
[ ! -e "$TMP/x.dlm" ] && pass failed_train_writes_no_model || fail failed_train_writes_no_model "x.dlm exists"

# --- train, test, classify -------------------------------------------------
run "$DL" "${TRAIN[@]}" --seed 5 --out "$TMP/a.dlm"
[ "$RC" = 0 ] && [ -s "$TMP/a.dlm" ] && [ -z "$ERR" ] && pass train_quiet_writes_a_model || fail train_quiet_writes_a_model "rc $RC err $ERR"
run "$DL" "${TRAIN[@]}" --seed 5 --out "$TMP/b.dlm"
cmp -s "$TMP/a.dlm" "$TMP/b.dlm" && pass same_seed_same_bytes || fail same_seed_same_bytes "models differ"
run "$DL" "${TRAIN[@]}" --seed 6 --out "$TMP/c.dlm"
# Each kernel variant this CPU runs is deterministic whatever the thread
# count, and avx512 and avx2 give the same bytes (include/digitlens/simd.h).
mkdir -p "$TMP/fix28"
"${MKFIXTURE:-build/mkfixture}" "$TMP/fix28" 300 28 >/dev/null
for v in $("$DL" --version | sed -n 's/^this CPU runs: //p'); do
  for t in 1 2 3; do
    DIGITLENS_SIMD=$v "$DL" train --data "$TMP/fix28" --layers 784,20,2 --epochs 2 --threads $t --quiet --out "$TMP/$v-$t.dlm"
  done
  cmp -s "$TMP/$v-1.dlm" "$TMP/$v-2.dlm" && cmp -s "$TMP/$v-1.dlm" "$TMP/$v-3.dlm" &&
    pass "threads_give_the_same_bytes_$v" || fail "threads_give_the_same_bytes_$v" "models differ"
done
if [ -e "$TMP/avx512-1.dlm" ] && [ -e "$TMP/avx2-1.dlm" ]; then
  cmp -s "$TMP/avx512-1.dlm" "$TMP/avx2-1.dlm" && pass avx512_and_avx2_give_the_same_bytes ||
    fail avx512_and_avx2_give_the_same_bytes "models differ"
fi
expect_fail label_beyond_outputs 1 "label 7 at example 3, but the network has only 2 outputs" \
  "$DL" test --model "$TMP/a.dlm" --images "$FIX/train-images-idx3-ubyte.gz" --labels "$FIX/bad-labels-idx1-ubyte.gz"
cmp -s "$TMP/a.dlm" "$TMP/c.dlm" && fail other_seed_other_bytes "identical" || pass other_seed_other_bytes
run "$DL" train --data "$FIX" --layers 16,6,2 --epochs 2 --out "$TMP/p.dlm"
if [ "$RC" = 0 ] && grep -qE "^epoch 2/2  test [0-9]+/200 \([0-9.]+%\)  training cost [0-9.]+  [0-9.]+ m?s$" <<<"$ERR"; then pass progress_lines_when_not_a_terminal
else fail progress_lines_when_not_a_terminal "$ERR"; fi
ls "$TMP"/*.tmp-* >/dev/null 2>&1 && fail no_temporary_files_left "found temp files" || pass no_temporary_files_left

run "$DL" test --model "$TMP/a.dlm" --data "$FIX" --json
if [ "$RC" = 0 ] && grep -qE '^\{"model":.*"accuracy":(0\.9[5-9][0-9]*|1\.0+),"correct":[0-9]+,"total":200,.*"per_class":\[.*\],"confusion":\[\[[0-9]+,[0-9]+\],\[[0-9]+,[0-9]+\]\]\}$' <<<"$OUT"
then pass test_json_reports_accuracy; else fail test_json_reports_accuracy "$OUT"; fi
run "$DL" test --model "$TMP/a.dlm" --data "$FIX"
grep -q "confusion matrix" <<<"$OUT" && grep -q "per class" <<<"$OUT" && pass test_table || fail test_table "$OUT"

run "$DL" classify --model "$TMP/a.dlm" --images "$FIX/t10k-images-idx3-ubyte.gz" --index 0-4 --json
lines=$(grep -cE '^\{"index":[0-9]+,"digit":[01],"confidence":[0-9.e-]+,"outputs":\[[0-9.e-]+,[0-9.e-]+\]\}$' <<<"$OUT")
[ "$RC" = 0 ] && [ "$lines" = 5 ] && pass classify_json_one_line_per_image || fail classify_json_one_line_per_image "$OUT"
expect_fail classify_index_out_of_range 2 "--index 200 is out of range \(the file has 200 images" \
  "$DL" classify --model "$TMP/a.dlm" --images "$FIX/t10k-images-idx3-ubyte.gz" --index 200

# --- damaged inputs ----------------------------------------------------------
cp "$TMP/a.dlm" "$TMP/bad.dlm"
printf '\xff' | dd of="$TMP/bad.dlm" bs=1 seek=200 conv=notrunc status=none
expect_fail corrupt_model 1 "checksum mismatch" "$DL" test --model "$TMP/bad.dlm" --data "$FIX"
head -c 100 "$TMP/a.dlm" >"$TMP/short.dlm"
expect_fail truncated_model 1 "truncated model file" "$DL" test --model "$TMP/short.dlm" --data "$FIX"
: >"$TMP/empty.dlm"
expect_fail empty_model 1 "empty file" "$DL" test --model "$TMP/empty.dlm" --data "$FIX"
expect_fail model_is_a_directory 1 "is a directory" "$DL" test --model "$TMP" --data "$FIX"
printf 'not gzip at all' >"$TMP/fake.gz"
expect_fail non_gzip_named_gz 1 "not an IDX file" "$DL" classify --model "$TMP/a.dlm" --images "$TMP/fake.gz"
expect_fail write_into_missing_dir 1 "cannot create" "$DL" "${TRAIN[@]}" --out "$TMP/no/such/dir/m.dlm"

# --- the 0-vs-1 style subset -------------------------------------------------
run "$DL" train --data "$FIX" --layers 16,1,2 --digits 1,0 --epochs 2 --quiet --out "$TMP/s.dlm"
run "$DL" classify --model "$TMP/s.dlm" --images "$FIX/t10k-images-idx3-ubyte.gz" --labels "$FIX/t10k-labels-idx1-ubyte.gz" --index 0-19 --json
wrong=$(grep -o '"label":[0-9],"digit":[0-9]' <<<"$OUT" | awk -F'[:,]' '$2 != $4' | wc -l)
[ "$wrong" -le 1 ] && pass digits_subset_maps_outputs_back_to_labels || fail digits_subset_maps_outputs_back_to_labels "$wrong of 20 wrong"

run "$DL" train --data "$FIX" --layers 16,1,2 --digits 0,1 --epochs 1 --quiet --out "$TMP/s01.dlm"
run "$DL" test --model "$TMP/s01.dlm" --images "$FIX/train-images-idx3-ubyte.gz" --labels "$FIX/bad-labels-idx1-ubyte.gz" --json
[ "$RC" = 0 ] && grep -q '"total":399' <<<"$OUT" && pass digits_0_1_model_skips_other_labels || fail digits_0_1_model_skips_other_labels "rc $RC $ERR $OUT"

# --- Ctrl-C and resume -------------------------------------------------------
# The interrupted run asks for far more epochs than it will get, and is
# stopped once it has finished two, so the test does not depend on speed.
mkdir -p "$TMP/big"
"${MKFIXTURE:-build/mkfixture}" "$TMP/big" 20000 28 >/dev/null
LONG=(train --data "$TMP/big" --layers 784,32,2 --threads 1)
"$DL" "${LONG[@]}" --epochs 100000 --out "$TMP/part.dlm" 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 1 3000); do grep -q "^epoch 2/" "$TMP/int.err" 2>/dev/null && break; sleep 0.01; done
kill -INT $pid
wait $pid
rc=$?
stopped=$(sed -nE 's/.*stopped in epoch ([0-9]+) .*/\1/p' "$TMP/int.err")
if [ "$rc" = 130 ] && [ -n "$stopped" ] && [ -s "$TMP/part.dlm" ]; then pass ctrl_c_saves_partial_model_exit_130
else fail ctrl_c_saves_partial_model_exit_130 "rc $rc: $(tail -2 "$TMP/int.err")"; fi
target=$(( ${stopped:-1} + 2 ))
"$DL" "${LONG[@]}" --epochs "$target" --quiet --out "$TMP/full.dlm"
run "$DL" "${LONG[@]}" --epochs "$target" --quiet --resume "$TMP/part.dlm" --out "$TMP/resumed.dlm"
cmp -s "$TMP/full.dlm" "$TMP/resumed.dlm" && pass resume_gives_the_uninterrupted_model || fail resume_gives_the_uninterrupted_model "rc $RC $ERR; files differ (stopped in epoch $stopped)"

finish
