#!/usr/bin/env bash
# Faults on the schedule's trigger endpoints (issue 13), as 50-faults-services
# covers the pipeline commands: 429/503 with Retry-After on the trigger's PUT,
# start and GET (honoured, then the factory holds what was written); a start
# that keeps failing with 500 (a clean EIO within the deadline and the trigger
# put back as it was); tokens expiring in the middle of the commit (no visible
# error); kill -9 while the start is in flight (the mount clears, and the next
# mount's journal recovery removes the trigger the dead command created).
# Every outcome is read back from the factory by a direct REST call.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/faults.sh"
. "$T_ROOT/tests/lib/commands.sh" # W, DEV, adf, cmd_clean
fault_reset
TRIG=mgdcfs_fsch_window
trig() { adf GET "$(ADF_BASE)/triggers/$TRIG?$API"; }
trig_state() { trig | jq -r '.properties.runtimeState // .error.code'; }
trig_delay() { trig | jq -r '.properties.typeProperties.delay // .error.code'; }
retry_logged() { grep -qE "$1.*; retry 1/[0-9]+ in $2 ms" "${T_LOGS[$MNAME]}"; }
trig_gone() {
	adf POST "$(ADF_BASE)/triggers/$TRIG/stop?$API" >/dev/null
	adf DELETE "$(ADF_BASE)/triggers/$TRIG?$API" >/dev/null
}
trig_gone
cmd_clean fsch

# Short TTLs so every read below is a fresh request, not a memo hit.
cfg fsch '.ttl.metadata_s = 1 | .ttl.status_s = 1 | .ttl.listing_s = 1'
mount_fs admin admin || t_done
A=$MNT
MNAME=m
mount_fs m developer || t_done
M=$MNT

APP='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$M/apps/fsched.json" "$APP")" 0 "register app fsched"
is "$($W "$A/apps/fsched/consent" $'approve\n')" 0 "admin approves it"
now=$(faults_get | jq -r .clock.now)
day0=$(($(date -ud "$now" +%s) / 86400 * 86400))
iso() { date -ud "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# Windows start two months ahead: no run is due while this test runs.
FUT=$(iso $((day0 + 60 * 86400)))
PIPE='{"app": "fsched", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "parameters": {"windowStart": "'$(iso $((day0 - 2 * 86400)))'", "windowEnd": "'$(iso $((day0 - 86400)))'"},
  "dateFilter": {"column": "receivedDateTime", "start": "@pipeline().parameters.windowStart", "end": "@pipeline().parameters.windowEnd"},
  "output": {"container": "exports", "folder": "fsched/p"}}'
is "$($W "$M/pipelines/fsch.json" "$PIPE")" 0 "pipelines/fsch.json"
sched() { echo '{"every": "P1D", "lag": "'"$1"'", "start": "'$FUT'"}'; }

# 1. Retry-After on the trigger's PUT and start: honoured, then the trigger is Started.
fault_add '{"route":"^PUT /arm/.*/triggers/'$TRIG'$","status":503,"retryAfter":"2","count":1}'
fault_add '{"route":"^POST /arm/.*/triggers/'$TRIG'/start$","status":429,"retryAfter":"1","count":1}'
t=$(ms)
is "$($W "$M/pipelines/fsch/schedule" "$(sched PT48H)")" 0 "schedule written through a trigger PUT 503 and a start 429"
figure put503_2s_start429_1s_write_ms $(($(ms) - t))
check "trigger PUT: waited the 2000 ms of Retry-After (log)" retry_logged "/triggers/$TRIG: HTTP 503" 2000
check "trigger start: waited the 1000 ms of Retry-After (log)" retry_logged "/triggers/$TRIG/start: HTTP 429" 1000
is "$(trig_state) $(trig_delay)" "Started 2.00:00:00" "REST: the trigger is Started with the 48-hour delay"

fault_add '{"route":"^GET /arm/.*/triggers/'$TRIG'$","status":503,"retryAfter":"2","count":1}'
sleep 1.1 # past the status TTL
is "$(jq -r '[.state, .lag] | join(" ")' "$M/pipelines/fsch/schedule" 2>&1)" "Started PT48H" "reading schedule through a trigger GET 503 = the factory's state"
check "trigger GET: waited the 2000 ms of Retry-After (log)" retry_logged "GET .*/triggers/$TRIG: HTTP 503" 2000

# 2. A start that keeps failing: EIO within the deadline, the trigger put back as it was.
is "$($W "$M/pipelines/fsch/schedule" $'off\n')" 0 "echo off > schedule"
is "$(trig_state)" Stopped "REST: Stopped"
fault_add '{"route":"^POST /arm/.*/triggers/'$TRIG'/start$","status":500}'
t=$(ms)
is "$($W "$M/pipelines/fsch/schedule" "$(sched PT24H)")" "EIO write" "a schedule whose start meets persistent 500s: EIO"
el=$(($(ms) - t))
figure start500_persistent_fail_ms "$el"
figure start500_attempts "$(rule_hits /start)"
check "within the configured deadline ($el ms)" test "$el" -le "$DEADLINE_MS"
check ".mgdcfs/errors says which step failed, with the service's code" \
	bash -c "tail -3 '$M/.mgdcfs/errors' | grep -q 'starting the schedule.s trigger.*InternalServerError'"
fault_reset
is "$(trig_state) $(trig_delay)" "Stopped 2.00:00:00" "REST: rolled back: the trigger is Stopped with its old 48-hour delay"
sleep 1.1
is "$(jq -r '[.state, .lag] | join(" ")' "$M/pipelines/fsch/schedule")" "Stopped PT48H" "reading schedule shows the trigger as it was"

# 3. Tokens expire while the trigger's PUT waits: the rest of the commit refreshes them.
L0=$(wc -l <"${T_LOGS[m]}")
fault_add '{"route":"^PUT /arm/.*/triggers/'$TRIG'$","latencyMs":1500,"count":1}'
($W "$M/pipelines/fsch/schedule" "$(sched PT24H)" >"$T_DIR/s3.rc") &
wp=$!
wait_hit "/triggers/$TRIG\$"
fault_post /expire-tokens
wait $wp
is "$(cat "$T_DIR/s3.rc")" 0 "tokens expired in the middle of a schedule commit: it commits, no error"
is "$(trig_state) $(trig_delay)" "Started 1.00:00:00" "REST: Started with the new 24-hour delay"
check "no error or warning logged by the refreshes" bash -c "! tail -n +$((L0 + 1)) '${T_LOGS[m]}' | grep -E ' (error|warning): '"
fault_reset

# 4. kill -9 while the start is in flight, for a trigger the command creates:
# the next mount's journal recovery removes it (none of the dead command stays).
is "$($W "$M/pipelines/fsch/schedule" $'off\n')" 0 "off"
trig_gone
is "$(trig_state)" ResourceNotFound "REST: no trigger before the command"
fault_add '{"route":"^POST /arm/.*/triggers/'$TRIG'/start$","latencyMs":3000}'
sleep 1.1 # past the status TTL: the daemon sees the trigger gone
kill9_mid m /start "the trigger's start" "$W" "$M/pipelines/fsch/schedule" "$(sched PT48H)"
sleep 3.5 # let the emulator finish the start it already received
fault_reset
diag "with the daemon dead, the trigger is $(trig_state)"
MNAME=m2
mount_fs m2 developer || t_done
M=$MNT
# mount_fs returns once the kernel shows the mount; the journal's recovery runs in
# FUSE's init, which the first request waits for.
check "the remount serves its first request (README)" test -f "$M/README"
is "$(trig_state)" ResourceNotFound "after the remount: the journal's recovery removed the trigger the killed command created"
check "the recovery is logged" grep -q "fsch.schedule.json: an interrupted pipeline command was undone: 1 resource removed" "${T_LOGS[m2]}"
is "$($W "$M/pipelines/fsch/schedule" "$(sched PT48H)")" 0 "writing the schedule again after the remount commits"
is "$(trig_state)" Started "REST: and the trigger is Started"
check "rmdir pipelines/fsch (clean-up; removes the trigger)" rmdir "$M/pipelines/fsch"
is "$(trig_state)" ResourceNotFound "REST: the trigger is gone"
unmount_fs m2
unmount_fs admin
t_done
