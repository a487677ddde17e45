# test_manpages.sh — `make install` puts the manual pages and the bash
# completion where man and bash look, both made from the option tables
# --help prints: every page renders with `man -l` without a warning, names
# every option --help lists, and TAB completes commands, options, names,
# .dlm models, IDX files and pictures.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=$TMP/root
make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=/usr/local >"$TMP/install.out" 2>&1 ||
  { fail make_install "$(tail -3 "$TMP/install.out")"; finish; }
MAN=$DEST/usr/local/share/man/man1
COMP=$DEST/usr/local/share/bash-completion/completions/digitlens
[ -x "$DEST/usr/local/bin/digitlens" ] && pass install_puts_the_binary || fail install_puts_the_binary "missing"
cmds=$("$DL" help --commands)
missing=
for c in $cmds; do [ -s "$MAN/digitlens-$c.1" ] || missing="$missing $c"; done
[ -s "$MAN/digitlens.1" ] && [ -z "$missing" ] && pass install_puts_a_page_per_command ||
  fail install_puts_a_page_per_command "missing:$missing"

# --- the pages -----------------------------------------------------------------
if command -v man >/dev/null && command -v groff >/dev/null; then
  bad=
  for p in "$MAN"/*.1; do
    warn=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
    [ -n "$warn" ] && bad="$bad $(basename "$p"): $warn"
  done
  [ -z "$bad" ] && pass pages_render_without_warnings || fail pages_render_without_warnings "$bad"
  drift=
  for c in $cmds; do
    page=$(MANWIDTH=200 man -l "$MAN/digitlens-$c.1" 2>/dev/null)
    grep -q "^NAME" <<<"$page" || drift="$drift $c:no-NAME"
    for o in $("$DL" "$c" --help | grep -oE '^  --[a-z0-9-]+'); do
      grep -qE -- "^ +$o( |$)" <<<"$page" || drift="$drift $c:$o"
    done
  done
  [ -z "$drift" ] && pass every_help_option_is_in_its_man_page || fail every_help_option_is_in_its_man_page "$drift"
  page=$(MANWIDTH=200 man -l "$MAN/digitlens.1" 2>/dev/null)
  nocmd=
  for c in $cmds; do grep -q "digitlens-$c(1)" <<<"$page" || nocmd="$nocmd $c"; done
  [ -z "$nocmd" ] && grep -q "network.py's weights\[L-1\]" <<<"$page" && pass overview_page_lists_every_command ||
    fail overview_page_lists_every_command "missing:$nocmd"
  page=$(MANWIDTH=200 man -l "$MAN/digitlens-train.1" 2>/dev/null)
  grep -qE "^ +--epochs N$" <<<"$page" && grep -qE "epochs to train \(default 30; 1\.\.100000\)" <<<"$page" &&
    grep -q "EXIT STATUS" <<<"$page" && pass train_page_shows_defaults_and_ranges ||
    fail train_page_shows_defaults_and_ranges "$(head -30 <<<"$page")"
else
  skip man_pages "man or groff is not installed (apt-get install man-db)"
fi

# --- the completion, in bash ------------------------------------------------------
mkdir -p "$TMP/w/sub"
: >"$TMP/w/a.dlm"; : >"$TMP/w/b.png"; : >"$TMP/w/c-ubyte.gz"; : >"$TMP/w/notes.txt"
complete_words() { # prints what TAB offers after the words given (the last one being typed)
  (cd "$TMP/w" && bash --norc --noprofile -c '
    . "$1"; shift
    complete -p digitlens | grep -q "complete -F _digitlens digitlens" || { echo "NOT-REGISTERED"; exit; }
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
    _digitlens 2>/dev/null
    [ ${#COMPREPLY[@]} -gt 0 ] && printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMP" "$@")
}
check_completion() { # NAME EXPECTED WORDS...
  local name=$1 want=$2
  shift 2
  local got
  got=$(complete_words "$@")
  [ "$got" = "$want" ] && pass "$name" || fail "$name" "got '$got', want '$want'"
}
check_completion completes_commands "templates test train " digitlens t
check_completion completes_options "--epochs " digitlens train --ep
check_completion completes_names_of_a_choice "cross-entropy log-likelihood quadratic " digitlens train --cost ""
check_completion completes_models_for_model "a.dlm sub " digitlens test --model ""
check_completion completes_models_for_resume "a.dlm sub " digitlens train --resume ""
check_completion completes_idx_files_for_images "c-ubyte.gz sub " digitlens test --images ""
check_completion completes_pictures_as_arguments "b.png c-ubyte.gz sub " digitlens classify --model a.dlm ""
check_completion completes_directories_for_dir "sub " digitlens weights --model a.dlm --out ""
check_completion completes_nothing_for_numbers "" digitlens train --epochs ""
check_completion completes_help_topics "weights " digitlens help we
finish
