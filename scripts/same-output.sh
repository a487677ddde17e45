#!/usr/bin/env bash
# same-output.sh BIN_BEFORE BIN_AFTER [DATA_DIR] — do two digitlens binaries
# produce the same results?
#
# Runs one fixed set of commands (train, test, classify, weights, heatmap,
# activations, templates, explain, maximize, neuron, report, export, import)
# with each binary in a folder of its own, then compares the two folders file
# by file: models (.dlm), JSON, .npy, HTML and every command's standard output
# must be byte-identical; every PNG must decode to the same pixels (its
# compressed bytes may differ), and so must the PNGs a page carries inline as
# data: URIs (a page whose bytes differ is compared again with each such
# picture replaced by a digest of its decoded pixels: the markup itself must
# still be byte-identical).  Prints one line per file that differs and a
# summary; exits 0 only when everything is the same.
#
# The commands after `train` all read the model BIN_BEFORE trained, so a
# change in training shows once (in the train outputs) and does not hide
# everything downstream.  DATA_DIR (default data/mnist: `make data`) must hold
# the four MNIST files.  Photographed digits come from docs/examples/.
set -uo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { echo "usage: $0 BIN_BEFORE BIN_AFTER [DATA_DIR]" >&2; exit 2; }
A=$(readlink -f "$1") B=$(readlink -f "$2") DATA=$(readlink -f "${3:-data/mnist}")
for b in "$A" "$B"; do [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }; done
[ -e "$DATA/t10k-images-idx3-ubyte.gz" ] || { echo "$0: no MNIST in $DATA (make data)" >&2; exit 2; }
EXAMPLES=$PWD/docs/examples

TMP=$(mktemp -d "${TMPDIR:-/tmp}/same-output.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
STB=$(pkg-config --cflags stb 2>/dev/null || echo -I/usr/include/stb)
# shellcheck disable=SC2086
${CC:-cc} -O1 $STB scripts/png-pixels.c -o "$TMP/png-pixels" -lstb -lm || exit 2

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# pixels_html IN OUT: IN with every data:image/png;base64 URI replaced by the
# SHA-256 of the picture's decoded pixels (png-pixels).
pixels_html() {
  "$PY" - "$1" "$2" "$TMP/png-pixels" <<'PYEOF'
import base64, hashlib, re, subprocess, sys, tempfile
src, dst, tool = sys.argv[1:4]
text = open(src, encoding="utf-8").read()
def digest(m):
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(base64.b64decode(m.group(1)))
        f.flush()
        px = subprocess.run([tool, f.name], capture_output=True, check=True).stdout
    return "data:pixels;sha256," + hashlib.sha256(px).hexdigest()
open(dst, "w", encoding="utf-8").write(re.sub(r"data:image/png;base64,([A-Za-z0-9+/=]+)", digest, text))
PYEOF
}

IMG=$DATA/t10k-images-idx3-ubyte.gz
# run NAME CMD...: runs a digitlens command in the current folder, keeping its
# standard output in NAME.stdout and its exit status in NAME.rc (stderr is
# kept too but not compared: it may carry timings).
run() {
  local name=$1; shift
  "$DL" "$@" >"$name.stdout" 2>"$name.stderr"
  echo $? >"$name.rc"
}

# train MODELS_DIR: the training commands (their models are compared).
trains() {
  run train-fast train --data "$DATA" --limit 3000 --validation 500 --epochs 2 --seed 7 --threads 2 --quiet --out fast.dlm
  run train-fast1 train --data "$DATA" --limit 2000 --epochs 1 --seed 3 --threads 1 --quiet --out fast1.dlm
  run train-ref train --data "$DATA" --limit 1000 --epochs 1 --kernel reference --quiet --out ref.dlm
  run train-deep train --data "$DATA" --layers 784,30,20,10 --cost cross-entropy --lambda 1 --init normal \
      --limit 2000 --epochs 2 --eta 0.5 --quiet --out deep.dlm
  run train-01 train --data "$DATA" --layers 784,1,2 --digits 0,1 --limit 3000 --epochs 1 --quiet --out zero-one.dlm
  run train-resume train --data "$DATA" --limit 2000 --epochs 2 --resume fast1.dlm --quiet --out resumed.dlm
}

# The commands that read a model (M: 784-100-10, D: the deeper one).
uses() {
  local M=$1 D=$2 Z=$3
  run test test --model "$M" --data "$DATA"
  run test-json test --model "$M" --data "$DATA" --json
  run test-deep test --model "$D" --data "$DATA" --json
  run test-01 test --model "$Z" --data "$DATA" --json
  run classify classify --model "$M" --images "$IMG" --labels "$DATA/t10k-labels-idx1-ubyte.gz" --index 0-199 --json
  run classify-text classify --model "$M" --images "$IMG" --index 5,17
  mkdir -p pre
  run classify-photos classify --model "$M" --json --save-preprocessed pre "$EXAMPLES"/*.jpg "$EXAMPLES"/*.png
  run weights weights --model "$M" --out weights
  run weights-delta weights --model "$M" --out weights-delta --delta --shared-scale --scale 4
  run weights-l2 weights --model "$D" --out weights-l2 --layer 2 --neuron 3
  run heatmap heatmap --model "$M" --images "$IMG" --index 3 --neuron 42 --out heatmap-42.png
  run heatmap-class heatmap --model "$M" "$EXAMPLES/d3-pen-photo-05.jpg" --class 3 --rank 2 --out heatmap-c3.png
  run activations activations --model "$D" --images "$IMG" --index 8 --out activations.png
  run templates templates --model "$M" --out templates --data "$DATA"
  run explain explain --model "$M" --images "$IMG" --index 0 --method all --out explain-all.png
  run explain-deep explain --model "$D" --images "$IMG" --index 11 --method all --steps 16 --out explain-deep.png
  for m in gradient input-x-gradient integrated-gradients lrp occlusion; do
    run "explain-$m" explain --model "$M" --images "$IMG" --index 7 --method "$m" --class 4 --json
  done
  run maximize maximize --model "$M" --class 3 --steps 50 --out maximize-3.png
  run maximize-json maximize --model "$D" --neuron 5 --layer 2 --steps 30 --blur 0.5 --json --out maximize-n5.png
  mkdir -p neuron
  run neuron neuron --model "$M" --data "$DATA" --neuron 42 --out neuron
  run neuron-deep neuron --model "$D" --data "$DATA" --neuron 7 --layer 2 --top 5 --out neuron
  run report report --model "$M" --data "$DATA" --out report --threads 2 --quiet
  run report-1 report --model "$M" --data "$DATA" --out report-1thread --threads 1 --mistakes 5 --quiet
  run report-deep report --model "$D" --data "$DATA" --out report-deep --method lrp --quiet
  run report-nodata report --model "$Z" --no-data --out report-nodata --title "zero and one" --quiet
  run export export --model "$M" --npy npy --json net.json --quiet
  run import import --nielsen net.json --out imported.dlm --quiet
  run export-deep export --model "$D" --json deep.json --quiet
}

for side in a b; do
  mkdir -p "$TMP/$side/train" "$TMP/$side/use"
  if [ $side = a ]; then DL=$A; else DL=$B; fi
  (cd "$TMP/$side/train" && trains)
done
# Every later command reads the models BIN_BEFORE trained.
for side in a b; do
  if [ $side = a ]; then DL=$A; else DL=$B; fi
  (cd "$TMP/$side/use" && uses "$TMP/a/train/fast.dlm" "$TMP/a/train/deep.dlm" "$TMP/a/train/zero-one.dlm")
done

same=0 differ=0 pngs=0 inline=0
(cd "$TMP/a" && find . -type f | sort) >"$TMP/files.a"
(cd "$TMP/b" && find . -type f | sort) >"$TMP/files.b"
if ! cmp -s "$TMP/files.a" "$TMP/files.b"; then
  echo "DIFFER the file lists:"; diff "$TMP/files.a" "$TMP/files.b" | head -20
  differ=$((differ + 1))
fi
while read -r f; do
  a=$TMP/a/$f b=$TMP/b/$f
  [ -e "$b" ] || continue
  case $f in
    *.stderr) continue ;;
    *.png)
      pngs=$((pngs + 1))
      if cmp -s "$a" "$b"; then same=$((same + 1)); continue; fi
      if "$TMP/png-pixels" "$a" >"$TMP/pa" && "$TMP/png-pixels" "$b" >"$TMP/pb" && cmp -s "$TMP/pa" "$TMP/pb"; then
        same=$((same + 1))
      else
        echo "DIFFER $f (pixels)"; differ=$((differ + 1))
      fi ;;
    *.html)
      if cmp -s "$a" "$b"; then same=$((same + 1)); continue; fi
      if pixels_html "$a" "$TMP/ha" && pixels_html "$b" "$TMP/hb" && cmp -s "$TMP/ha" "$TMP/hb"; then
        same=$((same + 1)); inline=$((inline + 1))
      else
        echo "DIFFER $f"; differ=$((differ + 1))
      fi ;;
    *)
      if cmp -s "$a" "$b"; then same=$((same + 1))
      else echo "DIFFER $f"; differ=$((differ + 1)); fi ;;
  esac
done <"$TMP/files.a"

bad_rc=$(cd "$TMP/a" && grep -L '^0$' $(find . -name '*.rc' | sort) | tr '\n' ' ')
[ -z "$bad_rc" ] || echo "note: commands that failed (with both binaries alike if not listed above): $bad_rc"
echo "same-output: $same files the same ($pngs PNGs compared by pixels; $inline pages the same once their inline PNGs are compared by pixels), $differ differ"
[ "$differ" = 0 ]
