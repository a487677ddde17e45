# test_train_ch3.sh — train's chapter-3 options from the command line:
# activations, costs, momentum, dropout, early stopping and the η schedule;
# what makes no sense is a usage error that says why; a resumed run equals
# an uninterrupted one; classify shows a softmax's probabilities.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX" "$TMP/notest"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 4 || { fail fixtures "mkfixture failed"; finish; }
cp "$FIX"/train-* "$TMP/notest/"
T=(train --data "$FIX" --layers 16,6,2 --epochs 3 --quiet)

# --- combinations that mean nothing --------------------------------------
expect_fail log_likelihood_needs_softmax 2 "--cost log-likelihood with --output sigmoid: .*needs a softmax output" \
  "$DL" "${T[@]}" --cost log-likelihood --out "$TMP/x.dlm"
expect_fail cross_entropy_wants_sigmoid_outputs 2 "--cost cross-entropy with --output softmax: .*use log-likelihood" \
  "$DL" "${T[@]}" --output softmax --cost cross-entropy --out "$TMP/x.dlm"
expect_fail softmax_is_not_a_hidden_activation 2 "--activation 'softmax' is not known .*--output softmax" \
  "$DL" "${T[@]}" --activation softmax --out "$TMP/x.dlm"
expect_fail unknown_activation 2 "--activation 'gelu' is not known \(sigmoid, tanh, relu\)" \
  "$DL" "${T[@]}" --activation gelu --out "$TMP/x.dlm"
expect_fail relu_is_not_an_output 2 "--output 'relu' is not known \(sigmoid, softmax\)" \
  "$DL" "${T[@]}" --output relu --out "$TMP/x.dlm"
expect_fail dropout_needs_a_hidden_layer 2 "--dropout applies to hidden layers, and --layers has none" \
  "$DL" train --data "$FIX" --layers 16,2 --dropout 0.5 --out "$TMP/x.dlm"
expect_fail activation_needs_a_hidden_layer 2 "--activation applies to hidden layers" \
  "$DL" train --data "$FIX" --layers 16,2 --activation relu --out "$TMP/x.dlm"
expect_fail momentum_below_one 2 "--momentum 1 is out of range" "$DL" "${T[@]}" --momentum 1 --out "$TMP/x.dlm"
expect_fail dropout_below_one 2 "--dropout 1 is out of range" "$DL" "${T[@]}" --dropout 1 --out "$TMP/x.dlm"
for s in halve:0 halve: halve:3x twice:3 halve; do
  expect_fail "schedule_${s//:/_}_is_refused" 2 "--eta-schedule '$s' is not known \(halve:N" \
    "$DL" "${T[@]}" --eta-schedule "$s" --out "$TMP/x.dlm"
done
expect_fail early_stop_needs_an_evaluation_set 2 "--early-stop judges each epoch .* no evaluation set" \
  "$DL" train --data "$TMP/notest" --layers 16,6,2 --epochs 3 --early-stop 2 --quiet --out "$TMP/x.dlm"
[ ! -e "$TMP/x.dlm" ] && pass refused_runs_write_no_model || fail refused_runs_write_no_model "x.dlm exists"

# --- a run with everything ---------------------------------------------------
ALL=(train --data "$FIX" --layers 16,6,2 --activation relu --output softmax --eta 0.3 --momentum 0.8
     --dropout 0.2 --lambda 1 --validation 100 --eta-schedule halve:2 --seed 3)
run "$DL" "${ALL[@]}" --epochs 4 --out "$TMP/all.dlm"
if [ "$RC" = 0 ] && grep -q "training 16,6,2 on 300 images (relu hidden, softmax output, log-likelihood, scaled init, batch 10, eta 0.3, L2 lambda 1, momentum 0.8, dropout 0.2, eta halve:2), 4 epochs" <<<"$ERR" &&
   grep -qE "^epoch 4/4  validation [0-9]+/100 \([0-9.]+%\)  eta [0-9.e-]+  training cost [0-9.]+  [0-9.]+ m?s$" <<<"$ERR"
then pass training_line_names_the_extras; else fail training_line_names_the_extras "rc $RC: $ERR"; fi
# The default cost with a softmax output is the log-likelihood.
run "$DL" train --data "$FIX" --layers 16,6,2 --output softmax --epochs 1 --out "$TMP/sm.dlm"
[ "$RC" = 0 ] && grep -q "softmax output, log-likelihood," <<<"$ERR" && pass softmax_defaults_to_log_likelihood \
  || fail softmax_defaults_to_log_likelihood "rc $RC: $ERR"

# --- resumed = uninterrupted ---------------------------------------------------
run "$DL" "${ALL[@]}" --epochs 6 --quiet --out "$TMP/straight.dlm"
run "$DL" "${ALL[@]}" --epochs 3 --quiet --out "$TMP/leg.dlm"
run "$DL" "${ALL[@]}" --epochs 6 --quiet --resume "$TMP/leg.dlm" --out "$TMP/resumed.dlm"
cmp -s "$TMP/straight.dlm" "$TMP/resumed.dlm" && pass resume_with_every_extra_gives_the_uninterrupted_model \
  || fail resume_with_every_extra_gives_the_uninterrupted_model "rc $RC $ERR"
run "$DL" "${ALL[@]}" --epochs 6 --quiet --checkpoint-every 2 --out "$TMP/legs.dlm"
cmp -s "$TMP/straight.dlm" "$TMP/legs.dlm" && pass checkpoints_with_every_extra_give_the_same_model \
  || fail checkpoints_with_every_extra_give_the_same_model "rc $RC $ERR"

# --- --resume refuses other chapter-3 settings than the model's ---------------
# Each would be silently ignored otherwise (the run keeps the model's), so
# it is a usage error naming the model's value; the model, here also the
# --out, is left as it was.
# refused NAME MODEL "FLAG VALUE" HAVE [the run's other options...]
refused() {
  local name=$1 model=$2 flag=$3 have=$4
  shift 4
  cp "$model" "$TMP/before.dlm"
  # shellcheck disable=SC2086
  expect_fail "resume_refuses_a_different_$name" 2 \
    "^digitlens: train: $flag differs from .*${model##*/}'s $have \(a resumed run keeps the model's settings" \
    "$DL" "$@" --epochs 6 --resume "$model" $flag --out "$model"
  cmp -s "$model" "$TMP/before.dlm" && [ "$(ls "$TMP" | grep -c "^${model##*/}")" = 1 ] &&
    pass "resume_refusal_of_${name}_leaves_the_model_untouched" ||
    fail "resume_refusal_of_${name}_leaves_the_model_untouched" "$model changed, or a file was left beside it"
}
refused activation "$TMP/leg.dlm" "--activation tanh" relu "${ALL[@]}"
refused output "$TMP/leg.dlm" "--output sigmoid" softmax "${ALL[@]}"
refused momentum "$TMP/leg.dlm" "--momentum 0.5" 0.8 "${ALL[@]}"
refused dropout "$TMP/leg.dlm" "--dropout 0.3" 0.2 "${ALL[@]}"
refused early_stop "$TMP/leg.dlm" "--early-stop 2" 0 "${ALL[@]}"
refused eta_schedule "$TMP/leg.dlm" "--eta-schedule halve:5" halve:2 "${ALL[@]}"
refused eta_schedule_of_a_constant_eta "$TMP/sm.dlm" "--eta-schedule halve:3" "constant eta" \
  train --data "$FIX" --layers 16,6,2 --output softmax

# --- the fast kernel does all of it, in every variant this CPU runs -------------
# Same results as the reference kernel up to float rounding: the same test
# score, the cost within 1e-4; and no note about falling back.
score() { "$DL" test --model "$1" --data "$FIX" --json | sed -E 's/.*"correct":([0-9]+).*"cost":([0-9.e+-]+).*/\1 \2/'; }
run "$DL" "${ALL[@]}" --epochs 3 --kernel reference --out "$TMP/k-ref.dlm"
want=$(score "$TMP/k-ref.dlm")
ok=1
for v in $("$DL" --version | sed -n 's/^this CPU runs: //p'); do
  run env DIGITLENS_SIMD="$v" "$DL" "${ALL[@]}" --epochs 3 --out "$TMP/k-$v.dlm"
  got=$(score "$TMP/k-$v.dlm")
  if [ "$RC" != 0 ] || grep -qi "note" <<<"$ERR" ||
     ! awk -v a="$want" -v b="$got" 'BEGIN { split(a, x, " "); split(b, y, " "); d = x[2] - y[2];
                                             exit !(x[1] == y[1] && d < 1e-4 && d > -1e-4) }'; then
    ok=0; echo "   $v: rc $RC, reference '$want', fast '$got': $ERR"
  fi
done
[ $ok = 1 ] && pass fast_kernel_trains_every_extra_as_the_reference_in_every_variant \
  || fail fast_kernel_trains_every_extra_as_the_reference_in_every_variant "see above"

# --- early stopping -------------------------------------------------------------
ES=(train --data "$FIX" --layers 16,6,2 --activation tanh --eta 2 --validation 100 --early-stop 2 --seed 4)
run "$DL" "${ES[@]}" --epochs 300 --out "$TMP/es.dlm"
best=$(sed -nE "s/^saved .* \(epoch ([0-9]+)'s parameters, the best: .*/\1/p" <<<"$ERR")
last=$(sed -nE 's/^stopped early after epoch ([0-9]+): no better validation accuracy for 2 epochs$/\1/p' <<<"$ERR")
if [ "$RC" = 0 ] && [ -n "$last" ] && [ "$last" -lt 300 ] && { [ -z "$best" ] || [ "$best" -lt "$last" ]; }
then pass early_stop_stops_and_says_which_epoch_it_kept; else fail early_stop_stops_and_says_which_epoch_it_kept "rc $RC: $ERR"; fi
expect_fail a_stopped_run_is_not_resumed 2 "has finished: early stopping ended it after epoch $last" \
  "$DL" "${ES[@]}" --epochs 400 --resume "$TMP/es.dlm" --out "$TMP/es2.dlm"
# The kept parameters are the best epoch's: test --json agrees with the accuracy the best epoch scored.
run "$DL" test --model "$TMP/es.dlm" --data "$FIX" --json
[ "$RC" = 0 ] && pass a_stopped_model_is_usable || fail a_stopped_model_is_usable "rc $RC $ERR"

# --- a softmax model's outputs ----------------------------------------------------
run "$DL" classify --model "$TMP/all.dlm" --images "$FIX/t10k-images-idx3-ubyte.gz" --index 0-3 --json
sums=$(grep -oE '"outputs":\[[^]]*\]' <<<"$OUT" | sed -E 's/.*\[(.*)\]/\1/' | awk -F, '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.4f\n", s }' | sort -u)
[ "$RC" = 0 ] && [ "$sums" = "1.0000" ] && pass classify_json_gives_softmax_probabilities_summing_to_one \
  || fail classify_json_gives_softmax_probabilities_summing_to_one "rc $RC sums '$sums': $OUT"

finish
