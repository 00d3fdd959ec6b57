#!/usr/bin/env bash
# The onboarding on an Azure Synapse workspace: profiles developer-synapse and
# admin-synapse ("pipelines": {"host": "synapse"}), every step checked by a
# direct call to the emulator's Synapse development endpoint: register and
# approve, pipelines/<name>.json creates the artifacts (asynchronous writes on
# Synapse) and runs, runs/<id>/ status, run.json, activities.json and output
# (its rows = the run's job metadata), cancel, rmdir. Then bad input: an
# unknown host, a Synapse or Fabric profile without a workspace, each
# refused with a clear message and nothing
# mounted or created.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
W="$T_ROOT/tests/lib/write.py"
SYN_SCOPE=https://dev.azuresynapse.net/.default
SQ='api-version=2020-12-01'
syn() { sbx_rest dev "$SYN_SCOPE" "$@"; }
fault_post /reset
DEV=$MGDC_DEV_CLIENT_ID
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
reg() { sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/registrations/$DEV"; }

is "$(jq -r '.profiles["developer-synapse"].pipelines.host' "$MGDC_CONFIG")" synapse "the sandbox exports developer-synapse"
is "$(jq -r '.profiles["developer-synapse"].pipelines.endpoint' "$MGDC_CONFIG")" "$MGDC_SYNAPSE_URL" "  its endpoint is the emulator's Synapse workspace"

mount_fs admin admin-synapse || t_done
A=$MNT
mount_fs dev developer-synapse || t_done
D=$MNT
is "$(jq -r '.pipelines.host + " " + .pipelines.endpoint' "$D/.mgdcfs/config.json")" "synapse $MGDC_SYNAPSE_URL" ".mgdcfs/config.json shows the host and its endpoint"

# 1. Register and approve, as on ADF (the registration contract does not change with the host).
is "$($W "$A/tenant/data-connect" enabled)" 0 "admin: Data Connect on"
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/mail.json" "$SPEC")" 0 "developer: apps/mail.json registers"
is "$(reg | jq -r .name)" mail "service: registration 'mail' exists"
is "$($W "$A/apps/mail/consent" $'approve\n')" 0 "admin: approve"
is "$(reg | jq -r .authorization.status)" Approved "service: Approved"

# 2. A pipeline on Synapse: created through the workspace's asynchronous writes, and run.
PIPE='{"app": "mail", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"},
  "output": {"container": "exports", "folder": "mail/syn45"}}'
deadline=$((SECONDS + 30))
while [ "$(cat "$D/apps/mail/consent")" != Approved ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
is "$($W "$D/pipelines/syn45.json" "$PIPE")" 0 "pipelines/syn45.json creates the pipeline and starts a run"
body=$(syn GET "$MGDC_SYNAPSE_URL/pipelines/syn45?$SQ")
is "$(jq -r .name <<<"$body")" syn45 "Synapse: the pipeline exists"
is "$(jq -r .type <<<"$body")" Microsoft.Synapse/workspaces/pipelines "  as a Synapse artifact"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelines/syn45?api-version=2018-06-01" | jq -r '.error.code // "exists"')" ResourceNotFound "the factory has no such pipeline (the host is Synapse)"
lss=$(syn GET "$MGDC_SYNAPSE_URL/linkedservices?$SQ")
secret=$(tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE")
check "Synapse: its linked services exist ($(jq -r '[.value[].name] | join(",")' <<<"$lss"))" \
	jq -e '[.value[].name | select(startswith("mgdcfs_syn45"))] | length >= 2' <<<"$lss"
check "the workspace masks the app's secret" bash -c '! grep -qF -- "$1" <<<"$2" && grep -qF "**********" <<<"$2"' _ "$secret" "$lss"
run=$(readlink "$D/pipelines/syn45/runs/latest")
check "runs/<runId>/ appeared at once" test -d "$D/pipelines/syn45/runs/$run"
is "$(wait_status "$D/pipelines/syn45/runs/$run")" Succeeded "the run succeeds"
is "$(syn GET "$MGDC_SYNAPSE_URL/pipelineruns/$run?$SQ" | jq -r .status)" Succeeded "Synapse agrees"
is "$(jq -r .runId "$D/pipelines/syn45/runs/$run/run.json")" "$run" "run.json is the run"
is "$(jq -r .pipelineName "$D/pipelines/syn45/runs/$run/run.json")" syn45 "  of pipeline syn45"
acts=$(syn POST "$MGDC_SYNAPSE_URL/pipelines/syn45/pipelineruns/$run/queryActivityruns?$SQ" \
	-H 'content-type: application/json' -d '{"lastUpdatedAfter": "2000-01-01T00:00:00Z", "lastUpdatedBefore": "2200-01-01T00:00:00Z"}')
is "$(jq -c '[.[].activityRunId] | sort' "$D/pipelines/syn45/runs/$run/activities.json")" "$(jq -c '[.value[].activityRunId] | sort' <<<"$acts")" \
	"activities.json = Synapse's queryActivityruns under the pipeline's name"
is "$(readlink "$D/pipelines/syn45/runs/$run/output")" "../../../../datasets/exports/mail/syn45/$run" "output -> the run's own folder"
blob_get exports "mail/syn45/$run/metadata/JobMetadata/metadata.json" "$T_DIR/meta.json"
want=$(jq -r .NumberOfRowsExtracted "$T_DIR/meta.json")
got=$(cat "$D/pipelines/syn45/runs/$run/output/"*.json | jq -c . | wc -l)
is "$got" "$want" "output rows = the job metadata's NumberOfRowsExtracted ($want)"
check "  and there are some" test "$want" -gt 0
is "$(jq -r .DataFactoryName "$T_DIR/meta.json")" "$MGDC_SYNAPSE_WORKSPACE" "the job metadata names the workspace"

# 3. Trigger and cancel a second run.
is "$($W "$D/pipelines/syn45/trigger" '{}')" 0 "echo {} > trigger starts another run"
run2=$(readlink "$D/pipelines/syn45/runs/latest")
check "runs/latest moved to the new run" test "$run2" != "$run"
is "$($W "$D/pipelines/syn45/runs/$run2/cancel" x)" 0 "writing cancel cancels the run"
is "$(wait_status "$D/pipelines/syn45/runs/$run2")" Cancelled "the run ends Cancelled"
is "$(syn GET "$MGDC_SYNAPSE_URL/pipelineruns/$run2?$SQ" | jq -r .status)" Cancelled "Synapse agrees"

# 4. Deleting: the pipeline and what mgdcfs made for it go, each by an asynchronous delete.
check "rmdir pipelines/syn45" rmdir "$D/pipelines/syn45"
is "$(syn GET "$MGDC_SYNAPSE_URL/pipelines/syn45?$SQ" | jq -r '.error.code // "exists"')" ResourceNotFound "Synapse: the pipeline is gone"
is "$(syn GET "$MGDC_SYNAPSE_URL/linkedservices?$SQ" | jq '[.value[].name | select(startswith("mgdcfs_syn45"))] | length')" 0 "Synapse: its linked services are gone too"
check "rmdir apps/mail" rmdir "$D/apps/mail"
check "the developer's log has no error or warning line" log_clean dev
unmount_fs dev
unmount_fs admin

# 5. Bad input: refused at start with what was wrong and what is valid; nothing mounted or made.
before=$(syn GET "$MGDC_SYNAPSE_URL/pipelines?$SQ" | jq -c '[.value[].name]')
mkdir -p "$T_DIR/mp"
bad_profile() { jq --arg p "$2" '{default_profile: "x", profiles: {x: (.profiles[$p] | '"$3"')}}' "$MGDC_CONFIG" >"$T_DIR/$1.json" && chmod 600 "$T_DIR/$1.json"; }
bad_profile unknown developer-synapse '.pipelines.host = "databricks"'
refused "an unknown host" 1 "profiles.x.pipelines.host: 'databricks' is not a pipeline host; use \"adf\"" --config "$T_DIR/unknown.json" "$T_DIR/mp"
bad_profile nows developer-synapse 'del(.pipelines.workspace)'
refused "a Synapse profile without a workspace" 1 "profiles.x.pipelines: host \"synapse\" needs \"workspace\"" --config "$T_DIR/nows.json" "$T_DIR/mp"
bad_profile fabnows developer-synapse '.pipelines = {host: "fabric"}'
refused "a Fabric profile without a workspace" 1 "host \"fabric\" needs \"workspace\": the Fabric workspace's id" --config "$T_DIR/fabnows.json" "$T_DIR/mp"
bad_profile fabname developer-synapse '.pipelines = {host: "fabric", workspace: "my-workspace"}'
refused "a Fabric workspace that is not an id" 1 "'my-workspace' is not a Fabric workspace id" --config "$T_DIR/fabname.json" "$T_DIR/mp"
bad_profile mixed developer '.pipelines = {host: "synapse", workspace: "w", factory: "f"}'
refused "a factory key under host synapse" 1 "pipelines.factory: not a key of host \"synapse\"" --config "$T_DIR/mixed.json" "$T_DIR/mp"
is "$(syn GET "$MGDC_SYNAPSE_URL/pipelines?$SQ" | jq -c '[.value[].name]')" "$before" "Synapse: no refused mount created anything"
t_done
