#!/usr/bin/env bash
# A Microsoft Fabric workspace as the pipelines host (profile developer-fabric,
# "pipelines": {"host": "fabric"}): what mgdcfs shows of it, each step checked
# by a direct call to the emulator's Fabric REST API (/fabric/v1). Pipelines
# and runs are made through that API; the mount lists them under pipelines/,
# with runs/<jobId>/ status, run.json and activities.json; trigger starts a
# job instance, cancel cancels it, rmdir deletes the item. What a Fabric mount
# does not do yet (create, schedule) is refused with
# ENOTSUP and a line in .mgdcfs/errors, and nothing changes in the workspace.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
W="$T_ROOT/tests/lib/write.py"
FAB_SCOPE=https://api.fabric.microsoft.com/.default
WS=$MGDC_FABRIC_WORKSPACE_ID
fab() { sbx_rest dev "$FAB_SCOPE" "$@"; }
fault_post /reset

is "$(jq -r '.profiles["developer-fabric"].pipelines.host' "$MGDC_CONFIG")" fabric "the sandbox exports developer-fabric"

# A pipeline made through Fabric's API: one Wait activity, base64 definition.
NAME="fab$$"
content=$(printf '{"properties": {"activities": [{"name": "Hold", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}}]}}' | base64 -w0)
item=$(fab POST "$MGDC_FABRIC_URL/workspaces/$WS/items" -H 'content-type: application/json' \
	-d "{\"displayName\": \"$NAME\", \"type\": \"DataPipeline\", \"definition\": {\"parts\": [{\"path\": \"pipeline-content.json\", \"payload\": \"$content\", \"payloadType\": \"InlineBase64\"}]}}")
id=$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items?type=DataPipeline" | jq -r --arg n "$NAME" '.value[] | select(.displayName == $n) | .id')
check "Fabric: the pipeline item exists ($(head -c 200 <<<"$item"))" test -n "$id"
loc=$(fab POST "$MGDC_FABRIC_URL/workspaces/$WS/items/$id/jobs/instances?jobType=Pipeline" -o /dev/null -D - | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
job=${loc##*/}
check "Fabric: a job instance was started ($job)" test -n "$job"

# A second pipeline that waits long enough to be cancelled.
SLOW="fabslow$$"
content=$(printf '{"properties": {"activities": [{"name": "Hold", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 600}}]}}' | base64 -w0)
fab POST "$MGDC_FABRIC_URL/workspaces/$WS/items" -H 'content-type: application/json' \
	-d "{\"displayName\": \"$SLOW\", \"type\": \"DataPipeline\", \"definition\": {\"parts\": [{\"path\": \"pipeline-content.json\", \"payload\": \"$content\", \"payloadType\": \"InlineBase64\"}]}}" >/dev/null
sid=$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items?type=DataPipeline" | jq -r --arg n "$SLOW" '.value[] | select(.displayName == $n) | .id')
check "Fabric: the slow pipeline exists" test -n "$sid"

mount_fs dev developer-fabric || t_done
D=$MNT
is "$(jq -r .pipelines.host "$D/.mgdcfs/config.json")" fabric ".mgdcfs/config.json shows the host"
check "pipelines/ lists the Fabric pipeline" test -d "$D/pipelines/$NAME"
check "  and its $NAME.json" test -f "$D/pipelines/$NAME.json"
is "$(ls "$D/pipelines/" | grep -c "^$NAME\$")" 1 "  once"
check "runs/<jobId>/ is the job instance" test -d "$D/pipelines/$NAME/runs/$job"
is "$(wait_status "$D/pipelines/$NAME/runs/$job")" Succeeded "the run's status ends Succeeded"
inst=$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$id/jobs/instances/$job")
is "$(jq -r .status <<<"$inst")" Completed "Fabric: the job instance is Completed (Succeeded in the tree)"
is "$(jq -r .runId "$D/pipelines/$NAME/runs/$job/run.json")" "$job" "run.json is the run"
is "$(jq -r .pipelineName "$D/pipelines/$NAME/runs/$job/run.json")" "$NAME" "  of the pipeline, by its display name"
is "$(jq -r .runStart "$D/pipelines/$NAME/runs/$job/run.json")" "$(jq -r .startTimeUtc <<<"$inst")Z" "  its start is Fabric's startTimeUtc, in UTC"
is "$(jq -r .invokedBy.invokedByType "$D/pipelines/$NAME/runs/$job/run.json")" "$(jq -r .invokeType <<<"$inst")" "  invoked as Fabric says"
acts=$(fab POST "$MGDC_FABRIC_URL/workspaces/$WS/datapipelines/pipelineruns/$job/queryactivityruns" \
	-H 'content-type: application/json' -d '{"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2200-01-01T00:00:00Z"}')
is "$(jq -c '[.[].activityRunId] | sort' "$D/pipelines/$NAME/runs/$job/activities.json")" "$(jq -c '[.[].activityRunId] | sort' <<<"$acts")" \
	"activities.json = Fabric's queryactivityruns"
is "$(jq -r '.[0].activityName' "$D/pipelines/$NAME/runs/$job/activities.json")" Hold "  the Wait activity"
is "$(readlink "$D/pipelines/$NAME/runs/latest")" "$job" "runs/latest is the job instance"
check "the log has no error or warning line" log_clean dev

# Trigger and cancel, on the slow pipeline.
is "$($W "$D/pipelines/$SLOW/trigger" '{}')" 0 "echo {} > trigger starts a run"
run2=$(readlink "$D/pipelines/$SLOW/runs/latest")
check "runs/latest is the new run ($run2)" test -n "$run2"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$sid/jobs/instances" | jq -r '[.value[].id] | join(",")')" "$run2" "Fabric: that one job instance was started"
is "$($W "$D/pipelines/$SLOW/runs/$run2/cancel" x)" 0 "writing cancel cancels the run"
is "$(wait_status "$D/pipelines/$SLOW/runs/$run2")" Cancelled "the run ends Cancelled"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$sid/jobs/instances/$run2" | jq -r .status)" Cancelled "Fabric agrees"
is "$($W "$D/pipelines/$SLOW/runs/$run2/cancel" x)" 0 "cancelling an ended run again is no error"

# What a Fabric mount does not do yet: refused, said in .mgdcfs/errors, nothing changed.
is "$($W "$D/pipelines/fabnew.json" '{"app": "mail"}')" "ENOTSUP close" "pipelines/<name>.json: not supported on Fabric yet"
check "  .mgdcfs/errors says so" grep -q "creating a pipeline from pipelines/<name>.json is not yet supported on a Microsoft Fabric" "$D/.mgdcfs/errors"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items?type=DataPipeline" | jq '[.value[] | select(.displayName == "fabnew")] | length')" 0 "Fabric: no pipeline was made"
sched_before=$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$sid/jobs/Pipeline/schedules" | jq '.value | length')
is "$($W "$D/pipelines/$SLOW/schedule" '{"every": "P1D", "lag": "PT48H"}')" "ENOTSUP open" "schedule: not supported on Fabric yet"
check "  .mgdcfs/errors says so" grep -q "a schedule is not yet supported on a Microsoft Fabric" "$D/.mgdcfs/errors"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$sid/jobs/Pipeline/schedules" | jq '.value | length')" "$sched_before" "Fabric: no schedule was made"
check "  nor is reading it" bash -c '! cat "$1" 2>/dev/null' _ "$D/pipelines/$SLOW/schedule"
check "  and ls -l of the pipeline still lists the rest" bash -c 'ls -l "$1" | grep -q " runs$"' _ "$D/pipelines/$SLOW"

# rmdir deletes the item.
check "rmdir pipelines/$NAME" rmdir "$D/pipelines/$NAME"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$id" | jq -r '.errorCode // "exists"')" ItemNotFound "Fabric: the pipeline item is gone"
check "  and gone from pipelines/" test ! -e "$D/pipelines/$NAME"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items/$sid" | jq -r .displayName)" "$SLOW" "Fabric: the other pipeline is still there"
check "rmdir pipelines/$SLOW" rmdir "$D/pipelines/$SLOW"
is "$(fab GET "$MGDC_FABRIC_URL/workspaces/$WS/items?type=DataPipeline" | jq --arg a "$NAME" --arg b "$SLOW" '[.value[] | select(.displayName == $a or .displayName == $b)] | length')" 0 "Fabric: neither pipeline is left"
unmount_fs dev

# A workspace that does not exist: the mount starts (nothing is asked of Fabric at start), and
# pipelines/ says what Fabric answered instead of listing nothing silently.
jq '.profiles["developer-fabric"].pipelines.workspace = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"' "$MGDC_CONFIG" >"$T_DIR/nows.json" && chmod 600 "$T_DIR/nows.json"
MGDC_CONFIG_SAVED=$MGDC_CONFIG MGDC_CONFIG=$T_DIR/nows.json
mount_fs nows developer-fabric || t_done
MGDC_CONFIG=$MGDC_CONFIG_SAVED
check "ls pipelines/ fails" bash -c '! ls "$1" >/dev/null 2>&1' _ "$MNT/pipelines"
check "  and .mgdcfs/errors names Fabric's answer ($(last_error "$MNT"))" grep -qi "workspace" "$MNT/.mgdcfs/errors"
unmount_fs nows
t_done
