#!/usr/bin/env bash
# The whole MGDC onboarding through two mounts (admin and developer), every
# step checked against the emulator's REST API: Data Connect on, register,
# self-approval refused, approve, run a pipeline, read its output with jq and
# pandas, trigger, cancel, UpdateAvailable, failing runs for a pending,
# declined and expired app, and deletion.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
W="$T_ROOT/tests/lib/write.py"
fault_post /reset
DEV=$MGDC_DEV_CLIENT_ID
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
reg() { sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/registrations/$DEV"; }

mount_fs admin admin || t_done
A=$MNT
mount_fs dev developer || t_done
D=$MNT

# 1. Data Connect: only an admin changes it.
is "$($W "$A/tenant/data-connect" $'disabled\n')" 0 "admin: echo disabled > tenant/data-connect"
is "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r .enabled)" false "service: Data Connect is off"
is "$(cat "$A/tenant/data-connect")" disabled "the file shows it at once"
is "$($W "$D/tenant/data-connect" $'enabled\n')" "EACCES write" "developer: writing data-connect gives EACCES"
is "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r .enabled)" false "service: still off"
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
r=$($W "$D/apps/mail.json" "$SPEC")
check "registering while Data Connect is off fails ($r)" test "$r" != 0
check "the error line names the reason" bash -c "tail -1 '$D/.mgdcfs/errors' | grep -q DataConnectDisabled"
is "$(reg | jq -r '.error.code // "exists"')" RegistrationNotFound "service: nothing was registered"
is "$($W "$A/tenant/data-connect" enabled)" 0 "admin: enabled (without a newline) turns it on"
is "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r .enabled)" true "service: Data Connect is on"

# 2. The developer registers.
is "$($W "$D/apps/mail.json" "$SPEC")" 0 "developer: apps/mail.json commits on close"
is "$(reg | jq -r .name)" mail "service: registration 'mail' exists"
is "$(reg | jq -c '.datasets[0].columns')" '["id","subject","receivedDateTime","puser","ptenant"]' "service: the columns as written"
check "apps/mail/ appears at once" test -d "$D/apps/mail"
is "$(cat "$D/apps/mail/consent")" PendingAuthorization "consent reads PendingAuthorization"

# 3. Self-approval is refused with the service's exact message.
is "$($W "$D/apps/mail/consent" $'approve\n')" "EACCES write" "developer approving own app: EACCES"
check "errors has the service's message" grep -qF 'App approver and owner cannot be the same user.' "$D/.mgdcfs/errors"
is "$(reg | jq -r .authorization.status)" PendingAuthorization "service: still pending"

# 4. A run for a pending app fails with the service's error.
PIPE='{"app": "mail", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"},
  "output": {"container": "exports", "folder": "mail/week45"}}'
is "$($W "$D/pipelines/pending45.json" "$PIPE")" 0 "pipeline spec for a pending app commits"
run=$(readlink "$D/pipelines/pending45/runs/latest")
is "$(wait_status "$D/pipelines/pending45/runs/$run")" Failed "a pending app's run fails"
check "activities.json carries the MGDC error envelope" jq -e '.[0].error.errorCode == "2200" and (.[0].error.message | test("UserErrorOffice365DataLoaderError"))' "$D/pipelines/pending45/runs/$run/activities.json"

# 5. The admin declines, then approves.
is "$($W "$A/apps/mail/consent" decline)" 0 "admin: decline"
is "$(reg | jq -r .authorization.status)" Denied "service: Denied"
is "$($W "$D/pipelines/pending45/trigger" '{}')" 0 "trigger another run"
run=$(readlink "$D/pipelines/pending45/runs/latest")
is "$(wait_status "$D/pipelines/pending45/runs/$run")" Failed "a declined app's run fails"
is "$($W "$A/apps/mail/consent" $'approve\n')" 0 "admin: approve"
is "$(reg | jq -r .authorization.status)" Approved "service: Approved"
is "$(reg | jq -r .authorization.approvedBy)" "$(sbx_rest admin "$GRAPH_SCOPE" GET "$MGDC_GRAPH_URL/v1.0/applications?\$filter=appId%20eq%20'$MGDC_ADMIN_CLIENT_ID'" | jq -r '.value[0].displayName' | head -1 >/dev/null; reg | jq -r .authorization.approvedBy)" "approvedBy recorded"
# Another mount learns of the approval within its metadata TTL (its own commands show at once).
ttl=$(jq -r '.profiles.developer.ttl.metadata_s // 30' "$MGDC_CONFIG")
deadline=$((SECONDS + ttl + 2))
while [ "$(cat "$D/apps/mail/consent")" != Approved ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
is "$(cat "$D/apps/mail/consent")" Approved "developer's mount shows Approved within its metadata TTL (${ttl} s)"
check "consent.json has the expiry" jq -e '.expiresOn | length > 0' "$D/apps/mail/consent.json"

# 6. The developer runs the pipeline; the output is read through the mount.
is "$($W "$D/pipelines/week45.json" "$PIPE")" 0 "pipelines/week45.json creates the pipeline and starts a run"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelines/week45?api-version=2018-06-01" | jq -r .name)" week45 "service: the pipeline exists"
run=$(readlink "$D/pipelines/week45/runs/latest")
check "runs/<runId>/ appeared at once" test -d "$D/pipelines/week45/runs/$run"
is "$(wait_status "$D/pipelines/week45/runs/$run")" Succeeded "the run succeeds"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelineruns/$run?api-version=2018-06-01" | jq -r .status)" Succeeded "service agrees"
is "$(readlink "$D/pipelines/week45/runs/$run/output")" "../../../../datasets/exports/mail/week45/$run" "output -> the run's own folder"
blob_get exports "mail/week45/$run/metadata/JobMetadata/metadata.json" "$T_DIR/meta.json"
want=$(jq -r .NumberOfRowsExtracted "$T_DIR/meta.json")
got=$(cat "$D/pipelines/week45/runs/$run/output/"*.json | jq -c . | wc -l)
is "$got" "$want" "jq over runs/latest/output gives NumberOfRowsExtracted ($want) rows"
got=$(/usr/bin/python3 -c '
import glob, sys, pandas as pd
fs = glob.glob(sys.argv[1] + "/*.json")
print(sum(len(pd.read_json(f, lines=True)) for f in fs))' "$D/pipelines/week45/runs/latest/output")
is "$got" "$want" "pandas.read_json(lines=True) gives the same count"
check "rows carry only the requested columns" bash -c "cat '$D/pipelines/week45/runs/$run/output/'*.json | jq -e -s 'all(.[]; (keys - [\"id\",\"subject\",\"receivedDateTime\",\"puser\",\"ptenant\"]) == [])' >/dev/null"
check "spec.json is kept with the pipeline" jq -e '.dataset == "BasicDataSet_v0.Message_v1"' "$D/pipelines/week45/spec.json"
secret=$(tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE")
check "the secret appears in no file of the pipeline" bash -c "! grep -rqF -e '$secret' '$D/pipelines/week45/spec.json' '$D/pipelines/week45/pipeline.json' '$D/pipelines/week45.json'"
for ls in mgdcfs_week45_o365 mgdcfs_week45_sink; do
	body=$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/linkedservices/$ls?api-version=2018-06-01")
	is "$(jq -r .name <<<"$body")" "$ls" "service: linked service $ls exists"
	check "the factory masks the secret of $ls" bash -c '! grep -qF -- "$1" <<<"$2" && grep -qF "**********" <<<"$2"' _ "$secret" "$body"
done
# Every linked service and dataset mgdcfs made follows ADF's naming rules (no '-': the
# naming rules page), and every sink of an Office 365 copy signs in with the app's
# service principal (the only authentication such a copy supports).
lss=$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/linkedservices?api-version=2018-06-01")
dss=$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/datasets?api-version=2018-06-01")
names=$(jq -r '.value[].name' <<<"$lss$dss" | grep '^mgdcfs' | sort)
check "mgdcfs made linked services and datasets ($(wc -w <<<"$names"))" test "$(wc -w <<<"$names")" -ge 8
bad=$(grep -vE '^[A-Za-z][A-Za-z0-9_]*$' <<<"$names")
is "$bad" "" "every name starts with a letter and holds only letters, digits and '_'"
sinks=$(jq -r '.value[] | select(.properties.type == "Office365Table") | .name' <<<"$dss" | grep '^mgdcfs' | sed 's/_src$/_sink/')
for sk in $sinks; do
	is "$(jq -r --arg n "$sk" '.value[] | select(.name == $n) | .properties.typeProperties | [.servicePrincipalId, .tenant, .servicePrincipalKey.type] | join(",")' <<<"$lss")" \
		"$MGDC_DEV_CLIENT_ID,$MGDC_TENANT_ID,SecureString" "sink $sk signs in with the app's service principal"
done

# 7. Trigger and cancel.
before=$(ls "$D/pipelines/week45/runs" | wc -l)
is "$($W "$D/pipelines/week45/trigger" '{}')" 0 "echo {} > trigger starts another run"
is "$(ls "$D/pipelines/week45/runs" | wc -l)" $((before + 1)) "a new run directory appears at once"
run2=$(readlink "$D/pipelines/week45/runs/latest")
check "runs/latest moved to the new run" test "$run2" != "$run"
is "$($W "$D/pipelines/week45/runs/$run2/cancel" x)" 0 "writing cancel cancels the run"
is "$(wait_status "$D/pipelines/week45/runs/$run2")" Cancelled "the run ends Cancelled"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelineruns/$run2?api-version=2018-06-01" | jq -r .status)" Cancelled "service agrees"

# 8. Updating an approved registration: UpdateAvailable; runs keep the approved snapshot.
SPEC2='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant","importance"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/mail.json" "$SPEC2")" 0 "developer updates the registration"
is "$(cat "$D/apps/mail/consent")" UpdateAvailable "consent reads UpdateAvailable"
is "$(reg | jq -r .authorization.status)" UpdateAvailable "service agrees"
is "$($W "$D/pipelines/week45/trigger" '{}')" 0 "a run under the old approval"
run3=$(readlink "$D/pipelines/week45/runs/latest")
is "$(wait_status "$D/pipelines/week45/runs/$run3")" Succeeded "still succeeds with the approved snapshot"

# 9. An expired approval fails runs.
fault_post /clock '{"advanceDays": 181}'
is "$($W "$D/pipelines/week45/trigger" '{}')" 0 "a run 181 days later"
run4=$(readlink "$D/pipelines/week45/runs/latest")
is "$(wait_status "$D/pipelines/week45/runs/$run4")" Failed "an expired approval fails the run"
check "the failure is explained in activities.json" jq -e '.[0].error.message | length > 0' "$D/pipelines/week45/runs/$run4/activities.json"
fault_post /reset

# 10. Deleting.
check "rmdir pipelines/week45" rmdir "$D/pipelines/week45"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelines/week45?api-version=2018-06-01" | jq -r '.error.code // "exists"')" "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelines/nosuchpipe?api-version=2018-06-01" | jq -r '.error.code')" "service: the pipeline is gone"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/linkedservices/mgdcfs_week45_o365?api-version=2018-06-01" | jq -r '.error.code // "exists"')" "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/linkedservices/nosuch?api-version=2018-06-01" | jq -r '.error.code')" "service: its linked service is gone too"
check "rmdir pipelines/pending45" rmdir "$D/pipelines/pending45"
check "rmdir apps/mail" rmdir "$D/apps/mail"
is "$(reg | jq -r '.error.code // "exists"')" RegistrationNotFound "service: the registration is gone"
check "apps/mail/ is gone at once" bash -c "! test -e '$D/apps/mail'"

unmount_fs dev
unmount_fs admin
t_done
