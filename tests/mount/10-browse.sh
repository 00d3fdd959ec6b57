#!/usr/bin/env bash
# Browse the tree and compare every file with a direct REST call to the sandbox.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox

fault_post /reset

# Set up state directly through the services: one registration, one pipeline with a run.
APP=browse$RANDOM
APPID=$MGDC_DEV_CLIENT_ID
sbx_rest dev "$REG_SCOPE" PUT "$(REG_BASE)/registrations/$APPID" -H 'content-type: application/json' -d '{
  "name": "'$APP'", "description": "browse test", "publishType": "SingleTenant",
  "computeType": "AzureDataFactory", "activityType": "CopyActivity",
  "destination": {"type": "AzureStorageAccount", "subscriptionId": "'$MGDC_SUBSCRIPTION_ID'",
     "resourceGroup": "'$MGDC_RESOURCE_GROUP'", "storageAccount": "'$MGDC_STORAGE_ACCOUNT'", "container": "exports"},
  "datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"],
     "scope": {"kind": "AllUsers"}}]}' >/dev/null
PIPE=browsepipe$RANDOM
sbx_rest dev "$ARM_SCOPE" PUT "$(ADF_BASE)/pipelines/$PIPE?api-version=2018-06-01" -H 'content-type: application/json' \
	-d '{"properties": {"activities": [{"name": "Wait1", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}}]}}' >/dev/null
RUN=$(sbx_rest dev "$ARM_SCOPE" POST "$(ADF_BASE)/pipelines/$PIPE/createRun?api-version=2018-06-01" -H 'content-type: application/json' -d '{}' | jq -r .runId)

# A 2 s metadata TTL, so the fault cases below need not wait out the sandbox's 10 s.
cfg browse '.ttl.metadata_s = 2'
mount_fs m developer || t_done
cd "$MNT" || exit 1

# Root and README.
is "$(ls "$MNT" | tr '\n' ' ')" "README apps catalog datasets pipelines tenant " "ls / shows the tree"
check "README explains the tree" grep -q 'apps/<name>.json' README
check ".mgdcfs is there for ls -a" test -f .mgdcfs/stats.json

# Tenant against Graph /organization and the registration contract.
org=$(sbx_rest dev "$GRAPH_SCOPE" GET "$MGDC_GRAPH_URL/v1.0/organization")
is "$(jq -r .id tenant/tenant.json)" "$(jq -r '.value[0].id' <<<"$org")" "tenant.json id = Graph organization id"
is "$(jq -r .name tenant/tenant.json)" "$(jq -r '.value[0].displayName' <<<"$org")" "tenant.json name = Graph displayName"
is "$(jq -c .domains tenant/tenant.json)" "$(jq -c '[.value[0].verifiedDomains[].name]' <<<"$org")" "tenant.json domains = verifiedDomains"
dc=$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect")
is "$(cat tenant/data-connect)" "$(jq -r 'if .enabled then "enabled" else "disabled" end' <<<"$dc")" "data-connect = the service's setting"

# Catalog against the catalog file the sandbox serves from.
is "$(ls catalog | wc -l)" "$(jq '.datasets | length' "$T_ROOT/scripts/sandbox.d/catalog.json")" "one catalog file per dataset"
is "$(jq -c '[.columns[].name]' catalog/BasicDataSet_v0.Message_v1.json)" \
	"$(jq -c '[.datasets[] | select(.name=="BasicDataSet_v0.Message_v1") | .columns[].name]' "$T_ROOT/scripts/sandbox.d/catalog.json")" \
	"catalog/Message_v1.json columns = catalog"

# Apps against GET /registrations/{appId}.
reg=$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/registrations/$APPID")
check "apps/$APP/ exists" test -d "apps/$APP"
check "apps/$APP.json exists" test -f "apps/$APP.json"
is "$(jq -r .appId "apps/$APP/registration.json")" "$APPID" "registration.json appId"
is "$(jq -c .datasets "apps/$APP/registration.json")" "$(jq -c .datasets <<<"$reg")" "registration.json datasets = service"
is "$(cat "apps/$APP/consent")" "$(jq -r .authorization.status <<<"$reg")" "consent = service status"
is "$(jq -r .status "apps/$APP/consent.json")" "$(jq -r .authorization.status <<<"$reg")" "consent.json status"
is "$(stat -c %s "apps/$APP/registration.json")" "$(wc -c <"apps/$APP/registration.json")" "stat size = bytes read"

# Pipelines and runs against ARM.
check "pipelines/$PIPE/ exists" test -d "pipelines/$PIPE"
is "$(jq -r .name "pipelines/$PIPE/pipeline.json")" "$PIPE" "pipeline.json name"
check "runs/$RUN/ exists" test -d "pipelines/$PIPE/runs/$RUN"
is "$(readlink "pipelines/$PIPE/runs/latest")" "$RUN" "runs/latest -> the newest run"
deadline=$((SECONDS + 30))
while [ "$(cat "pipelines/$PIPE/runs/$RUN/status")" != Succeeded ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
st=$(sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/pipelineruns/$RUN?api-version=2018-06-01" | jq -r .status)
is "$(cat "pipelines/$PIPE/runs/$RUN/status")" "$st" "run status = ARM pipelineruns/{id}"
is "$(jq -r .runId "pipelines/$PIPE/runs/$RUN/run.json")" "$RUN" "run.json runId"
check "activities.json is a JSON array" jq -e 'type == "array"' "pipelines/$PIPE/runs/$RUN/activities.json"
is "$(stat -c %s "pipelines/$PIPE/runs/$RUN/status")" "$(wc -c <"pipelines/$PIPE/runs/$RUN/status")" "status stat size = bytes read"

# A 503 with Retry-After on Graph: ls and cat still answer correctly.
fault_post "" '{"route": "GET /graph/v1.0/organization", "status": 503, "retryAfter": "1", "count": 2}'
sleep 3 # let the 2 s metadata TTL of tenant.json pass so the next read goes to Graph
t0=$(date +%s%N)
is "$(jq -r .id tenant/tenant.json)" "$(jq -r '.value[0].id' <<<"$org")" "tenant.json correct through two 503s"
t1=$(date +%s%N)
check "the two Retry-After: 1 were honoured (>= 1.8 s)" test $(((t1 - t0) / 1000000)) -ge 1800
fault_post /reset

# Expired tokens are refreshed without a visible error.
fault_post /expire-tokens
sleep 3
is "$(jq -r .id tenant/tenant.json)" "$(jq -r '.value[0].id' <<<"$org")" "tenant.json after all tokens expired"
is "$(cat "apps/$APP/consent")" "$(jq -r .authorization.status <<<"$reg")" "consent after all tokens expired"

# Nothing secret in the tree.
secret=$(tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE")
key=$(tr -d '\n' <"$MGDC_STORAGE_KEY_FILE")
check "config.json holds no secret" bash -c "! grep -rqF -e '$secret' -e '$key' .mgdcfs/config.json"
check "the whole control tree holds no secret" bash -c "! grep -rqF -e '$secret' -e '$key' README tenant apps pipelines .mgdcfs"

cd /
unmount_fs m
check "daemon log has no error or warning" log_clean m

# Clean up the service state we made.
sbx_rest dev "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$APPID" >/dev/null
sbx_rest dev "$ARM_SCOPE" DELETE "$(ADF_BASE)/pipelines/$PIPE?api-version=2018-06-01" >/dev/null
t_done
