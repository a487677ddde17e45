#!/usr/bin/env bash
# readme-samples.sh — README's sample outputs are the tour's own: this runs
# the tour's commands (README "A tour from the shell" onwards) in a scratch
# directory on data/mnist and
#   --write   puts each output into README.md between its markers
#             "<!-- sample NAME -->" and "<!-- /sample -->", the figures
#             quoted in the text between "<!-- value NAME -->" markers, and
#             redraws the pictures in docs/ from the same model;
#   --check   compares them with README.md, one PASS/FAIL/SKIP line each;
#   --print   prints them.
#
# What --check can demand depends on the machine.  The same data and seed
# give the same model bytes for one build on one kind of CPU (any thread
# count), but another CPU's vector kernel rounds differently, and 30 epochs
# of SGD amplify that into other accuracies.  So README records the data's
# MD5 and the model's CRC; when both match, every number must be equal;
# otherwise (CI on another CPU, other data) only the shape of each output is
# compared: its lines with every number replaced by '#' (timings are
# always compared that way, since they are never the same twice).  It
# prints which of the two it did.  Without data/mnist it skips.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:---check}
README=${README:-$ROOT/README.md}
DL=${DIGITLENS:-$ROOT/digitlens}
DATA=$ROOT/data/mnist

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
skip() { echo "SKIP $1: $2"; }
FAILS=0

files=()
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  p=$(ls "$DATA/$f" "$DATA/$f.gz" 2>/dev/null | head -1)
  [ -n "$p" ] && files+=("$p")
done
if [ ${#files[@]} != 4 ]; then
  skip readme_samples "data/mnist does not hold the four MNIST files (run make data)"
  exit 0
fi
DATA_MD5=$(cat "${files[@]}" | md5sum | cut -c1-12)

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ln -s "$DL" "$W/digitlens"
ln -s "$ROOT/data" "$W/data"
mkdir -p "$W/docs"
cp -r "$ROOT/docs/examples" "$W/docs/"

# run CMD: the command as the tour shows it, run in the scratch directory;
# its stdout and stderr (as a terminal would show them) go to $W/out.
run() { (cd "$W" && bash -c "$1") >"$W/out" 2>&1; }

# Filters: from a command's whole output to what README shows.
keep_lines() { # SPEC: "1-3,...,-2,-1" (negative: from the end; ... a literal line)
  awk -v spec="$1" '{ l[NR] = $0 } END {
    n = split(spec, part, ",")
    for (i = 1; i <= n; i++) {
      if (part[i] ~ /^ *\.\.\./) { print part[i]; continue }
      m = split(part[i], r, "-"); a = r[1]; b = (m > 1 && r[2] != "") ? r[2] : a
      if (part[i] ~ /^-/) { a = NR + 1 + part[i]; b = a }
      for (k = a; k <= b; k++) print l[k]
    } }'
}
short_json_test() {
  sed -E 's/"classes":\[0[^]]*9\]/"classes":[0,...,9]/; s/"per_class":\[[^]]*\]/"per_class":[...]/;
          s/"confusion":\[\[([0-9]+),([0-9]+),[^]]*\].*\]\}$/"confusion":[[\1,\2,...],...]}/'
}
short_json_outputs() { sed -E 's/("outputs":\[[^,]*,[^,]*,[^,]*,[^,]*),[^]]*\]/\1,...]/'; }

# The samples: NAME, the command, the filter.
SAMPLES=(
  "train|./digitlens train --data data/mnist --layers 784,100,10 --epochs 30 --batch 10 --eta 3.0 --seed 1 --out mnist.dlm|keep_lines 1-3,...,-2,-1"
  "test|./digitlens test --model mnist.dlm --data data/mnist|keep_lines '1-5,    ...,13-18,    ...'"
  "test-json|./digitlens test --model mnist.dlm --json|short_json_test"
  "classify-index|./digitlens classify --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0|cat"
  "classify-json|./digitlens classify --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0-1 --json|short_json_outputs"
  "classify-files|./digitlens classify --model mnist.dlm docs/examples/d3-pen-photo-05.jpg docs/examples/d3-pen-photo-06.jpg|cat"
  "heatmap|./digitlens heatmap --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --class 7 --out heatmap-7.png|cat"
  "explain|./digitlens explain --model mnist.dlm --images data/mnist/t10k-images-idx3-ubyte.gz --index 0 --method all --out e.png|cat"
  "neuron|./digitlens neuron --model mnist.dlm --data data/mnist --neuron 42 --out neurons/|cat"
  "maximize|./digitlens maximize --model mnist.dlm --class 3 --l2 0.05 --blur 0.5 --out max-3.png|cat"
  "report|./digitlens report --model mnist.dlm --data data/mnist --out report|cat"
  "early-stop|./digitlens train --activation relu --output softmax --eta 0.1 --momentum 0.5 --validation 1000 --early-stop 3 --epochs 60 --out relu.dlm|keep_lines 1-3,...,-6,-5,-4,-3,-2,-1"
)

# Every number (and every duration) as '#': the shape of an output.
shape() { sed -E 's/[0-9]+(\.[0-9]+)?( ?m?s\b)?/#/g; s/[0-9.]+e[-+]?#/#/g'; }

# The text between a sample's markers in README.
readme_block() {
  awk -v n="$1" '$0 == "<!-- sample " n " -->" { on = 1; next } on && $0 == "<!-- /sample -->" { exit } on' "$README"
}

declare -A BLOCK
for s in "${SAMPLES[@]}"; do
  IFS='|' read -r name cmd filter <<<"$s"
  run "$cmd"
  rc=$?
  if [ "$rc" != 0 ]; then
    fail "readme_sample_$name" "'$cmd' exited $rc: $(tail -2 "$W/out")"
    continue
  fi
  BLOCK[$name]=$(printf '```console\n$ %s\n%s\n```' "$cmd" "$(eval "$filter" <"$W/out")")
done
CRC=$(tail -c 4 "$W/mnist.dlm" | od -An -tx4 | tr -d ' ')

# Figures the text quotes: NAME and how to get it from the samples.
acc=$(sed -n 's/.*correct (\([0-9.]*%\)).*/\1/p' <<<"${BLOCK[test]:-}" | head -1)
nmean=$(sed -n 's/^  mean activation \([0-9.]*\);.*/\1/p' <<<"${BLOCK[neuron]:-}")
ndrop=$(sed -n 's/.*removed (outgoing weights 0): [0-9.]*% (drop \([-0-9.]*\) points).*/\1/p' <<<"${BLOCK[neuron]:-}")
declare -A VALUE=([test-accuracy]=$acc [neuron-mean]=$nmean [neuron-drop]=$ndrop)
HEADER="<!-- samples: made by scripts/readme-samples.sh --write from the tour's commands; data md5 $DATA_MD5, mnist.dlm crc $CRC ($("$DL" --version | head -1), $(uname -m)) -->"

if [ "$MODE" = --print ]; then
  echo "$HEADER"
  for s in "${SAMPLES[@]}"; do name=${s%%|*}; printf '<!-- sample %s -->\n%s\n<!-- /sample -->\n\n' "$name" "${BLOCK[$name]:-}"; done
  for name in "${!VALUE[@]}"; do echo "value $name = ${VALUE[$name]}"; done
  exit 0
fi

if [ "$MODE" = --write ]; then
  [ "$FAILS" = 0 ] || exit 1
  cp "$README" "$W/README.new"
  for name in "${!BLOCK[@]}"; do
    printf '%s\n' "${BLOCK[$name]}" >"$W/block"
    awk -v n="$name" -v f="$W/block" '
      $0 == "<!-- sample " n " -->" { print; while ((getline l < f) > 0) print l; skip = 1; next }
      skip && $0 == "<!-- /sample -->" { skip = 0 }
      !skip' "$W/README.new" >"$W/README.tmp" && mv "$W/README.tmp" "$W/README.new"
  done
  for name in "${!VALUE[@]}"; do
    sed -i -E "s|<!-- value $name -->[^<]*<!-- /value -->|<!-- value $name -->${VALUE[$name]}<!-- /value -->|g" "$W/README.new"
  done
  sed -i -E "s|^<!-- samples: .* -->$|$HEADER|" "$W/README.new"
  cp "$W/README.new" "$README"
  # The pictures README shows, from the same model.
  T=data/mnist/t10k-images-idx3-ubyte.gz
  (cd "$W" && set -e
   ./digitlens weights --model mnist.dlm --out w >/dev/null && cp w/grid.png "$ROOT/docs/weights-grid.png"
   ./digitlens weights --model mnist.dlm --out wd --delta >/dev/null && cp wd/grid.png "$ROOT/docs/weights-delta-grid.png"
   cp heatmap-7.png "$ROOT/docs/heatmap-class7.png"
   ./digitlens activations --model mnist.dlm --images $T --index 0 --out "$ROOT/docs/activations.png" >/dev/null
   ./digitlens templates --model mnist.dlm --out t --data data/mnist >/dev/null
   cp t/templates.png t/saliency.png "$ROOT/docs/"
   cp e.png "$ROOT/docs/explain-all.png"
   ./digitlens explain --model mnist.dlm --images $T --index 8 --class 5 --method integrated-gradients --out "$ROOT/docs/explain-why-not-5.png" >/dev/null
   cp neurons/neuron-42.png "$ROOT/docs/neuron-42-card.png"
   cp max-3.png "$ROOT/docs/maximize-class-3.png"
   ./digitlens classify --model mnist.dlm docs/examples/d3-pen-photo-05.jpg docs/examples/d3-pen-photo-06.jpg --save-preprocessed pre >/dev/null
   cp pre/d3-pen-photo-05.jpg.28x28.png "$ROOT/docs/examples/d3-pen-photo-05-28x28.png"
   cp pre/d3-pen-photo-06.jpg.28x28.png "$ROOT/docs/examples/d3-pen-photo-06-28x28.png") || exit 1
  echo "wrote ${#BLOCK[@]} samples into $README (data md5 $DATA_MD5, model crc $CRC) and the pictures in docs/"
  exit 0
fi

# --check
recorded=$(grep -m1 '^<!-- samples: ' "$README")
exact=0
[[ "$recorded" == *"data md5 $DATA_MD5, mnist.dlm crc $CRC "* ]] && exact=1
if [ "$exact" = 1 ]; then how=exact; else how=shape; fi
[ "$exact" = 1 ] || echo "# readme samples: this machine's model (crc $CRC, data md5 $DATA_MD5) is not README's ($recorded): comparing the shape of each output, not its numbers"
for s in "${SAMPLES[@]}"; do
  name=${s%%|*}
  [ -n "${BLOCK[$name]:-}" ] || continue
  want=$(readme_block "$name")
  got=${BLOCK[$name]}
  if [ -z "$want" ]; then fail "readme_sample_$name" "README has no <!-- sample $name --> block"; continue; fi
  if [ "$exact" = 1 ]; then
    # Timings differ on every run: compared by shape even here.
    a=$(printf '%s\n' "$want" | sed -E 's/[0-9.]+ m?s\b/# s/g')
    b=$(printf '%s\n' "$got" | sed -E 's/[0-9.]+ m?s\b/# s/g')
  else
    a=$(printf '%s\n' "$want" | shape)
    b=$(printf '%s\n' "$got" | shape)
  fi
  if [ "$a" = "$b" ]; then pass "readme_sample_${name}_${how}"
  else fail "readme_sample_${name}_${how}" "README differs from the tour's output: $(diff <(printf '%s\n' "$a") <(printf '%s\n' "$b") | head -4 | tr '\n' ' ')"; fi
done
for name in "${!VALUE[@]}"; do
  quoted=$(grep -o "<!-- value $name -->[^<]*<!-- /value -->" "$README" | sed -E 's/<[^>]*>//g' | sort -u)
  if [ -z "$quoted" ]; then fail "readme_value_$name" "not quoted in README"
  elif [ "$exact" = 0 ] || [ "$quoted" = "${VALUE[$name]}" ]; then pass "readme_value_${name}_${how}"
  else fail "readme_value_${name}_${how}" "README says $quoted, the tour gives ${VALUE[$name]}"; fi
done
exit $((FAILS > 0))
