#!/usr/bin/env bash
# Schedules on Azure Synapse (issue 13): pipelines/<name>/schedule on a
# Synapse profile becomes a TumblingWindowTrigger of the workspace (its PUT,
# start, stop and DELETE long-running operations). A daily schedule with a
# 48-hour lag; the sandbox clock moved seven days on gives seven runs with
# consecutive, non-overlapping daily windows, each checked against the
# workspace's queryPipelineRuns, each run's rows inside its window and as
# many as its job metadata says; "off" stops further runs; rmdir removes the
# trigger. The steps shared with 27-schedule (ADF) are tests/lib/schedule.sh.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/commands.sh"
. "$T_ROOT/tests/lib/schedule.sh"
TRIG=mgdcfs_sdaily_window
host() { syn "$1" "$MGDC_SYNAPSE_URL/$2" "${@:3}"; }
HQ=$SQ
trig() { host GET "triggers/$TRIG?$SQ"; }
T0=$(date -u +%Y-%m-%dT%H:%M:%S)
fault_post /reset
syn_op POST "triggers/$TRIG/stop?$SQ" >/dev/null
syn_op DELETE "triggers/$TRIG?$SQ" >/dev/null
syn_op DELETE "pipelines/sdaily?$SQ" >/dev/null
cmd_clean
mount_fs admin admin-synapse || t_done
A=$MNT
mount_fs dev developer-synapse || t_done
D=$MNT

APP='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/ssched.json" "$APP")" 0 "register app ssched"
is "$($W "$A/apps/ssched/consent" $'approve\n')" 0 "admin approves it"
sched_daily "$D" sdaily ssched ssched/daily

# 1. The schedule: a trigger of the workspace, created and started by operations.
is "$($W "$D/pipelines/sdaily/schedule" '{"every": "P1D", "lag": "PT48H", "start": "'$START'"}')" 0 \
	"echo '{\"every\": \"P1D\", \"lag\": \"PT48H\", \"start\": ...}' > schedule"
t=$(trig)
is "$(jq -r '[.type, .properties.type, .properties.runtimeState] | join(" ")' <<<"$t")" \
	"Microsoft.Synapse/workspaces/triggers TumblingWindowTrigger Started" "Synapse: a started TumblingWindowTrigger of the workspace"
is "$(jq -r '.properties | [.typeProperties.frequency, .typeProperties.interval, .typeProperties.delay, .typeProperties.startTime, .pipeline.pipelineReference.referenceName] | join(" ")' <<<"$t")" \
	"Hour 24 2.00:00:00 $START sdaily" "  Hour x 24, delay 2 days, from $START, for sdaily"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/triggers/$TRIG?$API" | jq -r '.error.code // "exists"')" ResourceNotFound "the factory has no such trigger (the host is Synapse)"
S=$(cat "$D/pipelines/sdaily/schedule")
is "$(jq -r '[.trigger, .state, .every, .lag, .start] | join(" ")' <<<"$S")" "$TRIG Started P1D PT48H $START" "reading schedule shows the workspace's trigger"
is "$(sched_runs sdaily $TRIG | jq length)" 0 "Synapse: no window is due yet"

# 2. Seven days later: seven windows, one run each.
sched_week "$D" sdaily $TRIG "$START" ssched/daily

# 3. off stops further runs (the stop is an operation the mount waits for).
is "$($W "$D/pipelines/sdaily/schedule" $'off\n')" 0 "echo off > schedule"
sched_off_holds "$D" sdaily $TRIG

# 4. Started again, then rmdir: the trigger is stopped and deleted, then the pipeline.
is "$($W "$D/pipelines/sdaily/schedule" '{"every": "P1D", "lag": "PT48H", "start": "'$(iso $((day0 + 60 * 86400)))'"}')" 0 "a new schedule on the stopped trigger"
is "$(trig | jq -r .properties.runtimeState)" Started "Synapse: Started again"
check "rmdir pipelines/sdaily" rmdir "$D/pipelines/sdaily"
is "$(trig | jq -r '.error.code // "exists"')" ResourceNotFound "Synapse: the trigger is gone"
is "$(host GET "pipelines/sdaily?$SQ" | jq -r '.error.code // "exists"')" ResourceNotFound "Synapse: the pipeline is gone"
check "rmdir apps/ssched" rmdir "$D/apps/ssched"
check "the developer's log has no error or warning line" log_clean dev
unmount_fs dev
unmount_fs admin
t_done
