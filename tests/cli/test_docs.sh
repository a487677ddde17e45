# test_docs.sh — README promises that match the code: the bad-input table
# in README is the one tests/cli/test_bad_inputs.sh generates, and every
# command README shows is one `digitlens help` lists.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
missing=0
while IFS= read -r row; do
  grep -qF -- "$row" "$ROOT/README.md" || { missing=$((missing + 1)); echo "# not in README: $row"; }
done < <(grep '^| [0-9]' "$ROOT/tests/cli/bad-inputs.md")
[ "$missing" = 0 ] && pass readme_has_every_bad_input_row || fail readme_has_every_bad_input_row "$missing rows differ"
run "$DL" help
unknown=""
for c in $(grep -oE '\./digitlens [a-z]+' "$ROOT/README.md" | awk '{print $2}' | sort -u); do
  grep -qE "^  $c " <<<"$OUT" || unknown="$unknown $c"
done
[ -z "$unknown" ] && pass readme_commands_exist || fail readme_commands_exist "not commands:$unknown"
grep -q '^make test' "$ROOT/.ci/run" && pass ci_runs_make_test || fail ci_runs_make_test ".ci/run does not run make test"
marks=$(grep -nE '^(<<<<<<<|>>>>>>>) ' "$ROOT/README.md" | head -3)
[ -z "$marks" ] && pass readme_has_no_merge_conflict_markers || fail readme_has_no_merge_conflict_markers "$marks"
finish
