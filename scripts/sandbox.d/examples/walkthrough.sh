#!/usr/bin/env bash
# The walkthrough of man/mgdc-sandbox.7, runnable: the whole MGDC onboarding
# with curl against a running sandbox (scripts/sandbox up). Turn Data
# Connect on, register the developer's app, see self-approval refused,
# approve as the admin, build an ADF pipeline, run it, poll it to Succeeded
# and read the JSON-lines files it wrote into Azurite through a SAS.
# Run from the repository root: scripts/sandbox.d/examples/walkthrough.sh
set -euo pipefail
eval "$(scripts/sandbox env)"
C="-sS --cacert $MGDC_SANDBOX_CA"
token() { # client-id secret-file scope
  curl $C "$MGDC_LOGIN_URL/$MGDC_TENANT_ID/oauth2/v2.0/token" \
    -d grant_type=client_credentials -d client_id="$1" \
    --data-urlencode client_secret@"$2" --data-urlencode scope="$3" | jq -r .access_token
}
DEV=$(token "$MGDC_DEV_CLIENT_ID" "$MGDC_DEV_CLIENT_SECRET_FILE" api://mgdc-registration/.default)
ADM=$(token "$MGDC_ADMIN_CLIENT_ID" "$MGDC_ADMIN_CLIENT_SECRET_FILE" api://mgdc-registration/.default)
ARM=$(token "$MGDC_DEV_CLIENT_ID" "$MGDC_DEV_CLIENT_SECRET_FILE" https://management.azure.com/.default)
REG=$MGDC_REGISTRATION_URL/v1/tenants/$MGDC_TENANT_ID
J='Content-Type: application/json'
echo "== data connect on"
curl $C -X PUT -H "Authorization: Bearer $ADM" -H "$J" "$REG/dataConnect" -d '{"enabled":true}'; echo
echo "== register"
curl $C -X PUT -H "Authorization: Bearer $DEV" -H "$J" "$REG/registrations/$MGDC_DEV_CLIENT_ID" -d '{
  "name": "mail-insights",
  "destination": {"storageAccount": "mgdcsandbox", "container": "exports"},
  "datasets": [{"name": "BasicDataSet_v0.Message_v1",
                "columns": ["id", "subject", "receivedDateTime", "sender"],
                "scope": {"kind": "AllUsers"}}]}' | jq -c '{name, status: .authorization.status}'
echo "== self approval"
curl $C -X POST -H "Authorization: Bearer $DEV" "$REG/registrations/$MGDC_DEV_CLIENT_ID/approve" -w ' HTTP %{http_code}\n'
echo "== admin approval"
curl $C -X POST -H "Authorization: Bearer $ADM" "$REG/registrations/$MGDC_DEV_CLIENT_ID/approve" | jq -c .authorization
F="$MGDC_ARM_URL/subscriptions/$MGDC_SUBSCRIPTION_ID/resourceGroups/$MGDC_RESOURCE_GROUP/providers/Microsoft.DataFactory/factories/$MGDC_FACTORY"
V='api-version=2018-06-01'
put() { curl $C -X PUT -H "Authorization: Bearer $ARM" -H "$J" "$F/$1?$V" -d "$2" | jq -c '{name, type}'; }
echo "== ADF"
put linkedservices/O365 '{"properties":{"type":"Office365","typeProperties":{
  "office365TenantId":"'"$MGDC_TENANT_ID"'","servicePrincipalTenantId":"'"$MGDC_TENANT_ID"'",
  "servicePrincipalId":"'"$MGDC_DEV_CLIENT_ID"'",
  "servicePrincipalKey":{"type":"SecureString","value":"'"$(cat "$MGDC_DEV_CLIENT_SECRET_FILE")"'"}}}}'
# The sink signs in as the app too: for a copy from Microsoft 365 that is the
# only authentication ADF supports on the sink.
put linkedservices/Exports '{"properties":{"type":"AzureBlobStorage","typeProperties":{
  "serviceEndpoint":"https://mgdcsandbox.blob.core.windows.net/","tenant":"'"$MGDC_TENANT_ID"'",
  "servicePrincipalId":"'"$MGDC_DEV_CLIENT_ID"'",
  "servicePrincipalKey":{"type":"SecureString","value":"'"$(cat "$MGDC_DEV_CLIENT_SECRET_FILE")"'"}}}}'
put datasets/Messages '{"properties":{"type":"Office365Table","linkedServiceName":
  {"referenceName":"O365","type":"LinkedServiceReference"},
  "typeProperties":{"tableName":"BasicDataSet_v0.Message_v1"}}}'
put datasets/Out '{"properties":{"type":"Json","linkedServiceName":
  {"referenceName":"Exports","type":"LinkedServiceReference"},
  "typeProperties":{"location":{"type":"AzureBlobStorageLocation","container":"exports",
  "folderPath":{"value":"@concat('"'"'mail/'"'"', pipeline().RunId)","type":"Expression"}}}}}'
put pipelines/CopyMail '{"properties":{"activities":[{"name":"CopyMail","type":"Copy",
  "inputs":[{"referenceName":"Messages","type":"DatasetReference"}],
  "outputs":[{"referenceName":"Out","type":"DatasetReference"}],
  "typeProperties":{"source":{"type":"Office365Source",
      "dateFilterColumn":"receivedDateTime",
      "startTime":"2024-01-01T00:00:00Z","endTime":"2024-01-08T00:00:00Z",
      "outputColumns":[{"name":"id"},{"name":"subject"},{"name":"receivedDateTime"}]},
    "sink":{"type":"JsonSink"}}}]}}'
RUN=$(curl $C -X POST -H "Authorization: Bearer $ARM" -H "$J" "$F/pipelines/CopyMail/createRun?$V" -d '{}' | jq -r .runId)
echo "run $RUN"
while :; do
  S=$(curl $C -H "Authorization: Bearer $ARM" "$F/pipelineruns/$RUN?$V" | jq -r .status)
  echo "$S"
  case $S in Succeeded|Failed|Cancelled) break;; esac
  sleep 1
done
curl $C -X POST -H "Authorization: Bearer $ARM" -H "$J" "$F/pipelineruns/$RUN/queryActivityruns?$V" -d '{"lastUpdatedAfter":"2000-01-01T00:00:00Z","lastUpdatedBefore":"2100-01-01T00:00:00Z"}' | jq -c '.value[] | {activityName, status, error: .error.message}'
echo "== blobs"
SAS=$(scripts/sandbox sas exports)
curl $C "$SAS&restype=container&comp=list&prefix=mail/$RUN/" | grep -o '<Name>[^<]*</Name>'
B=$(curl $C "$SAS&restype=container&comp=list&prefix=mail/$RUN/" | grep -o '<Name>[^<]*\.json</Name>' | grep -v metadata | head -n 1 | sed 's/<[^>]*>//g')
curl $C -r 0-299 "${SAS%%\?*}/$B?${SAS#*\?}"; echo
