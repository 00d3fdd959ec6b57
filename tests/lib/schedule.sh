# shellcheck shell=bash
# tests/lib/schedule.sh - the steps the schedule tests share (27-schedule on
# ADF, 28-schedule-synapse on Synapse), sourced after tests/lib/mount.sh and
# tests/lib/commands.sh. The test defines
#   host METHOD PATH [curl args...]  a direct call to the host's REST API, PATH
#                                    under the factory or workspace, query included
#   HQ                               the host's "api-version=..."
# and T0 (runs started before it are not this test's).

# iso SECONDS: the UTC time as the schedules write it.
iso() { date -ud "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# sched_day0: midnight UTC of the sandbox's clock, in seconds since the epoch.
sched_day0() {
	local now
	now=$(faults_get | jq -r .clock.now)
	echo $(($(date -ud "$now" +%s) / 86400 * 86400))
}

# sched_daily MOUNT PIPELINE APP FOLDER: pipelines/PIPELINE.json for app APP (registered
# and approved), Message_v1 rows whose receivedDateTime is within the window its
# parameters windowStart and windowEnd name (first the day two days ago), output under
# FOLDER; its first run succeeds. Sets day0 (sched_day0) and START (that first day).
sched_daily() {
	day0=$(sched_day0)
	START=$(iso $((day0 - 2 * 86400)))
	local spec='{"app": "'$3'", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "parameters": {"windowStart": "'$START'", "windowEnd": "'$(iso $((day0 - 86400)))'"},
  "dateFilter": {"column": "receivedDateTime", "start": "@pipeline().parameters.windowStart", "end": "@pipeline().parameters.windowEnd"},
  "output": {"container": "exports", "folder": "'$4'"}}'
	is "$($W "$1/pipelines/$2.json" "$spec")" 0 "pipelines/$2.json with the window as parameters"
	is "$(wait_status "$1/pipelines/$2/runs/$(readlink "$1/pipelines/$2/runs/latest")")" Succeeded "its first (manual) run succeeds"
}

# sched_runs PIPELINE TRIGGER: the runs of PIPELINE that TRIGGER started since T0, a JSON
# array (queryPipelineRuns; the host keeps the runs of earlier passes, and runs are
# stamped with the real clock).
sched_runs() {
	host POST "queryPipelineRuns?$HQ" -H 'content-type: application/json' \
		-d '{"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2200-01-01T00:00:00Z",
		     "filters": [{"operand": "PipelineName", "operator": "Equals", "values": ["'"$1"'"]}]}' |
		jq -c --arg t "$2" --arg t0 "$T0" \
			'[.value[] | select(.invokedBy.invokedByType == "TumblingWindowTrigger" and .invokedBy.name == $t and .runStart >= $t0)]'
}

# sched_wait PIPELINE TRIGGER N: wait (at most 180 s) until N of those runs have ended; prints them.
sched_wait() {
	local deadline=$((SECONDS + 180)) runs
	while runs=$(sched_runs "$1" "$2") &&
		[ "$(jq '[.[] | select(.status == "Succeeded" or .status == "Failed" or .status == "Cancelled")] | length' <<<"$runs")" -lt "$3" ] &&
		[ $SECONDS -lt $deadline ]; do sleep 0.5; done
	echo "$runs"
}

# sched_week MOUNT PIPELINE TRIGGER START FOLDER: move the sandbox's clock seven days on;
# the trigger then starts seven runs, all succeed, and sched_check_windows holds for them.
sched_week() {
	local runs
	fault_post /clock '{"advanceDays": 7}'
	runs=$(sched_wait "$2" "$3" 7)
	is "$(jq length <<<"$runs")" 7 "REST: seven runs started by the trigger"
	is "$(jq -r '[.[].status] | unique | join(",")' <<<"$runs")" Succeeded "REST: all succeeded"
	sched_check_windows "$@" "$runs"
}

# sched_off_holds MOUNT PIPELINE TRIGGER: after "off" was written, the trigger reads
# Stopped (REST and the schedule file), and three days later no run was added.
sched_off_holds() {
	local n deadline
	is "$(host GET "triggers/$3?$HQ" | jq -r .properties.runtimeState)" Stopped "REST: the trigger is Stopped"
	is "$(jq -r .state "$1/pipelines/$2/schedule")" Stopped "reading schedule shows Stopped"
	n=$(sched_runs "$2" "$3" | jq length)
	fault_post /clock '{"advanceDays": 3}'
	deadline=$((SECONDS + 3)) # the engine ticks every 200 ms; nothing may start in 3 s
	while [ "$(sched_runs "$2" "$3" | jq length)" = "$n" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
	is "$(sched_runs "$2" "$3" | jq length)" "$n" "REST: no new run three days later"
}

# sched_check_windows MOUNT PIPELINE TRIGGER START FOLDER RUNS: each run of RUNS (oldest
# window first) has the day after the previous one's window (the first starts at START),
# run.json names it and the trigger, the host's run carries it as parameters, every row
# of the run's output is inside it, and the rows are as many as the run's job metadata
# (in container exports under FOLDER/<runId>/) says.
sched_check_windows() {
	local m=$1 pipe=$2 trig=$3 prev=$4 folder=$5 runs=$6 k=0 run r ws we out
	for run in $(jq -r 'sort_by(.parameters.windowStart) | .[].runId' <<<"$runs"); do
		k=$((k + 1))
		r="$m/pipelines/$pipe/runs/$run"
		ws=$(jq -r .window.start "$r/run.json")
		we=$(jq -r .window.end "$r/run.json")
		is "$ws $we" "$prev $(iso $(($(date -ud "$prev" +%s) + 86400)))" "run $k: run.json's window follows the last one and is one day"
		is "$(jq -r '[.window.trigger, .invokedBy.invokedByType] | join(" ")' "$r/run.json")" "$trig TumblingWindowTrigger" "run $k: run.json names the trigger"
		is "$(host GET "pipelineruns/$run?$HQ" | jq -r '[.parameters.windowStart, .parameters.windowEnd] | join(" ")')" "$ws $we" "run $k: REST: the run's parameters carry that window"
		out=$(cat "$r/output/"*.json | jq -c .)
		is "$(jq -s --arg s "$ws" --arg e "$we" '[.[] | select(.receivedDateTime < $s or .receivedDateTime >= $e)] | length' <<<"$out")" 0 \
			"run $k: every row's receivedDateTime is within [$ws, $we)"
		blob_get exports "$folder/$run/metadata/JobMetadata/metadata.json" "$T_DIR/meta.json"
		is "$(grep -c . <<<"$out")" "$(jq -r .NumberOfRowsExtracted "$T_DIR/meta.json")" "run $k: rows read through the mount = the job metadata's NumberOfRowsExtracted"
		prev=$we
	done
}
