# test_embed.sh — digitlens embed end to end: the files it writes and their
# shapes, its numbers (against scikit-learn's where it is installed), the
# same map for a seed whatever the threads, and every bad input refused with
# one line and nothing half-written.  The fixture has two classes (ink on
# the left or the right half), so both spaces separate them; a real-data
# test, when ../shared has MNIST, checks that the hidden layer pulls the ten
# digits further apart than the pixels.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 240 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"$DL" train --data "$FIX" --layers 784,12,2 --epochs 3 --quiet --out "$TMP/m.dlm" || { fail train "no model"; finish; }
M=$TMP/m.dlm
N=120 # test images in the fixture

PY=$(command -v python3 || true)
SKPY=
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c "import sklearn, numpy" 2>/dev/null; then SKPY=$p; break; fi
done

# --- a whole run ---------------------------------------------------------------
O=$TMP/o1 # ($TMP/out is lib.sh's)
run "$DL" embed --model "$M" --data "$FIX" --out "$O" --perplexity 10 --iterations 300 --threads 2
[ "$RC" = 0 ] && grep -q "^pixels (784 dims)" <<<"$OUT" && grep -q "^hidden layer 1 (12 units)" <<<"$OUT" \
  && pass embed_runs_and_prints_a_row_per_space || fail embed_runs_and_prints_a_row_per_space "rc $RC: $OUT $ERR"
ok=1
for f in embed.png embed.svg points.tsv vectors.tsv metadata.tsv sprite.png projector_config.json; do [ -s "$O/$f" ] || ok=0; done
[ $ok = 1 ] && [ -z "$(ls "$O" | grep tmp-)" ] && pass embed_writes_every_file_and_no_temporaries \
  || fail embed_writes_every_file_and_no_temporaries "$(ls "$O")"
head -c 8 "$O/embed.png" | od -An -c | grep -q "P   N   G" && pass embed_png_is_png || fail embed_png_is_png "not a PNG"
# The SVG is the PNG's layout: the same size, a dot per image in each of the
# 4 maps (plus the legend's), the panel captions as text, well-formed XML.
png_wh=$(od -An -tu1 -j16 -N8 "$O/embed.png" | awk '{ printf "%d %d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }')
svg_wh=$(sed -n 's/.*<svg [^>]*width="\([0-9]*\)" height="\([0-9]*\)".*/\1 \2/p' "$O/embed.svg")
dots=$(grep -o '<circle [^>]*fill="#' "$O/embed.svg" | wc -l)
xml_ok=ok
[ -n "$PY" ] && xml_ok=$("$PY" -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1]); print("ok")' "$O/embed.svg" 2>&1)
[ "$png_wh" = "$svg_wh" ] && [ "$dots" = $((4 * ($(wc -l <"$O/points.tsv") - 1) + 2)) ] && grep -q '>t-SNE · hidden layer 1 (12 units)</text>' "$O/embed.svg" \
  && [ "$xml_ok" = ok ] && pass embed_svg_is_the_same_picture_as_vectors \
  || fail embed_svg_is_the_same_picture_as_vectors "png $png_wh svg $svg_wh, $dots dots, xml: $xml_ok"
want=$(printf 'index\tlabel\tpredicted\tpca_pixels_x\tpca_pixels_y\tpca_hidden1_x\tpca_hidden1_y\ttsne_pixels_x\ttsne_pixels_y\ttsne_hidden1_x\ttsne_hidden1_y')
[ "$(head -1 "$O/points.tsv")" = "$want" ] && [ "$(wc -l <"$O/points.tsv")" = $((N + 1)) ] \
  && [ "$(awk -F'\t' 'NR > 1 && NF != 11' "$O/points.tsv" | wc -l)" = 0 ] \
  && pass points_tsv_has_a_header_and_a_row_of_every_map_per_image \
  || fail points_tsv_has_a_header_and_a_row_of_every_map_per_image "$(head -2 "$O/points.tsv")"
[ "$(wc -l <"$O/vectors.tsv")" = $N ] && [ "$(awk -F'\t' 'NF != 12' "$O/vectors.tsv" | wc -l)" = 0 ] \
  && [ "$(head -1 "$O/metadata.tsv")" = "$(printf 'label\tpredicted')" ] && [ "$(wc -l <"$O/metadata.tsv")" = $((N + 1)) ] \
  && pass projector_vectors_and_metadata_line_up || fail projector_vectors_and_metadata_line_up "$(head -c 200 "$O/vectors.tsv")"
# The sprite: 11 x 11 cells of 28 pixels for 120 images (PNG width and height at bytes 16..23).
dims=$(od -An -tu1 -j16 -N8 "$O/sprite.png" | tr -s ' ' | sed 's/^ //')
[ "$dims" = "0 0 1 52 0 0 1 52" ] && grep -q '"singleImageDim": \[28, 28\]' "$O/projector_config.json" \
  && grep -q '"tensorShape": \[120, 12\]' "$O/projector_config.json" \
  && pass sprite_is_a_square_grid_of_28_pixel_digits || fail sprite_is_a_square_grid_of_28_pixel_digits "dims $dims"
# Labels in points.tsv are the test labels, in order.
if [ -n "$PY" ]; then
  run "$PY" - "$FIX/t10k-labels-idx1-ubyte.gz" "$O/points.tsv" "$O/metadata.tsv" <<'EOF'
import gzip, sys
labels = gzip.open(sys.argv[1]).read()[8:]
rows = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()[1:]]
meta = [l.split("\t") for l in open(sys.argv[3]).read().splitlines()[1:]]
assert [int(r[0]) for r in rows] == list(range(len(labels)))
assert [int(r[1]) for r in rows] == list(labels) == [int(m[0]) for m in meta]
assert [r[2] for r in rows] == [m[1] for m in meta]
print("ok")
EOF
  [ "$OUT" = ok ] && pass points_and_metadata_carry_the_true_labels_in_order || fail points_and_metadata_carry_the_true_labels_in_order "$ERR"
fi

# --- JSON ------------------------------------------------------------------------
run "$DL" embed --model "$M" --data "$FIX" --out "$TMP/j" --perplexity 10 --iterations 300 --json
printf '%s' "$OUT" >"$TMP/j.json"
if [ -n "$PY" ]; then
  chk=$("$PY" -c '
import json, sys
j = json.loads(sys.stdin.read())
s = j["spaces"]
assert [x["name"] for x in s] == ["pixels", "hidden1"] and [x["dims"] for x in s] == [784, 12], s
for x in s:
    assert 0.9 <= x["nn_accuracy"] <= 1 and 0.9 <= x["class_mean_accuracy"] <= 1, x
    assert 0.5 <= x["pca"]["trustworthiness"] <= 1 and 0.5 <= x["tsne"]["trustworthiness"] <= 1, x
    assert 0 < x["pca"]["explained_variance"][1] <= x["pca"]["explained_variance"][0] < 1, x
    assert x["tsne"]["kl_divergence"] > 0, x
assert j["n"] == 120 and j["trustworthiness_k"] == 10 and j["tsne_options"]["perplexity"] == 10
print("ok")' <<<"$OUT" 2>&1)
  [ "$RC" = 0 ] && [ "$chk" = ok ] && pass embed_json_has_every_number || fail embed_json_has_every_number "$chk: $OUT"
else
  skip embed_json_has_every_number "python3 is not installed"
fi

# --- the same seed, any thread count: the same files ---------------------------------
"$DL" embed --model "$M" --data "$FIX" --out "$TMP/t1" --perplexity 10 --iterations 200 --init random --seed 5 --threads 1 >/dev/null
"$DL" embed --model "$M" --data "$FIX" --out "$TMP/t2" --perplexity 10 --iterations 200 --init random --seed 5 --threads 2 >/dev/null
"$DL" embed --model "$M" --data "$FIX" --out "$TMP/t3" --perplexity 10 --iterations 200 --init random --seed 6 --threads 2 >/dev/null
cmp -s "$TMP/t1/points.tsv" "$TMP/t2/points.tsv" && cmp -s "$TMP/t1/embed.png" "$TMP/t2/embed.png" \
  && ! cmp -s "$TMP/t1/points.tsv" "$TMP/t3/points.tsv" \
  && pass same_seed_same_files_for_any_thread_count || fail same_seed_same_files_for_any_thread_count "points differ"

# --- methods, layers, glyphs ------------------------------------------------------
run "$DL" embed --model "$M" --data "$FIX" --out "$TMP/p" --method pca --layer 1 --glyphs --limit 60
[ "$RC" = 0 ] && [ "$(head -1 "$TMP/p/points.tsv")" = "$(printf 'index\tlabel\tpredicted\tpca_pixels_x\tpca_pixels_y\tpca_hidden1_x\tpca_hidden1_y')" ] \
  && [ "$(wc -l <"$TMP/p/points.tsv")" = 61 ] && ! grep -q "t-SNE" <<<"$OUT" && [ -s "$TMP/p/embed.png" ] \
  && grep -q '<image [^>]*href="data:image/png;base64,' "$TMP/p/embed.svg" \
  && pass method_pca_with_glyphs_and_limit || fail method_pca_with_glyphs_and_limit "rc $RC: $OUT $ERR"

# --- numbers against scikit-learn's ----------------------------------------------------
if [ -n "$SKPY" ]; then
  run "$SKPY" - "$FIX/t10k-images-idx3-ubyte.gz" "$TMP/j/points.tsv" "$TMP/j.json" <<'EOF'
import gzip, json, sys
import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
X = np.frombuffer(gzip.open(sys.argv[1]).read()[16:], np.uint8).reshape(-1, 784).astype(np.float64) / 255
P = np.loadtxt(sys.argv[2], skiprows=1)
j = json.load(open(sys.argv[3]))
px = j["spaces"][0]
ev = PCA(2).fit(X).explained_variance_ratio_
assert np.allclose(ev, px["pca"]["explained_variance"], atol=1e-4), (ev, px["pca"])
# The PCA map's first axis is the data projected on PC1 (up to its sign;
# PC2 is nearly tied with PC3 in these two-class images, so not compared).
Z = PCA(2).fit_transform(X)
c = abs(np.corrcoef(Z[:, 0], P[:, 3])[0, 1])
assert c > 0.9999, c
# Trustworthiness of digitlens's own maps, recomputed by scikit-learn.
for col, key in ((3, "pca"), (7, "tsne")):
    t = trustworthiness(X, P[:, col:col + 2], n_neighbors=10)
    assert abs(t - px[key]["trustworthiness"]) < 1e-3, (key, t, px[key])
print("ok")
EOF
  [ "$OUT" = ok ] && pass pca_variance_map_and_trustworthiness_agree_with_scikit_learn \
    || fail pca_variance_map_and_trustworthiness_agree_with_scikit_learn "$OUT $ERR"
else
  skip pca_variance_map_and_trustworthiness_agree_with_scikit_learn "scikit-learn is not installed (apt-get install python3-sklearn)"
fi

# --- bad input: one line, the right status, nothing written ----------------------------
mkdir -p "$TMP/keep"
echo old >"$TMP/keep/points.tsv"
expect_fail embed_needs_model_and_out 2 "--model FILE and --out DIR are required" "$DL" embed --data "$FIX"
expect_fail embed_unknown_method 2 "--method 'umap' is not one of pca, tsne, both" \
  "$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --method umap
expect_fail embed_layer_out_of_range 2 "^digitlens: embed: --layer 2 is out of range \(hidden layers are 1..1\)$" \
  "$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --layer 2
"$DL" train --data "$FIX" --layers 784,2 --epochs 1 --quiet --out "$TMP/flat.dlm"
expect_fail embed_no_hidden_layer 2 "^digitlens: embed: this network has no hidden layer \(leave out --layer to map the pixels alone\)$" \
  "$DL" embed --model "$TMP/flat.dlm" --data "$FIX" --out "$TMP/keep" --layer 1
expect_fail embed_layer_not_a_number 2 "--layer 'x' is not a hidden layer number" \
  "$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --layer x
expect_fail embed_too_few_images_for_perplexity 2 "too few for --perplexity 30" \
  "$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --limit 50
expect_fail embed_perplexity_out_of_range 2 "--perplexity 1 is out of range" \
  "$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --perplexity 1
expect_fail embed_bad_init 2 "--init 'zeros' is not one of pca, random" \
  "$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --init zeros
expect_fail embed_missing_model 1 "nope.dlm" "$DL" embed --model "$TMP/nope.dlm" --data "$FIX" --out "$TMP/keep"
head -c 100 "$M" >"$TMP/trunc.dlm"
expect_fail embed_truncated_model 1 "trunc.dlm" "$DL" embed --model "$TMP/trunc.dlm" --data "$FIX" --out "$TMP/keep"
expect_fail embed_missing_images 1 "nowhere/t10k-" "$DL" embed --model "$M" --data "$TMP/nowhere" --out "$TMP/keep"
expect_fail embed_labels_beyond_the_model 1 "label 7 at example 3" \
  "$DL" embed --model "$M" --images "$FIX/train-images-idx3-ubyte.gz" --labels "$FIX/bad-labels-idx1-ubyte.gz" --out "$TMP/keep"
[ "$(cat "$TMP/keep/points.tsv")" = old ] && [ "$(ls "$TMP/keep")" = points.tsv ] \
  && pass failed_runs_leave_the_output_directory_alone || fail failed_runs_leave_the_output_directory_alone "$(ls "$TMP/keep")"
# Ctrl-C during t-SNE: exit 130, one line, nothing written.
"$DL" embed --model "$M" --data "$FIX" --out "$TMP/keep" --iterations 100000 --perplexity 10 >/dev/null 2>"$TMP/int.err" &
pid=$!
sleep 1.5
kill -INT $pid
wait $pid
rc=$?
[ "$rc" = 130 ] && grep -q "^digitlens: embed: interrupted; nothing written" "$TMP/int.err" && [ "$(wc -l <"$TMP/int.err")" = 1 ] \
  && [ "$(ls "$TMP/keep")" = points.tsv ] && [ "$(cat "$TMP/keep/points.tsv")" = old ] \
  && pass interrupt_stops_with_130_and_writes_nothing || fail interrupt_stops_with_130_and_writes_nothing "rc $rc: $(cat "$TMP/int.err")"
run "$DL" embed --help
[ "$RC" = 0 ] && grep -q -- "--perplexity P .*(default 30" <<<"$OUT" && grep -q -- "--method NAME .*(default both)" <<<"$OUT" \
  && grep -q -- "--iterations N .*(default 1000" <<<"$OUT" && grep -q "^example:" <<<"$OUT" \
  && pass embed_help_lists_defaults || fail embed_help_lists_defaults "$OUT"

# --- real MNIST: the hidden layer pulls the digits apart --------------------------------
SHARED=$(cd "$(dirname "$0")/../.." && pwd)/../shared/data/mnist
if [ -e "$SHARED/t10k-images-idx3-ubyte.gz" ]; then
  "$DL" train --data "$SHARED" --epochs 3 --quiet --out "$TMP/real.dlm"
  run "$DL" embed --model "$TMP/real.dlm" --data "$SHARED" --limit 1000 --method pca --json --out "$TMP/real"
  if [ -n "$PY" ]; then
    chk=$("$PY" -c '
import json, sys
s = json.loads(sys.stdin.read())["spaces"]
px, h = s[0], s[1]
assert h["class_mean_accuracy"] > px["class_mean_accuracy"] + 0.05, (px, h)
assert h["pca"]["trustworthiness"] > px["pca"]["trustworthiness"], (px, h)
print("ok")' <<<"$OUT" 2>&1)
    [ "$RC" = 0 ] && [ "$chk" = ok ] && pass real_mnist_hidden_layer_separates_digits_better_than_pixels \
      || fail real_mnist_hidden_layer_separates_digits_better_than_pixels "$chk $ERR"
  else
    skip real_mnist_hidden_layer_separates_digits_better_than_pixels "python3 is not installed"
  fi
else
  skip real_mnist_hidden_layer_separates_digits_better_than_pixels "$SHARED absent"
fi
finish
