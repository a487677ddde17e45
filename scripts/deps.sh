#!/usr/bin/env bash
# deps.sh — the Debian packages digitlens builds, tests and draws with.
#   --check    exit 0 when all are installed, 1 otherwise (prints what is missing)
#   --ensure   install what is missing (needs root), do nothing when all are there
#   --install  same as --ensure (the `make deps` entry point)
set -euo pipefail

PACKAGES=(
  gcc make pkg-config       # the build
  zlib1g-dev                # gzip reading, CRC-32, PNG compression
  libgif-dev                # giflib: the animated GIFs of digitlens evolve
  libstb-dev                # stb_image, stb_image_write, stb_image_resize, stb_truetype
  fonts-dejavu-core         # the font pictures are labelled with
  libcriterion-dev          # the unit-test framework
  clang                     # second compiler the tests build with
  libclang-rt-14-dev        # clang's fuzzer and sanitizer runtimes (libFuzzer harnesses)
  valgrind                  # the memory check of one training + pictures run
  time                      # /usr/bin/time: peak memory of each bad input in the tests
  chromium                  # opens the HTML report in the browser test
  nodejs                    # drives Chromium in that test (DevTools over a pipe)
  python3-numpy             # checks exported .npy files with np.load
  man-db                    # man -l: the test reads the generated manual pages
  libopenblas-dev           # make bench only: the dense BLAS trainer digitlens is measured against
  dataset-fashion-mnist     # make bench: the 60,000 Fashion-MNIST images its training figures are of
  liblapacke-dev            # LAPACK's C interface: PCA's eigensolver (embed)
  python3-sklearn           # embed's numbers checked against scikit-learn; its TSNE in make bench
  protobuf-c-compiler libprotobuf-c-dev  # protoc-c and its runtime: ONNX in and out
  libonnx-dev               # ONNX's schema (onnx/onnx.proto), compiled at build time
  python3-onnx              # checks exported ONNX files (onnx.checker)
  python3-torch             # exports the PyTorch MLPs the ONNX import is tested on
)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm installs the ONNX test's onnxruntime-node (scripts/npm-deps.sh, into
# build/npm). Asked of the command, not dpkg: Debian's nodejs has no npm, but
# NodeSource's nodejs ships one and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || missing+=(npm)

mode=${1:---check}
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$mode" = --check ]; then
  echo "deps: missing: ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "digitlens: missing packages: ${missing[*]} (run 'sudo make deps' or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
