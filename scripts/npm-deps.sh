#!/usr/bin/env bash
# npm-deps.sh — the test-only npm packages (tests/npm/package.json, pinned with
# its package-lock.json: onnxruntime-node), installed into build/npm, never
# committed.  The ONNX test calls it; exit 0 and the directory on stdout when
# the packages are there, exit 1 with one line saying why on stderr when they
# cannot be had (no npm, registry unreachable, DIGITLENS_OFFLINE=1): the test
# then SKIPs.  A rerun with the same lock file does nothing.
#   DIGITLENS_NPM_DIR   where to install (default build/npm)
#
# --ignore-scripts: onnxruntime-node's postinstall (script/install.js) fetches
# the CUDA and TensorRT providers from nuget.org on linux/x64; the CPU runtime
# the tests use is in the npm tarball itself, and nuget.org is not reachable.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/tests/npm
dir=${DIGITLENS_NPM_DIR:-$root/build/npm}

if [ -f "$dir/node_modules/onnxruntime-node/package.json" ] &&
   cmp -s "$src/package-lock.json" "$dir/package-lock.json"; then
  echo "$dir"
  exit 0
fi
if [ "${DIGITLENS_OFFLINE:-0}" = 1 ]; then
  echo "npm-deps: not installing $src's packages: DIGITLENS_OFFLINE=1" >&2
  exit 1
fi
for t in node npm; do
  command -v $t >/dev/null || { echo "npm-deps: $t is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
done

# Installed beside the target and renamed into place: an interrupted or
# failed install leaves no half-filled directory behind.
mkdir -p "$(dirname "$dir")"
work=$(mktemp -d "$dir.tmp-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$work/"
start=$(date +%s)
if ! (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
        --fetch-retries=1 --fetch-timeout=60000 >npm.out 2>npm.err); then
  why=$(grep -m1 -E '^npm error [A-Za-z]*Error:' "$work/npm.err" ||
        grep -m1 -E '^npm error (code|[0-9]{3})' "$work/npm.err" || true)
  echo "npm-deps: npm ci in $dir failed${why:+: ${why#npm error }}" >&2
  exit 1
fi
rm -f "$work/npm.out" "$work/npm.err"
rm -rf "$dir"
mv "$work" "$dir"
trap - EXIT
echo "npm-deps: installed $(cd "$dir" && node -p "Object.keys(require('./package.json').dependencies).map(p => p + ' ' + require('./node_modules/' + p + '/package.json').version).join(', ')") in $dir ($(du -sm "$dir" | cut -f1) MB, $(($(date +%s) - start)) s)" >&2
echo "$dir"
