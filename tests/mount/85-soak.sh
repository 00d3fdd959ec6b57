#!/usr/bin/env bash
# A bounded soak (MGDC_SOAK_SECONDS, default 180): 16 parallel readers of
# eight blobs (each read checked by sha256 against a direct download) through
# a 16 MiB cache so chunks are evicted and fetched again all the time, two
# ls -lR loops, and a command loop (pipeline spec writes and triggers) against
# the sandbox. At the end: no read or command failed, every worker finished
# (no deadlock), the daemon's log has no error, and its RSS, sampled every
# 5 s, stayed flat (first/last/max reported; the last third may not exceed
# the first third's peak by more than 32 MiB).
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
W="$T_ROOT/tests/lib/write.py"
SOAK=${MGDC_SOAK_SECONDS:-180}
DEV=$MGDC_DEV_CLIENT_ID
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null

C=soak$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || not_ok "create container"
declare -A WANT=()
for i in 0 1 2 3 4 5 6 7; do
	head -c $((i * 1500000 + 4097)) /dev/urandom >"$T_DIR/f$i"
	blob_put "$C" "s/f$i.bin" "$T_DIR/f$i" || not_ok "upload f$i"
	blob_get "$C" "s/f$i.bin" "$T_DIR/f$i.direct"
	WANT[$i]=$(sha256sum <"$T_DIR/f$i.direct" | cut -d' ' -f1)
	rm -f "$T_DIR/f$i"
done
# A small cache budget: the blobs (~42 MB) do not fit, so eviction never stops.
jq '.profiles.developer.cache.budget_mb = 16' "$MGDC_CONFIG" >"$T_DIR/config.json"
chmod 600 "$T_DIR/config.json"
MGDC_CONFIG=$T_DIR/config.json

mount_fs admin admin || t_done
A=$MNT
mount_fs dev developer || t_done
D=$MNT
PID=${T_PIDS[dev]}
is "$($W "$A/tenant/data-connect" enabled)" 0 "admin enables Data Connect"
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/soak.json" "$SPEC")" 0 "developer registers an app"
is "$($W "$A/apps/soak/consent" approve)" 0 "admin approves it"

END=$((SECONDS + SOAK))
mkdir -p "$T_DIR/w"
reader() { # N: read random blobs until END; write "reads fails" to w/rN
	local n=$1 reads=0 fails=0 i got
	while [ $SECONDS -lt $END ]; do
		i=$((RANDOM % 8))
		got=$(sha256sum <"$D/datasets/$C/s/f$i.bin" 2>/dev/null | cut -d' ' -f1)
		reads=$((reads + 1))
		if [ "$got" != "${WANT[$i]}" ]; then
			fails=$((fails + 1))
			echo "# reader $n: f$i.bin read as ${got:-(error)}" >>"$T_DIR/w/fail"
		fi
	done
	echo "$reads $fails" >"$T_DIR/w/r$n"
}
lister() { # N
	local n=$1 runs=0 fails=0
	while [ $SECONDS -lt $END ]; do
		ls -lR "$D/datasets/$C" "$D/apps" "$D/pipelines" >/dev/null 2>"$T_DIR/w/ls$n.err" || fails=$((fails + 1))
		runs=$((runs + 1))
	done
	echo "$runs $fails" >"$T_DIR/w/l$n"
}
commander() {
	local runs=0 fails=0 k=0 r
	while [ $SECONDS -lt $END ]; do
		k=$((k + 1))
		if [ $((k % 3)) = 1 ]; then
			r=$($W "$D/pipelines/soak$C.json" '{"app": "soak", "dataset": "BasicDataSet_v0.Message_v1",
			  "columns": ["id","subject"], "output": {"container": "exports", "folder": "soak/'$C'"},
			  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}}')
		else
			r=$($W "$D/pipelines/soak$C/trigger" '{}')
		fi
		runs=$((runs + 1))
		if [ "$r" != 0 ]; then
			fails=$((fails + 1))
			echo "# command $k: $r" >>"$T_DIR/w/fail"
		fi
		sleep 5
	done
	echo "$runs $fails" >"$T_DIR/w/c"
}
sampler() {
	while [ $SECONDS -lt $END ] && kill -0 "$PID" 2>/dev/null; do
		awk '/^VmRSS/ {print $2}' /proc/"$PID"/status >>"$T_DIR/rss"
		sleep 5
	done
}

pids=()
for n in $(seq 16); do reader "$n" & pids+=($!); done
for n in 1 2; do lister "$n" & pids+=($!); done
commander & pids+=($!)
sampler & pids+=($!)
# Every worker must finish: allow one whole deadline (30 s) past the end for the last request.
deadline=$((END + 90))
for p in "${pids[@]}"; do
	while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
done
alive=0
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
is "$alive" 0 "every worker finished (no deadlock, no hung read)"
[ $alive -eq 0 ] || kill "${pids[@]}" 2>/dev/null

sum() { cat "$T_DIR"/w/$1 2>/dev/null | awk -v f="$2" '{s += $f} END {print s + 0}'; }
reads=$(sum 'r*' 1)
rfails=$(sum 'r*' 2)
lsruns=$(sum 'l*' 1)
lsfails=$(sum 'l*' 2)
cmds=$(sum c 1)
cfails=$(sum c 2)
echo "# figure: soak_seconds=$SOAK"
echo "# figure: soak_reads=$reads"
echo "# figure: soak_read_failures=$rfails"
echo "# figure: soak_ls_runs=$lsruns"
echo "# figure: soak_commands=$cmds"
check "16 readers read ($reads reads) with no wrong byte and no error" test "$reads" -gt 16 -a "$rfails" = 0
check "ls -lR loops ran ($lsruns) without a failure" test "$lsruns" -gt 2 -a "$lsfails" = 0
check "spec writes and triggers ($cmds) all succeeded" test "$cmds" -gt 1 -a "$cfails" = 0
[ -s "$T_DIR/w/fail" ] && head -5 "$T_DIR/w/fail"
runs=$(ls "$D/pipelines/soak$C/runs" 2>/dev/null | grep -vc latest)
check "the service holds the runs the commands started ($runs)" test "$runs" -ge 1
stats=$(cat "$D/.mgdcfs/stats.json")
echo "# figure: soak_chunk_fetches=$(jq -r '.datasets.chunk_fetches // empty' <<<"$stats")"
check "the cache stayed within its budget + one chunk" quiet jq -e '.cache.bytes_used <= (16 * 1048576 + 8388608)' <<<"$stats"

n=$(wc -l <"$T_DIR/rss")
first=$(head -1 "$T_DIR/rss")
last=$(tail -1 "$T_DIR/rss")
max=$(sort -n "$T_DIR/rss" | tail -1)
third=$((n / 3))
early=$(head -"$((third > 0 ? third : 1))" "$T_DIR/rss" | sort -n | tail -1)
late=$(tail -"$((third > 0 ? third : 1))" "$T_DIR/rss" | sort -n | tail -1)
echo "# figure: soak_rss_samples=$n"
echo "# rss kB every 5 s: $(tr '\n' ' ' <"$T_DIR/rss")"
echo "# figure: soak_rss_first_kb=$first"
echo "# figure: soak_rss_last_kb=$last"
echo "# figure: soak_rss_max_kb=$max"
check "RSS flat: last third's peak ($late kB) within 32 MiB of the first third's ($early kB)" \
	test "$late" -le $((early + 32768))
unmount_fs dev
unmount_fs admin
check "developer daemon log has no error or warning" log_clean dev
sbx_rest dev "$ARM_SCOPE" DELETE "$(ADF_BASE)/pipelines/soak$C?api-version=2018-06-01" >/dev/null
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
t_done
