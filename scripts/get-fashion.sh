#!/usr/bin/env bash
# get-fashion.sh DIR — make DIR a symlink to Debian's Fashion-MNIST files
#
# Fashion-MNIST (Zalando Research, MIT licence) is packaged by Debian as
# dataset-fashion-mnist, which installs the four standard gzip'd IDX files
# (60,000 training + 10,000 test images, 28x28, 10 classes) in
# /usr/share/datasets/fashion-mnist. If they are missing the package is
# installed with apt-get (root needed), then DIR is linked to that directory
# with `ln -sfn`. An existing DIR that is a real, non-empty directory is left
# alone (error).
#
# Environment: DIGITLENS_FASHION_SRC overrides the package directory (tests).
# Exit status: 0 done, 1 failure, 2 usage.
set -euo pipefail

PROG=get-fashion
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
    echo "usage: scripts/get-fashion.sh DIR" >&2
    exit 2
fi
DIR=${1%/}
SRC=${DIGITLENS_FASHION_SRC:-/usr/share/datasets/fashion-mnist}
PKG=dataset-fashion-mnist
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
       t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

have_all() {
    local f
    for f in "${FILES[@]}"; do [ -f "$SRC/$f" ] || return 1; done
}

if ! have_all; then
    if [ "$(id -u)" -ne 0 ]; then
        die "Fashion-MNIST is not installed ($SRC); run as root, or: sudo apt-get install $PKG"
    fi
    command -v apt-get >/dev/null 2>&1 || die "$SRC is missing and apt-get is not available to install $PKG"
    note "installing Debian's $PKG (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
    apt-get install -y -qq "$PKG" >/dev/null 2>&1 || die "apt-get install -y $PKG failed"
    have_all || die "$PKG is installed but $SRC lacks the four IDX files"
fi

# idx_count FILE -> the item count in a gzip'd IDX header ("?" if unreadable)
idx_count() {
    local hex
    hex=$( { gzip -dc -- "$1" 2>/dev/null || true; } | head -c 8 | od -An -tx1 | tr -d ' \n' ) || true
    if [ ${#hex} -eq 16 ]; then echo "$((16#${hex:8:8}))"; else echo "?"; fi
}

if [ -d "$DIR" ] && [ ! -L "$DIR" ]; then
    # ln -sfn would put the link inside a real directory: only replace an empty one
    rmdir -- "$DIR" 2>/dev/null || die "$DIR is a directory, not a link; move it away first"
fi
mkdir -p -- "$(dirname -- "$DIR")"
ln -sfn -- "$SRC" "$DIR"
note "$DIR -> $SRC: Fashion-MNIST (Zalando Research, MIT), $(idx_count "$SRC/train-images-idx3-ubyte.gz") training + $(idx_count "$SRC/t10k-images-idx3-ubyte.gz") test images"
