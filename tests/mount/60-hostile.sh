#!/usr/bin/env bash
# Hostile server replies: mgdcfs mounted against tests/hostile/server.py (one
# HTTPS server playing login, Graph, registration, ARM and Blob, with its own
# CA) that lies about Content-Length (10 GB), never ends a listing, nests
# JSON 100,000 deep, sends names with '../', '/', NUL, control characters,
# invalid UTF-8 and duplicates, garbage tokens and slow-loris bodies. Each
# must give a clear error or sanitized names, bounded memory (the daemon's
# VmHWM is reported and capped), no crash and no hang: every ls/cat returns
# within the profile's deadline plus a margin (measured and reported).
. "$(dirname "$0")/../lib/mount.sh"

H=$T_DIR/hostile
mkdir -p -m 700 "$H"
python3 "$T_ROOT/tests/hostile/server.py" --dir "$H" >"$H/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; t_cleanup' EXIT
t_stop_server() { kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; }
deadline=$((SECONDS + 30))
while [ ! -s "$H/port" ] && [ $SECONDS -lt $deadline ] && kill -0 $SRV 2>/dev/null; do sleep 0.05; done
if [ ! -s "$H/port" ]; then
	not_ok "hostile server did not start"
	sed 's/^/#   /' "$H/server.log"
	t_done
fi
PORT=$(cat "$H/port")
B=https://127.0.0.1:$PORT
hset() { curl -sS --max-time 10 --fail --cacert "$H/ca.pem" "$B/_hostile/set?$1" >/dev/null; }
hstats() { curl -sS --max-time 10 --cacert "$H/ca.pem" "$B/_hostile/stats"; }

# The deadline every request of one operation shares; an ls or cat may take
# it once per request it makes (one listing = one request chain), so the
# limit we hold each command to is DEADLINE + a 10 s margin.
DEADLINE_MS=8000
LIMIT_S=$((DEADLINE_MS / 1000 + 10))
printf 'c2VjcmV0LWZvci1ob3N0aWxlLXRlc3RzCg==\n' >"$H/storage.key"
printf 'not-a-real-secret\n' >"$H/client.secret"
chmod 600 "$H/storage.key" "$H/client.secret"
cat >"$H/config.json" <<EOF
{"profiles": {"hostile": {
  "tenant_id": "11111111-2222-3333-4444-555555555555",
  "client_id": "66666666-7777-8888-9999-000000000000",
  "client_secret_file": "client.secret",
  "subscription_id": "sub", "resource_group": "rg", "factory": "adf",
  "storage": {"account": "acct", "auth": "shared_key", "key_file": "storage.key"},
  "endpoints": {"login": "$B/login", "graph": "$B/graph", "arm": "$B/arm",
                "registration": "$B/mgdc", "blob": "$B/acct"},
  "registration_scope": "api://mgdc-registration/.default",
  "ca_file": "ca.pem",
  "cache": {"budget_mb": 64, "chunk_kb": 1024},
  "ttl": {"metadata_s": 0, "status_s": 0, "listing_s": 0},
  "timeouts": {"connect_ms": 2000, "io_s": 3, "retries": 1, "deadline_ms": $DEADLINE_MS}}}}
EOF
chmod 600 "$H/config.json"
MGDC_CONFIG=$H/config.json

WORST=0
# timed NAME CMD...: run CMD under a hard timeout, print the time as a figure,
# fail when it exceeds LIMIT_S. Leaves the command's status in TRC.
timed() {
	local name=$1 t0 ms
	shift
	t0=$(date +%s%N)
	timeout -k 5 $((LIMIT_S + 30)) "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	TRC=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ $ms -gt $WORST ] && WORST=$ms
	echo "# figure: hostile_${name}_ms=$ms"
	if [ $ms -gt $((LIMIT_S * 1000)) ]; then
		not_ok "$name returned within ${LIMIT_S} s (took $ms ms)"
	else
		ok "$name returned within ${LIMIT_S} s ($ms ms, status $TRC)"
	fi
}

# alive NAME: the daemon still runs and the mount still answers.
alive() {
	local pid=${T_PIDS[m]}
	if kill -0 "$pid" 2>/dev/null && timeout 20 stat "$MNT/README" >/dev/null 2>&1; then
		ok "daemon alive and mount answering after $1"
		echo "# figure: hostile_vmhwm_after_${1// /_}_kb=$(awk '/^VmHWM/ {print $2}' /proc/"$pid"/status)"
	else
		not_ok "daemon alive and mount answering after $1"
		T_DEAD=1
	fi
}

# errors_mention WHAT: .mgdcfs/errors has a line about WHAT.
errors_mention() {
	if timeout 20 grep -q -- "$1" "$MNT/.mgdcfs/errors" 2>/dev/null; then
		ok ".mgdcfs/errors explains $2"
	else
		not_ok ".mgdcfs/errors explains $2"
		diag "$(timeout 5 tail -3 "$MNT/.mgdcfs/errors" 2>&1)"
	fi
}

# names_clean FILE: every line is a name a shell can trust (no '/', control
# character, invalid UTF-8, '.' or '..').
names_clean() {
	python3 - "$1" <<'PY'
import sys
bad = 0
for raw in open(sys.argv[1], "rb").read().split(b"\n"):
    if not raw:
        continue
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        bad += 1; print("# invalid UTF-8:", raw); continue
    if s in (".", "..") or "/" in s or any(ord(c) < 32 or ord(c) == 127 for c in s):
        bad += 1; print("# unsafe name:", repr(s))
sys.exit(1 if bad else 0)
PY
}

hset "good=ok&names=names&dups=dups&endless=endless&emptypages=emptypages&hugepage=hugepage&bigcl=bigcl&deep=deep&garbage=garbage&slow=slow&getbig=ok&getslow=ok&get_getbig=bigcl&get_getslow=slow"
T_DEAD=0
mount_fs m hostile || {
	t_stop_server
	t_done
}
PID=${T_PIDS[m]}

# ---- Graph: the organization document ----
for mode in bigcl stream deepobj garbage slow; do
	hset "org=$mode"
	timed "org_$mode" cat "$MNT/tenant/tenant.json"
	check "org $mode: cat tenant.json fails cleanly" test "$TRC" -ne 0 -a "$TRC" -lt 124
	alive "org $mode"
done
errors_mention tenant "the refused Graph replies"
hset "org=ok"

# ---- registration contract: apps/ ----
for mode in deep deepobj bigcl endless garbage; do
	hset "reg=$mode"
	timed "reg_$mode" ls "$MNT/apps"
	check "reg $mode: ls apps fails cleanly or lists nothing" test "$TRC" -lt 124 -a ! -s "$T_DIR/out"
	alive "reg $mode"
done
errors_mention apps "the refused registration replies"
hset "reg=names"
timed reg_names ls -1 "$MNT/apps"
check "apps/ shows only safe names" names_clean "$T_DIR/out"
check "apps/ still shows the one good app" grep -qx ok-name "$T_DIR/out"

# ---- ARM: pipelines/ ----
for mode in deep endless bigcl slow; do
	hset "adf=$mode"
	timed "adf_$mode" ls "$MNT/pipelines"
	check "adf $mode: ls pipelines fails cleanly or lists nothing" test "$TRC" -lt 124 -a ! -s "$T_DIR/out"
	alive "adf $mode"
done
errors_mention pipelines "the refused ARM replies"
hset "adf=names"
timed adf_names ls -1 "$MNT/pipelines"
check "pipelines/ shows only safe names" names_clean "$T_DIR/out"
check "pipelines/ still shows the one good pipeline" grep -qx ok-name "$T_DIR/out"

# ---- Blob: listings ----
timed blob_containers ls -1 "$MNT/datasets"
check "datasets/ lists the containers" grep -qx names "$T_DIR/out"
timed blob_names ls -1a "$MNT/datasets/names"
grep -vx '\.\.\?' "$T_DIR/out" >"$T_DIR/out.names"
check "hostile blob names: only safe names shown" names_clean "$T_DIR/out.names"
check "hostile blob names: '.' appears once (the directory itself)" test "$(grep -cx '\.' "$T_DIR/out")" = 1
check "hostile blob names: good.json still shown" grep -qx good.json "$T_DIR/out"
check "hostile blob names: an encoded name decoded ('ok two')" grep -qx "ok two" "$T_DIR/out"
check "hostile blob names: '..' appears once (the real parent)" test "$(grep -cx '\.\.' "$T_DIR/out")" = 1
check "hostile blob names: a hidden name cannot be looked up either (control char)" test ! -e "$MNT/datasets/names/ctl"$'\x01'"char"
check "hostile blob names: a hidden name cannot be looked up either (tab)" test ! -e "$MNT/datasets/names/tab"$'\t'"name"
errors_mention "not shown" "the hidden names"
timed blob_dups ls -1 "$MNT/datasets/dups"
is "$(tr '\n' ' ' <"$T_DIR/out")" "both d2 same.json zz.json " "duplicate names listed once each"
for mode in endless emptypages hugepage bigcl deep garbage slow; do
	timed "blob_list_$mode" ls "$MNT/datasets/$mode"
	check "listing $mode: fails cleanly or is truncated (no hang)" test "$TRC" -lt 124
	alive "listing $mode"
done
errors_mention datasets/hugepage "the over-long listing page"
errors_mention datasets/endless "the endless listing"

# ---- Blob: reads ----
timed blob_get_bigcl cat "$MNT/datasets/getbig/good.json"
check "a 10 GB reply to a ranged read is refused (no bytes served)" test "$TRC" -ne 0 -a "$TRC" -lt 124 -a ! -s "$T_DIR/out"
alive "10 GB ranged read"
timed blob_get_slow cat "$MNT/datasets/getslow/good.json"
check "a slow-loris blob read fails within the deadline" test "$TRC" -ne 0 -a "$TRC" -lt 124
alive "slow-loris read"
timed blob_get_good cat "$MNT/datasets/good/good.json"
is "$(cat "$T_DIR/out")" "hello from a hostile server" "a good blob on the same server still reads"

# ---- memory ----
hwm=$(awk '/^VmHWM/ {print $2}' /proc/"$PID"/status 2>/dev/null)
echo "# figure: hostile_vmhwm_kb=${hwm:-0}"
echo "# figure: hostile_worst_ms=$WORST"
if grep -qa __asan_init "$MGDCFS"; then
	skip "daemon peak RSS under 128 MiB" "ASan build: shadow memory makes RSS meaningless"
else
	check "daemon peak RSS (VmHWM ${hwm:-?} kB) stays under 128 MiB" test "${hwm:-999999999}" -lt $((128 * 1024))
fi
hstats | jq -c 'to_entries[] | {(.key): .value}' 2>/dev/null | sed 's/^/# served: /'
[ $T_DEAD = 1 ] || unmount_fs m
check "daemon log has no crash trace" bash -c "! grep -qiE 'sanitizer|segfault|abort' '${T_LOGS[m]}'"

# ---- token endpoint: garbage at mount time ----
for mode in notjson wrongtypes garbage deep hugetoken ctltoken bigcl slow; do
	hset "token=$mode"
	t0=$(date +%s%N)
	timeout -k 5 $((LIMIT_S + 30)) "$MGDCFS" -f --config "$MGDC_CONFIG" --profile hostile \
		--cache-dir "$T_DIR/cache-t" "$T_DIR/tmnt" >"$T_DIR/tout" 2>&1 </dev/null &
	tp=$!
	mkdir -p "$T_DIR/tmnt"
	# It either refuses to mount (exit 1 with a message) or mounts; never crashes or hangs.
	while kill -0 $tp 2>/dev/null && ! mountpoint -q "$T_DIR/tmnt"; do sleep 0.05; done
	if mountpoint -q "$T_DIR/tmnt"; then
		timeout 30 cat "$T_DIR/tmnt/tenant/tenant.json" >/dev/null 2>&1
		crc=$?
		fusermount3 -u "$T_DIR/tmnt"
		wait $tp
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		check "token $mode: mounted, tenant.json refused, clean exit ($ms ms)" test $crc -ne 0 -a $crc -lt 124 -a $rc -eq 0
	else
		wait $tp
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		if [ $rc -eq 1 ] && grep -qi 'sign in\|token' "$T_DIR/tout"; then
			ok "token $mode: mount refused with a message ($ms ms)"
		else
			not_ok "token $mode: mount refused with a message (status $rc, $ms ms)"
			sed 's/^/#   /' "$T_DIR/tout" | head -5
		fi
	fi
	echo "# figure: hostile_token_${mode}_ms=$ms"
	check "token $mode: within ${LIMIT_S} s" test $ms -le $((LIMIT_S * 1000))
	check "token $mode: the reply's bytes are not echoed" bash -c "! grep -q 'X-Injected' '$T_DIR/tout'"
done
t_stop_server
t_done
