# test_report.sh — `report` end to end: options and messages, the folder it
# writes, and what a browser makes of it (headless Chromium through
# tests/browser/check-report.js: every image loads, every neuron link
# resolves, no console errors, each page's load event completes), with or
# without data, for an imported model, and for a real 100-neuron model on
# the 10k MNIST test set.  Nothing here is timed: how fast the report is
# written and loads is make bench's (scripts/bench-report.sh).
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK=$HERE/../browser/check-report.js
small_model

# browser_check NAME DIR [ARGS...]: one PASS/FAIL line per check of check-report.js.
browser_check() {
  local name=$1 dir=$2
  shift 2
  if ! have_browser; then
    skip "${name}_in_browser" "chromium or node is not installed (apt-get install chromium nodejs)"
    return
  fi
  node "$CHECK" "$dir" "$@" >"$TMP/browser.out" 2>&1
  local rc=$?
  if [ "$rc" = 2 ]; then
    skip "${name}_in_browser" "could not drive chromium: $(tail -3 "$TMP/browser.out" | tr '\n' ' ')"
    return
  fi
  browser_results "$name" "$TMP/browser.out"
}

# --- report: usage -----------------------------------------------------------
run "$DL" report --help
n_opts=$(grep -c '^  --' <<<"$OUT")
n_defaults=$(grep '^  --' <<<"$OUT" | grep -v -- '--help\|--quiet\|--no-data' | grep -cE 'default|required')
[ "$RC" = 0 ] && [ "$n_defaults" -eq $((n_opts - 3)) ] && grep -q "example:" <<<"$OUT" \
  && pass report_help_lists_every_default || fail report_help_lists_every_default "rc $RC, $n_opts options, $n_defaults defaults"
expect_fail report_needs_model_and_out 2 "^digitlens: report: --out DIR is required$" "$DL" report --model "$TMP/m.dlm"
expect_fail report_unknown_method 2 "--method 'saliency' is not known" \
  "$DL" report --model "$TMP/m.dlm" --out "$TMP/r0" --method saliency
expect_fail report_no_data_excludes_data 2 "--no-data cannot be combined" \
  "$DL" report --model "$TMP/m.dlm" --out "$TMP/r0" --no-data --data "$FIX"
expect_fail report_missing_data_names_file_and_way_out 1 "nowhere/t10k-(images|labels)-idx[13]-ubyte.*--no-data" \
  "$DL" report --model "$TMP/m.dlm" --out "$TMP/r0" --data "$TMP/nowhere"
expect_fail report_missing_model 1 "nope.dlm" "$DL" report --model "$TMP/nope.dlm" --out "$TMP/r0" --data "$FIX"
[ ! -e "$TMP/r0" ] && pass report_failures_write_nothing || fail report_failures_write_nothing "$TMP/r0 exists"

# --- report: the folder ------------------------------------------------------
run "$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/rep" --threads 2
cards=$(ls "$TMP/rep/img" 2>/dev/null | grep -c '^neuron-l1-0[0-9][0-9]\.png$')
if [ "$RC" = 0 ] && [ -s "$TMP/rep/index.html" ] && [ -s "$TMP/rep/neurons.html" ] && [ "$cards" = 12 ] \
  && grep -q "12 neuron cards" <<<"$OUT"; then pass report_writes_pages_and_a_card_per_neuron
else fail report_writes_pages_and_a_card_per_neuron "rc $RC, $cards cards, out: $OUT $ERR"; fi
links=$(grep -o 'href="neurons.html#l1n[0-9]*"' "$TMP/rep/index.html" | sort -u | wc -l)
[ "$links" = 12 ] && pass report_links_every_neuron || fail report_links_every_neuron "$links links"
ls "$TMP/rep" "$TMP/rep/img" | grep -q 'tmp-' && fail report_leaves_no_temporary_files "$(ls "$TMP/rep/img" | grep tmp-)" \
  || pass report_leaves_no_temporary_files
run "$DL" report --model "$TMP/m.dlm" --no-data --out "$TMP/rep-nodata" --quiet
[ "$RC" = 0 ] && [ -z "$OUT" ] && [ -s "$TMP/rep-nodata/img/neuron-l1-011.png" ] && ! grep -q 'id="confusion"' "$TMP/rep-nodata/index.html" \
  && pass report_without_data || fail report_without_data "rc $RC $OUT $ERR"
# What the hidden layer does to the data: the maps (PNG and SVG) and a row of numbers per space.
rows=$(grep -oE '<tr><td>(pixels \(784 dims\)|hidden layer 1 \(12 units\))</td>' "$TMP/rep/index.html" | wc -l)
[ "$rows" = 2 ] && [ -s "$TMP/rep/img/embed.png" ] && grep -q '^<svg ' "$TMP/rep/img/embed.svg" \
  && grep -q '<a href="#embedding">the data</a>' "$TMP/rep/index.html" && pass report_maps_the_data_through_the_hidden_layer \
  || fail report_maps_the_data_through_the_hidden_layer "$rows rows; $(ls "$TMP/rep/img" | grep embed)"
run "$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/rep-nomaps" --maps 0 --quiet
[ "$RC" = 0 ] && ! grep -q 'id="embedding"' "$TMP/rep-nomaps/index.html" && [ ! -e "$TMP/rep-nomaps/img/embed.png" ] \
  && pass report_maps_0_leaves_the_section_out || fail report_maps_0_leaves_the_section_out "rc $RC $ERR"
expect_fail report_maps_negative 2 "--maps -1 is out of range" \
  "$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/r0" --maps -1
browser_check report "$TMP/rep" --screenshot "$TMP/shot.png" --expect-section embedding
# A weak model makes mistakes: each one in the gallery lists its top votes, linked to their cards.
"$DL" train --data "$FIX" --layers 784,4,2 --epochs 1 --limit 4 --eta 0.3 --quiet --out "$TMP/weak.dlm"
run "$DL" report --model "$TMP/weak.dlm" --data "$FIX" --out "$TMP/rep-weak" --mistakes 6 --quiet
figs=$(grep -o '<figure><img src="img/mistake-' "$TMP/rep-weak/index.html" | wc -l)
votes=$(grep -oE '<span class="votes"[^>]*>for [0-9] over [0-9]: <a href="neurons.html#l1n[0-3]">#[0-3]</a>' \
  "$TMP/rep-weak/index.html" | wc -l)
[ "$RC" = 0 ] && [ "$figs" = 6 ] && [ "$votes" = 6 ] && pass report_mistakes_show_their_top_votes \
  || fail report_mistakes_show_their_top_votes "rc $RC: $figs mistakes, $votes with votes $ERR"
browser_check report_weak "$TMP/rep-weak" --expect-section mistakes
if [ -s "$TMP/shot.png" ]; then
  size=$(stat -c %s "$TMP/shot.png")
  [ "$size" -le 307200 ] && pass "report_screenshot_${size}_bytes" || fail report_screenshot_small "$size bytes"
fi
browser_check report_nodata "$TMP/rep-nodata"

# --- a model imported from network2.py's JSON -------------------------------
"$DL" export --model "$TMP/m.dlm" --json "$TMP/m.json" --quiet && "$DL" import --nielsen "$TMP/m.json" --out "$TMP/back.dlm" --quiet
run "$DL" report --model "$TMP/back.dlm" --data "$FIX" --out "$TMP/rep-imported" --quiet
[ "$RC" = 0 ] && grep -q "imported model" "$TMP/rep-imported/index.html" && pass report_of_an_imported_model \
  || fail report_of_an_imported_model "rc $RC $ERR"

# --- a real 100-neuron model on the 10k MNIST test set ---------------------------
MN=${DIGITLENS_SHARED_MNIST:-$HERE/../../../shared/data/mnist}
if [ -f "$MN/t10k-images-idx3-ubyte.gz" ]; then
  "$DL" train --data "$MN" --epochs 1 --limit 20000 --quiet --out "$TMP/real.dlm"
  # Without the maps (their t-SNE of 2,000 images is checked on the fixture above).
  run "$DL" report --model "$TMP/real.dlm" --data "$MN" --out "$TMP/real-report" --maps 0
  cards=$(ls "$TMP/real-report/img" 2>/dev/null | grep -c '^neuron-l1-[0-9][0-9][0-9]\.png$')
  mistakes=$(grep -o '<figure><img src="img/mistake-' "$TMP/real-report/index.html" 2>/dev/null | wc -l)
  if [ "$RC" = 0 ] && [ "$cards" = 100 ] && [ "$mistakes" = 24 ] && grep -q "100 neuron cards, 24 misclassified" <<<"$OUT" \
    && grep -q 'id="confusion"' "$TMP/real-report/index.html"; then pass report_100_neurons_10k_images
  else fail report_100_neurons_10k_images "rc $RC, $cards cards, $mistakes mistakes: $OUT $ERR"; fi
  browser_check real_report "$TMP/real-report" --expect-section mistakes
else
  skip report_100_neurons_10k_images "real MNIST not found at $MN"
fi
finish
