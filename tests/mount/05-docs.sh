#!/usr/bin/env bash
# 05-docs.sh - the documentation a new user meets first: the man pages
# render without a warning, the README's two commands exist and run as
# programs, the project's own pages named in SEE ALSO exist, and
# `make install` puts the binary and every page where man(1) finds them.
# The truth is man's and groff's own warnings, the files in the repo, and
# what lands in a fresh DESTDIR. Needs no sandbox.
. "$(dirname "$0")/../lib/mount.sh"

cd "$T_ROOT" || exit 1
pages=(man/*.1 man/*.7)

# ---- every page renders, without a warning ----
for p in "${pages[@]}"; do
	if [ ! -f "$p" ]; then
		not_ok "$p exists"
		continue
	fi
	warn=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	is "$warn" "" "$p renders without warnings"
	text=$(MANWIDTH=80 man -l "$p" 2>/dev/null)
	check "$p has NAME, SYNOPSIS or DESCRIPTION, and SEE ALSO" \
		bash -c 'grep -q "^NAME" <<<"$1" && grep -qE "^(SYNOPSIS|DESCRIPTION)" <<<"$1" && grep -q "^SEE ALSO" <<<"$1"' _ "$text"
done
# Our page fits a terminal: no line of it wider than MANWIDTH (characters, not bytes).
long=$(MANWIDTH=80 man -l man/mgdcfs.1 2>/dev/null |
	python3 -c 'import sys; [print(l.rstrip()) for l in sys.stdin if len(l.rstrip("\n")) > 80]')
is "$long" "" "man/mgdcfs.1: no rendered line wider than 80 columns"
check "man/mgdcfs.1 is among the pages" test -f man/mgdcfs.1

# Pages of this project named anywhere in the pages (mgdcfs(1), mgdc-*(7)) exist.
refs=$(cat "${pages[@]}" | grep -oE '(mgdcfs|mgdc\\?-[a-z]+) *\([178]\)' | tr -d ' \\' | sort -u)
missing=""
for r in $refs; do
	name=${r%(*}
	sect=${r#*(}
	sect=${sect%)}
	[ -f "man/$name.$sect" ] || missing+=" $r"
done
is "$missing" "" "every mgdcfs/mgdc-* page the pages refer to exists ($(wc -w <<<"$refs") names)"

# The man page documents every config key the code accepts.
keys=$(awk '/^static const char \*const [a-z]*_keys\[\] = \{/{f=1} f{print} f && /\};/{f=0}' fs/config.c |
	grep -oE '"[a-z_]+"' | tr -d '"' | sort -u)
page=$(MANWIDTH=200 man -l man/mgdcfs.1 2>/dev/null)
undocumented=""
for k in $keys; do
	grep -qE "(^|[ .(])$k([ ,.)]|$)" <<<"$page" || undocumented+=" $k"
done
is "$undocumented" "" "man/mgdcfs.1 documents every config key of fs/config.c ($(wc -w <<<"$keys") keys)"

# ---- the README's two commands ----
cmds=$(awk '/^## The two commands/{f=1} f && /^```/{n++; next} f && n==1' README.md |
	sed -n 's/^\(scripts\/[a-z]*\).*/\1/p')
is "$(tr '\n' ' ' <<<"$cmds")" "scripts/demo scripts/test " "README's two commands are scripts/demo and scripts/test"
for c in $cmds scripts/deps scripts/sandbox; do
	check "$c exists and is executable" test -x "$c"
	mode=$(git ls-files -s "$c" | cut -d' ' -f1)
	is "$mode" 100755 "$c is committed executable"
	first=$(head -c 2 "$c")
	is "$first" "#!" "$c starts with #!"
done

# ---- make install ----
# Always the plain build: make reads BUILD and SANITIZE from the environment, and a
# stale sanitizer build must not be relinked here without its flags.
dest=$T_DIR/dest
if make -s install DESTDIR="$dest" PREFIX=/usr BUILD=build SANITIZE= >"$T_DIR/install.log" 2>&1; then
	ok "make install DESTDIR=… PREFIX=/usr succeeds"
else
	not_ok "make install DESTDIR=… PREFIX=/usr succeeds"
	sed 's/^/#   /' "$T_DIR/install.log" | tail -20
fi
check "the binary is installed executable" test -x "$dest/usr/bin/mgdcfs"
v=$("$dest/usr/bin/mgdcfs" --version 2>/dev/null | head -1)
check "the installed binary runs (--version: $v)" grep -q '^mgdcfs ' <<<"$v"
for p in "${pages[@]}"; do
	sect=${p##*.}
	check "$p is installed to share/man/man$sect" cmp -s "$p" "$dest/usr/share/man/man$sect/$(basename "$p")"
done
found=$(MANPATH=$dest/usr/share/man man -w mgdcfs 2>/dev/null)
is "$found" "$dest/usr/share/man/man1/mgdcfs.1" "man finds the installed mgdcfs(1)"
found=$(MANPATH=$dest/usr/share/man man -w 7 mgdc-sandbox 2>/dev/null)
is "$found" "$dest/usr/share/man/man7/mgdc-sandbox.7" "man finds the installed mgdc-sandbox(7)"
check "the mount(8) helper is installed in /sbin" test -x "$dest/sbin/mount.mgdcfs"
is "$(readlink "$dest/sbin/mount.fuse.mgdcfs")" mount.mgdcfs "mount.fuse.mgdcfs (for -t fuse.mgdcfs) points at it"
check "the helper runs the installed binary" grep -q '^MGDCFS=${MGDCFS:-/usr/bin/mgdcfs}$' "$dest/sbin/mount.mgdcfs"
for u in systemd/*; do
	check "$u is installed to lib/systemd/system" test -f "$dest/usr/lib/systemd/system/$(basename "$u")"
done
check "the installed unit runs the installed binary" grep -q '^ExecStart=/usr/bin/mgdcfs ' "$dest/usr/lib/systemd/system/mgdcfs@.service"
stray=$(cd "$dest" && find . \( -type f -o -type l \) | grep -vE '^\./usr/(bin/mgdcfs|share/man/man[17]/[a-z-]+\.[17]|lib/systemd/system/[a-z@.-]+\.(service|mount))$|^\./sbin/mount\.(fuse\.)?mgdcfs$')
is "$stray" "" "make install writes nothing else"
# make uninstall removes exactly what install put: no file or link is left.
make -s uninstall DESTDIR="$dest" PREFIX=/usr BUILD=build SANITIZE= >>"$T_DIR/install.log" 2>&1
left=$(cd "$dest" && find . \( -type f -o -type l \) | sort)
is "$left" "" "make uninstall leaves no file that make install put (man7 pages and helper included)"

t_done
