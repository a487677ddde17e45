#!/usr/bin/env bash
# make-handwriting-set.sh OUTDIR [options] — render a deterministic set of
# digit images that are NOT from MNIST, to measure how a model trained on MNIST
# does on digits "from the wild" (see scripts/handwriting-check.sh).
#
# What it makes (360 images, every run the same bytes):
#   * 12 handwriting-like / print fonts x 10 digits x 2 conditions  = 240
#   * "pen": digits drawn as jittered polyline strokes, 8 per digit =  80
#     (each has its own slant, width, loop sizes, stroke width)
#   * two harder "stress" conditions, 2 per digit each              =  40
#     lined: notebook paper with blue rules and a red margin line
#     edge:  a photo where a dark table edge / shadow enters from one side
# Dark ink on light paper, glyph 40-400 px tall, off-centre on a non-square
# canvas, rotated up to +-10 degrees, strokes thickened or thinned, then
#   scan:  white to light-grey paper, little lighting change, mild noise, PNG
#   photo: grey or yellowish paper, gradient lighting, Gaussian noise, blur,
#          JPEG at quality 35-85
# File name = label: d<digit>-<style>-<condition>-<nn>.<png|jpg>, e.g.
#   d7-humor-photo-01.jpg   d3-pen-scan-05.png   d0-kaushan-lined-01.jpg
#
# options:
#   --only REGEX     render only the images whose name matches REGEX (awk ERE),
#                    e.g. --only photo; the others are drawn the same either way
#   --ablate LIST    comma-separated degradations to leave out, to see which one
#                    costs accuracy: gradient, noise, blur, jpeg (then PNG),
#                    paper (then white); every other parameter stays the same
#   --examples DIR   also write the small README example pictures there (needs
#                    ./digitlens and a model in $DIGITLENS_MODEL; see the end)
# OUTDIR/manifest.tsv lists every image with the parameters it was drawn with.
#
# Needs: ImageMagick 6 (`convert`, `identify`; Debian package imagemagick) and
# the fonts from Debian packages
#   fonts-humor-sans fonts-comic-neue fonts-dkg-handwriting fonts-breip
#   fonts-dancingscript fonts-kaushanscript fonts-urw-base35 fonts-dejavu-core
#   fonts-bwht
# (as root: apt-get install imagemagick <those>). A missing font is an error,
# so a set is never silently smaller than the one measured.
# All randomness comes from one Park-Miller generator in awk (exact in double
# arithmetic, so mawk and gawk agree) and ImageMagick's -seed.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR [--only REGEX] [--ablate LIST] [--examples DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1; shift
EXAMPLES='' ONLY='' ABLATE=''
while [ $# -gt 0 ]; do
  case $1 in
    --examples) [ $# -ge 2 ] || usage; EXAMPLES=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; ONLY=$2; shift 2 ;;
    --ablate) [ $# -ge 2 ] || usage; ABLATE=,$2,; shift 2 ;;
    *) usage ;;
  esac
done

# ImageMagick: a real one (the sandbox may have a stand-in 'convert' that only
# passes calls on once /usr/bin/convert exists).
IM=convert
if ! "$IM" -version 2>/dev/null | grep -q ImageMagick; then
  echo "$0: needs ImageMagick's convert (apt-get install imagemagick)" >&2; exit 1
fi
command -v identify >/dev/null || { echo "$0: needs ImageMagick's identify" >&2; exit 1; }

# style key -> font file (first existing path wins)
declare -A FONT
font() {  # font KEY PATH...
  local key=$1 p; shift
  for p in "$@"; do [ -f "$p" ] && { FONT[$key]=$p; return 0; }; done
  echo "$0: font for '$key' not found (looked for $*); install its Debian package" >&2
  exit 1
}
F=/usr/share/fonts
font humor    $F/truetype/humor-sans/Humor-Sans.ttf
font comic    $F/opentype/comic-neue/ComicNeue-Regular.otf $F/truetype/comic-neue/ComicNeue-Regular.ttf
font dkg      $F/truetype/fifthhorseman/dkg.ttf
font breip    $F/truetype/breip/Breip.ttf
font dancing  $F/opentype/dancingscript/DancingScript-Regular.otf $F/truetype/dancingscript/DancingScript-Regular.ttf
font kaushan  $F/opentype/kaushanscript/KaushanScript-Regular.otf $F/truetype/kaushanscript/KaushanScript-Regular.ttf
font chancery $F/opentype/urw-base35/Z003-MediumItalic.otf $F/type1/urw-base35/Z003-MediumItalic.t1 $F/X11/Type1/Z003-MediumItalic.pfb
font dejavu   $F/truetype/dejavu/DejaVuSans.ttf
font bwbuild  $F/opentype/bwht/BecauseWeBuild-Regular.otf
font bwlearn  $F/opentype/bwht/BecauseWeLearn-Regular.otf
font bwmentor $F/opentype/bwht/BecauseWeMentor-Regular.otf
font bworg    $F/opentype/bwht/BecauseWeOrganize-Regular.otf
FONTKEYS="humor comic dkg breip dancing kaushan chancery dejavu bwbuild bwlearn bwmentor bworg"

mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------------------
# The plan: one line per image, all parameters drawn here. Fields (tab-separated):
#  1 name  2 digit  3 style  4 cond  5 height(px)  6 thick(-2..3)  7 angle
#  8 canvas w/h factors "fw fh"  9 position fractions "px py"  10 paper colour
#  11 gradient "angle darkest-grey%"  12 ink colour  13 noise  14 blur sigma
#  15 jpeg quality (0 = png)  16 seed  17 pen strokes ("-" for fonts):
#     polylines in a unit box (x 0..1, y 0..1 down), separated by ';'
#  18 pen stroke width as a fraction of the height
plan() {
awk -v fontkeys="$FONTKEYS" '
function rnd() { S = (S * 16807) % 2147483647; return S / 2147483647 }
function uni(a, b) { return a + (b - a) * rnd() }
function irnd(a, b) { return a + int((b - a + 1) * rnd()) }
function pick(list,   n, arr) { n = split(list, arr, " "); return arr[irnd(1, n)] }
function j(v, a) { return v + uni(-a, a) }   # jitter
# append one elliptical arc (degrees, y down) to the current stroke
function arc(cx, cy, rx, ry, t0, t1,   n, i, t) {
  n = int((t1 > t0 ? t1 - t0 : t0 - t1) / 12) + 2
  for (i = 0; i <= n; i++) { t = (t0 + (t1 - t0) * i / n) * 3.14159265358979 / 180
    pt(cx + rx * cos(t), cy + ry * sin(t)) }
}
function pt(x, y) { P = P sprintf(" %.4f,%.4f", x + uni(-0.008, 0.008), y + uni(-0.008, 0.008)) }
function endstroke() { if (P != "") STROKES = STROKES (STROKES == "" ? "" : ";") substr(P, 2); P = "" }
function pen(d,   r) {
  STROKES = ""; P = ""
  if (d == 0) { arc(j(.5,.04), .5, j(.45,.04), .5, j(255,20), j(620,15)); }
  else if (d == 1) {
    if (rnd() < .5) { pt(j(.25,.08), j(.22,.06)) }
    pt(j(.55,.06), 0); pt(j(.5,.06), 1)
    if (rnd() < .25) { endstroke(); pt(j(.25,.05), 1); pt(j(.8,.05), 1) } }
  else if (d == 2) { arc(.5, j(.3,.03), j(.45,.04), j(.3,.03), j(195,15), j(380,15));
    r = rnd(); pt(j(.05,.05), .97); if (r < .3) { pt(j(.25,.05), j(.9,.04)) } pt(j(1,.03), j(1,.03)) }
  else if (d == 3) { arc(.5, j(.27,.02), j(.42,.04), j(.25,.02), j(200,15), 450);
    arc(.5, .75, j(.47,.04), .25, 270, j(520,15)) }
  else if (d == 4) {
    if (rnd() < .5) { pt(j(.7,.05), 1); pt(j(.7,.05), 0); pt(0, j(.68,.05)); pt(1, j(.68,.05)) }
    else { pt(j(.15,.05), 0); pt(j(.05,.04), j(.6,.05)); pt(1, j(.6,.04)); endstroke()
           pt(j(.75,.05), j(.15,.08)); pt(j(.72,.05), 1) } }
  else if (d == 5) { pt(j(.9,.05), j(.02,.02)); pt(j(.2,.04), 0); pt(.16, .45);
    arc(j(.48,.03), .68, j(.45,.04), .32, 225, j(510,12)) }
  else if (d == 6) { arc(.82, .66, .72, .66, j(272,6), 180);
    arc(.48, j(.72,.03), j(.38,.04), j(.28,.03), 180, j(-175,10)) }
  else if (d == 7) { pt(0, j(.05,.05)); pt(1, 0); pt(j(.35,.1), 1)
    if (rnd() < .3) { endstroke(); pt(j(.35,.05), j(.5,.04)); pt(j(.85,.05), j(.5,.04)) } }
  else if (d == 8) { arc(.5, .26, j(.33,.04), .26, j(80,10), j(440,10)); endstroke();
    arc(.5, .74, j(.43,.04), .26, j(270,10), j(630,10)) }
  else if (d == 9) { arc(j(.5,.03), .3, j(.42,.04), .3, j(10,8), -350);
    if (rnd() < .5) { pt(j(.9,.03), .32); pt(j(.78,.08), 1) }
    else { pt(j(.9,.03), .32); pt(j(.88,.05), .7); pt(j(.7,.08), 1) } }
  endstroke()
  return STROKES
}
# slant and squeeze a unit-box stroke string: x -> x*ASP + SL*(1-y)
function shape(s,   n, a, i, q, out) {
  n = split(s, a, " "); out = ""
  for (i = 1; i <= n; i++) {
    if (a[i] ~ /;/) { split(a[i], q, ";"); out = out shape1(q[1]) ";" shape1(q[2]) " "; continue }
    out = out shape1(a[i]) " " }
  return substr(out, 1, length(out) - 1)
}
function shape1(p,   xy) { split(p, xy, ","); return sprintf("%.4f,%.4f", (xy[1] * ASP + SL * (1 - xy[2]) + .3) / 1.6, xy[2]) }
function emit(name, d, style, cond, strokes,   h, thick, ang, fw, fh, px, py, paper, grad, ink, noise, blur, q, sw) {
  h = int(exp(uni(log(40), log(400))))
  thick = (style == "pen") ? 0 : pick("-2 -1 0 0 0 1 1 2 3")
  ang = sprintf("%.1f", uni(-10, 10))
  fw = sprintf("%.2f %.2f", uni(1.4, 3.2), uni(1.2, 2.4))
  px = sprintf("%.3f %.3f", uni(.05, .95), uni(.05, .95))
  if (cond == "scan") {
    paper = pick("#ffffff #fbfbf8 #f2f2f2 #e8e8e6 #f5f3ea"); grad = sprintf("%d %d", irnd(0, 359), irnd(85, 100))
    ink = pick("#000000 #101010 #1a1a2e #202020"); noise = sprintf("%.2f", uni(0, .15)); blur = sprintf("%.2f", uni(0, .5)); q = 0
  } else {  # photo and the stress conditions look photographed
    paper = pick("#d8d8d8 #c8c8c4 #e6dcc0 #efe4c6 #d9d2bd #e0e0e0 #f0ead6"); grad = sprintf("%d %d", irnd(0, 359), irnd(55, 90))
    ink = pick("#000000 #15152a #0a1a5a #2b2b2b #3a3a3a #101840"); noise = sprintf("%.2f", uni(.1, .45)); blur = sprintf("%.2f", uni(.3, 1.6)); q = irnd(35, 85)
  }
  sw = (style == "pen") ? sprintf("%.3f", uni(.05, .13)) : "0"
  printf "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", name, d, style, cond, h, thick, ang, fw, px, paper, grad, ink, noise, blur, q, irnd(1, 999999), strokes, sw
}
function penstrokes(d) { ASP = uni(.45, .8); SL = uni(-.25, .3); return shape(pen(d)) }
BEGIN {
  S = 20240601
  nf = split(fontkeys, fk, " ")
  for (d = 0; d <= 9; d++) {
    for (i = 1; i <= nf; i++) {
      emit(sprintf("d%d-%s-scan-01", d, fk[i]), d, fk[i], "scan", "-")
      emit(sprintf("d%d-%s-photo-01", d, fk[i]), d, fk[i], "photo", "-")
    }
    for (i = 1; i <= 8; i++) {
      c = (i <= 4) ? "scan" : "photo"
      emit(sprintf("d%d-pen-%s-%02d", d, c, i), d, "pen", c, penstrokes(d))
    }
    for (i = 1; i <= 2; i++) {
      st = (rnd() < .3) ? "pen" : fk[irnd(1, nf)]
      emit(sprintf("d%d-%s-lined-%02d", d, st, i), d, st, "lined", st == "pen" ? penstrokes(d) : "-")
      st = (rnd() < .3) ? "pen" : fk[irnd(1, nf)]
      emit(sprintf("d%d-%s-edge-%02d", d, st, i), d, st, "edge", st == "pen" ? penstrokes(d) : "-")
    }
  }
}'
}

# ---------------------------------------------------------------------------
render() {  # one plan line -> one image file
  local name=$1 d=$2 style=$3 cond=$4 h=$5 thick=$6 ang=$7 fwh=$8 pxy=$9
  shift 9
  local paper=$1 grad=$2 ink=$3 noise=$4 blur=$5 q=$6 seed=$7 strokes=$8 sw=$9
  local m=$TMP/mask.png
  case $ABLATE in *,gradient,*) grad="${grad% *} 100" ;; esac
  case $ABLATE in *,noise,*) noise=0 ;; esac
  case $ABLATE in *,blur,*) blur=0 ;; esac
  case $ABLATE in *,jpeg,*) q=0 ;; esac
  case $ABLATE in *,paper,*) paper='#ffffff' ;; esac
  # 1. the ink mask (white ink on black), glyph $h px tall
  if [ "$style" = pen ]; then
    local bw=$(( h * 16 / 10 )) pad sw_px draw="" s
    sw_px=$(awk -v h="$h" -v f="$sw" 'BEGIN { w = h * f; if (w < 1.5) w = 1.5; printf "%.1f", w }')
    pad=$(awk -v w="$sw_px" 'BEGIN { printf "%d", w + 4 }')
    IFS=';' read -r -a parts <<<"$strokes"
    for s in "${parts[@]}"; do
      draw+=" polyline $(awk -v h="$h" -v bw="$bw" -v pad="$pad" '{ for (i = 1; i <= NF; i++) { split($i, xy, ","); printf "%s%.1f,%.1f", (i > 1 ? " " : ""), xy[1] * bw + pad, xy[2] * h + pad } }' <<<"$s")"
    done
    "$IM" -size $(( bw + 2 * pad ))x$(( h + 2 * pad )) xc:black -fill none -stroke white \
      -strokewidth "$sw_px" -draw "stroke-linecap round stroke-linejoin round $draw" \
      -trim +repage "$m"
  else
    local morph=()
    case $thick in
      -2) morph=(-morphology Erode Disk:2) ;;  -1) morph=(-morphology Erode Disk:1) ;;
      1) morph=(-morphology Dilate Disk:2) ;;   2) morph=(-morphology Dilate Disk:4) ;;
      3) morph=(-morphology Dilate Disk:6) ;;
    esac
    "$IM" -background black -fill white -font "${FONT[$style]}" -pointsize 240 label:"$d" \
      -trim +repage -bordercolor black -border 10 "${morph[@]}" -trim +repage \
      -resize "x$h" "$m"
  fi
  "$IM" "$m" -background black -rotate "$ang" +repage "$m"
  local mw mh; read -r mw mh < <(identify -format '%w %h\n' "$m")
  # 2. canvas and position
  local fw fh px py W H x y ga gl
  read -r fw fh <<<"$fwh"; read -r px py <<<"$pxy"; read -r ga gl <<<"$grad"
  read -r W H x y < <(awk -v mw="$mw" -v mh="$mh" -v fw="$fw" -v fh="$fh" -v px="$px" -v py="$py" \
    'BEGIN { W = int(mw * fw) + 8; H = int(mh * fh) + 8; printf "%d %d %d %d\n", W, H, (W - mw) * px, (H - mh) * py }')
  # 3. paper x lighting, then the extras of the condition
  local extra=()
  case $cond in
    lined)  # blue rules every ~0.45 glyph heights, a red margin line
      local step; step=$(awk -v h="$h" 'BEGIN { s = int(h * 0.45); if (s < 8) s = 8; print s }')
      local lw; lw=$(awk -v h="$h" 'BEGIN { w = h / 90; if (w < 1) w = 1; printf "%.1f", w }')
      local lines="" yy
      for (( yy = (seed % step) + 2; yy < H; yy += step )); do lines+=" line 0,$yy $W,$yy"; done
      extra=(-stroke '#8fb0d8' -strokewidth "$lw" -draw "$lines" -stroke '#e09090' -draw "line $(( W / 8 )),0 $(( W / 8 )),$H") ;;
    edge)   # a dark band (table / shadow) over 8-25% of one side, soft-edged
      local side=$(( seed % 4 )) frac=$(( 8 + seed % 18 )) geo
      case $side in
        0) geo="0,0 $(( W * frac / 100 )),$H" ;;  1) geo="$(( W - W * frac / 100 )),0 $W,$H" ;;
        2) geo="0,0 $W,$(( H * frac / 100 ))" ;;  3) geo="0,$(( H - H * frac / 100 )) $W,$H" ;;
      esac
      extra=(\( -size "${W}x${H}" xc:white -fill '#303030' -draw "rectangle $geo" -blur 0x3 \) -compose Multiply -composite) ;;
  esac
  local ext=png qual=()
  [ "$q" -gt 0 ] && { ext=jpg; qual=(-quality "$q"); }
  "$IM" -seed "$seed" -size "${W}x${H}" "xc:$paper" \
    \( -size "${W}x${H}" -define "gradient:angle=$ga" "gradient:white-gray$gl" \) -compose Multiply -composite \
    "${extra[@]}" -compose Over \
    \( -size "${mw}x${mh}" "xc:$ink" \( "$m" -alpha off \) -compose CopyOpacity -composite \) \
    -geometry "+$x+$y" -compose Over -composite \
    -blur "0x$blur" -attenuate "$noise" +noise Gaussian -alpha off -colorspace sRGB -type TrueColor \
    -depth 8 -strip "${qual[@]}" "$OUT/$name.$ext"
}

plan > "$TMP/plan.tsv"
{ printf 'name\tdigit\tstyle\tcond\theight\tthick\tangle\tcanvas_fw_fh\tpos_px_py\tpaper\tgradient_angle_grey\tink\tnoise\tblur\tjpeg_q\tseed\tpen_strokes\tpen_width\n'
  cat "$TMP/plan.tsv"; } > "$OUT/manifest.tsv"
n=0
while IFS=$'\t' read -r -a f; do
  [ -n "$ONLY" ] && ! awk -v n="${f[0]}" -v r="$ONLY" 'BEGIN { exit !(n ~ r) }' && continue
  render "${f[@]}"
  n=$(( n + 1 ))
done < "$TMP/plan.tsv"
echo "wrote $n images to $OUT" >&2

# ---------------------------------------------------------------------------
# README examples: one photographed-looking image and the 28x28 digitlens made
# of it, upscaled x8 (needs ./digitlens and DIGITLENS_MODEL=a model file).
if [ -n "$EXAMPLES" ]; then
  : "${DIGITLENS_MODEL:?--examples needs DIGITLENS_MODEL=model file}"
  DL=${DIGITLENS:-./digitlens}
  mkdir -p "$EXAMPLES" "$TMP/pre"
  for ex in d3-pen-photo-05 d3-pen-photo-06; do  # one right, one spoilt by uneven light
    src=$OUT/$ex.jpg
    "$IM" "$src" -resize '320x240>' -strip -quality 80 "$EXAMPLES/$ex.jpg"
    "$DL" classify --model "$DIGITLENS_MODEL" --save-preprocessed "$TMP/pre" "$src" >/dev/null
    pre=$TMP/pre/$ex.jpg.28x28.png
    "$IM" "$pre" -filter point -resize 224x224 -strip "$EXAMPLES/$ex-28x28.png"
    rm -f "$TMP/pre"/*
  done
  echo "wrote examples to $EXAMPLES" >&2
fi
