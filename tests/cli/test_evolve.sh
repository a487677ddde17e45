# test_evolve.sh — snapshots during training, the films and plots of
# `digitlens evolve`, `digitlens neurons` and `weights --order cluster`,
# end to end: files, their contents (through snaptool), exit codes and
# messages, and resuming an interrupted run.
. "$(dirname "$0")/lib.sh"
SNAPTOOL=${SNAPTOOL:-$(dirname "${MKFIXTURE:-build/mkfixture}")/snaptool}
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
T=(train --data "$FIX" --layers 784,6,2 --batch 10 --threads 1)

# --- snapshots ----------------------------------------------------------------
# 400 images in batches of 10: 40 mini-batches an epoch, 80 in two.
run "$DL" "${T[@]}" --epochs 2 --snapshot-every 5 --out "$TMP/m.dlm"
grep -q "snapshots: every 5 mini-batches, 17 in all (19 KB each, 322 KB) to $TMP/m.snapshots" <<<"$ERR" \
  && pass train_prints_what_snapshots_cost || fail train_prints_what_snapshots_cost "rc $RC: $ERR"
run "$SNAPTOOL" check "$TMP/m.dlm" "$TMP/m.snapshots"
[ "$RC" = 0 ] && grep -q "count 17 steps 0,5,10,.*,75,80 first=initial last=final torn=0 eval=100" <<<"$OUT" \
  && pass snapshots_start_at_the_initial_and_end_at_the_final_parameters || fail snapshots_start_at_the_initial_and_end_at_the_final_parameters "$OUT $ERR"
run "$DL" "${T[@]}" --epochs 2 --snapshot-every 7 --quiet --out "$TMP/m7.dlm"
run "$SNAPTOOL" check "$TMP/m7.dlm" "$TMP/m7.snapshots"
[ "$RC" = 0 ] && grep -q "steps 0,7,14,21,28,35,42,49,56,63,70,77,80 first=initial last=final" <<<"$OUT" \
  && pass an_off_grid_end_gets_a_final_snapshot || fail an_off_grid_end_gets_a_final_snapshot "$OUT $ERR"
run "$DL" "${T[@]}" --epochs 3 --snapshot-every 1e --quiet --out "$TMP/me.dlm"
run "$SNAPTOOL" check "$TMP/me.dlm" "$TMP/me.snapshots"
[ "$RC" = 0 ] && grep -q "steps 0,40,80,120 first=initial last=final" <<<"$OUT" \
  && pass snapshot_every_epoch || fail snapshot_every_epoch "$OUT $ERR"
expect_fail snapshot_every_is_checked 2 "--snapshot-every 'x5' is not a count" "$DL" "${T[@]}" --snapshot-every x5 --out "$TMP/x.dlm"
expect_fail snapshot_every_zero_is_refused 2 "--snapshot-every '0' is not a count" "$DL" "${T[@]}" --snapshot-every 0 --out "$TMP/x.dlm"
expect_fail more_than_a_gigabyte_is_refused_with_a_hint 2 "would write 1600001 snapshots of 19 KB = 30.30 GB, more than 1 GB \(try --snapshot-every 31," \
  "$DL" "${T[@]}" --epochs 40000 --snapshot-every 1 --out "$TMP/x.dlm"
[ ! -e "$TMP/x.dlm" ] && [ ! -e "$TMP/x.snapshots" ] && pass refused_runs_write_nothing || fail refused_runs_write_nothing "files left"

# Resuming at an epoch boundary drops the finished run's off-grid final
# snapshot and goes on as an uninterrupted run would.
"$DL" "${T[@]}" --epochs 1 --snapshot-every 7 --quiet --out "$TMP/r.dlm"
run "$DL" "${T[@]}" --epochs 2 --quiet --resume "$TMP/r.dlm" --out "$TMP/r.dlm"
cmp -s "$TMP/r.snapshots" "$TMP/m7.snapshots" && cmp -s "$TMP/r.dlm" "$TMP/m7.dlm" \
  && pass resume_continues_the_snapshots_as_an_uninterrupted_run || fail resume_continues_the_snapshots_as_an_uninterrupted_run "rc $RC $ERR"
cp "$TMP/m.snapshots" "$TMP/r.snapshots"
expect_fail resume_refuses_another_runs_snapshots 1 "r.snapshots: belongs to another training run \(it was recorded at another --snapshot-every" \
  "$DL" "${T[@]}" --epochs 3 --snapshot-every 7 --resume "$TMP/r.dlm" --out "$TMP/r.dlm"

# A full disk (here a file-size limit) while appending: the run stops with
# one message, the model is saved as partial, the snapshots end at a
# record boundary, and --resume (with room again) finishes the same file.
(
  trap '' XFSZ
  ulimit -f 200 # 200 KB: the model fits, the snapshots (19 KB each) stop after ten
  "$DL" "${T[@]}" --epochs 2 --snapshot-every 5 --quiet --out "$TMP/d.dlm"
) 2>"$TMP/d.err"
rc=$?
dmsg=$(cat "$TMP/d.err")
run "$SNAPTOOL" check "$TMP/d.dlm" "$TMP/d.snapshots"
if [ "$rc" = 1 ] && grep -q "^digitlens: .*d.snapshots: cannot append snapshot 11 (File too large; the 10 before it are kept); saved the partial model" <<<"$dmsg" \
   && grep -q "count 10 steps 0,5,.*,45 first=initial last=differs torn=0" <<<"$OUT"; then pass a_full_disk_keeps_the_snapshots_whole
else fail a_full_disk_keeps_the_snapshots_whole "rc $rc: $dmsg / $OUT"; fi
run "$DL" "${T[@]}" --epochs 2 --quiet --resume "$TMP/d.dlm" --out "$TMP/d.dlm"
cmp -s "$TMP/d.snapshots" "$TMP/m.snapshots" && pass resume_after_a_full_disk_gives_the_uninterrupted_snapshots \
  || fail resume_after_a_full_disk_gives_the_uninterrupted_snapshots "rc $RC $ERR"

# Ctrl-C in the middle of an epoch, then --resume: the same model and the
# same snapshot file as a run that went through.
mkdir -p "$TMP/big"
"${MKFIXTURE:-build/mkfixture}" "$TMP/big" 20000 4 >/dev/null
LONG=(train --data "$TMP/big" --layers 16,4,2 --threads 1 --snapshot-every 50)
"$DL" "${LONG[@]}" --epochs 1000 --out "$TMP/part.dlm" 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 1 3000); do grep -q "^epoch 2/" "$TMP/int.err" 2>/dev/null && break; sleep 0.01; done
kill -INT $pid
wait $pid
rc=$?
stopped=$(sed -nE 's/.*stopped (in|after) epoch ([0-9]+).*/\2/p' "$TMP/int.err")
target=$(( ${stopped:-1} + 2 ))
"$DL" "${LONG[@]}" --epochs "$target" --quiet --out "$TMP/full.dlm"
run "$DL" "${LONG[@]}" --epochs "$target" --quiet --resume "$TMP/part.dlm" --out "$TMP/part.dlm"
if [ "$rc" = 130 ] && cmp -s "$TMP/full.dlm" "$TMP/part.dlm" && cmp -s "$TMP/full.snapshots" "$TMP/part.snapshots"; then
  pass ctrl_c_and_resume_give_the_uninterrupted_snapshots
else fail ctrl_c_and_resume_give_the_uninterrupted_snapshots "rc $rc, stopped $stopped: $RC $ERR"; fi

# Damage is refused with one line; a torn tail is a note and the rest is used.
cp "$TMP/m.snapshots" "$TMP/bad.snapshots"
printf 'XXXX' | dd of="$TMP/bad.snapshots" bs=1 seek=40000 conv=notrunc 2>/dev/null
cp "$TMP/m.dlm" "$TMP/bad.dlm"
expect_fail damaged_snapshots_are_refused 1 "bad.snapshots: snapshot 3 of 17 is damaged \(checksum mismatch\)" \
  "$DL" evolve --model "$TMP/bad.dlm" --out "$TMP/ev-bad"
[ ! -e "$TMP/ev-bad" ] && pass a_refused_evolve_writes_nothing || fail a_refused_evolve_writes_nothing "$(ls "$TMP/ev-bad")"
head -c 230000 "$TMP/m.snapshots" >"$TMP/bad.snapshots"
run "$DL" evolve --model "$TMP/bad.dlm" --out "$TMP/ev-torn" --data "$FIX" --frames 4
[ "$RC" = 0 ] && grep -q "note: .*bad.snapshots ends in a torn snapshot .* using the 12 complete ones" <<<"$ERR" \
  && pass a_torn_tail_is_a_note || fail a_torn_tail_is_a_note "rc $RC $ERR"
expect_fail evolve_without_snapshots 1 "x.snapshots: no snapshots \(train with --snapshot-every K" \
  "$DL" evolve --model "$TMP/m.dlm" --snapshots "$TMP/x.snapshots" --out "$TMP/ev-x"
"$DL" "${T[@]}" --epochs 1 --seed 2 --quiet --out "$TMP/seed2.dlm"
expect_fail evolve_refuses_another_runs_snapshots 1 "m.snapshots: the snapshots are of another training run than" \
  "$DL" evolve --model "$TMP/seed2.dlm" --snapshots "$TMP/m.snapshots" --out "$TMP/ev-x"
expect_fail evolve_neuron_out_of_range 2 "^digitlens: evolve: --neurons '1,6': 6 is out of range \(layer 1 has neurons 0..5\)$" \
  "$DL" evolve --model "$TMP/m.dlm" --neurons 1,6 --out "$TMP/ev-x"
expect_fail evolve_one_neuron_out_of_range 2 "^digitlens: evolve: --neurons 6 is out of range \(layer 1 has neurons 0..5\)$" \
  "$DL" evolve --model "$TMP/m.dlm" --neurons 6 --out "$TMP/ev-x"
expect_fail evolve_layer_out_of_range 2 "^digitlens: evolve: --layer 3 is out of range \(hidden layers are 1..1, the output layer is 2\)$" \
  "$DL" evolve --model "$TMP/m.dlm" --layer 3 --out "$TMP/ev-x"
[ ! -e "$TMP/ev-x" ] && pass a_refused_evolve_argument_writes_nothing || fail a_refused_evolve_argument_writes_nothing "$(ls "$TMP/ev-x")"

# --- evolve -------------------------------------------------------------------
run "$DL" evolve --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/ev" --fps 10
files=$(cd "$TMP/ev" 2>/dev/null && ls | tr '\n' ' ')
[ "$RC" = 0 ] && [ "$files" = "embedding.gif filmstrip.png histograms.png histograms.svg weights-delta.gif weights.gif " ] \
  && pass evolve_writes_the_films_and_plots || fail evolve_writes_the_films_and_plots "rc $RC: $files $ERR"
run "$SNAPTOOL" gif "$TMP/ev/weights.gif" "$TMP"
# One frame per snapshot, the last one held for a second more.
[ "$RC" = 0 ] && grep -qE "^frames 17 size [0-9]+x[0-9]+ colors 256 delay 10 last 110 loop 1$" <<<"$OUT" \
  && pass the_film_decodes_with_every_snapshot || fail the_film_decodes_with_every_snapshot "$OUT $ERR"
size=$(sed -nE 's/.*size ([0-9]+x[0-9]+).*/\1/p' <<<"$OUT")
run "$SNAPTOOL" gif "$TMP/ev/weights-delta.gif"
grep -q "^frames 17 size $size colors 256" <<<"$OUT" && pass the_delta_film_matches || fail the_delta_film_matches "$OUT"
cmp -s "$TMP/frame-0000.png" "$TMP/frame-0016.png" && fail frames_differ "the first and last frame are the same" || pass frames_differ
grep -q "<svg" "$TMP/ev/histograms.svg" && grep -q "saturated" "$TMP/ev/histograms.svg" && grep -q "step 80 (epoch 2.00)" "$TMP/ev/histograms.svg" \
  && pass histograms_svg_has_the_ridges_and_saturation || fail histograms_svg_has_the_ridges_and_saturation "$(head -c 300 "$TMP/ev/histograms.svg")"
run "$SNAPTOOL" gif "$TMP/ev/embedding.gif"
grep -qE "^frames 17 size [0-9]+x[0-9]+ colors 256" <<<"$OUT" && pass evolve_films_the_embedding || fail evolve_films_the_embedding "$OUT $ERR"
run "$DL" evolve --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/ev2" --neurons 1,4 --frames 5 --no-data
run2=$("$SNAPTOOL" gif "$TMP/ev2/weights.gif")
[ "$RC" = 0 ] && grep -q "^frames 5 " <<<"$run2" && pass evolve_neurons_large_with_fewer_frames || fail evolve_neurons_large_with_fewer_frames "rc $RC $ERR $run2"
run "$DL" evolve --model "$TMP/m.dlm" --out "$TMP/ev3" --data "$TMP/nowhere"
[ "$RC" = 0 ] && grep -q "note: no activation histograms" <<<"$ERR" && [ -s "$TMP/ev3/histograms.png" ] \
  && pass evolve_without_data_draws_the_weights || fail evolve_without_data_draws_the_weights "rc $RC $ERR"

# --- neurons ------------------------------------------------------------------
run "$DL" neurons --model "$TMP/m.dlm" --data "$FIX" --json --out "$TMP/nr"
if [ "$RC" = 0 ] && /usr/bin/python3 - "$OUT" "$TMP/nr/neurons.json" <<'EOF' >/dev/null 2>&1
import json, sys
a = json.loads(sys.argv[1]); b = json.load(open(sys.argv[2]))
assert a == b and a["neurons"] == 6 and a["layer"] == 1
assert all(isinstance(i, int) for i in a["dead"])
assert all(len(d) == 3 and d[0] < d[1] and d[2] > 0.95 for d in a["duplicates"])
assert [p[0] for p in a["pruning"]] == list(range(7)) and abs(a["pruning"][0][1] - a["accuracy"]) < 1e-9
assert sorted(a["pruning_order"]) == list(range(6))
EOF
then pass neurons_json_has_dead_duplicates_and_pruning; else fail neurons_json_has_dead_duplicates_and_pruning "rc $RC $ERR $OUT"; fi
[ -s "$TMP/nr/pruning.png" ] && pass neurons_writes_the_pruning_curve || fail neurons_writes_the_pruning_curve "no PNG"
run "$DL" neurons --model "$TMP/m.dlm" --data "$FIX"
grep -q "^layer 1: 6 neurons over 200 images" <<<"$OUT" && grep -q "pruning, least useful first" <<<"$OUT" \
  && pass neurons_text || fail neurons_text "$OUT $ERR"
expect_fail neurons_needs_a_hidden_layer 2 "^digitlens: neurons: --layer 2 is out of range \(hidden layers are 1..1\)$" \
  "$DL" neurons --model "$TMP/m.dlm" --data "$FIX" --layer 2
"$DL" train --data "$FIX" --layers 784,2 --epochs 1 --quiet --out "$TMP/flat.dlm"
expect_fail neurons_no_hidden_layer 2 "^digitlens: neurons: this network has no hidden layer$" \
  "$DL" neurons --model "$TMP/flat.dlm" --data "$FIX"

# --- weights --order cluster ----------------------------------------------------
run "$DL" weights --model "$TMP/m.dlm" --out "$TMP/wc" --order cluster --data "$FIX"
order=$(sed -nE 's/^grid order \(clustered by activation\): //p' <<<"$OUT" | tr ' ' '\n' | sort -n | tr '\n' ' ')
[ "$RC" = 0 ] && [ "$order" = "0 1 2 3 4 5 " ] && [ -s "$TMP/wc/grid.png" ] \
  && pass weights_order_cluster_is_a_permutation || fail weights_order_cluster_is_a_permutation "rc $RC: $OUT $ERR"
expect_fail weights_order_unknown 2 "--order 'size' is not known \(index, cluster\)" "$DL" weights --model "$TMP/m.dlm" --out "$TMP/wc" --order size
expect_fail weights_order_cluster_needs_a_hidden_layer 2 \
  "^digitlens: weights: --order cluster needs a hidden layer \(--layer 2 is the output layer; hidden layers are 1..1\)$" \
  "$DL" weights --model "$TMP/m.dlm" --out "$TMP/wc2" --order cluster --layer 2 --data "$FIX"
expect_fail weights_order_cluster_no_hidden_layer 2 "^digitlens: weights: --order cluster needs a hidden layer \(this network has none\)$" \
  "$DL" weights --model "$TMP/flat.dlm" --out "$TMP/wc2" --order cluster --data "$FIX"
[ ! -e "$TMP/wc2" ] && pass a_refused_weights_order_writes_nothing || fail a_refused_weights_order_writes_nothing "$(ls "$TMP/wc2")"

finish
