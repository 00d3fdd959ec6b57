#!/usr/bin/env bash
# The daemon under valgrind memcheck: a mount (admin profile) that browses
# the tree, reads datasets (compared with direct downloads) and runs one
# command, then unmounts; memcheck's --error-exitcode makes any invalid
# access or definite leak the daemon's exit status (99), so the daemon must
# exit 0. Suppressions (tests/valgrind.supp) cover only one-time allocations
# inside libraries, each with a comment.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
if ! command -v valgrind >/dev/null; then
	skip "valgrind memcheck" "valgrind is not installed"
	t_done
fi
VG_LOG=$T_DIR/valgrind.log
cat >"$T_DIR/vg-mgdcfs" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=yes --num-callers=30 \
	--suppressions="$T_ROOT/tests/valgrind.supp" --log-file="$VG_LOG" "$MGDCFS" "\$@"
EOF
chmod +x "$T_DIR/vg-mgdcfs"

C=vg$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || not_ok "create container"
head -c $((9 << 20)) /dev/urandom >"$T_DIR/big.bin"
head -c 1000 /dev/urandom >"$T_DIR/small.bin"
blob_put "$C" "v/big.bin" "$T_DIR/big.bin" && blob_put "$C" "v/small.bin" "$T_DIR/small.bin" || not_ok "upload"
blob_get "$C" "v/big.bin" "$T_DIR/big.direct"

t0=$SECONDS
MGDCFS=$T_DIR/vg-mgdcfs mount_fs m admin || {
	sed 's/^/#   /' "$VG_LOG" | tail -20
	t_done
}
echo "# figure: valgrind_mount_s=$((SECONDS - t0))"
PID=${T_PIDS[m]}
check "tenant.json parses" quiet jq -e .id "$MNT/tenant/tenant.json"
check "ls -lR of the control plane" quiet ls -lR "$MNT/tenant" "$MNT/catalog" "$MNT/apps" "$MNT/pipelines" "$MNT/.mgdcfs"
check "stats.json parses" quiet jq -e . "$MNT/.mgdcfs/stats.json"
is "$(sha256sum <"$MNT/datasets/$C/v/big.bin" | cut -d' ' -f1)" "$(sha256sum <"$T_DIR/big.direct" | cut -d' ' -f1)" "a 9 MiB blob reads as its direct download"
is "$(cmp "$MNT/datasets/$C/v/small.bin" "$T_DIR/small.bin" && echo same)" same "a small blob reads"
check "xattrs" quiet getfattr -n user.mgdcfs.etag "$MNT/datasets/$C/v/big.bin"
check "a missing file is ENOENT" bash -c "! cat '$MNT/datasets/$C/v/nosuch' 2>/dev/null"
is "$(python3 "$T_ROOT/tests/lib/write.py" "$MNT/tenant/data-connect" enabled)" 0 "a command: admin writes data-connect"
is "$(python3 "$T_ROOT/tests/lib/write.py" "$MNT/apps/vg.json" '{"datasets": "nope"}')" "EINVAL close" "a refused spec"

# Unmount; memcheck's leak check runs at exit, so allow it more time than unmount_fs does.
t0=$SECONDS
fusermount3 -u "$MNT" || fusermount3 -uz "$MNT"
deadline=$((SECONDS + 120))
while kill -0 "$PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
if kill -0 "$PID" 2>/dev/null; then
	kill -KILL "$PID"
	not_ok "daemon under valgrind exited within 120 s of unmount"
	rc=137
else
	wait "$PID"
	rc=$?
fi
unset "T_PIDS[m]"
echo "# figure: valgrind_exit_s=$((SECONDS - t0))"
errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$VG_LOG" | tail -1)
def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$VG_LOG" | tail -1 | tr -d ,)
echo "# figure: valgrind_errors=${errs:-none}"
echo "# figure: valgrind_definitely_lost_bytes=${def:-0}"
is "$rc" 0 "the daemon under memcheck exits 0 (99 = memcheck found errors)"
if [ "$rc" -ne 0 ]; then
	grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|[0-9,]+ bytes in)' -A12 "$VG_LOG" | head -80 | sed 's/^/#   /'
	cp "$VG_LOG" "$T_LOGKEEP/80-valgrind-memcheck.log" 2>/dev/null
fi
check "memcheck reports no errors" test "${errs:-1}" = 0
t_done
