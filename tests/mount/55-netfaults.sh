#!/usr/bin/env bash
# Network faults beyond loopback (tests/lib/netns.sh): mgdcfs runs in a
# network namespace of its own and reaches every endpoint by a name of
# mgdc.test over a link of its own. Faults, on every endpoint at once while
# the mount is live: the names stop resolving (and open connections are
# reset), the routes are dropped (ENETUNREACH), every segment is rejected
# (RST), every packet is dropped (blackhole: timeouts), the links are cut.
# In each: browsing (an uncached folder, tenant.json and pipelines/ past
# their TTL), a dataset read (uncached) and a pipeline commit fail within
# their bound with a clear errno and a line in .mgdcfs/errors; a cached file
# is still served; the factory holds none of the commit. After the fault
# clears, every operation works again within one retry interval without a
# remount: the folder lists, tenant.json and pipelines/ equal direct REST
# calls, the file's sha256 equals a direct download, the commit goes
# through. Then: one endpoint rejected while the others work; latency and
# loss on every link (everything works, correct bytes); a link cut in the
# middle of a read (an error or the right bytes, never wrong ones); and a
# mount at boot while the login host does not resolve, which fills in once
# it does.
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/faults.sh"
. "$T_ROOT/tests/lib/commands.sh"
fault_reset
net_up || t_done
FSOP="$T_ROOT/tests/lib/fsop.py"
# Pipeline commits write their journal here, so the test can see it go.
export XDG_STATE_HOME=$T_DIR/state
JOURNAL=$XDG_STATE_HOME/mgdcfs/journal

# Short bounds: a 4 s deadline, 2 s of silence aborts a transfer, 2 s TTLs,
# looked-up addresses reused for 1 s. One retry interval is the longest a
# failure is remembered (storage: 3 s; a control-plane document: min(TTL,
# 2 s)), so every operation is tried on the network again after 3 s.
DEADLINE_MS=4000
RETRY_MS=3000
figure net_config_deadline_ms "$DEADLINE_MS"
figure net_config_retry_interval_ms "$RETRY_MS"
TIMEOUTS='.timeouts = {connect_ms: 1500, io_s: 2, retries: 3, deadline_ms: 4000, dns_cache_s: 1}
	| .ttl = {metadata_s: 2, status_s: 2, listing_s: 2} | .cache.chunk_kb = 4096'

C=netf$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || { not_ok "create container"; t_done; }
PHASES=(dns route reject blackhole cut)
mkdir -p "$T_DIR/src"
# put NAME BYTES: a random blob r/NAME (or a path with a folder) and its direct download.
put() {
	head -c "$2" /dev/urandom >"$T_DIR/src/x"
	blob_put "$C" "$1" "$T_DIR/src/x" || not_ok "upload $1"
	blob_get "$C" "$1" "$T_DIR/src/${1//\//_}.direct"
}
want() { sha "$T_DIR/src/${1//\//_}.direct"; }
put r/cached.bin $((6 << 20))
put r/big.bin $((32 << 20))
for p in "${PHASES[@]}" one; do
	put "r/u-$p.bin" $((5 << 20))
	put "p-$p/x.bin" 1000
done
put r/u-slow.bin $((9 << 20))

tenant_id() { jq -r .id "$1/tenant/tenant.json" 2>/dev/null; }
arm_list() { adf GET "$(ADF_BASE)/pipelines?$API" | jq -r '.value[].name' | sort | tr '\n' ' '; }
mnt_pipelines() { ls "$1/pipelines" 2>/dev/null | grep -v '\.json$' | tr '\n' ' '; }

# ---- 1. Boot: the login host does not resolve when the mount starts. ----
net_cfg boot "$TIMEOUTS"
net_dns_off login
mount_fs boot developer || t_done
B=$MNT
check "boot: mounted although the login host does not resolve" mountpoint -q "$B"
check "boot: the log says the tree fills in when it is back" \
	grep -q "cannot reach the token endpoint.*mounting anyway" "${T_LOGS[boot]}"
t=$(ms)
r=$(/usr/bin/python3 "$FSOP" read "$B/tenant/tenant.json")
el=$(($(ms) - t))
is "$r" EHOSTUNREACH "boot: tenant.json fails with EHOSTUNREACH while the name does not resolve"
check "boot: within 2 deadlines + 2 s ($el ms)" test "$el" -le $((2 * DEADLINE_MS + 2000))
check "boot: .mgdcfs/errors says the host does not resolve" \
	grep -q "tenant.json: .*resolve host: login.mgdc.test" "$B/.mgdcfs/errors"
net_dns_on login
t=$(ms)
until [ "$(tenant_id "$B")" = "$MGDC_TENANT_ID" ] || [ $(($(ms) - t)) -gt $((RETRY_MS + DEADLINE_MS)) ]; do sleep 0.1; done
el=$(($(ms) - t))
figure net_boot_login_resolves_recover_ms "$el"
is "$(tenant_id "$B")" "$MGDC_TENANT_ID" "boot: once the name resolves, tenant.json reads (after $el ms)"
check "boot: within one retry interval ($RETRY_MS ms) + 2 s" test "$el" -le $((RETRY_MS + 2000))
is "$(cat "$B/tenant/data-connect" 2>&1)" \
	"$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r 'if .enabled then "enabled" else "disabled" end')" \
	"boot: data-connect = the service's value, without a remount"
unmount_fs boot

# ---- The mount the faults hit. ----
sbx_rest admin "$REG_SCOPE" DELETE "$REG" >/dev/null
net_cfg n "$TIMEOUTS"
mount_fs n developer || t_done
M=$MNT
D=$M/datasets/$C/r
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$M/apps/netapp.json" "$SPEC")" 0 "an app registered through the named endpoints"
pipe() {
	echo '{"app": "netapp", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"},
  "output": {"container": "exports", "folder": "netf/'"$1"'"}}'
}
is "$(/usr/bin/python3 "$FSOP" list "$D")" "0 big.bin cached.bin u-blackhole.bin u-cut.bin u-dns.bin u-one.bin u-reject.bin u-route.bin u-slow.bin" \
	"the folder lists through blob.mgdc.test"
is "$(sha "$D/cached.bin")" "$(want r/cached.bin)" "warm-up: cached.bin read once (= the blob)"
is "$(tenant_id "$M")" "$MGDC_TENANT_ID" "tenant.json through graph.mgdc.test = the tenant"
is "$(mnt_pipelines "$M")" "$(arm_list)" "pipelines/ through arm.mgdc.test = the factory's list"

# Operations run at once, in the background, each timed: op_start NAME CMD...;
# op_wait; then op_ms NAME and op_out NAME.
OPS=()
op_start() {
	local n=$1
	shift
	(
		t=$(ms)
		out=$("$@")
		echo "$(($(ms) - t)) $out" >"$T_DIR/op-$n"
	) &
	OPS+=($!)
}
op_wait() {
	wait "${OPS[@]}"
	OPS=()
}
op_ms() { cut -d' ' -f1 "$T_DIR/op-$1"; }
op_out() { cut -d' ' -f2- "$T_DIR/op-$1"; }

# fail_op PHASE NAME ERRNOS DEADLINES: operation NAME failed with one of
# ERRNOS (a regex) within DEADLINES deadlines + 2 s. A control file or folder
# gets 2: its stat and its open each fetch (see 50-faults-outage.sh).
fail_op() {
	local ms out
	ms=$(op_ms "$2")
	out=$(op_out "$2")
	figure "net_$1_$2_fail_ms" "$ms"
	figure "net_$1_$2_errno" "${out%% *}"
	check "$1: $2 fails with ${out%% *} (want $3) within $4 deadline(s) + 2 s ($ms ms)" \
		bash -c "[[ '${out%% *}' =~ ^($3)\$ ]] && [ $ms -le $(($4 * DEADLINE_MS + 2000)) ]"
}

# recover PHASE NAME CMD...: run CMD until it succeeds; it must within one
# retry interval + 2 s of the fault clearing (at $CLEARED). Prints nothing.
recover() {
	local p=$1 n=$2 el
	shift 2
	until "$@" >/dev/null 2>&1 || [ $(($(ms) - CLEARED)) -gt $((RETRY_MS + 2 * DEADLINE_MS)) ]; do sleep 0.1; done
	el=$(($(ms) - CLEARED))
	figure "net_${p}_${n}_recover_ms" "$el"
	check "$p: $n works again $el ms after the fault cleared (bound: one retry interval $RETRY_MS ms + 2 s)" \
		test "$el" -le $((RETRY_MS + 2000))
	[ "$el" -gt "$WORST" ] && WORST=$el
	return 0
}
ok_tenant() { [ "$(tenant_id "$M")" = "$MGDC_TENANT_ID" ]; }
ok_pipelines() { /usr/bin/python3 "$FSOP" list "$M/pipelines" | grep -q '^0'; }
ok_list() { [ "$(/usr/bin/python3 "$FSOP" list "$1")" = "0 $2" ]; }
ok_read() { [ "$(/usr/bin/python3 "$FSOP" read "$1")" = "0 $2" ]; }

# apply_all FAULT: the fault on every endpoint.
apply_all() {
	local ep
	for ep in "${NET_EPS[@]}"; do
		case $1 in
		dns) net_dns_off "$ep" ;;
		route) net_route_off "$ep" ;;
		reject) net_reject "$ep" ;;
		blackhole) net_blackhole "$ep" ;;
		cut) net_link_off "$ep" ;;
		esac || not_ok "$1 on $ep"
	done
	if [ "$1" = dns ]; then
		# The open connections die too (a laptop resuming), and the addresses
		# looked up last age out of the 1 s DNS cache.
		for ep in "${NET_EPS[@]}"; do net_reset "$ep" || not_ok "reset $ep"; done
		sleep 1.1
	fi
}

declare -A ERRNOS=([dns]=EHOSTUNREACH [route]='ENETUNREACH|ETIMEDOUT' [reject]='ECONNREFUSED|ECONNRESET'
	[blackhole]=ETIMEDOUT [cut]='ETIMEDOUT|EHOSTUNREACH')

# ---- 2. Each fault on every endpoint, then cleared. ----
for p in "${PHASES[@]}"; do
	sleep 2.1 # every TTL passed: what follows needs the network
	L0=$(wc -l <"$M/.mgdcfs/errors")
	apply_all "$p"
	op_start tenant /usr/bin/python3 "$FSOP" read "$M/tenant/tenant.json"
	op_start pipelines /usr/bin/python3 "$FSOP" list "$M/pipelines"
	op_start folder /usr/bin/python3 "$FSOP" list "$M/datasets/$C/p-$p"
	op_start read /usr/bin/python3 "$FSOP" read "$D/u-$p.bin"
	op_start commit "$W" "$M/pipelines/net$p.json" "$(pipe "$p")"
	op_start cached /usr/bin/python3 "$FSOP" read "$D/cached.bin"
	op_wait
	fail_op "$p" tenant "${ERRNOS[$p]}" 2
	fail_op "$p" pipelines "${ERRNOS[$p]}" 2
	fail_op "$p" folder "${ERRNOS[$p]}" 2
	fail_op "$p" read "${ERRNOS[$p]}" 1
	# A commit reads the factory first (two GETs) and then rolls back.
	fail_op "$p" commit "${ERRNOS[$p]}|EIO|EAGAIN" 3
	is "$(op_out cached)" "0 $(want r/cached.bin)" "$p: the cached file is still served, whole"
	figure "net_${p}_cached_read_ms" "$(op_ms cached)"
	errs=$(tail -n +$((L0 + 1)) "$M/.mgdcfs/errors")
	for what in /tenant/tenant.json /pipelines "/datasets/$C/p-$p" "/datasets/$C/r/u-$p.bin" "/pipelines/net$p.json"; do
		check "$p: .mgdcfs/errors has a line for $what" grep -qF -- " $what: " <<<"$errs"
	done
	diag "$(grep -m1 -- "u-$p.bin" <<<"$errs")"
	is "$(plan_held "net$p" 2>/dev/null)" 0 "$p: the factory holds none of the failed commit"
	check "$p: no commit journal left behind" bash -c "[ -z \"\$(ls -A '$JOURNAL' 2>/dev/null)\" ]"
	check "$p: the mount is still up" mountpoint -q "$M"

	net_heal
	CLEARED=$(ms)
	WORST=0
	recover "$p" tenant ok_tenant
	recover "$p" pipelines ok_pipelines
	recover "$p" folder ok_list "$M/datasets/$C/p-$p" x.bin
	recover "$p" read ok_read "$D/u-$p.bin" "$(want "r/u-$p.bin")"
	figure "net_${p}_recover_ms" "$WORST"
	is "$(sha "$D/u-$p.bin")" "$(want "r/u-$p.bin")" "$p cleared: the uncached file's sha256 = a direct download"
	is "$(mnt_pipelines "$M")" "$(arm_list)" "$p cleared: pipelines/ = the factory's list"
	is "$($W "$M/pipelines/net$p.json" "$(pipe "$p")")" 0 "$p cleared: the same commit goes through"
	is "$(plan_held "net$p" 2>/dev/null)" 5 "$p cleared: the factory holds all of it"
	check "$p cleared: rmdir pipelines/net$p (clean-up)" rmdir "$M/pipelines/net$p"
done

# ---- 3. One endpoint: storage rejected, the control plane unaffected. ----
sleep 2.1
net_reject blob
r=$(/usr/bin/python3 "$FSOP" read "$D/u-one.bin")
is "$r" ECONNREFUSED "blob.mgdc.test rejected: an uncached read fails with ECONNREFUSED"
is "$(tenant_id "$M")" "$MGDC_TENANT_ID" "blob.mgdc.test rejected: tenant.json still reads (graph)"
is "$(mnt_pipelines "$M")" "$(arm_list)" "blob.mgdc.test rejected: pipelines/ still lists (arm)"
net_pass blob
CLEARED=$(ms)
WORST=0
recover one read ok_read "$D/u-one.bin" "$(want r/u-one.bin)"

# ---- 4. Latency and loss on every link: slower, never wrong. ----
sleep 2.1
for ep in "${NET_EPS[@]}"; do
	net_delay "$ep" 100 && net_loss "$ep" 3 || not_ok "latency and loss on $ep"
done
t=$(ms)
is "$(sha "$D/u-slow.bin")" "$(want r/u-slow.bin)" "100 ms each way + 3% loss: an uncached 9 MiB read = the blob"
figure net_latency_loss_read_9MiB_ms $(($(ms) - t))
t=$(ms)
is "$(tenant_id "$M")" "$MGDC_TENANT_ID" "100 ms each way + 3% loss: tenant.json = the tenant"
figure net_latency_loss_tenant_ms $(($(ms) - t))
t=$(ms)
is "$($W "$M/pipelines/netslow.json" "$(pipe slow)")" 0 "100 ms each way + 3% loss: a pipeline commit goes through"
figure net_latency_loss_commit_ms $(($(ms) - t))
is "$(plan_held netslow 2>/dev/null)" 5 "and the factory holds all of it"
check "rmdir pipelines/netslow (clean-up)" rmdir "$M/pipelines/netslow"
net_heal

# ---- 5. The storage link cut in the middle of a read. ----
sleep 2.1
# 50 ms each way keeps the 32 MiB read going for a while, so the cut lands in it.
net_delay blob 50 || not_ok "latency on blob"
f0=$(jq '.datasets.chunk_fetches' "$M/.mgdcfs/stats.json")
(/usr/bin/python3 "$FSOP" read "$D/big.bin" >"$T_DIR/big.out") &
rp=$!
deadline=$((SECONDS + 20))
while [ "$(jq '.datasets.chunk_fetches' "$M/.mgdcfs/stats.json")" -le "$f0" ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
net_link_off blob
t=$(ms)
wait $rp
el=$(($(ms) - t))
figure net_midread_read_ended_after_cut_ms "$el"
out=$(cat "$T_DIR/big.out")
if [ "${out%% *}" = 0 ]; then
	is "$out" "0 $(want r/big.bin)" "link cut mid-read: the read completed, with the blob's bytes"
else
	check "link cut mid-read: the read failed with $out (ETIMEDOUT or EHOSTUNREACH), not wrong bytes" \
		bash -c "[[ '$out' =~ ^(ETIMEDOUT|EHOSTUNREACH)$ ]]"
	check "link cut mid-read: .mgdcfs/errors names the file" grep -q "big.bin" "$M/.mgdcfs/errors"
fi
check "link cut mid-read: the read ended within 2 deadlines + 2 s of the cut ($el ms)" \
	test "$el" -le $((2 * DEADLINE_MS + 2000))
is "$(sha "$D/cached.bin")" "$(want r/cached.bin)" "link cut: the cached file is still served"
net_link_on blob
net_delay blob 0 || not_ok "no latency on blob"
CLEARED=$(ms)
WORST=0
# Works again = its last chunk (fetched by nobody before the cut) reads; the
# whole file's bytes are compared after.
ok_tail() { [ "$(tail -c 4096 "$D/big.bin" | sha256sum | cut -d' ' -f1)" = "$(tail -c 4096 "$T_DIR/src/r_big.bin.direct" | sha256sum | cut -d' ' -f1)" ]; }
recover midread read ok_tail
is "$(sha "$D/big.bin")" "$(want r/big.bin)" "link back: the file's sha256 = a direct download"

check "the mount stayed up through every fault" mountpoint -q "$M"
# The faults are warnings; an error line would be mgdcfs's own (a refused libcurl option).
check "no error line in the daemon's log" bash -c "! grep -q ' error: ' '${T_LOGS[n]}'"
unmount_fs n
sbx_rest admin "$REG_SCOPE" DELETE "$REG" >/dev/null
t_done
