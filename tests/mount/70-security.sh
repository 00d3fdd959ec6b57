#!/usr/bin/env bash
# Secrets and access. Two mounts at debug level (-d, --log) do real work
# (browse, read datasets, register, approve, run a pipeline, trigger, read
# its output; a third mount reads through a SAS), then every file of the
# tree, every log line, stderr, /proc/<pid>/cmdline and /proc/<pid>/environ
# are grepped for the real client secrets, the storage key, the SAS
# signature, and for bearer tokens (the JWT prefix "eyJ") and "sig=".
# Then: cache dir 0700 and files 0600; loose config and secret files
# refused; the mount closed to another uid unless -o allow_other; http:// to
# a non-loopback host, an unknown CA and secret-looking options refused.
. "$(dirname "$0")/../lib/mount.sh"
need_sandbox
W="$T_ROOT/tests/lib/write.py"
chmod 711 "$T_DIR" # another uid must reach the mount point to be refused by FUSE, not by us
DEV=$MGDC_DEV_CLIENT_ID
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
DEV_SECRET=$(tr -d '\n' <"$MGDC_DEV_CLIENT_SECRET_FILE")
ADMIN_SECRET=$(tr -d '\n' <"$MGDC_ADMIN_CLIENT_SECRET_FILE")
STORAGE_KEY=$(tr -d '\n' <"$MGDC_STORAGE_KEY_FILE")

# A SAS-authenticated profile for one container, to have a real signature to look for.
C=sec$RANDOM
node "$T_ROOT/tests/lib/blob.js" mkcontainer "$C" || not_ok "create container"
head -c 300000 /dev/urandom >"$T_DIR/data.bin"
blob_put "$C" "d/data.bin" "$T_DIR/data.bin" || not_ok "upload"
SAS=$(sbx_sas "$C")
SAS=${SAS#*\?}
SIG=$(printf '%s' "$SAS" | tr '&' '\n' | sed -n 's/^sig=//p')
printf '%s\n' "$SAS" >"$T_DIR/sas.token"
chmod 600 "$T_DIR/sas.token"
jq --arg c "$C" --arg f "$T_DIR/sas.token" '.profiles.sas = (.profiles.developer
	| .storage = {"account": .storage.account, "auth": "sas", "sas_file": $f, "containers": [$c]})' \
	"$MGDC_CONFIG" >"$T_DIR/config.json"
chmod 600 "$T_DIR/config.json"
MGDC_CONFIG=$T_DIR/config.json

mount_fs admin admin -d || t_done
A=$MNT
mount_fs dev developer -d || t_done
D=$MNT
mount_fs sas sas -d || t_done
S=$MNT

# Real work through all three mounts.
ls -lR "$D/tenant" "$D/catalog" "$D/apps" "$D/pipelines" "$D/.mgdcfs" >/dev/null 2>&1
is "$(sha256sum <"$S/datasets/$C/d/data.bin" | cut -d' ' -f1)" "$(sha256sum <"$T_DIR/data.bin" | cut -d' ' -f1)" "SAS mount reads a blob"
is "$(sha256sum <"$D/datasets/$C/d/data.bin" | cut -d' ' -f1)" "$(sha256sum <"$T_DIR/data.bin" | cut -d' ' -f1)" "Shared Key mount reads the same blob"
is "$($W "$A/tenant/data-connect" enabled)" 0 "admin enables Data Connect"
SPEC='{"datasets": [{"name": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"], "scope": {"kind": "AllUsers"}}], "destination": {"container": "exports"}}'
is "$($W "$D/apps/secapp.json" "$SPEC")" 0 "developer registers an app"
is "$($W "$D/apps/secapp/consent" $'approve\n')" "EACCES write" "self-approval refused (an error text to check)"
is "$($W "$A/apps/secapp/consent" approve)" 0 "admin approves"
PIPE='{"app": "secapp", "dataset": "BasicDataSet_v0.Message_v1", "columns": ["id","subject","receivedDateTime","puser"],
  "dateFilter": {"column": "receivedDateTime", "start": "2026-11-01T00:00:00Z", "end": "2026-11-03T00:00:00Z"},
  "output": {"container": "exports", "folder": "sec/'$C'"}}'
is "$($W "$D/pipelines/$C.json" "$PIPE")" 0 "developer writes a pipeline spec"
is "$($W "$D/pipelines/$C.json" '{"app": "secapp", "dataset": "NoSuchDataSet"}')" "EINVAL close" "a bad spec is refused (an error text to check)"
run=$(readlink "$D/pipelines/$C/runs/latest")
deadline=$((SECONDS + 60))
while s=$(cat "$D/pipelines/$C/runs/$run/status" 2>/dev/null); [ "$s" != Succeeded ] && [ "$s" != Failed ] && [ $SECONDS -lt $deadline ]; do sleep 0.3; done
is "$s" Succeeded "the run succeeds"
cat "$D/pipelines/$C/runs/$run/output/"*.json 2>/dev/null | head -c 100000 >/dev/null
is "$($W "$D/pipelines/$C/trigger" '{}')" 0 "trigger"
ls -lR "$D/pipelines/$C" "$A/apps" >/dev/null 2>&1

# The haystack: every file of the three trees (datasets/ only what we read),
# the logs, stderr, and each daemon's cmdline and environ.
hay=$T_DIR/haystack
: >"$hay"
for m in "$D" "$A" "$S"; do
	while IFS= read -r -d '' f; do
		{ echo "== $f"; timeout 20 cat "$f"; } >>"$hay" 2>&1
	done < <(find "$m" -path "$m/datasets" -prune -o -path "$m/pipelines/*/runs/*/output" -prune -o -type f -print0 2>/dev/null)
	for x in user.mgdcfs.url user.mgdcfs.abfss user.mgdcfs.etag; do
		getfattr --only-values -n $x "$m/datasets/$C/d/data.bin" >>"$hay" 2>&1
	done
done
for n in dev admin sas; do
	pid=${T_PIDS[$n]}
	tr '\0' ' ' <"/proc/$pid/cmdline" >"$T_DIR/cmdline.$n"
	tr '\0' '\n' <"/proc/$pid/environ" >"$T_DIR/environ.$n"
done
files=$(grep -c '^== ' "$hay")
lines=$(cat "${T_LOGS[dev]}" "${T_LOGS[admin]}" "${T_LOGS[sas]}" | wc -l)
echo "# figure: security_files_checked=$files"
echo "# figure: security_log_lines_checked=$lines"
check "the trees hold files to check ($files)" test "$files" -gt 20
check "the debug logs have lines to check ($lines)" test "$lines" -gt 100
check "the debug logs show requests (debug level really on)" grep -q 'debug' "${T_LOGS[dev]}"

# leak NAME MINLEN VALUE FILES...: VALUE (fixed string, at least MINLEN
# characters, so an empty value cannot pass) is in none of FILES.
leak() {
	local name=$1 min=$2 v=$3
	shift 3
	if [ ${#v} -lt "$min" ]; then
		not_ok "$name: the value to look for is too short to be real"
		return
	fi
	if grep -lF -e "$v" "$@" >"$T_DIR/found" 2>/dev/null; then
		not_ok "$name appears in: $(tr '\n' ' ' <"$T_DIR/found")"
	else
		ok "$name appears in no file of the tree, log, cmdline or environ"
	fi
}
ALL=("$hay" "${T_LOGS[dev]}" "${T_LOGS[admin]}" "${T_LOGS[sas]}" "$T_DIR"/cmdline.* "$T_DIR"/environ.*)
leak "the developer's client secret" 16 "$DEV_SECRET" "${ALL[@]}"
leak "the admin's client secret" 16 "$ADMIN_SECRET" "${ALL[@]}"
leak "the storage account key" 16 "$STORAGE_KEY" "${ALL[@]}"
leak "the SAS signature" 16 "$SIG" "${ALL[@]}"
leak "a SAS signature parameter (sig=)" 4 "sig=" "${ALL[@]}"
leak "a bearer token (JWT prefix eyJ)" 3 "eyJ" "${ALL[@]}"
leak "an Authorization header value" 9 "Bearer ey" "${ALL[@]}"
leak "a Shared Key signature" 12 "SharedKey $MGDC_STORAGE_ACCOUNT:" "${ALL[@]}"
unmount_fs sas
unmount_fs dev
unmount_fs admin
sbx_rest admin "$REG_SCOPE" DELETE "$(REG_BASE)/registrations/$DEV" >/dev/null
sbx_rest dev "$ARM_SCOPE" DELETE "$(ADF_BASE)/pipelines/$C?api-version=2018-06-01" >/dev/null

# ---- the cache: a directory mgdcfs creates itself ----
mount_fs c developer --cache-dir "$T_DIR/newcache/dev" || t_done
cat "$MNT/datasets/$C/d/data.bin" >/dev/null
unmount_fs c
is "$(stat -c %a "$T_DIR/newcache/dev" 2>&1)" 700 "a cache dir mgdcfs creates is 0700"
bad=$(find "$T_DIR/newcache/dev" -type f ! -perm 600 -printf '%m %p\n')
n=$(find "$T_DIR/newcache/dev" -type f | wc -l)
check "cache files ($n) are all 0600${bad:+: $bad}" test -z "$bad" -a "$n" -gt 0
chmod 755 "$T_DIR/newcache/dev"
mkdir -p "$T_DIR/m3"
out=$(timeout 30 "$MGDCFS" -f --config "$MGDC_CONFIG" --profile developer --cache-dir "$T_DIR/newcache/dev" "$T_DIR/m3" 2>&1 &
	p=$!
	deadline=$((SECONDS + 20))
	while ! mountpoint -q "$T_DIR/m3" && [ $SECONDS -lt $deadline ] && kill -0 $p 2>/dev/null; do sleep 0.05; done
	mountpoint -q "$T_DIR/m3" && fusermount3 -u "$T_DIR/m3"
	wait $p)
check "a cache dir left 0755 is not used: the message asks for 0700" grep -q 0700 <<<"$out"
is "$(stat -c %a "$T_DIR/newcache/dev")" 755 "and mgdcfs did not silently change it"

mkdir -p "$T_DIR/r" # the mount point of the refused starts below (refused: tests/lib/mount.sh)

# ---- loose permissions ----
cp "$MGDC_CONFIG" "$T_DIR/loose.json"
chmod 666 "$T_DIR/loose.json"
refused "a world-writable config file" 1 "chmod" --config "$T_DIR/loose.json" --profile developer "$T_DIR/r"
cp "$MGDC_DEV_CLIENT_SECRET_FILE" "$T_DIR/loose.secret"
chmod 644 "$T_DIR/loose.secret"
jq --arg f "$T_DIR/loose.secret" '.profiles.developer.client_secret_file = $f' "$MGDC_CONFIG" >"$T_DIR/c2.json"
chmod 600 "$T_DIR/c2.json"
refused "a group/other-readable secret file" 1 "chmod 600" --config "$T_DIR/c2.json" --profile developer "$T_DIR/r"
jq --arg f "$T_DIR/loose.secret" '.profiles.developer.storage.key_file = $f' "$MGDC_CONFIG" >"$T_DIR/c3.json"
chmod 600 "$T_DIR/c3.json"
refused "a group/other-readable storage key file" 1 "chmod 600" --config "$T_DIR/c3.json" --profile developer "$T_DIR/r"

# ---- transport ----
jq '.profiles.developer.endpoints.graph = "http://192.0.2.10/graph"' "$MGDC_CONFIG" >"$T_DIR/c4.json"
chmod 600 "$T_DIR/c4.json"
refused "http:// to a non-loopback host" 1 "http://" --config "$T_DIR/c4.json" --profile developer "$T_DIR/r"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=unknown CA" \
	-keyout "$T_DIR/other-ca.key" -out "$T_DIR/other-ca.pem" >/dev/null 2>&1
jq --arg f "$T_DIR/other-ca.pem" '.profiles.developer.ca_file = $f' "$MGDC_CONFIG" >"$T_DIR/c5.json"
chmod 600 "$T_DIR/c5.json"
refused "a server certificate from an unknown CA" 1 "certificate" --config "$T_DIR/c5.json" --profile developer "$T_DIR/r"

# ---- secrets on the command line ----
for opt in --client-secret=hunter2hunter2 "--client_secret hunter2hunter2" "-o password=hunter2hunter2" \
	--storage-key=hunter2hunter2 "--sas-token=sv=2021&sig=hunter2hunter2" --access-token=hunter2hunter2; do
	# shellcheck disable=SC2086
	refused "option $opt" 2 "command line" --config "$MGDC_CONFIG" --profile developer $opt "$T_DIR/r"
	check "option $opt: the value is not echoed" bash -c "! grep -q hunter2 '$T_DIR/refused.out' '$T_DIR/refused.err'"
done

# ---- another uid ----
OTHER=mgdcfs-other
id "$OTHER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$OTHER" 2>/dev/null
if ! id "$OTHER" >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
	skip "another uid cannot read the mount" "needs root and useradd"
	skip "another uid can read it with -o allow_other" "needs root and useradd"
else
	mount_fs priv developer || t_done
	if runuser -u "$OTHER" -- ls "$MNT/tenant" >/dev/null 2>&1 ||
		runuser -u "$OTHER" -- cat "$MNT/tenant/tenant.json" >/dev/null 2>&1; then
		not_ok "another uid cannot read the mount"
	else
		ok "another uid cannot read the mount (no allow_other)"
	fi
	check "the owner can" test -s "$MNT/tenant/tenant.json"
	unmount_fs priv
	mount_fs pub developer -o allow_other || t_done
	got=$(runuser -u "$OTHER" -- cat "$MNT/tenant/tenant.json" 2>/dev/null | jq -r .id)
	is "$got" "$(jq -r .id "$MNT/tenant/tenant.json")" "another uid can read it with -o allow_other"
	if runuser -u "$OTHER" -- sh -c "echo x > '$MNT/apps/evil.json'" 2>/dev/null; then
		not_ok "with allow_other, another uid still cannot write commands"
	else
		ok "with allow_other, another uid still cannot write commands"
	fi
	unmount_fs pub
fi
t_done
