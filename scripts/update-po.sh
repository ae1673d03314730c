#!/bin/sh
# update-po.sh — refresh the message catalogs.
#
#   1. collect the msgids:
#      - C sources under src/ (strings marked N_("...") or passed as the
#        second argument of i18n_gettext(cat, "...")), with xgettext;
#      - the HTML templates data/templates/*.html: each {{_ text}} or
#        {{_ text %1 | var}} tag, the msgid being the text before the first
#        "|" with trailing spaces trimmed (as src/i18n/template.c does);
#        each {{_n one | many | var}} tag gives msgid "one" and
#        msgid_plural "many";
#      - po/extra-msgids.txt: one msgid per line, for strings that code
#        not written yet will use (blank lines and lines starting with "#"
#        are skipped);
#   2. write po/sleutel.pot and po/POTFILES (the files scanned);
#   3. msgmerge the template into po/LANG.po for every LANG in po/LINGUAS,
#      creating a missing catalog with msginit.
#
# Runs from any directory and is idempotent: when nothing but the date
# would change, po/sleutel.pot and the catalogs are left untouched.
# Needs Debian's gettext (xgettext, msgmerge, msginit, msgfmt), sed, grep,
# sort, find.  A {{_ ...}} tag must fit on one line.
set -eu

top=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$top"

pot=po/sleutel.pot
tmp=$(mktemp -d "${TMPDIR:-/tmp}/update-po.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# PO string escaping of the text on stdin: \ " and tab.
po_escape() {
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g'
}

# Lines "LINE TEXT" on stdin (TEXT already escaped) to PO entries for FILE.
po_entries() {
	while IFS= read -r line; do
		printf '#: %s:%s\nmsgid "%s"\nmsgstr ""\n\n' "$1" "${line%% *}" "${line#* }"
	done
}

# The same for "LINE ONE|MANY" lines: entries with plural forms.
po_plural_entries() {
	while IFS= read -r line; do
		text=${line#* }
		printf '#: %s:%s\nmsgid "%s"\nmsgid_plural "%s"\nmsgstr[0] ""\nmsgstr[1] ""\n\n' \
			"$1" "${line%% *}" "${text%%|*}" "${text#*|}"
	done
}

po_header() {
	printf 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
}

# 1a. C sources that mark strings.
find src -type f \( -name '*.c' -o -name '*.h' \) -exec grep -lE 'N_\(|i18n_gettext\(' {} + |
	LC_ALL=C sort >"$tmp/c-files"

# 1b. Templates.  Raw tags {{{...}}} are never translated: drop them first.
po_header >"$tmp/templates.po"
for f in data/templates/*.html; do
	[ -f "$f" ] || continue
	sed 's/{{{[^}]*}}}//g' "$f" |
		grep -n -o '{{_ [^}]*}}' |
		sed -n -e 's/^\([0-9][0-9]*\):{{_ \(.*\)}}$/\1 \2/' -e 's/|.*//' -e 's/ *$//' -e '/^[0-9][0-9]* ./p' |
		po_escape | po_entries "$f" >>"$tmp/templates.po" || true
	sed 's/{{{[^}]*}}}//g' "$f" |
		grep -n -o '{{_n [^}]*}}' |
		sed -n 's/^\([0-9][0-9]*\):{{_n *\([^|]*[^ |]\) *| *\([^|]*[^ |]\) *|.*}}$/\1 \2|\3/p' |
		po_escape | po_plural_entries "$f" >>"$tmp/templates.po" || true
done

# 1c. Msgids for code to come.
po_header >"$tmp/extra.po"
if [ -f po/extra-msgids.txt ]; then
	grep -n -v -e '^#' -e '^[[:space:]]*$' po/extra-msgids.txt |
		sed -e 's/\r$//' -e 's/[[:space:]]*$//' -e 's/^\([0-9][0-9]*\):/\1 /' |
		po_escape | po_entries po/extra-msgids.txt >>"$tmp/extra.po" || true
fi

# 2. The template: xgettext reads the C files and the two PO files at once,
# uniting duplicate msgids and their references.
{
	cat "$tmp/c-files"
	echo "$tmp/templates.po"
	echo "$tmp/extra.po"
} >"$tmp/files"
xgettext --from-code=UTF-8 --keyword=N_ --keyword=i18n_gettext:2 \
	--add-comments=TRANSLATORS: --add-location=file --force-po \
	--package-name=sleutel --package-version=0.1.0 \
	--copyright-holder='the sleutel authors' --msgid-bugs-address='' \
	--files-from="$tmp/files" --output="$tmp/sleutel.pot" 2>"$tmp/xgettext.err" ||
	{ cat "$tmp/xgettext.err" >&2; exit 1; }
# Pass on the warnings, all but the reminder about --msgid-bugs-address
# (sleutel has no such address).
grep -v -e "--msgid-bugs-address was not specified" -e "Makevars. file, please specify" \
	-e "MSGID_BUGS_ADDRESS variable there" -e "specify an --msgid-bugs-address command" \
	"$tmp/xgettext.err" >&2 || true
# xgettext writes "SOME DESCRIPTIVE TITLE." etc.; name the package instead.
sed -e '1s/.*/# Message template for sleutel, the Belgian digital-identity login portal./' \
	-e 's/^\(# This file is distributed under the same license as the \)\(sleutel\) package\./\1\2 package (ISC)./' \
	"$tmp/sleutel.pot" >"$tmp/sleutel.pot.1"
mv "$tmp/sleutel.pot.1" "$tmp/sleutel.pot"

undated() { grep -v '^"POT-Creation-Date:' "$1"; }
if [ -f "$pot" ] && undated "$pot" >"$tmp/old" && undated "$tmp/sleutel.pot" >"$tmp/new" && cmp -s "$tmp/old" "$tmp/new"; then
	echo "$pot: unchanged"
else
	cp "$tmp/sleutel.pot" "$pot"
	echo "$pot: written"
fi

{
	echo "# Files scripts/update-po.sh reads msgids from (written by it; informational)."
	cat "$tmp/c-files"
	for f in data/templates/*.html po/extra-msgids.txt; do
		if [ -f "$f" ]; then echo "$f"; fi
	done
} >"$tmp/POTFILES"
cmp -s "$tmp/POTFILES" po/POTFILES 2>/dev/null || cp "$tmp/POTFILES" po/POTFILES

# 3. The catalogs.  LINGUAS holds language codes separated by white space.
# shellcheck disable=SC2013
for lang in $(sed 's/#.*//' po/LINGUAS); do
	po=po/$lang.po
	if [ ! -f "$po" ]; then
		msginit --no-translator --locale="$lang" --input="$pot" --output-file="$po"
	fi
	msgmerge --quiet --update --backup=off --no-fuzzy-matching "$po" "$pot"
	printf '%s: ' "$po"
	msgfmt --check --statistics -o /dev/null "$po" 2>&1
done
