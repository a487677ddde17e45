# test_interop.sh — `export` and `import` end to end: .npy files as plain
# Python and NumPy read them (network.py's feedforward on them gives
# digitlens's outputs), network2.py JSON out and back in, and every broken
# JSON refused with one line that says where.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"$DL" train --data "$FIX" --layers 784,12,2 --epochs 2 --quiet --out "$TMP/m.dlm" || { fail train "no model"; finish; }

# --- export ------------------------------------------------------------------
expect_fail export_needs_a_target 2 "--npy DIR, --json FILE and/or --onnx FILE" "$DL" export --model "$TMP/m.dlm"
run "$DL" export --model "$TMP/m.dlm" --npy "$TMP/npy" --json "$TMP/m.json"
files=$(cd "$TMP/npy" 2>/dev/null && ls | tr '\n' ' ')
[ "$RC" = 0 ] && [ "$files" = "biases0.npy biases1.npy weights0.npy weights1.npy " ] && grep -q "(12, 784)" <<<"$OUT" \
  && pass export_writes_weights_and_biases_per_layer || fail export_writes_weights_and_biases_per_layer "rc $RC: $files $ERR"
# The header as NumPy writes it: 128 bytes for this shape, then 12*784 float32s.
hdr=$(head -c 128 "$TMP/npy/weights0.npy" | tail -c +11 | tr -d '\n')
size=$(stat -c %s "$TMP/npy/weights0.npy")
[[ "$hdr" == "{'descr': '<f4', 'fortran_order': False, 'shape': (12, 784), }"* ]] && [ "$size" = $((128 + 4 * 12 * 784)) ] \
  && pass npy_header_says_f4_c_order_12x784 || fail npy_header_says_f4_c_order_12x784 "header '$hdr', $size bytes"
hdr=$(head -c 128 "$TMP/npy/biases1.npy" | tail -c +11 | tr -d '\n')
[[ "$hdr" == "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }"* ]] \
  && pass npy_biases_are_columns || fail npy_biases_are_columns "header '$hdr'"
[[ "$(head -c 60 "$TMP/m.json")" == '{"sizes": [784, 12, 2], "weights": [[['* ]] \
  && pass export_json_is_network2_format || fail export_json_is_network2_format "$(head -c 60 "$TMP/m.json")"

PY=$(command -v python3 || true)
if [ -n "$PY" ]; then
  # Plain Python (no NumPy): the .npy bytes hold exactly the JSON's numbers.
  run "$PY" - "$TMP/npy" "$TMP/m.json" <<'EOF'
import json, struct, sys, ast
d, j = sys.argv[1], json.load(open(sys.argv[2]))
for kind in ("weights", "biases"):
    for l, ref in enumerate(j[kind]):
        raw = open(f"{d}/{kind}{l}.npy", "rb").read()
        assert raw[:8] == b"\x93NUMPY\x01\x00", raw[:8]
        hl = struct.unpack("<H", raw[8:10])[0]
        h = ast.literal_eval(raw[10:10 + hl].decode("latin1"))
        shape = (len(ref), len(ref[0]))
        assert h == {"descr": "<f4", "fortran_order": False, "shape": shape}, (h, shape)
        vals = struct.unpack(f"<{shape[0] * shape[1]}f", raw[10 + hl:])
        flat = [x for row in ref for x in row]
        bad = [i for i, (a, b) in enumerate(zip(vals, flat)) if struct.pack("<f", b) != struct.pack("<f", a)]
        assert not bad and len(vals) == len(flat), f"{kind}{l}: {len(bad)} values differ"
print("ok")
EOF
  [ "$RC" = 0 ] && [ "$OUT" = ok ] && pass npy_and_json_hold_the_same_float32s || fail npy_and_json_hold_the_same_float32s "$ERR"
else
  skip npy_and_json_hold_the_same_float32s "python3 is not installed"
fi

NPY_PY=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c "import numpy" 2>/dev/null; then NPY_PY=$p; break; fi
done
if [ -n "$NPY_PY" ]; then
  # network.py's feedforward on the loaded arrays gives digitlens's outputs.
  "$DL" classify --model "$TMP/m.dlm" --json --images "$FIX/t10k-images-idx3-ubyte.gz" --index 0-49 >"$TMP/cls.json"
  run "$NPY_PY" - "$TMP/npy" "$FIX" "$TMP/cls.json" <<'EOF'
import gzip, json, sys
import numpy as np
d, fix, cls = sys.argv[1], sys.argv[2], sys.argv[3]
weights = [np.load(f"{d}/weights{l}.npy") for l in range(2)]
biases = [np.load(f"{d}/biases{l}.npy") for l in range(2)]
assert weights[0].shape == (12, 784) and weights[0].dtype == np.float32, weights[0].shape
assert weights[1].shape == (2, 12) and biases[0].shape == (12, 1) and biases[1].shape == (2, 1)
img = gzip.open(f"{fix}/t10k-images-idx3-ubyte.gz").read()
x = np.frombuffer(img[16:], np.uint8).reshape(-1, 784).astype(np.float64) / 255.0
def feedforward(a):  # network.py, column vectors
    for b, w in zip(biases, weights):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    return a
worst = 0.0
for line in open(cls):
    r = json.loads(line)
    out = feedforward(x[r["index"]].reshape(784, 1)).ravel()
    assert int(np.argmax(out)) == r["digit"], (r["index"], out, r)
    worst = max(worst, float(np.max(np.abs(out - np.array(r["outputs"])))))
assert worst < 1e-4, worst
print("ok")
EOF
  [ "$RC" = 0 ] && [ "$OUT" = ok ] && pass numpy_network_py_feedforward_gives_digitlens_outputs \
    || fail numpy_network_py_feedforward_gives_digitlens_outputs "$OUT $ERR"
else
  skip numpy_network_py_feedforward_gives_digitlens_outputs "numpy is not installed (apt-get install python3-numpy)"
fi

# --- import ------------------------------------------------------------------
run "$DL" import --nielsen "$TMP/m.json" --out "$TMP/back.dlm"
a=$("$DL" test --model "$TMP/m.dlm" --data "$FIX" --json | grep -o '"confusion":.*')
b=$("$DL" test --model "$TMP/back.dlm" --data "$FIX" --json | grep -o '"confusion":.*')
[ "$RC" = 0 ] && grep -q "784,12,2 (quadratic cost, input 28x28)" <<<"$OUT" && [ -n "$a" ] && [ "$a" = "$b" ] \
  && pass import_of_export_classifies_identically || fail import_of_export_classifies_identically "rc $RC $OUT $ERR; $a vs $b"
J=$TMP/json
mkdir -p "$J"
good='{"sizes": [4, 3, 2], "weights": [[[0.1, -0.2, 0.3, 0.4], [1.5, 2.25, 0.0, -0.0], [3.0, -3.0, 0.5, -0.5]], [[1.0, 2.0, 3.0], [-1.0, -2.0, -3.5]]], "biases": [[[0.5], [-0.25], [1.75]], [[-1.0], [2.0]]], "cost": "CrossEntropyCost"}'
printf '%s' "$good" >"$J/good.json"
run "$DL" import --nielsen "$J/good.json" --shape 2x2 --out "$J/good.dlm"
[ "$RC" = 0 ] && grep -q "4,3,2 (cross-entropy cost, input 2x2)" <<<"$OUT" && [ -s "$J/good.dlm" ] \
  && pass import_network2_file_with_shape || fail import_network2_file_with_shape "rc $RC $OUT $ERR"
run "$DL" import --nielsen "$J/good.json" --out "$J/flat.dlm"
grep -q "input 1x4" <<<"$OUT" && pass import_defaults_to_one_row || fail import_defaults_to_one_row "$OUT $ERR"
expect_fail import_bad_shape 2 "--shape '28' is not ROWSxCOLS" "$DL" import --nielsen "$J/good.json" --shape 28 --out "$J/x.dlm"
expect_fail import_shape_mismatch 2 "the input layer has 4 neurons, not 3x3" \
  "$DL" import --nielsen "$J/good.json" --shape 3x3 --out "$J/x.dlm"
expect_fail import_needs_file_and_out 2 "^digitlens: import: --out FILE is required$" "$DL" import --nielsen "$J/good.json"
expect_fail import_needs_a_source 2 "^digitlens: import: exactly one of --nielsen FILE or --onnx FILE is required$" \
  "$DL" import --out "$J/x.dlm"

# Broken variants: each exits 1 with one line naming the file and the fault.
bad() { # NAME PATTERN TEXT
  printf '%s' "$3" >"$J/$1.json"
  expect_fail "import_refuses_$1" 1 "$J/$1.json: .*$2" "$DL" import --nielsen "$J/$1.json" --out "$J/x.dlm"
}
bad missing_key 'no "biases" key' "${good/\"biases\"/\"bias\"}"
bad ragged 'weights\[0\]\[1\] has 3 numbers where 4 are expected' "${good/, 0.0, -0.0]/, 0.0]}"
bad wrong_sizes 'weights\[1\] has 2 entries but sizes\[2\] is 3' "${good/\[4, 3, 2\]/[4, 3, 3]}"
bad non_number 'weights\[0\]\[0\]\[1\] is a string, not a number' "${good/-0.2/\"-0.2\"}"
bad truncated 'truncated' "${good:0:100}"
bad nan 'Infinity and NaN are not JSON numbers' "${good/0.3/NaN}"
bad not_json 'line 1, column 1: expected a value' 'sizes = [4, 3, 2]'
printf '' >"$J/empty.json"
expect_fail import_refuses_empty_file 1 "empty file" "$DL" import --nielsen "$J/empty.json" --out "$J/x.dlm"
expect_fail import_missing_file 1 "nope.json: No such file" "$DL" import --nielsen "$J/nope.json" --out "$J/x.dlm"
[ ! -e "$J/x.dlm" ] && pass failed_imports_write_nothing || fail failed_imports_write_nothing "x.dlm exists"

finish
