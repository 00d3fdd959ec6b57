#!/usr/bin/env bash
# 16-system.sh - mgdcfs as a system tool: options in every spelling, the
# mount-point checks, signals, where the log goes, sd_notify, mount(8) with
# an fstab line, -t fuse.mgdcfs and the mount.mgdcfs helper, the systemd
# units, and a system mount without HOME.
#
# Every case runs the real binary against the real sandbox. The truth is the
# kernel's (/proc/mounts, mountpoint), the tenant id of the sandbox (a direct
# REST call would give the same; MGDC_TENANT_ID is the seed), the counters of
# stats.json read before and after, and what arrives on sockets and in files
# this test owns (a syslog socket, a NOTIFY_SOCKET). The mount(8) cases run in
# a private mount namespace in which /usr/sbin and /usr/local/bin are overlaid
# with the helper and the binary, so nothing of the machine is changed.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox

umask 077
BIN_DIR=$(dirname "$MGDCFS")
DGRAM=$T_ROOT/tests/lib/dgram.py
TENANT=$MGDC_TENANT_ID

# A config whose developer profile keeps metadata for an hour (no TTL can pass
# between two reads of a test) and, as "offline", one whose login port is closed.
CFG=$T_DIR/config.json
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
jq --arg p "$port" '.profiles.developer.ttl.metadata_s = 3600 | .profiles.offline = (.profiles.developer
	| .endpoints.login = "https://127.0.0.1:\($p)/login"
	| .timeouts = {connect_ms: 500, io_s: 2, retries: 0, deadline_ms: 2000})' "$MGDC_CONFIG" >"$CFG"
chmod 600 "$CFG"

# start NAME [mgdcfs args...]: run mgdcfs -f ARGS in the background (stderr to
# $T_DIR/NAME.err), wait until $T_DIR/NAME is a mount point; sets PID.
start() {
	local name=$1 deadline=$((SECONDS + 30))
	shift
	mkdir -p "$T_DIR/$name"
	"$MGDCFS" -f "$@" 2>"$T_DIR/$name.err" &
	PID=$!
	T_PIDS[$name]=$PID
	T_LOGS[$name]=$T_DIR/$name.err
	while ! mountpoint -q "$T_DIR/$name"; do
		if ! kill -0 "$PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			not_ok "$name: mounted"
			sed 's/^/#   /' "$T_DIR/$name.err" | tail -5
			return 1
		fi
		sleep 0.05
	done
}

# stop NAME SIGNAL: send SIGNAL; the daemon must exit 0 and leave nothing mounted.
stop() {
	local name=$1 sig=$2 pid=${T_PIDS[$1]} rc deadline=$((SECONDS + 20))
	kill "-$sig" "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	wait "$pid"
	rc=$?
	unset "T_PIDS[$name]"
	is "$rc" 0 "$name: SIG$sig stops the daemon with exit status 0"
	if mountpoint -q "$T_DIR/$name"; then
		not_ok "$name: SIG$sig leaves nothing mounted"
		fusermount3 -uz "$T_DIR/$name"
	else
		ok "$name: SIG$sig leaves nothing mounted"
	fi
}

counter() { jq -r "$2" "$T_DIR/$1/.mgdcfs/stats.json"; }
serves() { [ "$(jq -r .id "$T_DIR/$1/tenant/tenant.json" 2>/dev/null)" = "$TENANT" ]; }

# refused_early DESC WANT NEEDLE ARGS...: exit status WANT, NEEDLE on stderr, and no
# network: the offline profile's closed login port would have said so.
refused_early() {
	local desc=$1 want=$2 needle=$3 rc
	shift 3
	timeout 60 "$MGDCFS" -f "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	is "$rc" "$want" "$desc: exit status $want"
	if grep -qF -- "$needle" "$T_DIR/err"; then
		ok "$desc: stderr says '$needle'"
	else
		not_ok "$desc: stderr says '$needle'"
		diag "stderr: $(head -c 400 "$T_DIR/err")"
	fi
	if grep -qiE 'cannot reach|sign in' "$T_DIR/err"; then
		not_ok "$desc: refused before any network request"
	else
		ok "$desc: refused before any network request"
	fi
}

# ---- options: both spellings, -o names, and errors before the network ----
mkdir -p "$T_DIR/mp"
refused_early "--config without its value" 2 "--config needs a value" --config
refused_early "a log level that is not one" 2 "use error, warn, info or debug" \
	--config "$CFG" --profile offline --log-level loud "$T_DIR/mp"
refused_early "-o log_level=loud" 2 "use error, warn, info or debug" \
	--config "$CFG" --profile offline -o log_level=loud "$T_DIR/mp"
refused_early "an unknown -o option" 2 "unknown or malformed option" \
	--config "$CFG" --profile offline -o no_such_option "$T_DIR/mp"
check "an unknown -o option: libfuse names it" grep -qF no_such_option "$T_DIR/err"
refused_early "attr_timeout that is not a number" 2 "attr_timeout=soon: expected seconds" \
	--config "$CFG" --profile offline -o attr_timeout=soon "$T_DIR/mp"
refused_early "three positional arguments" 2 "too many arguments" \
	--config "$CFG" --profile offline a b "$T_DIR/mp"

if start eq --config="$CFG" --profile=developer --cache-dir="$T_DIR/cache-eq" \
	--log="$T_DIR/eq.log" "$T_DIR/eq"; then
	check "--opt=VALUE spellings: the mount serves the tenant" serves eq
	check "--log=FILE: the log file is written" grep -q "info: mounted: profile developer" "$T_DIR/eq.log"
	# .mgdcfs/metrics: the Prometheus text format (every sample of a metric that has
	# its # HELP and # TYPE) with the values of stats.json. Reading files of .mgdcfs/
	# moves only the fuse group's counters, so the others must agree exactly.
	cp "$T_DIR/eq/.mgdcfs/stats.json" "$T_DIR/stats.json"
	cp "$T_DIR/eq/.mgdcfs/metrics" "$T_DIR/metrics.txt"
	bad=$(python3 - "$T_DIR/stats.json" "$T_DIR/metrics.txt" <<'PY'
import json, re, sys
stats = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{profile="([^"\\]|\\.)*"\} (-?[0-9.e+]+)$')
seen, helped, typed, bad = {}, set(), {}, []
for l in lines:
    if l.startswith("# HELP "):
        helped.add(l.split()[2])
    elif l.startswith("# TYPE "):
        _, _, name, kind = l.split()
        typed[name] = kind
    else:
        m = sample.match(l)
        if not m:
            bad.append("not a sample: " + l)
            continue
        name = m.group(1)
        if name not in helped or name not in typed:
            bad.append("no HELP/TYPE before " + name)
        if (typed.get(name) == "counter") != name.endswith("_total"):
            bad.append("counter naming: " + name)
        seen[name] = float(m.group(3))
if "errors" not in stats or "served_offline" not in stats.get("listings", {}):
    bad.append("stats.json lacks its last samples (the table is full)")
for group in ("cache", "network", "datasets", "listings"):
    for k, v in stats[group].items():
        if k in ("enabled", "throughput_in_Bps", "in_flight", "oldest_answer_age_s", "revalidating"):
            continue
        names = ["mgdcfs_%s_%s_total" % (group, k), "mgdcfs_%s_%s" % (group, k)]
        got = [seen[n] for n in names if n in seen]
        if not got or got[0] != float(v):
            bad.append("%s.%s: json %s, metrics %s" % (group, k, v, got))
for k in stats["fuse"]:
    if "mgdcfs_fuse_%s_total" % k not in seen:
        bad.append("fuse.%s missing" % k)
print("; ".join(bad))
PY
	)
	is "$bad" "" ".mgdcfs/metrics: Prometheus text format with the counters of stats.json"
	stop eq TERM
fi

if start o -o "config=$CFG,profile=developer,cache_dir=$T_DIR/cache-o,log=$T_DIR/o.log,log_level=debug" \
	"$T_DIR/o"; then
	check "-o config=,profile=,cache_dir=,log=: the mount serves the tenant" serves o
	check "-o log_level=debug: debug lines in the log" grep -q " debug: " "$T_DIR/o.log"
	is "$(awk -v m="$T_DIR/o" '$2 == m {print $1, $3}' /proc/mounts)" "mgdcfs:developer fuse.mgdcfs" \
		"fsname defaults to mgdcfs:PROFILE in /proc/mounts (type fuse.mgdcfs)"
	stop o INT
fi

if start src "developer@$CFG" "$T_DIR/src" -o "cache_dir=$T_DIR/cache-src,log=$T_DIR/src.log"; then
	check "SOURCE MOUNTPOINT (PROFILE@CONFIG, as mount(8) passes it) serves the tenant" serves src
	stop src TERM
fi

if start fsn --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-fsn" --log "$T_DIR/fsn.log" \
	-o fsname=contoso-mgdc,subtype=mgdc "$T_DIR/fsn"; then
	is "$(awk -v m="$T_DIR/fsn" '$2 == m {print $1, $3}' /proc/mounts)" "contoso-mgdc fuse.mgdc" \
		"-o fsname= and subtype= win over the defaults"
	stop fsn TERM
fi

# Kernel timeouts: with entry_timeout=60 a second stat of a name is answered by
# the kernel (no LOOKUP reaches mgdcfs); with 0 every stat is a LOOKUP.
for t in 60 0; do
	if start "to$t" --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-to$t" \
		--log "$T_DIR/to$t.log" -o "entry_timeout=$t,attr_timeout=$t" "$T_DIR/to$t"; then
		stat "$T_DIR/to$t/tenant/tenant.json" >/dev/null
		a=$(counter "to$t" .fuse.lookups)
		stat "$T_DIR/to$t/tenant/tenant.json" >/dev/null
		b=$(counter "to$t" .fuse.lookups)
		if [ "$t" = 60 ]; then
			is "$((b - a))" 0 "-o entry_timeout=60: a repeated stat makes no LOOKUP ($a, $b)"
		else
			check "-o entry_timeout=0: a repeated stat makes LOOKUPs ($a, $b)" test "$b" -gt "$a"
		fi
		stop "to$t" TERM
	fi
done

# ---- mount point checks: before signing in, exit 2 ----
printf 'x\n' >"$T_DIR/file"
refused_early "a regular file as mount point" 2 "is not a directory" --config "$CFG" --profile offline "$T_DIR/file"
mkdir -p "$T_DIR/full"
printf 'keep me\n' >"$T_DIR/full/notes.txt"
refused_early "a non-empty directory" 2 "is not empty (it holds 'notes.txt'" --config "$CFG" --profile offline "$T_DIR/full"
check "a non-empty directory: the refusal names -o nonempty" grep -qF -- "-o nonempty" "$T_DIR/err"
refused_early "a missing directory" 2 "does not exist; create it: mkdir -p" --config "$CFG" --profile offline "$T_DIR/nope"
refused_early "no mount point" 2 "no MOUNTPOINT given" --config "$CFG" --profile offline
if start full --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-full" --log "$T_DIR/full.log" \
	-o nonempty "$T_DIR/full"; then
	check "-o nonempty mounts over a non-empty directory" serves full
	stop full TERM
	is "$(cat "$T_DIR/full/notes.txt")" "keep me" "and the directory's file is there again after"
fi
if start twice --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-twice" --log "$T_DIR/twice.log" \
	"$T_DIR/twice"; then
	refused_early "a directory that is already a mount point" 2 "is already a mount point (mgdcfs:developer" \
		--config "$CFG" --profile offline "$T_DIR/twice"
	check "the first mount still serves" serves twice
	stop twice TERM
fi

# ---- signals ----
if start sig --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-sig" --log "$T_DIR/sig.log" \
	"$T_DIR/sig"; then
	kill -USR1 "$PID"
	deadline=$((SECONDS + 10))
	until grep -q "SIGUSR1: counters: {" "$T_DIR/sig.log" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	check "SIGUSR1 writes the counters to the log" grep -q 'SIGUSR1: counters: {"uptime_s":' "$T_DIR/sig.log"
	kill -USR2 "$PID"
	check "SIGUSR1 and SIGUSR2 leave the daemon serving" serves sig
	check "and alive" kill -0 "$PID"
	# SIGHUP: metadata is cached (an hour), so a second read makes no request;
	# after SIGHUP the next read asks the service again.
	serves sig
	r1=$(counter sig .network.requests)
	serves sig
	r2=$(counter sig .network.requests)
	is "$((r2 - r1))" 0 "tenant.json read twice: the second read is cached ($r1, $r2)"
	mv "$T_DIR/sig.log" "$T_DIR/sig.log.1"
	kill -HUP "$PID"
	deadline=$((SECONDS + 10))
	until grep -qs "SIGHUP: log reopened" "$T_DIR/sig.log" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	check "SIGHUP after a rename (logrotate): the log is written at its path again" \
		grep -q "SIGHUP: log reopened" "$T_DIR/sig.log"
	if grep -q "SIGHUP" "$T_DIR/sig.log.1"; then not_ok "and not into the renamed file"; else ok "and not into the renamed file"; fi
	check "the renamed file kept the lines from before" grep -q "mounted: profile developer" "$T_DIR/sig.log.1"
	r3=$(counter sig .network.requests)
	serves sig
	r4=$(counter sig .network.requests)
	check "SIGHUP dropped the cached metadata: the next read asks the service ($r3, $r4)" test "$r4" -gt "$r3"
	check "the daemon is still mounted after SIGHUP" mountpoint -q "$T_DIR/sig"
	stop sig TERM
	if grep -qE ' (error|warning): ' "$T_DIR/sig.log" "$T_DIR/sig.log.1"; then
		not_ok "no error or warning in the log"
	else
		ok "no error or warning in the log"
	fi
fi

# ---- a stop never waits for a transfer: SIGTERM while a read waits on a stalled blob ----
# The blob's GET stalls for 60 s in the sandbox's blob proxy (the profile's
# deadline is 30 s): the daemon must still exit 0 within a few seconds (http's
# cancel hook ends the transfer), the reader gets an error, not bytes.
SC=sys$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$SC" >/dev/null || not_ok "create container $SC"
head -c $((1 << 20)) /dev/urandom >"$T_DIR/slow.src"
blob_put "$SC" slow.bin "$T_DIR/slow.src" || not_ok "upload slow.bin"
fault_reset
jq --arg u "$(faults_get | jq -r .blobProxy)" '.profiles.developer.endpoints.blob = $u' "$CFG" >"$T_DIR/slow.json"
chmod 600 "$T_DIR/slow.json"
if start slow --config "$T_DIR/slow.json" --profile developer --cache-dir "$T_DIR/cache-slow" "$T_DIR/slow"; then
	ls "$T_DIR/slow/datasets/$SC" >/dev/null
	fault_add '{"route":"^GET /mgdcsandbox/'"$SC"'/slow\\.bin","latencyMs":60000}'
	(cat "$T_DIR/slow/datasets/$SC/slow.bin" >"$T_DIR/slow.out" 2>/dev/null; echo $? >"$T_DIR/slow.rc") &
	reader=$!
	deadline=$((SECONDS + 15))
	until [ "$(faults_get | jq '[.rules[].hits] | add // 0')" -ge 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
	check "the read reached the stalled blob" test "$(faults_get | jq '[.rules[].hits] | add // 0')" -ge 1
	t0=$(date +%s%3N)
	stop slow TERM
	took=$(($(date +%s%3N) - t0))
	echo "# figure: sigterm_during_stalled_read_ms=$took"
	check "SIGTERM during a 60 s stall: the daemon is gone within 8 s (took $took ms)" test "$took" -le 8000
	wait "$reader"
	check "the reader got an error, not bytes (status $(cat "$T_DIR/slow.rc"))" \
		bash -c "[ \"\$(cat '$T_DIR/slow.rc')\" != 0 ] && [ ! -s '$T_DIR/slow.out' ]"
fi
fault_reset

# ---- logs: quiet on a terminal, syslog with ident and profile ----
if start quiet --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-quiet" "$T_DIR/quiet"; then
	serves quiet
	stop quiet TERM
	is "$(cat "$T_DIR/quiet.err")" "" "a normal foreground mount prints nothing (quiet on success)"
fi
python3 "$DGRAM" "$T_DIR/log.sock" "$T_DIR/syslog.txt" 120 &
SYSLOGD=$!
deadline=$((SECONDS + 10))
until [ -S "$T_DIR/log.sock" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
mkdir -p "$T_DIR/bg"
"$MGDCFS" --config "$CFG" --profile developer --cache-dir "$T_DIR/cache-bg" --log "syslog:$T_DIR/log.sock" \
	"$T_DIR/bg" >"$T_DIR/bg.out" 2>&1
rc=$?
is "$rc" 0 "a background mount logging to syslog starts (exit 0)"
is "$(cat "$T_DIR/bg.out")" "" "and prints nothing"
check "the background mount serves" serves bg
deadline=$((SECONDS + 10))
until grep -q "mounted: profile" "$T_DIR/syslog.txt" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
line=$(grep -m1 "mounted: profile" "$T_DIR/syslog.txt")
bgpid=$(sed -n 's/.* mgdcfs\[\([0-9]*\)\]: .*/\1/p' <<<"$line")
check "syslog line: facility daemon, info, ident mgdcfs[PID], [profile]: $line" \
	grep -qE '^<30>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} mgdcfs\[[0-9]+\]: \[developer\] info: mounted: profile developer' <<<"$line"
check "the PID in the syslog line is the background daemon's" test -n "$bgpid" -a -d "/proc/$bgpid"
if [ -n "$bgpid" ] && [ -d "/proc/$bgpid" ]; then
	kill -TERM "$bgpid"
	deadline=$((SECONDS + 20))
	while kill -0 "$bgpid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
	check "SIGTERM to the background daemon unmounts" bash -c "! mountpoint -q '$T_DIR/bg'"
	until grep -q "SIGTERM: unmounting" "$T_DIR/syslog.txt" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	check "and says so in syslog" grep -q "\[developer\] info: SIGTERM: unmounting" "$T_DIR/syslog.txt"
fi
mountpoint -q "$T_DIR/bg" && fusermount3 -uz "$T_DIR/bg"
kill "$SYSLOGD" 2>/dev/null
wait "$SYSLOGD" 2>/dev/null

# ---- sd_notify: READY once the mount serves, STOPPING at SIGTERM ----
python3 "$DGRAM" "$T_DIR/notify.sock" "$T_DIR/notify.txt" 120 &
NOTIFYD=$!
deadline=$((SECONDS + 10))
until [ -S "$T_DIR/notify.sock" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
if NOTIFY_SOCKET=$T_DIR/notify.sock start ntf --config "$CFG" --profile developer \
	--cache-dir "$T_DIR/cache-ntf" --log "$T_DIR/ntf.log" "$T_DIR/ntf"; then
	deadline=$((SECONDS + 10))
	until grep -q "READY=1" "$T_DIR/notify.txt" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
	check "sd_notify: READY=1 with a STATUS naming profile and mount point" \
		grep -qF "READY=1 | STATUS=Serving profile developer at $T_DIR/ntf" "$T_DIR/notify.txt"
	check "sd_notify: a STATUS while signing in came first" grep -q "^STATUS=Signing in (profile developer)" "$T_DIR/notify.txt"
	stop ntf TERM
	check "sd_notify: STOPPING=1 at SIGTERM" grep -q "^STOPPING=1" "$T_DIR/notify.txt"
fi
kill "$NOTIFYD" 2>/dev/null
wait "$NOTIFYD" 2>/dev/null

# ---- a real transient unit, where systemd runs this machine ----
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; then
	unit=mgdcfs-test-$$
	mkdir -p "$T_DIR/sd"
	if systemd-run --quiet --unit="$unit" -p Type=notify -p TimeoutStartSec=60 "$MGDCFS" -f \
		--config "$CFG" --profile developer --cache-dir "$T_DIR/cache-sd" "$T_DIR/sd"; then
		is "$(systemctl is-active "$unit")" active "systemd-run -p Type=notify: active once READY=1 came"
		check "and the mount serves when systemd says it is started" serves sd
		systemctl stop "$unit"
		is "$(systemctl show -p ExecMainStatus --value "$unit" 2>/dev/null || echo 0)" 0 \
			"systemctl stop: mgdcfs exits 0"
		check "and leaves nothing mounted" bash -c "! mountpoint -q '$T_DIR/sd'"
	else
		not_ok "systemd-run -p Type=notify starts mgdcfs"
	fi
	systemctl reset-failed "$unit" 2>/dev/null
else
	skip "a transient Type=notify unit with systemd-run" "systemd is not running here (the notify socket cases above cover the protocol)"
fi

# ---- the sample units, checked by systemd's own parser where it is installed ----
for u in "$T_ROOT"/systemd/*; do
	n=$(basename "$u")
	if ! command -v systemd-analyze >/dev/null; then
		skip "systemd-analyze verify $n" "no systemd-analyze on this machine"
		continue
	fi
	sed "s|@BINDIR@|$BIN_DIR|g" "$u" >"$T_DIR/$n"
	out=$(cd "$T_DIR" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$T_DIR/$n" 2>&1 |
		grep -v "is not executable: No such file or directory$" | grep -v "^$")
	is "$out" "" "systemd-analyze verify $n: no complaint"
done
grep -q '^Type=notify$' "$T_ROOT/systemd/mgdcfs@.service" && ok "mgdcfs@.service is Type=notify" ||
	not_ok "mgdcfs@.service is Type=notify"

# ---- mount(8), the helper, the unit's command line, a system mount without HOME ----
# In a private mount namespace: /usr/sbin gets mount.mgdcfs (as make install puts
# it), /usr/local/bin gets mgdcfs, /etc/mgdcfs the config, /var/cache/mgdcfs and
# /srv/mgdc are empty. Results come back as "ok|desc" or "not ok|desc" lines.
for d in /etc/mgdcfs /var/cache/mgdcfs /srv/mgdc; do
	[ -d "$d" ] || { mkdir -p "$d" && echo "$d" >>"$T_DIR/made-dirs"; }
done
mkdir -p "$T_DIR/inst" "$T_DIR/lbin" "$T_DIR/ns"
make -s install DESTDIR="$T_DIR/inst" PREFIX=/usr/local SBINDIR=/sbin BUILD="${BUILD:-build}" SANITIZE= \
	>"$T_DIR/install.log" 2>&1 || not_ok "make install for the mount(8) cases"
ln -s "$MGDCFS" "$T_DIR/lbin/mgdcfs"
jq '{profiles: {developer: (.profiles.developer | del(.cache.dir))}}' "$CFG" >"$T_DIR/ns/config.json"
python3 "$DGRAM" "$T_DIR/notify2.sock" "$T_DIR/notify2.txt" 120 &
NOTIFYD=$!
cat >"$T_DIR/ns.sh" <<'EOS'
set -u
r() { if eval "$2"; then echo "ok|$1"; else echo "not ok|$1"; fi; }
up() { local d=$((SECONDS + 30)); while ! mountpoint -q "$1" && [ $SECONDS -lt $d ]; do sleep 0.05; done; mountpoint -q "$1"; }
gone() { local d=$((SECONDS + 20)); while pgrep -f -- "$1" >/dev/null && [ $SECONDS -lt $d ]; do sleep 0.05; done; ! pgrep -f -- "$1" >/dev/null; }
tenant() { [ "$(jq -r .id "$1/tenant/tenant.json" 2>/dev/null)" = "$TENANT" ]; }
mount -t overlay overlay -o "lowerdir=$T/inst/sbin:/usr/sbin" /usr/sbin || { echo "not ok|overlay /usr/sbin"; exit 0; }
mount -t overlay overlay -o "lowerdir=$T/lbin:/usr/local/bin" /usr/local/bin || { echo "not ok|overlay /usr/local/bin"; exit 0; }
mount -t tmpfs -o mode=0755 tmpfs /etc/mgdcfs && cp "$T/ns/config.json" /etc/mgdcfs/config.json && chmod 600 /etc/mgdcfs/config.json
mount -t tmpfs -o mode=0755 tmpfs /var/cache/mgdcfs
mount -t tmpfs -o mode=0755 tmpfs /srv/mgdc
mkdir -p "$T/m1" "$T/m2" "$T/m3"
# fstab line with the helper's type, through mount -T (an fstab of our own).
printf 'developer@%s %s mgdcfs cache_dir=%s,log=%s,_netdev,nofail,noauto,x-systemd.automount 0 0\n' \
	/etc/mgdcfs/config.json "$T/m1" "$T/c1" "$T/m1.log" >"$T/fstab"
mount -T "$T/fstab" "$T/m1"; rc=$?
r "mount -T FSTAB DIR (type mgdcfs, _netdev,nofail,noauto,x-*): exit 0 (was $rc)" '[ $rc = 0 ] && up "$T/m1"'
r "the fstab mount serves the tenant" 'tenant "$T/m1"'
r "the fstab mount's fsname is mgdcfs:developer" 'awk -v m="$T/m1" '"'"'$2 == m {print $1}'"'"' /proc/mounts | grep -qx mgdcfs:developer'
umount "$T/m1"; rc=$?
r "umount of the fstab mount: exit 0, the daemon ends" '[ $rc = 0 ] && gone "cache_dir=$T/c1"'
# mount -t fuse.mgdcfs (the sshfs/s3fs form): mount(8) finds mount.fuse.mgdcfs.
mount -t fuse.mgdcfs "developer@/etc/mgdcfs/config.json" "$T/m2" -o "cache_dir=$T/c2,log=$T/m2.log,_netdev"; rc=$?
r "mount -t fuse.mgdcfs PROFILE@CONFIG DIR -o ...: exit 0 (was $rc)" '[ $rc = 0 ] && up "$T/m2"'
r "the -t fuse.mgdcfs mount serves the tenant" 'tenant "$T/m2"'
umount "$T/m2"
r "umount of the -t fuse.mgdcfs mount ends the daemon" 'gone "cache_dir=$T/c2"'
# The unit's command line, run as systemd would (no HOME, a NOTIFY_SOCKET):
# config from /etc/mgdcfs, cache in /var/cache/mgdcfs/PROFILE.
cmd=$(sed -n "s|^ExecStart=||p" "$T/inst/usr/local/lib/systemd/system/mgdcfs@.service" | sed 's/%i/developer/g')
mkdir -p /srv/mgdc/developer
: >"$T/unit.err"
js=$(stat -c '%d:%i' "$T/unit.err")
env -i PATH=/usr/local/bin:/usr/bin:/bin NOTIFY_SOCKET="$T/notify2.sock" JOURNAL_STREAM="$js" \
	AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:1 $cmd 2>>"$T/unit.err" & upid=$!
r "the unit's ExecStart ($cmd) mounts without HOME" 'up /srv/mgdc/developer'
r "and serves the tenant" 'tenant /srv/mgdc/developer'
r "its config is /etc/mgdcfs/config.json" 'jq -r .config_file /srv/mgdc/developer/.mgdcfs/config.json | grep -qx /etc/mgdcfs/config.json'
r "its cache is /var/cache/mgdcfs/developer" 'jq -r .cache.dir /srv/mgdc/developer/.mgdcfs/config.json | grep -qx /var/cache/mgdcfs/developer && [ -f /var/cache/mgdcfs/developer/data.mdb ]'
r "nothing of it went under /tmp" '! ls -d /tmp/.cache/mgdcfs 2>/dev/null'
kill -TERM $upid; wait $upid; rc=$?
r "SIGTERM (systemctl stop) ends it with exit 0 (was $rc)" '[ $rc = 0 ] && ! mountpoint -q /srv/mgdc/developer'
r "its log went to the journal stream with priorities and the profile" 'grep -q "^<6>\[developer\] info: mounted: profile developer" "$T/unit.err"'
r "with no error or warning" '! grep -qE "^<[34]>" "$T/unit.err"'
umount /srv/mgdc /var/cache/mgdcfs /etc/mgdcfs /usr/local/bin /usr/sbin 2>/dev/null
EOS
# A private namespace; inside a chroot whose / is not a mount point (scripts/fresh-debian)
# the propagation cannot be changed, but there every mount is private already.
prop=private
if ! unshare -m --propagation private true 2>/dev/null && ! grep -q ' shared:' /proc/self/mountinfo; then
	prop=unchanged
fi
unshare -m --propagation "$prop" env T="$T_DIR" TENANT="$TENANT" bash "$T_DIR/ns.sh" >"$T_DIR/ns.out" 2>"$T_DIR/ns.err"
while IFS='|' read -r res desc; do
	case $res in
	ok) ok "$desc" ;;
	"not ok") not_ok "$desc" ;;
	esac
done <"$T_DIR/ns.out"
[ -s "$T_DIR/ns.out" ] || { not_ok "the mount(8) cases ran"; sed 's/^/#   /' "$T_DIR/ns.err" | tail -5; }
grep -q '^not ok' "$T_DIR/ns.out" && sed 's/^/#   /' "$T_DIR/ns.err" | tail -10
deadline=$((SECONDS + 10))
until grep -q "STOPPING=1" "$T_DIR/notify2.txt" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
check "the unit's daemon told its NOTIFY_SOCKET READY=1 and STOPPING=1" \
	bash -c "grep -q '^READY=1' '$T_DIR/notify2.txt' && grep -q '^STOPPING=1' '$T_DIR/notify2.txt'"
kill "$NOTIFYD" 2>/dev/null
wait "$NOTIFYD" 2>/dev/null
# Directories this test made on the machine are removed again (they are empty).
[ -f "$T_DIR/made-dirs" ] && xargs -r rmdir <"$T_DIR/made-dirs" 2>/dev/null

t_done
