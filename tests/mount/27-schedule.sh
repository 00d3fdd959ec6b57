#!/usr/bin/env bash
# Schedules (issue 13): pipelines/<name>/schedule becomes an ADF
# TumblingWindowTrigger. A daily schedule with a 48-hour lag starting two
# days ago runs nothing yet; the sandbox clock moved seven days on gives
# seven runs with consecutive, non-overlapping daily windows, each run's
# rows inside its window and as many as its job metadata says; "off" stops
# further runs; rmdir removes the trigger. Every step is compared with a
# direct REST call. Then the bad input: each refused with a clear line in
# .mgdcfs/errors, and no trigger created.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/commands.sh"
fault_post /reset
. "$T_ROOT/tests/lib/schedule.sh"
TRIG=mgdcfs_daily_window
trig() { adf GET "$(ADF_BASE)/triggers/$1?$API"; }
host() { adf "$1" "$(ADF_BASE)/$2" "${@:3}"; }
HQ=$API
T0=$(date -u +%Y-%m-%dT%H:%M:%S)
for t in $TRIG mgdcfs_fixed_window mgdcfs_spdaily_window; do
	adf POST "$(ADF_BASE)/triggers/$t/stop?$API" >/dev/null
	adf DELETE "$(ADF_BASE)/triggers/$t?$API" >/dev/null
done
cmd_clean daily fixed spdaily
mount_fs admin admin || t_done
A=$MNT
mount_fs dev developer || t_done
D=$MNT

APP='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}},
  {"name": "BasicDataSet_v0.SharePointSites_v1", "columns": "all"}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/sched.json" "$APP")" 0 "register app sched"
is "$($W "$A/apps/sched/consent" $'approve\n')" 0 "admin approves it"

sched_daily "$D" daily sched sched/daily
is "$(cat "$D/pipelines/daily/schedule")" off "schedule reads off before one is written"

# 1. The schedule.
is "$($W "$D/pipelines/daily/schedule" '{"every": "P1D", "lag": "PT48H", "start": "'$START'"}')" 0 \
	"echo '{\"every\": \"P1D\", \"lag\": \"PT48H\", \"start\": ...}' > schedule"
t=$(trig $TRIG)
is "$(jq -r '.properties | [.type, .runtimeState, .typeProperties.frequency, .typeProperties.interval, .typeProperties.delay, .typeProperties.startTime, .pipeline.pipelineReference.referenceName] | join(" ")' <<<"$t")" \
	"TumblingWindowTrigger Started Hour 24 2.00:00:00 $START daily" "REST: a started TumblingWindowTrigger, Hour x 24, delay 2 days, from $START, for daily"
is "$(jq -c '.properties.pipeline.parameters | [.windowStart.value, .windowEnd.value]' <<<"$t")" \
	'["@trigger().outputs.windowStartTime","@trigger().outputs.windowEndTime"]' "REST: the window feeds the date filter's parameters"
S=$(cat "$D/pipelines/daily/schedule")
is "$(jq -r '[.trigger, .state, .every, .lag, .start] | join(" ")' <<<"$S")" "$TRIG Started P1D PT48H $START" "reading schedule shows the trigger, its state, window, lag and start"
is "$(jq -r .resource.properties.runtimeState <<<"$S")" "$(jq -r .properties.runtimeState <<<"$t")" "  its runtime state is the factory's"
check "  and its next window" jq -e '.nextWindow.start and .nextWindow.end and .nextWindow.runsAfter' <<<"$S"
is "$(sched_runs daily $TRIG | jq length)" 0 "REST: no window is due yet (the newest ends $(iso $((day0 - 86400)))... plus 48 h)"

# 2. Seven days later: seven windows, one run each.
sched_week "$D" daily $TRIG "$START" sched/daily

# 3. off stops further runs.
is "$($W "$D/pipelines/daily/schedule" $'off\n')" 0 "echo off > schedule"
sched_off_holds "$D" daily $TRIG

# 4. A new schedule replaces the stopped one; rmdir removes a started trigger.
FUT=$(iso $((day0 + 60 * 86400)))
is "$($W "$D/pipelines/daily/schedule" '{"every": "PT12H", "lag": "PT1H", "start": "'$FUT'"}')" 0 "a 12-hour schedule replaces the daily one (ADF keeps a window's size: it is recreated)"
is "$(trig $TRIG | jq -r '.properties | [.runtimeState, .typeProperties.interval, .typeProperties.delay] | join(" ")')" "Started 12 01:00:00" "REST: Started, 12 hours, 1 hour of delay"
check "rmdir pipelines/daily" rmdir "$D/pipelines/daily"
is "$(trig $TRIG | jq -r '.error.code // "exists"')" ResourceNotFound "REST: the trigger is gone (404)"
is "$(adf GET "$(ADF_BASE)/pipelines/daily?$API" | jq -r '.error.code // "exists"')" ResourceNotFound "REST: the pipeline is gone"
fault_post /reset

# 5. Bad input: a clear error, nothing created.
is "$($W "$D/pipelines/nosuch/schedule" '{"every": "P1D"}')" "ENOENT open" "a schedule on a pipeline that does not exist: ENOENT"
FIXED='{"app": "sched", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","receivedDateTime"],
  "dateFilter": {"column": "receivedDateTime", "start": "'$START'", "end": "'$(iso $((day0 - 86400)))'"},
  "output": {"container": "exports", "folder": "sched/fixed"}}'
is "$($W "$D/pipelines/fixed.json" "$FIXED")" 0 "pipelines/fixed.json with fixed times"
bad() { # DESC PIPELINE TEXT NEEDLE
	is "$($W "$D/pipelines/$2/schedule" "$3")" "EINVAL write" "$1: EINVAL"
	check "  the error says: $4" bash -c "last_error() { tail -1 \"\$1/.mgdcfs/errors\"; }; last_error '$D' | grep -qF -- '$4'"
	is "$(trig "mgdcfs_$2_window" | jq -r '.error.code // "exists"')" ResourceNotFound "  REST: no trigger was created"
}
bad "a malformed duration" fixed '{"every": "P1X"}' "is not an ISO 8601 duration"
bad "months and days together" fixed '{"every": "P1M1D"}' "whole months or a number of minutes"
bad "a window under 15 minutes" fixed '{"every": "PT5M"}' "at least 15 minutes"
bad "seconds that are no whole minute" fixed '{"every": "PT15M30S"}' "whole number of minutes"
bad "a lag in months" fixed '{"every": "P1D", "lag": "P1M"}' "a lag is days, hours or minutes"
bad "an unknown field" fixed '{"every": "P1D", "at": "noon"}' "unknown field"
bad "maxConcurrency over ADF's 50" fixed '{"every": "P1D", "maxConcurrency": 51}' "from 1 to 50"
bad "not JSON" fixed $'daily please\n' 'or "off" to stop the schedule'
bad "a pipeline whose dates are fixed" fixed '{"every": "P1D"}' "has fixed times"
SD=$(iso $((day0 - 5 * 86400)))
SP='{"app": "sched", "dataset": "BasicDataSet_v0.SharePointSites_v1",
  "parameters": {"snapStart": "'$SD'", "snapEnd": "'$SD'"},
  "dateFilter": {"column": "SnapshotDate", "start": "@pipeline().parameters.snapStart", "end": "@pipeline().parameters.snapEnd"},
  "output": {"container": "exports", "folder": "sched/sp"}}'
is "$($W "$D/pipelines/spdaily.json" "$SP")" 0 "pipelines/spdaily.json (SharePoint snapshot dates as parameters)"
bad "a SharePoint window under a day" spdaily '{"every": "PT6H", "lag": "PT48H"}' "whole days"
bad "a SharePoint lag under 48 hours" spdaily '{"every": "P1D", "lag": "PT24H"}' 'at least "PT48H"'
bad "a SharePoint window not at midnight" spdaily '{"every": "P1D", "lag": "PT48H", "start": "'$(iso $((day0 - 86400 + 3600)))'"}' "start at midnight UTC"
# A failure at the factory leaves nothing behind: the PUT refused, then the start refused
# (the trigger just created is deleted again).
fault_add '{"route":"^PUT /arm/.*/triggers/mgdcfs_spdaily_window$","status":500}'
r=$($W "$D/pipelines/spdaily/schedule" '{"every": "P1D"}')
check "a 500 on the trigger's PUT fails the write ($r)" test "$r" != 0
check "  .mgdcfs/errors says which step" bash -c "tail -3 '$D/.mgdcfs/errors' | grep -q \"creating the schedule's trigger\""
is "$(trig mgdcfs_spdaily_window | jq -r '.error.code // "exists"')" ResourceNotFound "  REST: no trigger"
fault_post /reset
fault_add '{"route":"^POST /arm/.*/triggers/mgdcfs_spdaily_window/start$","status":500}'
r=$($W "$D/pipelines/spdaily/schedule" '{"every": "P1D"}')
check "a 500 on the trigger's start fails the write ($r)" test "$r" != 0
is "$(trig mgdcfs_spdaily_window | jq -r '.error.code // "exists"')" ResourceNotFound "  REST: the trigger it created was deleted again"
fault_post /reset
is "$($W "$D/pipelines/spdaily/schedule" '{"every": "P1D"}')" 0 "a SharePoint schedule without a lag takes the dataset's 48 hours"
is "$(trig mgdcfs_spdaily_window | jq -r .properties.typeProperties.delay)" "2.00:00:00" "REST: delay 2 days"
check "rmdir pipelines/spdaily" rmdir "$D/pipelines/spdaily"
is "$(trig mgdcfs_spdaily_window | jq -r '.error.code // "exists"')" ResourceNotFound "REST: its trigger is gone"
check "rmdir pipelines/fixed" rmdir "$D/pipelines/fixed"
check "rmdir apps/sched" rmdir "$D/apps/sched"

unmount_fs dev
unmount_fs admin
t_done
