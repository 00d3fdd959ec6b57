#!/usr/bin/env bash
# Faults on the control plane: 429/503 with Retry-After on the token
# endpoint, Graph, the registration contract and ARM (honoured, then the
# answer equals a direct REST call); persistent 500s (a clean EIO, the mount
# keeps working); the token endpoint down (a clear error, recovery); tokens
# expired by the sandbox before commands and during a long read with Entra
# storage auth (no visible error); kill -9 during a spec commit (the mount
# clears, a remount works, the factory holds all of the plan or none of it).
# The schedule's trigger endpoints have their own: 50-faults-schedule.sh.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
. "$T_ROOT/tests/lib/faults.sh"
. "$T_ROOT/tests/lib/commands.sh" # W, DEV, plan_held
fault_reset
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
arm_get() { sbx_rest dev "$ARM_SCOPE" GET "$(ADF_BASE)/$1?api-version=2018-06-01"; }
arm_names() { arm_get "$1" | jq -r '.value[].name' | sort | tr '\n' ' '; }
# retry_logged TEXT MS: the daemon logged a retry of a request whose path matches TEXT after MS ms.
# ls_dirs DIR: the names in DIR but the *.json spec files, errors included.
ls_dirs() { ls "$1" 2>&1 | grep -v '\.json$' | tr '\n' ' '; }
retry_logged() { grep -qE "$1.*; retry 1/[0-9]+ in $2 ms" "${T_LOGS[$MNAME]}"; }

# Short TTLs so every step below is a fresh request, not a memo hit.
cfg svc '.ttl.metadata_s = 1 | .ttl.status_s = 1 | .ttl.listing_s = 1'
MNAME=m
mount_fs m developer || t_done
M=$MNT

# 1. Retry-After on every service, honoured, then the right answer.
fault_add '{"route":"^POST /login/","status":429,"retryAfter":"1","count":1}'
fault_add '{"route":"^GET /graph/v1.0/organization$","status":503,"retryAfter":"2","count":1}'
t=$(ms)
is "$(jq -r .id "$M/tenant/tenant.json")" "$MGDC_TENANT_ID" "tenant.json after token 429 + Graph 503 = the tenant"
figure token429_1s_plus_graph503_2s_read_ms $(($(ms) - t))
check "token endpoint: waited the 1000 ms of Retry-After (log)" retry_logged "POST .*/oauth2/v2.0/token: HTTP 429" 1000
check "Graph: waited the 2000 ms of Retry-After (log)" retry_logged "/v1.0/organization: HTTP 503" 2000
is "$(rule_hits /login/)$(rule_hits /graph/)" 11 "each fault was served once"

fault_add '{"route":"^GET /mgdc/v1/tenants/[^/]+/registrations$","status":429,"retryAfter":"2","count":1}'
t=$(ms)
is "$(ls_dirs "$M/apps")" "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/registrations" | jq -r '.value[].name' | sort | tr '\n' ' ')" \
	"apps/ after a registration 429 = the service's list"
figure registration429_2s_ls_ms $(($(ms) - t))
check "registration: waited the 2000 ms of Retry-After (log)" retry_logged "/registrations: HTTP 429" 2000

fault_add '{"route":"^GET /arm/.*/pipelines$","status":503,"retryAfter":"2","count":1}'
t=$(ms)
is "$(ls_dirs "$M/pipelines")" "$(arm_names pipelines)" "pipelines/ after an ARM 503 = the factory's list"
figure arm503_2s_ls_ms $(($(ms) - t))
check "ARM: waited the 2000 ms of Retry-After (log)" retry_logged "/pipelines: HTTP 503" 2000

# 2. Persistent 500s on ARM: EIO within the bounded retries; the mount keeps working.
fault_add '{"route":"^GET /arm/.*/pipelines$","status":500}'
sleep 1.1 # past the listing TTL
t=$(ms)
r=$(ls "$M/pipelines" 2>&1 >/dev/null)
el=$(($(ms) - t))
check "persistent ARM 500: ls pipelines/ fails ($r)" bash -c "[[ '$r' == *'Input/output error'* ]]"
figure arm500_persistent_fail_ms "$el"
figure arm500_attempts "$(rule_hits /pipelines)"
check "within the configured deadline" test "$el" -le "$DEADLINE_MS"
check ".mgdcfs/errors has the service's code" grep -q "pipelines.*InternalServerError" "$M/.mgdcfs/errors"
is "$(jq -r .id "$M/tenant/tenant.json")" "$MGDC_TENANT_ID" "the rest of the mount works meanwhile"
fault_reset
sleep 1.1 # a failure is remembered for the TTL, like an answer
is "$(ls_dirs "$M/pipelines")" "$(arm_names pipelines)" "once the 500s stop, pipelines/ lists again"

# 3. The token endpoint down (every token expired, every token request 503).
fault_post /expire-tokens
fault_add '{"route":"^POST /login/","status":503}'
sleep 1.1
t=$(ms)
r=$(cat "$M/tenant/tenant.json" 2>&1 >/dev/null)
el=$(($(ms) - t))
figure token_down_cat_ms "$el"
check "token endpoint down: cat tenant.json fails ($r)" test -n "$r"
check "within the configured deadline" test "$el" -le "$DEADLINE_MS"
check ".mgdcfs/errors has Entra's code and text, once" grep -q "tenant.json: AADSTS90033: A transient error" "$M/.mgdcfs/errors"
diag "$(tail -1 "$M/.mgdcfs/errors")"
check "the mount stays up" mountpoint -q "$M"
fault_reset
sleep 1.1
is "$(jq -r .id "$M/tenant/tenant.json" 2>&1)" "$MGDC_TENANT_ID" "the token endpoint back: tenant.json reads again"

L0=$(wc -l <"${T_LOGS[m]}")
# 4. Tokens expired before each command: refreshed (401 -> new token), no visible error.
mount_fs a admin || t_done
A=$MNT
fault_post /expire-tokens
is "$($W "$A/tenant/data-connect" enabled)" 0 "tokens expired: admin turns Data Connect on, no error"
is "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/dataConnect" | jq -r .enabled)" true "service: Data Connect is on"
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser","ptenant"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
fault_post /expire-tokens
is "$($W "$M/apps/fltmail.json" "$SPEC")" 0 "tokens expired: developer registers an app, no error"
is "$(sbx_rest dev "$REG_SCOPE" GET "$(REG_BASE)/registrations/$DEV" | jq -r .name)" fltmail "service: the registration exists"
pipe() {
	echo '{"app": "fltmail", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"},
  "output": {"container": "exports", "folder": "flt/'"$1"'"}}'
}
# Mid-command: the first linked-service PUT is held 1.5 s and every token
# expires while it waits, so the rest of the commit meets 401s.
fault_add '{"route":"^PUT /arm/.*/linkedservices/","latencyMs":1500,"count":1}'
is "$(expire_mid /linkedservices/ "$W" "$M/pipelines/fltp1.json" "$(pipe p1)")" 0 "tokens expired in the middle of a pipeline commit: it commits, no error"
is "$(arm_get pipelines/fltp1 | jq -r .name)" fltp1 "service: the pipeline exists"
check "service: and it has a run" bash -c "[ -n \"\$(readlink '$M/pipelines/fltp1/runs/latest')\" ]"
check "no error or warning logged by the refreshes" bash -c "! tail -n +$((L0 + 1)) '${T_LOGS[m]}' | grep -E ' (error|warning): '"

# 5. kill -9 during a spec commit: ARM answers the dataset PUTs slowly, the
# daemon dies while it waits. Every resource the plan names is then checked
# by REST: all of them or none.
fault_add '{"route":"^PUT /arm/.*/datasets/","latencyMs":3000}'
kill9_mid m /datasets/ "ARM's dataset PUT" "$W" "$M/pipelines/fltp2.json" "$(pipe p2)"
sleep 3.5 # let the emulator finish the PUTs it already received
fault_reset
held_dead=$(plan_held fltp2 2>/dev/null)
diag "with the daemon dead, the factory held $held_dead of the 5 resources"
MNAME=m2
mount_fs m2 developer || t_done
check "a remount works" test -f "$MNT/tenant/tenant.json"
is "$(plan_held fltp1 2>/dev/null)" 5 "the plan names five resources (the committed fltp1 has them all)"
held=$(plan_held fltp2)
check "the factory holds all of the killed command or none of it ($held of 5 resources after the remount)" \
	bash -c "[ $held = 0 ] || [ $held = 5 ]"
is "$($W "$MNT/pipelines/fltp2.json" "$(pipe p2)")" 0 "writing the spec again after the remount commits"
is "$(plan_held fltp2 2>/dev/null)" 5 "and the factory then holds the whole plan"
check "rmdir pipelines/fltp1 and fltp2 (clean-up)" rmdir "$MNT/pipelines/fltp1" "$MNT/pipelines/fltp2"
unmount_fs m2
unmount_fs a

# 6. Storage by Entra token: tokens that live 6 s expire again and again
# during a read that lasts longer (every range GET is held 1 s by the blob
# proxy, no read-ahead). Azurite checks each bearer's expiry itself.
C=fltent$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || not_ok "create container"
head -c $((7 * (4 << 20) + 99)) /dev/urandom >"$T_DIR/ent"
blob_put "$C" "e/ent.bin" "$T_DIR/ent" || not_ok "upload ent.bin"
blob_get "$C" "e/ent.bin" "$T_DIR/ent.direct"
cfg entra '.storage = {"account": .storage.account, "auth": "entra"} | .endpoints.blob = "'"$(faults_get | jq -r .blobProxy)"'" | .cache.chunk_kb = 4096 | .cache.readahead_chunks = 0'
fault_post /settings '{"tokenLifetimeS":6}'
MNAME=e
mount_fs e developer || t_done
ls "$MNT/datasets/$C/e" >/dev/null
fault_add '{"route":"^GET /mgdcsandbox/'"$C"'/e/ent\\.bin$","latencyMs":1000}'
fault_add '{"route":"^POST /login/","latencyMs":0}' # counts token requests
t=$(ms)
is "$(sha "$MNT/datasets/$C/e/ent.bin")" "$(sha "$T_DIR/ent.direct")" "Entra storage auth, 6 s tokens, an 8 s read: bytes = the blob"
figure entra_read_8_chunks_ms $(($(ms) - t))
n=$(rule_hits '^POST /login/')
figure token_requests_during_read "$n"
check "tokens were renewed during the read ($n token requests)" test "$n" -ge 1
check "no error or warning logged" log_clean e
unmount_fs e
fault_reset

sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
t_done
