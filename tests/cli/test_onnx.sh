# test_onnx.sh — ONNX out and in, end to end: every file `export --onnx`
# writes passes onnx.checker, and its graph, evaluated from its own
# initialisers by the small numpy evaluator below, gives `classify --json`'s
# outputs; MLPs PyTorch's torch.onnx.export writes (each activation, with and
# without Softmax, Flatten, view, MatMul + Add, opsets 9 to 17, initialisers
# as inputs or as float_data, Identity) import and classify as torch does;
# hostile files are refused with one line, exit 1, and nothing written; both
# kinds of file run in onnxruntime as classify and torch do.
# Uses Debian's python3-onnx and python3-torch (/usr/bin/python3) and npm's
# onnxruntime-node (scripts/npm-deps.sh), skipping with a message where they
# are absent.
. "$(dirname "$0")/lib.sh"
FIX=$TMP/fix
mkdir -p "$FIX"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 400 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
IMAGES=$FIX/t10k-images-idx3-ubyte.gz
TORCH_NAMES=

PY=
for p in ${TEST_PYTHON:-/usr/bin/python3 python3}; do  # TEST_PYTHON=none shows the skips
  if command -v "$p" >/dev/null && "$p" -c "import numpy" 2>/dev/null; then PY=$p; break; fi
done
have() { [ -n "$PY" ] && "$PY" -c "import $1" 2>/dev/null; }

# --- export ------------------------------------------------------------------
train() { # NAME LAYERS extra options...
  local name=$1 layers=$2
  shift 2
  "$DL" train --data "$FIX" --layers "$layers" --epochs 1 --limit 200 --quiet --out "$TMP/$name.dlm" "$@" \
    || fail "train_$name" "no model"
}
train sig 784,12,2
train relu 784,16,8,2 --activation relu --output softmax
train tanh 784,10,2 --activation tanh --output softmax --cost log-likelihood
for m in sig relu tanh; do
  run "$DL" export --model "$TMP/$m.dlm" --onnx "$TMP/$m.onnx"
  [ "$RC" = 0 ] && [ -s "$TMP/$m.onnx" ] && grep -q "ONNX opset 13" <<<"$OUT" \
    && pass "export_onnx_$m" || fail "export_onnx_$m" "rc $RC: $ERR"
done
expect_fail export_onnx_needs_a_directory_that_exists 1 "nowhere" "$DL" export --model "$TMP/sig.dlm" --onnx "$TMP/nowhere/x.onnx"
[ ! -e "$TMP/nowhere" ] && pass export_onnx_leaves_nothing_when_it_fails || fail export_onnx_leaves_nothing_when_it_fails "$(ls "$TMP/nowhere")"

if have onnx; then
  run "$PY" - "$TMP"/sig.onnx "$TMP"/relu.onnx "$TMP"/tanh.onnx <<'EOF'
import sys, onnx
for f in sys.argv[1:]:
    m = onnx.load(f)
    onnx.checker.check_model(m, full_check=True)   # structure, opset, types and shape inference
    assert m.producer_name == "digitlens" and m.producer_version, m.producer_name
    assert [(o.domain, o.version) for o in m.opset_import] == [("", 13)], m.opset_import
    x, = m.graph.input
    assert x.name == "x" and [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim] == ["N", 784]
    assert [o.name for o in m.graph.output] == ["y"]
print("ok")
EOF
  [ "$RC" = 0 ] && [ "$OUT" = ok ] && pass onnx_checker_accepts_every_export || fail onnx_checker_accepts_every_export "$ERR"

  # The graph evaluated from its own initialisers with numpy agrees with classify.
  for m in sig relu tanh; do
    "$DL" classify --model "$TMP/$m.dlm" --json --images "$IMAGES" --index 0-19 >"$TMP/$m.cls"
  done
  run "$PY" - "$TMP" "$IMAGES" <<'EOF'
import gzip, json, sys
import numpy as np, onnx
from onnx import numpy_helper
tmp, images = sys.argv[1], sys.argv[2]
raw = gzip.open(images).read()
pixels = np.frombuffer(raw[16:], np.uint8).reshape(-1, 784)

def evaluate(model, x):
    """A tiny ONNX evaluator: the ops digitlens writes and reads."""
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env[g.input[0].name] = x
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [env[k] for k in n.input if k]
        if n.op_type == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(i) > 2: y = y + a.get("beta", 1.0) * i[2]
        elif n.op_type == "MatMul": y = i[0] @ i[1]
        elif n.op_type == "Add": y = i[0] + i[1]
        elif n.op_type == "Sigmoid": y = 1 / (1 + np.exp(-i[0]))
        elif n.op_type == "Tanh": y = np.tanh(i[0])
        elif n.op_type == "Relu": y = np.maximum(i[0], 0)
        elif n.op_type == "Softmax":
            z = i[0] - i[0].max(axis=a.get("axis", -1), keepdims=True)
            y = np.exp(z) / np.exp(z).sum(axis=a.get("axis", -1), keepdims=True)
        else: raise SystemExit(f"evaluator: no {n.op_type}")
        env[n.output[0]] = y.astype(np.float32)
    return env[g.output[0].name]

worst = 0.0
for m in ("sig", "relu", "tanh"):
    model = onnx.load(f"{tmp}/{m}.onnx")
    rows = [json.loads(l) for l in open(f"{tmp}/{m}.cls")]
    x = pixels[[r["index"] for r in rows]].astype(np.float32) * np.float32(1 / 255)
    y = evaluate(model, x)
    assert y.shape == (len(rows), len(rows[0]["outputs"])), y.shape
    for r, out in zip(rows, y):
        assert int(np.argmax(out)) == r["digit"], (m, r["index"])
        worst = max(worst, float(np.max(np.abs(out - np.array(r["outputs"])))))
assert worst < 1e-5, worst
print(f"ok {worst:.2g}")
EOF
  [ "$RC" = 0 ] && [[ "$OUT" == ok* ]] && pass "numpy_evaluation_of_the_graph_agrees_with_classify ($OUT)" \
    || fail numpy_evaluation_of_the_graph_agrees_with_classify "$ERR"
else
  skip onnx_checker_accepts_every_export "Debian's python3-onnx is not installed"
  skip numpy_evaluation_of_the_graph_agrees_with_classify "Debian's python3-onnx is not installed"
fi

# --- export, import: the same model ------------------------------------------
for m in sig relu tanh; do
  run "$DL" import --onnx "$TMP/$m.onnx" --out "$TMP/$m.back.dlm"
  "$DL" classify --model "$TMP/$m.back.dlm" --json --images "$IMAGES" --index 0-19 >"$TMP/$m.back.cls" 2>&1
  "$DL" classify --model "$TMP/$m.dlm" --json --images "$IMAGES" --index 0-19 >"$TMP/$m.cls" 2>&1
  [ "$RC" = 0 ] && cmp -s "$TMP/$m.cls" "$TMP/$m.back.cls" && grep -q "from\|digitlens" <<<"$OUT" \
    && pass "export_then_import_classifies_the_same_$m" || fail "export_then_import_classifies_the_same_$m" "rc $RC: $ERR"
done
run "$DL" export --model "$TMP/sig.back.dlm" --json "$TMP/sig.back.json"
"$DL" export --model "$TMP/sig.dlm" --json "$TMP/sig.json" --quiet
cmp -s "$TMP/sig.json" "$TMP/sig.back.json" && pass export_then_import_keeps_every_parameter \
  || fail export_then_import_keeps_every_parameter "the JSON of the two models differs"
run "$DL" test --model "$TMP/relu.back.dlm" --data "$FIX"
[ "$RC" = 0 ] && pass imported_model_is_tested_like_any_other || fail imported_model_is_tested_like_any_other "rc $RC: $ERR"
run "$DL" report --model "$TMP/relu.back.dlm" --data "$FIX" --out "$TMP/report" --quiet
[ "$RC" = 0 ] && [ -s "$TMP/report/index.html" ] && grep -q "relu hidden layers, softmax output" "$TMP/report/index.html" \
  && pass imported_model_is_reported_on || fail imported_model_is_reported_on "rc $RC: $ERR"
run "$DL" explain --model "$TMP/relu.back.dlm" --images "$IMAGES" --index 3 --out "$TMP/explain.png"
[ "$RC" = 0 ] && [ -s "$TMP/explain.png" ] && pass imported_model_is_explained || fail imported_model_is_explained "rc $RC: $ERR"

expect_fail import_takes_one_source 2 "one of --nielsen FILE or --onnx FILE" \
  "$DL" import --onnx "$TMP/sig.onnx" --nielsen "$TMP/sig.json" --out "$TMP/x.dlm"

# --- PyTorch's files -----------------------------------------------------------
if have torch && have onnx; then
  mkdir -p "$TMP/torch"
  run "$PY" - "$TMP/torch" "$IMAGES" <<'EOF'
import gzip, json, shutil, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, onnx, torch
from onnx import helper, numpy_helper
out, images = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
nn = torch.nn
raw = gzip.open(images).read()
x = torch.tensor(np.frombuffer(raw[16:], np.uint8).reshape(-1, 784)[:10].astype(np.float32) * np.float32(1 / 255))

class View(nn.Module):            # x.view(-1, 784): Reshape to a Constant shape
    def __init__(s):
        super().__init__(); s.a = nn.Linear(784, 20); s.b = nn.Linear(20, 10)
    def forward(s, x): return torch.softmax(s.b(torch.relu(s.a(x.view(-1, 784)))), dim=1)
class ViewSize(nn.Module):        # x.view(x.size(0), -1): Shape, Gather, Unsqueeze, Concat, Reshape
    def __init__(s):
        super().__init__(); s.a = nn.Linear(784, 20); s.b = nn.Linear(20, 10)
    def forward(s, x): return s.b(torch.tanh(s.a(x.view(x.size(0), -1))))
class MatMulAdd(nn.Module):       # x @ W + b: MatMul and Add
    def __init__(s):
        super().__init__()
        s.w1 = nn.Parameter(torch.randn(784, 24) * 0.05); s.b1 = nn.Parameter(torch.randn(24))
        s.w2 = nn.Parameter(torch.randn(24, 10) * 0.3); s.b2 = nn.Parameter(torch.randn(10))
    def forward(s, x): return torch.sigmoid(torch.sigmoid(x @ s.w1 + s.b1) @ s.w2 + s.b2)

S = nn.Sequential
cases = {  # name: (model, input shape, opset, keep initialisers as inputs)
    "relu_softmax": (S(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(dim=1)), (784,), 14, False),
    "relu_logits": (S(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)), (784,), 13, False),
    "sigmoid": (S(nn.Linear(784, 20), nn.Sigmoid(), nn.Linear(20, 10), nn.Sigmoid()), (784,), 13, False),
    "tanh_softmax": (S(nn.Linear(784, 16), nn.Tanh(), nn.Linear(16, 10), nn.Softmax(dim=-1)), (784,), 17, False),
    "flatten_tanh_logits": (S(nn.Flatten(), nn.Linear(784, 24), nn.Tanh(), nn.Linear(24, 10)), (1, 28, 28), 11, False),
    "deep_relu": (S(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                    nn.Linear(16, 10), nn.Softmax(dim=1)), (784,), 9, False),
    "inputs_too": (S(nn.Linear(784, 12), nn.ReLU(), nn.Linear(12, 10), nn.Softmax(dim=1)), (784,), 9, True),
    "no_bias": (S(nn.Linear(784, 16, bias=False), nn.ReLU(), nn.Linear(16, 10)), (784,), 13, False),
    "view": (View(), (1, 28, 28), 13, False),
    "view_size": (ViewSize(), (1, 28, 28), 14, False),
    "matmul_add": (MatMulAdd(), (784,), 13, False),
}
expect = {}
for name, (model, shape, opset, keep) in cases.items():
    model.eval()
    f = f"{out}/{name}.onnx"
    torch.onnx.export(model, torch.zeros((1,) + shape), f, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=opset,
                      keep_initializers_as_inputs=keep)
    with torch.no_grad():
        y = model(x.reshape((-1,) + shape))
    with open(f"{out}/{name}.torch.jsonl", "w") as fh:  # torch's own outputs, for onnxruntime
        for i, row in enumerate(y.numpy().tolist()):
            fh.write(json.dumps({"index": i, "shape": list(shape), "outputs": row}) + "\n")
    last = list(model.children())[-1] if isinstance(model, S) else None
    if name.endswith("logits") or name in ("no_bias", "view_size"):
        y = torch.softmax(y, dim=1)   # digitlens reads a last layer of logits as softmax
    expect[name] = y.numpy().tolist()
    ops = {n.op_type for n in onnx.load(f).graph.node}
    if name == "matmul_add": assert {"MatMul", "Add"} <= ops and "Gemm" not in ops, ops
    if name == "view_size": assert {"Shape", "Gather", "Concat", "Reshape"} <= ops, ops
    if name == "flatten_tanh_logits": assert "Flatten" in ops, ops

# The same network with its initialisers as float_data rather than raw_data,
# and with Identity nodes around its activation.
m = onnx.load(f"{out}/relu_softmax.onnx")
for t in m.graph.initializer:
    a = numpy_helper.to_array(t)
    t.CopyFrom(helper.make_tensor(t.name, onnx.TensorProto.FLOAT, a.shape, a.flatten().tolist(), raw=False))
onnx.save(m, f"{out}/float_data.onnx")
expect["float_data"] = expect["relu_softmax"]
shutil.copy(f"{out}/relu_softmax.torch.jsonl", f"{out}/float_data.torch.jsonl")
m = onnx.load(f"{out}/relu_softmax.onnx")
relu = next(n for n in m.graph.node if n.op_type == "Relu")
src, dst = relu.input[0], relu.output[0]
relu.input[0], relu.output[0] = "id_in", "id_out"
k = list(m.graph.node).index(relu)
m.graph.node.insert(k + 1, helper.make_node("Identity", ["id_out"], [dst], name="after"))
m.graph.node.insert(k, helper.make_node("Identity", [src], ["id_in"], name="before"))
onnx.checker.check_model(m)
onnx.save(m, f"{out}/identity.onnx")
expect["identity"] = expect["relu_softmax"]
shutil.copy(f"{out}/relu_softmax.torch.jsonl", f"{out}/identity.torch.jsonl")
json.dump(expect, open(f"{out}/expect.json", "w"))
print(" ".join(sorted(expect)))
EOF
  if [ "$RC" != 0 ]; then
    fail torch_exports "$ERR"
  else
    TORCH_NAMES=$OUT
    for name in $OUT; do
      run "$DL" import --onnx "$TMP/torch/$name.onnx" --out "$TMP/torch/$name.dlm"
      if [ "$RC" = 0 ] && grep -q "pytorch\|digitlens" <<<"$OUT"; then
        "$DL" classify --model "$TMP/torch/$name.dlm" --json --images "$IMAGES" --index 0-9 >"$TMP/torch/$name.cls"
        pass "torch_${name}_imports"
      else
        fail "torch_${name}_imports" "rc $RC: $ERR"
      fi
    done
    run "$PY" - "$TMP/torch" <<'EOF'
import json, sys
import numpy as np
d = sys.argv[1]
expect = json.load(open(f"{d}/expect.json"))
bad = []
for name, want in expect.items():
    try:
        rows = [json.loads(l) for l in open(f"{d}/{name}.cls")]
    except FileNotFoundError:
        bad.append(f"{name}: not imported"); continue
    got = np.array([r["outputs"] for r in rows])
    want = np.array(want)
    # classify prints 6 significant digits: compare relative to each value's size
    err = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))
    if got.shape != want.shape or err > 1e-5 or (np.argmax(got, 1) != np.argmax(want, 1)).any():
        bad.append(f"{name}: {err:.3g}")
print("; ".join(bad) if bad else f"ok {len(expect)}")
EOF
    [ "$RC" = 0 ] && [[ "$OUT" == ok* ]] && pass "torch_models_classify_as_torch_does ($OUT)" \
      || fail torch_models_classify_as_torch_does "$OUT $ERR"
  fi
else
  skip torch_models_import_and_classify_as_torch_does "Debian's python3-torch or python3-onnx is not installed"
fi

# digitlens's exports run in PyTorch: a torch nn.Sequential built from each graph's nodes, with
# the weights of its initialisers, gives classify's outputs.
if have torch && have onnx; then
  run "$PY" - "$TMP" "$IMAGES" <<'EOF'
import gzip, json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, onnx, torch
from onnx import numpy_helper
tmp, images = sys.argv[1], sys.argv[2]
pixels = np.frombuffer(gzip.open(images).read()[16:], np.uint8).reshape(-1, 784)
worst = 0.0
for m in ("sig", "relu", "tanh"):
    g = onnx.load(f"{tmp}/{m}.onnx").graph
    init = {t.name: torch.tensor(numpy_helper.to_array(t)) for t in g.initializer}
    layers = []
    for n in g.node:
        if n.op_type == "Gemm":
            lin = torch.nn.Linear(init[n.input[1]].shape[1], init[n.input[1]].shape[0])
            lin.weight.data, lin.bias.data = init[n.input[1]], init[n.input[2]]
            layers.append(lin)
        else:
            layers.append({"Sigmoid": torch.nn.Sigmoid(), "Tanh": torch.nn.Tanh(), "Relu": torch.nn.ReLU(),
                           "Softmax": torch.nn.Softmax(dim=1)}[n.op_type])
    net = torch.nn.Sequential(*layers)
    rows = [json.loads(l) for l in open(f"{tmp}/{m}.cls")]
    with torch.no_grad():
        y = net(torch.tensor(pixels[[r["index"] for r in rows]].astype(np.float32) * np.float32(1 / 255))).numpy()
    worst = max(worst, float(np.max(np.abs(y - np.array([r["outputs"] for r in rows])))))
assert worst < 1e-5, worst
print(f"ok {worst:.2g}")
EOF
  [ "$RC" = 0 ] && [[ "$OUT" == ok* ]] && pass "exported_graph_runs_in_pytorch_as_classify_does ($OUT)" \
    || fail exported_graph_runs_in_pytorch_as_classify_does "$ERR"
else
  skip exported_graph_runs_in_pytorch_as_classify_does "Debian's python3-torch or python3-onnx is not installed"
fi

# --- onnxruntime ---------------------------------------------------------------
# digitlens's exports run in onnxruntime (npm's onnxruntime-node, CPU, pinned in
# tests/npm; scripts/npm-deps.sh installs it into build/npm once) and give
# classify's outputs: every hidden activation under each output, and deeper
# nets, on real MNIST digits where a copy is at hand (data/mnist or
# ../shared/data/mnist), else on the fixture: the same digit, |dy| <= 1e-5
# (classify prints 6 significant digits; as the numpy and PyTorch checks
# above).  And PyTorch's files made above give torch's own outputs (full
# float32 on both sides: |dy| <= 1e-6 relative to max(1, |y|)).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ORT=
if ! command -v node >/dev/null; then
  ort_why="node is not installed (apt-get install nodejs)"
elif ORT=$("$ROOT/scripts/npm-deps.sh" 2>"$TMP/npm.err"); then
  sed 's/^/# /' "$TMP/npm.err"
  ORT=$ORT/node_modules
else
  ORT= ort_why="onnxruntime-node is not installed: $(tail -n 1 "$TMP/npm.err")"
fi
if [ -n "$ORT" ]; then
  OD=$FIX K=2 N=200 LIMIT=200
  for d in "$ROOT/data/mnist" "$ROOT/../shared/data/mnist"; do
    if [ -s "$d/t10k-images-idx3-ubyte.gz" ] && [ -s "$d/train-labels-idx1-ubyte.gz" ]; then
      OD=$d K=10 N=1000 LIMIT=2000; break
    fi
  done
  echo "# onnxruntime: models trained on $LIMIT digits of $OD, compared on $N test images"
  OIM=$OD/t10k-images-idx3-ubyte.gz
  mkdir -p "$TMP/ort"
  jobs=()
  for spec in sigmoid,sigmoid,3.0,30 sigmoid,softmax,0.5,30 relu,sigmoid,0.05,30 relu,softmax,0.05,30 \
              tanh,sigmoid,0.05,30 tanh,softmax,0.05,30 relu,softmax,0.05,64,32,16 tanh,sigmoid,0.05,32,16; do
    IFS=, read -r act out eta hidden <<<"$spec"
    name=${act}_${out}_784,$hidden,$K
    "$DL" train --data "$OD" --layers "784,$hidden,$K" --activation "$act" --output "$out" --eta "$eta" \
      --epochs 1 --limit "$LIMIT" --quiet --out "$TMP/ort/$name.dlm" &&
      "$DL" export --model "$TMP/ort/$name.dlm" --onnx "$TMP/ort/$name.onnx" --quiet &&
      "$DL" classify --model "$TMP/ort/$name.dlm" --json --images "$OIM" --index "0-$((N - 1))" >"$TMP/ort/$name.cls" \
      || fail "onnxruntime_$name" "training, export or classify failed"
    jobs+=("$name=$TMP/ort/$name.onnx:$TMP/ort/$name.cls")
  done
  # The control: the first model with one output bias moved by 1e-3 (through
  # network2.py JSON) must not pass for it.
  first=${jobs[0]%%=*}
  "$DL" export --model "$TMP/ort/$first.dlm" --json "$TMP/ort/moved.json" --quiet
  node -e 'const f = process.argv[1], j = JSON.parse(require("fs").readFileSync(f));
           const b = j.biases[j.biases.length - 1][0]; if (Array.isArray(b)) b[0] += 1e-3; else j.biases[j.biases.length - 1][0] += 1e-3;
           require("fs").writeFileSync(f, JSON.stringify(j));' "$TMP/ort/moved.json"
  "$DL" import --nielsen "$TMP/ort/moved.json" --out "$TMP/ort/moved.dlm" --quiet &&
    "$DL" export --model "$TMP/ort/moved.dlm" --onnx "$TMP/ort/moved.onnx" --quiet
  jobs+=("moved=$TMP/ort/moved.onnx:$TMP/ort/$first.cls")
  node "$ROOT/tests/cli/onnx_ort.js" "$ORT" "$OIM" 1e-5 "${jobs[@]}" >"$TMP/ort.out" 2>&1
  tjobs=()
  for name in $TORCH_NAMES; do   # PyTorch's own files, on its 10 fixture images, against torch's outputs
    tjobs+=("torch_$name=$TMP/torch/$name.onnx:$TMP/torch/$name.torch.jsonl")
  done
  [ ${#tjobs[@]} = 0 ] || node "$ROOT/tests/cli/onnx_ort.js" "$ORT" "$IMAGES" 1e-6 "${tjobs[@]}" >>"$TMP/ort.out" 2>&1
  grep '^# ' "$TMP/ort.out" | sort -u
  for job in "${jobs[@]}" "${tjobs[@]}"; do
    name=${job%%=*}
    [ "$name" = moved ] && continue
    line=$(grep -E "^(not )?ok $name:" "$TMP/ort.out" || true)
    case $name in torch_*) t="onnxruntime_runs_${name}_as_torch_does" ;;
                  *) t="onnxruntime_runs_the_${name}_export_as_classify_does" ;; esac
    if [[ "$line" == "ok "* ]]; then pass "$t (${line#ok $name: })"
    else fail "$t" "${line:+${line#not ok $name: }}${line:-no result: $(tail -n 3 "$TMP/ort.out" | tr '\n' ' ')}"; fi
  done
  line=$(grep -E "^(not )?ok moved:" "$TMP/ort.out" || true)
  [[ "$line" == "not ok moved:"*"same digit"* ]] && pass "onnxruntime_check_tells_a_moved_bias (${line#not ok moved: })" \
    || fail onnxruntime_check_tells_a_moved_bias "${line:-no result}"
  [ -z "$TORCH_NAMES" ] && skip onnxruntime_runs_the_pytorch_exports "no PyTorch files were made (see above)"
else
  skip onnxruntime_runs_the_exports_as_classify_does "$ort_why"
fi

# --- hostile files -------------------------------------------------------------
H=$TMP/hostile
mkdir -p "$H"
head -c 2000 "$TMP/sig.onnx" >"$H/truncated.onnx"
printf 'not a model at all' >"$H/text.onnx"
hostile() { # NAME PATTERN: refused with one line, exit 1, no model written, an existing one untouched
  local name=$1 pat=$2
  rm -f "$H/out.dlm"
  expect_fail "import_refuses_$name" 1 "$pat" "$DL" import --onnx "$H/$name.onnx" --out "$H/out.dlm"
  [ ! -e "$H/out.dlm" ] && [ -z "$(ls "$H" | grep tmp)" ] || fail "import_refuses_${name}_writes_nothing" "$(ls "$H")"
  cp "$TMP/sig.dlm" "$H/keep.dlm"
  "$DL" import --onnx "$H/$name.onnx" --out "$H/keep.dlm" 2>/dev/null
  cmp -s "$TMP/sig.dlm" "$H/keep.dlm" || fail "import_refuses_${name}_keeps_the_old_model" "it changed"
}
hostile truncated "truncated"
hostile text "not an ONNX model"
expect_fail import_refuses_a_missing_file 1 "missing.onnx" "$DL" import --onnx "$H/missing.onnx" --out "$H/out.dlm"

if have onnx; then
  run "$PY" - "$H" "$TMP/sig.onnx" <<'EOF'
import sys
import numpy as np, onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh
d, good = sys.argv[1], sys.argv[2]
def w(name, *shape, dtype=np.float32):
    return nh.from_array(np.random.default_rng(0).standard_normal(shape).astype(dtype), name)
def model(nodes, inits, name, inputs=None, outputs=None, opset=13, width=784):
    inputs = inputs or [h.make_tensor_value_info("x", T.FLOAT, ["N", width])]
    outputs = outputs or [h.make_tensor_value_info("y", T.FLOAT, ["N", None])]
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", opset)]), f"{d}/{name}.onnx")
gemm = lambda i, o, W, b: h.make_node("Gemm", [i, W, b], [o], name=f"gemm_{o}", transB=1)
mlp = [gemm("x", "z", "W0", "b0"), h.make_node("Relu", ["z"], ["a"], name="relu"), gemm("a", "z2", "W1", "b1"),
       h.make_node("Softmax", ["z2"], ["y"], name="softmax", axis=1)]
inits = [w("W0", 16, 784), w("b0", 16), w("W1", 10, 16), w("b1", 10)]
model(mlp, inits, "ok")                                        # the control: this one imports
model([h.make_node("Conv", ["x", "W0"], ["c"], name="conv1")] + mlp[1:], inits, "conv")
model(mlp, [w("W0", 16, 700)] + inits[1:], "bad_shapes")
model(mlp, inits, "huge_dims", inputs=[h.make_tensor_value_info("x", T.FLOAT, ["N", 1 << 40])])
model(mlp, [w("W0", 16, 784, dtype=np.float64)] + inits[1:], "float64")
model(mlp, inits, "opset_99", opset=99)
model([mlp[0], h.make_node("Softmax", ["z"], ["a"], name="early"), mlp[2], mlp[3]], inits, "softmax_hidden")
model(mlp[:3] + [h.make_node("Relu", ["z2"], ["y"], name="r2"), h.make_node("Relu", ["W1"], ["junk"], name="stray")],
      inits, "off_chain")
model(mlp[:2] + [gemm("a", "z2", "W1", "nowhere"), mlp[3]], inits, "dangling")
model(mlp + [gemm("x", "q", "W0", "b0")], inits, "two_consumers")
# a cycle: the bias of the first layer is the output of its own activation
model([h.make_node("MatMul", ["x", "Wt"], ["m"], name="mm"), h.make_node("Add", ["m", "a"], ["s"], name="add"),
       h.make_node("Relu", ["s"], ["a"], name="loop"), gemm("a", "z2", "W1", "b1"), mlp[3]],
      [w("Wt", 784, 16)] + inits[2:], "cycle")
# parameters kept in an external file
m = onnx.load(f"{d}/ok.onnx")
onnx.save(m, f"{d}/external.onnx", save_as_external_data=True, all_tensors_to_one_file=True, location="ext.bin",
          size_threshold=0)
# 4 MB of nested graphs (model.graph.node.attribute.g...), and one graph given 200,000 times
def varint(n):
    b = bytearray()
    while True:
        b.append((n & 0x7f) | (0x80 if n > 0x7f else 0)); n >>= 7
        if not n: return bytes(b)
heads, size = [], 0
for f in reversed([7] + [1, 5, 6] * 300000):
    hd = varint(f << 3 | 2) + varint(size); heads.append(hd); size += len(hd)
open(f"{d}/deep.onnx", "wb").write(b"".join(reversed(heads)))
open(f"{d}/repeated.onnx", "wb").write(b"\x3a\x02\x0a\x00" * 200000)
print("ok")
EOF
  if [ "$RC" = 0 ]; then
    run "$DL" import --onnx "$H/ok.onnx" --out "$H/ok.dlm"
    [ "$RC" = 0 ] && pass import_reads_the_control_file || fail import_reads_the_control_file "$ERR"
    hostile conv "node 'conv1' \(Conv\) is not an op digitlens reads"
    hostile bad_shapes "takes 700 inputs, but the layer before gives 784"
    hostile huge_dims "input 'x' has dimension 1 out of range"
    hostile float64 "tensor 'W0' has data type 11, not float32"
    hostile opset_99 "opset 99 is not one digitlens reads"
    hostile softmax_hidden "follows a Softmax"
    hostile off_chain "node 'stray' \(Relu\) is not on the path"
    hostile dangling "reads 'nowhere', which no initialiser"
    hostile two_consumers "tensor 'x' feeds both"
    hostile cycle "takes its bias 'a' from node 'loop' \(Relu\)"
    hostile external "external file"
    hostile deep "nested more than 16 deep"
    hostile repeated "ModelProto.graph is given twice"
  else
    fail hostile_files_made "$ERR"
  fi
else
  skip import_refuses_hostile_onnx_files "Debian's python3-onnx is not installed (truncated and text files were tested)"
fi
finish
