# test_readme_samples.sh — README's sample outputs are what the tour's own
# commands print (scripts/readme-samples.sh --check: exact where this
# machine gives README's model, else the shape of each output; skipped
# without data/mnist).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIGITLENS=$DL bash "$ROOT/scripts/readme-samples.sh" --check
