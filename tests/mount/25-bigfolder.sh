#!/usr/bin/env bash
# A folder of 100,000 blobs (20,000 in the sanitizer build, where each step
# costs several times more), in a private Azurite behind tests/lib/proxy.py,
# which logs every request line and can hold the ones matching a pattern.
# Costs are asserted by counts, never by times: entries visited per readdir
# against entries returned (stats.json), List requests and requests naming a
# file (the proxy's log). Holding pages at the proxy shows, by state, that a
# cold listing reaches readdir before its last page, and that ls during a
# background re-list returns the cached entries. The truth is Azurite itself:
# sizes and ETags from direct HEAD requests, the count from how the folder was
# built (tests/lib/bulkblobs.js: one Put Blob, copied N-1 times).
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$(dirname "$0")/../lib/faults.sh"

N=100000
if grep -qa __asan_init "$MGDCFS"; then N=20000; fi
TTL=20
ACCT=bigacct
C=bigfolder
AZ=$T_ROOT/scripts/sandbox.d/node_modules/.bin/azurite-blob
KEYF=$T_DIR/az.key
(umask 077 && head -c 64 /dev/urandom | base64 -w0 >"$KEYF")
AZPORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AZURL=https://127.0.0.1:$AZPORT/$ACCT
AZPID=

az_start() {
	local deadline=$((SECONDS + 60))
	AZURITE_ACCOUNTS="$ACCT:$(cat "$KEYF")" setsid "$AZ" --blobHost 127.0.0.1 --blobPort "$AZPORT" \
		--location "$T_DIR/az" --cert "$MGDC_SANDBOX_DIR/tls/server.pem" \
		--key "$MGDC_SANDBOX_DIR/tls/server.key" --disableTelemetry --silent \
		</dev/null >>"$T_DIR/az.log" 2>&1 &
	AZPID=$!
	until curl -s -o /dev/null --cacert "$MGDC_SANDBOX_CA" "https://127.0.0.1:$AZPORT/"; do
		kill -0 "$AZPID" 2>/dev/null && [ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}
az_stop() {
	[ -n "$AZPID" ] || return 0
	kill -TERM "$AZPID" 2>/dev/null
	wait "$AZPID" 2>/dev/null
	AZPID=
}
eval "t_done_faults() $(declare -f t_done | tail -n +2)"
t_done() {
	proxy_stop_all
	az_stop
	t_done_faults
}
trap 'proxy_stop_all; az_stop; t_cleanup' EXIT

# ---- the folder ----
mkdir -p "$T_DIR/az"
az_start || { not_ok "a private Azurite starts"; t_done; }
node "$T_ROOT/tests/lib/bulkblobs.js" put "$AZURL" "$ACCT" "$KEYF" "$MGDC_SANDBOX_CA" "$C" f000000.json ||
	{ not_ok "Put Blob of the template"; t_done; }
az_stop # saves its database
node "$T_ROOT/tests/lib/bulkblobs.js" clone "$T_DIR/az" "$C" f000000.json 'f%d.json' "$N" ||
	{ not_ok "copy it $N times"; t_done; }
az_start || { not_ok "Azurite starts again with $N blobs"; t_done; }
SAS=$(BENCH_KEY_FILE=$KEYF BENCH_ACCOUNT=$ACCT node "$T_ROOT/scripts/bench.d/blobs.js" sas "$C")
# direct NAME: "size etag" from a HEAD straight to Azurite (not through the proxy).
direct() {
	curl -sSI --fail --cacert "$MGDC_SANDBOX_CA" "$AZURL/$C/$1?$SAS" | tr -d '\r' |
		awk 'tolower($1) == "content-length:" { s = $2 } tolower($1) == "etag:" { e = $2 } END { print s, e }'
}
mine() { echo "$(stat -c %s "$D/$1") $(getfattr --only-values -n user.mgdcfs.etag "$D/$1" 2>/dev/null)"; }
st() { jq -r ".listings.$1" "$MNT/.mgdcfs/stats.json"; }
count() { proxy_ctl big count "$1"; }
# wait_for DESC SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
	local d=$1 end=$((SECONDS + $2))
	shift 2
	until "$@"; do
		[ $SECONDS -lt $end ] || { not_ok "$d (within $(($2)) s)"; return 1; }
		sleep 0.2
	done
	ok "$d"
}
entries() { ls -f "$1" | grep -vcx '\.\.\?'; }
held_is() { [ "$(proxy_ctl big held)" = "$1" ]; }

proxy_start big tls "$AZPORT"
cfg big ".storage = {account: \"$ACCT\", auth: \"shared_key\", key_file: \"$KEYF\"}
	| .endpoints.blob = \"https://127.0.0.1:$(proxy_port big)/$ACCT\" | .ttl.listing_s = $TTL
	| .timeouts.io_s = 600 | .timeouts.deadline_ms = 900000 | .cache.budget_mb = 256"
mount_fs m developer || t_done
D=$MNT/datasets/$C
PAGES=$(((N + 4999) / 5000))
LIST="comp=list&delimiter=%2F" # the folder's List Blobs, every page (probes carry prefix=)

# ---- 1. A cold listing streams ----
[ "$(proxy_ctl big hold "${LIST}&maxresults=5000&marker=")" = ok ] || not_ok "hold the later pages"
first=$(timeout 300 /usr/bin/python3 -c '
import itertools, os, sys
print(sum(1 for _ in itertools.islice(os.scandir(sys.argv[1]), 100)))' "$D")
is "$first" 100 "cold: the first 100 entries are read"
wait_for "... while the folder's second page is held at the proxy" 60 held_is 1
proxy_ctl big release >/dev/null
is "$(entries "$D")" "$N" "cold: ls -f shows all $N entries"
n=$(count "$LIST")
check "from one listing: $n List pages of 5,000 (the service may end with an empty one)" \
	test "$n" -ge "$PAGES" -a "$n" -le $((PAGES + 1))
s=$(cat "$MNT/.mgdcfs/stats.json")
v=$(jq .listings.readdir_entries_visited <<<"$s") r=$(jq .listings.readdir_entries_returned <<<"$s")
c=$(jq .listings.readdir_calls <<<"$s")
figure readdir_calls "$c"
figure readdir_visited "$v"
figure readdir_returned "$r"
check "readdir visits ($v) <= entries returned ($r) + calls ($c): no rescans" test "$v" -le $((r + c))
check "readdir visits ($v) <= 2 x entries returned ($r)" test "$v" -le $((2 * r))

# ---- 2. Warm: no request, right sizes and ETags ----
n0=$(count "$C")
is "$(ls -l "$D" | grep -c '^-r--r--r--')" "$N" "warm: ls -l shows $N files"
for i in 0 $((N / 2)) $((N - 1)); do
	f=$(printf 'f%06d.json' "$i")
	is "$(mine "$f")" "$(direct "$f")" "$f: size and ETag = Azurite's (direct HEAD)"
done
is "$(($(count "$C") - n0))" 0 "warm ls -l, stat and getfattr sent no request about the folder"
s=$(cat "$MNT/.mgdcfs/stats.json")
check "after two full reads, visits still <= returned + calls" \
	test "$(jq .listings.readdir_entries_visited <<<"$s")" -le \
	$(($(jq .listings.readdir_entries_returned <<<"$s") + $(jq .listings.readdir_calls <<<"$s")))
figure listing_bytes_per_entry "$(jq .listings.bytes_per_entry <<<"$s")"
figure daemon_rss_kb "$(awk '/^VmRSS/ { print $2 }' "/proc/${T_PIDS[m]}/status")"

# ---- 3. Past the TTL: served from the cache while one re-list runs ----
[ "$(proxy_ctl big hold "$LIST")" = ok ] || not_ok "hold the folder's re-list"
node "$T_ROOT/tests/lib/bulkblobs.js" put "$AZURL" "$ACCT" "$KEYF" "$MGDC_SANDBOX_CA" "$C" zz-new.json ||
	not_ok "put zz-new.json"
n0=$(count "$LIST")
reval_held() { stat "$D/f000001.json" >/dev/null && [ "$(st revalidating)" = 1 ] && held_is 1; }
wait_for "past the TTL ($TTL s) a stat starts one background re-list (held at the proxy)" $((TTL + 60)) reval_held
out=$(timeout 300 ls -f "$D")
is "$(grep -vcx '\.\.\?' <<<"$out")" "$N" "ls during the re-list returns the $N cached entries"
is "$(grep -cx zz-new.json <<<"$out")" 0 "... without the blob added since"
unset out
is "$(mine zz-new.json)" "$(direct zz-new.json)" "stat of a name the cached listing lacks = Azurite's HEAD"
check "... made at most two requests ($(count 'zz-new\.json'))" test "$(count 'zz-new\.json')" -le 2
check "a missing name after the TTL: ENOENT" bash -c "! stat '$D/nosuch.json' 2>/dev/null"
check "... after at most two requests ($(count 'nosuch\.json'))" test "$(count 'nosuch\.json')" -le 2
is "$(($(count "$LIST") - n0))" 1 "one re-list (its first page, held) for all of that"
is "$(st revalidating)" 1 "stats.json: one re-list running"
proxy_ctl big release >/dev/null
relisted() { jq -e '.listings.revalidating == 0 and .listings.revalidations >= 1' "$MNT/.mgdcfs/stats.json" >/dev/null; }
wait_for "released, the re-list ends" 600 relisted
n=$(($(count "$LIST") - n0))
check "after $n List pages (one listing)" test "$n" -ge "$PAGES" -a "$n" -le $((PAGES + 1))
is "$(entries "$D")" $((N + 1)) "ls shows all $((N + 1)) entries, the new blob too"
s=$(cat "$MNT/.mgdcfs/stats.json")
figure oldest_answer_age_s "$(jq .listings.oldest_answer_age_s <<<"$s")"
figure staleness_bound_s "$(jq .listings.staleness_bound_s <<<"$s")"
check "stats.json: oldest answer within the staleness bound" \
	jq -e '.listings.oldest_answer_age_s <= .listings.staleness_bound_s and .listings.revalidations >= 1' \
	"$MNT/.mgdcfs/stats.json"

# ---- 4. The persisted copy: within the budget, shown when storage is gone ----
persisted() { [ "$(st persisted)" -ge 3 ]; } # containers, the folder cold, re-listed
wait_for "the listing is persisted in the cache" 120 persisted
unmount_fs m
check "daemon log clean" log_clean m
check "LMDB consistent (mdb_stat)" mdb_stat -a "$T_DIR/cache-m" >/dev/null
check "cache file within the budget (256 MiB)" test "$(stat -c %s "$T_DIR/cache-m/data.mdb")" -le $((257 << 20))
proxy_stop_all
mount_fs m developer || t_done
is "$(entries "$D")" $((N + 1)) "storage unreachable after a remount: ls shows the persisted listing"
check ".mgdcfs/errors says so" grep -q "storage unreachable" "$MNT/.mgdcfs/errors"
unmount_fs m
t_done
