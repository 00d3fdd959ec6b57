#!/usr/bin/env bash
# The onboarding on a tenant as a real one looks from outside: a private
# sandbox started with `scripts/sandbox up --portal-only` (the registration
# contract answers 404; the profiles have no endpoints.registration). What
# only the portal and the admin center can do goes through `scripts/sandbox
# portal ...`; everything else through the mount. Each step is checked
# against the services' REST APIs: the billing account (GraphServices), the
# storage role (ARM role assignments), the ADF resources and runs, and the
# exported rows against JobMetadata. Then runs for an unregistered, a
# pending, a declined and an expired app, each read back in apps/<name>/consent;
# and a profile whose app lacks Directory.Read.All.
. "$(dirname "$0")/../lib/mount.sh"
. "$(dirname "$0")/../lib/sandbox.sh"
need_sandbox
W="$T_ROOT/tests/lib/write.py"
PORTAL="$T_ROOT/scripts/sandbox portal"
sbx_private_up --portal-only || t_done
is "$MGDC_PORTAL_ONLY" 1 "the private sandbox is portal-only"
is "$(jq -r '.profiles.developer.endpoints.registration // "none"' "$MGDC_CONFIG")" none \
	"its developer profile has no registration endpoint"
is "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r .error.code)" NotFound \
	"the registration contract answers 404"
DEV=$MGDC_DEV_CLIENT_ID
RD=$MGDC_READER_CLIENT_ID
SUB=/subscriptions/$MGDC_SUBSCRIPTION_ID/resourceGroups/$MGDC_RESOURCE_GROUP
ACCTS="$MGDC_ARM_URL$SUB/providers/Microsoft.GraphServices/accounts"
GV=api-version=2023-04-13
SCOPE=$SUB/providers/Microsoft.Storage/storageAccounts/$MGDC_STORAGE_ACCOUNT

# A config that also knows the reader app's secret (the profile's "apps" entry),
# so the developer's mount can run pipelines as that app.
CFG=$T_DIR/config.json
jq --arg f "$MGDC_READER_CLIENT_SECRET_FILE" '.profiles.developer.apps = {"reports": {"client_secret_file": $f}}' \
	"$MGDC_CONFIG" >"$CFG"
chmod 600 "$CFG"
export MGDC_CONFIG=$CFG
mount_fs dev developer || { sbx_private_down; t_done; }
D=$MNT

# 1. What is public: the profile's own app, named as Graph names it; no consent known.
own=$(sbx_rest dev "$GRAPH_SCOPE" GET "$MGDC_GRAPH_URL/v1.0/applications?\$filter=appId%20eq%20'$DEV'" | jq -r '.value[0].displayName')
check "apps/ lists the profile's own app by its Graph name ($own)" test -d "$D/apps/$own"
is "$(cat "$D/apps/$own/consent")" Unknown "its consent reads Unknown"
check "consent.json says where an admin approves" grep -q 'admin.microsoft.com/Adminportal/Home#/Settings/MGDCAdminCenter' "$D/apps/$own/consent.json"
is "$(cat "$D/tenant/data-connect")" unknown "tenant/data-connect: unknown (no public API)"
is "$($W "$D/tenant/data-connect" $'enabled\n')" "ENOTSUP write" "writing data-connect: ENOTSUP"
check "  the error says where a global admin turns it on" bash -c "last_error() { tail -1 \"\$1/.mgdcfs/errors\"; }; last_error '$D' | grep -q 'Microsoft 365 admin center > Settings > Org settings > Services'"

# 2. Register: the public steps (billing account, role check) and what is left for the portal.
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/mail.json" "$SPEC")" 0 "developer: apps/mail.json commits on close"
acct=$(sbx_rest dev "$ARM_SCOPE" GET "$ACCTS/mgdc-$DEV?$GV")
is "$(jq -r '.properties.appId' <<<"$acct")" "$DEV" "service: billing account mgdc-<appId> exists for the app"
is "$(jq -r '.properties.provisioningState' <<<"$acct")" Succeeded "  its long-running PUT has ended (Succeeded)"
is "$(jq -r '.tags["mgdcfs-name"]' <<<"$acct")" mail "  tagged with the name"
check "apps/mail/ replaces the display-name entry" bash -c "test -d '$D/apps/mail' && ! test -e '$D/apps/$own'"
check "portal.txt has the values for the portal" bash -c "grep -q 'Application ID *$DEV' '$D/apps/mail/portal.txt' && grep -q 'BasicDataSet_v0.Message_v1' '$D/apps/mail/portal.txt' && grep -q 'Columns   id, subject, receivedDateTime, puser, ptenant' '$D/apps/mail/portal.txt' && grep -q 'Compute type *Azure Data Factory' '$D/apps/mail/portal.txt'"
check ".mgdcfs/errors says what is left to do in the portal" bash -c "grep -q 'apps/mail.json: billing account mgdc-$DEV is ready; registration and consent are portal-only' '$D/.mgdcfs/errors'"
is "$(jq -r .storageRole.granted "$D/apps/mail/registration.json")" true "registration.json: the app's principal holds Storage Blob Data Contributor"
is "$(jq -r .billingAccount.name "$D/apps/mail/registration.json")" "mgdc-$DEV" "registration.json: the billing account"
is "$(cat "$D/apps/mail/consent")" Unknown "consent: Unknown until a run says more"
is "$($W "$D/apps/mail/consent" $'approve\n')" "ENOTSUP write" "writing consent: ENOTSUP (portal-only)"
check "  the error names the admin center" bash -c "tail -1 '$D/.mgdcfs/errors' | grep -q 'MGDCAdminCenter'"

# 3. The portal and the admin center (stand-ins), then a run through the mount.
jq --arg id "$DEV" '. + {appId: $id}' <<<"$SPEC" >"$T_DIR/mail.json"
out=$($PORTAL data-connect enabled 2>&1)
is "$?" 0 "portal: Data Connect on ($out)"
out=$($PORTAL register "$T_DIR/mail.json" 2>&1)
is "$out" "mail ($DEV): PendingAuthorization" "portal: register mail"
out=$($PORTAL approve "$DEV" 2>&1)
is "$out" "mail ($DEV): Approved" "admin center: approve mail"
PIPE='{"app": "mail", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"},
  "output": {"container": "exports", "folder": "mail/week45"}}'
is "$($W "$D/pipelines/week45.json" "$PIPE")" 0 "pipelines/week45.json commits with no registration service"
run=$(readlink "$D/pipelines/week45/runs/latest")
is "$(wait_status "$D/pipelines/week45/runs/$run")" Succeeded "the run succeeds"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelineruns/$run?api-version=2018-06-01" | jq -r .status)" Succeeded "service agrees"
blob_get exports "mail/week45/$run/metadata/JobMetadata/metadata.json" "$T_DIR/meta.json"
want=$(jq -r .NumberOfRowsExtracted "$T_DIR/meta.json")
got=$(cat "$D/pipelines/week45/runs/$run/output/"*.json | jq -c . | wc -l)
is "$got" "$want" "rows read through runs/<id>/output = NumberOfRowsExtracted ($want)"
check "  and there are rows" test "$want" -gt 0
is "$(cat "$D/apps/mail/consent")" Approved "consent: Approved after the successful run"
is "$(jq -r .lastSuccessfulRun.runId "$D/apps/mail/consent.json")" "$run" "consent.json names that run"
is "$(jq -r '.pipelines[0]' "$D/apps/mail/registration.json")" week45 "registration.json lists the pipeline"
lss=$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/linkedservices?api-version=2018-06-01")
is "$(jq -r '.value[] | select(.name == "mgdcfs_week45_sink") | .properties.typeProperties | [.servicePrincipalId, .servicePrincipalKey.type] | join(",")' <<<"$lss")" \
	"$DEV,SecureString" "the sink signs in as the app (service principal)"
is "$(jq -r '.value[].name' <<<"$lss" | grep -cvE '^[A-Za-z][A-Za-z0-9_]*$')" 0 "linked service names follow ADF's naming rules"

# 4. Another app, known to the profile by its secret ("apps" entry): the missing
# storage role is reported with the command that grants it; then runs say each consent state.
SPEC2=$(jq --arg id "$RD" '. + {appId: $id}' <<<"$SPEC")
is "$($W "$D/apps/reports.json" "$SPEC2")" 0 "apps/reports.json (the reader's app) commits"
check "errors: its principal lacks the role, with the az command" bash -c "grep -q \"apps/reports.json: the app's service principal lacks Storage Blob Data Contributor on the destination mgdcsandbox; runs fail without it. Grant it with: az role assignment create --assignee $RD --role \\\"Storage Blob Data Contributor\\\" --scope $SCOPE\" '$D/.mgdcfs/errors'"
is "$(jq -r .storageRole.granted "$D/apps/reports/registration.json")" false "registration.json: granted false"
spid=$(jq -r .storageRole.principalId "$D/apps/reports/registration.json")
is "$(sbx_rest admin "$ARM_SCOPE" PUT "$MGDC_ARM_URL$SCOPE/providers/Microsoft.Authorization/roleAssignments/$(cat /proc/sys/kernel/random/uuid)?api-version=2022-04-01" \
	-H 'content-type: application/json' \
	-d "{\"properties\": {\"roleDefinitionId\": \"/subscriptions/$MGDC_SUBSCRIPTION_ID/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe\", \"principalId\": \"$spid\"}}" | jq -r .properties.principalId)" \
	"$spid" "an admin grants the role (ARM role assignment, as the az command does)"
$W "$D/.mgdcfs/refresh" x >/dev/null
is "$(jq -r .storageRole.granted "$D/apps/reports/registration.json")" true "registration.json: granted true after refresh"
RPIPE=$(sed 's/"app": "mail"/"app": "reports"/' <<<"$PIPE")
consent_after_run() { # -> "<trigger's result> <run status> <consent>" after one more run
	local r w s
	w=$($W "$D/pipelines/reports45/trigger" '{}')
	r=$(readlink "$D/pipelines/reports45/runs/latest")
	s=$(wait_status "$D/pipelines/reports45/runs/$r")
	echo "$w $s $(cat "$D/apps/reports/consent")"
}
is "$($W "$D/pipelines/reports45.json" "$RPIPE")" 0 "pipelines/reports45.json as the reports app"
run=$(readlink "$D/pipelines/reports45/runs/latest")
is "$(wait_status "$D/pipelines/reports45/runs/$run")" Failed "unregistered app: the run fails"
is "$(cat "$D/apps/reports/consent")" NotRegistered "  consent: NotRegistered"
check "  consent.json quotes the run's error" bash -c "jq -e '.run.message | test(\"registration matches application\")' '$D/apps/reports/consent.json' >/dev/null"
jq --arg id "$RD" '. + {appId: $id, name: "reports"}' <<<"$SPEC" >"$T_DIR/reports.json"
$PORTAL register "$T_DIR/reports.json" >/dev/null 2>&1
is "$(consent_after_run)" "0 Failed PendingAuthorization" "pending app: the run fails; consent PendingAuthorization"
$PORTAL decline "$RD" >/dev/null 2>&1
is "$(consent_after_run)" "0 Failed Denied" "declined app: the run fails; consent Denied"
$PORTAL approve "$RD" >/dev/null 2>&1
is "$(consent_after_run)" "0 Succeeded Approved" "approved app: the run succeeds; consent Approved"
r=$(readlink "$D/pipelines/reports45/runs/latest")
check "activities.json carries the copy's output" bash -c "jq -e '.[0].activityType == \"Copy\" and .[0].status == \"Succeeded\"' '$D/pipelines/reports45/runs/$r/activities.json' >/dev/null"
curl -sS --cacert "$MGDC_SANDBOX_CA" -X POST "$MGDC_FAULTS_URL/settings" -H 'content-type: application/json' -d '{"runSeconds": 30}' >/dev/null
is "$($W "$D/pipelines/reports45/trigger" '{}')" 0 "trigger a long run"
r=$(readlink "$D/pipelines/reports45/runs/latest")
is "$($W "$D/pipelines/reports45/runs/$r/cancel" x)" 0 "cancel works with no registration service"
is "$(wait_status "$D/pipelines/reports45/runs/$r")" Cancelled "  the run ends Cancelled"
is "$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelineruns/$r?api-version=2018-06-01" | jq -c '[.status, .runEnd]')" '["Cancelled",null]' "  service agrees"
is "$(cat "$D/apps/reports/consent")" Approved "  a cancelled run says nothing about consent"
curl -sS --cacert "$MGDC_SANDBOX_CA" -X POST "$MGDC_FAULTS_URL/reset" -H 'content-type: application/json' -d '{}' >/dev/null
curl -sS --cacert "$MGDC_SANDBOX_CA" -X POST "$MGDC_FAULTS_URL/clock" -H 'content-type: application/json' -d '{"advanceDays": 181}' >/dev/null
is "$(consent_after_run)" "0 Failed Expired" "181 days later: the run fails; consent Expired"
curl -sS --cacert "$MGDC_SANDBOX_CA" -X POST "$MGDC_FAULTS_URL/reset" -H 'content-type: application/json' -d '{}' >/dev/null

# 5. rmdir of a registration is portal-only too.
check "rmdir apps/mail is refused" bash -c "! rmdir '$D/apps/mail' 2>/dev/null"
check "  the error says where to delete it" bash -c "tail -1 '$D/.mgdcfs/errors' | grep -q 'delete it there'"
unmount_fs dev

# 6. A profile whose app lacks Directory.Read.All still mounts and says what is missing.
mount_fs reader reader || { sbx_private_down; t_done; }
R=$MNT
is "$(jq -r .id "$R/tenant/tenant.json")" "$MGDC_TENANT_ID" "reader: tenant.json shows the tenant id it knows"
check "  and why the rest is missing" bash -c "jq -e '.unavailable | test(\"Directory.Read.All\")' '$R/tenant/tenant.json' >/dev/null"
check ".mgdcfs/errors names the permission and how an admin grants it" bash -c "grep -q 'lacks the application permission Directory.Read.All; an administrator grants it in the Entra admin center' '$R/.mgdcfs/errors'"
check "apps/ still lists (Application.Read.All is granted)" bash -c "ls '$R/apps' | grep -q ."
unmount_fs reader
sbx_private_down
t_done
