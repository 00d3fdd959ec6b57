#!/usr/bin/env bash
# Faults on the Synapse workspace's development endpoint (issue 13), as
# 50-faults-services covers ARM: 429/503 with Retry-After on an artifact PUT
# and on the operationResults poll (honoured and logged, then the workspace
# holds the whole plan); persistent 500s on createRun and on a PUT (a clean
# EIO within the deadline; the workspace holds all of the plan or none of
# it); the operation reporting Failed (the write fails with the service's
# code and message and is rolled back); tokens expiring while an operation
# is polled (no visible error); kill -9 while an artifact PUT is held (the
# next mount's journal, keyed by the workspace's endpoint, removes what the
# dead command made). Every outcome is read back from the workspace by a
# direct REST call.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/faults.sh"
. "$T_ROOT/tests/lib/commands.sh" # W, DEV, syn, syn_op, plan_held
plan_get() { syn GET "$MGDC_SYNAPSE_URL/$1?$SQ"; }
retry_logged() { grep -qE "$1.*; retry 1/[0-9]+ in $2 ms" "${T_LOGS[$MNAME]}"; }
OPS='^GET /synapse/[^/]+/operationResults/'
# synrun_count P: the runs the workspace has for pipeline P started since T0 (it keeps
# the runs of earlier passes, as run history outlives a pipeline; runs are stamped with
# the real clock).
T0=$(date -u +%Y-%m-%dT%H:%M:%S)
synrun_count() {
	syn POST "$MGDC_SYNAPSE_URL/queryPipelineRuns?$SQ" -H 'content-type: application/json' \
		-d '{"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2200-01-01T00:00:00Z",
		     "filters": [{"operand": "PipelineName", "operator": "Equals", "values": ["'"$1"'"]}]}' |
		jq --arg t0 "$T0" '[.value[] | select(.runStart >= $t0)] | length'
}
fault_reset
cmd_clean
for p in sf1 sf2 sf3 sf4 sf5 sf6; do
	for r in pipelines/$p datasets/mgdcfs_${p}_src datasets/mgdcfs_${p}_dst linkedservices/mgdcfs_${p}_o365 linkedservices/mgdcfs_${p}_sink; do
		syn_op DELETE "$r?$SQ" >/dev/null
	done
done

# Short TTLs so every step below is a fresh request, not a memo hit.
cfg fsyn '.ttl.metadata_s = 1 | .ttl.status_s = 1 | .ttl.listing_s = 1'
mount_fs admin admin-synapse || t_done
A=$MNT
MNAME=m
mount_fs m developer-synapse || t_done
M=$MNT
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$M/apps/fsyn.json" "$SPEC")" 0 "register app fsyn"
is "$($W "$A/apps/fsyn/consent" $'approve\n')" 0 "admin approves it"
pipe() {
	echo '{"app": "fsyn", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"},
  "output": {"container": "exports", "folder": "fsyn/'"$1"'"}}'
}

# 1. Retry-After on an artifact PUT and on the operation's poll: honoured, then all five.
fault_add '{"route":"^PUT /synapse/[^/]+/datasets/mgdcfs_sf1_src$","status":429,"retryAfter":"2","count":1}'
fault_add '{"route":"'"$OPS"'","status":503,"retryAfter":"1","count":1}'
t=$(ms)
is "$($W "$M/pipelines/sf1.json" "$(pipe sf1)")" 0 "pipelines/sf1.json through a dataset PUT 429 and an operationResults 503"
figure synapse_put429_2s_poll503_1s_commit_ms $(($(ms) - t))
check "PUT: waited the 2000 ms of Retry-After (log)" retry_logged "PUT .*/datasets/mgdcfs_sf1_src: HTTP 429" 2000
check "operationResults: waited the 1000 ms of Retry-After (log)" retry_logged "/operationResults/[^:]*: HTTP 503" 1000
is "$(rule_hits /datasets/)$(rule_hits /operationResults/)" 11 "each fault was served once"
is "$(plan_held sf1)" 5 "Synapse: the workspace holds the whole plan"
is "$(synrun_count sf1)" 1 "Synapse: and one run of it"

# 2. Persistent 500s. On createRun: EIO within the deadline, the plan stays whole, no run.
fault_add '{"route":"^POST /synapse/[^/]+/pipelines/sf2/createRun$","status":500}'
fails_within "EIO close" synapse_createrun500_fail_ms "persistent 500 on createRun: EIO" "$W" "$M/pipelines/sf2.json" "$(pipe sf2)"
is "$(rule_hits /createRun)" 1 "createRun is not replayed (a replay could start a second run)"
check ".mgdcfs/errors names createRun and the service's code" bash -c "tail -3 '$M/.mgdcfs/errors' | grep -q 'sf2.json: createRun: InternalServerError'"
is "$(plan_held sf2)" 5 "Synapse: the pipeline and its artifacts are whole (only the run failed)"
is "$(synrun_count sf2)" 0 "Synapse: no run"
fault_reset
is "$($W "$M/pipelines/sf2/trigger" '{}')" 0 "once the 500s stop, trigger starts the run"
is "$(synrun_count sf2)" 1 "Synapse: one run"

# On the pipeline's PUT (the last of the five): EIO within the deadline, the four before it undone.
fault_add '{"route":"^PUT /synapse/[^/]+/pipelines/sf3$","status":500}'
fails_within "EIO close" synapse_put500_fail_ms "persistent 500 on the pipeline's PUT: EIO" "$W" "$M/pipelines/sf3.json" "$(pipe sf3)"
figure synapse_put500_attempts "$(rule_hits /pipelines/sf3)"
check ".mgdcfs/errors says which write failed, with the service's code" \
	bash -c "tail -3 '$M/.mgdcfs/errors' | grep -q \"creating pipelines 'sf3': InternalServerError\""
is "$(plan_held sf3)" 0 "Synapse: none of the plan is left (rolled back by asynchronous deletes)"
fault_reset

# 3. The operation reports Failed (the first artifact's operation): the write fails with
# the service's code and message; nothing stays (the emulator applied the write anyway,
# the worst case: the rollback deletes it).
fault_add '{"route":"'"$OPS"'","status":200,"count":1,"body":{"status":"Failed","error":{"code":"ArtifactWriteFailed","message":"The linked service could not be saved: injected."}}}'
is "$($W "$M/pipelines/sf4.json" "$(pipe sf4)")" "EIO close" "an operation reported Failed: EIO"
check ".mgdcfs/errors has the service's code and message" \
	bash -c "tail -3 '$M/.mgdcfs/errors' | grep -q 'ArtifactWriteFailed: the operation ended Failed: The linked service could not be saved: injected.'"
is "$(plan_held sf4)" 0 "Synapse: none of the plan is left"
fault_reset

# 4. Tokens expire while an operation is polled: the rest of the commit refreshes them.
L0=$(wc -l <"${T_LOGS[m]}")
fault_add '{"route":"'"$OPS"'","latencyMs":1500,"count":1}'
is "$(expire_mid /operationResults/ "$W" "$M/pipelines/sf5.json" "$(pipe sf5)")" 0 "tokens expired while an operation was polled: it commits, no error"
is "$(plan_held sf5)" 5 "Synapse: the whole plan"
check "no error or warning logged by the refreshes" bash -c "! tail -n +$((L0 + 1)) '${T_LOGS[m]}' | grep -E ' (error|warning): '"
fault_reset

# 5. kill -9 while a dataset PUT is held: the next mount's journal removes what the
# dead command made (the held PUT and its operation complete at the workspace after
# the kill).
fault_add '{"route":"^PUT /synapse/[^/]+/datasets/","latencyMs":3000}'
kill9_mid m /datasets/ "Synapse's dataset PUT" "$W" "$M/pipelines/sf6.json" "$(pipe sf6)"
sleep 3.5 # let the workspace finish the PUT it received and its operation
fault_reset
diag "with the daemon dead, the workspace held $(plan_held sf6 2>/dev/null) of the 5 artifacts"
MNAME=m2
mount_fs m2 developer-synapse || t_done
M=$MNT
# mount_fs returns once the kernel shows the mount; the journal's recovery runs in
# FUSE's init, which the first request waits for.
check "the remount serves its first request (README)" test -f "$M/README"
is "$(plan_held sf6)" 0 "after the remount: the journal's recovery removed every artifact of the killed command"
check "the recovery is logged" grep -q "sf6.json: an interrupted pipeline command was undone" "${T_LOGS[m2]}"
is "$($W "$M/pipelines/sf6.json" "$(pipe sf6)")" 0 "writing the spec again after the remount commits"
is "$(plan_held sf6)" 5 "Synapse: the whole plan"
for p in sf1 sf2 sf5 sf6; do check "rmdir pipelines/$p (clean-up)" rmdir "$M/pipelines/$p"; done
is "$(syn GET "$MGDC_SYNAPSE_URL/pipelines?$SQ" | jq '[.value[].name | select(startswith("sf"))] | length')" 0 "Synapse: no sf pipeline left"
check "rmdir apps/fsyn" rmdir "$M/apps/fsyn"
unmount_fs m2
unmount_fs admin
t_done
