# test_explore.sh — `explore` end to end: options and messages, the page it
# writes (self-contained, the parameters and test digits it embeds, written
# atomically, linked with a report in the same folder whichever comes
# first), and the page in headless Chromium (tests/browser/check-explore.js:
# drawn digits give the numbers `classify --json` gives, predict() agrees
# with `classify --index` on 100 test images, every panel updates, no
# console errors, the update time measured), on a real 100-neuron MNIST
# model when ../shared/data/mnist is there, else on a fixture model, and on a
# fixture model with two hidden layers.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK=$HERE/../browser/check-explore.js
small_model

# --- usage and bad inputs ------------------------------------------------------
run "$DL" explore --help
[ "$RC" = 0 ] && grep -q -- "--samples N" <<<"$OUT" && grep -q "example:" <<<"$OUT" && pass explore_help \
  || fail explore_help "rc $RC"
run "$DL" help
grep -q "^  explore " <<<"$OUT" && pass explore_in_the_command_list || fail explore_in_the_command_list "$OUT"
expect_fail explore_needs_model 2 "explore: --model FILE is required$" "$DL" explore --out "$TMP/x"
expect_fail explore_samples_range 2 "samples" "$DL" explore --model "$TMP/m.dlm" --data "$FIX" --samples 0 --out "$TMP/x"
expect_fail explore_samples_need_data 2 "needs test digits" "$DL" explore --model "$TMP/m.dlm" --samples 5 --out "$TMP/x"
expect_fail explore_images_need_labels 2 "go together" "$DL" explore --model "$TMP/m.dlm" --images "$FIX/t10k-images-idx3-ubyte.gz" --out "$TMP/x"
expect_fail explore_missing_model 1 "missing.dlm" "$DL" explore --model "$TMP/missing.dlm" --out "$TMP/x"
head -c 100 "$TMP/m.dlm" >"$TMP/cut.dlm"
expect_fail explore_truncated_model 1 "cut.dlm" "$DL" explore --model "$TMP/cut.dlm" --out "$TMP/x"
expect_fail explore_missing_data 1 "nowhere/t10k-.*No such file" "$DL" explore --model "$TMP/m.dlm" --data "$TMP/nowhere" --out "$TMP/x"
[ ! -e "$TMP/x" ] && pass explore_failures_write_nothing || fail explore_failures_write_nothing "$(ls -R "$TMP/x")"
"$DL" train --data "$FIX" --layers 784,2 --epochs 1 --quiet --out "$TMP/flat.dlm"
expect_fail explore_needs_a_hidden_layer 2 "no hidden layer" "$DL" explore --model "$TMP/flat.dlm" --out "$TMP/x"
mkdir -p "$TMP/fix16" && "${MKFIXTURE:-build/mkfixture}" "$TMP/fix16" 50 4 >/dev/null
expect_fail explore_data_of_another_shape 1 "4x4 but .*28x28" "$DL" explore --model "$TMP/m.dlm" --data "$TMP/fix16" --out "$TMP/x"

# --- the page ------------------------------------------------------------------
run "$DL" explore --model "$TMP/m.dlm" --data "$FIX" --samples 40 --out "$TMP/ex"
P=$TMP/ex/explore.html
if [ "$RC" = 0 ] && [ -s "$P" ] && grep -q "with 40 test digits" <<<"$OUT"; then pass explore_writes_the_page
else fail explore_writes_the_page "rc $RC: $OUT $ERR"; fi
# Nothing from the network: no URL at all, no <link>, no script with a src.
if ! grep -qiE 'https?://|<link|<script[^>]* src=|@import' "$P" && ! grep -q 'url(' "$P"; then pass explore_page_is_self_contained
else fail explore_page_is_self_contained "$(grep -oiE 'https?://[^" ]*|<link[^>]*|<script[^>]* src=[^>]*' "$P" | head -3)"; fi
# The parameters: 784*12+12 + 12*2+2 = 9446 float32 = 37784 bytes, in base64.
plen=$(sed -n 's/.*<script type="application\/octet-stream" id="dl-params">\([^<]*\)<\/script>.*/\1/p' "$P" | base64 -d | wc -c)
[ "$plen" = 37784 ] && pass explore_embeds_every_parameter || fail explore_embeds_every_parameter "$plen bytes"
slen=$(sed -n 's/.*id="dl-samples">\([^<]*\)<\/script>.*/\1/p' "$P" | base64 -d | wc -c)
[ "$slen" = $((40 * 784)) ] && pass explore_embeds_40_test_digits || fail explore_embeds_40_test_digits "$slen bytes"
# Written atomically: a failing run leaves the page as it was, and no temporary file.
cp "$P" "$TMP/before.html"
run "$DL" explore --model "$TMP/cut.dlm" --out "$TMP/ex"
if [ "$RC" = 1 ] && cmp -s "$P" "$TMP/before.html" && [ "$(ls "$TMP/ex")" = explore.html ]; then pass explore_failure_keeps_the_old_page
else fail explore_failure_keeps_the_old_page "rc $RC, files: $(ls "$TMP/ex")"; fi
run "$DL" explore --model "$TMP/m.dlm" --data "$FIX" --samples 40 --out "$TMP/ex" --quiet
[ "$RC" = 0 ] && [ -z "$OUT" ] && cmp -s "$P" "$TMP/before.html" && pass explore_is_deterministic_and_quiet \
  || fail explore_is_deterministic_and_quiet "rc $RC out '$OUT'"
run "$DL" explore --model "$TMP/m.dlm" --out "$TMP/ex-nodata"
slen=$(sed -n 's/.*id="dl-samples">\([^<]*\)<\/script>.*/\1/p' "$TMP/ex-nodata/explore.html" | tr -d '\n' | wc -c)
[ "$RC" = 0 ] && [ "$slen" = 0 ] && pass explore_without_data || fail explore_without_data "rc $RC, $slen sample bytes"

# --- report and explorer in one folder link each other, in either order -----------
"$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/both1" --quiet
"$DL" explore --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/both1" --quiet
"$DL" explore --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/both2" --quiet
"$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/both2" --quiet
# The report links to the page whichever came first; the page links back when the report was there first.
linked=""
for d in both1 both2; do grep -q '<a href="explore.html">' "$TMP/$d/index.html" && linked="$linked $d"; done
[ "$linked" = " both1 both2" ] && pass report_links_to_the_explorer_either_order \
  || fail report_links_to_the_explorer_either_order "linked in:$linked"
grep -q '"report":true' "$TMP/both1/explore.html" && grep -q '"report":false' "$TMP/both2/explore.html" \
  && ! grep -q 'digitlens:explorer-link' "$TMP/both1/index.html" && pass explorer_links_back_to_a_report_before_it \
  || fail explorer_links_back_to_a_report_before_it "$(grep -o '"report":[a-z]*' "$TMP"/both*/explore.html)"
"$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/rep-alone" --quiet
grep -q 'explore.html' "$TMP/rep-alone/index.html" && fail report_alone_has_no_explorer_link "a link to a missing page" \
  || pass report_alone_has_no_explorer_link

# --- in the browser ------------------------------------------------------------------
# explore_browser NAME MODEL IMAGES [ARGS...]: the page of MODEL (written by
# explore_page beforehand into $TMP/NAME) checked in Chromium.
explore_browser() {
  local name=$1 model=$2 images=$3
  shift 3
  if ! have_browser; then
    skip "${name}_in_browser" "chromium or node is not installed (apt-get install chromium nodejs)"
    return
  fi
  node "$CHECK" "$TMP/$name" --digitlens "$DL" --model "$model" --images "$images" "$@" >"$TMP/browser.out" 2>&1
  if [ $? = 2 ]; then
    skip "${name}_in_browser" "could not drive chromium: $(tail -3 "$TMP/browser.out" | tr '\n' ' ')"
    return
  fi
  browser_results "$name" "$TMP/browser.out"
}

# Every activation: the page's metadata names each layer's, and its own
# forward pass (tanh, ReLU, softmax) gives classify's numbers.
"$DL" train --data "$FIX" --layers 784,12,2 --activation relu --output softmax --eta 0.1 --epochs 2 --quiet --out "$TMP/relu.dlm"
"$DL" train --data "$FIX" --layers 784,12,2 --activation tanh --output softmax --eta 0.1 --epochs 2 --quiet --out "$TMP/tanh.dlm"
"$DL" explore --model "$TMP/relu.dlm" --data "$FIX" --out "$TMP/relu" --quiet
"$DL" explore --model "$TMP/tanh.dlm" --data "$FIX" --out "$TMP/tanh" --quiet
if grep -q '"activations":\["relu","softmax"\]' "$TMP/relu/explore.html" && grep -q '784-12-2 relu-hidden, softmax-output network' "$TMP/relu/explore.html" \
   && grep -q '"activations":\["tanh","softmax"\]' "$TMP/tanh/explore.html"; then pass explore_page_names_each_activation
else fail explore_page_names_each_activation "$(grep -o '"activations":[^]]*]' "$TMP/relu/explore.html" "$TMP/tanh/explore.html")"; fi
explore_browser relu "$TMP/relu.dlm" "$FIX/t10k-images-idx3-ubyte.gz"
MN=${DIGITLENS_SHARED_MNIST:-$HERE/../../../shared/data/mnist}
if [ -f "$MN/t10k-images-idx3-ubyte.gz" ]; then
  "$DL" train --data "$MN" --epochs 3 --seed 1 --quiet --out "$TMP/real.dlm"
  "$DL" explore --model "$TMP/real.dlm" --data "$MN" --out "$TMP/real" --quiet
  explore_browser real "$TMP/real.dlm" "$MN/t10k-images-idx3-ubyte.gz" ${EXPLORE_SCREENSHOTS:+--screenshot "$EXPLORE_SCREENSHOTS/explore-3.png" --neuron-screenshot "$EXPLORE_SCREENSHOTS/explore-neuron.png"}
else
  skip explore_real_mnist "real MNIST not found at $MN (the browser check runs on the fixture model)"
  explore_browser ex "$TMP/m.dlm" "$FIX/t10k-images-idx3-ubyte.gz"
fi
# A deeper network (two hidden layers): a grid each, the votes of the last,
# the same numbers as the command line.
"$DL" train --data "$FIX" --layers 784,16,9,2 --epochs 2 --quiet --out "$TMP/deep.dlm"
"$DL" explore --model "$TMP/deep.dlm" --data "$FIX" --samples 30 --out "$TMP/deep" --quiet
explore_browser deep "$TMP/deep.dlm" "$FIX/t10k-images-idx3-ubyte.gz"
finish
