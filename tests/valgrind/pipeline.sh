# pipeline.sh — one short run of everything a user does, each command under
# valgrind's memcheck: train a few epochs on a small 28x28 fixture (two
# threads), test it, then draw weights, a heatmap, activations and
# templates, classify PNG files, write a report and the explorer, export and
# import JSON and ONNX, train with snapshots and draw them (evolve, the
# report's Training section), look for dead and duplicate neurons, and map
# the test set (embed).  Any invalid read or write, use of uninitialised
# memory, or definitely lost block fails that step (memcheck
# exits 1 through --error-exitcode).  One PASS/FAIL line per command.
# Expects DIGITLENS and MKFIXTURE in the environment (see tests/cli/lib.sh).
. "$(dirname "$0")/../cli/lib.sh"
if ! command -v valgrind >/dev/null; then
  skip valgrind "valgrind is not installed (apt-get install valgrind)"
  finish
fi
VG=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-origins=yes --suppressions="$(dirname "$0")/ld-so.supp")
FIX=$TMP/fix
mkdir -p "$FIX" "$TMP/png"
"${MKFIXTURE:-build/mkfixture}" "$FIX" 120 28 >/dev/null || { fail fixtures "mkfixture failed"; finish; }
"${MKFIXTURE:-build/mkfixture}" --png "$TMP/png" "$FIX/t10k-images-idx3-ubyte.gz" 2 || { fail fixtures "png"; finish; }
IMG=$FIX/t10k-images-idx3-ubyte.gz

# valgrind hides AVX-512 from the program it runs, so the kernels' dispatch
# (include/digitlens/simd.h) must pick a variant valgrind can execute:
# avx2 on a CPU that has it, else generic; never avx512.  The training step
# below then runs that variant under memcheck.
want=generic
grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && want=avx2
got=$(valgrind -q "$DL" --version 2>&1 | sed -n 's/^kernels: \([a-z0-9]*\).*/\1/p')
if [ "$got" = "$want" ]; then pass valgrind_runs_a_variant_it_can_execute
else fail valgrind_runs_a_variant_it_can_execute "under valgrind 'digitlens --version' says kernels '$got', expected $want"; fi

# memcheck NAME CMD...: runs the command under memcheck; passes when it exits 0.
memcheck() {
  local name=$1
  shift
  "${VG[@]}" "$@" >"$TMP/vg.out" 2>"$TMP/vg.err"
  local rc=$?
  if [ "$rc" = 0 ]; then pass "valgrind_$name"
  else fail "valgrind_$name" "exit $rc: $(grep -m3 -E '==[0-9]+== [A-Z]|digitlens:' "$TMP/vg.err" | tr '\n' ' ')"; fi
}

memcheck train "$DL" train --data "$FIX" --layers 784,8,2 --epochs 2 --batch 10 --threads 2 --quiet --out "$TMP/m.dlm"
memcheck test "$DL" test --model "$TMP/m.dlm" --data "$FIX" --threads 2
memcheck weights "$DL" weights --model "$TMP/m.dlm" --out "$TMP/w"
memcheck heatmap "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --index 1 --class 1 --out "$TMP/h.png"
memcheck activations_of_a_png "$DL" activations --model "$TMP/m.dlm" "$TMP/png/00000.png" --out "$TMP/a.png"
memcheck templates "$DL" templates --model "$TMP/m.dlm" --out "$TMP/t" --data "$FIX"
"$DL" train --data "$FIX" --layers 784,6,4,2 --epochs 1 --quiet --out "$TMP/deep.dlm"
memcheck contributions_deep "$DL" contributions --model "$TMP/deep.dlm" --images "$IMG" --index 1 --class 1 --vs 0 \
  --steps 16 --json --out "$TMP/c.png"
memcheck heatmap_by_contribution "$DL" heatmap --model "$TMP/m.dlm" --images "$IMG" --index 1 --class 1 --by contribution --out "$TMP/hc.png"
memcheck classify_pngs "$DL" classify --model "$TMP/m.dlm" --json "$TMP/png/00000.png" "$TMP/png/00001.png"
# The report's threads (stored pass, statistics, drawing, the write queue) and
# the JSON door, both ways.
memcheck report "$DL" report --model "$TMP/m.dlm" --data "$FIX" --out "$TMP/r" --threads 2 --mistakes 3 --quiet
# The explorer beside that report: test digits picked, the report's slot filled.
memcheck explore "$DL" explore --model "$TMP/m.dlm" --data "$FIX" --samples 20 --out "$TMP/r" --quiet
memcheck export_json "$DL" export --model "$TMP/m.dlm" --json "$TMP/m.json" --quiet
memcheck import_json "$DL" import --nielsen "$TMP/m.json" --out "$TMP/back.dlm" --quiet
# Snapshots during training (appends, the step hook), the films and plots,
# the report's Training section, and the neuron health.
memcheck train_snapshots "$DL" train --data "$FIX" --layers 784,8,2 --epochs 2 --batch 10 --threads 2 --quiet \
  --snapshot-every 4 --out "$TMP/s.dlm"
memcheck evolve "$DL" evolve --model "$TMP/s.dlm" --data "$FIX" --out "$TMP/ev" --frames 4 --rows 3 --strip 2 \
  --embedding-frames 0
memcheck report_training "$DL" report --model "$TMP/s.dlm" --data "$FIX" --out "$TMP/rs" --threads 2 --mistakes 1 --quiet
memcheck neurons "$DL" neurons --model "$TMP/s.dlm" --data "$FIX" --json --out "$TMP/n"
memcheck export_onnx "$DL" export --model "$TMP/m.dlm" --onnx "$TMP/m.onnx" --quiet
memcheck import_onnx "$DL" import --onnx "$TMP/m.onnx" --out "$TMP/back-onnx.dlm" --quiet
memcheck embed "$DL" embed --model "$TMP/m.dlm" --data "$FIX" --perplexity 5 --iterations 60 --threads 2 --glyphs --out "$TMP/e"

# Netpbm in all six forms, and pictures cut short: each refused with its
# message and without a read of uninitialised memory (which ASan cannot see;
# a cut PGM used to be classified from it).
mkdir -p "$TMP/pnm"
"${MKFIXTURE:-build/mkfixture}" --pnm "$TMP/pnm" "$IMG" 1 || fail fixtures "pnm"
memcheck classify_netpbm_p1_to_p6 "$DL" classify --model "$TMP/m.dlm" "$TMP"/pnm/00000.*
for f in p5.pgm p6.ppm p2.pgm; do head -c 500 "$TMP/pnm/00000.$f" >"$TMP/pnm/cut.$f"; done
head -c 300 "$TMP/png/00000.png" >"$TMP/pnm/cut.png"
"${VG[@]}" --error-exitcode=99 "$DL" classify --model "$TMP/m.dlm" "$TMP"/pnm/cut.* >"$TMP/vg.out" 2>"$TMP/vg.err"
rc=$?
if [ "$rc" = 1 ] && grep -q "cut.p5.pgm: truncated PGM" "$TMP/vg.err"; then pass valgrind_truncated_pictures_refused_cleanly
else fail valgrind_truncated_pictures_refused_cleanly "exit $rc: $(grep -m3 -E '==[0-9]+== [A-Z]|digitlens:' "$TMP/vg.err" | tr '\n' ' ')"; fi
finish
