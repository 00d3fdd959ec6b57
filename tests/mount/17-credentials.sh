#!/usr/bin/env bash
# 17-credentials.sh - every credential users have, each getting its tokens
# from the sandbox in a real mount: the environment (secret, PEM, PKCS#12 with
# its password, an encrypted key, the x5c chain, AZURE_AUTHORITY_HOST),
# workload identity (a federated token of the sandbox's OIDC issuer), managed
# identity (IMDS, system- and user-assigned by client, object and resource id;
# App Service's endpoint), the Azure CLI (the sandbox's az stand-in on PATH),
# DefaultAzureCredential's order when the profile names none, storage signing
# in on its own ("msi", "azcli"), and the refusals: a wrong password, subject,
# identity or header, a CLI that hangs, and nothing at all.
#
# The truth: the tenant id of the sandbox's seed in tenant/tenant.json (Graph
# answered the token), the sha256 of a blob downloaded directly with a SAS
# against the same blob read through a mount whose storage signs in with a
# managed identity or the CLI, and the service's own error codes (AADSTS...).
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox

umask 077
TENANT=$MGDC_TENANT_ID
AZ=$MGDC_AZ_STANDIN
export MGDC_SANDBOX_DIR

# nocred NAME JQ: a config whose only profile NAME is the developer's without
# any credential, changed by JQ (profile_only). Prints its path.
nocred() { profile_only "$1" "del(.client_secret_file) | $2"; }

# mounts DESC NAME CONFIG [VAR=value ...]: mount with that environment; the tenant
# must be the sandbox's; unmount with status 0; no error or warning in the log.
mounts() {
	local desc=$1 name=$2 c=$3
	shift 3
	local saved=$MGDC_CONFIG
	MGDC_CONFIG=$c
	if with_env "$@" -- mount_fs "$name" "$name"; then
		is "$(jq -r .id "$MNT/tenant/tenant.json" 2>/dev/null)" "$TENANT" "$desc: signs in and serves the tenant"
		LAST_CONFIG_JSON=$(cat "$MNT/.mgdcfs/config.json")
		unmount_fs "$name" && ok "$desc: unmounts with status 0"
		if log_clean "$name"; then ok "$desc: no error or warning in the log"; else
			not_ok "$desc: no error or warning in the log"
			grep -E ' (error|warning): ' "${T_LOGS[$name]}" | head -3 | sed 's/^/#   /'
		fi
	fi
	MGDC_CONFIG=$saved
}

# with_env VAR=value ... -- CMD...: run CMD (a shell function) with those variables
# exported, and put the environment back after.
with_env() {
	local -a set=() old=()
	while [ "$1" != -- ]; do set+=("$1"); shift; done
	shift
	local kv k rc
	for kv in "${set[@]}"; do
		k=${kv%%=*}
		if [ -n "${!k+x}" ]; then old+=("$k=${!k}"); else old+=("$k"); fi
		export "${kv?}"
	done
	"$@"
	rc=$?
	for kv in "${old[@]}"; do
		if [[ $kv == *=* ]]; then export "${kv?}"; else unset "$kv"; fi
	done
	return $rc
}

# refused DESC NEEDLE CONFIG [VAR=value ...]: exit 1, NEEDLE on stderr, nothing mounted.
refused() {
	local desc=$1 needle=$2 c=$3 rc
	shift 3
	mkdir -p "$T_DIR/mp"
	env "$@" timeout 60 "$MGDCFS" -f --config "$c" --cache-dir "$T_DIR/cache-r" "$T_DIR/mp" \
		>"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	is "$rc" 1 "$desc: refused with exit status 1"
	if grep -qF -- "$needle" "$T_DIR/err"; then ok "$desc: stderr says '$needle'"; else
		not_ok "$desc: stderr says '$needle'"
		diag "stderr: $(head -c 600 "$T_DIR/err")"
	fi
	mountpoint -q "$T_DIR/mp" && { not_ok "$desc: nothing mounted"; fusermount3 -uz "$T_DIR/mp"; }
}

SECRET_VALUE=$(tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE")
cat "$MGDC_DEV_CERT_FILE" "$MGDC_DEV_KEY_FILE" >"$T_DIR/dev.pem"
chmod 600 "$T_DIR/dev.pem"

# ---- the environment (EnvironmentCredential) ----
c=$(nocred envsec 'del(.tenant_id, .client_id)')
mounts "AZURE_CLIENT_SECRET with AZURE_TENANT_ID and AZURE_CLIENT_ID" envsec "$c" \
	AZURE_TENANT_ID="$TENANT" AZURE_CLIENT_ID="$MGDC_DEV_CLIENT_ID" AZURE_CLIENT_SECRET="$SECRET_VALUE"
is "$(jq -r .credential <<<"$LAST_CONFIG_JSON")" "environment" ".mgdcfs/config.json names the environment credential"
if grep -qF "$SECRET_VALUE" <<<"$LAST_CONFIG_JSON"; then not_ok "and shows no secret"; else ok "and shows no secret"; fi

c=$(nocred envpem '.')
mounts "AZURE_CLIENT_CERTIFICATE_PATH (PEM, certificate and key)" envpem "$c" \
	AZURE_CLIENT_CERTIFICATE_PATH="$T_DIR/dev.pem"
cp "$T_DIR/dev.pem" "$T_DIR/loose.pem"
chmod 644 "$T_DIR/loose.pem"
refused "a private key readable by others (0644)" "run: chmod 600 $T_DIR/loose.pem" "$c" \
	AZURE_CLIENT_CERTIFICATE_PATH="$T_DIR/loose.pem"

printf 'pfx-pass-%s\n' "$RANDOM" >"$T_DIR/pfx.pass"
openssl pkcs12 -export -in "$MGDC_DEV_CERT_FILE" -inkey "$MGDC_DEV_KEY_FILE" -out "$T_DIR/dev.pfx" \
	-passout "file:$T_DIR/pfx.pass" 2>/dev/null || not_ok "openssl pkcs12 -export"
chmod 600 "$T_DIR/dev.pfx"
c=$(nocred envpfx '.')
mounts "PKCS#12 with AZURE_CLIENT_CERTIFICATE_PASSWORD" envpfx "$c" \
	AZURE_CLIENT_CERTIFICATE_PATH="$T_DIR/dev.pfx" AZURE_CLIENT_CERTIFICATE_PASSWORD="$(cat "$T_DIR/pfx.pass")"
refused "PKCS#12 with a wrong password" "the PKCS#12 password is wrong" "$c" \
	AZURE_CLIENT_CERTIFICATE_PATH="$T_DIR/dev.pfx" AZURE_CLIENT_CERTIFICATE_PASSWORD=wrong
if grep -qF "$(cat "$T_DIR/pfx.pass")" "$T_DIR/err" "$T_DIR/out"; then not_ok "the password is not printed"; else ok "the password is not printed"; fi

# An encrypted PEM key, its password in a 0600 file named by the profile.
openssl pkey -in "$MGDC_DEV_KEY_FILE" -aes256 -out "$T_DIR/enc.key" -passout "file:$T_DIR/pfx.pass" 2>/dev/null
chmod 600 "$T_DIR/enc.key"
c=$(nocred enckey ".client_certificate_file = \"$MGDC_DEV_CERT_FILE\" | .client_key_file = \"$T_DIR/enc.key\"
	| .client_certificate_password_file = \"$T_DIR/pfx.pass\"")
mounts "an encrypted PEM key with client_certificate_password_file" enckey "$c"

# The x5c chain: the certificate file holds the chain after the certificate.
cat "$MGDC_DEV_CERT_FILE" "$MGDC_SANDBOX_CA" "$MGDC_DEV_KEY_FILE" >"$T_DIR/chain.pem"
chmod 600 "$T_DIR/chain.pem"
c=$(nocred x5c ".client_certificate_file = \"$T_DIR/chain.pem\" | .send_certificate_chain = true")
mounts "send_certificate_chain: the assertion carries x5c (checked by the sandbox)" x5c "$c"
c=$(nocred x5cenv '.')
mounts "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=true" x5cenv "$c" \
	AZURE_CLIENT_CERTIFICATE_PATH="$T_DIR/chain.pem" AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=true

# A sovereign cloud's login host comes from AZURE_AUTHORITY_HOST.
c=$(nocred authority "del(.endpoints.login) | .client_secret_file = \"$MGDC_DEV_CLIENT_SECRET_FILE\"")
mounts "AZURE_AUTHORITY_HOST gives the login endpoint" authority "$c" AZURE_AUTHORITY_HOST="$MGDC_LOGIN_URL"
is "$(jq -r .endpoints.login <<<"$LAST_CONFIG_JSON")" "$MGDC_LOGIN_URL" "the login endpoint in use is AZURE_AUTHORITY_HOST's"

# ---- workload identity ----
"$T_ROOT/scripts/sandbox" federated-token >"$T_DIR/fed.token"
c=$(nocred wi '.')
mounts "workload identity: AZURE_FEDERATED_TOKEN_FILE" wi "$c" AZURE_FEDERATED_TOKEN_FILE="$T_DIR/fed.token"
check "the chain says the workload identity gave the token" grep -q "auth: workload identity gave a token" "$T_DIR/wi.log"
c=$(nocred wix ".credential = \"workload_identity\" | .federated_token_file = \"$T_DIR/fed.token\"")
mounts "credential \"workload_identity\" with federated_token_file" wix "$c"
"$T_ROOT/scripts/sandbox" federated-token system:serviceaccount:other:intruder >"$T_DIR/fed-other.token"
c=$(nocred wibad '.credential = "workload_identity"')
refused "a federated token of another subject" "AADSTS700213" "$c" AZURE_FEDERATED_TOKEN_FILE="$T_DIR/fed-other.token"
"$T_ROOT/scripts/sandbox" federated-token "" "" -3600 >"$T_DIR/fed-old.token"
refused "an expired federated token" "AADSTS700024" "$c" AZURE_FEDERATED_TOKEN_FILE="$T_DIR/fed-old.token"
refused "credential workload_identity without a token file" "needs \"federated_token_file\" or AZURE_FEDERATED_TOKEN_FILE" "$c"

# ---- managed identity ----
c=$(nocred msi '.credential = "managed_identity"')
mounts "managed identity (IMDS, system-assigned)" msi "$c" AZURE_POD_IDENTITY_AUTHORITY_HOST="$MGDC_IMDS_URL"
for k in client_id:MGDC_MI_CLIENT_ID object_id:MGDC_MI_OBJECT_ID resource_id:MGDC_MI_RESOURCE_ID; do
	f=${k%%:*} v=${k#*:}
	c=$(nocred "uami-$f" ".credential = \"managed_identity\" | .managed_identity = {$f: \"${!v}\"}")
	mounts "managed identity (IMDS, user-assigned by $f)" "uami-$f" "$c" AZURE_POD_IDENTITY_AUTHORITY_HOST="$MGDC_IMDS_URL"
done
c=$(nocred uamibad '.credential = "managed_identity" | .managed_identity = {client_id: "00000000-0000-0000-0000-00000000dead"}')
refused "a user-assigned identity the machine does not have" "Identity not found" "$c" \
	AZURE_POD_IDENTITY_AUTHORITY_HOST="$MGDC_IMDS_URL"
HDR=$(tr -d '\n' <"$MGDC_APPSERVICE_HEADER_FILE")
c=$(nocred appsvc '.credential = "managed_identity"')
mounts "managed identity (App Service: IDENTITY_ENDPOINT, IDENTITY_HEADER)" appsvc "$c" \
	IDENTITY_ENDPOINT="$MGDC_APPSERVICE_ENDPOINT" IDENTITY_HEADER="$HDR"
refused "App Service with a wrong IDENTITY_HEADER" "answered 401" "$c" \
	IDENTITY_ENDPOINT="$MGDC_APPSERVICE_ENDPOINT" IDENTITY_HEADER=wrong
c=$(nocred msichain '.')
mounts "no credential named: DefaultAzureCredential finds the managed identity" msichain "$c" \
	AZURE_POD_IDENTITY_AUTHORITY_HOST="$MGDC_IMDS_URL"
check "the chain says the managed identity gave the token" grep -q "auth: managed identity gave a token" "$T_DIR/msichain.log"

# ---- the Azure CLI (the sandbox's stand-in on PATH) ----
c=$(nocred azcli '.credential = "azure_cli"')
refused "the Azure CLI before az login" "run 'az login'" "$c" PATH="$AZ:$PATH"
PATH="$AZ:$PATH" az login --service-principal --username "$MGDC_DEV_CLIENT_ID" --tenant "$TENANT" \
	--certificate "$T_DIR/dev.pem" >"$T_DIR/login.json" 2>"$T_DIR/login.err"
is "$(jq -r '.[0].tenantId' "$T_DIR/login.json" 2>/dev/null)" "$TENANT" "az login (stand-in) signs in"
mounts "the Azure CLI: az account get-access-token" azcli "$c" PATH="$AZ:$PATH"
c=$(nocred azchain '.')
mounts "no credential named, no managed identity: DefaultAzureCredential finds the Azure CLI" azchain "$c" \
	PATH="$AZ:$PATH"
check "the chain says the Azure CLI gave the token" grep -q "auth: Azure CLI gave a token" "$T_DIR/azchain.log"
# A CLI that hangs is stopped at the timeout, with the processes it started.
mkdir -p "$T_DIR/slowbin"
printf '#!/bin/sh\nsleep 300 &\necho $! >"%s/slow.child"\nsleep 300\n' "$T_DIR" >"$T_DIR/slowbin/az"
chmod 755 "$T_DIR/slowbin/az"
c=$(nocred azslow '.credential = "azure_cli" | .azure_cli = {timeout_s: 1}')
refused "an Azure CLI that hangs (timeout_s 1)" "did not finish within 1 s and was stopped" "$c" \
	PATH="$T_DIR/slowbin:$PATH"
child=$(cat "$T_DIR/slow.child" 2>/dev/null)
deadline=$((SECONDS + 5))
while [ -n "$child" ] && kill -0 "$child" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
if [ -n "$child" ] && ! kill -0 "$child" 2>/dev/null; then ok "the hanging CLI's own children were stopped too"; else
	not_ok "the hanging CLI's own children were stopped too"
	[ -n "$child" ] && kill -KILL "$child" 2>/dev/null
fi

# ---- nothing works: the error lists every source, in order, with why ----
c=$(nocred none '.')
refused "no credential anywhere" "no credential worked, tried in DefaultAzureCredential's order" "$c"
order=$(grep -o 'environment: \|workload identity: \|managed identity: \|Azure CLI: ' "$T_DIR/err" | tr -d '\n')
is "$order" "environment: workload identity: managed identity: Azure CLI: " \
	"the error names the four sources in DefaultAzureCredential's order"
check "with why each failed" grep -qE "AZURE_FEDERATED_TOKEN_FILE is not set; managed identity: no managed identity endpoint answers at .*; Azure CLI: 'az' could not be run" "$T_DIR/err"

# ---- storage signing in on its own: managed identity and the CLI ----
C=cred$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || not_ok "create container $C"
head -c 3000000 /dev/urandom >"$T_DIR/data.bin"
blob_put "$C" "d/data.bin" "$T_DIR/data.bin" || not_ok "upload d/data.bin"
blob_get "$C" "d/data.bin" "$T_DIR/direct.bin" || not_ok "direct download"
want=$(sha256sum <"$T_DIR/direct.bin" | cut -d' ' -f1)
for a in msi azcli; do
	c=$(nocred "st-$a" ".client_secret_file = \"$MGDC_DEV_CLIENT_SECRET_FILE\" | .storage = {account: .storage.account, auth: \"$a\", containers: [\"$C\"]}")
	MGDC_CONFIG_SAVED=$MGDC_CONFIG
	MGDC_CONFIG=$c
	if with_env AZURE_POD_IDENTITY_AUTHORITY_HOST="$MGDC_IMDS_URL" PATH="$AZ:$PATH" -- mount_fs "st-$a" "st-$a"; then
		got=$(sha256sum <"$MNT/datasets/$C/d/data.bin" | cut -d' ' -f1)
		is "$got" "$want" "storage.auth \"$a\": a dataset file read through the mount equals the direct download"
		is "$(jq -r .storage.credential "$MNT/.mgdcfs/config.json")" \
			"$([ $a = msi ] && echo 'managed identity' || echo 'Azure CLI')" "storage.auth \"$a\": config.json names it"
		unmount_fs "st-$a"
		log_clean "st-$a" && ok "storage.auth \"$a\": no error or warning" || not_ok "storage.auth \"$a\": no error or warning"
	fi
	MGDC_CONFIG=$MGDC_CONFIG_SAVED
done

t_done
